"""A seeded fuzz of every route of a live hub: a few thousand malformed requests across the API, git
and LFS, Xet and the website, over raw sockets (random and odd methods, control characters and odd
encodings in paths and queries, broken JSON and NDJSON bodies, huge numbers, odd Range and
Authorization headers). None may get a 5xx, every response header must be visible ASCII, the
server may log no traceback, and it must be healthy at the end.

Reproducible: the requests come from random.Random(SEED) alone; a failure names the request's index
and bytes. The routes are read from the app itself, so a new route is fuzzed without a change here.
"""

from __future__ import annotations

import base64
import json
import random
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from hashlib import sha256

import httpx2
import pytest
from huggingface_hub import CommitOperationAdd

from tests.support import rawhttp

SEED = 20261204
COUNT = 3000
PARALLEL = 4  # the server runs 2 workers x 8 threads
OWNER = "fuzz-owner"
REPO = f"{OWNER}/m"
BIG = b"\x00\x01" * 5000  # binary: stored in LFS
HUGE = "99999999999999999999999"
LOG_START: dict[str, int] = {}

ROUTES_SCRIPT = (
    "import json\n"
    "from hub import create_app\n"
    "app = create_app({'SEARCH_WORKER': False})\n"
    "print(json.dumps([[r.rule, sorted(r.methods)] for r in app.url_map.iter_rules()]))\n"
)


@pytest.fixture(scope="module")
def target(hub):
    """A repo with plain, LFS and nested files, a discussion and a pull request; the owner's token, a
    Xet write token and a signed-in session; and every route of the app (rule, methods)."""
    LOG_START["offset"] = len(hub.log())
    token = hub.users(OWNER)[0]
    api = hub.api(token)
    api.create_repo(REPO)
    api.create_commit(REPO, [CommitOperationAdd("README.md", b"---\nlicense: mit\n---\n# m\n"),
                             CommitOperationAdd("a.txt", b"a\n"), CommitOperationAdd("dir/b.txt", b"b\n"),
                             CommitOperationAdd("big.bin", BIG)], commit_message="files")
    api.create_discussion(REPO, title="a discussion")
    api.create_commit(REPO, [CommitOperationAdd("c.txt", b"c\n")], commit_message="pr", create_pr=True)
    xet_token = hub.get(f"/api/models/{REPO}/xet-write-token/main", token).json()["accessToken"]
    # A signed-in browser: its cookie and CSRF token take the fuzz past the forms' CSRF check.
    with httpx2.Client(follow_redirects=True) as browser:
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', browser.get(hub.url + "/login", timeout=60).text)[1]
        browser.post(hub.url + "/login", data={"username": OWNER, "password": f"pw-{OWNER}-12345",
                                               "csrf_token": csrf}, timeout=60)
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', browser.get(hub.url + "/settings", timeout=60).text)[1]
        cookie = "; ".join(f"{c.name}={c.value}" for c in browser.cookies.jar)
    done = subprocess.run([sys.executable, "-c", ROUTES_SCRIPT], env=hub.env, capture_output=True, text=True,
                          check=True, timeout=120)
    routes = json.loads(done.stdout.strip().splitlines()[-1])
    return {"token": token, "xet_token": xet_token, "session": (cookie, csrf), "routes": routes}


# ---- what goes into a request ---------------------------------------------------------------------

ODD_SEGMENTS = ["%01", "%00", "%0d%0a", "%7f", "%1b[31m", "..", "%2e%2e", "%2F", "%FF", "%C0%AF", "%ED%A0%80",
                "%E4%B8%AD%E6%96%87", "%F0%9F%A6%99", "%", "%zz", "%25", "a" * 300, "~", ";", "%20", "+", "@",
                "%09", "%u0041", "CON", "-", ".", "x.git", HUGE]
