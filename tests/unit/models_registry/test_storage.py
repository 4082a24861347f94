"""Storage: bare git repositories (checked with the real `git`), the blob store, staging, LFS rules."""

from __future__ import annotations

import hashlib
import inspect
import io
import os
import subprocess
from pathlib import Path

import pytest

from models_registry.errors import BadRequest, PayloadTooLarge, RevisionNotFound
from models_registry.storage import BlobStore, GitStore, LocalBlobStore, StagedFile, Stager, staging
from models_registry.storage.gitrepo import DIR_MODE, EXEC_MODE, FILE_MODE
from models_registry.storage.lfs import DEFAULT_GITATTRIBUTES, MAX_POINTER_SIZE, LfsRules, Pointer, parse_pointer

AUTHOR = "Ada <ada@users.noreply.modelhub>"


def git(repo_path: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """The real git binary, with no user or system configuration in the way."""
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    return subprocess.run(["git", "-C", str(repo_path), *args], capture_output=True, check=check, env=env,
                          timeout=60)


@pytest.fixture
def store(tmp_path) -> GitStore:
    return GitStore(tmp_path / "repos")


@pytest.fixture
def repo(store):
    with store.init("k1") as r:
        yield r


def commit_files(repo, files: dict[str, bytes], parents: list[str], message: str) -> str:
    tree = repo.write_tree({p: (FILE_MODE, repo.add_blob(data)) for p, data in files.items()})
    return repo.make_commit(tree, parents, AUTHOR, message)


# ---- GitStore ---------------------------------------------------------------------------------

def test_init_creates_a_bare_repository_whose_head_is_main(store):
    with store.init("abcdef") as r:
        assert r.path == store.root / "ab" / "abcdef.git"
        assert r.refs() == {}
    assert store.exists("abcdef")
    assert git(r.path, "rev-parse", "--is-bare-repository").stdout.strip() == b"true"
    assert git(r.path, "symbolic-ref", "HEAD").stdout.strip() == b"refs/heads/main"


@pytest.mark.parametrize("key", ["", "../x", "a/b", "ab.git", "a b"])
def test_storage_keys_must_be_alphanumeric(store, key):
    with pytest.raises(ValueError):
        store.path_for(key)


def test_delete_removes_the_repository(store):
    store.init("gone1").close()
    path = store.path_for("gone1")
    assert path.is_dir()
    store.delete("gone1")
    assert not store.exists("gone1")
    assert not path.exists()
    assert list((store.root / ".trash").iterdir()) == []
    store.delete("gone1")  # deleting twice is harmless


def test_open_sees_what_another_handle_wrote(store):
    with store.init("shared") as w:
        sha = commit_files(w, {"f": b"x"}, [], "one")
        assert w.set_ref("refs/heads/main", sha, None)
    with store.open("shared") as r:
        assert r.resolve("main") == sha


# ---- trees and commits ------------------------------------------------------------------------

def test_written_repository_is_valid_for_git(repo):
    first = commit_files(repo, {"README.md": b"# hi\n", "weights/deep/model.bin": b"\x00\x01\x02"}, [], "first")
    assert repo.set_ref("refs/heads/main", first, None)
    second = commit_files(repo, {"README.md": b"# changed\n", "weights/deep/model.bin": b"\x00\x01\x02",
                                 "b.txt": b"b", "b/inner.txt": b"inner"}, [first], "second\n\nbody text")
    assert repo.set_ref("refs/heads/main", second, first)

    fsck = git(repo.path, "fsck", "--strict", "--no-dangling", check=False)
    assert fsck.returncode == 0, fsck.stderr.decode()
    log = git(repo.path, "log", "--format=%H %P|%s|%an <%ae>", "main").stdout.decode().splitlines()
    assert log == [f"{second} {first}|second|{AUTHOR}", f"{first} |first|{AUTHOR}"]
    assert git(repo.path, "cat-file", "-p", "main:README.md").stdout == b"# changed\n"
    assert git(repo.path, "cat-file", "-p", "main:weights/deep/model.bin").stdout == b"\x00\x01\x02"
    assert git(repo.path, "cat-file", "-p", "main:b/inner.txt").stdout == b"inner"
    assert git(repo.path, "cat-file", "-p", f"{first}:README.md").stdout == b"# hi\n"
    assert git(repo.path, "log", "-1", "--format=%B", "main").stdout.decode().strip() == "second\n\nbody text"


def test_add_blob_matches_git_hash_object(repo, tmp_path):
    data = b"some bytes\x00\xff\n" * 100
    sha = repo.add_blob(data)
    f = tmp_path / "f"
    f.write_bytes(data)
    assert sha == git(repo.path, "hash-object", str(f)).stdout.decode().strip()
    assert repo.read_blob(sha) == data


def test_write_tree_nests_paths_and_keeps_modes(repo):
    blob = repo.add_blob(b"x")
    tree = repo.write_tree({"a.txt": (FILE_MODE, blob), "bin/run.sh": (EXEC_MODE, blob),
                            "bin/lib/x/y.txt": (FILE_MODE, blob)})

    def sub(path: str) -> str:
        return git(repo.path, "rev-parse", f"{tree}:{path}").stdout.decode().strip()

    out = git(repo.path, "ls-tree", "-r", "-t", tree).stdout.decode().splitlines()
    assert out == [
        f"100644 blob {blob}\ta.txt",
        f"040000 tree {sub('bin')}\tbin",
        f"040000 tree {sub('bin/lib')}\tbin/lib",
        f"040000 tree {sub('bin/lib/x')}\tbin/lib/x",
        f"100644 blob {blob}\tbin/lib/x/y.txt",
        f"100755 blob {blob}\tbin/run.sh",
    ]
    fsck = git(repo.path, "fsck", "--strict", "--no-dangling", check=False)
    assert fsck.returncode == 0, fsck.stderr.decode()


def test_write_tree_is_deterministic(repo):
    blob = repo.add_blob(b"x")
    a = repo.write_tree({"z/b": (FILE_MODE, blob), "a": (FILE_MODE, blob), "z/a": (FILE_MODE, blob)})
    b = repo.write_tree({"a": (FILE_MODE, blob), "z/a": (FILE_MODE, blob), "z/b": (FILE_MODE, blob)})
    assert a == b


@pytest.mark.parametrize("files", [
    ["a", "a/b.txt"],        # file first, then a folder of the same name
    ["a/b.txt", "a"],        # folder first, then a file of the same name
    ["x/a", "x/a/b/c.txt"],  # the clash deeper down
])
def test_write_tree_refuses_a_file_and_a_folder_of_the_same_name(repo, files):
    blob = repo.add_blob(b"x")
    with pytest.raises(BadRequest):
        repo.write_tree({p: (FILE_MODE, blob) for p in files})


def test_commit_reads_back(repo):
    sha = commit_files(repo, {"f": b"x"}, [], "title line\n\nthe body")
    c = repo.commit(sha)
    assert c.sha == sha
    assert c.parents == ()
    assert c.title == "title line"
    assert c.message == "title line\n\nthe body"
    assert c.author == AUTHOR
    assert c.author_name == "Ada"
    assert c.tree == git(repo.path, "rev-parse", f"{sha}^{{tree}}").stdout.decode().strip()


def test_commit_of_a_non_commit_is_revision_not_found(repo):
    blob = repo.add_blob(b"x")
    with pytest.raises(RevisionNotFound):
        repo.commit(blob)


def test_history_is_newest_first(repo):
    shas = []
    for i in range(5):
        shas.append(commit_files(repo, {"f": str(i).encode()}, shas[-1:], f"c{i}"))
    assert [c.sha for c in repo.history(shas[-1])] == shas[::-1]
    assert [c.title for c in repo.history(shas[2])] == ["c2", "c1", "c0"]
    assert [c.parents for c in repo.history(shas[1])] == [(shas[0],), ()]


# ---- refs ---------------------------------------------------------------------------------------

def test_set_ref_compare_and_swap(repo):
    c1 = commit_files(repo, {"f": b"1"}, [], "one")
    c2 = commit_files(repo, {"f": b"2"}, [c1], "two")
    c3 = commit_files(repo, {"f": b"3"}, [c2], "three")

    assert repo.set_ref("refs/heads/main", c1, None)          # create: must not exist
    assert not repo.set_ref("refs/heads/main", c2, None)      # add_if_new refuses an existing ref
    assert repo.ref_sha("refs/heads/main") == c1

    assert repo.set_ref("refs/heads/main", c2, c1)            # the right old value
    assert repo.ref_sha("refs/heads/main") == c2
    assert not repo.set_ref("refs/heads/main", c3, c1)        # a stale old value
    assert repo.ref_sha("refs/heads/main") == c2
    assert not repo.set_ref("refs/heads/other", c3, c1)       # old value for a ref that does not exist
    assert repo.ref_sha("refs/heads/other") is None
    assert git(repo.path, "rev-parse", "refs/heads/main").stdout.decode().strip() == c2


def test_delete_ref_compare_and_swap(repo):
    c1 = commit_files(repo, {"f": b"1"}, [], "one")
    c2 = commit_files(repo, {"f": b"2"}, [c1], "two")
    assert repo.set_ref("refs/heads/dev", c2, None)
    assert not repo.delete_ref("refs/heads/dev", c1)
    assert repo.ref_sha("refs/heads/dev") == c2
    assert repo.delete_ref("refs/heads/dev", c2)
    assert repo.ref_sha("refs/heads/dev") is None


@pytest.fixture
def refs_repo(repo):
    """main -> c2, dev -> c1, lightweight tag v1 -> c1, annotated tag v2 -> c2, refs/pr/1 -> c3."""
    c1 = commit_files(repo, {"f": b"1"}, [], "one")
    c2 = commit_files(repo, {"f": b"2"}, [c1], "two")
    c3 = commit_files(repo, {"f": b"3"}, [c2], "three")
    assert repo.set_ref("refs/heads/main", c2, None)
    assert repo.set_ref("refs/heads/dev", c1, None)
    assert repo.set_ref("refs/tags/v1", c1, None)
    tag = repo.create_annotated_tag("v2", c2, "release two", AUTHOR)
    assert repo.set_ref("refs/tags/v2", tag, None)
    assert repo.set_ref("refs/pr/1", c3, None)
    return repo, {"c1": c1, "c2": c2, "c3": c3, "tag": tag}


@pytest.mark.parametrize("rev, expected", [
    ("main", "c2"), ("dev", "c1"), ("refs/heads/dev", "c1"), ("v1", "c1"), ("refs/tags/v1", "c1"),
    ("v2", "c2"), ("refs/tags/v2", "c2"), ("refs/pr/1", "c3"),
])
def test_resolve_names(refs_repo, rev, expected):
    repo, shas = refs_repo
    assert repo.resolve(rev) == shas[expected]


def test_resolve_full_sha_of_any_commit(refs_repo):
    repo, shas = refs_repo
    for sha in (shas["c1"], shas["c2"], shas["c3"]):
        assert repo.resolve(sha) == sha


@pytest.mark.parametrize("rev", ["", "nope", "refs/heads/nope", "refs/pr/2", "refs/tags/nope", "0" * 40,
                                 "main~1", "HEAD^", "../main"])
def test_resolve_unknown_is_revision_not_found(refs_repo, rev):
    repo, _ = refs_repo
    with pytest.raises(RevisionNotFound):
        repo.resolve(rev)


def test_resolve_abbreviated_or_non_commit_sha_is_revision_not_found(refs_repo):
    repo, shas = refs_repo
    blob = repo.add_blob(b"not a commit")
    for rev in (shas["c1"][:7], blob, shas["c1"].upper()):
        with pytest.raises(RevisionNotFound):
            repo.resolve(rev)


def test_annotated_tag_is_a_real_git_tag(refs_repo):
    repo, shas = refs_repo
    assert git(repo.path, "cat-file", "-t", "refs/tags/v2").stdout.strip() == b"tag"
    assert git(repo.path, "rev-parse", "v2^{commit}").stdout.decode().strip() == shas["c2"]
    assert b"release two" in git(repo.path, "cat-file", "-p", "v2").stdout
    assert repo.refs() == {"refs/heads/main": shas["c2"], "refs/heads/dev": shas["c1"],
                           "refs/tags/v1": shas["c1"], "refs/tags/v2": shas["c2"], "refs/pr/1": shas["c3"]}
    fsck = git(repo.path, "fsck", "--strict", check=False)
    assert fsck.returncode == 0, fsck.stderr.decode()


def test_branch_ref(refs_repo):
    repo, _ = refs_repo
    assert repo.branch_ref("main") == "refs/heads/main"
    assert repo.branch_ref("refs/heads/dev") == "refs/heads/dev"
    assert repo.branch_ref("refs/pr/1") == "refs/pr/1"
    assert repo.branch_ref("refs/pr/9") is None
    assert repo.branch_ref("v1") is None
    assert repo.branch_ref("nope") is None


# ---- lookup and listing ---------------------------------------------------------------------

@pytest.fixture
def tree_repo(repo):
    files = {"a.txt": b"a", "b.txt": b"b", "b/c.txt": b"c", "b/d/e.txt": b"e", "b-x": b"bx", "z": b"z"}
    sha = commit_files(repo, files, [], "tree")
    return repo, sha


def test_lookup(tree_repo):
    repo, sha = tree_repo
    root = repo.lookup(sha, "")
    assert root.is_dir and root.sha == repo.commit(sha).tree
    f = repo.lookup(sha, "b/d/e.txt")
    assert f.is_file and not f.is_dir and f.mode == FILE_MODE and f.path == "b/d/e.txt"
    assert repo.read_blob(f.sha) == b"e"
    d = repo.lookup(sha, "b/d")
    assert d.is_dir and d.mode == DIR_MODE
    assert d.sha == git(repo.path, "rev-parse", f"{sha}:b/d").stdout.decode().strip()
    assert repo.lookup(sha, "nope") is None
    assert repo.lookup(sha, "b/nope") is None
    assert repo.lookup(sha, "a.txt/under-a-file") is None


def test_list_tree_recursive_matches_git_order(tree_repo):
    repo, sha = tree_repo
    tree = repo.commit(sha).tree
    items = list(repo.list_tree(tree, recursive=True))
    expected = git(repo.path, "ls-tree", "-r", "-t", tree).stdout.decode().splitlines()
    assert [f"{i.mode:06o} {'tree' if i.is_dir else 'blob'} {i.sha}\t{i.path}" for i in items] == expected
    assert [i.path for i in items] == ["a.txt", "b-x", "b.txt", "b", "b/c.txt", "b/d", "b/d/e.txt", "z"]


def test_list_tree_one_level_and_with_prefix(tree_repo):
    repo, sha = tree_repo
    tree = repo.commit(sha).tree
    assert [i.path for i in repo.list_tree(tree)] == ["a.txt", "b-x", "b.txt", "b", "z"]
    sub = repo.lookup(sha, "b")
    assert [(i.path, i.is_dir) for i in repo.list_tree(sub.sha, "b")] == [("b/c.txt", False), ("b/d", True)]


def test_files_lists_only_files(tree_repo):
    repo, sha = tree_repo
    assert sorted(repo.files(sha)) == ["a.txt", "b-x", "b.txt", "b/c.txt", "b/d/e.txt", "z"]


def test_read_blob_of_a_tree_is_bad_request(tree_repo):
    repo, sha = tree_repo
    with pytest.raises(BadRequest):
        repo.read_blob(repo.commit(sha).tree)


# ---- staging --------------------------------------------------------------------------------

@pytest.fixture
def stager(tmp_path) -> Stager:
    return Stager(tmp_path / "tmp")


def staging_files(stager: Stager) -> list[Path]:
    return sorted(stager.directory.iterdir())


@pytest.mark.parametrize("size", [0, 6, 3 * 1024 * 1024 + 17])
def test_staged_file_hashes(stager, tmp_path, size):
    data = os.urandom(size)
    staged = stager.from_stream(io.BytesIO(data))
    try:
        assert staged.size == len(data)
        assert staged.sha256 == hashlib.sha256(data).hexdigest()
        assert staged.read_bytes() == data
        ref = tmp_path / "ref"
        ref.write_bytes(data)
        hash_object = subprocess.run(["git", "hash-object", "--no-filters", str(ref)], capture_output=True,
                                     check=True, timeout=60)
        assert staged.sha1 == hash_object.stdout.decode().strip()
        assert staged.path.parent == stager.directory
    finally:
        staged.discard()
    assert staging_files(stager) == []


def test_from_bytes_and_writer_in_pieces_agree(stager):
    data = os.urandom(100_000)
    a = stager.from_bytes(data)
    w = stager.writer()
    for i in range(0, len(data), 333):
        w.write(data[i:i + 333])
    b = w.finish()
    try:
        assert (a.size, a.sha256, a.sha1) == (b.size, b.sha256, b.sha1) == (
            len(data), hashlib.sha256(data).hexdigest(),
            hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest())
    finally:
        a.discard()
        b.discard()


def test_git_sha1_only_up_to_the_inline_limit(stager, monkeypatch):
    """The git blob sha1 is what preupload compares for inline uploads; big LFS uploads skip it,
    whether their size was announced (an LFS PUT) or not (base64 in a commit)."""
    monkeypatch.setattr(staging, "SHA1_MAX_SECOND_PASS", 1000)
    small, big = os.urandom(1000), os.urandom(1001)
    for data, size_known in ((small, True), (small, False), (big, True), (big, False)):
        w = stager.writer(expected_size=len(data) if size_known else None)
        w.write(data)
        staged = w.finish()
        try:
            want = hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest() if data is small else None
            assert staged.sha1 == want, (len(data), size_known)
            assert staged.sha256 == hashlib.sha256(data).hexdigest()
        finally:
            staged.discard()


def test_from_stream_reads_only_length_bytes(stager):
    stream = io.BytesIO(b"0123456789rest")
    staged = stager.from_stream(stream, length=10)
    try:
        assert staged.read_bytes() == b"0123456789"
        assert stream.read() == b"rest"
    finally:
        staged.discard()


@pytest.mark.parametrize("data, binary", [
    (b"plain text\n", False),
    (b"", False),
    (b"nul \x00 inside", True),
    (b"\xff\xfe latin-1 but no NUL", False),
    (b"x" * 7999 + b"\x00", True),          # the NUL is within git's 8000-byte sample
    (b"x" * 8000 + b"\x00", False),         # just past it: git calls this text too
])
def test_is_binary_follows_git(stager, data, binary):
    staged = stager.from_bytes(data)
    try:
        assert staged.is_binary is binary
    finally:
        staged.discard()


def test_writer_max_bytes_is_payload_too_large_and_removes_the_file(stager):
    w = stager.writer(max_bytes=10)
    w.write(b"0123456789")  # exactly at the limit is fine
    with pytest.raises(PayloadTooLarge):
        w.write(b"x")
    assert not w.path.exists()
    assert staging_files(stager) == []


def test_from_stream_max_bytes(stager):
    ok = stager.from_stream(io.BytesIO(b"x" * 100), max_bytes=100)
    ok.discard()
    with pytest.raises(PayloadTooLarge):
        stager.from_stream(io.BytesIO(b"x" * 101), max_bytes=100)
    assert staging_files(stager) == []


def test_from_stream_failure_removes_the_file(stager):
    class Broken(io.RawIOBase):
        calls = 0

        def read(self, n=-1):
            self.calls += 1
            if self.calls > 2:
                raise ConnectionResetError("client went away")
            return b"x" * 10

    with pytest.raises(ConnectionResetError):
        stager.from_stream(Broken())
    assert staging_files(stager) == []


# ---- blob store -----------------------------------------------------------------------------

@pytest.fixture
def blobs(tmp_path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "lfs")


def test_put_publishes_under_the_sharded_path_by_rename(blobs, stager):
    data = os.urandom(5000)
    staged = stager.from_bytes(data)
    inode = staged.path.stat().st_ino
    oid = staged.sha256
    blobs.put(staged)
    target = blobs.root / oid[:2] / oid[2:4] / oid
    assert target.is_file()
    assert target.stat().st_ino == inode  # renamed into place, not copied
    assert not staged.path.exists()
    assert staging_files(stager) == []
    assert blobs.exists(oid)
    assert blobs.size(oid) == len(data)
    assert blobs.local_path(oid) == target
    with blobs.open(oid) as f:
        assert f.read() == data
    assert blobs.read_range(oid, 0, 8) == data[:8]
    assert blobs.read_range(oid, 100, 50) == data[100:150]
    assert blobs.read_range(oid, len(data) - 10, 50) == data[-10:]  # fewer at the end


def test_duplicate_put_discards_the_staging_file(blobs, stager):
    first = stager.from_bytes(b"same bytes")
    blobs.put(first)
    target = blobs.local_path(first.sha256)
    inode = target.stat().st_ino
    second = stager.from_bytes(b"same bytes")
    blobs.put(second)
    assert not second.path.exists()
    assert staging_files(stager) == []
    assert target.stat().st_ino == inode
    assert target.read_bytes() == b"same bytes"


def test_missing_objects(blobs):
    oid = hashlib.sha256(b"never stored").hexdigest()
    assert not blobs.exists(oid)
    assert blobs.size(oid) is None
    with pytest.raises(FileNotFoundError):
        blobs.open(oid)
    blobs.delete(oid)  # no error


def test_delete(blobs, stager):
    staged = stager.from_bytes(b"doomed")
    blobs.put(staged)
    blobs.delete(staged.sha256)
    assert not blobs.exists(staged.sha256)


BAD_OIDS = ["", "abc", "../" + "a" * 61, "A" * 64, "g" * 64, "a" * 63, "a" * 65, "a" * 32 + "/" + "a" * 31]


@pytest.mark.parametrize("oid", BAD_OIDS)
def test_invalid_oid_is_bad_request(blobs, oid):
    for call in (blobs.exists, blobs.size, blobs.open, blobs.local_path, blobs.delete):
        with pytest.raises(BadRequest):
            call(oid)


@pytest.mark.parametrize("oid", BAD_OIDS)
def test_put_with_invalid_oid_is_bad_request(blobs, stager, oid):
    staged = stager.from_bytes(b"x")
    forged = StagedFile(staged.path, staged.size, oid, staged.sha1, staged.head)
    try:
        with pytest.raises(BadRequest):
            blobs.put(forged)
        assert [p for p in blobs.root.rglob("*") if p.is_file()] == []
    finally:
        staged.discard()


def _protocol_methods(proto: type) -> dict[str, inspect.Signature]:
    return {name: inspect.signature(value) for name, value in vars(proto).items()
            if not name.startswith("_") and callable(value)}


def test_local_blob_store_satisfies_the_blob_store_protocol():
    wanted = _protocol_methods(BlobStore)
    assert set(wanted) >= {"exists", "size", "put", "open", "local_path", "delete"}
    for name, signature in wanted.items():
        impl = getattr(LocalBlobStore, name, None)
        assert callable(impl), f"LocalBlobStore lacks {name}"
        assert inspect.signature(impl) == signature, f"{name}: {inspect.signature(impl)} != {signature}"


# ---- LFS pointers and rules -----------------------------------------------------------------

def test_pointer_roundtrip():
    oid = hashlib.sha256(b"x").hexdigest()
    p = Pointer(oid, 123456789012)
    data = p.encode()
    assert data == (b"version https://git-lfs.github.com/spec/v1\n"
                    b"oid sha256:" + oid.encode() + b"\nsize 123456789012\n")
    assert parse_pointer(data) == p
    assert len(data) <= MAX_POINTER_SIZE


@pytest.mark.parametrize("data", [
    b"",
    b"hello",
    Pointer("a" * 64, 1).encode()[:-1],                                  # no final newline
    Pointer("a" * 64, 1).encode() + b"ext-0-foo sha256:" + b"b" * 64 + b"\n" + b"x" * 100,  # oversize
    Pointer("a" * 64, 1).encode() + b" " * (MAX_POINTER_SIZE + 1),
    Pointer("A" * 64, 1).encode(),                                       # uppercase oid
    Pointer("a" * 63, 1).encode(),                                       # short oid
    Pointer("g" * 64, 1).encode(),                                       # not hex
    b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"a" * 64 + b"\nsize -1\n",
    b"version https://git-lfs.github.com/spec/v1\noid md5:" + b"a" * 64 + b"\nsize 1\n",
    b"version https://example.com/spec/v1\noid sha256:" + b"a" * 64 + b"\nsize 1\n",
])
def test_non_pointers_parse_as_none(data):
    assert parse_pointer(data) is None


def test_lfs_rules_size_threshold():
    rules = LfsRules(None, size_threshold=100)
    assert not rules.wants_lfs("notes.txt", 100, False)
    assert rules.wants_lfs("notes.txt", 101, False)
    assert not rules.wants_lfs("notes.txt", 0, False)


def test_lfs_rules_binary_content():
    rules = LfsRules(None, size_threshold=100)
    assert rules.wants_lfs("notes.txt", 5, True)


@pytest.mark.parametrize("path, lfs", [
    ("model.safetensors", True),
    ("deep/in/a/folder/model.safetensors", True),
    ("pytorch_model.bin", True),
    ("data.tar.gz", True),
    ("events.out.tfevents.123.host", True),
    ("saved_model/variables/variables.index", True),
    ("saved_model/assets/vocab.txt", True),
    ("README.md", False),
    ("config.json", False),
    ("model.safetensors.index.json", False),
    ("other/saved_model/vocab.txt", False),
])
def test_default_gitattributes_patterns(path, lfs, tmp_path):
    rules = LfsRules(DEFAULT_GITATTRIBUTES.encode(), size_threshold=10 * 1024 * 1024)
    assert rules.matches_pattern(path) is lfs
    assert rules.wants_lfs(path, 10, False) is lfs
    # git agrees
    work = tmp_path / "w"
    work.mkdir()
    (work / ".gitattributes").write_text(DEFAULT_GITATTRIBUTES)
    git(work, "init", "-q")
    out = git(work, "check-attr", "filter", "--", path).stdout.decode().strip()
    assert out.endswith(": filter: lfs") is lfs, out


def test_custom_gitattributes():
    rules = LfsRules(b"*.txt filter=lfs diff=lfs merge=lfs -text\n", size_threshold=1000)
    assert rules.wants_lfs("a.txt", 1, False)
    assert rules.wants_lfs("dir/a.txt", 1, False)
    assert not rules.wants_lfs("model.safetensors", 1, False)  # only what this file says


def test_gitattributes_itself_is_never_lfs():
    rules = LfsRules(b"* filter=lfs diff=lfs merge=lfs -text\n", size_threshold=10)
    assert rules.wants_lfs("anything.md", 1, False)
    assert not rules.wants_lfs(".gitattributes", 10_000, True)


def test_broken_gitattributes_does_not_disable_the_other_rules():
    rules = LfsRules(b"\xff\xfe\x00[[[ \"unterminated\n*.bin filter", size_threshold=10)
    assert rules.wants_lfs("a.txt", 11, False)
    assert rules.wants_lfs("a.txt", 1, True)
    assert not rules.wants_lfs("a.txt", 1, False)


def test_sweep_removes_only_staging_files_untouched_for_max_age(tmp_path):
    stager = Stager(tmp_path / "tmp")
    left = stager.writer()
    left.write(b"half an upload")  # a writer whose process died: never finished, never aborted
    stale = next((tmp_path / "tmp").glob("stage-*"))
    (tmp_path / "tmp" / "sync-partial").mkdir()
    resumable = tmp_path / "tmp" / "sync-partial" / "x.part"
    resumable.write_bytes(b"kept for resuming")
    other = tmp_path / "tmp" / "notes.txt"
    other.write_bytes(b"not ours")

    assert stager.sweep(max_age=3600) == 0  # just written: in use as far as anyone can tell
    assert stale.exists()
    assert stager.sweep(max_age=3600, now=stale.lstat().st_ctime + 3601) == 1
    assert not stale.exists()
    assert resumable.exists() and other.exists()
    left.abort()  # its own clean-up does not trip over the missing file


def test_sweep_goes_by_the_inode_change_time_not_the_modification_time(tmp_path):
    """A hard-linked staging file (Stager.from_file(link=True) of a Hugging Face cache blob) keeps
    its source's old mtime while it is being hashed; the link itself changed the inode just now."""
    stager = Stager(tmp_path / "tmp")
    source = tmp_path / "cache-blob"
    source.write_bytes(b"weights")
    two_days_ago = source.stat().st_mtime - 2 * 86400
    os.utime(source, (two_days_ago, two_days_ago))
    linked = tmp_path / "tmp" / "stage-linked"
    os.link(source, linked)
    assert linked.stat().st_mtime == two_days_ago
    assert stager.sweep(max_age=3600) == 0
    assert linked.exists()
