"""Card validation on the live server: refused cards commit nothing, warnings are reported, hostile YAML
and oversized cards are refused in bounded time.

The client validates README.md through /api/validate-yaml before committing; the commit endpoint
checks again (a raw NDJSON commit bypasses the first check), naming the README line and the field.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from huggingface_hub import CommitOperationAdd

SAFETY_BOUND_S = 10  # hostile input must be refused without expanding it: a generous bound, not a speed target


def new_repo(hub, name: str) -> tuple[str, str, object]:
    token = hub.user("cardval-owner")
    api = hub.api(token)
    repo_id = f"cardval-owner/{name}"
    api.create_repo(repo_id)
    return token, repo_id, api


def assert_nothing_committed(api, repo_id: str, head: str) -> None:
    info = api.model_info(repo_id)
    assert info.sha == head
    assert [s.rfilename for s in info.siblings] == [".gitattributes"]
    assert info.card_data is None


def billion_laughs(levels: int = 9) -> str:
    out = 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for i in range(1, levels):
        out += f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]\n"
    return out


# ---- through the client ------------------------------------------------------------------------

def test_broken_yaml_is_refused_by_the_client_and_nothing_is_committed(hub):
    token, repo_id, api = new_repo(hub, "broken-yaml")
    head = api.model_info(repo_id).sha
    with pytest.raises(ValueError) as exc:
        api.upload_file(path_or_fileobj=b"---\nlicense: mit\ntags: [a\n---\n# x\n", path_in_repo="README.md",
                        repo_id=repo_id)
    assert "Invalid metadata in README.md" in str(exc.value)
    assert "line 3: invalid YAML" in str(exc.value)
    with pytest.raises(ValueError) as exc:
        api.upload_file(path_or_fileobj=b"---\nlicense: mit\ntags: {a: 1}\n---\n", path_in_repo="README.md",
                        repo_id=repo_id)
    assert "line 3, field 'tags': must be a string or a list of strings" in str(exc.value)
    assert_nothing_committed(api, repo_id, head)


def test_card_with_warnings_through_the_client(hub):
    token, repo_id, api = new_repo(hub, "warned-client")
    card = b"---\nlicense: mit\nlanguage: [en, xx]\npipeline_tag: flying\n---\n# x\n"
    with pytest.warns(UserWarning, match="Warnings while validating metadata in README.md") as record:
        api.upload_file(path_or_fileobj=card, path_in_repo="README.md", repo_id=repo_id)
    text = "\n".join(str(w.message) for w in record)
    assert "'xx' is not an ISO 639 language code" in text
    assert "unknown task 'flying'" in text
    info = api.model_info(repo_id)
    assert info.card_data.language == ["en", "xx"]
    assert info.pipeline_tag == "flying"


def test_the_hubs_validation_cases_through_the_client(hub):
    """What huggingface_hub's own tests send: metadata after a blank line is read (and refused here
    for its invalid model-index, before any upload), a card without metadata is committed with a
    warning, and an unknown license fails RepoCard.validate() with the Hub's words."""
    from huggingface_hub import ModelCard

    token, repo_id, api = new_repo(hub, "hub-cases")
    head = api.model_info(repo_id).sha
    with pytest.raises(ValueError, match="Invalid metadata in README.md"):
        api.create_commit(repo_id, [CommitOperationAdd("README.md", b"\n---\nmodel-index: foo\n---\n\nText.\n"),
                                    CommitOperationAdd("lfs.bin", b"content")], commit_message="invalid")
    assert_nothing_committed(api, repo_id, head)
    with pytest.warns(UserWarning, match="Warnings while validating metadata in README.md"):
        api.create_commit(repo_id, [CommitOperationAdd("README.md", b"This is a modelcard without metadata")],
                          commit_message="no metadata")
    assert api.model_info(repo_id).sha != head

    card = ModelCard("---\nlicense: mit\n---\n# Card\n")
    import huggingface_hub.repocard as repocard
    old, repocard.constants.ENDPOINT = repocard.constants.ENDPOINT, hub.url  # validate() posts to ENDPOINT
    try:
        card.validate()
        card.data.license = "asdf"
        with pytest.raises(ValueError, match='- Error: "license" must be one of'):
            card.validate()
    finally:
        repocard.constants.ENDPOINT = old
    with pytest.raises(ValueError, match="unknown license identifier 'asdf'"):
        api.upload_file(path_or_fileobj=b"---\nlicense: asdf\n---\n", path_in_repo="README.md", repo_id=repo_id)


