"""Pull: make (or bring up to date) a local mirror of a repository on a remote hub.

Order of work, so that an interruption or a refusal at any point leaves the mirror as it was:
1. ask the remote about the repository (access, gating, visibility, card) – nothing local yet;
2. bring objects in without moving a visible ref: `git fetch` into `refs/mirror-incoming/<run>/…`
   (git mode, identical commit hashes), or recreate the remote's commits as unreferenced objects
   (API mode, when the remote serves no git: each commit says `Upstream-Commit: <sha>` in its message
   so the next pull knows what it already has);
3. download every LFS object the new commits need and is not here yet (resumable, sha256-verified);
4. only then, under the repository lock, move the visible refs with compare-and-swap, and let the
   registry follow (`Commits.after_push`: head, card metadata, tags, search).
A remote that rewrote history (a branch that no longer contains our head, a moved tag) is refused
unless `force=True`.

A first pull (no local repository yet) must leave nothing if it fails, even when killed with
`kill -9`, which no cleanup code survives. So it never creates a visible repository up front: it
fills a bare repository under a fresh storage key that no row names (`GitStore.init_unfinished`,
marked unfinished, claimed by this process), and only when everything is there do the refs land,
the row appear, the LFS objects get linked and a missing namespace get created, all in one
transaction (`Repos.create_filled`, with `followed.ensure_mirror_namespace`). A failed pull deletes
the folder; a killed one leaves a nameless folder that nobody can see and that the start-up sweep
removes (`Repos.sweep_unfinished`: marked, unclaimed, unnamed). The next pull starts afresh (an LFS
download resumes from its partial file all the same). The alternative, creating the repository
first and recognising an empty one later, shows an empty repository until something cleans it
up, and cannot tell a killed pull's leftover from a repository someone created empty on purpose.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx2

from ..errors import RegistryError, RepoNotFound
from ..names import FULL_SHA_RE, split_repo_id, validate_path
from ..permissions import Principal
from ..records import RepoView
from ..storage.gitrepo import FILE_MODE, INCOMING_REFS
from ..storage.lfs import Pointer
from . import gitcli
from .followed import ensure_mirror_namespace
from .progress import Progress, or_silent
from .report import LfsCheck, SyncReport
from .transfer import download_object
from .upstream import Remote, SyncError

log = logging.getLogger(__name__)
# The operator's own tool acts with full rights; the namespace must exist all the same.
OPERATOR = Principal(user_id=0, name="modelhub-sync", is_admin=True)
INCOMING = INCOMING_REFS
MIRRORED_PREFIXES = ("refs/heads/", "refs/tags/")
TRAILER = "Upstream-Commit:"


def pull_repository(registry, upstream_url: str, src_repo: str, local_repo: str, *, revision: str | None = None,
                    token: str | None = None, progress: Progress | None = None, create: bool = True,
                    private: bool | None = None, force: bool = False,
                    max_rate: int | None = None) -> SyncReport:
    """Mirror `src_repo` of the hub at `upstream_url` into the local model repository `local_repo`.

    Never raises for an expected failure (unreachable hub, refused token, corrupted object, full
    disk, rewritten history): the report's `failed` says what happened and nothing was changed."""
    progress = or_silent(progress)
    report = SyncReport(source=f"{(upstream_url or '').rstrip('/')}/{src_repo}", target=f"local:{local_repo}")
    try:
        split_repo_id(src_repo)
        split_repo_id(local_repo)
        with Remote(upstream_url, src_repo, token, max_rate) as remote:
            info = remote.model_info()
            report.private = bool(info.get("private")) if "private" in info else None
            report.gated = info.get("gated")
            report.card_data = info.get("cardData")
            report.method = "git" if remote.git_service("git-upload-pack") else "api"
            target = _target(registry, local_repo, create,
                             private if private is not None else bool(report.private))
            with ExitStack() as unfinished:
                if target.repo is None:
                    unfinished.enter_context(registry.git.claim(target.key))
                    registry.git.init_unfinished(target.key)
                    unfinished.callback(_drop_unfinished, registry, target)
                with registry.git.incoming(target.key):
                    if report.method == "git":
                        _pull_git(registry, target, remote, revision, force, progress, report)
                    else:
                        _pull_api(registry, target, remote, revision, force, progress, report)
    except (RegistryError, OSError) as e:
        report.failed.append(getattr(e, "message", None) or f"{e.__class__.__name__}: {e}")
    except httpx2.TransportError as e:  # raised through huggingface_hub (API mode)
        report.failed.append(f"Connection to {upstream_url} failed: {e.__class__.__name__}: {e} (run the command again)")
    return report


