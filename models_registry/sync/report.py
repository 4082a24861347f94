"""What a sync step did, as plain data: printed by the CLI, stored by `mirrors`, shown to admins."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class LfsCheck:
    """One LFS file of a mirrored revision: what the upstream claimed and what we verified."""

    path: str
    upstream_sha256: str | None  # the oid the upstream reported (pointer / lfs info); None if it reported none
    sha256: str                  # what we computed over the bytes we stored
    size: int

    @property
    def verified(self) -> bool:
        return self.upstream_sha256 is not None and self.upstream_sha256 == self.sha256


@dataclass
class SyncReport:
    """Outcome of one pull or push of one repository."""

    source: str                   # e.g. "http://upstream:8080/Qwen/Qwen2.5-7B"
    target: str                   # e.g. "local:mirrors/Qwen2.5-7B" or a remote URL
    method: str = "git"           # "git" (identical commit hashes) or "api" (fallback)
    refs_updated: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)  # ref -> (old, new)
    git_objects: int = 0          # git objects transferred
    lfs_objects: int = 0          # LFS objects transferred (fully or resumed)
    bytes_transferred: int = 0    # bytes moved over the network (git pack + LFS)
    skipped: int = 0              # LFS objects already present here (not transferred)
    failed: list[str] = field(default_factory=list)  # human-readable failures; non-empty => exit != 0
    lfs_checks: dict[str, list[LfsCheck]] = field(default_factory=dict)  # commit sha -> its LFS files
    card_data: dict | None = None  # upstream card metadata of the default branch head (license etc.)
    gated: str | bool | None = None  # upstream gating as reported by its model_info
    private: bool | None = None
    lfs_bytes: int = 0            # the LFS part of bytes_transferred
    bytes_resumed: int = 0        # LFS bytes found on disk from an interrupted earlier attempt (not re-downloaded)
    notes: list[str] = field(default_factory=list)  # remarks that are not failures (e.g. refs left alone)

    @property
    def ok(self) -> bool:
        return not self.failed
