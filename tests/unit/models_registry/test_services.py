"""The registry's services on a real Registry: SQLite migrated by Alembic, bare git repos, the local blob store."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from hub import migrate
from models_registry import permissions
from models_registry.commits import AddFile, AddLfsRef, DeletePath
from models_registry.errors import (
    BadRequest,
    Conflict,
    EntryNotFound,
    Forbidden,
    NotFound,
    PreconditionFailed,
    RepoNotFound,
    RevisionNotFound,
    Unauthorized,
)
from models_registry.tables import AccessToken, LfsObject, RepoLfsObject
from models_registry.registry import Registry
from models_registry.settings import RegistrySettings
from models_registry.storage.lfs import DEFAULT_GITATTRIBUTES, parse_pointer

LFS_THRESHOLD = 64
PASSWORD = "correct horse battery"


@pytest.fixture
def registry(tmp_path) -> Registry:
    reg = Registry(RegistrySettings.for_data_dir(tmp_path / "data", lfs_threshold=LFS_THRESHOLD))
    migrate.upgrade(reg.db)
    yield reg
    reg.close()


def git(path: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    return subprocess.run(["git", "-C", str(path), *args], capture_output=True, check=check, env=env, timeout=60)


def staging_files(reg: Registry) -> list[Path]:
    return sorted(reg.stager.directory.iterdir())


def add(reg: Registry, path: str, data: bytes) -> AddFile:
    return AddFile(path, reg.stager.from_bytes(data))


def user(reg: Registry, name: str, role: str = "write", admin: bool = False) -> permissions.Principal:
    """Create a user and sign in with a new token of `role`."""
    reg.accounts.create_user(name, PASSWORD, is_admin=admin)
    return reg.accounts.authenticate_token(reg.accounts.create_token(name, role=role))


def git_path(reg: Registry, repo) -> Path:
    return reg.git.path_for(repo.storage_key)


def branch_head(reg: Registry, repo, branch: str = "main") -> str | None:
    with reg.repos.open_git(repo) as g:
        return g.ref_sha(f"refs/heads/{branch}")


def files_at(reg: Registry, repo, rev: str = "main") -> dict[str, bytes]:
    """Every file of `rev` with its git blob content (LFS files as their pointers)."""
    with reg.repos.open_git(repo) as g:
        return {p: g.read_blob(i.sha) for p, i in g.files(g.resolve(rev)).items()}


def assert_fsck(reg: Registry, repo) -> None:
    fsck = git(git_path(reg, repo), "fsck", "--strict", "--no-dangling", check=False)
    assert fsck.returncode == 0, fsck.stderr.decode()


# ---- accounts -----------------------------------------------------------------------------------

def test_create_user_and_sign_in(registry):
    uid = registry.accounts.create_user("alice", PASSWORD, email="alice@example.org", fullname="Alice A.")
    p = registry.accounts.authenticate_password("alice", PASSWORD)
    assert (p.user_id, p.name, p.is_admin, p.token_role, p.org_roles) == (uid, "alice", False, None, {})
    assert registry.accounts.user_profile("alice") == {"name": "alice", "fullname": "Alice A.",
                                                       "email": "alice@example.org", "is_admin": False}
    assert registry.accounts.namespace_kind("alice") == "user"
    assert registry.accounts.namespace_kind("nobody") is None
    with pytest.raises(Unauthorized):
        registry.accounts.authenticate_password("alice", PASSWORD + "x")
    with pytest.raises(Unauthorized):
        registry.accounts.authenticate_password("nobody", PASSWORD)


@pytest.mark.parametrize("name", ["alice", "ALICE", "Alice"])
def test_duplicate_user_names_conflict_whatever_the_case(registry, name):
    registry.accounts.create_user("alice", PASSWORD)
    with pytest.raises(Conflict):
        registry.accounts.create_user(name, PASSWORD)


def test_duplicate_email_conflicts(registry):
    registry.accounts.create_user("alice", PASSWORD, email="same@example.org")
    with pytest.raises(Conflict):
        registry.accounts.create_user("bob", PASSWORD, email="same@example.org")
    assert registry.accounts.namespace_kind("bob") is None


def test_users_and_orgs_share_one_namespace(registry):
    registry.accounts.create_user("alice", PASSWORD)
    registry.accounts.create_org("acme", owner="alice")
    assert registry.accounts.namespace_kind("acme") == "org"
    with pytest.raises(Conflict):
        registry.accounts.create_user("acme", PASSWORD)
    with pytest.raises(Conflict):
        registry.accounts.create_user("ACME", PASSWORD)
    with pytest.raises(Conflict):
        registry.accounts.create_org("alice", owner="alice")
    with pytest.raises(Conflict):
        registry.accounts.create_org("Acme", owner="alice")


@pytest.mark.parametrize("name, password", [("api", PASSWORD), ("models", PASSWORD), ("a--b", PASSWORD),
                                            ("-x", PASSWORD), ("ok-name", "short"), ("ok-name", "")])
def test_create_user_validates(registry, name, password):
    with pytest.raises(BadRequest):
        registry.accounts.create_user(name, password)
    assert registry.accounts.namespace_kind(name) is None


def test_org_needs_an_existing_owner_and_known_roles(registry):
    with pytest.raises(NotFound):
        registry.accounts.create_org("acme", owner="ghost")
    registry.accounts.create_user("alice", PASSWORD)
    registry.accounts.create_org("acme", owner="alice")
    with pytest.raises(BadRequest):
        registry.accounts.set_member("acme", "alice", "owner")
    with pytest.raises(NotFound):
        registry.accounts.set_member("acme", "ghost", "read")
    with pytest.raises(NotFound):
        registry.accounts.set_member("ghost", "alice", "read")


def test_org_roles_reach_the_principal(registry):
    registry.accounts.create_user("oscar", PASSWORD)
    registry.accounts.create_user("wanda", PASSWORD)
    registry.accounts.create_org("acme", owner="oscar")
    registry.accounts.create_org("labs", owner="oscar")
    registry.accounts.set_member("acme", "wanda", "read")
    registry.accounts.set_member("acme", "wanda", "write")  # changing a role replaces it
    registry.accounts.set_member("labs", "wanda", "admin")
    assert registry.accounts.authenticate_password("oscar", PASSWORD).org_roles == {"acme": "admin", "labs": "admin"}
    assert registry.accounts.authenticate_password("wanda", PASSWORD).org_roles == {"acme": "write", "labs": "admin"}


def test_tokens_are_hashed_at_rest(registry):
    registry.accounts.create_user("alice", PASSWORD)
    secret = registry.accounts.create_token("alice", role="write", label="laptop-token")
    assert secret.startswith("mh_") and len(secret) > 30
    with registry.db.session() as s:
        rows = s.scalars(select(AccessToken)).all()
        assert len(rows) == 1
        row = rows[0]
        assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert row.label == "laptop-token"
        stored = [getattr(row, c.key) for c in AccessToken.__table__.columns]
    assert not any(isinstance(v, str) and secret in v for v in stored)
    # Nor anywhere in the database files (WAL included). The label and hash are, so we look at the right bytes.
    raw = b"".join(p.read_bytes() for p in registry.settings.data_dir.glob("modelhub.db*"))
    assert b"laptop-token" in raw
    assert row.token_hash.encode() in raw
    assert secret.encode() not in raw
    assert secret[len("mh_"):].encode() not in raw


def test_authenticate_token(registry):
    uid = registry.accounts.create_user("alice", PASSWORD, is_admin=True)
    secret = registry.accounts.create_token("alice", role="write", label="ci")
    p = registry.accounts.authenticate_token(secret)
    assert (p.user_id, p.name, p.is_admin, p.token_role, p.token_label) == (uid, "alice", True, "write", "ci")
    [info] = registry.accounts.list_tokens("alice")
    assert (info.label, info.role, info.prefix) == ("ci", "write", secret[:7])
    assert info.last_used_at is not None
    for wrong in ("", secret + "x", secret[:-1], "mh_" + "A" * 40, hashlib.sha256(secret.encode()).hexdigest()):
        with pytest.raises(Unauthorized):
            registry.accounts.authenticate_token(wrong)


def test_revoked_token_no_longer_authenticates(registry):
    registry.accounts.create_user("alice", PASSWORD)
    registry.accounts.create_user("bob", PASSWORD)
    secret = registry.accounts.create_token("alice")
    [info] = registry.accounts.list_tokens("alice")
    with pytest.raises(NotFound):
        registry.accounts.revoke_token("bob", info.id)  # not bob's token
    registry.accounts.authenticate_token(secret)
    registry.accounts.revoke_token("alice", info.id)
    with pytest.raises(Unauthorized):
        registry.accounts.authenticate_token(secret)
    assert registry.accounts.list_tokens("alice") == []


def test_token_roles(registry):
    registry.accounts.create_user("alice", PASSWORD)
    with pytest.raises(BadRequest):
        registry.accounts.create_token("alice", role="admin")
    with pytest.raises(NotFound):
        registry.accounts.create_token("ghost")


def test_read_token_cannot_write(registry):
    owner = user(registry, "alice")
    reader = registry.accounts.authenticate_token(registry.accounts.create_token("alice", role="read"))
    assert reader.token_role == "read" and not reader.can_write_at_all
    repo = registry.repos.create(owner, "model", "alice", "m", private=True)
    assert registry.repos.get("model", "alice/m", reader).id == repo.id  # reading is fine, private too
    with pytest.raises(Forbidden, match="read-only"):
        registry.repos.get("model", "alice/m", reader, need="write")
    with pytest.raises(Forbidden):
        registry.repos.get("model", "alice/m", reader, need="admin")
    with pytest.raises(Forbidden):
        registry.repos.create(reader, "model", "alice", "other")
    assert not permissions.can_write(reader, "alice")
    assert not permissions.can_admin(reader, "alice")


# ---- permissions matrix ---------------------------------------------------------------------

def make_people(reg: Registry) -> dict[str, permissions.Principal | None]:
    """alice owns a user namespace; acme is an org with admins oscar (creator) and adam, writer wanda and
    reader rita; bob is an outsider; sam a site admin. `*_read` sign in with read-only tokens."""
    out: dict[str, permissions.Principal | None] = {"anonymous": None}
    for name in ("alice", "bob", "oscar", "adam", "wanda", "rita"):
        reg.accounts.create_user(name, PASSWORD)
    reg.accounts.create_user("sam", PASSWORD, is_admin=True)
    reg.accounts.create_org("acme", owner="oscar")
    reg.accounts.set_member("acme", "adam", "admin")
    reg.accounts.set_member("acme", "wanda", "write")
    reg.accounts.set_member("acme", "rita", "read")
    for name in ("alice", "oscar", "adam", "wanda", "rita", "bob", "sam"):
        out[name] = reg.accounts.authenticate_token(reg.accounts.create_token(name))
        out[f"{name}_read"] = reg.accounts.authenticate_token(reg.accounts.create_token(name, role="read"))
    return out


@pytest.fixture
def people(registry) -> dict[str, permissions.Principal | None]:
    return make_people(registry)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A registry shared by the read-only tests below: the people above and a public and a private
    model in each of alice's and acme's namespaces (plus a private dataset of bob's)."""
    reg = Registry(RegistrySettings.for_data_dir(tmp_path_factory.mktemp("world"), lfs_threshold=LFS_THRESHOLD))
    migrate.upgrade(reg.db)
    who = make_people(reg)
    for namespace, creator in (("alice", "alice"), ("acme", "oscar")):
        reg.repos.create(who[creator], "model", namespace, "pub")
        reg.repos.create(who[creator], "model", namespace, "priv", private=True)
    reg.repos.create(who["bob"], "dataset", "bob", "data", private=True)
    yield reg, who
    reg.close()


