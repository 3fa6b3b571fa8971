"""Card ``detail`` Markdown to HTML for the preview page, safely.

Card text is data from the service (which quotes FHIR text fields an EHR filled in), so it is
treated as untrusted: raw HTML in it is escaped, not passed through, and links keep only http(s)
and mailto targets. GitHub-flavoured tables and lists render as an EHR would show them.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

_SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
MAX_MARKDOWN_CHARS = 50_000


class _SafeLinks(Treeprocessor):
    """Drop link targets that could run script (``javascript:``, ``data:``...) and images."""

    def run(self, root: ET.Element) -> None:
        for element in root.iter():
            if element.tag == "a":
                href = element.get("href", "")
                scheme = urlsplit(href).scheme.lower()
                if scheme and scheme not in _SAFE_SCHEMES:
                    element.attrib.pop("href", None)
                else:
                    element.set("rel", "noopener noreferrer")
                    element.set("target", "_blank")
            elif element.tag == "img":
                element.tag = "span"
                alt = element.get("alt", "")
                element.attrib.clear()
                element.text = alt


class _NoRawHtml(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 - the library's name
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        md.treeprocessors.register(_SafeLinks(md), "safe_links", 0)


def render(text: str) -> str:
    """HTML for one card detail; raw HTML in ``text`` comes out escaped."""
    converter = markdown.Markdown(extensions=["tables", "sane_lists", _NoRawHtml()], output_format="html")
    return converter.convert(text[:MAX_MARKDOWN_CHARS])
