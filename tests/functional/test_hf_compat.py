"""Hugging Face compatibility, round 2 (issue #21): what huggingface_hub's own tests found, checked
here with the stock client against a real server: repository ids without a namespace, `auth_check`,
the organizations of `whoami`, and the Hub's wording and order of checks for branches, tags and
commit conflicts (clients and scripts match on them)."""

from __future__ import annotations

import pytest
from huggingface_hub import CommitOperationAdd, CommitOperationDelete
from huggingface_hub.errors import (EntryNotFoundError, GatedRepoError, HfHubHTTPError, RepositoryNotFoundError,
                                    RevisionNotFoundError)

OWNER, OTHER, ORG = "compat-owner", "compat-other", "compat-org"


@pytest.fixture(scope="module")
def tokens(hub) -> dict[str, str]:
    owner, other = hub.users(OWNER, OTHER)
    hub.cli("orgs", "create", ORG, "--owner", OWNER, "--fullname", "Compat Org")
    return {OWNER: owner, OTHER: other}


@pytest.fixture(scope="module")
def api(hub, tokens):
    return hub.api(tokens[OWNER])


def new_repo(api, name: str) -> str:
    rid = f"{OWNER}/{name}"
    api.create_repo(rid)
    api.create_commit(rid, [CommitOperationAdd("a.txt", b"one")], commit_message="first")
    return rid


def test_repository_ids_without_a_namespace_are_repo_not_found(hub, api, tokens):
    assert not api.repo_exists("no-namespace-here")
    assert not api.revision_exists("no-namespace-here", "main")
    assert not api.file_exists("no-namespace-here", "config.json")
    with pytest.raises(RepositoryNotFoundError):
        api.unlike("no-namespace-here")
    with pytest.raises(RepositoryNotFoundError):
        api.list_repo_commits("no-namespace-here")
    for method, path in (("GET", "/api/models/no-namespace-here"), ("POST", "/api/models/no-namespace-here/like"),
                         ("GET", "/api/datasets/no-namespace-here/revision/main"),
                         ("GET", "/no-namespace-here/resolve/main/config.json")):
        r = hub.request(method, path, tokens[OWNER])
        assert (r.status_code, r.headers.get("X-Error-Code")) == (404, "RepoNotFound"), (method, path, r.text)
        assert "error" in r.json()
    assert hub.get("/api/no-such-endpoint", tokens[OWNER]).headers.get("X-Error-Code") is None  # other 404s stay


def test_auth_check(hub, api, tokens):
    rid = new_repo(api, "auth-check")
    api.auth_check(rid)
    with pytest.raises(RepositoryNotFoundError):
        api.auth_check(f"{OWNER}/missing-repo")
    hub.request("PUT", f"/api/models/{rid}/settings", tokens[OWNER], json={"gated": "auto"})
    with pytest.raises(GatedRepoError):
        api.auth_check(rid, token=tokens[OTHER])
    api.auth_check(rid)  # the owner passes their own gate


def test_whoami_names_each_organization_with_its_full_name(api):
    orgs = api.whoami()["orgs"]
    assert [(o["name"], o["fullname"], o["roleInOrg"]) for o in orgs] == [(ORG, "Compat Org", "admin")]


def test_branch_errors_speak_as_the_hub(api):
    rid = new_repo(api, "branches")
    api.create_branch(rid, branch="cool-branch")
    with pytest.raises(HfHubHTTPError, match=r"Reference refs/heads/cool-branch already exists"):
        api.create_branch(rid, branch="cool-branch")
    with pytest.raises(HfHubHTTPError, match=r"Reference refs/heads/main already exists"):
        api.create_branch(rid, branch="main")
    api.create_branch(rid, branch="cool-branch", exist_ok=True)
    with pytest.raises(HfHubHTTPError, match="Cannot delete refs/heads/main"):
        api.delete_branch(rid, branch="main")
    with pytest.raises(HfHubHTTPError, match="Invalid rev id"):
        api.delete_branch(rid, branch="no-such-branch")


def test_tags_on_short_commit_ids_and_missing_revisions(api):
    rid = new_repo(api, "tags")
    first = api.model_info(rid).sha
    api.create_commit(rid, [CommitOperationAdd("a.txt", b"two")], commit_message="second")
    api.create_tag(rid, tag="v1", revision=first[:7])
    assert api.model_info(rid, revision="v1").sha == first
    with pytest.raises(RevisionNotFoundError):  # the revision is checked before the tag's name
        api.create_tag(rid, tag="invalid tag", revision="foobar")
    with pytest.raises(RevisionNotFoundError):
        api.create_tag(rid, tag="v2", revision="0000000")