# (read public, read private, write, admin) for each namespace
MATRIX = {
    "alice": {
        "alice": "TTTT", "alice_read": "TTFF", "bob": "TFFF", "bob_read": "TFFF", "oscar": "TFFF",
        "wanda": "TFFF", "rita": "TFFF", "sam": "TTTT", "sam_read": "TTFF", "anonymous": "TFFF",
    },
    "acme": {
        "oscar": "TTTT", "oscar_read": "TTFF", "adam": "TTTT", "adam_read": "TTFF", "wanda": "TTTF",
        "wanda_read": "TTFF", "rita": "TTFF", "rita_read": "TTFF", "alice": "TFFF", "bob": "TFFF",
        "sam": "TTTT", "sam_read": "TTFF", "anonymous": "TFFF",
    },
}
CASES = [(ns, who, row) for ns, rows in MATRIX.items() for who, row in rows.items()]


@pytest.mark.parametrize("namespace, who, row", CASES)
def test_permission_functions(world, namespace, who, row):
    p = world[1][who]
    got = "".join("T" if v else "F" for v in (
        permissions.can_read(p, namespace, private=False),
        permissions.can_read(p, namespace, private=True),
        permissions.can_write(p, namespace),
        permissions.can_admin(p, namespace),
    ))
    assert got == row


