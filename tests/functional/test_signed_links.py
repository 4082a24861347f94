"""Signed transfer links on a real server: LFS hrefs and Xet tokens stop working as soon as their
holder loses access to the repository (removed from the organization, the repository made
private, the token revoked), and LFS hrefs older than an hour are refused."""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from contextlib import closing

import httpx2
import pytest
from huggingface_hub import CommitOperationAdd
from itsdangerous import TimestampSigner

from hub.git.lfs import HREF_TTL, href_serializer

LFS_JSON = "application/vnd.git-lfs+json"
OWNER, READER, WRITER = "links-owner", "links-reader", "links-writer"
ORG = "links-org"
WEIGHTS = b"\x00signed link weights" * 64  # a NUL byte: stored as LFS


@pytest.fixture(scope="module")
def people(hub) -> dict[str, str]:
    tokens = hub.users(OWNER, (READER, "read"), WRITER)
    hub.cli("orgs", "create", ORG, "--owner", OWNER)
    return dict(zip((OWNER, READER, WRITER), tokens))


def signed_in(hub, name: str) -> httpx2.Client:
    """A client signed in through the login form, following redirects as a browser does."""
    s = httpx2.Client(follow_redirects=True)
    page = s.get(hub.url + "/login", timeout=30).text
    r = s.post(hub.url + "/login", data={"csrf_token": csrf_of(page), "username": name,
                                         "password": f"pw-{name}-12345"}, follow_redirects=False, timeout=30)
    assert r.status_code in (302, 303), r.text
    return s


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def post_form(hub, s: httpx2.Client, page: str, action: str, **data) -> None:
    csrf = csrf_of(s.get(hub.url + page, timeout=30).text)
    r = s.post(hub.url + action, data={"csrf_token": csrf, **data}, follow_redirects=False, timeout=30)
    assert r.status_code in (302, 303), (action, r.status_code, r.text[-1000:])


def new_repo(hub, people, name: str, private: bool = True) -> str:
    rid = f"{ORG}/{name}-{uuid.uuid4().hex[:6]}"
    api = hub.api(people[OWNER])
    api.create_repo(rid, private=private)
    api.create_commit(rid, [CommitOperationAdd("model.bin", WEIGHTS)], commit_message="weights")
    return rid


def batch(hub, token: str | None, rid: str, operation: str, oid: str, size: int) -> dict:
    body = {"operation": operation, "transfers": ["basic"], "objects": [{"oid": oid, "size": size}]}
    r = hub.request("POST", f"/{rid}.git/info/lfs/objects/batch", token, content=json.dumps(body),
                    headers={"Accept": LFS_JSON, "Content-Type": LFS_JSON})
    assert r.status_code == 200, r.text
    [obj] = r.json()["objects"]
    assert obj["actions"][operation]["expires_in"] == HREF_TTL == 3600
    return obj["actions"]


def download_href(hub, token: str | None, rid: str) -> str:
    return batch(hub, token, rid, "download", hashlib.sha256(WEIGHTS).hexdigest(), len(WEIGHTS))["download"]["href"]


def fetch(href: str) -> httpx2.Response:
    """As git-lfs does: the href carries its own authorization, no credentials are sent."""
    return httpx2.get(href, follow_redirects=True, timeout=30)


def refused(r: httpx2.Response, words: str) -> bool:
    return r.status_code == 403 and words in r.headers.get("X-Error-Message", "")


def test_an_lfs_href_dies_when_its_holder_leaves_the_organization(hub, people):
    hub.cli("orgs", "add-member", ORG, READER, "--role", "read")
    rid = new_repo(hub, people, "leave")
    href = download_href(hub, people[READER], rid)
    assert fetch(href).content == WEIGHTS
    other = download_href(hub, people[OWNER], rid)

    with closing(signed_in(hub, OWNER)) as s:
        post_form(hub, s, f"/organizations/{ORG}/members", f"/organizations/{ORG}/members/{READER}/remove")
    assert refused(fetch(href), "can no longer read")
    assert fetch(other).content == WEIGHTS  # the owner's own link is unaffected
    assert hub.get(f"/api/models/{rid}", people[READER]).status_code == 404


