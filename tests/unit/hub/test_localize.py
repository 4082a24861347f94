"""The edge's translation of domain messages and facet values, in a request of the real app.

The reader's language is chosen as for any page (Accept-Language here); the catalogue is the
committed one, so these also check that the domain's templates reach it through babel.cfg.
"""

from __future__ import annotations

import os

import pytest

from hub import create_app
from hub.localize import (INDUSTRY_LABELS, TASK_LABELS, answer_label, commit_title, facet_value, localize,
                          role_label)
from hub.wiring import services_of
from models_registry import cards
from models_registry.errors import Forbidden, RepoNotFound
from models_registry.repos import INITIAL_COMMIT_MESSAGE


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("MODELHUB_")}
    app = create_app({"DATA_DIR": str(tmp_path_factory.mktemp("data")), "TESTING": True,
                      "SEARCH_WORKER": False, "BACKGROUND_JOBS": False})
    yield app
    services_of(app).registry.close()
    os.environ.update(saved)


@pytest.fixture
def zh(app):
    with app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        yield


@pytest.fixture
def en(app):
    with app.test_request_context("/", headers={"Accept-Language": "en-US"}):
        yield


def write_access_error(app) -> Forbidden:
    """What Repos.get raises when someone who may read a repository asks to write to it."""
    reg = services_of(app).registry
    for name in ("alice", "bob"):
        if reg.accounts.namespace_kind(name) is None:
            reg.accounts.create_user(name, f"pw-{name}-12345")
    alice, bob = reg.accounts.principal_for_name("alice"), reg.accounts.principal_for_name("bob")
    try:
        reg.repos.get("model", "alice/model", alice)
    except RepoNotFound:
        reg.repos.create(alice, "model", "alice", "model")
    with pytest.raises(Forbidden) as e:
        reg.repos.get("model", "alice/model", bob, need="write")
    return e.value


def test_a_domain_error_in_chinese_and_in_english(app):
    e = write_access_error(app)
    with app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        assert localize(e.message) == "你没有 alice/model 的写入权限"
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert localize(e.message) == "You don't have write access to alice/model"
    assert e.message == "You don't have write access to alice/model"  # what the API sends, whatever the page


def test_a_card_warning_is_translated_whole(zh):
    (warning,) = cards.parse_card("---\nindustry: spaceships\n---\n").warnings
    text = localize(warning.text)
    assert text.startswith("第 2 行，字段 'industry'：未知的行业 'spaceships'（已知行业：")
    assert "unknown" not in text and "line" not in text


def test_nested_and_list_parameters_are_translated(zh):
    report = cards.parse_card("---\nlicense: [nope]\n---\n")
    from models_registry.messages import N_
    m = N_("Invalid model card metadata in README.md: %(problems)s", problems=[e.text for e in report.errors])
    assert localize(m).startswith("README.md 中的模型卡片元数据无效：第 2 行，字段 'license'：")


def test_plain_strings_and_user_content_pass_through(zh):
    assert localize("an old warning stored as text") == "an old warning stored as text"
    assert localize(None) == ""


def test_every_known_task_and_industry_has_a_label():
    assert set(TASK_LABELS) == set(cards.PIPELINE_TAGS)
    assert set(INDUSTRY_LABELS) == set(cards.INDUSTRIES)


@pytest.mark.parametrize("facet, value, label", [
    ("task", "text-generation", "文本生成"), ("task", "other", "其他任务"), ("task", "flying", "flying"),
    ("language", "yue", "粤语"), ("language", "hak", "客家语"), ("language", "zh", "中文"),
    ("language", "en", "英语"),
    ("language", "zh-Hant", "繁体中文"), ("language", "multilingual", "multilingual"),
    ("industry", "finance", "金融"), ("industry", "general", "通用"),
    ("region", "cn", "中国"), ("region", "eu", "欧盟"), ("region", "asia", "亚洲"),
    ("region", "north-america", "北美洲"),
    ("region", "global", "世界"), ("region", "atlantis", "atlantis"),
    ("license", "apache-2.0", "apache-2.0"), ("author", "alice", "alice"),
])
def test_facet_values_in_chinese(zh, facet, value, label):
    assert facet_value(facet, value) == label


@pytest.mark.parametrize("facet, value", [("task", "text-generation"), ("language", "yue"), ("industry", "finance"),
                                          ("region", "cn")])
def test_english_pages_show_the_raw_values(en, facet, value):
    assert facet_value(facet, value) == value


def test_roles_answers_and_the_initial_commit(app):
    with app.test_request_context("/", headers={"Accept-Language": "zh-CN"}):
        assert [role_label(r) for r in ("read", "write", "admin")] == ["读取", "写入", "管理员"]
        assert (answer_label(True), answer_label(False), answer_label("ACME")) == ("是", "否", "ACME")
        assert commit_title(INITIAL_COMMIT_MESSAGE, ()) == "初始提交"
        assert commit_title(INITIAL_COMMIT_MESSAGE, ("a" * 40,)) == INITIAL_COMMIT_MESSAGE  # a user's own title
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert role_label("admin") == "Admin" and answer_label(True) == "Yes"
        assert commit_title(INITIAL_COMMIT_MESSAGE, ()) == "initial commit"
