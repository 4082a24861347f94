"""git clone, pull and push over smart HTTP, with git-LFS, against a live hub, and their interplay
with the HF API (commits from one side are visible from the other)."""

from __future__ import annotations

import os

import pytest
from huggingface_hub import CommitOperationAdd, hf_hub_download

from tests.support.gitutil import file_sha256, make_git, remote_url, sha256

CLONE_PUBLIC = "git-clone-pub"
PRIVATE_OWNER = "git-priv-owner"
PRIVATE_OTHER = "git-priv-other"
PUSHER = "git-pusher"
INTEROP = "git-interop"
MIXED = "git-mixed"


@pytest.fixture(scope="module", autouse=True)
def _accounts(hub):
    hub.users(CLONE_PUBLIC, PRIVATE_OWNER, PRIVATE_OTHER, PUSHER, INTEROP, MIXED)


@pytest.fixture(scope="module")
def git(tmp_path_factory):
    return make_git(tmp_path_factory)


def log_lines(git, repo) -> list[tuple[str, str]]:
    """(sha, title) of every commit reachable from HEAD, newest first."""
    out = git.out("log", "--format=%H%x09%s", cwd=repo)
    return [tuple(line.split("\t", 1)) for line in out.splitlines()]


def test_anonymous_clone_of_public_repo_smudges_lfs_and_shows_api_history(hub, git, tmp_path):
    api = hub.api(hub.user(CLONE_PUBLIC))
    rid = f"{CLONE_PUBLIC}/weights"
    api.create_repo(rid)
    text = b"Small text file\nuploaded with the HF client\n"
    big = os.urandom(12 * 1024 * 1024)
    c1 = api.upload_file(path_or_fileobj=text, path_in_repo="notes.txt", repo_id=rid, commit_message="Add notes")
    c2 = api.upload_file(path_or_fileobj=big, path_in_repo="weights/model.bin", repo_id=rid,
                         commit_message="Add 12 MB of weights")
    siblings = {s.rfilename: s for s in api.model_info(rid, files_metadata=True).siblings}
    assert siblings["weights/model.bin"].lfs is not None  # the premise: git holds only a pointer
    assert siblings["weights/model.bin"].lfs.sha256 == sha256(big)

    dest = tmp_path / "clone"
    git.clone(remote_url(hub, rid), dest)

    assert (dest / "notes.txt").read_bytes() == text
    assert (dest / "weights/model.bin").stat().st_size == len(big)
    assert file_sha256(dest / "weights/model.bin") == sha256(big)
    # In git the file is an LFS pointer to exactly those bytes, and git-lfs knows it as such.
    pointer = git.out("cat-file", "blob", "HEAD:weights/model.bin", cwd=dest)
    assert pointer.splitlines() == ["version https://git-lfs.github.com/spec/v1", f"oid sha256:{sha256(big)}",
                                    f"size {len(big)}"]
    assert git.out("lfs", "ls-files", "--name-only", cwd=dest).splitlines() == ["weights/model.bin"]
    assert git.out("status", "--porcelain", cwd=dest) == ""

    history = log_lines(git, dest)
    assert history[:2] == [(c2.oid, "Add 12 MB of weights"), (c1.oid, "Add notes")]
    assert git.head(dest) == c2.oid
    assert git.out("rev-parse", "--abbrev-ref", "HEAD", cwd=dest) == "main"


def test_private_repo_clone_needs_the_credentials_of_a_reader(hub, git, tmp_path):
    owner = hub.user(PRIVATE_OWNER)
    other = hub.user(PRIVATE_OTHER)
    api = hub.api(owner)
    rid = f"{PRIVATE_OWNER}/secret"
    api.create_repo(rid, private=True)
    secret = b"private bytes\n"
    commit = api.upload_file(path_or_fileobj=secret, path_in_repo="secret.txt", repo_id=rid,
                             commit_message="Add secret")

    # Anonymous: the server challenges (401 + WWW-Authenticate), git cannot prompt and gives up at once.
    anon = git.clone(remote_url(hub, rid), tmp_path / "anon", check=False, timeout=30)
    assert anon.returncode != 0
    assert "could not read Username" in anon.stderr and "terminal prompts disabled" in anon.stderr, anon.stderr
    assert not (tmp_path / "anon").exists()
    challenge = hub.get(f"/{rid}/info/refs?service=git-upload-pack")
    assert challenge.status_code == 401
    assert challenge.headers["WWW-Authenticate"].startswith("Basic ")
    assert secret.decode() not in challenge.text

    # The owner's token as the password (any user name), or the owner's account password.
    git.clone(remote_url(hub, rid, owner, user="anything"), tmp_path / "with-token")
    assert (tmp_path / "with-token/secret.txt").read_bytes() == secret
    assert git.head(tmp_path / "with-token") == commit.oid
    git.clone(remote_url(hub, rid, f"pw-{PRIVATE_OWNER}-12345", user=PRIVATE_OWNER), tmp_path / "with-password")
    assert (tmp_path / "with-password/secret.txt").read_bytes() == secret

    # Someone else's valid token: the repository does not exist for them.
    foreign = git.clone(remote_url(hub, rid, other, user=PRIVATE_OTHER), tmp_path / "foreign", check=False,
                        timeout=30)
    assert foreign.returncode != 0
    assert "not found" in foreign.stderr.lower(), foreign.stderr
    assert secret.decode() not in foreign.stderr
    assert not (tmp_path / "foreign").exists()

    # A wrong token is an authentication failure, not a prompt and not anonymous access.
    wrong = git.clone(remote_url(hub, rid, "mh_not-a-real-token"), tmp_path / "wrong", check=False, timeout=30)
    assert wrong.returncode != 0
    assert "Authentication failed" in wrong.stderr, wrong.stderr


