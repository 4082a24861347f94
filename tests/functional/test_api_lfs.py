"""The git-LFS upload path, on a server whose preupload sends files over 1 MB to LFS and whose
commit bodies are capped at 5,000,000 bytes."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import socket
import subprocess
import sys
from urllib.parse import urlsplit

import httpx2
import pytest
from huggingface_hub import hf_hub_download

from models_registry.storage import staging
from tests.support.live import start_hub
from tests.support.waiting import poll

LFS_JSON = "application/vnd.git-lfs+json"
USER = "lfs-user"


@pytest.fixture(scope="module")
def lfs_hub(tmp_path_factory):
    h = start_hub(tmp_path_factory.mktemp("lfs-hub"), workers=2,
                  env={"MODELHUB_REGULAR_UPLOAD_MAX": "1048576", "MODELHUB_MAX_COMMIT_BYTES": "5000000"})
    yield h
    h.stop()


@pytest.fixture(scope="module")
def token(lfs_hub) -> str:
    return lfs_hub.users(USER)[0]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def new_repo(lfs_hub, token, name: str) -> str:
    rid = f"{USER}/{name}"
    lfs_hub.api(token).create_repo(rid)
    return rid


def commit_ids(lfs_hub, token, rid: str) -> list[str]:
    return [c.commit_id for c in lfs_hub.api(token).list_repo_commits(rid)]


def ndjson(*lines: tuple[str, dict]) -> bytes:
    return b"".join(json.dumps({"key": k, "value": v}).encode() + b"\n" for k, v in lines)


def lfs_commit_body(path: str, oid: str, size: int) -> bytes:
    return ndjson(("header", {"summary": f"add {path}", "description": ""}),
                  ("lfsFile", {"path": path, "algo": "sha256", "oid": oid, "size": size}))


def batch(lfs_hub, token, rid: str, objects: list[tuple[str, int]], operation: str = "upload") -> list[dict]:
    body = {"operation": operation, "transfers": ["basic"], "hash_algo": "sha256", "ref": {"name": "main"},
            "objects": [{"oid": o, "size": s} for o, s in objects]}
    r = lfs_hub.request("POST", f"/{rid}.git/info/lfs/objects/batch", token, content=json.dumps(body),
                        headers={"Accept": LFS_JSON, "Content-Type": LFS_JSON})
    assert r.status_code == 200, r.text
    out = r.json()["objects"]
    assert [o["oid"] for o in out] == [o for o, _ in objects]
    return out


def verify(lfs_hub, token, href: str, oid: str, size: int) -> httpx2.Response:
    assert href.startswith(lfs_hub.url + "/")
    return lfs_hub.request("POST", href[len(lfs_hub.url):], token, content=json.dumps({"oid": oid, "size": size}),
                           headers={"Accept": LFS_JSON, "Content-Type": LFS_JSON})


def put(href: str, data: bytes) -> httpx2.Response:
    # like the HF client: no Authorization, the href authorizes itself
    return httpx2.put(href, content=data, follow_redirects=True, timeout=60)


# ---- (a) the stock client (hf_xet active) uploads LFS-mode files through Xet ----------------------

def test_stock_client_uploads_lfs_mode_files_through_xet(lfs_hub, token, tmp_path):
    rid = new_repo(lfs_hub, token, "stock")
    data = os.urandom(2 * 1024 * 1024)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    log_start = len(lfs_hub.log())
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_DISABLE_XET"}
    env["HF_HOME"] = str(tmp_path / "hf-home")  # hf_xet's chunk cache stays in the test's folder
    done = subprocess.run([sys.executable, "-c", UPLOAD_SCRIPT, lfs_hub.url, token, rid, str(src)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    log = lfs_hub.log()[log_start:]
    assert "POST /xet-cas/v1/shards" in log and "info/lfs/objects/batch" not in log
    sib = {s.rfilename: s for s in lfs_hub.api(token).model_info(rid, files_metadata=True).siblings}
    assert sib["weights/big.bin"].lfs is not None and sib["weights/big.bin"].lfs.sha256 == sha256(data)
    # the git-LFS batch API serves the Xet-uploaded object too
    obj = batch(lfs_hub, token, rid, [(sha256(data), len(data))], operation="download")[0]
    r = httpx2.get(obj["actions"]["download"]["href"], follow_redirects=True, timeout=60,
                   headers=obj["actions"]["download"].get("header", {}))
    assert r.status_code == 200 and r.content == data
    # small files still go inline
    lfs_hub.api(token).upload_file(path_or_fileobj=b"small\n", path_in_repo="small.txt", repo_id=rid)
    assert sorted(lfs_hub.api(token).list_repo_files(rid)) == [".gitattributes", "small.txt", "weights/big.bin"]


# ---- (b) with HF_HUB_DISABLE_XET=1 the client uses the git-LFS batch API -----------------------

UPLOAD_SCRIPT = """
import sys
from huggingface_hub import HfApi
endpoint, token, repo_id, path = sys.argv[1:5]
info = HfApi(endpoint=endpoint, token=token).upload_file(path_or_fileobj=path, path_in_repo="weights/big.bin",
                                                         repo_id=repo_id)
