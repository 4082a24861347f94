"""The scanner thread of a serving hub: it scans queued model files (models_registry/scanning.py).

Every serving worker of every node runs one. It wakes when its own process queued files (a commit
it served) and otherwise every POLL_SECONDS, to pick up what other nodes queued; each wake-up drains
the queue only if it gets the cluster-wide scanner lock, so one process scans at a time and a
dangerous file is flagged a moment after the commit that added it, on every node.
"""

from __future__ import annotations

import logging
import threading

from models_registry.scanning import Scanning

log = logging.getLogger(__name__)
POLL_SECONDS = 2.0


class ScanWorker:
    def __init__(self, scanning: Scanning, poll_seconds: float = POLL_SECONDS) -> None:
        self.scanning = scanning
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="file-scanner", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.scanning.queued.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.scanning.queued.wait(self.poll_seconds)
            self.scanning.queued.clear()
            if self._stop.is_set():
                return
            try:
                scanned = self.scanning.drain()
                if scanned:
                    log.info("scanned %d model files", scanned)
            except Exception:  # the database may be briefly away: try again at the next wake-up
                log.exception("scanning queued files failed; retrying")
