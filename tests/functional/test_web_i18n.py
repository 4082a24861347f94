"""The website in Simplified Chinese, against a real server: the language is chosen by the `lang`
cookie (set by /lang/<code>) or else Accept-Language; pages, form labels and messages, relative times
and dates come out in Chinese, no interface string stays in English, and English stays English.

Plain HTTP (httpx2) is enough here: the pages are rendered by the server; what JavaScript shows
comes from data- attributes of the page, checked here too.
"""

from __future__ import annotations

import html
import re
import time
import uuid
from html.parser import HTMLParser

import httpx2
import pytest

from tests.support.catalog import english_interface_strings

OWNER = f"i18nowner{uuid.uuid4().hex[:6]}"
MODEL = f"{OWNER}/i18n-model"
README = b"""---
license: apache-2.0
language:
- zh
pipeline_tag: text-classification
industry:
- finance
---
# i18n model

Card text.
"""
HAN = re.compile(r"[\u4e00-\u9fff]")
ZH_RELATIVE = re.compile(r"\d+\s*(?:秒钟|分钟|小时)前")
EN_RELATIVE = re.compile(r"\d+ (?:seconds?|minutes?|hours?) ago")


# ---- helpers ----------------------------------------------------------------------------------------
class _Texts(HTMLParser):
    """Text nodes and human-readable attributes of a page, outside code, scripts and user content."""

    SKIP = {"script", "style", "pre", "code"}
    ATTRS = {"title", "placeholder", "aria-label", "alt"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.skip = 0
        self.depth_in_card: list[int] = []
        self.depth = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("br", "input", "img", "meta", "link", "hr"):
            self.texts += [v for k, v in attrs if k in self.ATTRS and v]
            return
        self.depth += 1
        if tag in self.SKIP:
            self.skip += 1
        if "card-body" in (a.get("class") or "").split():
            self.depth_in_card.append(self.depth)
        if not self.skip and not self.depth_in_card:
            self.texts += [v for k, v in attrs if k in self.ATTRS and v]

    def handle_endtag(self, tag):
        if tag in ("br", "input", "img", "meta", "link", "hr"):
            return
        if tag in self.SKIP and self.skip:
            self.skip -= 1
        if self.depth_in_card and self.depth_in_card[-1] == self.depth:
            self.depth_in_card.pop()
        self.depth -= 1

    def handle_data(self, data):
        if not self.skip and not self.depth_in_card and data.strip():
            self.texts.append(data.strip())


def texts_of(page: str) -> list[str]:
    parser = _Texts()
    parser.feed(page)
    return parser.texts


def visible(page: str) -> str:
    return " ".join(texts_of(page))


def html_lang(page: str) -> str:
    m = re.search(r'<html lang="([^"]+)"', page)
    assert m, page[:300]
    return m.group(1)


def nav_labels(page: str) -> list[str]:
    nav = re.search(r'<ul class="nav-links">(.*?)</ul>\s*</nav>', page, re.S).group(1)
    return [html.unescape(t).strip() for t in re.findall(r"<a [^>]*>([^<]+)</a>", nav)]


def csrf_of(page: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert m, "no csrf_token in the page"
    return m.group(1)


OPENED: list[httpx2.Client] = []  # the running test's clients, closed when it ends


@pytest.fixture(autouse=True)
def close_clients():
    """Close the clients a test opened: left to the garbage collector, their open sockets raise a
    ResourceWarning, which fails the test (requests' connection pools closed themselves)."""
    yield
    while OPENED:
        OPENED.pop().close()


def zh_session(hub) -> httpx2.Client:
    """A browser-like client (cookies kept, redirects followed) that picked 简体中文 with the header switch."""
    s = httpx2.Client(follow_redirects=True)
    OPENED.append(s)
    r = s.get(hub.url + "/lang/zh", params={"next": "/models"}, follow_redirects=False, timeout=30)
    assert r.status_code in (302, 303) and r.headers["Location"].endswith("/models")
    assert s.cookies.get("lang") == "zh"
    return s


@pytest.fixture(scope="module")
def english_ui() -> set[str]:
    return english_interface_strings()


def untranslated(page: str, english_ui: set[str]) -> list[str]:
    return sorted({t for t in texts_of(page) if t in english_ui})


@pytest.fixture(scope="module")
def world(hub):
    (token,) = hub.users(OWNER)
    api = hub.api(token)
    api.create_repo(MODEL)
    api.upload_file(path_or_fileobj=README, path_in_repo="README.md", repo_id=MODEL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # the model list reads the search index, which follows commits
        if hub.get("/api/search", params={"author": OWNER}).json()["total"] == 1:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the search index did not catch up")
    return hub


# ---- choosing the language ------------------------------------------------------------------------
def test_lang_switch_sets_a_cookie_and_every_page_follows(world):
    s = zh_session(world)
    for path in ("/", "/models", f"/{MODEL}", "/login", "/join", "/licenses"):
        page = s.get(world.url + path, timeout=30).text
        assert html_lang(page) == "zh-CN", path
        assert nav_labels(page)[:2] == ["模型", "许可证"], path
    # Back to English with the same switch; the cookie beats Accept-Language either way.
    r = s.get(world.url + "/lang/en", params={"next": "/"}, timeout=30, headers={"Accept-Language": "zh-CN"})
    assert r.status_code == 200 and html_lang(r.text) == "en"
    assert nav_labels(r.text)[:2] == ["Models", "Licenses"]
    page = s.get(world.url + "/", headers={"Accept-Language": "zh-CN,zh;q=0.9"}, timeout=30).text
    assert html_lang(page) == "en"


def test_unknown_language_is_a_404_and_sets_nothing(world):
    with httpx2.Client() as s:
        r = s.get(world.url + "/lang/fr", timeout=30)
        assert r.status_code == 404 and "lang" not in s.cookies


@pytest.mark.parametrize("header", ["zh-CN", "zh-CN,zh;q=0.9,en;q=0.8", "zh", "zh-Hans-CN"])
def test_accept_language_chinese(world, header):
    page = world.get("/", headers={"Accept-Language": header}).text
    assert html_lang(page) == "zh-CN"
    assert "模型" in nav_labels(page)


@pytest.mark.parametrize("header", [
    None, "en-US,en;q=0.9", "fr-FR", "en-US,en;q=0.9,zh-CN;q=0.8,zh;q=0.7", "en-US,zh-CN;q=0.8",
    "en-GB,zh;q=0.5",
])
def test_english_stays_the_default(world, header):
    page = world.get("/", headers={"Accept-Language": header} if header else {}).text
    assert html_lang(page) == "en"
    assert nav_labels(page)[:4] == ["Models", "Licenses", "Sign in", "Sign up"]


# ---- pages in Chinese -------------------------------------------------------------------------------
def test_home_in_chinese(world, english_ui):
    page = world.get("/", cookies={"lang": "zh"}).text
    assert "<title>首页 · ModelHub</title>" in page
    text = visible(page)
    for label in ("开放模型，由社区共享", "热门", "最近更新", "登录", "注册", "跳到主要内容"):
        assert label in text
    assert ZH_RELATIVE.search(text), "relative times are in Chinese (x 分钟前)"
    assert not EN_RELATIVE.search(text)
    assert 'placeholder="搜索模型、用户、组织…"' in page
    assert 'data-models="模型"' in page  # the quick search's group label (site.js)
    assert not untranslated(page, english_ui)


def test_models_list_in_chinese(world, english_ui):
    page = world.get("/models", params={"author": OWNER}, headers={"Accept-Language": "zh-CN"}).text
    assert html_lang(page) == "zh-CN"
    text = visible(page)
    for facet in ("任务", "许可证", "语言", "行业", "作者"):  # facet headings: N_-marked, translated in the page
        assert f"<h2>{facet}</h2>" in page, facet
    assert "1 个结果" in text
    assert re.search(r'<option value="trending"[^>]*>热门</option>', page)
    assert ZH_RELATIVE.search(text) and "更新" in text
    assert MODEL in text
    assert not untranslated(page, english_ui)


def test_model_page_in_chinese(world, english_ui):
    page = world.get(f"/{MODEL}", cookies={"lang": "zh"}).text
    text = visible(page)
    for label in ("模型卡片", "文件和版本", "社区", "上月下载量", "许可证", "任务", "语言", "行业", "更新时间",
                  "使用此模型", "复制"):
        assert label in text, label
    # Relative time in the sidebar, the full date in its title, both localized.
    m = re.search(r'<dt>更新时间</dt><dd title="([^"]+)">([^<]+)</dd>', page)
    assert m, "the Updated row"
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日", m.group(1)), m.group(1)
    assert ZH_RELATIVE.fullmatch(m.group(2).strip()), m.group(2)
    assert not untranslated(page, english_ui)


def test_files_page_in_chinese(world, english_ui):
    page = world.get(f"/{MODEL}/tree/main", cookies={"lang": "zh"}).text
    text = visible(page)
    for label in ("历史", "名称", "大小"):
        assert label in text, label
    assert not untranslated(page, english_ui)


def test_login_and_join_in_chinese(world, english_ui):
    s = zh_session(world)
    login = s.get(world.url + "/login", timeout=30).text
    assert "<title>登录 · ModelHub</title>" in login
    assert re.search(r'<label for="username">用户名</label>', login)
    assert re.search(r'<label for="password">密码</label>', login)
    assert "第一次来？" in visible(login) and "创建账号" in visible(login)
    assert not untranslated(login, english_ui)
    join = s.get(world.url + "/join", timeout=30).text
    assert "创建你的账号" in visible(join)
    for label in ("用户名", "电子邮箱", "密码", "确认密码"):
        assert f">{label}</label>" in join, label
    assert not untranslated(join, english_ui)
    # Messages of a refused form: ours (lazy_gettext) and WTForms' own, in Chinese.
    r = s.post(world.url + "/join", data={"csrf_token": csrf_of(join), "username": "bad name!",
                                          "password": "short", "confirm": "other"}, timeout=30)
    assert r.status_code == 400
    errors = [html.unescape(e) for e in re.findall(r'class="field-error"[^>]*>([^<]+)', r.text)]
    assert "两次输入的密码不一致。" in errors
    assert any("字母" in e for e in errors)  # the username rule
    assert all(HAN.search(e) for e in errors), errors
    r = s.post(world.url + "/login", data={"csrf_token": csrf_of(login), "username": OWNER,
                                           "password": "not-the-password"}, timeout=30)
    assert r.status_code == 400 and "用户名或密码错误。" in r.text


def test_signed_in_pages_and_script_texts_in_chinese(world, english_ui):
    s = zh_session(world)
    login = s.get(world.url + "/login", timeout=30).text
    r = s.post(world.url + "/login", data={"csrf_token": csrf_of(login), "username": OWNER,
                                           "password": f"pw-{OWNER}-12345"}, follow_redirects=False, timeout=30)
    assert r.status_code == 302
    home = s.get(world.url + "/", timeout=30).text
    assert {"收件箱", "新建模型", "个人资料", "设置", "访问令牌"} <= set(nav_labels(home))
    assert "退出登录" in visible(home)
    # What publish.js shows during an upload comes from the page, in Chinese.
    upload = s.get(world.url + f"/{MODEL}/upload/main", timeout=30).text
    assert 'data-i18n-uploading="正在上传… {p}"' in upload
    assert 'data-i18n-processing="上传完成，正在提交…"' in upload
    assert "上传失败" in re.search(r'data-i18n-failed="([^"]+)"', upload).group(1)
    assert not untranslated(upload, english_ui)
    edit = s.get(world.url + f"/{MODEL}/edit/main/README.md", timeout=30).text
    assert 'data-i18n-line="第 {n} 行"' in edit and 'data-i18n-offline="预览不可用"' in edit
    assert not untranslated(edit, english_ui)
    tokens = s.get(world.url + "/settings/tokens", timeout=30).text
    assert 'data-copied="已复制"' in tokens or "创建令牌" in visible(tokens)
    assert not untranslated(tokens, english_ui)
    discussions = s.get(world.url + f"/{MODEL}/discussions", timeout=30).text
    assert "讨论和拉取请求" in visible(discussions)
    assert not untranslated(discussions, english_ui)


def test_error_page_in_chinese(world):
    r = world.get("/no-such-user/no-such-model/tree/main", cookies={"lang": "zh"})
    assert r.status_code == 404
    assert "404 · 未找到" in visible(r.text)
    assert "返回首页" in visible(r.text)


# ---- English stays English --------------------------------------------------------------------------
def test_english_pages_have_no_chinese_interface_text(world, english_ui):
    # (The check used on the Chinese pages does find the English interface strings.)
    assert {"Models", "Sign in", "Trending", "Search models"} <= set(untranslated(world.get("/").text, english_ui))
    for path in ("/", "/models", f"/{MODEL}", "/login", "/join", "/licenses"):
        page = world.get(path, headers={"Accept-Language": "en-US"}).text
        assert html_lang(page) == "en", path
        # The only Chinese: the language switch's own name and the home page's example search.
        leftovers = [t for t in texts_of(page) if HAN.search(t) and t not in ("简体中文",)
                     and "大语言模型" not in t]
        assert not leftovers, (path, leftovers)
    text = visible(world.get(f"/{MODEL}").text)
    assert "Downloads last month" in text and "Model card" in text
    assert EN_RELATIVE.search(text)
    page = world.get(f"/{MODEL}").text
    assert re.search(r'<dt>Updated</dt><dd title="[A-Z][a-z]{2} \d{1,2}, \d{4}', page)
