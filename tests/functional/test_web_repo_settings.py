"""A repository's settings and files in a real browser, in English and Chinese (issue #22, point 6):
rename or transfer on the settings page (admins only, the name typed to confirm, CSRF), the same
through huggingface_hub's move_repo, old addresses that keep working (pages redirect, git clones);
"Create a new file" from the file list (path, content, commit message; a pull request for who may
only propose changes), with readable errors for bad paths and existing files."""

from __future__ import annotations

import pytest
from huggingface_hub.errors import HfHubHTTPError
from playwright.sync_api import expect

from tests.support.browser import browser, new_page, page, sign_in  # noqa: F401
from tests.support.gitutil import make_git, remote_url

pytest_plugins = ["tests.support.browser"]  # the failure screenshots' report hook

OWNER, WRITER, READER, OUTSIDER = "rsowner", "rswriter", "rsreader", "rsoutsider"
ORG = "rs-org"  # OWNER admin, WRITER write, READER read


@pytest.fixture(scope="module")
def people(hub):
    tokens = dict(zip([OWNER, WRITER, READER, OUTSIDER], hub.users(OWNER, WRITER, READER, OUTSIDER)))
    hub.cli("orgs", "create", ORG, "--owner", OWNER)
    hub.cli("orgs", "add-member", ORG, WRITER, "--role", "write")
    hub.cli("orgs", "add-member", ORG, READER, "--role", "read")
    return tokens


def make_model(hub, token: str, repo_id: str, private: bool = False) -> None:
    api = hub.api(token)
    api.create_repo(repo_id, private=private)
    api.upload_file(path_or_fileobj=b"---\nlicense: mit\n---\n# A model\n", path_in_repo="README.md", repo_id=repo_id)


def signed_in_page(new_page, name: str, locale: str = "en-US"):
    pg = new_page(locale=locale)
    sign_in(pg, name)
    return pg


# ---- rename and transfer ---------------------------------------------------------------------------