def test_a_stale_parent_commit_is_refused_in_the_hubs_words(api):
    rid = new_repo(api, "conflict")
    parent = api.model_info(rid).sha
    api.create_commit(rid, [CommitOperationAdd("b.txt", b"b")], commit_message="meanwhile")
    with pytest.raises(HfHubHTTPError) as err:
        api.create_commit(rid, [CommitOperationAdd("c.txt", b"c")], commit_message="late", parent_commit=parent)
    assert err.value.response.status_code == 412
    assert "The branch was updated since you opened this page. Please refresh and try again." in str(err.value)


def test_repository_ids_are_case_insensitive(api):
    rid = new_repo(api, "Case-Model")
    assert api.model_info(rid.upper()).id == rid  # the canonical spelling comes back
    api.create_commit(rid.lower(), [CommitOperationAdd("b.txt", b"b")], commit_message="via another spelling")
    assert "b.txt" in api.list_repo_files(rid)


def test_limit_is_a_page_size_with_a_next_link(hub, api, tokens):
    for i in range(3):
        api.create_repo(f"{ORG}/paged-{i}")
    first = hub.get(f"/api/models?author={ORG}&limit=2", tokens[OWNER])
    assert first.status_code == 200 and len(first.json()) == 2 and 'rel="next"' in first.headers["Link"]
    nxt = first.headers["Link"].split(";")[0].strip("<>")
    rest = hub.get(nxt.removeprefix(hub.url), tokens[OWNER])
    assert len(rest.json()) == 1 and "Link" not in rest.headers
    assert {m["id"] for m in first.json() + rest.json()} == {f"{ORG}/paged-{i}" for i in range(3)}
    skipped = hub.get(f"/api/models?author={ORG}&limit=2&skip=2", tokens[OWNER])
    assert [m["id"] for m in skipped.json()] == [m["id"] for m in rest.json()]


def test_next_links_carry_a_cursor_that_walks_every_sort(hub, api, tokens):
    """Keyset pages (models_registry/listing.py): the same repositories in the same order as one big
    page, ties (all downloads 0 here) included, through the stock client too."""
    for i in range(5):
        api.create_repo(f"{ORG}/walk-{i}")
    for sort, direction in (("downloads", "-1"), ("lastModified", "1"), ("id", "-1")):
        whole = hub.get(f"/api/models?author={ORG}&sort={sort}&direction={direction}&limit=100", tokens[OWNER])
        url, walked = f"/api/models?author={ORG}&sort={sort}&direction={direction}&limit=2", []
        while url:
            r = hub.get(url, tokens[OWNER])
            assert r.status_code == 200, r.text
            walked += [m["id"] for m in r.json()]
            link = r.headers.get("Link")
            url = link.split(";")[0].strip("<>").removeprefix(hub.url) if link else None
            assert url is None or "cursor=" in url and "skip=" not in url
        assert walked == [m["id"] for m in whole.json()] and len(walked) == len(set(walked)) >= 5
        if direction == "-1":  # the client always asks for descending order
            assert [m.id for m in api.list_models(author=ORG, sort=sort)] == walked
    bad = hub.get(f"/api/models?author={ORG}&sort=likes&cursor=not-a-cursor", tokens[OWNER])
    assert bad.status_code == 400 and "Invalid cursor" in bad.json()["error"]


def test_a_pull_request_needs_a_branch_to_target(api):
    rid = new_repo(api, "pr-targets")
    api.create_branch(rid, branch="dev")
    head = api.model_info(rid).sha
    assert api.create_commit(rid, [CommitOperationAdd("f.txt", b"x")], commit_message="to dev", revision="dev",
                             create_pr=True).pr_url
    for target in (head, "no-such-branch"):
        with pytest.raises(RevisionNotFoundError):
            api.create_commit(rid, [CommitOperationAdd("f.txt", b"x")], commit_message="nowhere", revision=target,
                              create_pr=True)


