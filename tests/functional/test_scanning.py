"""Security scanning of uploaded model files (issue #23) on a real server, with pickles made here
(tests/support/pickles.py): a benign state dict, one whose `__reduce__` runs os.system, and the
same hidden in a torch.save-style zip. Each arrives one way (a regular commit of the stock client,
its LFS upload, Xet, a git-LFS push) and must be flagged in the API (tree and paths-info with
expand, model_info's securityRepoStatus) and on the pages within seconds; the admin list shows it;
with the site setting on, a second node refuses dangerous files at every way in; and
`modelhub scan --all` scans what was stored without a scan.

The module uses the session hub; the refusing node is a second server on the same database and
storage (the setting is per process), which also shows the queue working across nodes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from huggingface_hub import CommitOperationAdd
from huggingface_hub.errors import HfHubHTTPError
from sqlalchemy import delete

from models_registry.db import Database
from models_registry.tables import FileScan

from tests.support.browser import browser, new_page, password_of, sign_in  # noqa: F401  (fixtures)
from tests.support.gitutil import make_git, remote_url
from tests.support.live import local_storage, start_hub
from tests.support.pickles import benign_state_dict, malicious, zip_checkpoint

OWNER = "scan-owner"
ADMIN = "scan-admin"
pytest_plugins = ["tests.support.browser"]
DEADLINE = 20.0  # seconds: "within seconds", with room for a busy CI machine

UPLOAD = textwrap.dedent("""
    import sys
    from huggingface_hub import HfApi
    endpoint, token, repo_id, path, name = sys.argv[1:6]
    HfApi(endpoint=endpoint, token=token).upload_file(path_or_fileobj=path, path_in_repo=name, repo_id=repo_id)
