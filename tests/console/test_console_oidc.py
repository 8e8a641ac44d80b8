"""Signing in to the console through the company's identity provider, in Chromium: a real,
certified OpenID provider (panva's oidc-provider, tests/console/op) runs on localhost, the
console on 127.0.0.1 (two sites, as in production). Olga's groups grant operate on tenant a
and view everywhere, Alice's view only, and nobody's nothing. The console takes the
authorization code with PKCE, maps the groups, and names the person in the audit trail; a
short-lived second server shows an expired session; logout ends the provider's session too.

Run: TABLEAU_SCIM_BIN=target/debug/tableau-scim pytest tests/console  (after
`npm ci --prefix tests/console/op`)
"""

import os
import re
import subprocess
import tempfile
import time
import urllib.error
from pathlib import Path

import pytest

from console_support import ARTIFACTS, BIN, free_port, scim, sha, wait_for

NODE = os.environ.get("OIDC_NODE", "node")
OP_DIR = Path(__file__).parent / "op"

SCIM_A = "scim-token-of-tenant-a-oidc-test-1"
SCIM_B = "scim-token-of-tenant-b-oidc-test-2"
ADMIN_ALL = "admin-token-every-tenant-oidc-test-3"
CLIENT_SECRET = "console-client-secret-oidc-test-4"
SHORT_SESSION_SECS = 4


def stop(procs):
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()