def test_super_squash_keeps_the_files_and_one_commit(hub, api, tokens):
    rid = new_repo(api, "squash")
    for i in range(3):
        api.create_commit(rid, [CommitOperationAdd(f"f{i}.txt", b"%d" % i)], commit_message=f"commit {i}")
    api.create_branch(rid, branch="keep")
    files = sorted(api.list_repo_files(rid))
    api.super_squash_history(rid)
    commits = api.list_repo_commits(rid)
    assert [c.title for c in commits] == ["Super-squash branch 'main' using huggingface_hub"]
    assert sorted(api.list_repo_files(rid)) == files
    assert len(api.list_repo_commits(rid, revision="keep")) == 5  # the old history, where a ref keeps it
    pr = api.create_commit(rid, [CommitOperationAdd("pr.txt", b"p")], commit_message="in a PR", create_pr=True)
    api.super_squash_history(rid, branch=pr.pr_revision)
    assert len(api.list_repo_commits(rid, revision=pr.pr_revision)) == 1
    with pytest.raises(RevisionNotFoundError):
        api.super_squash_history(rid, branch="no-such-branch")
    with pytest.raises(HfHubHTTPError) as denied:
        hub.api(tokens[OTHER]).super_squash_history(rid)
    assert denied.value.response.status_code == 403


def test_expand_gives_each_entry_its_last_commit(api):
    """`expand=True` on tree and paths-info: the commit that last changed each file and folder, as
    `git log -1 -- path` says, through the stock client (RepoFile.last_commit)."""
    rid = new_repo(api, "last-commits")  # a.txt in "first"
    one = api.create_commit(rid, [CommitOperationAdd("src/x.py", b"x"), CommitOperationAdd("src/y.py", b"y")],
                            commit_message="add src").oid
    two = api.create_commit(rid, [CommitOperationAdd("src/y.py", b"y2")], commit_message="change y").oid
    api.create_commit(rid, [CommitOperationAdd("b.txt", b"b")], commit_message="add b")
    first = api.list_repo_commits(rid)[-2]  # after "initial commit"
    assert first.title == "first"

    entries = {e.path: e for e in api.list_repo_tree(rid, recursive=True, expand=True)}
    expected = {"a.txt": ("first", first.commit_id), "src/x.py": ("add src", one),
                "src/y.py": ("change y", two), "src": ("change y", two)}
    for path, (title, oid) in expected.items():
        assert (entries[path].last_commit.title, entries[path].last_commit.oid) == (title, oid), path
    assert entries["b.txt"].last_commit.title == "add b"
    assert entries["a.txt"].last_commit.date.year >= 2026
    assert all(e.last_commit is None for e in api.list_repo_tree(rid, recursive=True))  # only when asked

    infos = {i.path: i for i in api.get_paths_info(rid, ["src/x.py", "src", "missing.txt"], expand=True)}
    assert set(infos) == {"src/x.py", "src"}
    assert infos["src/x.py"].last_commit.oid == one and infos["src"].last_commit.oid == two
    at_one = {e.path: e for e in api.list_repo_tree(rid, path_in_repo="src", revision=one, expand=True)}
    assert at_one["src/y.py"].last_commit.oid == one  # as of the revision asked for


def test_a_status_change_to_the_current_status_is_no_error(api):
    rid = new_repo(api, "status-twice")
    d = api.create_discussion(rid, title="twice")
    again = api.change_discussion_status(rid, d.num, new_status="open")  # already open: nothing changes
    closed = api.change_discussion_status(rid, d.num, new_status="closed", comment="done")
    assert api.change_discussion_status(rid, d.num, new_status="closed").id == closed.id  # the event that closed it
    details = api.get_discussion_details(rid, d.num)
    assert details.status == "closed" and again.id in {e.id for e in details.events}
    assert [e.new_status for e in details.events if e.type == "status-change"] == ["closed"]
    with pytest.raises(HfHubHTTPError, match="already closed: reopen it to comment"):
        api.change_discussion_status(rid, d.num, new_status="closed", comment="lost?")


def test_a_folder_deleted_by_its_name_alone(api):
    rid = new_repo(api, "folder-by-name")
    api.create_commit(rid, [CommitOperationAdd("sub/a.txt", b"a"), CommitOperationAdd("sub/deep/b.txt", b"b"),
                            CommitOperationAdd("subfile.txt", b"s")], commit_message="files")
    api.create_commit(rid, [CommitOperationDelete("sub")], commit_message="no trailing slash")
    assert set(api.list_repo_files(rid)) == {".gitattributes", "a.txt", "subfile.txt"}
    with pytest.raises(EntryNotFoundError):
        api.create_commit(rid, [CommitOperationDelete("sub")], commit_message="gone already")


