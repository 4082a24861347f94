"""The license catalogue: Hugging Face's license identifiers, with what this community needs to know.

Each entry says whether the license is open source (OSI/open-data approved) and whether it allows
commercial use. Identifiers outside the catalogue are accepted when they are valid SPDX license
expressions (checked with `license-expression`'s bundled SPDX list).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class License:
    id: str
    name: str
    link: str
    open_source: bool
    commercial: bool


def _spdx(id_: str) -> str:
    return f"https://spdx.org/licenses/{id_}.html"


_L = License
CATALOGUE: dict[str, License] = {lic.id: lic for lic in [
    _L("apache-2.0", "Apache License 2.0", "https://www.apache.org/licenses/LICENSE-2.0", True, True),
    _L("mit", "MIT License", "https://opensource.org/license/mit", True, True),
    _L("afl-3.0", "Academic Free License 3.0", _spdx("AFL-3.0"), True, True),
    _L("artistic-2.0", "Artistic License 2.0", _spdx("Artistic-2.0"), True, True),
    _L("bsl-1.0", "Boost Software License 1.0", _spdx("BSL-1.0"), True, True),
    _L("bsd", "BSD License family", "https://opensource.org/license/bsd-3-clause", True, True),
    _L("bsd-2-clause", "BSD 2-Clause License", _spdx("BSD-2-Clause"), True, True),
    _L("bsd-3-clause", "BSD 3-Clause License", _spdx("BSD-3-Clause"), True, True),
    _L("bsd-3-clause-clear", "BSD 3-Clause Clear License", _spdx("BSD-3-Clause-Clear"), True, True),
    _L("c-uda", "Computational Use of Data Agreement", "https://huggingface.co/docs/hub/repositories-licenses",
       True, True),
    _L("cc", "Creative Commons family", "https://creativecommons.org/licenses/", False, False),
    _L("cc0-1.0", "Creative Commons Zero v1.0 Universal", _spdx("CC0-1.0"), True, True),
    _L("cc-by-2.0", "Creative Commons Attribution 2.0", _spdx("CC-BY-2.0"), True, True),
    _L("cc-by-2.5", "Creative Commons Attribution 2.5", _spdx("CC-BY-2.5"), True, True),
    _L("cc-by-3.0", "Creative Commons Attribution 3.0", _spdx("CC-BY-3.0"), True, True),
    _L("cc-by-4.0", "Creative Commons Attribution 4.0", _spdx("CC-BY-4.0"), True, True),
    _L("cc-by-sa-3.0", "Creative Commons Attribution Share Alike 3.0", _spdx("CC-BY-SA-3.0"), True, True),
    _L("cc-by-sa-4.0", "Creative Commons Attribution Share Alike 4.0", _spdx("CC-BY-SA-4.0"), True, True),
    _L("cc-by-nc-2.0", "Creative Commons Attribution Non Commercial 2.0", _spdx("CC-BY-NC-2.0"), False, False),
    _L("cc-by-nc-3.0", "Creative Commons Attribution Non Commercial 3.0", _spdx("CC-BY-NC-3.0"), False, False),
    _L("cc-by-nc-4.0", "Creative Commons Attribution Non Commercial 4.0", _spdx("CC-BY-NC-4.0"), False, False),
    _L("cc-by-nd-4.0", "Creative Commons Attribution No Derivatives 4.0", _spdx("CC-BY-ND-4.0"), False, True),
    _L("cc-by-nc-nd-3.0", "Creative Commons Attribution Non Commercial No Derivatives 3.0",
       _spdx("CC-BY-NC-ND-3.0"), False, False),
    _L("cc-by-nc-nd-4.0", "Creative Commons Attribution Non Commercial No Derivatives 4.0",
       _spdx("CC-BY-NC-ND-4.0"), False, False),
    _L("cc-by-nc-sa-2.0", "Creative Commons Attribution Non Commercial Share Alike 2.0",
       _spdx("CC-BY-NC-SA-2.0"), False, False),
    _L("cc-by-nc-sa-3.0", "Creative Commons Attribution Non Commercial Share Alike 3.0",
       _spdx("CC-BY-NC-SA-3.0"), False, False),
    _L("cc-by-nc-sa-4.0", "Creative Commons Attribution Non Commercial Share Alike 4.0",
       _spdx("CC-BY-NC-SA-4.0"), False, False),
    _L("cdla-sharing-1.0", "Community Data License Agreement Sharing 1.0", _spdx("CDLA-Sharing-1.0"), True, True),
    _L("cdla-permissive-1.0", "Community Data License Agreement Permissive 1.0",
       _spdx("CDLA-Permissive-1.0"), True, True),
    _L("cdla-permissive-2.0", "Community Data License Agreement Permissive 2.0",
       _spdx("CDLA-Permissive-2.0"), True, True),
    _L("wtfpl", "Do What The F*ck You Want To Public License", _spdx("WTFPL"), True, True),
    _L("ecl-2.0", "Educational Community License 2.0", _spdx("ECL-2.0"), True, True),
    _L("epl-1.0", "Eclipse Public License 1.0", _spdx("EPL-1.0"), True, True),
    _L("epl-2.0", "Eclipse Public License 2.0", _spdx("EPL-2.0"), True, True),
    _L("etalab-2.0", "Etalab Open License 2.0", _spdx("etalab-2.0"), True, True),
    _L("eupl-1.1", "European Union Public License 1.1", _spdx("EUPL-1.1"), True, True),
    _L("eupl-1.2", "European Union Public License 1.2", _spdx("EUPL-1.2"), True, True),
    _L("agpl-3.0", "GNU Affero General Public License v3.0", _spdx("AGPL-3.0-only"), True, True),
    _L("gfdl", "GNU Free Documentation License family", _spdx("GFDL-1.3-only"), True, True),
    _L("gpl", "GNU General Public License family", "https://www.gnu.org/licenses/gpl-3.0.html", True, True),
    _L("gpl-2.0", "GNU General Public License v2.0", _spdx("GPL-2.0-only"), True, True),
    _L("gpl-3.0", "GNU General Public License v3.0", _spdx("GPL-3.0-only"), True, True),
    _L("lgpl", "GNU Lesser General Public License family", "https://www.gnu.org/licenses/lgpl-3.0.html", True, True),
    _L("lgpl-2.1", "GNU Lesser General Public License v2.1", _spdx("LGPL-2.1-only"), True, True),
    _L("lgpl-3.0", "GNU Lesser General Public License v3.0", _spdx("LGPL-3.0-only"), True, True),
    _L("isc", "ISC License", _spdx("ISC"), True, True),
    _L("h-research", "H Research License", "https://huggingface.co/docs/hub/repositories-licenses", False, False),
    _L("intel-research", "Intel Research Use License Agreement",
       "https://huggingface.co/docs/hub/repositories-licenses", False, False),
    _L("lppl-1.3c", "LaTeX Project Public License v1.3c", _spdx("LPPL-1.3c"), True, True),
    _L("ms-pl", "Microsoft Public License", _spdx("MS-PL"), True, True),
    _L("apple-ascl", "Apple Sample Code License", _spdx("Apple-ASCL"), False, True),
    _L("apple-amlr", "Apple Model License for Research", "https://huggingface.co/docs/hub/repositories-licenses",
       False, False),
    _L("mpl-2.0", "Mozilla Public License 2.0", _spdx("MPL-2.0"), True, True),
    _L("odc-by", "Open Data Commons Attribution License", _spdx("ODC-By-1.0"), True, True),
    _L("odbl", "Open Database License", _spdx("ODbL-1.0"), True, True),
    _L("openmdw-1.0", "OpenMDW License 1.0", "https://openmdw.ai/license/", True, True),
    _L("openrail", "Open RAIL License", "https://huggingface.co/blog/open_rail", False, True),
    _L("openrail++", "Open RAIL++-M License", "https://huggingface.co/blog/open_rail", False, True),
    _L("creativeml-openrail-m", "CreativeML Open RAIL-M", "https://huggingface.co/spaces/CompVis/stable-diffusion-license",
       False, True),
    _L("bigscience-openrail-m", "BigScience Open RAIL-M", "https://bigscience.huggingface.co/blog/bigscience-openrail-m",
       False, True),
    _L("bigscience-bloom-rail-1.0", "BigScience BLOOM RAIL 1.0",
       "https://bigscience.huggingface.co/blog/the-bigscience-rail-license", False, True),
    _L("bigcode-openrail-m", "BigCode Open RAIL-M v1", "https://www.bigcode-project.org/docs/pages/bigcode-openrail/",
       False, True),
    _L("osl-3.0", "Open Software License 3.0", _spdx("OSL-3.0"), True, True),
    _L("postgresql", "PostgreSQL License", _spdx("PostgreSQL"), True, True),
    _L("ofl-1.1", "SIL Open Font License 1.1", _spdx("OFL-1.1"), True, True),
    _L("ncsa", "University of Illinois/NCSA Open Source License", _spdx("NCSA"), True, True),
    _L("unlicense", "The Unlicense", _spdx("Unlicense"), True, True),
    _L("zlib", "zlib License", _spdx("Zlib"), True, True),
    _L("pddl", "Open Data Commons Public Domain Dedication and License", _spdx("PDDL-1.0"), True, True),
    _L("lgpl-lr", "Lesser General Public License For Linguistic Resources",
       "https://huggingface.co/docs/hub/repositories-licenses", True, True),
    _L("deepfloyd-if-license", "DeepFloyd IF Research License Agreement",
       "https://huggingface.co/spaces/DeepFloyd/deepfloyd-if-license", False, False),
    _L("fair-noncommercial-research-license", "FAIR Noncommercial Research License",
       "https://huggingface.co/docs/hub/repositories-licenses", False, False),
    _L("llama2", "Llama 2 Community License Agreement", "https://ai.meta.com/llama/license/", False, True),
    _L("llama3", "Meta Llama 3 Community License Agreement", "https://llama.meta.com/llama3/license/", False, True),
    _L("llama3.1", "Llama 3.1 Community License Agreement", "https://llama.meta.com/llama3_1/license/", False, True),
    _L("llama3.2", "Llama 3.2 Community License Agreement", "https://www.llama.com/llama3_2/license/", False, True),
    _L("llama3.3", "Llama 3.3 Community License Agreement", "https://www.llama.com/llama3_3/license/", False, True),
    _L("llama4", "Llama 4 Community License Agreement", "https://www.llama.com/llama4/license/", False, True),
    _L("gemma", "Gemma Terms of Use", "https://ai.google.dev/gemma/terms", False, True),
    _L("unknown", "Unknown", "", False, False),
    _L("other", "Other", "", False, False),
]}


@lru_cache(maxsize=1)
def _spdx_licensing():
    from license_expression import get_spdx_licensing

    return get_spdx_licensing()


def get(license_id: str) -> License | None:
    return CATALOGUE.get(license_id.lower()) if isinstance(license_id, str) else None


def is_known(license_id: str) -> bool:
    """A Hugging Face identifier, or a valid SPDX license expression."""
    if not isinstance(license_id, str) or not license_id.strip():
        return False
    if license_id.lower() in CATALOGUE:
        return True
    try:
        return not _spdx_licensing().validate(license_id).errors
    except Exception:
        return False


# Phrases that identify a license text in a LICENSE file, checked in order (most specific first).
_TEXT_MARKERS: list[tuple[str, str]] = [
    (r"GNU AFFERO GENERAL PUBLIC LICENSE", "agpl-3.0"),
    (r"GNU LESSER GENERAL PUBLIC LICENSE\s+Version 3", "lgpl-3.0"),
    (r"GNU LESSER GENERAL PUBLIC LICENSE\s+Version 2\.1", "lgpl-2.1"),
    (r"GNU GENERAL PUBLIC LICENSE\s+Version 3", "gpl-3.0"),
    (r"GNU GENERAL PUBLIC LICENSE\s+Version 2", "gpl-2.0"),
    (r"Apache License,?\s+Version 2\.0", "apache-2.0"),
    (r"Mozilla Public License,?\s+(?:Version|v\.?)\s*2\.0", "mpl-2.0"),
    (r"Permission is hereby granted, free of charge, to any person obtaining a copy", "mit"),
    (r"Attribution-NonCommercial-ShareAlike 4\.0", "cc-by-nc-sa-4.0"),
    (r"Attribution-NonCommercial 4\.0", "cc-by-nc-4.0"),
    (r"Attribution-ShareAlike 4\.0", "cc-by-sa-4.0"),
    (r"Attribution 4\.0 International", "cc-by-4.0"),
    (r"CC0 1\.0 Universal", "cc0-1.0"),
    (r"This is free and unencumbered software released into the public domain", "unlicense"),
    (r"Boost Software License - Version 1\.0", "bsl-1.0"),
    (r"Redistribution and use in source and binary forms.*?Neither the name", "bsd-3-clause"),
    (r"Redistribution and use in source and binary forms", "bsd-2-clause"),
    (r"LLAMA 2 COMMUNITY LICENSE", "llama2"),
    (r"META LLAMA 3 COMMUNITY LICENSE", "llama3"),
    (r"Gemma Terms of Use", "gemma"),
]


def detect_license_text(text: str) -> str | None:
    """The catalogue id a LICENSE file's text most likely is, or None if unrecognized."""
    text = " ".join(text[:20_000].split())  # license texts are wrapped at any column
    # The title comes first; other licenses are often named further down (MPL-2.0 names the GPLs).
    for head in (text[:600], text):
        for pattern, lid in _TEXT_MARKERS:
            if re.search(pattern.replace(" ", r"\s+"), head, re.IGNORECASE | re.DOTALL):
                return lid
    return None


