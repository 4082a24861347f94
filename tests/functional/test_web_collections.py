"""Collections on the website, in a real browser (headless Chromium), in English and in Chinese:
"add to collection" on a model page (a new collection, or one the reader has), the collection page
with its entries and notes, the Collections section of a user page, private collections and private
entries kept from other readers, the owner's edits (title, description, visibility, colour, an entry's
note and place), removing an entry and deleting a collection, CSRF on the forms."""

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
        page.locator(f".collection-item[data-item='{MODEL2}']").get_by_role("button", name="Remove").click()
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


def test_owner_edits_the_collection_and_its_entries(new_page, hub, tokens):
    api = hub.api(tokens[OWNER])
    c = api.create_collection("Shelf to edit", description="before")
    for repo_id in (MODEL, MODEL2, SECRET):
        api.add_collection_item(c.slug, repo_id, "model")
    page = new_page()
    sign_in(page, OWNER)
    page.goto(f"/collections/{c.slug}")
    # the last entry one place up, then the first one down: the ends have nothing to move past
    expect(page.locator(".collection-item").first.locator("button[value=up]")).to_be_disabled()
    expect(page.locator(".collection-item").last.locator("button[value=down]")).to_be_disabled()
    with page.expect_navigation():
        page.get_by_role("button", name=f"Move {SECRET} up").click()
    expect(page.locator(".collection-item > a")).to_have_text([MODEL, SECRET, MODEL2])
    with page.expect_navigation():
        page.get_by_role("button", name=f"Move {MODEL} down").click()
    expect(page.locator(".collection-item > a")).to_have_text([SECRET, MODEL, MODEL2])
    assert [i.item_id for i in api.get_collection(c.slug).items] == [SECRET, MODEL, MODEL2]

    # a note on the second entry, in Markdown
    item = page.locator(".collection-item", has_text=MODEL2)
    item.locator(".collection-note-edit summary").click()
    item.locator("textarea").fill("Fast on **CPU**")
    with page.expect_navigation():
        item.get_by_role("button", name="Save note").click()
    expect(page.locator(".collection-item", has_text=MODEL2).locator(".collection-note strong")).to_have_text("CPU")
    assert {i.item_id: i.note for i in api.get_collection(c.slug).items}[MODEL2] == "Fast on **CPU**"

    # title, description, colour and visibility: a new title gives a new address, the old one leads there
    page.locator(".collection-edit summary").click()
    page.fill("#title", "Edited shelf")
    page.fill("#description", "after")
    page.select_option("#theme", "green")
    page.check("#private")
    with page.expect_navigation():
        page.locator(".collection-edit button[type=submit]").click()
    expect(page.locator(".flash")).to_have_text("Saved.")
    expect(page.locator("h1")).to_have_text("Edited shelf")
    edited = api.get_collection(c.slug)
    assert (edited.title, edited.description, edited.theme, edited.private) == ("Edited shelf", "after", "green", True)
    assert unquote(page.url).endswith(f"/collections/{edited.slug}") and edited.slug != c.slug
    expect(page.locator(".collection-header")).to_have_class(re.compile(r"theme-green"))
    anonymous = new_page()
    assert anonymous.goto(f"/collections/{edited.slug}").status == 404  # private now

    # an empty title is refused with the field's name, and nothing changes
    page.locator(".collection-edit summary").click()
    page.fill("#title", "")
    with page.expect_navigation():
        page.locator(".collection-edit button[type=submit]").click()
    expect(page.locator(".flash.error")).to_contain_text("Title")
    assert api.get_collection(edited.slug).title == "Edited shelf"

    # someone else can neither see the tools nor use them
    other = new_page()
    sign_in(other, OTHER)
    api.update_collection_metadata(edited.slug, private=False)
    other.goto(f"/collections/{edited.slug}")
    expect(other.locator(".collection-item-tools")).to_have_count(0)
    expect(other.locator(".collection-edit")).to_have_count(0)
    item_id = api.get_collection(edited.slug).items[1].item_object_id  # a public model: the reader sees it
    status = other.evaluate("""async ([slug, item]) => {
        const token = document.querySelector('input[name=csrf_token]')?.value
            || document.querySelector('meta[name=csrf-token]')?.content || '';
        const r = await fetch(`/collections/${slug}/items/${item}/move`, {method: 'POST',
            headers: {'Content-Type': 'application/x-www-form-urlencoded'},
            body: `to=down&csrf_token=${encodeURIComponent(token)}`, redirect: 'manual'});
        return r.status; }""", [edited.slug, item_id])
    assert status == 403
    assert [i.item_id for i in api.get_collection(edited.slug).items] == [SECRET, MODEL, MODEL2]


def test_collection_edit_forms_in_chinese(new_page, hub, tokens):
    c = hub.api(tokens[ZH_OWNER]).create_collection("待编辑的合集")
    hub.api(tokens[ZH_OWNER]).add_collection_item(c.slug, MODEL, "model")
    page = new_page(locale="zh-CN")
    sign_in(page, ZH_OWNER)
    page.goto(f"/collections/{c.slug}")
    expect(page.locator(".collection-edit summary")).to_have_text("编辑合集")
    expect(page.locator("label[for=title]")).to_have_text("标题")
    expect(page.locator("#theme option[value=green]")).to_have_text("绿色")
    expect(page.locator(".collection-note-edit summary")).to_have_text("添加备注")
    page.locator(".collection-edit summary").click()
    page.fill("#title", "改好的合集")
    with page.expect_navigation():
        page.locator(".collection-edit button[type=submit]").click()
    expect(page.locator(".flash")).to_have_text("已保存。")
    expect(page.locator("h1")).to_have_text("改好的合集")


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
