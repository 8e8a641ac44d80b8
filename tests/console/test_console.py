"""The admin console in a real browser (Chromium, driven by Playwright through Debian's own
chromium binary: no browser download). Two emulated Tableau sites, `tableau-scim serve` over
both, an Okta-style replay through SCIM, then the console as an admin uses it. Screenshots of
each page go to $CONSOLE_ARTIFACTS (default ci-artifacts/console).

Run: TABLEAU_SCIM_BIN=target/debug/tableau-scim pytest tests/console
"""

import re
import subprocess
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from console_support import ARTIFACTS, BIN, free_port, scim, sha, wait_for


SCIM_A = "scim-token-of-tenant-a-browser-1"
SCIM_B = "scim-token-of-tenant-b-browser-2"
ADMIN_ALL = "admin-token-every-tenant-browser-3"
ADMIN_A = "admin-token-tenant-a-only-browser-4"


def tableau_admin_sets_role(port, site, pat, user_id, role):
    """A Tableau administrator changes a site role in Tableau itself (its REST API), behind
    the IdP's back."""
    api = f"http://127.0.0.1:{port}/api/3.24"
    body = (f'<tsRequest><credentials personalAccessTokenName="scim" personalAccessTokenSecret="{pat}">'
            f'<site contentUrl="{site}"/></credentials></tsRequest>')
    req = urllib.request.Request(api + "/auth/signin", data=body.encode(), method="POST",
                                 headers={"Content-Type": "application/xml"})
    text = urllib.request.urlopen(req, timeout=10).read().decode()
    token = re.search(r'token="([^"]+)"', text).group(1)
    site_id = re.search(r'<site id="([^"]+)"', text).group(1)
    req = urllib.request.Request(f"{api}/sites/{site_id}/users/{user_id}", method="PUT",
                                 data=f'<tsRequest><user siteRole="{role}"/></tsRequest>'.encode(),
                                 headers={"Content-Type": "application/xml", "X-Tableau-Auth": token})
    urllib.request.urlopen(req, timeout=10).read()