NAMES = {"ns": [OWNER, "alice", "datasets", "api"], "name": ["m", "nope", "m.git"], "kind": ["models"],
         "oid": [sha256(BIG).hexdigest(), "0" * 64, "A" * 64, "x"], "cid": ["0" * 24, "f" * 24, "f" * 100, "zz"],
         "xorb_hash": ["0" * 64, "g" * 64], "file_id": ["0" * 64, sha256(BIG).hexdigest()],
         "prefix": ["default", "default-merkledb"], "chunk_hash": ["0" * 64], "code": ["zh", "en", "xx"],
         "lid": ["mit", "apache-2.0", "nope"], "user": [OWNER, "nope"], "username": [OWNER, "nope"],
         "org": [OWNER, "nope"], "filename": ["js/site.js", "css/site.css", "../hub/__init__.py"]}
INTS = ["1", "2", "0", "-1", "00001", "2147483647", "2147483648", "18446744073709551616", HUGE, "9" * 5000,
        "%EF%BC%91", "1e3"]
PATHS = ["main/a.txt", "main/big.bin", "main/dir", "main/dir/b.txt", "main/README.md", "main", "main/",
         "refs%2Fpr%2F2/c.txt", "refs/pr/2/c.txt", f"refs/pr/{HUGE}/a.txt", "refs%2Fpr%2F" + HUGE + "/a.txt",
         "0" * 40 + "/a.txt", "main/../../../etc/passwd", "main/%2e%2e/%2e%2e/x", "main/%01", "main/a.txt%00",
         "main/" + "d/" * 400 + "x", "main/%ED%A0%80", "%E4%B8%AD/a.txt", "main/.git/config", "v1.0/a.txt",
         "main/a.txt/../a.txt", "main//a.txt"]
QUERY_KEYS = ["search", "q", "p", "limit", "offset", "cursor", "expand", "expand[]", "filter", "sort", "direction",
              "full", "token", "sig", "service", "recursive", "type", "status", "author", "download", "create_pr",
              "diff", "plain", "unread", "next", "license", "tag", "gated", "repo", "actor", "action"]
QUERY_VALUES = ["", "1", "-1", "0", HUGE, "9" * 4500, "%00", "%01", "%FF", "%", "%zz", "%E4%B8%AD%E6%96%87", "true",
                "git-upload-pack", "git-receive-pack", "a" * 300, "1e9", "NaN", "0x10", "downloads", "likes",
                "https://evil.example/", "//evil.example", "%0d%0aSet-Cookie:x=1", "*a*", "AND OR NOT ("]
RANGES = ["bytes=0-", "bytes=-0", "bytes=0-0", "bytes=5-1", f"bytes={HUGE}-", f"bytes=-{HUGE}", "bytes=0-1,2-3,4-5",
          "bytes=a-b", "items=0-1", "bytes=", "bytes=-1", "bytes=0-18446744073709551616", "bytes=1-" + "9" * 400,
          "bytes=" + ",".join(f"{i}-{i}" for i in range(300))]
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "PROPFIND", "TRACE", "get", "M-SEARCH"]
# Forms that would end the fuzz's session or token, or delete its repo: the rest of the run would
# only meet the sign-in page.
SIGN_OUT = re.compile(r"^/(logout|settings/(tokens|sessions|password)|admin/users|[^/?]*/[^/?]*/settings/delete)")
CONTENT_TYPES = ["application/json", "application/x-ndjson", "application/vnd.git-lfs+json", "multipart/form-data",
                 "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "text/plain",
                 "application/x-git-upload-pack-request", "application/json; charset=utf-16",
                 "application/octet-stream", "application/json; charset=nope"]


def b64(text: bytes) -> str:
    return base64.b64encode(text).decode()


def authorizations(token: str) -> list[str]:
    return ["Bearer junk", "Bearer ", "Basic !!!", "Basic " + b64(b"a:b"), "Basic " + b64(f"{OWNER}:{token}".encode()),
            f"Bearer {token}", f"Bearer {token}x", "Bearer " + "x" * 4000, "Token abc", "Basic " + b64(b"\xff:\xfe"),
            "Bearer \xe4\xb8\xad", "Basic " + b64(b"nocolon"), "Bearer mh_" + "0" * 40, "Digest x=1"]


def deep(n: int) -> bytes:
    return b"[" * n + b"]" * n


