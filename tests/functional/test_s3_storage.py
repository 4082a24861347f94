"""LFS objects and Xet xorbs on S3-compatible storage (a real SeaweedFS), with the stock client,
git-lfs and plain HTTP: presigned redirects and the proxied path, Range and HEAD both ways, and a
store that fails or whose bytes changed."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from urllib.parse import urlsplit

import httpx2
import pytest

from tests.support.gitutil import make_git, remote_url
from tests.support.live import LiveHub, local_storage, start_hub
from tests.support.seaweed import S3Server, start_seaweed

USER = "s3-user"
SIZE = 3 * 1024 * 1024 + 11


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> S3Server:
    server = start_seaweed(tmp_path_factory.mktemp("seaweed"))
    yield server
    server.stop()


def _hub(tmp_path_factory, store: S3Server, name: str, redirect: bool) -> LiveHub:
    env = store.env(name) | {"MODELHUB_S3_REDIRECT": "1" if redirect else "0",
                             "MODELHUB_REGULAR_UPLOAD_MAX": "1048576"}
    return start_hub(tmp_path_factory.mktemp(name), env=env)


@pytest.fixture(scope="module")
def redirecting(tmp_path_factory, store):
    h = _hub(tmp_path_factory, store, "redirecting", True)
    yield h
    h.stop()


@pytest.fixture(scope="module")
def proxying(tmp_path_factory, store):
    h = _hub(tmp_path_factory, store, "proxying", False)
    yield h
    h.stop()


def upload(hub: LiveHub, token: str, repo: str, data: bytes, xet: bool) -> None:
    """The stock client in a process of its own (HF_HUB_DISABLE_XET is read at import)."""
    script = ("import sys\nfrom huggingface_hub import HfApi\n"
              "api = HfApi(endpoint=sys.argv[1], token=sys.argv[2])\n"
              "api.create_repo(sys.argv[3], exist_ok=True)\n"
              "api.upload_file(path_or_fileobj=sys.stdin.buffer.read(), path_in_repo='w.bin', repo_id=sys.argv[3])\n")
    env = dict(os.environ, HF_HUB_DISABLE_XET="0" if xet else "1", HF_HUB_DISABLE_PROGRESS_BARS="1")
    subprocess.run([sys.executable, "-c", script, hub.url, token, repo], input=data, env=env, check=True,
                   capture_output=True, timeout=300)


def download(hub: LiveHub, token: str, repo: str, cache: str, xet: bool) -> bytes:
    script = ("import sys\nfrom huggingface_hub import hf_hub_download\n"
              "p = hf_hub_download(sys.argv[3], 'w.bin', endpoint=sys.argv[1], token=sys.argv[2], cache_dir=sys.argv[4])\n"
              "sys.stdout.buffer.write(open(p, 'rb').read())\n")
    env = dict(os.environ, HF_HUB_DISABLE_XET="0" if xet else "1", HF_HUB_DISABLE_PROGRESS_BARS="1")
    return subprocess.run([sys.executable, "-c", script, hub.url, token, repo, cache], env=env, check=True,
                          capture_output=True, timeout=300).stdout


@pytest.mark.parametrize("xet", [False, True], ids=["lfs", "xet"])
@pytest.mark.parametrize("mode", ["redirecting", "proxying"])
def test_the_stock_client_round_trips_through_the_bucket(request, store, tmp_path, mode, xet):
    hub: LiveHub = request.getfixturevalue(mode)
    token = hub.users(USER)[0]
    repo = f"{USER}/{mode}-{'xet' if xet else 'lfs'}"
    data = os.urandom(SIZE)
    upload(hub, token, repo, data, xet)
    assert download(hub, token, repo, str(tmp_path / "cache"), xet) == data
    # The bytes are in the bucket (under the hub's prefix), not in the data folder.
    keys = [o["Key"] for o in store.client().list_objects_v2(Bucket=store.bucket, Prefix=mode)["Contents"]]
    kind = "xet/xorbs/" if xet else "lfs/"
    assert any(f"/{kind}" in k for k in keys), keys
    local = hub.data_dir / ("xet/xorbs" if xet else "lfs")
    assert not [p for p in local.rglob("*") if p.is_file()] if local.exists() else True


def test_resolve_redirects_to_the_store_with_the_hub_headers(redirecting, store):
    hub = redirecting
    token = hub.users(USER)[0]
    repo = f"{USER}/heads"
    data = os.urandom(SIZE)
    hub.api(token).create_repo(repo, private=True)
    upload(hub, token, repo, data, xet=False)
    auth = {"Authorization": f"Bearer {token}"}
    url = f"{hub.url}/{repo}/resolve/main/w.bin"
    etag = f'"{hashlib.sha256(data).hexdigest()}"'
    # HEAD needs no bytes: the hub answers it (and the Hub client then GETs the resolve URL).
    head = httpx2.head(url, headers=auth)
    assert head.status_code == 200 and "Location" not in head.headers
    assert (head.headers["Content-Length"], head.headers["X-Linked-Size"]) == (str(SIZE), str(SIZE))
    assert head.headers["ETag"] == head.headers["X-Linked-Etag"] == etag
    r = httpx2.get(url, headers=auth)
    assert r.status_code == 302, (r.status_code, r.text[:300])
    assert (r.headers["X-Linked-Size"], r.headers["X-Linked-Etag"]) == (str(SIZE), etag)
    assert r.headers["X-Repo-Commit"] == head.headers["X-Repo-Commit"]
    location = r.headers["Location"]
    assert urlsplit(location).netloc == urlsplit(store.endpoint).netloc
    # A cached copy still current: 304 from the hub, no trip to the store.
    same = httpx2.get(url, headers=auth | {"If-None-Match": etag})
    assert same.status_code == 304 and "Location" not in same.headers
    ranged = httpx2.get(location, headers={"Range": "bytes=100-199"})
    assert ranged.status_code == 206 and ranged.content == data[100:200]
    assert httpx2.get(location).content == data
    # A browser: a download link (navigation) goes to the store; a page's image stays on the hub,
    # whose pages allow no other origin.
    assert httpx2.get(url, headers=auth | {"Sec-Fetch-Mode": "navigate"}).status_code == 302
    image = httpx2.get(url, headers=auth | {"Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"})
    assert image.status_code == 200 and image.content == data
    # A private repository's object: no redirect without a token that may read it.
    assert httpx2.head(url).status_code in (401, 404)


def test_the_proxy_serves_range_and_head_itself(proxying):
    hub = proxying
    token = hub.users(USER)[0]
    repo = f"{USER}/ranges"
    data = os.urandom(SIZE)
    upload(hub, token, repo, data, xet=False)
    auth = {"Authorization": f"Bearer {token}"}
    url = f"{hub.url}/{repo}/resolve/main/w.bin"
    head = httpx2.head(url, headers=auth)
    assert head.status_code == 200 and head.headers["Content-Length"] == str(SIZE)
    for first, last in ((0, 0), (5, 1_048_580), (SIZE - 10, SIZE - 1)):
        r = httpx2.get(url, headers=auth | {"Range": f"bytes={first}-{last}"})
        assert r.status_code == 206 and r.content == data[first:last + 1], (first, last)
    assert httpx2.get(url, headers=auth).content == data


def test_git_lfs_clones_from_the_bucket(redirecting, tmp_path, tmp_path_factory):
    hub = redirecting
    token = hub.users(USER)[0]
    repo = f"{USER}/git-lfs"
    data = os.urandom(SIZE)
    upload(hub, token, repo, data, xet=False)
    git = make_git(tmp_path_factory)
    clone = tmp_path / "clone"
    git.clone(remote_url(hub, repo, token), clone)
    assert (clone / "w.bin").read_bytes() == data
    # git-lfs fetched the bytes from the store: the hub's signed href answered with a redirect.
    fetches = re.findall(r'"GET \S*/lfs/objects/[0-9a-f]{64}\?token=\S+ HTTP/1\.1" (\d+) ', hub.log())
    assert fetches and set(fetches) == {"302"}, fetches


def test_bytes_changed_in_the_bucket_are_never_served_as_valid(proxying, store):
    hub = proxying
    token = hub.users(USER)[0]
    repo = f"{USER}/tampered"
    data = os.urandom(SIZE)
    upload(hub, token, repo, data, xet=False)
    oid = hashlib.sha256(data).hexdigest()
    key = f"proxying/lfs/{oid[:2]}/{oid[2:4]}/{oid}"
    client = store.client()
    auth = {"Authorization": f"Bearer {token}"}
    url = f"{hub.url}/{repo}/resolve/main/w.bin"
    for changed in (bytes([data[0] ^ 1]) + data[1:], data[:-1]):  # same size; shorter
        client.put_object(Bucket=store.bucket, Key=key, Body=changed)
        # Found out before the last byte leaves: an error status when nothing was sent yet, else a
        # body that breaks off before its Content-Length. A client never holds a good-looking copy.
        try:
            r = httpx2.get(url, headers=auth)
        except httpx2.RemoteProtocolError:
            continue
        assert r.status_code >= 500 and r.content != changed, (r.status_code, len(r.content))
    client.delete_object(Bucket=store.bucket, Key=key)
    r = httpx2.get(url, headers=auth)
    assert r.status_code == 404 and "missing from storage" in r.json()["error"]


def test_an_unreachable_store_is_a_503_and_nothing_is_referenced(tmp_path_factory, store):
    env = store.env("down") | {"MODELHUB_S3_SECRET_KEY": "wrong-secret-key-0000", "MODELHUB_REGULAR_UPLOAD_MAX": "1048576"}
    hub = start_hub(tmp_path_factory.mktemp("down"), env=env)
    try:
        token = hub.users(USER)[0]
        api = hub.api(token)
        api.create_repo(f"{USER}/down")
        data = os.urandom(SIZE)
        with pytest.raises(subprocess.CalledProcessError):
            upload(hub, token, f"{USER}/down", data, xet=False)
        assert [f for f in api.list_repo_files(f"{USER}/down")] == [".gitattributes"]
        log = hub.log()
        assert "Traceback" not in log, log[-3000:]
        # The LFS PUT itself answered 503 with a retry hint.
        assert '" 503 ' in log
    finally:
        hub.stop()


def test_storage_migrate_moves_a_local_hub_into_the_bucket(tmp_path_factory, store, tmp_path):
    """`modelhub storage migrate --to s3://...` copies LFS objects and xorbs, verified; a second run
    copies nothing (resumable); the hub restarted on the bucket serves every file."""
    data = tmp_path_factory.mktemp("migrating")
    hub = start_hub(data, env={"MODELHUB_REGULAR_UPLOAD_MAX": "1048576", **local_storage(data)})
    try:
        token = hub.users(USER)[0]
        files = {f"{USER}/mig-lfs": (os.urandom(SIZE), False), f"{USER}/mig-xet": (os.urandom(SIZE), True)}
        for repo, (data, xet) in files.items():
            upload(hub, token, repo, data, xet)
    finally:
        hub.stop()
    s3_env = store.env("migrated")
    env = hub.env | s3_env

    def migrate() -> str:
        done = subprocess.run([sys.executable, "-m", "hub", "storage", "migrate", "--to", s3_env["MODELHUB_STORAGE_URL"]],
                              env={k: v for k, v in env.items() if k != "MODELHUB_STORAGE_URL"},
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stderr

    assert "copied 2 objects" in migrate()  # one LFS object, one xorb (the Xet file's bytes)
    again = migrate()
    assert "copied 0 objects" in again and "2 already there" in again, again
    moved = start_hub(hub.data_dir, env={k: v for k, v in env.items() if k.startswith("MODELHUB_")})
    try:
        for i, (repo, (data, xet)) in enumerate(files.items()):
            assert download(moved, token, repo, str(tmp_path / f"c{i}"), xet) == data
    finally:
        moved.stop()
