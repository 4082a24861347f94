"""The community pages (discussions, pull requests, moderation, inbox) driven like a browser would:
a signed-in httpx2.Client that reads each page's CSRF token and posts its forms, against a real
server. Every action redirects back (303) with a flash message; a form that was not offered to the
user (a forged post) answers 403 and changes nothing. Ends with one real-browser (Playwright) run.
"""

from __future__ import annotations

import html
import re
import time
from pathlib import Path

import httpx2
import pytest

from tests.support.live import start_hub

from tests.support.browser import browser, new_page  # noqa: F401  (fixtures)

pytest_plugins = ["tests.support.browser"]

P = "wc"
OWNER, ALICE, BOB, CAROL, DAVE, ERIN, FRANK = (f"{P}-owner", f"{P}-alice", f"{P}-bob", f"{P}-carol", f"{P}-dave",
                                                f"{P}-erin", f"{P}-frank")
ADMIN = f"{P}-admin"
REPO = f"{OWNER}/community-model"
XSS = '<script>alert("pwned")</script>'


# ---- a tiny browser -------------------------------------------------------------------------------------
OPENED: list[httpx2.Client] = []  # the running test's clients, closed when it ends


@pytest.fixture(autouse=True)
def close_clients():
    """Close the clients a test opened: left to the garbage collector, their open sockets raise a
    ResourceWarning, which fails the test (requests' connection pools closed themselves)."""
    yield
    while OPENED:
        OPENED.pop().close()


class Browser:
    """An httpx2.Client signed in through the login form (or anonymous), posting forms with CSRF.
    Pages follow redirects as a browser does; form posts do not, to see the redirect itself."""

    def __init__(self, hub, user: str | None = None) -> None:
        self.hub = hub
        self.s = httpx2.Client(follow_redirects=True)
        OPENED.append(self.s)
        self.user = user
        if user:
            page = self.s.get(hub.url + "/login", timeout=60)
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
            r = self.s.post(hub.url + "/login", data={"csrf_token": token, "username": user,
                                                      "password": f"pw-{user}-12345"}, timeout=60)
            assert r.status_code == 200 and "Sign out" in r.text, (r.status_code, r.text[:500])

    def get(self, path: str, **kw) -> httpx2.Response:
        return self.s.get(self.hub.url + path, timeout=60, **kw)

    def token(self) -> str:
        page = self.get("/licenses")
        return re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text).group(1)

    def post(self, path: str, data: dict | None = None, csrf: bool = True) -> httpx2.Response:
        data = dict(data or {})
        if csrf:
            data["csrf_token"] = self.token()
        return self.s.post(self.hub.url + path, data=data, follow_redirects=False, timeout=120)

    def act(self, path: str, data: dict | None = None) -> tuple[httpx2.Response, str]:
        """Post a form, expect the redirect back, and return (redirect, the page it leads to)."""
        r = self.post(path, data)
        assert r.status_code == 303, (r.status_code, r.text[:1000])
        page = self.get(r.headers["Location"])
        assert page.status_code == 200, page.status_code
        return r, page.text


def flashes(page: str, category: str = "error") -> list[str]:
    return [html.unescape(m.strip()) for m in re.findall(rf'<p class="flash {category}" role="(?:status|alert)">(.*?)</p>',
                                                           page, re.S)]


def comment_ids(page: str) -> list[int]:
    return [int(x) for x in re.findall(r'<li class="event comment[^"]*" id="c-(\d+)"', page)]


def comment_block(page: str, cid: int) -> str:
    m = re.search(rf'<li class="event comment[^"]*" id="c-{cid}">(.*?)</article>', page, re.S)
    assert m, f"comment {cid} not on the page"
    return m.group(1)


def comment_body(block: str) -> str:
    return re.search(r'<div class="comment-body card-body">(.*?)</div>', block, re.S).group(1)


def dpath(num: int, rest: str = "") -> str:
    return f"/{REPO}/discussions/{num}{rest}"


def last_event_id(hub, token: str, num: int) -> int:
    r = hub.get(f"/api/models/{REPO}/discussions/{num}", token)
    return int([e for e in r.json()["events"] if e["type"] == "comment"][-1]["id"], 16)


