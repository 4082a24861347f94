"""What a git push may not do (history rewrites on main, missing rights, files outside LFS, bad
paths, bad model cards, dangling LFS pointers, oversized packs), and malformed smart-HTTP input.

Every refusal is checked from both ends: git exits non-zero with a message that says why, and the
hub's refs (and files) are exactly what they were before.
"""

from __future__ import annotations

import os

import httpx2
import pytest
from huggingface_hub import CommitOperationAdd, hf_hub_download

from tests.support.gitutil import lfs_pointer, make_git, remote_url, sha256
from tests.support.live import start_hub

HISTORY = "git-history"
PERM_OWNER = "git-perm-owner"
PERM_OTHER = "git-perm-other"
BIGFILE = "git-bigfile"
BADREF = "git-badref"
BADTREE = "git-badtree"
BADCARD = "git-badcard"
GHOST = "git-ghost"
GHOST_OTHER = "git-ghost-other"
PROTO = "git-proto"


@pytest.fixture(scope="module", autouse=True)
def _accounts(hub):
    hub.users(HISTORY, PERM_OWNER, (PERM_OWNER, "read"), PERM_OTHER, BIGFILE, BADREF, BADTREE, BADCARD, GHOST,
              GHOST_OTHER, PROTO)


@pytest.fixture(scope="module")
def git(tmp_path_factory):
    return make_git(tmp_path_factory)


@pytest.fixture(scope="module")
def plain_git(tmp_path_factory):
    """git without git-lfs: pointer files are committed as the plain text they are."""
    return make_git(tmp_path_factory, lfs=False)


def branches(api, rid: str) -> dict[str, str]:
    return {b.name: b.target_commit for b in api.list_repo_refs(rid).branches}


def tags(api, rid: str) -> dict[str, str]:
    return {t.name: t.target_commit for t in api.list_repo_refs(rid).tags}


def new_repo(hub, owner: str, name: str, files: dict[str, bytes] | None = None) -> tuple[str, str]:
    """owner/name with `files` committed through the API; returns (repo_id, head of main)."""
    api = hub.api(hub.user(owner))
    rid = f"{owner}/{name}"
    api.create_repo(rid)
    if files:
        api.create_commit(rid, [CommitOperationAdd(p, d) for p, d in files.items()], commit_message="Seed files")
    return rid, branches(api, rid)["main"]


def assert_refused(proc, *needles: str) -> None:
    assert proc.returncode != 0, f"the push was accepted:\n{proc.stderr}"
    for needle in needles:
        assert needle in proc.stderr, f"{needle!r} not in git's stderr:\n{proc.stderr}"


# ---- history -----------------------------------------------------------------------------------

def test_force_push_to_main_refused_other_branches_free_main_undeletable_tags_pushable(hub, git, tmp_path):
    token = hub.user(HISTORY)
    api = hub.api(token)
    rid, _ = new_repo(hub, HISTORY, "history")
    url = remote_url(hub, rid, token)
    work = tmp_path / "work"
    git.clone(url, work)
    commit_a = git.commit_files(work, {"a.txt": b"A\n"}, "Commit A")
    git.run("push", "origin", "main", "main:refs/heads/dev", cwd=work)
    assert branches(api, rid) == {"main": commit_a, "dev": commit_a}

    # Rewrite history: drop A, commit C on its parent instead.
    git.run("reset", "-q", "--hard", "HEAD~1", cwd=work)
    commit_c = git.commit_files(work, {"c.txt": b"C\n"}, "Commit C, rewriting history")
    forced = git.run("push", "--force", "origin", "main", cwd=work, check=False)
    assert_refused(forced, "[remote rejected]")
    assert "force-push" in forced.stderr or "rewrite history" in forced.stderr, forced.stderr
    assert branches(api, rid) == {"main": commit_a, "dev": commit_a}

    # Another branch may be rewritten, and a tag goes along in the same push.
    git.run("tag", "v1.0", commit_a, cwd=work)
    git.run("push", "--force", "origin", "HEAD:refs/heads/dev", "refs/tags/v1.0", cwd=work)
    assert branches(api, rid) == {"main": commit_a, "dev": commit_c}
    assert tags(api, rid) == {"v1.0": commit_a}
    assert git.ls_remote(url)["refs/tags/v1.0"] == commit_a

    # The default branch cannot be deleted (while another branch can).
    deleted = git.run("push", "origin", "--delete", "main", cwd=work, check=False)
    assert_refused(deleted, "[remote rejected]", "default branch cannot be deleted")
    git.run("push", "origin", "--delete", "dev", cwd=work)
    assert branches(api, rid) == {"main": commit_a}

    # The owner may allow force-pushes to the default branch (and take it back).
    r = hub.request("PUT", f"/api/models/{rid}/settings", token, json={"allowForcePush": True})
    assert r.status_code == 200, r.text
    git.run("push", "--force", "origin", "main", cwd=work)
    assert branches(api, rid) == {"main": commit_c}
    assert hub.request("PUT", f"/api/models/{rid}/settings", token, json={"allowForcePush": False}).status_code == 200
    git.run("reset", "-q", "--hard", "HEAD~1", cwd=work)
    git.commit_files(work, {"d.txt": b"D\n"}, "Commit D, rewriting again")
    assert_refused(git.run("push", "--force", "origin", "main", cwd=work, check=False), "[remote rejected]")
    assert branches(api, rid) == {"main": commit_c}
    # Only admins of the repository change it.
    assert hub.request("PUT", f"/api/models/{rid}/settings", hub.user(HISTORY, "read"),
                       json={"allowForcePush": True}).status_code == 403
    assert tags(api, rid) == {"v1.0": commit_a}


