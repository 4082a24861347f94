"""Mirrors without a network: schedules, the allow-list, the non-blocking lock, and the trust
bookkeeping (verified badge, held-back license) driven by hand-made SyncReports through
`Mirrors.sync` with `pull` replaced by a function that moves nothing (the real pull is exercised
between two live hubs in tests/functional/test_sync_mirrors.py)."""

from __future__ import annotations

import threading
import time

import pytest

from models_registry.errors import BadRequest, Forbidden
from models_registry.registry import Registry
from models_registry.settings import RegistrySettings
from models_registry.sync.followed import format_duration, parse_duration
from models_registry.sync.on_demand import allowed
from models_registry.sync.report import LfsCheck, SyncReport


@pytest.mark.parametrize("text, seconds", [("90", 90), ("30s", 30), ("15m", 900), ("1h", 3600), ("1h30m", 5400),
                                           ("2d", 172800), ("1w", 604800)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds
    assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize("text", ["", "0", "h", "1x", "1h and 2m", "-5m"])
def test_bad_durations_are_refused(text):
    with pytest.raises(BadRequest):
        parse_duration(text)


def test_allow_list_is_fnmatch_on_the_whole_id():
    patterns = ["Qwen/*", "THUDM/chatglm-*"]
    assert allowed("Qwen/Qwen2.5-7B", patterns) and allowed("THUDM/chatglm-6b", patterns)
    assert not allowed("qwen/Qwen2.5-7B", patterns)  # case matters, as in repository ids upstream
    assert not allowed("THUDM/glm-4", patterns) and not allowed("evil/Qwen/x", patterns)
    assert not allowed("Qwen/x", [])


def test_try_hold_never_waits_and_excludes_other_holders(tmp_path):
    from models_registry.locks import LockDir

    locks = LockDir(tmp_path)
    with locks.try_hold("a") as first:
        assert first
        seen = []
        t = threading.Thread(target=lambda: seen.append(locks.try_hold("a").__enter__()))
        t.start()
        t.join(5)
        assert seen == [False]
        with locks.try_hold("b") as other:
            assert other
    with locks.try_hold("a") as again:
        assert again


@pytest.fixture
def registry(tmp_path):
    from hub import migrate

    reg = Registry(RegistrySettings.for_data_dir(tmp_path, None, None))
    migrate.upgrade(reg.db)
    yield reg
    reg.close()


def _fake_pull(reports: list[SyncReport]):
    """A pull that only makes the repository exist (like a first pull) and returns the next report,
    its checks reported for the repository's real head (keyed "HEAD" in the report given)."""
    from models_registry.sync.pull import OPERATOR

    def pull(registry, upstream_url, src_repo, local_repo, **kw):
        from models_registry.errors import RepoNotFound

        try:
            registry.repos.get("model", local_repo, OPERATOR)
        except RepoNotFound:
            ns, name = local_repo.split("/")
            registry.mirrors.ensure_namespace(ns)  # as a real first pull does, with the repository
            registry.repos.create(OPERATOR, "model", ns, name)
        r = reports.pop(0)
        head = registry.repos.get("model", local_repo, OPERATOR).head_sha
        r.lfs_checks = {head if k == "HEAD" else k: v for k, v in r.lfs_checks.items()}
        return r

    return pull


def test_trust_badge_and_held_back_license(registry):
    m = registry.mirrors.add("http://up.example", "Acme/model", "Acme/model", every=3600)

    def report(license: str, checks: list[LfsCheck], gated=False) -> SyncReport:
        r = SyncReport(source="x", target="y", card_data={"license": license}, gated=gated)
        r.lfs_checks = {"HEAD": checks}
        return r

    good = LfsCheck("w.bin", "a" * 64, "a" * 64, 3)
    bad = LfsCheck("x.bin", "b" * 64, "c" * 64, 3)
    registry.mirrors.pull = _fake_pull([report("apache-2.0", [good]), report("mit", [good, bad], gated="auto")])
    o = registry.mirrors.sync(m)
    assert o.status == "ok", o.message
    repo = registry.repos.by_id(o.mirror.repo_pk)
    trust = registry.mirrors.trust(repo)
    assert trust.verified is True and [c.path for c in trust.checks] == ["w.bin"]
    assert o.mirror.accepted_license == "apache-2.0" and o.mirror.accepted_gated is None
    with pytest.raises(Forbidden, match="is a mirror of http://up.example/Acme/model; it is read-only here"):
        registry.repos.check_writable(repo)

    o = registry.mirrors.sync(o.mirror)
    assert registry.mirrors.trust(repo).verified is False  # one file's sha256 differs from the upstream's
    shown = registry.repos.by_id(repo.id)  # the new license and gating are held back
    assert shown.gated is None and shown.card_data["license"] == "apache-2.0" and "license:apache-2.0" in shown.tags
    alerts = {a.kind: a for a in registry.mirrors.alerts(open_only=True)}
    assert set(alerts) == {"license", "gating"}
    assert (alerts["license"].old, alerts["license"].new) == ("apache-2.0", "mit")
    registry.mirrors.acknowledge(alerts["gating"].id, "root")
    assert registry.repos.by_id(repo.id).gated == "auto"
    assert [a.kind for a in registry.mirrors.alerts(open_only=True)] == ["license"]


def test_on_demand_waits_a_bounded_time_while_another_worker_pulls(registry):
    from models_registry.sync.mirror_records import lock_name
    from models_registry.sync.on_demand import MirrorBusy

    asked = []
    registry.mirrors.pull = lambda *a, **kw: asked.append(a) or SyncReport(source="x", target="y")
    with registry.locks.try_hold(lock_name("model", "Acme/busy")) as held:  # another worker's pull
        assert held
        with pytest.raises(MirrorBusy) as e:
            registry.mirrors.fetch_on_demand("model", "Acme/busy", "http://127.0.0.1:1", None, wait=0.5)
    assert e.value.status == 503 and e.value.extra["retry_after"] == 5
    for _ in range(100):  # its background attempt gave up at once (the lock was taken)
        if not registry.mirrors._inflight:
            break
        time.sleep(0.05)
    assert asked == [] and not registry.mirrors._inflight


def test_remove_makes_the_repository_writable_again(registry):
    from models_registry.sync.pull import OPERATOR

    registry.mirrors.pull = _fake_pull([SyncReport(source="x", target="y")])
    o = registry.mirrors.sync(registry.mirrors.add("http://up.example", "Acme/m", "Acme/m", every=60))
    repo = registry.repos.get("model", "Acme/m", OPERATOR)
    with pytest.raises(Forbidden):
        registry.commits.merge(OPERATOR, repo, "refs/heads/main", "main", "x")
    registry.mirrors.remove("model", "Acme/m")
    registry.repos.check_writable(repo)
    assert registry.mirrors.get("model", "Acme/m") is None and o.status == "ok"


def test_a_renamed_mirror_keeps_syncing_into_the_same_repository(registry):
    from models_registry.sync.pull import OPERATOR

    targets = []
    pull = _fake_pull([SyncReport(source="x", target="y"), SyncReport(source="x", target="y")])
    registry.mirrors.pull = lambda reg, url, src, local, **kw: targets.append(local) or pull(reg, url, src, local, **kw)
    o = registry.mirrors.sync(registry.mirrors.add("http://up.example", "Acme/m", "Acme/m", every=60))
    registry.mirrors.ensure_namespace("Other")
    registry.repos.move(OPERATOR, "model", "Acme/m", "Other/renamed")
    o = registry.mirrors.sync(o.mirror)
    assert o.status == "ok" and targets == ["Acme/m", "Other/renamed"]
    assert registry.mirrors.get("model", "Other/renamed").repo_pk == o.mirror.repo_pk
    assert registry.mirrors.get("model", "Acme/m") is None
