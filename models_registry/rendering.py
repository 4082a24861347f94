"""Markdown (model cards, comments) to safe HTML.

Rendered with the `markdown` package (tables, fenced code highlighted by Pygments, heading anchors and
the headings' table of contents, `$...$`/`$$...$$` math as MathML), relative links and images resolved
to the repository's files at the shown revision, then passed through nh3 (the Ammonia sanitizer):
whatever the author wrote, no script, no event handler, no `javascript:` or `data:` URL reaches a
reader's browser.

Math is found by pymdown-extensions' arithmatex (its "smart dollar": `$5 and $10` stays text, since a
closing `$` must follow a non-space) and turned into MathML here, on the server, by latex2mathml:
browsers draw MathML themselves, so a card needs no script and nothing from a CDN. The sanitizer
allows the MathML elements and attributes latex2mathml writes, and no link or style among them.
"""

from __future__ import annotations

import html as html_lib
import posixpath
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import quote, urlsplit

import markdown
import nh3
from latex2mathml.converter import convert as latex_to_mathml
from markdown.extensions import Extension
from markdown.extensions.toc import slugify_unicode
from markdown.inlinepatterns import InlineProcessor
from markdown.treeprocessors import Treeprocessor

from .cards import card_body

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt", "em", "h1", "h2",
    "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "ol", "p", "pre", "q", "s", "samp", "small",
    "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
    "sup", "figure", "figcaption", "center",
}
# What latex2mathml writes (its converter and command tables), nothing more: no `href` (\href), no
# `style`, none of the elements that only matter with them (maction, semantics/annotation-xml).
MATHML_TAGS = {
    "math", "menclose", "merror", "mfrac", "mi", "mmultiscripts", "mn", "mo", "mover", "mpadded",
    "mphantom", "mprescripts", "mroot", "mrow", "ms", "mspace", "msqrt", "mstyle", "msub", "msubsup", "msup",
    "mtable", "mtd", "mtext", "mtr", "munder", "munderover", "none",
}
MATHML_ATTRIBUTES = {
    "accent", "accentunder", "columnalign", "columnlines", "columnspacing", "depth", "displaystyle",
    "fence", "form", "height", "largeop", "linebreak", "linethickness", "lspace", "mathbackground",
    "mathcolor", "mathsize", "mathvariant", "maxsize", "minsize", "movablelimits", "notation", "rowlines",
    "rowspacing", "rspace", "scriptlevel", "separator", "stretchy", "symmetric", "voffset", "width",
}
ALLOWED_TAGS |= MATHML_TAGS
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "id", "name"},
    "img": {"src", "alt", "title", "width", "height", "align"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan"},
    "ol": {"start"},
    "details": {"open"},
    "math": {"display", *MATHML_ATTRIBUTES},
    **{tag: MATHML_ATTRIBUTES for tag in MATHML_TAGS - {"math"}},
    "*": {"id", "class"},
}
URL_SCHEMES = {"http", "https", "mailto"}
_ABSOLUTE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^//|^#|^/")


class _RelativeLinks(Treeprocessor):
    def __init__(self, md: markdown.Markdown, files_base: str | None, pages_base: str | None, doc_dir: str) -> None:
        super().__init__(md)
        self.files_base = files_base
        self.pages_base = pages_base
        self.doc_dir = doc_dir

    def _resolve(self, url: str, base: str | None) -> str:
        if base is None or not url or _ABSOLUTE.match(url.strip()):
            return url
        parts = urlsplit(url)
        path = posixpath.normpath(posixpath.join(self.doc_dir, parts.path))
        if path.startswith("..") or path == ".":
            return url
        out = f"{base}/{quote(path)}"
        if parts.query:
            out += "?" + parts.query
        if parts.fragment:
            out += "#" + parts.fragment
        return out

    def run(self, root: ET.Element) -> None:
        for el in root.iter():
            if el.tag == "a" and el.get("href"):
                el.set("href", self._resolve(el.get("href", ""), self.pages_base))
            elif el.tag == "img" and el.get("src"):
                el.set("src", self._resolve(el.get("src", ""), self.files_base))


