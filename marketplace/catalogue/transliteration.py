"""Cyrillic ↔ Latin for search: the spellings a collector might type for a legend.

A pin's Cyrillic text is indexed under every common romanisation at once — BGN/PCGN,
ICAO (Russian passports), GOST 7.79/ISO 9 and the scholarly system (diacritics
dropped, as people type them), French and German — so "Gagarine", "Chruschtschow"
and "Hruscev" each meet one of the stored spellings exactly; the query itself is
only folded (lower case, accents removed). Latin text typed to find a Cyrillic word
is also mapped back to Cyrillic, so "znachok" finds «значок». Pure functions.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

import snowballstemmer

# Each system is a letter table; context rules (French final -ine, German -ow,
# "ie" after a vowel) are applied by `_romanise`.
_BASE = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
    "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
    "я": "ya", "і": "i", "ї": "yi", "є": "ye", "ґ": "g", "ў": "w",
}  # fmt: skip

SYSTEMS: dict[str, dict[str, str]] = {
    "bgn": {**_BASE, "й": "y"},
    "icao": {**_BASE, "й": "i", "ю": "iu", "я": "ia", "ц": "ts", "ъ": "ie"},
    "iso9": {**_BASE, "ж": "z", "й": "j", "х": "h", "ц": "c", "ч": "c", "ш": "s", "щ": "s",
             "ю": "u", "я": "a", "ё": "e", "ы": "y", "э": "e"},
    "scholarly": {**_BASE, "ж": "z", "й": "j", "х": "x", "ц": "c", "ч": "c", "ш": "s",
                  "щ": "sc", "ю": "ju", "я": "ja"},
    "french": {**_BASE, "ж": "j", "й": "i", "у": "ou", "х": "kh", "ч": "tch", "ш": "ch",
               "щ": "chtch", "ю": "iou", "я": "ia", "ё": "io", "ы": "y", "ц": "ts"},
    "german": {**_BASE, "в": "w", "ж": "sh", "з": "s", "й": "i", "х": "ch", "ц": "z",
               "ч": "tsch", "ш": "sch", "щ": "schtsch", "ю": "ju", "я": "ja", "ё": "jo",
               "э": "e", "ы": "y"},
}  # fmt: skip
# Ukraine's national system (2010): г is h; ї, й, є, ю, я are spelled one way at
# the start of a word (yi, y, ye, yu, ya) and another inside it (i, i, ie, iu, ia).
SYSTEMS_UK = {**_BASE, "г": "h", "и": "y", "і": "i", "ї": "yi", "й": "y", "є": "ye"}
_UK_INSIDE = {"ї": "i", "й": "i", "є": "ie", "ю": "iu", "я": "ia"}

_VOWELS = set("аеёиоуыэюяіїє")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_WORD = re.compile(r"\w+", re.UNICODE)

# Latin → Cyrillic, longest spelling first; enough to send a typed Latin word to
# the Cyrillic index ("znachok" → «значок», "lenin" → «ленин»).
_TO_CYRILLIC = sorted(
    {
        "shch": "щ", "sch": "ш", "zh": "ж", "kh": "х", "ts": "ц", "ch": "ч", "sh": "ш",
        "yu": "ю", "ya": "я", "yo": "ё", "ye": "е", "a": "а", "b": "б", "v": "в", "w": "в",
        "g": "г", "d": "д", "e": "е", "z": "з", "i": "и", "j": "й", "y": "ы", "k": "к",
        "l": "л", "m": "м", "n": "н", "o": "о", "p": "п", "r": "р", "s": "с", "t": "т",
        "u": "у", "f": "ф", "h": "х", "c": "ц", "x": "кс", "q": "к",
    }.items(),
    key=lambda item: -len(item[0]),
)  # fmt: skip


def has_cyrillic(text: str) -> bool:
    return bool(_CYRILLIC.search(text))


def fold(text: str) -> str:
    """Lower case without accents: what both the index and the query are reduced to.
    Cyrillic stays Cyrillic, with ё and й folded to е and и as people type them."""
    text = text.lower().replace("ё", "е").replace("й", "и")
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped).replace("ß", "ss")


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def romanise(word: str, system: str, lang: str = "ru") -> str:
    """One Cyrillic word in one system (lower case, no diacritics)."""
    ukrainian = lang == "uk" and system == "national"
    table = SYSTEMS_UK if ukrainian else SYSTEMS[system]
    word = word.lower()
    out: list[str] = []
    for i, ch in enumerate(word):
        prev = word[i - 1] if i else ""
        latin = table.get(ch, ch)
        after_vowel = not prev or prev in _VOWELS or prev in "ъь"
        if ukrainian and i and ch in _UK_INSIDE:
            latin = _UK_INSIDE[ch]
        elif ch in "её" and after_vowel and system in {"bgn", "german", "french"}:
            latin = {"bgn": "ye", "german": "je", "french": "ie"}[system]
        elif ch == "ё" and not after_vowel and system in {"german", "french"}:
            latin = "o"  # Горбачёв → Gorbatschow, Gorbatchov
        out.append(latin)
    result = "".join(out)
    if system == "french" and result.endswith("in"):
        result += "e"  # Гагарин → Gagarine, Ленин → Lénine
    return fold(result)


def cyrillise(word: str) -> str:
    """A Latin word spelled back in Cyrillic, one plausible way."""
    word = fold(word)
    out = []
    i = 0
    while i < len(word):
        for latin, cyr in _TO_CYRILLIC:
            if word.startswith(latin, i):
                out.append(cyr)
                i += len(latin)
                break
        else:
            out.append(word[i])
            i += 1
    return "".join(out)


def index_terms(text: str, lang: str = "ru") -> list[str]:
    """Every spelling under which `text` should be found, in first-seen order."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(text.lower()):
        seen[fold(word)] = None
        if has_cyrillic(word):
            for system in SYSTEMS:
                seen[romanise(word, system, lang)] = None
            if lang == "uk":
                seen[romanise(word, "national", "uk")] = None
    return list(seen)


