"""Malformed and oversized requests, without authentication or with: each a clean 4xx with a clear
message (JSON and the HF error headers on the API, a page on the website), never a 500, and every
response header visible ASCII. Raw sockets where an HTTP client (httpx2) would normalise or refuse the
request."""

from __future__ import annotations

import json
import re
import time
from hashlib import sha256
from pathlib import Path

import httpx2
import pytest
from huggingface_hub import CommitOperationAdd, hf_hub_download

from tests.support import rawhttp

OWNER = "limits-owner"
HUGE = "99999999999999999999999"  # past 64 bits
LOG_START: dict[str, int] = {}


@pytest.fixture(scope="module")
def setup(hub):
    """A repo of OWNER with a discussion, and the owner's token."""
    LOG_START["offset"] = len(hub.log())
    token = hub.users(OWNER)[0]
    api = hub.api(token)
    api.create_repo(f"{OWNER}/m")
    api.create_commit(f"{OWNER}/m", [CommitOperationAdd("a.txt", b"a\n")], commit_message="a")
    api.create_discussion(f"{OWNER}/m", title="one")
    return {"token": token, "repo": f"{OWNER}/m"}


def raw(hub, method: str, target: str, headers=(), body: bytes = b"") -> rawhttp.RawResponse:
    r = rawhttp.send(hub.host_port, rawhttp.build(method, target, list(headers), body))
    assert r.header_bytes_are_visible_ascii(), r.head
    return r


def api_error(r: rawhttp.RawResponse, status: int | tuple[int, ...]) -> str:
    """A JSON error with the HF message header, which says the same (escaped)."""
    statuses = status if isinstance(status, tuple) else (status,)
    assert r.status in statuses, (r.status, r.body[:300])
    assert r.header("content-type").startswith("application/json"), r.head
    msg = r.json()["error"]
    assert isinstance(msg, str) and msg
    assert r.header("x-error-message")
    return msg


def bearer(token: str) -> list[tuple[str, str]]:
    return [("Authorization", f"Bearer {token}")]


# ---- control characters and non-ASCII in what is echoed into headers ------------------------------

@pytest.mark.parametrize("path", ["/xet-cas/%01", "/api/models/alice/%01", "/alice/%01/resolve/main/x",
                                  "/api/models/alice/%0d%0aX-Injected:%20yes", "/xet-cas/%7f%00%1b[31m"])
def test_control_characters_in_the_path(hub, path):
    r = raw(hub, "GET", path)
    msg = api_error(r, (400, 401, 404))
    assert r.header("x-injected") is None
    assert "\\u00" in r.header("x-error-message") or "\x00" not in msg


def test_a_chinese_message_stays_readable_in_the_header(hub, setup):
    r = raw(hub, "GET", f"/api/models/{setup['repo']}/revision/%E4%B8%AD%E6%96%87")  # a branch named 中文
    msg = api_error(r, 404)
    assert "中文" in msg
    # escaped as in JSON: a client can read it back
    assert "\\u4e2d\\u6587" in r.header("x-error-message")
    assert json.loads('"' + r.header("x-error-message") + '"') == msg


def test_a_control_character_in_a_page_path_gets_a_page(hub):
    r = raw(hub, "GET", "/alice/%01")
    assert r.status == 404
    assert r.header("content-type").startswith("text/html")


def test_request_id_and_file_names_are_escaped(hub, setup):
    # gunicorn refuses control characters in request headers itself; bytes past ASCII come through
    r = raw(hub, "GET", "/api/models/alice/nothing", [("X-Request-Id", b"id-\xe4")])
    api_error(r, 401)
    assert r.header("x-request-id") == "id-\\u00e4"
    api = hub.api(setup["token"])
    api.create_commit(setup["repo"], [CommitOperationAdd("数据/模型 名.txt", b"x\n")], commit_message="zh")
    r = raw(hub, "GET", f"/{setup['repo']}/resolve/main/%E6%95%B0%E6%8D%AE/%E6%A8%A1%E5%9E%8B%20%E5%90%8D.txt")
    assert r.status == 200 and r.body == b"x\n"


