"""community/webhooks.py as two hub nodes on one database run it: both dispatch and deliver at once,
and each change is turned into one delivery and sent once (the dispatch lock, the claim by
conditional UPDATE); the delivery log is pruned of old finished deliveries. A real receiver on
loopback. SQLite, and PostgreSQL when MODELHUB_TEST_DATABASE_URL is set."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import update

from community.tables import WebhookDelivery
from community.webhook_sender import AllowList
from community.webhooks import Webhooks, WebhookSettings
from hub import migrate
from models_registry.registry import Registry
from models_registry.settings import RegistrySettings
from tests.support.databases import database_url


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[str, list[bytes]]]:
    got: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            got.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://localhost:{srv.server_address[1]}/hook", got
    srv.shutdown()
    srv.server_close()


@pytest.fixture(params=["sqlite", "postgresql"])
def two_nodes(request, tmp_path) -> Iterator[tuple[Registry, Registry]]:
    """Two registries on one database and one repositories folder, as two hub nodes."""
    settings = RegistrySettings.for_data_dir(tmp_path / "data", database_url=database_url(request.param))
    a = Registry(settings)
    migrate.upgrade(a.db)
    b = Registry(settings)
    yield a, b
    b.close()
    a.close()


def hooks_of(reg: Registry) -> Webhooks:
    return Webhooks(reg.db, reg, WebhookSettings(allow=AllowList.parse("localhost"), retry_seconds=0, timeout=3))


def at_once(*calls) -> list:
    results: list = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(i: int) -> None:
        barrier.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_two_nodes_send_each_change_once(two_nodes, receiver):
    a, b = two_nodes
    url, got = receiver
    before = len(got)
    a.accounts.create_user("owner", "pw-owner-12345")
    owner = a.accounts.authenticate_token(a.accounts.create_token("owner", role="write"))
    ha, hb = hooks_of(a), hooks_of(b)
    hook = ha.create(owner, url, [{"type": "user", "name": "owner"}], ["repo"])
    for n in range(5):
        a.repos.create(owner, "model", "owner", f"m{n}")

    dispatched = at_once(ha.dispatch, hb.dispatch)
    dispatched += [ha.dispatch(), hb.dispatch()]  # whatever the lock kept one of them from
    assert sum(dispatched) == 5
    log = ha.deliveries(owner, hook.hex_id)
    assert len(log) == 5 and {d.status for d in log} == {"pending"}

    attempted = at_once(ha.deliver_due, hb.deliver_due, ha.deliver_due)
    assert sum(attempted) == 5
    assert len(got) - before == 5  # each sent by exactly one of them
    assert {d.status for d in ha.deliveries(owner, hook.hex_id)} == {"delivered"}
    assert ha.run_once() == (0, 0)


def test_old_finished_deliveries_are_pruned(two_nodes, receiver):
    a, _ = two_nodes
    url, _got = receiver
    a.accounts.create_user("keeper", "pw-keeper-12345")
    p = a.accounts.authenticate_token(a.accounts.create_token("keeper", role="write"))
    hooks = hooks_of(a)
    hook = hooks.create(p, url, [{"type": "user", "name": "keeper"}], ["repo"])
    a.repos.create(p, "model", "keeper", "one")
    a.repos.create(p, "model", "keeper", "two")
    hooks.dispatch()
    first, second = hooks.deliveries(p, hook.hex_id)
    hooks.deliver_due(limit=1)  # the older one is delivered, the other stays pending
    old = dt.datetime(2020, 1, 1)
    with a.db.session(write=True) as s:
        s.execute(update(WebhookDelivery).values(created_at=old))
    assert hooks.prune_log() == 1
    assert [d.hex_id for d in hooks.deliveries(p, hook.hex_id)] == [first.hex_id]  # the pending one stays
