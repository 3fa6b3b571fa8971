"""Card ``detail`` Markdown to HTML for the preview page, safely.

Card text is data from the service (which quotes FHIR text fields an EHR filled in), so it is
treated as untrusted: raw HTML in it is escaped, not passed through, and links keep only absolute
http(s) and mailto targets. GitHub-flavoured tables and lists render as an EHR would show them.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import markdown
from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor

_SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
# GFM lets a list start right under a paragraph line ("Facts used:\n- ..."); Python-Markdown needs
# a blank line first. Bullets, or an ordered list starting at 1, as GFM allows.
_LIST_START = re.compile(r"^(?:[-*+]|1[.)])\s+\S")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_FENCE = re.compile(r"^\s*(```|~~~)")
MAX_MARKDOWN_CHARS = 50_000


class _SafeLinks(Treeprocessor):
    """Drop link targets that could run script (``javascript:``, ``data:``...) and images."""

    def run(self, root: ET.Element) -> None:
        for element in root.iter():
            if element.tag == "a":
                if not _is_safe_href(element.get("href", "")):
                    element.attrib.pop("href", None)
                else:
                    element.set("rel", "noopener noreferrer")
                    element.set("target", "_blank")
            elif element.tag == "img":
                element.tag = "span"
                alt = element.get("alt", "")
                element.attrib.clear()
                element.text = alt


def _is_safe_href(href: str) -> bool:
    """Only absolute http(s)/mailto targets, judged as the browser will read them: character
    references decoded (``java&#x73;cript:``) and control characters/whitespace removed."""
    decoded = "".join(ch for ch in html.unescape(href) if ch.isprintable() and not ch.isspace())
    return urlsplit(decoded).scheme.lower() in _SAFE_SCHEMES


class _GfmListBreaks(Preprocessor):
    """Insert the blank line Python-Markdown needs before a list that interrupts a paragraph."""

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        in_fence = False
        for line in lines:
            if _FENCE.match(line):
                in_fence = not in_fence
            previous = out[-1] if out else ""
            if (not in_fence and _LIST_START.match(line) and previous.strip()
                    and not _LIST_ITEM.match(previous) and not previous.startswith((" ", "\t"))):
                out.append("")
            out.append(line)
        return out


class _NoRawHtml(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 - the library's name
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        md.preprocessors.register(_GfmListBreaks(md), "gfm_list_breaks", 25)
        md.treeprocessors.register(_SafeLinks(md), "safe_links", 0)


def render(text: str) -> str:
    """HTML for one card detail; raw HTML in ``text`` comes out escaped."""
    converter = markdown.Markdown(extensions=["tables", "sane_lists", _NoRawHtml()], output_format="html")
    return converter.convert(text[:MAX_MARKDOWN_CHARS])
