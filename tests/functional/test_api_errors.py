"""Error codes and bad input: what the HF client relies on (X-Error-Code and friends), and what a
hostile or broken client can send to the commit endpoint (raw requests, since the client refuses
to produce most of these)."""

from __future__ import annotations

import base64
import hashlib
import json
import os

import pytest
from huggingface_hub import CommitOperationAdd, hf_hub_download
from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, RepositoryNotFoundError

OWNER = "errs-owner"
OTHER = "errs-other"


@pytest.fixture(scope="module")
def tokens(hub) -> dict[str, str]:
    owner, other, reader = hub.users(OWNER, OTHER, (OWNER, "read"))
    return {"owner": owner, "other": other, "read": reader}


@pytest.fixture(scope="module")
def repos(hub, tokens) -> dict[str, str]:
    """A public and a private repo of OWNER, each with a.txt; returns their ids and head commits."""
    api = hub.api(tokens["owner"])
    out = {}
    for name, private in (("public", False), ("private", True)):
        rid = f"{OWNER}/{name}"
        api.create_repo(rid, private=private)
        out[name] = rid
        out[f"{name}-sha"] = api.create_commit(rid, [CommitOperationAdd("a.txt", b"a\n"),
                                                     CommitOperationAdd("dir/b.txt", b"b\n")],
                                               commit_message="files").oid
    return out


def line(key: str, value: dict) -> bytes:
    return json.dumps({"key": key, "value": value}).encode() + b"\n"


def header(summary: str = "raw commit") -> bytes:
    return line("header", {"summary": summary, "description": ""})


def file_line(path: str, data: bytes) -> bytes:
    return line("file", {"path": path, "content": base64.b64encode(data).decode(), "encoding": "base64"})


def commit_ids(hub, token, rid: str) -> list[str]:
    return [c.commit_id for c in hub.api(token).list_repo_commits(rid)]


def assert_json_error(r, status: int) -> str:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/json")
    msg = r.json()["error"]
    assert isinstance(msg, str) and msg
    return msg


# ---- not found: repo, revision, entry ----------------------------------------------------------

def test_repo_not_found_is_401_anonymous_and_404_signed_in(hub, tokens, repos):
    for rid in (f"{OWNER}/no-such-repo", repos["private"]):
        for path in (f"/api/models/{rid}", f"/api/models/{rid}/revision/main", f"/api/models/{rid}/tree/main",
                     f"/api/models/{rid}/refs", f"/api/models/{rid}/commits/main"):
            r = hub.get(path)
            assert r.status_code == 401, path
            assert r.headers["X-Error-Code"] == "RepoNotFound", path
            r = hub.get(path, tokens["other"])
            assert r.status_code == 404, path
            assert r.headers["X-Error-Code"] == "RepoNotFound", path
            assert r.json()["error"]
        for token, status in ((None, 401), (tokens["other"], 404)):
            r = hub.request("HEAD", f"/{rid}/resolve/main/a.txt", token)
            assert r.status_code == status
            assert r.headers["X-Error-Code"] == "RepoNotFound"
            assert r.headers["X-Error-Message"]
    # the owner sees the private one
    r = hub.get(f"/api/models/{repos['private']}", tokens["owner"])
    assert r.status_code == 200 and r.json()["id"] == repos["private"]


def test_revision_not_found(hub, tokens, repos):
    rid = repos["public"]
    for method, path in (("GET", f"/api/models/{rid}/revision/no-such-rev"),
                         ("GET", f"/api/models/{rid}/tree/no-such-rev"),
                         ("GET", f"/api/models/{rid}/commits/no-such-rev"),
                         ("HEAD", f"/{rid}/resolve/no-such-rev/a.txt"),
                         ("GET", f"/{rid}/resolve/no-such-rev/a.txt"),
                         ("GET", f"/{rid}/resolve/0123456789abcdef0123456789abcdef01234567/a.txt")):
        r = hub.request(method, path, tokens["owner"])
        assert r.status_code == 404, path
        assert r.headers["X-Error-Code"] == "RevisionNotFound", path


def test_entry_not_found_carries_the_commit(hub, tokens, repos, hf_cache):
    rid, sha = repos["public"], repos["public-sha"]
    for method in ("HEAD", "GET"):
        for path in ("missing.txt", "dir", "dir/missing.txt"):
            r = hub.request(method, f"/{rid}/resolve/main/{path}", tokens["owner"])
            assert r.status_code == 404, (method, path)
            assert r.headers["X-Error-Code"] == "EntryNotFound", (method, path)
            assert r.headers["X-Repo-Commit"] == sha, (method, path)
    r = hub.get(f"/api/models/{rid}/tree/main/missing")
    assert r.status_code == 404 and r.headers["X-Error-Code"] == "EntryNotFound"
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(rid, "missing.txt", endpoint=hub.url, token=tokens["owner"], cache_dir=hf_cache)


# ---- authentication and permissions -------------------------------------------------------------

