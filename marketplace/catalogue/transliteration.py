"""Cyrillic ↔ Latin for search: the spellings a collector might type for a legend.

A pin's Cyrillic text is indexed under every common romanisation at once — BGN/PCGN,
ICAO (Russian passports), GOST 7.79/ISO 9 and the scholarly system (diacritics
dropped, as people type them), French and German, and Ukraine's national system
for Ukrainian — so "Gagarine", "Chruschtschow" and "Hruscev" each meet one of the
stored spellings exactly. Every Latin spelling, indexed or typed, also carries a
key that smooths over the rest (`spelling_key`: Yuri/Iouri/Juri, Tallinn/Tallin);
Cyrillic words are also indexed by their stems and in Russian letters (`stems`,
`russify`), so inflected and Ukrainian or Belarusian forms meet. Latin text typed
to find a Cyrillic word is also mapped back to Cyrillic, so "znachok" finds
«значок». Pure functions.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
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
            # After ж, ч, ш, щ the o is hard (Горбачёв → Gorbatschow, Gorbatchov);
            # after any other consonant it is soft (Королёв → Koroljow, Koroliov).
            latin = "o" if prev in "жчшщ" else {"german": "jo", "french": "io"}[system]
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


# Ukrainian and Belarusian letters as the Russian ones they correspond to, and э as
# е (as people type it): «Ленін» and «Мінск» are then spelled «ленин», «минск».
_RUSSIFY = str.maketrans({"і": "и", "ї": "и", "є": "е", "ґ": "г", "ў": "у", "э": "е"})
_UKRAINIAN_LETTERS = re.compile("[іїєґў]")
# A light Ukrainian stemmer (Snowball has none): noun and adjective endings, in
# folded spelling (й is и), longest first; at least three letters stay.
_UK_ENDINGS = sorted(
    """ами ями ові еві єві ого ому ими іми ою ею єю ах ях ам ям ів ів ии іи ої ом ем єм
    а я у ю і е є о и ь""".split(),
    key=len,
    reverse=True,
)
# Endings a Latin-typed word may carry that its indexed form lacks: Estonian cases
# (Tallinnas, Tallinna), a Russian case typed in Latin (Gagarina), a German
# genitive (Gagarins). Only ever tried as whole indexed words.
_LATIN_ENDINGS = ("sse", "st", "ga", "le", "lt", "ks", "na", "s", "a", "u", "e", "y")


def russify(word: str) -> str:
    """A folded Cyrillic word with Ukrainian/Belarusian letters made Russian."""
    return word.translate(_RUSSIFY)


def is_ukrainian(word: str) -> bool:
    return bool(_UKRAINIAN_LETTERS.search(word))


def spelling_key(word: str) -> str:
    """A folded Latin word with the differences between romanisations smoothed
    over: y, j and i runs are one i (Yuri, Iouri, Juri, Jurij → iuri; Kiev, Kijew
    → kiev), w is v, ou is u, kh is h, x is ks, and doubled letters are single
    (Tallinn, Tallin → talin). Both the index and the query carry the key, so any
    two spellings with the same key find each other."""
    word = word.replace("x", "ks").replace("ph", "f").replace("ck", "k").replace("q", "k")
    word = word.replace("w", "v").replace("ou", "u").replace("kh", "h")
    word = re.sub(r"[ijy]+", "i", word)
    return re.sub(r"(.)\1+", r"\1", word)


def stems(folded: str, *, ukrainian: bool = False) -> set[str]:
    """Stems of a folded Cyrillic word, in Russian spelling: «Гагарина» and
    «Гагарін» → гагарин, «Києву» → киев. Matched only as whole words."""
    plain = russify(folded)
    found = {_stemmer("russian").stemWord(plain)}
    if len(plain) > 3 and plain[-1] == "и" and plain[-2] in _VOWELS:
        # Folding made й и, and Snowball knows "-ой", not "-ои": stem it with its
        # й back too, so «Терешковой» meets «Терешкова» (терешков).
        found.add(_stemmer("russian").stemWord(plain[:-1] + "й"))
    if ukrainian:
        for ending in _UK_ENDINGS:
            if folded.endswith(ending) and len(folded) - len(ending) >= 3:
                found.add(russify(folded[: -len(ending)]))
                break
    return {stem for stem in found if len(stem) >= 3}


def latin_stems(folded: str) -> set[str]:
    """Shorter whole words a Latin-typed word may stand for (tried only against
    the index): its English stem and the word without a case ending."""
    found = {_stemmer("english").stemWord(folded)}
    for ending in _LATIN_ENDINGS:
        if folded.endswith(ending) and len(folded) - len(ending) >= 4:
            base = folded[: -len(ending)]
            found.add(base)
            if ending != "a" and base.endswith("a") and len(base) >= 6:
                found.add(base[:-1])  # Estonian inessive on a genitive: Tallinnas
    found.discard(folded)
    return {stem for stem in found if len(stem) >= 4}


def index_terms(text: str, lang: str = "ru") -> list[str]:
    """Every spelling under which `text` should be found, in first-seen order:
    each word folded; a Cyrillic word also in Russian letters, by its stems and
    under every romanisation (Ukraine's national system too for Ukrainian); every
    Latin spelling also by its key and, for Latin words, its English stem."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(text.lower()):
        folded = fold(word)
        seen[folded] = None
        if has_cyrillic(word):
            ukrainian = lang in ("uk", "be") or is_ukrainian(word)
            seen[russify(folded)] = None
            for stem in stems(folded, ukrainian=ukrainian):
                seen[stem] = None
            latin = [romanise(word, system, lang) for system in SYSTEMS]
            if ukrainian:
                latin.append(romanise(word, "national", "uk"))
            for spelling in latin:
                seen[spelling] = None
            for spelling in latin:
                seen[spelling_key(spelling)] = None
        elif folded.isascii() and folded.isalpha():
            seen[spelling_key(folded)] = None
            stem = _stemmer("english").stemWord(folded)
            if len(stem) >= 4:
                seen[stem] = None
    return list(seen)


def name_terms(text: str) -> list[str]:
    """Proper names written in Latin letters (capitalised words of an English
    title: "Valentina Tereshkova") also under their Cyrillic spelling and its
    romanisations, so «Терешкова», "Tereškova" and "Tereschkowa" find a pin whose
    only mention of her is the English title."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(text):
        if len(word) >= 4 and word[0].isupper() and word.isascii() and word.isalpha():
            for term in index_terms(cyrillise(word)):
                seen[term] = None
    return list(seen)


@dataclass(frozen=True)
class Spelling:
    """One way a typed word may be indexed. `prefix`: it may also match as the
    start of a longer indexed word (someone still typing); `weight` ranks a
    match by it against the word as typed (1.0)."""

    term: str
    weight: float = 1.0
    prefix: bool = True


def query_terms(text: str) -> list[list[Spelling]]:
    """The query as a list of words, each with the spellings it may be indexed
    under: a Cyrillic word also in Russian letters, in BGN/PCGN and by its stems;
    a Latin word also by its key, spelled in Cyrillic, and by its stems. Which of
    them the index holds is for the search to check."""
    result: list[list[Spelling]] = []
    for word in _WORD.findall(text.lower()):
        folded = fold(word)
        pieces = _WORD.findall(folded)
        if pieces != [folded]:
            # Folding split it ("½" → "1⁄2"): search its pieces, as the index
            # holds them (`words` folds before splitting).
            result.extend([Spelling(piece)] for piece in pieces)
            continue
        spellings = [Spelling(folded)]
        if has_cyrillic(word):
            latin = romanise(word, "bgn")
            spellings += [
                Spelling(russify(folded)),
                Spelling(latin, 0.9),
                Spelling(spelling_key(latin), 0.9),
            ]
            for stem in sorted(stems(folded, ukrainian=is_ukrainian(word))):
                # The stem, and the stem romanised: «Гагарина» finds "Gagarin's".
                spellings += [Spelling(stem, 0.9, prefix=False)]
                spellings += [Spelling(romanise(stem, "bgn"), 0.8, prefix=False)]
        else:
            cyrillic = cyrillise(word)
            spellings += [Spelling(spelling_key(folded)), Spelling(cyrillic, 0.9)]
            spellings += [Spelling(stem, 0.8, prefix=False) for stem in sorted(latin_stems(folded))]
            spellings += [Spelling(stem, 0.8, prefix=False) for stem in sorted(stems(cyrillic))]
        shortest = min(3, len(folded))
        unique: dict[str, Spelling] = {}
        for spelling in spellings:
            if len(spelling.term) >= shortest and spelling.term not in unique:
                unique[spelling.term] = spelling
        result.append(list(unique.values()))
    return result


def english_stem(word: str) -> str:
    return str(_stemmer("english").stemWord(word))


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
