"""Drive the real `git` and `git-lfs` binaries against a live hub (tests/support/live.py).

Every call runs with a private HOME (no user or system configuration, no credential helper), with
GIT_TERMINAL_PROMPT=0 so that a credentials request fails at once instead of waiting on a prompt,
and with a timeout, so that a hang fails the test instead of stalling the suite.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

LFS_FILTERS = (
    "-c", "filter.lfs.smudge=git-lfs smudge -- %f",
    "-c", "filter.lfs.process=git-lfs filter-process",
    "-c", "filter.lfs.required=true",
    "-c", "filter.lfs.clean=git-lfs clean -- %f",
)
IDENTITY = ("-c", "user.name=Git Tester", "-c", "user.email=git-tester@example.com")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            h.update(chunk)
    return h.hexdigest()


def lfs_pointer(oid: str, size: int) -> bytes:
    """A git-LFS pointer file, byte for byte what git-lfs writes."""
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {size}\n".encode()


def remote_url(hub, repo_id: str, token: str | None = None, user: str = "git") -> str:
    """The clone URL of `repo_id`, with `user:token` in it when a token is given."""
    host = hub.host_port
    return f"http://{user}:{token}@{host}/{repo_id}" if token else f"http://{host}/{repo_id}"


class Git:
    """`git` in a sandboxed environment: `lfs=True` gives it git-lfs filters and hooks, `lfs=False`
    a plain git that commits pointer files as ordinary files."""

    def __init__(self, home: Path, lfs: bool = True) -> None:
        self.home = home
        self.lfs = lfs
        home.mkdir(parents=True, exist_ok=True)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "HF_"))}
        self.env.update({
            "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "LANG": "C",
        })
        self.env.pop("SSH_ASKPASS", None)  # no graphical prompt either

    def run(self, *args: str, cwd: str | Path | None = None, check: bool = True, input: str | None = None,
            env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        """`git ARGS` (text output). With check=True a failure raises with git's stderr in the message."""
        cmd = ["git", *IDENTITY, *(LFS_FILTERS if self.lfs else ()), *args]
        proc = subprocess.run(cmd, cwd=cwd, input=input, capture_output=True, text=True, errors="replace",
                              env={**self.env, **(env or {})}, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(args)} exited {proc.returncode}\nstdout:\n{proc.stdout}\n"
                                 f"stderr:\n{proc.stderr}")
        return proc

    def out(self, *args: str, cwd: str | Path | None = None) -> str:
        return self.run(*args, cwd=cwd).stdout.strip()

    def clone(self, url: str, dest: Path, check: bool = True, **kw) -> subprocess.CompletedProcess:
        proc = self.run("clone", url, str(dest), check=check, **kw)
        if proc.returncode == 0 and self.lfs:
            # The pre-push hook that uploads LFS objects (git-lfs also installs it on checkout; this
            # makes it explicit).
            self.run("lfs", "install", "--local", cwd=dest)
        return proc

    def commit_files(self, repo: Path, files: dict[str, bytes], message: str) -> str:
        """Write `files` into the work tree, commit them all, return the new HEAD."""
        for rel, data in files.items():
            path = repo / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        self.run("add", "--", *files, cwd=repo)
        self.run("commit", "-q", "-m", message, cwd=repo)
        return self.head(repo)

    def head(self, repo: Path, rev: str = "HEAD") -> str:
        return self.out("rev-parse", rev, cwd=repo)

    def ls_remote(self, url: str) -> dict[str, str]:
        """ref name -> sha, as the server advertises them."""
        refs = {}
        for line in self.out("ls-remote", url).splitlines():
            sha, ref = line.split("\t")
            refs[ref] = sha
        return refs


def make_git(tmp_path_factory, lfs: bool = True) -> Git:
    """A sandboxed git; with lfs, `git lfs install --skip-repo` is run in its HOME."""
    home = tmp_path_factory.mktemp("git-home-lfs" if lfs else "git-home-plain")
    git = Git(home, lfs=lfs)
    if lfs:
        git.run("lfs", "install", "--skip-repo")
    return git
