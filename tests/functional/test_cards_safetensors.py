"""Parameter counts of .safetensors files on the live server, as model_info's `safetensors` field."""

from __future__ import annotations

import html
import json
import struct

import numpy as np
import pytest
from huggingface_hub import CommitOperationAdd
from safetensors.numpy import save, save_file


def new_repo(hub, name: str):
    token = hub.user("st-owner")
    api = hub.api(token)
    repo_id = f"st-owner/{name}"
    api.create_repo(repo_id)
    return token, repo_id, api


def shard_1() -> dict[str, np.ndarray]:
    return {"embed.weight": np.zeros((32, 16), np.float32),   # 512 F32
            "layer.0.weight": np.ones((16, 16), np.float32),  # 256 F32
            "layer.0.bias": np.ones((16,), np.float16)}       # 16 F16


def shard_2() -> dict[str, np.ndarray]:
    return {"head.weight": np.ones((16, 10), np.float16),     # 160 F16
            "head.scale": np.ones((3,), np.int64)}            # 3 I64


def test_parameter_counts_and_shards(hub, tmp_path):
    token, repo_id, api = new_repo(hub, "sharded")
    assert api.model_info(repo_id).safetensors is None

    path = tmp_path / "model-00001-of-00002.safetensors"
    save_file(shard_1(), str(path), metadata={"format": "pt"})
    api.upload_file(path_or_fileobj=str(path), path_in_repo=path.name, repo_id=repo_id)
    info = api.model_info(repo_id)
    assert info.safetensors is not None
    assert info.safetensors.parameters == {"F32": 768, "F16": 16}
    assert info.safetensors.total == 784
    assert "safetensors" in info.tags

    path2 = tmp_path / "model-00002-of-00002.safetensors"
    save_file(shard_2(), str(path2))
    api.upload_file(path_or_fileobj=str(path2), path_in_repo=path2.name, repo_id=repo_id)
    info = api.model_info(repo_id)
    assert info.safetensors.parameters == {"F32": 768, "F16": 176, "I64": 3}
    assert info.safetensors.total == 947

    # the same numbers in the listing, and the raw JSON has exactly the Hub's shape
    raw = hub.get(f"/api/models/{repo_id}").json()
    assert raw["safetensors"] == {"parameters": {"F32": 768, "F16": 176, "I64": 3}, "total": 947}

    # removing a shard recounts from what the branch holds
    api.delete_file(path.name, repo_id)
    info = api.model_info(repo_id)
    assert info.safetensors.parameters == {"F16": 160, "I64": 3}
    assert info.safetensors.total == 163
    api.delete_file(path2.name, repo_id)
    info = api.model_info(repo_id)
    assert info.safetensors is None
    assert "safetensors" not in info.tags


def test_same_file_twice_counts_twice(hub):
    # Two paths holding identical bytes are two files of the model (e.g. a copy in a subfolder).
    token, repo_id, api = new_repo(hub, "twice")
    data = save({"w": np.ones((4, 5), np.float32)})
    api.create_commit(repo_id, operations=[CommitOperationAdd("a.safetensors", data),
                                           CommitOperationAdd("sub/b.safetensors", data)],
                      commit_message="two copies")
    info = api.model_info(repo_id)
    assert info.safetensors.parameters == {"F32": 40}
    assert info.safetensors.total == 40


def test_commit_on_another_branch_does_not_change_the_count(hub):
    token, repo_id, api = new_repo(hub, "branchy")
    api.upload_file(path_or_fileobj=save({"w": np.ones((2, 2), np.float32)}), path_in_repo="model.safetensors",
                    repo_id=repo_id)
    api.create_branch(repo_id, branch="big")
    api.upload_file(path_or_fileobj=save({"w": np.ones((20, 20), np.float32)}), path_in_repo="model.safetensors",
                    repo_id=repo_id, revision="big")
    assert api.model_info(repo_id).safetensors.total == 4


def _bad_header_length() -> bytes:
    return struct.pack("<Q", 10_000) + b'{"w": {}}'


def _non_json_header() -> bytes:
    body = b"this is not json at all!"
    return struct.pack("<Q", len(body)) + body


def _out_of_bounds() -> bytes:
    body = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode()
    return struct.pack("<Q", len(body)) + body + b"\0" * 8


@pytest.mark.parametrize("kind,make,fragment", [
    ("bad-length", _bad_header_length, "header length 10000 is invalid"),
    ("non-json", _non_json_header, "header is not valid JSON"),
    ("out-of-bounds", _out_of_bounds, "data_offsets out of the file's bounds"),
    ("too-short", lambda: b"\x01\x02", "shorter than the 8-byte header length"),
])
def test_malformed_safetensors_is_accepted_counts_nothing_and_says_why(hub, kind, make, fragment):
    """As on the Hub, a file named .safetensors need not be one: the commit lands (the stock
    client's upload and a raw commit), it adds no parameters, and its page tells why."""
    token, repo_id, api = new_repo(hub, f"malformed-{kind}")
    path = f"weights/{kind}.safetensors"
    api.upload_file(path_or_fileobj=make(), path_in_repo=path, repo_id=repo_id)
    assert api.model_info(repo_id).safetensors is None
    with open(api.hf_hub_download(repo_id, path, cache_dir=hub.data_dir / f"dl-{kind}"), "rb") as f:
        assert f.read() == make()

    good = save(shard_1())
    r = hub.raw_commit(token, repo_id, {"good.safetensors": good, f"again/{kind}.safetensors": make()})
    assert r.status_code == 200, r.text
    info = api.model_info(repo_id)
    assert info.safetensors.parameters == {"F32": 768, "F16": 16} and info.safetensors.total == 784

    page = hub.get(f"/{repo_id}/blob/main/{path}", token)
    assert page.status_code == 200 and "not a valid safetensors file" in page.text
    assert fragment in html.unescape(page.text)
    assert "not a valid safetensors file" not in hub.get(f"/{repo_id}/blob/main/good.safetensors", token).text


def test_a_pushed_malformed_safetensors_is_accepted_and_counts_nothing(hub, tmp_path_factory, tmp_path):
    from tests.support.gitutil import make_git, remote_url

    git = make_git(tmp_path_factory)
    token, repo_id, api = new_repo(hub, "pushed-malformed")
    work = tmp_path / "work"
    git.clone(remote_url(hub, repo_id, token), work)  # .gitattributes tracks *.safetensors with LFS
    pushed = git.commit_files(work, {"bad.safetensors": _non_json_header() + b"\0" * 64,
                                     "good.safetensors": save(shard_1())}, "weights, one of them broken")
    git.run("push", "origin", "main", cwd=work)
    info = api.model_info(repo_id)
    assert info.sha == pushed and info.safetensors.total == 784
    page = hub.get(f"/{repo_id}/blob/main/bad.safetensors", token)
    assert "not a valid safetensors file" in page.text and "header is not valid JSON" in page.text