def query_terms(text: str) -> list[list[str]]:
    """The query as a list of words, each with its alternatives: a Cyrillic word
    also in its BGN spelling, a Latin word also spelled in Cyrillic, and each also
    by its stem, so "Гагарина" and "Gagarine" find "Gagarin" (matched as prefixes)."""
    result: list[list[str]] = []
    for word in _WORD.findall(text.lower()):
        folded = fold(word)
        pieces = _WORD.findall(folded)
        if pieces != [folded]:
            # Folding split it ("½" → "1⁄2"): search its pieces, as the index
            # holds them (`words` folds before splitting).
            result.extend([piece] for piece in pieces)
            continue
        if has_cyrillic(word):
            stem = _stemmer("russian").stemWord(folded)
            alternatives = [folded, romanise(word, "bgn"), stem, romanise(stem, "bgn")]
        else:
            alternatives = [folded, cyrillise(word), _stemmer("english").stemWord(folded)]
        result.append([a for a in dict.fromkeys(alternatives) if len(a) >= min(3, len(folded))])
    return result


@functools.cache
def _stemmer(language: str) -> Any:
    return snowballstemmer.stemmer(language)


def transliterate(text: str, lang: str = "ru") -> str:
    """Readable transliteration of a whole legend (BGN/PCGN; Ukraine's national
    system for Ukrainian), keeping case and punctuation; shown beside the legend."""
    system = "national" if lang == "uk" else "bgn"

    def one(match: re.Match[str]) -> str:
        word = match.group(0)
        if not has_cyrillic(word):
            return word
        latin = romanise(word, system, lang)
        if word.isupper() and len(word) > 1:
            return latin.upper()
        return latin.capitalize() if word[0].isupper() else latin

    return _WORD.sub(one, text)


def join_terms(chunks: Iterable[str], lang: str = "ru") -> str:
    terms: dict[str, None] = {}
    for chunk in chunks:
        if chunk:
            for term in index_terms(chunk, lang):
                terms[term] = None
    return " ".join(terms)