@pytest.mark.parametrize("namespace, who, row", CASES)
def test_repos_get_applies_the_matrix(world, namespace, who, row):
    reg, who_is = world
    p = who_is[who]
    for name, readable in (("pub", row[0] == "T"), ("priv", row[1] == "T")):
        for need, allowed in (("read", True), ("write", row[2] == "T"), ("admin", row[3] == "T")):
            call = lambda: reg.repos.get("model", f"{namespace}/{name}", p, need=need)  # noqa: E731
            if not readable:
                with pytest.raises(RepoNotFound):  # a private repository is indistinguishable from none
                    call()
            elif not allowed:
                with pytest.raises(Forbidden):
                    call()
            else:
                assert call().repo_id == f"{namespace}/{name}"


def test_list_visibility(world):
    reg, people = world

    def ids(who, repo_type="model", **kw):
        return [r.repo_id for r in reg.repos.list(repo_type, people[who], **kw)]

    assert ids("anonymous") == ["acme/pub", "alice/pub"]
    assert ids("bob") == ["acme/pub", "alice/pub"]
    assert ids("alice") == ["acme/pub", "alice/priv", "alice/pub"]
    assert ids("alice_read") == ["acme/pub", "alice/priv", "alice/pub"]
    assert ids("rita") == ["acme/priv", "acme/pub", "alice/pub"]
    assert ids("sam") == ["acme/priv", "acme/pub", "alice/priv", "alice/pub"]
    assert ids("sam", author="acme") == ["acme/priv", "acme/pub"]
    assert ids("bob", "dataset") == ["bob/data"]
    assert ids("alice", "dataset") == []
    assert ids("anonymous", "dataset") == []


