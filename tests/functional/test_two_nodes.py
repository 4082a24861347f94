"""Two hub nodes behind nginx, as docs/deploy.md deploys them (issue #19).

Two `modelhub serve` processes, each with a data folder of its own, share what a cluster shares:
one PostgreSQL database, one S3 store and prefix (SeaweedFS), one repositories folder
(MODELHUB_REPOS_DIR), one MODELHUB_SECRET_KEY, and MODELHUB_PUBLIC_URL set to nginx's address.
nginx runs deploy/nginx/modelhub.conf itself (tests/support/nginx.py), round-robin over both.
Clients are the stock ones: huggingface_hub (in this process, or in client processes where
HF_HUB_DISABLE_XET must be chosen before import), git and raw HTTP where a test must control the
timing of a request.

Checked: a file uploaded through one node downloads whole through the other and through nginx
(Xet and git-LFS); git clone and push through nginx; a model made on one node is found by search on
the other within two seconds; eight committers spread over both nodes lose no commit of one branch
(linear history, `git fsck` clean); a comment posted on one node shows on the other; a web sign-in
made through one node holds on the other; and `kill -9`
of a node in the middle of uploads leaves the other serving at once, no partial object anywhere,
and the restarted node rejoining.

Needs PostgreSQL (MODELHUB_TEST_DATABASE_URL): one SQLite file shared by two servers is not a
deployment of several nodes. The S3 store is started whether or not MODELHUB_TEST_S3 is set."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import re
import secrets
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest
from huggingface_hub import HfApi

from tests.support.gitutil import Git, remote_url
from tests.support.live import LiveHub, _fresh_database_url, free_port, start_hub
from tests.support.nginx import Nginx, find_nginx, start_nginx
from tests.support.seaweed import S3Server, shared_seaweed
from tests.support.waiting import poll

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not os.environ.get("MODELHUB_TEST_DATABASE_URL"),
                       reason="MODELHUB_TEST_DATABASE_URL is not set: two nodes need a shared PostgreSQL database"),
]

USER = "cluster"
MiB = 1024 * 1024
BIG = 12 * MiB  # above MODELHUB_REGULAR_UPLOAD_MAX (10 MiB): the stock client goes through Xet or git-LFS
SEARCH_DEADLINE = 2.0
COMMITTERS = 8  # half on each node
ROUNDS = 3


@dataclass
class Cluster:
    a: LiveHub
    b: LiveHub
    proxy: Nginx
    store: S3Server
    prefix: str
    repos_dir: Path
    token: str

    @property
    def nodes(self) -> list[LiveHub]:
        return [self.a, self.b]

    def api(self, where: str) -> HfApi:
        """A client of node a, node b or nginx."""
        return HfApi(endpoint=self.url(where), token=self.token)

    def url(self, where: str) -> str:
        return {"a": self.a.url, "b": self.b.url, "nginx": self.proxy.url}[where]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Cluster:
    if find_nginx() is None:
        pytest.skip("nginx is not installed (Debian: apt-get install nginx-light; or set MODELHUB_TEST_NGINX)")
    root = tmp_path_factory.mktemp("two-nodes")
    store = shared_seaweed()
    prefix = f"cluster-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    repos_dir = root / "repos"  # the shared storage (NFS in a real deployment)
    nginx_port = free_port()  # known before the nodes start: it is their MODELHUB_PUBLIC_URL
    shared = {
        "MODELHUB_DATABASE_URL": _fresh_database_url(os.environ["MODELHUB_TEST_DATABASE_URL"]),
        **store.env(prefix),  # one bucket and prefix for both, also without MODELHUB_TEST_S3
        "MODELHUB_REPOS_DIR": str(repos_dir),
        "MODELHUB_SECRET_KEY": secrets.token_hex(32),
        "MODELHUB_PUBLIC_URL": f"http://127.0.0.1:{nginx_port}",
    }
    for n in "ab":
        (root / f"node-{n}").mkdir()
    with ThreadPoolExecutor(2) as pool:  # both at once: the migration lock makes one wait for the other
        started = [pool.submit(start_hub, root / f"node-{n}", 2, dict(shared)) for n in "ab"]
    nodes = [f.result() for f in started if f.exception() is None]
    try:
        for f in started:
            f.result()  # raises the first start-up failure
        a, b = nodes
        proxy = start_nginx(root / "nginx", [a.url, b.url], port=nginx_port)
    except BaseException:
        for n in nodes:
            n.stop()
        raise
    c = Cluster(a, b, proxy, store, prefix, repos_dir, make_user(shared["MODELHUB_DATABASE_URL"], USER))
    yield c
    proxy.stop()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(LiveHub.stop, c.nodes))


def make_user(database_url: str, name: str) -> str:
    """A user and a write token, straight in the shared database (what `modelhub users create` and
    `tokens create` do, without two more processes importing the app)."""
    from models_registry.accounts import Accounts
    from models_registry.db import Database

    db = Database(database_url)
    try:
        accounts = Accounts(db)
        accounts.create_user(name, f"pw-{name}-12345")
        return accounts.create_token(name)
    finally:
        db.dispose()


# --- clients ---------------------------------------------------------------------------------------

UPLOAD = """
import json, sys
from huggingface_hub import HfApi
token, repo_id, uploads = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
for endpoint, name, source in uploads:
    api = HfApi(endpoint=endpoint, token=token)
    api.create_repo(repo_id, exist_ok=True)
    print(api.upload_file(path_or_fileobj=source, path_in_repo=name, repo_id=repo_id).oid, flush=True)
