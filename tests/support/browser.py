"""Browser tests: a headless Debian Chromium driven by Playwright, and screenshots of failures.

Use it from a test module with both lines (the plugin line registers the report hook below, the
import makes the fixtures visible to the module whatever the plugin registration order):

    pytest_plugins = ["tests.support.browser"]
    from tests.support.browser import browser, page, new_page  # noqa: F401

The browser is the system Chromium (/usr/bin/chromium): nothing is ever downloaded, and the flags
below keep it from calling home (no component updates, sync, safe-browsing or field trials), so a
test can assert that a page load makes no request outside the hub. Without Chromium the browser
tests are skipped, except under CI (CI=true), where a missing browser is a broken runner and fails.

When a test fails, every page still open in its contexts is saved as
test-artifacts/<test-name>.png (then <test-name>-2.png, ...) at the repository root.

PYTEST_DONT_REWRITE: test modules import this before their `pytest_plugins` registers it, and
pytest would otherwise warn (an error here) that it is too late to rewrite its asserts (it has none).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Callable, Iterator

import pytest

CHROMIUM = os.environ.get("MODELHUB_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
VIEWPORT = {"width": 1280, "height": 900}
PHONE_VIEWPORT = {"width": 390, "height": 844}
DEFAULT_TIMEOUT_MS = 10_000  # a broken page fails in seconds, not after Playwright's 30 s default

# One Playwright driver and one Chromium per test process, shared by every module that imports the
# fixtures (each importing module gets its own session-scoped fixture definition; they share this).
_shared: dict[str, object] = {}


# --- the report hook: lets fixtures see whether the test body failed -------------------------------

@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    return rep


def _test_failed(request: pytest.FixtureRequest) -> bool:
    """Whether the test body ran and failed (set by the hook above; absent if the plugin is not registered)."""
    rep = getattr(request.node, "rep_call", None)
    return rep is not None and rep.failed


def _artifact_name(nodename: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodename).strip("_")[:150] or "test"


def _save_screenshots(request: pytest.FixtureRequest, contexts: list) -> None:
    out = Path(request.config.rootpath) / "test-artifacts"
    out.mkdir(parents=True, exist_ok=True)
    base = _artifact_name(request.node.name)
    n = 0
    for ctx in contexts:
        for pg in list(ctx.pages):
            n += 1
            target = out / (f"{base}.png" if n == 1 else f"{base}-{n}.png")
            try:
                pg.screenshot(path=str(target), full_page=True, timeout=5_000)
            except Exception as e:  # a crashed or closed page: note it, keep the test's own error
                target.with_suffix(".txt").write_text(f"screenshot failed: {e!r}\nurl: {pg.url}\n")


# --- fixtures ---------------------------------------------------------------------------------------

def _launch():
    if "browser" in _shared:
        return _shared["browser"]
    if not os.path.exists(CHROMIUM):
        reason = f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium); it is missing"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} — on CI this is an error, not a skip", pytrace=False)
        pytest.skip(reason)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("browser tests need the playwright Python package", pytrace=False)
        pytest.skip("browser tests need the playwright Python package")
    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    except Exception:
        pw.stop()
        raise
    _shared.update(playwright=pw, browser=b)
    return b


def launch_chromium(*extra_args: str):
    """Another headless Chromium of the same Playwright driver, with more command-line flags (say
    `--host-resolver-rules=MAP modelhub.lan 127.0.0.1`, to browse the hub by a host name over plain
    HTTP, where the page is no secure context). The caller closes it; the `browser` fixture must
    have started the driver."""
    b = _launch()
    return b.browser_type.launch(executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, *extra_args])


def _shutdown() -> None:
    b, pw = _shared.pop("browser", None), _shared.pop("playwright", None)
    if b is not None:
        try:
            b.close()
        finally:
            pw.stop()


@pytest.fixture(scope="session")
def browser():
    """The headless system Chromium (one per test process)."""
    yield _launch()
    _shutdown()  # idempotent: the first of the (per-module) definitions to finish closes it


@pytest.fixture
def new_page(browser, request, hub) -> Iterator[Callable[..., object]]:
    """Factory: a page in a fresh context (own cookies); keyword arguments override the context options.

    Defaults: 1280x900, locale en-US (hence Accept-Language: en-US), relative URLs against the hub.
    """
    contexts: list = []

    def make(**options):
        opts = {"viewport": VIEWPORT, "locale": "en-US", "base_url": hub.url, **options}
        ctx = browser.new_context(**opts)
        ctx.set_default_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    try:
        if _test_failed(request):
            _save_screenshots(request, contexts)
    finally:
        for ctx in contexts:
            ctx.close()


@pytest.fixture
def page(new_page):
    """A page in a fresh browser context: 1280x900, en-US, relative URLs against the hub."""
    return new_page()


# --- helpers ----------------------------------------------------------------------------------------

def wider_than_screen(page, paths) -> dict[str, tuple[int, list[str]]]:
    """The paths whose page scrolls sideways in `page`'s viewport: {path: (scrollWidth, the last few
    elements that stick out)}. Not for is_mobile pages: mobile emulation zooms out to fit a too-wide
    page, which hides the very overflow this looks for (innerWidth grows with the content)."""
    wide = {}
    for path in paths:
        page.goto(path)
        scroll_width, inner_width = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
        assert inner_width == page.viewport_size["width"], (path, inner_width)
        if scroll_width > inner_width:
            culprits = page.evaluate("""() => [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
                .slice(-5).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : ''))""")
            wide[path] = (scroll_width, culprits)
    return wide


def password_of(name: str) -> str:
    """The password `LiveHub.user()/users()` gives the accounts it creates."""
    return f"pw-{name}-12345"


def sign_in(page, name: str, password: str | None = None) -> None:
    """Sign in through the form, as a person would; ends on the page the form redirects to."""
    page.goto("/login")
    page.fill("#username", name)
    page.fill("#password", password or password_of(name))
    with page.expect_navigation():
        page.click("form button[type=submit]")
