"""Walks over a repository's history: the commit that last changed each path (tree and
paths-info with `expand`), and history rewritten without some files (permanently deleting LFS
files with `rewriteHistory`, as on the Hub; `git filter-repo --strip-blobs-with-ids` for git users).

A rewrite copies every commit reachable from any ref, parents first, with the dropped blobs taken
out of its tree (a folder left empty disappears, as git cannot hold one); a commit whose tree and
parents are unchanged keeps its id, so history before the first affected commit stays as it was.
Annotated tags are re-made pointing at the new commits. Nothing here moves a ref: the caller does,
with a compare-and-swap under the repository lock, so a push that lands meanwhile fails cleanly.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator

from dulwich.errors import NotTreeError
from dulwich.object_store import tree_lookup_path
from dulwich.objects import Commit, Tag, Tree

from .gitrepo import CommitData, GitRepo


def last_changes(git: GitRepo, sha: str, paths: list[str], max_commits: int = 5000) -> dict[str, CommitData]:
    """For each path, the newest commit from `sha` back along first parents whose entry at that
    path differs from its parent's (as `git log -1 --first-parent -- path` finds it).

    One walk for all the paths of a page: per commit, one tree lookup per directory that still
    has paths to place, and a directory whose tree id did not change is skipped whole (most
    commits touch a file or two). Paths not placed within `max_commits` are left out."""
    dirs: dict[str, set[str]] = {}
    for path in dict.fromkeys(p.strip("/") for p in paths if p.strip("/")):
        d, _, name = path.rpartition("/")
        dirs.setdefault(d, set()).add(name)
    found: dict[str, CommitData] = {}
    store = git.objects
    trees: dict[tuple[str, str], bytes | None] = {}

    def dir_tree(c: CommitData | None, d: str) -> bytes | None:
        if c is None:
            return None
        key = (c.sha, d)
        if key not in trees:
            if d == "":
                trees[key] = c.tree.encode()
            else:
                try:
                    mode, tsha = tree_lookup_path(store.__getitem__, c.tree.encode(), d.encode())
                    trees[key] = tsha if stat.S_ISDIR(mode) else None
                except (KeyError, NotTreeError):
                    trees[key] = None
        return trees[key]

    def entries(tsha: bytes | None) -> dict[str, bytes]:
        if tsha is None:
            return {}
        return {e.path.decode("utf-8", "replace"): e.sha for e in store[tsha].iteritems()}

    current: CommitData | None = git.commit(sha)
    for _ in range(max_commits):
        if current is None or not dirs:
            break
        parent = git.commit(current.parents[0]) if current.parents else None
        for d in list(dirs):
            now, before = dir_tree(current, d), dir_tree(parent, d)
            if now == before:
                continue
            here, there = entries(now), entries(before)
            for name in list(dirs[d]):
                if here.get(name) != there.get(name):
                    found[f"{d}/{name}" if d else name] = current
                    dirs[d].discard(name)
            if not dirs[d]:
                del dirs[d]
        current = parent
    return found


def reachable_blobs(git: GitRepo, tips: list[str]) -> set[str]:
    """Every blob id in the trees of the commits reachable from `tips`."""
    store = git.objects
    seen_trees: set[bytes] = set()
    blobs: set[str] = set()

    def walk(tree_id: bytes) -> None:
        if tree_id in seen_trees:
            return
        seen_trees.add(tree_id)
        for entry in store[tree_id].iteritems():
            if stat.S_ISDIR(entry.mode):
                walk(entry.sha)
            elif not stat.S_ISLNK(entry.mode) and entry.mode != 0o160000:  # gitlinks name commits
                blobs.add(entry.sha.decode())

    for c in _commits_parents_first(git, tips):
        walk(c.tree)
    return blobs


def _commits_parents_first(git: GitRepo, tips: list[str]) -> Iterator[Commit]:
    store = git.objects
    order: list[Commit] = []
    done: set[bytes] = set()
    stack: list[tuple[bytes, bool]] = [(t.encode(), False) for t in tips]
    while stack:  # iterative post-order: long histories would overflow a recursive walk
        sha, expanded = stack.pop()
        if sha in done:
            continue
        c = store[sha]
        if expanded:
            done.add(sha)
            order.append(c)
            continue
        stack.append((sha, True))
        stack.extend((p, False) for p in c.parents if p not in done)
    return iter(order)


def drop_blobs(git: GitRepo, refs: dict[str, str], doomed: set[str]) -> dict[str, str]:
    """New ids for `refs` ({ref: commit or annotated tag id}) in a history without the `doomed`
    blobs; refs whose target does not change are left out of the answer."""
    store = git.objects
    drop = {d.encode() for d in doomed}
    trees: dict[bytes, bytes | None] = {}  # old tree -> new tree (None: nothing left)

    def new_tree(tree_id: bytes) -> bytes | None:
        if tree_id in trees:
            return trees[tree_id]
        old = store[tree_id]
        out = Tree()
        changed = False
        for entry in old.iteritems():
            sha = entry.sha
            if stat.S_ISDIR(entry.mode):
                sub = new_tree(sha)
                if sub != sha:
                    changed = True
                if sub is None:
                    continue
                sha = sub
            elif sha in drop:
                changed = True
                continue
            out.add(entry.path, entry.mode, sha)
        if not changed:
            result: bytes | None = tree_id
        elif not len(out):
            result = None
        else:
            store.add_object(out)
            result = out.id
        trees[tree_id] = result
        return result

    commits: dict[bytes, bytes] = {}
    tips = [_peeled(git, target) for target in refs.values()]
    for c in _commits_parents_first(git, tips):
        tree = new_tree(c.tree)
        if tree is None:
            empty = Tree()
            store.add_object(empty)
            tree = empty.id
        parents = [commits.get(p, p) for p in c.parents]
        if tree == c.tree and parents == list(c.parents):
            commits[c.id] = c.id
            continue
        copy = Commit()
        copy.tree, copy.parents = tree, parents
        copy.author, copy.committer = c.author, c.committer
        copy.author_time, copy.commit_time = c.author_time, c.commit_time
        copy.author_timezone, copy.commit_timezone = c.author_timezone, c.commit_timezone
        copy.encoding, copy.message = c.encoding, c.message
        store.add_object(copy)  # a signature (gpgsig) would no longer match: it is not copied
        commits[c.id] = copy.id

    moved: dict[str, str] = {}
    for ref, target in refs.items():
        obj = store[target.encode()]
        if isinstance(obj, Tag):
            new_target = commits.get(obj.object[1], obj.object[1])
            if new_target == obj.object[1]:
                continue
            tag = Tag()
            tag.name, tag.object = obj.name, (Commit, new_target)
            tag.message, tag.tagger = obj.message, obj.tagger
            tag.tag_time, tag.tag_timezone = obj.tag_time, obj.tag_timezone
            store.add_object(tag)
            moved[ref] = tag.id.decode()
        elif commits.get(obj.id, obj.id) != obj.id:
            moved[ref] = commits[obj.id].decode()
    return moved


def _peeled(git: GitRepo, target: str) -> str:
    obj = git.objects[target.encode()]
    while isinstance(obj, Tag):
        obj = git.objects[obj.object[1]]
    return obj.id.decode()
