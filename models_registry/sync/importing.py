"""Publishing model files that are already on this machine, without sending them over the network.

Two kinds of source:
- a plain folder (`/data/my-model`, or a `snapshot_download(local_dir=...)` result): its files
  become one commit on a branch;
- a Hugging Face cache entry (`~/.cache/huggingface/hub/models--ORG--NAME`): every branch in its
  `refs/` becomes a branch here holding that ref's snapshot (or just the snapshot folder given,
  `.../snapshots/<commit>`). The cache names its blobs by their sha256 (LFS files) or git blob
  sha1 (the rest), so each file is checked against its name while it is hashed: a corrupted cache
  is refused rather than published.

Each file is read once: copied into the staging folder while every hash is computed, or (with
`link`) hard-linked there and then hashed. LFS files then reach the blob store by a rename, so an
import of N bytes costs N bytes of reading and, without `link`, N of writing. Files whose content
is already on the branch are skipped; if nothing changed no commit is made.

Nothing is half-applied: all files of a branch are staged before its one commit; a repository
created by the import is removed again if its first commit fails.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..commits import AddFile, DeletePath, Operation
from ..errors import BadRequest, RepoNotFound
from ..names import validate_branch_name, validate_path
from ..storage.lfs import LfsRules, parse_pointer
from ..storage.staging import StagedFile

SHA256_NAME = re.compile(r"^[0-9a-f]{64}$")
SHA1_NAME = re.compile(r"^[0-9a-f]{40}$")
# Folders that are bookkeeping of tools, never model content.
SKIPPED_DIRS = {".git", ".cache"}


@dataclass
class Snapshot:
    """One tree of files to publish on `branch`."""

    branch: str
    folder: Path
    upstream_commit: str | None = None  # the cache's commit id for this snapshot

    def files(self) -> list[tuple[str, Path]]:
        """(repository path, file on disk), symlinks followed (cache snapshots are symlinks)."""
        out: list[tuple[str, Path]] = []
        for root, dirs, names in os.walk(self.folder, followlinks=True):
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
            for name in sorted(names):
                disk = Path(root) / name
                rel = disk.relative_to(self.folder).as_posix()
                if not disk.is_file():
                    raise BadRequest(f"{rel} is not a readable regular file (a broken link?)")
                out.append((validate_path(rel), disk))
        return out


@dataclass
class ImportReport:
    repo_id: str
    created: bool = False
    commits: dict[str, str] = field(default_factory=dict)  # branch -> new commit (absent: unchanged)
    files: int = 0          # files read
    bytes: int = 0          # bytes read
    unchanged: int = 0      # files already on the branch with the same content
    lfs_files: int = 0      # files that went to the LFS store


def find_snapshots(path: Path, revision: str | None = None) -> list[Snapshot]:
    """What `path` holds: a Hugging Face cache entry, one of its snapshots, or a plain folder."""
    path = path.expanduser()
    if not path.is_dir():
        raise BadRequest(f"{path} is not a folder")
    if (path / "snapshots").is_dir() and (path / "refs").is_dir():
        snaps = []
        for ref_file in sorted((path / "refs").rglob("*")):
            branch = ref_file.relative_to(path / "refs").as_posix()
            if not ref_file.is_file() or branch.startswith("pr/"):
                continue  # pull-request refs are not branches
            commit = ref_file.read_text().strip()
            folder = path / "snapshots" / commit
            if not SHA1_NAME.match(commit) or not folder.is_dir():
                raise BadRequest(f"refs/{branch} names {commit!r}, which is not a snapshot in this cache")
            if revision is None or revision == branch:
                snaps.append(Snapshot(validate_branch_name(branch), folder, commit))
        if not snaps:
            raise BadRequest(f"No branch {revision!r} in {path}/refs" if revision else f"{path}/refs names no branch")
        return sorted(snaps, key=lambda s: s.branch != "main")
    commit = path.name if path.parent.name == "snapshots" and SHA1_NAME.match(path.name) else None
    return [Snapshot(validate_branch_name(revision or "main"), path, commit)]


def _check_cache_name(rel: str, disk: Path, staged: StagedFile) -> None:
    """A cache blob is named after its content; a mismatch means the cache is corrupted. The name is
    the one the snapshot's link gives (`../../blobs/<sha256 or git sha1>`): huggingface_hub's newer
    caches link that blob in turn to a store shared across repositories (`<cache>/blobs/ab/<xet
    hash>`), whose name says nothing of the sha256."""
    if not disk.is_symlink():
        return  # a plain folder, not a cache snapshot
    link = disk.parent / disk.readlink()
    if link.parent.name != "blobs":
        return
    name = link.name
    expected = staged.sha256 if SHA256_NAME.match(name) else staged.sha1 if SHA1_NAME.match(name) else None
    if expected is not None and expected != name:
        raise BadRequest(f"{rel}: the cached blob {name} does not match its content "
                         f"(hashes to {expected}); the cache is corrupted, nothing was imported")


def import_snapshots(registry, snapshots: list[Snapshot], repo_id: str, *, user: str, private: bool = False,
                     link: bool = False, message: str | None = None,
                     progress: Callable[[int], None] | None = None) -> ImportReport:
    """Publish `snapshots` into model repository `repo_id` (created if missing) as `user`."""
    principal = registry.accounts.principal_for_name(user)
    namespace, _, name = repo_id.partition("/")
    if not name:
        raise BadRequest(f"Repository id {repo_id!r} must be NAMESPACE/NAME")
    report = ImportReport(repo_id)
    try:
        repo = registry.repos.get("model", repo_id, principal, need="write")
    except RepoNotFound:
        repo = None
    for snap in snapshots:
        ops, staged = _stage(registry, snap, link, report, progress)
        try:
            if repo is None:
                repo = registry.repos.create(principal, "model", namespace, name, private=private)
                report.created = True
            ops = _changes(registry, repo, snap.branch, ops, report)
            if not ops:
                continue
            if snap.branch != repo.default_branch and snap.branch not in _branches(registry, repo):
                registry.repos.create_branch(principal, repo, snap.branch, None)
            title = message or (f"Import snapshot {snap.upstream_commit} from a Hugging Face cache"
                                if snap.upstream_commit else f"Import {snap.folder.name}")
            result = registry.commits.commit(principal, repo, snap.branch, ops, title)
            report.commits[snap.branch] = result.sha
        except BaseException:
            for f in staged:
                f.discard()
            if report.created and not report.commits:
                registry.repos.delete(principal, "model", repo.repo_id)
                report.created = False
            raise
    return report


def _stage(registry, snap: Snapshot, link: bool, report: ImportReport,
           progress: Callable[[int], None] | None) -> tuple[list[Operation], list[StagedFile]]:
    staged: list[StagedFile] = []
    ops: list[Operation] = []
    try:
        for rel, disk in snap.files():
            f = registry.stager.from_file(disk, link=link, progress=progress)
            staged.append(f)
            _check_cache_name(rel, disk, f)
            ops.append(AddFile(rel, f))
            report.files += 1
            report.bytes += f.size
    except BaseException:
        for f in staged:
            f.discard()
        raise
    return ops, staged


def _branches(registry, repo) -> set[str]:
    with registry.repos.open_git(repo) as git:
        return {r.removeprefix("refs/heads/") for r in git.refs() if r.startswith("refs/heads/")}


def _changes(registry, repo, branch: str, ops: list[Operation], report: ImportReport) -> list[Operation]:
    """Only what differs from the branch: new or changed files, and deletions of files the snapshot
    no longer has (a snapshot without .gitattributes keeps the repository's LFS rules)."""
    with registry.repos.open_git(repo) as git:
        head = git.ref_sha(f"refs/heads/{branch}") or git.ref_sha(f"refs/heads/{repo.default_branch}")
        current = git.files(head) if head else {}
        out: list[Operation] = []
        for op in ops:
            item = current.get(op.path)
            if item is not None and _same_content(git, item.sha, op.staged):
                op.staged.discard()
                report.unchanged += 1
                continue
            out.append(op)
        wanted = {op.path for op in ops}
        out += [DeletePath(p) for p, item in current.items()
                if item.is_file and p not in wanted and p != ".gitattributes"]
        new_attrs = next((op.staged for op in out if isinstance(op, AddFile) and op.path == ".gitattributes"), None)
        attrs = (new_attrs.read_bytes() if new_attrs else
                 git.read_blob(current[".gitattributes"].sha) if ".gitattributes" in current else None)
    rules = LfsRules(attrs, registry.settings.lfs_threshold)
    report.lfs_files += sum(1 for op in out if isinstance(op, AddFile)
                            and rules.wants_lfs(op.path, op.staged.size, op.staged.is_binary))
    return out


def _same_content(git, blob_sha: str, staged: StagedFile) -> bool:
    if staged.sha1 == blob_sha:
        return True
    pointer = parse_pointer(git.read_blob(blob_sha)) if staged.size > 0 else None
    return pointer is not None and pointer.oid == staged.sha256