"""

DOWNLOAD = """
import hashlib, json, sys
from huggingface_hub import hf_hub_download
token, repo_id, cache, downloads = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
out = []
for endpoint, name in downloads:
    path = hf_hub_download(repo_id, name, endpoint=endpoint, token=token, cache_dir=f"{cache}/{len(out)}")
    out.append([endpoint, name, hashlib.sha256(open(path, "rb").read()).hexdigest()])
print(json.dumps(out))
"""


def client_env(home: Path, xet: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(HF_HOME=str(home), HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_PROGRESS_BARS="1")
    if not xet:
        env["HF_HUB_DISABLE_XET"] = "1"  # read at import: hence a process of its own
    return env


def upload_process(token: str, repo_id: str, uploads: list[tuple[str, str, bytes]], home: Path,
                   xet: bool) -> subprocess.Popen:
    """The stock client uploading (endpoint, name, data) one after the other, in a process of its own."""
    home.mkdir(parents=True, exist_ok=True)
    spec = []
    for i, (endpoint, name, data) in enumerate(uploads):
        (home / f"upload-{i}").write_bytes(data)
        spec.append([endpoint, name, str(home / f"upload-{i}")])
    return subprocess.Popen([sys.executable, "-c", UPLOAD, token, repo_id, json.dumps(spec)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=client_env(home, xet))


def upload(token: str, repo_id: str, uploads: list[tuple[str, str, bytes]], home: Path, xet: bool) -> None:
    proc = upload_process(token, repo_id, uploads, home, xet)
    _out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err.decode(errors="replace")[-3000:]


def download_hashes(token: str, repo_id: str, downloads: list[tuple[str, str]], home: Path, xet: bool) -> list:
    """[endpoint, name, sha256 of the file hf_hub_download gave] for each (endpoint, name)."""
    done = subprocess.run([sys.executable, "-c", DOWNLOAD, token, repo_id, str(home / "cache"),
                           json.dumps(downloads)], env=client_env(home, xet), capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def git(path: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """git on a bare repository of the shared folder, without any user or system configuration."""
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    return subprocess.run(["git", "--git-dir", str(path), *args], capture_output=True, text=True, env=env,
                          check=check, timeout=120)


def shared_repo(c: Cluster, head: str) -> Path:
    """The bare repository in the shared MODELHUB_REPOS_DIR whose main branch is at `head`."""
    found = [p for p in c.repos_dir.glob("*/*.git")
             if git(p, "rev-parse", "-q", "--verify", "refs/heads/main", check=False).stdout.strip() == head]
    assert len(found) == 1, (head, found)
    return found[0]


def fsck_clean(path: Path) -> None:
    done = git(path, "fsck", "--full", "--strict", "--no-dangling", check=False)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def bucket_keys(c: Cluster, under: str) -> list[str]:
    """The keys of the shared bucket under the nodes' prefix + `under`."""
    pages = c.store.client().get_paginator("list_objects_v2").paginate(Bucket=c.store.bucket,
                                                                       Prefix=f"{c.prefix}/{under}")
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


# --- the tests -------------------------------------------------------------------------------------