""")


@pytest.fixture(scope="module")
def tokens(hub) -> dict[str, str]:
    owner, = hub.users(OWNER)
    hub.cli("users", "create", ADMIN, "--password", password_of(ADMIN), "--admin")  # signs in; needs no token
    return {"owner": owner}


@pytest.fixture(scope="module")
def git(tmp_path_factory):
    return make_git(tmp_path_factory)


def client_upload(hub, token: str, rid: str, name: str, data: bytes, tmp: Path, xet: bool) -> str:
    """The stock client in a process of its own (HF_HUB_DISABLE_XET is read at import); returns the
    server log of the upload, to check which protocol carried the bytes."""
    src = tmp / name.replace("/", "_")
    src.write_bytes(data)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(HF_HOME=str(tmp / f"hf-home-{xet}"), HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_PROGRESS_BARS="1")
    if not xet:
        env["HF_HUB_DISABLE_XET"] = "1"
    start = len(hub.log())
    done = subprocess.run([sys.executable, "-c", UPLOAD, hub.url, token, rid, str(src), name], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return hub.log()[start:]


def poll(what, check, deadline: float = DEADLINE):
    """`what()` until `check(result)` holds; the last result otherwise (for the assertion message)."""
    end = time.monotonic() + deadline
    while True:
        got = what()
        if check(got) or time.monotonic() > end:
            return got
        time.sleep(0.2)


def security(api, rid: str, path: str):
    return api.get_paths_info(rid, [path], expand=True)[0].security


def wait_scanned(api, rid: str, path: str):
    sec = poll(lambda: security(api, rid, path), lambda s: s is not None and s["status"] not in ("queued", "unscanned"))
    assert sec is not None and sec["status"] not in ("queued", "unscanned"), f"{path} not scanned in time: {sec}"
    return sec


def imports_of(sec) -> set[tuple[str, str, str]]:
    return {(i["module"], i["name"], i["safety"]) for i in sec["pickle_import_scan"]["imports"]}


@pytest.fixture(scope="module")
def flagged_repo(hub, tokens, tmp_path_factory) -> dict:
    """OWNER/scanned: a benign state dict (LFS), a safetensors-named file, a text-protocol malicious
    pickle committed inline (regular), the malicious pickle in a zip checkpoint through Xet."""
    tmp = tmp_path_factory.mktemp("scan-uploads")
    api = hub.api(tokens["owner"])
    rid = f"{OWNER}/scanned"
    api.create_repo(rid)
    lfs_log = client_upload(hub, tokens["owner"], rid, "pytorch_model.bin", benign_state_dict(), tmp, xet=False)
    assert "info/lfs/objects/batch" in lfs_log and "/xet-cas/" not in lfs_log
    api.create_commit(rid, [CommitOperationAdd("optimizer.data", malicious(protocol=0)),
                            CommitOperationAdd("README.md", b"# scanned\n")], commit_message="regular files")
    xet_log = client_upload(hub, tokens["owner"], rid, "ckpt/model.pt", zip_checkpoint(malicious()), tmp, xet=True)
    assert "POST /xet-cas/v1/shards" in xet_log and "info/lfs/objects/batch" not in xet_log
    return {"rid": rid, "api": api}


def test_benign_state_dict_is_safe_with_its_imports_listed(flagged_repo):
    api, rid = flagged_repo["api"], flagged_repo["rid"]
    sec = wait_scanned(api, rid, "pytorch_model.bin")
    assert sec["status"] == "safe" and sec["safe"] is True
    assert sec["av_scan"] is None  # no antivirus runs here: never a claim that none was found
    assert imports_of(sec) == {("collections", "OrderedDict", "innocuous")}
    assert sec["pickle_import_scan"]["highestSafetyLevel"] == "innocuous"
    readme = security(api, rid, "README.md")
    assert readme["status"] == "safe" and readme["pickle_import_scan"] is None  # safe by format, never read


def test_regular_commit_of_a_malicious_pickle_is_flagged(flagged_repo):
    api, rid = flagged_repo["api"], flagged_repo["rid"]
    info = {e.path: e for e in api.get_paths_info(rid, ["optimizer.data"], expand=True)}
    assert info["optimizer.data"].lfs is None  # the premise: a regular (inline) file, kept in git
    sec = wait_scanned(api, rid, "optimizer.data")
    assert sec["status"] == "dangerous" and sec["safe"] is False
    assert ("posix", "system", "dangerous") in imports_of(sec)
    assert sec["pickle_import_scan"]["highestSafetyLevel"] == "dangerous"


def test_zip_checkpoint_uploaded_through_xet_is_flagged_in_the_tree(flagged_repo):
    api, rid = flagged_repo["api"], flagged_repo["rid"]
    wait_scanned(api, rid, "ckpt/model.pt")
    tree = {e.path: e for e in api.list_repo_tree(rid, recursive=True, expand=True)}
    assert tree["ckpt/model.pt"].security["status"] == "dangerous"
    assert ("posix", "system", "dangerous") in imports_of(tree["ckpt/model.pt"].security)
    assert tree["pytorch_model.bin"].security["status"] == "safe"
    assert tree[".gitattributes"].security["status"] == "safe"
    plain_tree = api.list_repo_tree(rid, recursive=True)  # without expand: as the Hub, no scan fields
    assert all(getattr(e, "security", None) is None for e in plain_tree)


def test_model_info_reports_the_repository_status(hub, flagged_repo):
    api, rid = flagged_repo["api"], flagged_repo["rid"]
    for path in ("pytorch_model.bin", "optimizer.data", "ckpt/model.pt"):
        wait_scanned(api, rid, path)
    status = api.model_info(rid, expand=["securityRepoStatus"]).security_repo_status
    assert status["scansDone"] is True
    issues = {f["path"]: f["level"] for f in status["filesWithIssues"]}
    assert issues == {"optimizer.data": "dangerous", "ckpt/model.pt": "dangerous"}
    assert api.model_info(rid, securityStatus=True).security_repo_status == status
    assert api.model_info(rid).security_repo_status is None  # only when asked for


def test_git_lfs_push_of_a_malicious_pickle_is_flagged(hub, tokens, git, tmp_path):
    api = hub.api(tokens["owner"])
    rid = f"{OWNER}/pushed"
    api.create_repo(rid)
    work = tmp_path / "work"
    git.clone(remote_url(hub, rid, tokens["owner"]), work)
    git.commit_files(work, {"weights/evil.pkl": malicious()}, "Add a pickle via git")
    assert git.out("lfs", "ls-files", "--name-only", cwd=work).splitlines() == ["weights/evil.pkl"]
    git.run("push", "origin", "main", cwd=work)
    sec = wait_scanned(api, rid, "weights/evil.pkl")
    assert sec["status"] == "dangerous" and ("posix", "system", "dangerous") in imports_of(sec)


# ---- the pages, in a real browser ------------------------------------------------------------------

def test_pages_show_badges_a_banner_and_the_admin_list(hub, tokens, flagged_repo, new_page):
    api, rid = flagged_repo["api"], flagged_repo["rid"]
    page = new_page()
    sign_in(page, ADMIN)
    # A file committed now is flagged on the page within seconds.
    api.upload_file(path_or_fileobj=malicious(protocol=0, command="echo late"), path_in_repo="late/state.data",
                    repo_id=rid)
    page.goto(f"/{rid}/tree/main/late")
    badge = page.locator("tr.file", has_text="state.data").locator("[data-scan]")
    end = time.monotonic() + DEADLINE
    while badge.get_attribute("data-scan") != "dangerous" and time.monotonic() < end:
        page.reload()
    assert badge.get_attribute("data-scan") == "dangerous"
    assert badge.inner_text() == "dangerous: posix.system"

    wait_scanned(api, rid, "pytorch_model.bin")
    wait_scanned(api, rid, "ckpt/model.pt")
    page.goto(f"/{rid}/tree/main")
    rows = {r.locator("a").first.inner_text(): r for r in page.locator("tr.file").all()}
    assert rows["pytorch_model.bin"].locator("[data-scan]").inner_text() == "safe"
    assert rows["optimizer.data"].locator("[data-scan]").inner_text() == "dangerous: posix.system"
    assert rows["README.md"].locator("[data-scan]").count() == 0  # no code, no badge

    page.goto(f"/{rid}")
    banner = page.locator("[data-scan-banner]")
    assert "contains files that run dangerous code" in banner.inner_text()
    assert {li.locator("code").inner_text() for li in banner.locator("li").all()} >= {"optimizer.data", "ckpt/model.pt"}
    page.goto(f"/{rid}/tree/main/ckpt")  # the folder of the checkpoint
    assert page.locator("[data-scan=dangerous]").inner_text() == "dangerous: posix.system"

    page.goto("/admin/scans?status=dangerous")
    listed = {r.get_attribute("data-file") for r in page.locator("[data-flagged] tbody tr").all()}
    assert {f"{rid}/optimizer.data", f"{rid}/ckpt/model.pt", f"{rid}/late/state.data"} <= listed
    assert {r.get_attribute("data-level") for r in page.locator("[data-flagged] tbody tr").all()} == {"dangerous"}

    zh = new_page(locale="zh-CN")
    zh.goto(f"/{rid}")
    assert zh.locator("[data-scan-banner]").inner_text().startswith("此模型包含")
    owner_page = new_page()
    sign_in(owner_page, OWNER)
    assert owner_page.goto("/admin/scans").status == 404  # site admins only


def test_a_clean_model_has_no_banner(hub, tokens, new_page):
    api = hub.api(tokens["owner"])
    rid = f"{OWNER}/clean"
    api.create_repo(rid)
    api.create_commit(rid, [CommitOperationAdd("state.data", benign_state_dict(protocol=0))], commit_message="clean")
    assert wait_scanned(api, rid, "state.data")["status"] == "safe"
    page = new_page()
    page.goto(f"/{rid}")
    assert page.locator("[data-scan-banner]").count() == 0
    assert api.model_info(rid, expand=["securityRepoStatus"]).security_repo_status == {
        "scansDone": True, "filesWithIssues": []}


# ---- refusing dangerous uploads (a second node with the site setting on) ---------------------------

@pytest.fixture
def refusing(hub, tmp_path_factory):
    """A node on the session hub's database, repositories and store, with
    MODELHUB_REFUSE_DANGEROUS_UPLOADS=1 (the setting is the process's, as every MODELHUB_* one).
    For its one test only: its Xet folder is its own, so its scanner must not take the session
    hub's queue afterwards (a real cluster shares its store, Xet included)."""
    data = tmp_path_factory.mktemp("scan-refusing")
    shared = {"MODELHUB_DATABASE_URL": database_of(hub),
              "MODELHUB_STORAGE_URL": hub.env.get("MODELHUB_STORAGE_URL") or local_storage(hub.data_dir)["MODELHUB_STORAGE_URL"],
              "MODELHUB_REPOS_DIR": hub.env.get("MODELHUB_REPOS_DIR") or str(hub.data_dir / "repos"),
              "MODELHUB_SECRET_KEY": hub.env.get("MODELHUB_SECRET_KEY", "scan-test-secret"),
              "MODELHUB_REFUSE_DANGEROUS_UPLOADS": "1",
              **{k: v for k, v in hub.env.items() if k.startswith("MODELHUB_S3_")}}  # the same bucket, when in S3
    node = start_hub(data, workers=1, env=shared)
    yield node
    node.stop()


def test_refusing_node_refuses_dangerous_files_from_every_way_in(hub, refusing, tokens, git, tmp_path):
    token = tokens["owner"]
    api = refusing.api(token)
    rid = f"{OWNER}/guarded"
    api.create_repo(rid)
    # API commit, inline (regular) file
    with pytest.raises(HfHubHTTPError) as e:
        api.create_commit(rid, [CommitOperationAdd("optimizer.data", malicious(protocol=0))], commit_message="evil")
    assert e.value.response.status_code == 400
    assert "optimizer.data was refused" in str(e.value) and "posix.system" in str(e.value)
    # API commit of an LFS file, uploaded over the git-LFS batch API by the stock client
    src = tmp_path / "evil.bin"
    src.write_bytes(malicious())
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(HF_HOME=str(tmp_path / "hf-home"), HF_HUB_DISABLE_XET="1", HF_HUB_DISABLE_TELEMETRY="1")
    done = subprocess.run([sys.executable, "-c", UPLOAD, refusing.url, token, rid, str(src), "pytorch_model.bin"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "pytorch_model.bin was refused" in done.stderr, done.stderr[-2000:]
    # git push (LFS): the pre-receive hook applies the same rule
    work = tmp_path / "work"
    git.clone(remote_url(refusing, rid, token), work)
    git.commit_files(work, {"ckpt/model.pt": zip_checkpoint(malicious())}, "Add a checkpoint")
    pushed = git.run("push", "origin", "main", cwd=work, check=False)
    assert pushed.returncode != 0 and "ckpt/model.pt was refused" in pushed.stderr, pushed.stderr
    assert [f for f in api.list_repo_files(rid)] == [".gitattributes"]  # nothing of it landed
    # benign files pass, and the node without the setting takes the dangerous one
    api.create_commit(rid, [CommitOperationAdd("state.data", benign_state_dict(protocol=0))], commit_message="ok")
    hub.api(token).create_commit(rid, [CommitOperationAdd("optimizer.data", malicious(protocol=0, command="echo b"))],
                                 commit_message="allowed there")
    assert wait_scanned(api, rid, "optimizer.data")["status"] == "dangerous"


# ---- `modelhub scan` -----------------------------------------------------------------------------

def database_of(hub) -> str:
    return hub.env.get("MODELHUB_DATABASE_URL") or f"sqlite:///{hub.data_dir / 'modelhub.db'}"


def forget_scans(hub) -> None:
    """As a database from before scanning existed: no verdict for any file."""
    database = Database(database_of(hub))
    try:
        with database.session(write=True) as s:
            s.execute(delete(FileScan))
    finally:
        database.dispose()


def test_scan_all_scans_files_stored_without_a_scan(hub, flagged_repo):
    api, rid = flagged_repo["api"], flagged_repo["rid"]
    wait_scanned(api, rid, "optimizer.data")
    forget_scans(hub)
    assert security(api, rid, "optimizer.data")["status"] == "unscanned"
    assert api.model_info(rid, expand=["securityRepoStatus"]).security_repo_status["scansDone"] is False
    done = hub.cli("scan", "--all")
    assert "scanning files" in done.stderr
    lines = {tuple(line.split("\t")[:2]) for line in done.stdout.splitlines()}
    assert {("dangerous", f"{rid}/optimizer.data"), ("dangerous", f"{rid}/ckpt/model.pt")} <= lines
    assert security(api, rid, "optimizer.data")["status"] == "dangerous"
    assert security(api, rid, "pytorch_model.bin")["status"] == "safe"
    again = hub.cli("scan", rid)
    assert "queued 0 files" in again.stderr  # all scanned: nothing queued twice
    assert hub.cli("scan", check=False).returncode != 0  # REPO or --all