# ---- who may push ------------------------------------------------------------------------------

def test_push_without_write_access_is_refused(hub, git, tmp_path, hf_cache):
    owner_read = hub.user(PERM_OWNER, "read")
    other = hub.user(PERM_OTHER)
    rid, head = new_repo(hub, PERM_OWNER, "guarded", {"file.txt": b"original\n"})
    api = hub.api(hub.user(PERM_OWNER))
    work = tmp_path / "work"
    git.clone(remote_url(hub, rid), work)  # public: anyone may clone
    git.commit_files(work, {"file.txt": b"vandalized\n"}, "Unwanted change")

    # Without write access a signed-in user may still push to their own pull requests (refs/pr/N),
    # so the refusal of a branch update comes from the pre-receive policy, with its reason.
    by_other = git.run("push", remote_url(hub, rid, other, user=PERM_OTHER), "main", cwd=work, check=False,
                       timeout=30)
    assert_refused(by_other, "[remote rejected]", "no write access")
    by_read_token = git.run("push", remote_url(hub, rid, owner_read, user=PERM_OWNER), "main", cwd=work,
                            check=False, timeout=30)
    assert_refused(by_read_token, "403", "read-only")
    anonymous = git.run("push", remote_url(hub, rid), "main", cwd=work, check=False, timeout=30)
    assert_refused(anonymous, "could not read Username", "terminal prompts disabled")

    # What the server answered, without git in between.
    assert hub.get(f"/{rid}/info/refs?service=git-receive-pack").status_code == 401
    assert hub.get(f"/{rid}/info/refs?service=git-receive-pack", token=owner_read).status_code == 403
    assert hub.get(f"/{rid}/info/refs?service=git-receive-pack", token=other).status_code == 200
    assert branches(api, rid) == {"main": head}
    with open(hf_hub_download(rid, "file.txt", endpoint=hub.url, cache_dir=hf_cache), "rb") as f:
        assert f.read() == b"original\n"


# ---- content policy ----------------------------------------------------------------------------

def test_file_over_10mb_outside_lfs_is_refused(hub, git, tmp_path):
    token = hub.user(BIGFILE)
    api = hub.api(token)
    rid, head = new_repo(hub, BIGFILE, "bigfile", {"README.md": b"# big\n"})
    work = tmp_path / "work"
    git.clone(remote_url(hub, rid, token), work)
    big = b"".join(b"line %08d of a large text file outside git-lfs\n" % i for i in range(250_000))
    assert len(big) > 10 * 1024 * 1024
    git.commit_files(work, {"data/big.txt": big}, "Add a big file without LFS")
    assert git.out("lfs", "ls-files", cwd=work) == ""  # really outside LFS

    pushed = git.run("push", "origin", "main", cwd=work, check=False)
    assert_refused(pushed, "[remote rejected]", "data/big.txt", "LFS", "git lfs track")
    assert branches(api, rid) == {"main": head}
    assert "data/big.txt" not in api.list_repo_files(rid)


def test_push_to_a_ref_outside_heads_and_tags_is_refused(hub, git, tmp_path):
    token = hub.user(BADREF)
    api = hub.api(token)
    rid, head = new_repo(hub, BADREF, "badref", {"a.txt": b"a\n"})
    url = remote_url(hub, rid, token)
    work = tmp_path / "work"
    git.clone(url, work)
    git.commit_files(work, {"b.txt": b"b\n"}, "A commit for an odd ref")

    pushed = git.run("push", "origin", "HEAD:refs/foo/x", cwd=work, check=False)
    assert_refused(pushed, "[remote rejected]", "refs/foo/x", "only branches")
    refs = git.ls_remote(url)
    assert "refs/foo/x" not in refs
    assert refs["refs/heads/main"] == head
    assert branches(api, rid) == {"main": head}


