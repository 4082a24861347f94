"""The website, round 2 (issue #22) in a real browser (headless Debian Chromium): search snippets
without Markdown, copy buttons that work without a secure context, "Use this model" per library,
the phone layout of the list and of the model page, filters shown as chips, numbered pages, the
header's hidden tags, the status page, the moderation queue's empty state, `license: other`.

Models are published with the real HF client; the list pages read the search index, which the
module fixture waits for once.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from huggingface_hub import CommitOperationAdd
from playwright.sync_api import expect

from tests.support.browser import (DEFAULT_TIMEOUT_MS, PHONE_VIEWPORT, browser, launch_chromium,  # noqa: F401
                                   new_page, page, sign_in)
from tests.support.live import start_hub
from tests.support.waiting import poll

pytest_plugins = ["tests.support.browser"]  # the failure screenshots' report hook

OWNER, PAGER = "uxowner", "uxpager"
CARD = f"{OWNER}/markdown-card"
WORD = "uxsnippetword"
TAG = "uxround2-tag"
MANY_TAGS = [f"uxtag-{i:02d}" for i in range(16)]
PAGER_REPOS = 61  # 30 a page: three pages
LICENSE_LINK = "https://example.org/uxowner-model-license"

README = f"""---
license: other
license_name: uxowner-license
license_link: {LICENSE_LINK}
library_name: transformers
pipeline_tag: text-classification
tags:
- {TAG}
{''.join(f'- {t}{chr(10)}' for t in MANY_TAGS)}---
# Markdown card

## Results on {WORD}

The **bold claim** about {WORD}: it is _very_ good, see the `table` below.

