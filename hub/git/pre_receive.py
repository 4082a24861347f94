"""The pre-receive hook run by `git receive-pack` for every push (see smart_http.py).

It gathers facts about the pushed refs and the objects new to the repository (quarantined by git
until this hook exits 0) and applies `models_registry.push_policy`. Anything it prints to stderr
reaches the pusher as `remote: ...` lines; a non-zero exit refuses the whole push, so no ref moves.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from functools import partial
from pathlib import Path

from models_registry.errors import RegistryError
from models_registry.scanning import key_of
from models_registry.push_policy import (MAX_POINTER_SIZE, RefUpdate, check_blob, check_card, check_path, check_ref,
                                         parse_pointer)

CONTEXT_ENV = "MODELHUB_PUSH_CONTEXT"


def _git(*args: str, input: bytes | None = None) -> bytes:
    return subprocess.run(["git", *args], input=input, capture_output=True, check=True).stdout


def _batch_read(shas: list[str]) -> dict[str, bytes]:
    """Contents of small blobs through one `git cat-file --batch`."""
    if not shas:
        return {}
    out = _git("cat-file", "--batch", input="".join(s + "\n" for s in shas).encode())
    result: dict[str, bytes] = {}
    pos = 0
    for sha in shas:
        nl = out.index(b"\n", pos)
        _, _, size = out[pos:nl].decode().split(" ")
        start = nl + 1
        result[sha] = out[start:start + int(size)]
        pos = start + int(size) + 1
    return result


def _is_placeholder(sha: str) -> bool:
    """The automatic first commit of a new repository (only .gitattributes, no parent): replacing it
    loses nothing, so pushing an existing history into a just-created repository (as `git push` of a
    local project, or `modelhub sync push`, does) is not refused as a rewrite."""
    try:
        count = _git("rev-list", "--count", sha).strip()
        files = _git("ls-tree", "--name-only", sha).split()
        title = _git("log", "-1", "--format=%s", sha).strip()
    except subprocess.CalledProcessError:
        return False
    return count == b"1" and files == [b".gitattributes"] and title == b"initial commit"


def check_push(ctx: dict, updates: list[RefUpdate]) -> None:
    from models_registry.registry import Registry
    from models_registry.settings import RegistrySettings, S3Options

    for u in updates:
        ff = True
        if not u.is_create and not u.is_delete:
            ff = (subprocess.run(["git", "merge-base", "--is-ancestor", u.old, u.new]).returncode == 0
                  or _is_placeholder(u.old))
        check_ref(u, ctx["default_branch"], ff, ctx.get("allow_force_default", False),
                  can_write=ctx.get("can_write", True), open_prs=frozenset(ctx.get("open_prs", [])))
    tips = [u.new for u in updates if not u.is_delete]
    if not tips:
        return
    listing = _git("rev-list", "--objects", *tips, "--not", "--all").decode("utf-8", "replace").splitlines()
    paths: dict[str, str] = {}
    for line in listing:
        sha, _, path = line.partition(" ")
        if path:
            check_path(path)
            paths.setdefault(sha, path)
    if not paths:
        return
    checks = _git("cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize)",
                  input="".join(s + "\n" for s in paths).encode()).decode().splitlines()
    blobs = {}
    for line in checks:
        sha, kind, size = line.split(" ")
        if kind == "blob":
            blobs[sha] = int(size)
    small = _batch_read([s for s, n in blobs.items() if n <= MAX_POINTER_SIZE])
    settings = RegistrySettings(data_dir=Path(ctx["data_dir"]), database_url=ctx["database_url"],
                                storage_url=ctx["storage_url"], lfs_threshold=ctx["lfs_threshold"],
                                s3=S3Options(**ctx["s3"]), repos_dir=Path(ctx["repos_dir"]),
                                refuse_dangerous_uploads=ctx.get("refuse_dangerous_uploads", False))
    registry = Registry(settings)
    try:
        repo = registry.repos.by_id(ctx["repo_pk"])
        for sha, size in blobs.items():
            path = paths[sha]
            pointer = parse_pointer(small[sha]) if sha in small else None
            known = pointer is not None and registry.commits.lfs_object_size(repo, pointer.oid) == pointer.size
            check_blob(path, size, pointer, settings.lfs_threshold, known)
            # The same rule as an API commit's (scanning.py): a dangerous pickle, when the site refuses them.
            if pointer is not None:
                registry.scanning.check_upload(path, pointer.oid, partial(registry.blobs.open, pointer.oid), repo.id)
            else:
                registry.scanning.check_upload(  # a blob outside LFS is below lfs_threshold: read whole
                    path, key_of(sha, None), lambda sha=sha: io.BytesIO(_git("cat-file", "blob", sha)), repo.id)
            # A .safetensors whose header cannot be read is accepted, as on the Hub: the metadata
            # refresh after the push records why it counts no parameters (commits.py).
    finally:
        registry.close()
    for u in updates:
        if u.ref == f"refs/heads/{ctx['default_branch']}" and not u.is_delete:
            try:
                text = _git("cat-file", "blob", f"{u.new}:README.md")
            except subprocess.CalledProcessError:
                continue
            check_card(text.decode("utf-8", "replace"))


def main() -> int:
    ctx = json.loads(os.environ[CONTEXT_ENV])
    updates = [RefUpdate(*line.split()) for line in sys.stdin.read().splitlines() if line.strip()]
    try:
        check_push(ctx, updates)
    except RegistryError as e:
        print(f"error: {e.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
