"""Discussions through the real HF client: numbering, listing filters and pagination, the events of
a discussion, edited and hidden comments, reactions, rendering of comments, privacy, search,
notifications."""

from __future__ import annotations

import itertools
import re
import time
import uuid

import pytest
from huggingface_hub.community import (DiscussionComment, DiscussionStatusChange, DiscussionTitleChange,
                                       DiscussionWithDetails)
from huggingface_hub.errors import HfHubHTTPError

# Shared users (each costs ~0.5 s to create); the tests spread their comments over them so that
# none posts more than the session server's 10 comments a minute, and read inboxes per repository.
ROLES = ("owner", "bob", "carol", "dave", "eve", "frank")


def uname(role: str) -> str:
    return f"cdi-{role}"


@pytest.fixture(scope="module")
def tok(hub):
    names = [uname(r) for r in ROLES]
    return dict(zip(names, hub.users(*names)))


class People:
    """The users: .owner/.bob/... are HfApi clients, .name[role] their names, .anon anonymous."""

    def __init__(self, hub, tok) -> None:
        self.hub, self.tok = hub, tok
        self.name = {r: uname(r) for r in ROLES}
        for r in ROLES:
            setattr(self, r, hub.api(tok[uname(r)]))
        self.anon = hub.api(None)

    def token(self, role: str) -> str:
        return self.tok[self.name[role]]

    def repo(self, name: str) -> str:
        rid = f"{self.name['owner']}/{name}"
        self.owner.create_repo(rid)
        return rid


def refused(call, status: int) -> HfHubHTTPError:
    with pytest.raises(HfHubHTTPError) as exc:
        call()
    assert exc.value.response.status_code == status, exc.value.response.text
    return exc.value


def raw_details(hub, rid: str, num: int, token: str | None = None) -> dict:
    r = hub.get(f"/api/models/{rid}/discussions/{num}", token)
    assert r.status_code == 200, r.text
    return r.json()


def test_numbering_is_shared_by_discussions_and_pull_requests(hub, tok):
    p = People(hub, tok)
    rid, other = p.repo("numbers"), p.repo("numbers-other")

    d1 = p.bob.create_discussion(rid, "A question", description="How do I load this?")
    assert isinstance(d1, DiscussionWithDetails)
    assert (d1.num, d1.title, d1.status, d1.author, d1.repo_id, d1.repo_type, d1.is_pull_request) == (
        1, "A question", "open", p.name["bob"], rid, "model", False)
    assert d1.target_branch is None and d1.conflicting_files is None and d1.merge_commit_oid is None
    assert d1.git_reference is None
    assert [(type(e), e.content, e.author) for e in d1.events] == [
        (DiscussionComment, "How do I load this?", p.name["bob"])]

    p2 = p.carol.create_pull_request(rid, "An empty pull request", description="more to come")
    assert (p2.num, p2.is_pull_request, p2.status, p2.author) == (2, True, "open", p.name["carol"])
    assert p2.target_branch == "refs/heads/main" and p2.conflicting_files == [] and p2.merge_commit_oid is None
    assert p2.git_reference == "refs/pr/2"
    main = {b.name: b.target_commit for b in p.owner.list_repo_refs(rid).branches}["main"]
    prs = {r.ref: r.target_commit for r in p.owner.list_repo_refs(rid, include_pull_requests=True).pull_requests}
    assert prs == {"refs/pr/2": main}

    p3 = p.bob.upload_file(path_or_fileobj=b"hi\n", path_in_repo="hi.txt", repo_id=rid, create_pr=True)
    assert p3.pr_num == 3
    d4 = p.owner.create_discussion(rid, "Announcement")
    assert d4.num == 4 and d4.events[0].content.startswith("Discussion opened with the")

    # Numbers are per repository.
    assert p.carol.create_discussion(other, "Elsewhere", description="first here").num == 1

    listed = list(p.anon.get_repo_discussions(rid))
    assert [(d.num, d.is_pull_request, d.author) for d in listed] == [
        (4, False, p.name["owner"]), (3, True, p.name["bob"]), (2, True, p.name["carol"]), (1, False, p.name["bob"])]
    assert [d.num for d in p.anon.get_repo_discussions(other)] == [1]
    # Unknown numbers are 404.
    refused(lambda: p.anon.get_discussion_details(rid, 5), 404)


