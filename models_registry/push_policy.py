"""What a git push may do, checked before any ref moves (from the pre-receive hook).

Pure functions over plain data gathered from the pushed objects, so the rules are the same
whatever transport brought the commits and can be tested without git.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import cards, names
from .errors import BadRequest
from .storage.lfs import MAX_POINTER_SIZE, Pointer, parse_pointer  # re-exported: the pre-receive hook reads pointers

ZERO = "0" * 40


@dataclass(frozen=True)
class RefUpdate:
    old: str
    new: str
    ref: str

    @property
    def is_delete(self) -> bool:
        return self.new == ZERO

    @property
    def is_create(self) -> bool:
        return self.old == ZERO


class PushRefused(BadRequest):
    pass


def check_ref(update: RefUpdate, default_branch: str, fast_forward: bool, allow_force_default: bool,
              can_write: bool = True, open_prs: frozenset[str] = frozenset()) -> None:
    """`open_prs`: the refs/pr/N this pusher may update (open pull requests it authored or maintains)."""
    ref = update.ref
    if ref.startswith("refs/pr/"):
        if ref not in open_prs:
            raise PushRefused(f"{ref}: not an open pull request you may push to (open one first)")
        if update.is_delete or update.is_create:
            raise PushRefused(f"{ref}: pull request refs cannot be created or deleted by a push")
        return
    if not can_write:
        raise PushRefused(f"{ref}: you have no write access to this repository; push to a pull request "
                          "ref (refs/pr/N) instead")
    if ref.startswith("refs/heads/"):
        names.validate_branch_name(ref[len("refs/heads/"):])
    elif ref.startswith("refs/tags/"):
        names.validate_tag_name(ref[len("refs/tags/"):])
    else:
        raise PushRefused(f"{ref}: only branches (refs/heads/*), tags (refs/tags/*) and pull requests "
                          "(refs/pr/N) can be pushed")
    if ref == f"refs/heads/{default_branch}":
        if update.is_delete:
            raise PushRefused(f"{ref}: the default branch cannot be deleted")
        if not update.is_create and not fast_forward and not allow_force_default:
            raise PushRefused(f"{ref}: force-push to the default branch is not allowed (it would rewrite history); "
                              "pull and merge instead")


def check_path(path: str) -> None:
    try:
        names.validate_path(path)
    except BadRequest as e:
        raise PushRefused(e.message) from None


def check_blob(path: str, size: int, pointer: Pointer | None, lfs_threshold: int, lfs_known: bool) -> None:
    """A pushed file: large files must come through LFS, and LFS objects must have been uploaded."""
    if pointer is not None:
        if not lfs_known:
            raise PushRefused(f"{path}: LFS object {pointer.oid} was not uploaded to this repository "
                              "(is git-lfs installed? run `git lfs push --all origin`)")
        return
    if size > lfs_threshold:
        raise PushRefused(f"{path}: {size} bytes is over the {lfs_threshold // (1024 * 1024)} MiB limit for "
                          "files outside git-LFS; track it with `git lfs track` and commit again")


def check_card(text: str) -> None:
    report = cards.parse_card(text)
    if report.errors:
        raise PushRefused("README.md: invalid model card metadata: " + "; ".join(str(e) for e in report.errors))
