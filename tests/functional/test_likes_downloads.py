"""Downloads (counted once per model fetch, as the Hub counts them) and likes, through the real client."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from huggingface_hub import CommitOperationAdd, hf_hub_download, snapshot_download
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError
from safetensors.numpy import save

CONFIG = b'{"model_type": "bert", "hidden_size": 8}'
CROWD = [f"likes-crowd{i}" for i in range(9)]


@pytest.fixture(scope="module")
def people(hub) -> dict[str, str]:
    """Every user of this module, created in one go (each `modelhub` subprocess costs seconds)."""
    names = ["dl-owner", "likes-owner", "likes-fan", *CROWD]
    return dict(zip(names, hub.users(*names)))


def weights(seed: int) -> bytes:
    return save({"w": np.full((4, 4), seed, np.float32)})


def counts(api, repo_id: str) -> tuple[int, int]:
    info = api.model_info(repo_id, expand=["downloads", "downloadsAllTime"])
    return info.downloads, info.downloads_all_time


def make_repo(api, repo_id: str, files: dict[str, bytes]) -> None:
    api.create_repo(repo_id)
    api.create_commit(repo_id, operations=[CommitOperationAdd(p, d) for p, d in files.items()],
                      commit_message="files")


# ---- downloads ---------------------------------------------------------------------------------

def test_config_json_counts_once_per_fetch(hub, people, tmp_path):
    token = people["dl-owner"]
    api = hub.api(token)
    repo_id = "dl-owner/with-config"
    make_repo(api, repo_id, {"config.json": CONFIG, "model.safetensors": weights(1), "README.md": b"# card\n"})
    assert counts(api, repo_id) == (0, 0)

    for i in range(3):  # a fresh cache each time: the client's HEAD and its GET are one fetch
        path = hf_hub_download(repo_id, "config.json", endpoint=hub.url, token=token,
                               cache_dir=str(tmp_path / f"cache-{i}"))
        with open(path, "rb") as f:
            assert f.read() == CONFIG
        assert counts(api, repo_id) == (i + 1, i + 1)

    # README, weights (the model's config.json is what counts), HEAD-only metadata: not downloads
    cache = str(tmp_path / "other")
    hf_hub_download(repo_id, "README.md", endpoint=hub.url, token=token, cache_dir=cache)
    hf_hub_download(repo_id, "model.safetensors", endpoint=hub.url, token=token, cache_dir=cache)
    api.get_hf_file_metadata(url=f"{hub.url}/{repo_id}/resolve/main/config.json")
    assert api.file_exists(repo_id, "config.json")
    assert counts(api, repo_id) == (3, 3)

    # anonymous fetches count too (the repository is public); a missing file does not
    assert hub.get(f"/{repo_id}/resolve/main/config.json").status_code == 200
    assert hub.get(f"/{repo_id}/resolve/main/nope/config.json").status_code == 404
    assert counts(api, repo_id) == (4, 4)



def test_listing_expands_download_counts(hub, people, tmp_path):
    token = people["dl-owner"]
    api = hub.api(token)
    repo_id = "dl-owner/listed"
    make_repo(api, repo_id, {"config.json": CONFIG})
    for _ in range(2):
        assert hub.get(f"/{repo_id}/resolve/main/config.json").status_code == 200
    by_id = {m.id: m for m in api.list_models(author="dl-owner", expand=["downloads"])}
    assert by_id[repo_id].downloads == 2
    by_id = {m.id: m for m in api.list_models(author="dl-owner", expand=["downloads", "downloadsAllTime"])}
    assert by_id[repo_id].downloads == 2
    assert by_id[repo_id].downloads_all_time == 2


def test_range_reads_do_not_count(hub, people):
    token = people["dl-owner"]
    api = hub.api(token)
    repo_id = "dl-owner/ranges"
    make_repo(api, repo_id, {"config.json": CONFIG})
    r = hub.get(f"/{repo_id}/resolve/main/config.json", headers={"Range": "bytes=10-20"})
    assert r.status_code == 206 and r.content == CONFIG[10:21]
    assert counts(api, repo_id) == (0, 0)
    r = hub.get(f"/{repo_id}/resolve/main/config.json", headers={"Range": "bytes=0-4"})
    assert r.status_code == 206 and r.content == CONFIG[:5]
    assert counts(api, repo_id) == (0, 0)
    # a whole-file read that merely names a range from the start is a fetch
    r = hub.get(f"/{repo_id}/resolve/main/config.json", headers={"Range": "bytes=0-"})
    assert r.content == CONFIG
    assert counts(api, repo_id) == (1, 1)


def test_head_does_not_count(hub, people):
    token = people["dl-owner"]
    api = hub.api(token)
    repo_id = "dl-owner/heads"
    make_repo(api, repo_id, {"config.json": CONFIG})
    r = hub.request("HEAD", f"/{repo_id}/resolve/main/config.json")
    assert r.status_code == 200 and int(r.headers["Content-Length"]) == len(CONFIG)
    assert counts(api, repo_id) == (0, 0)


def test_without_config_each_weights_file_counts(hub, people, tmp_path):
    token = people["dl-owner"]
    api = hub.api(token)
    repo_id = "dl-owner/gguf-style"
    files = {"model-q4.safetensors": weights(1), "model-q8.safetensors": weights(2), "README.md": b"# quants\n",
             "notes.json": b"{}"}
    make_repo(api, repo_id, files)
    cache = str(tmp_path / "c")
    hf_hub_download(repo_id, "model-q4.safetensors", endpoint=hub.url, token=token, cache_dir=cache)
    assert counts(api, repo_id) == (1, 1)
    hf_hub_download(repo_id, "model-q8.safetensors", endpoint=hub.url, token=token, cache_dir=cache)
    hf_hub_download(repo_id, "README.md", endpoint=hub.url, token=token, cache_dir=cache)
    hf_hub_download(repo_id, "notes.json", endpoint=hub.url, token=token, cache_dir=cache)
    assert counts(api, repo_id) == (2, 2)


def test_safetensors_metadata_probe_is_not_a_download(hub, people):
    # get_safetensors_metadata reads only the header with Range requests (bytes=0-100000 first).
    token = people["dl-owner"]
    api = hub.api(token)
    repo_id = "dl-owner/probe"
    make_repo(api, repo_id, {"model.safetensors": weights(3)})
    meta = api.get_safetensors_metadata(repo_id)
    assert meta.parameter_count == {"F32": 16}
    assert counts(api, repo_id) == (0, 0)


def test_snapshot_counts_exactly_one(hub, people, tmp_path):
    token = people["dl-owner"]
    api = hub.api(token)
    repo_id = "dl-owner/sharded"
    shards = {"model-00001-of-00002.safetensors": weights(1), "model-00002-of-00002.safetensors": weights(2)}
    make_repo(api, repo_id, {"config.json": CONFIG, **shards, "README.md": b"# sharded\n"})
    snap = snapshot_download(repo_id, endpoint=hub.url, token=token, cache_dir=str(tmp_path / "snap"))
    for name, data in shards.items():
        with open(f"{snap}/{name}", "rb") as f:
            assert hashlib.sha256(f.read()).digest() == hashlib.sha256(data).digest()
    assert counts(api, repo_id) == (1, 1)
    snapshot_download(repo_id, endpoint=hub.url, token=token, cache_dir=str(tmp_path / "snap2"))
    assert counts(api, repo_id) == (2, 2)


def test_download_counts_are_per_repository(hub, people, tmp_path):
    token = people["dl-owner"]
    api = hub.api(token)
    a, b = "dl-owner/count-a", "dl-owner/count-b"
    make_repo(api, a, {"config.json": CONFIG})
    make_repo(api, b, {"config.json": CONFIG})  # same bytes, other repository
    hf_hub_download(a, "config.json", endpoint=hub.url, token=token, cache_dir=str(tmp_path / "a"))
    assert counts(api, a) == (1, 1)
    assert counts(api, b) == (0, 0)


# ---- likes -------------------------------------------------------------------------------------

def like(hub, token: str | None, repo_id: str):
    return hub.request("POST", f"/api/models/{repo_id}/like", token)


def test_like_unlike(hub, people):
    owner, fan = people["likes-owner"], people["likes-fan"]
    repo_id = "likes-owner/liked"
    hub.api(owner).create_repo(repo_id)
    fan_api = hub.api(fan)
    assert fan_api.model_info(repo_id).likes == 0

    r = like(hub, fan, repo_id)
    assert r.status_code == 200
    info = fan_api.model_info(repo_id)
    assert info.likes == 1
    assert [u.username for u in fan_api.list_repo_likers(repo_id)] == ["likes-fan"]
    assert repo_id in fan_api.list_liked_repos("likes-fan").models
    assert repo_id in hub.api(None).list_liked_repos("likes-fan").models

    # liking twice is one like
    assert like(hub, fan, repo_id).status_code == 200
    assert fan_api.model_info(repo_id).likes == 1
    assert len(list(fan_api.list_repo_likers(repo_id))) == 1

    # a second user
    assert like(hub, owner, repo_id).status_code == 200
    assert fan_api.model_info(repo_id).likes == 2
    assert sorted(u.username for u in fan_api.list_repo_likers(repo_id)) == ["likes-fan", "likes-owner"]

    fan_api.unlike(repo_id)
    assert fan_api.model_info(repo_id).likes == 1
    assert repo_id not in fan_api.list_liked_repos("likes-fan").models
    assert [u.username for u in fan_api.list_repo_likers(repo_id)] == ["likes-owner"]
    fan_api.unlike(repo_id)  # not liked any more: nothing changes
    assert fan_api.model_info(repo_id).likes == 1


def test_like_needs_a_user_and_a_visible_repo(hub, people):
    owner, fan = people["likes-owner"], people["likes-fan"]
    private = "likes-owner/secret"
    hub.api(owner).create_repo(private, private=True)

    r = like(hub, fan, private)
    assert r.status_code == 404
    assert r.headers["X-Error-Code"] == "RepoNotFound"
    with pytest.raises(RepositoryNotFoundError):
        hub.api(fan).unlike(private)

    r = like(hub, None, "likes-owner/secret")
    assert r.status_code == 401
    public = "likes-owner/public-one"
    hub.api(owner).create_repo(public)
    assert like(hub, None, public).status_code == 401
    assert like(hub, fan, "likes-owner/does-not-exist").status_code == 404
    assert hub.api(owner).model_info(public).likes == 0
    assert hub.api(owner).model_info(private).likes == 0


def test_liked_private_repo_is_hidden_from_others(hub, people):
    owner, fan = people["likes-owner"], people["likes-fan"]
    repo_id = "likes-owner/soon-private"
    api = hub.api(owner)
    api.create_repo(repo_id)
    assert like(hub, owner, repo_id).status_code == 200
    assert like(hub, fan, repo_id).status_code == 200
    api.update_repo_settings(repo_id, private=True)
    assert repo_id in api.list_liked_repos("likes-owner").models
    assert repo_id not in hub.api(fan).list_liked_repos("likes-owner").models
    assert repo_id not in hub.api(None).list_liked_repos("likes-fan").models
    with pytest.raises(RepositoryNotFoundError):
        list(hub.api(fan).list_repo_likers(repo_id))
    assert sorted(u.username for u in api.list_repo_likers(repo_id)) == ["likes-fan", "likes-owner"]


def test_liked_repos_of_unknown_user(hub):
    with pytest.raises(HfHubHTTPError) as exc:
        hub.api(None).list_liked_repos("no-such-user-likes")
    assert exc.value.response.status_code == 404


def test_likers_are_paginated(hub, people):
    repo_id = "likes-owner/popular"
    hub.api(people["likes-owner"]).create_repo(repo_id)
    for t in (people[n] for n in CROWD):
        assert like(hub, t, repo_id).status_code == 200
    r = hub.get(f"/api/models/{repo_id}/likers")
    assert len(r.json()) == 7 and "next" in r.links
    likers = list(hub.api(None).list_repo_likers(repo_id))
    assert sorted(u.username for u in likers) == sorted(CROWD)
    assert all(u.fullname for u in likers)
    assert hub.api(None).model_info(repo_id).likes == 9
