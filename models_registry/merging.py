"""Merging and comparing commits at the level the Hub works at: whole files.

A three-way merge takes each path from the side that changed it; a path changed differently on
both sides is a conflict (model files are binary or LFS pointers, so line merges would be wrong).
"""

from __future__ import annotations

import difflib
from collections import deque
from dataclasses import dataclass

from .storage.gitrepo import GitRepo
from .storage.lfs import parse_pointer

MAX_DIFF_BYTES = 512 * 1024
MAX_DIFF_LINES = 5000

Files = dict[str, tuple[int, str]]


def merge_base(git: GitRepo, a: str, b: str) -> str | None:
    """The nearest common ancestor of two commits (breadth-first; fine for model-repo histories)."""
    seen_a: set[str] = set()
    q = deque([a])
    while q:
        c = q.popleft()
        if c in seen_a:
            continue
        seen_a.add(c)
        q.extend(git.commit(c).parents)
    q = deque([b])
    seen_b: set[str] = set()
    while q:
        c = q.popleft()
        if c in seen_a:
            return c
        if c in seen_b:
            continue
        seen_b.add(c)
        q.extend(git.commit(c).parents)
    return None


def files_of(git: GitRepo, commit: str | None) -> Files:
    if commit is None:
        return {}
    return {p: (i.mode, i.sha) for p, i in git.files(commit).items()}


def three_way(base: Files, ours: Files, theirs: Files) -> tuple[Files, list[str]]:
    merged: Files = {}
    conflicts: list[str] = []
    for path in sorted(set(base) | set(ours) | set(theirs)):
        b, o, t = base.get(path), ours.get(path), theirs.get(path)
        if o == t:
            result = o
        elif o == b:
            result = t
        elif t == b:
            result = o
        else:
            conflicts.append(path)
            continue
        if result is not None:
            merged[path] = result
    return merged, conflicts


@dataclass(frozen=True)
class FileChange:
    path: str
    status: str  # added, modified, deleted
    old_sha: str | None
    new_sha: str | None


def changes(old: Files, new: Files) -> list[FileChange]:
    out = []
    for path in sorted(set(old) | set(new)):
        o, n = old.get(path), new.get(path)
        if o == n:
            continue
        status = "added" if o is None else "deleted" if n is None else "modified"
        out.append(FileChange(path, status, o[1] if o else None, n[1] if n else None))
    return out


def unified_diff(git: GitRepo, ch: FileChange) -> str:
    """A git-style diff of one file; LFS and binary files are described, not shown."""
    def text(sha: str | None) -> tuple[list[str] | None, str]:
        if sha is None:
            return [], ""
        data = git.read_blob(sha)
        ptr = parse_pointer(data)
        if ptr is not None:
            return None, f"LFS object sha256:{ptr.oid} ({ptr.size} bytes)"
        if b"\x00" in data[:8000] or len(data) > MAX_DIFF_BYTES:
            return None, f"binary or large file ({len(data)} bytes)"
        return data.decode("utf-8", "replace").splitlines(keepends=True), ""

    old, old_note = text(ch.old_sha)
    new, new_note = text(ch.new_sha)
    a = f"a/{ch.path}" if ch.old_sha else "/dev/null"
    b = f"b/{ch.path}" if ch.new_sha else "/dev/null"
    head = f"diff --git a/{ch.path} b/{ch.path}\n"
    if old is None or new is None:
        return head + f"Binary files differ: {old_note or 'absent'} -> {new_note or 'absent'}\n"
    lines = list(difflib.unified_diff(old, new, a, b))[:MAX_DIFF_LINES]
    return head + "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)