def test_get_missing_and_malformed(world):
    reg, people = world
    for repo_id in ("alice/none", "nobody/x", "not-an-id", "a/b/c", "../x", "alice/priv/x"):
        with pytest.raises(RepoNotFound):
            reg.repos.get("model", repo_id, people["sam"])
    with pytest.raises(RepoNotFound):
        reg.repos.get("dataset", "alice/pub", people["sam"])  # the type is part of the identity


# ---- repositories ---------------------------------------------------------------------------

def test_create_repo_makes_an_initial_commit(registry):
    alice = user(registry, "alice")
    repo = registry.repos.create(alice, "model", "alice", "bert")
    assert (repo.repo_id, repo.repo_type, repo.private, repo.default_branch) == ("alice/bert", "model", False, "main")
    assert repo.head_sha == branch_head(registry, repo)
    assert files_at(registry, repo) == {".gitattributes": DEFAULT_GITATTRIBUTES.encode()}
    path = git_path(registry, repo)
    assert git(path, "log", "--format=%s|%an", "main").stdout.decode().splitlines() == ["initial commit|alice"]
    assert_fsck(registry, repo)
    assert registry.repos.get("model", "alice/bert", None) == repo


def test_create_repo_refusals(registry, people):
    alice, wanda, rita = people["alice"], people["wanda"], people["rita"]
    registry.repos.create(alice, "model", "alice", "bert")
    with pytest.raises(Conflict):
        registry.repos.create(alice, "model", "alice", "BERT")
    registry.repos.create(alice, "dataset", "alice", "bert")  # another type is another repository
    with pytest.raises(BadRequest):
        registry.repos.create(alice, "kernel", "alice", "x")
    with pytest.raises(BadRequest):
        registry.repos.create(alice, "model", "alice", "bad--name")
    with pytest.raises(NotFound):
        registry.repos.create(alice, "model", "ghost", "x")
    with pytest.raises(Forbidden):
        registry.repos.create(alice, "model", "bob", "x")
    with pytest.raises(Forbidden):
        registry.repos.create(rita, "model", "acme", "x")
    assert registry.repos.create(wanda, "model", "acme", "x").repo_id == "acme/x"


def test_delete_repo(registry, people):
    repo = registry.repos.create(people["oscar"], "model", "acme", "m")
    with pytest.raises(Forbidden):
        registry.repos.delete(people["wanda"], "model", "acme/m")
    assert git_path(registry, repo).is_dir()
    registry.repos.delete(people["adam"], "model", "acme/m")
    assert not git_path(registry, repo).exists()
    with pytest.raises(RepoNotFound):
        registry.repos.get("model", "acme/m", people["sam"])
    # the name is free again
    assert registry.repos.create(people["oscar"], "model", "acme", "m").storage_key != repo.storage_key


