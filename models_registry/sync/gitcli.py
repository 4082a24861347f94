"""The `git` binary on a local bare repository: fetch, push, object listings and pointer scans.

dulwich serves the registry's own reads and writes; the network protocol (negotiation, packs,
thin packs, protocol v2) is left to git itself, which is what every other hub speaks with.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

from ..storage.lfs import Pointer, parse_pointer
from .upstream import SyncError

POINTER_MAX = 1024  # git-lfs reads at most this much to recognise a pointer
# Objects always arrive as one kept pack (never exploded into loose objects), so they can be counted;
# no automatic gc in the middle of a pull; no reflogs in a server repository.
QUIET_CONFIG = ("-c", "gc.auto=0", "-c", "fetch.unpackLimit=1", "-c", "transfer.unpackLimit=1",
                "-c", "core.logAllRefUpdates=false", "-c", "fetch.writeCommitGraph=false",
                "-c", "protocol.version=2", "-c", "credential.helper=")
# Fetched objects are checked like pushed ones (hub/git/smart_http.py): no path may reach git's own
# files or leave the repository.
FSCK_CONFIG = ("-c", "fetch.fsckObjects=true", "-c", "fetch.fsck.hasDot=error", "-c", "fetch.fsck.hasDotdot=error",
               "-c", "fetch.fsck.hasDotgit=error")
_PROGRESS_RE = re.compile(r"(Receiving|Writing) objects:\s+\d+% \((\d+)/(\d+)\)")


def run(git_dir: Path, *args: str, env: dict[str, str] | None = None, input: bytes | None = None,
        check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["git", "--git-dir", str(git_dir), *QUIET_CONFIG, *args], input=input,
                          capture_output=True, env=env if env is not None else _plain_env())
    if check and proc.returncode != 0:
        raise SyncError(f"git {args[0]} failed: {proc.stderr.decode('utf-8', 'replace').strip()[-800:]}")
    return proc


def _plain_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update({"LC_ALL": "C", "LANG": "C"})
    return env


def out(git_dir: Path, *args: str, input: bytes | None = None) -> str:
    return run(git_dir, *args, input=input).stdout.decode("utf-8", "replace")


def run_network(git_dir: Path, args: list[str], env: dict[str, str],
                on_progress: Callable[[str, int, int], None] | None = None) -> tuple[int, str]:
    """Run a fetch/push that talks to a remote, reading git's progress lines from stderr.
    Returns (exit code, stderr text)."""
    proc = subprocess.Popen(["git", "--git-dir", str(git_dir), *QUIET_CONFIG, *FSCK_CONFIG, *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = bytearray()
    buf = b""
    assert proc.stderr is not None
    while chunk := proc.stderr.read1(65536):
        err += chunk
        buf += chunk
        *lines, buf = re.split(rb"[\r\n]", buf)
        for line in lines:
            m = _PROGRESS_RE.search(line.decode("utf-8", "replace"))
            if m and on_progress:
                on_progress(m.group(1), int(m.group(2)), int(m.group(3)))
    code = proc.wait()
    return code, err.decode("utf-8", "replace")


def ls_remote(url: str, env: dict[str, str]) -> dict[str, str]:
    """The remote's refs (annotated tags not peeled)."""
    proc = subprocess.run(["git", *QUIET_CONFIG, "ls-remote", url], env=env, capture_output=True, timeout=300)
    if proc.returncode != 0:
        raise SyncError(explain_remote_failure(proc.stderr.decode("utf-8", "replace"), url))
    refs: dict[str, str] = {}
    for line in proc.stdout.decode().splitlines():
        sha, _, ref = line.partition("\t")
        if ref and not ref.endswith("^{}"):
            refs[ref] = sha
    return refs


def explain_remote_failure(stderr: str, url: str) -> str:
    low = stderr.lower()
    if "no space left" in low:
        return "The disk is full: free some space and run the command again (nothing was changed)"
    if "401" in low or "authentication failed" in low or "could not read username" in low:
        return f"{url}: authentication refused (pass --token, or check that the token is valid)"
    if "403" in low:
        return f"{url}: access refused (gated repository without accepted access, or a read-only token)"
    if "404" in low or "not found" in low:
        return f"{url}: repository not found or you have no access (pass --token)"
    if "could not resolve host" in low or "failed to connect" in low or "connection refused" in low:
        return f"Cannot reach {url}"
    return f"git could not talk to {url}: {stderr.strip()[-600:]}"


