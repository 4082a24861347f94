"""The license catalogue: known identifiers (Hugging Face ids, SPDX expressions), LICENSE text detection
on real license texts, and whether a card's license agrees with the LICENSE file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from models_registry import licenses
from models_registry.licenses import compatible, detect_license_text, is_known

COMMON = Path("/usr/share/common-licenses")

# The license identifiers of the Hugging Face Hub's model-card metadata (docs: "Licenses").
HF_LICENSE_IDS = """
apache-2.0 mit openrail bigscience-openrail-m creativeml-openrail-m bigscience-bloom-rail-1.0 bigcode-openrail-m
afl-3.0 artistic-2.0 bsl-1.0 bsd bsd-2-clause bsd-3-clause bsd-3-clause-clear c-uda cc cc0-1.0 cc-by-2.0
cc-by-2.5 cc-by-3.0 cc-by-4.0 cc-by-sa-3.0 cc-by-sa-4.0 cc-by-nc-2.0 cc-by-nc-3.0 cc-by-nc-4.0 cc-by-nd-4.0
cc-by-nc-nd-3.0 cc-by-nc-nd-4.0 cc-by-nc-sa-2.0 cc-by-nc-sa-3.0 cc-by-nc-sa-4.0 cdla-sharing-1.0
cdla-permissive-1.0 cdla-permissive-2.0 wtfpl ecl-2.0 epl-1.0 epl-2.0 etalab-2.0 eupl-1.1 eupl-1.2 agpl-3.0 gfdl
gpl gpl-2.0 gpl-3.0 lgpl lgpl-2.1 lgpl-3.0 isc h-research intel-research lppl-1.3c ms-pl apple-ascl apple-amlr
mpl-2.0 odc-by odbl openmdw-1.0 openrail++ osl-3.0 postgresql ofl-1.1 ncsa unlicense zlib pddl lgpl-lr
deepfloyd-if-license fair-noncommercial-research-license llama2 llama3 llama3.1 llama3.2 llama3.3 llama4 gemma
unknown other
""".split()

MIT_TEXT = """MIT License

Copyright (c) 2024 Acme Research

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY.
"""

# The same license as Debian's Expat text (and many LICENSE files) wraps it: the marker phrase spans a line break.
MIT_TEXT_REWRAPPED = """Copyright 2024 Acme Research