| Model | Precision | Recall | F1 | Accuracy | Throughput (tokens/s) | Latency p95 (ms) | Memory (MiB) |
|-------|-----------|--------|----|----------|-----------------------|------------------|--------------|
| markdown-card-large-v2 | 0.93123456 | 0.91234567 | 0.92345678 | 0.94567890 | 123456789.123 | 98765.4321 | 1234567.89 |
| markdown-card-base-v2 | 0.90123456 | 0.89234567 | 0.89345678 | 0.91567890 | 223456789.123 | 88765.4321 | 834567.89 |
""".encode()


def library_card(library: str | None, task: str | None, extra: str = "") -> bytes:
    front = "".join([f"library_name: {library}\n" if library else "", f"pipeline_tag: {task}\n" if task else "",
                     "license: mit\n", extra])
    return f"---\n{front}---\n# A model\n\nIt does things.\n".encode()


LIBRARIES = {  # repo name: (library_name, pipeline_tag, extra front matter)
    "tf-classifier": ("transformers", "text-classification", ""),
    "tf-causal": ("transformers", "text-generation", ""),
    "tf-none": ("transformers", None, ""),
    "st-embedder": ("sentence-transformers", "sentence-similarity", ""),
    "sd-painter": ("diffusers", "text-to-image", ""),
    "yolo-detector": ("ultralytics", "object-detection", ""),
    "timm-net": ("timm", "image-classification", ""),
    "llama-gguf": ("gguf", "text-generation", "tags:\n- gguf\n"),
    "no-library": (None, None, ""),
}


@pytest.fixture(scope="module")
def world(hub):
    """Users and models for the whole module, created once; waits until the search index has them."""
    owner, pager = hub.users(OWNER, PAGER)
    pager_api = hub.api(pager)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: pager_api.create_repo(f"{PAGER}/page-{i:02d}"), range(PAGER_REPOS)))
    api = hub.api(owner)
    api.create_repo(CARD)
    api.upload_file(path_or_fileobj=README, path_in_repo="README.md", repo_id=CARD)
    for name, (library, task, extra) in LIBRARIES.items():
        api.create_repo(f"{OWNER}/{name}")
        api.upload_file(path_or_fileobj=library_card(library, task, extra), path_in_repo="README.md",
                        repo_id=f"{OWNER}/{name}")
    # license: other whose license_link is the repository's own LICENSE file (common on the Hub).
    api.create_repo(f"{OWNER}/own-license")
    api.create_commit(f"{OWNER}/own-license", operations=[
        CommitOperationAdd("README.md", b"---\nlicense: other\nlicense_name: own-license\nlicense_link: LICENSE\n---\n# Own license\n"),
        CommitOperationAdd("LICENSE", b"You may use this model for good only.\n")], commit_message="Card")

    def indexed():
        paged = hub.get("/api/search", params={"author": PAGER}).json()["total"]
        owned = hub.get("/api/search", params={"author": OWNER}).json()["total"]
        word = [h["id"] for h in hub.get("/api/search", params={"q": WORD}).json()["hits"]]
        return paged, owned, word

    want = (PAGER_REPOS, 2 + len(LIBRARIES), [CARD])
    state = poll(indexed, lambda s: s == want, timeout=30.0)
    assert state == want, f"search index did not catch up: {state}"
    return hub


def listed(page) -> list[str]:
    return page.locator("main .model-list .model-item > a strong").all_inner_texts()


# ---- bug 2: snippets quote the rendered card ----------------------------------------------------------

def test_search_snippets_show_the_cards_text_not_its_markdown(page, world):
    page.goto(f"/models?search={WORD}")
    assert listed(page) == [CARD]
    snippet = page.locator("main .snippet")
    expect(snippet).to_have_count(1)
    expect(snippet.locator("mark").first).to_have_text(WORD)
    text = snippet.inner_text()
    assert "bold claim" in text, text
    for mark in ("**", "##", "|", "_very_", "`", "---"):
        assert mark not in text, f"{mark!r} in the snippet {text!r}"


# ---- bug 3: copy buttons without a secure context, and what they copy ---------------------------------

LAN = "modelhub.lan"


@pytest.fixture(scope="module")
def lan_browser(browser):
    """A Chromium that reaches the hub as http://modelhub.lan:PORT: plain HTTP by host name, so no
    secure context and no navigator.clipboard, as on a hub served on a local network."""
    b = launch_chromium(f"--host-resolver-rules=MAP {LAN} 127.0.0.1")
    yield b
    b.close()


def pasted(page, text_of_button: str) -> str:
    """What the clipboard holds, pasted into a textarea (Ctrl+V: what a user does)."""
    page.evaluate("""() => { const t = document.createElement('textarea'); t.id = 'paste-here';
                             document.body.prepend(t); t.focus(); }""")
    page.keyboard.press("Control+V")
    value = page.locator("#paste-here").input_value()
    page.evaluate("document.getElementById('paste-here').remove()")
    return value


@pytest.mark.parametrize("locale,copied", [("en-US", "Copied"), ("zh-CN", "已复制")])
def test_copy_buttons_work_over_plain_http_by_host_name(lan_browser, world, locale, copied):
    port = world.url.rsplit(":", 1)[1]
    base = f"http://{LAN}:{port}"
    ctx = lan_browser.new_context(viewport={"width": 1280, "height": 900}, locale=locale, base_url=base)
    ctx.set_default_timeout(DEFAULT_TIMEOUT_MS)
    try:
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"/{CARD}")
        assert page.evaluate("[window.isSecureContext, typeof navigator.clipboard]") == [False, "undefined"]
        # The repository id, from the header.
        button = page.locator(".repo-header button[data-copy-text]")
        label = button.inner_text()
        button.click()
        expect(button).to_have_text(copied)
        assert pasted(page, copied) == CARD
        expect(button).to_have_text(label, timeout=5_000)  # back to its label after a moment
        # The git clone line.
        clone = page.locator(".snippet .copy-line button")
        clone.click()
        expect(clone).to_have_text(copied)
        assert pasted(page, copied) == f"git clone {base}/{CARD}"
        # The "Use this model" code, every line of it.
        use = page.locator(".snippet button[data-copy='#use-snippet']")
        use.click()
        expect(use).to_have_text(copied)
        code = pasted(page, copied)
        assert code == page.locator("#use-snippet").inner_text().rstrip("\n")
        assert f'os.environ["HF_ENDPOINT"] = "{base}"' in code and f'from_pretrained("{CARD}")' in code
        assert code.count("\n") >= 5
        assert errors == []
    finally:
        ctx.close()


def test_copy_button_on_a_secure_origin_uses_the_clipboard_api(new_page, world):
    page = new_page()  # http://127.0.0.1: a secure context (loopback)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=world.url)
    page.goto(f"/{CARD}")
    assert page.evaluate("[window.isSecureContext, typeof navigator.clipboard]") == [True, "object"]
    button = page.locator(".repo-header button[data-copy-text]")
    button.click()
    expect(button).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == CARD


# ---- "Use this model" per library -------------------------------------------------------------------------

EXPECTED_SNIPPETS = {
    "tf-classifier": ["from transformers import pipeline",
                      f'pipeline("text-classification", model="{OWNER}/tf-classifier")',
                      f'AutoModelForSequenceClassification.from_pretrained("{OWNER}/tf-classifier")'],
    "tf-causal": [f'pipeline("text-generation", model="{OWNER}/tf-causal")',
                  f'AutoModelForCausalLM.from_pretrained("{OWNER}/tf-causal")'],
    "tf-none": [f'AutoModel.from_pretrained("{OWNER}/tf-none")', f'AutoTokenizer.from_pretrained("{OWNER}/tf-none")'],
    "st-embedder": ["from sentence_transformers import SentenceTransformer",
                    f'SentenceTransformer("{OWNER}/st-embedder")'],
    "sd-painter": ["from diffusers import DiffusionPipeline", f'DiffusionPipeline.from_pretrained("{OWNER}/sd-painter")'],
    "yolo-detector": ["from ultralytics import YOLO", f'hf_hub_download("{OWNER}/yolo-detector", "model.pt")'],
    "timm-net": ["import timm", f'timm.create_model("hf-hub:{OWNER}/timm-net", pretrained=True)'],
    "llama-gguf": ["from llama_cpp import Llama", f'Llama.from_pretrained(repo_id="{OWNER}/llama-gguf"'],
    "no-library": [f'snapshot_download("{OWNER}/no-library")'],
}


@pytest.mark.parametrize("name", sorted(EXPECTED_SNIPPETS))
def test_use_this_model_follows_the_library_and_task(page, world, name):
    page.goto(f"/{OWNER}/{name}")
    code = page.locator("#use-snippet").inner_text()
    assert f'os.environ["HF_ENDPOINT"] = "{world.url}"' in code
    for line in EXPECTED_SNIPPETS[name]:
        assert line in code, f"{line!r} not in the snippet of {name}:\n{code}"
    if name != "tf-none":
        assert "AutoModel." not in code  # the bare AutoModel only when nothing says more


def test_use_this_model_scrolls_instead_of_wrapping_identifiers(new_page, world):
    phone = new_page(viewport=PHONE_VIEWPORT)
    phone.goto(f"/{OWNER}/tf-classifier")
    pre = phone.locator("#use-snippet")
    width, scroll = pre.evaluate("e => [e.clientWidth, e.scrollWidth]")
    assert scroll > width, "the long lines should scroll inside the code block"
    # Each line of code is one line on screen: no identifier is cut.
    lines = pre.evaluate("""e => {
        const text = e.textContent.replace(/\\n$/, '');
        const range = document.createRange();
        range.selectNodeContents(e);
        const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
        return [text.split('\\n').length, tops.size];
    }""")
    assert lines[1] <= lines[0], f"{lines[0]} lines of code took {lines[1]} lines on screen"
    ident = "AutoModelForSequenceClassification.from_pretrained"
    rects = pre.evaluate("""(e, ident) => {
        const node = [...e.querySelectorAll('*'), e].flatMap(n => [...n.childNodes])
            .find(n => n.nodeType === 3 && n.textContent.includes(ident));
        const range = document.createRange();
        const at = node.textContent.indexOf(ident);
        range.setStart(node, at); range.setEnd(node, at + ident.length);
        return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
    }""", ident)
    assert rects == 1


# ---- bug 5: the phone layout ------------------------------------------------------------------------------

def test_phone_model_list_starts_on_the_first_screen_with_facets_behind_a_button(new_page, world):
    phone = new_page(viewport=PHONE_VIEWPORT)
    phone.goto(f"/models?author={PAGER}")
    first = phone.locator("main .model-item").first
    box = first.bounding_box()
    assert box and box["y"] + 40 < PHONE_VIEWPORT["height"], f"first result at {box}"
    groups = phone.locator(".facet-groups")
    expect(groups).to_be_hidden()
    toggle = phone.get_by_role("button", name=re.compile("^Filters"))
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(groups).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(phone.locator(f"a[data-facet=author][data-value={PAGER}]")).to_be_visible()
    toggle.click()
    expect(groups).to_be_hidden()


def test_desktop_model_list_keeps_the_facets_open(page, world):
    page.goto(f"/models?author={PAGER}")
    expect(page.locator(".facet-groups")).to_be_visible()
    expect(page.locator("[data-facets-toggle]")).to_be_hidden()
    facets, results = page.locator("aside.facets").bounding_box(), page.locator("main .model-list").bounding_box()
    assert facets["x"] + facets["width"] <= results["x"]  # side by side


def test_phone_card_table_scrolls_and_keeps_numbers_whole(new_page, world):
    phone = new_page(viewport=PHONE_VIEWPORT)
    phone.goto(f"/{CARD}")
    table = phone.locator("article.card-body table")
    client, scroll = table.evaluate("e => [e.clientWidth, e.scrollWidth]")
    assert scroll > client, "a wide table scrolls sideways"
    # Every word (letters, digits, dots: what lies between spaces and hyphens) is on one line.
    broken = table.evaluate("""t => {
        const out = [];
        for (const cell of t.querySelectorAll('th, td')) {
            const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
            for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                for (const m of node.textContent.matchAll(/[^\\s-]+/g)) {
                    const range = document.createRange();
                    range.setStart(node, m.index); range.setEnd(node, m.index + m[0].length);
                    const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
                    if (lines > 1) out.push(m[0]);
                }
            }
        }
        return out;
    }""")
    assert broken == [], f"words broken across lines: {broken}"
    assert phone.evaluate("document.scrollingElement.scrollWidth") == PHONE_VIEWPORT["width"]


def test_phone_model_page_shows_metadata_and_usage_before_the_card(new_page, world):
    phone = new_page(viewport=PHONE_VIEWPORT)
    phone.goto(f"/{CARD}")
    meta = phone.locator("aside.sidebar dl").bounding_box()
    use = phone.locator("#use-snippet").bounding_box()
    card = phone.locator("article.card-body").bounding_box()
    assert meta["y"] < use["y"] < card["y"], (meta, use, card)
    # On a desktop the card keeps its place on the left.
    desktop = new_page()
    desktop.goto(f"/{CARD}")
    card, side = desktop.locator("article.card-body").bounding_box(), desktop.locator("aside.sidebar").bounding_box()
    assert card["x"] < side["x"] and abs(card["y"] - side["y"]) < 5


# ---- bug 6: filters, pages, tags, status, moderation, licenses ----------------------------------------------

def test_active_filters_show_as_chips_that_clear_them(page, world):
    page.goto(f"/models?tag={TAG}&library=transformers")
    assert listed(page) == [CARD]
    chips = page.locator("main .chips .chip")
    expect(chips).to_have_count(2)
    expect(chips.nth(0)).to_contain_text(f"Tag: {TAG}")
    expect(chips.nth(1)).to_contain_text("Library: transformers")
    with page.expect_navigation():
        chips.nth(0).get_by_role("link", name=f"Remove the filter Tag: {TAG}").click()
    assert "tag=" not in page.url and "library=transformers" in page.url
    expect(page.locator("main .chips .chip")).to_have_count(1)
    assert CARD in listed(page) and f"{OWNER}/tf-classifier" in listed(page)
    with page.expect_navigation():
        page.locator("main .chips .chip a").click()
    expect(page.locator("main .chips")).to_have_count(0)
    assert page.url == f"{world.url}/models"


def test_chips_in_chinese(new_page, world):
    zh = new_page(locale="zh-CN")
    zh.goto(f"/models?tag={TAG}")
    expect(zh.locator("main .chips .chip")).to_contain_text(f"标签: {TAG}")
    expect(zh.locator("main .chips .chip a")).to_have_attribute("aria-label", f"移除筛选条件 标签：{TAG}")


def test_numbered_pages_with_the_count(page, world):
    page.goto(f"/models?author={PAGER}&sort=created")
    expect(page.locator(".toolbar h1 .meta")).to_have_text(f"{PAGER_REPOS} results")
    pager = page.locator("nav.pager")
    expect(pager.locator("ol a")).to_have_text(["1", "2", "3"])
    expect(pager.locator("a[aria-current=page]")).to_have_text("1")
    expect(pager).to_contain_text("Page 1 of 3")
    with page.expect_navigation():
        pager.locator("ol a", has_text="3").click()
    assert "p=2" in page.url and f"author={PAGER}" in page.url and "sort=created" in page.url
    assert len(listed(page)) == 1
    expect(pager.locator("a[aria-current=page]")).to_have_text("3")
    expect(pager.locator("a[rel=next]")).to_have_count(0)
    with page.expect_navigation():
        pager.locator("ol a", has_text="1").click()
    assert "p=" not in page.url
    assert len(listed(page)) == 30


def test_a_page_past_the_last_says_so_and_links_to_the_last(page, world):
    page.goto(f"/models?author={PAGER}&p=9")
    main = page.locator("main")
    expect(main).not_to_contain_text("No model matches")
    expect(page.locator(".past-end")).to_contain_text("Page 10 is past the end of these results: they have 3 pages.")
    expect(page.locator("nav.pager")).to_have_count(0)
    with page.expect_navigation():
        page.locator("[data-last-page]").click()
    assert "p=2" in page.url
    assert len(listed(page)) == 1
    # A filter that matches nothing still says so.
    page.goto(f"/models?author={PAGER}&tag=no-such-uxtag")
    expect(main).to_contain_text("No model matches.")


def test_header_tags_beyond_twelve_are_behind_a_plus_n(page, world):
    page.goto(f"/{CARD}")
    tags = page.locator(".repo-header .tags")
    total = len(world.get(f"/api/models/{CARD}").json()["tags"])
    assert total > 12
    visible = tags.locator("> a.tag")
    expect(visible).to_have_count(12)
    more = tags.locator("details.more-tags summary")
    expect(more).to_contain_text(f"+{total - 12}")
    hidden = tags.locator("details.more-tags a.tag")
    expect(hidden).to_have_count(total - 12)
    expect(hidden.first).to_be_hidden()
    more.click()
    for i in range(total - 12):
        expect(hidden.nth(i)).to_be_visible()


def test_footer_status_opens_a_page_and_the_json_stays(page, world):
    page.goto("/")
    with page.expect_navigation():
        page.locator(".site-footer").get_by_role("link", name="Status").click()
    assert page.url == f"{world.url}/status"
    expect(page.locator("main h1")).to_have_text("Status")
    expect(page.locator(".status-summary")).to_have_text("All systems operational")
    expect(page.locator("[data-check=database]")).to_contain_text("Answering")
    expect(page.locator("[data-check=search]")).to_contain_text("public models indexed")
    r = world.get("/api/health")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert r.json()["status"] == "ok" and set(r.json()) == {"status", "database"}


def test_status_page_in_chinese(new_page, world):
    zh = new_page(locale="zh-CN")
    zh.goto("/status")
    expect(zh.locator("main h1")).to_have_text("状态")
    expect(zh.locator(".status-summary")).to_have_text("所有系统运行正常")


def test_license_other_links_to_the_repositorys_own_terms(page, world):
    page.goto(f"/{CARD}")
    lic = page.locator("aside.sidebar dt:text-is('License') + dd a")
    expect(lic).to_have_attribute("href", LICENSE_LINK)
    page.goto(f"/{OWNER}/own-license")
    lic = page.locator("aside.sidebar dt:text-is('License') + dd a")
    expect(lic).to_have_attribute("href", f"/{OWNER}/own-license/blob/main/LICENSE")
    with page.expect_navigation():
        lic.click()
    expect(page.locator("main")).to_contain_text("You may use this model for good only.")
    # A catalogue license still links to its page.
    page.goto(f"/{OWNER}/no-library")
    expect(page.locator("aside.sidebar dt:text-is('License') + dd a")).to_have_attribute("href", "/licenses/mit")


@pytest.fixture(scope="module")
def quiet_hub(tmp_path_factory):
    """A hub of its own, whose moderation queue nobody else fills."""
    h = start_hub(tmp_path_factory.mktemp("quiet-hub"), workers=1)
    yield h
    h.stop()


def test_empty_moderation_queue_uses_no_emoji(browser, quiet_hub):
    quiet_hub.user("uxadmin", admin=True)
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US", base_url=quiet_hub.url)
    ctx.set_default_timeout(DEFAULT_TIMEOUT_MS)
    try:
        page = ctx.new_page()
        sign_in(page, "uxadmin")
        page.goto("/moderation")
        empty = page.locator("main .empty")
        expect(empty).to_have_text("Nothing to review.")
        expect(empty.locator("svg")).to_have_count(1)
        text = empty.inner_text() + (empty.get_attribute("aria-label") or "")
        assert not re.search("[\U0001F000-\U0001FFFF\u2600-\u27BF]", text), text
    finally:
        ctx.close()