def compatible(card_license: str, detected: str) -> bool:
    """Whether a card's license id (or SPDX expression) and a detected LICENSE text agree.

    Families count as agreeing (gpl ~ gpl-3.0), and an expression agrees if any of its licenses does.
    """
    parts = [p for p in re.split(r"\s+(?:OR|AND|WITH)\s+|[()]", card_license, flags=re.IGNORECASE) if p.strip()]
    if len(parts) > 1:
        return any(compatible(p.strip(), detected) for p in parts)
    card = card_license.strip().lower()
    card = re.sub(r"-(only|or-later)$", "", card).rstrip("+")
    if card == detected or card in ("other", "unknown"):
        return True
    families = {"gpl": ("gpl-2.0", "gpl-3.0"), "lgpl": ("lgpl-2.1", "lgpl-3.0"), "bsd": ("bsd-2-clause", "bsd-3-clause"),
                "cc": tuple(k for k in CATALOGUE if k.startswith("cc-") or k == "cc0-1.0")}
    if detected in families.get(card, ()):
        return True
    return card == detected


LICENSE_FILES = ("LICENSE", "LICENSE.md", "LICENSE.txt")


def own_terms(license_id: str, meta: dict | None) -> str | None:
    """Where a repository's own license terms are, for `license: other` (and `unknown`): the card's
    `license_link`, an absolute http(s) URL or a path in the repository ("LICENSE", "./LICENSE.md",
    normalised without "./"); None when the card names none (the caller may look for a LICENSE file).
    The catalogue's "other" page says nothing about this repository's terms."""
    if not isinstance(license_id, str) or license_id.lower() not in ("other", "unknown"):
        return None
    link = (meta or {}).get("license_link")
    if not isinstance(link, str) or not link.strip():
        return None
    link = link.strip()
    if re.match(r"^https?://", link, re.IGNORECASE):
        return link
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^//", link):  # another scheme (javascript:, data:): no link
        return None
    path = re.sub(r"^(\./)+", "", link).lstrip("/")
    return path if path and ".." not in path.split("/") else None
