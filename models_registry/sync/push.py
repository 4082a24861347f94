"""Push: publish a local repository to a remote hub (huggingface.co, a mirror, another ModelHub).

Where the destination takes git pushes, LFS objects it lacks are uploaded first (its LFS batch API,
then the verify action), and `git push` sends the history: commit hashes are identical there.
Only what the destination does not have travels (git negotiates; the batch API answers without an
upload action for objects it already holds). Refs are never forced: a destination that moved on
refuses the push and says so. Without git, each branch is brought to our head with one commit
through the HF API (`create_commit`), uploading only the files that differ.
"""

from __future__ import annotations

import logging

import httpx2

from ..errors import RegistryError
from ..names import split_repo_id
from . import gitcli
from .progress import Progress, or_silent
from .pull import MIRRORED_PREFIXES, OPERATOR
from .report import SyncReport
from .transfer import upload_object
from .upstream import Remote, SyncError

log = logging.getLogger(__name__)


def push_repository(registry, local_repo: str, dest_url: str, dest_repo: str, *, token: str,
                    progress: Progress | None = None) -> SyncReport:
    """Publish every branch and tag of `local_repo` to `dest_repo` on the hub at `dest_url`.

    Expected failures (unreachable hub, refused token, diverged destination) end up in
    `report.failed`; what the destination already accepted stays there (it is its own state)."""
    progress = or_silent(progress)
    report = SyncReport(source=f"local:{local_repo}", target=f"{(dest_url or '').rstrip('/')}/{dest_repo}")
    try:
        split_repo_id(dest_repo)
        if not token:
            raise SyncError("A token with write access to the destination is required (--token)")
        repo = registry.repos.get("model", local_repo, OPERATOR)
        with Remote(dest_url, dest_repo, token) as remote:
            _create_destination(remote, repo)
            report.method = "git" if remote.git_service("git-receive-pack") else "api"
            if report.method == "git":
                _push_git(registry, repo, remote, progress, report)
            else:
                _push_api(registry, repo, remote, progress, report)
    except (RegistryError, OSError) as e:
        report.failed.append(getattr(e, "message", None) or f"{e.__class__.__name__}: {e}")
    except httpx2.TransportError as e:  # raised through huggingface_hub (API mode)
        report.failed.append(f"Connection to {dest_url} failed: {e.__class__.__name__}: {e} (run the command again)")
    return report


def _create_destination(remote: Remote, repo) -> None:
    from huggingface_hub.utils import HfHubHTTPError

    try:
        remote.hf_api().create_repo(remote.repo_id, exist_ok=True, private=repo.private)
    except HfHubHTTPError as e:
        if e.response is not None and e.response.status_code in (401, 403, 404):
            raise remote.access_error(e.response, "creating the repository") from None
        raise SyncError(f"{remote.display}: cannot create the repository: {e}") from None
    except OSError as e:
        raise SyncError(f"Cannot reach {remote.url}: {e}") from None


def _push_git(registry, repo, remote: Remote, progress: Progress, report: SyncReport) -> None:
    git_dir = registry.git.path_for(repo.storage_key)
    env = remote.git_env()
    theirs = gitcli.ls_remote(remote.git_url, env)
    ours = {r: s for r, s in gitcli.refs(git_dir).items() if r.startswith(MIRRORED_PREFIXES)}
    todo = {r: s for r, s in ours.items() if theirs.get(r) != s}
    if not todo:
        return
    present = [s for s in set(theirs.values())
               if gitcli.run(git_dir, "cat-file", "-e", s, check=False).returncode == 0]
    tips = sorted(set(todo.values()))
    pointers = gitcli.new_pointer_oids(git_dir, tips, present)
    if pointers:
        answers = remote.lfs_batch("upload", [{"oid": p.oid, "size": p.size} for p in pointers.values()],
                                   ref=next(iter(todo)))
        for answer in answers:
            oid = answer.get("oid")
            if answer.get("error"):
                raise SyncError(f"The destination refused LFS object {oid}: {answer['error'].get('message')}")
            actions = answer.get("actions") or {}
            if "upload" not in actions:
                report.skipped += 1
                continue
            if not registry.blobs.exists(oid):
                raise SyncError(f"LFS object {oid} is referenced by {repo.repo_id} but missing from this hub's store")
            report.bytes_transferred += upload_object(registry, remote, actions["upload"], actions.get("verify"),
                                                      oid, pointers[oid].size, oid[:12], progress)
            report.lfs_objects += 1
    report.git_objects = gitcli.count_objects(git_dir, tips, present)
    progress.begin("git objects", report.git_objects, unit="objects")
    state = {"n": 0}

    def on_progress(phase: str, n: int, total: int) -> None:
        progress.advance(n - state["n"])
        state["n"] = n

    # Never forced, except over the automatic first commit of a repository created empty.
    spec = [f"{'+' if ref in theirs and _is_placeholder(remote, theirs[ref]) else ''}{ref}:{ref}" for ref in todo]
    code, err = gitcli.run_network(git_dir, ["push", "--progress", remote.git_url, *spec], env,
                                   on_progress)
    progress.end()
    if code != 0:
        if "non-fast-forward" in err or "fetch first" in err or "rejected" in err:
            raise SyncError(f"{remote.display} has commits this repository does not have (or refused a ref): "
                            f"nothing was forced. git said: {err.strip()[-400:]}")
        raise SyncError(gitcli.explain_remote_failure(err, remote.display))
    report.refs_updated = {ref: (theirs.get(ref), sha) for ref, sha in todo.items()}


