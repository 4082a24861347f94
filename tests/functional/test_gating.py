"""Gated repositories end to end: the card and file list stay visible, files need an accepted request.

Owner side through the real client (update_repo_settings, list/accept/reject/cancel/grant); the
requester's form goes to POST /api/models/{id}/ask-access (the client has no call for it).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from huggingface_hub import CommitOperationAdd, hf_hub_download
from huggingface_hub.errors import GatedRepoError, HfHubHTTPError
from safetensors.numpy import save

CARD = b"""---
license: llama3
extra_gated_prompt: You agree to use this model for research only.
extra_gated_fields:
  Company: text
  I agree: checkbox
---
# Gated model
"""
WEIGHTS = save({"w": np.arange(64, dtype=np.float32).reshape(8, 8)})
USERS = ["gate-owner", "gate-req", "gate-third", "gate-granted", "gate-auto", "gate-outsider"]


@pytest.fixture(scope="module")
def people(hub) -> dict[str, str]:
    tokens = hub.users(*USERS, ("gate-owner", "read"))
    out = dict(zip(USERS, tokens))
    out["gate-owner:read"] = tokens[-1]
    return out


def gated_repo(hub, people, name: str, mode: str) -> str:
    api = hub.api(people["gate-owner"])
    repo_id = f"gate-owner/{name}"
    api.create_repo(repo_id)
    api.create_commit(repo_id, operations=[CommitOperationAdd("README.md", CARD),
                                           CommitOperationAdd("config.json", b'{"model_type": "llama"}'),
                                           CommitOperationAdd("model.safetensors", WEIGHTS)],
                      commit_message="gated model")
    api.update_repo_settings(repo_id, gated=mode)
    return repo_id


def download(hub, token, repo_id: str, filename: str, cache) -> bytes:
    path = hf_hub_download(repo_id, filename, endpoint=hub.url, token=token, cache_dir=str(cache))
    with open(path, "rb") as f:
        return f.read()


def ask(hub, token, repo_id: str, fields: dict | None):
    body = {"fields": fields} if fields is not None else {}
    return hub.request("POST", f"/api/models/{repo_id}/ask-access", token, json=body)


def test_manual_gating_end_to_end(hub, people, tmp_path):
    repo_id = gated_repo(hub, people, "manual", "manual")
    owner = hub.api(people["gate-owner"])
    req_token = people["gate-req"]
    req = hub.api(req_token)

    # What stays visible
    info = req.model_info(repo_id)
    assert info.gated == "manual"
    assert info.card_data.to_dict()["extra_gated_fields"] == {"Company": "text", "I agree": "checkbox"}
    assert sorted(req.list_repo_files(repo_id)) == [".gitattributes", "README.md", "config.json",
                                                   "model.safetensors"]
    assert download(hub, req_token, repo_id, "README.md", tmp_path / "r0") == CARD
    assert hub.api(None).model_info(repo_id).gated == "manual"
    assert download(hub, None, repo_id, "README.md", tmp_path / "anon0") == CARD

    # What does not
    for token, cache in ((req_token, tmp_path / "r1"), (None, tmp_path / "anon1")):
        for filename in ("model.safetensors", "config.json", ".gitattributes"):
            with pytest.raises(GatedRepoError):
                download(hub, token, repo_id, filename, cache)
    r = hub.get(f"/{repo_id}/resolve/main/model.safetensors", token=req_token)
    assert r.status_code == 403 and r.headers["X-Error-Code"] == "GatedRepo"
    r = hub.get(f"/{repo_id}/resolve/main/model.safetensors")
    assert r.status_code == 401 and r.headers["X-Error-Code"] == "GatedRepo"
    assert owner.model_info(repo_id).downloads == 0  # refused fetches are not downloads

    # The form: every question answered, the checkbox ticked
    r = ask(hub, req_token, repo_id, {"I agree": True})
    assert r.status_code == 400 and "Company" in r.json()["error"]
    r = ask(hub, req_token, repo_id, {"Company": "   ", "I agree": True})
    assert r.status_code == 400
    r = ask(hub, req_token, repo_id, {"Company": "Acme"})
    assert r.status_code == 400 and "I agree" in r.json()["error"]
    r = ask(hub, req_token, repo_id, {"Company": "Acme", "I agree": False})
    assert r.status_code == 400
    assert list(owner.list_pending_access_requests(repo_id)) == []
    assert ask(hub, None, repo_id, {"Company": "Acme", "I agree": True}).status_code == 401

    r = ask(hub, req_token, repo_id, {"Company": "Acme", "I agree": True})
    assert r.status_code == 200 and r.json() == {"status": "pending"}
    # asking again does not duplicate the request
    assert ask(hub, req_token, repo_id, {"Company": "Acme", "I agree": True}).json() == {"status": "pending"}
    with pytest.raises(GatedRepoError):
        download(hub, req_token, repo_id, "model.safetensors", tmp_path / "r2")

    pending = list(owner.list_pending_access_requests(repo_id))
    assert [(p.username, p.status) for p in pending] == [("gate-req", "pending")]
    assert pending[0].fields == {"Company": "Acme", "I agree": True}
    assert pending[0].request_id
    assert list(owner.list_accepted_access_requests(repo_id)) == []

    owner.accept_access_request(repo_id, "gate-req")
    assert list(owner.list_pending_access_requests(repo_id)) == []
    assert [a.username for a in owner.list_accepted_access_requests(repo_id)] == ["gate-req"]
    got = download(hub, req_token, repo_id, "model.safetensors", tmp_path / "r3")
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(WEIGHTS).hexdigest()
    assert download(hub, req_token, repo_id, "config.json", tmp_path / "r3") == b'{"model_type": "llama"}'
    assert owner.model_info(repo_id).downloads == 1
    # still gated for everybody else
    with pytest.raises(GatedRepoError):
        download(hub, None, repo_id, "model.safetensors", tmp_path / "anon2")

    # Rejection
    third = people["gate-third"]
    assert ask(hub, third, repo_id, {"Company": "Other", "I agree": "on"}).json() == {"status": "pending"}
    owner.reject_access_request(repo_id, "gate-third", rejection_reason="Not for this use")
    with pytest.raises(GatedRepoError):
        download(hub, third, repo_id, "model.safetensors", tmp_path / "t1")
    assert [x.username for x in owner.list_rejected_access_requests(repo_id)] == ["gate-third"]
    r = ask(hub, third, repo_id, {"Company": "Other", "I agree": True})
    assert r.status_code == 403
    with pytest.raises(GatedRepoError):
        download(hub, third, repo_id, "model.safetensors", tmp_path / "t2")

    # Granting without a request
    owner.grant_access(repo_id, "gate-granted")
    got = download(hub, people["gate-granted"], repo_id, "model.safetensors", tmp_path / "g1")
    assert got == WEIGHTS
    with pytest.raises(HfHubHTTPError) as exc:
        owner.grant_access(repo_id, "gate-granted")
    assert exc.value.response.status_code == 400
    with pytest.raises(HfHubHTTPError) as exc:
        owner.grant_access(repo_id, "no-such-gate-user")
    assert exc.value.response.status_code == 404

    # Cancelling an accepted request puts it back to pending: access is gone
    owner.cancel_access_request(repo_id, "gate-req")
    assert "gate-req" in [p.username for p in owner.list_pending_access_requests(repo_id)]
    with pytest.raises(GatedRepoError):
        download(hub, req_token, repo_id, "model.safetensors", tmp_path / "r4")

    # Handling a request nobody made
    with pytest.raises(HfHubHTTPError) as exc:
        owner.accept_access_request(repo_id, "gate-outsider")
    assert exc.value.response.status_code == 404


def test_auto_gating_accepts_at_once(hub, people, tmp_path):
    repo_id = gated_repo(hub, people, "auto", "auto")
    owner = hub.api(people["gate-owner"])
    token = people["gate-auto"]
    assert hub.api(token).model_info(repo_id).gated == "auto"
    with pytest.raises(GatedRepoError):
        download(hub, token, repo_id, "model.safetensors", tmp_path / "a0")
    assert ask(hub, token, repo_id, {"Company": "Acme"}).status_code == 400  # terms still need ticking
    r = ask(hub, token, repo_id, {"Company": "Acme", "I agree": True})
    assert r.status_code == 200 and r.json() == {"status": "accepted"}
    got = download(hub, token, repo_id, "model.safetensors", tmp_path / "a1")
    assert hashlib.sha256(got).digest() == hashlib.sha256(WEIGHTS).digest()
    accepted = list(owner.list_accepted_access_requests(repo_id))
    assert [(a.username, a.fields) for a in accepted] == [("gate-auto", {"Company": "Acme", "I agree": True})]
    assert list(owner.list_pending_access_requests(repo_id)) == []


def test_owner_reads_and_ungating(hub, people, tmp_path):
    repo_id = gated_repo(hub, people, "toggle", "manual")
    owner_token = people["gate-owner"]
    # The owner never needs a request, even with a read token
    assert download(hub, owner_token, repo_id, "model.safetensors", tmp_path / "o1") == WEIGHTS
    assert download(hub, people["gate-owner:read"], repo_id, "config.json", tmp_path / "o2")
    outsider = people["gate-outsider"]
    with pytest.raises(GatedRepoError):
        download(hub, outsider, repo_id, "model.safetensors", tmp_path / "x1")

    hub.api(owner_token).update_repo_settings(repo_id, gated=False)
    info = hub.api(outsider).model_info(repo_id)
    assert info.gated is False
    assert download(hub, outsider, repo_id, "model.safetensors", tmp_path / "x2") == WEIGHTS
    assert download(hub, None, repo_id, "model.safetensors", tmp_path / "x3") == WEIGHTS
    r = ask(hub, outsider, repo_id, {"Company": "Acme", "I agree": True})
    assert r.status_code == 400  # nothing to ask for

    hub.api(owner_token).update_repo_settings(repo_id, gated="manual")
    with pytest.raises(GatedRepoError):
        download(hub, outsider, repo_id, "model.safetensors", tmp_path / "x4")


def test_only_writers_of_the_namespace_manage_requests(hub, people):
    repo_id = gated_repo(hub, people, "managed", "manual")
    assert ask(hub, people["gate-req"], repo_id, {"Company": "Acme", "I agree": True}).json() == {
        "status": "pending"}
    for token in (people["gate-owner:read"], people["gate-req"], people["gate-outsider"]):
        api = hub.api(token)
        for call in (lambda: list(api.list_pending_access_requests(repo_id)),
                     lambda: list(api.list_accepted_access_requests(repo_id)),
                     lambda: api.accept_access_request(repo_id, "gate-req"),
                     lambda: api.reject_access_request(repo_id, "gate-req", rejection_reason="no"),
                     lambda: api.grant_access(repo_id, "gate-outsider")):
            with pytest.raises(HfHubHTTPError) as exc:
                call()
            assert exc.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as exc:
        list(hub.api(None).list_pending_access_requests(repo_id))
    assert exc.value.response.status_code == 401
    with pytest.raises(HfHubHTTPError) as exc:
        hub.api(people["gate-owner:read"]).update_repo_settings(repo_id, gated=False)
    assert exc.value.response.status_code == 403
    # nothing changed
    owner = hub.api(people["gate-owner"])
    assert [p.username for p in owner.list_pending_access_requests(repo_id)] == ["gate-req"]
    assert list(owner.list_accepted_access_requests(repo_id)) == []
    assert owner.model_info(repo_id).gated == "manual"


def test_invalid_gated_value(hub, people):
    api = hub.api(people["gate-owner"])
    repo_id = "gate-owner/invalid-mode"
    api.create_repo(repo_id)
    r = hub.request("PUT", f"/api/models/{repo_id}/settings", people["gate-owner"], json={"gated": "sometimes"})
    assert r.status_code == 400
    assert api.model_info(repo_id).gated is False


def test_gated_private_repo_stays_invisible(hub, people, tmp_path):
    api = hub.api(people["gate-owner"])
    repo_id = "gate-owner/private-gated"
    api.create_repo(repo_id, private=True)
    api.upload_file(path_or_fileobj=CARD, path_in_repo="README.md", repo_id=repo_id)
    api.update_repo_settings(repo_id, gated="auto")
    r = ask(hub, people["gate-outsider"], repo_id, {"Company": "Acme", "I agree": True})
    assert r.status_code == 404 and r.headers["X-Error-Code"] == "RepoNotFound"
    r = hub.get(f"/{repo_id}/resolve/main/README.md", token=people["gate-outsider"])
    assert r.status_code == 404 and r.headers["X-Error-Code"] == "RepoNotFound"


def test_git_clone_of_a_gated_repo_needs_access(hub, people, tmp_path):
    # Without LFS filters: the regular files (config.json) come straight out of the git objects, so
    # upload-pack itself must enforce the gate, not only the LFS batch endpoint.
    from tests.support.gitutil import Git, remote_url

    repo_id = gated_repo(hub, people, "cloned", "manual")
    git = Git(tmp_path / "git-home", lfs=False)
    outsider = people["gate-outsider"]

    proc = git.clone(remote_url(hub, repo_id, outsider), tmp_path / "denied", check=False)
    assert proc.returncode != 0, "an outsider cloned a gated repository"
    assert not (tmp_path / "denied" / "config.json").exists()
    proc = git.clone(remote_url(hub, repo_id), tmp_path / "anon", check=False)
    assert proc.returncode != 0, "an anonymous user cloned a gated repository"

    hub.api(people["gate-owner"]).grant_access(repo_id, "gate-outsider")
    git.clone(remote_url(hub, repo_id, outsider), tmp_path / "allowed")
    assert (tmp_path / "allowed" / "config.json").read_bytes() == b'{"model_type": "llama"}'


def test_manual_grants_share_no_email_and_repeated_decisions_are_errors(hub, people, tmp_path):
    """huggingface_hub's own access-request scenario: a user granted by hand asked nothing, so no
    email is shown; cancel moves a decision back to pending; deciding what is already decided fails."""
    repo_id = gated_repo(hub, people, "decisions", "auto")
    owner, who = hub.api(people["gate-owner"]), "gate-third"
    assert list(owner.list_accepted_access_requests(repo_id)) == []
    owner.grant_access(repo_id, who)
    with pytest.raises(HfHubHTTPError):
        owner.grant_access(repo_id, who)
    [granted] = owner.list_accepted_access_requests(repo_id)
    assert (granted.username, granted.email, granted.status) == (who, None, "accepted")
    with pytest.raises(HfHubHTTPError, match="already accepted"):
        owner.accept_access_request(repo_id, who)
    owner.cancel_access_request(repo_id, who)
    assert [r.username for r in owner.list_pending_access_requests(repo_id)] == [who]
    with pytest.raises(HfHubHTTPError, match="already pending"):
        owner.cancel_access_request(repo_id, who)
    owner.reject_access_request(repo_id, who, rejection_reason="not now")
    with pytest.raises(HfHubHTTPError, match="already rejected"):
        owner.reject_access_request(repo_id, who, rejection_reason="not now")
    [rejected] = owner.list_rejected_access_requests(repo_id)
    owner.accept_access_request(repo_id, request_id=rejected.request_id)
    assert [r.username for r in owner.list_accepted_access_requests(repo_id)] == [who]
    assert download(hub, people[who], repo_id, "config.json", tmp_path / "c") == b'{"model_type": "llama"}'
