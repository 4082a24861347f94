"""The header's quick search (GET /api/quicksearch, huggingface.co's shape) on each search backend:
suggestions for Chinese input (tags by prefix, card words by jieba), users and organizations by name
and by full name (Chinese too), private repositories suggested to their owners only; and the
dropdown in a real browser, in English and in Chinese, driven from the keyboard."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.browser import DEFAULT_TIMEOUT_MS, browser, new_page, page  # noqa: F401
from tests.support.search import SEARCH_BACKENDS, hub_on_backend
from tests.support.waiting import poll

pytest_plugins = ["tests.support.browser"]  # the failure screenshots' report hook

OWNER, OTHER, ORG = "qsowner", "qsother", "qs-voicelab"
OWNER_FULLNAME, ORG_FULLNAME = "张巡检", "鹦鹉语音实验室"
INSPECT, SPEECH, SECRET = f"{OWNER}/inspect-robot", f"{OWNER}/parrot-tts", f"{OWNER}/parrot-secret"


def card(tags: list[str], body: str) -> bytes:
    return ("---\nlicense: mit\ntags:\n" + "".join(f"- {t}\n" for t in tags) + f"---\n# Model\n\n{body}\n").encode()


@pytest.fixture(scope="module", params=SEARCH_BACKENDS)
def hub(request, hub, tmp_path_factory):
    """The session hub (whoosh), then a server of its own on the postgres backend: each test runs on both."""
    yield from hub_on_backend(request.param, hub, tmp_path_factory)


@pytest.fixture(scope="module")
def people(hub):
    """Two users (the owner with a Chinese full name), an organization with one; three models."""
    hub.cli("users", "create", OWNER, "--password", f"pw-{OWNER}-12345", "--fullname", OWNER_FULLNAME)
    hub.cli("orgs", "create", ORG, "--owner", OWNER, "--fullname", ORG_FULLNAME)
    owner = hub.cli("tokens", "create", OWNER, "--role", "write").stdout.strip()
    (other,) = hub.users(OTHER)
    api = hub.api(owner)
    for repo_id, private, readme in (
            (INSPECT, False, card(["鹦鹉巡检机器人"], "A robot for line inspection.")),
            (SPEECH, False, card(["tts"], "鹦鹉语音合成模型，声音清晰。")),
            (SECRET, True, card(["tts"], "内部的鹦鹉语音模型。"))):
        api.create_repo(repo_id, private=private)
        api.upload_file(path_or_fileobj=readme, path_in_repo="README.md", repo_id=repo_id)
    # the index follows the commits a moment later
    poll(lambda: quick(hub, owner, "鹦鹉")["models"], lambda v: len(v) == 3)
    return {OWNER: owner, OTHER: other, None: None}


def quick(hub, token, q: str) -> dict:
    r = hub.get("/api/quicksearch", token, params={"q": q})
    assert r.status_code == 200, r.text
    return r.json()


def model_ids(hub, token, q: str) -> list[str]:
    return [m["id"] for m in quick(hub, token, q)["models"]]


def test_chinese_input_suggests_by_tag_prefix_and_card_words(hub, people):
    assert model_ids(hub, None, "鹦鹉巡检") == [INSPECT]  # the start of a tag
    assert model_ids(hub, None, "语音合成") == [SPEECH]  # words of a card
    assert sorted(model_ids(hub, None, "鹦鹉")) == sorted([INSPECT, SPEECH])  # as many downloads: any order


def test_private_repositories_are_suggested_to_their_owner_only(hub, people):
    assert model_ids(hub, None, "鹦鹉语音") == [SPEECH]
    assert model_ids(hub, people[OTHER], "鹦鹉语音") == [SPEECH]
    assert sorted(model_ids(hub, people[OWNER], "鹦鹉语音")) == sorted([SPEECH, SECRET])
    assert model_ids(hub, None, "parrot-sec") == []


def test_users_and_orgs_by_name_and_full_name(hub, people):
    by_name = quick(hub, None, "qsown")
    assert by_name["users"] == [{"user": OWNER, "fullname": OWNER_FULLNAME, "type": "user", "isPro": False,
                                 "avatarUrl": ""}]
    assert quick(hub, None, "巡检")["users"] == by_name["users"]  # part of a Chinese full name
    by_fullname = quick(hub, None, "语音实验室")
    assert by_fullname["orgs"] == [{"name": ORG, "fullname": ORG_FULLNAME, "type": "org", "isEnterprise": False,
                                    "avatarUrl": ""}]
    assert quick(hub, None, "QS-VOICE")["orgs"] == by_fullname["orgs"]  # names case-insensitively
    assert quick(hub, None, "qs%")["users"] == []  # LIKE's wildcards are plain characters


@pytest.mark.parametrize("locale, users_label, orgs_label", [("en-US", "Users", "Organizations"),
                                                             ("zh-CN", "用户", "组织")])
def test_dropdown_lists_models_users_and_orgs_navigable_by_keyboard(new_page, people, locale, users_label,
                                                                     orgs_label):
    page = new_page(locale=locale)
    page.goto("/models")
    box = page.locator("#site-q")
    box.fill("鹦鹉")
    suggestions = page.locator(".site-search .quicksearch")
    expect(suggestions.locator(f"a[href='/{SPEECH}']")).to_have_text(SPEECH)
    expect(suggestions.locator(f"a[href='/{SECRET}']")).to_have_count(0)
    box.fill("qs")
    expect(suggestions.locator(".group", has_text=users_label)).to_be_visible()
    expect(suggestions.locator(".group", has_text=orgs_label)).to_be_visible()
    user = suggestions.locator(f"a[href='/{OWNER}']")
    expect(user).to_contain_text(OWNER)
    expect(user).to_contain_text(OWNER_FULLNAME)
    expect(user.locator(".initial")).to_have_text("张")
    org = suggestions.locator(f"a[href='/{ORG}']")
    expect(org).to_contain_text(ORG_FULLNAME)
    # down through every suggestion to the organization, back up to the box
    links = suggestions.locator("a")
    n = links.count()
    box.focus()
    for _ in range(n):
        page.keyboard.press("ArrowDown")
    expect(links.nth(n - 1)).to_be_focused()
    for _ in range(n):
        page.keyboard.press("ArrowUp")
    expect(box).to_be_focused()
    for _ in range(n):
        page.keyboard.press("ArrowDown")
        if page.evaluate("document.activeElement.getAttribute('href')") == f"/{ORG}":
            break
    with page.expect_navigation(timeout=DEFAULT_TIMEOUT_MS):
        page.keyboard.press("Enter")
    assert page.url.endswith(f"/{ORG}")