# ---- deeply nested, oversized and invalid JSON ---------------------------------------------------

DEEP = b"[" * 100_000


@pytest.mark.parametrize("where", ["lfs-batch", "validate-yaml", "access-request", "merge", "commit"])
def test_deeply_nested_json(hub, setup, where):
    repo, auth = setup["repo"], bearer(setup["token"])
    target, headers = {
        "lfs-batch": (f"/{repo}.git/info/lfs/objects/batch", [("Content-Type", "application/vnd.git-lfs+json")]),
        "validate-yaml": ("/api/validate-yaml", [("Content-Type", "application/json")]),
        "access-request": (f"/api/models/{repo}/user-access-request/handle", auth),
        "merge": (f"/api/models/{repo}/discussions/1/merge", auth + [("Content-Type", "application/json")]),
        "commit": (f"/api/models/{repo}/commit/main", auth + [("Content-Type", "application/x-ndjson")]),
    }[where]
    for body in (DEEP, b'{"a": ' + b"[" * 65 + b"]" * 65 + b"}"):
        msg = api_error(raw(hub, "POST", target, headers, body), 400)
        assert "nested deeper than 64 levels" in msg, msg


def test_deeply_nested_yaml_in_a_card(hub):
    content = "---\nlicense: " + "[" * 100_000 + "\n---\n"
    r = hub.request("POST", "/api/validate-yaml", json={"content": content})
    assert r.status_code == 400
    assert "invalid YAML" in r.json()["errors"][0]["message"]


@pytest.mark.parametrize("body, fragment", [
    (b'{"content": NaN}', "NaN is not a JSON value"),
    (b'{"content": 1e999}', "out of range"),
    (b'{"content": ' + b"1" * 5000 + b"}", "digits"),
    (b'{"content": "\xff\xfe"}', "Invalid JSON body"),
    (b'{"content": ', "Invalid JSON body"),
    (b"", "Invalid JSON body"),
])
def test_invalid_json(hub, body, fragment):
    assert fragment in api_error(raw(hub, "POST", "/api/validate-yaml", [], body), 400)


def test_oversized_json_is_refused_before_it_is_read(hub):
    started = time.monotonic()
    head = rawhttp.build("POST", "/api/validate-yaml", [("Content-Length", str(64 * 1024 * 1024))])
    r = rawhttp.send(hub.host_port, head)  # the body never comes: the answer may not wait for it
    assert time.monotonic() - started < 10
    assert r.status == 413 and "larger than the limit" in r.json()["error"]


def test_oversized_chunked_json(hub):
    body = b"0" * (9 * 1024 * 1024)
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in (body[i:i + 65536] for i in range(0, len(body), 65536)))
    r = raw(hub, "POST", "/api/validate-yaml", [("Transfer-Encoding", "chunked")], chunked + b"0\r\n\r\n")
    assert r.status == 413 and "larger than the limit" in r.json()["error"]


# ---- integers past what a database column holds ---------------------------------------------------

