"""community.policy as a matrix: every rule x every kind of caller.

Each row names a rule applied to a repository and the exact set of callers it allows; every caller
outside the set must be refused. The callers cover the roles of policy.py's docstring (owner, org
admin, site moderator, site admin, author, plain reader) plus the ways of losing rights: a read-only
token, a suspended account, an org membership below admin.
"""

from __future__ import annotations

import pytest

from community import policy
from models_registry.permissions import Principal

USER_NS = "alice"  # a user's namespace: alice owns its repositories
ORG_NS = "acme"  # an organization's namespace
AUTHOR_ID = 3  # carol wrote the discussion / comment / pull request in question

CALLERS: dict[str, Principal | None] = {
    "anonymous": None,
    "reader": Principal(2, "bob"),
    "reader_read_token": Principal(2, "bob", token_role="read"),
    "author": Principal(AUTHOR_ID, "carol"),
    "author_read_token": Principal(AUTHOR_ID, "carol", token_role="read"),
    "author_suspended": Principal(AUTHOR_ID, "carol", suspended=True),
    "owner": Principal(1, "alice"),
    "owner_read_token": Principal(1, "alice", token_role="read"),
    "owner_suspended": Principal(1, "alice", suspended=True),
    "org_admin": Principal(4, "dan", org_roles={ORG_NS: "admin"}),
    "org_admin_suspended": Principal(4, "dan", org_roles={ORG_NS: "admin"}, suspended=True),
    "org_writer": Principal(5, "erin", org_roles={ORG_NS: "write"}),
    "org_reader": Principal(6, "fay", org_roles={ORG_NS: "read"}),
    "site_moderator": Principal(7, "gus", is_moderator=True),
    "site_moderator_suspended": Principal(7, "gus", is_moderator=True, suspended=True),
    "site_moderator_read_token": Principal(7, "gus", is_moderator=True, token_role="read"),
    "site_admin": Principal(8, "hal", is_admin=True),
    "site_admin_read_token": Principal(8, "hal", is_admin=True, token_role="read"),
}
ALL = frozenset(CALLERS)
# Signed in, with a write token, not suspended.
ACTIVE = frozenset({"reader", "author", "owner", "org_admin", "org_writer", "org_reader", "site_moderator",
                    "site_admin"})
USER_MODS = frozenset({"owner", "site_moderator", "site_admin"})
ORG_MODS = frozenset({"org_admin", "site_moderator", "site_admin"})
ORG_MAINTAINERS = ORG_MODS | {"org_writer"}