def json_bodies() -> list[bytes]:
    oid = sha256(BIG).hexdigest()
    docs = [
        {"operation": "download", "objects": [{"oid": oid, "size": len(BIG)}]},
        {"operation": "upload", "objects": [{"oid": oid, "size": int(HUGE)}]},
        {"operation": "download", "objects": [{"oid": oid, "size": -1}, {"oid": 5}, "x", None]},
        {"operation": "upload", "objects": "x"}, {"operation": "nope"},
        {"operation": "download", "objects": [{"oid": "0" * 64, "size": 1}] * 1001},
        {"content": "---\nlicense: [[[[\n---\n"}, {"content": 5}, {"content": "---\n" + "a: &a [*a]\n" + "---\n"},
        {"requestId": int(HUGE), "status": "accepted"}, {"requestId": HUGE}, {"user": None, "status": "rejected"},
        {"comment": {"a": 1}}, {"comment": "x" * 70000}, {"title": None}, {"title": "t", "description": ["x"]},
        {"paths": "x"}, {"paths": [int(HUGE)]}, {"paths": ["../x", "\u0000"] * 10}, {"paths": ["a.txt"] * 1001},
        {"files": [{"path": 5, "size": -1, "sample": "%%%"}]}, {"files": "x"},
        {"files": [{"path": "a.txt", "size": int(HUGE), "sample": ""}]},
        {"reaction": "\u0000"}, {"reaction": ["x"]}, {"status": "closed", "comment": None}, {"reason": 5},
        {"startingPoint": 5}, {"startingPoint": "refs/pr/" + HUGE}, {"tag": "\u0001", "message": None},
        {"private": "yes"}, {"gated": HUGE}, {"fields": [1]}, {"fields": {"a": {"b": {"c": 1}}}},
        {"name": "m", "organization": "nope", "type": "kernel"}, {"fromRepo": REPO, "toRepo": "\u0001/x"},
        {"commentId": "f" * 30, "reason": "x"}, {"commentId": HUGE}, {"resolution": None, "dismiss": "x"},
        [], {}, None, "x", 5,
    ]
    raw = [json.dumps(d).encode() for d in docs]
    raw += [deep(100_000)[:100_000], deep(65), b'{"a": ' + deep(70) + b"}", b'{"a":', b"{", b'{"a": NaN}',
            b'{"a": Infinity}', b'{"a": 1e999}', b'{"a": ' + b"1" * 5000 + b"}", b'{"a": "\xff\xfe"}',
            b"\xef\xbb\xbf{}", '{"a": 1}'.encode("utf-16"), b'{"a": "\\ud800"}', b'{"\\x": 1}', b"[" * 2000,
            b'{"a": 1, "a": 2}', b"\x00" * 100, b" " * 1000]
    return raw


def ndjson_bodies() -> list[bytes]:
    def line(key: object, value: object) -> bytes:
        return json.dumps({"key": key, "value": value}).encode() + b"\n"

    header = line("header", {"summary": "fuzz", "description": ""})
    return [
        b"", b"\n\n\n", header, line("header", {"summary": 5}), line("header", [1]),
        header + line("file", {"path": "x.txt", "content": "!!!", "encoding": "base64"}),
        header + line("file", {"path": "x.txt", "content": "YQ==YQ==", "encoding": "base64"}),
        header + line("file", {"path": "../x", "content": "YQ==", "encoding": "base64"}),
        header + line("file", {"path": "\u0001", "content": "YQ==", "encoding": "base64"}),
        header + line("file", {"path": "x", "content": "YQ==", "encoding": "utf-16"}),
        header + line("lfsFile", {"path": "y.bin", "algo": "sha256", "oid": "0" * 64, "size": int(HUGE)}),
        header + line("lfsFile", {"path": "y.bin", "algo": "md5", "oid": "x", "size": -1}),
        header + line("deletedFile", {"path": "nope.txt"}), header + line("deletedFolder", {"path": "/"}),
        header + line("copyFile", {"srcPath": "a.txt", "path": "b", "srcRevision": HUGE}),
        header + line(5, {}), header + b'{"key": "file", "value": {"path": "z", "content": "YQ',
        header + b'{"key": "file", "value": {"content": "YQ==", "content": "YQ=="}}\n',
        header + b'{"\\x": 1}\n', header + b'{"key": "file", "value": ' + b"[" * 100_000,
        header + b'{"key": "file", "value": {"path": "a\\u0000b", "content": "YQ==", "encoding": "base64"}}\n',
        header + b'{"key": "header", "value": {"summary": "\xff"}}\n', header * 3, b"}}}]]]\n",
    ]


