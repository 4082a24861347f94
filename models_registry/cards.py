"""Model cards: README.md with YAML front matter, validated as the Hub's model-card conventions say.

`parse_card` never raises on user input: it returns the metadata (or None) with errors (the commit
is refused) and warnings (accepted, shown to the owner). YAML is composed first and measured, so a
"billion laughs" alias bomb or absurd nesting is refused before anything is built from it.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

from . import licenses
from .messages import Message, N_

MAX_CARD_BYTES = 1024 * 1024
MAX_FRONT_MATTER_BYTES = 256 * 1024
MAX_YAML_NODES = 50_000
MAX_YAML_DEPTH = 40

PIPELINE_TAGS = frozenset("""
text-classification token-classification table-question-answering question-answering zero-shot-classification
translation summarization feature-extraction text-generation text2text-generation fill-mask sentence-similarity
text-to-speech text-to-audio automatic-speech-recognition audio-to-audio audio-classification audio-text-to-text
voice-activity-detection depth-estimation image-classification object-detection image-segmentation text-to-image
image-to-text image-to-image image-to-video unconditional-image-generation video-classification
reinforcement-learning robotics tabular-classification tabular-regression tabular-to-text table-to-text
multiple-choice text-ranking text-retrieval time-series-forecasting text-to-video image-text-to-text
visual-question-answering document-question-answering zero-shot-image-classification graph-ml mask-generation
zero-shot-object-detection text-to-3d image-to-3d image-feature-extraction video-text-to-text keypoint-detection
visual-document-retrieval any-to-any video-to-video other
""".split())

BASE_MODEL_RELATIONS = ("adapter", "merge", "quantized", "finetune")

# Our community's own facets (card keys `industry` and `region`).
INDUSTRIES = frozenset("""
manufacturing healthcare finance government education energy transportation agriculture retail legal
telecom media science security logistics construction tourism environment general
""".split())

STRING_LIST_FIELDS = ("tags", "datasets", "metrics", "language", "base_model", "region", "industry")


@dataclass
class Problem:
    """One error or warning of a card. `message` is a `Message` where it was written with N_ (the
    website shows it translated); `text` is the whole line with where it is, in the same way."""

    message: str
    field: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        return str(self.text)

    @property
    def text(self) -> str:
        """The message after where it is (`line 3, field 'language': ...`), as a Message."""
        if self.line is not None and self.field:
            return N_("line %(line)s, field '%(field)s': %(problem)s", line=self.line, field=self.field,
                      problem=self.message)
        if self.line is not None:
            return N_("line %(line)s: %(problem)s", line=self.line, problem=self.message)
        if self.field:
            return N_("field '%(field)s': %(problem)s", field=self.field, problem=self.message)
        return self.message


@dataclass
class CardReport:
    metadata: dict[str, Any] | None
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


NO_METADATA = N_("empty or missing YAML metadata in the model card: add license, language, tags and "
                 "pipeline_tag between --- lines at the top (%(url)s)",
                 url="https://huggingface.co/docs/hub/model-cards#model-card-metadata")


def _front_matter_span(text: str) -> tuple[int, int] | None:
    """Line numbers (0-based) of the opening and closing `---` of the front matter, or None. Blank
    lines may come first, as the Hub's own pattern allows (`^\\s*---`)."""
    lines = text.split("\n")
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    if start == len(lines) or lines[start].strip() != "---":
        return None
    for i in range(start + 1, len(lines)):
        if lines[i].strip() == "---":
            return start, i
    return None


def split_front_matter(text: str) -> tuple[str | None, int]:
    """(YAML text, 1-based README line where it starts), or (None, 0) without front matter."""
    span = _front_matter_span(text)
    if span is None:
        return None, 0
    lines = text.split("\n")
    return "\n".join(lines[span[0] + 1:span[1]]), span[0] + 2