@pytest.fixture(scope="module")
def site(hub):
    """Users with tokens, a site admin, and a model owned by OWNER with a README."""
    tokens = dict(zip([OWNER, ALICE, BOB, CAROL, DAVE, ERIN, FRANK],
                      hub.users(OWNER, ALICE, BOB, CAROL, DAVE, ERIN, FRANK)))
    tokens[ADMIN] = hub.user(ADMIN, admin=True)
    api = hub.api(tokens[OWNER])
    api.create_repo(REPO)
    api.upload_file(path_or_fileobj=b"# Community model\n\nfirst line\nsecond line\n", path_in_repo="README.md",
                    repo_id=REPO)
    return tokens


def new_discussion(hub, site, who: str, title: str, description: str | None = "opening words") -> int:
    return hub.api(site[who]).create_discussion(REPO, title, description=description).num


# ---- the community tab ----------------------------------------------------------------------------------
def test_list_filters_badges_pinned_first_pagination_and_escaping(hub, site):
    api_bob = hub.api(site[BOB])
    first = new_discussion(hub, site, ALICE, f"Loading fails {XSS}", "it **breaks**")
    closed = new_discussion(hub, site, ALICE, "An old question")
    hub.api(site[OWNER]).change_discussion_status(REPO, closed, "closed")
    pr = api_bob.upload_file(path_or_fileobj=b"notes\n", path_in_repo="notes-list.txt", repo_id=REPO,
                             create_pr=True, commit_message="Add notes").pr_num
    for i in range(8):  # more than a page (the test server's page size is 7)
        api_bob.create_discussion(REPO, f"Filler question {i}")
    owner = Browser(hub, OWNER)
    owner.act(dpath(first, "/pin"))

    anon = Browser(hub)
    page = anon.get(f"/{REPO}/discussions").text
    nums = [int(n) for n in re.findall(r'<li class="discussion-item[^"]*" data-num="(\d+)"', page)]
    assert nums[0] == first, "the pinned discussion comes first"
    assert len(nums) == 7 and closed not in nums
    item = re.search(rf'data-num="{first}">(.*?)</li>', page, re.S).group(1)
    assert "Pinned" in item and "status-open" in item and "1 comment" in item and ALICE in item
    assert XSS not in page and "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in page
    assert 'rel="next"' in page
    page2 = anon.get(f"/{REPO}/discussions?p=1").text
    nums2 = [int(n) for n in re.findall(r'data-num="(\d+)"', page2)]
    assert nums2 and not set(nums2) & set(nums)

    prs = anon.get(f"/{REPO}/discussions?type=pull_request&status=all").text
    pr_nums = [int(n) for n in re.findall(r'data-num="(\d+)"', prs)]
    assert pr in pr_nums and first not in pr_nums
    assert 'class="badge pr"' in re.search(rf'data-num="{pr}">(.*?)</li>', prs, re.S).group(1)
    only_discussions = anon.get(f"/{REPO}/discussions?type=discussion&status=all").text
    assert pr not in [int(n) for n in re.findall(r'data-num="(\d+)"', only_discussions)]

    closed_page = anon.get(f"/{REPO}/discussions?status=closed").text
    closed_nums = [int(n) for n in re.findall(r'data-num="(\d+)"', closed_page)]
    assert closed in closed_nums and first not in closed_nums
    assert "status-closed" in closed_page

    # The header's community tab is current, with the open count.
    assert re.search(r'/discussions" aria-current="page">Community <span class="badge">\d+</span>', page)
    # Search (the index catches up within moments).
    deadline = time.monotonic() + 15
    while True:
        found = anon.get(f"/{REPO}/discussions?search=breaks&status=all").text
        hits = [int(n) for n in re.findall(r'data-num="(\d+)"', found)]
        if hits or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert hits == [first]
    none = anon.get(f"/{REPO}/discussions?search=zzqqxxnothing").text
    assert "No discussion matches your search." in none
    # Signed-out visitors are invited to sign in rather than shown the button.
    assert "Sign in to start a discussion" in page and "data-new-discussion" not in page
    assert "data-new-discussion" in owner.get(f"/{REPO}/discussions").text


def test_private_repository_discussions_are_hidden(hub, site):
    hub.api(site[OWNER]).create_repo(f"{OWNER}/secret-model", private=True)
    hub.api(site[OWNER]).create_discussion(f"{OWNER}/secret-model", "private talk")
    assert Browser(hub).get(f"/{OWNER}/secret-model/discussions").status_code == 404
    assert Browser(hub, BOB).get(f"/{OWNER}/secret-model/discussions/1").status_code == 404
    assert Browser(hub, OWNER).get(f"/{OWNER}/secret-model/discussions/1").status_code == 200


