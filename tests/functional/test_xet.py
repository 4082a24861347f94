"""Uploads through the Xet protocol with the stock client (hf_xet active, HF_HUB_DISABLE_XET unset).

The server sends files over 1 MiB to LFS mode (like the Hub, which sends large files there), so the
client uploads them through Xet: token endpoint, global dedup queries, xorbs, a shard, then the
commit naming the sha256 (an upload only succeeds if our xorb and file hashes agree with the
client's). Every way of reading must give back the same bytes: resolve with Range,
hf_hub_download and snapshot_download with Xet on (through the CAS reconstruction API) and off
(plain HTTP, the file rebuilt from xorbs on the server), git-lfs.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import numpy as np
import pytest
from itsdangerous import URLSafeSerializer
from safetensors.numpy import save_file

from tests.support import rawhttp
from tests.support.gitutil import make_git, remote_url
from tests.support.live import local_storage, start_hub
from tests.support.xet_build import Xorb, shard

USER, OTHER, READER = "xet-user", "xet-other", "xet-reader"
MiB = 1024 * 1024

UPLOAD = """
import json, sys
from huggingface_hub import HfApi, CommitOperationAdd
from huggingface_hub.utils import _runtime
assert _runtime.is_xet_available(), "hf_xet must be active"
endpoint, token, repo_id, spec = sys.argv[1:5]
api = HfApi(endpoint=endpoint, token=token)
spec = json.loads(spec)
if spec["kind"] == "file":
    info = api.upload_file(path_or_fileobj=spec["path"], path_in_repo=spec["name"], repo_id=repo_id,
                           create_pr=spec.get("create_pr", False))
else:
    info = api.upload_folder(folder_path=spec["path"], repo_id=repo_id)
print(json.dumps({"oid": getattr(info, "oid", None), "pr": getattr(info, "pr_revision", None)}))
"""

DOWNLOAD = """
import os, sys
from huggingface_hub import hf_hub_download, snapshot_download
from huggingface_hub.utils import _runtime
assert _runtime.is_xet_available() == ("HF_HUB_DISABLE_XET" not in os.environ)
endpoint, token, repo_id, name, cache = sys.argv[1:6]
if name == "*":
    print(snapshot_download(repo_id, endpoint=endpoint, token=token, cache_dir=cache))
else:
    print(hf_hub_download(repo_id, name, endpoint=endpoint, token=token, cache_dir=cache))