def test_push_regular_and_lfs_files_then_read_them_with_the_hf_client(hub, git, tmp_path, hf_cache):
    token = hub.user(PUSHER)
    api = hub.api(token)
    rid = f"{PUSHER}/pushed"
    api.create_repo(rid)
    work = tmp_path / "work"
    git.clone(remote_url(hub, rid, token), work)
    git.run("lfs", "track", "*.bin", cwd=work)
    git.run("add", ".gitattributes", cwd=work)

    config = b'{"hidden_size": 64, "num_layers": 2}\n'
    weights = os.urandom(3 * 1024 * 1024)
    pushed = git.commit_files(work, {"config.json": config, "weights/model.bin": weights},
                              "Add config and weights via git")
    assert git.out("lfs", "ls-files", "--name-only", cwd=work).splitlines() == ["weights/model.bin"]
    pushed_out = git.run("push", "origin", "main", cwd=work)
    assert git.ls_remote(remote_url(hub, rid))["refs/heads/main"] == pushed
    assert "warning" not in pushed_out.stderr.lower(), pushed_out.stderr  # no deprecated git settings echoed

    for path, data in (("config.json", config), ("weights/model.bin", weights)):
        local = hf_hub_download(rid, path, endpoint=hub.url, token=token, cache_dir=hf_cache)
        assert file_sha256(local) == sha256(data), path
    info = api.model_info(rid, files_metadata=True)
    assert info.sha == pushed
    siblings = {s.rfilename: s for s in info.siblings}
    assert siblings["config.json"].lfs is None
    assert siblings["config.json"].size == len(config)
    assert siblings["weights/model.bin"].lfs is not None
    assert siblings["weights/model.bin"].lfs.sha256 == sha256(weights)
    assert siblings["weights/model.bin"].lfs.size == len(weights)
    assert siblings["weights/model.bin"].size == len(weights)
    commits = api.list_repo_commits(rid)
    assert commits[0].commit_id == pushed
    assert commits[0].title == "Add config and weights via git"
    assert info.card_data is None or "license" not in info.card_data.to_dict()

    # A model card pushed to main updates the metadata the API serves.
    readme = b"---\nlicense: mit\n---\n# Pushed model\n\nPushed with git.\n"
    card_commit = git.commit_files(work, {"README.md": readme}, "Add model card")
    git.run("push", "origin", "main", cwd=work)
    info = api.model_info(rid)
    assert info.sha == card_commit
    assert info.card_data is not None
    assert info.card_data.license == "mit"
    assert api.list_repo_commits(rid)[0].title == "Add model card"


def test_repo_filled_by_the_api_is_cloneable_and_pull_gets_later_api_commits(hub, git, tmp_path):
    token = hub.user(INTEROP)
    api = hub.api(token)
    rid = f"{INTEROP}/from-api"
    api.create_repo(rid)
    src = tmp_path / "src"
    files = {
        "config.json": b'{"a": 1}\n',
        "tokenizer/vocab.txt": b"hello\nworld\n",
        "tokenizer/merges/rules.txt": b"h e\nl l\n",
        "data/deep/nested/table.csv": b"x,y\n1,2\n",
        "data/deep/nested/blob.bin": os.urandom(64 * 1024),
    }
    for rel, data in files.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes(data)
    first = api.upload_folder(folder_path=src, repo_id=rid, commit_message="Upload folder")

    dest = tmp_path / "clone"
    git.clone(remote_url(hub, rid, token), dest)
    tracked = set(git.out("ls-files", cwd=dest).splitlines())
    assert tracked == set(files) | {".gitattributes"}
    for rel, data in files.items():
        assert (dest / rel).read_bytes() == data, rel
    assert git.head(dest) == first.oid

    more = os.urandom(200 * 1024)
    second = api.create_commit(rid, [CommitOperationAdd("tokenizer/extra.txt", b"added later\n"),
                                     CommitOperationAdd("data/deep/nested/more.bin", more)],
                               commit_message="Second API commit")
    git.run("pull", "--ff-only", "-q", cwd=dest)
    assert git.head(dest) == second.oid
    assert (dest / "tokenizer/extra.txt").read_bytes() == b"added later\n"
    assert file_sha256(dest / "data/deep/nested/more.bin") == sha256(more)
    assert log_lines(git, dest)[:2] == [(second.oid, "Second API commit"), (first.oid, "Upload folder")]
    assert git.out("status", "--porcelain", cwd=dest) == ""


def test_git_push_then_api_commit_on_top_then_pull(hub, git, tmp_path):
    token = hub.user(MIXED)
    api = hub.api(token)
    rid = f"{MIXED}/mixed"
    api.create_repo(rid)
    work = tmp_path / "work"
    git.clone(remote_url(hub, rid, token), work)
    commit_a = git.commit_files(work, {"a.txt": b"from git\n"}, "Commit A via git")
    git.run("push", "origin", "main", cwd=work)

    commit_b = api.create_commit(rid, [CommitOperationAdd("b.txt", b"from the API\n")],
                                 commit_message="Commit B via API", parent_commit=commit_a)
    assert commit_b.oid != commit_a

    git.run("pull", "--ff-only", "-q", cwd=work)
    assert git.head(work) == commit_b.oid
    assert git.head(work, "HEAD^") == commit_a
    assert (work / "b.txt").read_bytes() == b"from the API\n"
    assert (work / "a.txt").read_bytes() == b"from git\n"
    assert log_lines(git, work)[:2] == [(commit_b.oid, "Commit B via API"), (commit_a, "Commit A via git")]
