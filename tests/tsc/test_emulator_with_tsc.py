"""The Tableau emulator, driven by tableauserverclient (Tableau's official Python client).

TSC parses exactly Tableau's dialect (namespaces, pagination, error envelopes), so these flows,
written the way an admin script uses TSC, are the proof that the emulator speaks it.

Run: TABLEAU_SCIM_BIN=target/debug/tableau-scim pytest tests/tsc
"""

import os
import re
import subprocess
import threading

import pytest
import tableauserverclient as TSC

PAT_NAME = "tsc-pat"
PAT_SECRET = "tsc-secret-value"
SITE = "acme"


@pytest.fixture(scope="module")
def emulator_url():
    binary = os.environ.get("TABLEAU_SCIM_BIN", "target/debug/tableau-scim")
    proc = subprocess.Popen(
        [binary, "emulator", "--listen", "127.0.0.1:0", "--site", SITE,
         "--pat-name", PAT_NAME, "--pat-secret", PAT_SECRET, "--api-version", "3.24"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    url = None
    for _ in range(20):
        line = proc.stdout.readline()
        m = re.search(r"Server URL:\s*(\S+)", line)
        if m:
            url = m.group(1)
            break
    assert url, "the emulator did not print its URL"
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture()
def server(emulator_url):
    srv = TSC.Server(emulator_url)
    srv.version = "3.24"
    srv.auth.sign_in(TSC.PersonalAccessTokenAuth(PAT_NAME, PAT_SECRET, site_id=SITE))
    yield srv
    if srv.is_signed_in():
        srv.auth.sign_out()


def test_pat_sign_in_reads_token_site_and_user(emulator_url):
    srv = TSC.Server(emulator_url)
    srv.version = "3.24"
    srv.auth.sign_in(TSC.PersonalAccessTokenAuth(PAT_NAME, PAT_SECRET, site_id=SITE))
    assert srv.is_signed_in()
    assert re.fullmatch(r"[0-9a-f-]{36}", srv.site_id)
    assert re.fullmatch(r"[0-9a-f-]{36}", srv.user_id)
    srv.auth.sign_out()
    assert not srv.is_signed_in()


def test_server_version_discovery(emulator_url):
    # TSC reads serverInfo unauthenticated at /api/2.4/serverInfo and switches to the version
    # the server reports.
    srv = TSC.Server(emulator_url)
    srv.use_server_version()
    assert srv.version == "3.24"
    info = srv.server_info.get()
    assert info.rest_api_version == "3.24" and info.product_version == "2024.2.0"


def test_wrong_pat_is_refused(emulator_url):
    srv = TSC.Server(emulator_url)
    srv.version = "3.24"
    with pytest.raises(TSC.FailedSignInError):
        srv.auth.sign_in(TSC.PersonalAccessTokenAuth(PAT_NAME, "wrong", site_id=SITE))


def test_users_add_get_update_remove(server):
    added = server.users.add(TSC.UserItem("alice@example.com", TSC.UserItem.Roles.Creator, auth_setting="SAML"))
    assert added.id and added.name == "alice@example.com"
    assert added.site_role == "Creator" and added.auth_setting == "SAML"
    got = server.users.get_by_id(added.id)
    assert got.name == "alice@example.com" and got.site_role == "Creator"
    got.fullname = "Alice Example"
    got.email = "alice@example.com"
    got.site_role = TSC.UserItem.Roles.Explorer
    updated = server.users.update(got)
    assert updated.fullname == "Alice Example" and updated.site_role == "Explorer"
    assert server.users.get_by_id(added.id).email == "alice@example.com"
    server.users.remove(added.id)
    with pytest.raises(TSC.ServerResponseError) as err:
        server.users.get_by_id(added.id)
    assert err.value.code == "404002"


def test_duplicate_user_is_409000_on_server(server):
    # The REST reference's Add User to Site code on Tableau Server (this emulator's flavor);
    # Tableau Cloud answers 409017, as the migration SDK meets it (--user-exists-code chooses).
    server.users.add(TSC.UserItem("dup@example.com", TSC.UserItem.Roles.Viewer))
    with pytest.raises(TSC.ServerResponseError) as err:
        server.users.add(TSC.UserItem("dup@example.com", TSC.UserItem.Roles.Viewer))
    assert err.value.code == "409000"


def test_pager_walks_every_user_and_filters_by_name(server):
    for i in range(230):
        server.users.add(TSC.UserItem(f"pager{i:03}@example.com", TSC.UserItem.Roles.Viewer))
    opts = TSC.RequestOptions(pagesize=100)
    users = list(TSC.Pager(server.users, opts))
    names = [u.name for u in users]
    assert len(names) == len(set(names))
    assert sum(1 for n in names if n.startswith("pager")) == 230
    assert names == sorted(names, key=str.lower), "sorted by name"

    opts = TSC.RequestOptions()
    opts.filter.add(TSC.Filter(TSC.RequestOptions.Field.Name, TSC.RequestOptions.Operator.Equals, "pager007@example.com"))
    found, pagination = server.users.get(opts)
    assert [u.name for u in found] == ["pager007@example.com"]
    assert pagination.total_available == 1
    assert [u.name for u in server.users.filter(name="pager008@example.com")] == ["pager008@example.com"]
    in_list = list(server.users.filter(name__in=["pager001@example.com", "pager002@example.com"]))
    assert sorted(u.name for u in in_list) == ["pager001@example.com", "pager002@example.com"]


def test_groups_and_memberships_single_and_bulk(server):
    ids = [server.users.add(TSC.UserItem(f"member{i}@example.com", TSC.UserItem.Roles.Viewer)).id for i in range(5)]
    group = TSC.GroupItem("Finance")
    group.minimum_site_role = TSC.UserItem.Roles.Explorer
    group = server.groups.create(group)
    assert group.id and group.name == "Finance" and group.minimum_site_role == "Explorer"

    one = server.groups.add_user(group, ids[0])
    assert one.id == ids[0]
    many = server.groups.add_users(group, ids[1:])
    assert sorted(u.id for u in many) == sorted(ids[1:])
    server.groups.populate_users(group)
    assert sorted(u.id for u in group.users) == sorted(ids)

    server.groups.remove_user(group, ids[0])
    server.groups.remove_users(group, ids[1:3])
    server.groups.populate_users(group)
    assert sorted(u.id for u in group.users) == sorted(ids[3:])

    user = server.users.get_by_id(ids[4])
    server.users.populate_groups(user)
    assert {"All Users", "Finance"} <= {g.name for g in user.groups}

    group.name = "Finance EMEA"
    renamed = server.groups.update(group)
    assert renamed.name == "Finance EMEA"
    all_groups = list(TSC.Pager(server.groups))
    assert {"All Users", "Finance EMEA"} <= {g.name for g in all_groups}
    by_name = list(server.groups.filter(name="Finance EMEA"))
    assert [g.id for g in by_name] == [group.id]

    with pytest.raises(TSC.ServerResponseError) as err:
        server.groups.create(TSC.GroupItem("Finance EMEA"))
    assert err.value.code == "409009"
    server.groups.delete(group.id)
    assert "Finance EMEA" not in {g.name for g in TSC.Pager(server.groups)}


def test_stale_session_is_401002(emulator_url):
    first = TSC.Server(emulator_url)
    first.version = "3.24"
    first.auth.sign_in(TSC.PersonalAccessTokenAuth(PAT_NAME, PAT_SECRET, site_id=SITE))
    second = TSC.Server(emulator_url)
    second.version = "3.24"
    second.auth.sign_in(TSC.PersonalAccessTokenAuth(PAT_NAME, PAT_SECRET, site_id=SITE))
    # One session per PAT: the first token is dead now.
    with pytest.raises((TSC.NotSignedInError, TSC.ServerResponseError, TSC.FailedSignInError)) as err:
        first.users.get()
    assert "401002" in str(err.value) or getattr(err.value, "code", "") == "401002"
    users, _ = second.users.get()
    assert users
