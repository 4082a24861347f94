"""Model card parsing and validation: errors refuse a commit (with the README line and field),
warnings are accepted, and hostile YAML is refused before anything is built from it."""

from __future__ import annotations

import time

import pytest

from models_registry import cards
from models_registry.cards import NO_METADATA, card_body, derive_tags, extract_metadata, is_language_code, parse_card, \
    split_front_matter


def errors(text: str) -> list[str]:
    return [str(e) for e in parse_card(text).errors]


def warnings_of(text: str) -> list[str]:
    return [str(w) for w in parse_card(text).warnings]


# ---- front matter ------------------------------------------------------------------------------

def test_split_front_matter():
    assert split_front_matter("---\na: 1\nb: 2\n---\n# Title\n") == ("a: 1\nb: 2", 2)
    assert split_front_matter("# Title\n---\na: 1\n---\n") == (None, 0)
    assert split_front_matter("---\na: 1\n") == (None, 0)  # never closed: no metadata
    assert split_front_matter("----\na: 1\n----\n") == (None, 0)
    assert card_body("---\na: 1\n---\n# Title\nbody") == "# Title\nbody"
    assert card_body("# only body") == "# only body"


def test_card_without_front_matter_has_no_metadata_and_a_warning():
    report = parse_card("# My model\n\nNo metadata here.\n")
    assert report.metadata is None and report.ok
    assert [str(w) for w in report.warnings] == [NO_METADATA]  # accepted, with the Hub's warning


def test_empty_front_matter_is_empty_metadata():
    report = parse_card("---\n---\n# x\n")
    assert report.metadata == {} and report.ok and [str(w) for w in report.warnings] == [NO_METADATA]


def test_front_matter_may_follow_blank_lines():
    """As the Hub's pattern (`^\\s*---`) allows: the metadata is read and checked, and stripped."""
    text = "\n\n---\nlicense: mit\nmodel-index: foo\n---\n\n# Body\n"
    report = parse_card(text)
    assert report.metadata == {"license": "mit", "model-index": "foo"}
    assert [str(e) for e in report.errors] == [
        "line 5, field 'model-index': must be a list of models with their evaluation results"]
    assert card_body(text) == "\n# Body\n"


def test_valid_card():
    text = ("---\nlicense: apache-2.0\nlanguage:\n- en\n- zh\nlibrary_name: transformers\n"
            "pipeline_tag: text-classification\ntags: [sentiment]\ndatasets: [imdb]\nbase_model: acme/base\n"
            "base_model_relation: finetune\nregion: [EU]\nindustry: finance\n---\n# Card\n")
    report = parse_card(text)
    assert report.ok, report.errors
    assert report.warnings == []
    assert report.metadata["language"] == ["en", "zh"]
    assert report.metadata["base_model"] == "acme/base"


# ---- errors: line numbers and fields -----------------------------------------------------------

def test_wrong_type_names_line_and_field():
    assert errors("---\nlicense: mit\ntags: {a: 1}\n---\n") == [
        "line 3, field 'tags': must be a string or a list of strings"]
    assert errors("---\nlicense: mit\ntags:\n  - a\n  - {b: 1}\n---\n") == [
        "line 3, field 'tags': must be a string or a list of strings"]
    assert errors("---\n\n\nlibrary_name: 3\n---\n") == ["line 4, field 'library_name': must be a string"]
    assert errors("---\npipeline_tag: [a, b]\n---\n") == ["line 2, field 'pipeline_tag': must be a string"]
    assert errors("---\nlicense: {name: mit}\n---\n") == [
        "line 2, field 'license': must be a license identifier (string) or a list of them"]


@pytest.mark.parametrize("field", ["tags", "datasets", "metrics", "language", "base_model", "region", "industry"])
def test_string_list_fields(field):
    assert errors(f"---\n{field}: 5\n---\n") == [f"line 2, field '{field}': must be a string or a list of strings"]
    assert errors(f"---\n{field}: [x, [y]]\n---\n") == [
        f"line 2, field '{field}': must be a string or a list of strings"]