# ---- commits --------------------------------------------------------------------------------

@pytest.fixture
def alice(registry) -> permissions.Principal:
    return user(registry, "alice")


@pytest.fixture
def repo(registry, alice):
    return registry.repos.create(alice, "model", "alice", "m")


def lfs_pointer(reg: Registry, repo, path: str, rev: str = "main"):
    return parse_pointer(files_at(reg, repo, rev)[path])


def test_small_text_file_is_a_regular_blob(registry, alice, repo):
    data = b"# Title\n\nhello\n"
    result = registry.commits.commit(alice, repo, "main", [add(registry, "README.md", data)], "Add README")
    assert result.branch_ref == "refs/heads/main"
    assert branch_head(registry, repo) == result.sha
    assert registry.repos.get("model", "alice/m", alice).head_sha == result.sha
    assert git(git_path(registry, repo), "cat-file", "-p", "main:README.md").stdout == data
    resolved = registry.repos.resolve_file(repo, "main", "README.md")
    assert (resolved.commit, resolved.size, resolved.lfs) == (result.sha, len(data), None)
    assert registry.repos.read_regular(repo, resolved.blob_sha) == data
    assert staging_files(registry) == []
    assert_fsck(registry, repo)


def _assert_lfs(reg: Registry, repo, path: str, data: bytes) -> None:
    oid = hashlib.sha256(data).hexdigest()
    pointer = lfs_pointer(reg, repo, path)
    assert pointer is not None, f"{path} was stored as a regular file"
    assert (pointer.oid, pointer.size) == (oid, len(data))
    with reg.blobs.open(oid) as f:
        assert f.read() == data
    resolved = reg.repos.resolve_file(repo, "main", path)
    assert resolved.size == len(data)
    assert resolved.lfs.oid == oid and resolved.lfs.size == len(data)
    assert reg.commits.lfs_object_size(repo, oid) == len(data)


def test_lfs_by_size_threshold(registry, alice, repo):
    at_limit = b"a" * LFS_THRESHOLD
    above = b"b" * (LFS_THRESHOLD + 1)
    registry.commits.commit(alice, repo, "main", [add(registry, "at.txt", at_limit), add(registry, "above.txt", above)],
                            "sizes")
    assert files_at(registry, repo)["at.txt"] == at_limit
    _assert_lfs(registry, repo, "above.txt", above)
    assert staging_files(registry) == []
    assert_fsck(registry, repo)


def test_lfs_by_binary_content(registry, alice, repo):
    data = b"\x00\x01tiny"
    registry.commits.commit(alice, repo, "main", [add(registry, "blob.dat", data)], "binary")
    _assert_lfs(registry, repo, "blob.dat", data)


def test_lfs_by_default_gitattributes(registry, alice, repo):
    data = b"{}"  # tiny and text, but *.ckpt and saved_model/**/* are LFS on the Hub
    registry.commits.commit(alice, repo, "main", [add(registry, "sub/model.ckpt", data),
                                                  add(registry, "saved_model/assets/vocab.txt", b"a\nb\n"),
                                                  add(registry, "other/vocab.txt", b"a\nb\n")], "weights")
    _assert_lfs(registry, repo, "sub/model.ckpt", data)
    _assert_lfs(registry, repo, "saved_model/assets/vocab.txt", b"a\nb\n")
    assert files_at(registry, repo)["other/vocab.txt"] == b"a\nb\n"


def test_a_new_gitattributes_in_the_same_commit_decides(registry, alice, repo):
    attrs = b"*.txt filter=lfs diff=lfs merge=lfs -text\n"
    registry.commits.commit(alice, repo, "main", [
        add(registry, "notes.txt", b"short text"),
        add(registry, ".gitattributes", attrs),
        add(registry, "model.ckpt", b"{}"),
    ], "new rules")
    files = files_at(registry, repo)
    assert files[".gitattributes"] == attrs
    _assert_lfs(registry, repo, "notes.txt", b"short text")
    assert files["model.ckpt"] == b"{}"  # no longer an LFS pattern
    # ...and the committed rules apply to later commits
    registry.commits.commit(alice, repo, "main", [add(registry, "more.txt", b"more")], "later")
    _assert_lfs(registry, repo, "more.txt", b"more")


