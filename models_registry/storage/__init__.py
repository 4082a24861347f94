"""Repository storage (bare git repositories) and blob storage (LFS objects), behind small interfaces.

See README.md in this folder for the on-disk layout and the atomicity rules.
"""

from .blobs import BlobStore, LocalBlobStore, open_blob_store
from .gitrepo import GitRepo, GitStore
from .staging import StagedFile, Stager

__all__ = ["BlobStore", "LocalBlobStore", "open_blob_store", "GitRepo", "GitStore", "StagedFile", "Stager"]