# ---- the local repository ---------------------------------------------------------------------
@dataclass
class _Target:
    """Where a pull writes: the local repository (`repo`), or, on a first pull, the unfinished bare
    repository under `key` that becomes it once everything is there (`repo` None until then)."""

    key: str
    repo_id: str
    private: bool
    repo: RepoView | None = None
    fetched: set[str] = field(default_factory=set)  # LFS objects this pull downloaded and verified

    def has_object(self, registry, oid: str, size: int) -> bool:
        """Whether the repository may already use this object. A new one holds only what this pull
        fetched: an object the store has for other repositories is fetched again, or an upstream
        could name any object of this hub by its hash and have it served from a public mirror."""
        if self.repo is not None:
            return registry.commits.lfs_object_size(self.repo, oid) == size
        return oid in self.fetched


def _target(registry, local_repo: str, create: bool, private: bool) -> _Target:
    try:
        repo = registry.repos.get("model", local_repo, OPERATOR)
        return _Target(repo.storage_key, repo.repo_id, repo.private, repo)
    except RepoNotFound:
        if not create:
            raise SyncError(f"There is no local repository {local_repo} (create it, or let the pull create it)") from None
    return _Target(uuid.uuid4().hex, local_repo, private)


def _drop_unfinished(registry, target: _Target) -> None:
    """A first pull that failed leaves nothing: the folder nobody could see goes."""
    if target.repo is None:
        registry.git.delete(target.key)


def _publish(registry, target: _Target, git_dir: Path, updates: dict[str, str], report: SyncReport) -> None:
    """First pull: the refs land in the folder nobody sees, then one transaction makes it the
    repository (and its namespace, if the upstream's owner has none here)."""
    namespace = split_repo_id(target.repo_id)[0]
    with registry.git.writing(target.key) as git:
        for ref, new in updates.items():
            if not git.set_ref(ref, new, None):
                raise SyncError(f"{ref} could not be set in the new repository")
        target.repo = registry.repos.create_filled(
            OPERATOR, "model", target.repo_id, target.key, private=target.private, lfs_oids=target.fetched,
            prepare=lambda s: ensure_mirror_namespace(s, namespace))
        report.refs_updated = {ref: (None, new) for ref, new in updates.items()}
        registry.commits.after_push(git, target.repo, {r: (None, _commit_of(git_dir, n)) for r, n in updates.items()})


def _is_placeholder(git_dir: Path, sha: str) -> bool:
    """The commit `Repos.create` makes (only .gitattributes, no parent): a new mirror may replace it."""
    try:
        parents = gitcli.out(git_dir, "rev-list", "--parents", "-n", "1", sha).split()
        files = gitcli.out(git_dir, "ls-tree", "--name-only", sha).split()
        message = gitcli.out(git_dir, "log", "-1", "--format=%s", sha).strip()
    except SyncError:
        return False
    return len(parents) == 1 and files == [".gitattributes"] and message == "initial commit"