def test_listing_filters(hub, tok):
    p = People(hub, tok)
    rid = p.repo("filters")
    bob, carol = p.name["dave"], p.name["eve"]
    d1 = p.dave.create_discussion(rid, "dave's open discussion", description="x").num
    d2 = p.eve.create_discussion(rid, "eve's closed discussion", description="x").num
    p.eve.change_discussion_status(rid, d2, "closed")
    p3 = p.eve.create_pull_request(rid, "eve's open pull request", description="x").num
    p4 = p.dave.create_pull_request(rid, "dave's closed pull request", description="x").num
    p.dave.change_discussion_status(rid, p4, "closed")
    assert (d1, d2, p3, p4) == (1, 2, 3, 4)

    def nums(**kw) -> list[int]:
        return [d.num for d in p.anon.get_repo_discussions(rid, **kw)]

    assert nums() == [4, 3, 2, 1]
    assert nums(discussion_type="all", discussion_status="all") == [4, 3, 2, 1]
    assert nums(discussion_type="discussion") == [2, 1]
    assert nums(discussion_type="pull_request") == [4, 3]
    assert nums(discussion_status="open") == [3, 1]
    assert nums(discussion_status="closed") == [4, 2]
    assert nums(author=carol) == [3, 2]
    assert nums(author=bob, discussion_type="pull_request", discussion_status="closed") == [4]
    assert nums(author=carol, discussion_type="discussion", discussion_status="open") == []
    assert nums(author="cdi-nobody-at-all") == []
    statuses = {d.num: (d.status, d.is_pull_request, d.author) for d in p.anon.get_repo_discussions(rid)}
    assert statuses == {1: ("open", False, bob), 2: ("closed", False, carol), 3: ("open", True, carol),
                        4: ("closed", True, bob)}


def test_listing_pagination_across_pages(hub, tok):
    """55 discussions (pages of 50): the client gets them all, once each, and stops."""
    p = People(hub, tok)
    rid = p.repo("pages")
    owner, helper = p.name["owner"], p.name["bob"]
    helper_nums = {7, 30, 51}
    for i in range(1, 56):
        who = "bob" if i in helper_nums else "owner"
        # Raw POSTs without a description: fast, and not comments (so no post limit applies).
        r = hub.request("POST", f"/api/models/{rid}/discussions", p.token(who), json={"title": f"page item {i}"})
        assert r.status_code == 200 and r.json()["num"] == i, r.text

    everything = list(itertools.islice(p.anon.get_repo_discussions(rid), 500))
    assert [d.num for d in everything] == list(range(55, 0, -1))
    assert all(d.title == f"page item {d.num}" for d in everything)
    assert [d.num for d in itertools.islice(p.anon.get_repo_discussions(rid, author=helper), 500)] == [51, 30, 7]
    mine = [d.num for d in itertools.islice(p.anon.get_repo_discussions(rid, author=owner), 500)]
    assert mine == [n for n in range(55, 0, -1) if n not in helper_nums]
    assert len(list(itertools.islice(p.anon.get_repo_discussions(rid, discussion_status="open",
                                                                 discussion_type="discussion"), 500))) == 55

    pages = [hub.get(f"/api/models/{rid}/discussions?p={i}").json() for i in range(3)]
    assert [(len(pg["discussions"]), pg["count"], pg["start"]) for pg in pages[:2]] == [(50, 55, 0), (5, 55, 50)]
    # Past the end: empty, and start + 0 >= count, so a client loop ends.
    assert pages[2]["discussions"] == [] and pages[2]["start"] >= pages[2]["count"] == 55
    owner_pages = [hub.get(f"/api/models/{rid}/discussions?p={i}&author={owner}").json() for i in range(2)]
    assert [(len(pg["discussions"]), pg["count"], pg["start"]) for pg in owner_pages] == [(50, 52, 0), (2, 52, 50)]


