"""Commits: the one way files change (API uploads today, git pushes and merges later).

A commit is applied under the repository's lock: read the branch head, check `parent_commit`,
store new objects (LFS bytes to the blob store, the rest to git), write one commit, then move the
branch with a compare-and-swap. Only after the ref moved is the database told (head, last
modified, card metadata). A crash before the ref update leaves the branch untouched.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from dulwich.ignore import IgnoreFilter
from sqlalchemy import delete, select

from . import cards, licenses, model_tree, names, repo_events
from .db import Database
from .dbutil import insert_ignore
from .errors import BadRequest, Conflict, EntryNotFound, PreconditionFailed, RevisionNotFound, StorageUnavailable
from .messages import Message, N_
from .object_use import USE_REFRESH, mark_used, object_lock
from .tables import GitBlobInfo, LfsObject, RepoLfsObject, Repository, RepoTag, SafetensorsFile, utcnow
from .permissions import Principal
from .repos import Repos, _author_line
from .settings import RegistrySettings
from .storage import BlobStore, GitStore, StagedFile, Stager  # Stager: re-exported, a commit's bytes arrive through it
from .storage.blobs import check_oid
from .storage.gitrepo import EXEC_MODE, FILE_MODE
from .storage.lfs import LfsRules, Pointer
from .safetensors_meta import SafetensorsError, parameter_counts, summarize
from .scanning import Scanning, key_of
from .records import RepoView

log = logging.getLogger(__name__)
MAX_SUMMARY = 1000
MAX_DESCRIPTION = 100_000


@dataclass
class AddFile:
    """New content for `path`, already staged on disk and hashed."""

    path: str
    staged: StagedFile


@dataclass
class AddLfsRef:
    """`path` points to an LFS object uploaded earlier (size None: look it up, as for copies)."""

    path: str
    oid: str
    size: int | None = None


@dataclass
class DeletePath:
    path: str
    folder: bool = False


Operation = AddFile | AddLfsRef | DeletePath


@dataclass
class CommitResult:
    sha: str
    branch_ref: str
    warnings: list[str] = field(default_factory=list)


class UploadRules:
    """The upload mode and the .gitignore verdict of each path of a preupload."""

    def __init__(self, lfs: LfsRules, gitignore: bytes | None, regular_max: int) -> None:
        self.lfs = lfs
        self.regular_max = regular_max
        lines = gitignore.decode("utf-8", "replace").splitlines() if gitignore else []
        self._ignore = IgnoreFilter(line.encode() for line in lines) if lines else None

    def mode(self, path: str, size: int) -> str:
        if path == ".gitattributes":
            return "regular"
        return "lfs" if size > self.regular_max or self.lfs.matches_pattern(path) else "regular"

    def ignored(self, path: str) -> bool:
        return bool(self._ignore is not None and self._ignore.is_ignored(path))


class Commits:
    def __init__(self, settings: RegistrySettings, db: Database, git: GitStore, blobs: BlobStore,
                 repos: Repos, scanning: Scanning) -> None:
        self.settings = settings
        self.db = db
        self.git = git
        self.blobs = blobs
        self.repos = repos
        self.scanning = scanning
        # Called as listener(repo, ref, old_sha, new_sha) after every ref a commit, merge or push moved.
        self.listeners: list = []

    def commit(self, principal: Principal, repo: RepoView, revision: str, operations: list[Operation],
               summary: str, description: str = "", parent_commit: str | None = None) -> CommitResult:
        """Apply `operations` as one commit on the branch (or refs/pr/N) `revision`.

        The staged files of AddFile operations are consumed whatever happens."""
        try:
            self.repos.check_writable(repo)
            summary = (summary or "").strip()
            if not summary:
                raise BadRequest(N_("The commit summary (title) must not be empty"))
            if len(summary) > MAX_SUMMARY or len(description or "") > MAX_DESCRIPTION:
                raise BadRequest(N_("Commit summary or description too long"))
            if parent_commit is not None and not (5 <= len(parent_commit) <= 40
                                                  and all(c in "0123456789abcdef" for c in parent_commit)):
                raise BadRequest(f"Invalid parentCommit {parent_commit!r}")
            for op in operations:
                names.validate_path(op.path.rstrip("/") if isinstance(op, DeletePath) and op.folder else op.path)
            with self.git.writing(repo.storage_key) as git:
                ref = git.branch_ref(revision)
                if ref is None:
                    if not git.refs() and revision == repo.default_branch:
                        ref = f"refs/heads/{revision}"
                    else:
                        try:
                            git.resolve(revision)
                        except RevisionNotFound:
                            raise RevisionNotFound(f"Invalid rev id: {revision}") from None
                        raise BadRequest(f"Cannot commit to {revision!r}: only branches (and pull requests) take commits")
                head = git.ref_sha(ref)
                if parent_commit and (head is None or not head.startswith(parent_commit)):
                    raise PreconditionFailed(
                        f"The branch was updated since you opened this page. Please refresh and try again. "
                        f"(parent commit {parent_commit} is not the head of {revision}: {head})")
                files = {p: (i.mode, i.sha) for p, i in git.files(head).items()} if head else {}
                warnings = self._check_card(operations) if ref == f"refs/heads/{repo.default_branch}" else []
                st_rows = self._check_safetensors(operations)
                rules = self._rules(git, files, operations)
                blob_rows: list[dict] = []
                lfs_oids: list[str] = []
                new_objects: list[StagedFile] = []
                for op in operations:
                    if isinstance(op, DeletePath):
                        self._delete(files, op, head)
                        continue
                    mode = files.get(op.path, (FILE_MODE, ""))[0]
                    mode = mode if mode in (FILE_MODE, EXEC_MODE) else FILE_MODE
                    if isinstance(op, AddLfsRef):
                        pointer = self._existing_lfs(repo, op)
                        self.scanning.check_upload(op.path, pointer.oid, partial(self.blobs.open, pointer.oid), repo.id)
                    elif rules.wants_lfs(op.path, op.staged.size, op.staged.is_binary):
                        pointer = Pointer(op.staged.sha256, op.staged.size)
                        self.scanning.check_upload(op.path, pointer.oid, partial(open, op.staged.path, "rb"), repo.id)
                        new_objects.append(op.staged)
                    else:
                        # (the blob, written first to learn its sha, stays unreferenced if refused)
                        sha = git.add_blob(op.staged.read_bytes())
                        self.scanning.check_upload(op.path, key_of(sha, None), partial(open, op.staged.path, "rb"),
                                                   repo.id)
                        blob_rows.append({"sha": sha, "size": op.staged.size, "lfs_oid": None, "lfs_size": None})
                        files[op.path] = (mode, sha)
                        continue
                    data = pointer.encode()
                    sha = git.add_blob(data)
                    blob_rows.append({"sha": sha, "size": len(data), "lfs_oid": pointer.oid, "lfs_size": pointer.size})
                    lfs_oids.append(pointer.oid)
                    files[op.path] = (mode, sha)
                _check_files_and_folders(files)
                # LFS bytes are published before the commit that references them exists.
                lfs_rows = []
                for staged in new_objects:
                    lfs_rows.append({"oid": staged.sha256, "size": staged.size, "sha1": staged.sha1})
                    self.blobs.put(staged)
                with self.db.session(write=True) as s:
                    insert_ignore(s, LfsObject, lfs_rows)
                    insert_ignore(s, GitBlobInfo, blob_rows)
                    insert_ignore(s, RepoLfsObject, [{"repo_id": repo.id, "oid": o} for o in dict.fromkeys(lfs_oids)])
                    insert_ignore(s, SafetensorsFile, st_rows)
                    # Before the ref moves, in this transaction: garbage collection keeps them now.
                    collected = mark_used(s, lfs_oids)
                    if collected:
                        raise Conflict(f"LFS object {min(collected)} was removed by garbage collection "
                                       "while this commit was being made; upload it again")
                tree = git.write_tree(files)
                message = summary + ("\n\n" + description.strip() if description and description.strip() else "")
                new = git.make_commit(tree, [head] if head else [], _author_line(principal), message)
                if not git.set_ref(ref, new, head):
                    raise Conflict("The branch moved during the commit; please retry")
                self.after_ref_moved(git, repo, ref, new, head)
                return CommitResult(new, ref, warnings)
        finally:
            for op in operations:
                if isinstance(op, AddFile):
                    op.staged.discard()

    def upload_rules(self, repo: RepoView, commit: str | None, gitignore: str | None = None) -> UploadRules:
        """How a client should send files for a commit on top of `commit` (preupload): LFS beyond
        the regular-upload limit or where the revision's .gitattributes says so, whatever the size,
        as the Hub answers; and which paths its .gitignore leaves out (`gitignore`: the one the
        commit itself brings, which wins)."""
        attrs = None
        ignore = gitignore.encode()[:1024 * 1024] if gitignore is not None else None
        if commit:
            with self.repos.open_git(repo) as git:
                for name in (".gitattributes", ".gitignore"):
                    item = git.lookup(commit, name)
                    if item is not None and item.is_file and (name == ".gitattributes" or gitignore is None):
                        data = git.read_blob(item.sha)[:1024 * 1024]
                        attrs, ignore = (data, ignore) if name == ".gitattributes" else (attrs, data)
        return UploadRules(LfsRules(attrs, self.settings.lfs_threshold), ignore, self.settings.regular_upload_max)

    def _rules(self, git, files: dict[str, tuple[int, str]], operations: list[Operation]) -> LfsRules:
        """LFS rules from the .gitattributes this commit will have (a new one in the commit wins)."""
        attrs = None
        for op in operations:
            if isinstance(op, AddFile) and op.path == ".gitattributes" and op.staged.size < 1024 * 1024:
                attrs = op.staged.read_bytes()
        if attrs is None and ".gitattributes" in files:
            attrs = git.read_blob(files[".gitattributes"][1])
        return LfsRules(attrs, self.settings.lfs_threshold)

    @staticmethod
    def _delete(files: dict[str, tuple[int, str]], op: DeletePath, head: str | None) -> None:
        if op.folder:
            prefix = op.path.rstrip("/") + "/"
            doomed = [p for p in files if p.startswith(prefix)]
            if not doomed:
                raise EntryNotFound(f"A folder with this name doesn't exist: {op.path}", commit=head)
            for p in doomed:
                del files[p]
        elif op.path in files:
            del files[op.path]
        else:
            # A folder named like a file (the client sends a folder as `deletedFile` unless its name
            # ends in "/"): deleted as a folder, as on the Hub.
            doomed = [p for p in files if p.startswith(op.path + "/")]
            if not doomed:
                raise EntryNotFound(f"A file with this name doesn't exist: {op.path}", commit=head)
            for p in doomed:
                del files[p]

    def _existing_lfs(self, repo: RepoView, op: AddLfsRef) -> Pointer:
        # Only objects uploaded to (or already referenced by) this repository: knowing a sha256 from
        # someone else's private repository must not be enough to read it through ours.
        check_oid(op.oid)
        with self.db.session() as s:
            obj = s.get(LfsObject, op.oid)
            linked = s.get(RepoLfsObject, (repo.id, op.oid)) is not None
            size = obj.size if obj is not None and linked else None
        if size is None or not self.blobs.exists(op.oid):
            raise BadRequest(f"LFS object {op.oid} for {op.path!r} was never uploaded (or failed verification)")
        if op.size is not None and op.size != size:
            raise BadRequest(f"LFS object {op.oid} has size {size}, not {op.size}")
        return Pointer(op.oid, size)

    def _check_card(self, operations: list[Operation]) -> list[str]:
        """Validate a new README.md before anything is written; returns the warnings."""
        for op in operations:
            if isinstance(op, AddFile) and op.path == "README.md":
                if op.staged.size > cards.MAX_CARD_BYTES:
                    raise BadRequest(N_("README.md is larger than %(n)s KiB", n=cards.MAX_CARD_BYTES // 1024))
                report = cards.parse_card(op.staged.read_bytes().decode("utf-8", "replace"))
                if report.errors:
                    problems = [e.text for e in report.errors]  # Messages: English here, translated on pages
                    raise BadRequest(N_("Invalid model card metadata in README.md: %(problems)s", problems=problems),
                                     errors=problems)
                return [w.text for w in report.warnings]
        return []

    def _check_safetensors(self, operations: list[Operation]) -> list[dict]:
        """Read the header of every new .safetensors file. A malformed one is accepted, as on the
        Hub (a name is no promise of a format): it counts no parameters and its page says why."""
        rows = []
        for op in operations:
            if isinstance(op, DeletePath) or not op.path.endswith(".safetensors"):
                continue
            if isinstance(op, AddFile):
                with open(op.staged.path, "rb") as f:
                    rows.append(_safetensors_row(op.staged.sha256, f, op.staged.size))
            elif self._safetensors_params(op.oid) is None and self.blobs.exists(op.oid):
                size = self.lfs_object_size_any(op.oid) or 0
                with self.blobs.open(op.oid) as f:
                    rows.append(_safetensors_row(op.oid, f, size))
        return rows

    def _safetensors_params(self, oid: str) -> dict[str, int] | None:
        with self.db.session() as s:
            row = s.get(SafetensorsFile, oid)
            return dict(row.parameters) if row is not None else None

    def lfs_object_size_any(self, oid: str) -> int | None:
        with self.db.session() as s:
            obj = s.get(LfsObject, oid)
            return obj.size if obj else None

    def refresh_metadata(self, git, repo: RepoView, ref: str, new: str) -> None:
        """After a branch moved (API commit or git push): last modified, and for the default branch
        the head, card metadata, tags and parameter counts, recomputed from the tree itself."""
        if ref != f"refs/heads/{repo.default_branch}":
            with self.db.session(write=True) as s:
                row = s.get(Repository, repo.id)
                if row is not None:
                    row.last_modified = utcnow()
            return
        # Everything is computed first (it may read blobs and fill caches), then written at once:
        # a write transaction on SQLite must not wait on another one opened inside it.
        files = git.files(new)
        warnings: list[str] = []
        meta = None
        readme = files.get("README.md")
        if readme is not None:
            data = git.read_blob(readme.sha)
            if len(data) <= cards.MAX_CARD_BYTES:
                report = cards.parse_card(data.decode("utf-8", "replace"))
                meta = report.metadata
                warnings += [p.text for p in report.errors + report.warnings]
        warnings += self._license_file_warnings(git, files, meta)
        tags, pipeline_tag, library_name = cards.derive_tags(meta, files)
        st = self._repo_safetensors(git, files)
        if st and "safetensors" not in tags:
            tags.append("safetensors")
        with self.db.session(write=True) as s:
            row = s.get(Repository, repo.id)
            if row is None:
                return
            row.last_modified = utcnow()
            row.head_sha = new
            row.card_data = meta
            # Stored with their templates, so that pages show them in the reader's language.
            row.card_warnings = [w.to_json() if isinstance(w, Message) else w for w in warnings] or None
            row.pipeline_tag, row.library_name = pipeline_tag, library_name
            row.safetensors = st
            row.parameter_count = st["total"] if st else None
            row.tags = tags
            s.execute(delete(RepoTag).where(RepoTag.repo_id == row.id))
            insert_ignore(s, RepoTag, [{"repo_id": row.id, "tag": t[:255]} for t in dict.fromkeys(tags)])
            model_tree.replace_links(s, row.id, row.repo_type, row.private, tags)

    def reconcile_heads(self, progress: Callable[[int], None] | None = None) -> int:
        """Refresh the metadata of every repository whose recorded head is not its default branch's
        (a process killed after moving the ref, before telling the database); returns how many.
        Run by the start-up sweep; cheap for the others (one ref read each)."""
        fixed = 0
        for repo in self.repos.each():
            ref = f"refs/heads/{repo.default_branch}"
            if self.git.exists(repo.storage_key):
                with self.git.open(repo.storage_key) as git:
                    lagging = git.ref_sha(ref) not in (None, repo.head_sha)
                if lagging:
                    with self.git.writing(repo.storage_key) as git:  # no commit moves it meanwhile
                        head = git.ref_sha(ref)
                        if head is not None:
                            log.warning("%s: recorded head %s, branch at %s: refreshing", repo.repo_id,
                                        repo.head_sha, head)
                            self.refresh_metadata(git, repo, ref, head)
                            fixed += 1
            if progress:
                progress(1)
        return fixed

    def after_ref_moved(self, git, repo: RepoView, ref: str, new: str, old: str | None = None,
                        record: bool = True) -> None:
        """Derived data after the commit is final. A failure here must not turn the commit into an
        error: the client would retry it (and commit twice); the next commit refreshes again.
        Listeners (community: commit events on pull requests) hear of every moved ref; webhooks
        (the repo_events log) too, unless the caller records the move with others (`after_push`)."""
        try:
            self.refresh_metadata(git, repo, ref, new)
        except Exception:
            log.exception("refreshing metadata of %s after %s failed", repo.repo_id, new)
        if record:
            self._record_refs(repo, {ref: (old, new)})
        for listener in self.listeners:
            try:
                listener(repo, ref, old, new)
            except Exception:
                log.exception("commit listener failed for %s %s", repo.repo_id, ref)

    def super_squash(self, principal: Principal, repo: RepoView, revision: str, message: str) -> str:
        """Replace the history of a branch (or refs/pr/N) with one commit of its current tree, as the
        Hub's super-squash: the files stay, the old commits live on only where other refs reach them."""
        if not message.strip():
            raise BadRequest("A commit message is required")
        self.repos.check_writable(repo)
        with self.git.writing(repo.storage_key) as git:
            ref = git.branch_ref(revision)
            if ref is None:
                raise RevisionNotFound(f"Invalid rev id: {revision} is not a branch")
            head = git.ref_sha(ref)
            new = git.make_commit(git.commit(head).tree, [], _author_line(principal), message.strip())
            if not git.set_ref(ref, new, head):
                raise Conflict(f"{ref} moved while it was being squashed; try again")
            self.after_ref_moved(git, repo, ref, new, head)
        self.repos.touch(repo)
        return new

    def merge(self, principal: Principal, repo: RepoView, source_ref: str, target_branch: str,
              message: str) -> str:
        """Merge `source_ref` into `target_branch` (whole-file three-way merge); returns the commit.

        Conflicting paths refuse the merge with their names; nothing is written then."""
        from .merging import files_of, merge_base, three_way

        self.repos.check_writable(repo)
        with self.git.writing(repo.storage_key) as git:
            target_ref = f"refs/heads/{target_branch}"
            ours = git.ref_sha(target_ref)
            theirs = git.ref_sha(source_ref)
            if ours is None or theirs is None:
                raise RevisionNotFound(f"{target_branch if ours is None else source_ref} does not exist")
            base = merge_base(git, ours, theirs)
            if base == theirs:
                raise BadRequest("Nothing to merge: the target branch already contains these changes")
            merged, conflicts = three_way(files_of(git, base), files_of(git, ours), files_of(git, theirs))
            if conflicts:
                raise Conflict("This pull request conflicts with the target branch in: " + ", ".join(conflicts[:20]),
                               conflicts=conflicts)
            tree = git.write_tree(merged)
            new = git.make_commit(tree, [ours, theirs], _author_line(principal), message)
            if not git.set_ref(target_ref, new, ours):
                raise Conflict("The target branch moved during the merge; please retry")
            self.after_ref_moved(git, repo, target_ref, new, ours)
            return new

    def after_push(self, git, repo: RepoView, changed: dict[str, tuple[str | None, str | None]]) -> None:
        """A git push moved refs (already checked by the pre-receive policy): update the registry.
        `changed`: ref -> (old sha or None, new sha or None for a deletion)."""
        for ref, (old, new) in changed.items():
            if new is not None and (ref.startswith("refs/heads/") or ref.startswith("refs/pr/")):
                self.after_ref_moved(git, repo, ref, new, old, record=False)
        if not any(r.startswith("refs/heads/") for r in changed):
            self.repos.touch(repo)
        self._record_refs(repo, changed)  # one push, one event (as the Hub), tags and deletions too

    def _record_refs(self, repo: RepoView, changes: dict[str, tuple[str | None, str | None]]) -> None:
        """Log the moved refs for webhooks; like the metadata, a failure must not fail the commit."""
        if not changes:
            return
        try:
            head = self.repos.by_id(repo.id) or repo  # the head sha the refresh just recorded
            repo_events.record_now(self.db, head, "repo.content", "update",
                                   updatedRefs=repo_events.updated_refs(changes))
        except Exception:
            log.exception("recording the moved refs of %s for webhooks failed", repo.repo_id)

    def _license_file_warnings(self, git, files, meta) -> list[str]:
        lic_file = next((files[n] for n in ("LICENSE", "LICENSE.md", "LICENSE.txt") if n in files), None)
        card_lic = cards.as_list(meta.get("license")) if meta else []
        if lic_file is None or not card_lic:
            return []
        info = self.repos.blob_infos(git, [lic_file.sha])[lic_file.sha]
        if info[1] is not None or info[0] > 1024 * 1024:
            return []
        detected = licenses.detect_license_text(git.read_blob(lic_file.sha).decode("utf-8", "replace"))
        if detected and not any(licenses.compatible(c, detected) for c in card_lic):
            return [N_("The card's license (%(card)s) does not match the LICENSE file, which looks like %(detected)s",
                       card=", ".join(card_lic), detected=detected)]
        return []

    def _repo_safetensors(self, git, files) -> dict | None:
        paths = [i for p, i in files.items() if p.endswith(".safetensors")]
        if not paths:
            return None
        infos = self.repos.blob_infos(git, [i.sha for i in paths])
        per_file = []
        for item in paths:
            size, lfs = infos[item.sha]
            key = lfs.oid if lfs else f"git:{item.sha}"
            params = self._safetensors_params(key)
            if params is None:
                if lfs:
                    if not self.blobs.exists(lfs.oid):
                        continue
                    with self.blobs.open(lfs.oid) as f:
                        row = _safetensors_row(key, f, size)
                else:
                    data = git.read_blob(item.sha)
                    row = _safetensors_row(key, io.BytesIO(data), len(data))
                with self.db.session(write=True) as s:
                    insert_ignore(s, SafetensorsFile, [row])
                params = row["parameters"]
            if params:  # a file whose header could not be read counts nothing
                per_file.append(params)
        return summarize(per_file) if per_file else None

    # ---- LFS objects ------------------------------------------------------------------------
    def store_lfs_object(self, repo: RepoView | None, staged: StagedFile, oid: str, size: int | None) -> None:
        """Publish an uploaded object after checking that its bytes are what the client announced,
        for `repo` to use (None: for none yet, as an on-demand mirror's download, which the pull that
        follows links). The one way an LFS object enters the store: LFS uploads, sync, mirrors."""
        check_oid(oid)
        if staged.sha256 != oid:
            staged.discard()
            raise BadRequest(f"sha256 mismatch: the uploaded bytes hash to {staged.sha256}, not {oid}")
        if size is not None and staged.size != size:
            staged.discard()
            raise BadRequest(f"Size mismatch: received {staged.size} bytes, expected {size}")
        row = {"oid": oid, "size": staged.size, "sha1": staged.sha1}
        self.blobs.put(staged)
        # Garbage collection deletes an object's row, then its bytes, under this lock: the bytes just
        # put are still there once the row is recorded (or the upload is refused, to be retried).
        with self.repos.locks.hold(object_lock(oid)):
            if not self.blobs.exists(oid):
                raise StorageUnavailable(f"LFS object {oid} was removed by garbage collection as it arrived; "
                                         "upload it again")
            with self.db.session(write=True) as s:
                insert_ignore(s, LfsObject, [row])
                mark_used(s, [oid])
                if repo is not None:
                    insert_ignore(s, RepoLfsObject, [{"repo_id": repo.id, "oid": oid}])

    def lfs_object_size(self, repo: RepoView, oid: str) -> int | None:
        """Size of a verified object this repository may use, or None (then the client must upload it).

        A push or pull then names it without uploading it: it counts as used (storage_gc.py)."""
        with self.db.session() as s:
            obj = s.get(LfsObject, oid)
            linked = s.get(RepoLfsObject, (repo.id, oid)) is not None
            size = obj.size if obj and linked else None
            stale = obj is not None and (obj.used_at is None or obj.used_at < utcnow() - USE_REFRESH)
        if size is not None and not self.blobs.exists(oid):
            return None
        if size is not None and stale:
            with self.db.session(write=True) as s:
                if mark_used(s, [oid]):
                    return None  # collected a moment ago
        return size

    def lfs_sha1(self, oids: list[str]) -> dict[str, str]:
        with self.db.session() as s:
            return {o.oid: o.sha1 for o in s.scalars(select(LfsObject).where(LfsObject.oid.in_(oids))) if o.sha1}


def _safetensors_row(key: str, f, size: int) -> dict:  # type: ignore[no-untyped-def]
    """The safetensors_files row of one object: its parameter counts, or why there are none."""
    try:
        return {"oid": key, "parameters": parameter_counts(f, size), "error": None}
    except SafetensorsError as e:
        return {"oid": key, "parameters": {}, "error": str(e)[:500]}


def _check_files_and_folders(files: dict[str, tuple[int, str]]) -> None:
    """Refuse a tree where one path would be a file and a folder at once ("a" added where "a/b"
    is, or "a/b" where "a" is a file): git cannot hold both, and the Hub refuses it too."""
    folders: set[str] = set()
    for path in files:
        cut = path.rfind("/")
        while cut > 0 and path[:cut] not in folders:
            folders.add(path[:cut])
            cut = path.rfind("/", 0, cut)
    clash = next((p for p in files if p in folders), None)
    if clash is not None:
        raise BadRequest(N_("%(path)s cannot be both a file and a folder", path=clash))
