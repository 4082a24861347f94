"""The webhooks' delivery worker: a thread in every serving worker process of every node.

It only calls `Webhooks.run_once` (community/webhooks.py), whose rules make it safe to run
everywhere at once: one dispatcher at a time (a lock), each delivery claimed by one sender (a
conditional UPDATE). Deliveries never happen inside the request that made the change.
"""

from __future__ import annotations

import logging
import threading

from community.webhooks import Webhooks

log = logging.getLogger(__name__)


class WebhookWorker:
    def __init__(self, webhooks: Webhooks, poll_seconds: float = 1.0) -> None:
        self.webhooks = webhooks
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="webhooks", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                while True:  # a backlog is worked through at once, not one batch per poll
                    dispatched, attempted = self.webhooks.run_once()
                    if not dispatched and not attempted:
                        break
            except Exception:  # the database may be briefly away: try again next time
                log.exception("webhook delivery failed; retrying")