def test_validate_yaml_endpoint(hub):
    ok = hub.request("POST", "/api/validate-yaml", json={"repoType": "model", "content": "---\nlicense: mit\n---\n"})
    assert ok.status_code == 200 and ok.json() == {"errors": [], "warnings": []}

    warned = hub.request("POST", "/api/validate-yaml", json={"content": "---\npipeline_tag: flying\n---\n"})
    assert warned.status_code == 200
    assert warned.json() == {"errors": [],
                             "warnings": [{"message": "line 2, field 'pipeline_tag': unknown task 'flying'"}]}

    bad = hub.request("POST", "/api/validate-yaml", json={"content": "---\nlicense: other\n---\n"})
    assert bad.status_code == 400
    assert bad.json()["errors"] == [
        {"message": "line 2, field 'license': 'other' requires 'license_name' and 'license_link'"}]

    for body in ({}, {"content": 3}, {"content": ["---"]}):
        r = hub.request("POST", "/api/validate-yaml", json=body)
        assert r.status_code == 400, body
        assert r.headers["X-Error-Message"] == "'content' must be the README text"

    # Anonymous works (the client's RepoCard.validate sends no token); a bad token does not.
    r = hub.request("POST", "/api/validate-yaml", token="mh_not_a_token",
                    json={"content": "---\nlicense: mit\n---\n"})
    assert r.status_code == 401


# ---- raw commits: the server's own check -------------------------------------------------------

def test_raw_commit_wrong_type_names_line_and_field(hub):
    token, repo_id, api = new_repo(hub, "raw-wrong-type")
    head = api.model_info(repo_id).sha
    r = hub.raw_commit(token, repo_id, {"README.md": b"---\nlicense: mit\ntags: {a: 1}\n---\n# x\n",
                                         "config.json": b"{}"})
    assert r.status_code == 400
    msg = r.json()["error"]
    assert msg == ("Invalid model card metadata in README.md: line 3, field 'tags': must be a string or a list "
                   "of strings")
    assert r.headers["X-Error-Message"] == msg
    assert_nothing_committed(api, repo_id, head)


def test_raw_commit_broken_yaml_names_the_line(hub):
    token, repo_id, api = new_repo(hub, "raw-broken")
    head = api.model_info(repo_id).sha
    r = hub.raw_commit(token, repo_id, {"README.md": b"---\nlicense: mit\n\nfoo: bar: baz\n---\n"})
    assert r.status_code == 400
    assert "line 4: invalid YAML: mapping values are not allowed here" in r.json()["error"]
    assert_nothing_committed(api, repo_id, head)


def test_raw_commit_license_other_without_name(hub):
    token, repo_id, api = new_repo(hub, "raw-other")
    head = api.model_info(repo_id).sha
    r = hub.raw_commit(token, repo_id, {"README.md": b"---\nlicense: other\nlicense_link: LICENSE\n---\n"})
    assert r.status_code == 400
    assert "line 2, field 'license': 'other' requires 'license_name' and 'license_link'" in r.json()["error"]
    assert_nothing_committed(api, repo_id, head)
    r = hub.raw_commit(token, repo_id, {"README.md": b"---\nlicense: other\nlicense_name: acme-research\n"
                                                      b"license_link: LICENSE\n---\n"})
    assert r.status_code == 200, r.text
    assert r.json()["warnings"] == []
    assert "X-HF-Warning" not in r.headers
    assert api.model_info(repo_id).card_data.license_name == "acme-research"


