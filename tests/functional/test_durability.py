"""What the hub publishes is flushed to disk before anything can name it, seen in the system calls
of a live server under strace: git objects written by API commits (dulwich) and by pushes (git
receive-pack) are fsynced before they get their final name, and an LFS object's new name is
flushed (its folder fsynced) right after the rename. Without these, a power cut soon after a
commit could leave a branch naming an object that never reached the disk."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.gitutil import make_git, remote_url, sha256
from tests.support.live import local_storage, start_hub
from tests.support.waiting import poll

STRACE = shutil.which("strace")
pytestmark = pytest.mark.skipif(STRACE is None, reason="strace is not installed (.ci/run installs it)")

USER = "durable-user"
OBJECT_NAME = re.compile(r"/objects/[0-9a-f]{2}/[0-9a-f]{38}$")
# 1234 fsync(7</data/repos/ab/x.git/objects/12/3456.lock>) = 0
# 1234 rename("/a/b.lock", "/a/b") = 0 ; 1234 link("objects/12/tmp_obj_Ab", "objects/12/3456") = 0
LINE = re.compile(r'^(\d+)\s+(\w+)\((.*)\)\s+=\s+0$')
FD_PATH = re.compile(r"^\d+<(.*)>$")


@dataclass
class Call:
    pid: int
    name: str
    args: list[str]


UNFINISHED = re.compile(r"^(\d+)\s+(.*) <unfinished \.\.\.>$")
RESUMED = re.compile(r"^(\d+)\s+<\.\.\. \w+ resumed>(.*)$")


def calls(log: Path) -> list[Call]:
    """The calls that succeeded, in the order they returned. A call interrupted in the log by
    another thread's (`<unfinished ...>`, then `<... name resumed>`) is joined again."""
    out = []
    pending: dict[str, str] = {}
    for line in log.read_text(errors="replace").splitlines():
        if m := UNFINISHED.match(line):
            pending[m.group(1)] = m.group(2)
            continue
        if (m := RESUMED.match(line)) and m.group(1) in pending:
            line = f"{m.group(1)} {pending.pop(m.group(1))}{m.group(2)}"
        m = LINE.match(line)
        if m:
            args = [a.strip().strip('"') for a in re.split(r',\s*(?=(?:[^"]*"[^"]*")*[^"]*$)', m.group(3))]
            out.append(Call(int(m.group(1)), m.group(2), args))
    return out


def fsynced_path(call: Call) -> str | None:
    if call.name in ("fsync", "fdatasync"):
        m = FD_PATH.match(call.args[0])
        return m.group(1) if m else None
    return None


def publications(trace: list[Call]) -> list[tuple[int, Call, str, str]]:
    """(index, call, source, target) of every rename or link, with AT_FDCWD-style args reduced."""
    out = []
    for i, c in enumerate(trace):
        if c.name in ("rename", "link"):
            out.append((i, c, c.args[0], c.args[1]))
        elif c.name in ("renameat", "renameat2", "linkat"):
            out.append((i, c, c.args[1], c.args[3]))
    return out


def _key(path: str) -> str:
    return "/".join(Path(path).parts[-3:])  # relative and absolute spellings of one path agree


def unflushed_objects(trace: list[Call], source_pattern: str) -> tuple[int, list[str]]:
    """How many loose objects reached the object store from files whose name matches
    `source_pattern`, and which of them had not been fsynced (by the process that wrote them)
    before they got a name. Pushed objects are linked twice (into git's quarantine folder, then
    into the store once the pre-receive hook accepted them): followed back to the written file."""
    pubs = publications(trace)
    earliest: dict[str, tuple[int, Call, str]] = {}
    for i, c, src, dst in pubs:
        earliest.setdefault(_key(dst), (i, c, src))
    seen, bad = 0, []
    for i, c, src, dst in pubs:
        if not OBJECT_NAME.search(dst):
            continue
        while (prev := earliest.get(_key(src))) is not None and prev[0] < i:
            i, c, src = prev
        name = os.path.basename(src)
        if not re.search(source_pattern, name):
            continue
        seen += 1
        if not any(t.pid == c.pid and (p := fsynced_path(t)) and os.path.basename(p) == name for t in trace[:i]):
            bad.append(dst)
    return seen, bad


@pytest.fixture(scope="module")
def traced(tmp_path_factory):
    data = tmp_path_factory.mktemp("durable-hub")
    log = data.parent / f"{data.name}.strace"
    # The names checked are files on local disk (object stores publish atomically themselves).
    h = start_hub(data, workers=1, env=local_storage(data), wrapper=[
        STRACE, "-f", "-qq", "-y", "-o", str(log),
        "-e", "trace=fsync,fdatasync,rename,renameat,renameat2,link,linkat"])
    yield h, log
    h.stop()


@pytest.fixture(scope="module")
def token(traced) -> str:
    return traced[0].users(USER)[0]


def test_api_commits_flush_git_objects_before_naming_them(traced, token):
    hub, log = traced
    api = hub.api(token)
    rid = f"{USER}/api-commits"
    api.create_repo(rid)
    api.upload_file(path_or_fileobj=b"durable\n", path_in_repo="notes/readme.txt", repo_id=rid)
    # dulwich writes each loose object as <name>.lock, then renames it
    seen, bad = poll(lambda: unflushed_objects(calls(log), r"^[0-9a-f]{38}\.lock$"), lambda r: r[0] >= 4)
    assert seen >= 4  # blob, two trees, commit
    assert bad == []


def test_pushed_loose_objects_are_flushed(traced, token, tmp_path_factory, tmp_path):
    hub, log = traced
    rid = f"{USER}/pushed"
    hub.api(token).create_repo(rid)
    git = make_git(tmp_path_factory, lfs=False)
    work = tmp_path / "work"
    git.clone(remote_url(hub, rid, token), work)
    git.commit_files(work, {"pushed/a.txt": b"pushed by git\n"}, "Pushed")
    git.run("push", "origin", "main", cwd=work)
    # few objects: unpack-objects writes them as loose tmp_obj_* files, then links them
    seen, bad = poll(lambda: unflushed_objects(calls(log), r"^tmp_obj_"), lambda r: r[0] >= 4)
    assert seen >= 4  # blob, two trees, commit
    assert bad == []


def test_a_new_lfs_object_name_is_flushed(traced, token):
    hub, log = traced
    api = hub.api(token)
    rid = f"{USER}/lfs"
    api.create_repo(rid)
    data = b"\0binary" + os.urandom(64 * 1024)  # a NUL byte: stored as LFS whatever its size
    api.upload_file(path_or_fileobj=data, path_in_repo="weights.dat", repo_id=rid)
    oid = sha256(data)
    lfs_root = hub.data_dir / "lfs"
    target = lfs_root / oid[:2] / oid[2:4] / oid
    assert target.is_file()

    def trace_of_publication():
        trace = calls(log)
        hits = [(i, c, src) for i, c, src, dst in publications(trace) if dst == str(target)]
        return trace, hits

    trace, hits = poll(trace_of_publication, lambda r: len(r[1]) == 1)
    assert len(hits) == 1
    i, rename, src = hits[0]
    before = {fsynced_path(c) for c in trace[:i] if c.pid == rename.pid}
    after = [fsynced_path(c) for c in trace[i + 1:] if c.pid == rename.pid]
    assert src in before  # the staged bytes were flushed before they got a name
    # the name itself, and the two folders created for it (new entries in their parents)
    for folder in (target.parent, target.parent.parent, lfs_root):
        assert str(folder) in after, (folder, after[:10])