def test_gitattributes_itself_stays_a_regular_file(registry, alice, repo):
    attrs = b"* filter=lfs diff=lfs merge=lfs -text\n" + b"# padding\n" * 20
    assert len(attrs) > LFS_THRESHOLD
    registry.commits.commit(alice, repo, "main", [add(registry, ".gitattributes", attrs)], "all LFS")
    assert files_at(registry, repo)[".gitattributes"] == attrs


def test_delete_file_and_folder(registry, alice, repo):
    setup = {"keep.txt": b"k", "gone.txt": b"g", "dir/a.txt": b"a", "dir/sub/b.txt": b"b", "dirx/c.txt": b"c"}
    registry.commits.commit(alice, repo, "main", [add(registry, p, d) for p, d in setup.items()], "setup")
    registry.commits.commit(alice, repo, "main", [DeletePath("gone.txt"), DeletePath("dir/", folder=True)], "delete")
    assert sorted(files_at(registry, repo)) == [".gitattributes", "dirx/c.txt", "keep.txt"]
    head = branch_head(registry, repo)
    for op in (DeletePath("gone.txt"), DeletePath("dir", folder=True), DeletePath("keep.txt", folder=True)):
        with pytest.raises(EntryNotFound) as e:
            registry.commits.commit(alice, repo, "main", [op], "again")
        assert e.value.commit == head
    assert branch_head(registry, repo) == head


def test_history_through_the_service(registry, alice, repo):
    first = registry.commits.commit(alice, repo, "main", [add(registry, "a", b"1")], "one").sha
    second = registry.commits.commit(alice, repo, "main", [add(registry, "a", b"2")], "two", "the body").sha
    commits = list(registry.repos.history(repo, "main"))
    assert [c.sha for c in commits] == [second, first, repo.head_sha]
    assert commits[0].message == "two\n\nthe body"
    assert commits[0].parents == (first,)
    assert commits[0].author_name == "alice"


def test_parent_commit(registry, alice, repo):
    head = repo.head_sha
    first = registry.commits.commit(alice, repo, "main", [add(registry, "a", b"1")], "one", parent_commit=head)
    second = registry.commits.commit(alice, repo, "main", [add(registry, "a", b"2")], "two",
                                     parent_commit=first.sha[:7])
    assert branch_head(registry, repo) == second.sha
    with pytest.raises(PreconditionFailed):
        registry.commits.commit(alice, repo, "main", [add(registry, "a", b"3")], "stale", parent_commit=first.sha)
    with pytest.raises(PreconditionFailed):
        registry.commits.commit(alice, repo, "main", [add(registry, "b", b"3")], "stale", parent_commit=head[:8])
    assert branch_head(registry, repo) == second.sha
    assert registry.repos.get("model", "alice/m", alice).head_sha == second.sha
    assert files_at(registry, repo)["a"] == b"2"
    assert staging_files(registry) == []


@pytest.mark.parametrize("parent", ["xyz", "ABCDEF0", "abc", "a" * 41])
def test_malformed_parent_commit(registry, alice, repo, parent):
    with pytest.raises(BadRequest):
        registry.commits.commit(alice, repo, "main", [DeletePath(".gitattributes")], "x", parent_commit=parent)
    assert branch_head(registry, repo) == repo.head_sha


def test_commit_to_other_branches(registry, alice, repo):
    registry.repos.create_branch(alice, repo, "dev", None)
    registry.repos.create_tag(alice, repo, "v1", "main", None)
    result = registry.commits.commit(alice, repo, "dev", [add(registry, "dev.txt", b"d")], "on dev")
    assert result.branch_ref == "refs/heads/dev"
    assert branch_head(registry, repo, "dev") == result.sha
    assert branch_head(registry, repo) == repo.head_sha
    assert registry.repos.get("model", "alice/m", alice).head_sha == repo.head_sha  # only the default branch
    with pytest.raises(BadRequest):
        registry.commits.commit(alice, repo, "v1", [add(registry, "t.txt", b"t")], "on a tag")
    with pytest.raises(BadRequest):
        registry.commits.commit(alice, repo, repo.head_sha, [add(registry, "t.txt", b"t")], "on a sha")
    with pytest.raises(RevisionNotFound):
        registry.commits.commit(alice, repo, "nope", [add(registry, "t.txt", b"t")], "nowhere")
    assert staging_files(registry) == []