def test_raw_commit_with_warnings_is_accepted(hub):
    token, repo_id, api = new_repo(hub, "raw-warnings")
    card = b"---\nbase_model: foo\nlanguage:\n- en\n- xx\npipeline_tag: flying\n---\n"
    r = hub.raw_commit(token, repo_id, {"README.md": card})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True
    warnings = body["warnings"]
    assert len(warnings) == 3
    assert any(w.startswith("line 2, field 'base_model': 'foo' is not a model id") for w in warnings)
    assert "line 6, field 'pipeline_tag': unknown task 'flying'" in warnings
    assert "line 3, field 'language': 'xx' is not an ISO 639 language code" in warnings
    headers = r.headers.get_list("X-HF-Warning")
    assert len(headers) == 3
    for i, h in enumerate(headers):
        topic, _, message = h.partition(";")
        assert topic == f"model-card-{i}"
        assert message.strip() == f"README.md metadata: {warnings[i]}"
    info = api.model_info(repo_id)
    assert info.sha == body["commitOid"]
    assert info.card_data.base_model == "foo"


def test_readme_outside_the_root_is_not_a_card(hub):
    token, repo_id, api = new_repo(hub, "nested-readme")
    r = hub.raw_commit(token, repo_id, {"docs/README.md": b"---\ntags: {a: 1}\n---\n"})
    assert r.status_code == 200, r.text
    assert api.model_info(repo_id).card_data is None


# ---- hostile and oversized cards ---------------------------------------------------------------

@pytest.mark.parametrize("name,front_matter,expected", [
    ("alias-bomb", billion_laughs(), "YAML metadata too large once aliases are expanded"),
    ("deep-flow", "x: " + "[" * 100 + "]" * 100 + "\n", "YAML metadata nested deeper than 40 levels"),
    ("deep-block", "x:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(100)) + "  " * 101 + "v\n",
     "YAML metadata nested deeper than 40 levels"),
])
def test_yaml_bombs_are_refused_quickly(hub, name, front_matter, expected):
    token, repo_id, api = new_repo(hub, name)
    head = api.model_info(repo_id).sha
    card = ("---\n" + front_matter + "---\n# x\n").encode()

    start = time.monotonic()
    r = hub.request("POST", "/api/validate-yaml", json={"content": card.decode()})
    assert time.monotonic() - start < SAFETY_BOUND_S
    assert r.status_code == 400
    assert expected in r.json()["errors"][0]["message"]

    start = time.monotonic()
    r = hub.raw_commit(token, repo_id, {"README.md": card})
    assert time.monotonic() - start < SAFETY_BOUND_S
    assert r.status_code == 400
    assert expected in r.json()["error"]
    assert_nothing_committed(api, repo_id, head)

    with pytest.raises(ValueError, match=expected):
        api.upload_file(path_or_fileobj=card, path_in_repo="README.md", repo_id=repo_id)
    assert_nothing_committed(api, repo_id, head)


def test_readme_over_one_mib_is_refused(hub):
    token, repo_id, api = new_repo(hub, "huge-readme")
    head = api.model_info(repo_id).sha
    card = b"---\nlicense: mit\n---\n" + b"x" * (1024 * 1024)
    start = time.monotonic()
    r = hub.raw_commit(token, repo_id, {"README.md": card})
    assert time.monotonic() - start < SAFETY_BOUND_S
    assert r.status_code == 400
    assert r.json()["error"] == "README.md is larger than 1024 KiB"
    assert_nothing_committed(api, repo_id, head)

    with pytest.raises(ValueError, match="README.md is larger than 1024 KiB"):
        api.upload_file(path_or_fileobj=card, path_in_repo="README.md", repo_id=repo_id)
    assert_nothing_committed(api, repo_id, head)

    # Just under the limit is a card like any other
    ok = b"---\nlicense: mit\n---\n" + b"x" * (1024 * 1024 - 100)
    r = hub.raw_commit(token, repo_id, {"README.md": ok})
    assert r.status_code == 200, r.text
    assert api.model_info(repo_id).card_data.license == "mit"


