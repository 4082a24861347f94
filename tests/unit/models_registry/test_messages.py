"""Domain messages: English text for the API, template and parameters for the pages' translation."""

from __future__ import annotations

import json
import pickle

import pytest

from models_registry import cards, names
from models_registry.errors import BadRequest
from models_registry.messages import Message, N_


def test_a_message_is_its_english_text():
    m = N_("You don't have write access to %(repo)s", repo="alice/model")
    assert m == "You don't have write access to alice/model"
    assert isinstance(m, str) and json.dumps({"error": m}) == '{"error": "You don\'t have write access to alice/model"}'
    assert m.template == "You don't have write access to %(repo)s" and m.params == {"repo": "alice/model"}


def test_without_parameters_the_template_is_not_formatted():
    assert N_("100% sure") == "100% sure"


def test_list_parameters_and_nested_messages():
    inner = [N_("unknown task %(task)s", task="'x'"), "plain"]
    m = N_("Invalid model card metadata in README.md: %(problems)s", problems=inner)
    assert m == "Invalid model card metadata in README.md: unknown task 'x'; plain"


def test_stored_and_pickled_messages_keep_their_structure():
    m = N_("line %(line)s, field '%(field)s': %(problem)s", line=3, field="industry",
           problem=N_("unknown industry %(industry)s (known: %(known)s)", industry="'x'", known="a, b"))
    back = Message.from_json(json.loads(json.dumps(m.to_json())))
    assert back == m and isinstance(back, Message) and isinstance(back.params["problem"], Message)
    assert back.params["problem"].template == m.params["problem"].template
    again = pickle.loads(pickle.dumps(m))
    assert again == m and again.template == m.template
    # Rows written before messages had templates are plain strings, read back as such.
    assert Message.from_json("line 2: old text") == "line 2: old text"
    assert not isinstance(Message.from_json("line 2: old text"), Message)


def test_domain_errors_keep_their_english_wording():
    with pytest.raises(BadRequest) as e:
        names.validate_name("bad name", names.REPOSITORY_NAME)
    assert e.value.message == ("Invalid repository name 'bad name': use letters, digits, '-', '_' and '.', start "
                               "with a letter or digit, at most 96 characters")
    assert isinstance(e.value.message, Message) and e.value.message.params["what"].template == "repository name"


def test_card_problems_are_messages_with_the_old_text():
    report = cards.parse_card("---\nlanguage: xx\nindustry: spaceships\n---\n")
    texts = [str(w) for w in report.warnings]
    assert "line 2, field 'language': 'xx' is not an ISO 639 language code" in texts
    assert any(t.startswith("line 3, field 'industry': unknown industry 'spaceships' (known: ") for t in texts)
    assert all(isinstance(w.text, Message) for w in report.warnings)


def test_card_facets_leave_out_what_the_validator_rejected():
    meta = {"language": ["zh", "xx", "yue", "multilingual"], "industry": ["Finance", "spaceships"],
            "region": ["EU"], "license": "MIT"}
    facets = cards.card_facets(meta, "flying")
    assert facets.task is None
    assert facets.languages == ["zh", "yue", "multilingual"]
    assert facets.industries == ["finance"]
    assert facets.regions == ["eu"] and facets.licenses == ["mit"]
    assert cards.card_facets(None, "text-generation").task == "text-generation"
