"""Security headers on a real server: the page policy (CSP, framing, referrer) on pages and error
pages, nosniff on everything, uploaded HTML/SVG/XML/JS never served inline as active content, one
charset on text files; and in Chromium, the main pages load and work with no policy violation."""

from __future__ import annotations

import re
from contextlib import closing
from email.message import Message
from pathlib import Path

import httpx2
import pytest
from huggingface_hub import CommitOperationAdd, hf_hub_download
from playwright.sync_api import expect

from hub.security_headers import PAGE_POLICY, RAW_POLICY
from tests.support.browser import browser, new_page, sign_in  # noqa: F401  (fixtures)
from tests.support.waiting import poll

pytest_plugins = ["tests.support.browser"]

OWNER, VISITOR = "sechead-owner", "sechead-visitor"
REPO = f"{OWNER}/headers"
CARD = f"""---
license: mit
tags:
- sechead-tag
---
# Header test model

| Metric | Value |
|--------|-------|
| F1 | 0.9 |

```python
print("hello")
```

![logo](logo.svg)
"""
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>\n'
ACTIVE = {
    "page.html": b"<html><body><script>alert(document.cookie)</script></body></html>\n",
    "page.HTM": b"<script>alert(1)</script>\n",
    "logo.svg": SVG,
    "feed.xml": b'<?xml version="1.0"?><x:script xmlns:x="http://www.w3.org/1999/xhtml">alert(1)</x:script>\n',
    "doc.xhtml": b'<html xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></html>\n',
    "app.js": b"alert(1)\n",
    "mod.mjs": b"export default 1;\n",
    # binary (a NUL byte): stored as LFS, served through the blob path
    "lfs/page.html": b"\x00<script>alert(1)</script>" * 8,
}


@pytest.fixture(scope="module")
def tokens(hub) -> tuple[str, str]:
    return tuple(hub.users(OWNER, VISITOR))


@pytest.fixture(scope="module")
def repo(hub, tokens) -> str:
    api = hub.api(tokens[0])
    api.create_repo(REPO)
    api.create_commit(REPO, [CommitOperationAdd("README.md", CARD.encode()),
                             CommitOperationAdd("notes.txt", "plain words, 中文\n".encode()),
                             CommitOperationAdd("src/run.py", b"print('run')\n"),
                             *(CommitOperationAdd(p, data) for p, data in ACTIVE.items())],
                      commit_message="card, text and active files")
    return REPO


def signed_in(hub, name: str) -> httpx2.Client:
    """A client signed in through the login form; its pages follow redirects, as a browser's do."""
    s = httpx2.Client(follow_redirects=True)
    page = s.get(hub.url + "/login", timeout=30).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = s.post(hub.url + "/login", data={"csrf_token": csrf, "username": name, "password": f"pw-{name}-12345"},
               follow_redirects=False, timeout=30)
    assert r.status_code in (302, 303), r.text
    return s


def policy(header: str) -> dict[str, str]:
    """A CSP header as {directive: sources}."""
    out = {}
    for part in header.split(";"):
        name, _, value = part.strip().partition(" ")
        if name:
            out[name] = value.strip()
    return out


def assert_page_headers(r: httpx2.Response) -> None:
    where = f"{r.request.method} {r.url} ({r.status_code})"
    assert r.headers["Content-Type"].startswith("text/html"), where
    csp = policy(r.headers.get("Content-Security-Policy", ""))
    assert csp.get("script-src") == "'self'", where
    assert csp.get("style-src") == "'self'", where
    assert csp.get("default-src") == "'self'", where
    assert csp.get("frame-ancestors") == "'none'", where
    assert csp.get("object-src") == "'none'", where
    assert r.headers.get("X-Frame-Options") == "DENY", where
    assert r.headers.get("X-Content-Type-Options") == "nosniff", where
    assert r.headers.get("Referrer-Policy") == "strict-origin-when-cross-origin", where


def disposition(r: httpx2.Response) -> tuple[str, str]:
    """(type, file name) of the Content-Disposition header."""
    m = Message()
    m["Content-Disposition"] = r.headers["Content-Disposition"]
    return m.get_content_disposition(), m.get_filename()


def assert_not_active(r: httpx2.Response, name: str) -> None:
    where = f"{r.url} ({r.status_code})"
    assert r.status_code == 200, where
    assert disposition(r) == ("attachment", name), where
    assert r.headers["X-Content-Type-Options"] == "nosniff", where
    assert "sandbox" in policy(r.headers["Content-Security-Policy"]), where
    assert r.headers["Content-Security-Policy"] == RAW_POLICY, where
    # never a document type; an SVG keeps its image type (so that cards can show it) as an attachment
    ctype = r.headers["Content-Type"].split(";")[0].strip()
    assert ctype in ("application/octet-stream", "text/plain", "image/svg+xml"), where
    assert ctype != "image/svg+xml" or name.endswith(".svg"), where