"""


@pytest.fixture(scope="module")
def xhub(tmp_path_factory):
    # The tests below weigh the store on disk (dedup, no LFS copy): pinned to the local store, also when
    # the suite runs against SeaweedFS (test_s3_storage covers Xet there).
    data = tmp_path_factory.mktemp("xet-hub")
    h = start_hub(data, workers=2, env={"MODELHUB_REGULAR_UPLOAD_MAX": str(MiB), **local_storage(data)})
    yield h
    h.stop()


@pytest.fixture(scope="module")
def tokens(xhub) -> dict[str, str]:
    user, other, reader = xhub.users(USER, OTHER, (USER, "read"))
    return {"user": user, "other": other, "read": reader}


@pytest.fixture(scope="module")
def git(tmp_path_factory):
    return make_git(tmp_path_factory)


def sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(MiB):
            h.update(block)
    return h.hexdigest()


def client_env(home: Path, xet: bool = True) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(HF_HOME=str(home), HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_PROGRESS_BARS="1")
    if not xet:
        env["HF_HUB_DISABLE_XET"] = "1"
    return env


def upload(xhub, token, repo_id, home: Path, **spec) -> dict:
    done = subprocess.run([sys.executable, "-c", UPLOAD, xhub.url, token, repo_id, json.dumps(spec)],
                          env=client_env(home), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def download(xhub, token, repo_id, name, cache: Path, xet: bool) -> Path:
    """hf_hub_download / snapshot_download ('*') in a client process with Xet on or off."""
    done = subprocess.run([sys.executable, "-c", DOWNLOAD, xhub.url, token, repo_id, name, str(cache)],
                          env=client_env(cache.parent / f"home-{cache.name}", xet=xet), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return Path(done.stdout.strip().splitlines()[-1])


def xorb_bytes(xhub) -> int:
    root = xhub.data_dir / "xet" / "xorbs"
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and p.suffix != ".idx")


def lfs_store_bytes(xhub) -> int:
    root = xhub.data_dir / "lfs"
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) if root.exists() else 0


def new_repo(xhub, tokens, name: str, owner: str = "user") -> str:
    rid = f"{USER if owner == 'user' else OTHER}/{name}"
    xhub.api(tokens[owner]).create_repo(rid)
    return rid


def cas_log(xhub, since: int) -> str:
    return xhub.log()[since:]


def write_token(xhub, token, rid) -> dict:
    r = xhub.get(f"/api/models/{rid}/xet-write-token/main", token)
    assert r.status_code == 200, r.text
    return r.json()


# ---- the stock client, end to end ------------------------------------------------------------------

def test_upload_file_50mb_and_download_with_xet_on_and_off(xhub, tokens, tmp_path):
    rid = new_repo(xhub, tokens, "fifty")
    data = os.urandom(50 * 1000 * 1000)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    log_start, lfs_before, xorbs_before = len(xhub.log()), lfs_store_bytes(xhub), xorb_bytes(xhub)
    upload(xhub, tokens["user"], rid, tmp_path / "home", kind="file", path=str(src), name="big.bin")
    log = cas_log(xhub, log_start)
    # the bytes went through Xet: xorbs and a shard were posted, nothing reached the LFS blob store
    assert "POST /xet-cas/v1/xorbs/default/" in log and "POST /xet-cas/v1/shards" in log
    assert "info/lfs/objects" not in log
    assert xorb_bytes(xhub) - xorbs_before >= len(data) and lfs_store_bytes(xhub) == lfs_before

    digest = hashlib.sha256(data).hexdigest()
    sib = {s.rfilename: s for s in xhub.api(tokens["user"]).model_info(rid, files_metadata=True).siblings}
    lfs = sib["big.bin"].lfs
    assert lfs is not None and (lfs.sha256, lfs.size) == (digest, len(data))
    # resolve advertises Xet for this file; the stock client with Xet on downloads through the CAS
    # (reconstruction API + presigned xorb ranges), with Xet off over plain HTTP
    head = httpx2.head(f"{xhub.url}/{rid}/resolve/main/big.bin", timeout=30,
                       headers={"Authorization": f"Bearer {tokens['user']}"})
    assert len(head.headers["X-Xet-Hash"]) == 64
    assert f"/api/models/{rid}/xet-read-token/" in head.headers["Link"] and 'rel="xet-auth"' in head.headers["Link"]
    api = xhub.api(tokens["user"])
    tree = {e.path: e for e in api.list_repo_tree(rid)}
    assert tree["big.bin"].xet_hash == head.headers["X-Xet-Hash"]
    assert tree[".gitattributes"].xet_hash is None
    assert [e.xet_hash for e in api.get_paths_info(rid, ["big.bin"])] == [head.headers["X-Xet-Hash"]]
    for xet in (True, False):
        log_start = len(xhub.log())
        path = download(xhub, tokens["user"], rid, "big.bin", tmp_path / f"cache-{xet}", xet=xet)
        assert sha256_file(path) == digest
        log = cas_log(xhub, log_start)
        assert ("GET /xet-cas/v1/reconstructions/" in log) == xet
        assert (f"GET /{rid}/resolve/main/big.bin" in log) == (not xet)
    # plain resolve, with and without Range
    r = xhub.get(f"/{rid}/resolve/main/big.bin", tokens["user"], headers={"Range": "bytes=12345678-13345677"})
    assert r.status_code == 206 and r.content == data[12345678:13345678]
    assert r.headers["Content-Range"] == f"bytes 12345678-13345677/{len(data)}"
    r = xhub.get(f"/{rid}/resolve/main/big.bin", tokens["user"], headers={"Range": f"bytes={len(data) - 10}-"})
    assert r.status_code == 206 and r.content == data[-10:]
    h = hashlib.sha256()
    with httpx2.stream("GET", f"{xhub.url}/{rid}/resolve/main/big.bin", follow_redirects=True, timeout=60,
                       headers={"Authorization": f"Bearer {tokens['user']}"}) as r:
        for block in r.iter_bytes(MiB):
            h.update(block)
    assert (r.status_code, r.headers["Content-Length"], h.hexdigest()) == (200, str(len(data)), digest)


def test_a_hub_with_default_settings_takes_files_over_10_mib_through_xet(tmp_path_factory, tmp_path):
    """No setting changed: preupload sends files over 10 MiB to LFS mode, as the Hub does, so the
    stock client uploads them through Xet; smaller ones go inline in the commit."""
    data = tmp_path_factory.mktemp("xet-default-hub")
    hub = start_hub(data, workers=1, env=local_storage(data))  # the default store, whose bytes are counted
    try:
        (token,) = hub.users("default-user")
        rid = "default-user/defaults"
        hub.api(token).create_repo(rid)
        folder = tmp_path / "model"
        folder.mkdir()
        big, small = os.urandom(11 * MiB), os.urandom(9 * MiB)
        (folder / "big.bin").write_bytes(big)
        (folder / "small.dat").write_bytes(small)
        log_start = len(hub.log())
        upload(hub, token, rid, tmp_path / "home", kind="folder", path=str(folder))
        log = cas_log(hub, log_start)
        assert "POST /xet-cas/v1/shards" in log and "info/lfs/objects" not in log
        assert len(big) <= xorb_bytes(hub) < len(big) + len(small)  # only the big file went through Xet
        sib = {s.rfilename: s for s in hub.api(token).model_info(rid, files_metadata=True).siblings}
        # both are LFS files in git (over the 10 MiB threshold, or binary), whichever way they came
        assert sib["big.bin"].lfs.sha256 == hashlib.sha256(big).hexdigest()
        assert sib["small.dat"].lfs.sha256 == hashlib.sha256(small).hexdigest()
        got = download(hub, token, rid, "big.bin", tmp_path / "cache", xet=False)
        assert sha256_file(got) == hashlib.sha256(big).hexdigest()
    finally:
        hub.stop()


def test_upload_safetensors_through_xet(xhub, tokens, tmp_path):
    rid = new_repo(xhub, tokens, "st")
    path = tmp_path / "model.safetensors"
    save_file({"w": np.arange(600_000, dtype=np.float32).reshape(1000, 600), "b": np.ones(16, dtype=np.float16)},
              str(path))
    assert path.stat().st_size > MiB
    log_start = len(xhub.log())
    upload(xhub, tokens["user"], rid, tmp_path / "home", kind="file", path=str(path), name="model.safetensors")
    assert "POST /xet-cas/v1/shards" in cas_log(xhub, log_start)
    info = xhub.api(tokens["user"]).model_info(rid)
    # the header was read back from the xorbs at commit time
    assert info.safetensors is not None and info.safetensors.parameters == {"F32": 600_000, "F16": 16}
    for xet in (True, False):
        got = download(xhub, tokens["user"], rid, "model.safetensors", tmp_path / f"c-{xet}", xet=xet)
        assert sha256_file(got) == sha256_file(path)


def test_upload_folder_then_snapshot_download_and_git_lfs_clone(xhub, tokens, tmp_path, git):
    rid = new_repo(xhub, tokens, "folder")
    folder = tmp_path / "folder"
    (folder / "shards").mkdir(parents=True)
    a = os.urandom(12 * MiB)
    files = {"shards/a.bin": a, "shards/b.bin": os.urandom(9 * MiB), "shards/a-copy.bin": a,
             "c.bin": os.urandom(3 * MiB) + b"\0" * (2 * MiB), "README.md": b"# folder\n"}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    log_start = len(xhub.log())
    upload(xhub, tokens["user"], rid, tmp_path / "home", kind="folder", path=str(folder))
    assert cas_log(xhub, log_start).count("POST /xet-cas/v1/shards") >= 1
    want = {name: hashlib.sha256(d).hexdigest() for name, d in files.items()}
    for xet in (True, False):
        snap = download(xhub, tokens["user"], rid, "*", tmp_path / f"snap-{xet}", xet=xet)
        got = {str(p.relative_to(snap)): sha256_file(p) for p in snap.rglob("*") if p.is_file()}
        got.pop(".gitattributes", None)
        assert got == want

    dest = tmp_path / "clone"
    git.clone(remote_url(xhub, rid, tokens["user"]), dest)
    for name, digest in want.items():
        assert sha256_file(dest / name) == digest
    assert git.out("lfs", "ls-files", "--name-only", cwd=dest).splitlines() == [
        "c.bin", "shards/a-copy.bin", "shards/a.bin", "shards/b.bin"]


def test_modified_reupload_stores_under_ten_percent(xhub, tokens, tmp_path):
    """A 100 MB file changed in 1 MB in the middle, uploaded to another repository by a client with
    an empty cache: global dedup finds the rest, so the server stores (and receives) < 10% of it."""
    data = bytearray(os.urandom(100 * 1000 * 1000))
    src = tmp_path / "w.bin"
    src.write_bytes(data)
    first = new_repo(xhub, tokens, "dedup-v1")
    upload(xhub, tokens["user"], first, tmp_path / "home1", kind="file", path=str(src), name="w.bin")

    data[50_000_000:51_000_000] = os.urandom(1_000_000)
    src.write_bytes(data)
    before = xorb_bytes(xhub)
    second = new_repo(xhub, tokens, "dedup-v2", owner="other")
    log_start = len(xhub.log())
    upload(xhub, tokens["other"], second, tmp_path / "home2", kind="file", path=str(src), name="w.bin")
    assert "GET /xet-cas/v1/chunks/" in cas_log(xhub, log_start)  # it asked the global dedup API
    added = xorb_bytes(xhub) - before
    assert 1_000_000 <= added < len(data) // 10, added
    path = download(xhub, tokens["other"], second, "w.bin", tmp_path / "c2", xet=True)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()


def test_upload_to_a_pull_request_by_another_user(xhub, tokens, tmp_path):
    """create_pr: the client asks for a write token with ?create_pr=1 (revision "None"); a user who
    may not write the repository may still open a pull request with a large file."""
    rid = new_repo(xhub, tokens, "pr")
    data = os.urandom(3 * MiB)
    src = tmp_path / "w.bin"
    src.write_bytes(data)
    log_start = len(xhub.log())
    out = upload(xhub, tokens["other"], rid, tmp_path / "home", kind="file", path=str(src), name="w.bin",
                 create_pr=True)
    assert out["pr"] == "refs/pr/1"
    assert "xet-write-token/None?create_pr=1" in cas_log(xhub, log_start)
    files = xhub.api(tokens["user"]).list_repo_files(rid, revision="refs/pr/1")
    assert "w.bin" in files and "w.bin" not in xhub.api(tokens["user"]).list_repo_files(rid)
    r = xhub.get(f"/{rid}/resolve/refs%2Fpr%2F1/w.bin", tokens["user"])
    assert r.status_code == 200 and r.content == data


# ---- tokens ----------------------------------------------------------------------------------------

def test_token_endpoints(xhub, tokens):
    rid = new_repo(xhub, tokens, "tok")
    before = int(time.time())
    r = xhub.get(f"/api/models/{rid}/xet-write-token/main", tokens["user"])
    assert r.status_code == 200
    body = r.json()
    assert body["casUrl"] == f"{xhub.url}/xet-cas" and body["accessToken"]
    assert before + 60 < body["exp"] <= int(time.time()) + 3600
    assert (r.headers["X-Xet-Cas-Url"], r.headers["X-Xet-Access-Token"], r.headers["X-Xet-Token-Expiration"]) == (
        body["casUrl"], body["accessToken"], str(body["exp"]))
    # write needs write access: a read-only token, another user, anonymous
    assert xhub.get(f"/api/models/{rid}/xet-write-token/main", tokens["read"]).status_code == 403
    assert xhub.get(f"/api/models/{rid}/xet-write-token/main", tokens["other"]).status_code == 403
    assert xhub.get(f"/api/models/{rid}/xet-write-token/main").status_code == 401
    # read of a public repository: anyone; of a private one: invisible to outsiders
    assert xhub.get(f"/api/models/{rid}/xet-read-token/main").status_code == 200
    priv = f"{USER}/tok-private"
    xhub.api(tokens["user"]).create_repo(priv, private=True)
    assert xhub.get(f"/api/models/{priv}/xet-read-token/main", tokens["other"]).status_code == 404
    assert xhub.get(f"/api/models/{priv}/xet-write-token/main", tokens["other"]).status_code == 404
    assert xhub.get(f"/api/models/{priv}/xet-read-token/main", tokens["user"]).status_code == 200


# ---- bad input ---------------------------------------------------------------------------------------

def cas(xhub, method: str, path: str, token: str, data: bytes = b"") -> httpx2.Response:
    return httpx2.request(method, f"{xhub.url}/xet-cas{path}", content=data, follow_redirects=True, timeout=60,
                          headers={"Authorization": f"Bearer {token}"})


def cas_empty_bearer(xhub, method: str, path: str, data: bytes = b"") -> rawhttp.RawResponse:
    """A CAS request with `Authorization: Bearer ` (no token after the space), over a raw socket:
    httpx2 refuses to send a header value that ends in a space."""
    return rawhttp.send(xhub.host_port, rawhttp.build(method, f"/xet-cas{path}", [("Authorization", "Bearer ")], data))


def assert_error(r, status: int, *words: str):
    assert r.status_code == status, (r.status_code, r.text)
    msg = r.json()["error"]
    assert r.headers["X-Error-Message"]
    for w in words:
        assert w in msg, msg


def test_corrupted_or_malformed_xorbs_are_refused(xhub, tokens):
    rid = new_repo(xhub, tokens, "bad-xorb")
    token = write_token(xhub, tokens["user"], rid)["accessToken"]
    x = Xorb.of(os.urandom(300_000), kinds=[1, 0, 1, 0, 1])
    stored = xorb_bytes(xhub)
    corrupted = bytearray(x.body)
    corrupted[x.offsets[1] + 100] ^= 0x01  # one bit in an uncompressed chunk
    assert_error(cas(xhub, "POST", f"/v1/xorbs/default/{x.hash}", token, bytes(corrupted)), 400, "hash mismatch")
    assert_error(cas(xhub, "POST", f"/v1/xorbs/default/{x.hash}", token, x.body[:1000]), 400)
    assert_error(cas(xhub, "POST", f"/v1/xorbs/default/{x.hash}", token, b""), 400)
    assert_error(cas(xhub, "POST", "/v1/xorbs/default/not-a-hash", token, x.body), 400)
    assert_error(cas(xhub, "POST", f"/v1/xorbs/other/{x.hash}", token, x.body), 400)
    assert xorb_bytes(xhub) == stored
    # unauthenticated, bad signature, read scope
    assert cas_empty_bearer(xhub, "POST", f"/v1/xorbs/default/{x.hash}", x.body).status == 401
    assert cas(xhub, "POST", f"/v1/xorbs/default/{x.hash}", token[:-2] + "xx", x.body).status_code == 401
    read = xhub.get(f"/api/models/{rid}/xet-read-token/main", tokens["user"]).json()["accessToken"]
    assert_error(cas(xhub, "POST", f"/v1/xorbs/default/{x.hash}", read, x.body), 403, "read-only")
    assert xorb_bytes(xhub) == stored
    # the intact xorb is accepted once, then reported as already there
    assert cas(xhub, "POST", f"/v1/xorbs/default/{x.hash}", token, x.body).json() == {"was_inserted": True}
    assert cas(xhub, "POST", f"/v1/xorbs/default/{x.hash}", token, x.body).json() == {"was_inserted": False}
    assert xorb_bytes(xhub) == stored + len(x.body)


def test_bad_shards_and_foreign_or_expired_tokens_reference_nothing(xhub, tokens):
    rid = new_repo(xhub, tokens, "bad-shard")
    other_rid = new_repo(xhub, tokens, "bad-shard-other")
    token = write_token(xhub, tokens["user"], rid)["accessToken"]
    data = os.urandom(400_000)
    digest = hashlib.sha256(data).hexdigest()
    x = Xorb.of(data)
    missing = Xorb.of(os.urandom(1000))
    good = shard([(data, [(x, 0, 7)])], [x])
    commit = ("{\"key\": \"header\", \"value\": {\"summary\": \"add\"}}\n"
              + json.dumps({"key": "lfsFile", "value": {"path": "w.bin", "algo": "sha256", "oid": digest,
                                                       "size": len(data)}}) + "\n")

    def try_commit(repo_id: str):
        return xhub.commit_ndjson(tokens["user"], repo_id, commit)

    # a commit naming an oid no upload produced
    assert_error(try_commit(rid), 400, digest)
    # a shard naming a xorb that was never uploaded
    assert_error(cas(xhub, "POST", "/v1/shards", token, good), 400, "never uploaded")
    assert cas(xhub, "POST", f"/v1/xorbs/default/{x.hash}", token, x.body).status_code == 200
    assert_error(cas(xhub, "POST", "/v1/shards", token, shard([(data, [(x, 0, 7)])], [x, missing])), 400,
                 missing.hash)
    # truncated, forged verification, wrong sha256
    assert_error(cas(xhub, "POST", "/v1/shards", token, good[:-30]), 400, "Truncated")
    assert_error(cas(xhub, "POST", "/v1/shards", token, shard([(data, [(x, 0, 7)])], [x],
                                                              verification_override=bytes(32))), 400, "Verification")
    assert_error(cas(xhub, "POST", "/v1/shards", token, shard([(data, [(x, 0, 7)])], [x],
                                                              sha256_override="00" * 32)), 400, "sha256 mismatch")
    assert_error(try_commit(rid), 400, digest)
    # expired token, read token: refused before anything is read
    secret = (xhub.data_dir / "secret_key").read_text().strip()
    r = xhub.get(f"/api/models/{rid}/xet-write-token/main", tokens["user"])
    repo_pk = URLSafeSerializer(secret, salt="xet-cas-token").loads(r.json()["accessToken"])["r"]
    expired = URLSafeSerializer(secret, salt="xet-cas-token").dumps({"r": repo_pk, "s": "write",
                                                                     "e": int(time.time()) - 5})
    assert_error(cas(xhub, "POST", "/v1/shards", expired, good), 401, "Expired")
    read = xhub.get(f"/api/models/{rid}/xet-read-token/main", tokens["user"]).json()["accessToken"]
    assert_error(cas(xhub, "POST", "/v1/shards", read, good), 403)
    assert_error(try_commit(rid), 400, digest)

    # a valid shard under the token of `rid`: the file is usable in `rid`, not in another repository
    assert cas(xhub, "POST", "/v1/shards", token, good).status_code == 200
    assert_error(try_commit(other_rid), 400, digest)
    r = try_commit(rid)
    assert r.status_code == 200, r.text
    r = xhub.get(f"/{rid}/resolve/main/w.bin", tokens["user"])
    assert r.content == data


def _decode_chunks(body: bytes, count: int) -> bytes:
    from models_registry.storage.xet.xorb import decompress_chunk, parse_chunk_header

    out, pos = [], 0
    for _ in range(count):
        compressed, kind, size = parse_chunk_header(body[pos:pos + 8])
        out.append(decompress_chunk(kind, body[pos + 8:pos + 8 + compressed], size))
        pos += 8 + compressed
    assert pos == len(body)
    return b"".join(out)


def test_reconstruction_api_and_presigned_ranges(xhub, tokens):
    rid = new_repo(xhub, tokens, "recon")
    stranger = new_repo(xhub, tokens, "recon-other", owner="other")
    token = write_token(xhub, tokens["user"], rid)["accessToken"]
    part1, part2 = os.urandom(250_000), os.urandom(130_000)
    x1, x2 = Xorb.of(part1, kinds=[1, 2, 0, 1]), Xorb.of(part2, size=50_000)
    data = part2 + part1[65536:] + part1[:65536]
    terms = [(x2, 0, 3), (x1, 1, 4), (x1, 0, 1)]
    for x in (x1, x2):
        assert cas(xhub, "POST", f"/v1/xorbs/default/{x.hash}", token, x.body).status_code == 200
    assert cas(xhub, "POST", "/v1/shards", token, shard([(data, terms)], [x1, x2])).status_code == 200
    from tests.support.xet_build import file_hash_str
    fid = file_hash_str(terms)
    read = xhub.get(f"/api/models/{rid}/xet-read-token/main", tokens["user"]).json()["accessToken"]

    def rebuild(answer: dict) -> bytes:
        out = []
        for t in answer["terms"]:
            info = next(f for f in answer["fetch_info"][t["hash"]]
                        if f["range"]["start"] <= t["range"]["start"] and f["range"]["end"] >= t["range"]["end"])
            rng = f"bytes={info['url_range']['start']}-{info['url_range']['end']}"
            r = httpx2.get(info["url"], headers={"Range": rng}, follow_redirects=True, timeout=30)
            assert r.status_code == 206, r.text
            body = _decode_chunks(r.content, info["range"]["end"] - info["range"]["start"])
            out.append(body)  # (one fetch per term here: each term has its own range)
            assert len(body) == t["unpacked_length"]
        return b"".join(out)[answer["offset_into_first_range"]:]

    r = cas(xhub, "GET", f"/v1/reconstructions/{fid}", read)
    assert r.status_code == 200, r.text
    full = r.json()
    assert rebuild(full) == data
    for start, end in ((0, 99), (100_000, 200_000), (len(data) - 5, len(data) - 1), (70_000, len(data) + 100)):
        r = httpx2.get(f"{xhub.url}/xet-cas/v1/reconstructions/{fid}", follow_redirects=True, timeout=30,
                       headers={"Authorization": f"Bearer {read}", "Range": f"bytes={start}-{end}"})
        assert r.status_code == 200, r.text
        assert rebuild(r.json())[:end - start + 1] == data[start:end + 1]
    r = httpx2.get(f"{xhub.url}/xet-cas/v1/reconstructions/{fid}", follow_redirects=True, timeout=30,
                   headers={"Authorization": f"Bearer {read}", "Range": f"bytes={len(data)}-"})
    assert_error(r, 416)
    # another repository's token does not reach this file; unknown or malformed ids
    other_read = xhub.get(f"/api/models/{stranger}/xet-read-token/main", tokens["other"]).json()["accessToken"]
    assert_error(cas(xhub, "GET", f"/v1/reconstructions/{fid}", other_read), 404)
    assert_error(cas(xhub, "GET", f"/v1/reconstructions/{'0' * 64}", read), 404)
    assert_error(cas(xhub, "GET", "/v1/reconstructions/xyz", read), 400)
    assert cas_empty_bearer(xhub, "GET", f"/v1/reconstructions/{fid}").status == 401
    # a presigned URL grants exactly its range of its xorb
    info = full["fetch_info"][x1.hash][0]
    url, lo, hi = info["url"], info["url_range"]["start"], info["url_range"]["end"]
    for headers in ({}, {"Range": f"bytes={lo}-{hi + 1}"}, {"Range": "bytes=0-"}):
        assert httpx2.get(url, headers=headers, follow_redirects=True, timeout=30).status_code == 403
    sig = url.split("sig=", 1)[1]
    assert httpx2.get(url.replace(sig, sig[:-3] + ("AAA" if sig[-3:] != "AAA" else "BBB")),
                      headers={"Range": f"bytes={lo}-{hi}"}, follow_redirects=True, timeout=30).status_code == 403
    assert httpx2.get(url.replace(x1.hash, x2.hash), headers={"Range": f"bytes={lo}-{hi}"},
                      follow_redirects=True, timeout=30).status_code == 403