def test_discussion_number_past_64_bits(hub, setup):
    repo, token = setup["repo"], setup["token"]
    for number in (HUGE, "9" * 5000, "2147483648"):
        for method, path, auth in (("GET", f"/api/models/{repo}/discussions/{number}", []),
                                   ("GET", f"/api/models/{repo}/discussions/{number}", bearer(token)),
                                   ("POST", f"/api/models/{repo}/discussions/{number}/merge", bearer(token)),
                                   ("POST", f"/api/notifications/{number}/read", bearer(token)),
                                   ("POST", f"/api/moderation/reports/{number}/resolve", bearer(token))):
            api_error(raw(hub, method, path, auth), 404)
        r = raw(hub, "GET", f"/{repo}/discussions/{number}")
        assert r.status == 404 and r.header("content-type").startswith("text/html")
    # a pull request's ref with such a number, in the API and on the site
    r = hub.commit_ndjson(token, repo, b'{"key": "header", "value": {"summary": "x"}}\n', rev=f"refs%2Fpr%2F{HUGE}")
    assert r.status_code == 404 and r.json()["error"]
    for page in ("upload", "edit", "delete"):
        assert raw(hub, "GET", f"/{repo}/{page}/refs%2Fpr%2F{HUGE}/a.txt", bearer(token)).status == 404
    # the largest number a row can have is only "not found", as any other missing one
    api_error(raw(hub, "GET", f"/api/models/{repo}/discussions/2147483647"), 404)
    assert raw(hub, "GET", f"/api/models/{repo}/discussions/1").status == 200


@pytest.mark.parametrize("body", [{"requestId": int(HUGE)}, {"requestId": HUGE}, {"requestId": -1}])
def test_access_request_id_past_the_column(hub, setup, body):
    r = hub.request("POST", f"/api/models/{setup['repo']}/user-access-request/handle", setup["token"],
                    json={**body, "status": "accepted"})
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["error"]


def test_comment_ids_past_the_column(hub, setup):
    repo, auth = setup["repo"], bearer(setup["token"])
    for cid in ("f" * 30, "f" * 24, "ffffffff"):
        api_error(raw(hub, "POST", f"/api/models/{repo}/discussions/1/comment/{cid}/approve", auth), 404)
    r = hub.request("POST", f"/api/models/{repo}/discussions/1/report", setup["token"],
                    json={"commentId": "f" * 30, "reason": "x"})
    assert r.status_code == 404, r.text


@pytest.mark.parametrize("query", ["p=" + HUGE, "p=-5", "p=1e9", "p=%00"])
def test_page_numbers_in_queries(hub, setup, query):
    for path in ("/models", f"/{setup['repo']}/discussions", f"/{setup['repo']}/commits/main"):
        r = raw(hub, "GET", f"{path}?{query}")
        assert r.status in (200, 400, 404), (path, query, r.status)  # 404: a page past the last
    api_error(raw(hub, "GET", f"/api/models?offset={HUGE}"), 400)


# ---- request size limits ---------------------------------------------------------------------------

def test_a_long_query_string_gets_a_json_414_at_once(hub):
    started = time.monotonic()
    msg = api_error(raw(hub, "GET", "/api/models?search=" + "a" * 5000), 414)
    assert "Query string too long" in msg
    r = raw(hub, "GET", "/models?search=" + "a" * 5000)
    assert r.status == 414 and r.header("content-type").startswith("text/html")
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("size", [9000, 16 * 1024 * 1024])
def test_a_request_line_past_gunicorns_limit(hub, size):
    started = time.monotonic()
    r = raw(hub, "GET", "/api/models?search=" + "a" * size)
    assert r.status == 414
    assert time.monotonic() - started < 10


def test_too_many_or_too_large_headers(hub):
    r = raw(hub, "GET", "/api/health", [(f"X-H{i}", "v") for i in range(120)])
    assert r.status == 431
    r = raw(hub, "GET", "/api/health", [("X-Big", "v" * 9000)])
    assert r.status == 431
    # what browsers and the HF client send fits
    assert raw(hub, "GET", "/api/health", [("Cookie", "c=" + "v" * 4000), ("User-Agent", "u" * 500)]).status == 200


