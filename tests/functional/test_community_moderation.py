"""Moderation and anti-abuse: locking, pinning, reports and the moderation queue, the audit log,
suspended accounts, size limits, the post rate limit and held first posts.

Most tests use the session server; the rate limit and held first posts need a server of their own
(MODELHUB_POSTS_PER_MINUTE=3, MODELHUB_HOLD_FIRST_POSTS=1).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid

import pytest
from huggingface_hub import hf_hub_download
from huggingface_hub.errors import HfHubHTTPError

from tests.support.live import start_hub

OWNER, MOD, ADMIN, BOB, CAROL, SUS = "cmo-owner", "cmo-mod", "cmo-admin", "cmo-bob", "cmo-carol", "cmo-sus"

ACCOUNTS_SCRIPT = """
import json, sys
from hub import create_app
from hub.wiring import services_of
app = create_app({'SEARCH_WORKER': False})
reg = services_of(app).registry
spec = json.loads(sys.argv[1])
out = {}
for name in spec['users']:
    reg.accounts.create_user(name, f'pw-{name}-12345', is_admin=name in spec['admins'])
    if name in spec['moderators']:
        reg.accounts.set_moderator(name)
    out[name] = reg.accounts.create_token(name, role='write')
reg.close()
print(json.dumps(out))
"""


def make_accounts(hub, users, admins=(), moderators=()) -> dict[str, str]:
    """Users with write tokens, some of them site admins or site moderators (there is no CLI for
    moderators yet), created in one subprocess as LiveHub.users() does; returns name -> token."""
    spec = {"users": list(users), "admins": list(admins), "moderators": list(moderators)}
    done = subprocess.run([sys.executable, "-c", ACCOUNTS_SCRIPT, json.dumps(spec)], env=hub.env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    tokens = json.loads(done.stdout.strip().splitlines()[-1])
    hub.tokens.update({f"{n}:write": t for n, t in tokens.items()})
    return tokens


@pytest.fixture(scope="module")
def tok(hub):
    return make_accounts(hub, [OWNER, MOD, ADMIN, BOB, CAROL, SUS], admins=[ADMIN], moderators=[MOD])


def refused(call, status: int) -> HfHubHTTPError:
    with pytest.raises(HfHubHTTPError) as exc:
        call()
    assert exc.value.response.status_code == status, exc.value.response.text
    return exc.value


def details(hub, rid: str, num: int, token: str | None = None) -> dict:
    r = hub.get(f"/api/models/{rid}/discussions/{num}", token)
    assert r.status_code == 200, r.text
    return r.json()


def post(hub, path: str, token: str | None, body: dict | None = None):
    return hub.request("POST", path, token, json=body if body is not None else {})


def new_repo(hub, tok, name: str, owner: str = OWNER) -> str:
    rid = f"{owner}/{name}"
    hub.api(tok[owner]).create_repo(rid)
    return rid


# ---- lock, pin ----------------------------------------------------------------------------------
def test_locked_discussion_takes_comments_from_moderators_only(hub, tok):
    owner, bob, mod = (hub.api(tok[n]) for n in (OWNER, BOB, MOD))
    rid = new_repo(hub, tok, "locking")
    num = bob.create_discussion(rid, "Heated", description="Opening").num
    own = bob.comment_discussion(rid, num, "before the lock").id
    base = f"/api/models/{rid}/discussions/{num}"

    r = post(hub, f"{base}/lock", tok[BOB], {"reason": "not yours to lock"})
    assert r.status_code == 403
    r = post(hub, f"{base}/lock", tok[OWNER], {"reason": "cooling down"})
    assert r.status_code == 200 and r.json()["locked"] is True and r.json()["num"] == num
    d = details(hub, rid, num)
    assert d["locked"] is True and d["events"][-1]["type"] == "lock"

    before = details(hub, rid, num)
    err = refused(lambda: bob.comment_discussion(rid, num, "let me in"), 403)
    assert "locked" in err.response.json()["error"]
    refused(lambda: bob.edit_discussion_comment(rid, num, own, "edited while locked"), 403)
    refused(lambda: bob.rename_discussion(rid, num, "renamed while locked"), 403)
    refused(lambda: bob.change_discussion_status(rid, num, "closed"), 403)
    assert details(hub, rid, num) == before

    assert owner.comment_discussion(rid, num, "the owner may speak").author == OWNER
    assert mod.comment_discussion(rid, num, "so may a site moderator").author == MOD
    r = post(hub, f"{base}/unlock", tok[MOD], {"reason": "calm again"})
    assert r.status_code == 200 and r.json()["locked"] is False
    assert bob.comment_discussion(rid, num, "after the unlock").content == "after the unlock"
    assert [e["type"] for e in details(hub, rid, num)["events"]][-4:] == ["comment", "comment", "unlock", "comment"]


def test_pinned_discussion_is_listed_first(hub, tok):
    owner = hub.api(tok[OWNER])
    rid = new_repo(hub, tok, "pinning")
    for i in range(3):
        owner.create_discussion(rid, f"Topic {i + 1}", description="x")
    anon = hub.api(None)
    assert [d.num for d in anon.get_repo_discussions(rid)] == [3, 2, 1]

    assert post(hub, f"/api/models/{rid}/discussions/1/pin", tok[BOB]).status_code == 403
    r = post(hub, f"/api/models/{rid}/discussions/1/pin", tok[OWNER], {"reason": "FAQ"})
    assert r.status_code == 200 and r.json()["pinned"] is True
    assert [d.num for d in anon.get_repo_discussions(rid)] == [1, 3, 2]
    listed = hub.get(f"/api/models/{rid}/discussions").json()["discussions"]
    assert [(d["num"], d["pinned"]) for d in listed] == [(1, True), (3, False), (2, False)]
    # Pinned first within filters too.
    assert [d.num for d in anon.get_repo_discussions(rid, discussion_status="open")] == [1, 3, 2]

    assert post(hub, f"/api/models/{rid}/discussions/1/unpin", tok[OWNER]).status_code == 200
    assert [d.num for d in anon.get_repo_discussions(rid)] == [3, 2, 1]


# ---- reports and the queue ----------------------------------------------------------------------
def _queue(hub, token: str | None, status: str = "open"):
    return hub.get("/api/moderation/queue", token, params={"status": status})


def test_reports_reach_the_repository_moderators_and_leave_when_resolved(hub, tok):
    bob, carol = hub.api(tok[BOB]), hub.api(tok[CAROL])
    rid = new_repo(hub, tok, "reports")
    num = bob.create_discussion(rid, "Reported", description="Opening").num
    cid = carol.comment_discussion(rid, num, "something offensive").id

    assert post(hub, f"/api/models/{rid}/discussions/{num}/report", None, {"reason": "x"}).status_code == 401
    assert post(hub, f"/api/models/{rid}/discussions/{num}/report", tok[BOB], {"commentId": cid}).status_code == 400
    other = bob.create_discussion(rid, "Elsewhere", description="another thread").num
    assert post(hub, f"/api/models/{rid}/discussions/{other}/report", tok[BOB],
                {"commentId": cid, "reason": "wrong thread"}).status_code == 404
    r = post(hub, f"/api/models/{rid}/discussions/{num}/report", tok[BOB], {"commentId": cid, "reason": "offensive"})
    assert r.status_code == 200, r.text
    report = r.json()["reportId"]

    def mine(token, status="open"):
        resp = _queue(hub, token, status)
        assert resp.status_code == 200, resp.text
        return [i for i in resp.json() if i["kind"] == "report" and i["id"] == report]

    for who in (OWNER, MOD, ADMIN):
        items = mine(tok[who])
        assert len(items) == 1, who
        item = items[0]
        assert (item["repo"], item["num"], item["eventId"], item["reason"], item["status"], item["reporter"]) == (
            rid, num, cid, "offensive", "open", BOB)
        assert item["title"] == "Reported" and item["createdAt"]
    for who in (BOB, CAROL):  # the reporter and the reported are not moderators here
        assert mine(tok[who]) == [], who
    assert _queue(hub, None).status_code == 401

    # Only moderators resolve; the report then leaves the open queue.
    assert post(hub, f"/api/moderation/reports/{report}/resolve", tok[BOB], {"resolution": "mine"}).status_code == 403
    assert post(hub, f"/api/moderation/reports/{report}/resolve", tok[CAROL], {}).status_code == 403
    assert len(mine(tok[OWNER])) == 1
    r = post(hub, f"/api/moderation/reports/{report}/resolve", tok[OWNER], {"resolution": "comment hidden"})
    assert r.status_code == 200, r.text
    assert mine(tok[OWNER]) == [] and mine(tok[MOD]) == []
    resolved = mine(tok[MOD], "resolved")
    assert len(resolved) == 1 and resolved[0]["status"] == "resolved"
    assert resolved[0]["resolution"] == "comment hidden"
    assert mine(tok[BOB], "resolved") == []
    # Once is enough.
    assert post(hub, f"/api/moderation/reports/{report}/resolve", tok[OWNER], {}).status_code == 400
    assert post(hub, "/api/moderation/reports/999999999/resolve", tok[OWNER], {}).status_code == 404


def test_dismissed_report(hub, tok):
    bob, carol = hub.api(tok[BOB]), hub.api(tok[CAROL])
    rid = new_repo(hub, tok, "dismissals")
    num = carol.create_discussion(rid, "A fine discussion", description="Nothing wrong here").num
    r = post(hub, f"/api/models/{rid}/discussions/{num}/report", tok[BOB], {"reason": "I just don't like it"})
    report = r.json()["reportId"]
    assert post(hub, f"/api/moderation/reports/{report}/resolve", tok[MOD],
                {"dismiss": True, "resolution": "no violation"}).status_code == 200
    assert report not in [i["id"] for i in _queue(hub, tok[OWNER]).json() if i["kind"] == "report"]
    dismissed = [i for i in _queue(hub, tok[OWNER], "dismissed").json() if i["id"] == report]
    assert [(i["status"], i["resolution"]) for i in dismissed] == [("dismissed", "no violation")]
    assert bob.get_discussion_details(rid, num).status == "open"


# ---- the audit log ------------------------------------------------------------------------------
def _log(hub, token: str | None, **params):
    return hub.get("/api/moderation/log", token, params=params)


def test_audit_log_records_every_moderation_action(hub, tok):
    owner, bob, mod = hub.api(tok[OWNER]), hub.api(tok[BOB]), hub.api(tok[MOD])
    rid = new_repo(hub, tok, "audited")
    num = bob.create_discussion(rid, "Audited", description="Opening").num
    cid = bob.comment_discussion(rid, num, "borderline").id
    base = f"/api/models/{rid}/discussions/{num}"
    tag = uuid.uuid4().hex[:8]
    assert post(hub, f"{base}/lock", tok[OWNER], {"reason": f"lock {tag}"}).status_code == 200
    assert post(hub, f"{base}/unlock", tok[OWNER], {"reason": f"unlock {tag}"}).status_code == 200
    assert post(hub, f"{base}/pin", tok[OWNER], {"reason": f"pin {tag}"}).status_code == 200
    assert post(hub, f"{base}/unpin", tok[MOD], {"reason": f"unpin {tag}"}).status_code == 200
    with pytest.warns(UserWarning, match="Hidden comments"):
        mod.hide_discussion_comment(rid, num, cid)
    assert post(hub, f"{base}/comment/{cid}/unhide", tok[OWNER], {"reason": f"unhide {tag}"}).status_code == 200
    report = post(hub, f"{base}/report", tok[BOB], {"reason": "please look"}).json()["reportId"]
    assert post(hub, f"/api/moderation/reports/{report}/resolve", tok[OWNER],
                {"resolution": f"resolve {tag}"}).status_code == 200
    # Nothing here is a moderation action: no log rows for them.
    owner.comment_discussion(rid, num, "just talking")
    owner.rename_discussion(rid, num, "Audited (renamed)")

    expected = [  # (actor, action, target type, reason), oldest first
        (OWNER, "lock", "discussion", f"lock {tag}"), (OWNER, "unlock", "discussion", f"unlock {tag}"),
        (OWNER, "pin", "discussion", f"pin {tag}"), (MOD, "unpin", "discussion", f"unpin {tag}"),
        (MOD, "hide_comment", "comment", None), (OWNER, "unhide_comment", "comment", f"unhide {tag}"),
        (OWNER, "resolve_report", "report", f"resolve {tag}"),
    ]

    def rows(token, **params) -> list[tuple]:
        r = _log(hub, token, **params)
        assert r.status_code == 200, r.text
        return [(x["actor"], x["action"], x["targetType"], x["reason"]) for x in reversed(r.json())
                if x["repo"] == rid]

    # The repository's log, for its owner (newest first on the wire).
    assert rows(tok[OWNER], repo=rid) == expected
    for x in _log(hub, tok[OWNER], repo=rid).json():
        assert x["repo"] == rid and x["createdAt"] and isinstance(x["targetId"], int)
    # The site log, for site moderators and admins, filtered by actor and by action.
    assert rows(tok[MOD]) == expected
    assert rows(tok[ADMIN], actor=OWNER) == [e for e in expected if e[0] == OWNER]
    assert rows(tok[MOD], actor=MOD) == [e for e in expected if e[0] == MOD]
    by_action = _log(hub, tok[MOD], action="lock").json()
    assert by_action and {x["action"] for x in by_action} == {"lock"}
    assert rows(tok[MOD], action="lock") == [expected[0]]
    both = _log(hub, tok[MOD], actor=MOD, action="unpin").json()
    assert {(x["actor"], x["action"]) for x in both} == {(MOD, "unpin")}
    assert rows(tok[MOD], actor=OWNER, action="unpin") == []

    # Nobody else reads it.
    assert _log(hub, None).status_code == 401
    assert _log(hub, tok[BOB]).status_code == 403
    assert _log(hub, tok[BOB], repo=rid).status_code == 403
    assert _log(hub, tok[OWNER]).status_code == 403  # a repository owner is no site moderator


# ---- suspension ---------------------------------------------------------------------------------
def test_suspended_user_reads_but_cannot_write(hub, tok, hf_cache):
    sus, owner = hub.api(tok[SUS]), hub.api(tok[OWNER])
    rid = new_repo(hub, tok, "suspension")
    owner.upload_file(path_or_fileobj=b"public weights\n", path_in_repo="w.txt", repo_id=rid)
    num = owner.create_discussion(rid, "Open to all", description="Say something").num
    own_repo = f"{SUS}/own"
    sus.create_repo(own_repo)
    own_num = sus.create_discussion(rid, "Mine", description="my words").num

    reason = f"spam {uuid.uuid4().hex[:6]}"
    assert post(hub, f"/api/users/{SUS}/suspend", tok[BOB], {"reason": reason}).status_code == 403
    assert post(hub, f"/api/users/{SUS}/suspend", tok[MOD], {"reason": reason}).status_code == 403
    assert post(hub, f"/api/users/{SUS}/suspend", None, {"reason": reason}).status_code == 401
    assert post(hub, "/api/users/cmo-nobody-here/suspend", tok[ADMIN], {"reason": reason}).status_code == 404
    assert post(hub, f"/api/users/{ADMIN}/suspend", tok[ADMIN], {"reason": reason}).status_code == 400
    assert sus.comment_discussion(rid, num, "not suspended yet").author == SUS
    assert post(hub, f"/api/users/{SUS}/suspend", tok[ADMIN], {"reason": reason}).status_code == 200

    # Reading still works.
    assert sus.whoami()["name"] == SUS
    assert sus.model_info(rid).id == rid
    path = hf_hub_download(rid, "w.txt", endpoint=hub.url, token=tok[SUS], cache_dir=hf_cache)
    with open(path, "rb") as f:
        assert f.read() == b"public weights\n"
    assert [d.num for d in sus.get_repo_discussions(rid)] == [own_num, num]
    # Writing does not.
    before = details(hub, rid, num)
    refused(lambda: sus.comment_discussion(rid, num, "still here"), 403)
    refused(lambda: sus.create_discussion(rid, "New", description="x"), 403)
    refused(lambda: sus.rename_discussion(rid, own_num, "renamed"), 403)
    refused(lambda: sus.create_repo(f"{SUS}/another"), 403)
    refused(lambda: sus.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=own_repo), 403)
    refused(lambda: sus.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=rid, create_pr=True), 403)
    assert post(hub, f"/api/models/{rid}/discussions/{num}/report", tok[SUS], {"reason": "x"}).status_code == 403
    assert details(hub, rid, num) == before
    assert [d.num for d in owner.get_repo_discussions(rid)] == [own_num, num]
    assert sus.list_repo_files(own_repo) == [".gitattributes"]

    log = _log(hub, tok[ADMIN], action="suspend", actor=ADMIN).json()
    assert [(x["targetType"], x["reason"]) for x in log if x["reason"] == reason] == [("user", reason)]

    # Unsuspending restores everything.
    assert post(hub, f"/api/users/{SUS}/unsuspend", tok[MOD], {}).status_code == 403
    assert post(hub, f"/api/users/{SUS}/unsuspend", tok[ADMIN], {}).status_code == 200
    assert sus.comment_discussion(rid, num, "back again").content == "back again"
    sus.create_repo(f"{SUS}/another")
    sus.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=own_repo)
    assert sorted(sus.list_repo_files(own_repo)) == [".gitattributes", "x.txt"]
    assert [x["action"] for x in _log(hub, tok[ADMIN], actor=ADMIN).json()][:2] == ["unsuspend", "suspend"]


# ---- size limits --------------------------------------------------------------------------------
def test_size_limits(hub, tok):
    carol = hub.api(tok[CAROL])
    rid = new_repo(hub, tok, "limits")
    num = carol.create_discussion(rid, "t" * 200, description="a 200-character title is fine").num
    before = details(hub, rid, num)
    for text in ("", "   \n  ", "x" * 70_000):
        err = refused(lambda: carol.comment_discussion(rid, num, text), 400)
        assert "Comment" in err.response.json()["error"]
    err = refused(lambda: carol.rename_discussion(rid, num, "t" * 300), 400)
    assert "too long" in err.response.json()["error"]
    assert details(hub, rid, num) == before
    refused(lambda: carol.create_discussion(rid, "t" * 300, description="x"), 400)
    refused(lambda: carol.create_discussion(rid, "x", description="y" * 70_000), 400)
    refused(lambda: carol.create_discussion(rid, "   ", description="x"), 400)
    assert [d.num for d in carol.get_repo_discussions(rid)] == [num]
    # The largest comment allowed goes through.
    big = carol.comment_discussion(rid, num, "z" * 65_536)
    assert len(big.content) == 65_536


# ---- a strict server: 3 comments a minute, new accounts' first posts held ------------------------
RATER, MERGER, HOST, NEWBIE, FRESH, OTHER = ("cst-rater", "cst-merger", "cst-host", "cst-newbie", "cst-fresh",
                                             "cst-other")


@pytest.fixture(scope="module")
def strict(tmp_path_factory):
    h = start_hub(tmp_path_factory.mktemp("strict-hub"), workers=2,
                  env={"MODELHUB_POSTS_PER_MINUTE": "3", "MODELHUB_HOLD_FIRST_POSTS": "1"})
    try:
        h.users(RATER, MERGER, HOST, NEWBIE, FRESH, OTHER)
        yield h
    finally:
        h.stop()


def sapi(strict, name: str | None):
    return strict.api(strict.tokens[f"{name}:write"] if name else None)


def stok(strict, name: str) -> str:
    return strict.tokens[f"{name}:write"]


def test_fourth_comment_within_a_minute_is_refused(strict):
    rater, other = sapi(strict, RATER), sapi(strict, OTHER)
    rid = f"{RATER}/rated"
    rater.create_repo(rid)
    num = rater.create_discussion(rid, "Chatty", description="one").num  # the description is a post
    rater.comment_discussion(rid, num, "two")
    rater.comment_discussion(rid, num, "three")
    before = details(strict, rid, num)

    err = refused(lambda: rater.comment_discussion(rid, num, "four"), 429)
    retry = err.response.headers.get("Retry-After")
    assert retry is not None and retry.isdigit() and 1 <= int(retry) <= 61, retry
    message = err.response.json()["error"]
    assert "at most 3 comments per minute" in message and "Try again in" in message
    assert details(strict, rid, num) == before
    # Opening a discussion with a description is posting too, and nothing is left behind.
    refused(lambda: rater.create_discussion(rid, "Another", description="five"), 429)
    assert [d.num for d in rater.get_repo_discussions(rid)] == [num]
    # What is not a post still works, and the limit is per user.
    assert rater.rename_discussion(rid, num, "Chatty (renamed)").new_title == "Chatty (renamed)"
    assert other.comment_discussion(rid, num, "someone else").author == OTHER


def test_post_limit_on_a_pull_request_opened_by_commit(strict):
    """upload_file(create_pr=True) with a description posts it as the PR's first comment: over the
    limit it is refused like any post (429 with Retry-After), and no pull request is left behind."""
    rater = sapi(strict, RATER)
    rid = f"{RATER}/rated-pr"
    rater.create_repo(rid)
    # Make sure the limit is reached (the previous test may or may not have run).
    for i in range(4):
        try:
            rater.create_discussion(rid, f"fill {i}", description=f"fill {i}")
        except HfHubHTTPError as e:
            assert e.response.status_code == 429
            break
    else:
        pytest.fail("the post limit of 3 a minute never applied")
    refs_before = rater.list_repo_refs(rid, include_pull_requests=True)
    listed_before = [d.num for d in rater.get_repo_discussions(rid)]
    err = refused(lambda: rater.upload_file(path_or_fileobj=b"pr\n", path_in_repo="pr.txt", repo_id=rid,
                                            create_pr=True, commit_description="a description is a post"), 429)
    assert [d.num for d in rater.get_repo_discussions(rid)] == listed_before
    assert rater.list_repo_refs(rid, include_pull_requests=True).pull_requests == refs_before.pull_requests
    assert "at most 3 comments per minute" in err.response.json()["error"]
    retry = err.response.headers.get("Retry-After")
    assert retry is not None and retry.isdigit(), f"no Retry-After on this 429: {dict(err.response.headers)}"


def test_merge_with_a_comment_over_the_post_limit_is_all_or_nothing(strict):
    """A maintainer at the post limit merges with a comment: either the merge is refused (429) and
    main is untouched and the PR still open, or it is merged; never main merged with the PR open."""
    merger, other = sapi(strict, MERGER), sapi(strict, OTHER)
    rid = f"{MERGER}/merging"
    merger.create_repo(rid)
    head = merger.model_info(rid).sha
    pr = other.upload_file(path_or_fileobj=b"contribution\n", path_in_repo="contrib.txt", repo_id=rid, create_pr=True)
    num = merger.create_discussion(rid, "Talk", description="one").num
    merger.comment_discussion(rid, num, "two")
    merger.comment_discussion(rid, num, "three")

    try:
        merger.merge_pull_request(rid, pr.pr_num, comment="Thanks for this!")
        merged = True
    except HfHubHTTPError as e:
        assert e.response.status_code == 429, e.response.text
        merged = False
    d = merger.get_discussion_details(rid, pr.pr_num)
    on_main = "contrib.txt" in merger.list_repo_files(rid)
    if merged:
        assert d.status == "merged" and on_main
    else:
        assert merger.model_info(rid).sha == head and not on_main, (
            f"the merge was refused (429) yet main moved to {merger.model_info(rid).sha} and has contrib.txt; "
            f"the pull request says {d.status!r}")
        assert d.status == "open"


def _ids(strict, rid: str, num: int, who: str | None) -> dict[str, dict]:
    token = stok(strict, who) if who else None
    return {e["id"]: e for e in details(strict, rid, num, token)["events"]}


def test_first_post_of_a_new_account_is_held_until_approved(strict):
    host, newbie = sapi(strict, HOST), sapi(strict, NEWBIE)
    rid = f"{HOST}/welcoming"
    host.create_repo(rid)
    num = host.create_discussion(rid, "Welcome", description="Say hello").num  # a maintainer: not held
    cid = newbie.comment_discussion(rid, num, "Hello, my first post").id

    # Invisible to others, visible to its author and to the repository's owner.
    assert cid not in _ids(strict, rid, num, None)
    assert cid not in _ids(strict, rid, num, OTHER)
    for who in (NEWBIE, HOST):
        ev = _ids(strict, rid, num, who)[cid]
        assert ev["data"]["pendingReview"] is True and ev["data"]["latest"]["raw"] == "Hello, my first post", who
    assert cid not in [c.id for c in sapi(strict, None).get_discussion_details(rid, num).events]
    assert strict.get(f"/api/models/{rid}/discussions").json()["discussions"][0]["numComments"] == 1

    # In the queue of the repository's moderators, as "held".
    def held(who):
        r = _queue(strict, stok(strict, who))
        assert r.status_code == 200, r.text
        return [i for i in r.json() if i["kind"] == "held" and i["eventId"] == cid]

    items = held(HOST)
    assert len(items) == 1
    assert (items[0]["repo"], items[0]["num"], items[0]["reporter"], items[0]["status"]) == (rid, num, NEWBIE, "open")
    assert held(OTHER) == [] and held(NEWBIE) == []

    approve = f"/api/models/{rid}/discussions/{num}/comment/{cid}/approve"
    assert post(strict, approve, stok(strict, OTHER)).status_code == 403
    assert post(strict, approve, stok(strict, NEWBIE)).status_code == 403
    assert cid not in _ids(strict, rid, num, None)
    r = post(strict, approve, stok(strict, HOST))
    assert r.status_code == 200, r.text
    assert r.json()["updatedComment"]["data"]["pendingReview"] is False
    assert post(strict, approve, stok(strict, HOST)).status_code == 400  # nothing left to approve

    ev = _ids(strict, rid, num, None)[cid]
    assert ev["data"]["pendingReview"] is False and ev["data"]["latest"]["raw"] == "Hello, my first post"
    assert held(HOST) == []
    log = _log(strict, stok(strict, HOST), repo=rid).json()
    assert [(x["actor"], x["action"]) for x in log] == [(HOST, "approve_post")]
    # Approved once, the account's next posts are published at once.
    nxt = newbie.comment_discussion(rid, num, "And my second").id
    assert _ids(strict, rid, num, None)[nxt]["data"]["pendingReview"] is False


def _search(strict, rid: str, word: str) -> list[int]:
    r = strict.get(f"/api/models/{rid}/discussions", params={"search": word})
    assert r.status_code == 200, r.text
    return [d["num"] for d in r.json()["discussions"]]


def test_approved_post_becomes_searchable(strict):
    host, fresh, other = sapi(strict, HOST), sapi(strict, FRESH), sapi(strict, OTHER)
    rid = f"{HOST}/searchable"
    host.create_repo(rid)
    num = host.create_discussion(rid, "Questions", description="Ask here").num
    word = "xylograph" + uuid.uuid4().hex[:8]
    cid = fresh.comment_discussion(rid, num, f"What about {word}?").id
    assert post(strict, f"/api/models/{rid}/discussions/{num}/comment/{cid}/approve", stok(strict, HOST)
                ).status_code == 200
    # A later change elsewhere: once the index has it, it has everything queued before it.
    marker = "zeppelin" + uuid.uuid4().hex[:8]
    other_rid = f"{HOST}/searchable-marker"
    host.create_repo(other_rid)
    other.create_discussion(other_rid, f"Marker {marker}", description="x")  # (the host is at its post limit)
    deadline = time.monotonic() + 30
    while _search(strict, other_rid, marker) != [1]:
        assert time.monotonic() < deadline, "the search index never caught up"
        time.sleep(0.2)
    assert _search(strict, rid, word) == [num], "the approved comment is not in the search index"