def _wanted(remote_refs: dict[str, str], revision: str | None) -> dict[str, str]:
    """The remote refs to mirror: branches and tags, or just the one named by `revision`."""
    if revision is None:
        return {r: s for r, s in remote_refs.items() if r.startswith(MIRRORED_PREFIXES)}
    if FULL_SHA_RE.match(revision):
        raise SyncError("--revision must name a branch or a tag (a commit id cannot be mirrored as a ref)")
    for ref in (revision, f"refs/heads/{revision}", f"refs/tags/{revision}"):
        if ref in remote_refs and ref.startswith(MIRRORED_PREFIXES):
            return {ref: remote_refs[ref]}
    raise SyncError(f"The upstream has no branch or tag named {revision!r}")


def _check_history(git_dir: Path, local: dict[str, str], incoming: dict[str, str], force: bool) -> list[str]:
    """Refs whose move would drop history we have (not a fast-forward). Empty when all is well."""
    rewritten = []
    for ref, new in incoming.items():
        old = local.get(ref)
        if old is None or old == new or force:
            continue
        if ref.startswith("refs/heads/"):
            old_c = gitcli.peel(git_dir, old)
            if _is_placeholder(git_dir, old_c) or gitcli.is_ancestor(git_dir, old_c, gitcli.peel(git_dir, new)):
                continue
        rewritten.append(ref)
    return rewritten


def _check_path(path: str) -> None:
    """The rules pushed paths follow here apply to pulled ones too."""
    try:
        validate_path(path)
    except RegistryError as e:
        raise SyncError(f"The upstream has a file path this hub refuses ({e.message}); nothing was changed") from None


def _rewritten_message(refs: list[str]) -> str:
    return ("The upstream rewrote history: " + ", ".join(refs) + " upstream no longer contain(s) what this "
            "repository has here (or the local repository has commits of its own). Nothing was changed; "
            "pull with --force to follow the upstream anyway")


def _note_gone(git_dir: Path, before: dict[str, str], wanted: dict[str, str], revision: str | None,
               report: SyncReport) -> None:
    """Branches and tags the upstream deleted stay here (a mirror never loses data by itself): say so."""
    if revision is not None:
        return
    for ref, sha in sorted(before.items()):
        if ref.startswith(MIRRORED_PREFIXES) and ref not in wanted and not (
                ref.startswith("refs/heads/") and _is_placeholder(git_dir, gitcli.peel(git_dir, sha))):
            report.notes.append(f"{ref} no longer exists upstream; it is kept here")


def _move_refs(registry, target: _Target, git_dir: Path, before: dict[str, str], updates: dict[str, str],
               report: SyncReport) -> None:
    """Move the visible refs at once, under the repository lock, each by compare-and-swap from the
    state this pull started from; if anyone moved one meanwhile, nothing is moved."""
    if target.repo is None:
        _publish(registry, target, git_dir, updates, report)
        return
    repo = target.repo
    changed: dict[str, tuple[str | None, str | None]] = {}
    with registry.git.writing(repo.storage_key) as git:
        now = gitcli.refs(git_dir)
        if any(now.get(ref) != before.get(ref) for ref in updates):
            raise SyncError("The local repository changed during the pull (a push or a commit?): run the pull again")
        for ref, new in updates.items():
            old = before.get(ref)
            if old == new:
                continue
            if not git.set_ref(ref, new, old):
                for done, (o, n) in changed.items():  # undo: the mirror moves as a whole or not at all
                    if o is None:
                        git.delete_ref(done, n)
                    else:
                        git.set_ref(done, o, n)
                raise SyncError(f"{ref} moved during the pull: run the pull again")
            changed[ref] = (old, new)
        report.refs_updated = changed
        if changed:
            registry.commits.after_push(git, repo, {r: (_commit_of(git_dir, o), _commit_of(git_dir, n))
                                                    for r, (o, n) in changed.items()})


def _commit_of(git_dir: Path, sha: str | None) -> str | None:
    return gitcli.peel(git_dir, sha) if sha else None


