"""The "Files and versions" pages on a real server: folder listings at branches, tags, commits and
PR refs, the file viewer (code, Markdown, LFS), history with pagination, commit pages with diffs,
404s, private and gated repositories, escaping; and one browser walk through them."""

from __future__ import annotations

import hashlib
import html
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from huggingface_hub import CommitOperationAdd

from tests.support.browser import browser, new_page  # noqa: F401  (fixtures)

pytest_plugins = ["tests.support.browser"]

OWNER = "files-web-owner"
OTHER = "files-web-reader"
XSS_NAME = '<img src=x onerror=alert(1)>.txt'
MODEL_PY = (b'import torch\n\n\nclass Net(torch.nn.Module):\n    """A tiny network."""\n\n'
            b'    def forward(self, x):\n        return "<script>alert(1)</script>" if x else x * 2\n')
README = (b"---\nlicense: mit\n---\n# Browse demo\n\nSome **bold** words, see [the config](config.json).\n\n"
          b"<script>alert('readme')</script>\n")
BINARY = b"\x00\x01\x02weights" * 64  # a NUL byte: stored as LFS (and *.bin is an LFS pattern too)


def page(hub, path: str, token: str | None = None, status: int = 200, **kw):
    r = hub.get(path, token, follow_redirects=False, **kw)
    assert r.status_code == status, f"{path}: {r.status_code}\n{r.text[:2000]}"
    if status == 200:
        assert r.headers["Content-Type"].startswith("text/html")
    return r


