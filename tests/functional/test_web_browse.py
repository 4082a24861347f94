"""The website in a real browser (headless Chromium): accounts, model pages, the model list,
likes, languages, error pages, keyboard use, the phone layout, and no request leaving the hub.

Models are published with the real HF client, as users do; the list pages read the search index,
which follows commits within a second or so, so the module fixture waits for it once.
"""

from __future__ import annotations

import re
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from huggingface_hub import CommitOperationAdd
from playwright.sync_api import expect

import hub as hub_package
from tests.support.browser import (PHONE_VIEWPORT, browser, new_page, page, password_of, sign_in,  # noqa: F401
                                   wider_than_screen)
from tests.support.waiting import poll

pytest_plugins = ["tests.support.browser"]  # the failure screenshots' report hook

OWNER, FAN, SIGNER, PAGER = "browseowner", "browsefan", "browsesigner", "browsepager"
CARD = f"{OWNER}/card-model"
OTHER = f"{OWNER}/other-model"
SECRET = f"{OWNER}/secret-model"
TAG = "browsetest-tag"
WORD = "browsecardword"
PAGER_REPOS = 31  # the web list shows 30 a page
ZH_CATALOGUE = Path(hub_package.__file__).parent / "translations" / "zh" / "LC_MESSAGES" / "messages.mo"

README = f"""---
license: apache-2.0
language:
- zh
- en
pipeline_tag: text-classification
tags:
- {TAG}
- sentiment
industry:
- finance
---
# Browse card model

A sentiment classifier for financial news (金融新闻情感分类). Search word: {WORD}.

| Metric | Value |
|--------|-------|
| Accuracy | 0.93 |
| F1 | 0.91 |

```python
from transformers import pipeline
classifier = pipeline("text-classification", model="{CARD}")
```

![Architecture diagram](assets/diagram.png)

<script>window.__cardScript = 1</script>
<img src="x" onerror="window.__cardScript = 2">
""".encode()

OTHER_README = f"""---
license: mit
pipeline_tag: image-classification
tags:
- {TAG}
industry:
- manufacturing
---
# Other model

Finds defects on a production line.
""".encode()


