"""The model page's model tree, table of contents and math (issue #22, "what users of the Hub expect"
2 and 3), in a real browser (headless Debian Chromium), in English and Chinese.

A base model and models derived from it (fine-tunes, one private; an adapter and a quantization,
their relation inferred from their files as the Hub does) are published with the real HF client.
The base model's page counts what each reader may see and links to the list filtered by the Hub's
tag (`base_model:finetune:ORG/NAME`); a derived model's sidebar links to its base when the base is
here and visible, and shows it as text otherwise.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest
from huggingface_hub import CommitOperationAdd
from playwright.sync_api import expect

from tests.support.browser import browser, new_page, page, sign_in  # noqa: F401
from tests.support.waiting import poll

pytest_plugins = ["tests.support.browser"]  # the failure screenshots' report hook

OWNER, OTHER = "mtowner", "mtother"
BASE = f"{OWNER}/base-7b"
SECRET_BASE = f"{OWNER}/secret-base"
FILLER = "\n\n".join(f"Paragraph {i} of a long card, so that the last headings start below the fold." for i in range(40))

BASE_CARD = f"""---
license: mit
---
# Base 7B

## Overview

Energy $E = mc^2$ and a fraction:

$$
\\frac{{a}}{{b}} = \\sqrt{{x^2 + 1}}
$$

It costs $5 and $10 a month.

```bash
echo "$HOME costs $x$"
```

{FILLER}

## 评测结果

Scores of the base.

### Training data

