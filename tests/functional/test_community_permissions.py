"""Who may do what in a repository's community, driven over HTTP as a matrix of roles x actions.

Roles, on the repository a case runs against:
- anonymous: no token;
- reader: a signed-in user with no rights on the repository;
- author: who opened the discussion (or pull request) acted on;
- owner: the repository's owner (a user namespace);
- org_admin: an admin of the organization owning the (org) repository;
- site_moderator / site_admin: site-wide roles;
- suspended: the discussion's own author, suspended by a site admin (so that the suspension is the
  only reason for a refusal).

Every allowed action succeeds and its effect is visible afterwards; every forbidden one answers
401 (anonymous) or 403 and changes nothing: the discussion, the repository's listing, the
moderation queue and the audit log all read back exactly as before.

The module runs its own server with generous post limits (the matrix posts a lot from few users).
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys

import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

from tests.support.live import start_hub

P = "cpm"
OWNER, READER, AUTHOR, ORG_ADMIN, MOD, ADMIN, SUSP, WRITER = (
    f"{P}-owner", f"{P}-reader", f"{P}-author", f"{P}-orgadmin", f"{P}-mod", f"{P}-admin", f"{P}-susp",
    f"{P}-writer")
ORG = f"{P}-org"
USER_REPO = f"{OWNER}/target"
ORG_REPO = f"{ORG}/target"

ANON, RDR, AUT, OWN, ORGA, SMOD, SADM, SUS = ROLES = (
    "anonymous", "reader", "author", "owner", "org_admin", "site_moderator", "site_admin", "suspended")
ROLE_USER = {RDR: READER, AUT: AUTHOR, OWN: OWNER, ORGA: ORG_ADMIN, SMOD: MOD, SADM: ADMIN, SUS: SUSP}
# Whom "suspend user" targets: only the site admin's attempt succeeds, so the others share one victim.
VICTIMS = {role: f"{P}-victim-of-admin" if role == SADM else f"{P}-victim" for role in ROLES}

SIGNED_IN = {RDR, AUT, OWN, ORGA, SMOD, SADM}
MODERATORS = {OWN, ORGA, SMOD, SADM}
ALLOWED = {
    "open discussion": SIGNED_IN,
    "comment": SIGNED_IN,
    "edit someone else's comment": set(),
    "edit own comment": SIGNED_IN,
    "hide comment": MODERATORS,
    "unhide comment": MODERATORS,
    "rename": MODERATORS | {AUT},
    "close": MODERATORS | {AUT},
    "reopen": MODERATORS | {AUT},
    "lock": MODERATORS,
    "pin": MODERATORS,
    "merge pull request": MODERATORS,
    "report": SIGNED_IN,
    "resolve report": MODERATORS,
    "read audit log": MODERATORS,
    "suspend user": {SADM},
}
# Actions on an existing discussion: the suspended author gets one of its own, opened before the suspension.
NEEDS_DISCUSSION = [a for a in ALLOWED if a not in ("open discussion", "merge pull request", "read audit log",
                                                    "suspend user")]


def expected(role: str, action: str) -> int:
    if role in ALLOWED[action]:
        return 200
    return 401 if role == ANON else 403


CASES = [pytest.param(role, action, expected(role, action), id=f"{action}-{role}".replace(" ", "_"))
         for action in ALLOWED for role in ROLES]

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
    out[name + ':write'] = reg.accounts.create_token(name, role='write')
    if name in spec['read_tokens']:
        out[name + ':read'] = reg.accounts.create_token(name, role='read')
for org, owner in spec['orgs'].items():
    reg.accounts.create_org(org, owner)
reg.close()
print(json.dumps(out))
"""


