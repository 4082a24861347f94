"""Messages for people that the website shows in the reader's language.

The domain speaks English: the API's `error` texts are what huggingface_hub (and its users' scripts)
match on, so they must stay exactly as they are. A message that a page may show is built with `N_`
instead of an f-string: `N_("You don't have write access to %(repo)s", repo=repo_id)` is a `Message`,
a `str` whose value is the English text, so every caller that handles it as a string (JSON bodies,
headers, logs, joins) keeps working unchanged; it also carries its template and parameters, which
the web edge (`hub/localize.py`) translates and formats. One mechanism for every domain error, card
problem and form error, rather than a translation table per view.

`N_` is the keyword Babel extracts (babel.cfg maps the domain packages, see
hub/translations/README.md), so a template written here gets its Chinese translation in the hub's
catalogue like any other interface string. Parameters are data, never translated, except those that
are themselves Messages (or lists of them), which are translated in turn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# Parameters that are lists are joined like this in English (the edge joins the translated items).
LIST_SEPARATOR = "; "


class Message(str):
    """English text (the str value) plus the template and parameters it was made from."""

    template: str
    params: Mapping[str, Any]

    def __new__(cls, template: str, params: Mapping[str, Any] | None = None) -> Message:
        params = dict(params or {})
        text = template % {k: _english(v) for k, v in params.items()} if params else template
        self = super().__new__(cls, text)
        self.template = template
        self.params = params
        return self

    def __reduce__(self):  # pickling (multiprocessing, caches) keeps the structure
        return (Message, (self.template, dict(self.params)))

    def to_json(self) -> dict[str, Any]:
        """A JSON-storable form (card warnings are kept in the database): `from_json` reverses it."""
        return {"template": self.template, "params": {k: _param_json(v) for k, v in self.params.items()}}

    @classmethod
    def from_json(cls, data: Any) -> str:
        """A stored message back; plain strings (rows written before messages had templates) stay strings."""
        if isinstance(data, dict) and isinstance(data.get("template"), str):
            params = data.get("params") if isinstance(data.get("params"), dict) else {}
            return cls(data["template"], {k: _param_from_json(v) for k, v in params.items()})
        return str(data)


def N_(template: str, **params: Any) -> Message:
    """A translatable message: `template` uses `%(name)s` placeholders filled from `params`.

    Named like the hub's no-op marker so the same Babel keyword extracts both."""
    return Message(template, params)


def _english(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return LIST_SEPARATOR.join(str(v) for v in value)
    return value


def _param_json(value: Any) -> Any:
    if isinstance(value, Message):
        return value.to_json()
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_param_json(v) for v in value]
    return value


def _param_from_json(value: Any) -> Any:
    if isinstance(value, dict):
        return Message.from_json(value)
    if isinstance(value, list):
        return [_param_from_json(v) for v in value]
    return value