def packs(git_dir: Path) -> set[str]:
    return {p.name for p in (git_dir / "objects" / "pack").glob("*.pack")}


def pack_stats(git_dir: Path, names: set[str]) -> tuple[int, int]:
    """(objects, bytes) in these pack files."""
    objects = size = 0
    for name in names:
        pack = git_dir / "objects" / "pack" / name
        size += pack.stat().st_size
        idx = pack.with_suffix(".idx")
        with open(idx, "rb") as f:
            run_out = subprocess.run(["git", "show-index"], stdin=f, capture_output=True, check=True).stdout
        objects += run_out.count(b"\n")
    return objects, size


def refs(git_dir: Path, prefix: str = "refs/") -> dict[str, str]:
    """Ref -> the object it names (annotated tags not peeled)."""
    text = out(git_dir, "for-each-ref", "--format=%(objectname) %(refname)", prefix)
    result = {}
    for line in text.splitlines():
        sha, _, ref = line.partition(" ")
        result[ref] = sha
    return result


def peel(git_dir: Path, sha: str) -> str:
    return out(git_dir, "rev-parse", f"{sha}^{{commit}}").strip()


def is_ancestor(git_dir: Path, old: str, new: str) -> bool:
    return run(git_dir, "merge-base", "--is-ancestor", old, new, check=False).returncode == 0


def new_commits(git_dir: Path, tips: list[str], known: list[str]) -> list[str]:
    """Commits reachable from `tips` but from none of `known`, oldest first."""
    if not tips:
        return []
    args = ["rev-list", "--reverse", "--topo-order", *tips]
    if known:
        args += ["--not", *known]
    return out(git_dir, *args).split()


def lfs_pointers(git_dir: Path, commits: list[str],
                 check_path: Callable[[str], object] | None = None) -> dict[str, list[tuple[str, Pointer]]]:
    """Per commit, the (path, pointer) of every LFS pointer file in its tree; `check_path` sees
    every path of every tree (it raises to refuse one)."""
    per_commit: dict[str, list[tuple[str, str]]] = {}
    small: set[str] = set()
    for c in commits:
        entries = []
        for line in out(git_dir, "ls-tree", "-r", "-l", "-z", c).split("\0"):
            if not line:
                continue
            meta, _, path = line.partition("\t")
            mode, kind, sha, size = meta.split()
            if check_path is not None:
                check_path(path)
            if kind == "blob" and size != "-" and int(size) <= POINTER_MAX:
                entries.append((path, sha))
                small.add(sha)
        per_commit[c] = entries
    pointers = read_pointers(git_dir, small)
    return {c: [(p, pointers[s]) for p, s in entries if s in pointers] for c, entries in per_commit.items()}


def read_pointers(git_dir: Path, shas: set[str]) -> dict[str, Pointer]:
    if not shas:
        return {}
    data = run(git_dir, "cat-file", "--batch", input="".join(s + "\n" for s in shas).encode()).stdout
    found: dict[str, Pointer] = {}
    pos = 0
    while pos < len(data):
        end = data.index(b"\n", pos)
        sha, _kind, size = data[pos:end].decode().split()
        body = data[end + 1:end + 1 + int(size)]
        pos = end + 1 + int(size) + 1
        pointer = parse_pointer(body)
        if pointer is not None:
            found[sha] = pointer
    return found


def new_pointer_oids(git_dir: Path, tips: list[str], known: list[str]) -> dict[str, Pointer]:
    """LFS pointers among the blobs reachable from `tips` and not from `known`: oid -> pointer."""
    if not tips:
        return {}
    listing = out(git_dir, "rev-list", "--objects", *tips, *(["--not", *known] if known else []))
    shas = [line.split(" ", 1)[0] for line in listing.splitlines() if " " in line]
    if not shas:
        return {}
    checks = out(git_dir, "cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize)",
                 input="".join(s + "\n" for s in shas).encode())
    small = set()
    for line in checks.splitlines():
        sha, kind, size = line.split()
        if kind == "blob" and int(size) <= POINTER_MAX:
            small.add(sha)
    return {p.oid: p for p in read_pointers(git_dir, small).values()}


def count_objects(git_dir: Path, tips: list[str], known: list[str]) -> int:
    if not tips:
        return 0
    listing = out(git_dir, "rev-list", "--objects", *tips, *(["--not", *known] if known else []))
    return len(listing.splitlines())