def test_new_discussion_form(hub, site):
    anon = Browser(hub)
    r = anon.get(f"/{REPO}/discussions/new", follow_redirects=False)
    assert r.status_code == 302 and "/login?next=" in r.headers["Location"]

    carol = Browser(hub, CAROL)
    form = carol.get(f"/{REPO}/discussions/new").text
    assert 'name="title"' in form and 'name="description"' in form
    assert "create_pr=True" in form and "git push origin HEAD:refs/pr/N" in form
    assert "Open a pull request" in form

    bad = carol.post(f"/{REPO}/discussions/new", {"title": "", "description": "no title"})
    assert bad.status_code == 400 and "field-error" in bad.text and "no title" in bad.text

    no_csrf = carol.post(f"/{REPO}/discussions/new", {"title": "forged", "description": "x"}, csrf=False)
    assert no_csrf.status_code == 400

    r = carol.post(f"/{REPO}/discussions/new", {"title": f"Carol asks {XSS}", "description": "Hello **world**"})
    assert r.status_code == 303
    num = int(re.search(r"/discussions/(\d+)$", r.headers["Location"]).group(1))
    page = carol.get(r.headers["Location"]).text
    assert flashes(page, "success") == [f"Discussion #{num} opened."]
    assert "<strong>world</strong>" in page and XSS not in page
    assert "Carol asks &lt;script&gt;" in page


# ---- one discussion -------------------------------------------------------------------------------------
def test_comment_mentions_sanitized_edit_history_and_reactions(hub, site):
    num = new_discussion(hub, site, ALICE, "Mentions and edits")
    alice, bob = Browser(hub, ALICE), Browser(hub, BOB)
    text = f"Hi @{BOB}, see **this** {XSS} <img src=x onerror=alert(1)> [x](javascript:alert(1))"
    r, page = alice.act(dpath(num, "/comment"), {"comment": text})
    cid = int(re.search(r"#c-(\d+)$", r.headers["Location"]).group(1))
    block = comment_block(page, cid)
    assert re.search(rf'<a class="mention" href="/{BOB}"[^>]*>@{BOB}</a>', block)
    assert "<strong>this</strong>" in block
    body = comment_body(block)
    assert "<script" not in body and "onerror" not in body and "javascript:" not in body
    assert "alert" not in body

    # Only the author edits: bob is not offered the form, and a forged one is refused.
    assert "data-edit" not in comment_block(bob.get(dpath(num)).text, cid)
    assert "data-edit" in comment_block(page, cid)
    forged = bob.post(dpath(num, f"/comments/{cid}/edit"), {"comment": "bob was here"})
    assert forged.status_code == 403
    assert "bob was here" not in alice.get(dpath(num)).text

    _, page = alice.act(dpath(num, f"/comments/{cid}/edit"), {"comment": "Rewritten *text*"})
    assert flashes(page, "success") == ["Comment updated."]
    block = comment_block(page, cid)
    assert "<em>text</em>" in block and "· edited" in block
    history = re.search(r'<details class="history">(.*?)</details>', block, re.S).group(1)
    assert "1 previous version" in history and "<strong>this</strong>" in history and "<script" not in history

    # Reactions: a form per comment; pressing again takes the reaction back.
    _, page = bob.act(dpath(num, f"/comments/{cid}/react"), {"reaction": "👍"})
    block = comment_block(page, cid)
    assert re.search(r'class="reaction mine"\s+aria-pressed="true" title="' + BOB, block)
    assert re.search(r'👍</span> 1</button>', block)
    _, page = bob.act(dpath(num, f"/comments/{cid}/react"), {"reaction": "👍"})
    assert "reaction mine" not in comment_block(page, cid)
    _, page = bob.act(dpath(num, f"/comments/{cid}/react"), {"reaction": "nope"})
    assert any("Unknown reaction" in m for m in flashes(page))
    # Anonymous visitors see reactions but get no form to post.
    assert "react-picker" not in Browser(hub).get(dpath(num)).text


