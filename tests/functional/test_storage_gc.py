"""`modelhub storage gc` (models_registry/storage_gc.py): objects and xorbs that no branch, tag or pull
request reaches are freed after the grace window; everything a ref reaches, history included, stays
downloadable. Uploads by the stock client, over git-LFS and over Xet; on local storage, and on
SeaweedFS when the suite runs with MODELHUB_TEST_S3=1."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys

import httpx2
import pytest

from tests.support.live import start_hub

USER = "gc-user"
LFS_JSON = "application/vnd.git-lfs+json"
UPLOAD = """
import sys
from huggingface_hub import HfApi
endpoint, token, repo_id, src, name, pr = sys.argv[1:7]
info = HfApi(endpoint=endpoint, token=token).upload_file(path_or_fileobj=src, path_in_repo=name, repo_id=repo_id,
                                                         create_pr=pr == "1")
print(info.oid)
"""


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    h = start_hub(tmp_path_factory.mktemp("gc-hub"), workers=1,
                  env={"MODELHUB_REGULAR_UPLOAD_MAX": "65536", "MODELHUB_BACKGROUND_JOBS": "0"})
    yield h
    h.stop()


@pytest.fixture(scope="module")
def token(hub) -> str:
    return hub.users(USER)[0]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def upload(hub, token, tmp_path, rid: str, name: str, data: bytes, xet: bool, pr: bool = False) -> None:
    src = tmp_path / f"{sha256(data)}.bin"
    src.write_bytes(data)
    env = dict(os.environ, HF_HOME=str(tmp_path / ("home-xet" if xet else "home-lfs")))
    if not xet:
        env["HF_HUB_DISABLE_XET"] = "1"
    done = subprocess.run([sys.executable, "-c", UPLOAD, hub.url, token, rid, str(src), name, "1" if pr else "0"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]


def lfs_batch(hub, token, rid: str, data: bytes) -> dict:
    body = {"operation": "upload", "transfers": ["basic"], "hash_algo": "sha256",
            "objects": [{"oid": sha256(data), "size": len(data)}]}
    r = hub.request("POST", f"/{rid}.git/info/lfs/objects/batch", token, content=json.dumps(body),
                    headers={"Accept": LFS_JSON, "Content-Type": LFS_JSON})
    assert r.status_code == 200, r.text
    return r.json()["objects"][0]


def upload_never_committed(hub, token, rid: str, data: bytes) -> None:
    action = lfs_batch(hub, token, rid, data)["actions"]["upload"]
    r = httpx2.put(action["href"], content=data, headers=action.get("header") or {}, timeout=60)
    assert r.status_code in (200, 201), r.text


def fetch(hub, token, rid: str, name: str, revision: str = "main") -> bytes:
    r = hub.request("GET", f"/{rid}/resolve/{revision.replace('/', '%2F')}/{name}", token)
    assert r.status_code == 200, (rid, name, revision, r.status_code)
    return r.content


def gc(hub, *args: str) -> tuple[set[str], int]:
    """The oids `storage gc` freed (or would), and the number of xorbs."""
    out = hub.cli("storage", "gc", *args)
    summary = re.search(r"(?:would free|freed) (\d+) objects and (\d+) xorbs", out.stderr)
    assert summary, out.stderr
    oids = {line.split("\t")[0] for line in out.stdout.splitlines() if line.strip()}
    assert len(oids) == int(summary[1])
    return oids, int(summary[2])


def test_gc_frees_only_what_no_ref_reaches(hub, token, tmp_path):
    api = hub.api(token)
    keep, gone = f"{USER}/keep", f"{USER}/gone"
    api.create_repo(keep)
    api.create_repo(gone)
    blob = {k: os.urandom(200_000) for k in ("v1", "v2", "pr", "lfs-gone", "xet-gone", "pending")}
    upload(hub, token, tmp_path, keep, "w.bin", blob["v1"], xet=False)
    first = api.model_info(keep).sha
    upload(hub, token, tmp_path, keep, "w.bin", blob["v2"], xet=True)  # v1 stays in history only
    upload(hub, token, tmp_path, keep, "pr.bin", blob["pr"], xet=False, pr=True)  # only on refs/pr/1
    upload(hub, token, tmp_path, gone, "a.bin", blob["lfs-gone"], xet=False)
    upload(hub, token, tmp_path, gone, "b.bin", blob["xet-gone"], xet=True)
    upload_never_committed(hub, token, keep, blob["pending"])
    api.delete_repo(gone)
    garbage = {sha256(blob[k]) for k in ("lfs-gone", "xet-gone", "pending")}

    # Within the grace window (a day by default) everything is kept: it may be a commit in the making.
    assert gc(hub) == (set(), 0)
    # A dry run names exactly the garbage and deletes nothing.
    assert gc(hub, "--grace", "0", "--dry-run") == (garbage, 0)
    assert "upload" not in lfs_batch(hub, token, keep, blob["pending"]).get("actions", {})

    # The objects go; the xorbs wait for the Xet clients' caches (22 days by default).
    assert gc(hub, "--grace", "0") == (garbage, 0)
    # What refs reach is intact: the branch, its history, the pull request.
    assert fetch(hub, token, keep, "w.bin") == blob["v2"]
    assert fetch(hub, token, keep, "w.bin", first) == blob["v1"]
    assert fetch(hub, token, keep, "pr.bin", "refs/pr/1") == blob["pr"]
    # What was freed is gone from the store: the LFS API asks for the bytes again.
    assert "upload" in lfs_batch(hub, token, keep, blob["pending"])["actions"]
    assert gc(hub, "--grace", "0") == (set(), 0)  # nothing left to free
    # The client that uploaded the freed file still remembers its xorb, and names it without
    # sending it again: the kept xorb makes that upload work.
    upload(hub, token, tmp_path, keep, "again.bin", blob["xet-gone"], xet=True)
    assert fetch(hub, token, keep, "again.bin") == blob["xet-gone"]
    assert "Traceback" not in hub.log()


def test_xorbs_go_after_their_own_grace(hub, token, tmp_path):
    api = hub.api(token)
    rid = f"{USER}/xorbs-gone"
    api.create_repo(rid)
    data = os.urandom(300_000)
    upload(hub, token, tmp_path, rid, "x.bin", data, xet=True)
    api.delete_repo(rid)
    assert gc(hub, "--grace", "0") == ({sha256(data)}, 0)
    oids, xorbs = gc(hub, "--grace", "0", "--xorb-grace", "0", "--dry-run")
    assert oids == set() and xorbs >= 1
    assert gc(hub, "--grace", "0", "--xorb-grace", "0") == (set(), xorbs)
    assert gc(hub, "--grace", "0", "--xorb-grace", "0") == (set(), 0)
    # A client without that memory (a fresh cache) uploads the same bytes again, as new.
    api.create_repo(rid)
    (tmp_path / "fresh").mkdir()
    upload(hub, token, tmp_path / "fresh", rid, "x.bin", data, xet=True)
    assert fetch(hub, token, rid, "x.bin") == data


def test_a_bad_window_is_a_clear_error(hub):
    out = hub.cli("storage", "gc", "--grace", "soon", check=False)
    assert out.returncode != 0 and "Invalid duration 'soon'" in out.stderr, out.stderr