def test_read_token_cannot_write(hub, tokens, repos, hf_cache):
    rid = repos["public"]
    reader = hub.api(tokens["read"])
    before = commit_ids(hub, tokens["owner"], rid)
    # it can read, including the private repo of its user
    assert reader.model_info(repos["private"]).private is True
    path = hf_hub_download(repos["private"], "a.txt", endpoint=hub.url, token=tokens["read"], cache_dir=hf_cache)
    with open(path, "rb") as f:
        assert f.read() == b"a\n"

    with pytest.raises(HfHubHTTPError) as exc:
        reader.upload_file(path_or_fileobj=b"nope\n", path_in_repo="nope.txt", repo_id=rid)
    assert exc.value.response.status_code == 403
    r = hub.commit_ndjson(tokens["read"], rid, header() + file_line("nope.txt", b"nope\n"))
    assert_json_error(r, 403)
    for call in (lambda: reader.create_repo("by-read-token"),
                 lambda: reader.create_branch(rid, branch="nope"),
                 lambda: reader.create_tag(rid, tag="nope"),
                 lambda: reader.delete_file("a.txt", rid),
                 lambda: reader.update_repo_settings(rid, private=True),
                 lambda: reader.delete_repo(rid)):
        with pytest.raises(HfHubHTTPError) as exc:
            call()
        assert exc.value.response.status_code == 403

    owner = hub.api(tokens["owner"])
    assert commit_ids(hub, tokens["owner"], rid) == before
    assert not owner.repo_exists(f"{OWNER}/by-read-token")
    branches = owner.list_repo_refs(rid)
    assert [b.name for b in branches.branches] == ["main"] and branches.tags == []
    assert owner.model_info(rid).private is False
    assert owner.file_exists(rid, "a.txt")


def test_other_user_cannot_write(hub, tokens, repos):
    rid = repos["public"]
    before = commit_ids(hub, tokens["owner"], rid)
    with pytest.raises(HfHubHTTPError) as exc:
        hub.api(tokens["other"]).upload_file(path_or_fileobj=b"x\n", path_in_repo="x.txt", repo_id=rid)
    assert exc.value.response.status_code == 403
    r = hub.commit_ndjson(tokens["other"], rid, header() + file_line("x.txt", b"x\n"))
    assert_json_error(r, 403)
    r = hub.commit_ndjson(None, rid, header() + file_line("x.txt", b"x\n"))
    assert_json_error(r, 401)
    assert commit_ids(hub, tokens["owner"], rid) == before


def test_invalid_token_is_401(hub, repos):
    bad = hub.api("mh_this-token-does-not-exist")
    with pytest.raises(HfHubHTTPError) as exc:
        bad.whoami()
    assert exc.value.response.status_code == 401
    with pytest.raises(HfHubHTTPError) as exc:
        bad.model_info(repos["public"])
    assert exc.value.response.status_code == 401
    assert not isinstance(exc.value, RepositoryNotFoundError)  # a bad token is not a missing repo
    for method, path in (("GET", f"/api/models/{repos['public']}"), ("GET", "/api/whoami-v2"),
                         ("HEAD", f"/{repos['public']}/resolve/main/a.txt")):
        r = hub.request(method, path, headers={"Authorization": "Bearer mh_this-token-does-not-exist"})
        assert r.status_code == 401, path
        assert r.headers["X-Error-Message"] == "Invalid credentials in Authorization header", path
        assert "X-Error-Code" not in r.headers, path
    r = hub.get("/api/whoami-v2")
    assert r.status_code == 401


# ---- hostile commit bodies ----------------------------------------------------------------------

BAD_PATHS = ["../x", "/abs", "a/../b", ".git/config", "sub/.git/hooks/post-update", "..\\b", "nul\x00byte",
             "./x", "a//b", "", "x/..", "ctrl\x01char", ".GIT/config"]


def test_path_traversal_refused_and_nothing_written(hub, tokens, repos):
    rid = repos["public"]
    owner = hub.api(tokens["owner"])
    before = commit_ids(hub, tokens["owner"], rid)
    files_before = sorted(owner.list_repo_files(rid))
    for bad in BAD_PATHS:
        r = hub.commit_ndjson(tokens["owner"], rid, header() + file_line(bad, b"evil\n"))
        assert_json_error(r, 422)  # as the Hub: the path is unprocessable, the request well formed
        # also hidden behind a valid operation, and as deletions
        body = header() + file_line("fine.txt", b"fine\n") + file_line(bad, b"evil\n")
        r = hub.commit_ndjson(tokens["owner"], rid, body)
        assert_json_error(r, 422)
        r = hub.commit_ndjson(tokens["owner"], rid, header() + line("deletedFile", {"path": bad}))
        assert r.status_code == 422, (bad, r.status_code, r.text)
    assert commit_ids(hub, tokens["owner"], rid) == before
    assert sorted(owner.list_repo_files(rid)) == files_before


