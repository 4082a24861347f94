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
        # No cap on the request line: long search queries and tree paths get our own answer (the
        # handlers bound what they use), not gunicorn's HTML 414.
        "limit_request_line": 0,
        # One control socket per user by default: several hubs on one machine would fight over it.
        "control_socket_disable": True,
    }).run()