# ---- LICENSE file vs card ----------------------------------------------------------------------

def test_license_file_that_disagrees_with_the_card_does_not_block_the_commit(hub):
    apache = Path("/usr/share/common-licenses/Apache-2.0")
    if not apache.exists():
        pytest.skip("no Apache-2.0 text on this system")
    token, repo_id, api = new_repo(hub, "license-mismatch")
    info = api.create_commit(repo_id, operations=[
        CommitOperationAdd("README.md", b"---\nlicense: mit\n---\n# MIT, says the card\n"),
        CommitOperationAdd("LICENSE", apache.read_bytes()),
    ], commit_message="card and license")
    model = api.model_info(repo_id)
    assert model.sha == info.oid
    assert {s.rfilename for s in model.siblings} == {".gitattributes", "README.md", "LICENSE"}
    assert model.card_data.license == "mit"
    assert "license:mit" in model.tags
    # Changing only the LICENSE afterwards is an ordinary commit too.
    api.upload_file(path_or_fileobj=b"Permission is hereby granted, free of charge, to any person obtaining a copy",
                    path_in_repo="LICENSE", repo_id=repo_id)
    assert api.model_info(repo_id).card_data.license == "mit"


def test_refused_card_among_other_files_refuses_them_all(hub):
    token, repo_id, api = new_repo(hub, "all-or-nothing")
    head = api.model_info(repo_id).sha
    r = hub.raw_commit(token, repo_id, {"config.json": b"{}", "model.bin": b"\0" * 64,
                                         "README.md": b"---\nlibrary_name: [a]\n---\n"})
    assert r.status_code == 400
    assert "line 2, field 'library_name': must be a string" in r.json()["error"]
    assert_nothing_committed(api, repo_id, head)


# ---- YAML values JSON cannot hold --------------------------------------------------------------

@pytest.mark.parametrize("name,line", [
    ("date", "release: 2024-01-01"),
    ("timestamp", "trained_at: 2024-01-01 10:20:30"),
    ("date-key", "history: {2024-01-01: first release}"),
    ("binary", "blob: !!binary aGVsbG8="),
    ("set", "langs: !!set {en, fr}"),
])
def test_yaml_types_without_a_json_form_do_not_break_the_commit(hub, name, line):
    # safe_load turns these into date/datetime/bytes/set objects. The server may refuse such a card
    # (400, nothing committed) or accept it (card data stored as JSON); what it may not do is answer
    # 500 after moving the branch, leaving the repository's metadata behind its files.
    token, repo_id, api = new_repo(hub, f"yaml-{name}")
    head = api.model_info(repo_id).sha
    card = f"---\nlicense: mit\n{line}\n---\n# x\n".encode()
    r = hub.raw_commit(token, repo_id, {"README.md": card})
    assert r.status_code in (200, 400), f"{r.status_code} {r.text}"
    info = api.model_info(repo_id)
    if r.status_code == 400:
        assert_nothing_committed(api, repo_id, head)
    else:
        assert info.sha == r.json()["commitOid"]
        assert info.card_data is not None and info.card_data.license == "mit"
        assert "license:mit" in info.tags
        key = line.split(":", 1)[0]
        assert key in info.card_data.to_dict()


def test_repo_info_is_strict_json_whatever_the_card_says(hub):
    token, repo_id, api = new_repo(hub, "yaml-nan")
    r = hub.raw_commit(token, repo_id, {"README.md": b"---\nlicense: mit\nscore: .nan\nbest: .inf\n---\n"})
    assert r.status_code in (200, 400), r.text
    body = hub.get(f"/api/models/{repo_id}").text

    def refuse(const):
        raise ValueError(f"not JSON: {const}")

    json.loads(body, parse_constant=refuse)  # NaN/Infinity are not JSON (browsers' JSON.parse rejects them)
