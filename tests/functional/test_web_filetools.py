"""The files page as Hub users expect it (issue #22, "Files"): a download button per file (an
attachment), the last commit of each file and folder (the API's `expand=true` data), the
repository's total size (files page and model page sidebar), and the safetensors viewer (tensors
from the header of a regular and an LFS file, pages of tensors, a sharded model's shards, a corrupt
header's message), in English and Chinese; and one browser walk."""

from __future__ import annotations

import html
import json
import re
import struct

import numpy as np
import pytest
from huggingface_hub import CommitOperationAdd
from safetensors.numpy import save

from tests.support.browser import browser, new_page  # noqa: F401  (fixtures)
from hub.web.helpers import human_size
from tests.support.gitutil import make_git, remote_url

pytest_plugins = ["tests.support.browser"]

OWNER = "filetools-owner"
ZH = {"Accept-Language": "zh-CN"}
A_TXT = b"alpha\n"
B_TXT = b"bravo\n"
B_TXT_2 = b"bravo, changed\n"
GUIDE = b"# Guide\n"
LEAF = b"a leaf\n"
N_LFS_TENSORS = 130  # more than one page of the viewer (100 a page)


def lfs_weights() -> bytes:
    tensors = {f"layers.{i:03d}.weight": np.zeros((2, 3), np.float16) for i in range(N_LFS_TENSORS - 1)}
    tensors["embed.weight"] = np.zeros((40, 8), np.float32)
    return save(tensors, metadata={"format": "pt"})


def regular_weights() -> bytes:
    return save({"head.weight": np.ones((4, 5), np.float32), "head.bias": np.ones((5,), np.float32),
                 "ids": np.zeros((3,), np.int64)})


def corrupt_weights() -> bytes:
    body = b"{not json at all"
    return struct.pack("<Q", len(body)) + body + b"\0" * 32


INDEX = json.dumps({"metadata": {"total_size": 0}, "weight_map": {
    "a.weight": "model-00001-of-00002.safetensors", "b.weight": "model-00001-of-00002.safetensors",
    "c.weight": "model-00002-of-00002.safetensors"}}).encode()


@pytest.fixture(scope="module")
def token(hub) -> str:
    return hub.user(OWNER)


@pytest.fixture(scope="module")
def repo(hub, token, tmp_path_factory) -> dict:
    """OWNER/tools, three commits touching different files: the first adds a.txt, b.txt,
    docs/guide.md, the LFS weights (*.safetensors is an LFS pattern), a corrupt one and a shard
    index; the second (a plain git push) changes b.txt and adds a regular (not LFS) safetensors file; the
    third adds docs/deep/leaf.txt."""
    api = hub.api(token)
    rid = f"{OWNER}/tools"
    api.create_repo(rid)
    files = {"a.txt": A_TXT, "b.txt": B_TXT, "docs/guide.md": GUIDE, "weights/lfs.safetensors": lfs_weights(),
             "broken.safetensors": corrupt_weights(), "model.safetensors.index.json": INDEX}
    first = api.create_commit(rid, [CommitOperationAdd(p, d) for p, d in files.items()],
                              commit_message="First files").oid
    # Pushed by git without git-lfs: the second safetensors file is a regular git blob.
    git = make_git(tmp_path_factory, lfs=False)
    work = tmp_path_factory.mktemp("filetools") / "work"
    git.clone(remote_url(hub, rid, token), work)
    git.commit_files(work, {"b.txt": B_TXT_2, "regular.safetensors": regular_weights()},
                     "Change b and add regular weights")
    git.run("push", "-q", "origin", "main", cwd=work)
    second = api.model_info(rid).sha
    third = api.upload_file(path_or_fileobj=LEAF, path_in_repo="docs/deep/leaf.txt", repo_id=rid,
                            commit_message="Add a leaf").oid
    attributes = hub.get(f"/{rid}/resolve/main/.gitattributes").content
    infos = {i.path: i for i in api.get_paths_info(rid, ["weights/lfs.safetensors", "regular.safetensors"])}
    assert infos["weights/lfs.safetensors"].lfs is not None and infos["regular.safetensors"].lfs is None
    contents = {**files, "b.txt": B_TXT_2, "regular.safetensors": regular_weights(), "docs/deep/leaf.txt": LEAF,
                ".gitattributes": attributes}
    return {"rid": rid, "first": first, "second": second, "third": third, "contents": contents,
            "total": sum(len(d) for d in contents.values()),
            "first_total": sum(len(d) for d in files.values()) + len(attributes)}


def page(hub, path: str, token: str | None = None, headers: dict | None = None) -> str:
    r = hub.get(path, token, headers=dict(headers or {}))
    assert r.status_code == 200, f"{path}: {r.status_code}\n{r.text[:2000]}"
    return r.text


def row(text: str, name: str) -> str:
    """The listing row (<tr>...</tr>) of the entry named `name`."""
    at = text.index(f">{name}</a>")
    return text[text.rindex("<tr", 0, at):text.index("</tr>", at)]


