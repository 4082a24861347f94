"""Validation of account names, repository names, revisions and file paths.

Everything that becomes part of a filesystem path, a git ref or a URL passes through here first,
so that no request can name something outside its repository.
"""

from __future__ import annotations

import re

from dulwich.refs import check_ref_format

from .errors import BadRequest, InvalidPath
from .messages import N_

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")
RESERVED_NAMESPACES = frozenset(
    {"api", "datasets", "spaces", "models", "kernels", "buckets", "login", "logout", "join",
     "settings", "new", "organizations", "search", "static", "docs", "admin", "notifications",
     "licenses", "moderation", "signup", "signin", "tokens", "lang", "about", "help", "web-api",
     "resolve", "blog", "pricing", "user", "users", "org", "orgs", "favicon.ico", "robots.txt", "status"}
)
MAX_PATH_LENGTH = 1024
# What validate_name calls the name in its message (a Message, so pages say it in their language).
NAME, NAMESPACE, REPOSITORY_NAME = N_("name"), N_("namespace"), N_("repository name")
REPO_TYPES = ("model", "dataset", "space")
FULL_SHA_RE = re.compile(r"^[0-9a-f]{40}$")
SHORT_SHA_RE = re.compile(r"^[0-9a-f]{7,39}$")
OID_RE = re.compile(r"^[0-9a-f]{64}$")  # an LFS object id: its sha256, lowercase hex
# N is a discussion number, which a 32-bit column holds: past 9 digits it names no pull request
# (and would overflow the database driver), so it is no PR ref at all.
PR_REF_RE = re.compile(r"^refs/pr/(\d{1,9})$")


def validate_name(name: str, what: str = NAME) -> str:
    """Account and repository name rules, as the Hub (and its client) enforce them."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise BadRequest(N_("Invalid %(what)s %(name)s: use letters, digits, '-', '_' and '.', start with a "
                            "letter or digit, at most 96 characters", what=what, name=repr(name)))
    if "--" in name or ".." in name or name.endswith(".git") or name.endswith("."):
        raise BadRequest(N_("Invalid %(what)s %(name)s: '--' and '..' are not allowed, nor a trailing '.git' or '.'",
                            what=what, name=repr(name)))
    return name


def validate_namespace(name: str) -> str:
    validate_name(name, NAMESPACE)
    if name.lower() in RESERVED_NAMESPACES:
        raise BadRequest(N_("The name %(name)s is reserved", name=repr(name)))
    return name


def split_repo_id(repo_id: str) -> tuple[str, str]:
    """`ns/name` -> (ns, name), validated."""
    parts = repo_id.split("/") if isinstance(repo_id, str) else []
    if len(parts) != 2:
        raise BadRequest(N_("Invalid repository id %(repo_id)s: expected 'namespace/name'",
                            repo_id=repr(repo_id)))
    return validate_name(parts[0], NAMESPACE), validate_name(parts[1], REPOSITORY_NAME)


def validate_path(path: str) -> str:
    """A file path inside a repository: relative, normalized, and never reaching git internals."""
    if not isinstance(path, str) or not path:
        raise InvalidPath(N_("Empty file path"))
    if len(path.encode()) > MAX_PATH_LENGTH:
        raise InvalidPath(f"File path too long (over {MAX_PATH_LENGTH} bytes): {path[:80]!r}...")
    if "\x00" in path or any(ord(c) < 32 for c in path):
        raise InvalidPath(N_("Invalid file path %(path)s: control characters are not allowed",
                             path=repr(path)))
    if path.startswith(("/", "\\")):
        raise InvalidPath(N_("Invalid file path %(path)s: absolute paths are not allowed", path=repr(path)))
    for part in path.split("/"):
        if part in ("", ".", ".."):
            raise InvalidPath(N_("Invalid file path %(path)s: empty, '.' and '..' segments are not allowed",
                                 path=repr(path)))
    # A backslash is a legal character of a name, as on the Hub; but a client on Windows reads it as
    # a separator, so what it separates must not climb out of the folder or into git's own.
    for part in path.replace("\\", "/").split("/"):
        if part in (".", ".."):
            raise InvalidPath(N_("Invalid file path %(path)s: '.' and '..' segments are not allowed", path=repr(path)))
        if part.lower() == ".git":
            raise InvalidPath(N_("Invalid file path %(path)s: '.git' is reserved", path=repr(path)))
    return path


def validate_folder(path: str) -> str:
    """A folder for deletedFolder: the client may or may not send a trailing slash."""
    return validate_path(path.rstrip("/"))


def validate_branch_name(name: str) -> str:
    if not isinstance(name, str) or not name or name.startswith("refs/") or len(name) > 255:
        raise BadRequest(N_("Invalid branch name %(name)s", name=repr(name)))
    if not check_ref_format(b"refs/heads/" + name.encode()) or FULL_SHA_RE.match(name):
        raise BadRequest(N_("Invalid branch name %(name)s", name=repr(name)))
    return name


def validate_tag_name(name: str) -> str:
    if not isinstance(name, str) or not name or name.startswith("refs/") or len(name) > 255:
        raise BadRequest(N_("Invalid tag name %(name)s", name=repr(name)))
    if not check_ref_format(b"refs/tags/" + name.encode()) or FULL_SHA_RE.match(name):
        raise BadRequest(N_("Invalid tag name %(name)s", name=repr(name)))
    return name