def png(width: int = 64, height: int = 32) -> bytes:
    """A small valid PNG (a blue bar), so the card's relative image really loads."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + b"\x2e\x5b\xff" * width
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def world(hub):
    """Users and models for the whole module, created once; waits until the search index has them."""
    owner, _fan, _signer, pager = hub.users(OWNER, FAN, SIGNER, PAGER)
    pager_api = hub.api(pager)
    with ThreadPoolExecutor(4) as pool:  # created first: the card model stays the most recently updated
        list(pool.map(lambda i: pager_api.create_repo(f"{PAGER}/pager-{i:02d}"), range(PAGER_REPOS)))
    api = hub.api(owner)
    api.create_repo(SECRET, private=True)
    api.upload_file(path_or_fileobj=b"# Secret\n\nNot for you.\n", path_in_repo="README.md", repo_id=SECRET)
    api.create_repo(OTHER)
    api.upload_file(path_or_fileobj=OTHER_README, path_in_repo="README.md", repo_id=OTHER)
    api.create_repo(CARD)
    api.create_commit(CARD, operations=[CommitOperationAdd("assets/diagram.png", png()),
                                        CommitOperationAdd("config.json", b'{"model_type": "bert"}')],
                      commit_message="Weights and assets")
    api.upload_file(path_or_fileobj=README, path_in_repo="README.md", repo_id=CARD)
    for _ in range(2):  # two downloads, as the Hub counts them (config.json fetches)
        assert hub.get(f"/{CARD}/resolve/main/config.json").status_code == 200

    def indexed():
        tagged = hub.get("/api/search", params={"tag": TAG}).json()["total"]
        paged = hub.get("/api/search", params={"author": PAGER}).json()["total"]
        quick = [m["id"] for m in hub.get("/api/quicksearch", params={"q": "card-model"}).json()["models"]]
        word = [h["id"] for h in hub.get("/api/search", params={"q": WORD}).json()["hits"]]
        return tagged, paged, CARD in quick, word

    state = poll(indexed, lambda s: s == (2, PAGER_REPOS, True, [CARD]), timeout=15.0)
    assert state == (2, PAGER_REPOS, True, [CARD]), f"search index did not catch up: {state}"
    return hub


def listed(page) -> list[str]:
    return page.locator("main .model-list .model-item > a strong").all_inner_texts()


def header_user(page):
    return page.locator(".site-header .menu summary")


# ---- accounts ----------------------------------------------------------------------------------

def test_sign_up_through_the_form(page, world):
    page.goto("/join")
    expect(page.locator("#username")).to_be_focused()  # autofocus
    page.fill("#username", "browsenewbie")
    page.fill("#email", "newbie@example.org")
    page.fill("#password", "a-long-password")
    page.fill("#confirm", "a-long-password")
    with page.expect_navigation():
        page.get_by_role("button", name="Sign up").click()
    assert page.url == world.url + "/"
    expect(header_user(page)).to_have_text("browsenewbie")
    expect(page.get_by_role("link", name="Sign in")).to_have_count(0)
    # The account exists: the profile page answers.
    assert page.goto("/browsenewbie").status == 200


def test_bad_sign_up_shows_the_message_next_to_the_field_and_keeps_the_username(page, world):
    page.goto("/join")
    page.fill("#username", "browsemismatch")
    page.fill("#password", "a-long-password")
    page.fill("#confirm", "another-password")
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="Sign up").click()
    assert nav.value.status == 400
    confirm_field = page.locator(".field", has=page.locator("#confirm"))
    expect(confirm_field).to_have_class(re.compile(r"\bhas-error\b"))
    expect(confirm_field.locator(".field-error")).to_have_text("Passwords do not match.")
    expect(page.locator("#confirm")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#confirm")).to_have_attribute("aria-describedby", "confirm-error")
    expect(page.locator("#confirm-error")).to_be_visible()
    # Only the field at fault is marked; what the user typed is kept (but not the passwords).
    expect(page.locator(".field.has-error")).to_have_count(1)
    expect(page.locator("#username")).to_have_value("browsemismatch")
    expect(page.locator("#confirm")).to_have_value("")
    expect(header_user(page)).to_have_count(0)
    assert page.goto("/browsemismatch").status == 404  # no account was created


def test_sign_in_returns_to_the_page_and_sign_out(page, world):
    page.goto(f"/{CARD}")
    with page.expect_navigation():
        page.locator(".site-header").get_by_role("link", name="Sign in").click()
    assert "/login?next=" in page.url
    # A wrong password: the message, the username kept.
    page.fill("#username", SIGNER)
    page.fill("#password", "not-the-password")
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="Sign in").click()
    assert nav.value.status == 400
    expect(page.locator(".form-error")).to_have_text("Wrong username or password.")
    expect(page.locator("#username")).to_have_value(SIGNER)
    # The right one: back on the model page, signed in.
    page.fill("#password", password_of(SIGNER))
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert page.url == f"{world.url}/{CARD}"
    expect(header_user(page)).to_have_text(SIGNER)
    # Sign out from the user menu.
    header_user(page).click()
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    assert page.url == world.url + "/"
    expect(header_user(page)).to_have_count(0)
    expect(page.locator(".site-header").get_by_role("link", name="Sign in")).to_be_visible()
    page.goto(f"/{CARD}")
    expect(page.locator("button[data-like]")).to_have_count(0)  # the session is really gone


# ---- the model page ------------------------------------------------------------------------------

def test_model_page_renders_the_card(page, world):
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    resp = page.goto(f"/{CARD}")
    assert resp.status == 200
    expect(page).to_have_title(f"{CARD} · ModelHub")
    expect(page.locator(".repo-header h1")).to_contain_text("card-model")
    card = page.locator("article.card-body")
    expect(card.locator("h2").first).to_have_text("Browse card model")  # the card's "#", under the page's h1
    expect(page.locator("h1")).to_have_count(1)
    # The table, rendered as a table.
    expect(card.locator("table th")).to_have_text(["Metric", "Value"])
    expect(card.locator("table tbody tr")).to_have_count(2)
    expect(card.locator("table tbody tr").first.locator("td")).to_have_text(["Accuracy", "0.93"])
    # The fenced code block, highlighted but with the code intact.
    code = card.locator("pre code, .highlight pre")
    expect(code.first).to_contain_text('classifier = pipeline("text-classification"')
    # The relative image resolves to the repository's file and really loads.
    img = card.locator("img[alt='Architecture diagram']")
    expect(img).to_have_attribute("src", f"/{CARD}/resolve/main/assets/diagram.png")
    page.wait_for_function("(img) => img.complete && img.naturalWidth === 64", arg=img.element_handle())
    # No script from the card: neither the tag nor an event handler ran or survived.
    assert card.locator("script").count() == 0
    assert card.locator("[onerror], [onload], [onclick]").count() == 0
    assert page.evaluate("window.__cardScript") is None
    # The card's languages: its article says so (zh first), the page itself stays English.
    expect(card).to_have_attribute("lang", "zh")
    assert page.locator("html").get_attribute("lang") == "en"
    assert errors == []


def test_model_page_sidebar(page, world):
    page.goto(f"/{CARD}")
    side = page.locator("aside.sidebar")

    def value(term: str):
        return side.locator(f"dt:text-is('{term}') + dd")

    lic = value("License").get_by_role("link")
    expect(lic).to_have_text("Apache License 2.0")
    expect(lic).to_have_attribute("href", "/licenses/apache-2.0")
    task = value("Task").get_by_role("link")
    expect(task).to_have_text("text-classification")
    expect(task).to_have_attribute("href", "/models?task=text-classification")
    expect(value("Downloads last month")).to_have_text("2")
    expect(value("Languages")).to_have_text("zh, en")
    expect(value("Industry")).to_have_text("finance")
    expect(side.locator(".actions")).to_have_text("♥ 0")  # anonymous: the count, no button
    expect(side.locator("#use-snippet")).to_contain_text(f'snapshot_download("{CARD}")')
    expect(side.locator("#use-snippet")).to_contain_text(f'HF_ENDPOINT"] = "{world.url}"')
    # The tags in the header link to the filtered list.
    expect(page.locator(f".repo-header a.tag:text-is('{TAG}')")).to_have_attribute("href", f"/models?tag={TAG}")
    # The license link leads to the license page.
    with page.expect_navigation():
        lic.click()
    expect(page.locator("main")).to_contain_text("Apache License 2.0")


def test_like_and_unlike_from_the_model_page(page, world):
    sign_in(page, FAN)
    page.goto(f"/{CARD}")
    button, count = page.locator("button[data-like]"), page.locator("[data-likes]")
    expect(button).to_have_attribute("aria-pressed", "false")
    expect(button).to_contain_text("Like")
    expect(count).to_have_text("0")
    with page.expect_navigation():
        button.click()
    assert page.url == f"{world.url}/{CARD}"
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(button).to_contain_text("Unlike")
    expect(count).to_have_text("1")
    assert [u["user"] for u in world.get(f"/api/models/{CARD}/likers").json()] == [FAN]
    with page.expect_navigation():
        button.click()
    expect(button).to_have_attribute("aria-pressed", "false")
    expect(count).to_have_text("0")


def test_home_page_lists_the_model(page, world):
    page.goto("/")
    recent = page.locator("section", has=page.get_by_role("heading", name="Recently updated"))
    first = recent.locator(".model-item").first
    expect(first.locator("a strong")).to_have_text(CARD)
    expect(first.locator(".tag")).to_have_text("text-classification")
    with page.expect_navigation():
        first.get_by_role("link").click()
    assert page.url == f"{world.url}/{CARD}"


def test_unknown_model_is_the_sites_own_404_page(page, world):
    resp = page.goto(f"/{OWNER}/no-such-model")
    assert resp.status == 404
    assert resp.headers["content-type"].startswith("text/html")
    expect(page).to_have_title("404 · ModelHub")
    expect(page.locator(".error-page h1")).to_have_text("404 · Not found")
    expect(page.locator(".site-header .brand")).to_be_visible()  # the site's layout, not a bare error
    with page.expect_navigation():
        page.get_by_role("link", name="Back to the home page").click()
    assert page.url == world.url + "/"


def test_private_model_is_404_for_everyone_else(new_page, world):
    anonymous = new_page()
    assert anonymous.goto(f"/{SECRET}").status == 404
    expect(anonymous.locator(".error-page")).to_be_visible()
    fan = new_page()
    sign_in(fan, FAN)
    resp = fan.goto(f"/{SECRET}")
    assert resp.status == 404
    expect(fan.locator(".error-page h1")).to_have_text("404 · Not found")
    expect(fan.locator("main")).not_to_contain_text("secret-model")
    owner = new_page()
    sign_in(owner, OWNER)
    assert owner.goto(f"/{SECRET}").status == 200
    expect(owner.locator(".repo-header .badge")).to_have_text("private")


# ---- the model list --------------------------------------------------------------------------------

def test_search_from_the_header(page, world):
    page.goto("/")
    page.fill("#site-q", WORD)
    with page.expect_navigation():
        page.press("#site-q", "Enter")
    assert f"search={WORD}" in page.url
    assert listed(page) == [CARD]
    expect(page.locator("#site-q")).to_have_value(WORD)  # the box keeps the query on the results
    expect(page.locator("main .snippet mark").first).to_have_text(WORD)
    expect(page.locator("#sort")).to_have_value("relevance")


def test_facet_filters_narrow_the_list(page, world):
    page.goto(f"/models?tag={TAG}")
    assert sorted(listed(page)) == sorted([CARD, OTHER])
    mit = page.locator("a[data-facet=license][data-value=mit]")
    expect(mit).not_to_have_class(re.compile(r"\bactive\b"))
    with page.expect_navigation():
        mit.click()
    assert "license=mit" in page.url and f"tag={TAG}" in page.url
    assert listed(page) == [OTHER]
    mit = page.locator("a[data-facet=license][data-value=mit]")
    expect(mit).to_have_class(re.compile(r"\bactive\b"))
    expect(mit).to_have_attribute("aria-current", "true")
    expect(page.locator(".facets a.active")).to_have_count(1)
    # Clicking the active filter removes it (and only it).
    with page.expect_navigation():
        mit.click()
    assert "license=" not in page.url and f"tag={TAG}" in page.url
    assert sorted(listed(page)) == sorted([CARD, OTHER])
    expect(page.locator(".facets a.active")).to_have_count(0)
    # Two facets combine.
    with page.expect_navigation():
        page.locator("a[data-facet=industry][data-value=finance]").click()
    assert listed(page) == [CARD]
    expect(page.locator("a[data-facet=license][data-value=mit]")).to_have_count(0)  # no longer a choice


def test_an_active_filter_with_no_results_can_be_removed(page, world):
    page.goto(f"/models?tag={TAG}&license=mit&industry=finance")
    expect(page.locator("main")).to_contain_text("No model matches.")
    active = page.locator("a[data-facet=license][data-value=mit]")
    expect(active).to_have_attribute("aria-current", "true", timeout=2_000)
    with page.expect_navigation():
        active.click()
    assert listed(page) == [CARD]


def test_sort_select_keeps_the_filters(page, world):
    page.goto(f"/models?tag={TAG}")
    expect(page.locator("#sort")).to_have_value("trending")
    expect(page.locator("#sort option[value=relevance]")).to_have_count(0)  # only with a search
    with page.expect_navigation():
        page.select_option("#sort", "created")
    assert "sort=created" in page.url and f"tag={TAG}" in page.url
    expect(page.locator("#sort")).to_have_value("created")
    assert listed(page) == [CARD, OTHER]  # the card model was created last


def test_pagination_links(page, world):
    page.goto(f"/models?author={PAGER}&sort=created")
    expect(page.locator(".toolbar h1 .meta")).to_have_text(f"{PAGER_REPOS} results")
    first_page = listed(page)
    assert len(first_page) == 30
    pager = page.locator("nav.pager")
    expect(pager.locator("a[rel=prev]")).to_have_count(0)
    expect(pager).to_contain_text("Page 1")
    with page.expect_navigation():
        pager.locator("a[rel=next]").click()
    assert "p=1" in page.url and f"author={PAGER}" in page.url and "sort=created" in page.url
    expect(pager).to_contain_text("Page 2")
    expect(pager.locator("a[rel=next]")).to_have_count(0)
    second_page = listed(page)
    assert len(second_page) == 1
    assert set(first_page + second_page) == {f"{PAGER}/pager-{i:02d}" for i in range(PAGER_REPOS)}
    with page.expect_navigation():
        pager.locator("a[rel=prev]").click()
    assert "p=" not in page.url
    assert listed(page) == first_page


# ---- languages ---------------------------------------------------------------------------------------

def test_switch_to_chinese_from_the_header(page, world):
    page.goto(f"/models?tag={TAG}")
    assert page.locator("html").get_attribute("lang") == "en"
    switch = page.locator(".site-header a[data-lang=zh]")
    expect(switch).to_have_text("简体中文")
    with page.expect_navigation():
        switch.click()
    assert page.url == f"{world.url}/models?tag={TAG}"  # back on the same page
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["lang"]["value"] == "zh"
    assert cookies["lang"]["httpOnly"] and cookies["lang"]["sameSite"] == "Lax"
    expect(page.locator(".site-header a[data-lang=en]")).to_have_text("English")
    expect(page.locator(".site-header a[data-lang=zh]")).to_have_count(0)
    # The choice sticks across pages, and switching back works.
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    with page.expect_navigation():
        page.locator(".site-header a[data-lang=en]").click()
    assert page.locator("html").get_attribute("lang") == "en"


@pytest.mark.skipif(not ZH_CATALOGUE.exists(),
                    reason="no compiled Chinese catalogue (hub/translations/zh/LC_MESSAGES/messages.mo) yet: "
                           "the labels cannot differ from English")
def test_chinese_nav_labels_differ_from_english(page, world):
    page.goto("/")
    english = page.locator(".nav-links").inner_text()
    with page.expect_navigation():
        page.locator(".site-header a[data-lang=zh]").click()
    chinese = page.locator(".nav-links").inner_text()
    assert page.locator(".nav-links a[href='/models']").inner_text() != "Models"
    assert chinese != english


def test_accept_language_chinese_is_the_default(new_page, world):
    zh = new_page(locale="zh-CN")
    zh.goto("/")
    assert zh.locator("html").get_attribute("lang") == "zh-CN"
    expect(zh.locator(".site-header a[data-lang=en]")).to_be_visible()
    assert not any(c["name"] == "lang" for c in zh.context.cookies())  # chosen per request, not stored
    en = new_page(locale="en-US")
    en.goto("/")
    assert en.locator("html").get_attribute("lang") == "en"


# ---- keyboard ---------------------------------------------------------------------------------------

def test_tab_reaches_the_skip_link_first_then_the_search_box(page, world):
    page.goto(f"/{CARD}")
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()  # visible once focused
    box = skip.bounding_box()
    assert box and box["x"] >= 0 and box["y"] >= 0
    for _ in range(4):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "site-q":
            break
    expect(page.locator("#site-q")).to_be_focused()
    # The skip link itself takes keyboard users to the content.
    page.keyboard.press("Shift+Tab")
    while page.evaluate("document.activeElement.className") != "skip-link":
        page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    assert page.url.endswith("#main")
    page.keyboard.press("Tab")
    assert page.evaluate("!!document.activeElement.closest('main')"), "focus did not move into the content"


def test_quick_search_suggestions_and_arrow_keys(page, world):
    page.goto("/")
    box = page.locator("#site-q")
    box.click()
    page.keyboard.type("card-model", delay=20)
    suggestions = page.locator(".site-search .quicksearch")
    expect(suggestions).to_be_visible()
    link = suggestions.locator(f"a[href='/{CARD}']")
    expect(link).to_have_text(CARD)
    page.keyboard.press("ArrowDown")
    expect(suggestions.locator("a").first).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(box).to_be_focused()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Escape")
    expect(suggestions).to_be_hidden()
    expect(box).to_be_focused()
    # Typing again brings them back; Enter on a focused suggestion opens it.
    page.keyboard.press("Backspace")
    expect(suggestions).to_be_visible()
    page.keyboard.press("ArrowDown")
    expect(link).to_be_focused()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == f"{world.url}/{CARD}"


# ---- layout and privacy ---------------------------------------------------------------------------------

def test_phone_layout_has_no_horizontal_scroll(new_page, world):
    phone = new_page(viewport=PHONE_VIEWPORT)
    wide = wider_than_screen(phone, ("/", f"/models?tag={TAG}", f"/models?search={WORD}", f"/{CARD}", "/licenses",
                                     "/join"))
    assert wide == {}, f"pages wider than the {PHONE_VIEWPORT['width']}px screen (scrollWidth, widest elements): {wide}"


def test_no_request_leaves_the_hub(page, world):
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url))
    for path in ("/", f"/models?tag={TAG}", f"/{CARD}", "/join", f"/{OWNER}/no-such-model"):
        page.goto(path)
    page.fill("#site-q", "card")  # the quick search's fetch too
    expect(page.locator(".quicksearch")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert any(u.endswith("/assets/diagram.png") for u in seen)  # subresources are recorded too
    assert any("/api/quicksearch?" in u for u in seen)
    outside = [u for u in seen if not u.startswith(world.url + "/")]
    assert outside == [], f"requests outside {world.url}: {outside}"