# ---- pages ----------------------------------------------------------------------------------------

def test_pages_and_error_pages_carry_the_page_policy(hub, repo):
    for path in ("/", "/models", "/models?sort=created", f"/{repo}", f"/{repo}/tree/main",
                 f"/{repo}/blob/main/src/run.py", f"/{repo}/discussions", "/licenses", "/login", "/join",
                 f"/{OWNER}"):
        r = hub.get(path)
        assert r.status_code == 200, path
        assert_page_headers(r)
    for path in ("/no-such-user-here", f"/{repo}/tree/no-such-branch", f"/{OWNER}/no-such-model"):
        r = hub.get(path)
        assert r.status_code == 404, path
        assert_page_headers(r)
    with closing(signed_in(hub, OWNER)) as s:
        for path in ("/settings/profile", "/settings/tokens", f"/{repo}/settings", f"/{repo}/upload/main", "/new"):
            r = s.get(hub.url + path, timeout=30)
            assert r.status_code == 200, path
            assert_page_headers(r)
    # the policy itself: nothing inline, nothing from elsewhere but images
    csp = policy(PAGE_POLICY)
    assert "'unsafe-inline'" not in PAGE_POLICY and "'unsafe-eval'" not in PAGE_POLICY
    assert csp["form-action"] == "'self'" and csp["base-uri"] == "'none'"


def test_templates_hold_no_inline_script_handler_or_style():
    """What the policy would block, kept out of the templates at the source (pages render many
    branches a crawl would miss)."""
    templates = Path(__file__).parents[2] / "hub" / "templates"
    bad = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|javascript:|\sstyle\s*=|<style", re.I)
    found = [f"{p.relative_to(templates)}: {m.group(0)}" for p in sorted(templates.rglob("*.html"))
             for m in bad.finditer(p.read_text())]
    assert found == []


def test_api_json_static_files_and_api_errors_are_nosniff(hub, repo, tokens):
    for path, status in (("/api/models?limit=1", 200), (f"/api/models/{repo}", 200), ("/api/health", 200),
                         ("/api/models/nobody-here/nothing", 401), ("/static/js/site.js", 200),
                         ("/static/css/site.css", 200), (f"/{repo}.git/info/refs?service=git-upload-pack", 200)):
        r = hub.get(path)
        assert r.status_code == status, path
        assert r.headers.get("X-Content-Type-Options") == "nosniff", path
        assert "X-Frame-Options" not in r.headers, path  # framing rules are for pages
    # nosniff makes the browser check these types: they must be right
    assert hub.get("/static/js/site.js").headers["Content-Type"].startswith("text/javascript")
    assert hub.get("/static/css/site.css").headers["Content-Type"].startswith("text/css")


# ---- raw files ------------------------------------------------------------------------------------

def test_active_files_are_attachments_with_nosniff_and_a_sandbox(hub, repo):
    for path in ACTIVE:
        name = path.rsplit("/", 1)[-1]
        for suffix in ("", "?download=false"):
            r = hub.get(f"/{repo}/resolve/main/{path}{suffix}")
            assert_not_active(r, name)
            assert r.content == ACTIVE[path]
        head = httpx2.head(f"{hub.url}/{repo}/resolve/main/{path}", timeout=30)
        assert disposition(head) == ("attachment", name)


def test_the_sites_raw_button_serves_active_files_as_attachments(hub, repo):
    for path in ("page.html", "logo.svg", "feed.xml"):
        blob = hub.get(f"/{repo}/blob/main/{path}")
        assert blob.status_code == 200
        raw = re.search(r'<a class="button small" href="([^"]+)">Raw</a>', blob.text).group(1)
        assert_not_active(hub.get(raw), path)


def test_inert_files_stay_inline_with_one_charset(hub, repo):
    r = hub.get(f"/{repo}/resolve/main/notes.txt")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert disposition(r) == ("inline", "notes.txt")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Content-Security-Policy"] == RAW_POLICY
    assert r.content.decode() == "plain words, 中文\n"
    for path in ("README.md", "src/run.py"):
        assert hub.get(f"/{repo}/resolve/main/{path}").headers["Content-Type"].count("charset") == 1
    r = hub.get(f"/{repo}/resolve/main/notes.txt?download=true")
    assert disposition(r) == ("attachment", "notes.txt")