def test_empty_comment_and_csrf_are_refused(hub, site):
    num = new_discussion(hub, site, DAVE, "Empty comments")
    dave = Browser(hub, DAVE)
    _, page = dave.act(dpath(num, "/comment"), {"comment": "   "})
    assert flashes(page) and len(comment_ids(page)) == 1
    r = dave.post(dpath(num, "/comment"), {"comment": "no token"}, csrf=False)
    assert r.status_code == 400
    assert "no token" not in dave.get(dpath(num)).text
    assert Browser(hub).get(dpath(99999)).status_code == 404


def test_hide_unhide_and_moderation_buttons_only_for_moderators(hub, site):
    num = new_discussion(hub, site, ALICE, "Hiding things")
    bob_cid = hub.api(site[BOB]).comment_discussion(REPO, num, "buy cheap stuff now").id
    cid = int(bob_cid, 16)
    owner, alice, anon = Browser(hub, OWNER), Browser(hub, ALICE), Browser(hub, None)

    # A non-moderator (even the discussion's author) sees no moderation buttons...
    page = alice.get(dpath(num)).text
    for marker in ("data-lock", "data-pin", "data-unhide", "data-approve"):
        assert marker not in page
    assert "data-hide" not in comment_block(page, cid)
    # ... and forged moderation posts are refused, changing nothing.
    for path, data in ((dpath(num, "/lock"), {}), (dpath(num, "/pin"), {}),
                       (dpath(num, f"/comments/{cid}/hide"), {"reason": "forged"})):
        r = alice.post(path, data)
        assert r.status_code == 403, path
        assert "Forbidden" in r.text
    page = anon.get(dpath(num)).text
    assert "buy cheap stuff now" in page and "status-open" in page and 'class="badge locked"' not in page

    owner_page = owner.get(dpath(num)).text
    assert "data-lock" in owner_page and "data-pin" in owner_page and "data-hide" in comment_block(owner_page, cid)
    _, page = owner.act(dpath(num, f"/comments/{cid}/hide"), {"reason": "spam <b>link</b>"})
    assert flashes(page, "success") == ["Comment hidden."]
    block = comment_block(page, cid)
    assert "This comment has been hidden: spam &lt;b&gt;link&lt;/b&gt;" in block
    assert '<details class="reveal">' in block and "buy cheap stuff now" in block  # moderators can reveal
    assert "data-unhide" in block

    anon_block = comment_block(anon.get(dpath(num)).text, cid)
    assert "This comment has been hidden: spam" in anon_block and "buy cheap stuff now" not in anon_block
    assert "data-unhide" not in comment_block(alice.get(dpath(num)).text, cid)
    assert alice.post(dpath(num, f"/comments/{cid}/unhide")).status_code == 403

    _, page = owner.act(dpath(num, f"/comments/{cid}/unhide"))
    assert "buy cheap stuff now" in comment_block(anon.get(dpath(num)).text, cid)


def test_lock_and_close_refuse_comments_with_a_message(hub, site):
    num = new_discussion(hub, site, ERIN, "Locks and closing")
    owner, erin = Browser(hub, OWNER), Browser(hub, ERIN)

    _, page = owner.act(dpath(num, "/lock"), {"reason": "heated"})
    assert flashes(page, "success") == ["Locked: only moderators can comment now."]
    assert "locked this discussion" in page and "heated" in page and 'class="badge locked"' in page

    page = erin.get(dpath(num)).text
    assert 'data-comment-form' not in page
    assert "This discussion is locked: only moderators can comment." in page
    r, page = erin.act(dpath(num, "/comment"), {"comment": "let me in"})
    assert r.headers["Location"].endswith("#new-comment")
    assert flashes(page) == ["This discussion is locked: only moderators can comment."]
    assert "Your comment was not posted" in page and "let me in" in page  # the text is kept to copy
    assert "let me in" not in Browser(hub).get(dpath(num)).text

    # Moderators still may comment on a locked discussion.
    page = owner.get(dpath(num)).text
    assert "data-comment-form" in page and "Locked: you can comment as a moderator." in page
    _, page = owner.act(dpath(num, "/comment"), {"comment": "calm down please"})
    assert "calm down please" in page
    _, page = owner.act(dpath(num, "/unlock"))
    assert "unlocked this discussion" in page

    # Closing: the author's page offers "Close" and, once closed, "Reopen"; comments are refused meanwhile.
    page = erin.get(dpath(num)).text
    assert "data-close" in page
    _, page = owner.act(dpath(num, "/status"), {"status": "closed"})
    assert "closed this" in page and "status-closed" in page
    page = erin.get(dpath(num)).text
    assert "This discussion is closed: reopen it to comment." in page and "data-reopen" in page
    _, page = erin.act(dpath(num, "/comment"), {"comment": "one more thing"})
    assert flashes(page) == ["This discussion is closed: reopen it to comment."]
    before = page.count("closed this")
    _, page = erin.act(dpath(num, "/status"), {"status": "closed"})  # a stale form: nothing changes, no error
    assert page.count("closed this") == before and "status-closed" in page and not flashes(page)
    _, page = erin.act(dpath(num, "/status"), {"status": "open"})
    assert "reopened this" in page and "data-comment-form" in page

    # Close with a comment: both land.
    _, page = erin.act(dpath(num, "/status"), {"status": "closed", "comment": "solved, thanks"})
    assert "solved, thanks" in page and "status-closed" in page
    # A stranger cannot close or reopen (no button, and 403).
    frank = Browser(hub, FRANK)
    assert "data-reopen" not in frank.get(dpath(num)).text
    assert frank.post(dpath(num, "/status"), {"status": "open"}).status_code == 403


