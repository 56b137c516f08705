"""How TradeMaximizer 1.3c (Java) cuts a want-list file into lines and words.

Owns the few text rules where Java and Python disagree, so that a file reads
here exactly as it reads in the reference solver:

* lines end only at ``\\n``, ``\\r`` or ``\\r\\n`` (``BufferedReader.readLine``),
  not at ``\\v``, ``\\f``, ``\\x1c``–``\\x1e``, NEL or U+2028 as
  ``str.splitlines`` would have it;
* ``String.trim`` drops every character up to U+0020 at either end, control
  characters included, which is why a Ctrl-Z (0x1A) that Windows editors
  leave at the end of a file is a blank line there;
* a regex ``\\s`` is ASCII ``[ \\t\\n\\x0b\\f\\r]`` only (a no-break space or
  ``\\x1c`` is part of a word), and ``.`` matches anything but a line
  terminator, NEL, U+2028 and U+2029 included.

The one departure: a UTF-8 byte-order mark at the start of the file is
skipped (Java would read it as part of the first line).
"""

from __future__ import annotations

import re

__all__ = [
    "BOM",
    "JAVA_SPACE",
    "decode",
    "dot_matches_all",
    "java_split",
    "java_trim",
    "split_lines",
]

BOM = "\ufeff"
# ``String.trim()``: every code point up to and including the space.
_TRIMMED = "".join(map(chr, range(0x21)))
# Java's regex ``\s`` (without UNICODE_CHARACTER_CLASS).
JAVA_SPACE = " \t\n\x0b\f\r"
_WORDS = re.compile(f"[{re.escape(JAVA_SPACE)}]+")
_LINES = re.compile(r"\r\n|\r|\n")
# What Java's ``.`` refuses (``\n`` and ``\r`` never reach a line).
_NOT_DOT = frozenset("\u0085\u2028\u2029")


def decode(data: bytes) -> str:
    """A file's bytes as text: UTF-8, undecodable bytes replaced as Java's
    reader replaces them (the parser skips a leading byte-order mark)."""
    return data.decode("utf-8", errors="replace")


def split_lines(text: str) -> list[str]:
    """Lines as ``BufferedReader.readLine`` returns them."""
    return _LINES.split(text)


def java_trim(text: str) -> str:
    """``String.trim()``."""
    return text.strip(_TRIMMED)


def java_split(text: str) -> list[str]:
    """``text.split("\\\\s+")`` on a trimmed string: its words."""
    return [word for word in _WORDS.split(text) if word]


def dot_matches_all(text: str) -> bool:
    """Whether Java's ``.*`` matches all of ``text``."""
    return _NOT_DOT.isdisjoint(text)