def _is_placeholder(remote: Remote, sha: str) -> bool:
    """Is `sha` (on the remote) the lone "initial commit" holding only .gitattributes that
    create_repo makes? Replacing it loses nothing."""
    from huggingface_hub.utils import HfHubHTTPError

    api = remote.hf_api()
    try:
        commits = list(api.list_repo_commits(remote.repo_id, revision=sha))
        files = api.list_repo_files(remote.repo_id, revision=sha)
    except HfHubHTTPError:
        return False
    return len(commits) == 1 and commits[0].title == "initial commit" and files == [".gitattributes"]


def _push_api(registry, repo, remote: Remote, progress: Progress, report: SyncReport) -> None:
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete
    from huggingface_hub.utils import HfHubHTTPError

    api = remote.hf_api()
    git_dir = registry.git.path_for(repo.storage_key)
    ours = {r: s for r, s in gitcli.refs(git_dir).items() if r.startswith("refs/heads/")}
    try:
        dest = api.list_repo_refs(remote.repo_id)
        their_branches = {b.name for b in dest.branches}
        with registry.git.open(repo.storage_key) as git:
            for ref, sha in sorted(ours.items(), key=lambda kv: kv[0] != f"refs/heads/{repo.default_branch}"):
                branch = ref[len("refs/heads/"):]
                if branch not in their_branches:
                    api.create_branch(remote.repo_id, branch=branch, exist_ok=True)
                theirs = {e.path: e for e in api.list_repo_tree(remote.repo_id, revision=branch, recursive=True)
                          if hasattr(e, "blob_id")}
                files = git.files(sha)
                ops: list = []
                infos = registry.repos.blob_infos(git, [i.sha for i in files.values()])
                for path, item in files.items():
                    if path in theirs and theirs[path].blob_id == item.sha:
                        report.skipped += 1
                        continue
                    size, lfs = infos[item.sha]
                    if lfs is not None:
                        local = registry.blobs.local_path(lfs.oid)
                        # Xet-uploaded files have no local path: stream them (rebuilt from xorbs)
                        ops.append(CommitOperationAdd(path, str(local) if local is not None
                                                      else registry.blobs.open(lfs.oid)))
                        report.lfs_objects += 1
                    else:
                        ops.append(CommitOperationAdd(path, git.read_blob(item.sha)))
                        report.git_objects += 1
                    report.bytes_transferred += size
                ops += [CommitOperationDelete(p) for p in theirs if p not in files]
                if not ops:
                    continue
                progress.note(f"committing {len(ops)} changed files to {branch}")
                title = git.commit(sha).title
                info = api.create_commit(remote.repo_id, ops, commit_message=f"{title} (sync of {sha[:12]})",
                                         commit_description=f"Synced from {repo.repo_id} at {sha}", revision=branch)
                report.refs_updated[ref] = (None, info.oid)
    except HfHubHTTPError as e:
        status = e.response.status_code if e.response is not None else 0
        if status in (401, 403, 404):
            raise remote.access_error(e.response, "committing") from None
        raise SyncError(f"{remote.display}: {e}") from None
    report.notes.append("The destination does not take git pushes: each branch was brought to our head with "
                        "one commit through the HF API (history is not copied; tags are not pushed)")