def test_the_nodes_share_the_store_and_not_their_data_folders(cluster):
    """Nothing a node keeps for itself ends up shared, and nothing shared ends up in a data folder."""
    c = cluster
    rid = f"{USER}/layout"
    c.api("a").create_repo(rid)
    assert list(c.repos_dir.glob("*/*.git")), "the repository is not in MODELHUB_REPOS_DIR"
    for node in c.nodes:
        assert not list(node.data_dir.glob("repos/*/*.git"))
        assert (node.data_dir / "search").is_dir()  # a search index of its own
    ids = {(n.data_dir / "search" / "node-id").read_text().strip() for n in c.nodes}
    assert len(ids) == 2


@pytest.mark.parametrize("xet", [True, False], ids=["xet", "lfs"])
def test_a_file_uploaded_through_one_node_downloads_through_the_other_and_nginx(cluster, tmp_path, xet):
    """The client's API calls go to the node it was given; its bytes go where the links the node
    hands out say, MODELHUB_PUBLIC_URL (nginx), so they may reach either node, as in production."""
    c = cluster
    rid = f"{USER}/{'xet' if xet else 'lfs'}-weights"
    data, again = os.urandom(BIG), os.urandom(BIG)
    # model.bin through node a, again.bin entirely through nginx
    upload(c.token, rid, [(c.a.url, "model.bin", data), (c.proxy.url, "again.bin", again)], tmp_path / "up", xet)
    wanted = [(c.b.url, "model.bin"), (c.proxy.url, "model.bin"), (c.a.url, "again.bin"), (c.proxy.url, "again.bin")]
    got = download_hashes(c.token, rid, wanted, tmp_path / "down", xet)
    expected = {"model.bin": sha256(data), "again.bin": sha256(again)}
    assert got == [[endpoint, name, expected[name]] for endpoint, name in wanted]
    # The bytes are in the shared bucket, under the one prefix of both nodes, not in a data folder.
    if xet:
        assert bucket_keys(c, "xet/xorbs/")
    else:
        assert {f"{c.prefix}/lfs/{h[:2]}/{h[2:4]}/{h}" for h in (sha256(data), sha256(again))} <= set(
            bucket_keys(c, "lfs/"))
    for node in c.nodes:
        assert not [p for p in node.data_dir.glob("lfs/**/*") if p.is_file()]
        assert not [p for p in node.data_dir.glob("xet/xorbs/**/*") if p.is_file()]


def test_git_clone_and_push_through_nginx(cluster, tmp_path):
    """Git smart HTTP through the proxy: a push of over 1 MiB (git sends it chunked), then a clone."""
    c = cluster
    rid = f"{USER}/pushed"
    c.api("b").create_repo(rid)
    g = Git(tmp_path / "home", lfs=False)
    work = tmp_path / "work"
    g.clone(remote_url(c.proxy, rid, c.token), work)
    text = secrets.token_hex(MiB).encode()  # 2 MiB of text: a regular file, a pack above http.postBuffer
    pushed = g.commit_files(work, {"notes.txt": text}, "pushed through nginx")
    g.run("push", "origin", "main", cwd=work)
    for where in ("a", "b"):
        assert c.api(where).model_info(rid).sha == pushed
    assert c.a.get(f"/{rid}/resolve/main/notes.txt", c.token).content == text
    g.clone(remote_url(c.proxy, rid, c.token), tmp_path / "clone")
    assert (tmp_path / "clone" / "notes.txt").read_bytes() == text


def test_a_model_made_on_one_node_is_found_on_the_other(cluster):
    c = cluster
    for maker, searcher, word in (("a", "b", "lanternharbour"), ("b", "a", "meadowquiet")):
        rid = f"{USER}/{word}"
        c.api(maker).create_repo(rid)
        hits = poll(lambda: [h["id"] for h in c.nodes["ab".index(searcher)].get(
            "/api/search", params={"q": word}).json()["hits"]], lambda v: v == [rid], timeout=SEARCH_DEADLINE)
        assert hits == [rid], f"made on {maker}, not found on {searcher} within {SEARCH_DEADLINE} s"
        assert [m.id for m in c.api("nginx").list_models(search=word)] == [rid]