Permission is hereby granted, free of charge, to any person obtaining a
copy of this software and associated documentation files (the "Software"),
to deal in the Software without restriction, including without limitation
the rights to use, copy, modify, merge, publish, distribute, sublicense,
and/or sell copies of the Software, and to permit persons to whom the
Software is furnished to do so, subject to the following conditions:
"""


@pytest.mark.parametrize("lid", HF_LICENSE_IDS)
def test_hugging_face_ids_are_known(lid):
    assert is_known(lid)
    assert is_known(lid.upper())


def test_catalogue_entries_are_consistent():
    for lid, lic in licenses.CATALOGUE.items():
        assert lid == lic.id == lid.lower()
        assert lic.name
        if lid not in ("unknown", "other"):
            assert lic.link.startswith("https://"), lid
    assert licenses.get("Apache-2.0") is licenses.CATALOGUE["apache-2.0"]
    assert licenses.get("nope") is None
    assert licenses.get(None) is None  # type: ignore[arg-type]
    assert licenses.get("cc-by-nc-4.0").commercial is False
    assert licenses.get("mit").open_source and licenses.get("mit").commercial


@pytest.mark.parametrize("expr", [
    "MIT", "Apache-2.0", "GPL-3.0-or-later", "GPL-2.0-only", "LGPL-2.1-or-later", "BSD-3-Clause", "MPL-2.0",
    "CC-BY-4.0", "0BSD", "Apache-2.0 OR MIT", "MIT AND BSD-2-Clause", "(MIT AND BSD-3-Clause) OR GPL-2.0-only",
    "Apache-2.0 WITH LLVM-exception", "GPL-2.0-or-later WITH Classpath-exception-2.0",
])
def test_spdx_identifiers_and_expressions_are_known(expr):
    assert is_known(expr)


@pytest.mark.parametrize("bad", [
    "frob-1.0", "my-license", "MIT OR", "AND MIT", "MIT AND", "(MIT", "Apache-2.0 WITH", "MIT WITH Apache-2.0",
    "", "   ", None, 3, ["mit"],
])
def test_unknown_identifiers(bad):
    assert is_known(bad) is False


# ---- LICENSE text detection on real texts ------------------------------------------------------

@pytest.mark.parametrize("name,expected", [
    ("Apache-2.0", "apache-2.0"),
    ("GPL-3", "gpl-3.0"),
    ("GPL-2", "gpl-2.0"),
    ("LGPL-2.1", "lgpl-2.1"),
    ("LGPL-3", "lgpl-3.0"),
    ("MPL-2.0", "mpl-2.0"),
    ("CC0-1.0", "cc0-1.0"),
    ("BSD", "bsd-3-clause"),
])
def test_detect_common_license_texts(name, expected):
    path = COMMON / name
    if not path.exists():
        pytest.skip(f"{path} is not installed")
    assert detect_license_text(path.read_text(errors="replace")) == expected


def test_detect_mit():
    assert detect_license_text(MIT_TEXT) == "mit"


def test_detect_mit_wrapped_at_another_column():
    assert detect_license_text(MIT_TEXT_REWRAPPED) == "mit"


def test_detect_is_case_and_whitespace_tolerant_for_headers():
    assert detect_license_text("                                 Apache License\n"
                               "                           Version 2.0, January 2004\n") == "apache-2.0"
    assert detect_license_text("gnu general public license\n   version 3, 29 june 2007") == "gpl-3.0"


def test_detect_unknown_text():
    assert detect_license_text("All rights reserved. Do not copy.") is None
    assert detect_license_text("") is None
    artistic = COMMON / "Artistic"
    if artistic.exists():
        assert detect_license_text(artistic.read_text(errors="replace")) is None


def test_detect_looks_only_at_the_head():
    # A LICENSE file that merely mentions another license far below its own text is not that license.
    text = "Proprietary terms.\n" + ("x" * 30_000) + "\nApache License, Version 2.0"
    assert detect_license_text(text) is None


def test_gpl_text_mentioning_the_lgpl_is_still_gpl():
    gpl3 = COMMON / "GPL-3"
    if not gpl3.exists():
        pytest.skip("no GPL-3 text")
    assert re.search(r"GNU Lesser General\s+Public License", gpl3.read_text())
    assert detect_license_text(gpl3.read_text()) == "gpl-3.0"


# ---- card license vs LICENSE file --------------------------------------------------------------

@pytest.mark.parametrize("card,detected", [
    ("mit", "mit"), ("MIT", "mit"), ("apache-2.0", "apache-2.0"), ("Apache-2.0", "apache-2.0"),
    ("gpl", "gpl-2.0"), ("gpl", "gpl-3.0"), ("lgpl", "lgpl-2.1"), ("bsd", "bsd-2-clause"), ("bsd", "bsd-3-clause"),
    ("cc", "cc-by-4.0"), ("cc", "cc0-1.0"), ("other", "apache-2.0"), ("unknown", "mit"),
    ("GPL-3.0-only", "gpl-3.0"), ("GPL-3.0-or-later", "gpl-3.0"), ("GPL-2.0-or-later", "gpl-2.0"),
    ("LGPL-2.1-only", "lgpl-2.1"), ("AGPL-3.0-only", "agpl-3.0"),
])
def test_compatible(card, detected):
    assert compatible(card, detected)


@pytest.mark.parametrize("card,detected", [
    ("LGPL-3.0-or-later", "lgpl-3.0"), ("LGPL-2.1-or-later", "lgpl-2.1"), ("AGPL-3.0-or-later", "agpl-3.0"),
    ("MPL-2.0", "mpl-2.0"), ("BSD-3-Clause", "bsd-3-clause"),
])
def test_compatible_spdx_spellings(card, detected):
    assert compatible(card, detected)


@pytest.mark.parametrize("card,detected", [("Apache-2.0 OR MIT", "mit"), ("MIT OR Apache-2.0", "apache-2.0")])
def test_compatible_with_a_dual_license_expression(card, detected):
    assert compatible(card, detected)


@pytest.mark.parametrize("card,detected", [
    ("mit", "apache-2.0"), ("apache-2.0", "mit"), ("gpl-3.0", "gpl-2.0"), ("gpl", "lgpl-3.0"), ("lgpl", "gpl-3.0"),
    ("bsd", "mit"), ("cc", "mit"), ("cc-by-4.0", "cc-by-nc-4.0"), ("GPL-3.0-only", "gpl-2.0"),
    ("llama3", "apache-2.0"),
])
def test_incompatible(card, detected):
    assert not compatible(card, detected)


def test_mismatch_on_real_texts():
    apache = (COMMON / "Apache-2.0")
    if not apache.exists():
        pytest.skip("no Apache-2.0 text")
    detected = detect_license_text(apache.read_text())
    assert not compatible("mit", detected)
    assert compatible("apache-2.0", detected)