def test_rename_pin_and_report(hub, site):
    num = new_discussion(hub, site, CAROL, "Original title")
    carol, bob, owner = Browser(hub, CAROL), Browser(hub, BOB), Browser(hub, OWNER)

    assert "Edit title" in carol.get(dpath(num)).text
    assert "Edit title" not in bob.get(dpath(num)).text
    assert bob.post(dpath(num, "/title"), {"title": "hijacked"}).status_code == 403
    _, page = carol.act(dpath(num, "/title"), {"title": f"Better {XSS}"})
    assert "changed the title from" in page and "<del>Original title</del>" in page
    assert XSS not in page and "Better &lt;script&gt;" in page
    _, page = carol.act(dpath(num, "/title"), {"title": "  "})
    assert flashes(page)

    _, page = owner.act(dpath(num, "/pin"))
    assert "pinned this discussion" in page and 'class="badge pinned"' in page
    listing = Browser(hub).get(f"/{REPO}/discussions").text
    assert f'data-num="{num}"' in listing
    _, page = owner.act(dpath(num, "/unpin"))
    assert "unpinned this discussion" in page

    # Reports: the discussion and a comment, by a signed-in reader; no report button on one's own comment.
    cid = comment_ids(carol.get(dpath(num)).text)[0]
    assert "data-report" not in comment_block(carol.get(dpath(num)).text, cid)
    _, page = bob.act(dpath(num, "/report"), {"reason": "off topic"})
    assert flashes(page, "success") == ["Thank you: the moderators will review your report."]
    r, page = bob.act(dpath(num, "/report"), {"reason": "rude words", "comment_id": str(cid)})
    assert r.headers["Location"].endswith(f"#c-{cid}")
    _, page = bob.act(dpath(num, "/report"), {"reason": ""})
    assert flashes(page)
    assert Browser(hub).post(dpath(num, "/report"), {"reason": "anon"}).status_code == 302  # to sign in


