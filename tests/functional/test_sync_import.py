"""`modelhub import`: a model folder or a Hugging Face cache entry published without the network."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from huggingface_hub import hf_hub_download, snapshot_download
from huggingface_hub.errors import RepositoryNotFoundError
from safetensors.numpy import save_file

OWNER = "importer"
ORG = "import-org"


@pytest.fixture(scope="module")
def api(hub):
    token = hub.users(OWNER)[0]
    hub.cli("orgs", "create", ORG, "--owner", OWNER)
    return hub.api(token)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def model_folder(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "README.md").write_text("---\nlicense: apache-2.0\npipeline_tag: text-generation\n---\n# 导入的模型\n")
    (root / "config.json").write_text('{"hidden_size": 8}\n')
    rng = np.random.default_rng(len(str(root)))
    save_file({"w": rng.standard_normal((300, 250)).astype(np.float32)}, str(root / "model.safetensors"))
    (root / "sub").mkdir()
    (root / "sub" / "tokenizer.json").write_text('{"v": 1}\n')
    (root / ".git").mkdir()  # tool bookkeeping is never published
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    return root


def lfs_path(hub, oid: str) -> Path | None:
    """Where the hub stored an object on local disk; None when it stores in S3 (copies and hard
    links are facts of a local blob store)."""
    if hub.env.get("MODELHUB_STORAGE_URL", "").startswith("s3://"):
        return None
    return hub.data_dir / "lfs" / oid[:2] / oid[2:4] / oid


def test_import_folder_then_reimport_only_changes(hub, api, tmp_path, hf_cache):
    folder = model_folder(tmp_path / "m")
    rid = f"{OWNER}/imported"
    out = hub.cli("import", str(folder), rid)
    assert out.stdout.strip() == rid
    assert "repository created" in out.stderr and "1 stored as LFS" in out.stderr

    info = api.model_info(rid, files_metadata=True)
    files = {s.rfilename: s for s in info.siblings}
    assert set(files) == {".gitattributes", "README.md", "config.json", "model.safetensors", "sub/tokenizer.json"}
    assert files["model.safetensors"].lfs is not None and files["config.json"].lfs is None
    assert info.card_data["license"] == "apache-2.0" and info.pipeline_tag == "text-generation"
    for name in ("model.safetensors", "sub/tokenizer.json", "README.md"):
        got = hf_hub_download(rid, name, endpoint=hub.url, token=False, cache_dir=hf_cache)
        assert sha256(Path(got)) == sha256(folder / name)
    oid = files["model.safetensors"].lfs.sha256
    if (stored := lfs_path(hub, oid)) is not None:
        assert stored.stat().st_ino != (folder / "model.safetensors").stat().st_ino  # copied

    commits = len(api.list_repo_commits(rid))
    again = hub.cli("import", str(folder), rid)
    assert "main: unchanged" in again.stderr and "4 unchanged" in again.stderr
    assert len(api.list_repo_commits(rid)) == commits

    (folder / "config.json").write_text('{"hidden_size": 16}\n')
    (folder / "sub" / "tokenizer.json").unlink()
    third = hub.cli("import", str(folder), rid, "-m", "Retrained")
    assert "2 unchanged" in third.stderr
    log = api.list_repo_commits(rid)
    assert len(log) == commits + 1 and log[0].title == "Retrained"
    names = set(api.list_repo_files(rid))
    assert "sub/tokenizer.json" not in names and "config.json" in names


def test_import_huggingface_cache_with_branches_and_links(hub, api, tmp_path):
    src = f"{OWNER}/cache-source"
    api.create_repo(src)
    api.upload_folder(folder_path=str(model_folder(tmp_path / "v1")), repo_id=src)
    api.create_branch(src, branch="dev")
    api.upload_file(path_or_fileobj=os.urandom(200_000), path_in_repo="extra.bin", repo_id=src, revision="dev")
    cache = tmp_path / "cache"
    snapshot_download(src, endpoint=hub.url, token=False, cache_dir=str(cache))
    snapshot_download(src, revision="dev", endpoint=hub.url, token=False, cache_dir=str(cache))
    entry = cache / f"models--{OWNER}--cache-source"
    assert (entry / "refs" / "main").is_file() and (entry / "refs" / "dev").is_file()

    rid = f"{ORG}/from-cache"
    hub.cli("import", str(entry), rid, "--user", OWNER, "--link", "--private")
    info = api.model_info(rid)
    assert info.private
    for rev in ("main", "dev"):
        want = {f: sha256(Path(hf_hub_download(src, f, revision=rev, endpoint=hub.url, token=False,
                                               cache_dir=str(tmp_path / "c1"))))
                for f in api.list_repo_files(src, revision=rev)}
        got = {f: sha256(Path(hf_hub_download(rid, f, revision=rev, endpoint=hub.url, token=api.token,
                                              cache_dir=str(tmp_path / "c2"))))
               for f in api.list_repo_files(rid, revision=rev)}
        assert got == want


def test_link_shares_the_file_instead_of_copying(hub, api, tmp_path):
    folder = model_folder(tmp_path / "linked")
    rid = f"{OWNER}/linked"
    hub.cli("import", str(folder), rid, "--link")
    oid = next(s.lfs.sha256 for s in api.model_info(rid, files_metadata=True).siblings
               if s.rfilename == "model.safetensors")
    if (stored := lfs_path(hub, oid)) is None:
        pytest.skip("hard links are a local blob store's; this run stores in S3")
    assert stored.stat().st_ino == (folder / "model.safetensors").stat().st_ino


def test_corrupted_cache_is_refused_and_nothing_created(hub, api, tmp_path):
    src = f"{OWNER}/cache-corrupt"
    api.create_repo(src)
    api.upload_folder(folder_path=str(model_folder(tmp_path / "v1")), repo_id=src)
    cache = tmp_path / "cache"
    snapshot_download(src, endpoint=hub.url, token=False, cache_dir=str(cache))
    entry = cache / f"models--{OWNER}--cache-corrupt"
    blob = next(p for p in (entry / "blobs").iterdir() if len(p.name) == 64)
    data = bytearray(blob.read_bytes())
    data[100] ^= 0xFF
    blob.write_bytes(bytes(data))

    out = hub.cli("import", str(entry), f"{OWNER}/from-corrupt", check=False)
    assert out.returncode != 0
    assert "corrupted" in out.stderr and blob.name in out.stderr
    with pytest.raises(RepositoryNotFoundError):
        api.model_info(f"{OWNER}/from-corrupt")


def test_import_bad_input(hub, api, tmp_path):
    folder = model_folder(tmp_path / "m")
    org_without_user = hub.cli("import", str(folder), f"{ORG}/x", check=False)
    assert org_without_user.returncode != 0 and "--user" in org_without_user.stderr
    nobody = hub.cli("import", str(folder), f"{OWNER}/x", "--user", "no-such-user", check=False)
    assert nobody.returncode != 0 and "no-such-user" in nobody.stderr
    missing = hub.cli("import", str(tmp_path / "nope"), f"{OWNER}/x", check=False)
    assert missing.returncode != 0 and "does not exist" in missing.stderr
    bad_name = hub.cli("import", str(folder), f"{OWNER}/../x", check=False)
    assert bad_name.returncode != 0
    outsider = hub.users("import-outsider")[0]
    assert outsider
    not_theirs = hub.cli("import", str(folder), f"{ORG}/y", "--user", "import-outsider", check=False)
    assert not_theirs.returncode != 0
    for rid in (f"{OWNER}/x", f"{ORG}/y"):
        with pytest.raises(RepositoryNotFoundError):
            api.model_info(rid)
    shutil.rmtree(folder)


def test_cache_tags_stay_tags(hub, api, tmp_path):
    src = f"{OWNER}/cache-tags"
    api.create_repo(src)
    api.upload_folder(folder_path=str(model_folder(tmp_path / "v1")), repo_id=src)
    api.create_tag(src, tag="v1")
    api.upload_file(path_or_fileobj=b"changed after v1\n", path_in_repo="NOTES.md", repo_id=src)
    api.create_tag(src, tag="latest")
    cache = tmp_path / "cache"
    for rev in ("main", "v1", "refs/tags/latest"):
        snapshot_download(src, revision=rev, endpoint=hub.url, token=False, cache_dir=str(cache))
    entry = cache / f"models--{OWNER}--cache-tags"
    # What huggingface_hub leaves: refs/<revision as given>, branch and tag alike.
    assert {p.relative_to(entry / "refs").as_posix() for p in (entry / "refs").rglob("*") if p.is_file()} == \
        {"main", "v1", "refs/tags/latest"}

    rid = f"{OWNER}/tags-imported"
    out = hub.cli("import", str(entry), rid, "--tag", "v1")

    assert "tag v1: " in out.stderr and "tag latest: " in out.stderr
    refs = api.list_repo_refs(rid)
    assert [b.name for b in refs.branches] == ["main"]  # no branch for a tag, none left by the import
    tags = {t.name: t.target_commit for t in refs.tags}
    assert set(tags) == {"v1", "latest"}
    assert tags["latest"] == next(b.target_commit for b in refs.branches if b.name == "main")
    for rev in ("v1", "latest"):
        assert set(api.list_repo_files(rid, revision=rev)) == set(api.list_repo_files(src, revision=rev)), rev
    assert "NOTES.md" not in api.list_repo_files(rid, revision="v1")

    again = hub.cli("import", str(entry), rid, "--tag", "v1")  # the same tags again: nothing to do
    assert "tag v1: unchanged" in again.stderr and "tag latest: unchanged" in again.stderr
    assert {t.name: t.target_commit for t in api.list_repo_refs(rid).tags} == tags
    unknown = hub.cli("import", str(entry), rid, "--tag", "v2", check=False)
    assert unknown.returncode != 0 and "v2" in unknown.stderr


def test_partial_snapshot_is_refused_unless_partial(hub, api, tmp_path):
    src = f"{OWNER}/cache-partial"
    api.create_repo(src)
    api.upload_folder(folder_path=str(model_folder(tmp_path / "v1")), repo_id=src)
    cache = tmp_path / "cache"
    # A real partial download: the revision's tree listing is cached, only two of its files are.
    snapshot_download(src, allow_patterns=["config.json", "README.md"], endpoint=hub.url, token=False,
                      cache_dir=str(cache))
    entry = cache / f"models--{OWNER}--cache-partial"
    rid = f"{OWNER}/from-partial"

    refused = hub.cli("import", str(entry), rid, check=False)

    assert refused.returncode != 0
    assert "lacks 3 of the revision's 5 files" in refused.stderr and "--partial" in refused.stderr
    assert "model.safetensors" in refused.stderr
    with pytest.raises(RepositoryNotFoundError):
        api.model_info(rid)

    out = hub.cli("import", str(entry), rid, "--partial")
    assert "partial, 3 of the revision's files not imported" in out.stderr
    assert set(api.list_repo_files(rid)) == {".gitattributes", "README.md", "config.json"}

    # Into a repository that has the whole revision: the files the snapshot lacks are not deleted.
    full = f"{OWNER}/full-then-partial"
    hub.cli("import", str(Path(snapshot_download(src, endpoint=hub.url, token=False,
                                                 cache_dir=str(tmp_path / "full")))), full)
    before = set(api.list_repo_files(full))
    (tmp_path / "v1" / "config.json").write_text('{"hidden_size": 32}\n')
    api.upload_file(path_or_fileobj=str(tmp_path / "v1" / "config.json"), path_in_repo="config.json", repo_id=src)
    snapshot_download(src, allow_patterns=["config.json"], endpoint=hub.url, token=False, cache_dir=str(cache))
    hub.cli("import", str(entry), full, "--partial", "--revision", "main")
    assert set(api.list_repo_files(full)) == before
    got = hf_hub_download(full, "config.json", endpoint=hub.url, token=False, cache_dir=str(tmp_path / "c"))
    assert Path(got).read_text() == '{"hidden_size": 32}\n'


def test_a_cache_without_a_tree_listing_is_imported_with_a_note(hub, api, tmp_path):
    src = f"{OWNER}/cache-unlisted"
    api.create_repo(src)
    api.upload_folder(folder_path=str(model_folder(tmp_path / "v1")), repo_id=src)
    cache = tmp_path / "cache"
    hf_hub_download(src, "config.json", endpoint=hub.url, token=False, cache_dir=str(cache))  # file by file
    entry = cache / f"models--{OWNER}--cache-unlisted"
    assert not (entry / "trees").exists()

    out = hub.cli("import", str(entry), f"{OWNER}/from-unlisted")

    assert "cannot be known offline" in out.stderr
    assert set(api.list_repo_files(f"{OWNER}/from-unlisted")) == {".gitattributes", "config.json"}