# ---- LFS --------------------------------------------------------------------------------------
def _fetch_lfs(registry, target: _Target, remote: Remote, pointers: dict[str, tuple[Pointer, str]],
               ref: str | None, progress: Progress, report: SyncReport) -> None:
    """Download the objects among `pointers` (oid -> (pointer, a path naming it)) this repository
    lacks, through the remote's LFS batch API."""
    missing = {oid: pp for oid, pp in pointers.items() if not target.has_object(registry, oid, pp[0].size)}
    report.skipped += len(pointers) - len(missing)
    if not missing:
        return
    answers = remote.lfs_batch("download", [{"oid": o, "size": p.size} for o, (p, _) in missing.items()], ref)
    by_oid = {a.get("oid"): a for a in answers}
    for oid, (pointer, path) in missing.items():
        answer = by_oid.get(oid) or {}
        action = (answer.get("actions") or {}).get("download")
        if action is None:
            err = (answer.get("error") or {}).get("message", "not offered by the upstream")
            raise SyncError(f"LFS object of {path} ({oid}) cannot be downloaded: {err}")
        fetched = download_object(registry, target.repo, remote, action["href"], remote.action_headers(action),
                                  oid, pointer.size, path, progress)
        target.fetched.add(oid)
        _count(report, fetched)


def _count(report: SyncReport, fetched) -> None:
    report.lfs_objects += 1
    report.lfs_bytes += fetched.bytes_transferred
    report.bytes_transferred += fetched.bytes_transferred
    report.bytes_resumed += fetched.bytes_resumed


def _lfs_checks(report: SyncReport, per_commit: dict[str, list[tuple[str, Pointer]]]) -> None:
    for commit, files in per_commit.items():
        report.lfs_checks[commit] = [LfsCheck(path, p.oid, p.oid, p.size) for path, p in files]


# ---- git mode ---------------------------------------------------------------------------------
def _pull_git(registry, target: _Target, remote: Remote, revision: str | None, force: bool, progress: Progress,
              report: SyncReport) -> None:
    git_dir = registry.git.path_for(target.key)
    env = remote.git_env()
    wanted = _wanted(gitcli.ls_remote(remote.git_url, env), revision)
    before = gitcli.refs(git_dir)
    todo = {ref: sha for ref, sha in wanted.items() if before.get(ref) != sha}
    _note_gone(git_dir, before, wanted, revision, report)
    run_ns = f"{INCOMING}/{uuid.uuid4().hex[:12]}"
    try:
        if not todo:
            return
        packs_before = gitcli.packs(git_dir)
        spec = [f"+{ref}:{run_ns}/{ref[len('refs/'):]}" for ref in todo]
        progress.begin("git objects", None, unit="objects")
        state = {"total": None}

        def on_progress(_phase: str, n: int, total: int) -> None:
            if state["total"] != total:
                state["total"] = total
                progress.begin("git objects", total, unit="objects")
                state["n"] = 0
            progress.advance(n - state.get("n", 0))
            state["n"] = n

        code, err = gitcli.run_network(git_dir, ["fetch", "--no-tags", "--progress", "--no-write-fetch-head",
                                                 remote.git_url, *spec], env, on_progress)
        progress.end()
        if code != 0:
            raise SyncError(gitcli.explain_remote_failure(err, remote.display))
        report.git_objects, pack_bytes = gitcli.pack_stats(git_dir, gitcli.packs(git_dir) - packs_before)
        report.bytes_transferred += pack_bytes
        arrived = {ref[len(run_ns) + 1:]: sha for ref, sha in gitcli.refs(git_dir, run_ns).items()}
        incoming = {f"refs/{ref}": sha for ref, sha in arrived.items()}
        rewritten = _check_history(git_dir, before, incoming, force)
        if rewritten:
            raise SyncError(_rewritten_message(rewritten))
        tips = sorted(set(incoming.values()))
        # What our visible refs reach has its LFS objects here; what a killed pull left under
        # INCOMING may not, so it does not count as known.
        known = sorted({sha for ref, sha in before.items() if not ref.startswith(INCOMING + "/")} - set(tips))
        commits = gitcli.new_commits(git_dir, tips, known)
        per_commit = gitcli.lfs_pointers(git_dir, commits, _check_path)
        pointers: dict[str, tuple[Pointer, str]] = {}
        for files in per_commit.values():
            for path, p in files:
                pointers.setdefault(p.oid, (p, path))
        _fetch_lfs(registry, target, remote, pointers, next(iter(todo)), progress, report)
        _lfs_checks(report, per_commit)
        _move_refs(registry, target, git_dir, before, incoming, report)
    finally:
        # Ours, and any left by a pull that was killed (kept until now: their objects were "haves").
        # Under the repository lock: a deletion may rewrite packed-refs, as commits do.
        with registry.git.writing(target.key):
            for ref, sha in gitcli.refs(git_dir, INCOMING).items():
                gitcli.run(git_dir, "update-ref", "-d", ref, sha, check=False)