def test_moderation_queue_resolve_dismiss_and_audit_logs(hub, site):
    num = new_discussion(hub, site, DAVE, "Please moderate")
    cid = last_event_id(hub, site[DAVE], num)
    frank, owner, dave = Browser(hub, FRANK), Browser(hub, OWNER), Browser(hub, DAVE)
    frank.act(dpath(num, "/report"), {"reason": f"report one {XSS}", "comment_id": str(cid)})
    frank.act(dpath(num, "/report"), {"reason": "report two"})

    queue = owner.get("/moderation").text
    items = re.findall(r'<li class="queue-item kind-report" data-kind="report" data-id="(\d+)">(.*?)</li>', queue, re.S)
    mine = {rid: body for rid, body in items if "report one" in body or "report two" in body}
    assert len(mine) == 2
    one = next(rid for rid, body in mine.items() if "report one" in body)
    two = next(rid for rid, body in mine.items() if "report two" in body)
    assert f"#c-{cid}" in mine[one] and FRANK in mine[one] and XSS not in queue and "data-resolve" in mine[one]

    # Someone who moderates nothing here sees none of it, and cannot resolve.
    assert "report one" not in dave.get("/moderation").text
    assert dave.post(f"/moderation/reports/{one}/resolve", {"resolution": "nah"}).status_code == 403

    _, page = owner.act(f"/moderation/reports/{one}/resolve", {"resolution": "hid it", "next": "/moderation"})
    assert flashes(page, "success") == ["Report resolved."] and "report one" not in page
    r, page = owner.act(f"/moderation/reports/{two}/resolve", {"dismiss": "1", "next": "https://evil.example/"})
    assert r.headers["Location"] == "/"  # never an open redirect
    assert flashes(page, "success") == ["Report dismissed."]
    resolved = owner.get("/moderation?status=resolved").text
    assert "report one" in resolved and "Resolution: hid it" in resolved and "data-resolve" not in resolved
    assert "report two" in owner.get("/moderation?status=dismissed").text
    _, page = owner.act(f"/moderation/reports/{one}/resolve", {"resolution": "again"})
    assert any("already resolved" in m for m in flashes(page))

    # The repository's log, for its moderators, filterable by action and actor.
    log = owner.get(f"/{REPO}/moderation/log").text
    assert 'data-action="resolve_report"' in log and 'data-action="dismiss_report"' in log
    only = owner.get(f"/{REPO}/moderation/log?action=dismiss_report").text
    assert 'data-action="dismiss_report"' in only and 'data-action="resolve_report"' not in only
    assert "<tr data-action" not in owner.get(f"/{REPO}/moderation/log?actor={FRANK}").text
    assert 'data-action="resolve_report"' in owner.get(f"/{REPO}/moderation/log?actor={OWNER}").text
    assert dave.get(f"/{REPO}/moderation/log").status_code == 403
    # The site log: site moderators and admins only.
    assert owner.get("/moderation/log").status_code == 403
    admin = Browser(hub, ADMIN)
    site_log = admin.get(f"/moderation/log?actor={OWNER}").text
    assert 'data-action="resolve_report"' in site_log and f'href="/{REPO}"' in site_log
    assert "Audit log" in admin.get("/moderation").text
    r = Browser(hub).get("/moderation", follow_redirects=False)
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_pull_request_files_changed_conflicts_and_merge(hub, site):
    alice_api, owner_api = hub.api(site[ALICE]), hub.api(site[OWNER])
    pr = alice_api.upload_file(path_or_fileobj=b"print('<b>hi</b>')\n", path_in_repo="pr-run.py", repo_id=REPO,
                               create_pr=True, commit_message="Add a script").pr_num
    alice_api.upload_file(path_or_fileobj=b"more\n", path_in_repo="pr-more.txt", repo_id=REPO,
                          revision=f"refs/pr/{pr}", commit_message="And more")
    conflicting = alice_api.upload_file(path_or_fileobj=b"# Rewritten by alice\n", path_in_repo="README.md",
                                        repo_id=REPO, create_pr=True).pr_num
    owner_api.upload_file(path_or_fileobj=b"# Rewritten by the owner\n", path_in_repo="README.md", repo_id=REPO)
    owner, bob, anon = Browser(hub, OWNER), Browser(hub, BOB), Browser(hub)

    page = anon.get(dpath(pr)).text
    assert 'class="badge pr"' in page and "Files changed" in page and f"refs/pr/{pr}" in page
    assert "added commit" in page and "Add a script" in page
    files = anon.get(dpath(pr, "/files")).text
    assert "pr-run.py" in files and "pr-more.txt" in files
    assert '<span class="dl add">+print(&#39;&lt;b&gt;hi&lt;/b&gt;&#39;)</span>' in files
    assert '<span class="dl hunk">@@' in files and "<b>hi</b>" not in files
    assert "data-conflicts" not in files
    assert "data-merge" not in files and "Only maintainers can merge pull requests." in files
    plain = new_discussion(hub, site, BOB, "Plain talk")
    assert anon.get(dpath(plain, "/files")).status_code == 404

    # Conflicts: listed, the merge button disabled, and a merge attempt refused with the reason.
    cfiles = owner.get(dpath(conflicting, "/files")).text
    conflicts = re.search(r"data-conflicts>(.*?)</div>", cfiles, re.S).group(1)
    assert "README.md" in conflicts
    assert re.search(r'<button type="submit" class="button primary" disabled aria-disabled="true" data-merge>', cfiles)
    _, page = owner.act(dpath(conflicting, "/merge"), {"next": dpath(conflicting, "/files")})
    assert any("conflicts with the target branch" in m and "README.md" in m for m in flashes(page))

    # Only maintainers merge: bob sees no button and a forged merge is refused.
    assert bob.post(dpath(pr, "/merge")).status_code == 403
    assert "status-open" in anon.get(dpath(pr)).text
    page = owner.get(dpath(pr, "/files")).text
    assert re.search(r'<button type="submit" class="button primary"\s+data-merge>', page)
    _, page = owner.act(dpath(pr, "/merge"), {"next": dpath(pr, "/files")})
    assert flashes(page, "success") == ["Pull request merged."]
    page = anon.get(dpath(pr)).text
    assert "status-merged" in page and "merged this pull request" in page and "This pull request was merged." in page
    assert "This pull request is merged: no new comments." in Browser(hub, ALICE).get(dpath(pr)).text
    _, page = owner.act(dpath(pr, "/merge"))
    assert any("merged" in m for m in flashes(page))

    # A closed pull request is not merged either.
    owner.act(dpath(conflicting, "/status"), {"status": "closed"})
    page = owner.get(dpath(conflicting)).text
    assert "This pull request is closed: reopen it to merge." in page and "data-merge" not in page
    _, page = owner.act(dpath(conflicting, "/merge"))
    assert any("closed" in m for m in flashes(page))