print(info.oid)
"""


def test_upload_over_lfs_with_xet_disabled(lfs_hub, token, tmp_path, hf_cache):
    rid = new_repo(lfs_hub, token, "lfs-mode")
    data = os.urandom(3 * 1024 * 1024)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    env = dict(os.environ, HF_HUB_DISABLE_XET="1", HF_HOME=str(tmp_path / "hf-home"))
    done = subprocess.run([sys.executable, "-c", UPLOAD_SCRIPT, lfs_hub.url, token, rid, str(src)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    oid = done.stdout.strip().splitlines()[-1]

    api = lfs_hub.api(token)
    info = api.model_info(rid, files_metadata=True)
    assert info.sha == oid
    sib = {s.rfilename: s for s in info.siblings}["weights/big.bin"]
    assert sib.lfs is not None and sib.lfs.sha256 == sha256(data) and sib.lfs.size == len(data)
    # the object went through the LFS store: the batch API now offers it for download
    obj = batch(lfs_hub, token, rid, [(sha256(data), len(data))], operation="download")[0]
    assert "error" not in obj and obj["size"] == len(data) and "download" in obj["actions"]
    path = hf_hub_download(rid, "weights/big.bin", endpoint=lfs_hub.url, token=token, cache_dir=hf_cache)
    with open(path, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == sha256(data)


# ---- (c) the raw LFS protocol: bytes are checked, hrefs cannot be forged ------------------------

def test_lfs_put_with_wrong_bytes_is_refused_and_not_stored(lfs_hub, token, hf_cache):
    rid = new_repo(lfs_hub, token, "raw-lfs")
    data = os.urandom(4096)
    oid = sha256(data)
    before = commit_ids(lfs_hub, token, rid)

    obj = batch(lfs_hub, token, rid, [(oid, len(data))])[0]
    href = obj["actions"]["upload"]["href"]
    verify_href = obj["actions"]["verify"]["href"]
    assert href.startswith(lfs_hub.url + "/")

    r = put(href, os.urandom(len(data)))  # right size, wrong bytes
    assert r.status_code == 400, r.text
    r = put(href, data[:-1])  # wrong size
    assert r.status_code == 400, r.text
    # not stored: the batch API still asks for it, verify says no, and a commit cannot use it
    assert "upload" in batch(lfs_hub, token, rid, [(oid, len(data))])[0]["actions"]
    r = verify(lfs_hub, token, verify_href, oid, len(data))
    assert r.status_code == 404
    r = lfs_hub.commit_ndjson(token, rid, lfs_commit_body("w.bin", oid, len(data)))
    assert r.status_code == 400, r.text
    assert r.json()["error"]
    assert commit_ids(lfs_hub, token, rid) == before

    # the right bytes are accepted, and then everything works (so the refusals above mean something)
    r = put(href, data)
    assert r.status_code == 200, r.text
    r = verify(lfs_hub, token, verify_href, oid, len(data))
    assert r.status_code == 200
    assert "actions" not in batch(lfs_hub, token, rid, [(oid, len(data))])[0]
    r = lfs_hub.commit_ndjson(token, rid, lfs_commit_body("w.bin", oid, len(data)))
    assert r.status_code == 200, r.text
    path = hf_hub_download(rid, "w.bin", endpoint=lfs_hub.url, token=token, cache_dir=hf_cache)
    with open(path, "rb") as f:
        assert f.read() == data


def test_lfs_put_with_forged_href_is_403(lfs_hub, token):
    rid = new_repo(lfs_hub, token, "forged")
    a, b = os.urandom(3000), os.urandom(3001)
    obj_a, obj_b = batch(lfs_hub, token, rid, [(sha256(a), len(a)), (sha256(b), len(b))])
    href_a, href_b = obj_a["actions"]["upload"]["href"], obj_b["actions"]["upload"]["href"]
    base_a, _, token_a = href_a.partition("?token=")
    base_b, _, _ = href_b.partition("?token=")
    assert token_a

    tampered = ("B" if token_a[0] != "B" else "C") + token_a[1:]  # the signed payload changes
    for url, data in ((f"{base_a}?token={tampered}", a),
                      (base_a, a),  # no token at all
                      (f"{base_b}?token={token_a}", b)):  # a token for another object
        r = put(url, data)
        assert r.status_code == 403, (url, r.status_code, r.text)
    # nothing got stored: both objects are still wanted, and commits cannot reference them
    for obj in batch(lfs_hub, token, rid, [(sha256(a), len(a)), (sha256(b), len(b))]):
        assert "upload" in obj["actions"]
    r = lfs_hub.commit_ndjson(token, rid, lfs_commit_body("b.bin", sha256(b), len(b)))
    assert r.status_code == 400
    # the genuine href works
    r = put(href_a, a)
    assert r.status_code == 200


# ---- (c2) large objects: received straight into the staging buffers (past gunicorn's body reader) --

LARGE = staging.DIRECT_MIN + 3 * 1024 * 1024 + 123  # takes the O_DIRECT path; not a multiple of anything


def raw_put(conn: http.client.HTTPConnection, href: str, data: bytes) -> tuple[int, bytes]:
    conn.request("PUT", urlsplit(href).path + "?" + urlsplit(href).query, body=data,
                 headers={"Content-Type": "application/octet-stream"})
    r = conn.getresponse()
    return r.status, r.read()


def test_large_put_is_checked_stored_and_the_connection_stays_usable(lfs_hub, token, hf_cache):
    rid = new_repo(lfs_hub, token, "large")
    data = os.urandom(LARGE)
    oid = sha256(data)
    obj = batch(lfs_hub, token, rid, [(oid, len(data))])[0]
    href = obj["actions"]["upload"]["href"]
    conn = http.client.HTTPConnection(urlsplit(lfs_hub.url).hostname, urlsplit(lfs_hub.url).port, timeout=60)
    try:
        status, body = raw_put(conn, href, os.urandom(LARGE))  # right size, wrong bytes
        assert status == 400 and b"sha256 mismatch" in body
        sock = conn.sock
        status, body = raw_put(conn, href, data)
        assert status == 200, body
        # gunicorn knows where the body ended: the same connection serves the next request
        conn.request("GET", "/api/health")
        r = conn.getresponse()
        assert r.status == 200 and json.loads(r.read())
        assert conn.sock is sock and sock is not None
    finally:
        conn.close()
    r = verify(lfs_hub, token, obj["actions"]["verify"]["href"], oid, len(data))
    assert r.status_code == 200
    r = lfs_hub.commit_ndjson(token, rid, lfs_commit_body("large.bin", oid, len(data)))
    assert r.status_code == 200, r.text
    path = hf_hub_download(rid, "large.bin", endpoint=lfs_hub.url, token=token, cache_dir=hf_cache)
    assert os.path.getsize(path) == len(data)
    with open(path, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == oid


def test_a_client_gone_midway_through_a_large_put_leaves_nothing(lfs_hub, token):
    rid = new_repo(lfs_hub, token, "large-gone")
    data = os.urandom(LARGE)
    oid = sha256(data)
    href = urlsplit(batch(lfs_hub, token, rid, [(oid, len(data))])[0]["actions"]["upload"]["href"])
    with socket.create_connection((href.hostname, href.port), timeout=30) as s:
        s.sendall(f"PUT {href.path}?{href.query} HTTP/1.1\r\nHost: {href.netloc}\r\n"
                  f"Content-Length: {len(data)}\r\n\r\n".encode() + data[:len(data) // 3])
    staging_dir = lfs_hub.data_dir / "tmp"
    poll(lambda: sorted(p.name for p in staging_dir.iterdir() if p.name.startswith("stage-")), lambda left: not left)
    assert "upload" in batch(lfs_hub, token, rid, [(oid, len(data))])[0]["actions"]  # not stored
    r = lfs_hub.request("GET", "/api/health", token)
    assert r.status_code == 200


# ---- (d) the commit body cap --------------------------------------------------------------------

def test_oversized_commit_body_is_413_and_nothing_written(lfs_hub, token):
    rid = new_repo(lfs_hub, token, "oversized")
    api = lfs_hub.api(token)
    before = commit_ids(lfs_hub, token, rid)
    big = os.urandom(4_000_000)
    body = ndjson(("header", {"summary": "too big", "description": ""}),
                  ("file", {"path": "big.txt", "content": base64.b64encode(big).decode(), "encoding": "base64"}))
    assert len(body) > 5_000_000
    r = lfs_hub.commit_ndjson(token, rid, body)
    assert r.status_code == 413, (r.status_code, r.text[:500])
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json()["error"]
    assert commit_ids(lfs_hub, token, rid) == before
    assert api.list_repo_files(rid) == [".gitattributes"]
    # under the cap, the same endpoint takes a commit
    small = ndjson(("header", {"summary": "small", "description": ""}),
                   ("file", {"path": "small.txt", "content": base64.b64encode(b"ok\n").decode(),
                             "encoding": "base64"}))
    r = lfs_hub.commit_ndjson(token, rid, small)
    assert r.status_code == 200, r.text
    assert sorted(api.list_repo_files(rid)) == [".gitattributes", "small.txt"]