# @name, where a name cannot end in '.' or '-' ("Thanks @dave." mentions dave). Shared with the
# notification code so that what is linked is exactly who is notified.
MENTION_PATTERN = r"(?<![\w/@.])@([A-Za-z0-9](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?)"


class _Mentions(InlineProcessor):
    """@name -> a link to that user's profile (never inside code: Markdown skips code spans)."""

    def handleMatch(self, m, data):  # type: ignore[override]
        el = ET.Element("a")
        el.set("href", f"/{m.group(1)}")
        el.set("class", "mention")
        el.text = f"@{m.group(1)}"
        return el, m.start(0), m.end(0)


class _MentionsExtension(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.inlinePatterns.register(_Mentions(MENTION_PATTERN, md), "modelhub_mentions", 175)


class _RelativeLinksExtension(Extension):
    def __init__(self, files_base: str | None, pages_base: str | None, doc_dir: str) -> None:
        super().__init__()
        self.args = (files_base, pages_base, doc_dir)

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.treeprocessors.register(_RelativeLinks(md, *self.args), "modelhub_relative_links", 5)


class _MathML(Treeprocessor):
    """arithmatex's generic output (`<span|div class="arithmatex">TeX</span>`) -> MathML, stashed as
    raw HTML so that Markdown leaves it alone; TeX latex2mathml cannot read stays shown as written."""

    def run(self, root: ET.Element) -> None:
        for el in root.iter():
            if "arithmatex" not in (el.get("class") or "").split() or not el.text:
                continue
            tex = html_lib.unescape(el.text).strip()
            display = "block" if el.tag == "div" else "inline"
            try:
                mathml = latex_to_mathml(tex, display=display)
            except Exception:  # latex2mathml raises bare exceptions of several kinds on bad input
                el.set("class", "math math-error")
                el.text = markdown.util.AtomicString(tex)
                continue
            el.set("class", f"math math-{display}")
            el.text = self.md.htmlStash.store(mathml)


class _MathExtension(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:
        # After the inline patterns (20) and the table of contents (5): headings are named by their TeX.
        md.treeprocessors.register(_MathML(md), "modelhub_mathml", 4)


@dataclass(frozen=True)
class Heading:
    """One entry of a card's table of contents: its level (1-3), anchor id and plain text."""

    level: int
    id: str
    text: str


@dataclass(frozen=True)
class RenderedMarkdown:
    html: str
    toc: list[Heading]


TOC_LEVELS = (1, 2, 3)


# Ids of the pages a card is shown in (the skip link's target, the sidebar's sections): a card
# heading "Main" or "Use this model" must not take them, or the skip link lands in the card and
# the page holds the same id twice. Lower case with hyphens, as slugify_unicode makes them.
PAGE_IDS = frozenset({"main", "site-q", "toc-h", "use-h", "use-snippet", "gated-h", "file-h", "git-clone"})


def _heading_id(value: str, separator: str) -> str:
    """slugify_unicode's id (kept Chinese, as the Hub's), moved aside from the page's own ids."""
    slug = slugify_unicode(value, separator)
    return f"{slug}{separator}card" if slug in PAGE_IDS else slug


def _flat_toc(tokens: list[dict], shift: int = 0) -> list[Heading]:
    """The headings of levels TOC_LEVELS as the author wrote them (`#` is 1), whatever level they are
    shown at (`shift` levels lower)."""
    out: list[Heading] = []
    for t in tokens:
        if t["level"] - shift in TOC_LEVELS:
            out.append(Heading(t["level"] - shift, t["id"], html_lib.unescape(t["name"])))
        out += _flat_toc(t.get("children", []), shift)
    return out


def render_document(text: str, *, repo_path: str | None = None, revision: str = "main", doc_dir: str = "",
                    strip_front_matter: bool = True, mentions: bool = False, heading_level: int = 1
                    ) -> RenderedMarkdown:
    """Safe HTML for `text` and the table of contents of its h1-h3 (ids as in the HTML: Unicode kept,
    so that Chinese headings get anchors). `repo_path` ("/ns/name") turns relative links into
    repository URLs.

    `heading_level` is the level the document's `#` headings get (the others follow, down to h6): a
    card shown under the page's own h1 starts at 2, so that the page keeps one h1 and an outline
    that screen readers can walk."""
    if strip_front_matter:
        text = card_body(text)
    rev = quote(revision, safe="")
    files_base = f"{repo_path}/resolve/{rev}" if repo_path else None
    pages_base = f"{repo_path}/blob/{rev}" if repo_path else None
    md = markdown.Markdown(
        extensions=["tables", "fenced_code", "codehilite", "toc", "sane_lists", "nl2br", "pymdownx.arithmatex",
                    _MathExtension(), _RelativeLinksExtension(files_base, pages_base, doc_dir),
                    *([_MentionsExtension()] if mentions else [])],
        extension_configs={"codehilite": {"guess_lang": False, "css_class": "highlight"},
                           # align= survives the sanitizer; the default style= would not
                           "tables": {"use_align_attribute": True},
                           "toc": {"permalink": False, "slugify": _heading_id, "baselevel": heading_level},
                           # generic: the TeX as text in a span/div, for _MathML (not MathJax's scripts)
                           "pymdownx.arithmatex": {"generic": True, "tex_inline_wrap": ["", ""],
                                                   "tex_block_wrap": ["", ""]}},
        output_format="html",
    )
    html = md.convert(text)
    return RenderedMarkdown(sanitize_html(html), _flat_toc(getattr(md, "toc_tokens", []), heading_level - 1))


def render_markdown(text: str, *, repo_path: str | None = None, revision: str = "main", doc_dir: str = "",
                    strip_front_matter: bool = True, mentions: bool = False, heading_level: int = 1) -> str:
    """Safe HTML for `text` (see render_document). `repo_path` ("/ns/name") turns relative links into
    repository URLs."""
    return render_document(text, repo_path=repo_path, revision=revision, doc_dir=doc_dir,
                           strip_front_matter=strip_front_matter, mentions=mentions, heading_level=heading_level).html


def sanitize_html(html: str) -> str:
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=URL_SCHEMES,
                     link_rel="noopener noreferrer nofollow", strip_comments=True)


# Elements after which the reader sees a break: their text must not run into the next block's.
_BLOCKS = {"p", "div", "li", "ul", "ol", "dl", "dt", "dd", "blockquote", "pre", "table", "thead", "tbody",
           "tfoot", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "br", "details", "summary", "figure",
           "figcaption", "center", "section", "article", "header", "footer"}
_CELLS = {"td", "th"}
_SPACES = re.compile(r"\s+")
_INVISIBLE = {"script", "style", "template", "noscript", "head", "title", "iframe", "object", "svg", "math"}


class _TextOf(HTMLParser):
    """The words a reader of the rendered HTML sees, blocks on lines of their own, cells apart."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0
        self.pre = 0  # inside <pre>: code keeps its lines; elsewhere whitespace is one space, as shown

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag == "pre":
            self.pre += 1
        if tag in _INVISIBLE:
            self.hidden += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")
        elif tag in _CELLS:
            self.parts.append(" ")
        elif tag == "img" and not self.hidden:
            alt = dict(attrs).get("alt")
            if alt:
                self.parts.append(f" {alt} ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "pre":
            self.pre = max(0, self.pre - 1)
        if tag in _INVISIBLE:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")
        elif tag in _CELLS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data if self.pre else _SPACES.sub(" ", data))


def card_plain_text(text: str) -> str:
    """The card as its readers see it, without Markdown's marks (`**`, `##`, table pipes) or HTML:
    what search indexes, so that its snippets quote the card and not its source. Rendered by the same
    Markdown as the page, without the parts that only decorate (Pygments colours, heading anchors)."""
    html = markdown.markdown(card_body(text), extensions=["tables", "fenced_code", "sane_lists"],
                             output_format="html")
    parser = _TextOf()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)