More text.
""".encode()


def derived_card(base: str | list[str], extra: str = "") -> bytes:
    bases = base if isinstance(base, list) else [base]
    listed = "".join(f"- {b}\n" for b in bases)
    return f"---\nlicense: mit\nbase_model:\n{listed}{extra}---\n# Derived\n\nA model made from another.\n".encode()


@pytest.fixture(scope="module")
def world(hub):
    """The base, its derivatives, a private base and models naming bases that are not here; waits
    until the search index lists the public ones."""
    owner, _other = hub.users(OWNER, OTHER)
    api = hub.api(owner)

    def publish(repo_id: str, files: dict[str, bytes], private: bool = False) -> None:
        api.create_repo(repo_id, private=private)
        api.create_commit(repo_id, operations=[CommitOperationAdd(p, b) for p, b in files.items()],
                          commit_message="Publish")

    repos = [
        (BASE, {"README.md": BASE_CARD}, False),
        (f"{OWNER}/ft-one", {"README.md": derived_card(BASE, "datasets:\n- squad\n- 中文对话数据\n")}, False),
        (f"{OWNER}/ft-two", {"README.md": derived_card(BASE)}, False),
        (f"{OWNER}/ft-private", {"README.md": derived_card(BASE)}, True),
        (f"{OWNER}/base-lora", {"README.md": derived_card(BASE), "adapter_config.json": b"{}"}, False),
        (f"{OWNER}/base-gguf", {"README.md": derived_card(BASE), "base-7b-Q4_K_M.gguf": b"GGUF-not-really"}, False),
        (f"{OWNER}/elsewhere-ft", {"README.md": derived_card("meta-llama/Llama-2-7b")}, False),
        (SECRET_BASE, {"README.md": b"# Secret\n"}, True),
        (f"{OWNER}/secret-ft", {"README.md": derived_card(SECRET_BASE)}, False),
    ]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda r: publish(*r), repos))

    def indexed():
        return hub.get("/api/search", params={"author": OWNER, "limit": 50}).json()["total"]

    assert poll(indexed, lambda n: n == 7, timeout=30.0) == 7, "search index did not catch up"
    return hub


def tree(page):
    return page.locator("aside .model-tree")


# ---- the derived model's sidebar -------------------------------------------------------------------

def test_a_fine_tune_links_to_its_base_and_lists_its_datasets(page, world):
    page.goto(f"/{OWNER}/ft-one")
    base = tree(page).locator("dd[data-base-model=finetune] a")
    expect(base).to_have_text(BASE)
    expect(base).to_have_attribute("href", f"/{BASE}")
    expect(tree(page).locator("dt").first).to_have_text("Fine-tuned from")
    expect(tree(page).locator("dd[data-datasets]")).to_have_text("squad, 中文对话数据")
    expect(tree(page).locator("dd[data-datasets] a")).to_have_count(0)  # no dataset pages on this hub
    header_tags = page.locator("header .tags .tag").all_inner_texts()
    assert not [t for t in header_tags if "base_model" in t], header_tags
    assert "license:mit" in header_tags
    base.click()
    expect(page).to_have_url(f"{world.url}/{BASE}")


@pytest.mark.parametrize("repo, relation, label", [
    ("base-lora", "adapter", "Adapter of"),  # adapter_config.json
    ("base-gguf", "quantized", "Quantized from"),  # a .gguf file
])
def test_the_relation_is_inferred_from_the_files(page, world, repo, relation, label):
    page.goto(f"/{OWNER}/{repo}")
    expect(tree(page).locator(f"dd[data-base-model={relation}] a")).to_have_attribute("href", f"/{BASE}")
    expect(tree(page).locator("dt").first).to_have_text(label)


@pytest.mark.parametrize("repo, base", [("elsewhere-ft", "meta-llama/Llama-2-7b"), ("secret-ft", SECRET_BASE)])
def test_a_base_not_here_or_not_visible_is_text(page, world, repo, base):
    page.goto(f"/{OWNER}/{repo}")
    shown = tree(page).locator("dd[data-base-model=finetune]")
    expect(shown).to_have_text(base)
    expect(shown.locator("a")).to_have_count(0)


def test_the_owner_of_a_private_base_gets_the_link(new_page, world):
    page = new_page()
    sign_in(page, OWNER)
    page.goto(f"/{OWNER}/secret-ft")
    expect(tree(page).locator("dd[data-base-model=finetune] a")).to_have_attribute("href", f"/{SECRET_BASE}")


# ---- the base model's page: counts and the filtered list ---------------------------------------------

def derived_links(page) -> dict[str, str]:
    links = tree(page).locator("a[data-derived]")
    return {links.nth(i).get_attribute("data-derived"): links.nth(i).inner_text() for i in range(links.count())}


def test_the_base_counts_what_a_visitor_may_see_and_links_to_the_list(page, world):
    page.goto(f"/{BASE}")
    assert derived_links(page) == {"finetune": "2 models fine-tuned from this",
                                   "adapter": "1 adapter of this model",
                                   "quantized": "1 model quantized from this"}
    tree(page).locator("a[data-derived=finetune]").click()
    expect(page).to_have_url(f"{world.url}/models?tag={quote(f'base_model:finetune:{BASE}')}")
    names = page.locator("main .model-list .model-item > a strong")
    expect(names).to_have_count(2)
    assert sorted(names.all_inner_texts()) == [f"{OWNER}/ft-one", f"{OWNER}/ft-two"]
    expect(page.locator("main .chips .chip")).to_contain_text(f"Fine-tuned from {BASE}")


def test_the_hubs_other_filter_lists_the_same(page, world):
    page.goto(f"/models?other=base_model:adapter:{BASE}")
    expect(page.locator("main .model-list .model-item > a strong")).to_have_text([f"{OWNER}/base-lora"])


def test_the_owner_counts_the_private_fine_tune_too(new_page, world):
    page = new_page()
    sign_in(page, OWNER)
    page.goto(f"/{BASE}")
    expect(tree(page).locator("a[data-derived=finetune]")).to_have_text("3 models fine-tuned from this")


def test_another_user_does_not_count_it(new_page, world):
    page = new_page()
    sign_in(page, OTHER)
    page.goto(f"/{BASE}")
    expect(tree(page).locator("a[data-derived=finetune]")).to_have_text("2 models fine-tuned from this")


def test_the_model_tree_in_chinese(new_page, world):
    page = new_page(locale="zh-CN")
    page.goto(f"/{BASE}")
    expect(tree(page).locator("h2")).to_have_text("模型树")
    assert derived_links(page)["finetune"] == "基于此微调的 2 个模型"
    page.goto(f"/{OWNER}/ft-one")
    expect(tree(page).locator("dt").first).to_have_text("微调自")
    expect(tree(page).locator("dt").nth(1)).to_have_text("数据集")
    page.goto(f"/models?tag=base_model:finetune:{BASE}")
    expect(page.locator("main .chips .chip")).to_contain_text(f"基于 {BASE} 微调")


# ---- the card: table of contents and math --------------------------------------------------------------

def test_the_table_of_contents_scrolls_to_each_heading(page, world):
    page.goto(f"/{BASE}")
    toc = page.locator("aside nav.toc")
    expect(toc.locator("h2")).to_have_text("Contents")
    expect(toc.locator("a")).to_have_text(["Base 7B", "Overview", "评测结果", "Training data"])
    heading = page.locator(".card-body h3", has_text="评测结果")  # "##": the card's "#" is an h2 under the page's h1
    expect(heading).not_to_be_in_viewport()
    toc.locator("a", has_text="评测结果").click()
    expect(heading).to_be_in_viewport()
    assert page.evaluate("decodeURIComponent(location.hash)") == "#评测结果"
    expect(page.locator(".card-body [id='评测结果']")).to_have_count(1)
    toc.locator("a", has_text="Training data").click()
    expect(page.locator(".card-body h4", has_text="Training data")).to_be_in_viewport()


def test_math_is_mathml_prices_and_code_are_text(page, world):
    page.goto(f"/{BASE}")
    card = page.locator(".card-body")
    expect(card.locator("math")).to_have_count(2)
    expect(card.locator("math[display=block] mfrac")).to_be_visible()
    expect(card.locator("math[display=inline] msup")).to_be_visible()
    box = card.locator("math[display=block]").bounding_box()
    assert box and box["height"] > 20, box  # drawn as a fraction (two rows), not as a line of TeX
    expect(card.locator("p", has_text="It costs")).to_have_text("It costs $5 and $10 a month.")
    expect(card.locator("pre code")).to_contain_text('echo "$HOME costs $x$"')
    assert "\\frac" not in card.inner_text()
    assert page.locator("script[src*='mathjax'], script[src*='katex'], link[href*='katex']").count() == 0


def test_contents_heading_in_chinese(new_page, world):
    page = new_page(locale="zh-CN")
    page.goto(f"/{BASE}")
    expect(page.locator("aside nav.toc h2")).to_have_text("目录")
    expect(page.locator(".card-body math")).to_have_count(2)


def test_a_fine_tune_made_private_leaves_the_visitors_count(page, world):
    api = world.api(world.user(OWNER))
    api.update_repo_settings(f"{OWNER}/ft-two", private=True)
    try:
        page.goto(f"/{BASE}")
        expect(tree(page).locator("a[data-derived=finetune]")).to_have_text("1 model fine-tuned from this")
    finally:
        api.update_repo_settings(f"{OWNER}/ft-two", private=False)
    page.goto(f"/{BASE}")
    expect(tree(page).locator("a[data-derived=finetune]")).to_have_text("2 models fine-tuned from this")
