"""JSON shapes of the HF API, built from the registry's plain data."""

from __future__ import annotations

from typing import Any

from models_registry.scanning import FLAGGED, ScanView
from models_registry.records import FileEntry, RepoView

from .common import iso


def entry_json(e: FileEntry, xet_hashes: dict[str, str] | None = None) -> dict[str, Any]:
    """A tree entry; `xet_hashes` (sha256 -> Xet file hash) marks files Xet clients may fetch from the CAS."""
    if e.type == "directory":
        return {"type": "directory", "oid": e.oid, "path": e.path}
    out: dict[str, Any] = {"type": "file", "oid": e.oid, "size": e.size, "path": e.path}
    if e.lfs:
        out["lfs"] = {"oid": e.lfs.oid, "size": e.lfs.size, "pointerSize": e.lfs.pointer_size}
        if xet_hashes and e.lfs.oid in xet_hashes:
            out["xetHash"] = xet_hashes[e.lfs.oid]
    return out


def sibling_json(e: FileEntry, blobs: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"rfilename": e.path}
    if blobs:
        out["size"] = e.size
        out["blobId"] = e.oid
        if e.lfs:
            out["lfs"] = {"size": e.lfs.size, "sha256": e.lfs.oid, "pointerSize": e.lfs.pointer_size}
    return out


def repo_json(repo: RepoView, *, sha: str | None = None, siblings: list[dict] | None = None,
              full: bool = True, card: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "_id": str(repo.id),
        "id": repo.repo_id,
        "author": repo.namespace,
        "sha": sha if sha is not None else repo.head_sha,
        "private": repo.private,
        "gated": repo.gated or False,
        "disabled": repo.disabled,
        "downloads": repo.downloads,
        "downloadsAllTime": repo.downloads_all_time,
        "likes": repo.likes,
        "tags": repo.tags,
        "createdAt": iso(repo.created_at),
        "lastModified": iso(repo.last_modified),
    }
    if repo.repo_type == "model":
        out["modelId"] = repo.repo_id
        if repo.pipeline_tag:
            out["pipeline_tag"] = repo.pipeline_tag
        if repo.library_name:
            out["library_name"] = repo.library_name
    if repo.safetensors:
        out["safetensors"] = repo.safetensors
    out["trendingScore"] = repo.trending_score
    if card and repo.card_data is not None:
        out["cardData"] = repo.card_data
    if siblings is not None:
        out["siblings"] = siblings
    if not full:
        for k in ("_id", "disabled", "downloadsAllTime", "author", "sha"):
            out.pop(k, None)
    return out


def expand_only(data: dict[str, Any], expand: list[str]) -> dict[str, Any]:
    """`expand=a&expand=b`: only those properties (plus id). Pass the full object (full=True)."""
    keep = {"id", "_id", *expand}
    return {k: v for k, v in data.items() if k in keep}


def security_json(view: ScanView) -> dict[str, Any]:
    """A file's `securityFileStatus`, as the Hub sends it with expand=true. No antivirus runs here:
    `avScan` is null (the client accepts that), never a claim that no virus was found."""
    scan = None
    if view.scanned and view.done:
        scan = {"highestSafetyLevel": view.highest, "imports": view.imports}
    return {"status": view.status, "avScan": None, "pickleImportScan": scan}


def repo_security_json(status: dict[str, ScanView]) -> dict[str, Any]:
    """A model's `securityRepoStatus`: whether every file was scanned, and those with issues."""
    return {"scansDone": all(v.done for v in status.values()),
            "filesWithIssues": [{"path": p, "level": v.status, "pickleImportScan": security_json(v)["pickleImportScan"]}
                                for p, v in status.items() if v.status in FLAGGED]}