def test_store_lfs_object_and_reference_it(registry, alice, repo):
    data = os.urandom(1000)
    oid = hashlib.sha256(data).hexdigest()
    assert registry.commits.lfs_object_size(repo, oid) is None
    registry.commits.store_lfs_object(repo, registry.stager.from_bytes(data), oid, len(data))
    assert staging_files(registry) == []
    assert registry.commits.lfs_object_size(repo, oid) == len(data)
    assert registry.commits.lfs_sha1([oid]) == {oid: hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()}
    registry.commits.commit(alice, repo, "main", [AddLfsRef("w.bin", oid, len(data)), AddLfsRef("copy.bin", oid)],
                            "reference")
    _assert_lfs(registry, repo, "w.bin", data)
    _assert_lfs(registry, repo, "copy.bin", data)


def test_lfs_ref_to_an_object_of_another_repository_is_refused(registry, alice, repo):
    bob = user(registry, "bob")
    other = registry.repos.create(bob, "model", "bob", "private-stuff", private=True)
    data = b"bob's secret weights \x00" * 10
    oid = hashlib.sha256(data).hexdigest()
    registry.commits.store_lfs_object(other, registry.stager.from_bytes(data), oid, len(data))
    registry.commits.commit(bob, other, "main", [AddLfsRef("w.bin", oid)], "bob's")
    assert registry.blobs.exists(oid)

    with pytest.raises(BadRequest):
        registry.commits.commit(alice, repo, "main", [AddLfsRef("stolen.bin", oid, len(data))], "steal")
    assert branch_head(registry, repo) == repo.head_sha
    assert registry.commits.lfs_object_size(repo, oid) is None
    with registry.db.session() as s:
        assert s.get(RepoLfsObject, (repo.id, oid)) is None


@pytest.mark.parametrize("oid, size", [
    (hashlib.sha256(b"never uploaded").hexdigest(), None),
    ("not-a-sha", None),
    ("A" * 64, None),
])
def test_lfs_ref_to_a_missing_or_malformed_object(registry, alice, repo, oid, size):
    with pytest.raises(BadRequest):
        registry.commits.commit(alice, repo, "main", [AddLfsRef("w.bin", oid, size)], "x")
    assert branch_head(registry, repo) == repo.head_sha


def test_lfs_ref_with_the_wrong_size(registry, alice, repo):
    data = b"x" * 100
    oid = hashlib.sha256(data).hexdigest()
    registry.commits.store_lfs_object(repo, registry.stager.from_bytes(data), oid, None)
    with pytest.raises(BadRequest):
        registry.commits.commit(alice, repo, "main", [AddLfsRef("w.bin", oid, 99)], "x")
    assert branch_head(registry, repo) == repo.head_sha


@pytest.mark.parametrize("mismatch", ["sha", "size"])
def test_store_lfs_object_verifies_what_was_announced(registry, repo, mismatch):
    data = b"actual bytes" * 10
    real = hashlib.sha256(data).hexdigest()
    claimed = hashlib.sha256(b"what the client said").hexdigest() if mismatch == "sha" else real
    size = len(data) + (1 if mismatch == "size" else 0)
    with pytest.raises(BadRequest):
        registry.commits.store_lfs_object(repo, registry.stager.from_bytes(data), claimed, size)
    assert staging_files(registry) == []
    for oid in (claimed, real):
        assert not registry.blobs.exists(oid)
        assert registry.commits.lfs_object_size(repo, oid) is None
    with registry.db.session() as s:
        assert s.scalars(select(LfsObject)).all() == []
        assert s.scalars(select(RepoLfsObject)).all() == []
    assert [p for p in registry.blobs.root.rglob("*") if p.is_file()] == []


def test_store_lfs_object_with_a_malformed_oid(registry, repo):
    staged = registry.stager.from_bytes(b"x")
    try:
        with pytest.raises(BadRequest):
            registry.commits.store_lfs_object(repo, staged, "../../etc/passwd", 1)
    finally:
        staged.discard()


