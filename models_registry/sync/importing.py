"""Publishing model files that are already on this machine, without sending them over the network.

Two kinds of source:
- a plain folder (`/data/my-model`, or a `snapshot_download(local_dir=...)` result): its files
  become one commit on a branch;
- a Hugging Face cache entry (`~/.cache/huggingface/hub/models--ORG--NAME`): every ref in its
  `refs/` becomes a branch or a tag here holding that ref's snapshot (or just the snapshot folder
  given, `.../snapshots/<commit>`). The cache names its blobs by their sha256 (LFS files) or git blob
  sha1 (the rest), so each file is checked against its name while it is hashed: a corrupted cache
  is refused rather than published.

What the cache can and cannot say, offline:
- Branch or tag. huggingface_hub writes `refs/<revision>` for whatever revision name it was given,
  branch and tag alike; nothing on disk says which it was. A ref written for a full name says it:
  `refs/refs/tags/v1` (revision "refs/tags/v1") is tag v1, `refs/refs/heads/dev` branch dev. A bare
  name is a branch unless the caller names it a tag (`tags=`, `modelhub import --tag v1`). A tag
  points at the commit of a branch imported with the same upstream commit, or at a commit of its
  own that no branch holds, as on the Hub.
- Complete or partial. `snapshot_download` (huggingface_hub 1.x on) leaves the revision's tree
  listing in `trees/<commit>.json`: a snapshot lacking any file listed there is refused unless
  `partial` (then the missing files are kept as they are here, not deleted). Without a listing
  (files fetched one by one with `hf_hub_download`, or an older huggingface_hub) completeness cannot
  be known offline: the import goes ahead and says so (`ImportReport.notes`). `.no_exist/` only
  records files the Hub said it lacks, and `blobs/` may hold blobs of other revisions: neither
  tells what a revision has.

Each file is read once: copied into the staging folder while every hash is computed, or (with
`link`) hard-linked there and then hashed. LFS files then reach the blob store by a rename, so an
import of N bytes costs N bytes of reading and, without `link`, N of writing. Files whose content
is already on the branch are skipped; if nothing changed no commit is made.

Nothing is half-applied: all files of a branch are staged before its one commit; a repository
created by the import is removed again if its first commit fails.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..commits import AddFile, DeletePath, Operation
from ..errors import BadRequest, RepoNotFound
from ..names import validate_branch_name, validate_path, validate_tag_name
from ..storage.lfs import LfsRules, parse_pointer
from ..storage.staging import StagedFile

SHA256_NAME = re.compile(r"^[0-9a-f]{64}$")
SHA1_NAME = re.compile(r"^[0-9a-f]{40}$")
# Folders that are bookkeeping of tools, never model content.
SKIPPED_DIRS = {".git", ".cache"}


@dataclass
class Snapshot:
    """One tree of files to publish on branch `branch`, or as tag `branch` when `tag`."""

    branch: str
    folder: Path
    upstream_commit: str | None = None  # the cache's commit id for this snapshot
    tag: bool = False
    # The revision's files according to the cache's tree listing; None when the cache has none.
    listed: set[str] | None = None

    @property
    def ref(self) -> str:
        return f"refs/{'tags' if self.tag else 'heads'}/{self.branch}"

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
    tags: dict[str, str] = field(default_factory=dict)  # tag -> commit it was created at
    notes: list[str] = field(default_factory=list)      # what the operator should know (partial, unknowable)


def find_snapshots(path: Path, revision: str | None = None, tags: list[str] | None = None) -> list[Snapshot]:
    """What `path` holds: a Hugging Face cache entry, one of its snapshots, or a plain folder.
    `tags`: bare ref names of the cache to publish as tags (the cache cannot tell them from branches)."""
    path = path.expanduser()
    tags = list(tags or [])
    if not path.is_dir():
        raise BadRequest(f"{path} is not a folder")
    if (path / "snapshots").is_dir() and (path / "refs").is_dir():
        snaps = []
        for ref_file in sorted((path / "refs").rglob("*")):
            ref = ref_file.relative_to(path / "refs").as_posix()
            if not ref_file.is_file() or ref.startswith(("pr/", "refs/pr/")) or ref.endswith(".tmp"):
                continue  # pull-request refs are not branches; .tmp: a ref huggingface_hub is writing
            commit = ref_file.read_text().strip()
            folder = path / "snapshots" / commit
            if not SHA1_NAME.match(commit) or not folder.is_dir():
                raise BadRequest(f"refs/{ref} names {commit!r}, which is not a snapshot in this cache")
            if ref.startswith("refs/tags/"):
                name, is_tag = validate_tag_name(ref[len("refs/tags/"):]), True
            elif ref.startswith("refs/heads/"):
                name, is_tag = validate_branch_name(ref[len("refs/heads/"):]), False
            elif ref in tags:
                name, is_tag = validate_tag_name(ref), True
            else:
                name, is_tag = validate_branch_name(ref), False
            if revision is None or revision in (name, ref):
                snaps.append(Snapshot(name, folder, commit, is_tag, _listing(path, commit)))
        if not snaps:
            raise BadRequest(f"No branch or tag {revision!r} in {path}/refs" if revision
                             else f"{path}/refs names no branch")
        unknown = set(tags) - {s.branch for s in snaps if s.tag}
        if unknown and revision is None:
            raise BadRequest(f"--tag {', '.join(sorted(unknown))}: no such ref in {path}/refs")
        return sorted(snaps, key=lambda s: (s.tag, s.branch != "main"))  # branches first: tags may share their commits
    commit = path.name if path.parent.name == "snapshots" and SHA1_NAME.match(path.name) else None
    entry = path.parent.parent if commit else None
    listed = _listing(entry, commit) if entry is not None and commit is not None else None
    return [Snapshot(validate_branch_name(revision or "main"), path, commit, False, listed)]


def _listing(entry: Path, commit: str) -> set[str] | None:
    """The files of `commit` by the tree listing huggingface_hub keeps in the cache entry
    (`trees/<commit>.json`, format 1), or None when there is none to be read."""
    try:
        data = json.loads((entry / "trees" / f"{commit}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format_version") != 1 or not isinstance(data.get("files"), dict):
        return None
    return set(data["files"])


def check_complete(snapshots: list[Snapshot], partial: bool) -> list[str]:
    """Refuse a snapshot that lacks files its revision has (unless `partial`); returns the notes
    to show: what `partial` leaves out, and which snapshots cannot be checked offline."""
    notes = []
    for snap in snapshots:
        label = f"{'tag' if snap.tag else 'branch'} {snap.branch}" + \
            (f" (snapshot {snap.upstream_commit})" if snap.upstream_commit else "")
        if snap.listed is None:
            if snap.upstream_commit is not None:
                notes.append(f"{label}: the cache holds no tree listing of this revision, so whether the "
                             "snapshot has all its files cannot be known offline")
            continue
        have = {rel for rel, _ in snap.files()}
        missing = sorted(snap.listed - have)
        if not missing:
            continue
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        if not partial:
            raise BadRequest(f"{label} lacks {len(missing)} of the revision's {len(snap.listed)} files ({shown}): "
                             "finish the download (snapshot_download) or import it with --partial; "
                             "nothing was imported")
        notes.append(f"{label}: partial, {len(missing)} of the revision's files not imported ({shown})")
    return notes


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
                     link: bool = False, message: str | None = None, partial: bool = False,
                     progress: Callable[[int], None] | None = None) -> ImportReport:
    """Publish `snapshots` into model repository `repo_id` (created if missing) as `user`.
    A snapshot lacking files its revision has is refused unless `partial` (`check_complete`)."""
    principal = registry.accounts.principal_for_name(user)
    namespace, _, name = repo_id.partition("/")
    if not name:
        raise BadRequest(f"Repository id {repo_id!r} must be NAMESPACE/NAME")
    report = ImportReport(repo_id)
    report.notes = check_complete(snapshots, partial)
    try:
        repo = registry.repos.get("model", repo_id, principal, need="write")
    except RepoNotFound:
        repo = None
    at_upstream: dict[str, str] = {}  # upstream commit -> our commit, for tags on a branch's snapshot
    for snap in snapshots:
        if snap.tag and repo is not None and snap.upstream_commit in at_upstream:
            _tag(registry, principal, repo, snap, at_upstream[snap.upstream_commit], report)
            continue
        ops, staged = _stage(registry, snap, link, report, progress)
        try:
            if repo is None:
                repo = registry.repos.create(principal, "model", namespace, name, private=private)
                report.created = True
            if snap.tag:
                _import_tag(registry, principal, repo, snap, ops, message, report)
                continue
            keep = snap.listed if partial and snap.listed is not None else set() if partial else None
            ops = _changes(registry, repo, snap.branch, ops, report, keep)
            if ops:
                if snap.branch != repo.default_branch and snap.branch not in _branches(registry, repo):
                    registry.repos.create_branch(principal, repo, snap.branch, None)
                result = registry.commits.commit(principal, repo, snap.branch, ops, _title(snap, message))
                report.commits[snap.branch] = result.sha
            if snap.upstream_commit:
                at_upstream.setdefault(snap.upstream_commit, _head(registry, repo, snap.ref))
        except BaseException:
            for f in staged:
                f.discard()
            if report.created and not report.commits and not report.tags:
                registry.repos.delete(principal, "model", repo.repo_id)
                report.created = False
            raise
    return report


def _title(snap: Snapshot, message: str | None) -> str:
    if message:
        return message
    if snap.upstream_commit:
        return f"Import snapshot {snap.upstream_commit} from a Hugging Face cache"
    return f"Import {snap.folder.name}"


def _head(registry, repo, ref: str) -> str:
    with registry.repos.open_git(repo) as git:
        return git.ref_sha(ref) or ""


def _tag(registry, principal, repo, snap: Snapshot, commit: str, report: ImportReport) -> None:
    """Tag `commit` (the import of the same upstream commit) as `snap.branch`; an existing tag of
    that name must already be there (tags do not move)."""
    with registry.repos.open_git(repo) as git:
        existing = git.ref_sha(snap.ref)
        current = git.resolve(snap.ref) if existing else None
    if current == commit:
        return
    if existing is not None:
        raise BadRequest(f"Tag {snap.branch} already exists here at another commit; tags do not move "
                         "(delete it first to import it again)")
    registry.repos.create_tag(principal, repo, snap.branch, commit, None)
    report.tags[snap.branch] = commit


def _import_tag(registry, principal, repo, snap: Snapshot, ops: list[Operation], message: str | None,
                report: ImportReport) -> None:
    """A tag whose snapshot no imported branch holds: a commit of its own on top of the default
    branch, made on a short-lived branch (the one way commits are made), tagged, the branch removed."""
    with registry.repos.open_git(repo) as git:
        existing = git.ref_sha(snap.ref)
    if existing is not None:
        if not _changes(registry, repo, snap.ref, ops, report, None, base=snap.ref):
            return  # already here with this content
        raise BadRequest(f"Tag {snap.branch} already exists here with other files; tags do not move "
                         "(delete it first to import it again)")
    scratch = f"import-tag-{uuid.uuid4().hex[:12]}"
    registry.repos.create_branch(principal, repo, scratch, None)
    try:
        ops = _changes(registry, repo, scratch, ops, report, None)
        sha = registry.commits.commit(principal, repo, scratch, ops, _title(snap, message)).sha if ops \
            else _head(registry, repo, f"refs/heads/{scratch}")
        registry.repos.create_tag(principal, repo, snap.branch, sha, None)
        report.tags[snap.branch] = sha
    finally:
        registry.repos.delete_branch(principal, repo, scratch)


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


def _changes(registry, repo, branch: str, ops: list[Operation], report: ImportReport,
             keep: set[str] | None = None, base: str | None = None) -> list[Operation]:
    """Only what differs from the branch (or the ref `base`): new or changed files, and deletions of
    files the snapshot no longer has (a snapshot without .gitattributes keeps the repository's LFS
    rules), except those in `keep` (a partial snapshot's missing files; an empty set: delete none)."""
    with registry.repos.open_git(repo) as git:
        if base is not None:
            head = git.resolve(base)
        else:
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
                if item.is_file and p not in wanted and p != ".gitattributes"
                and (keep is None or (keep and p not in keep))]
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