OTHER_BODIES = [
    b"a=b&c=%FF&csrf_token=x", b"paths=../x&paths=%00&paths=a.txt", b"comment=x&comment_id=" + HUGE.encode(),
    b"--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"../a\"\r\n\r\ndata\r\n--x--\r\n",
    b"--x\r\nContent-Disposition: form-data; name=\"file\"", b"0032want " + b"0" * 40 + b"\n0000", b"ffff",
    b"0000", b"0009done\n", b"0032want " + b"z" * 40 + b"\n00000009done\n", bytes(range(256)),
]


class Generator:
    def __init__(self, rng: random.Random, routes: list, token: str, xet_token: str,
                 session: tuple[str, str]) -> None:
        self.rng = rng
        self.routes = routes
        self.token = token
        self.xet_token = xet_token
        self.session = session
        self.auth = authorizations(token)
        self.bodies = {"json": json_bodies(), "ndjson": ndjson_bodies(), "other": OTHER_BODIES}

    def pick(self, items: list):
        return items[self.rng.randrange(len(items))]

    def odd(self, normal: list[str]) -> str:
        r = self.rng.random()
        if r < 0.75:
            return self.pick(normal)
        if r < 0.92:
            return self.pick(ODD_SEGMENTS)
        return self.pick(normal) + self.pick(ODD_SEGMENTS)

    def fill(self, rule: str) -> str:
        def value(m: re.Match[str]) -> str:
            conv, args, name = m.group("conv"), m.group("args"), m.group("name")
            if conv == "int":
                return self.odd(INTS)
            if conv == "any":
                return self.odd([a.strip().strip("'\"") for a in args.split(",")])
            if conv == "path":
                return self.odd(PATHS)
            return self.odd(NAMES.get(name, ["x", OWNER, "m"]))

        return re.sub(r"<(?:(?P<conv>\w+)(?:\((?P<args>[^)]*)\))?:)?(?P<name>\w+)>", value, rule)

    def query(self) -> str:
        n = self.rng.choice([0, 0, 1, 1, 2, 3, 5])
        parts = [f"{self.pick(QUERY_KEYS)}={self.pick(QUERY_VALUES)}" for _ in range(n)]
        if self.rng.random() < 0.05:
            parts.append("&".join(["x"] * 300))
        return ("?" + "&".join(parts)) if parts else ""

    def target(self) -> tuple[str, list[str]]:
        """A request target, and the methods of the route it was made from."""
        if self.rng.random() < 0.9:
            rule, methods = self.pick(self.routes)
            path, methods = self.fill(rule), [m for m in methods if m != "OPTIONS"]
        else:  # not a route at all
            path, methods = "/" + "/".join(self.pick(ODD_SEGMENTS) for _ in range(self.rng.randint(1, 4))), ["GET"]
        if self.rng.random() < 0.03:  # a target the app should never see: gunicorn refuses it itself
            path = self.pick([path + "\x01", path.replace("/", "\\", 1), path + " x", "*", "http://evil/" + path,
                              path + "#frag", path + "\xe4"])
        return path + self.query(), methods

    def request(self) -> bytes:
        target, methods = self.target()
        method = self.pick(methods) if self.rng.random() < 0.8 else self.pick(METHODS)
        headers: list[tuple[str, str | bytes]] = []
        r = self.rng.random()
        if r < 0.4:  # as the owner: past the permission checks, into the handlers
            xet = target.startswith("/xet-cas/") and self.rng.random() < 0.8
            headers.append(("Authorization", f"Bearer {self.xet_token if xet else self.token}"))
        elif r < 0.6:
            headers.append(("Authorization", self.pick(self.auth)))
        elif r < 0.8 and not target.startswith(("/api/", "/xet-cas/")) and not SIGN_OUT.search(target):
            # a page, signed in, with its form token
            headers += [("Cookie", self.session[0]), ("X-CSRFToken", self.session[1])]
        if self.rng.random() < 0.25:
            headers.append(("Range", self.pick(RANGES)))
        for name, values, p in (("Accept-Language", ["zh", "zh-CN,zh;q=0.9", "xx;q=abc", "*"], 0.1),
                                ("If-None-Match", ['"x"', "*", "W/", '"' + "0" * 64 + '"'], 0.05),
                                ("If-Range", ['"x"', "Mon, 99 Foo 2026"], 0.05),
                                ("If-Modified-Since", ["Mon, 99 Foo", "0", "Fri, 04 Dec 2026 00:00:00 GMT"], 0.05),
                                ("Cookie", ["session=garbage", "session=" + "a" * 3000, "session=.eJ"], 0.1),
                                ("X-Request-Id", [b"\xe4\xb8\xad", "a" * 500], 0.05),
                                ("Accept", ["application/json", "text/html", "*/*;q=x"], 0.1),
                                ("Accept-Encoding", ["gzip", "br, x"], 0.05),
                                ("Content-Encoding", ["gzip", "identity"], 0.03),
                                ("Expect", ["100-continue"], 0.03),
                                ("Git-Protocol", ["version=2", "version=99"], 0.05)):
            if self.rng.random() < p:
                headers.append((name, self.pick(values)))
        body = b""
        if method in ("POST", "PUT", "PATCH", "DELETE") or self.rng.random() < 0.05:
            kind = self.rng.choice(["json", "json", "ndjson", "other", "random", "none"])
            if kind == "random":
                body = self.rng.randbytes(self.rng.randint(1, 3000))
            elif kind != "none":
                body = self.pick(self.bodies[kind])
            ctype = {"json": "application/json", "ndjson": "application/x-ndjson"}.get(kind)
            if self.rng.random() < 0.4 or ctype is None:
                ctype = self.pick(CONTENT_TYPES)
            headers.append(("Content-Type", ctype))
        if body and self.rng.random() < 0.1:  # chunked, sometimes malformed
            size = self.rng.randint(1, len(body))
            body = b"%x\r\n%s\r\n0\r\n\r\n" % (size, body[:size]) if self.rng.random() < 0.7 else b"zz\r\n" + body
            headers.append(("Transfer-Encoding", "chunked"))
        elif body and self.rng.random() < 0.05:  # a Content-Length shorter than the body
            headers.append(("Content-Length", str(self.rng.randint(0, len(body) - 1))))
        return rawhttp.build(method, target, headers, body)