def test_malformed_ndjson_is_400(hub, tokens, repos):
    rid = repos["public"]
    before = commit_ids(hub, tokens["owner"], rid)
    bodies = {
        "not json": b"this is not json\n",
        "empty body": b"",
        "no header": file_line("x.txt", b"x\n"),
        "header not first": file_line("x.txt", b"x\n") + header(),
        "two headers": header() + header() + file_line("x.txt", b"x\n"),
        "truncated": header() + b'{"key": "file", "value": {"path": "x.txt", "content": "eHh4',
        "bad base64": header() + line("file", {"path": "x.txt", "content": "!!!not base64!!!", "encoding": "base64"}),
        "unknown key": header() + line("copyFile", {"path": "x.txt"}),
        "value not object": header() + b'{"key": "file", "value": [1, 2]}\n',
        "line not object": header() + b'[1, 2, 3]\n',
        "empty summary": line("header", {"summary": "", "description": ""}) + file_line("x.txt", b"x\n"),
        "summary not string": line("header", {"summary": 5}) + file_line("x.txt", b"x\n"),
        "path not string": header() + line("deletedFile", {"path": 7}),
    }
    for what, body in bodies.items():
        r = hub.commit_ndjson(tokens["owner"], rid, body)
        assert r.status_code == 400, (what, r.status_code, r.text)
        assert r.json()["error"], what
    assert commit_ids(hub, tokens["owner"], rid) == before


def test_commit_with_never_uploaded_lfs_oid_is_400(hub, tokens, repos):
    rid = repos["public"]
    before = commit_ids(hub, tokens["owner"], rid)
    data = os.urandom(1000)
    oid = hashlib.sha256(data).hexdigest()
    body = header() + line("lfsFile", {"path": "w.bin", "algo": "sha256", "oid": oid, "size": len(data)})
    r = hub.commit_ndjson(tokens["owner"], rid, body)
    assert_json_error(r, 400)
    for bad_oid in ("not-a-sha256", "0" * 63, "../../etc/passwd"):
        body = header() + line("lfsFile", {"path": "w.bin", "algo": "sha256", "oid": bad_oid, "size": 5})
        r = hub.commit_ndjson(tokens["owner"], rid, body)
        assert_json_error(r, 400)
    assert commit_ids(hub, tokens["owner"], rid) == before
    assert not hub.api(tokens["owner"]).file_exists(rid, "w.bin")


def test_deleting_a_missing_file_is_404_entry_not_found(hub, tokens, repos):
    rid = repos["public"]
    before = commit_ids(hub, tokens["owner"], rid)
    r = hub.commit_ndjson(tokens["owner"], rid, header() + line("deletedFile", {"path": "missing.txt"}))
    msg = assert_json_error(r, 404)
    assert r.headers["X-Error-Code"] == "EntryNotFound"
    assert "A file with this name doesn't exist" in msg
    with pytest.raises(EntryNotFoundError):
        hub.api(tokens["owner"]).delete_file("missing.txt", rid)
    with pytest.raises(EntryNotFoundError):
        hub.api(tokens["owner"]).delete_folder("missing-dir", rid)
    assert commit_ids(hub, tokens["owner"], rid) == before


def test_bad_repo_names_on_create_are_400(hub, tokens):
    api = hub.api(tokens["owner"])
    for name in ("bad name", "a--b", "x.git", "..dots", "-lead", "n" * 97, "dot.", "a/b/c", "sl@sh", "", "é"):
        r = hub.request("POST", "/api/repos/create", tokens["owner"], json={"name": name, "organization": None})
        assert r.status_code == 400, (name, r.status_code, r.text)
        assert r.json()["error"]
    r = hub.request("POST", "/api/repos/create", tokens["owner"], json={"name": "ok-name", "type": "weird"})
    assert_json_error(r, 400)
    r = hub.request("POST", "/api/repos/create", tokens["owner"], content=b"not json",
                    headers={"Content-Type": "application/json"})
    assert_json_error(r, 400)
    assert not [m.id for m in api.list_models(author=OWNER) if m.id not in (f"{OWNER}/public", f"{OWNER}/private")]


def test_xet_token_endpoints_refuse_with_json_errors(hub, tokens, repos):
    # write needs write access; private repositories stay invisible; bad CAS tokens are 401
    r = hub.get(f"/api/models/{repos['public']}/xet-write-token/main", tokens["read"])
    assert "read-only" in assert_json_error(r, 403)
    r = hub.get(f"/api/models/{repos['public']}/xet-write-token/main", tokens["other"])
    assert_json_error(r, 403)
    for kind in ("xet-write-token", "xet-read-token"):
        r = hub.get(f"/api/models/{repos['private']}/{kind}/main", tokens["other"])
        assert_json_error(r, 404)
        assert r.headers["X-Error-Code"] == "RepoNotFound"
    r = hub.request("POST", "/xet-cas/v1/shards", "not-a-xet-token", content=b"x")
    assert "Xet access token" in assert_json_error(r, 401)
    assert r.headers["X-Error-Message"]