def test_an_lfs_upload_href_dies_when_its_holder_leaves_the_organization(hub, people):
    hub.cli("orgs", "add-member", ORG, WRITER, "--role", "write")
    rid = new_repo(hub, people, "upload")
    data = b"\x00new object" * 10
    oid = hashlib.sha256(data).hexdigest()
    actions = batch(hub, people[WRITER], rid, "upload", oid, len(data))
    with closing(signed_in(hub, OWNER)) as s:
        post_form(hub, s, f"/organizations/{ORG}/members", f"/organizations/{ORG}/members/{WRITER}/remove")
    r = httpx2.put(actions["upload"]["href"], content=data, follow_redirects=True, timeout=30)
    assert refused(r, "can no longer read"), (r.status_code, r.headers.get("X-Error-Message"))
    r = httpx2.post(actions["verify"]["href"], content=json.dumps({"oid": oid, "size": len(data)}),
                    follow_redirects=True, timeout=30, headers={"Content-Type": LFS_JSON})
    assert r.status_code == 403


def test_an_anonymous_href_dies_when_the_repository_is_made_private(hub, people):
    rid = new_repo(hub, people, "public", private=False)
    href = download_href(hub, None, rid)
    assert fetch(href).content == WEIGHTS
    hub.api(people[OWNER]).update_repo_settings(rid, private=True)
    assert refused(fetch(href), "can no longer read")


def test_hrefs_older_than_an_hour_are_refused(hub, people):
    """Signed with the server's own key and serializer, dated in the past (no sleeping)."""
    rid = new_repo(hub, people, "expiry")
    href = download_href(hub, people[OWNER], rid)
    serializer = href_serializer((hub.data_dir / "secret_key").read_text().strip())
    payload = serializer.loads(href.split("token=", 1)[1])
    assert payload["op"] == "download" and payload["h"]["n"] == OWNER

    def signed_ago(seconds: int) -> str:
        class Past(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(time.time()) - seconds

        dated = href_serializer((hub.data_dir / "secret_key").read_text().strip())
        dated.signer = Past
        return href.split("token=", 1)[0] + "token=" + dated.dumps(payload)

    assert fetch(signed_ago(HREF_TTL - 120)).content == WEIGHTS
    assert refused(fetch(signed_ago(HREF_TTL + 1)), "expired")
    assert refused(fetch(signed_ago(24 * 3600 - 60)), "expired")  # what the old 24 h links allowed


def test_an_href_dies_when_the_token_it_was_issued_to_is_revoked(hub, people):
    token = hub.cli("tokens", "create", OWNER, "--role", "read").stdout.strip()
    rid = new_repo(hub, people, "revoke")
    href = download_href(hub, token, rid)
    assert fetch(href).content == WEIGHTS
    with closing(signed_in(hub, OWNER)) as s:
        page = s.get(hub.url + "/settings/tokens", timeout=30).text
        token_id = re.findall(r'action="/settings/tokens/(\d+)/revoke"', page)[-1]  # the newest
        post_form(hub, s, "/settings/tokens", f"/settings/tokens/{token_id}/revoke")
    assert hub.get("/api/whoami-v2", token).status_code == 401
    assert refused(fetch(href), "revoked")


def test_a_xet_token_dies_when_its_holder_leaves_the_organization(hub, people):
    member = "links-xet"
    [token] = hub.users((member, "read"))
    hub.cli("orgs", "add-member", ORG, member, "--role", "read")
    rid = new_repo(hub, people, "xet")
    r = hub.get(f"/api/models/{rid}/xet-read-token/main", token)
    assert r.status_code == 200
    cas, xet_token = r.json()["casUrl"], r.json()["accessToken"]
    assert int(r.json()["exp"]) <= time.time() + 3600

    def reconstruction() -> httpx2.Response:
        return httpx2.get(f"{cas}/v1/reconstructions/{'0' * 64}", follow_redirects=True, timeout=30,
                          headers={"Authorization": f"Bearer {xet_token}"})

    assert reconstruction().status_code == 404  # the token works: there is just no such file
    with closing(signed_in(hub, OWNER)) as s:
        post_form(hub, s, f"/organizations/{ORG}/members", f"/organizations/{ORG}/members/{member}/remove")
    assert refused(reconstruction(), "can no longer read")