def test_failed_commit_after_staging_leaves_the_branch_and_no_staging_files(registry, alice, repo):
    before = registry.commits.commit(alice, repo, "main", [add(registry, "keep.txt", b"keep")], "setup").sha
    big = os.urandom(LFS_THRESHOLD * 10)
    ops = [add(registry, "new.txt", b"new"), add(registry, "big.bin", big), DeletePath("missing.txt")]
    assert len(staging_files(registry)) == 2
    with pytest.raises(EntryNotFound):
        registry.commits.commit(alice, repo, "main", ops, "doomed")
    assert branch_head(registry, repo) == before
    assert registry.repos.get("model", "alice/m", alice).head_sha == before
    assert sorted(files_at(registry, repo)) == [".gitattributes", "keep.txt"]
    assert staging_files(registry) == []
    assert_fsck(registry, repo)
    # the lock was released and the repository still takes commits
    after = registry.commits.commit(alice, repo, "main", [add(registry, "new.txt", b"new")], "retry")
    assert branch_head(registry, repo) == after.sha


def test_failure_after_lfs_objects_were_published_leaves_the_branch(registry, alice, repo):
    before = registry.commits.commit(alice, repo, "main", [add(registry, "dir/x.txt", b"x")], "setup").sha
    big = os.urandom(LFS_THRESHOLD * 10)
    # "dir" as a file clashes with the folder: found only when the tree is built, after the LFS bytes are stored
    ops = [add(registry, "weights.bin", big), add(registry, "dir", b"a file")]
    with pytest.raises(BadRequest):
        registry.commits.commit(alice, repo, "main", ops, "clash")
    assert branch_head(registry, repo) == before
    assert registry.repos.get("model", "alice/m", alice).head_sha == before
    assert sorted(files_at(registry, repo)) == [".gitattributes", "dir/x.txt"]
    assert staging_files(registry) == []
    assert_fsck(registry, repo)


REFUSED = {
    "bad path": dict(path="../escape.txt"),
    "git internals": dict(path=".git/config"),
    "empty summary": dict(summary="   "),
    "long summary": dict(summary="x" * 1001),
    "malformed parent": dict(parent_commit="zzz"),
    "stale parent": dict(parent_commit="0" * 40),
    "unknown branch": dict(revision="nope"),
    "missing delete": dict(extra=[DeletePath("missing.txt")]),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_every_refused_commit_consumes_its_staged_files(registry, alice, repo, case):
    """Commits.commit owns the staged files it is given: it discards them whether it succeeds or not."""
    kw = REFUSED[case]
    ops = [add(registry, kw.get("path", "ok.txt"), b"content"), add(registry, "big.bin", os.urandom(1000)),
           *kw.get("extra", [])]
    with pytest.raises((BadRequest, PreconditionFailed, RevisionNotFound, EntryNotFound)):
        registry.commits.commit(alice, repo, kw.get("revision", "main"), ops, kw.get("summary", "title"),
                                parent_commit=kw.get("parent_commit"))
    assert branch_head(registry, repo) == repo.head_sha
    assert staging_files(registry) == []


def test_active_orgs_rank_by_newest_public_model_walk_and_fallback_agree(registry):
    import datetime as dt

    from sqlalchemy import update

    from models_registry.tables import Repository

    registry.accounts.create_user("org-owner", PASSWORD)
    base = dt.datetime(2026, 1, 1)
    stamps = {}
    for org in ["org-a", "org-b", "org-c", "org-d"]:
        registry.accounts.create_org(org, "org-owner", fullname=f"Org {org[-1].upper()}")
    owner = registry.accounts.principal_for_name("org-owner")
    layout = [("org-a", 1, False), ("org-b", 5, False), ("org-c", 9, True), ("org-d", 3, False),
              ("org-a", 7, False), ("org-owner", 20, False)]  # (namespace, day, private)
    for n, (ns, day, private) in enumerate(layout):
        repo = registry.repos.create(owner, "model", ns, f"m{n}", private=private)
        stamps[repo.id] = base + dt.timedelta(days=day)
    with registry.db.session(write=True) as s:
        for pk, when in stamps.items():
            s.execute(update(Repository).where(Repository.id == pk).values(last_modified=when))
    # org-c's only model is private; org-owner is a user, not an organization
    expected = ["org-a", "org-b", "org-d"]
    walked = registry.accounts.active_orgs(3)
    assert [o["name"] for o in walked] == expected and walked[0]["fullname"] == "Org A"
    fallback = registry.accounts.active_orgs(3, scan=1)  # too short a walk: the aggregate answers
    assert [o["name"] for o in fallback] == expected
    assert [o["name"] for o in registry.accounts.active_orgs(8)] == expected  # fewer than asked