def test_discussion_events_and_mutation_results(hub, tok):
    p = People(hub, tok)
    rid = p.repo("events")
    bob, owner = p.name["bob"], p.name["owner"]
    num = p.bob.create_discussion(rid, "Original title", description="Opening").num

    c = p.owner.comment_discussion(rid, num, "A **bold** answer")
    assert isinstance(c, DiscussionComment)
    assert (c.type, c.author, c.content, c.edited, c.hidden) == ("comment", owner, "A **bold** answer", False, False)
    assert "<strong>bold</strong>" in c.rendered
    assert re.fullmatch(r"[0-9a-f]+", c.id)

    t = p.bob.rename_discussion(rid, num, "Better title")
    assert isinstance(t, DiscussionTitleChange)
    assert (t.type, t.author, t.old_title, t.new_title) == ("title-change", bob, "Original title", "Better title")

    s = p.owner.change_discussion_status(rid, num, "closed", comment="Answered, closing")
    assert isinstance(s, DiscussionStatusChange) and (s.author, s.new_status) == (owner, "closed")
    s2 = p.bob.change_discussion_status(rid, num, "open")
    assert (s2.author, s2.new_status) == (bob, "open")
    # Opening what is open (or closing what is closed) changes nothing, as on the Hub: the answer is
    # the event that gave it that status.
    assert p.bob.change_discussion_status(rid, num, "open").id == s2.id

    d = p.anon.get_discussion_details(rid, num)
    assert d.title == "Better title" and d.status == "open"
    summary = []
    for e in d.events:
        if isinstance(e, DiscussionComment):
            summary.append(("comment", e.author, e.content))
        elif isinstance(e, DiscussionTitleChange):
            summary.append(("title-change", e.author, (e.old_title, e.new_title)))
        elif isinstance(e, DiscussionStatusChange):
            summary.append(("status-change", e.author, e.new_status))
        else:
            summary.append((e.type, e.author, None))
    assert summary == [
        ("comment", bob, "Opening"),
        ("comment", owner, "A **bold** answer"),
        ("title-change", bob, ("Original title", "Better title")),
        ("comment", owner, "Answered, closing"),
        ("status-change", owner, "closed"),
        ("status-change", bob, "open"),
    ]
    assert [e.id for e in d.events] == sorted({e.id for e in d.events}, key=lambda x: int(x, 16))
    assert d.events[1].id == c.id
    listed = hub.get(f"/api/models/{rid}/discussions").json()["discussions"]
    assert [(x["num"], x["numComments"]) for x in listed] == [(num, 3)]


def test_edited_comment_keeps_its_history(hub, tok):
    p = People(hub, tok)
    rid = p.repo("edits")
    num = p.owner.create_discussion(rid, "Edits", description="start").num
    cid = p.bob.comment_discussion(rid, num, "version one").id

    e1 = p.bob.edit_discussion_comment(rid, num, cid, "version two")
    assert (e1.id, e1.content, e1.edited) == (cid, "version two", True)
    e2 = p.bob.edit_discussion_comment(rid, num, cid, "version three")
    assert (e2.content, e2.edited, e2.number_of_edits) == ("version three", True, 2)

    ev = [e for e in raw_details(hub, rid, num)["events"] if e["id"] == cid][0]
    assert ev["data"]["edited"] is True
    assert ev["data"]["latest"]["raw"] == "version three"
    assert [h["raw"] for h in ev["data"]["history"]] == ["version one", "version two"]
    assert ev["data"]["numEdits"] == 2
    client_view = [e for e in p.anon.get_discussion_details(rid, num).events if e.id == cid][0]
    assert [h["raw"] for h in client_view.edit_history] == ["version one", "version two"]

    # Someone else (even the repository's owner) cannot rewrite it.
    before = raw_details(hub, rid, num)
    refused(lambda: p.carol.edit_discussion_comment(rid, num, cid, "carol was here"), 403)
    refused(lambda: p.owner.edit_discussion_comment(rid, num, cid, "the owner was here"), 403)
    assert raw_details(hub, rid, num) == before


