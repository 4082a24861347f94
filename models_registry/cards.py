"""Model cards: the YAML front matter of README.md, and what the listing derives from it."""

from __future__ import annotations

from typing import Any

import yaml

MAX_CARD_BYTES = 1024 * 1024


def extract_metadata(text: str) -> dict[str, Any] | None:
    """The front matter between the leading '---' lines, parsed leniently: None if absent or broken."""
    if not text.startswith("---"):
        return None
    lines = text.split("\n")
    if lines[0].strip() != "---":
        return None
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            try:
                data = yaml.safe_load("\n".join(lines[1:i]))
            except yaml.YAMLError:
                return None
            return data if isinstance(data, dict) else None
    return None


def derive_tags(meta: dict[str, Any] | None) -> tuple[list[str], str | None, str | None]:
    """(tags, pipeline_tag, library_name) as the Hub derives them from card metadata."""
    if not meta:
        return [], None, None
    tags: list[str] = []

    def as_list(v: Any) -> list[str]:
        if v is None:
            return []
        if isinstance(v, (list, tuple)):
            return [str(x) for x in v if isinstance(x, (str, int, float))]
        return [str(v)] if isinstance(v, (str, int, float)) else []

    library = meta.get("library_name") if isinstance(meta.get("library_name"), str) else None
    pipeline = meta.get("pipeline_tag") if isinstance(meta.get("pipeline_tag"), str) else None
    if library:
        tags.append(library)
    tags.extend(as_list(meta.get("tags")))
    if pipeline:
        tags.append(pipeline)
    tags.extend(as_list(meta.get("language")))
    for lic in as_list(meta.get("license")):
        tags.append(f"license:{lic}")
    for ds in as_list(meta.get("datasets")):
        tags.append(f"dataset:{ds}")
    for bm in as_list(meta.get("base_model")):
        tags.append(f"base_model:{bm}")
    seen: set[str] = set()
    unique = [t for t in tags if not (t in seen or seen.add(t))]
    return unique, pipeline, library