def test_later_commits_appear_in_the_pull_request_timeline(hub, site):
    api = hub.api(site[CAROL])
    pr = api.upload_file(path_or_fileobj=b"a\n", path_in_repo="later-a.txt", repo_id=REPO, create_pr=True,
                         commit_message="First commit of the PR").pr_num
    api.upload_file(path_or_fileobj=b"b\n", path_in_repo="later-b.txt", repo_id=REPO, revision=f"refs/pr/{pr}",
                    commit_message="Second commit of the PR")
    page = Browser(hub).get(dpath(pr)).text
    assert "First commit of the PR" in page
    assert "Second commit of the PR" in page


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    """A server of its own with the default posting limit (the shared one's is lifted)."""
    from tests.support.live import start_hub

    h = start_hub(tmp_path_factory.mktemp("limited"), workers=1, env={"MODELHUB_POSTS_PER_MINUTE": "10"})
    tokens = dict(zip([OWNER, FRANK], h.users(OWNER, FRANK)))
    api = h.api(tokens[OWNER])
    api.create_repo(REPO)
    api.upload_file(path_or_fileobj=b"# Community model\n", path_in_repo="README.md", repo_id=REPO)
    yield h, tokens
    h.stop()


def test_rate_limit_is_flashed_and_the_draft_kept(limited):
    hub, site = limited
    num = new_discussion(hub, site, FRANK, "Rate limits", description=None)
    frank = Browser(hub, FRANK)
    for i in range(12):
        r = frank.post(dpath(num, "/comment"), {"comment": f"message number {i}"})
        assert r.status_code == 303
        if r.headers["Location"].endswith("#new-comment"):
            break
    else:
        pytest.fail("never rate limited")
    page = frank.get(dpath(num)).text
    assert any("posting too fast" in m for m in flashes(page))
    textarea = re.search(r'<textarea id="comment"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    assert textarea == f"message number {i}"
    # The draft is shown once only.
    assert re.search(r'<textarea id="comment"[^>]*></textarea>', frank.get(dpath(num)).text)


def test_notifications_inbox(hub, site):
    num = new_discussion(hub, site, DAVE, "Calling carol")
    hub.api(site[DAVE]).comment_discussion(REPO, num, f"What do you think, @{CAROL}?")
    hub.api(site[DAVE]).comment_discussion(REPO, num, "Anyone?")
    carol = Browser(hub, CAROL)
    page = carol.get("/notifications").text
    rows = re.findall(r'<li class="notification( unread)?" data-id="(\d+)" data-kind="(\w+)">(.*?)</li>', page, re.S)
    mention = [(unread, nid, body) for unread, nid, kind, body in rows if kind == "mention" and "Calling carol" in body]
    assert len(mention) == 1
    unread, nid, body = mention[0]
    assert unread and "Mentioned you" in body and f'href="{dpath(num)}"' in body and DAVE in body
    assert REPO in body and "<time" in body and "data-read" in body
    assert "data-read-all" in page

    _, page = carol.act(f"/notifications/{nid}/read", {"next": "/notifications"})
    assert re.search(rf'<li class="notification" data-id="{nid}"', page)
    # Someone else's notification is not found (and nothing changes).
    _, other = Browser(hub, ERIN).act(f"/notifications/{nid}/read")
    assert flashes(other) == ["No such notification"]

    _, page = carol.act("/notifications/read-all", {"next": "/notifications?unread=1"})
    assert flashes(page, "success") == ["All notifications marked as read."]
    assert "No unread notifications." in page and 'class="notification unread"' not in page
    r = Browser(hub).get("/notifications", follow_redirects=False)
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_held_first_posts_are_approved_from_the_page_and_the_queue(tmp_path_factory):
    """A server that holds new accounts' first posts for a moderator."""
    hub = start_hub(tmp_path_factory.mktemp("held-hub"), workers=1, env={"MODELHUB_HOLD_FIRST_POSTS": "1"})
    try:
        owner_t, newbie_t, other_t = hub.users("ho-owner", "ho-newbie", "ho-other")
        hub.api(owner_t).create_repo("ho-owner/m")
        num = hub.api(owner_t).create_discussion("ho-owner/m", "Welcome", description="say hi").num
        newbie, owner, other, anon = (Browser(hub, "ho-newbie"), Browser(hub, "ho-owner"), Browser(hub, "ho-other"),
                                      Browser(hub))
        base = f"/ho-owner/m/discussions/{num}"
        r, page = newbie.act(base + "/comment", {"comment": "my very first post"})
        assert flashes(page, "success") == ["Thanks! Your comment will appear once a moderator approves it."]
        cid = int(re.search(r"#c-(\d+)$", r.headers["Location"]).group(1))
        assert "Waiting for a moderator" in comment_block(page, cid)  # its author sees it, marked
        assert "my very first post" not in anon.get(base).text
        assert other.post(f"{base}/comments/{cid}/approve").status_code == 403

        block = comment_block(owner.get(base).text, cid)
        assert "data-approve" in block and "Waiting for a moderator" in block
        queue = owner.get("/moderation").text
        assert 'data-kind="held"' in queue and f"{base}/comments/{cid}/approve" in queue
        r, page = owner.act(f"{base}/comments/{cid}/approve", {"next": "/moderation"})
        assert r.headers["Location"] == "/moderation"
        assert flashes(page, "success") == ["Post approved and published."] and 'data-kind="held"' not in page
        assert "my very first post" in anon.get(base).text
        assert "Waiting for a moderator" not in comment_block(anon.get(base).text, cid)
    finally:
        hub.stop()


# ---- one real browser -------------------------------------------------------------------------------------

def test_browser_open_comment_and_owner_closes(hub, site, new_page):
    from playwright.sync_api import expect

    page = new_page(viewport={"width": 390, "height": 844})

    def sign_in(user: str) -> None:
        page.goto(hub.url + "/login")
        page.fill("#username", user)
        page.fill("#password", f"pw-{user}-12345")
        page.click("form button[type=submit].primary")
        expect(page.locator(".menu summary")).to_have_text(user)

    sign_in(ERIN)
    page.goto(f"{hub.url}/{REPO}")
    page.click(".tabs >> text=Community")
    page.click("[data-new-discussion]")
    page.fill("#title", "Browser made this")
    page.fill("#description", "Opened from a **real** browser")
    page.click("form.new-discussion button[type=submit]")
    expect(page.locator(".discussion-title [data-title]")).to_have_text("Browser made this")
    expect(page.locator(".comment-body strong").first).to_have_text("real")
    url = page.url

    page.fill("#comment", f"Rendered _nicely_ for @{OWNER}")
    expect(page.locator("[data-close]")).to_have_text("Comment and close")  # the label follows the text
    page.click("[data-comment-form] button.primary")
    expect(page.locator(".comment-body em").last).to_have_text("nicely")
    expect(page.locator(f'.comment-body a.mention[href="/{OWNER}"]').last).to_be_visible()

    page.click(".menu summary")
    page.click("text=Sign out")
    sign_in(OWNER)
    page.goto(url)
    page.click("[data-close]")
    expect(page.locator(".flash.success")).to_have_text("Closed.")
    expect(page.locator(".discussion-meta .status-closed")).to_be_visible()
    expect(page.locator("[data-reopen]")).to_be_visible()