def test_hidden_comment_shows_a_placeholder(hub, tok):
    p = People(hub, tok)
    rid = p.repo("hiding")
    num = p.owner.create_discussion(rid, "Hiding", description="start").num
    cid = p.bob.comment_discussion(rid, num, "something rude").id
    p.bob.edit_discussion_comment(rid, num, cid, "something ruder")
    keep = p.carol.comment_discussion(rid, num, "a fine comment").id

    with pytest.warns(UserWarning, match="Hidden comments"):
        hidden = p.owner.hide_discussion_comment(rid, num, cid)
    assert hidden.id == cid and hidden.hidden is True

    for token in (None, p.token("bob"), p.token("carol")):  # anyone but a moderator
        events = {e["id"]: e for e in raw_details(hub, rid, num, token)["events"]}
        data = events[cid]["data"]
        assert data["hidden"] is True
        assert data["latest"]["raw"] == ""
        assert "hidden" in data["latest"]["html"] and "rude" not in data["latest"]["html"]
        assert data["history"] == []  # earlier texts do not leak either
        assert events[keep]["data"]["hidden"] is False and events[keep]["data"]["latest"]["raw"] == "a fine comment"
    c = [e for e in p.anon.get_discussion_details(rid, num).events if e.id == cid][0]
    assert (c.hidden, c.content) == (True, "")

    # A hidden comment cannot be edited back into view.
    refused(lambda: p.bob.edit_discussion_comment(rid, num, cid, "sorry"), 403)
    assert [e for e in raw_details(hub, rid, num)["events"] if e["id"] == cid][0]["data"]["latest"]["raw"] == ""

    # Authors may hide their own comments, but only moderators unhide.
    with pytest.warns(UserWarning, match="Hidden comments"):
        assert p.carol.hide_discussion_comment(rid, num, keep).hidden is True
    unhide = f"/api/models/{rid}/discussions/{num}/comment/{keep}/unhide"
    assert hub.request("POST", unhide, p.token("carol")).status_code == 403
    assert {e["id"]: e for e in raw_details(hub, rid, num)["events"]}[keep]["data"]["latest"]["raw"] == ""
    r = hub.request("POST", unhide, p.token("owner"))
    assert r.status_code == 200 and r.json()["updatedComment"]["data"]["hidden"] is False
    back = {e["id"]: e for e in raw_details(hub, rid, num)["events"]}[keep]["data"]
    assert (back["hidden"], back["latest"]["raw"]) == (False, "a fine comment")


def test_reactions(hub, tok):
    p = People(hub, tok)
    rid = p.repo("reactions")
    num = p.eve.create_discussion(rid, "React", description="React to me").num
    cid = p.eve.get_discussion_details(rid, num).events[0].id
    react = f"/api/models/{rid}/discussions/{num}/comment/{cid}/react"

    def reactions() -> list:
        ev = {e["id"]: e for e in raw_details(hub, rid, num)["events"]}[cid]
        return sorted((r["reaction"], sorted(r["users"]), r["count"]) for r in ev["data"]["reactions"])

    for who in ("bob", "carol"):
        assert hub.request("POST", react, p.token(who), json={"reaction": "🚀"}).status_code == 200
    r = hub.request("POST", react, p.token("dave"), json={"reaction": "👍"})
    assert r.status_code == 200
    assert reactions() == [("👍", [p.name["dave"]], 1), ("🚀", sorted([p.name["bob"], p.name["carol"]]), 2)]
    # Reacting again takes the reaction back.
    assert hub.request("POST", react, p.token("bob"), json={"reaction": "🚀"}).status_code == 200
    assert reactions() == [("👍", [p.name["dave"]], 1), ("🚀", [p.name["carol"]], 1)]
    assert hub.request("POST", react, p.token("bob"), json={"reaction": "not an emoji"}).status_code == 400
    assert hub.request("POST", react, None, json={"reaction": "👍"}).status_code == 401
    assert reactions() == [("👍", [p.name["dave"]], 1), ("🚀", [p.name["carol"]], 1)]