@pytest.mark.parametrize("entry, nested, named", [
    (".git", False, "'.git'"),
    (".GIT", False, "'.git'"),
    ("..", False, "'..'"),
    (".git", True, "'.git'"),
], ids=["dotgit", "dotgit-uppercase", "dotdot", "nested-dotgit"])
def test_tree_with_dotgit_or_dotdot_entry_is_refused(hub, git, tmp_path, request, entry, nested, named):
    token = hub.user(BADTREE)
    api = hub.api(token)
    rid, head = new_repo(hub, BADTREE, f"badtree-{request.node.callspec.id}", {"ok.txt": b"fine\n"})
    work = tmp_path / "work"
    git.clone(remote_url(hub, rid, token), work)
    # Built object by object: no porcelain command would write such a tree.
    (work / "payload").write_bytes(b"[core]\n\tfsmonitor = touch /tmp/pwned\n")
    blob = git.out("hash-object", "-w", "payload", cwd=work)
    inner = git.run("mktree", cwd=work, input=f"100644 blob {blob}\tconfig\n").stdout.strip()
    bad = git.run("mktree", cwd=work, input=f"040000 tree {inner}\t{entry}\n").stdout.strip()
    if nested:
        bad = git.run("mktree", cwd=work, input=f"040000 tree {bad}\tmodels\n").stdout.strip()
    ok_blob = git.out("rev-parse", "HEAD:ok.txt", cwd=work)
    root = git.run("mktree", cwd=work, input=f"100644 blob {ok_blob}\tok.txt\n040000 tree {bad}\tsub\n").stdout.strip()
    commit = git.out("commit-tree", root, "-p", head, "-m", f"Sneak in {entry}", cwd=work)
    listing = git.out("ls-tree", "-r", "--name-only", commit, cwd=work).splitlines()
    assert f"sub/{'models/' if nested else ''}{entry}/config" in listing  # the premise

    pushed = git.run("push", "origin", f"{commit}:refs/heads/main", cwd=work, check=False)
    assert_refused(pushed, "[remote rejected]", named)
    assert branches(api, rid) == {"main": head}
    assert api.list_repo_files(rid) == [".gitattributes", "ok.txt"]


def test_readme_with_broken_yaml_on_main_is_refused(hub, git, tmp_path):
    token = hub.user(BADCARD)
    api = hub.api(token)
    rid, head = new_repo(hub, BADCARD, "badcard", {"README.md": b"---\nlicense: apache-2.0\n---\n# Card\n"})
    assert api.model_info(rid).card_data.license == "apache-2.0"
    work = tmp_path / "work"
    git.clone(remote_url(hub, rid, token), work)
    git.commit_files(work, {"README.md": b"---\nlicense: mit\ntags: [a, b\n---\n# Card\n"}, "Break the card")

    pushed = git.run("push", "origin", "main", cwd=work, check=False)
    assert_refused(pushed, "[remote rejected]", "README.md", "YAML")
    assert branches(api, rid) == {"main": head}
    assert api.model_info(rid).card_data.license == "apache-2.0"


@pytest.mark.parametrize("where", ["never-uploaded", "uploaded-to-another-repo"])
def test_lfs_pointer_to_an_object_this_repo_does_not_have_is_refused(hub, plain_git, tmp_path, where):
    token = hub.user(GHOST)
    api = hub.api(token)
    rid, head = new_repo(hub, GHOST, f"ghost-{where}", {"a.txt": b"a\n"})
    data = os.urandom(4096)
    if where == "uploaded-to-another-repo":
        # Someone's private repository holds the object; knowing its sha256 must not be enough.
        other = hub.api(hub.user(GHOST_OTHER))
        other_rid = f"{GHOST_OTHER}/holder"
        other.create_repo(other_rid, private=True, exist_ok=True)
        other.upload_file(path_or_fileobj=data, path_in_repo="weights/secret.bin", repo_id=other_rid)
        stored = {s.rfilename: s for s in other.model_info(other_rid, files_metadata=True).siblings}
        assert stored["weights/secret.bin"].lfs.sha256 == sha256(data)  # the premise: it is an LFS object
    work = tmp_path / "work"
    plain_git.clone(remote_url(hub, rid, token), work)
    plain_git.commit_files(work, {"weights/ghost.bin": lfs_pointer(sha256(data), len(data))},
                           "Pointer to an object this repository never received")
    assert plain_git.out("cat-file", "-p", "HEAD:weights/ghost.bin", cwd=work).startswith("version https://git-lfs")

    pushed = plain_git.run("push", "origin", "main", cwd=work, check=False, env={"GIT_LFS_SKIP_PUSH": "1"})
    assert_refused(pushed, "[remote rejected]", "weights/ghost.bin", "LFS", sha256(data))
    assert branches(api, rid) == {"main": head}
    assert "weights/ghost.bin" not in api.list_repo_files(rid)