# ---- API mode ---------------------------------------------------------------------------------
def _pull_api(registry, target: _Target, remote: Remote, revision: str | None, force: bool, progress: Progress,
              report: SyncReport) -> None:
    from huggingface_hub.utils import HfHubHTTPError

    api = remote.hf_api()
    git_dir = registry.git.path_for(target.key)
    try:
        up_refs = api.list_repo_refs(remote.repo_id)
        remote_refs = {**{b.ref: b.target_commit for b in up_refs.branches},
                       **{t.ref: t.target_commit for t in up_refs.tags}}
        wanted = _wanted(remote_refs, revision)
        before = gitcli.refs(git_dir)
        mapping = _known_upstream_commits(git_dir, [s for r, s in before.items() if r.startswith(MIRRORED_PREFIXES)])
        local_target: dict[str, str] = {}
        new_checks: dict[str, list[tuple[str, Pointer]]] = {}
        for ref, upstream_sha in sorted(wanted.items(), key=lambda kv: not kv[0].startswith("refs/heads/")):
            if upstream_sha not in mapping:
                branch = ref[len("refs/heads/"):] if ref.startswith("refs/heads/") else upstream_sha
                history = list(api.list_repo_commits(remote.repo_id, revision=branch))
                _replay(registry, target, remote, api, git_dir, history, mapping, new_checks, progress, report)
            local_target[ref] = mapping[upstream_sha]
    except HfHubHTTPError as e:
        status = e.response.status_code if e.response is not None else 0
        if status in (401, 403, 404):
            raise remote.access_error(e.response) from None
        raise SyncError(f"{remote.display}: {e}") from None
    updates = {ref: sha for ref, sha in local_target.items() if before.get(ref) != sha}
    _note_gone(git_dir, before, wanted, revision, report)
    rewritten = _check_history(git_dir, before, updates, force)
    if rewritten:
        raise SyncError(_rewritten_message(rewritten))
    for commit, files in new_checks.items():
        report.lfs_checks[commit] = [LfsCheck(path, p.oid, p.oid, p.size) for path, p in files]
    if updates:
        _move_refs(registry, target, git_dir, before, updates, report)


def _known_upstream_commits(git_dir: Path, tips: list[str]) -> dict[str, str]:
    """upstream commit id -> our commit, from the `Upstream-Commit:` lines of our history."""
    if not tips:
        return {}
    mapping = {}
    for record in gitcli.out(git_dir, "log", "--format=%H%x1f%B%x1e", *tips).split("\x1e"):
        sha, _, body = record.strip().partition("\x1f")
        for line in body.splitlines():
            if line.startswith(TRAILER):
                mapping[line[len(TRAILER):].strip()] = sha
    return mapping


