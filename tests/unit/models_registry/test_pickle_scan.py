"""The classifier of model files (models_registry/pickle_scan.py): pickles made here, never loaded."""

from __future__ import annotations

import io
import json
import pickle
import zipfile

import numpy as np
import pytest

from models_registry.pickle_scan import DANGEROUS, SAFE, SUSPICIOUS, Import, needs_scan, scan
from tests.support.pickles import benign_state_dict, malicious, zip_checkpoint

SYSTEM = Import("posix", "system", "dangerous")


def verdict(data: bytes, name: str):
    return scan(io.BytesIO(data), name)


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_a_state_dict_of_plain_values_is_safe(protocol):
    v = verdict(benign_state_dict(protocol), "pytorch_model.bin")
    assert v.status == SAFE and v.imports == [Import("collections", "OrderedDict", "innocuous")]


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_a_reduce_to_os_system_is_dangerous(protocol):
    v = verdict(malicious(protocol), "optimizer.pkl")
    assert v.status == DANGEROUS and v.dangerous_imports == [SYSTEM]


def test_a_pickle_hidden_in_a_zip_checkpoint_is_found():
    v = verdict(zip_checkpoint(malicious()), "model.pt")
    assert v.status == DANGEROUS and SYSTEM in v.imports
    assert verdict(zip_checkpoint(benign_state_dict()), "model.pt").status == SAFE


def test_an_unknown_import_is_suspicious_not_safe():
    # GLOBAL 'mylib.layers Custom' then an empty tuple, REDUCE, STOP: an import no list knows
    v = verdict(b"cmylib.layers\nCustom\n)R.", "model.bin")
    assert v.status == SUSPICIOUS and v.imports == [Import("mylib.layers", "Custom", "suspicious")]


def test_imports_before_a_parse_error_are_kept_and_never_safe():
    v = verdict(malicious(2)[:-1] + b"\xff\xfe garbage", "evil.pkl")
    assert v.status == DANGEROUS and SYSTEM in v.imports


def test_a_pickle_too_large_to_hold_is_suspicious_and_read_no_further():
    big = pickle.dumps({"weights": b"\x00" * 300_000}, protocol=4)
    class Counting(io.BytesIO):
        total = 0

        def read(self, n=-1):
            data = super().read(n)
            Counting.total += len(data)
            return data

    v = scan(Counting(big), "huge.pkl", max_read=100_000)
    assert v.status == SUSPICIOUS and "too large" in v.note
    assert Counting.total <= 100_000
    assert verdict(big, "huge.pkl").status == SAFE  # under the default limit it is read through


def test_a_bin_that_is_no_pickle_has_no_imports():
    # torch.load could not load it either: nothing of it runs
    v = verdict(b"\x00\x01raw tensor bytes" * 10, "weights.bin")
    assert v.status == SAFE and v.imports == []


def test_numpy_arrays_of_numbers_are_safe_and_of_objects_are_scanned():
    plain = io.BytesIO()
    np.save(plain, np.arange(4, dtype=np.float32))
    assert verdict(plain.getvalue(), "x.npy").status == SAFE
    objects = io.BytesIO()
    arr = np.empty(1, dtype=object)
    arr[0] = pickle.loads(benign_state_dict())  # a plain dict: fine to build here
    np.save(objects, arr, allow_pickle=True)
    v = verdict(objects.getvalue(), "x.npy")
    assert v.status == SAFE and Import("collections", "OrderedDict", "innocuous") in v.imports
    assert Import("numpy", "ndarray", "innocuous") in v.imports  # the object array's own pickle was read
    hidden = np.empty(1, dtype=object)
    evil = io.BytesIO()
    np.save(evil, hidden, allow_pickle=True)
    # the same header followed by a malicious pickle instead of numpy's
    header = evil.getvalue()[:evil.getvalue().index(b"\n") + 1]
    assert verdict(header + malicious(), "x.npy").dangerous_imports == [SYSTEM]


def keras_zip(config: dict) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("config.json", json.dumps(config))
        z.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n")
    return out.getvalue()


def test_a_keras_lambda_layer_is_dangerous():
    layers = [{"class_name": "Dense", "config": {}},
              {"class_name": "Lambda", "config": {"function": {"class_name": "__lambda__", "config": {"code": "4wEA"}}}}]
    model = {"class_name": "Sequential", "config": {"layers": layers}}
    assert verdict(keras_zip(model), "model.keras").dangerous_imports == [Import("keras.layers", "Lambda", "dangerous")]
    assert verdict(keras_zip({"class_name": "Sequential", "config": {"layers": layers[:1]}}), "m.keras").status == SAFE
    h5 = b"\x89HDF\r\n\x1a\n" + b"\x00" * 3000 + json.dumps(model).encode() + b"\x00" * 100
    assert verdict(h5, "model.h5").status == DANGEROUS
    assert verdict(b"\x89HDF\r\n\x1a\n" + b"\x00" * 100, "model.h5").status == SAFE
    assert verdict(b"not a zip", "model.keras").status == SUSPICIOUS


def test_which_files_are_scanned():
    for name in ("pytorch_model.bin", "a/model.PT", "x.pth", "opt.pkl", "last.ckpt", "clf.joblib", "arr.npy",
                 "model.keras", "tf_model.h5"):
        assert needs_scan(name), name
    for name in ("model.safetensors", "llama.gguf", "README.md", "config.json", "tokenizer.model"):
        assert not needs_scan(name), name
