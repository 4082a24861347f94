"""Collections on the website, in a real browser (headless Chromium), in English and in Chinese:
"add to collection" on a model page (a new collection, or one the reader has), the collection page
with its entries and notes, the Collections section of a user page, private collections and private
entries kept from other readers, removing an entry and deleting a collection, CSRF on the forms."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from playwright.sync_api import expect

from tests.support.browser import browser, new_page, page, sign_in  # noqa: F401

pytest_plugins = ["tests.support.browser"]  # the failure screenshots' report hook

OWNER, ZH_OWNER, OTHER = "wcollowner", "wcollzh", "wcollother"
MODEL, MODEL2, SECRET = f"{OWNER}/web-coll-model", f"{OWNER}/web-coll-second", f"{OWNER}/web-coll-secret"


@pytest.fixture(scope="module")
def tokens(hub) -> dict[str, str]:
    owner, zh_owner, other = hub.users(OWNER, ZH_OWNER, OTHER)
    api = hub.api(owner)
    api.create_repo(MODEL)
    api.create_repo(MODEL2)
    api.create_repo(SECRET, private=True)
    return {OWNER: owner, ZH_OWNER: zh_owner, OTHER: other}


def add_from_model_page(page, repo_id: str, *, new_title: str | None = None, choose: str | None = None,
                        note: str = "") -> None:
    page.goto(f"/{repo_id}")
    page.locator(".add-to-collection summary").click()
    if choose is not None:
        page.select_option("#add-coll-select", label=choose)
    if new_title is not None:
        page.fill("#add-coll-new", new_title)
    if note:
        page.fill("#add-coll-note", note)
    with page.expect_navigation():
        page.locator(".add-to-collection button[type=submit]").click()


def test_add_to_a_new_collection_then_see_it_on_the_collection_and_user_pages(new_page, hub, tokens):
    page = new_page()
    sign_in(page, OWNER)
    add_from_model_page(page, MODEL, new_title="Reading list", note="Start **here**")
    assert re.search(rf"/collections/{OWNER}/reading-list-[0-9a-f]{{24}}$", page.url), page.url
    expect(page.locator(".flash")).to_have_text(f"Added {MODEL} to the collection.")
    expect(page.locator("h1")).to_have_text("Reading list")
    expect(page.locator("#items-h")).to_have_text("1 item")
    expect(page.locator(".collection-item > a")).to_have_text([MODEL])
    expect(page.locator(".collection-note strong")).to_have_text("here")
    slug = unquote(page.url.split("/collections/", 1)[1])
    assert [i.item_id for i in hub.api(tokens[OWNER]).get_collection(slug).items] == [MODEL]

    # a second model, and a private one, into the collection the menu now offers
    add_from_model_page(page, MODEL2, choose="Reading list")
    add_from_model_page(page, SECRET, choose="Reading list", note="only for me")
    expect(page.locator(".collection-item > a")).to_have_text([MODEL, MODEL2, SECRET])
    # the same model twice: refused, nothing added
    add_from_model_page(page, MODEL, choose="Reading list")
    expect(page.locator(".flash.error")).to_have_text("This model is already in that collection.")
    expect(page.locator(".collection-item")).to_have_count(3)

    page.goto(f"/{OWNER}")
    expect(page.locator("#collections-h")).to_have_text("Collections")
    expect(page.locator(".collection-list a")).to_have_text(["Reading list"])
    with page.expect_navigation():
        page.locator(".collection-list a").click()
    assert unquote(page.url).endswith(f"/collections/{slug}")

    # another reader: the public collection without the private model, and no edit buttons
    other = new_page()
    sign_in(other, OTHER)
    other.goto(f"/collections/{slug}")
    expect(other.locator(".collection-item > a")).to_have_text([MODEL, MODEL2])
    expect(other.locator("text=only for me")).to_have_count(0)
    expect(other.locator(".collection-item button")).to_have_count(0)
    other.goto(f"/{OWNER}")
    expect(other.locator(".collection-list a")).to_have_text(["Reading list"])

    # the owner removes an entry, then deletes the collection
    page.goto(f"/collections/{slug}")
    with page.expect_navigation():
        page.locator(f".collection-item[data-item='{MODEL2}'] button").click()
    expect(page.locator(".collection-item > a")).to_have_text([MODEL, SECRET])
    page.locator("text=Delete collection").click()
    with page.expect_navigation():
        page.locator("text=I understand, delete this collection").click()
    assert page.url.endswith(f"/{OWNER}")
    expect(page.locator(".flash")).to_have_text("The collection Reading list was deleted.")
    expect(page.locator("#collections-h")).to_have_count(0)
    assert page.goto(f"/collections/{slug}").status == 404


def test_private_collection_is_kept_from_other_readers(new_page, hub, tokens):
    c = hub.api(tokens[OWNER]).create_collection("Hidden shelf", private=True)
    owner = new_page()
    sign_in(owner, OWNER)
    owner.goto(f"/{OWNER}")
    expect(owner.locator(".collection-list li", has_text="Hidden shelf")).to_contain_text("private")
    anonymous = new_page()
    anonymous.goto(f"/{OWNER}")
    expect(anonymous.locator("text=Hidden shelf")).to_have_count(0)
    assert anonymous.goto(f"/collections/{c.slug}").status == 404
    # the add form offers no collection of someone else, and a forged choice adds nothing
    other = new_page()
    sign_in(other, OTHER)
    other.goto(f"/{MODEL}")
    expect(other.locator("#add-coll-select")).to_have_count(0)
    other.evaluate("""slug => {
        const f = document.querySelector('.add-to-collection form');
        const s = document.createElement('input'); s.type = 'hidden'; s.name = 'collection'; s.value = slug;
        f.appendChild(s); }""", c.slug)
    other.locator(".add-to-collection summary").click()
    with other.expect_navigation():
        other.locator(".add-to-collection button[type=submit]").click()
    expect(other.locator(".flash.error")).to_have_text("You cannot add to that collection.")
    assert hub.api(tokens[OWNER]).get_collection(c.slug).items == []


def test_add_to_collection_in_chinese(new_page, hub, tokens):
    title = "中文模型合集"
    c = hub.api(tokens[ZH_OWNER]).create_collection(title, description="好模型")
    page = new_page(locale="zh-CN")
    sign_in(page, ZH_OWNER)
    page.goto(f"/{MODEL}")
    expect(page.locator(".add-to-collection summary")).to_have_text("添加到合集")
    expect(page.locator("label[for=add-coll-select]")).to_have_text("合集")
    expect(page.locator("label[for=add-coll-note]")).to_have_text("备注")
    add_from_model_page(page, MODEL, choose=title, note="推荐")
    assert unquote(page.url).endswith(f"/collections/{c.slug}")
    expect(page.locator(".flash")).to_have_text(f"已将 {MODEL} 添加到合集。")
    expect(page.locator("h1")).to_have_text(title)
    expect(page.locator("#items-h")).to_have_text("1 个条目")
    expect(page.locator(".collection-item .badge").first).to_have_text("模型")
    expect(page.locator(".collection-note")).to_have_text("推荐")
    expect(page.locator("#manage-h")).to_have_text("管理")
    page.goto(f"/{ZH_OWNER}")
    expect(page.locator("#collections-h")).to_have_text("合集")
    expect(page.locator(".collection-list a")).to_have_text([title])
    # a new collection from the form, in Chinese
    add_from_model_page(page, MODEL2, new_title="第二个合集")
    expect(page.locator("h1")).to_have_text("第二个合集")
    add_from_model_page(page, MODEL2, new_title="第二个合集")
    expect(page.locator(".flash.error")).to_have_text("你已经有一个同名的合集。")


def test_site_search_suggests_collections(page, hub, tokens):
    c = hub.api(tokens[OWNER]).create_collection("Wombat shelf", description="found by the search box")
    page.goto("/")
    page.fill("#site-q", "wombat")
    suggestion = page.locator(".quicksearch a", has_text="Wombat shelf")
    expect(suggestion).to_have_count(1)
    with page.expect_navigation():
        suggestion.click()
    assert unquote(page.url).endswith(f"/collections/{c.slug}")
    expect(page.locator("h1")).to_have_text("Wombat shelf")


def test_forms_need_the_csrf_token(hub, tokens):
    r = hub.request("POST", f"/{MODEL}/add-to-collection", data={"new_title": "forged"}, follow_redirects=False)
    assert r.status_code == 400
    assert [c.title for c in hub.api(tokens[OWNER]).list_collections(owner=OWNER)
            if c.title == "forged"] == []