def test_committers_on_both_nodes_lose_no_commit(cluster):
    c = cluster
    rid = f"{USER}/crowded"
    c.api("a").create_repo(rid)
    initial = c.api("a").list_repo_commits(rid)
    barrier = threading.Barrier(COMMITTERS)

    def committer(i: int) -> list[str]:
        api = c.api("ab"[i % 2])  # four on each node
        barrier.wait(timeout=60)
        return [api.upload_file(path_or_fileobj=f"committer {i} round {r}\n".encode(), repo_id=rid,
                                path_in_repo=f"c{i}/r{r}.txt", commit_message=f"committer {i} round {r}").oid
                for r in range(ROUNDS)]

    with ThreadPoolExecutor(COMMITTERS) as pool:
        acked = [oid for oids in pool.map(committer, range(COMMITTERS)) for oid in oids]
    assert len(set(acked)) == COMMITTERS * ROUNDS

    expected = {f"c{i}/r{r}.txt" for i in range(COMMITTERS) for r in range(ROUNDS)} | {".gitattributes"}
    heads = {where: c.api(where).model_info(rid).sha for where in ("a", "b")}
    assert heads["a"] == heads["b"]
    for where in ("a", "b"):
        assert set(c.api(where).list_repo_files(rid)) == expected
    commits = c.api("b").list_repo_commits(rid)
    assert {x.commit_id for x in commits[:-1]} == set(acked) and commits[-1].commit_id == initial[0].commit_id
    assert c.b.get(f"/{rid}/resolve/main/c3/r2.txt", c.token).content == b"committer 3 round 2\n"

    path = shared_repo(c, heads["a"])
    log = git(path, "log", "--format=%H %P", "main").stdout.splitlines()
    assert len(log) == 1 + COMMITTERS * ROUNDS
    for newer, older in zip(log, log[1:]):  # linear: each commit's one parent is the one before it
        assert newer.split()[1:] == [older.split()[0]]
    fsck_clean(path)
    assert list(c.repos_dir.rglob("*.lock")) == []


def test_a_comment_posted_on_one_node_shows_on_the_other(cluster):
    c = cluster
    rid = f"{USER}/discussed"
    c.api("a").create_repo(rid)
    d = c.api("a").create_discussion(rid, title="Which tokenizer?", description="Opened on node a.")
    c.api("a").comment_discussion(rid, d.num, "Posted through node a.")
    seen = c.api("b").get_discussion_details(rid, d.num)
    assert [e.content for e in seen.events if e.type == "comment"] == ["Opened on node a.", "Posted through node a."]
    c.api("b").comment_discussion(rid, d.num, "Answered through node b.")
    seen = c.api("a").get_discussion_details(rid, d.num)
    assert [e.content for e in seen.events if e.type == "comment"][-1] == "Answered through node b."


def test_a_web_sign_in_holds_on_every_node(cluster):
    """The login form of one node is accepted by the other (its CSRF token is signed with the shared
    MODELHUB_SECRET_KEY), and the session it opens is good on both and through nginx."""
    c = cluster
    with httpx2.Client(timeout=30) as browser:  # cookies are per host, not per port: one jar for all
        page = browser.get(f"{c.a.url}/login").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        r = browser.post(f"{c.b.url}/login", data={"csrf_token": csrf, "username": USER,
                                                   "password": f"pw-{USER}-12345"})
        assert r.status_code in (302, 303), r.text
        for url in (c.a.url, c.b.url, c.proxy.url, c.proxy.url):
            r = browser.get(f"{url}/settings/sessions")
            assert r.status_code == 200 and USER in r.text, (url, r.status_code)


# --- kill -9 of a node in the middle of uploads --------------------------------------------------------

def slow_body(host_port: str, method: str, path: str, headers: dict[str, str], first: bytes, size: int,
              started: threading.Event) -> threading.Thread:
    """A request announcing `size` bytes of body that sends `first`, then 1 MiB every 20 ms: at the
    kill it is half-received by the node."""
    def send() -> None:
        host, port = host_port.split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        try:
            conn.putrequest(method, path)
            for k, v in {**headers, "Content-Length": str(size)}.items():
                conn.putheader(k, v)
            conn.endheaders()
            conn.send(first)
            started.set()
            sent = len(first)
            while sent + MiB < size:
                conn.send(b"\1" * MiB)
                sent += MiB
                time.sleep(0.02)
        except OSError:
            pass  # the node was killed under it
        finally:
            started.set()
            conn.close()

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def partial_uploads(node: LiveHub) -> list[str]:
    return sorted(p.name for p in [*(node.data_dir / "tmp").glob("stage-*"),
                                   *(node.data_dir / "xet" / "tmp").glob("xorb-*")])


