"""The three main flows of the HF client, end to end."""

from __future__ import annotations

import hashlib
import os

from huggingface_hub import hf_hub_download, snapshot_download


def test_upload_download_roundtrip(hub, hf_cache):
    token = hub.user("smoke")
    api = hub.api(token)
    assert api.whoami()["name"] == "smoke"
    url = api.create_repo("roundtrip")
    assert url == f"{hub.url}/smoke/roundtrip"
    data = os.urandom(25 * 1024 * 1024)
    api.upload_file(path_or_fileobj=b"# hello\n", path_in_repo="README.md", repo_id="smoke/roundtrip")
    api.upload_file(path_or_fileobj=data, path_in_repo="weights/model.bin", repo_id="smoke/roundtrip")
    info = api.model_info("smoke/roundtrip", files_metadata=True)
    by_name = {s.rfilename: s for s in info.siblings}
    assert by_name["weights/model.bin"].lfs.sha256 == hashlib.sha256(data).hexdigest()
    assert by_name["weights/model.bin"].size == len(data)
    path = hf_hub_download("smoke/roundtrip", "weights/model.bin", endpoint=hub.url, token=token, cache_dir=hf_cache)
    with open(path, "rb") as f:
        assert hashlib.sha256(f.read()).digest() == hashlib.sha256(data).digest()
    snap = snapshot_download("smoke/roundtrip", endpoint=hub.url, token=token, cache_dir=hf_cache)
    assert sorted(os.listdir(snap)) == [".gitattributes", "README.md", "weights"]