def test_broken_yaml_names_the_line():
    errs = errors("---\nlicense: mit\ntags: [a\n---\n")
    assert len(errs) == 1 and errs[0].startswith("line 3: invalid YAML")
    errs = errors("---\nlicense: mit\nfoo: bar: baz\n---\n# x\n")
    assert errs == ["line 3: invalid YAML: mapping values are not allowed here"]
    errs = errors("---\nlicense: mit\n\tbad: 1\n---\n")
    assert len(errs) == 1 and errs[0].startswith("line 3: invalid YAML")
    assert parse_card("---\nlicense: mit\nfoo: bar: baz\n---\n").metadata is None


def test_metadata_must_be_a_mapping():
    assert errors("---\n- a\n- b\n---\n") == ["line 2: the YAML metadata must be a mapping of keys to values"]
    assert errors("---\njust a string\n---\n") == ["line 2: the YAML metadata must be a mapping of keys to values"]


def test_non_string_keys():
    assert errors("---\n1: a\n---\n") == ["metadata keys must be strings, got 1"]


def test_license_other_needs_name_and_link():
    msg = "line 2, field 'license': 'other' requires 'license_name' and 'license_link'"
    assert errors("---\nlicense: other\n---\n") == [msg]
    assert errors("---\nlicense: other\nlicense_name: acme-1\n---\n") == [msg]
    assert errors("---\nlicense: other\nlicense_link: LICENSE\n---\n") == [msg]
    assert errors("---\nlicense: Other\n---\n") == [msg]
    assert parse_card("---\nlicense: other\nlicense_name: acme-1\nlicense_link: LICENSE\n---\n").ok


def test_model_index_is_checked_with_the_clients_own_parser():
    good = ("---\nmodel-index:\n- name: m\n  results:\n  - task: {type: text-classification}\n"
            "    dataset: {name: imdb, type: imdb}\n    metrics: [{type: accuracy, value: 0.9}]\n---\n")
    assert parse_card(good).ok
    assert errors("---\nmodel-index: {a: 1}\n---\n") == [
        "line 2, field 'model-index': must be a list of models with their evaluation results"]
    errs = errors("---\nlicense: mit\nmodel-index:\n- name: x\n  results: [{foo: 1}]\n---\n")
    assert len(errs) == 1 and errs[0].startswith("line 3, field 'model-index': invalid evaluation results")


def test_several_errors_are_all_reported():
    errs = errors("---\ntags: {a: 1}\nlicense: other\nlibrary_name: [x]\n---\n")
    assert sorted(errs) == sorted([
        "line 2, field 'tags': must be a string or a list of strings",
        "line 3, field 'license': 'other' requires 'license_name' and 'license_link'",
        "line 4, field 'library_name': must be a string",
    ])


# ---- warnings ----------------------------------------------------------------------------------

def test_unknown_values_are_warnings_not_errors():
    text = "---\nlicense: mit\nlanguage: [en, xx]\npipeline_tag: flying\n---\n"
    report = parse_card(text)
    assert report.ok
    ws = [str(w) for w in report.warnings]
    assert len(ws) == 2
    assert "line 3, field 'language': 'xx' is not an ISO 639 language code" in ws
    assert "line 4, field 'pipeline_tag': unknown task 'flying'" in ws


def test_an_unknown_license_is_an_error_in_the_hubs_words():
    report = parse_card("---\nlicense: [mit, frob-1.0]\n---\n")
    assert [(e.field, e.line) for e in report.errors] == [("license", 2)]
    assert report.errors[0].message.startswith('"license" must be one of')  # RepoCard.validate() matches it
    assert "unknown license identifier 'frob-1.0'" in report.errors[0].message