def _replay(registry, target: _Target, remote: Remote, api, git_dir: Path, history: list,
            mapping: dict[str, str], checks: dict, progress: Progress, report: SyncReport) -> None:
    """Recreate, oldest first, the commits of `history` (newest first, as the API lists them) that we
    do not have yet, each as the child of the previous one."""
    start = next((i for i, c in enumerate(history) if c.commit_id in mapping), len(history))
    parent = mapping[history[start].commit_id] if start < len(history) else None
    with registry.git.open(target.key) as git:
        for info in reversed(history[:start]):
            files: dict[str, tuple[int, str]] = {}
            lfs_files: list[tuple[str, Pointer]] = []
            entries = [e for e in api.list_repo_tree(remote.repo_id, revision=info.commit_id, recursive=True,
                                                     expand=False) if hasattr(e, "blob_id")]
            for entry in entries:
                _check_path(entry.path)
            for entry in entries:
                files[entry.path] = (FILE_MODE, _api_blob(registry, target, remote, git, git_dir, info.commit_id,
                                                          entry, lfs_files, progress, report))
            tree = git.write_tree(files)
            new = _commit_tree(git_dir, tree, parent, info)
            report.git_objects += 1
            mapping[info.commit_id] = new
            checks[new] = lfs_files
            parent = new


def _api_blob(registry, target: _Target, remote: Remote, git, git_dir: Path, commit: str, entry, lfs_files: list,
              progress: Progress, report: SyncReport) -> str:
    """The git blob for one file of an upstream commit: reused if we have it, else downloaded and
    checked against the blob id (and, for LFS files, the sha256) the upstream reported."""
    url = f"{remote.url}/{remote.repo_id}/resolve/{commit}/{quote(entry.path)}"
    have_blob = gitcli.run(git_dir, "cat-file", "-e", f"{entry.blob_id}^{{blob}}", check=False).returncode == 0
    if entry.lfs is not None:
        pointer = Pointer(entry.lfs.sha256, entry.lfs.size)
        lfs_files.append((entry.path, pointer))
        if target.has_object(registry, pointer.oid, pointer.size):
            report.skipped += 1
        else:
            _count(report, download_object(registry, target.repo, remote, url, remote.auth(), pointer.oid,
                                           pointer.size, entry.path, progress))
            target.fetched.add(pointer.oid)
        sha = git.add_blob(pointer.encode())
    else:
        if have_blob:
            return entry.blob_id
        resp = remote.request("GET", url)
        if resp.status_code != 200:
            raise remote.access_error(resp, f"downloading {entry.path}")
        report.bytes_transferred += len(resp.content)
        sha = git.add_blob(resp.content)
    if sha != entry.blob_id:
        raise SyncError(f"Corrupted file {entry.path} at upstream commit {commit}: its bytes hash to git blob "
                        f"{sha}, the upstream announced {entry.blob_id}; nothing was changed")
    report.git_objects += 0 if have_blob else 1
    return sha


def _commit_tree(git_dir: Path, tree: str, parent: str | None, info) -> str:
    """Our commit for an upstream one: same message, author and date, plus the Upstream-Commit line."""
    author = (info.authors[0] if info.authors else "") or "upstream"
    when = info.created_at if isinstance(info.created_at, dt.datetime) else dt.datetime.now(dt.timezone.utc)
    message = (info.title or "").strip() or "(no message)"
    body = (info.message or "").strip()
    if body and body != message:
        message += "\n\n" + body
    message += f"\n\n{TRAILER} {info.commit_id}\n"
    env = gitcli._plain_env()
    date = when.isoformat()
    env.update({"GIT_AUTHOR_NAME": author, "GIT_AUTHOR_EMAIL": f"{author}@users.noreply.upstream",
                "GIT_COMMITTER_NAME": "modelhub-sync", "GIT_COMMITTER_EMAIL": "sync@modelhub.invalid",
                "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date})
    args = ["commit-tree", tree, *(["-p", parent] if parent else []), "-F", "-"]
    return gitcli.run(git_dir, *args, env=env, input=message.encode()).stdout.decode().strip()