def lfs_files(api: HfApi, rid: str) -> dict[str, tuple[str, int]]:
    """path -> (sha256, size) of the LFS files of main."""
    return {f.path: (f.lfs.sha256, f.lfs.size) for f in api.list_repo_tree(rid, recursive=True, expand=True)
            if getattr(f, "lfs", None)}


def lfs_batch(c: Cluster, node: LiveHub, rid: str, operation: str, oid: str, size: int) -> dict:
    """The git-LFS batch API's answer for one object."""
    r = node.request("POST", f"/{rid}.git/info/lfs/objects/batch", c.token,
                     json={"operation": operation, "transfers": ["basic"], "objects": [{"oid": oid, "size": size}]},
                     headers={"Accept": "application/vnd.git-lfs+json"})
    assert r.status_code == 200, r.text
    return r.json()["objects"][0]


def lfs_upload(c: Cluster, node: LiveHub, rid: str, path: str, data: bytes) -> str:
    """A git-LFS upload as git-lfs makes it, then a commit naming the object: the batch and the commit
    through `node`, the PUT and the verify to the links it hands out (nginx's address)."""
    oid = sha256(data)
    actions = lfs_batch(c, node, rid, "upload", oid, len(data))["actions"]
    assert actions["upload"]["href"].startswith(c.proxy.url)
    assert httpx2.put(actions["upload"]["href"], content=data, timeout=60).status_code == 200
    assert httpx2.post(actions["verify"]["href"], json={"oid": oid, "size": len(data)}, timeout=60,
                       headers={"Accept": "application/vnd.git-lfs+json"}).status_code == 200
    lines = [{"key": "header", "value": {"summary": f"add {path}", "description": ""}},
             {"key": "lfsFile", "value": {"path": path, "algo": "sha256", "oid": oid, "size": len(data)}}]
    done = node.commit_ndjson(c.token, rid, "\n".join(json.dumps(x) for x in lines).encode())
    assert done.status_code == 200, done.text
    return done.json()["commitOid"]


