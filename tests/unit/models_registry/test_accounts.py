"""Web sessions on a real registry (SQLite migrated by Alembic): lifetimes, ending them, suspension."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from hub import migrate
from community.service import Community, CommunitySettings
from models_registry.accounts import SessionLifetime, hash_token
from models_registry.errors import Forbidden, NotFound
from models_registry.tables import WebSession, utcnow
from models_registry.registry import Registry
from models_registry.settings import RegistrySettings


@pytest.fixture
def registry(tmp_path) -> Registry:
    reg = Registry(RegistrySettings.for_data_dir(tmp_path / "data"))
    migrate.upgrade(reg.db)
    reg.accounts.session_lifetime = SessionLifetime(idle=dt.timedelta(hours=2), absolute=dt.timedelta(days=1))
    yield reg
    reg.close()


def backdate(reg: Registry, secret: str, **ages: dt.timedelta) -> None:
    """Make a session look older: created_at / last_seen_at moved back by the given ages."""
    now = utcnow()
    with reg.db.session(write=True) as s:
        s.execute(update(WebSession).where(WebSession.secret_hash == hash_token(secret))
                  .values(**{k: now - v for k, v in ages.items()}))


def rows(reg: Registry) -> int:
    with reg.db.session() as s:
        return len(s.scalars(select(WebSession.id)).all())


def test_secret_is_not_stored_and_opens_the_session(registry):
    uid = registry.accounts.create_user("ann", "password-1")
    secret = registry.accounts.open_session(uid, "Browser/1")
    assert registry.accounts.principal_for_session(secret).name == "ann"
    assert registry.accounts.principal_for_session(secret + "x") is None
    assert registry.accounts.principal_for_session(None) is None
    with registry.db.session() as s:
        assert secret not in s.scalar(select(WebSession.secret_hash))


@pytest.mark.parametrize("ages, alive", [
    ({"last_seen_at": dt.timedelta(hours=1)}, True),
    ({"last_seen_at": dt.timedelta(hours=3)}, False),  # idle too long
    ({"created_at": dt.timedelta(hours=23)}, True),
    ({"created_at": dt.timedelta(hours=25)}, False),  # signed in too long ago, however active
])
def test_idle_and_absolute_lifetimes(registry, ages, alive):
    uid = registry.accounts.create_user("ann", "password-1")
    secret = registry.accounts.open_session(uid)
    backdate(registry, secret, **ages)
    assert (registry.accounts.principal_for_session(secret) is not None) is alive
    assert rows(registry) == (1 if alive else 0)  # an expired session met is deleted


def test_use_keeps_a_session_from_idling_out(registry):
    uid = registry.accounts.create_user("ann", "password-1")
    secret = registry.accounts.open_session(uid)
    backdate(registry, secret, last_seen_at=dt.timedelta(minutes=90))
    assert registry.accounts.principal_for_session(secret) is not None  # seen now
    [info] = registry.accounts.list_sessions(uid, current=secret)
    assert info.current and utcnow() - info.last_seen_at < dt.timedelta(minutes=1)


def test_sign_in_sweeps_the_users_expired_sessions(registry):
    uid = registry.accounts.create_user("ann", "password-1")
    old = registry.accounts.open_session(uid)
    backdate(registry, old, created_at=dt.timedelta(days=2))
    registry.accounts.open_session(uid)
    assert rows(registry) == 1


def test_password_change_ends_every_session(registry):
    uid = registry.accounts.create_user("ann", "password-1")
    a, b = registry.accounts.open_session(uid), registry.accounts.open_session(uid)
    registry.accounts.change_password(uid, "password-1", "password-2")
    assert registry.accounts.principal_for_session(a) is None
    assert registry.accounts.principal_for_session(b) is None


def test_suspension_ends_sessions_opened_before_it(registry):
    uid = registry.accounts.create_user("ann", "password-1")
    registry.accounts.create_user("root", "password-1", is_admin=True)
    before = registry.accounts.open_session(uid)
    community = Community(registry.db, registry, CommunitySettings())
    community.suspend(registry.accounts.principal_for_name("root"), "ann", "spam")
    assert registry.accounts.principal_for_session(before) is None
    after = registry.accounts.open_session(uid)
    p = registry.accounts.principal_for_session(after)
    assert p is not None and p.suspended and not p.can_write_at_all


def test_own_and_admin_revocation(registry):
    ann = registry.accounts.create_user("ann", "password-1")
    bob = registry.accounts.create_user("bob", "password-1")
    registry.accounts.create_user("root", "password-1", is_admin=True)
    here, there, elsewhere = (registry.accounts.open_session(ann) for _ in range(3))
    bobs = registry.accounts.open_session(bob)
    listed = registry.accounts.list_sessions(ann, current=here)
    assert len(listed) == 3 and [i.current for i in listed].count(True) == 1
    other = next(i.id for i in listed if not i.current)
    with pytest.raises(NotFound):
        registry.accounts.revoke_session(bob, other)  # not bob's
    registry.accounts.revoke_session(ann, other)
    assert registry.accounts.end_other_sessions(ann, keep=here) == 1
    assert registry.accounts.principal_for_session(here) is not None
    assert registry.accounts.principal_for_session(there) is None
    assert registry.accounts.principal_for_session(elsewhere) is None
    bob_p = registry.accounts.principal_for_session(bobs)
    with pytest.raises(Forbidden):
        registry.accounts.sign_out_everywhere(bob_p, "ann")
    with pytest.raises(Forbidden):
        registry.accounts.users_for_admin(bob_p, "")
    root_p = registry.accounts.principal_for_name("root")
    assert [u["sessions"] for u in registry.accounts.users_for_admin(root_p, "an")] == [1]
    assert registry.accounts.sign_out_everywhere(root_p, "ann") == 1
    assert registry.accounts.principal_for_session(here) is None
    assert registry.accounts.principal_for_session(bobs) is not None
    with pytest.raises(NotFound):
        registry.accounts.sign_out_everywhere(root_p, "nobody")
