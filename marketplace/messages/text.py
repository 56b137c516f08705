"""How a message's text becomes HTML: always escaped, never interpreted, and with
web addresses made into links only when the author has earned it (an
established member), so a new account cannot use messages to spread links.

Only `http://` and `https://` addresses are ever linked; anything else that
looks like a link (`javascript:…`, `data:…`) stays text. The output is built
from escaped pieces, so `Markup` here never wraps anything unescaped.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

MAX_BODY = 5000
# An address runs to the next space or character that cannot be in one unquoted.
URL = re.compile(r"\bhttps?://[^\s<>\"'`]+", re.IGNORECASE)
# Punctuation that ends a sentence rather than the address.
TRAILING = ".,;:!?)]}»”’"


def clean_body(body: str) -> str | None:
    """The text as it is stored: surrounding whitespace trimmed, nothing else
    changed (no HTML processing). None when nothing is left."""
    text = body.strip()
    return text or None


def _split(url: str) -> tuple[str, str]:
    """The address and the punctuation after it."""
    end = len(url)
    while end and url[end - 1] in TRAILING:
        # Keep a closing bracket that closes one inside the address (wiki links).
        if url[end - 1] == ")" and url[:end].count("(") >= url[:end].count(")"):
            break
        end -= 1
    return url[:end], url[end:]


def render(body: str, *, links: bool) -> Markup:
    """The text as HTML: escaped, with http(s) addresses as `<a>` when `links`."""
    if not links:
        return escape(body)
    out = Markup()
    last = 0
    for match in URL.finditer(body):
        url, tail = _split(match.group(0))
        if "://" not in url or url.endswith("://"):
            continue
        out += escape(body[last : match.start()])
        out += Markup('<a href="{0}" rel="nofollow ugc noopener">{0}</a>').format(url)
        out += escape(tail)
        last = match.end()
    return out + escape(body[last:])