RULES = [
    # (description, rule(principal) -> bool, the callers it allows)
    ("is_moderator user repo", lambda p: policy.is_moderator(p, USER_NS), USER_MODS),
    ("is_moderator org repo", lambda p: policy.is_moderator(p, ORG_NS), ORG_MODS),
    ("is_maintainer user repo", lambda p: policy.is_maintainer(p, USER_NS), USER_MODS),
    ("is_maintainer org repo", lambda p: policy.is_maintainer(p, ORG_NS), ORG_MAINTAINERS),

    ("can_view public", lambda p: policy.can_view(p, USER_NS, False), ALL),
    ("can_view private user repo", lambda p: policy.can_view(p, USER_NS, True),
     {"owner", "owner_read_token", "owner_suspended", "site_admin", "site_admin_read_token"}),
    ("can_view private org repo", lambda p: policy.can_view(p, ORG_NS, True),
     {"org_admin", "org_admin_suspended", "org_writer", "org_reader", "site_admin", "site_admin_read_token"}),

    ("can_open public", lambda p: policy.can_open(p, USER_NS, False), ACTIVE),
    ("can_open private user repo", lambda p: policy.can_open(p, USER_NS, True), {"owner", "site_admin"}),
    ("can_open private org repo", lambda p: policy.can_open(p, ORG_NS, True),
     {"org_admin", "org_writer", "org_reader", "site_admin"}),
    ("can_report public", lambda p: policy.can_report(p, ORG_NS, False), ACTIVE),
    ("can_report private org repo", lambda p: policy.can_report(p, ORG_NS, True),
     {"org_admin", "org_writer", "org_reader", "site_admin"}),

    ("can_comment open", lambda p: policy.can_comment(p, USER_NS, False, "open", False), ACTIVE),
    ("can_comment draft", lambda p: policy.can_comment(p, USER_NS, False, "draft", False), ACTIVE),
    ("can_comment closed", lambda p: policy.can_comment(p, USER_NS, False, "closed", False), set()),
    ("can_comment merged", lambda p: policy.can_comment(p, USER_NS, False, "merged", False), set()),
    ("can_comment locked user repo", lambda p: policy.can_comment(p, USER_NS, False, "open", True), USER_MODS),
    ("can_comment locked org repo", lambda p: policy.can_comment(p, ORG_NS, False, "open", True), ORG_MODS),
    ("can_comment locked and closed", lambda p: policy.can_comment(p, USER_NS, False, "closed", True), set()),
    ("can_comment private org repo", lambda p: policy.can_comment(p, ORG_NS, True, "open", False),
     {"org_admin", "org_writer", "org_reader", "site_admin"}),

    ("can_edit_comment of carol", lambda p: policy.can_edit_comment(p, AUTHOR_ID, False, USER_NS), {"author"}),
    ("can_edit_comment of carol, locked", lambda p: policy.can_edit_comment(p, AUTHOR_ID, True, USER_NS), set()),
    ("can_edit_comment of alice, locked", lambda p: policy.can_edit_comment(p, 1, True, USER_NS), {"owner"}),
    ("can_edit_comment of a deleted user", lambda p: policy.can_edit_comment(p, None, False, USER_NS), set()),

    ("can_hide_comment of carol", lambda p: policy.can_hide_comment(p, USER_NS, AUTHOR_ID), USER_MODS | {"author"}),
    ("can_hide_comment of carol, org repo", lambda p: policy.can_hide_comment(p, ORG_NS, AUTHOR_ID),
     ORG_MODS | {"author"}),
    ("can_hide_comment of a deleted user", lambda p: policy.can_hide_comment(p, USER_NS, None), USER_MODS),
    ("can_unhide_comment user repo", lambda p: policy.can_unhide_comment(p, USER_NS), USER_MODS),
    ("can_unhide_comment org repo", lambda p: policy.can_unhide_comment(p, ORG_NS), ORG_MODS),

    ("can_rename carol's", lambda p: policy.can_rename(p, USER_NS, AUTHOR_ID), USER_MODS | {"author"}),
    ("can_rename carol's, org repo", lambda p: policy.can_rename(p, ORG_NS, AUTHOR_ID), ORG_MAINTAINERS | {"author"}),
    ("can_change_status carol's", lambda p: policy.can_change_status(p, USER_NS, AUTHOR_ID), USER_MODS | {"author"}),
    ("can_change_status carol's, org repo", lambda p: policy.can_change_status(p, ORG_NS, AUTHOR_ID),
     ORG_MAINTAINERS | {"author"}),
    ("can_change_status of a deleted user", lambda p: policy.can_change_status(p, USER_NS, None), USER_MODS),

    ("can_merge user repo", lambda p: policy.can_merge(p, USER_NS), USER_MODS),
    ("can_merge org repo", lambda p: policy.can_merge(p, ORG_NS), ORG_MAINTAINERS),
    ("can_push_to_pr carol's", lambda p: policy.can_push_to_pr(p, USER_NS, AUTHOR_ID), USER_MODS | {"author"}),
    ("can_push_to_pr carol's, org repo", lambda p: policy.can_push_to_pr(p, ORG_NS, AUTHOR_ID),
     ORG_MAINTAINERS | {"author"}),
    ("can_push_to_pr of a deleted user", lambda p: policy.can_push_to_pr(p, USER_NS, None), USER_MODS),

    ("can_lock_or_pin user repo", lambda p: policy.can_lock_or_pin(p, USER_NS), USER_MODS),
    ("can_lock_or_pin org repo", lambda p: policy.can_lock_or_pin(p, ORG_NS), ORG_MODS),
    ("can_review user repo", lambda p: policy.can_review(p, USER_NS), USER_MODS),
    ("can_review org repo", lambda p: policy.can_review(p, ORG_NS), ORG_MODS),

    ("can_suspend", policy.can_suspend, {"site_admin"}),
    ("can_see_site_log", policy.can_see_site_log, {"site_moderator", "site_admin"}),
]

for _name, _rule, _allowed in RULES:
    assert set(_allowed) <= ALL, (_name, set(_allowed) - ALL)

CASES = [pytest.param(rule, caller, caller in allowed, id=f"{name}-{caller}".replace(" ", "_").replace(",", ""))
         for name, rule, allowed in RULES for caller in CALLERS]


@pytest.mark.parametrize("rule,caller,allowed", CASES)
def test_policy_matrix(rule, caller, allowed):
    assert rule(CALLERS[caller]) is allowed


def test_is_author():
    carol = CALLERS["author"]
    assert policy.is_author(carol, AUTHOR_ID) is True
    assert policy.is_author(carol, AUTHOR_ID + 1) is False
    assert policy.is_author(carol, None) is False
    assert policy.is_author(None, AUTHOR_ID) is False
    # Authorship is by account, whatever the token or suspension (the write rules check those).
    assert policy.is_author(CALLERS["author_suspended"], AUTHOR_ID) is True
    assert policy.is_author(CALLERS["author_read_token"], AUTHOR_ID) is True


def test_an_admin_of_another_organization_has_no_say_here():
    other_org_admin = Principal(9, "ivy", org_roles={"other": "admin"})
    for rule in (policy.is_moderator, policy.is_maintainer, policy.can_merge, policy.can_lock_or_pin,
                 policy.can_review, policy.can_unhide_comment):
        assert rule(other_org_admin, ORG_NS) is False, rule.__name__
    assert policy.can_open(other_org_admin, ORG_NS, True) is False
    assert policy.can_open(other_org_admin, "other", True) is True