def test_kill_9_of_a_node_mid_upload(cluster, tmp_path):
    c = cluster
    rid = f"{USER}/crash"
    c.api("a").create_repo(rid)
    whole = os.urandom(BIG)
    lfs_upload(c, c.a, rid, "whole.bin", whole)

    # In flight through node a at the kill: a git-LFS PUT of 64 MiB, a commit whose body is still
    # arriving, and the stock client (git-LFS) uploading a 12 MiB file.
    lfs_size, lfs_oid = 64 * MiB, secrets.token_hex(32)
    href = lfs_batch(c, c.a, rid, "upload", lfs_oid, lfs_size)["actions"]["upload"]["href"]
    started = [threading.Event(), threading.Event()]
    senders = [slow_body(c.a.host_port, "PUT", href[len(c.proxy.url):], {"Content-Type": "application/octet-stream"},
                         b"", lfs_size, started[0])]  # to node a itself, not to nginx
    header = json.dumps({"key": "header", "value": {"summary": "never finished", "description": ""}}) + "\n"
    body = (header + json.dumps({"key": "file", "value": {
        "path": "half.txt", "encoding": "base64", "content": base64.b64encode(b"h" * 8 * MiB).decode()}})).encode()
    senders.append(slow_body(c.a.host_port, "POST", f"/api/models/{rid}/commit/main",
                             {"Authorization": f"Bearer {c.token}", "Content-Type": "application/x-ndjson"},
                             body[: len(header) + 1000], len(body), started[1]))
    for e in started:
        assert e.wait(30)
    assert poll(lambda: partial_uploads(c.a), bool, timeout=30), "the 64 MiB PUT should be half-written by now"
    batches = c.a.log().count("/objects/batch")
    inflight = os.urandom(BIG)
    client = upload_process(c.token, rid, [(c.a.url, "inflight.bin", inflight)], tmp_path / "inflight", xet=False)
    # the client asked node a where to send its bytes (or already failed, or finished)
    poll(lambda: c.a.log().count("/objects/batch") > batches or client.poll() is not None, bool, timeout=30)

    c.a.kill()
    killed_at = time.monotonic()

    # Node b serves at once: a download, and a commit.
    assert c.b.get(f"/{rid}/resolve/main/whole.bin", c.token).content == whole
    api_b = c.api("b")
    after = api_b.upload_file(path_or_fileobj=b"committed through b after the kill\n", repo_id=rid,
                              path_in_repo="after.txt").oid
    assert time.monotonic() - killed_at < 20  # not held up by a lock of the dead node (generous: a busy CI box)
    assert api_b.model_info(rid).sha == after
    c.api("b").create_repo(f"{USER}/whilenodeawasdown")  # to be found by node a once restarted

    # Node a restarts meanwhile, on a new port (nginx is told below, as an operator would).
    with ThreadPoolExecutor(1) as pool:
        restarted = pool.submit(c.a.restart)

        # nginx keeps serving: a dead node refuses connections, and nginx sends the request to the
        # other (a POST too: it never reached the dead node).
        for i in range(4):
            assert c.api("nginx").upload_file(path_or_fileobj=f"through nginx {i}\n".encode(), repo_id=rid,
                                              path_in_repo=f"nginx/{i}.txt").oid
            r = httpx2.get(f"{c.proxy.url}/{rid}/resolve/main/whole.bin", follow_redirects=True, timeout=60,
                           headers={"Authorization": f"Bearer {c.token}"})
            assert r.status_code == 200 and sha256(r.content) == sha256(whole)

        for t in senders:
            t.join(timeout=30)
        try:
            _out, err = client.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            client.kill()
            _out, err = client.communicate()

        # Nothing half-written is visible: every file listed is whole, the unfinished ones are absent.
        files = set(api_b.list_repo_files(rid))
        complete = {".gitattributes", "whole.bin", "after.txt", *(f"nginx/{i}.txt" for i in range(4))}
        assert complete <= files <= complete | {"inflight.bin"}, files
        if client.returncode == 0:  # its commit was acknowledged just before the kill
            assert "inflight.bin" in files, err.decode(errors="replace")[-2000:]
        big = lfs_files(api_b, rid)
        for path, (oid, size) in big.items():
            r = c.b.get(f"/{rid}/resolve/main/{path}", c.token)
            assert len(r.content) == size and sha256(r.content) == oid, path
        assert big["whole.bin"][0] == sha256(whole)
        if "inflight.bin" in big:
            assert big["inflight.bin"][0] == sha256(inflight)
        # The half-received PUT reached neither the bucket nor the database; every object in the
        # bucket is whole (its bytes hash to its name).
        s3 = c.store.client()
        lfs_keys = bucket_keys(c, "lfs/")
        assert lfs_keys and not any(k.endswith(lfs_oid) for k in lfs_keys)
        for key in lfs_keys:
            assert sha256(s3.get_object(Bucket=c.store.bucket, Key=key)["Body"].read()) == key.rsplit("/", 1)[1]
        assert lfs_batch(c, c.b, rid, "download", lfs_oid, lfs_size)["error"]["code"] == 404

        c.a = restarted.result()
    c.proxy.reload([c.a.url, c.b.url])

    # Node a rejoins: it removed its dead uploads, sees what node b did meanwhile, and commits.
    assert partial_uploads(c.a) == []  # their writer is dead
    api_a = c.api("a")
    assert api_a.model_info(rid).sha == api_b.model_info(rid).sha
    hits = poll(lambda: [h["id"] for h in c.a.get("/api/search", params={"q": "whilenodeawasdown"}).json()["hits"]],
                lambda v: v == [f"{USER}/whilenodeawasdown"], timeout=10)
    assert hits == [f"{USER}/whilenodeawasdown"]
    last = api_a.upload_file(path_or_fileobj=b"committed through a after its restart\n", repo_id=rid,
                             path_in_repo="rejoined.txt").oid
    assert api_b.model_info(rid).sha == last
    assert c.a.get(f"/{rid}/resolve/main/whole.bin", c.token).content == whole
    # and nginx sends requests to both nodes again
    seen = len(c.proxy.access_log())
    for _ in range(6):
        assert httpx2.get(f"{c.proxy.url}/api/models/{rid}", timeout=30).status_code == 200
    served_by = set(re.findall(r"upstream=(\S+)", c.proxy.access_log()[seen:]))
    assert served_by == {c.a.host_port, c.b.host_port}, served_by

    c.a.wait_for_start_up_sweep()
    assert list(c.repos_dir.rglob("*.lock")) == []
    fsck_clean(shared_repo(c, last))
    for node in c.nodes:
        assert "Traceback" not in node.log(), node.log()[-5000:]