def test_long_paths_and_the_hf_client_still_fit(hub, setup, hf_cache):
    """The longest legal path (1,024 bytes, here all 3-byte characters: 3,072 percent-encoded bytes
    in each URL) commits, lists and downloads through the HF client; so do LFS transfers."""
    api = hub.api(setup["token"])
    path = "/".join(["模" * 84] * 4)  # 4 x 252 bytes + 3 slashes = 1,011 bytes
    data = b"\x00" * 20_000  # binary, so the client uses LFS
    api.create_commit(setup["repo"], [CommitOperationAdd(path, b"deep\n"), CommitOperationAdd("big.bin", data)],
                      commit_message="long")
    assert [e.path for e in api.list_repo_tree(setup["repo"], path_in_repo=path.rsplit("/", 1)[0])] == [path]
    for name, content in ((path, b"deep\n"), ("big.bin", data)):
        local = hf_hub_download(setup["repo"], name, endpoint=hub.url, token=setup["token"], cache_dir=hf_cache)
        assert Path(local).read_bytes() == content
    wanted = [{"oid": sha256(data).hexdigest(), "size": len(data)}]
    batch = hub.request("POST", f"/{setup['repo']}.git/info/lfs/objects/batch", setup["token"],
                        json={"operation": "download", "objects": wanted})
    href = batch.json()["objects"][0]["actions"]["download"]["href"]
    assert httpx2.get(href, follow_redirects=True, timeout=60).content == data
    models = list(api.list_models(author=OWNER, expand=["author", "cardData", "config", "createdAt", "downloads",
                                                          "gated", "lastModified", "library_name", "likes",
                                                          "pipeline_tag", "private", "sha", "siblings", "tags"]))
    assert [m.id for m in models] == [setup["repo"]]


def test_a_json_body_posted_to_a_page_form(hub, setup):
    """Flask-WTF reads a JSON body as a form's fields: one that is no object is a bad request, not a 500."""
    with httpx2.Client(follow_redirects=True) as browser:
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', browser.get(hub.url + "/login", timeout=60).text)[1]
        for body in (b"5", b'"x"', b"[1, 2]", b"{}"):
            r = browser.post(hub.url + "/login", content=body, timeout=60,
                             headers={"Content-Type": "application/json", "X-CSRFToken": csrf})
            assert 400 <= r.status_code < 500 and r.headers["Content-Type"].startswith("text/html"), body


def test_nul_characters_anywhere_are_a_4xx(hub, setup):
    """PostgreSQL stores no NUL in text: a NUL that reaches a query must be the client's 400, never a
    500 (CI runs this file against PostgreSQL too)."""
    token, repo = setup["token"], setup["repo"]
    for target in ("/%00", "/alice%00", f"/{repo}%00", f"/api/models/{repo}%00"):
        for headers in ([], bearer(token)):
            r = raw(hub, "GET", target, headers)
            assert 400 <= r.status < 500, (target, r.status, r.body[:200])
    # Past the URL checks, in bodies: the database's refusal is answered as bad input.
    basic = httpx2.get(hub.url + "/api/whoami-v2", auth=("no\x00body", "a-long-password"), follow_redirects=True,
                       timeout=60)
    assert 400 <= basic.status_code < 500
    login = httpx2.post(hub.url + "/login", data={"username": "no\x00body", "password": "x" * 12},
                        follow_redirects=True, timeout=60)
    assert 400 <= login.status_code < 500
    title = hub.request("POST", f"/api/models/{repo}/discussions", token, json={"title": "nul\x00title"})
    assert title.status_code == 200, title.text  # user text is stored without its NUL bytes, on either database
    number = title.json()["num"]
    assert hub.request("GET", f"/api/models/{repo}/discussions/{number}", token).json()["title"] == "nultitle"
    comment = hub.request("POST", f"/api/models/{repo}/discussions/{number}/comment", token,
                          json={"comment": "a\x00b"})
    assert comment.status_code == 200, comment.text
    assert comment.json()["newMessage"]["data"]["latest"]["raw"] == "ab"


def test_the_server_logged_no_traceback(hub, setup):
    # runs after the tests above (file order)
    log = hub.log()[LOG_START["offset"]:]
    assert "Traceback" not in log and "Error handling request" not in log, log[-3000:]
    assert hub.get("/api/health").status_code == 200