@pytest.fixture(scope="module")
def deployment():
    procs = []
    tmp = tempfile.TemporaryDirectory()
    try:
        ports = {"a": free_port(), "b": free_port()}
        # Site a: Tableau Server with seats counted per tier; site b: Tableau Cloud.
        flags = {"a": ["--creator-capacity", "10", "--explorer-capacity", "25", "--viewer-capacity", "100"],
                 "b": ["--flavor", "cloud"]}
        for site, port in ports.items():
            procs.append(subprocess.Popen(
                [BIN, "emulator", "--listen", f"127.0.0.1:{port}", "--site", f"site-{site}",
                 "--pat-name", "scim", "--pat-secret", f"pat-{site}", *flags[site]],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            wait_for(f"http://127.0.0.1:{port}/api/3.24/serverinfo")
        listen = free_port()
        config = Path(tmp.name) / "config.toml"
        config.write_text(f"""
[server]
listen = "127.0.0.1:{listen}"
public_url = "http://127.0.0.1:{listen}"
data_dir = "{tmp.name}"
admin_token_hashes = ["{sha(ADMIN_ALL)}"]
[[tenants]]
id = "a"
tableau_url = "http://127.0.0.1:{ports['a']}"
site = "site-a"
deployment = "server"
pat_name = "scim"
pat_secret = "pat-a"
token_hashes = ["{sha(SCIM_A)}"]
admin_token_hashes = ["{sha(ADMIN_A)}"]
[[tenants]]
id = "b"
tableau_url = "http://127.0.0.1:{ports['b']}"
site = "site-b"
deployment = "cloud"
auth_setting = "TableauIDWithMFA"
pat_name = "scim"
pat_secret = "pat-b"
token_hashes = ["{sha(SCIM_B)}"]
[tenants.safety]
max_changes = 2
max_share = 0.0
""")
        procs.append(subprocess.Popen([BIN, "serve", "--config", str(config)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        base = f"http://127.0.0.1:{listen}"
        wait_for(base + "/healthz")
        # Okta's provisioning of tenant a: three users with roles, one deactivated, a group.
        scim_a = base + "/scim/v2"
        ids = {}
        for name, role in [("ana", "Creator"), ("ben", "Explorer"), ("cleo", "Viewer")]:
            user = f"{name}@a.example"
            assert scim(scim_a, SCIM_A, "GET", f"/Users?filter=userName%20eq%20%22{name}%40a.example%22")["totalResults"] == 0
            created = scim(scim_a, SCIM_A, "POST", "/Users", {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user,
                "name": {"givenName": name.title(), "familyName": "Example"},
                "emails": [{"primary": True, "value": user}], "roles": [{"value": role, "primary": True}],
                "active": True})
            ids[name] = created["id"]
        scim(scim_a, SCIM_A, "PATCH", f"/Users/{ids['cleo']}", {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": False}}]})
        group = scim(scim_a, SCIM_A, "POST", "/Groups", {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Sales", "members": []})
        scim(scim_a, SCIM_A, "PATCH", f"/Groups/{group['id']}", {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": ids["ana"]}, {"value": ids["ben"]}]}]})
        # Then someone licenses deactivated cleo again in Tableau: an access leak.
        tableau_admin_sets_role(ports["a"], "site-a", "pat-a", ids["cleo"], "Viewer")
        yield {"base": base, "ids": ids}
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        tmp.cleanup()


def new_page(browser):
    context = browser.new_context(viewport={"width": 1360, "height": 900}, accept_downloads=True)
    return context, context.new_page()


def sign_in(page, base, token):
    page.goto(base + "/admin/login")
    page.get_by_label("Admin token").fill(token)
    page.get_by_role("button", name="Sign in").click()


def test_without_a_session_every_page_goes_to_the_login(deployment, browser):
    base = deployment["base"]
    context, page = new_page(browser)
    for path in ["/admin", "/admin/tenants/a/access", "/admin/tenants/a/audit", "/admin/tenants/a/drift"]:
        page.goto(base + path)
        assert page.url == base + "/admin/login", path
    page.screenshot(path=str(ARTIFACTS / "login.png"), full_page=True)
    context.close()


def test_a_wrong_token_or_a_scim_token_shows_an_error(deployment, browser):
    base = deployment["base"]
    context, page = new_page(browser)
    for token in ["not-a-token-at-all-0000", SCIM_A]:
        sign_in(page, base, token)
        assert page.get_by_role("alert").inner_text().startswith("That is not an admin token")
        assert page.url == base + "/admin/login"
    page.screenshot(path=str(ARTIFACTS / "login-error.png"), full_page=True)
    context.close()


def test_the_overview_and_the_access_page_after_an_okta_replay(deployment, browser):
    base = deployment["base"]
    context, page = new_page(browser)
    sign_in(page, base, ADMIN_ALL)
    assert page.url == base + "/admin"
    assert page.title() == "Tenants · tableau-scim console"
    assert page.locator(".grid h2").all_inner_texts() == ["a", "b"]
    assert page.locator("svg[aria-label='Users per site role']").count() == 2
    # Seats against capacity, from Query Site: ana and the site's administrator hold Creator
    # seats, ben an Explorer seat; cleo, licensed again behind the IdP's back, a Viewer seat.
    bars = page.locator(".bar").evaluate_all("els => els.map(e => e.getAttribute('aria-label'))")
    assert bars == ["Creator: 2 of 10 seats used", "Explorer: 1 of 25 seats used", "Viewer: 1 of 100 seats used"]
    assert "Tableau Cloud" in page.locator(".grid section", has_text="b").last.inner_text()
    page.screenshot(path=str(ARTIFACTS / "overview.png"), full_page=True)

    page.get_by_role("link", name="a", exact=True).first.click()
    assert page.url.startswith(base + "/admin/tenants/a/access")
    rows = page.locator("tbody tr")
    table = {r.locator("td").nth(0).inner_text(): r.locator("td").nth(2).inner_text() for r in rows.all()}
    assert table["ana@a.example"] == "Creator"
    assert table["ben@a.example"] == "Explorer"
    assert table["cleo@a.example"] == "Unlicensed"
    page.screenshot(path=str(ARTIFACTS / "access.png"), full_page=True)

    # Filters, by keyboard as well as mouse: SCIM-managed and active only.
    page.get_by_label("Managed").select_option("yes")
    page.get_by_label("Active").select_option("yes")
    page.get_by_role("button", name="Apply").click()
    shown = sorted(r.locator("td").nth(0).inner_text() for r in page.locator("tbody tr").all())
    assert shown == ["ana@a.example", "ben@a.example"]
    assert page.locator("#count").inner_text() == "2 of 4 users"
    # The CSV has exactly the rows the filters show.
    with page.expect_download() as d:
        page.get_by_role("link", name="Download access.csv").click()
    lines = Path(d.value.path()).read_text().strip().splitlines()
    assert lines[0].startswith("user_name,full_name,site_role")
    assert sorted(line.split(",")[0] for line in lines[1:]) == shown
    page.screenshot(path=str(ARTIFACTS / "access-filtered.png"), full_page=True)
    context.close()


def test_the_audit_page_shows_the_replay_in_order(deployment, browser):
    base = deployment["base"]
    context, page = new_page(browser)
    sign_in(page, base, ADMIN_A)
    page.goto(base + "/admin/tenants/a/audit")
    ops = [r.locator("td").nth(1).inner_text() for r in page.locator("tbody tr").all()]
    assert ops == ["patch_group", "create_group", "patch_user", "create_user", "create_user", "create_user"]
    page.screenshot(path=str(ARTIFACTS / "audit.png"), full_page=True)
    page.get_by_label("Operation").select_option("create_user")
    page.get_by_role("button", name="Apply").click()
    assert page.locator("tbody tr").count() == 3
    context.close()


def test_a_tenant_admin_cannot_open_another_tenant_and_posts_need_the_csrf_token(deployment, browser):
    base = deployment["base"]
    context, page = new_page(browser)
    sign_in(page, base, ADMIN_A)
    assert page.locator(".grid h2").all_inner_texts() == ["a"]
    # Reloading the configuration is for an admin of every tenant only.
    assert page.get_by_role("button", name="Reload configuration").count() == 0
    response = page.goto(base + "/admin/tenants/b/access")
    assert response.status == 404
    assert page.locator("h1").inner_text() == "No such tenant"
    # A POST with the session's cookie but without its CSRF token is refused.
    refused = context.request.post(base + "/admin/tenants/a/drift/run", form={"csrf": "forged"})
    assert refused.status == 403
    page.goto(base + "/admin/tenants/a/drift")
    page.get_by_role("button", name="Run now (dry run)").click()
    assert page.url == base + "/admin/tenants/a/drift"
    assert "Last run" in page.locator("main").inner_text()
    found = [[c.inner_text() for c in r.locator("td").all()] for r in page.locator("tbody tr").all()]
    assert ["access_leak", "cleo@a.example", "", "Viewer", "Unlicensed (deactivated by the IdP)"] in [f[:5] for f in found], found
    page.screenshot(path=str(ARTIFACTS / "drift.png"), full_page=True)
    page.get_by_role("button", name="Sign out").click()
    assert page.url == base + "/admin/login"
    page.goto(base + "/admin")
    assert page.url == base + "/admin/login"
    context.close()


def test_an_admin_releases_the_held_changes_of_an_open_breaker(deployment, browser):
    """Tenant b's breaker opens after two deactivations; the third to fifth are held (503),
    the admin releases them in the browser, and the IdP's retry finds them done."""
    base = deployment["base"]
    scim_b = base + "/scim/v2"
    ids = []
    for i in range(5):
        user = f"leaver{i}@b.example"
        created = scim(scim_b, SCIM_B, "POST", "/Users", {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user,
            "emails": [{"primary": True, "value": user}], "active": True})
        ids.append(created["id"])
    deactivate = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                  "Operations": [{"op": "replace", "value": {"active": False}}]}
    statuses = []
    for uid in ids:
        try:
            scim(scim_b, SCIM_B, "PATCH", f"/Users/{uid}", deactivate)
            statuses.append(200)
        except urllib.error.HTTPError as e:
            statuses.append(e.code)
            assert e.headers["Retry-After"] == "3600"
    assert statuses == [200, 200, 503, 503, 503]
    context, page = new_page(browser)
    sign_in(page, base, ADMIN_ALL)
    page.goto(base + "/admin/tenants/b/holds")
    assert "The breaker is open: 3 changes are held." in page.locator("main").inner_text()
    page.screenshot(path=str(ARTIFACTS / "holds.png"), full_page=True)
    page.get_by_role("button", name="Release 3 changes").click()
    assert page.url == base + "/admin/tenants/b/holds"
    assert "The breaker is closed" in page.locator("main").inner_text()
    states = [r.locator("td").nth(4).inner_text() for r in page.locator("tbody tr").all()]
    assert states == ["released"] * 3, states
    for uid in ids:
        assert scim(scim_b, SCIM_B, "GET", f"/Users/{uid}")["active"] is False
    # The IdP's retry of a held change is answered as done.
    assert scim(scim_b, SCIM_B, "PATCH", f"/Users/{ids[4]}", deactivate)["active"] is False
    context.close()


def test_an_admin_of_every_tenant_reloads_the_configuration(deployment, browser):
    base = deployment["base"]
    context, page = new_page(browser)
    sign_in(page, base, ADMIN_ALL)
    page.get_by_role("button", name="Reload configuration").click()
    assert page.locator("h1").inner_text() == "Configuration reloaded"
    assert "2 tenant(s)" in page.locator("main").inner_text()
    page.screenshot(path=str(ARTIFACTS / "reload.png"), full_page=True)
    # The file is the one it started from: both tenants still serve.
    page.goto(base + "/admin")
    assert page.locator(".grid h2").all_inner_texts() == ["a", "b"]
    context.close()