def test_base_model_and_industry_warnings():
    ws = warnings_of("---\nbase_model: foo\nbase_model_relation: weird\n---\n")
    assert sorted(ws) == sorted([
        "line 3, field 'base_model_relation': unknown relation 'weird' (expected one of adapter, merge, "
        "quantized, finetune)",
        "line 2, field 'base_model': 'foo' is not a model id of the form 'namespace/name'",
    ])
    assert warnings_of("---\nbase_model_relation: adapter\n---\n") == [
        "line 2, field 'base_model_relation': is set but base_model is missing"]
    ws = warnings_of("---\nindustry: [Finance, spaceships]\n---\n")
    assert len(ws) == 1 and ws[0].startswith("line 2, field 'industry': unknown industry 'spaceships'")


def test_known_licenses_do_not_warn():
    for lic in ("mit", "apache-2.0", "Apache-2.0", "llama3.1", "GPL-3.0-or-later", "Apache-2.0 OR MIT",
                "cc-by-nc-4.0"):
        assert warnings_of(f"---\nlicense: {lic}\n---\n") == [], lic
    assert warnings_of("---\nlicense: [mit, apache-2.0]\n---\n") == []


@pytest.mark.parametrize("code,ok", [("en", True), ("zh", True), ("zh-CN", True), ("pt_BR", True), ("yue", True),
                                     ("multilingual", True), ("fra", True), ("xx", False), ("english", False),
                                     ("e", False), ("", False), ("qqq", False)])
def test_language_codes(code, ok):
    assert is_language_code(code) is ok


# ---- hostile input -----------------------------------------------------------------------------

def _billion_laughs(levels: int = 9) -> str:
    out = 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for i in range(1, levels):
        out += f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]\n"
    return out


def test_alias_bomb_is_refused_quickly():
    start = time.monotonic()
    report = parse_card("---\n" + _billion_laughs() + "---\n# x\n")
    assert time.monotonic() - start < 5  # a safety bound: expanding it would take forever
    assert report.metadata is None
    assert [str(e) for e in report.errors] == [
        f"line 2: invalid YAML: YAML metadata too large once aliases are expanded (over {cards.MAX_YAML_NODES} nodes)"]


def test_few_aliases_are_fine():
    report = parse_card("---\nbase: &b [en, fr]\nlanguage: *b\n---\n")
    assert report.ok and report.metadata["language"] == ["en", "fr"]


def test_recursive_alias_is_refused():
    report = parse_card("---\na: &a [*a]\n---\n")
    assert report.metadata is None and len(report.errors) == 1
    assert report.errors[0].message.startswith("invalid YAML")


@pytest.mark.parametrize("yaml_text", [
    "x: " + "[" * 100 + "]" * 100 + "\n",
    "x: " + "{a: " * 100 + "1" + "}" * 100 + "\n",
    "x:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(100)) + "  " * 101 + "v\n",
])
def test_deep_nesting_is_refused(yaml_text):
    report = parse_card("---\n" + yaml_text + "---\n")
    assert report.metadata is None
    assert [str(e) for e in report.errors] == [
        f"line 2: invalid YAML: YAML metadata nested deeper than {cards.MAX_YAML_DEPTH} levels"]


def test_absurd_nesting_does_not_crash():
    # CPU time, not wall time: a guard against a parser that spins, which a loaded machine cannot fake
    start = time.process_time()
    report = parse_card("---\nx: " + "[" * 20000 + "]" * 20000 + "\n---\n")
    assert time.process_time() - start < 10
    assert report.metadata is None and len(report.errors) == 1
    assert report.errors[0].message.startswith("invalid YAML")