def start_op(port, consoles):
    op = subprocess.Popen(
        [NODE, str(OP_DIR / "op.mjs"), "--port", str(port), "--client-secret", CLIENT_SECRET,
         *[x for c in consoles for x in ("--redirect", f"{c}/admin/oidc/callback")],
         *[x for c in consoles for x in ("--post-logout", f"{c}/admin/signed-out")]],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = op.stdout.readline()
    assert line.startswith("OP ready"), line
    return op


def start_console(tmp, name, listen, op_port, emulators, session_secs):
    data = Path(tmp) / name
    data.mkdir()
    secret = data / "oidc-secret"
    secret.write_text(CLIENT_SECRET)
    secret.chmod(0o600)
    config = data / "config.toml"
    config.write_text(f"""
[server]
listen = "127.0.0.1:{listen}"
public_url = "http://127.0.0.1:{listen}"
data_dir = "{data}"
admin_token_hashes = ["{sha(ADMIN_ALL)}"]
[server.console_oidc]
issuer = "http://localhost:{op_port}"
client_id = "tableau-scim-console"
client_secret_file = "{secret}"
name = "Test OP"
session_lifetime_secs = {session_secs}
[[server.console_oidc.roles]]
group = "scim-operators"
role = "operate"
tenants = ["a"]
[[server.console_oidc.roles]]
group = "scim-viewers"
role = "view"
tenants = ["*"]
[[tenants]]
id = "a"
tableau_url = "http://127.0.0.1:{emulators['a']}"
site = "site-a"
deployment = "server"
pat_name = "scim"
pat_secret = "pat-a"
token_hashes = ["{sha(SCIM_A)}"]
[tenants.safety]
max_changes = 1
max_share = 0.0
[[tenants]]
id = "b"
tableau_url = "http://127.0.0.1:{emulators['b']}"
site = "site-b"
deployment = "cloud"
auth_setting = "TableauIDWithMFA"
pat_name = "scim"
pat_secret = "pat-b"
token_hashes = ["{sha(SCIM_B)}"]
""")
    log = open(data / "serve.log", "w")
    serve = subprocess.Popen([BIN, "serve", "--config", str(config)], stdout=log, stderr=log)
    wait_for(f"http://127.0.0.1:{listen}/healthz")
    return serve


@pytest.fixture(scope="module")
def deployment():
    procs = []
    tmp = tempfile.TemporaryDirectory()
    try:
        emulators = {"a": free_port(), "b": free_port()}
        for site, port in emulators.items():
            procs.append(subprocess.Popen(
                [BIN, "emulator", "--listen", f"127.0.0.1:{port}", "--site", f"site-{site}",
                 "--pat-name", "scim", "--pat-secret", f"pat-{site}"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            wait_for(f"http://127.0.0.1:{port}/api/3.24/serverinfo")
        op_port, main, short = free_port(), free_port(), free_port()
        consoles = [f"http://127.0.0.1:{main}", f"http://127.0.0.1:{short}"]
        procs.append(start_op(op_port, consoles))
        procs.append(start_console(tmp.name, "main", main, op_port, emulators, 3600))
        procs.append(start_console(tmp.name, "short", short, op_port, emulators, SHORT_SESSION_SECS))
        yield {"base": consoles[0], "short": consoles[1], "op": f"http://localhost:{op_port}",
               "config": Path(tmp.name) / "main" / "config.toml",
               "logs": [Path(tmp.name) / n / "serve.log" for n in ("main", "short")]}
    finally:
        stop(procs)
        tmp.cleanup()


def new_page(browser):
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    # The provider's pages import a web font; nothing leaves this machine.
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1|localhost)"), lambda r: r.abort())
    return context, context.new_page()


def sign_in_with_provider(page, base, login, signed_in=True):
    """The admin clicks the provider's button, signs in there, consents the first time, and
    comes back: to the overview, or (`signed_in` false) to a refusal."""
    page.goto(base + "/admin/login")
    page.get_by_role("link", name="Sign in with Test OP").click()
    page.wait_for_url(re.compile(r"^http://localhost:\d+/interaction/"))
    page.locator('input[name="login"]').fill(login)
    page.locator('input[name="password"]').fill("any password")
    page.get_by_role("button", name="Sign-in").click()
    page.wait_for_load_state()
    if page.url.startswith("http://localhost") and page.get_by_role("button", name="Continue").count():
        page.get_by_role("button", name="Continue").click()
    if signed_in:
        page.wait_for_url(base + "/admin")
    else:
        page.get_by_role("alert").wait_for()


def csrf_of(page):
    return page.locator('input[name="csrf"]').first.get_attribute("value")


def test_an_operator_signs_in_operates_her_tenant_and_is_named_in_the_audit_trail(deployment, browser):
    base = deployment["base"]
    # Tenant a's breaker holds the second deactivation.
    ids = []
    for name in ["una", "vic"]:
        ids.append(scim(base + "/scim/v2", SCIM_A, "POST", "/Users", {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": f"{name}@a.example",
            "emails": [{"primary": True, "value": f"{name}@a.example"}], "active": True})["id"])
    deactivate = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                  "Operations": [{"op": "replace", "value": {"active": False}}]}
    statuses = []
    for uid in ids:
        try:
            scim(base + "/scim/v2", SCIM_A, "PATCH", f"/Users/{uid}", deactivate)
            statuses.append(200)
        except urllib.error.HTTPError as e:
            statuses.append(e.code)
    assert statuses == [200, 503]

    context, page = new_page(browser)
    sign_in_with_provider(page, base, "olga")
    assert page.url == base + "/admin"
    assert page.locator(".who").inner_text() == "olga@example.test"
    assert page.locator(".grid h2").all_inner_texts() == ["a", "b"]
    # Operate on a is not operate everywhere: no reload.
    assert page.get_by_role("button", name="Reload configuration").count() == 0
    page.screenshot(path=str(ARTIFACTS / "oidc-operator-overview.png"), full_page=True)

    page.goto(base + "/admin/tenants/a/holds")
    page.get_by_role("button", name="Release 1 changes").click()
    assert "The breaker is closed" in page.locator("main").inner_text()
    decided = [r.locator("td").nth(5).inner_text() for r in page.locator("tbody tr").all()]
    assert decided == ["console admin olga@example.test (OpenID subject olga)"], decided
    page.goto(base + "/admin/tenants/a/audit")
    assert "released by console admin olga@example.test (OpenID subject olga)" in page.locator("main").inner_text()
    page.screenshot(path=str(ARTIFACTS / "oidc-audit.png"), full_page=True)

    page.goto(base + "/admin/tenants/a/drift")
    page.get_by_role("button", name="Run now (dry run)").click()
    assert "Last run" in page.locator("main").inner_text()
    # On b her groups grant view only: no button, and the POST itself is refused.
    page.goto(base + "/admin/tenants/b/drift")
    assert page.get_by_role("button", name="Run now (dry run)").count() == 0
    assert "Your role on b is view" in page.locator("main").inner_text()
    refused = context.request.post(base + "/admin/tenants/b/drift/run", form={"csrf": csrf_of(page)})
    assert refused.status == 403
    refused = context.request.post(base + "/admin/reload", form={"csrf": csrf_of(page)})
    assert refused.status == 403
    context.close()


def test_a_viewer_sees_every_tenant_and_changes_nothing(deployment, browser):
    base = deployment["base"]
    context, page = new_page(browser)
    sign_in_with_provider(page, base, "alice")
    assert page.locator(".grid h2").all_inner_texts() == ["a", "b"]
    page.goto(base + "/admin/tenants/a/drift")
    assert page.get_by_role("button", name="Run now (dry run)").count() == 0
    assert "Your role on a is view" in page.locator("main").inner_text()
    page.screenshot(path=str(ARTIFACTS / "oidc-viewer-drift.png"), full_page=True)
    for path in ["/admin/tenants/a/drift/run", "/admin/tenants/a/holds/release", "/admin/tenants/a/holds/block"]:
        refused = context.request.post(base + path, form={"csrf": csrf_of(page)})
        assert refused.status == 403, path
    context.close()


def test_a_person_in_no_granted_group_gets_no_session(deployment, browser):
    base = deployment["base"]
    context, page = new_page(browser)
    sign_in_with_provider(page, base, "nobody", signed_in=False)
    assert page.url == base + "/admin/oidc/callback" or page.url.startswith(base + "/admin/oidc/callback?")
    alert = page.get_by_role("alert").inner_text()
    assert "nobody@example.test signed in at Test OP, but none of their groups opens this console" in alert, alert
    page.screenshot(path=str(ARTIFACTS / "oidc-refused-group.png"), full_page=True)
    page.goto(base + "/admin")
    assert page.url == base + "/admin/login"
    # A callback this browser did not start is refused too.
    answer = page.goto(base + "/admin/oidc/callback?code=stolen&state=forged")
    assert answer.status == 400
    assert "not started in this browser" in page.get_by_role("alert").inner_text()
    context.close()


def test_an_expired_session_sends_the_admin_back_to_sign_in(deployment, browser):
    short = deployment["short"]
    context, page = new_page(browser)
    sign_in_with_provider(page, short, "olga")
    page.goto(short + "/admin/tenants/a/drift")
    assert page.get_by_role("button", name="Run now (dry run)").count() == 1
    csrf = csrf_of(page)
    time.sleep(SHORT_SESSION_SECS + 1)
    page.goto(short + "/admin/tenants/a/drift")
    assert page.url == short + "/admin/login"
    page.screenshot(path=str(ARTIFACTS / "oidc-expired.png"), full_page=True)
    # The old form's POST no longer runs anything.
    late = context.request.post(short + "/admin/tenants/a/drift/run", form={"csrf": csrf}, max_redirects=0)
    assert late.status == 303 and late.headers["location"] == "/admin/login"
    # Forged callbacks count against the address like wrong admin tokens: past the limit (20
    # a minute) the address gets 429 before any call to the provider.
    statuses = [context.request.get(short + f"/admin/oidc/callback?code=c{i}&state=forged{i}").status
                for i in range(22)]
    assert statuses == [400] * 20 + [429] * 2, statuses
    context.close()


def test_sign_out_ends_the_session_at_the_provider_too(deployment, browser):
    base = deployment["base"]
    context, page = new_page(browser)
    sign_in_with_provider(page, base, "olga")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"^http://localhost:\d+/session/end"))
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(base + "/admin/signed-out**")
    assert page.locator("h1").inner_text() == "Signed out"
    page.screenshot(path=str(ARTIFACTS / "oidc-signed-out.png"), full_page=True)
    page.goto(base + "/admin")
    assert page.url == base + "/admin/login"
    # The provider's session ended as well: signing in again asks for the login.
    page.get_by_role("link", name="Sign in with Test OP").click()
    page.wait_for_url(re.compile(r"^http://localhost:\d+/interaction/"))
    assert page.locator('input[name="login"]').count() == 1
    context.close()


