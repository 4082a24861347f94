"""TransferAccess, the one decision on who may move bytes in or out of a repository (resolve, git-LFS,
Xet tokens, git fetch and push all ask it), as a matrix on a real Registry."""

from __future__ import annotations

import pytest

from hub import migrate
from models_registry.errors import Forbidden, Unauthorized
from models_registry.gating import GatedRepo
from models_registry.registry import Registry
from models_registry.settings import RegistrySettings

PASSWORD = "a-long-password"


@pytest.fixture(scope="module")
def reg(tmp_path_factory):
    r = Registry(RegistrySettings.for_data_dir(tmp_path_factory.mktemp("access") / "data"))
    migrate.upgrade(r.db)
    for name in ("owner", "reader", "approved", "stranger"):
        r.accounts.create_user(name, PASSWORD)
    yield r
    r.close()


def who(reg: Registry, name: str | None, role: str = "write"):
    if name is None:
        return None
    return reg.accounts.authenticate_token(reg.accounts.create_token(name, role=role))


@pytest.fixture(scope="module")
def gated(reg):
    owner = who(reg, "owner")
    repo = reg.repos.create(owner, "model", "owner", "gated-model")
    reg.repos.update_settings(owner, "model", repo.repo_id, gated="manual")
    repo = reg.repos.get("model", repo.repo_id, owner)
    reg.gating.request_access(who(reg, "approved"), repo, {})
    reg.gating.handle(owner, repo, "accepted", user="approved")
    return repo


@pytest.mark.parametrize("name, path, allowed", [
    ("owner", None, True),
    ("approved", None, True),
    ("approved", "weights.bin", True),
    ("stranger", None, False),
    ("stranger", "weights.bin", False),
    ("stranger", "README.md", True),  # the card presents the gate
    (None, ".gitattributes", False),  # gated like any file but the card, as on the Hub
    (None, None, False),
])
def test_downloads_of_a_gated_repository(reg, gated, name, path, allowed):
    check = lambda: reg.access.authorize_download(who(reg, name), gated, path)  # noqa: E731
    if allowed:
        check()
    else:
        with pytest.raises(GatedRepo):
            check()


@pytest.mark.parametrize("name, role, to_branch, refused", [
    ("owner", "write", True, None),
    ("owner", "write", False, None),
    ("stranger", "write", False, None),  # objects for the pull request they open
    ("stranger", "write", True, Forbidden),  # not to a branch of someone else's repository
    ("owner", "read", False, Forbidden),  # a read token uploads nothing
    (None, None, False, Unauthorized),
])
def test_uploads(reg, gated, name, role, to_branch, refused):
    p = who(reg, name, role) if name else None
    if refused is None:
        reg.access.authorize_upload(p, gated, to_branch=to_branch)
    else:
        with pytest.raises(refused):
            reg.access.authorize_upload(p, gated, to_branch=to_branch)

