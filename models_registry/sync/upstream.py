"""Talking to a remote Hugging Face-compatible hub: its JSON API, git smart HTTP and the LFS batch API.

The token never appears on a command line or in a URL: HTTP requests carry it in a header, and the
`git` binary receives it as `http.extraHeader` through GIT_CONFIG_* environment variables.
Every failure becomes a `SyncError` whose message says what to do about it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import httpx2

from ..errors import RegistryError

# httpx2 logs every request at INFO, signed transfer links included: not for operators' logs.
logging.getLogger("httpx2").setLevel(logging.WARNING)
LFS_JSON = "application/vnd.git-lfs+json"
TIMEOUT = httpx2.Timeout(60.0, connect=15.0)
USER_AGENT = "modelhub-sync/1"


class SyncError(RegistryError):
    """A sync step cannot go on; nothing visible was changed."""


class Remote:
    """One repository on a remote hub (`url` is the hub's base URL, `repo_id` is ns/name)."""

    def __init__(self, url: str, repo_id: str, token: str | None = None, max_rate: int | None = None) -> None:
        url = (url or "").strip().rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise SyncError(f"Invalid hub URL {url!r}: expected http(s)://host[:port]")
        if parts.username or parts.password:
            raise SyncError("Put the token in --token, not in the URL")
        self.url = url
        self.repo_id = repo_id
        self.token = token or None
        self.max_rate = max_rate  # bytes per second for LFS downloads (None: as fast as it goes)
        self.client = httpx2.Client(timeout=TIMEOUT, follow_redirects=True, headers={"user-agent": USER_AGENT})

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Remote:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- plumbing ---------------------------------------------------------------------------
    @property
    def display(self) -> str:
        return f"{self.url}/{self.repo_id}"

    @property
    def git_url(self) -> str:
        return f"{self.url}/{self.repo_id}.git"

    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"} if self.token else {}

    def same_origin(self, href: str) -> bool:
        a, b = urlsplit(self.url), urlsplit(href)
        return (a.scheme, a.netloc) == (b.scheme, b.netloc)

    def request(self, method: str, url: str, *, with_auth: bool = True, **kw) -> httpx2.Response:
        """`with_auth=False` for action hrefs (signed URLs, perhaps on another host: their headers
        come from the action itself, see `action_headers`)."""
        headers = {**(self.auth() if with_auth else {}), **kw.pop("headers", {})}
        try:
            return self.client.request(method, url, headers=headers, **kw)
        except httpx2.TransportError as e:
            raise SyncError(f"Cannot reach {self.url}: {e.__class__.__name__}: {e}") from None

    def access_error(self, resp: httpx2.Response, what: str = "") -> SyncError:
        """A refused request as an actionable message (401/403/404 name the token)."""
        detail = _server_message(resp)
        if resp.status_code in (401, 404) and not self.token:
            msg = f"{self.display}: repository not found or you have no access (pass --token)"
        elif resp.status_code == 401:
            msg = f"{self.display}: the token was refused (wrong or expired token?)"
        elif resp.status_code == 404:
            msg = f"{self.display}: repository not found or this token has no access to it"
        elif resp.status_code == 403:
            msg = (f"{self.display}: access refused (a gated repository needs an accepted access request "
                   f"for the token's account, or the token lacks the permission)")
        else:
            msg = f"{self.display}: {what or 'request'} failed with HTTP {resp.status_code}"
        return SyncError(msg + (f" — the server said: {detail}" if detail else ""))

    # ---- JSON API ---------------------------------------------------------------------------
    def model_info(self) -> dict:
        resp = self.request("GET", f"{self.url}/api/models/{self.repo_id}")
        if resp.status_code != 200:
            raise self.access_error(resp, "reading the repository information")
        try:
            return resp.json()
        except ValueError:
            raise SyncError(f"{self.url} did not answer like a Hugging Face-compatible hub "
                            f"(no JSON at /api/models/{self.repo_id})") from None

    def hf_api(self):
        from huggingface_hub import HfApi

        return HfApi(endpoint=self.url, token=self.token if self.token else False)

    # ---- git --------------------------------------------------------------------------------
    def git_service(self, service: str) -> bool:
        """Does the remote serve this git service over smart HTTP? 404 (or a non-git answer) = no."""
        resp = self.request("GET", f"{self.git_url}/info/refs", params={"service": service})
        if resp.status_code in (404, 405, 501):
            return False
        if resp.status_code != 200:
            raise self.access_error(resp, f"git {service}")
        return resp.headers.get("content-type", "").startswith(f"application/x-{service}-advertisement")

    def git_env(self) -> dict[str, str]:
        """Environment for a `git` talking to this remote: no prompts, the token as a header."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update({"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "LC_ALL": "C", "LANG": "C"})
        env.pop("SSH_ASKPASS", None)
        if self.token:
            env.update({"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.extraHeader",
                        "GIT_CONFIG_VALUE_0": f"Authorization: Bearer {self.token}"})
        return env

    # ---- LFS --------------------------------------------------------------------------------
    def lfs_batch(self, operation: str, objects: list[dict], ref: str | None = None) -> list[dict]:
        body: dict = {"operation": operation, "transfers": ["basic"], "objects": objects, "hash_algo": "sha256"}
        if ref:
            body["ref"] = {"name": ref}
        out: list[dict] = []
        for i in range(0, len(objects), 100):
            body["objects"] = objects[i:i + 100]
            resp = self.request("POST", f"{self.git_url}/info/lfs/objects/batch", json=body,
                                headers={"accept": LFS_JSON, "content-type": LFS_JSON})
            if resp.status_code != 200:
                raise self.access_error(resp, f"LFS batch {operation}")
            out += resp.json().get("objects") or []
        return out

    def action_headers(self, action: dict) -> dict[str, str]:
        headers = dict(action.get("header") or {})
        if self.same_origin(action["href"]) and "token=" not in action["href"]:
            headers = {**self.auth(), **headers}
        return headers

    @contextmanager
    def stream_get(self, url: str, headers: dict[str, str]) -> Iterator[httpx2.Response]:
        try:
            with self.client.stream("GET", url, headers=headers) as resp:
                yield resp
        except httpx2.TransportError as e:
            raise SyncError(f"Transfer from {self.url} interrupted: {e.__class__.__name__}: {e} "
                            "(run the pull again: it resumes)") from None


def _server_message(resp: httpx2.Response) -> str:
    msg = resp.headers.get("x-error-message", "")
    if msg:
        return msg
    try:
        data = resp.json()
    except ValueError:
        return ""
    if isinstance(data, dict):
        return str(data.get("error") or data.get("message") or "")[:300]
    return ""
