"""Listing and permanently deleting a repository's LFS files (list_lfs_files,
permanently_delete_lfs_files) with the stock client: the history is rewritten without the files on
every branch and tag, the repository stops referencing the objects, and what is left is a sound
git repository that clones."""

from __future__ import annotations

import pytest
from huggingface_hub import CommitOperationAdd
from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError

from tests.support.gitutil import make_git, remote_url

OWNER, OTHER = "lfsfiles-owner", "lfsfiles-writer"


@pytest.fixture(scope="module")
def tokens(hub) -> dict[str, str]:
    owner, other = hub.users(OWNER, OTHER)
    return {OWNER: owner, OTHER: other}


def test_list_then_delete_rewrites_every_ref(hub, tokens, tmp_path_factory, tmp_path):
    api = hub.api(tokens[OWNER])
    rid = f"{OWNER}/weights"
    api.create_repo(rid)
    api.upload_file(path_or_fileobj=b"LFS content", path_in_repo="lfs_file.bin", repo_id=rid)
    api.upload_file(path_or_fileobj=b"TXT content", path_in_repo="txt_file.txt", repo_id=rid)
    api.upload_file(path_or_fileobj=b"LFS content 2", path_in_repo="sub/lfs_file_2.bin", repo_id=rid)
    api.create_branch(rid, branch="my-branch")
    api.upload_file(path_or_fileobj=b"LFS content branch", path_in_repo="lfs_file_branch.bin", repo_id=rid,
                    revision="my-branch")
    api.create_tag(rid, tag="v1", tag_message="annotated", revision="main")
    api.create_repo(f"{OWNER}/shares-an-object")  # the same bytes elsewhere are not touched
    api.upload_file(path_or_fileobj=b"LFS content", path_in_repo="copy.bin", repo_id=f"{OWNER}/shares-an-object")

    files = list(api.list_lfs_files(rid))
    assert sorted((f.filename, f.ref) for f in files) == [
        ("lfs_file.bin", "main"), ("lfs_file_branch.bin", "my-branch"), ("sub/lfs_file_2.bin", "main")]
    assert all(f.size > 0 and f.pushed_at is not None for f in files)
    with pytest.raises(HfHubHTTPError):  # not theirs: neither listed nor deleted by others
        hub.api(tokens[OTHER]).list_lfs_files(rid).__next__()
    r = hub.request("POST", f"/api/models/{rid}/lfs-files/batch", tokens[OWNER],
                    json={"deletions": {"sha": [files[0].file_oid], "rewriteHistory": False}})
    assert r.status_code == 400 and "rewriteHistory=true" in r.json()["error"]

    on_main = [f for f in files if f.ref == "main"]
    api.permanently_delete_lfs_files(rid, on_main)

    assert [f.filename for f in api.list_lfs_files(rid)] == ["lfs_file_branch.bin"]
    assert set(api.list_repo_files(rid)) == {".gitattributes", "txt_file.txt"}
    assert set(api.list_repo_files(rid, revision="my-branch")) == {".gitattributes", "txt_file.txt",
                                                                     "lfs_file_branch.bin"}
    assert set(api.list_repo_files(rid, revision="v1")) == {".gitattributes", "txt_file.txt"}
    with pytest.raises(EntryNotFoundError):
        api.hf_hub_download(rid, "lfs_file.bin")
    titles = [c.title for c in api.list_repo_commits(rid)]
    assert "Upload txt_file.txt with huggingface_hub" in titles  # the history is kept, without the files
    for c in api.list_repo_commits(rid):
        assert not {"lfs_file.bin", "sub/lfs_file_2.bin"} & set(api.list_repo_files(rid, revision=c.commit_id))
    assert api.model_info(rid).sha == api.list_repo_commits(rid)[0].commit_id
    with open(api.hf_hub_download(f"{OWNER}/shares-an-object", "copy.bin"), "rb") as f:
        assert f.read() == b"LFS content"

    git = make_git(tmp_path_factory)
    work = tmp_path / "clone"
    git.clone(remote_url(hub, rid, tokens[OWNER]), work)
    git.run("fsck", "--strict", cwd=work)
    assert sorted(git.out("ls-files", cwd=work).split()) == [".gitattributes", "txt_file.txt"]


def test_copy_files_across_repositories_links_the_objects(hub, tokens):
    """copy_files from a model to a dataset: the LFS file is linked through lfs-files/duplicate
    (stored once), the small ones are re-sent; an outsider cannot link another's private objects."""
    api = hub.api(tokens[OWNER])
    src, dst = f"{OWNER}/copy-source", f"{OWNER}/copy-target"
    api.create_repo(src, private=True)
    api.create_repo(dst, repo_type="dataset")
    api.upload_file(path_or_fileobj=b'{"key": "value"}', path_in_repo="config.json", repo_id=src)
    api.upload_file(path_or_fileobj=b"binary data", path_in_repo="data/sub/lfs.bin", repo_id=src)
    api.copy_files(f"hf://{src}/config.json", f"hf://datasets/{dst}/config.json")
    api.copy_files(f"hf://{src}/data/", f"hf://datasets/{dst}/copied/")
    assert {"config.json", "copied/sub/lfs.bin"} <= set(api.list_repo_files(dst, repo_type="dataset"))
    with open(api.hf_hub_download(dst, "copied/sub/lfs.bin", repo_type="dataset"), "rb") as f:
        assert f.read() == b"binary data"

    oid = next(f.lfs.sha256 for f in api.list_repo_tree(src, recursive=True) if getattr(f, "lfs", None))
    other = hub.api(tokens[OTHER])
    other.create_repo(f"{OTHER}/thief")
    r = hub.request("POST", f"/api/models/{src}/lfs-files/duplicate", tokens[OTHER],
                    json={"target": {"type": "model", "name": f"{OTHER}/thief"}, "files": [{"sha256": oid}]})
    assert r.status_code == 404  # the private source is invisible to them
    r = hub.request("POST", f"/api/datasets/{dst}/lfs-files/duplicate", tokens[OTHER],
                    json={"target": {"type": "model", "name": f"{OTHER}/thief"}, "files": [{"sha256": "0" * 64}]})
    assert r.status_code == 200 and r.json()["failed"] == [{"sha256": "0" * 64,
                                                            "error": f"not an LFS file of {dst}"}]