def make_accounts(hub, users, admins=(), moderators=(), orgs=None, read_tokens=()) -> dict[str, str]:
    """Users (with write tokens, and read tokens for `read_tokens`), site admins, site moderators and
    organizations (name -> first admin) in one subprocess, as LiveHub.users() does; returns
    name -> write token (the read tokens go to hub.tokens["name:read"])."""
    spec = {"users": list(users), "admins": list(admins), "moderators": list(moderators), "orgs": orgs or {},
            "read_tokens": list(read_tokens)}
    done = subprocess.run([sys.executable, "-c", ACCOUNTS_SCRIPT, json.dumps(spec)], env=hub.env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    tokens = json.loads(done.stdout.strip().splitlines()[-1])
    hub.tokens.update(tokens)
    return {k.split(":")[0]: t for k, t in tokens.items() if k.endswith(":write")}


def status_of(call) -> tuple[int, object]:
    """(HTTP status, result) of a client call: 200 and its result, or the refusal's status."""
    try:
        return 200, call()
    except HfHubHTTPError as e:
        return e.response.status_code, e


class Matrix:
    """Everything the cases share: the server, tokens, the two repositories, the suspended
    author's discussions."""

    def __init__(self, hub, tokens: dict[str, str]) -> None:
        self.hub = hub
        self.tokens = tokens
        self.counter = itertools.count()
        self.suspended_pool: dict[str, int] = {}

    def api(self, role_or_user: str) -> HfApi:
        if role_or_user == ANON:
            return self.hub.api(None)
        name = ROLE_USER.get(role_or_user, role_or_user)
        return self.hub.api(self.tokens[name])

    def raw(self, method: str, path: str, who: str | None, **kw):
        token = None if who in (None, ANON) else self.tokens[ROLE_USER.get(who, who)]
        return self.hub.request(method, path, token, **kw)

    @staticmethod
    def repo_of(role: str) -> str:
        return ORG_REPO if role == ORGA else USER_REPO

    def unique(self, what: str) -> str:
        return f"{what} {next(self.counter)}"

    def details(self, rid: str, num: int, who: str | None = ADMIN) -> dict:
        r = self.raw("GET", f"/api/models/{rid}/discussions/{num}", who)
        assert r.status_code == 200, r.text
        return r.json()

    def comment_event(self, rid: str, num: int, cid: str, who: str | None = ADMIN) -> dict:
        found = [e for e in self.details(rid, num, who)["events"] if e["id"] == cid]
        assert len(found) == 1, f"comment {cid} not in #{num} for {who}"
        return found[0]

    def state(self, rid: str, num: int | None, action: str) -> dict:
        """What a refused action must leave unchanged, read by a site admin (who sees everything):
        the discussion and the audit log always, and what the action would have added to."""
        out = {"log": self.raw("GET", "/api/moderation/log?limit=50", ADMIN).json()}
        if num is not None:
            out["details"] = self.details(rid, num)
        if action == "open discussion":
            out["listing"] = self.raw("GET", f"/api/models/{rid}/discussions", ADMIN).json()
        if action in ("report", "resolve report"):
            out["queue"] = self.raw("GET", "/api/moderation/queue", ADMIN).json()
            out["resolved"] = self.raw("GET", "/api/moderation/queue?status=resolved", ADMIN).json()
        return out

    def last_log(self) -> dict:
        rows = self.raw("GET", "/api/moderation/log?limit=1", ADMIN).json()
        assert rows, "the audit log is empty"
        return rows[0]

    def new_discussion(self, role: str, rid: str, action: str) -> tuple[int, str]:
        """A discussion the case acts on: (number, id of its first comment, written by its author)."""
        if role == SUS:
            num = self.suspended_pool.pop(action)
            first = self.details(rid, num)["events"][0]
            assert first["type"] == "comment" and first["author"]["name"] == SUSP
            return num, first["id"]
        d = self.api(AUTHOR).create_discussion(rid, self.unique("target"), description=self.unique("opening words"))
        assert d.events[0].type == "comment" and d.events[0].author == AUTHOR
        return d.num, d.events[0].id

    def writer_comment(self, rid: str, num: int) -> tuple[str, str]:
        """(id, text) of a new comment by the writer, a user with no role in the matrix."""
        c = self.api(WRITER).comment_discussion(rid, num, self.unique("a comment by the writer"))
        return c.id, c.content


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    hub = start_hub(tmp_path_factory.mktemp("perm-hub"), workers=2,
                    env={"MODELHUB_POSTS_PER_MINUTE": "100000", "MODELHUB_POSTS_PER_HOUR": "100000"})
    try:
        users = [OWNER, READER, AUTHOR, ORG_ADMIN, MOD, ADMIN, SUSP, WRITER, *sorted(set(VICTIMS.values()))]
        tokens = make_accounts(hub, users, admins=[ADMIN], moderators=[MOD], orgs={ORG: ORG_ADMIN}, read_tokens=[OWNER])
        m = Matrix(hub, tokens)
        m.api(OWNER).create_repo(USER_REPO)
        m.api(ORG_ADMIN).create_repo(ORG_REPO)
        for rid in (USER_REPO, ORG_REPO):
            # Something in each repository's audit log for its moderators to read.
            num = m.api(AUTHOR).create_discussion(rid, "audit seed", description="seed").num
            cid, _ = m.writer_comment(rid, num)
            with pytest.warns(UserWarning, match="Hidden comments"):
                m.api(ADMIN).hide_discussion_comment(rid, num, cid)
        # The suspended user's own discussions, opened while it was still allowed to.
        for action in NEEDS_DISCUSSION:
            m.suspended_pool[action] = m.api(SUSP).create_discussion(
                USER_REPO, f"by the soon suspended ({action})", description=f"own words ({action})").num
        r = m.raw("POST", f"/api/users/{SUSP}/suspend", ADMIN, json={"reason": "matrix"})
        assert r.status_code == 200, r.text
        yield m
    finally:
        hub.stop()


def setup_case(m: Matrix, role: str, action: str) -> dict:
    """Prepare what `action` needs; returns the case's context (repo, discussion, comment ...)."""
    rid = m.repo_of(role)
    ctx: dict = {"rid": rid, "num": None}
    if action in NEEDS_DISCUSSION:
        ctx["num"], ctx["first"] = m.new_discussion(role, rid, action)
    num = ctx["num"]
    if action in ("edit someone else's comment", "hide comment", "unhide comment", "report", "resolve report"):
        ctx["cid"], ctx["text"] = m.writer_comment(rid, num)
    if action == "edit own comment":
        if role in (AUT, SUS):
            ctx["cid"] = ctx["first"]
            ctx["text"] = m.comment_event(rid, num, ctx["cid"])["data"]["latest"]["raw"]
        elif role == ANON:
            ctx["cid"], ctx["text"] = m.writer_comment(rid, num)
        else:
            c = m.api(role).comment_discussion(rid, num, m.unique(f"{role} says"))
            ctx["cid"], ctx["text"] = c.id, c.content
    if action == "unhide comment":
        with pytest.warns(UserWarning, match="Hidden comments"):
            m.api(ADMIN).hide_discussion_comment(rid, num, ctx["cid"])
        assert m.comment_event(rid, num, ctx["cid"], who=None)["data"]["hidden"] is True
    if action == "reopen":
        m.api(ADMIN).change_discussion_status(rid, num, "closed")
    if action == "resolve report":
        r = m.raw("POST", f"/api/models/{rid}/discussions/{num}/report", WRITER,
                  json={"commentId": ctx["cid"], "reason": "spam, says the writer"})
        assert r.status_code == 200, r.text
        ctx["report"] = r.json()["reportId"]
    if action == "merge pull request":
        path = f"pr-{next(m.counter)}.txt"
        info = m.api(AUTHOR).upload_file(path_or_fileobj=path.encode(), path_in_repo=path, repo_id=rid,
                                         create_pr=True)
        ctx["num"], ctx["path"] = info.pr_num, path
    if action == "suspend user":
        ctx["victim"] = VICTIMS[role]
        ctx["victim_num"] = m.api(OWNER if rid == USER_REPO else ORG_ADMIN).create_discussion(
            rid, m.unique("victim's place"), description="here").num
    return ctx


def act(m: Matrix, role: str, action: str, ctx: dict) -> tuple[int, object]:
    rid, num = ctx["rid"], ctx["num"]
    api = m.api(role)
    base = f"/api/models/{rid}/discussions/{num}"

    def raw(method: str, path: str, **kw):
        r = m.raw(method, path, role, **kw)
        return r.status_code, r

    if action == "open discussion":
        return status_of(lambda: api.create_discussion(rid, m.unique(f"opened by {role}"), description="hello"))
    if action == "comment":
        return status_of(lambda: api.comment_discussion(rid, num, m.unique(f"{role} comments")))
    if action in ("edit someone else's comment", "edit own comment"):
        ctx["new_text"] = m.unique(f"rewritten by {role}")
        return status_of(lambda: api.edit_discussion_comment(rid, num, ctx["cid"], ctx["new_text"]))
    if action == "hide comment":
        with pytest.warns(UserWarning, match="Hidden comments"):
            return status_of(lambda: api.hide_discussion_comment(rid, num, ctx["cid"]))
    if action == "unhide comment":
        return raw("POST", f"{base}/comment/{ctx['cid']}/unhide", json={"reason": f"unhidden by {role}"})
    if action == "rename":
        ctx["new_title"] = m.unique(f"renamed by {role}")
        return status_of(lambda: api.rename_discussion(rid, num, ctx["new_title"]))
    if action == "close":
        return status_of(lambda: api.change_discussion_status(rid, num, "closed"))
    if action == "reopen":
        return status_of(lambda: api.change_discussion_status(rid, num, "open"))
    if action == "lock":
        return raw("POST", f"{base}/lock", json={"reason": f"lock by {role}"})
    if action == "pin":
        return raw("POST", f"{base}/pin", json={"reason": f"pin by {role}"})
    if action == "merge pull request":
        return status_of(lambda: api.merge_pull_request(rid, num))
    if action == "report":
        return raw("POST", f"{base}/report", json={"commentId": ctx["cid"], "reason": f"reported by {role}"})
    if action == "resolve report":
        return raw("POST", f"/api/moderation/reports/{ctx['report']}/resolve", json={"resolution": f"by {role}"})
    if action == "read audit log":
        return raw("GET", f"/api/moderation/log?repo={rid}")
    if action == "suspend user":
        return raw("POST", f"/api/users/{ctx['victim']}/suspend", json={"reason": f"suspended by {role}"})
    raise AssertionError(action)


def check_allowed(m: Matrix, role: str, action: str, ctx: dict, result) -> None:
    """The action's effect is visible afterwards."""
    rid, num = ctx["rid"], ctx["num"]
    actor = ROLE_USER[role]
    if action == "open discussion":
        assert result.author == actor and result.status == "open" and not result.is_pull_request
        listed = [d for d in m.api(ANON).get_repo_discussions(rid, author=actor) if d.num == result.num]
        assert [d.title for d in listed] == [result.title]
    elif action == "comment":
        assert result.author == actor
        ev = m.comment_event(rid, num, result.id, who=None)
        assert ev["author"]["name"] == actor and ev["data"]["latest"]["raw"] == result.content
    elif action == "edit own comment":
        assert result.edited is True and result.content == ctx["new_text"]
        ev = m.comment_event(rid, num, ctx["cid"], who=None)
        assert ev["data"]["latest"]["raw"] == ctx["new_text"]
        assert [h["raw"] for h in ev["data"]["history"]] == [ctx["text"]]
    elif action in ("hide comment", "unhide comment"):
        hidden = action == "hide comment"
        ev = m.comment_event(rid, num, ctx["cid"], who=None)
        assert ev["data"]["hidden"] is hidden
        assert ev["data"]["latest"]["raw"] == ("" if hidden else ctx["text"])
        log = m.last_log()
        assert (log["actor"], log["action"], log["repo"]) == (actor, action.replace(" ", "_"), rid)
    elif action == "rename":
        d = m.details(rid, num, who=None)
        assert d["title"] == ctx["new_title"]
        assert d["events"][-1]["type"] == "title-change" and d["events"][-1]["data"]["to"] == ctx["new_title"]
    elif action in ("close", "reopen"):
        status = "closed" if action == "close" else "open"
        d = m.details(rid, num, who=None)
        assert d["status"] == status
        assert d["events"][-1]["type"] == "status-change" and d["events"][-1]["author"]["name"] == actor
    elif action in ("lock", "pin"):
        flag = "locked" if action == "lock" else "pinned"
        assert m.details(rid, num, who=None)[flag] is True
        log = m.last_log()
        assert (log["actor"], log["action"], log["reason"]) == (actor, action, f"{action} by {role}")
    elif action == "merge pull request":
        details = m.api(ANON).get_discussion_details(rid, num)
        assert details.status == "merged"
        assert details.merge_commit_oid == m.api(ANON).model_info(rid).sha
        files = m.api(ANON).list_repo_files(rid)
        assert ctx["path"] in files
    elif action == "report":
        assert result.status_code == 200
        rid_ = result.json()["reportId"]
        mine = [i for i in m.raw("GET", "/api/moderation/queue", ADMIN).json()
                if i["kind"] == "report" and i["id"] == rid_]
        assert len(mine) == 1 and mine[0]["reporter"] == actor and mine[0]["eventId"] == ctx["cid"]
    elif action == "resolve report":
        open_ids = {i["id"] for i in m.raw("GET", "/api/moderation/queue", ADMIN).json() if i["kind"] == "report"}
        resolved = {i["id"]: i for i in m.raw("GET", "/api/moderation/queue?status=resolved", ADMIN).json()}
        assert ctx["report"] not in open_ids
        assert resolved[ctx["report"]]["resolution"] == f"by {role}"
    elif action == "read audit log":
        rows = result.json()
        assert rows and all(r["repo"] == rid for r in rows)
        assert any(r["action"] == "hide_comment" and r["actor"] == ADMIN for r in rows)
    elif action == "suspend user":
        r = m.raw("POST", f"/api/models/{rid}/discussions/{ctx['victim_num']}/comment", ctx["victim"],
                  json={"comment": "can I still talk?"})
        assert r.status_code == 403, r.text
    else:
        raise AssertionError(f"{action} is allowed to nobody")


@pytest.mark.parametrize("role,action,want", CASES)
def test_permission_matrix(matrix, role, action, want):
    m = matrix
    ctx = setup_case(m, role, action)
    before = m.state(ctx["rid"], ctx["num"], action)
    status, result = act(m, role, action, ctx)
    assert status == want, f"{role} / {action}: expected {want}, got {status}: {result}"
    if want == 200:
        check_allowed(m, role, action, ctx, result)
        return
    after = m.state(ctx["rid"], ctx["num"], action)
    for key in before:
        assert after[key] == before[key], f"refused {action} by {role} still changed the {key}"
    if action == "suspend user":  # the would-be victim can still post
        r = m.raw("POST", f"/api/models/{ctx['rid']}/discussions/{ctx['victim_num']}/comment", ctx["victim"],
                  json={"comment": "still here"})
        assert r.status_code == 200, r.text


def test_read_token_of_the_owner_changes_nothing(matrix):
    """A read-only token of the repository's owner: every community write is refused (403)."""
    m = matrix
    read_token = m.hub.tokens[f"{OWNER}:read"]
    api = m.hub.api(read_token)
    num = m.api(AUTHOR).create_discussion(USER_REPO, m.unique("read token target"), description="x").num
    cid, _ = m.writer_comment(USER_REPO, num)
    before = m.state(USER_REPO, num, "open discussion")
    calls = {
        "open": lambda: api.create_discussion(USER_REPO, "from a read token", description="x"),
        "comment": lambda: api.comment_discussion(USER_REPO, num, "from a read token"),
        "rename": lambda: api.rename_discussion(USER_REPO, num, "from a read token"),
        "close": lambda: api.change_discussion_status(USER_REPO, num, "closed"),
    }
    for what, call in calls.items():
        assert status_of(call)[0] == 403, what
    for path in (f"/api/models/{USER_REPO}/discussions/{num}/lock", f"/api/models/{USER_REPO}/discussions/{num}/pin",
                 f"/api/models/{USER_REPO}/discussions/{num}/comment/{cid}/unhide"):
        assert m.hub.request("POST", path, read_token, json={}).status_code == 403, path
    with pytest.warns(UserWarning, match="Hidden comments"):
        assert status_of(lambda: api.hide_discussion_comment(USER_REPO, num, cid))[0] == 403
    assert m.state(USER_REPO, num, "open discussion") == before
