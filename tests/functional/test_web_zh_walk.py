"""A walk through the main pages in Simplified Chinese, in Chromium: no English interface text.

The browser asks for zh-CN (its locale, hence Accept-Language). On each page the visible text
outside user content (the card's body, code, names people chose) is collected in the browser and
checked two ways: no text node is an English interface string of the catalogue (every msgid whose
translation differs), and none holds a known English phrase of the domain's messages, roles, facet
values or data words (the strings that reached pages untranslated before: issue #22, bug 4).
The walk covers home, the model list with its facets, a model page (card warnings as its owner),
files, history, discussions, an organization, settings, a new model with a refused name, a 403
page, an access request's answers, and the upload form with a card that gets a warning.
"""

from __future__ import annotations

import re
import time
import uuid

import pytest
from playwright.sync_api import expect

from tests.support.browser import browser, new_page, password_of  # noqa: F401
from tests.support.catalog import english_interface_strings

pytest_plugins = ["tests.support.browser"]  # the failure screenshots' report hook

RUN = uuid.uuid4().hex[:6]
OWNER, OUTSIDER, READER, ORG = f"zhowner{RUN}", f"zhoutsider{RUN}", f"zhreader{RUN}", f"zhorg{RUN}"
MODEL = f"{ORG}/zh-walk"
CARD = b"""---
license: apache-2.0
language:
- zh
- yue
- hak
pipeline_tag: text-generation
industry:
- finance
- spaceships
region:
- cn
extra_gated_fields:
  I agree to the terms: checkbox
---
# \xe6\xa8\xa1\xe5\x9e\x8b

\xe6\xad\xa3\xe6\x96\x87\xe3\x80\x82
"""
# English that reached Chinese pages before (issue #22, bug 4): phrases found anywhere in a text
# node, and words that are wrong as a whole text node (a role, a boolean, a task or a language code).
ENGLISH_PHRASES = (
    "You don't have write access", "write access", "unknown industry", "is not an ISO 639", "line 2",
    "field '", "Invalid repository name", "use letters, digits", "initial commit", "Model card warning",
    "text-generation", "is not gated", "must not be empty", "not allowed",
)
ENGLISH_WORDS = {"admin", "write", "read", "Admin", "Write", "Read", "True", "False", "finance", "yue", "hak",
                 "cn", "zh", "Chinese", "Cantonese"}

# Visible text nodes and labels outside user content, as the reader sees them.
VISIBLE_TEXTS = """() => {
  const skip = el => el.closest('script, style, pre, code, .card-body, .comment-body, .markdown, [data-user-content]');
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const t = n.textContent.trim();
    if (!t || skip(n.parentElement)) continue;
    const style = getComputedStyle(n.parentElement);
    if (style.display === 'none' || style.visibility === 'hidden') continue;
    out.push(t);
  }
  for (const el of document.querySelectorAll('[title], [placeholder], [aria-label], img[alt]')) {
    if (skip(el)) continue;
    for (const a of ['title', 'placeholder', 'aria-label', 'alt']) {
      const v = el.getAttribute(a);
      if (v && v.trim()) out.push(v.trim());
    }
  }
  return out;
}"""


@pytest.fixture(scope="module")
def english_ui() -> set[str]:
    return english_interface_strings()


def english_on(page, english_ui: set[str], own_words: tuple[str, ...] = ()) -> list[str]:
    """The English interface texts on the page (names of people and repositories are theirs)."""
    found = []
    for text in page.evaluate(VISIBLE_TEXTS):
        bare = text
        for word in (MODEL, ORG, OWNER, OUTSIDER, READER, "zh-walk", "ModelHub", *own_words):
            bare = bare.replace(word, "")
        if text in english_ui or bare.strip() in ENGLISH_WORDS:
            found.append(text)
        found += [f"{p!r} in {text!r}" for p in ENGLISH_PHRASES if p in bare]
    return found


def zh_page(new_page, who: str | None = None):
    page = new_page(locale="zh-CN")
    if who:
        page.goto("/login")
        page.fill("#username", who)
        page.fill("#password", password_of(who))
        with page.expect_navigation():
            page.click("form button[type=submit]")
    return page


def visit(page, path: str, english_ui: set[str], status: int = 200, own_words: tuple[str, ...] = ()):
    response = page.goto(path)
    assert response.status == status, (path, response.status)
    assert page.locator("html").get_attribute("lang") == "zh-CN", path
    leftovers = english_on(page, english_ui, own_words)
    assert not leftovers, (path, leftovers)
    return page