def test_oversized_card_and_front_matter():
    big = "---\nlicense: mit\n---\n" + "x" * cards.MAX_CARD_BYTES
    assert errors(big) == ["README.md is larger than 1024 KiB"]
    assert parse_card(big).metadata is None
    # counted in UTF-8 bytes, not characters
    assert errors("---\nlicense: mit\n---\n" + "模" * (cards.MAX_CARD_BYTES // 3 + 1)) == [
        "README.md is larger than 1024 KiB"]
    fm = "---\nk: \"" + "y" * cards.MAX_FRONT_MATTER_BYTES + "\"\n---\n"
    assert errors(fm) == ["line 2: YAML metadata larger than 256 KiB"]
    just_under = "---\nlicense: mit\n---\n" + "x" * (cards.MAX_CARD_BYTES - 100)
    assert parse_card(just_under).ok


def test_python_tags_are_not_constructed():
    report = parse_card("---\nx: !!python/object/apply:os.system ['echo pwned']\n---\n")
    assert report.metadata is None and len(report.errors) == 1


# ---- derived facets ----------------------------------------------------------------------------

def test_derive_tags():
    meta = extract_metadata(
        "---\nlicense: Apache-2.0\nlanguage: [en, zh]\nlibrary_name: transformers\npipeline_tag: fill-mask\n"
        "tags: [bert, bert]\ndatasets: [wiki]\nbase_model: [acme/base, acme/other]\nbase_model_relation: adapter\n"
        "region: [EU, cn]\nindustry: Finance\n---\n")
    tags, pipeline, library = derive_tags(meta)
    assert pipeline == "fill-mask" and library == "transformers"
    assert tags == ["transformers", "bert", "fill-mask", "en", "zh", "license:apache-2.0", "dataset:wiki",
                    "base_model:acme/base", "base_model:adapter:acme/base", "base_model:acme/other",
                    "base_model:adapter:acme/other", "region:eu", "region:cn", "industry:finance"]


def test_derive_tags_default_relation_and_nothing():
    tags, _, _ = derive_tags({"base_model": "acme/base"})
    assert tags == ["base_model:acme/base", "base_model:finetune:acme/base"]
    assert derive_tags(None) == ([], None, None)
    assert derive_tags({}) == ([], None, None)
    # wrongly typed values (a refused card) derive nothing rather than crash
    assert derive_tags({"library_name": 3, "pipeline_tag": ["x"], "tags": {"a": 1}}) == ([], None, None)


def test_extract_metadata_is_lenient():
    assert extract_metadata("---\nlicense: mit\n---\n") == {"license": "mit"}
    assert extract_metadata("---\nbroken: [\n---\n") is None
    assert extract_metadata("no front matter") is None


@pytest.mark.parametrize("meta, paths, relation", [
    ({"base_model": "a/b"}, ["config.json", "model.safetensors"], "finetune"),
    ({"base_model": "a/b"}, ["adapter_config.json", "adapter_model.safetensors"], "adapter"),
    ({"base_model": "a/b", "library_name": "peft"}, [], "adapter"),
    ({"base_model": "a/b"}, ["q4/model-Q4_K_M.GGUF"], "quantized"),
    ({"base_model": "a/b", "tags": ["GPTQ"]}, [], "quantized"),
    ({"base_model": ["a/b", "c/d"]}, ["model.safetensors"], "merge"),
    ({"base_model": "a/b", "tags": ["mergekit"]}, [], "merge"),
    # what the card says wins over what the files suggest; an unknown relation is inferred instead
    ({"base_model": "a/b", "base_model_relation": "finetune"}, ["x.gguf"], "finetune"),
    ({"base_model": "a/b", "base_model_relation": "weird"}, ["x.gguf"], "quantized"),
])
def test_base_model_relation_is_inferred_as_the_hub_does(meta, paths, relation):
    assert cards.base_model_relation(meta, paths) == relation
    tags, _, _ = derive_tags(meta, paths)
    assert f"base_model:{relation}:a/b" in tags
    assert [t for t in tags if t.count(":") == 2 and t.startswith("base_model:")] == \
        [f"base_model:{relation}:{bm}" for bm in cards.as_list(meta["base_model"])]
