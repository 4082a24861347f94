"""Whatever is typed into search: a 200 or a JSON 400 (414 past the query-string cap, hub/limits.py),
never a 500, always quickly."""

from __future__ import annotations

import time

import httpx2
import pytest

from tests.support.search import SEARCH_BACKENDS, hub_on_backend

BOUND = 5.0  # seconds: a safety bound, far above a normal answer
LOG_START: dict[str, int] = {}


@pytest.fixture(scope="module", params=SEARCH_BACKENDS)
def hub(request, hub, tmp_path_factory):
    """The session hub (whoosh), then a server of its own on the postgres backend: each test runs on both."""
    yield from hub_on_backend(request.param, hub, tmp_path_factory)


@pytest.fixture(scope="module")
def seeded(hub):
    """Something to find, so odd queries run against a non-empty index."""
    LOG_START["offset"] = len(hub.log())
    api = hub.api(hub.users("badinput")[0])
    api.create_repo("badinput/llama-zh")
    api.upload_file(path_or_fileobj="# Llama 中文\n\nA Chinese model; 中文大语言模型。 *a* AND OR NOT\n".encode(),
                    path_in_repo="README.md", repo_id="badinput/llama-zh")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if hub.get("/api/search", params={"q": "llama", "author": "badinput"}).json()["total"] == 1:
            break
        time.sleep(0.1)
    return hub


def check(r: httpx2.Response, started: float) -> dict:
    elapsed = time.monotonic() - started
    assert elapsed < BOUND, f"{elapsed:.1f}s"
    assert r.status_code in (200, 400, 414), (r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("application/json"), (r.status_code, r.text[:300])
    body = r.json()
    if r.status_code in (400, 414):
        assert isinstance(body["error"], str) and body["error"]
    return body


QUERIES = {
    "star-a-star": "*a*",
    "wildcards": "a*b?c",
    "unbalanced-quote": '"llama 中文',
    "three-quotes": 'llama" "中文',
    "empty-phrase": '""',
    "operators": "AND OR NOT (",
    "parens": "((((llama))))",
    "field-syntax": "name:llama license:mit",
    "regex": "^.*$ [a-z]+ \\d{3}",
    "combining": "e\u0301\u0301\u0301\u0301 lla\u0308ma",
    "rtl-marks": "\u200fllama\u200e \u202e中文\u202c",
    "emoji": "🤖🦙🔥 llama 👨‍👩‍👧",
    "nul": "llama\x00中文",
    "bom-zwj": "\ufeff\u200dllama",
    "private-use": "\ue000\uf8ff",
    "fullwidth": "ｌｌａｍａ　中文",
    "long-word": "x" * 600,
    "many-words": " ".join(f"w{i}" for i in range(500)),
    "many-phrases": " ".join(f'"a{i} b{i}"' for i in range(100)),
    "chinese-wall": "中文大语言模型" * 100,  # 700 characters, 6,300 bytes percent-encoded: a 414
    "chinese-at-cap": "中文大语言模型" * 60,  # 3,780 bytes percent-encoded: still under the cap
    "near-line-limit": "llama " * 1200,  # ~7,200 characters: still fits gunicorn's line, a JSON 414
    "only-punctuation": "!@#$%^&*()_+-=[]{}|;':\",./<>?",
    "typo-everything": "lamma chinise modle",
}


@pytest.mark.parametrize("q", list(QUERIES.values()), ids=list(QUERIES))
def test_odd_queries(seeded, q):
    started = time.monotonic()
    body = check(seeded.get("/api/search", params={"q": q}), started)
    if "hits" in body:
        assert isinstance(body["total"], int) and isinstance(body["hits"], list)
        assert set(body["facets"]) >= {"license", "task", "library", "language", "author", "industry"}


@pytest.mark.parametrize("raw", [
    "q=%00", "q=llama%00", "q=%ED%A0%80", "q=%ED%A0%80%ED%B0%80", "q=%FF%FE", "q=%F0%9F%98", "q=%C0%AF",
    "q=%", "q=%zz", "q=llama&q=中文", "q=llama&license=%00", "q=llama&tag=%ED%A0%80", "q=%E2%80%AE",
])
def test_raw_percent_encodings(seeded, raw):
    started = time.monotonic()
    check(httpx2.get(f"{seeded.url}/api/search?{raw}", follow_redirects=True, timeout=60), started)


@pytest.mark.parametrize("params, status", [
    ({"q": "llama", "sort": "bogus"}, 400),
    ({"q": "llama", "sort": "downloads; DROP TABLE repositories"}, 400),
    ({"q": "llama", "offset": "-1"}, 400),
    ({"q": "llama", "offset": "abc"}, 400),
    ({"q": "llama", "offset": "99999999999999999999"}, 400),
    ({"q": "llama", "limit": "0"}, 400),
    ({"q": "llama", "limit": "1e3"}, 400),
    ({"q": "llama", "type": "kernels"}, 400),
    ({"q": "llama", "sort": "likes", "offset": "10000", "limit": "100"}, 200),
    ({"q": "llama", "license": "x" * 3000}, 200),
    ({"q": "llama", "language": ["zh", "en", "fr", "de"] * 20}, 200),
])
def test_bad_parameters(seeded, params, status):
    started = time.monotonic()
    r = seeded.get("/api/search", params=params)
    check(r, started)
    assert r.status_code == status, r.text


@pytest.mark.parametrize("path", ["/api/search", "/api/quicksearch"])
def test_a_long_query_gets_a_quick_414(seeded, path):
    started = time.monotonic()
    check(seeded.get(path, params={"q": "llama" + "a" * 4995}), started)  # past the app's cap: JSON
    # past gunicorn's request line (8190 bytes): gunicorn's own 414, before the app
    assert seeded.get(path, params={"q": "llama" + "a" * 9995}).status_code == 414
    assert time.monotonic() - started < BOUND


QUICK = {"empty": "", "space": " ", "one-letter": "l", "two-letters": "ll", "dash": "llama-",
         "namespace": "badinput/", "percent": "%", "underscore": "_", "nul": "\x00", "emoji": "🦙",
         "long-100": "a" * 100, "long-5000": "b" * 5000, "chinese-600": "中文" * 300}


@pytest.mark.parametrize("q", list(QUICK.values()), ids=list(QUICK))
def test_quicksearch_odd_input(seeded, q):
    started = time.monotonic()
    r = seeded.get("/api/quicksearch", params={"q": q})
    body = check(r, started)
    if "\x00" in q:  # refused with a clear message (PostgreSQL has no NUL in text)
        assert r.status_code == 400 and "NUL" in body["error"]
        return
    if r.status_code == 414:
        assert "Query string too long" in body["error"]
        return
    assert set(body) == {"q", "models", "users", "orgs", "collections"}
    if q.strip() == "":
        assert body["models"] == [] and body["users"] == [] and body["orgs"] == [] and body["collections"] == []


def test_quicksearch_finds_by_prefix(seeded):
    body = seeded.get("/api/quicksearch", params={"q": "badinput/lla"}).json()
    assert [m["id"] for m in body["models"]] == ["badinput/llama-zh"]
    body = seeded.get("/api/quicksearch", params={"q": "badinp"}).json()
    assert {"user": "badinput", "fullname": "badinput", "type": "user", "isPro": False, "avatarUrl": ""} in body["users"]


def test_the_server_logged_no_traceback(seeded):
    # runs after the tests above (file order): none of them may have crashed a request
    assert "Traceback" not in seeded.log()[LOG_START["offset"]:]
