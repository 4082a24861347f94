"""`modelhub serve`: the app under gunicorn (threaded workers, streaming-friendly timeouts)."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication


class HubServer(BaseApplication):
    def __init__(self, app_factory, options: dict[str, Any]) -> None:
        self.app_factory = app_factory
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self):
        return self.app_factory()


def serve(app_factory, host: str, port: int, workers: int, threads: int = 8, preload: bool = False) -> None:
    HubServer(app_factory, {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        # Large uploads and downloads stream for minutes; the worker heartbeat is separate from this.
        "timeout": 600,
        "graceful_timeout": 30,
        "keepalive": 5,
        "accesslog": "-",
        "errorlog": "-",
        "loglevel": "info",
        "preload_app": preload,
        # Bounds on what gunicorn reads before the app sees anything (beyond them it answers 414 or
        # 431 itself, in plain HTML, and closes the connection). 8190 bytes is the most gunicorn
        # allows for a request line (a larger value is clamped to it; 0 lifts the limit, and a 16 MiB
        # search then took 35 s of a worker). It is ample: a file path is at most 1,024 bytes
        # (models_registry.names), 3,072 percent-encoded, and names 96 characters, so the longest
        # tree, resolve or LFS URL stays under ~4.5 KB; query strings are capped lower still, with a
        # JSON answer (hub/limits.py).
        "limit_request_line": 8190,
        # The HF client, git and browsers send about 10 headers of at most a few hundred bytes
        # (the largest: a session cookie); gunicorn's defaults, written out because they are a limit.
        "limit_request_fields": 100,
        "limit_request_field_size": 8190,
        # One control socket per user by default: several hubs on one machine would fight over it.
        "control_socket_disable": True,
    }).run()
