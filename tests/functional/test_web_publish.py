"""Publishing pages against a real server: create a model, upload files (streamed multipart, with
and without XHR), open pull requests, edit a file with a live preview, delete a file.

Pages are driven like a browser without JavaScript: an httpx2.Client signs in through /login and
sends the form's csrf_token. One Playwright test drives the JavaScript side in Chromium.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
import uuid
from pathlib import Path
from urllib.parse import quote

import httpx2
import pytest

from tests.support.browser import browser, new_page  # noqa: F401  (fixtures)

pytest_plugins = ["tests.support.browser"]
from huggingface_hub import hf_hub_download



# ---- helpers (kept local: shared fixtures are being built elsewhere) ------------------------
def uniq(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def make_user(hub, name: str) -> str:
    """A user with a write token; its password is pw-<name>-12345."""
    return hub.user(name)


def csrf_of(page: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert m, "no csrf_token in the page"
    return m.group(1)


def sign_in(hub, name: str) -> httpx2.Client:
    """A client signed in through the login form; like a browser (and the requests session these
    tests were written with), it follows redirects unless a call says follow_redirects=False to look
    at the redirect itself."""
    s = httpx2.Client(follow_redirects=True)
    page = s.get(hub.url + "/login", timeout=30).text
    r = s.post(hub.url + "/login", data={"csrf_token": csrf_of(page), "username": name,
                                         "password": f"pw-{name}-12345"}, follow_redirects=False, timeout=30)
    assert r.status_code == 302, r.text
    return s


def get_form(s: httpx2.Client, hub, path: str) -> tuple[str, str]:
    r = s.get(hub.url + path, timeout=30)
    assert r.status_code == 200, (path, r.status_code, r.text[-2000:])
    return r.text, csrf_of(r.text)


def field_errors(page: str) -> list[str]:
    return [html.unescape(m) for m in re.findall(r'class="field-error"[^>]*>(.*?)</p>', page, re.S)]


def input_value(page: str, name: str) -> str | None:
    for tag in re.findall(r"<input[^>]*>", page):
        if re.search(rf'name="{re.escape(name)}"', tag):
            m = re.search(r'value="([^"]*)"', tag)
            return html.unescape(m.group(1)) if m else ""
    return None


def selected(page: str, name: str) -> str | None:
    m = re.search(rf'<select[^>]*name="{re.escape(name)}"[^>]*>(.*?)</select>', page, re.S)
    if not m:
        return None
    opt = re.search(r'<option[^>]*selected[^>]*value="([^"]*)"|<option[^>]*value="([^"]*)"[^>]*selected', m.group(1))
    return html.unescape(opt.group(1) or opt.group(2)) if opt else None


def checked_radio(page: str, name: str) -> str | None:
    for tag in re.findall(r"<input[^>]*>", page):
        if f'name="{name}"' in tag and "checked" in tag:
            return re.search(r'value="([^"]*)"', tag).group(1)
    return None


def textarea(page: str, name: str) -> str:
    m = re.search(rf'<textarea[^>]*name="{name}"[^>]*>\n?(.*?)</textarea>', page, re.S)
    assert m, f"no textarea {name}"
    return html.unescape(m.group(1))


def new_repo(s, hub, owner: str, name: str, license: str = "", visibility: str = "public") -> httpx2.Response:
    _page, token = get_form(s, hub, "/new")
    return s.post(hub.url + "/new", data={"csrf_token": token, "owner": owner, "name": name, "license": license,
                                          "visibility": visibility}, follow_redirects=False, timeout=60)


def head_of(hub, token: str, repo_id: str, rev: str = "main") -> str:
    return hub.api(token).model_info(repo_id, revision=rev).sha


@pytest.fixture(scope="module")
def alice(hub):
    name = "pub-alice"
    token = make_user(hub, name)
    s = sign_in(hub, name)
    yield {"name": name, "token": token, "s": s}
    s.close()


@pytest.fixture(scope="module")
def bob(hub):
    name = "pub-bob"
    token = make_user(hub, name)
    s = sign_in(hub, name)
    yield {"name": name, "token": token, "s": s}
    s.close()


# ---- /new -----------------------------------------------------------------------------------
def test_new_requires_sign_in(hub):
    r = httpx2.get(hub.url + "/new", timeout=30)
    assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=")


def test_new_repo_with_license_and_visibility(hub, alice):
    s, name = alice["s"], uniq("lic")
    page, _ = get_form(s, hub, "/new")
    assert selected(page, "owner") == alice["name"]
    assert 'value="apache-2.0"' in page and 'value="mit"' in page  # the catalogue
    r = new_repo(s, hub, alice["name"], name, license="apache-2.0", visibility="private")
    assert r.status_code == 302 and r.headers["Location"] == f"/{alice['name']}/{name}"
    api = hub.api(alice["token"])
    info = api.model_info(f"{alice['name']}/{name}")
    assert info.private is True
    assert info.card_data["license"] == "apache-2.0"
    readme = Path(hf_hub_download(f"{alice['name']}/{name}", "README.md", endpoint=hub.url, token=alice["token"],
                                  cache_dir=str(hub.data_dir / "cache-lic"))).read_text()
    assert readme.startswith("---\nlicense: apache-2.0\n---\n")
    # private: another signed-in user and an anonymous visitor get the 404 page
    assert httpx2.get(f"{hub.url}/{alice['name']}/{name}", follow_redirects=True, timeout=30).status_code == 404

    plain = uniq("nolic")
    assert new_repo(s, hub, alice["name"], plain).status_code == 302
    files = api.list_repo_files(f"{alice['name']}/{plain}")
    assert files == [".gitattributes"]  # no license chosen: no card
    assert api.model_info(f"{alice['name']}/{plain}").private is False


@pytest.mark.parametrize("bad", ["../evil", "<script>alert(1)</script>", "x" * 97, "a..b", "ends.git", ""])
def test_new_repo_bad_names_keep_input(hub, alice, bad):
    s = alice["s"]
    before = len(list(hub.api(alice["token"]).list_models(author=alice["name"])))
    r = new_repo(s, hub, alice["name"], bad, license="mit", visibility="private")
    assert r.status_code == 400
    errors = field_errors(r.text)
    assert errors, r.text
    # the message sits in the name field's block, what was typed is kept
    name_block = re.search(r'<div class="field has-error">\s*<label for="name".*?</div>', r.text, re.S)
    assert name_block, "the name field is not marked as wrong"
    assert 'aria-invalid="true"' in name_block.group(0)
    assert input_value(r.text, "name") == bad
    assert selected(r.text, "license") == "mit"
    assert checked_radio(r.text, "visibility") == "private"
    assert "<script>alert(1)</script>" not in r.text
    after = len(list(hub.api(alice["token"]).list_models(author=alice["name"])))
    assert after == before  # nothing created


def test_new_repo_duplicate_and_foreign_owner(hub, alice, bob):
    s, name = alice["s"], uniq("dup")
    assert new_repo(s, hub, alice["name"], name).status_code == 302
    r = new_repo(s, hub, alice["name"], name.upper(), license="mit")  # names are case-insensitive
    assert r.status_code == 400
    assert any("already has a model named" in e for e in field_errors(r.text))
    assert input_value(r.text, "name") == name.upper()
    # an owner outside the choices (someone else's namespace) is refused at the owner field
    r = new_repo(s, hub, bob["name"], uniq("steal"))
    assert r.status_code == 400
    assert re.search(r'<div class="field has-error">\s*<label for="owner"', r.text)
    assert not list(hub.api(bob["token"]).list_models(author=bob["name"], search="steal"))


def test_new_repo_without_csrf_is_refused(hub, alice):
    name = uniq("nocsrf")
    r = alice["s"].post(hub.url + "/new", data={"owner": alice["name"], "name": name, "visibility": "public"},
                        follow_redirects=False, timeout=30)
    assert r.status_code == 400
    assert not list(hub.api(alice["token"]).list_models(author=alice["name"], search=name))


def test_new_repo_in_an_organization(hub, alice):
    s, org = alice["s"], uniq("puborg")
    page, token = get_form(s, hub, "/organizations/new")
    r = s.post(hub.url + "/organizations/new", data={"csrf_token": token, "name": org}, follow_redirects=False,
               timeout=30)
    assert r.status_code == 303
    page, _ = get_form(s, hub, "/new")
    assert f'<option value="{org}">' in page
    r = new_repo(s, hub, org, "shared")
    assert r.status_code == 302 and r.headers["Location"] == f"/{org}/shared"


# ---- upload -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def up_repo(hub, alice):
    name = uniq("up")
    assert new_repo(alice["s"], hub, alice["name"], name, license="mit").status_code == 302
    return f"{alice['name']}/{name}"


def no_file_chosen(fields: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """(body, headers) of the upload form as a browser posts it with no file chosen: the fields and
    an empty part with filename="". Written out by hand because httpx2 drops an empty filename, and
    a part without one is a plain field to the server, not the empty file input it is."""
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename=""\r\n'
                 f'Content-Type: application/octet-stream\r\n\r\n\r\n--{boundary}--\r\n'.encode())
    return b"".join(parts), {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def staging_files(hub) -> set[str]:
    d = hub.data_dir / "tmp"
    return {p.name for p in d.glob("stage-*")} if d.exists() else set()


def test_upload_streams_a_large_file(hub, alice, up_repo, tmp_path):
    s = alice["s"]
    _page, token = get_form(s, hub, f"/{up_repo}/upload/main")
    big = tmp_path / "model.bin"
    with open(big, "wb") as f:
        for _ in range(30):
            f.write(os.urandom(1024 * 1024))
    digest = hashlib.sha256(big.read_bytes()).hexdigest()
    before = staging_files(hub)
    with open(big, "rb") as fb:
        r = s.post(f"{hub.url}/{up_repo}/upload/main",
                   data={"csrf_token": token, "folder": "weights/v1", "summary": "Add weights", "description": ""},
                   files=[("files", ("model.bin", fb, "application/octet-stream")),
                          ("files", ("notes.txt", b"hello\n", "text/plain"))],
                   follow_redirects=False, timeout=300)
    assert r.status_code == 303, r.text[-2000:]
    assert r.headers["Location"] == f"/{up_repo}/tree/main"
    api = hub.api(alice["token"])
    info = api.model_info(up_repo, files_metadata=True)
    by_name = {x.rfilename: x for x in info.siblings}
    assert by_name["weights/v1/model.bin"].lfs is not None  # large: LFS
    assert by_name["weights/v1/model.bin"].lfs.sha256 == digest
    assert by_name["weights/v1/notes.txt"].lfs is None
    assert api.list_repo_commits(up_repo)[0].title == "Add weights"
    path = hf_hub_download(up_repo, "weights/v1/model.bin", endpoint=hub.url, token=alice["token"],
                           cache_dir=str(tmp_path / "cache"))
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    assert h.hexdigest() == digest
    assert staging_files(hub) - before == set()  # no staging file left behind


def test_upload_with_xhr_headers_answers_json(hub, alice, up_repo):
    s = alice["s"]
    _page, token = get_form(s, hub, f"/{up_repo}/upload/main")
    r = s.post(f"{hub.url}/{up_repo}/upload/main", data={"summary": ""},
               files=[("files", ("config.json", b'{"a": 1}', "application/json"))],
               headers={"X-CSRFToken": token, "Accept": "application/json"}, timeout=60)
    assert r.status_code == 200 and r.json() == {"ok": True, "redirect": f"/{up_repo}/tree/main"}
    api = hub.api(alice["token"])
    assert api.list_repo_commits(up_repo)[0].title == "Upload config.json"
    # errors come back as JSON for the script to place next to the fields
    r = s.post(f"{hub.url}/{up_repo}/upload/main", data={"folder": "../up"},
               files=[("files", ("x.txt", b"x", "text/plain"))],
               headers={"X-CSRFToken": token, "Accept": "application/json"}, timeout=60)
    assert r.status_code == 400 and r.json()["ok"] is False and r.json()["errors"]["folder"]


def test_upload_bad_input_keeps_values_and_commits_nothing(hub, alice, up_repo):
    s = alice["s"]
    head = head_of(hub, alice["token"], up_repo)
    discussions = len(list(hub.api(alice["token"]).get_repo_discussions(up_repo)))
    _page, token = get_form(s, hub, f"/{up_repo}/upload/main")
    # no file chosen (a browser sends an empty part)
    body, headers = no_file_chosen({"csrf_token": token, "summary": "Keep me"})
    r = s.post(f"{hub.url}/{up_repo}/upload/main", content=body, headers=headers, follow_redirects=False, timeout=60)
    assert r.status_code == 400
    assert "Choose at least one file." in field_errors(r.text)
    assert input_value(r.text, "summary") == "Keep me"
    # a folder escaping the repository
    for folder in ("../outside", "a/../../b", ".git/hooks"):
        r = s.post(f"{hub.url}/{up_repo}/upload/main",
                   data={"csrf_token": token, "folder": folder, "summary": "Sneaky", "create_pr": "y"},
                   files=[("files", ("x.txt", b"x", "text/plain"))], follow_redirects=False, timeout=60)
        assert r.status_code == 400, folder
        assert field_errors(r.text), folder
        assert input_value(r.text, "folder") == folder
        assert 'checked' in re.search(r'<input[^>]*name="create_pr"[^>]*>', r.text).group(0)
    # a file name that is not a valid path
    r = s.post(f"{hub.url}/{up_repo}/upload/main", data={"csrf_token": token},
               files=[("files", (".git", b"x", "text/plain"))], follow_redirects=False, timeout=60)
    assert r.status_code == 400 and field_errors(r.text)
    assert head_of(hub, alice["token"], up_repo) == head
    assert len(list(hub.api(alice["token"]).get_repo_discussions(up_repo))) == discussions  # no pull request


def test_upload_without_csrf_is_refused_and_leaves_nothing(hub, alice, up_repo):
    head = head_of(hub, alice["token"], up_repo)
    before = staging_files(hub)
    r = alice["s"].post(f"{hub.url}/{up_repo}/upload/main", data={"summary": "x"},
                        files=[("files", ("evil.bin", os.urandom(2 * 1024 * 1024), "application/octet-stream"))],
                        follow_redirects=False, timeout=60)
    assert r.status_code == 400
    assert head_of(hub, alice["token"], up_repo) == head
    assert staging_files(hub) - before == set()


def test_upload_with_pull_request(hub, alice, up_repo, tmp_path):
    s = alice["s"]
    head = head_of(hub, alice["token"], up_repo)
    _page, token = get_form(s, hub, f"/{up_repo}/upload/main")
    r = s.post(f"{hub.url}/{up_repo}/upload/main",
               data={"csrf_token": token, "summary": "Propose tokenizer", "description": "Please review",
                     "create_pr": "y"},
               files=[("files", ("tokenizer.json", b'{"v": 1}', "application/json"))], follow_redirects=False,
               timeout=60)
    assert r.status_code == 303, r.text[-2000:]
    m = re.fullmatch(rf"/{re.escape(up_repo)}/discussions/(\d+)", r.headers["Location"])
    assert m
    num = int(m.group(1))
    api = hub.api(alice["token"])
    pr = api.get_discussion_details(up_repo, num)
    assert pr.is_pull_request and pr.title == "Propose tokenizer" and pr.status == "open"
    assert head_of(hub, alice["token"], up_repo) == head  # main untouched
    assert "tokenizer.json" in api.list_repo_files(up_repo, revision=f"refs/pr/{num}")
    assert "tokenizer.json" not in api.list_repo_files(up_repo)

    # the pull request's branch takes more commits through the same pages (refs%2Fpr%2FN in the URL)
    rev = quote(f"refs/pr/{num}", safe="")
    page, token = get_form(s, hub, f"/{up_repo}/edit/{rev}/NOTES.md")
    assert textarea(page, "content") == ""
    r = s.post(f"{hub.url}/{up_repo}/edit/{rev}/NOTES.md",
               data={"csrf_token": token, "content": "# Notes\n", "action": "commit", "parent": ""},
               follow_redirects=False, timeout=60)
    assert r.status_code == 303, r.text[-2000:]
    assert "NOTES.md" in api.list_repo_files(up_repo, revision=f"refs/pr/{num}")
    assert "NOTES.md" not in api.list_repo_files(up_repo)


def test_upload_by_a_reader_becomes_a_pull_request(hub, alice, bob, up_repo):
    s = bob["s"]
    head = head_of(hub, alice["token"], up_repo)
    page, token = get_form(s, hub, f"/{up_repo}/upload/main")
    assert 'name="create_pr"' not in page  # no choice: a pull request it is
    r = s.post(f"{hub.url}/{up_repo}/upload/main", data={"csrf_token": token, "summary": "From bob"},
               files=[("files", ("bob.txt", b"bob\n", "text/plain"))], follow_redirects=False, timeout=60)
    assert r.status_code == 303 and "/discussions/" in r.headers["Location"]
    assert head_of(hub, alice["token"], up_repo) == head


def test_upload_to_an_invisible_repo_is_404(hub, alice, bob):
    name = uniq("secret")
    assert new_repo(alice["s"], hub, alice["name"], name, visibility="private").status_code == 302
    assert bob["s"].get(f"{hub.url}/{alice['name']}/{name}/upload/main", timeout=30).status_code == 404
    _p, token = get_form(bob["s"], hub, "/new")
    r = bob["s"].post(f"{hub.url}/{alice['name']}/{name}/upload/main", data={"csrf_token": token},
                      files=[("files", ("x.txt", b"x", "text/plain"))], follow_redirects=False, timeout=60)
    assert r.status_code == 404
    assert hub.api(alice["token"]).list_repo_files(f"{alice['name']}/{name}") == [".gitattributes"]


# ---- edit, preview ----------------------------------------------------------------------------
BROKEN = "---\nlicense: mit\ntags: [a, b\n---\n# Title\n"
INVALID_FIELD = "---\nlicense: mit\npipeline_tag: 42\n---\n# Title\n"
VALID = "---\nlicense: mit\nlanguage: en\npipeline_tag: text-classification\n---\n# Sentiment model\n\nIt **works**.\n"


def test_edit_readme_preview_and_commit(hub, alice):
    s, name = alice["s"], uniq("card")
    assert new_repo(s, hub, alice["name"], name, license="mit").status_code == 302
    repo_id = f"{alice['name']}/{name}"
    head = head_of(hub, alice["token"], repo_id)
    page, token = get_form(s, hub, f"/{repo_id}/edit/main/README.md")
    assert textarea(page, "content").startswith("---\nlicense: mit\n---\n")
    assert input_value(page, "parent") == head

    # no-JS preview: the page comes back with the rendered card and the problems
    r = s.post(f"{hub.url}/{repo_id}/edit/main/README.md",
               data={"csrf_token": token, "content": BROKEN, "action": "preview", "parent": head}, timeout=60)
    assert r.status_code == 200
    assert textarea(r.text, "content") == BROKEN
    assert "invalid YAML" in r.text and "Line 3" in r.text
    assert "<h1" in r.text and "Title" in r.text

    # commit with broken YAML: refused next to the editor, text kept, nothing committed
    r = s.post(f"{hub.url}/{repo_id}/edit/main/README.md",
               data={"csrf_token": token, "content": BROKEN, "action": "commit", "parent": head,
                     "summary": "Broken"}, follow_redirects=False, timeout=60)
    assert r.status_code == 400
    assert any("Nothing was committed" in e for e in field_errors(r.text))
    assert textarea(r.text, "content") == BROKEN
    assert input_value(r.text, "summary") == "Broken"
    r = s.post(f"{hub.url}/{repo_id}/edit/main/README.md",
               data={"csrf_token": token, "content": INVALID_FIELD, "action": "commit", "parent": head},
               follow_redirects=False, timeout=60)
    assert r.status_code == 400 and "pipeline_tag" in r.text
    assert head_of(hub, alice["token"], repo_id) == head

    # a valid card commits and shows on the model page
    r = s.post(f"{hub.url}/{repo_id}/edit/main/README.md",
               data={"csrf_token": token, "content": VALID.replace("\n", "\r\n"), "action": "commit",
                     "parent": head, "summary": "Write the card"}, follow_redirects=False, timeout=60)
    assert r.status_code == 303 and r.headers["Location"] == f"/{repo_id}"
    page = s.get(f"{hub.url}/{repo_id}", timeout=30).text
    assert "Sentiment model" in page and "<strong>works</strong>" in page
    info = hub.api(alice["token"]).model_info(repo_id)
    assert info.pipeline_tag == "text-classification" and info.card_data["language"] == "en"
    assert hub.api(alice["token"]).list_repo_commits(repo_id)[0].title == "Write the card"

    # the editor remembers which commit it started from: a stale one is reported, then allowed
    r = s.post(f"{hub.url}/{repo_id}/edit/main/README.md",
               data={"csrf_token": token, "content": VALID + "\nMore.\n", "action": "commit", "parent": head},
               follow_redirects=False, timeout=60)
    assert r.status_code == 400 and any("changed this branch" in e for e in field_errors(r.text))
    new_parent = input_value(r.text, "parent")
    assert new_parent == head_of(hub, alice["token"], repo_id)
    r = s.post(f"{hub.url}/{repo_id}/edit/main/README.md",
               data={"csrf_token": token, "content": VALID + "\nMore.\n", "action": "commit",
                     "parent": new_parent}, follow_redirects=False, timeout=60)
    assert r.status_code == 303


def test_preview_endpoint(hub, alice, bob):
    s, name = alice["s"], uniq("prev")
    assert new_repo(s, hub, alice["name"], name, visibility="private").status_code == 302
    repo_id = f"{alice['name']}/{name}"
    _page, token = get_form(s, hub, f"/{repo_id}/edit/main/README.md")
    url = f"{hub.url}/{repo_id}/preview"
    r = s.post(url, json={"text": BROKEN}, headers={"X-CSRFToken": token}, timeout=30)
    assert r.status_code == 200
    data = r.json()
    assert data["errors"] and data["errors"][0]["line"] == 3 and "invalid YAML" in data["errors"][0]["message"]
    assert "Title" in data["html"]
    data = s.post(url, json={"text": INVALID_FIELD}, headers={"X-CSRFToken": token}, timeout=30).json()
    assert data["errors"] == [{"message": "must be a string", "line": 3, "field": "pipeline_tag",
                               "text": "line 3, field 'pipeline_tag': must be a string"}]
    data = s.post(url, json={"text": VALID.replace("language: en", "language: xx-yy")},
                  headers={"X-CSRFToken": token}, timeout=30).json()
    assert not data["errors"] and data["warnings"][0]["field"] == "language"
    # the preview is sanitized like the model page
    data = s.post(url, json={"text": "<script>alert(1)</script>\n<img src=x onerror=alert(1)>"},
                  headers={"X-CSRFToken": token}, timeout=30).json()
    assert "<script" not in data["html"] and "onerror" not in data["html"]
    # no CSRF header: refused; bad body: 400; signed out: 401; someone else's private repository: 404
    assert s.post(url, json={"text": "x"}, timeout=30).status_code == 400
    with httpx2.Client(follow_redirects=True) as anon:
        anon_token = csrf_of(anon.get(hub.url + "/login", timeout=30).text)
        assert anon.post(url, json={"text": "x"}, headers={"X-CSRFToken": anon_token}, timeout=30).status_code == 401
    assert s.post(url, json={"nope": 1}, headers={"X-CSRFToken": token}, timeout=30).status_code == 400
    _p, bob_token = get_form(bob["s"], hub, "/new")
    assert bob["s"].post(url, json={"text": "x"}, headers={"X-CSRFToken": bob_token}, timeout=30).status_code == 404


def test_edit_refuses_binary_and_missing_revision(hub, alice, up_repo):
    s = alice["s"]
    assert s.get(f"{hub.url}/{up_repo}/edit/main/weights/v1/model.bin", timeout=30).status_code == 400
    assert s.get(f"{hub.url}/{up_repo}/edit/nope/README.md", timeout=30).status_code == 404
    assert s.get(f"{hub.url}/{up_repo}/edit/main/..%2F..%2Fetc%2Fpasswd", timeout=30).status_code in (400, 404)
    # a new file: the editor opens empty and the commit creates it
    page, token = get_form(s, hub, f"/{up_repo}/edit/main/docs/usage.md")
    r = s.post(f"{hub.url}/{up_repo}/edit/main/docs/usage.md",
               data={"csrf_token": token, "content": "Use it.\n", "action": "commit",
                     "parent": input_value(page, "parent")}, follow_redirects=False, timeout=60)
    assert r.status_code == 303 and r.headers["Location"] == f"/{up_repo}/blob/main/docs/usage.md"
    assert hub.api(alice["token"]).list_repo_commits(up_repo)[0].title == "Create docs/usage.md"


# ---- delete a file ----------------------------------------------------------------------------
def test_delete_file(hub, alice, bob, up_repo):
    s = alice["s"]
    page, token = get_form(s, hub, f"/{up_repo}/delete/main/weights/v1/notes.txt")
    assert "weights/v1/notes.txt" in page
    # without CSRF: refused
    r = s.post(f"{hub.url}/{up_repo}/delete/main/weights/v1/notes.txt", data={}, follow_redirects=False, timeout=30)
    assert r.status_code == 400
    assert "weights/v1/notes.txt" in hub.api(alice["token"]).list_repo_files(up_repo)
    # a reader's deletion is only a proposal
    _p, bob_token = get_form(bob["s"], hub, f"/{up_repo}/delete/main/weights/v1/notes.txt")
    r = bob["s"].post(f"{hub.url}/{up_repo}/delete/main/weights/v1/notes.txt", data={"csrf_token": bob_token},
                      follow_redirects=False, timeout=30)
    assert r.status_code == 303 and "/discussions/" in r.headers["Location"]
    assert "weights/v1/notes.txt" in hub.api(alice["token"]).list_repo_files(up_repo)
    # the owner's deletion is a commit
    r = s.post(f"{hub.url}/{up_repo}/delete/main/weights/v1/notes.txt",
               data={"csrf_token": token, "summary": ""}, follow_redirects=False, timeout=30)
    assert r.status_code == 303 and r.headers["Location"] == f"/{up_repo}/tree/main"
    api = hub.api(alice["token"])
    assert "weights/v1/notes.txt" not in api.list_repo_files(up_repo)
    assert api.list_repo_commits(up_repo)[0].title == "Delete weights/v1/notes.txt"
    assert s.get(f"{hub.url}/{up_repo}/delete/main/weights/v1/notes.txt", timeout=30).status_code == 404


# ---- the browser ------------------------------------------------------------------------------
def test_browser_signup_token_repo_and_card(hub, new_page):
    from playwright import sync_api

    user, model = uniq("web"), "sentiment"
    page = new_page()
    page.set_default_timeout(20_000)
    page.goto(hub.url + "/join")
    page.fill("#username", user)
    page.fill("#password", "browser-pass-123")
    page.fill("#confirm", "browser-pass-123")
    page.click("form button[type=submit]")
    page.wait_for_url(hub.url + "/")

    page.goto(hub.url + "/settings/tokens")
    page.fill("#label", "laptop")
    page.check("input[name=role][value=write]")
    page.click("text=Create token")
    secret = page.input_value("[data-new-token]")
    assert secret.startswith("mh_")
    assert hub.api(secret).whoami()["name"] == user

    page.goto(hub.url + "/new")
    page.fill("#name", model)
    page.select_option("#license", "mit")
    page.click("text=Create model")
    page.wait_for_url(f"{hub.url}/{user}/{model}")

    page.goto(f"{hub.url}/{user}/{model}/edit/main/README.md")
    editor = page.locator("#content")
    editor.fill("---\nlicense: mit\ntags: [a, b\n---\n# Broken\n")
    problems = page.locator("[data-problems]")
    sync_api.expect(problems).to_contain_text("invalid YAML", timeout=10_000)
    sync_api.expect(problems.locator("button[data-line]").first).to_have_text("Line 3")
    sync_api.expect(editor).to_have_attribute("aria-invalid", "true")
    editor.fill("---\nlicense: mit\npipeline_tag: text-classification\n---\n"
                "# Sentiment\n\nThis model is **great**.\n")
    sync_api.expect(problems).to_contain_text("The card metadata is valid", timeout=10_000)
    sync_api.expect(page.locator("[data-preview] strong")).to_have_text("great")
    page.fill("#summary", "Write the card")
    page.click("button[value=commit]")
    page.wait_for_url(f"{hub.url}/{user}/{model}")
    sync_api.expect(page.locator("article.card-body h2")).to_have_text("Sentiment")  # "#" under the page's h1
    sync_api.expect(page.locator("article.card-body strong")).to_have_text("great")
    assert hub.api(secret).model_info(f"{user}/{model}").pipeline_tag == "text-classification"