def test_admin_tokens_still_open_the_console_beside_the_provider(deployment, browser):
    base = deployment["base"]
    context, page = new_page(browser)
    page.goto(base + "/admin/login")
    page.get_by_label("Admin token").fill(ADMIN_ALL)
    page.get_by_role("button", name="Sign in", exact=True).click()
    assert page.url == base + "/admin"
    assert page.get_by_role("button", name="Reload configuration").count() == 1
    context.close()


def test_a_reload_changes_what_a_signed_in_persons_groups_open(deployment, browser):
    base = deployment["base"]
    alice_context, alice = new_page(browser)
    sign_in_with_provider(alice, base, "alice")
    alice.goto(base + "/admin/tenants/b/drift")
    assert alice.get_by_role("button", name="Run now (dry run)").count() == 0
    # The platform team grants the viewers operate on b, and reloads from the console.
    with open(deployment["config"], "a") as f:
        f.write('[[server.console_oidc.roles]]\ngroup = "scim-viewers"\nrole = "operate"\ntenants = ["b"]\n')
    admin_context, admin = new_page(browser)
    admin.goto(base + "/admin/login")
    admin.get_by_label("Admin token").fill(ADMIN_ALL)
    admin.get_by_role("button", name="Sign in", exact=True).click()
    admin.get_by_role("button", name="Reload configuration").click()
    assert admin.locator("h1").inner_text() == "Configuration reloaded"
    # Alice's session, unchanged, now operates b (and still only views a).
    alice.goto(base + "/admin/tenants/b/drift")
    alice.get_by_role("button", name="Run now (dry run)").click()
    assert "Last run" in alice.locator("main").inner_text()
    alice.goto(base + "/admin/tenants/a/drift")
    assert alice.get_by_role("button", name="Run now (dry run)").count() == 0
    alice_context.close()
    admin_context.close()


def test_the_log_names_who_signed_in_and_holds_no_secret(deployment, browser):
    """Last: the servers' logs after every sign-in above."""
    text = "".join(p.read_text() for p in deployment["logs"])
    assert "console sign-in through the identity provider" in text
    assert "console admin olga@example.test (OpenID subject olga)" in text
    assert "console sign-in refused" in text
    assert CLIENT_SECRET not in text
    # No ID token, access token or code: a JWT starts eyJ; the provider's codes are long.
    assert "eyJ" not in text
    assert "code=" not in text
