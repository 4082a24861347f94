"""Markdown rendering of model cards: what readers get is useful HTML and never runs the author's script.

The XSS corpus is judged by parsing the output as a browser would (html.parser, entities unescaped),
not by searching for substrings: an escaped `&lt;script&gt;` in text is harmless, a real element is not.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest

from models_registry.rendering import Heading, render_document, render_markdown

# <math> itself is allowed (cards' math is MathML); what could act inside it is not: maction (its
# statusline/toggle actions), annotation-xml (HTML or SVG content), mglyph (an image source).
FORBIDDEN_ELEMENTS = {"script", "iframe", "object", "embed", "style", "form", "meta", "base", "svg", "maction",
                      "annotation-xml", "semantics", "mglyph",
                      "link", "frame", "frameset", "applet", "input", "button", "textarea", "select", "noscript",
                      "template", "xmp", "plaintext", "noembed", "isindex"}
URL_ATTRIBUTES = {"href", "src", "srcset", "action", "formaction", "xlink:href", "background", "poster", "data",
                  "codebase", "cite", "dynsrc", "lowsrc"}
DANGEROUS_SCHEMES = ("javascript:", "data:", "vbscript:")


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, attrs))

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, attrs))


def parse(out: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    c = _Collector()
    c.feed(out)
    c.close()
    return c.elements


def _scheme_of(url: str) -> str:
    # What a browser does before looking at the scheme (WHATWG URL parsing): entities decoded (html.parser
    # did it; once more for double encodings), leading/trailing controls and spaces stripped, tabs and
    # newlines removed anywhere; other control characters are removed too (older engines skipped them).
    # A space inside ("java script:") makes the scheme invalid, so the URL is then relative and harmless.
    url = html.unescape(url).strip("".join(map(chr, range(0x21))))
    return re.sub(r"[\x00-\x1f\x7f]", "", url).lower()


def dangers(out: str) -> list[str]:
    found = []
    for tag, attrs in parse(out):
        if tag in FORBIDDEN_ELEMENTS:
            found.append(f"<{tag}> element")
        for name, value in attrs:
            name = name.lower()
            if name.startswith("on"):
                found.append(f"event handler {name}= on <{tag}>")
            if name == "style":
                found.append(f"style= on <{tag}>")
            if name in URL_ATTRIBUTES and value is not None:
                urls = [part.strip().split(" ")[0] for part in value.split(",")] if name == "srcset" else [value]
                for u in urls:
                    if _scheme_of(u).startswith(DANGEROUS_SCHEMES):
                        found.append(f"{name}={value!r} on <{tag}>")
    return found


XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<img src=x onerror=alert(1)>",
    "<img src=x oNeRrOr=alert(1)>",
    '<img src="x" onerror="alert(&quot;x&quot;)">',
    "<img/src=x/onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text x="20" y="20">x</text></a></svg>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>",
    '<math href="javascript:alert(1)"><mi>x</mi></math>',
    '<math><mi xlink:href="javascript:alert(1)" href="javascript:alert(1)">x</mi></math>',
    '<math><maction actiontype="statusline"><mi>x</mi><mtext>y</mtext></maction></math>',
    '<math><semantics><annotation-xml encoding="text/html"><script>alert(1)</script></annotation-xml></semantics></math>',
    '<math><mi onmouseover="alert(1)" style="color:red">x</mi><mtext><img src=x onerror=alert(1)></mtext></math>',
    "$\\href{javascript:alert(1)}{x}$",
    "$$\n\\href{javascript:alert(1)}{x}\n$$",
    "$x<script>alert(1)</script>$",
    "$\\text{<img src=x onerror=alert(1)>}$",
    "<body onload=alert(1)>",
    "<details open ontoggle=alert(1)><summary>x</summary></details>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href=" javascript:alert(1)">x</a>',
    '<a href="java\tscript:alert(1)">x</a>',
    '<a href="java&#x09;script:alert(1)">x</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
    '<a href="&#x6A;avascript&colon;alert(1)">x</a>',
    '<a href="javascript&#58;alert(1)">x</a>',
    '<a href="\x01javascript:alert(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<a href="DATA:text/html,<script>alert(1)</script>">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="VbScRiPt:msgbox(1)">x</a>',
    '<img src="javascript:alert(1)">',
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    '<picture><source srcset="javascript:alert(1)"><img src="x.png"></picture>',
    '<picture><source srcset="ok.png 1x, javascript:alert(1) 2x"></picture>',
    '<iframe src="https://evil.example"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<div style="width: expression(alert(1))">x</div>',
    '<p style="background-image: url(javascript:alert(1))">x</p>',
    '<form action="javascript:alert(1)"><button formaction="javascript:alert(1)">go</button></form>',
    '<input type="image" src="x" onerror="alert(1)">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    '<link rel="stylesheet" href="javascript:alert(1)">',
    "[x](javascript:alert(1))",
    "[x](JAVASCRIPT:alert(1))",
    "[x]( javascript:alert(1) )",
    "[x](javascript&#58;alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](vbscript:msgbox(1))",
    "![x](javascript:alert(1))",
    '[x](https://ok.example "title\\" onmouseover=\\"alert(1))',
    "[x][ref]\n\n[ref]: javascript:alert(1)",
    "![x][img]\n\n[img]: data:text/html,<script>alert(1)</script>",
    "<javascript:alert(1)>",
    "<vbscript:msgbox(1)>",
    "<!-- --><script>alert(1)</script><!-- -->",
    "<!--<img src=\"--><img src=x onerror=alert(1)//\">",
    "<!-- <a href=\"x\" --> <img src=x onerror=alert(1)>",
    "<img src=x onerror=alert(1)",
    '<a href="x" onclick="alert(1)" title=\'a"b\'>x</a>',
    '<a title="x\' onclick=\'alert(1)" href="y">x</a>',
    '<a title=`x` onmouseover=alert(1)>x</a>',
    "<a href='javascript:alert(1)'\n>x</a>",
    '<div onmouseover="alert(1)">hover</div>',
    "<marquee onstart=alert(1)>x</marquee>",
    "<video><source onerror=alert(1)></video>",
    '<table background="javascript:alert(1)"><tr><td>x</td></tr></table>',
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\"></noscript>",
    "<template><script>alert(1)</script></template>",
    "<xmp><script>alert(1)</script></xmp>",
    "```html\n<script>alert(1)</script>\n```",
    "`<script>alert(1)</script>`",
    "| a |\n|---|\n| <img src=x onerror=alert(1)> |",
    "# <img src=x onerror=alert(1)>",
    "> <a href=\"javascript:alert(1)\">quote</a>",
    "- [ ] <svg/onload=alert(1)>",
]


def test_corpus_is_large_enough():
    assert len(XSS_PAYLOADS) >= 30
    assert len(set(XSS_PAYLOADS)) == len(XSS_PAYLOADS)


def test_detector_catches_what_it_should():
    # The checks below are only as good as this detector: it must flag each kind of danger.
    assert dangers('<script>x</script>') == ["<script> element"]
    assert dangers('<img src="x" onerror="y">') == ["event handler onerror= on <img>"]
    assert dangers('<a href="java&#x09;script:alert(1)">x</a>')
    assert dangers('<a href=" DATA:text/html,x">x</a>')
    assert dangers('<a href="\x01java\nscr\ripT:x">x</a>')
    assert dangers('<source srcset="a.png 1x, javascript:x 2x">')
    assert dangers('<form action="vbscript:x"></form>') == ["<form> element", "action='vbscript:x' on <form>"]
    assert dangers("<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>") == []
    assert dangers('<a href="https://ok.example/javascript:x">x</a>') == []


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_xss_payload_is_neutralized(payload):
    for kwargs in ({}, {"repo_path": "/ns/name"}):
        out = render_markdown(payload, **kwargs)
        assert dangers(out) == [], out


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_xss_payload_in_card_with_front_matter(payload):
    out = render_markdown(f"---\nlicense: mit\n---\n\n{payload}\n", repo_path="/ns/name", revision="v1")
    assert dangers(out) == [], out
    assert "license: mit" not in out


def test_text_of_escaped_script_is_kept_as_text():
    out = render_markdown("`<script>alert(1)</script>`")
    assert "<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>" in out


def test_safe_links_keep_their_href():
    out = render_markdown("[ok](https://example.com/a?b=1) <mailto:me@example.com>")
    hrefs = [dict(a)["href"] for t, a in parse(out) if t == "a"]
    assert hrefs[0] == "https://example.com/a?b=1"
    assert _scheme_of(hrefs[1]).startswith("mailto:")
    assert all(dict(a).get("rel") == "noopener noreferrer nofollow" for t, a in parse(out) if t == "a")


# ---- what a card needs to look right -----------------------------------------------------------

def test_table():
    out = render_markdown("| model | score |\n|:---|---:|\n| base | 0.91 |\n")
    tags = [t for t, _ in parse(out)]
    assert tags[:3] == ["table", "thead", "tr"]
    assert tags.count("th") == 2 and tags.count("td") == 2
    assert re.search(r"<td[^>]*>base</td>", out) and re.search(r"<td[^>]*>0\.91</td>", out)


def test_table_column_alignment_survives_sanitizing():
    # The sanitizer allows align= on th/td (and never style=), so the alignment row must arrive as align=.
    out = render_markdown("| model | score |\n|:---|---:|\n| base | 0.91 |\n")
    cells = [(t, dict(a).get("align")) for t, a in parse(out) if t in ("th", "td")]
    assert cells == [("th", "left"), ("th", "right"), ("td", "left"), ("td", "right")], out


def test_fenced_code_is_highlighted():
    out = render_markdown("```python\nfrom transformers import AutoModel\nx = 1\n```\n")
    elements = parse(out)
    assert ("div", [("class", "highlight")]) in elements
    # Pygments tokens: keywords and names get their classes
    assert '<span class="kn">from</span>' in out
    assert '<span class="mi">1</span>' in out


def test_headings_get_anchors():
    out = render_markdown("# Model Card\n\n## Training data & procedure\n")
    ids = [dict(a).get("id") for t, a in parse(out) if t in ("h1", "h2")]
    assert ids == ["model-card", "training-data-procedure"]


def test_headings_start_at_the_level_asked_for():
    # A card shown under its page's h1: its "#" is an h2, the rest follow, h6 the deepest.
    out = render_markdown("# Title\n\n## Part\n\n###### Deep\n", heading_level=2)
    assert re.findall(r"<(h[1-6]) id=\"([^\"]+)\"", out) == [("h2", "title"), ("h3", "part"), ("h6", "deep")]
    assert "<h1" not in render_markdown("# Title\n", heading_level=3) and "<h1" in render_markdown("# Title\n")


def test_a_heading_never_takes_an_id_of_the_page_around_the_card():
    # the skip link targets #main and the sidebar's "Use this model" is #use-h: a card's own
    # "# Main" or "## Use h" keeps an anchor of its own instead of doubling those
    out = render_markdown("# Main\n\n## Use h\n\n## Mainly\n")
    assert re.findall(r'id="([^"]+)"', out) == ["main-card", "use-h-card", "mainly"]


def test_chinese_heading_anchor():
    out = render_markdown("## 模型介绍\n\n### 训练 数据\n")
    ids = [dict(a).get("id") for t, a in parse(out) if t in ("h2", "h3")]
    assert ids == ["模型介绍", "训练-数据"]


def test_relative_image_and_link_point_into_the_repository():
    out = render_markdown("![arch](images/arch.png)\n\n[config](config.json) [guide](docs/guide.md#setup)\n",
                          repo_path="/acme/bert")
    elements = parse(out)
    assert [dict(a)["src"] for t, a in elements if t == "img"] == ["/acme/bert/resolve/main/images/arch.png"]
    assert [dict(a)["href"] for t, a in elements if t == "a"] == [
        "/acme/bert/blob/main/config.json", "/acme/bert/blob/main/docs/guide.md#setup"]


def test_relative_links_at_a_revision_and_in_a_subfolder():
    out = render_markdown("![p](../img/p.png) [n](notes.md)", repo_path="/acme/bert", revision="refs/pr/1",
                          doc_dir="docs")
    elements = parse(out)
    assert [dict(a)["src"] for t, a in elements if t == "img"] == ["/acme/bert/resolve/refs%2Fpr%2F1/img/p.png"]
    assert [dict(a)["href"] for t, a in elements if t == "a"] == ["/acme/bert/blob/refs%2Fpr%2F1/docs/notes.md"]


def test_absolute_anchor_and_escaping_links_are_left_alone():
    out = render_markdown("[a](https://example.com/x.png) [b](#usage) [c](/other/repo) [d](../../etc/passwd)",
                          repo_path="/acme/bert")
    hrefs = [dict(a)["href"] for t, a in parse(out) if t == "a"]
    assert hrefs == ["https://example.com/x.png", "#usage", "/other/repo", "../../etc/passwd"]


def test_without_repo_path_relative_links_stay_relative():
    out = render_markdown("![a](a.png) [b](b.md)")
    elements = parse(out)
    assert [dict(a)["src"] for t, a in elements if t == "img"] == ["a.png"]
    assert [dict(a)["href"] for t, a in elements if t == "a"] == ["b.md"]


def test_front_matter_is_not_rendered():
    out = render_markdown("---\nlicense: mit\ntags: [secret-tag]\n---\n# Title\n")
    assert "secret-tag" not in out
    assert [t for t, _ in parse(out)] == ["h1"]
    kept = render_markdown("---\nlicense: mit\n---\n# Title\n", strip_front_matter=False)
    assert "license: mit" in kept


def test_allowed_formatting_survives():
    out = render_markdown("**bold** *em* ~~x~~\n\n<details><summary>More</summary>\n\nhidden\n\n</details>\n\n"
                          "1. one\n2. two\n\n> quote\n\n<sub>a</sub><sup>b</sup>")
    tags = {t for t, _ in parse(out)}
    assert {"strong", "em", "details", "summary", "ol", "li", "blockquote", "sub", "sup"} <= tags


def test_plain_text_of_a_card_is_what_readers_see():
    from models_registry.rendering import card_plain_text

    text = card_plain_text("---\nlicense: mit\n---\n# Title **bold**\n\nSome *emph* and `code`, [a link](x).\n\n"
                           "| Metric | Value |\n|---|---|\n| Precision | 0.93 |\n\n```python\nx = 1 < 2\ny = 3\n```\n"
                           "<script>alert(1)</script>\n<div>raw &amp; html</div>\n")
    assert text == ("Title bold\nSome emph and code, a link.\nMetric Value\nPrecision 0.93\nx = 1 < 2\ny = 3\n"
                    "raw & html")


def test_table_of_contents_lists_h1_to_h3_with_the_ids_of_the_html():
    doc = render_document("# 模型介绍\n\n## Training data & procedure\n\n### 评测 结果\n\n#### Too deep\n\n"
                          "## 模型介绍\n\nText.\n")
    assert doc.toc == [Heading(1, "模型介绍", "模型介绍"),
                       Heading(2, "training-data-procedure", "Training data & procedure"),
                       Heading(3, "评测-结果", "评测 结果"),
                       Heading(2, "模型介绍_1", "模型介绍")]
    ids = [dict(a).get("id") for t, a in parse(doc.html) if t in ("h1", "h2", "h3", "h4")]
    assert ids == ["模型介绍", "training-data-procedure", "评测-结果", "too-deep", "模型介绍_1"]


def _math_elements(out: str) -> list[str]:
    return [t for t, _ in parse(out) if t in ("math", "mfrac", "msup", "msub", "mi", "mn", "mo")]


def test_inline_and_display_math_become_mathml():
    out = render_markdown("Energy $E = mc^2$ holds.\n\n$$\n\\frac{a}{b}\n$$\n")
    maths = [dict(a) for t, a in parse(out) if t == "math"]
    assert [m.get("display") for m in maths] == ["inline", "block"], out
    assert "<msup><mi>c</mi><mn>2</mn></msup>" in out
    assert "<mfrac><mrow><mi>a</mi></mrow><mrow><mi>b</mi></mrow></mfrac>" in out
    assert "$" not in out and "\\frac" not in out


def test_dollars_in_prose_stay_text():
    out = render_markdown("It costs $5 and $10 a month, or $ 20.\n")
    assert _math_elements(out) == []
    assert "It costs $5 and $10 a month, or $ 20." in out


def test_code_keeps_its_dollars():
    out = render_markdown("Run `echo $HOME $PATH`.\n\n```bash\nexport A=$x$\necho \"$$\"\n```\n")
    assert _math_elements(out) == [], out
    assert "<code>echo $HOME $PATH</code>" in out
    assert "$x$" in html.unescape(re.sub(r"<[^>]+>", "", out))


def test_math_cannot_carry_links_handlers_or_styles():
    out = render_markdown("$\\href{javascript:alert(1)}{x}$ and $\\color{red}{y}$\n")
    attrs = [n for t, a in parse(out) for n, _ in a if t.startswith("m")]
    assert "href" not in attrs and "style" not in attrs, out
    assert _math_elements(out), out


def test_math_in_a_heading_names_it_by_its_tex():
    doc = render_document("## Loss $L_2$\n")
    assert doc.toc == [Heading(2, "loss-l_2", "Loss L_2")]
    assert "<msub>" in doc.html