def plain(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


# ---- download buttons -------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["a.txt", "weights/lfs.safetensors", "docs/guide.md"])
def test_download_button_gives_the_file_as_an_attachment(hub, repo, path):
    folder, _, name = path.rpartition("/")
    text = page(hub, f"/{repo['rid']}/tree/main" + (f"/{folder}" if folder else ""))
    links = re.findall(r'<a class="download" href="([^"]+)" download="([^"]+)"', row(text, name))
    assert links == [(f"/{repo['rid']}/resolve/main/{path}?download=true", name)]
    r = hub.get(html.unescape(links[0][0]))
    assert r.status_code == 200
    assert r.headers["Content-Disposition"].startswith("attachment")
    assert r.headers["Content-Disposition"].endswith(f"filename*=UTF-8''{name}")
    assert r.content == repo["contents"][path]


def test_folders_have_no_download_button(hub, repo):
    text = page(hub, f"/{repo['rid']}/tree/main")
    assert 'class="download"' not in row(text, "docs") and 'class="download"' not in row(text, "weights")


# ---- last commit per file and folder ----------------------------------------------------------

def _last(text: str, name: str) -> tuple[str, str]:
    """(commit sha linked, its title) of the entry's last-commit cell."""
    m = re.search(r'<td class="last-change"><a href="/[^"]+/commit/([0-9a-f]{40})"[^>]*>([^<]*)</a>', row(text, name))
    assert m, row(text, name)
    return m.group(1), html.unescape(m.group(2))


def test_last_commit_per_file_and_folder(hub, repo):
    rid = repo["rid"]
    root = page(hub, f"/{rid}/tree/main")
    assert _last(root, "a.txt") == (repo["first"], "First files")
    assert _last(root, "b.txt") == (repo["second"], "Change b and add regular weights")
    assert _last(root, "regular.safetensors") == (repo["second"], "Change b and add regular weights")
    assert _last(root, "docs") == (repo["third"], "Add a leaf")
    assert _last(root, "weights") == (repo["first"], "First files")
    assert re.search(r'<td class="when"><time datetime="[^"]+"', row(root, "a.txt"))
    docs = page(hub, f"/{rid}/tree/main/docs")
    assert _last(docs, "guide.md") == (repo["first"], "First files")
    assert _last(docs, "deep") == (repo["third"], "Add a leaf")
    # as of the first commit, everything was last changed by it
    old = page(hub, f"/{rid}/tree/{repo['first']}")
    assert _last(old, "b.txt") == (repo["first"], "First files") and _last(old, "docs")[0] == repo["first"]


def test_last_commit_is_what_the_api_expand_gives(hub, repo, token):
    root = page(hub, f"/{repo['rid']}/tree/main")
    entries = list(hub.api(token).list_repo_tree(repo["rid"], expand=True))
    assert len(entries) > 5
    for e in entries:
        name = e.path.rsplit("/", 1)[-1]
        assert _last(root, name) == (e.last_commit.oid, e.last_commit.title), e.path


# ---- total size -------------------------------------------------------------------------------

def test_total_size_on_files_page_and_model_sidebar_counts_lfs_files_at_their_size(hub, repo, token):
    rid, total = repo["rid"], repo["total"]
    assert total > 2000  # the LFS weights, not their ~130-byte pointer
    info = hub.get(f"/api/models/{rid}?expand=usedStorage").json()
    assert info["usedStorage"] == total
    for path in (f"/{rid}/tree/main", f"/{rid}/tree/main/docs"):  # the repository's size, from any folder
        m = re.search(r'data-total-size title="([^"]+)">([^<]+)<', page(hub, path))
        assert m and m.group(1) == f"{total} bytes" and m.group(2) == f"Total size: {human_size(total)}"
    m = re.search(r'<dt>Model size</dt><dd data-total-size title="([^"]+)"><a href="/[^"]+/tree/main">([^<]+)</a>',
                  page(hub, f"/{rid}"))
    assert m and m.group(1) == f"{total} bytes" and m.group(2) == human_size(total) == "15 kB"
    # at an older revision: that revision's files
    m = re.search(r'data-total-size title="([^"]+)"', page(hub, f"/{rid}/tree/{repo['first']}"))
    assert m and m.group(1) == f"{repo['first_total']} bytes"


def test_total_size_and_columns_in_chinese(hub, repo):
    text = page(hub, f"/{repo['rid']}/tree/main", headers=ZH)
    m = re.search(r'data-total-size title="([^"]+)">([^<]+)<', text)
    assert m and m.group(2).startswith("总大小：") and "Total size" not in text
    assert ">最近提交<" in text and ">下载 a.txt<" in text
    side = page(hub, f"/{repo['rid']}", headers=ZH)
    assert "<dt>模型大小</dt>" in side and "Model size" not in side


# ---- the safetensors viewer -------------------------------------------------------------------

def _tensors(text: str) -> dict[str, list[str]]:
    """{name: [shape, dtype, parameters]} of the viewer's table."""
    out = {}
    for name, cells in re.findall(r'<tr data-tensor="([^"]+)">(.*?)</tr>', text, re.S):
        out[html.unescape(name)] = [plain(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", cells, re.S)[1:]]
    return out


def test_viewer_lists_tensors_of_a_regular_file(hub, repo):
    text = page(hub, f"/{repo['rid']}/blob/main/regular.safetensors")
    assert _tensors(text) == {"head.weight": ["[4, 5]", "F32", "20"], "head.bias": ["[5]", "F32", "5"],
                              "ids": ["[3]", "I64", "3"]}
    summary = plain(re.search(r"<p class=\"meta\" data-tensor-summary>(.*?)</p>", text, re.S).group(1))
    assert summary.startswith("3 tensors · 28 parameters")
    assert "data-safetensors-problem" not in text


def test_viewer_pages_the_tensors_of_an_lfs_file(hub, repo):
    rid = repo["rid"]
    text = page(hub, f"/{rid}/blob/main/weights/lfs.safetensors")
    first = _tensors(text)
    assert len(first) == 100
    assert first["embed.weight"] == ["[40, 8]", "F32", "320"]  # header order: safetensors sorts by name
    assert first["layers.000.weight"] == ["[2, 3]", "F16", "6"]
    assert "Page 1 of 2" in text and 'rel="next" href="?tp=1#weights-h"' in text
    assert f"{N_LFS_TENSORS} tensors" in text
    assert "<dt>format</dt><dd><code>pt</code></dd>" in text  # the header's __metadata__
    second = _tensors(page(hub, f"/{rid}/blob/main/weights/lfs.safetensors?tp=1"))
    assert len(second) == N_LFS_TENSORS - 100 and not set(first) & set(second)
    assert "layers.128.weight" in second
    # a page past the last shows the last
    assert _tensors(page(hub, f"/{rid}/blob/main/weights/lfs.safetensors?tp=99")) == second


def test_viewer_in_chinese(hub, repo):
    text = page(hub, f"/{repo['rid']}/blob/main/regular.safetensors", headers=ZH)
    assert ">张量<" in text and ">形状<" in text and ">数据类型<" in text
    assert "3 个张量" in text and "Tensors" not in text and "Shape" not in text


@pytest.mark.parametrize("headers,label", [({}, "This is not a valid safetensors file"),
                                           (ZH, "这不是有效的 safetensors 文件")])
def test_corrupt_header_is_said_clearly(hub, repo, headers, label):
    text = page(hub, f"/{repo['rid']}/blob/main/broken.safetensors", headers=headers)
    notice = plain(re.search(r"<p class=\"notice refused\"[^>]*data-safetensors-problem>(.*?)</p>", text, re.S).group(1))
    assert notice.startswith(label) and "header is not valid JSON" in notice
    assert "data-tensor=" not in text


def test_shard_index_lists_its_shards(hub, repo):
    rid = repo["rid"]
    text = page(hub, f"/{rid}/blob/main/model.safetensors.index.json")
    section = text[text.index("data-shards"):]
    shards = re.findall(r'<li><a href="([^"]+)">([^<]+)</a>\s*<span class="meta">([^<]+)</span>', section)
    assert shards == [(f"/{rid}/blob/main/model-00001-of-00002.safetensors", "model-00001-of-00002.safetensors",
                       "2 tensors"),
                      (f"/{rid}/blob/main/model-00002-of-00002.safetensors", "model-00002-of-00002.safetensors",
                       "1 tensor")]
    assert "分片" in page(hub, f"/{rid}/blob/main/model.safetensors.index.json", headers=ZH)


# ---- a browser walk ---------------------------------------------------------------------------

def test_browser_download_button_and_viewer(hub, repo, new_page, tmp_path):
    rid = repo["rid"]
    pg = new_page()
    pg.goto(f"/{rid}/tree/main")
    with pg.expect_download() as dl:
        pg.get_by_role("link", name="Download a.txt", exact=True).click()
    assert dl.value.suggested_filename == "a.txt"
    saved = tmp_path / "a.txt"
    dl.value.save_as(saved)
    assert saved.read_bytes() == A_TXT
    assert pg.locator("[data-total-size]").inner_text().startswith("Total size: ")
    pg.get_by_role("link", name="weights", exact=True).click()
    pg.get_by_role("link", name="lfs.safetensors", exact=True).click()
    pg.wait_for_url(f"{hub.url}/{rid}/blob/main/weights/lfs.safetensors")
    table = pg.get_by_role("region", name="Tensors")
    assert table.locator("tbody tr").count() == 100
    assert table.locator("tr[data-tensor='embed.weight'] td").all_inner_texts() == ["embed.weight", "[40, 8]", "F32",
                                                                                    "320"]
    table.get_by_role("link", name="Next").click()
    pg.wait_for_url(re.compile(r".*\?tp=1#weights-h$"))
    assert pg.get_by_role("region", name="Tensors").locator("tbody tr").count() == N_LFS_TENSORS - 100

    zh = new_page(locale="zh-CN")
    zh.goto(f"/{rid}/blob/main/regular.safetensors")
    assert zh.get_by_role("region", name="张量").locator("tbody tr").count() == 3