def test_fuzz(hub, target):
    rng = random.Random(SEED)
    gen = Generator(rng, target["routes"], target["token"], target["xet_token"], target["session"])
    requests_ = [gen.request() for _ in range(COUNT)]

    def run(i: int) -> str | None:
        try:
            r = rawhttp.send(hub.host_port, requests_[i], timeout=60)
        except Exception as e:  # a hang or a broken answer is a failure too
            return f"#{i}: {type(e).__name__}: {e}"
        if r.status >= 500:
            return f"#{i}: {r.status}: {r.body[:300]!r}"
        if not r.header_bytes_are_visible_ascii():
            return f"#{i}: header bytes outside visible ASCII: {r.head[:500]!r}"
        return None

    with ThreadPoolExecutor(PARALLEL) as pool:
        results = list(pool.map(run, range(COUNT)))
    failures = [(i, f) for i, f in enumerate(results) if f]
    report = "\n\n".join(f"{f}\n  request: {requests_[i][:600]!r}" for i, f in failures[:10])
    assert not failures, f"{len(failures)} of {COUNT} requests failed:\n{report}"


def test_the_server_logged_no_traceback_and_is_healthy(hub, target):
    # runs after test_fuzz (file order)
    log = hub.log()[LOG_START["offset"]:]
    for sign in ("Traceback", "Error handling request", "unhandled error"):
        assert sign not in log, log[max(0, log.find(sign) - 2000):log.find(sign) + 3000]
    assert hub.get("/api/health").status_code == 200
    assert hub.get(f"/api/models/{REPO}", target["token"]).status_code == 200
