"""Domain exceptions. Each API surface (JSON API, git, web pages) translates them in one place."""

from __future__ import annotations


class RegistryError(Exception):
    """Base class: `status` is the HTTP status it maps to, `code` the HF `X-Error-Code` if any."""

    status = 400
    code: str | None = None

    def __init__(self, message: str, **extra: object) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class BadRequest(RegistryError):
    status = 400


class InvalidPath(BadRequest):
    """A file path no repository may hold: 422, as the Hub answers a commit that names one."""

    status = 422


class Unauthorized(RegistryError):
    """Missing or invalid credentials (never used to hide a private repository)."""

    status = 401


class Forbidden(RegistryError):
    status = 403


class RepoNotFound(RegistryError):
    """Missing repository, or one the caller may not see: the two are indistinguishable on purpose.

    The message is the Hub's own: huggingface_hub writes its detailed one (with the URL and what to
    check) and appends the server's only when it says something else, so anything longer here
    would be printed twice, in other words."""

    status = 404
    code = "RepoNotFound"

    def __init__(self, message: str = "Repository not found", **extra: object) -> None:
        super().__init__(message, **extra)


class RevisionNotFound(RegistryError):
    status = 404
    code = "RevisionNotFound"


class EntryNotFound(RegistryError):
    status = 404
    code = "EntryNotFound"

    def __init__(self, message: str, commit: str | None = None) -> None:
        super().__init__(message)
        self.commit = commit


class NotFound(RegistryError):
    status = 404


class Conflict(RegistryError):
    status = 409


class PreconditionFailed(RegistryError):
    """A stale `parent_commit`: the branch moved since the client looked."""

    status = 412


class PayloadTooLarge(RegistryError):
    status = 413


class NotImplementedYet(RegistryError):
    status = 501


class StorageUnavailable(RegistryError):
    """The object store did not answer or refused (down, wrong credentials, bucket missing, full):
    nothing was stored or referenced, and the client may retry (`retry_after` seconds)."""

    status = 503