def json_safe(value: Any, path: str = "") -> Any:
    """The metadata as JSON can carry it (the API serves it as cardData): dates become ISO strings,
    sets lists; binary data, NaN/infinity and non-string keys are refused."""
    import datetime as dt
    import math

    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f"key {k!r}{' under ' + path if path else ''} must be a string")
            out[str(k)] = json_safe(v, f"{path}.{k}" if path else str(k))
        return out
    if isinstance(value, (list, tuple)):
        return [json_safe(v, path) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((json_safe(v, path) for v in value), key=str)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{path or 'a value'} is {value}, which JSON cannot represent")
    if isinstance(value, (bytes, bytearray)):
        raise ValueError(f"{path or 'a value'} is binary data")
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise ValueError(f"{path or 'a value'} has an unsupported type {type(value).__name__}")


def card_body(text: str) -> str:
    """The Markdown after the front matter (the whole text if there is none)."""
    span = _front_matter_span(text)
    if span is None:
        return text
    return "\n".join(text.split("\n")[span[1] + 1:])


def _measure(node: yaml.Node) -> None:
    """Refuse YAML whose expansion (aliases counted each time they are used) is too big or deep."""
    budget = [MAX_YAML_NODES]

    def walk(n: yaml.Node, depth: int) -> None:
        budget[0] -= 1
        if budget[0] < 0:
            raise ValueError(f"YAML metadata too large once aliases are expanded (over {MAX_YAML_NODES} nodes)")
        if depth > MAX_YAML_DEPTH:
            raise ValueError(f"YAML metadata nested deeper than {MAX_YAML_DEPTH} levels")
        if isinstance(n, yaml.SequenceNode):
            for child in n.value:
                walk(child, depth + 1)
        elif isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                walk(k, depth + 1)
                walk(v, depth + 1)

    walk(node, 0)


def _key_lines(node: yaml.Node, offset: int) -> dict[str, int]:
    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for k, _v in node.value:
            if isinstance(k, yaml.ScalarNode):
                lines[str(k.value)] = k.start_mark.line + offset
    return lines


def parse_card(text: str) -> CardReport:
    if len(text.encode("utf-8", "replace")) > MAX_CARD_BYTES:
        return CardReport(None, [Problem(N_("README.md is larger than %(n)s KiB", n=MAX_CARD_BYTES // 1024))])
    front, offset = split_front_matter(text)
    if front is None or not front.strip():
        # Accepted, as on the Hub, which warns the same way (huggingface_hub shows it as a UserWarning).
        return CardReport(None if front is None else {}, [], [Problem(NO_METADATA)])
    if len(front.encode()) > MAX_FRONT_MATTER_BYTES:
        return CardReport(None, [Problem(N_("YAML metadata larger than %(n)s KiB", n=MAX_FRONT_MATTER_BYTES // 1024),
                                         line=offset)])
    try:
        node = yaml.compose(front, Loader=yaml.SafeLoader)
        if node is None:
            return CardReport({})
        _measure(node)
        data = yaml.safe_load(front)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + offset if mark else None
        return CardReport(None, [Problem(N_("invalid YAML: %(error)s", error=str(e.problem or e)), line=line)])
    except (yaml.YAMLError, ValueError, RecursionError) as e:
        return CardReport(None, [Problem(N_("invalid YAML: %(error)s", error=str(e)), line=offset)])
    if not isinstance(data, dict):
        return CardReport(None, [Problem(N_("the YAML metadata must be a mapping of keys to values"), line=offset)])
    bad_keys = [k for k in data if not isinstance(k, str)]
    if bad_keys:
        return CardReport(None, [Problem(N_("metadata keys must be strings, got %(key)s", key=repr(k)))
                                 for k in bad_keys])
    try:
        data = json_safe(data)
    except ValueError as e:
        return CardReport(None, [Problem(N_("unsupported YAML value: %(error)s", error=str(e)), line=offset)])
    report = CardReport(data)
    _validate(data, _key_lines(node, offset), report)
    return report


def _validate(meta: dict[str, Any], lines: dict[str, int], report: CardReport) -> None:
    def err(f: str, msg: Message) -> None:
        report.errors.append(Problem(msg, f, lines.get(f)))

    def warn(f: str, msg: Message) -> None:
        report.warnings.append(Problem(msg, f, lines.get(f)))

    for key in meta:
        if not isinstance(key, str):
            report.errors.append(Problem(N_("metadata keys must be strings, got %(key)s", key=repr(key))))
    for f in STRING_LIST_FIELDS:
        if f in meta and meta[f] is not None and not _str_or_str_list(meta[f]):
            err(f, N_("must be a string or a list of strings"))
    for f in ("library_name", "pipeline_tag", "license_name", "license_link", "base_model_relation", "model_name"):
        if f in meta and meta[f] is not None and not isinstance(meta[f], str):
            err(f, N_("must be a string"))

    lic = meta.get("license")
    if lic is not None:
        if not _str_or_str_list(lic):
            err("license", N_("must be a license identifier (string) or a list of them"))
        else:
            for one in as_list(lic):
                if one.lower() == "other":
                    if not meta.get("license_name") or not meta.get("license_link"):
                        err("license", N_("'other' requires 'license_name' and 'license_link'"))
                elif not licenses.is_known(one):  # refused, as on the Hub (its wording: clients match it)
                    err("license", N_('"license" must be one of the known license identifiers (a Hugging Face '
                                      "id or an SPDX identifier), or 'other' with license_name and "
                                      "license_link: unknown license identifier %(license)s", license=repr(one)))
    if isinstance(meta.get("pipeline_tag"), str) and meta["pipeline_tag"] not in PIPELINE_TAGS:
        warn("pipeline_tag", N_("unknown task %(task)s", task=repr(meta["pipeline_tag"])))
    if _str_or_str_list(meta.get("language")):
        for code in as_list(meta.get("language")):
            if not is_language_code(code):
                warn("language", N_("%(code)s is not an ISO 639 language code", code=repr(code)))
    rel = meta.get("base_model_relation")
    if isinstance(rel, str) and rel not in BASE_MODEL_RELATIONS:
        warn("base_model_relation", N_("unknown relation %(relation)s (expected one of %(relations)s)",
                                       relation=repr(rel), relations=", ".join(BASE_MODEL_RELATIONS)))
    if rel is not None and not meta.get("base_model"):
        warn("base_model_relation", N_("is set but base_model is missing"))
    if _str_or_str_list(meta.get("base_model")):
        for bm in as_list(meta.get("base_model")):
            if not re.match(r"^[\w.-]+/[\w.-]+$", bm):
                warn("base_model", N_("%(model)s is not a model id of the form 'namespace/name'", model=repr(bm)))
    if _str_or_str_list(meta.get("industry")):
        for ind in as_list(meta.get("industry")):
            if ind.lower() not in INDUSTRIES:
                warn("industry", N_("unknown industry %(industry)s (known: %(known)s)", industry=repr(ind),
                                    known=", ".join(sorted(INDUSTRIES))))
    if "model-index" in meta and meta["model-index"] is not None:
        _validate_model_index(meta["model-index"], err)


def _validate_model_index(value: Any, err) -> None:
    from huggingface_hub.repocard_data import model_index_to_eval_results

    if not isinstance(value, list):
        err("model-index", N_("must be a list of models with their evaluation results"))
        return
    try:
        model_index_to_eval_results(value)
    except Exception as e:  # the client's own parser: whatever it rejects, the Hub rejects
        error = f"{type(e).__name__}: {e}"
        err("model-index", N_("invalid evaluation results: %(error)s", error=error))


def _str_or_str_list(v: Any) -> bool:
    return isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v))


def as_list(v: Any) -> list[str]:
    if v is None:
        return []
    if isinstance(v, str):
        return [v]
    if isinstance(v, list):
        return [str(x) for x in v if isinstance(x, (str, int, float)) and not isinstance(x, bool)]
    return []


def is_language_code(code: str) -> bool:
    import pycountry

    if code == "multilingual":
        return True
    primary = code.split("-", 1)[0].split("_", 1)[0].lower()
    if len(primary) == 2:
        return pycountry.languages.get(alpha_2=primary) is not None
    if len(primary) == 3:
        return pycountry.languages.get(alpha_3=primary) is not None
    return False


@dataclass(frozen=True)
class CardFacets:
    """The values of a card that the model list offers as facets: only those the validator accepts.

    A value the validator warned about (an unknown task or industry, a language that is no ISO 639
    code) stays in the card and its API metadata, as on the Hub, but is no facet: a facet value is a
    filter someone picks from a list, and a typo there would stand beside the real value."""

    task: str | None
    licenses: list[str]
    languages: list[str]
    regions: list[str]
    industries: list[str]


def card_facets(meta: dict[str, Any] | None, pipeline_tag: str | None) -> CardFacets:
    """The facet values of a card's metadata (`pipeline_tag` as derived at commit)."""
    meta = meta or {}
    return CardFacets(
        task=pipeline_tag if pipeline_tag in PIPELINE_TAGS else None,
        licenses=[x.lower() for x in as_list(meta.get("license"))],
        languages=[c for c in as_list(meta.get("language")) if is_language_code(c)],
        regions=[x.lower() for x in as_list(meta.get("region"))],
        industries=[x.lower() for x in as_list(meta.get("industry")) if x.lower() in INDUSTRIES],
    )


def extract_metadata(text: str) -> dict[str, Any] | None:
    """The front matter, parsed leniently: None if absent or broken (for listings and cardData)."""
    report = parse_card(text)
    return report.metadata


# Tags and libraries that say the weights are a quantization of their base model.
QUANTIZED_MARKERS = frozenset({"gguf", "gptq", "awq", "exl2", "bitsandbytes", "4-bit", "8-bit", "quantized"})
MERGE_MARKERS = frozenset({"merge", "mergekit"})


def base_model_relation(meta: dict[str, Any], paths: Iterable[str] = ()) -> str:
    """How the model relates to its `base_model`, as the Hub infers it when the card does not say
    (`base_model_relation`): several bases are a merge, PEFT weights an adapter, GGUF/GPTQ/AWQ...
    files or tags a quantization, anything else a fine-tune."""
    declared = meta.get("base_model_relation")
    if isinstance(declared, str) and declared in BASE_MODEL_RELATIONS:
        return declared
    tags = {t.lower() for t in as_list(meta.get("tags"))}
    library = meta.get("library_name").lower() if isinstance(meta.get("library_name"), str) else ""
    names = [posixpath.basename(p).lower() for p in paths]
    if len(as_list(meta.get("base_model"))) > 1 or tags & MERGE_MARKERS:
        return "merge"
    if library == "peft" or "peft" in tags or "adapter_config.json" in names:
        return "adapter"
    if (library in QUANTIZED_MARKERS or tags & QUANTIZED_MARKERS
            or any(n.endswith(".gguf") for n in names)):
        return "quantized"
    return "finetune"


def derive_tags(meta: dict[str, Any] | None, paths: Iterable[str] = ()) -> tuple[list[str], str | None, str | None]:
    """(tags, pipeline_tag, library_name) as the Hub derives them, plus our region:/industry: facets.
    `paths`, the files of the repository, let the base model's relation be inferred from them."""
    if not meta:
        return [], None, None
    tags: list[str] = []
    library = meta.get("library_name") if isinstance(meta.get("library_name"), str) else None
    pipeline = meta.get("pipeline_tag") if isinstance(meta.get("pipeline_tag"), str) else None
    if library:
        tags.append(library)
    tags.extend(as_list(meta.get("tags")))
    if pipeline:
        tags.append(pipeline)
    tags.extend(c for c in as_list(meta.get("language")) if c)
    for lic in as_list(meta.get("license")):
        tags.append(f"license:{lic.lower()}")
    for ds in as_list(meta.get("datasets")):
        tags.append(f"dataset:{ds}")
    relation = base_model_relation(meta, paths) if meta.get("base_model") else None
    for bm in as_list(meta.get("base_model")):
        tags.append(f"base_model:{bm}")
        tags.append(f"base_model:{relation}:{bm}")
    for region in as_list(meta.get("region")):
        tags.append(f"region:{region.lower()}")
    for ind in as_list(meta.get("industry")):
        tags.append(f"industry:{ind.lower()}")
    seen: set[str] = set()
    unique = [t for t in tags if not (t in seen or seen.add(t))]
    return unique, pipeline, library