def test_move_repo_through_huggingface_hub_keeps_old_urls_and_git_clone(hub, people, tmp_path_factory):
    old, new = f"{OWNER}/api-before", f"{OWNER}/api-after"
    make_model(hub, people[OWNER], old)
    hub.api(people[OWNER]).move_repo(old, new)
    assert hub.api(None).model_info(new).id == new
    r = hub.get(f"/{old}", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (302, f"/{new}")
    r = hub.get(f"/{old}/tree/main", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (302, f"/{new}/tree/main")
    git = make_git(tmp_path_factory, lfs=False)
    dest = tmp_path_factory.mktemp("clone") / "old-name"
    git.clone(remote_url(hub, old), dest)
    assert (dest / "README.md").read_bytes() == b"---\nlicense: mit\n---\n# A model\n"


@pytest.mark.parametrize("locale, moved", [("en-US", "is now"), ("zh-CN", "现在是")])
def test_rename_on_the_settings_page(new_page, hub, people, locale, moved):
    old, new = f"{OWNER}/page-before-{locale}", f"{OWNER}/page-after-{locale}"
    make_model(hub, people[OWNER], old)
    pg = signed_in_page(new_page, OWNER, locale)
    pg.goto(f"/{old}/settings")
    form = pg.locator("#move form")
    button = form.locator("[data-confirm-button]")
    form.locator("input[name=move-name]").fill(new.split("/")[1])
    expect(button).to_be_disabled()  # until the current name is typed
    form.locator("input[name=move-confirm]").fill(old)
    expect(button).to_be_enabled()
    with pg.expect_navigation():
        button.click()
    assert pg.url.endswith(f"/{new}/settings")
    expect(pg.locator(".flash, [role=status]").first).to_contain_text(moved)
    pg.goto(f"/{old}")  # the old address leads to the new one
    assert pg.url.endswith(f"/{new}")
    assert hub.api(people[OWNER]).model_info(new).id == new


def test_transfer_to_an_organization_on_the_settings_page(new_page, hub, people):
    old, new = f"{OWNER}/to-org", f"{ORG}/to-org"
    make_model(hub, people[OWNER], old, private=True)
    pg = signed_in_page(new_page, OWNER)
    pg.goto(f"/{old}/settings")
    form = pg.locator("#move form")
    form.locator("select[name=move-namespace]").select_option(ORG)
    form.locator("input[name=move-confirm]").fill(old)
    with pg.expect_navigation():
        form.locator("[data-confirm-button]").click()
    assert pg.url.endswith(f"/{new}/settings")
    info = hub.api(people[READER]).model_info(new)  # a member of the organization sees it now
    assert (info.id, info.private) == (new, True)


@pytest.mark.parametrize("locale, clash", [("en-US", "already exists"), ("zh-CN", "已存在")])
def test_move_errors_are_readable(new_page, hub, people, locale, clash):
    src, taken = f"{OWNER}/move-src-{locale}", f"{OWNER}/move-taken-{locale}"
    make_model(hub, people[OWNER], src)
    make_model(hub, people[OWNER], taken)
    pg = signed_in_page(new_page, OWNER, locale)
    pg.goto(f"/{src}/settings")
    form = pg.locator("#move form")
    form.locator("input[name=move-name]").fill(taken.split("/")[1])
    form.locator("input[name=move-confirm]").fill(src)
    with pg.expect_navigation():
        form.locator("[data-confirm-button]").click()
    expect(pg.locator("#move .field-error")).to_contain_text(clash)
    form = pg.locator("#move form")
    form.locator("input[name=move-name]").fill("bad name!")
    form.locator("input[name=move-confirm]").fill(src)
    with pg.expect_navigation():
        form.locator("[data-confirm-button]").click()
    expect(pg.locator("#move .field-error")).to_be_visible()
    assert hub.api(people[OWNER]).model_info(src).id == src  # nothing moved


def test_move_needs_admin_rights_and_a_csrf_token(new_page, hub, people):
    rid = f"{ORG}/guarded"
    make_model(hub, people[OWNER], rid)
    private = f"{ORG}/guarded-private"
    make_model(hub, people[OWNER], private, private=True)
    form = {"move-namespace": WRITER, "move-name": "stolen", "move-confirm": rid}
    writer = signed_in_page(new_page, WRITER)
    writer.goto(f"/{rid}/settings")  # a writer sees the page, without the admin sections
    expect(writer.locator("#move")).to_have_count(0)
    token = writer.locator("meta[name=csrf-token]").get_attribute("content")
    r = writer.request.post(f"/{rid}/settings/move", form={**form, "csrf_token": token}, max_redirects=0)
    assert r.status == 403
    outsider = signed_in_page(new_page, OUTSIDER)
    outsider.goto("/")
    token = outsider.locator("meta[name=csrf-token]").get_attribute("content")
    r = outsider.request.post(f"/{private}/settings/move",
                              form={**form, "move-confirm": private, "csrf_token": token}, max_redirects=0)
    assert r.status == 404  # a private repository does not exist for outsiders
    owner = signed_in_page(new_page, OWNER)
    owner.goto("/")
    r = owner.request.post(f"/{rid}/settings/move", form={**form, "move-namespace": OWNER}, max_redirects=0)
    assert r.status == 400  # no CSRF token
    with pytest.raises(HfHubHTTPError) as refused:
        hub.api(people[WRITER]).move_repo(rid, f"{WRITER}/stolen")
    assert refused.value.response.status_code == 403
    assert hub.api(people[OWNER]).model_info(rid).id == rid


# ---- create a new file --------------------------------------------------------------------------

@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_create_a_new_file_from_the_file_list(new_page, hub, people, locale):
    rid = f"{OWNER}/new-file-{locale}"
    make_model(hub, people[OWNER], rid)
    pg = signed_in_page(new_page, OWNER, locale)
    pg.goto(f"/{rid}/tree/main")
    with pg.expect_navigation():
        pg.locator(f".files-toolbar a[href='/{rid}/new/main']").click()
    pg.fill("#path", "docs/notes.md")
    pg.fill("#content", "# 笔记\n\nHello.\n")
    pg.fill("#summary", f"Add the notes ({locale})")
    with pg.expect_navigation():
        pg.locator(".editor-page button[type=submit]").click()
    assert pg.url.endswith(f"/{rid}/blob/main/docs/notes.md")
    pg.goto(f"/{rid}/tree/main/docs")
    expect(pg.locator("a", has_text="notes.md").first).to_be_visible()
    expect(pg.get_by_text(f"Add the notes ({locale})").first).to_be_visible()
    commits = hub.api(None).list_repo_commits(rid)
    assert commits[0].title == f"Add the notes ({locale})"
    # from inside a folder, the path starts with it
    with pg.expect_navigation():
        pg.locator(f".files-toolbar a[href='/{rid}/new/main/docs']").click()
    expect(pg.locator("#path")).to_have_value("docs/")


@pytest.mark.parametrize("locale, words", [
    ("en-US", {"../escape.txt": "segments are not allowed", "/abs.txt": "absolute paths are not allowed",
               "README.md/inner.txt": "both a file and a folder", "README.md": "already exists"}),
    ("zh-CN", {"../escape.txt": "不能包含", "/abs.txt": "不能使用绝对路径", "README.md/inner.txt": "既是文件又是文件夹",
               "README.md": "已存在"}),
])
def test_new_file_path_errors_are_readable(new_page, hub, people, locale, words):
    rid = f"{OWNER}/bad-paths-{locale}"
    make_model(hub, people[OWNER], rid)
    pg = signed_in_page(new_page, OWNER, locale)
    for path, expected in words.items():
        pg.goto(f"/{rid}/new/main")
        pg.fill("#path", path)
        pg.fill("#content", "x\n")
        with pg.expect_navigation():
            pg.locator(".editor-page button[type=submit]").click()
        expect(pg.locator(".field-error").first).to_contain_text(expected)
        expect(pg.locator("#content")).to_have_value("x\n")  # what was typed is kept
    expect(pg.locator(f"a[href='/{rid}/edit/main/README.md']").first).to_be_visible()  # the last one links its editor
    assert [c.title for c in hub.api(None).list_repo_commits(rid)][0] == "Upload README.md with huggingface_hub"


def test_a_reader_proposes_a_new_file_as_a_pull_request(new_page, hub, people):
    rid = f"{ORG}/proposals"
    make_model(hub, people[OWNER], rid)
    pg = signed_in_page(new_page, READER)
    pg.goto(f"/{rid}/new/main")
    expect(pg.locator(".commit-box .note")).to_be_visible()  # "your change will be proposed..."
    pg.fill("#path", "CONTRIBUTING.md")
    pg.fill("#content", "Be kind.\n")
    pg.fill("#summary", "Add contributing notes")
    with pg.expect_navigation():
        pg.locator(".editor-page button[type=submit]").click()
    assert "/discussions/" in pg.url
    prs = [d for d in hub.api(people[OWNER]).get_repo_discussions(rid) if d.is_pull_request]
    assert [d.title for d in prs] == ["Add contributing notes"]
    assert "CONTRIBUTING.md" not in hub.api(None).list_repo_files(rid)  # main is untouched


def test_a_commit_making_a_path_both_file_and_folder_is_refused(hub, people):
    rid = f"{OWNER}/file-or-folder"
    make_model(hub, people[OWNER], rid)
    api = hub.api(people[OWNER])
    api.upload_file(path_or_fileobj=b"a\n", path_in_repo="docs/a.txt", repo_id=rid)
    for path in ("README.md/inner.txt", "docs"):  # under a file; a file where a folder is
        with pytest.raises(HfHubHTTPError) as refused:
            api.upload_file(path_or_fileobj=b"x\n", path_in_repo=path, repo_id=rid)
        assert refused.value.response.status_code == 400
        assert "cannot be both a file and a folder" in refused.value.response.json()["error"]
    assert sorted(api.list_repo_files(rid)) == [".gitattributes", "README.md", "docs/a.txt"]