def plain(text: str) -> str:
    """The page's text without tags (highlighted code is split into many spans)."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def hrefs(text: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href="([^"]*)"', text)]


@pytest.fixture(scope="module")
def tokens(hub) -> tuple[str, str]:
    return tuple(hub.users(OWNER, (OTHER, "read")))


@pytest.fixture(scope="module")
def repo(hub, tokens) -> dict:
    """OWNER/browse: nested folders, Markdown, LFS, an XSS file name; a branch with '/', a tag,
    a PR ref, and enough commits for two history pages (the test server lists 7 per page)."""
    api = hub.api(tokens[0])
    rid = f"{OWNER}/browse"
    api.create_repo(rid)
    first = api.create_commit(rid, [
        CommitOperationAdd("README.md", README),
        CommitOperationAdd("config.json", b'{"model_type": "demo"}\n'),
        CommitOperationAdd("src/model.py", MODEL_PY),
        CommitOperationAdd("src/deep/nested/leaf.txt", b"a leaf\n"),
        CommitOperationAdd("pytorch_model.bin", BINARY),
        CommitOperationAdd(XSS_NAME, b"<script>alert('content')</script>\n"),
    ], commit_message="Add the model\n\nBody line with <b>markup</b>.").oid
    tweak = api.upload_file(path_or_fileobj=MODEL_PY.replace(b"x * 2", b"x * 3"), path_in_repo="src/model.py",
                            repo_id=rid, commit_message="Tweak <forward>").oid
    for i in range(8):
        api.upload_file(path_or_fileobj=f"note {i}\n".encode(), path_in_repo="notes.txt", repo_id=rid,
                        commit_message=f"notes {i}")
    api.create_tag(rid, tag="v1.0", revision=tweak)
    api.create_branch(rid, branch="feat/x")
    feat = api.upload_file(path_or_fileobj=b"feature\n", path_in_repo="src/feature.txt", repo_id=rid,
                           revision="feat/x", commit_message="feature work").oid
    pr = api.create_pull_request(rid, title="A change")
    api.upload_file(path_or_fileobj=b"from a PR\n", path_in_repo="pr.txt", repo_id=rid, revision=pr.git_reference,
                    commit_message="PR commit")
    head = api.model_info(rid).sha
    return {"rid": rid, "first": first, "tweak": tweak, "feat": feat, "head": head, "pr": pr.git_reference}


# ---- folder listings ----------------------------------------------------------------------------

def test_tree_root_lists_folders_first_with_sizes_lfs_and_last_commit(hub, repo):
    rid = repo["rid"]
    text = page(hub, f"/{rid}/tree/main").text
    assert 'aria-current="page">Files and versions<' in text
    names = re.findall(r'<a href="/[^"]*/(?:tree|blob)/main/([^"]+)">', text)
    names = [html.unescape(n) for n in names]
    assert names.index("src") < names.index("README.md")  # folders first
    for n in ("config.json", "pytorch_model.bin", "notes.txt", ".gitattributes", quote(XSS_NAME)):
        assert n in names, n
    assert f"/{rid}/blob/main/pytorch_model.bin" in hrefs(text)
    row = text[text.index("pytorch_model.bin</a>"):]
    assert re.match(r'pytorch_model\.bin</a>\s*<span class="badge lfs"', row)
    assert f'<td class="size">{len(BINARY)} B</td>' in row[:row.index("</tr>")]
    assert "LFS" not in text[text.index("config.json</a>"):text.index("config.json</a>") + 120]
    # the last commit of the revision: title, author, short sha linking to the commit page
    assert "notes 7" in text and OWNER in text
    assert f'href="/{rid}/commit/{repo["head"]}"' in text and repo["head"][:7] in text
    assert f"/{rid}/commits/main" in hrefs(text)
    # the revision switcher offers branches and tags
    assert f"/{rid}/tree/feat%2Fx" in hrefs(text) and f"/{rid}/tree/v1.0" in hrefs(text)


def test_tree_nested_folders_and_breadcrumb(hub, repo):
    rid = repo["rid"]
    text = page(hub, f"/{rid}/tree/main/src/deep").text
    links = hrefs(text)
    assert f"/{rid}/tree/main/src/deep/nested" in links
    assert 'aria-label="Breadcrumb"' in text
    assert f"/{rid}/tree/main" in links and f"/{rid}/tree/main/src" in links  # crumbs up
    assert "leaf.txt" not in text  # not recursive
    text = page(hub, f"/{rid}/tree/main/src/deep/nested/").text
    assert f"/{rid}/blob/main/src/deep/nested/leaf.txt" in hrefs(text)


def test_tree_at_tag_sha_branch_with_slash_and_pr_ref(hub, repo):
    rid = repo["rid"]
    at_tag = page(hub, f"/{rid}/tree/v1.0").text
    assert "notes.txt" not in at_tag and "Tweak &lt;forward&gt;" in at_tag
    at_sha = page(hub, f"/{rid}/tree/{repo['first']}/src").text
    assert f"/{rid}/blob/{repo['first']}/src/model.py" in hrefs(at_sha)
    assert repo["first"][:7] in at_sha
    feat = page(hub, f"/{rid}/tree/feat%2Fx/src").text
    assert f"/{rid}/blob/feat%2Fx/src/feature.txt" in hrefs(feat)
    assert "feature.txt" not in page(hub, f"/{rid}/tree/main/src").text
    # typed by hand, unencoded: still the branch feat/x
    assert f"/{rid}/blob/feat%2Fx/src/feature.txt" in hrefs(page(hub, f"/{rid}/tree/feat/x/src").text)
    pr = page(hub, f"/{rid}/tree/{quote(repo['pr'], safe='')}").text
    assert f"/{rid}/blob/refs%2Fpr%2F1/pr.txt" in hrefs(pr)
    assert 'class="ref-name">refs/pr/1<' in pr


def test_tree_redirects_and_404s(hub, repo):
    rid = repo["rid"]
    r = page(hub, f"/{rid}/tree", status=302)
    assert r.headers["Location"].endswith(f"/{rid}/tree/main")
    r = page(hub, f"/{rid}/tree/main/config.json", status=302)  # a file: shown by the viewer
    assert r.headers["Location"].endswith(f"/{rid}/blob/main/config.json")
    for path in (f"/{rid}/tree/no-such-branch", f"/{rid}/tree/main/no/such/folder", f"/{rid}/tree/{'0' * 40}",
                 f"/{rid}/tree/main/src/..%2F..", f"/{OWNER}/no-such-repo/tree/main"):
        r = page(hub, path, status=404)
        assert "text/html" in r.headers["Content-Type"] and 'class="error-page"' in r.text


# ---- the file viewer ----------------------------------------------------------------------------

def test_blob_code_is_highlighted_escaped_with_metadata_and_links(hub, repo):
    rid = repo["rid"]
    text = page(hub, f"/{rid}/blob/main/src/model.py").text
    assert '<div class="highlight">' in text and 'class="linenos"' in text
    assert '<span class="k">import</span>' in text or '<span class="kn">import</span>' in text
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    code = text[text.index('<div class="highlight">'):text.index("</table>", text.index('<div class="highlight">'))]
    assert "style=" not in code  # CSS classes, no inline styles
    blob_sha = hashlib.sha1(b"blob %d\0" % len(MODEL_PY) + MODEL_PY).hexdigest()
    tweaked = MODEL_PY.replace(b"x * 2", b"x * 3")
    assert hashlib.sha1(b"blob %d\0" % len(tweaked) + tweaked).hexdigest() in text
    assert blob_sha not in text
    links = hrefs(text)
    assert f"/{rid}/resolve/main/src/model.py" in links
    assert f"/{rid}/resolve/main/src/model.py?download=true" in links
    assert f"/{rid}/commits/main" in links
    raw = hub.get(f"/{rid}/resolve/main/src/model.py")
    assert raw.status_code == 200 and raw.content == tweaked


def test_blob_markdown_is_rendered_and_sanitized(hub, repo):
    rid = repo["rid"]
    text = page(hub, f"/{rid}/blob/main/README.md").text
    assert re.search(r'<h3[^>]*>Browse demo</h3>', text)  # the file's "#", under its name (h2)
    assert "<strong>bold</strong>" in text
    assert f'href="/{rid}/blob/main/config.json"' in text  # relative links resolved
    assert "<script>alert('readme')</script>" not in text and "alert(" not in text.split('class="file-body')[1]
    assert "license: mit" not in text  # front matter is not part of the rendering
    source = page(hub, f"/{rid}/blob/main/README.md?plain=1").text
    assert '<div class="highlight">' in source and "&lt;script&gt;" in source


def test_blob_lfs_file_shows_metadata_not_content(hub, repo):
    rid = repo["rid"]
    text = page(hub, f"/{rid}/blob/main/pytorch_model.bin").text
    assert hashlib.sha256(BINARY).hexdigest() in text
    assert 'class="badge lfs"' in text
    assert "stored with Git LFS" in text
    assert f"/{rid}/resolve/main/pytorch_model.bin?download=true" in hrefs(text)
    assert 'class="highlight"' not in text
    raw = hub.get(f"/{rid}/resolve/main/pytorch_model.bin?download=true")
    assert raw.status_code == 200 and raw.content == BINARY


def test_blob_xss_file_name_and_content_are_escaped(hub, repo):
    rid = repo["rid"]
    tree = page(hub, f"/{rid}/tree/main").text
    assert XSS_NAME not in tree
    assert html.escape(XSS_NAME, quote=False) in tree
    text = page(hub, f"/{rid}/blob/main/{quote(XSS_NAME)}").text
    assert XSS_NAME not in text and "<script>alert('content')" not in text
    assert html.escape(XSS_NAME, quote=False) in text
    assert "&lt;script&gt;" in text
    commit = page(hub, f"/{rid}/commit/{repo['first']}").text
    assert XSS_NAME not in commit and "<script>alert(" not in commit
    assert "Body line with &lt;b&gt;markup&lt;/b&gt;." in commit


def test_blob_at_pr_ref_tag_and_sha(hub, repo):
    rid = repo["rid"]
    text = page(hub, f"/{rid}/blob/refs%2Fpr%2F1/pr.txt").text
    assert "from a PR" in text and f"/{rid}/resolve/refs%2Fpr%2F1/pr.txt" in hrefs(text)
    assert "x * 3" in plain(page(hub, f"/{rid}/blob/v1.0/src/model.py").text)
    assert "x * 2" in plain(page(hub, f"/{rid}/blob/{repo['first']}/src/model.py").text)
    assert "feature" in page(hub, f"/{rid}/blob/feat%2Fx/src/feature.txt").text


def test_blob_large_and_empty_text_files(hub, tokens):
    api = hub.api(tokens[0])
    rid = f"{OWNER}/sizes"
    api.create_repo(rid)
    big = b"a line of text\n" * 80_000  # 1.2 MB: regular in git, too large to show
    api.create_commit(rid, [CommitOperationAdd("big.txt", big), CommitOperationAdd("empty.txt", b"")],
                      commit_message="sizes")
    text = page(hub, f"/{rid}/blob/main/big.txt").text
    assert "too large to display" in text and 'class="highlight"' not in text
    assert 'class="badge lfs"' not in text and "a line of text" not in text
    assert f"/{rid}/resolve/main/big.txt?download=true" in hrefs(text)
    assert "This file is empty." in page(hub, f"/{rid}/blob/main/empty.txt").text


def test_blob_redirects_and_404s(hub, repo):
    rid = repo["rid"]
    r = page(hub, f"/{rid}/blob/main/src", status=302)
    assert r.headers["Location"].endswith(f"/{rid}/tree/main/src")
    for path in (f"/{rid}/blob/main/nope.txt", f"/{rid}/blob/nope/README.md", f"/{rid}/blob/v1.0/pr.txt",
                 f"/{rid}/blob/main/src/model.py/more"):
        page(hub, path, status=404)


# ---- history and commits ------------------------------------------------------------------------

def test_commits_history_paginates(hub, repo):
    rid = repo["rid"]
    first_page = page(hub, f"/{rid}/commits/main").text
    titles = re.findall(r'class="commit-title" href="[^"]*">([^<]*)</a>', first_page)
    assert titles[:3] == ["notes 7", "notes 6", "notes 5"] and len(titles) == 7
    assert 'rel="next"' in first_page and 'rel="prev"' not in first_page
    assert f'href="/{rid}/commit/{repo["head"]}"' in first_page
    assert re.search(r'<time datetime="[^"]+Z" title="[^"]+">[^<]+</time>', first_page)
    second = page(hub, f"/{rid}/commits/main?p=1").text
    more = re.findall(r'class="commit-title" href="[^"]*">([^<]*)</a>', second)
    assert more[-1] == "initial commit" and "Tweak &lt;forward&gt;" in more and "Add the model" in more
    assert 'rel="prev"' in second and 'rel="next"' not in second
    assert not set(titles) & set(more)
    page(hub, f"/{rid}/commits/main?p=5", status=404)
    r = page(hub, f"/{rid}/commits", status=302)
    assert r.headers["Location"].endswith(f"/{rid}/commits/main")


def test_commits_at_branch_with_slash_tag_and_pr(hub, repo):
    rid = repo["rid"]
    feat = page(hub, f"/{rid}/commits/feat%2Fx").text
    assert "feature work" in feat
    assert "feature work" not in page(hub, f"/{rid}/commits/v1.0").text
    assert "PR commit" in page(hub, f"/{rid}/commits/refs%2Fpr%2F1").text
    page(hub, f"/{rid}/commits/no-such-branch", status=404)


def test_commit_page_shows_message_parents_files_and_diff(hub, repo):
    rid = repo["rid"]
    text = page(hub, f"/{rid}/commit/{repo['tweak']}").text
    assert "Tweak &lt;forward&gt;" in text and OWNER in text and repo["tweak"] in text
    assert f"/{rid}/commit/{repo['first']}" in hrefs(text)  # the parent
    assert "1 file changed" in text
    assert re.search(r'<span class="dl del">-[^<]*x \* 2</span>', text)
    assert re.search(r'<span class="dl add">\+[^<]*x \* 3</span>', text)
    assert '<span class="dl hunk">@@' in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "<script>alert(1)" not in text
    first = page(hub, f"/{rid}/commit/{repo['first']}").text
    assert "6 files changed" in first
    assert re.search(r'status-added">added</span>\s*<a href="[^"]*">pytorch_model\.bin</a>', first)
    lfs = first[first.index('>pytorch_model.bin</a>', first.index('class="diff"')):]
    lfs = lfs[:lfs.index("</section>")]
    assert "sha256:" + hashlib.sha256(BINARY).hexdigest() in lfs and 'class="dl' not in lfs


def test_commit_404s(hub, repo):
    rid = repo["rid"]
    for path in (f"/{rid}/commit/{'0' * 40}", f"/{rid}/commit/not-a-sha", f"/{rid}/commit/{repo['first']}/x"):
        page(hub, path, status=404)


# ---- visibility -----------------------------------------------------------------------------

def test_private_repo_pages_are_404_for_anonymous_and_others(hub, tokens):
    owner, reader = tokens
    api = hub.api(owner)
    rid = f"{OWNER}/secret"
    api.create_repo(rid, private=True)
    sha = api.upload_file(path_or_fileobj=b"top secret\n", path_in_repo="dir/secret.txt", repo_id=rid).oid
    paths = [f"/{rid}/tree/main", f"/{rid}/tree/main/dir", f"/{rid}/blob/main/dir/secret.txt",
             f"/{rid}/commits/main", f"/{rid}/commit/{sha}"]
    for path in paths:
        assert "top secret" not in page(hub, path, status=404).text
        page(hub, path, token=reader, status=404)
        page(hub, path, token=owner)
    assert "top secret" in page(hub, f"/{rid}/blob/main/dir/secret.txt", token=owner).text


def test_gated_repo_shows_content_only_with_access(hub, tokens):
    owner, reader = tokens
    api = hub.api(owner)
    rid = f"{OWNER}/gated"
    api.create_repo(rid)
    sha = api.create_commit(rid, [CommitOperationAdd("README.md", b"# Gated card\n"),
                                  CommitOperationAdd("weights.txt", b"gated content\n")],
                            commit_message="gated files").oid
    api.update_repo_settings(rid, gated="manual")
    for token in (None, reader):
        text = page(hub, f"/{rid}/blob/main/weights.txt", token=token).text
        assert "gated content" not in text and "you need access" in text
        assert f"/{rid}/resolve/main/weights.txt" not in hrefs(text)
        assert "Gated card" in page(hub, f"/{rid}/blob/main/README.md", token=token).text  # the card is free
        assert "weights.txt" in page(hub, f"/{rid}/tree/main", token=token).text  # listings are public
        commit = page(hub, f"/{rid}/commit/{sha}", token=token).text
        assert "gated content" not in commit and "Gated card" in commit
    assert "gated content" in page(hub, f"/{rid}/blob/main/weights.txt", token=owner).text
    assert "gated content" in page(hub, f"/{rid}/commit/{sha}", token=owner).text


# ---- a browser walk -------------------------------------------------------------------------

def test_browser_model_page_to_files_folder_file_and_raw(hub, repo, new_page):
    rid = repo["rid"]
    pg = new_page()
    pg.goto(f"/{rid}")
    pg.get_by_role("link", name="Files and versions").click()
    pg.wait_for_url(f"{hub.url}/{rid}/tree/main")
    pg.get_by_role("link", name="src", exact=True).click()
    pg.wait_for_url(f"{hub.url}/{rid}/tree/main/src")
    crumbs = pg.get_by_role("navigation", name="Breadcrumb")
    assert crumbs.get_by_role("link").all_inner_texts() == ["browse", "src"]
    pg.get_by_role("link", name="model.py", exact=True).click()
    pg.wait_for_url(f"{hub.url}/{rid}/blob/main/src/model.py")
    assert "class Net" in pg.locator(".highlight .code").inner_text()
    pg.get_by_role("link", name="Raw", exact=True).click()
    pg.wait_for_url(f"{hub.url}/{rid}/resolve/main/src/model.py")
    assert "return" in pg.locator("body").inner_text() and "x * 3" in pg.locator("body").inner_text()
