"""docs/rules.md as HTML for the rules page: a small Markdown subset, every text escaped.

Headings, paragraphs, bullet and numbered lists, tables, `code`, **bold** and *italics*,
[links](…) — what docs/rules.md uses. Anything else shows as plain text.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

RULES_PATH = Path(settings.BASE_DIR) / "docs" / "rules.md"

_INLINE = [
    (re.compile(r"`([^`]+)`"), r"<code>\1</code>"),
    (re.compile(r"\*\*(.+?)\*\*"), r"<strong>\1</strong>"),
    (re.compile(r"(?<![*\w])\*(?!\s)(.+?)(?<!\s)\*(?!\w)"), r"<em>\1</em>"),
    # Only site-relative, http(s) and in-page links: never javascript: or data:.
    (re.compile(r"\[([^\]]+)\]\(((?:https?://|/|#)[^)\s\"'<>]*)\)"), r'<a href="\2">\1</a>'),
]


def _inline(text: str) -> str:
    html = escape(text)
    for pattern, replacement in _INLINE:
        html = pattern.sub(replacement, html)
    return html


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def markdown_to_html(text: str) -> SafeString:
    """Return the HTML of `text` (the subset above)."""
    out: list[str] = []
    lines = text.splitlines()
    i = 0
    paragraph: list[str] = []

    def flush():
        if paragraph:
            out.append(f"<p>{_inline(' '.join(paragraph))}</p>")
            paragraph.clear()

    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        heading = re.match(r"^(#{1,6})\s+(.*)$", stripped)
        if not stripped:
            flush()
            i += 1
        elif heading:
            flush()
            level = min(6, len(heading.group(1)) + 1)  # the page's own title is the h1
            title = heading.group(2).strip()
            out.append(f'<h{level} id="{_slug(title)}">{_inline(title)}</h{level}>')
            i += 1
        elif stripped.startswith("|") and i + 1 < len(lines) and re.match(r"^\|?[\s:|-]+\|?$", lines[i + 1].strip()):
            flush()
            head = _cells(stripped)
            rows = []
            i += 2
            while i < len(lines) and lines[i].strip().startswith("|"):
                rows.append(_cells(lines[i]))
                i += 1
            out.append("<table><thead><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in head) + "</tr></thead><tbody>"
                       + "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in rows)
                       + "</tbody></table>")
        elif re.match(r"^([*+-]|\d+\.)\s+", stripped):
            flush()
            ordered = bool(re.match(r"^\d+\.", stripped))
            items: list[str] = []
            while i < len(lines) and lines[i].strip():
                item = re.match(r"^\s*([*+-]|\d+\.)\s+(.*)$", lines[i])
                if item:
                    items.append(item.group(2).strip())
                elif items:
                    items[-1] += " " + lines[i].strip()  # a wrapped or nested line joins its item
                i += 1
            tag = "ol" if ordered else "ul"
            out.append(f"<{tag}>" + "".join(f"<li>{_inline(item)}</li>" for item in items) + f"</{tag}>")
        else:
            paragraph.append(stripped)
            i += 1
    flush()
    return mark_safe("\n".join(out))  # noqa: S308 — every piece of text went through escape()


def rules_html() -> SafeString | None:
    """Return docs/rules.md as HTML, or None while the file is not there."""
    try:
        return markdown_to_html(RULES_PATH.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