def test_discussions_of_a_private_repository_are_private(hub, tok):
    p = People(hub, tok)
    rid = f"{p.name['owner']}/private-talk"
    p.owner.create_repo(rid, private=True)
    num = p.owner.create_discussion(rid, "Internal", description="for our eyes only").num
    assert [d.num for d in p.owner.get_repo_discussions(rid)] == [num]
    refused(lambda: list(p.anon.get_repo_discussions(rid)), 401)
    for who in (p.bob, p.carol):
        refused(lambda: list(who.get_repo_discussions(rid)), 404)
        refused(lambda: who.get_discussion_details(rid, num), 404)
        refused(lambda: who.create_discussion(rid, "Let me in", description="please"), 404)
        refused(lambda: who.comment_discussion(rid, num, "hello?"), 404)
    assert [d.num for d in p.owner.get_repo_discussions(rid)] == [num]


def test_comment_html_is_sanitized_and_mentions_are_links(hub, tok):
    p = People(hub, tok)
    rid = p.repo("rendering")
    carol = p.name["carol"]
    num = p.owner.create_discussion(rid, "Rendering", description="start").num
    text = (f"Hello @{carol}, look: <script>alert('x')</script> <img src=\"x.png\" onerror=\"alert(2)\"> "
            "[click](javascript:alert(3)) <a href=\"#\" onclick=\"alert(4)\">a</a> and **bold**")
    cid = p.bob.comment_discussion(rid, num, text).id

    ev = [e for e in raw_details(hub, rid, num)["events"] if e["id"] == cid][0]
    raw, html = ev["data"]["latest"]["raw"], ev["data"]["latest"]["html"]
    assert raw == text  # the author's text is kept as written
    lowered = html.lower()
    for bad in ("<script", "onerror", "onclick", "javascript:", "alert('x')"):
        assert bad not in lowered, (bad, html)
    assert "<strong>bold</strong>" in html
    assert re.search(rf'<a [^>]*href="/{re.escape(carol)}"[^>]*>@{re.escape(carol)}</a>', html), html
    c = [e for e in p.anon.get_discussion_details(rid, num).events if e.id == cid][0]
    assert c.rendered == html


def _search(hub, rid: str, word: str, token: str | None = None) -> list[int]:
    r = hub.get(f"/api/models/{rid}/discussions", token, params={"search": word})
    assert r.status_code == 200, r.text
    assert all(d["repo"]["name"] == rid for d in r.json()["discussions"])
    return [d["num"] for d in r.json()["discussions"]]