def test_a_missing_repository_is_explained_once(api, tmp_path):
    """The client writes the Hub's explanation itself and appends the server's message only when
    it says something else: "Repository not found", as the Hub answers, adds nothing."""
    with pytest.raises(RepositoryNotFoundError) as err:
        api.create_commit(f"{OWNER}/repo_that_do_not_exist", [CommitOperationAdd("config.json", b"content")],
                          commit_message="fake_message")
    text = str(err.value)
    assert text.count("Repository Not Found for url:") == 1 and "/preupload/main." in text
    assert text.endswith("Please use `create_repo` if it's not the case.")
    assert err.value.server_message == "Repository not found"


def test_a_gitignore_in_the_same_upload_applies(api, tmp_path):
    rid = new_repo(api, "gitignore-same-commit")
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "file.bin").write_bytes(b"ignored")
    (tmp_path / "kept.txt").write_text("kept")
    (tmp_path / ".gitignore").write_text("nested/*\n")
    api.upload_folder(folder_path=tmp_path, repo_id=rid)
    files = set(api.list_repo_files(rid))
    assert {".gitignore", "kept.txt"} <= files and "nested/file.bin" not in files


def test_a_new_space_starts_with_its_configuration_card(hub, api, tokens):
    rid = f"{OWNER}/a-space"
    api.create_repo(rid, repo_type="space", space_sdk="gradio")
    card = api.hf_hub_download(rid, "README.md", repo_type="space")
    with open(card, encoding="utf-8") as f:
        text = f.read()
    assert text.startswith('---\ntitle: "a-space"\n') and "\nsdk: gradio\n" in text
    assert api.list_repo_files(rid, repo_type="space") == [".gitattributes", "README.md"]
    assert "README.md" not in api.list_repo_files(new_repo(api, "model-has-no-card"))
    r = hub.request("POST", "/api/repos/create", tokens[OWNER], json={"name": "bad-space", "type": "space",
                                                                      "sdk": "flash"})
    assert r.status_code == 400 and "Unknown Space SDK 'flash'" in r.json()["error"]


def test_search_reads_its_writes(hub, api, tokens):
    """A search sees every change committed before it was asked (SearchService.catch_up): the
    Hub's own tests list a private repository by name right after creating it."""
    for i in range(5):
        rid = f"{OWNER}/fresh-private-{i}"
        api.create_repo(rid, private=True)
        kwargs = {"search": rid.split("/")[1], "author": OWNER}
        assert [m.id for m in api.list_models(**kwargs)] == [rid], i
        assert [m.id for m in hub.api(None).list_models(**kwargs)] == []  # and no one else
        api.create_commit(rid, [CommitOperationAdd("README.md", f"---\nlicense: mit\n---\nfreshword{i}\n".encode())],
                          commit_message="card")
        assert [m.id for m in api.list_models(search=f"freshword{i}")] == [rid], i


def test_a_renamed_repository_answers_to_its_old_name(hub, api, tokens):
    old = new_repo(api, "before-rename")  # a.txt
    api.update_repo_settings(old, private=True)
    new = f"{OWNER}/after-rename"
    api.move_repo(old, new)
    with open(api.hf_hub_download(old, "a.txt"), "rb") as f:  # the Hub's own regression test
        assert f.read() == b"one"
    assert api.model_info(old).id == new
    api.create_commit(old, [CommitOperationAdd("b.txt", b"b")], commit_message="through the old name")
    assert set(api.list_repo_files(new)) == {".gitattributes", "a.txt", "b.txt"}
    assert not hub.api(tokens[OTHER]).repo_exists(old)  # private stays private under any name
    page = hub.get(f"/{old.upper()}/tree/main?x=1", tokens[OWNER], follow_redirects=False)
    assert page.status_code == 302 and page.headers["Location"].endswith(f"/{new}/tree/main?x=1")

    api.create_repo(old)  # the old name taken anew: it is that repository's now
    assert set(api.list_repo_files(old)) == {".gitattributes"}
    api.delete_repo(old)
    assert not api.repo_exists(old)
    api.move_repo(new, old)  # moving back: the other name is now the old one
    assert api.model_info(old).id == old and api.model_info(new).id == old
