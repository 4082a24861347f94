"""Settings pages against a real server: profile and password, access tokens (checked with the HF
client), organizations and their members, and a repository's settings (visibility, gated access
and its requests, deletion), with bad input, missing CSRF and other people's repositories."""

from __future__ import annotations

import html
import re
import uuid

import httpx2
import pytest
from huggingface_hub.errors import HfHubHTTPError


# ---- helpers (kept local: shared fixtures are being built elsewhere) ------------------------
def uniq(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def csrf_of(page: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert m, "no csrf_token in the page"
    return m.group(1)


OPENED: list[httpx2.Client] = []  # the running test's clients, closed when it ends


@pytest.fixture(autouse=True)
def close_clients():
    """Close the clients a test opened: left to the garbage collector, their open sockets raise a
    ResourceWarning, which fails the test (requests' connection pools closed themselves)."""
    yield
    while OPENED:
        OPENED.pop().close()


def new_client() -> httpx2.Client:
    """A client that keeps cookies and follows redirects like a browser (and the requests session
    these tests were written with); a call says follow_redirects=False to look at the redirect itself.
    Closed when the test ends."""
    s = httpx2.Client(follow_redirects=True, timeout=30)
    OPENED.append(s)
    return s


def sign_in(hub, name: str, password: str | None = None) -> httpx2.Client:
    s = new_client()
    page = s.get(hub.url + "/login", timeout=30).text
    r = s.post(hub.url + "/login", data={"csrf_token": csrf_of(page), "username": name,
                                         "password": password or f"pw-{name}-12345"},
               follow_redirects=False, timeout=30)
    assert r.status_code == 302, r.text[-1000:]
    return s


def get_form(s: httpx2.Client, hub, path: str) -> tuple[str, str]:
    r = s.get(hub.url + path, timeout=30)
    assert r.status_code == 200, (path, r.status_code)
    return r.text, csrf_of(r.text)


def post(s, hub, path: str, data: dict) -> httpx2.Response:
    """A form post with the session's CSRF token (any page of the session carries it)."""
    token = csrf_of(s.get(hub.url + "/settings/profile", timeout=30).text)
    return s.post(hub.url + path, data={"csrf_token": token, **data}, follow_redirects=False, timeout=60)


def field_errors(page: str) -> list[str]:
    return [html.unescape(m) for m in re.findall(r'class="(?:field|form)-error"[^>]*>(.*?)</p>', page, re.S)]


def input_value(page: str, name: str) -> str | None:
    """The value of the visible input `name` (hidden ones, like per-row buttons' fields, are skipped)."""
    for tag in re.findall(r"<input[^>]*>", page):
        if re.search(rf'name="{re.escape(name)}"', tag) and 'type="hidden"' not in tag:
            m = re.search(r'value="([^"]*)"', tag)
            return html.unescape(m.group(1)) if m else ""
    return None


def person(hub, name: str) -> dict:
    token = hub.user(name)
    return {"name": name, "token": token, "s": sign_in(hub, name)}


def module_person(hub, name: str):
    """person() for a module-scoped fixture: its client outlives the test that first asked for it."""
    p = person(hub, name)
    OPENED.remove(p["s"])
    yield p
    p["s"].close()


@pytest.fixture(scope="module")
def carol(hub):
    yield from module_person(hub, "set-carol")


@pytest.fixture(scope="module")
def dave(hub):
    yield from module_person(hub, "set-dave")


# ---- profile and password -------------------------------------------------------------------
def test_settings_need_sign_in(hub):
    for path in ("/settings/profile", "/settings/tokens", "/organizations/new"):
        r = httpx2.get(hub.url + path, timeout=30)
        assert r.status_code == 302 and r.headers["Location"].startswith("/login?next="), path


def test_profile_update_and_bad_input(hub, carol, dave):
    s = carol["s"]
    r = post(s, hub, "/settings/profile", {"fullname": "Carol Example", "email": "carol@example.org"})
    assert r.status_code == 303
    page = s.get(hub.url + "/settings/profile", timeout=30).text
    assert input_value(page, "fullname") == "Carol Example"
    assert input_value(page, "email") == "carol@example.org"
    assert "Carol Example" in httpx2.get(f"{hub.url}/{carol['name']}", follow_redirects=True, timeout=30).text
    # a malformed email: the message next to the field, both values kept, nothing saved
    r = post(s, hub, "/settings/profile", {"fullname": "Carol <b>New</b>", "email": "not-an-email"})
    assert r.status_code == 400
    assert re.search(r'<div class="field has-error">\s*<label for="email"', r.text)
    assert input_value(r.text, "fullname") == "Carol <b>New</b>" and input_value(r.text, "email") == "not-an-email"
    assert "<b>New</b>" not in r.text
    # someone else's email address
    r = post(dave["s"], hub, "/settings/profile", {"fullname": "Dave", "email": "carol@example.org"})
    assert r.status_code == 400 and any("used by another account" in e for e in field_errors(r.text))
    page = s.get(hub.url + "/settings/profile", timeout=30).text
    assert input_value(page, "fullname") == "Carol Example"
    # no CSRF token
    r = s.post(hub.url + "/settings/profile", data={"fullname": "Hacked"}, follow_redirects=False, timeout=30)
    assert r.status_code == 400
    assert input_value(s.get(hub.url + "/settings/profile", timeout=30).text, "fullname") == "Carol Example"


def test_change_password(hub):
    name = uniq("pw")
    hub.user(name)
    s, other = sign_in(hub, name), sign_in(hub, name)
    old = f"pw-{name}-12345"
    r = post(s, hub, "/settings/password", {"current": "wrong-password", "new": "new-pass-9876",
                                            "confirm": "new-pass-9876"})
    assert r.status_code == 400 and "The current password is wrong." in field_errors(r.text)
    r = post(s, hub, "/settings/password", {"current": old, "new": "new-pass-9876", "confirm": "different-1"})
    assert r.status_code == 400 and any("do not match" in e for e in field_errors(r.text))
    r = post(s, hub, "/settings/password", {"current": old, "new": "short", "confirm": "short"})
    assert r.status_code == 400
    copy = copy_of(s)  # this browser's cookie as it was before the change
    r = post(s, hub, "/settings/password", {"current": old, "new": "new-pass-9876", "confirm": "new-pass-9876"})
    assert r.status_code == 303
    # this session goes on (under a new secret); the other one ended, and so did the old copy of
    # this one; the new password signs in
    assert "Password changed. You were signed out everywhere else." in s.get(hub.url + "/settings/profile").text
    assert signed_in(hub, s)
    assert not signed_in(hub, other) and not signed_in(hub, copy)
    assert signed_in(hub, sign_in(hub, name, "new-pass-9876"))


# ---- sessions ---------------------------------------------------------------------------------
def copy_of(s: httpx2.Client) -> httpx2.Client:
    """Another client holding the same cookies: what a stolen or saved cookie would be."""
    c = new_client()
    c.cookies.update(s.cookies)
    return c


def signed_in(hub, s: httpx2.Client) -> bool:
    """Whether `s` is a signed-in session; a refused one is sent to the sign-in page."""
    r = s.get(hub.url + "/settings/tokens", follow_redirects=False, timeout=30)
    assert r.status_code in (200, 302), r.status_code
    if r.status_code == 302:
        assert r.headers["Location"].startswith("/login?next=")
    return r.status_code == 200


def session_rows(page: str) -> list[tuple[str, bool]]:
    """(session id, is this one) of each row of /settings/sessions."""
    return [(sid, bool(cur)) for sid, cur in re.findall(r'<tr data-session-id="(\d+)"( data-current)?>', page)]


def test_logout_ends_the_session_everywhere(hub):
    name = uniq("out")
    hub.user(name)
    s = new_client()
    page = s.get(hub.url + "/login", timeout=30).text
    r = s.post(hub.url + "/login", data={"csrf_token": csrf_of(page), "username": name,
                                         "password": f"pw-{name}-12345"}, follow_redirects=False, timeout=30)
    assert r.status_code == 302
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # this hub's public URL is http: the browser would never send it back
    saved = copy_of(s)
    assert signed_in(hub, s) and signed_in(hub, saved)
    r = post(s, hub, "/logout", {})
    assert r.status_code == 302
    # the server forgot the session: the cookie saved before the logout opens nothing (on either worker)
    for _ in range(4):
        assert not signed_in(hub, saved)
    assert not signed_in(hub, s)
    # a cookie of the old kind (user id and password fingerprint, no session) is refused too
    with httpx2.Client() as fresh:
        assert not signed_in(hub, fresh)


def test_suspension_ends_sessions(hub):
    admin, name = uniq("adm"), uniq("sus")
    admin_token = hub.user(admin, admin=True)
    hub.user(name)
    s = sign_in(hub, name)
    saved = copy_of(s)
    assert signed_in(hub, s)
    r = hub.request("POST", f"/api/users/{name}/suspend", admin_token, json={"reason": "spam"})
    assert r.status_code == 200, r.text
    assert not signed_in(hub, s) and not signed_in(hub, saved)
    # a suspended user may sign in again, to read (suspension takes away writing, not reading)
    assert signed_in(hub, sign_in(hub, name))


def test_user_sees_and_ends_own_sessions(hub, dave):
    name = uniq("ses")
    hub.user(name)
    here, laptop, phone = sign_in(hub, name), sign_in(hub, name), sign_in(hub, name)
    phone.headers["User-Agent"] = "PhoneBrowser/1.0"
    assert signed_in(hub, phone)  # seen once with its user agent (the row keeps the sign-in one)
    page = here.get(hub.url + "/settings/sessions", timeout=30)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    rows = session_rows(page.text)
    assert len(rows) == 3 and sum(cur for _, cur in rows) == 1
    assert here.headers["User-Agent"] in page.text  # python-httpx2/<version>, as it signed in
    other_ids = [sid for sid, cur in rows if not cur]
    # one other session signed out from here
    r = post(here, hub, f"/settings/sessions/{other_ids[0]}/revoke", {})
    assert r.status_code == 303
    assert len(session_rows(here.get(hub.url + "/settings/sessions").text)) == 2
    assert [signed_in(hub, x) for x in (laptop, phone)].count(True) == 1
    # another user cannot end this user's sessions, nor see them
    assert post(dave["s"], hub, f"/settings/sessions/{other_ids[1]}/revoke", {}).status_code == 404
    assert other_ids[1] not in dict(session_rows(dave["s"].get(hub.url + "/settings/sessions").text))
    # all the others at once; this one survives
    r = post(here, hub, "/settings/sessions/others/revoke", {})
    assert r.status_code == 303
    page = here.get(hub.url + "/settings/sessions").text
    assert "Signed out of 1 other session." in page
    assert len(session_rows(page)) == 1 and session_rows(page)[0][1]
    assert not signed_in(hub, laptop) and not signed_in(hub, phone) and signed_in(hub, here)
    # no CSRF token: refused
    r = here.post(hub.url + "/settings/sessions/others/revoke", follow_redirects=False, timeout=30)
    assert r.status_code == 400


def test_admin_signs_a_user_out_everywhere(hub, dave):
    admin, name = uniq("adm"), uniq("all")
    hub.user(admin, admin=True)
    hub.user(name)
    boss = sign_in(hub, admin)
    one, two = sign_in(hub, name), sign_in(hub, name)
    page = boss.get(hub.url + "/admin/users", params={"q": name}, timeout=30)
    assert page.status_code == 200
    assert re.search(rf'<tr data-user="{name}">.*?data-sessions="2"', page.text, re.S)
    r = post(boss, hub, f"/admin/users/{name}/sign-out", {})
    assert r.status_code == 303
    page = boss.get(hub.url + r.headers["Location"], timeout=30).text
    assert f"{name} was signed out of 2 sessions." in page
    assert re.search(rf'<tr data-user="{name}">.*?data-sessions="0"', page, re.S)
    assert not signed_in(hub, one) and not signed_in(hub, two)
    assert signed_in(hub, boss) and signed_in(hub, sign_in(hub, name))
    # only site admins: everyone else gets the 404 page, and nobody is signed out
    victim = sign_in(hub, admin)
    assert dave["s"].get(hub.url + "/admin/users", timeout=30).status_code == 404
    assert post(dave["s"], hub, f"/admin/users/{admin}/sign-out", {}).status_code == 404
    assert httpx2.post(hub.url + f"/admin/users/{admin}/sign-out", follow_redirects=True,
                       timeout=30).status_code in (400, 404)
    assert signed_in(hub, victim)
    assert post(boss, hub, "/admin/users/nobody-at-all/sign-out", {}).status_code == 404


def test_https_public_url_makes_the_cookie_secure(tmp_path):
    from tests.support.live import start_hub

    h = start_hub(tmp_path, workers=1, env={"MODELHUB_PUBLIC_URL": "https://hub.example.org",
                                            "MODELHUB_SESSION_MAX_DAYS": "2"})
    try:
        name = uniq("sec")
        h.user(name)
        # by hand: a client keeps Secure cookies away from this plain-http test server
        r = httpx2.get(h.url + "/login", follow_redirects=True, timeout=30)
        jar = r.headers["Set-Cookie"].split(";", 1)[0]
        r = httpx2.post(h.url + "/login", data={"csrf_token": csrf_of(r.text), "username": name,
                                                "password": f"pw-{name}-12345"},
                        headers={"Cookie": jar}, timeout=30)
        assert r.status_code == 302, r.text[-500:]
        cookie = r.headers["Set-Cookie"]
        attrs = [a.strip() for a in cookie.split(";")]
        assert {"Secure", "HttpOnly", "SameSite=Lax"} <= set(attrs), cookie
        # MODELHUB_SESSION_MAX_DAYS: the cookie lasts no longer than the server keeps the session
        import email.utils
        import time

        expires = next(a.split("=", 1)[1] for a in attrs if a.startswith("Expires="))
        left = email.utils.parsedate_to_datetime(expires).timestamp() - time.time()
        assert 2 * 86400 - 600 < left <= 2 * 86400 + 60
        session_cookie = cookie.split(";", 1)[0]
        page = httpx2.get(h.url + "/settings/sessions", headers={"Cookie": session_cookie}, timeout=30)
        assert page.status_code == 200 and "and 2 days after signing in" in page.text
    finally:
        h.stop()


# ---- tokens -----------------------------------------------------------------------------------
def test_tokens_create_use_list_revoke(hub, carol):
    s = carol["s"]
    page, token = get_form(s, hub, "/settings/tokens")
    r = s.post(hub.url + "/settings/tokens", data={"csrf_token": token, "label": "ci-runner", "role": "write"},
               follow_redirects=False, timeout=30)
    assert r.status_code == 201
    assert r.headers["Cache-Control"] == "no-store"
    secret = re.search(r'value="(mh_[^"]+)"', r.text).group(1)
    assert "Copy it now" in r.text and 'data-copy="#new-token"' in r.text
    api = hub.api(secret)
    assert api.whoami()["name"] == carol["name"]
    name = uniq("tok")
    api.create_repo(name)  # a write token

    listing = s.get(hub.url + "/settings/tokens", timeout=30).text
    assert secret not in listing  # shown once only
    rows = dict(re.findall(r'<tr data-token-id="(\d+)">(.*?)</tr>', listing, re.S))
    tid, row = next((k, v) for k, v in rows.items() if "ci-runner" in v)
    assert "Write" in row and secret[:7] in row
    assert "never" not in row  # it was just used

    # a read token cannot write
    r = s.post(hub.url + "/settings/tokens", data={"csrf_token": token, "label": "reader", "role": "read"},
               follow_redirects=False, timeout=30)
    reader = re.search(r'value="(mh_[^"]+)"', r.text).group(1)
    with pytest.raises(HfHubHTTPError):
        hub.api(reader).create_repo(uniq("nope"))

    # revoke: the token stops working at once
    r = s.post(f"{hub.url}/settings/tokens/{tid}/revoke", data={"csrf_token": token}, follow_redirects=False,
               timeout=30)
    assert r.status_code == 303
    with pytest.raises(HfHubHTTPError) as err:
        hub.api(secret).whoami()
    assert err.value.response.status_code == 401
    assert "ci-runner" not in s.get(hub.url + "/settings/tokens", timeout=30).text
    # someone else's token id, a missing one: 404
    assert s.post(f"{hub.url}/settings/tokens/999999/revoke", data={"csrf_token": token},
                  timeout=30).status_code == 404


def test_tokens_bad_input_and_csrf(hub, carol):
    s = carol["s"]
    _page, token = get_form(s, hub, "/settings/tokens")
    before = s.get(hub.url + "/settings/tokens", timeout=30).text.count("data-token-id")
    r = s.post(hub.url + "/settings/tokens", data={"csrf_token": token, "label": "", "role": "write"}, timeout=30)
    assert r.status_code == 400 and re.search(r'<div class="field has-error">\s*<label for="label"', r.text)
    r = s.post(hub.url + "/settings/tokens", data={"csrf_token": token, "label": "x" * 101, "role": "write"},
               timeout=30)
    assert r.status_code == 400 and input_value(r.text, "label") == "x" * 101
    r = s.post(hub.url + "/settings/tokens", data={"csrf_token": token, "label": "admin?", "role": "admin"},
               timeout=30)
    assert r.status_code == 400 and input_value(r.text, "label") == "admin?"
    r = s.post(hub.url + "/settings/tokens", data={"label": "no-csrf", "role": "write"}, timeout=30)
    assert r.status_code == 400
    assert s.get(hub.url + "/settings/tokens", timeout=30).text.count("data-token-id") == before


# ---- organizations ----------------------------------------------------------------------------
def test_create_organization_and_bad_names(hub, carol):
    s = carol["s"]
    page, token = get_form(s, hub, "/organizations/new")
    org = uniq("org")
    for bad in ("settings", carol["name"], "../x", "<b>o</b>", "a" * 97, ""):
        r = s.post(hub.url + "/organizations/new", data={"csrf_token": token, "name": bad, "fullname": "Kept"},
                   follow_redirects=False, timeout=30)
        assert r.status_code == 400, bad
        assert re.search(r'<div class="field has-error">\s*<label for="name"', r.text), bad
        assert input_value(r.text, "name") == bad and input_value(r.text, "fullname") == "Kept"
    r = s.post(hub.url + "/organizations/new", data={"csrf_token": token, "name": org, "fullname": "The Org"},
               follow_redirects=False, timeout=30)
    assert r.status_code == 303 and r.headers["Location"] == f"/organizations/{org}/members"
    assert "The Org" in httpx2.get(f"{hub.url}/{org}", follow_redirects=True, timeout=30).text
    r = s.post(hub.url + "/organizations/new", data={"csrf_token": token, "name": org.upper()},
               follow_redirects=False, timeout=30)
    assert r.status_code == 400 and any("already taken" in e for e in field_errors(r.text))
    r = s.post(hub.url + "/organizations/new", data={"name": uniq("nocsrf")}, follow_redirects=False, timeout=30)
    assert r.status_code == 400


def test_organization_members(hub, carol, dave):
    s = carol["s"]
    org = uniq("team")
    _page, token = get_form(s, hub, "/organizations/new")
    assert s.post(hub.url + "/organizations/new", data={"csrf_token": token, "name": org},
                  follow_redirects=False, timeout=30).status_code == 303
    page, token = get_form(s, hub, f"/organizations/{org}/members")
    assert carol["name"] in page
    # add dave as writer
    r = s.post(f"{hub.url}/organizations/{org}/members",
               data={"csrf_token": token, "user": dave["name"], "role": "write"}, follow_redirects=False, timeout=30)
    assert r.status_code == 303
    api = hub.api(dave["token"])
    api.create_repo(f"{org}/{uniq('by-dave')}")  # a writer creates models in the organization
    # unknown user, existing member, bad role: messages next to the fields, input kept
    r = s.post(f"{hub.url}/organizations/{org}/members", data={"csrf_token": token, "user": "no-such-user-x",
                                                               "role": "read"}, timeout=30)
    assert r.status_code == 400 and any("no user named" in e for e in field_errors(r.text))
    assert input_value(r.text, "user") == "no-such-user-x"
    r = s.post(f"{hub.url}/organizations/{org}/members", data={"csrf_token": token, "user": dave["name"],
                                                               "role": "admin"}, timeout=30)
    assert r.status_code == 400 and any("already a member" in e for e in field_errors(r.text))
    r = s.post(f"{hub.url}/organizations/{org}/members", data={"csrf_token": token, "user": dave["name"],
                                                               "role": "owner"}, timeout=30)
    assert r.status_code == 400
    # dave (not an admin) cannot manage members
    assert dave["s"].get(f"{hub.url}/organizations/{org}/members", timeout=30).status_code == 403
    _p, dave_token = get_form(dave["s"], hub, "/settings/profile")
    r = dave["s"].post(f"{hub.url}/organizations/{org}/members/{dave['name']}/role",
                       data={"csrf_token": dave_token, "role": "admin"}, timeout=30)
    assert r.status_code == 403
    # change role: dave becomes a reader, and can no longer create models there
    r = s.post(f"{hub.url}/organizations/{org}/members/{dave['name']}/role",
               data={"csrf_token": token, "role": "read"}, follow_redirects=False, timeout=30)
    assert r.status_code == 303
    with pytest.raises(HfHubHTTPError):
        api.create_repo(f"{org}/{uniq('by-dave')}")
    # the last admin cannot step down
    r = s.post(f"{hub.url}/organizations/{org}/members/{carol['name']}/role",
               data={"csrf_token": token, "role": "write"}, timeout=30)
    assert r.status_code == 400 and any("at least one admin" in e for e in field_errors(r.text))
    # removal ends the membership (the flash message names dave, so look at the member rows)
    r = s.post(f"{hub.url}/organizations/{org}/members/{dave['name']}/remove", data={"csrf_token": token},
               follow_redirects=False, timeout=30)
    assert r.status_code == 303
    members = s.get(f"{hub.url}/organizations/{org}/members", timeout=30).text
    assert f'id="member-{dave["name"]}"' not in members and f'id="member-{carol["name"]}"' in members
    # the last admin cannot be removed either
    r = s.post(f"{hub.url}/organizations/{org}/members/{carol['name']}/remove", data={"csrf_token": token},
               timeout=30)
    assert r.status_code == 400
    assert s.get(f"{hub.url}/organizations/no-such-org-x/members", timeout=30).status_code == 404
    # no CSRF
    assert s.post(f"{hub.url}/organizations/{org}/members/{carol['name']}/role", data={"role": "read"},
                  timeout=30).status_code == 400


# ---- repository settings ----------------------------------------------------------------------
def make_repo(hub, who: dict, private: bool = False) -> str:
    name = uniq("rs")
    hub.api(who["token"]).create_repo(name, private=private)
    return f"{who['name']}/{name}"


def test_repo_visibility_and_delete(hub, carol, dave):
    s = carol["s"]
    repo = make_repo(hub, carol)
    page, token = get_form(s, hub, f"/{repo}/settings")
    assert 'aria-current="page"' in page and "Delete this repository" in page
    r = s.post(f"{hub.url}/{repo}/settings/visibility", data={"csrf_token": token, "visibility": "private"},
               follow_redirects=False, timeout=30)
    assert r.status_code == 303
    assert hub.api(carol["token"]).model_info(repo).private is True
    assert httpx2.get(f"{hub.url}/{repo}", follow_redirects=True, timeout=30).status_code == 404
    r = s.post(f"{hub.url}/{repo}/settings/visibility", data={"csrf_token": token, "visibility": "secret"},
               timeout=30)
    assert r.status_code == 400
    assert s.post(f"{hub.url}/{repo}/settings/visibility", data={"visibility": "public"},
                  timeout=30).status_code == 400  # no CSRF
    assert hub.api(carol["token"]).model_info(repo).private is True

    # delete: the exact name must be typed
    r = s.post(f"{hub.url}/{repo}/settings/delete", data={"csrf_token": token, "confirm": repo.upper()}, timeout=30)
    assert r.status_code == 400 and input_value(r.text, "confirm") == repo.upper()
    assert any("exactly" in e for e in field_errors(r.text))
    assert hub.api(carol["token"]).model_info(repo).id == repo
    r = s.post(f"{hub.url}/{repo}/settings/delete", data={"csrf_token": token, "confirm": repo},
               follow_redirects=False, timeout=30)
    assert r.status_code == 303 and r.headers["Location"] == f"/{carol['name']}"
    assert s.get(f"{hub.url}/{repo}", timeout=30).status_code == 404


def test_other_users_repo_settings_are_refused(hub, carol, dave):
    public, private = make_repo(hub, carol), make_repo(hub, carol, private=True)
    d = dave["s"]
    _p, token = get_form(d, hub, "/settings/profile")
    assert d.get(f"{hub.url}/{public}/settings", timeout=30).status_code == 403
    assert d.get(f"{hub.url}/{private}/settings", timeout=30).status_code == 404
    for action, data in (("visibility", {"visibility": "private"}), ("gating", {"gated": "manual"}),
                         ("delete", {"confirm": public}), ("grant", {"user": dave["name"]}),
                         ("access", {"action": "accept", "user": dave["name"]})):
        assert d.post(f"{hub.url}/{public}/settings/{action}", data={"csrf_token": token, **data},
                      timeout=30).status_code == 403, action
        assert d.post(f"{hub.url}/{private}/settings/{action}", data={"csrf_token": token, **data},
                      timeout=30).status_code == 404, action
    info = hub.api(carol["token"]).model_info(public)
    assert info.private is False and not info.gated
    # anonymous visitors are sent to sign in
    r = httpx2.get(f"{hub.url}/{public}/settings", timeout=30)
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_gating_and_access_requests(hub, carol, dave):
    s = carol["s"]
    repo = make_repo(hub, carol)
    requester = person(hub, uniq("req"))
    granted = person(hub, uniq("grant"))
    page, token = get_form(s, hub, f"/{repo}/settings")
    assert "Access requests" not in page  # not gated, nobody asked
    r = s.post(f"{hub.url}/{repo}/settings/gating", data={"csrf_token": token, "gated": "sometimes"}, timeout=30)
    assert r.status_code == 400
    r = s.post(f"{hub.url}/{repo}/settings/gating", data={"csrf_token": token, "gated": "manual"},
               follow_redirects=False, timeout=30)
    assert r.status_code == 303
    assert hub.api(carol["token"]).model_info(repo).gated == "manual"

    # a request arrives (the form on the model page), it is listed as pending
    model_page = requester["s"].get(f"{hub.url}/{repo}", timeout=30).text
    r = requester["s"].post(f"{hub.url}/{repo}/ask-access-form", data={"csrf_token": csrf_of(model_page)},
                            follow_redirects=False, timeout=30)
    assert r.status_code == 302
    page = s.get(f"{hub.url}/{repo}/settings", timeout=30).text
    assert f'data-request="{requester["name"]}"' in page
    api = hub.api(carol["token"])
    assert [u.username for u in api.list_pending_access_requests(repo)] == [requester["name"]]

    # accept, then revoke
    r = s.post(f"{hub.url}/{repo}/settings/access", data={"csrf_token": token, "action": "accept",
                                                          "user": requester["name"]}, follow_redirects=False,
               timeout=30)
    assert r.status_code == 303
    assert [u.username for u in api.list_accepted_access_requests(repo)] == [requester["name"]]
    page = s.get(f"{hub.url}/{repo}/settings", timeout=30).text
    assert f'data-accepted="{requester["name"]}"' in page
    r = s.post(f"{hub.url}/{repo}/settings/access", data={"csrf_token": token, "action": "revoke",
                                                          "user": requester["name"]}, follow_redirects=False,
               timeout=30)
    assert r.status_code == 303
    assert [u.username for u in api.list_rejected_access_requests(repo)] == [requester["name"]]
    r = s.post(f"{hub.url}/{repo}/settings/access", data={"csrf_token": token, "action": "accept",
                                                          "user": "nobody-asked"}, timeout=30)
    assert r.status_code == 400 and any("has no access request" in e for e in field_errors(r.text))
    r = s.post(f"{hub.url}/{repo}/settings/access", data={"csrf_token": token, "action": "explode",
                                                          "user": requester["name"]}, timeout=30)
    assert r.status_code == 400

    # grant directly; bad user names come back next to the field
    r = s.post(f"{hub.url}/{repo}/settings/grant", data={"csrf_token": token, "user": granted["name"]},
               follow_redirects=False, timeout=30)
    assert r.status_code == 303
    assert granted["name"] in [u.username for u in api.list_accepted_access_requests(repo)]
    r = s.post(f"{hub.url}/{repo}/settings/grant", data={"csrf_token": token, "user": "ghost-user-x"}, timeout=30)
    assert r.status_code == 400 and input_value(r.text, "user") == "ghost-user-x"
    r = s.post(f"{hub.url}/{repo}/settings/grant", data={"csrf_token": token, "user": granted["name"]}, timeout=30)
    assert r.status_code == 400 and any("already has access" in e for e in field_errors(r.text))

    # gating off again
    r = s.post(f"{hub.url}/{repo}/settings/gating", data={"csrf_token": token, "gated": "off"},
               follow_redirects=False, timeout=30)
    assert r.status_code == 303 and not hub.api(carol["token"]).model_info(repo).gated


def test_org_writer_handles_requests_but_not_admin_settings(hub, carol, dave):
    s = carol["s"]
    org = uniq("gorg")
    _p, token = get_form(s, hub, "/organizations/new")
    s.post(hub.url + "/organizations/new", data={"csrf_token": token, "name": org}, timeout=30)
    s.post(f"{hub.url}/organizations/{org}/members", data={"csrf_token": token, "user": dave["name"],
                                                           "role": "write"}, timeout=30)
    repo = f"{org}/{uniq('m')}"
    hub.api(carol["token"]).create_repo(repo)
    hub.api(carol["token"]).update_repo_settings(repo, gated="manual")
    d = dave["s"]
    page, dave_token = get_form(d, hub, f"/{repo}/settings")
    assert "Access requests" in page and "Grant access" in page
    assert "Delete this repository" not in page and "Save visibility" not in page
    assert d.post(f"{hub.url}/{repo}/settings/visibility", data={"csrf_token": dave_token, "visibility": "private"},
                  timeout=30).status_code == 403
    r = d.post(f"{hub.url}/{repo}/settings/grant", data={"csrf_token": dave_token, "user": carol["name"]},
               follow_redirects=False, timeout=30)
    assert r.status_code == 303
