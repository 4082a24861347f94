"""git-LFS pointer files and the rules that decide which files are stored as LFS."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from dulwich.attrs import GitAttributes, Pattern, parse_git_attributes

POINTER_VERSION = b"version https://git-lfs.github.com/spec/v1\n"
MAX_POINTER_SIZE = 200
_POINTER_RE = re.compile(rb"^version https://git-lfs\.github\.com/spec/v1\noid sha256:([0-9a-f]{64})\nsize (\d+)\n$")

# What huggingface.co puts in a new repository; files matching these are stored as LFS.
DEFAULT_GITATTRIBUTES = """\
*.7z filter=lfs diff=lfs merge=lfs -text
*.arrow filter=lfs diff=lfs merge=lfs -text
*.bin filter=lfs diff=lfs merge=lfs -text
*.bz2 filter=lfs diff=lfs merge=lfs -text
*.ckpt filter=lfs diff=lfs merge=lfs -text
*.ftz filter=lfs diff=lfs merge=lfs -text
*.gguf filter=lfs diff=lfs merge=lfs -text
*.gz filter=lfs diff=lfs merge=lfs -text
*.h5 filter=lfs diff=lfs merge=lfs -text
*.joblib filter=lfs diff=lfs merge=lfs -text
*.lfs.* filter=lfs diff=lfs merge=lfs -text
*.mlmodel filter=lfs diff=lfs merge=lfs -text
*.model filter=lfs diff=lfs merge=lfs -text
*.msgpack filter=lfs diff=lfs merge=lfs -text
*.npy filter=lfs diff=lfs merge=lfs -text
*.npz filter=lfs diff=lfs merge=lfs -text
*.onnx filter=lfs diff=lfs merge=lfs -text
*.ot filter=lfs diff=lfs merge=lfs -text
*.parquet filter=lfs diff=lfs merge=lfs -text
*.pb filter=lfs diff=lfs merge=lfs -text
*.pickle filter=lfs diff=lfs merge=lfs -text
*.pkl filter=lfs diff=lfs merge=lfs -text
*.pt filter=lfs diff=lfs merge=lfs -text
*.pth filter=lfs diff=lfs merge=lfs -text
*.rar filter=lfs diff=lfs merge=lfs -text
*.safetensors filter=lfs diff=lfs merge=lfs -text
saved_model/**/* filter=lfs diff=lfs merge=lfs -text
*.tar.* filter=lfs diff=lfs merge=lfs -text
*.tar filter=lfs diff=lfs merge=lfs -text
*.tflite filter=lfs diff=lfs merge=lfs -text
*.tgz filter=lfs diff=lfs merge=lfs -text
*.wasm filter=lfs diff=lfs merge=lfs -text
*.xz filter=lfs diff=lfs merge=lfs -text
*.zip filter=lfs diff=lfs merge=lfs -text
*.zst filter=lfs diff=lfs merge=lfs -text
*tfevents* filter=lfs diff=lfs merge=lfs -text
"""


@dataclass(frozen=True)
class Pointer:
    oid: str
    size: int

    def encode(self) -> bytes:
        return POINTER_VERSION + b"oid sha256:%s\nsize %d\n" % (self.oid.encode(), self.size)


def parse_pointer(data: bytes) -> Pointer | None:
    """The pointer in a blob, or None if the blob is ordinary content."""
    if len(data) > MAX_POINTER_SIZE or not data.startswith(POINTER_VERSION):
        return None
    m = _POINTER_RE.match(data)
    return Pointer(m.group(1).decode(), int(m.group(2))) if m else None


class LfsRules:
    """Decides whether a file goes to LFS: by size, by content (binary), or by .gitattributes."""

    def __init__(self, gitattributes: bytes | None, size_threshold: int) -> None:
        patterns = []
        if gitattributes:
            try:
                patterns = [(Pattern(p), a) for p, a in parse_git_attributes(io.BytesIO(gitattributes))]
            except Exception:  # a broken .gitattributes must not block commits; size/binary rules still apply
                patterns = []
        self._attrs = GitAttributes(patterns)
        self.size_threshold = size_threshold

    def matches_pattern(self, path: str) -> bool:
        return self._attrs.match_path(path.encode()).get(b"filter") == b"lfs"

    def wants_lfs(self, path: str, size: int, is_binary: bool) -> bool:
        # Empty files stay empty blobs, as git-lfs's clean filter leaves them.
        if path == ".gitattributes" or size == 0:
            return False
        return size > self.size_threshold or is_binary or self.matches_pattern(path)
