"""Webhooks through the real huggingface_hub client against a live hub, delivered to a real HTTP
receiver on loopback started here: the API (create/list/get/update/enable/disable/delete, someone
else's webhook is not found), a signed delivery of the Hub's payload for each kind of change, the
retry after a 500, the SSRF rules (loopback refused unless allowed, checked on the resolved address
at delivery), and the delivery log with redelivery. Runs on PostgreSQL too
(MODELHUB_TEST_DATABASE_URL).

The hub allows the host name `localhost` only (MODELHUB_WEBHOOK_ALLOW_HOSTS), so the receiver is
reached as http://localhost:PORT, while 127.0.0.1 and other names of this machine stay refused."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx2
import pytest
from huggingface_hub import CommitOperationAdd, WebhookInfo
from huggingface_hub.errors import HfHubHTTPError
from playwright.sync_api import expect

from tests.support.browser import browser, new_page, page, sign_in  # noqa: F401
from tests.support.live import LiveHub, start_hub
from tests.support.waiting import poll

pytest_plugins = ["tests.support.browser"]  # the failure screenshots' report hook

OWNER, OTHER = "wh-owner", "wh-other"
SECRET = "s3cret-for-tests"


class Receiver:
    """A loopback HTTP server recording every POST; `fail[path]` answers 500 that many times first."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.fail: dict[str, int] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.posts.append({"path": self.path, "headers": dict(self.headers), "body": body})
                    failing = receiver.fail.get(self.path, 0)
                    if failing:
                        receiver.fail[self.path] = failing - 1
                self.send_response(500 if failing else 200)
                self.end_headers()
                self.wfile.write(b"boom" if failing else b"thanks")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://localhost:{self.port}{path}"

    def at(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return [p for p in self.posts if p["path"] == path]

    def payloads(self, path: str) -> list[dict[str, Any]]:
        return [json.loads(p["body"]) for p in self.at(path)]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


@pytest.fixture(scope="module")
def hub(tmp_path_factory) -> Iterator[LiveHub]:
    """This module's hub (it stands in for the session's, so the browser fixtures use it too)."""
    h = start_hub(tmp_path_factory.mktemp("webhooks"), workers=2, env={
        "MODELHUB_WEBHOOK_ALLOW_HOSTS": "localhost", "MODELHUB_WEBHOOK_RETRY_SECONDS": "0.2",
        "MODELHUB_WEBHOOK_MAX_ATTEMPTS": "3", "MODELHUB_WEBHOOK_POLL_SECONDS": "0.1",
        "MODELHUB_WEBHOOK_TIMEOUT": "3"})
    yield h
    h.stop()


@pytest.fixture(scope="module")
def tokens(hub) -> dict[str, str]:
    owner, other = hub.users(OWNER, OTHER)
    return {OWNER: owner, OTHER: other}


def wait_for(receiver: Receiver, path: str, ok: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The first payload posted to `path` that `ok` accepts (fails after a bounded wait)."""
    got = poll(lambda: [p for p in receiver.payloads(path) if ok(p)], bool, timeout=15)
    assert got, f"no matching delivery to {path}; got {receiver.payloads(path)}"
    return got[0]


def assert_signed(post: dict[str, Any]) -> None:
    headers = {k.lower(): v for k, v in post["headers"].items()}
    assert headers["x-webhook-secret"] == SECRET
    expected = "sha256=" + hmac.new(SECRET.encode(), post["body"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-webhook-signature"], expected)
    assert headers["content-type"] == "application/json"


# ---- the API ---------------------------------------------------------------------------------------
def test_webhook_crud_through_the_client(hub, tokens, receiver):
    api = hub.api(tokens[OWNER])
    hook = api.create_webhook(url=receiver.url("/crud"), watched=[{"type": "user", "name": OWNER}],
                              domains=["repo"], secret=SECRET)
    assert isinstance(hook, WebhookInfo)
    assert (hook.url, hook.domains, hook.secret, hook.disabled) == (receiver.url("/crud"), ["repo"], SECRET, False)
    assert [(w.type, w.name) for w in hook.watched] == [("user", OWNER)]
    assert api.get_webhook(hook.id) == hook
    assert hook.id in [w.id for w in api.list_webhooks()]

    changed = api.update_webhook(hook.id, url=receiver.url("/crud2"), watched=[{"type": "org", "name": "someorg"}],
                                 domains=["repo", "discussion"])
    assert (changed.url, changed.domains, changed.secret) == (receiver.url("/crud2"), ["repo", "discussion"], SECRET)
    assert [(w.type, w.name) for w in changed.watched] == [("org", "someorg")]
    kept = api.update_webhook(hook.id, url=receiver.url("/crud3"))  # the client sends watched=[]: kept
    assert [(w.type, w.name) for w in kept.watched] == [("org", "someorg")]
    assert api.disable_webhook(hook.id).disabled is True
    assert api.get_webhook(hook.id).disabled is True
    assert api.enable_webhook(hook.id).disabled is False
    api.delete_webhook(hook.id)
    with pytest.raises(HfHubHTTPError) as e:
        api.get_webhook(hook.id)
    assert e.value.response.status_code == 404


def test_someone_elses_webhook_does_not_exist_for_you(hub, tokens, receiver):
    mine = hub.api(tokens[OWNER]).create_webhook(url=receiver.url("/mine"), watched=[{"type": "user", "name": OWNER}])
    other = hub.api(tokens[OTHER])
    for call in (lambda: other.get_webhook(mine.id), lambda: other.disable_webhook(mine.id),
                 lambda: other.update_webhook(mine.id, url=receiver.url("/stolen")),
                 lambda: other.delete_webhook(mine.id)):
        with pytest.raises(HfHubHTTPError) as e:
            call()
        assert e.value.response.status_code == 404
        assert e.value.response.headers["X-Error-Message"] == e.value.response.json()["error"]
    assert mine.id not in [w.id for w in other.list_webhooks()]
    assert hub.api(tokens[OWNER]).get_webhook(mine.id).url == receiver.url("/mine")  # unchanged
    r = httpx2.get(f"{hub.url}/api/settings/webhooks")
    assert r.status_code == 401


@pytest.mark.parametrize("body, words", [
    ({"url": "ftp://example.com/x", "watched": [{"type": "user", "name": "a"}]}, "http"),
    ({"url": "https://example.com/x", "watched": []}, "watched"),
    ({"url": "https://example.com/x", "watched": [{"type": "planet", "name": "a"}]}, "type"),
    ({"url": "https://example.com/x", "watched": [{"type": "user", "name": "a"}], "domains": ["git"]}, "domains"),
    ({"url": "https://example.com/x", "watched": [{"type": "user", "name": "a"}], "jobSourceId": "j"}, "Jobs"),
])
def test_bad_webhooks_are_refused_with_a_reason(hub, tokens, body, words):
    r = httpx2.post(f"{hub.url}/api/settings/webhooks", json=body,
                    headers={"Authorization": f"Bearer {tokens[OWNER]}"})
    assert r.status_code == 400, r.text
    assert words in r.json()["error"]


# ---- SSRF ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("host", ["127.0.0.1", "10.0.0.5", "169.254.169.254", "[::1]", "0.0.0.0", "224.0.0.1"])
def test_non_public_addresses_are_refused_unless_allowed(hub, tokens, receiver, host):
    with pytest.raises(HfHubHTTPError) as e:
        hub.api(tokens[OWNER]).create_webhook(url=f"http://{host}:{receiver.port}/x",
                                               watched=[{"type": "user", "name": OWNER}])
    assert e.value.response.status_code == 400
    assert "non-public address" in e.value.response.json()["error"]


def test_a_name_resolving_to_a_private_address_is_refused_at_delivery(hub, tokens, receiver):
    """The name passes at creation; the address it resolves to is checked when the hub connects."""
    api = hub.api(tokens[OWNER])
    name = socket.gethostname()  # this machine: loopback or a private address, never allowed here
    hook = api.create_webhook(url=f"http://{name}:{receiver.port}/ssrf", watched=[{"type": "user", "name": OWNER}],
                              domains=["repo"])
    api.create_repo(f"{OWNER}/ssrf-probe")
    log = poll(lambda: deliveries(hub, tokens[OWNER], hook.id), lambda d: d and d[0]["attempts"] >= 1)
    assert log and log[0]["error"].startswith("refused:"), log
    assert log[0]["responseStatus"] is None
    assert receiver.at("/ssrf") == []
    api.delete_webhook(hook.id)


def deliveries(hub: LiveHub, token: str, hook_id: str) -> list[dict[str, Any]]:
    r = httpx2.get(f"{hub.url}/api/settings/webhooks/{hook_id}/deliveries",
                   headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return r.json()


# ---- deliveries ------------------------------------------------------------------------------------
def test_each_kind_of_change_is_delivered_signed(hub, tokens, receiver):
    api = hub.api(tokens[OWNER])
    path = "/events"
    hook = api.create_webhook(url=receiver.url(path), watched=[{"type": "user", "name": OWNER}],
                              domains=["repo", "discussion"], secret=SECRET)
    repo = f"{OWNER}/watched-model"

    def expect(scope: str, action: str, extra: Callable[[dict[str, Any]], bool] = lambda p: True) -> dict:
        return wait_for(receiver, path, lambda p: p["event"] == {"scope": scope, "action": action}
                        and p["repo"]["name"] == repo and extra(p))

    api.create_repo(repo)
    created = expect("repo", "create")
    assert created["repo"]["type"] == "model" and created["repo"]["private"] is False
    assert created["repo"]["url"]["web"] == f"{hub.url}/{repo}"
    assert created["webhook"] == {"id": hook.id, "version": 3}

    info = api.upload_file(path_or_fileobj=b"hello", path_in_repo="a.txt", repo_id=repo)
    pushed = expect("repo.content", "update", lambda p: p["updatedRefs"][0]["newSha"] == info.oid)
    assert pushed["updatedRefs"][0]["ref"] == "refs/heads/main" and pushed["updatedRefs"][0]["oldSha"]
    assert pushed["repo"]["headSha"] == info.oid

    api.create_branch(repo, branch="dev")
    expect("repo.content", "update", lambda p: p["updatedRefs"] == [
        {"ref": "refs/heads/dev", "oldSha": None, "newSha": info.oid}])
    api.delete_branch(repo, branch="dev")
    expect("repo.content", "update", lambda p: p["updatedRefs"] == [
        {"ref": "refs/heads/dev", "oldSha": info.oid, "newSha": None}])
    api.create_tag(repo, tag="v1")
    expect("repo.content", "update", lambda p: p["updatedRefs"] == [
        {"ref": "refs/tags/v1", "oldSha": None, "newSha": info.oid}])
    api.delete_tag(repo, tag="v1")
    expect("repo.content", "update", lambda p: p["updatedRefs"] == [
        {"ref": "refs/tags/v1", "oldSha": info.oid, "newSha": None}])

    d = api.create_discussion(repo, title="Question", description="Why?")
    opened = expect("discussion", "create")
    assert opened["discussion"]["num"] == d.num and opened["discussion"]["title"] == "Question"
    assert opened["discussion"]["isPullRequest"] is False and opened["discussion"]["author"] == {"id": OWNER}
    assert opened["discussion"]["url"]["web"] == f"{hub.url}/{repo}/discussions/{d.num}"
    api.comment_discussion(repo, d.num, "Because.")
    said = expect("discussion.comment", "create")
    assert said["comment"]["content"] == "Because." and said["discussion"]["num"] == d.num
    assert said["comment"]["author"] == {"id": OWNER}

    pr = api.create_commit(repo, [CommitOperationAdd("b.txt", b"more")], commit_message="Add b", create_pr=True)
    num = int(pr.pr_num)
    expect("discussion", "create", lambda p: p["discussion"]["num"] == num and p["discussion"]["isPullRequest"])
    api.merge_pull_request(repo, num)
    merged = expect("discussion", "update", lambda p: p["discussion"]["num"] == num)
    assert merged["discussion"]["status"] == "merged"
    head = api.model_info(repo).sha
    expect("repo.content", "update", lambda p: {"ref": "refs/heads/main", "oldSha": info.oid, "newSha": head}
           in p["updatedRefs"])

    api.update_repo_settings(repo, private=True)
    hidden = expect("repo.config", "update")
    assert hidden["updatedConfig"] == {"private": True} and hidden["repo"]["private"] is True
    api.move_repo(repo, f"{OWNER}/watched-model-renamed")
    moved = expect("repo", "move")
    assert moved["movedTo"] == {"name": f"{OWNER}/watched-model-renamed", "owner": {"id": OWNER}}
    repo = f"{OWNER}/watched-model-renamed"
    api.delete_repo(repo)
    expect("repo", "delete")

    for post in receiver.at(path):
        assert_signed(post)


def test_git_push_of_a_tag_and_a_branch_is_one_delivery(hub, tokens, receiver, tmp_path):
    import subprocess

    api = hub.api(tokens[OWNER])
    repo = f"{OWNER}/pushed"
    api.create_repo(repo)
    hook = api.create_webhook(url=receiver.url("/git"), watched=[{"type": "model", "name": repo}], domains=["repo"])
    url = hub.url.replace("http://", f"http://{OWNER}:{tokens[OWNER]}@") + f"/{repo}"
    run = lambda *a: subprocess.run(["git", *a], cwd=tmp_path / "c", check=True, capture_output=True)  # noqa: E731
    subprocess.run(["git", "clone", "-q", url, str(tmp_path / "c")], check=True, capture_output=True)
    run("-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "--allow-empty", "-m", "x")
    run("tag", "v2")
    run("push", "-q", "origin", "main", "v2")
    got = wait_for(receiver, "/git", lambda p: len(p.get("updatedRefs", ())) == 2)
    assert {r["ref"] for r in got["updatedRefs"]} == {"refs/heads/main", "refs/tags/v2"}
    assert got["event"] == {"scope": "repo.content", "action": "update"} and got["repo"]["name"] == repo
    assert all("x-webhook-signature" not in {k.lower() for k in p["headers"]} for p in receiver.at("/git"))
    api.delete_webhook(hook.id)


def test_private_changes_reach_only_who_may_see_them(hub, tokens, receiver):
    """OTHER watches OWNER: told of a public repository, never of a private one."""
    other_hook = hub.api(tokens[OTHER]).create_webhook(url=receiver.url("/spy"),
                                                        watched=[{"type": "user", "name": OWNER}], domains=["repo"])
    api = hub.api(tokens[OWNER])
    api.create_repo(f"{OWNER}/secret-plans", private=True)
    api.create_repo(f"{OWNER}/open-plans")
    wait_for(receiver, "/spy", lambda p: p["repo"]["name"] == f"{OWNER}/open-plans")
    assert all(p["repo"]["name"] != f"{OWNER}/secret-plans" for p in receiver.payloads("/spy"))
    hub.api(tokens[OTHER]).delete_webhook(other_hook.id)


def test_a_500_is_retried_and_the_log_shows_both_attempts_and_redelivery(hub, tokens, receiver):
    api = hub.api(tokens[OWNER])
    receiver.fail["/flaky"] = 1
    repo = f"{OWNER}/flaky-target"
    hook = api.create_webhook(url=receiver.url("/flaky"), watched=[{"type": "model", "name": repo}],
                              domains=["repo"], secret=SECRET)
    api.create_repo(repo)
    posts = poll(lambda: receiver.at("/flaky"), lambda p: len(p) >= 2, timeout=15)
    assert len(posts) == 2 and posts[0]["body"] == posts[1]["body"]
    log = poll(lambda: deliveries(hub, tokens[OWNER], hook.id), lambda d: d and d[0]["status"] == "delivered")
    assert [(d["status"], d["attempts"], d["responseStatus"], d["responseExcerpt"]) for d in log] == [
        ("delivered", 2, 200, "thanks")]
    assert log[0]["durationMs"] >= 0 and log[0]["event"] == {"scope": "repo", "action": "create"}

    r = httpx2.post(f"{hub.url}/api/settings/webhooks/{hook.id}/deliveries/{log[0]['id']}/redeliver",
                    headers={"Authorization": f"Bearer {tokens[OWNER]}"})
    assert r.status_code == 200, r.text
    posts = poll(lambda: receiver.at("/flaky"), lambda p: len(p) >= 3, timeout=15)
    assert posts[2]["body"] == posts[0]["body"]
    assert_signed(posts[2])
    r = httpx2.post(f"{hub.url}/api/settings/webhooks/{hook.id}/deliveries/{log[0]['id']}/redeliver",
                    headers={"Authorization": f"Bearer {tokens[OTHER]}"})
    assert r.status_code == 404


def test_a_receiver_that_keeps_failing_is_given_up_after_the_last_attempt(hub, tokens, receiver):
    api = hub.api(tokens[OWNER])
    receiver.fail["/down"] = 100
    repo = f"{OWNER}/down-target"
    hook = api.create_webhook(url=receiver.url("/down"), watched=[{"type": "model", "name": repo}], domains=["repo"])
    api.create_repo(repo)
    log = poll(lambda: deliveries(hub, tokens[OWNER], hook.id), lambda d: d and d[0]["status"] == "failed")
    assert [(d["status"], d["attempts"], d["responseStatus"]) for d in log] == [("failed", 3, 500)]
    assert len(receiver.at("/down")) == 3  # MODELHUB_WEBHOOK_MAX_ATTEMPTS


# ---- the settings page -----------------------------------------------------------------------------
def test_settings_page_creates_shows_the_log_redelivers_and_deletes(hub, tokens, receiver, page, new_page):
    repo = f"{OWNER}/web-target"
    sign_in(page, OWNER)
    page.goto("/settings/webhooks")
    page.fill("#wh-url", receiver.url("/web"))
    page.fill("#wh-watched", f"model {repo}")
    page.uncheck("#wh-domain-discussion")
    page.fill("#wh-secret", SECRET)
    with page.expect_navigation():
        page.click("[data-webhook-form] button[type=submit]")
    hook_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("body")).to_contain_text("Webhook created.")
    hook = hub.api(tokens[OWNER]).get_webhook(hook_id)
    assert (hook.url, hook.domains, hook.secret) == (receiver.url("/web"), ["repo"], SECRET)
    assert [(w.type, w.name) for w in hook.watched] == [("model", repo)]

    hub.api(tokens[OWNER]).create_repo(repo)
    wait_for(receiver, "/web", lambda p: p["event"]["scope"] == "repo")
    rows = page.locator("[data-deliveries] tr[data-delivery-id]")
    poll(lambda: page.reload() and rows.count(), lambda n: n == 1 and rows.first.get_attribute("data-status")
         == "delivered")
    expect(rows.first).to_contain_text("repo.create")
    expect(rows.first).to_contain_text("HTTP 200")
    expect(rows.first).to_contain_text("thanks")
    with page.expect_navigation():
        rows.first.get_by_role("button", name="Redeliver").click()
    expect(page.locator("body")).to_contain_text("Delivery queued again.")
    posts = poll(lambda: receiver.at("/web"), lambda p: len(p) >= 2)
    assert posts[1]["body"] == posts[0]["body"]
    assert_signed(posts[1])
    poll(lambda: page.reload() and rows.count(), lambda n: n == 2)

    with page.expect_navigation():
        page.get_by_role("button", name="Disable").click()
    expect(page.locator("[data-webhook-state]")).to_have_text("disabled")
    assert hub.api(tokens[OWNER]).get_webhook(hook_id).disabled is True
    with page.expect_navigation():
        page.get_by_role("button", name="Enable").click()
    expect(page.locator("[data-webhook-state]")).to_have_text("active")

    page.fill("#wh-watched", "")  # an edit that empties the watch list is refused, with the reason
    with page.expect_navigation():
        page.click("[data-webhook-form] button[type=submit]")
    expect(page.locator("[role=alert]")).to_contain_text("type")

    zh = new_page(locale="zh-CN")
    sign_in(zh, OWNER)
    zh.goto(f"/settings/webhooks/{hook_id}")
    expect(zh.locator("h2#log-h")).to_have_text("最近的投递")
    other = new_page()
    sign_in(other, OTHER)
    assert other.goto(f"/settings/webhooks/{hook_id}").status == 404
    assert other.request.post(f"/settings/webhooks/{hook_id}/delete").status == 400  # no CSRF token
    assert hub.api(tokens[OWNER]).get_webhook(hook_id).url == receiver.url("/web")

    with page.expect_navigation():
        page.get_by_role("button", name="Delete webhook").click()
    assert page.url.endswith("/settings/webhooks")
    expect(page.locator("body")).to_contain_text("Webhook deleted.")
    assert page.locator(f"tr[data-webhook-id='{hook_id}']").count() == 0
