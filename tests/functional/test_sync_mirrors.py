"""Followed and on-demand mirrors between two real hubs on loopback: an upstream and a mirror.

`modelhub sync add/run/list/alerts` against the mirror's data folder, the read-only rule through
the real HF client and git, the model page notice and "verified mirror" badge, the admin page and
API, license/gating changes held back until acknowledged, failures recorded without changing a
branch, and on-demand mirroring of allowed repositories only (the upstream's access log shows what
was asked of it).

The on-demand test stops the upstream at its end (copies are then served without it): it runs last
but one, after everything that needs the upstream; the failed-sync test has an upstream of its own.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx2
import pytest
from huggingface_hub import CommitOperationAdd, hf_hub_download
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from tests.support.gitutil import make_git, remote_url
from tests.support.live import start_hub

OWNER = "upowner"
ONDEMAND = "ondemand"
ADMIN = "mirroradmin"


def readme(license: str) -> bytes:
    return f"---\nlicense: {license}\nlibrary_name: transformers\n---\n# A mirrored model\n".encode()


def blob(seed: str, size: int) -> bytes:
    out, block = bytearray(), hashlib.sha256(seed.encode()).digest()
    while len(out) < size:
        block = hashlib.sha256(block).digest()
        out += block * 64
    return bytes(out[:size])


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    h = start_hub(tmp_path_factory.mktemp("upstream"), workers=2)
    yield h
    h.stop()


@pytest.fixture(scope="module")
def mirror(tmp_path_factory, upstream):
    h = start_hub(tmp_path_factory.mktemp("mirror"), workers=2, env={
        "MODELHUB_MIRROR_UPSTREAM": upstream.url, "MODELHUB_MIRROR_ALLOW": f"{ONDEMAND}/*,other/allowed-*",
        "MODELHUB_MIRROR_WAIT": "60"})
    yield h
    h.stop()


@pytest.fixture(scope="module")
def up(upstream):
    token = upstream.users(OWNER)[0]
    upstream.cli("orgs", "create", ONDEMAND, "--owner", OWNER)
    upstream.cli("orgs", "create", "secretorg", "--owner", OWNER)
    return upstream.api(token)


@pytest.fixture(scope="module")
def admin(mirror):
    return mirror.user(ADMIN, admin=True)


def publish(api, repo_id: str, license: str = "apache-2.0", weights: bytes | None = None) -> str:
    api.create_repo(repo_id, exist_ok=True)
    ops = [CommitOperationAdd("README.md", readme(license)),
           CommitOperationAdd("config.json", b'{"hidden_size": 8}\n'),
           CommitOperationAdd("weights.bin", weights if weights is not None else blob(repo_id, 300_000))]
    return api.create_commit(repo_id, ops, commit_message="upload").oid


def run_sync(mirror, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    out = mirror.cli("sync", *args, check=False)
    if check:
        assert out.returncode == 0, out.stderr
    return out


def mirror_api(mirror, admin: str, repo_id: str) -> dict:
    r = mirror.get(f"/api/mirrors/{repo_id}", token=admin)
    assert r.status_code == 200, r.text
    return r.json()


# ---- followed mirrors ------------------------------------------------------------------------------
def test_sync_add_then_run_copies_the_repository(upstream, mirror, up, admin, hf_cache):
    rid = f"{OWNER}/m1"
    sha = publish(up, rid)
    out = run_sync(mirror, "add", "--from", upstream.url, rid, "--every", "1h")
    assert f"{rid} follows {upstream.url}/{rid} every 1h" in out.stderr
    # Registered, not synced yet: the first sync happens on the next run.
    assert mirror.get(f"/api/models/{rid}").status_code == 401

    out = run_sync(mirror, "run", "--once")
    assert re.search(rf"{rid}: ok \(git\) 1 refs updated", out.stderr), out.stderr
    api = mirror.api(None)
    info = api.model_info(rid)
    assert info.sha == sha and info.card_data["license"] == "apache-2.0"
    path = hf_hub_download(rid, "weights.bin", endpoint=mirror.url, cache_dir=hf_cache)
    assert Path(path).read_bytes() == blob(rid, 300_000)

    # Nothing is due any more; the listing shows the schedule and result, never a token.
    assert "no mirror is due" in run_sync(mirror, "run").stderr
    listing = run_sync(mirror, "list").stdout.splitlines()
    row = next(line.split("\t") for line in listing if line.startswith(rid + "\t"))
    assert row[1] == f"{upstream.url}/{rid}" and row[2] == "1h" and row[3] == "ok" and row[6] == "no"


def test_a_mirror_is_read_only_for_everyone(mirror, admin, tmp_path, tmp_path_factory):
    rid = f"{OWNER}/m1"
    api = mirror.api(admin)  # a site admin may write anywhere, except to a mirror
    with pytest.raises(HfHubHTTPError) as e:
        api.upload_file(path_or_fileobj=b"local edit\n", path_in_repo="notes.txt", repo_id=rid)
    assert e.value.response.status_code == 403
    assert "is a mirror of" in str(e.value) and "read-only here" in str(e.value)
    with pytest.raises(HfHubHTTPError) as e:
        api.create_branch(rid, branch="local")
    assert e.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as e:
        api.create_tag(rid, tag="v1")
    assert e.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as e:
        api.create_commit(rid, [CommitOperationAdd("x.txt", b"x")], commit_message="pr", create_pr=True)
    assert e.value.response.status_code == 403

    git = make_git(tmp_path_factory)
    work = tmp_path / "work"
    git.run("clone", remote_url(mirror, rid), str(work), env={"GIT_LFS_SKIP_SMUDGE": "1"})
    git.commit_files(work, {"notes.txt": b"local edit\n"}, "local edit")
    pushed = git.run("push", remote_url(mirror, rid, admin, user=ADMIN), "main", cwd=work, check=False, timeout=60)
    assert pushed.returncode != 0
    assert "403" in pushed.stderr and "read-only here" in pushed.stderr, pushed.stderr
    assert {b.name: b.target_commit for b in mirror.api(None).list_repo_refs(rid).branches} == \
        {"main": mirror.api(None).model_info(rid).sha}


def test_model_page_says_where_it_comes_from_with_a_verified_badge(upstream, mirror):
    page = mirror.get(f"/{OWNER}/m1").text
    assert f'href="{upstream.url}/{OWNER}/m1"' in page
    assert "Mirrored from" in page and "last synced" in page
    assert "data-verified" in page and "verified mirror" in page
    # An ordinary repository has no notice.
    token = mirror.user("plainowner")
    mirror.api(token).create_repo("plainowner/plain")
    assert "Mirrored from" not in mirror.get("/plainowner/plain").text


def test_api_reports_runs_and_lfs_checks_to_admins_only(mirror, admin, up):
    rid = f"{OWNER}/m1"
    data = mirror_api(mirror, admin, rid)
    assert data["lastStatus"] == "ok" and data["verified"] is True and data["hasToken"] is False
    assert "token" not in data
    assert [r["status"] for r in data["runs"]] == ["ok"] and data["runs"][0]["lfsObjects"] == 1
    weights = hashlib.sha256(blob(rid, 300_000)).hexdigest()
    assert [(c["path"], c["upstreamSha256"], c["sha256"], c["verified"]) for c in data["lfsChecks"]] == \
        [("weights.bin", weights, weights, True)]
    listing = mirror.get("/api/mirrors", token=admin).json()
    assert rid in [m["id"] for m in listing["mirrors"]]

    other = mirror.user("notadmin")
    for token in (None, other):
        assert mirror.get("/api/mirrors", token=token).status_code == 404
        assert mirror.get(f"/api/mirrors/{rid}", token=token).status_code == 404
        assert mirror.get("/admin/mirrors", token=token).status_code == 404
    page = mirror.get("/admin/mirrors", token=admin)
    assert page.status_code == 200
    assert f'data-mirror="{rid}"' in page.text and 'data-status="ok"' in page.text


def test_two_runs_at_once_sync_each_repository_once(upstream, mirror, up, admin):
    rid = f"{OWNER}/m2"
    publish(up, rid, weights=blob(rid, 3_000_000))
    run_sync(mirror, "add", "--from", upstream.url, rid, "--every", "1h")
    procs = [subprocess.Popen([sys.executable, "-m", "hub", "sync", "run", "--once"], env=mirror.env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    errs = [err for _, err in outs]
    synced = [e for e in errs if f"{rid}: ok" in e]
    assert len(synced) == 1, errs
    other = errs[1 - errs.index(synced[0])]
    assert f"{rid}: skipped" in other or "no mirror is due" in other, other
    assert [r["status"] for r in mirror_api(mirror, admin, rid)["runs"]] == ["ok"]


def test_a_run_skips_a_repository_another_process_is_syncing(upstream, mirror, up, admin):
    from models_registry.db import Database
    from models_registry.locks import open_locks
    from models_registry.sync.mirror_records import lock_name

    rid = f"{OWNER}/m5"
    publish(up, rid)
    run_sync(mirror, "add", "--from", upstream.url, rid, "--every", "1h")
    database = Database(mirror.env.get("MODELHUB_DATABASE_URL") or f"sqlite:///{mirror.data_dir / 'modelhub.db'}")
    locks = open_locks(database, mirror.data_dir / "locks")  # the hub's own kind: flock, or PostgreSQL's
    with locks.try_hold(lock_name("model", rid)) as held:  # "another sync"
        assert held
        out = run_sync(mirror, "run", "--once")
    assert f"{rid}: skipped: another sync of this repository is running" in out.stderr
    assert mirror_api(mirror, admin, rid)["runs"] == []
    assert f"{rid}: ok" in run_sync(mirror, "run", "--once").stderr  # still due, synced by the next run
    database.engine.dispose()


def test_a_one_off_pull_is_recorded_as_a_mirror_without_a_schedule(upstream, mirror, up, admin):
    src, rid = f"{OWNER}/m4", "pulled/m4"
    sha = publish(up, src)
    mirror.cli("orgs", "create", "pulled", "--owner", ADMIN)  # `sync pull` wants the namespace to exist
    run_sync(mirror, "pull", "--from", upstream.url, f"{src}:{rid}")
    data = mirror_api(mirror, admin, rid)
    assert data["origin"] == "pull" and data["intervalSeconds"] is None and data["nextDue"] is None
    assert data["lastSyncedCommit"] == sha and data["verified"] is True
    assert [(r["trigger"], r["status"]) for r in data["runs"]] == [("pull", "ok")]
    assert f'href="{upstream.url}/{src}"' in mirror.get(f"/{rid}").text
    with pytest.raises(HfHubHTTPError) as e:
        mirror.api(admin).upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=rid)
    assert e.value.response.status_code == 403
    assert rid not in run_sync(mirror, "run").stderr  # never synced by the schedule


def test_license_and_gating_changes_are_held_back_until_acknowledged(upstream, mirror, up, admin):
    rid = f"{OWNER}/m3"
    publish(up, rid)
    # The upstream will become gated: the mirror needs a token that may still read it.
    run_sync(mirror, "add", "--from", upstream.url, rid, "--every", "1h", "--token", upstream.users(OWNER)[0])
    run_sync(mirror, "run")
    assert mirror_api(mirror, admin, rid)["hasToken"] is True

    up.create_commit(rid, [CommitOperationAdd("README.md", readme("mit"))], commit_message="relicense")
    up.update_repo_settings(rid, gated="auto")
    out = run_sync(mirror, "run", "--all")
    assert f"{rid}: ok" in out.stderr
    assert "changed its license from 'apache-2.0' to 'mit'" in out.stderr  # the log of the syncing process

    # The files are the upstream's; what the hub shows is still what was accepted.
    api = mirror.api(None)
    info = api.model_info(rid)
    assert info.sha == up.model_info(rid).sha
    assert info.card_data["license"] == "apache-2.0" and not info.gated
    assert mirror_api(mirror, admin, rid)["verified"] is True  # the new head's LFS files were checked too
    assert "license:apache-2.0" in info.tags and "license:mit" not in info.tags
    page = mirror.get(f"/{rid}").text
    assert 'href="/licenses/apache-2.0"' in page and 'href="/licenses/mit"' not in page
    assert "data-pending" not in page  # only admins see the pending note
    assert "data-pending" in mirror.get(f"/{rid}", token=admin).text

    alerts = [line.split("\t") for line in run_sync(mirror, "alerts").stdout.splitlines()]
    mine = {a[2]: a for a in alerts if a[1] == rid}
    assert set(mine) == {"license", "gating"}
    assert mine["license"][3] == "'apache-2.0' -> 'mit'" and mine["gating"][3] == "None -> 'auto'"

    # An admin accepts the license change on the admin page (a CSRF-protected form).
    # (pages follow redirects, as a browser's do)
    with httpx2.Client(follow_redirects=True, timeout=60) as s:
        login = s.get(mirror.url + "/login").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)
        signed_in = s.post(mirror.url + "/login", data={"csrf_token": csrf, "username": ADMIN,
                                                        "password": f"pw-{ADMIN}-12345"}, follow_redirects=False)
        assert signed_in.status_code == 302
        admin_page = s.get(mirror.url + "/admin/mirrors").text
        assert f'data-ack="{mine["license"][0]}"' in admin_page
        no_csrf = s.post(f"{mirror.url}/admin/mirrors/alerts/{mine['license'][0]}/ack", follow_redirects=False)
        assert no_csrf.status_code == 400
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', admin_page).group(1)
        r = s.post(f"{mirror.url}/admin/mirrors/alerts/{mine['license'][0]}/ack", data={"csrf_token": csrf},
                   follow_redirects=False)
        assert r.status_code == 302
    info = api.model_info(rid)
    assert info.card_data["license"] == "mit" and "license:mit" in info.tags and not info.gated
    assert 'href="/licenses/mit"' in mirror.get(f"/{rid}").text

    # Gating, acknowledged from the command line.
    run_sync(mirror, "alerts", "--ack", mine["gating"][0])
    assert api.model_info(rid).gated == "auto"
    assert rid not in run_sync(mirror, "alerts").stdout  # nothing open any more
    assert f"{rid}\tgating\tNone -> 'auto'" in run_sync(mirror, "alerts", "--all").stdout


# ---- on-demand -------------------------------------------------------------------------------------
def test_repositories_outside_the_allow_list_are_never_fetched(upstream, mirror, up, hf_cache):
    publish(up, "secretorg/hidden")
    for _ in range(100):  # the access log line of the upload is written just after its response
        if "POST /api/models/secretorg/hidden/commit/main" in upstream.log():
            break
        time.sleep(0.1)
    seen = len(upstream.log())
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("secretorg/hidden", "config.json", endpoint=mirror.url, cache_dir=hf_cache)
    with pytest.raises(RepositoryNotFoundError):
        mirror.api(None).model_info("secretorg/hidden")
    assert mirror.get("/api/models/secretorg/hidden/tree/main").status_code == 401
    assert mirror.get("/api/models/other/notallowed/refs").status_code == 401
    # Allowed, but the upstream has no such repository: a plain 404, and nothing is created here.
    with pytest.raises(RepositoryNotFoundError):
        mirror.api(None).model_info(f"{ONDEMAND}/nothing-here")
    assert mirror.get(f"/{ONDEMAND}/nothing-here").status_code == 404
    asked = upstream.log()[seen:]
    assert f"/api/models/{ONDEMAND}/nothing-here" in asked  # (so the log is written up to here)
    assert "secretorg/hidden" not in asked and "other/notallowed" not in asked


def test_on_demand_fetches_an_allowed_repository_then_serves_it_locally(upstream, mirror, up, admin, tmp_path):
    rid = f"{ONDEMAND}/tiny-{uuid.uuid4().hex[:6]}"
    weights = blob(rid, 2_000_000)
    sha = publish(up, rid, weights=weights)
    first = hf_hub_download(rid, "weights.bin", endpoint=mirror.url, cache_dir=str(tmp_path / "c1"))
    assert Path(first).read_bytes() == weights
    info = mirror.api(None).model_info(rid)  # waits for the pull the first request started
    assert info.sha == sha
    assert f"GET /{rid}/resolve/main/weights.bin" in upstream.log()
    data = mirror_api(mirror, admin, rid)
    assert data["origin"] == "on-demand" and data["lastStatus"] == "ok" and data["verified"] is True

    upstream.stop()
    second = hf_hub_download(rid, "weights.bin", endpoint=mirror.url, cache_dir=str(tmp_path / "c2"))
    assert Path(second).read_bytes() == weights
    assert hf_hub_download(rid, "config.json", endpoint=mirror.url, cache_dir=str(tmp_path / "c2"))
    assert mirror.api(None).model_info(rid).sha == sha


def test_a_failed_sync_is_recorded_and_changes_nothing(mirror, admin, tmp_path):
    (tmp_path / "up").mkdir()
    own = start_hub(tmp_path / "up", workers=1)  # this test stops it
    try:
        rid = f"{OWNER}/m-fail"
        api = own.api(own.users(OWNER)[0])
        sha = publish(api, rid)
        run_sync(mirror, "add", "--from", own.url, rid, "--every", "1h")
        run_sync(mirror, "run")
        api.create_commit(rid, [CommitOperationAdd("later.txt", b"later\n")], commit_message="later")
    finally:
        own.stop()
    run_sync(mirror, "add", "--from", own.url, rid, "--every", "1h")  # due again at once
    out = run_sync(mirror, "run", check=False)
    assert out.returncode == 1
    assert f"{rid}: FAILED" in out.stderr
    data = mirror_api(mirror, admin, rid)
    assert data["lastStatus"] == "failed" and own.host_port in data["lastError"]
    assert [r["status"] for r in data["runs"]] == ["failed", "ok"] and data["runs"][0]["failures"]
    assert data["lastSyncedCommit"] == sha
    assert {b.name: b.target_commit for b in mirror.api(None).list_repo_refs(rid).branches} == {"main": sha}
    page = mirror.get("/admin/mirrors", token=admin).text
    assert f'data-mirror="{rid}" data-status="failed"' in page
