"""Validation of names, repo ids, paths and refs: everything that becomes a path, a ref or a URL."""

from __future__ import annotations

import pytest

from models_registry.errors import BadRequest
from models_registry.names import (
    MAX_PATH_LENGTH,
    RESERVED_NAMESPACES,
    split_repo_id,
    validate_branch_name,
    validate_folder,
    validate_name,
    validate_namespace,
    validate_path,
    validate_tag_name,
)

GOOD_NAMES = ["a", "A", "0", "bert-base-uncased", "my_model.v2", "Llama-3.1-8B", "x" * 96, "a-b_c.d", "a.b.c",
              "models-fork"]
BAD_NAMES = [
    "", "-a", "_a", ".a", "a--b", "a..b", "a.git", "repo.git", "a.", "x" * 97, "a/b", "a b", "a\x00b", "a\nb",
    "é", "a@b", "a:b", "a\\b", "..", ".", "a+b", None, 42,
]


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_good_names(name):
    assert validate_name(name) == name


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_names(name):
    with pytest.raises(BadRequest):
        validate_name(name)


def test_bad_name_message_says_what_was_checked():
    with pytest.raises(BadRequest, match="repository name"):
        validate_name("a--b", "repository name")


@pytest.mark.parametrize("name", ["alice", "acme-labs", "Models2", "apiary", "x" * 96])
def test_good_namespaces(name):
    assert validate_namespace(name) == name


@pytest.mark.parametrize("name", sorted(RESERVED_NAMESPACES) + ["API", "Admin", "Settings"])
def test_reserved_namespaces(name):
    with pytest.raises(BadRequest, match="reserved"):
        validate_namespace(name)


def test_reserved_list_covers_the_top_level_routes():
    assert {"api", "datasets", "spaces", "models", "settings", "login", "static"} <= RESERVED_NAMESPACES


@pytest.mark.parametrize("name", BAD_NAMES)
def test_namespaces_follow_the_name_rules(name):
    with pytest.raises(BadRequest):
        validate_namespace(name)


@pytest.mark.parametrize("repo_id, parts", [
    ("alice/bert", ("alice", "bert")),
    ("Org-1/model.v2", ("Org-1", "model.v2")),
])
def test_split_repo_id(repo_id, parts):
    assert split_repo_id(repo_id) == parts


@pytest.mark.parametrize("repo_id", [
    "", "bert", "a/b/c", "/bert", "alice/", "../bert", "alice/..", "alice/.git", "alice/bert.git", "a--b/c",
    "alice/b--c", "alice\\bert", "alice//bert", "alice/be rt", None,
])
def test_bad_repo_ids(repo_id):
    with pytest.raises(BadRequest):
        split_repo_id(repo_id)


GOOD_PATHS = [
    "README.md", "a/b/c.txt", "dir/.gitattributes", ".gitattributes", ".hidden", "a b.txt", "unicode/文件.txt",
    "x..y", "a/.github/workflow.yml", "weights/model-00001-of-00002.safetensors", "a.git", "dir.git/x",
    "x" * MAX_PATH_LENGTH, "é" * (MAX_PATH_LENGTH // 2), "a\\b", "dir\\name.txt",  # a backslash is a name's
]
BAD_PATHS = [
    "", "/abs", "/", "a//b", "a/./b", "./a", "../x", "a/..", "a/../b", "..", ".", "..\\x", "a\\..\\b", "\\abs",
    "a\\.git\\config", "a\x00b",
    "a\nb", "a\rb", "a\tb", "\x1b[31m", ".git", ".git/config", "a/.git/x", "a/.GIT/x", ".Git", "x/",
    "x" * (MAX_PATH_LENGTH + 1), "é" * (MAX_PATH_LENGTH // 2 + 1), None,
]


@pytest.mark.parametrize("path", GOOD_PATHS, ids=lambda p: p[:40])
def test_good_paths(path):
    assert validate_path(path) == path


@pytest.mark.parametrize("path", BAD_PATHS, ids=lambda p: repr(p)[:40])
def test_bad_paths(path):
    with pytest.raises(BadRequest):
        validate_path(path)


@pytest.mark.parametrize("folder, expected", [("a/b/", "a/b"), ("a/b", "a/b"), ("a", "a")])
def test_validate_folder_strips_the_trailing_slash(folder, expected):
    assert validate_folder(folder) == expected


@pytest.mark.parametrize("folder", ["", "/", "../", "a/../", ".git/", "/abs/"])
def test_bad_folders(folder):
    with pytest.raises(BadRequest):
        validate_folder(folder)


GOOD_REFS = ["main", "dev", "feature/x", "v1.0", "release-2024_01", "a/b/c", "é", "x" * 255]
BAD_REFS = [
    "", "refs/heads/main", "refs/tags/v1", "a..b", "x.lock", "a/x.lock", "foo bar", "foo~1", "foo^", "foo:bar",
    "a?b", "a*b", "a[b", "a@{1}", "x/", "/x", "a//b", ".x", "x/.y", "a\\b", "a\x00b", "a\nb", "x" * 256,
    "0123456789abcdef0123456789abcdef01234567", None,
]


@pytest.mark.parametrize("name", GOOD_REFS, ids=lambda n: n[:30])
def test_good_branch_names(name):
    assert validate_branch_name(name) == name


@pytest.mark.parametrize("name", BAD_REFS, ids=lambda n: repr(n)[:30])
def test_bad_branch_names(name):
    with pytest.raises(BadRequest):
        validate_branch_name(name)


@pytest.mark.parametrize("name", GOOD_REFS, ids=lambda n: n[:30])
def test_good_tag_names(name):
    assert validate_tag_name(name) == name


@pytest.mark.parametrize("name", BAD_REFS, ids=lambda n: repr(n)[:30])
def test_bad_tag_names(name):
    with pytest.raises(BadRequest):
        validate_tag_name(name)
