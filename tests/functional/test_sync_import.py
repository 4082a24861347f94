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
