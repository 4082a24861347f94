"""Pickles made in the tests, never loaded: a benign state dict, one that runs `os.system` when
unpickled, and the same hidden in a zip checkpoint laid out as torch.save writes it (torch is not
installed: the zip is built with zipfile)."""

from __future__ import annotations

import collections
import io
import os
import pickle
import zipfile


class RunsShell:
    """Unpickling this calls os.system(command) (pickled as posix.system on Linux)."""

    def __init__(self, command: str = "echo pwned") -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def benign_state_dict(protocol: int = 2) -> bytes:
    state = collections.OrderedDict([("layer.weight", [[0.5, -0.25], [1.0, 2.0]]), ("layer.bias", [0.0, 0.1])])
    return pickle.dumps(state, protocol=protocol)


def malicious(protocol: int = 2, command: str = "echo pwned") -> bytes:
    """A state dict whose one value runs a shell command when loaded. Protocol 0 is plain text."""
    return pickle.dumps({"layer.weight": [1.0], "hook": RunsShell(command)}, protocol=protocol)


def zip_checkpoint(data_pkl: bytes) -> bytes:
    """torch.save's format: archive/data.pkl, the version and the tensor storages."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", data_pkl)
        z.writestr("archive/byteorder", "little")
        z.writestr("archive/data/0", b"\x00" * 64)
        z.writestr("archive/version", "3\n")
    return out.getvalue()