def test_the_hf_client_still_downloads_active_files(hub, repo, tokens, hf_cache):
    sha = hub.api(tokens[1]).model_info(repo).sha
    for path in ("page.html", "logo.svg", "lfs/page.html"):
        local = hf_hub_download(repo, path, endpoint=hub.url, token=tokens[1], cache_dir=hf_cache)
        assert Path(local).read_bytes() == ACTIVE[path]
        assert Path(local).name == path.rsplit("/", 1)[-1] and f"snapshots/{sha}/" in local
        r = hub.get(f"/{repo}/resolve/main/{path}", tokens[1])
        assert r.headers["X-Repo-Commit"] == sha and r.headers["ETag"]
    lfs = httpx2.head(f"{hub.url}/{repo}/resolve/main/lfs/page.html", timeout=30)
    assert lfs.headers["X-Linked-Etag"] and lfs.headers["X-Linked-Size"] == str(len(ACTIVE["lfs/page.html"]))


# ---- in a real browser ----------------------------------------------------------------------------

WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__violations.push(e.violatedDirective + " " + e.blockedURI + " " + e.sourceFile + ":" + e.lineNumber));
"""


def watched(new_page, **options):
    """A page that records CSP violations (events and console errors) and uncaught exceptions."""
    pg = new_page(**options)
    problems: list[str] = []
    pg.add_init_script(WATCH)
    pg.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    pg.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    pg.problems = problems
    return pg


def visit(pg, path: str) -> None:
    pg.goto(path)
    pg.wait_for_load_state("load")
    violations = pg.evaluate("window.__violations")
    assert violations == [], (path, violations)
    errors = [p for p in pg.problems if "404" not in p]  # the 404 page logs its own status
    assert errors == [], (path, errors)
    pg.problems.clear()


def test_main_pages_load_and_work_in_chromium_without_policy_violations(hub, repo, tokens, new_page):
    discussion = hub.api(tokens[0]).create_discussion(REPO, title="Header question", description="Does it *work*?").num
    found = poll(lambda: hub.get("/api/quicksearch?q=headers").json()["models"],
                 lambda ms: any(m["id"] == REPO for m in ms))
    assert any(m["id"] == REPO for m in found)

    pg = watched(new_page)
    for path in ("/", "/models", f"/{repo}", f"/{repo}/tree/main", f"/{repo}/tree/main/src",
                 f"/{repo}/blob/main/src/run.py", f"/{repo}/blob/main/README.md", f"/{repo}/commits/main",
                 f"/{repo}/discussions", f"/{repo}/discussions/{discussion}", "/licenses", "/login",
                 "/no-such-page-here"):
        visit(pg, path)
    # the card's image (an SVG from the repository) renders on the model page
    pg.goto(f"/{repo}")
    img = pg.locator(".card-body img").first
    expect(img).to_be_visible()
    assert pg.evaluate("(i) => i.naturalWidth", img.element_handle()) > 0

    # the sort select submits itself (it had an inline onchange handler)
    pg.goto("/models?tag=sechead-tag")
    with pg.expect_navigation():
        pg.select_option("#sort", "created")
    assert "sort=created" in pg.url and "tag=sechead-tag" in pg.url
    # the header's quick search fetches and shows suggestions
    pg.fill("#site-q", "headers")
    expect(pg.locator(".quicksearch a", has_text=REPO)).to_be_visible()
    assert pg.evaluate("window.__violations") == [] and pg.problems == []
    # ... and the watch works: an injected inline script is blocked and reported
    pg.evaluate("() => { const s = document.createElement('script'); s.textContent = 'window.__ran = 1';"
                " document.body.append(s); }")
    expect(pg.locator("body")).to_be_visible()
    assert pg.evaluate("window.__ran") is None
    assert [v.split()[0] for v in poll(lambda: pg.evaluate("window.__violations"), bool)] == ["script-src-elem"]

    # signed in: the upload page lists the chosen files, the discussion page's popovers focus their
    # first field, the settings pages load
    me = watched(new_page)
    sign_in(me, VISITOR)
    visit(me, f"/{repo}/discussions/{discussion}")
    me.locator("details[data-report] summary").first.click()
    expect(me.locator("details[data-report][open] textarea, details[data-report][open] select").first).to_be_focused()
    for path in ("/settings/profile", "/settings/tokens", "/notifications", "/new"):
        visit(me, path)
    own = watched(new_page)
    sign_in(own, OWNER)
    visit(own, f"/{repo}/upload/main")
    own.set_input_files("[data-files]", [{"name": "a.txt", "mimeType": "text/plain", "buffer": b"abc"}])
    expect(own.locator("[data-file-list] li")).to_have_count(1)
    for path in (f"/{repo}/settings", f"/{repo}/edit/main/README.md"):
        visit(own, path)
    assert own.evaluate("window.__violations") == [] and own.problems == []