# ---- pack size ---------------------------------------------------------------------------------

def test_pack_over_max_push_bytes_is_refused_and_nothing_is_written(git, tmp_path):
    data_dir = tmp_path / "hub"
    data_dir.mkdir()
    small_hub = start_hub(data_dir, workers=1, env={"MODELHUB_MAX_PUSH_BYTES": "200000"})
    try:
        token = small_hub.users("git-packsize")[0]
        api = small_hub.api(token)
        rid = "git-packsize/packs"
        api.create_repo(rid)
        work = tmp_path / "work"
        git.clone(remote_url(small_hub, rid, token), work)
        # Below the limit, pushes go through: the refusal below is about size only.
        small = git.commit_files(work, {"small.txt": b"small\n" * 100}, "Small commit")
        git.run("push", "origin", "main", cwd=work)
        assert branches(api, rid) == {"main": small}

        noise = os.urandom(1_000_000)  # incompressible, far below the 10 MiB LFS rule
        git.commit_files(work, {"noise.dat": noise}, "About 1 MB of noise")
        assert git.out("lfs", "ls-files", cwd=work) == ""
        blob = git.out("rev-parse", "HEAD:noise.dat", cwd=work)

        pushed = git.run("push", "origin", "main", cwd=work, check=False)
        assert_refused(pushed, "[remote rejected]", "exceeds maximum allowed size")
        assert branches(api, rid) == {"main": small}
        assert "noise.dat" not in api.list_repo_files(rid)
        # Nothing reached the repository's object store (git's quarantine was dropped).
        bare_repos = list((data_dir / "repos").glob("*/*.git"))
        assert len(bare_repos) == 1
        found = git.run("--git-dir", str(bare_repos[0]), "cat-file", "-e", blob, check=False)
        assert found.returncode != 0
        assert not list((bare_repos[0] / "objects").glob("incoming-*")), "a quarantine directory was left behind"
        assert "Traceback" not in small_hub.log()
    finally:
        small_hub.stop()


# ---- malformed protocol input ------------------------------------------------------------------

GARBAGE = bytes(range(256)) * 8 + os.urandom(2048)


def _git_error_in(body: bytes) -> bool:
    """Does a smart-HTTP answer carry an error from git (ERR packet, fatal/error text, `ng` status)?"""
    low = body.lower()
    return b"ERR " in body or b"fatal" in low or b"error" in low or b"\nng " in body or b"0000ng " in body


@pytest.mark.parametrize("service, with_auth, headers, body", [
    ("git-upload-pack", False, {}, GARBAGE),
    ("git-upload-pack", False, {}, b"0032want 0123456789abcdef0123456789abcdef01234567\n0009done\n"),
    ("git-upload-pack", False, {}, b"00ffwant tr"),
    ("git-receive-pack", True, {}, GARBAGE),
    ("git-receive-pack", True, {"Content-Encoding": "gzip"}, GARBAGE),
], ids=["upload-pack-garbage", "upload-pack-unknown-want", "upload-pack-truncated-pkt", "receive-pack-garbage",
        "receive-pack-bad-gzip"])
def test_malformed_protocol_input_is_not_a_server_error(hub, git, request, service, with_auth, headers, body):
    token = hub.user(PROTO)
    rid, head = new_repo(hub, PROTO, f"proto-{request.node.callspec.id}", {"a.txt": b"a\n"})
    url = remote_url(hub, rid)
    before = git.ls_remote(url)
    log_start = len(hub.log())

    resp = httpx2.post(f"{hub.url}/{rid}/{service}", content=body, follow_redirects=True, timeout=60,
                       headers={"Content-Type": f"application/x-{service}-request", **headers},
                       auth=("git", token) if with_auth else None)
    assert resp.status_code < 500, resp.text
    new_log = hub.log()[log_start:]
    assert "Traceback" not in new_log and "Exception in thread" not in new_log, new_log
    assert git.ls_remote(url) == before
    assert before["refs/heads/main"] == head
    # A client must learn that its request failed: a 4xx, or git's own error in a 200 answer.
    assert 400 <= resp.status_code < 500 or (resp.status_code == 200 and _git_error_in(resp.content)), \
        f"{resp.status_code} with a body that reports no error: {resp.content[:200]!r}"


def test_info_refs_without_service_is_refused_as_dumb_http(hub):
    rid, _ = new_repo(hub, PROTO, "proto-dumb", {"a.txt": b"a\n"})
    resp = hub.get(f"/{rid}/info/refs")
    assert resp.status_code == 403
    assert resp.headers["Content-Type"].startswith("text/plain")
    assert "smart HTTP" in resp.text