def _wait_for(predicate, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_discussion_search_by_a_word_in_a_comment(hub, tok):
    p = People(hub, tok)
    here, there = p.repo("search-here"), p.repo("search-there")
    word = "quasar" + uuid.uuid4().hex[:8]
    hidden_word = "nebula" + uuid.uuid4().hex[:8]
    later_word = "pulsar" + uuid.uuid4().hex[:8]

    p.bob.create_discussion(here, "Unrelated", description="nothing to see")
    num = p.bob.create_discussion(here, "Loading question", description="how do I load it").num
    assert num == 2
    p.carol.comment_discussion(here, num, f"Try the {word} option")
    assert p.carol.create_discussion(there, "Same word elsewhere", description=f"{word} here too").num == 1

    assert _wait_for(lambda: _search(hub, here, word) == [2], f"{word} in {here}")
    assert _wait_for(lambda: _search(hub, there, word) == [1], f"{word} in {there}")
    assert _search(hub, here, word) == [2]  # not #1 of the other repository
    assert _search(hub, here, "Loading") == [2]  # titles are searched too
    assert _search(hub, here, "zzz" + uuid.uuid4().hex) == []

    # Hidden comments drop out of the index: hide one, then post another and wait for that one.
    cid = p.dave.comment_discussion(here, num, f"spam {hidden_word}").id
    assert _wait_for(lambda: _search(hub, here, hidden_word) == [2], f"{hidden_word} before hiding")
    with pytest.warns(UserWarning, match="Hidden comments"):
        p.owner.hide_discussion_comment(here, num, cid)
    p.carol.comment_discussion(here, num, f"and also {later_word}")
    assert _wait_for(lambda: _search(hub, here, later_word) == [2], f"{later_word}")
    assert _search(hub, here, hidden_word) == []


def _inbox(hub, token: str, rid: str | None = None, unread: bool = False) -> list[dict]:
    """The caller's notifications (newest first), only those of `rid` if given."""
    r = hub.get("/api/notifications", token, params={"limit": 200, **({"unread": 1} if unread else {})})
    assert r.status_code == 200, r.text
    return [n for n in r.json() if rid is None or n["repo"] == rid]


def test_notifications(hub, tok):
    p = People(hub, tok)
    rid = p.repo("inbox")
    owner, bob, carol, dave = (p.name[r] for r in ("owner", "bob", "carol", "dave"))
    num = p.bob.create_discussion(rid, "Inbox test", description="Opening").num
    p.carol.comment_discussion(rid, num, "First reply")
    p.carol.comment_discussion(rid, num, f"What do you think, @{dave}?")
    p.owner.change_discussion_status(rid, num, "closed")
    pr = p.bob.upload_file(path_or_fileobj=b"merge me\n", path_in_repo="merge.txt", repo_id=rid, create_pr=True)
    p.owner.merge_pull_request(rid, pr.pr_num)

    def kinds(role: str) -> list[tuple]:
        return [(n["kind"], n["num"], n["actor"]) for n in _inbox(hub, p.token(role), rid)]

    assert kinds("bob") == [("merged", pr.pr_num, owner), ("status", num, owner), ("comment", num, carol),
                            ("comment", num, carol)]
    assert kinds("carol") == [("status", num, owner)]
    assert kinds("dave") == [("status", num, owner), ("mention", num, carol)]  # no "comment" for the mention
    assert kinds("owner") == [("new", pr.pr_num, bob), ("comment", num, carol), ("comment", num, carol),
                              ("new", num, bob)]
    assert kinds("eve") == []
    first = _inbox(hub, p.token("bob"), rid)
    assert all(n["repoType"] == "model" and n["read"] is False and n["title"] for n in first)
    assert [n["isPullRequest"] for n in first] == [True, False, False, False]

    # Mark one read.
    one = first[1]["id"]
    r = hub.request("POST", f"/api/notifications/{one}/read", p.token("bob"))
    assert r.status_code == 200 and r.json() == {"updated": 1}
    assert [n["id"] for n in _inbox(hub, p.token("bob"), rid, unread=True)] == [n["id"] for n in first
                                                                                if n["id"] != one]
    assert {n["id"]: n["read"] for n in _inbox(hub, p.token("bob"), rid)}[one] is True
    # Someone else's notification is not yours to mark.
    assert hub.request("POST", f"/api/notifications/{first[0]['id']}/read", p.token("carol")).status_code == 404
    assert _inbox(hub, p.token("bob"), rid, unread=True)[0]["id"] == first[0]["id"]
    # Read all (every repository's).
    unread = len(_inbox(hub, p.token("bob"), unread=True))
    assert unread >= 3
    r = hub.request("POST", "/api/notifications/read-all", p.token("bob"))
    assert r.status_code == 200 and r.json() == {"updated": unread}
    assert _inbox(hub, p.token("bob"), unread=True) == []
    assert hub.request("POST", "/api/notifications/read-all", p.token("bob")).json() == {"updated": 0}
    # The others' inboxes are untouched; anonymous callers have none.
    assert [n["read"] for n in _inbox(hub, p.token("dave"), rid)] == [False, False]
    assert hub.get("/api/notifications").status_code == 401


def test_mention_at_the_end_of_a_sentence_notifies(hub, tok):
    """'Thanks @dave.' renders @dave as a link; dave must hear of it too."""
    p = People(hub, tok)
    rid = p.repo("mentions")
    dave = p.name["dave"]
    num = p.eve.create_discussion(rid, "Mentions", description="Opening").num
    cid = p.frank.comment_discussion(rid, num, f"Thanks @{dave}.").id
    html = [e for e in raw_details(hub, rid, num)["events"] if e["id"] == cid][0]["data"]["latest"]["html"]
    assert f'href="/{dave}"' in html  # rendered as a mention of dave
    assert [(n["kind"], n["num"]) for n in _inbox(hub, p.token("dave"), rid)] == [("mention", num)]