@pytest.fixture(scope="module")
def world(hub):
    owner_token, _outsider, _reader = hub.users(OWNER, OUTSIDER, READER)
    hub.cli("orgs", "create", ORG, "--owner", OWNER)
    hub.cli("orgs", "add-member", ORG, READER, "--role", "read")
    api = hub.api(owner_token)
    api.create_repo(MODEL)
    api.upload_file(path_or_fileobj=CARD, path_in_repo="README.md", repo_id=MODEL)
    api.update_repo_settings(MODEL, gated="manual")
    api.create_discussion(MODEL, title="关于这个模型的问题", description="正文")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # the model list reads the search index, which follows commits
        if hub.get("/api/search", params={"author": ORG}).json()["total"] == 1:
            return hub
        time.sleep(0.1)
    pytest.fail("the search index did not catch up")


def test_public_pages_in_chinese(new_page, world, english_ui):
    page = zh_page(new_page)
    visit(page, "/", english_ui)
    visit(page, f"/models?author={ORG}", english_ui)
    # Facet values in Chinese (CLDR's language and territory names, the catalogue's tasks and
    # industries), filters still by the raw value; the industry the validator rejected is no facet.
    for facet, value, label in (("task", "text-generation", "文本生成"), ("language", "yue", "粤语"),
                                ("language", "hak", "客家语"), ("language", "zh", "中文"),
                                ("industry", "finance", "金融"), ("region", "cn", "中国")):
        link = page.locator(f"a[data-facet={facet}][data-value='{value}']")
        expect(link.locator("span").first).to_have_text(label)
        assert f"{facet}={value}" in link.get_attribute("href")
    expect(page.locator("a[data-facet=industry][data-value=spaceships]")).to_have_count(0)
    expect(page.locator(".model-list .tag").first).to_have_text("文本生成")

    visit(page, f"/{MODEL}", english_ui)
    sidebar = page.locator(".sidebar dl").inner_text()
    assert "文本生成" in sidebar and "粤语" in sidebar and "客家语" in sidebar and "金融" in sidebar
    visit(page, f"/{MODEL}/tree/main", english_ui)
    visit(page, f"/{MODEL}/commits/main", english_ui)
    expect(page.locator(".commit-title").last).to_have_text("初始提交")
    visit(page, f"/{MODEL}/discussions", english_ui)
    visit(page, f"/{MODEL}/discussions/1", english_ui)
    visit(page, f"/{ORG}", english_ui)
    roles = page.locator(".member-list .meta").all_inner_texts()
    assert sorted(roles) == ["管理员", "读取"], roles


def test_a_403_page_says_why_in_chinese(new_page, world, english_ui):
    page = zh_page(new_page, READER)  # may read the organization's model, not change it
    visit(page, f"/{MODEL}/settings", english_ui, status=403)
    expect(page.locator("main")).to_contain_text(f"你没有 {MODEL} 的写入权限")


def test_access_request_answers_in_chinese(new_page, world, english_ui):
    page = zh_page(new_page, OUTSIDER)
    page.goto(f"/{MODEL}")
    page.locator(".gated-notice input[type=checkbox]").check()
    with page.expect_navigation():
        page.locator(".gated-notice button[type=submit]").click()
    owner = zh_page(new_page, OWNER)
    visit(owner, f"/{MODEL}/settings", english_ui, own_words=("I agree to the terms",))
    expect(owner.locator("dl.answers dd").first).to_have_text("是")


def test_signed_in_pages_forms_and_card_warnings_in_chinese(new_page, world, english_ui):
    page = zh_page(new_page, OWNER)
    visit(page, f"/{MODEL}", english_ui)
    warnings = page.locator(".warnings li").all_inner_texts()
    assert any(w.startswith("第 8 行，字段 'industry'：未知的行业 'spaceships'（已知行业：") for w in warnings), warnings
    for path in ("/settings", "/settings/tokens", f"/organizations/{ORG}/members", "/new"):
        visit(page, path, english_ui)

    # A refused name on the new-model form: the domain's rule, in Chinese, next to the field.
    page.goto("/new")
    page.fill("#name", "bad..name")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    expect(page.locator(".field-error").first).to_contain_text("仓库名称 'bad..name' 无效")
    assert not english_on(page, english_ui, ("bad..name",))

    # The upload form: a card that the validator warns about is committed, the warning in Chinese.
    visit(page, f"/{MODEL}/upload/main", english_ui)
    page.set_input_files("input[type=file]", files=[{
        "name": "README.md", "mimeType": "text/markdown",
        "buffer": CARD.replace(b"- spaceships", b"- starships")}])
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    flashes = " ".join(page.locator(".flash, [role=status], [role=alert]").all_inner_texts())
    assert "模型卡片警告" in flashes and "未知的行业 'starships'" in flashes, flashes
    assert not english_on(page, english_ui, ("starships",))
