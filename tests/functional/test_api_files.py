"""Files through the real HF client (uploads, downloads, listings, deletions) and the raw download
protocol (Range, conditional GET, HEAD metadata headers)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from huggingface_hub import CommitOperationAdd, get_hf_file_metadata, hf_hub_download, hf_hub_url, snapshot_download
from huggingface_hub.errors import EntryNotFoundError, RevisionNotFoundError
from huggingface_hub.hf_api import RepoFile, RepoFolder

from tests.support.live import hub_answer

OWNER = "files-owner"


@pytest.fixture(scope="module")
def token(hub) -> str:
    return hub.users(OWNER)[0]


@pytest.fixture(scope="module")
def api(hub, token):
    return hub.api(token)


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def new_repo(api, name: str, files: dict[str, bytes] | None = None) -> tuple[str, str | None]:
    """Create OWNER/name, optionally with files in one commit; returns (repo_id, commit sha)."""
    rid = f"{OWNER}/{name}"
    api.create_repo(rid)
    oid = None
    if files:
        ops = [CommitOperationAdd(p, d) for p, d in files.items()]
        oid = api.create_commit(rid, ops, commit_message=f"add {len(ops)} files").oid
    return rid, oid


# ---- uploads -----------------------------------------------------------------------------------

def test_upload_small_text_and_25mb_lfs_file(hub, api, token, hf_cache):
    rid, _ = new_repo(api, "big")
    text = b"# notes\nsmall regular file\n"
    big = os.urandom(25 * 1024 * 1024)
    c1 = api.upload_file(path_or_fileobj=text, path_in_repo="notes.txt", repo_id=rid)
    c2 = api.upload_file(path_or_fileobj=big, path_in_repo="weights/model.bin", repo_id=rid)
    assert c1.oid != c2.oid
    assert c2.commit_url == f"{hub.url}/{rid}/commit/{c2.oid}"

    info = api.model_info(rid, files_metadata=True)
    assert info.sha == c2.oid
    by_name = {s.rfilename: s for s in info.siblings}
    assert by_name["notes.txt"].lfs is None
    assert by_name["notes.txt"].blob_id == git_blob_sha1(text)
    assert by_name["notes.txt"].size == len(text)
    lfs = by_name["weights/model.bin"].lfs
    assert lfs is not None
    assert lfs.sha256 == sha256(big)
    assert lfs.size == len(big)
    assert by_name["weights/model.bin"].size == len(big)

    path = hf_hub_download(rid, "weights/model.bin", endpoint=hub.url, token=token, cache_dir=hf_cache)
    assert hashlib.sha256(read(path)).hexdigest() == sha256(big)
    assert read(hf_hub_download(rid, "notes.txt", endpoint=hub.url, token=token, cache_dir=hf_cache)) == text


def test_upload_folder_nested_with_allow_patterns(hub, api, token, hf_cache, tmp_path):
    rid, _ = new_repo(api, "folder")
    src = tmp_path / "src"
    files = {
        "top.txt": b"top\n",
        "a/one.txt": b"one\n",
        "a/b/two.txt": b"two\n",
        "a/b/c/three.json": b'{"three": 3}\n',
        "a/skip.log": b"log\n",
        "a/b/skip.log": b"log2\n",
        "skip.md": b"not this\n",
    }
    for rel, data in files.items():
        p = src / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)

    api.upload_folder(repo_id=rid, folder_path=src, allow_patterns=["*.txt", "*.json"])
    assert sorted(api.list_repo_files(rid)) == [".gitattributes", "a/b/c/three.json", "a/b/two.txt", "a/one.txt",
                                                "top.txt"]
    path = hf_hub_download(rid, "a/b/c/three.json", endpoint=hub.url, token=token, cache_dir=hf_cache)
    assert read(path) == files["a/b/c/three.json"]

    # into a sub folder of the repo, with ignore_patterns
    api.upload_folder(repo_id=rid, folder_path=src / "a", path_in_repo="copy", ignore_patterns="*.log")
    assert sorted(f for f in api.list_repo_files(rid) if f.startswith("copy/")) == [
        "copy/b/c/three.json", "copy/b/two.txt", "copy/one.txt"]
    assert read(hf_hub_download(rid, "copy/b/two.txt", endpoint=hub.url, token=token,
                                cache_dir=hf_cache)) == b"two\n"


def test_upload_unchanged_file_makes_no_commit(api):
    rid, c1 = new_repo(api, "noop", {"same.txt": b"same\n"})
    info = api.upload_file(path_or_fileobj=b"same\n", path_in_repo="same.txt", repo_id=rid)
    assert info.oid == c1
    assert len(api.list_repo_commits(rid)) == 2


# ---- downloads ---------------------------------------------------------------------------------

def test_hf_hub_download_by_branch_tag_and_sha(hub, api, token, hf_cache):
    v1, v2, v3 = os.urandom(3000), os.urandom(3001), os.urandom(3002)
    rid, c1 = new_repo(api, "revs", {"w.bin": v1, "t.txt": b"text v1\n"})
    api.create_tag(rid, tag="v1")
    api.create_branch(rid, branch="dev")
    c2 = api.create_commit(rid, [CommitOperationAdd("w.bin", v2), CommitOperationAdd("t.txt", b"text v2\n")],
                           commit_message="v2").oid
    c3 = api.upload_file(path_or_fileobj=v3, path_in_repo="w.bin", repo_id=rid, revision="dev").oid

    cases = [("main", c2, v2), ("v1", c1, v1), (c1, c1, v1), ("dev", c3, v3), (c3, c3, v3), (c2, c2, v2)]
    for rev, commit, data in cases:
        path = hf_hub_download(rid, "w.bin", revision=rev, endpoint=hub.url, token=token, cache_dir=hf_cache)
        assert hashlib.sha256(read(path)).hexdigest() == sha256(data), rev
        assert Path(path).parent.name == commit, rev  # snapshots/{X-Repo-Commit}/w.bin
    for rev, data in (("v1", b"text v1\n"), (c1, b"text v1\n"), ("main", b"text v2\n"), ("dev", b"text v1\n")):
        path = hf_hub_download(rid, "t.txt", revision=rev, endpoint=hub.url, token=token, cache_dir=hf_cache)
        assert read(path) == data, rev
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download(rid, "t.txt", revision="no-such-rev", endpoint=hub.url, token=token, cache_dir=hf_cache)
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(rid, "missing.txt", endpoint=hub.url, token=token, cache_dir=hf_cache)


def test_snapshot_download_with_patterns(hub, api, token, hf_cache):
    files = {
        "README.md": b"# snap\n",
        "cfg/config.json": b'{"a": 1}\n',
        "notes.txt": b"notes\n",
        "weights/a.bin": os.urandom(1000),
        "weights/b.bin": os.urandom(1001),
    }
    rid, commit = new_repo(api, "snap", files)

    def listing(folder: str) -> dict[str, bytes]:
        out = {}
        for root, _, names in os.walk(folder):
            for n in names:
                full = os.path.join(root, n)
                out[os.path.relpath(full, folder).replace(os.sep, "/")] = read(full)
        return out

    snap = snapshot_download(rid, endpoint=hub.url, token=token, cache_dir=hf_cache,
                             allow_patterns=["*.json", "*.txt"])
    assert Path(snap).name == commit
    assert listing(snap) == {"cfg/config.json": files["cfg/config.json"], "notes.txt": files["notes.txt"]}

    snap = snapshot_download(rid, endpoint=hub.url, token=token, cache_dir=os.path.join(hf_cache, "2"),
                             ignore_patterns="*.bin")
    got = listing(snap)
    assert sorted(got) == [".gitattributes", "README.md", "cfg/config.json", "notes.txt"]
    assert got["README.md"] == files["README.md"]

    snap = snapshot_download(rid, endpoint=hub.url, token=token, cache_dir=os.path.join(hf_cache, "3"),
                             allow_patterns="weights/*")
    assert listing(snap) == {"weights/a.bin": files["weights/a.bin"], "weights/b.bin": files["weights/b.bin"]}


# ---- listings ----------------------------------------------------------------------------------

def test_list_repo_tree_recursive_and_paginated(hub, api):
    files = {f"f{i}.txt": f"file {i}\n".encode() for i in range(7)}
    files.update({f"sub/s{i}.txt": f"sub {i}\n".encode() for i in range(3)})
    files.update({"sub/deep/d0.txt": b"d0\n", "sub/deep/d1.bin": os.urandom(700)})
    rid, commit = new_repo(api, "tree", files)
    all_files = {".gitattributes", *files}

    top = list(api.list_repo_tree(rid))
    top_paths = [e.path for e in top]
    assert len(top_paths) == len(set(top_paths)) == 9  # 8 files + "sub": two pages of 5
    assert set(top_paths) == {".gitattributes", *(f"f{i}.txt" for i in range(7)), "sub"}
    sub = next(e for e in top if e.path == "sub")
    assert isinstance(sub, RepoFolder) and len(sub.tree_id) == 40
    f3 = next(e for e in top if e.path == "f3.txt")
    assert isinstance(f3, RepoFile)
    assert f3.size == len(files["f3.txt"]) and f3.blob_id == git_blob_sha1(files["f3.txt"]) and f3.lfs is None

    everything = list(api.list_repo_tree(rid, recursive=True))
    paths = [e.path for e in everything]
    assert len(paths) == len(set(paths)) == 15  # 12 files + sub, sub/deep; three pages
    assert {e.path for e in everything if isinstance(e, RepoFile)} == all_files
    assert {e.path for e in everything if isinstance(e, RepoFolder)} == {"sub", "sub/deep"}
    d1 = next(e for e in everything if e.path == "sub/deep/d1.bin")
    assert d1.size == 700 and d1.lfs is not None and d1.lfs.sha256 == sha256(files["sub/deep/d1.bin"])

    assert sorted(e.path for e in api.list_repo_tree(rid, path_in_repo="sub")) == [
        "sub/deep", "sub/s0.txt", "sub/s1.txt", "sub/s2.txt"]
    assert sorted(e.path for e in api.list_repo_tree(rid, path_in_repo="sub/deep")) == [
        "sub/deep/d0.txt", "sub/deep/d1.bin"]
    assert sorted(e.path for e in api.list_repo_tree(rid, path_in_repo="sub", recursive=True)) == [
        "sub/deep", "sub/deep/d0.txt", "sub/deep/d1.bin", "sub/s0.txt", "sub/s1.txt", "sub/s2.txt"]
    assert sorted(api.list_repo_files(rid, revision=commit)) == sorted(all_files)

    with pytest.raises(EntryNotFoundError):
        list(api.list_repo_tree(rid, path_in_repo="nope"))
    with pytest.raises(EntryNotFoundError):
        list(api.list_repo_tree(rid, path_in_repo="f1.txt"))  # a file is not a folder

    # the raw pages: 5 entries each, absolute next links carrying the original parameters
    r = hub.get(f"/api/models/{rid}/tree/main", params={"recursive": "true", "expand": "false"})
    assert r.status_code == 200
    assert len(r.json()) == 5
    nxt = r.links["next"]["url"]
    assert nxt.startswith(f"{hub.url}/api/models/{rid}/tree/main?")
    assert "recursive=true" in nxt and "expand=false" in nxt


def test_get_paths_info_omits_missing_paths(api):
    big = os.urandom(2048)
    rid, _ = new_repo(api, "paths", {"a.txt": b"alpha\n", "dir/b.bin": big, "dir/c.txt": b"c\n"})
    entries = api.get_paths_info(rid, ["a.txt", "dir", "dir/b.bin", "missing.txt", "dir/missing", "nope/x"])
    by_path = {e.path: e for e in entries}
    assert sorted(by_path) == ["a.txt", "dir", "dir/b.bin"]
    assert isinstance(by_path["dir"], RepoFolder)
    a = by_path["a.txt"]
    assert isinstance(a, RepoFile) and a.size == 6 and a.blob_id == git_blob_sha1(b"alpha\n") and a.lfs is None
    b = by_path["dir/b.bin"]
    assert isinstance(b, RepoFile) and b.size == 2048 and b.lfs.sha256 == sha256(big) and b.lfs.size == 2048
    assert api.get_paths_info(rid, ["missing.txt"]) == []


# ---- deletions ---------------------------------------------------------------------------------

def test_delete_file_and_delete_folder(hub, api, token, hf_cache):
    rid, c1 = new_repo(api, "deletions", {"a.txt": b"a\n", "keep.txt": b"keep\n", "ckpt/x.bin": os.urandom(500),
                                          "ckpt/sub/y.txt": b"y\n", "ckpt2/z.txt": b"z\n"})
    c2 = api.delete_file("a.txt", rid).oid
    assert "a.txt" not in api.list_repo_files(rid)
    assert api.file_exists(rid, "a.txt") is False
    c3 = api.delete_folder("ckpt", rid).oid
    assert sorted(api.list_repo_files(rid)) == [".gitattributes", "ckpt2/z.txt", "keep.txt"]
    assert [c.commit_id for c in api.list_repo_commits(rid)][:3] == [c3, c2, c1]
    # the old revision still has everything
    assert read(hf_hub_download(rid, "a.txt", revision=c1, endpoint=hub.url, token=token,
                                cache_dir=hf_cache)) == b"a\n"
    assert api.file_exists(rid, "ckpt/sub/y.txt", revision=c1) is True
    assert api.file_exists(rid, "ckpt/sub/y.txt") is False


def test_files_on_another_branch(hub, api, token, hf_cache):
    rid, c1 = new_repo(api, "branchy", {"base.txt": b"base\n"})
    api.create_branch(rid, branch="exp")
    c2 = api.upload_file(path_or_fileobj=b"experimental\n", path_in_repo="exp.txt", repo_id=rid, revision="exp").oid
    assert sorted(api.list_repo_files(rid, revision="exp")) == [".gitattributes", "base.txt", "exp.txt"]
    assert sorted(api.list_repo_files(rid)) == [".gitattributes", "base.txt"]
    assert api.model_info(rid).sha == c1
    assert api.model_info(rid, revision="exp").sha == c2
    assert api.file_exists(rid, "exp.txt", revision="exp") is True
    assert api.file_exists(rid, "exp.txt") is False
    path = hf_hub_download(rid, "exp.txt", revision="exp", endpoint=hub.url, token=token, cache_dir=hf_cache)
    assert read(path) == b"experimental\n"
    api.delete_file("base.txt", rid, revision="exp")
    assert sorted(api.list_repo_files(rid, revision="exp")) == [".gitattributes", "exp.txt"]
    assert sorted(api.list_repo_files(rid)) == [".gitattributes", "base.txt"]
    with pytest.raises(RevisionNotFoundError):
        api.upload_file(path_or_fileobj=b"x\n", path_in_repo="x.txt", repo_id=rid, revision="no-such-branch")


# ---- raw download protocol ---------------------------------------------------------------------

TEXT = b"0123456789abcdef" * 100  # 1600 bytes, regular
BLOB = os.urandom(5000)  # binary: LFS


@pytest.fixture(scope="module")
def raw_repo(api):
    rid, commit = new_repo(api, "raw", {"text.txt": TEXT, "blob.dat": BLOB})
    return rid, commit


RAW_FILES = {"text.txt": TEXT, "blob.dat": BLOB}


@pytest.mark.parametrize("name", ["text.txt", "blob.dat"])
def test_range_requests(hub, token, raw_repo, name):
    rid, commit = raw_repo
    data = RAW_FILES[name]
    url = f"/{rid}/resolve/main/{name}"
    n = len(data)
    for rng, start, end in (("bytes=100-199", 100, 199), ("bytes=0-0", 0, 0), (f"bytes={n - 10}-", n - 10, n - 1),
                            ("bytes=-7", n - 7, n - 1)):
        r = hub.get(url, token, headers={"Range": rng})
        assert r.status_code == 206, rng
        assert r.content == data[start:end + 1], rng
        assert r.headers["Content-Range"] == f"bytes {start}-{end}/{n}", rng
        assert int(r.headers["Content-Length"]) == end - start + 1
        assert hub_answer(r).headers["X-Repo-Commit"] == commit
    r = hub.get(url, token)
    assert r.status_code == 200 and r.content == data
    assert r.headers["Accept-Ranges"] == "bytes"


@pytest.mark.parametrize("name", ["text.txt", "blob.dat"])
def test_range_not_satisfiable(hub, token, raw_repo, name):
    rid, _ = raw_repo
    n = len(RAW_FILES[name])
    r = hub.get(f"/{rid}/resolve/main/{name}", token, headers={"Range": f"bytes={n + 100}-"})
    assert r.status_code == 416
    # RFC 9110 15.5.17: a 416 to a byte-range request carries the current length
    assert r.headers.get("Content-Range") == f"bytes */{n}"


@pytest.mark.parametrize("name", ["text.txt", "blob.dat"])
def test_conditional_get(hub, token, raw_repo, name):
    rid, _ = raw_repo
    data = RAW_FILES[name]
    etag = git_blob_sha1(data) if name == "text.txt" else sha256(data)
    url = f"/{rid}/resolve/main/{name}"
    r = hub.get(url, token)
    assert r.status_code == 200
    assert hub_answer(r).headers["ETag"] == f'"{etag}"'
    r = hub.get(url, token, headers={"If-None-Match": f'"{etag}"'})
    assert r.status_code == 304
    assert r.content == b""
    r = hub.get(url, token, headers={"If-None-Match": '"0000000000000000000000000000000000000000"'})
    assert r.status_code == 200 and r.content == data


def test_head_metadata_headers(hub, token, raw_repo):
    rid, commit = raw_repo
    r = hub.request("HEAD", f"/{rid}/resolve/main/text.txt", token)
    assert r.status_code == 200
    assert r.headers["X-Repo-Commit"] == commit
    assert r.headers["ETag"] == f'"{git_blob_sha1(TEXT)}"'
    assert int(r.headers["Content-Length"]) == len(TEXT)
    assert "Location" not in r.headers
    assert not [h for h in r.headers if h.lower().startswith("x-xet")]
    assert "xet-auth" not in r.headers.get("Link", "")
    r = hub.request("HEAD", f"/{rid}/resolve/{commit}/blob.dat", token)
    assert r.status_code == 200
    assert r.headers["X-Repo-Commit"] == commit
    assert r.headers["ETag"] == f'"{sha256(BLOB)}"'
    assert r.headers["X-Linked-Etag"] == f'"{sha256(BLOB)}"'
    assert r.headers["X-Linked-Size"] == str(len(BLOB))
    assert int(r.headers["Content-Length"]) == len(BLOB)
    assert "Location" not in r.headers
    assert not [h for h in r.headers if h.lower().startswith("x-xet")]
    assert "xet-auth" not in r.headers.get("Link", "")

    # what the client makes of it
    meta = get_hf_file_metadata(hf_hub_url(rid, "blob.dat", endpoint=hub.url), token=token)
    assert (meta.commit_hash, meta.etag, meta.size, meta.xet_file_data) == (commit, sha256(BLOB), len(BLOB), None)
    meta = get_hf_file_metadata(hf_hub_url(rid, "text.txt", endpoint=hub.url), token=token)
    assert (meta.commit_hash, meta.etag, meta.size, meta.xet_file_data) == (commit, git_blob_sha1(TEXT), len(TEXT),
                                                                            None)


def preupload(hub, token, rid: str, files: dict[str, int]) -> dict[str, dict]:
    r = hub.request("POST", f"/api/models/{rid}/preupload/main", token,
                    json={"files": [{"path": p, "size": n, "sample": ""} for p, n in files.items()]})
    assert r.status_code == 200, r.text
    return {f["path"]: f for f in r.json()["files"]}


def test_preupload_sends_lfs_pattern_paths_to_lfs_whatever_their_size(hub, api, token, tmp_path):
    """As the Hub: a path the revision's .gitattributes marks for LFS (the default ones: *.bin,
    *.safetensors, *.pkl ...) is an LFS upload even when small, so it gets a Xet hash or an LFS
    pointer the same way as large ones; .gitattributes itself and other small files stay regular."""
    rid, _ = new_repo(api, "preupload-modes")
    modes = preupload(hub, token, rid, {"tiny.safetensors": 10, "model.bin": 2000, "notes.txt": 10,
                                        ".gitattributes": 300, "big.txt": 50 * 1024 * 1024})
    assert {p: f["uploadMode"] for p, f in modes.items()} == {
        "tiny.safetensors": "lfs", "model.bin": "lfs", "notes.txt": "regular", ".gitattributes": "regular",
        "big.txt": "lfs"}
    api.upload_file(path_or_fileobj=b"small but weights", path_in_repo="small.bin", repo_id=rid)
    api.upload_file(path_or_fileobj=b"", path_in_repo="empty.pkl", repo_id=rid)
    info = {s.rfilename: s for s in api.model_info(rid, files_metadata=True).siblings}
    assert info["small.bin"].lfs is not None and info["small.bin"].lfs.sha256 == sha256(b"small but weights")
    assert info["empty.pkl"].lfs is None and info["empty.pkl"].size == 0  # git-lfs leaves empty files alone


def test_preupload_honours_the_revisions_gitignore(hub, api, token, tmp_path):
    rid, _ = new_repo(api, "preupload-ignore", {".gitignore": b"*.log\ncheckpoints/\n"})
    flags = preupload(hub, token, rid, {"train.log": 10, "checkpoints/step1.txt": 10, "config.json": 10})
    assert {p: f["shouldIgnore"] for p, f in flags.items()} == {
        "train.log": True, "checkpoints/step1.txt": True, "config.json": False}
    folder = tmp_path / "run"
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "train.log").write_text("loss 1.0\n")
    (folder / "checkpoints" / "step1.txt").write_text("1\n")
    (folder / "config.json").write_text("{}\n")
    api.upload_folder(folder_path=str(folder), repo_id=rid)
    assert sorted(api.list_repo_files(rid)) == [".gitattributes", ".gitignore", "config.json"]
