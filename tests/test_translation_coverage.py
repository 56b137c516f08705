"""Nothing a reader sees escapes translation. Every template (pages and mail,
HTML and plain text) is read as Jinja tokens: text between tags, the attributes a
reader sees (title, alt, placeholder, aria-label, a button's value) and string
literals printed from expressions must be inside `_()`/`ngettext()`/`{% trans %}`,
unless they are not language (the brand, symbols, codes: ALLOWED). Every label and
validator message of the WTForms forms is a lazy string (made in the reader's
language when shown), and no flash message is a bare string. Babel's extraction
(babel.cfg, as `make messages` runs it) finds nothing the catalogues lack, and
each of the Russian, Ukrainian and Estonian catalogues translates every entry,
none left fuzzy.

Run with -s for a summary of what was checked."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po
from flask_babel.speaklater import LazyString
from jinja2 import Environment
from wtforms import Form
from wtforms.fields.core import UnboundField

import marketplace
from tests.support.app import ROOT

TEMPLATES = ROOT / "templates"
TRANSLATIONS = ROOT / "translations"
LANGUAGES = ("ru", "uk", "et")

# Templates and packages whose translation is being merged, feature by feature:
# their text is not checked yet (what they already mark is). Take an entry out
# once its templates and forms are translated in all four languages.
PENDING: dict[str, str] = {}

# Text that is not language: the brand, symbols, codes and examples of what a
# collector types (spellings are data, not words of ours).
ALLOWED = (
    "Znachki Exchange", "Гагарин, Gagarin, Olympics-80, ZN-0028а…", "Гагарин, Gagarin, ZN-0028а…",
    "UTC", "CSV", "JSON", "EUR", ".csv,.txt,text/csv",
)  # fmt: skip
# Addresses in a plain-text mail ("…: {{ base_url }}/matches") are not words.
ADDRESS = re.compile(r"https?://\S+|(?<![\w/])/[\w/.-]+")
LETTER = re.compile(r"[^\W\d_]")
# A string literal in an expression that reads as words: a space between
# letters, or a capital followed by small letters ("Issuer", "yes please").
WORDS = re.compile(r"[^\W\d_]{2,}(?:[ ,!?:;'’]|\. )+[^\W\d_]|^[A-ZА-ЯЁІЇЄҐ][a-zа-яёіїєґ]+$")
GETTEXT = {"_", "gettext", "ngettext", "lazy_gettext", "_l", "pgettext", "npgettext"}
# Calls whose string arguments are names, formats or paths, never prose.
NOT_PROSE = GETTEXT | {
    "url_for", "strftime", "dateformat", "datetimeformat", "timeformat", "get", "split",
    "replace", "startswith", "endswith", "attr", "format_date",
}  # fmt: skip
VISIBLE_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label", "label"}
# Code and what is marked not to be translated (names, a mail's subject) are not
# language of ours.
NOT_LANGUAGE_TAGS = {"script", "style", "code", "kbd", "samp", "pre"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}  # fmt: skip
PLACEHOLDER = "\u2060"  # stands in for `{{ … }}`: no letters, so never flagged


def pending(path: str) -> bool:
    """Whether a template or module path belongs to a feature being translated
    (PENDING names a feature's folder, or a file by its path)."""
    parts = Path(path).parts
    return any(part in PENDING for part in parts[:-1]) or path in PENDING


class _Text(HTMLParser):
    """The text a reader sees in a piece of HTML, with the line it is on."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self._open: list[tuple[str, bool]] = []  # each open element: is it not language?

    def _quiet(self) -> bool:
        return any(quiet for _tag, quiet in self._open)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        quiet = tag in NOT_LANGUAGE_TAGS or values.get("translate") == "no"
        if tag not in VOID:
            self._open.append((tag, quiet))
        if quiet or self._quiet():
            return
        for name, value in attrs:
            if value and name in VISIBLE_ATTRIBUTES:
                self.found.append((self.getpos()[0], value))
        if tag == "input" and values.get("type") in ("submit", "button", "reset"):
            self.found.append((self.getpos()[0], values.get("value") or ""))

    def handle_endtag(self, tag: str) -> None:
        # Pop to the element closed (a template may leave some unclosed).
        for n in range(len(self._open) - 1, -1, -1):
            if self._open[n][0] == tag:
                del self._open[n:]
                break

    def handle_data(self, data: str) -> None:
        if not self._quiet():
            self.found.append((self.getpos()[0], data))


def _tokens(env: Environment, source: str, name: str) -> Iterator[tuple[int, str, str]]:
    yield from env.lex(source, name)


def untranslated(env: Environment, path: Path) -> list[str]:
    """Each piece of text of the template at `path` that is outside gettext."""
    name = str(path.relative_to(TEMPLATES))
    source = path.read_text(encoding="utf-8")
    shown: list[str] = []  # the template as the reader gets it, expressions as PLACEHOLDER
    lines: list[int] = []
    literals: list[tuple[int, str]] = []
    in_trans = False
    in_tag = ""  # "variable" or "block" while inside {{ }} or {% %}
    block_name = ""
    calls: list[str] = []  # the open calls' names, innermost last
    previous = keyword = ""
    tokens = list(_tokens(env, source, name))
    for n, (lineno, kind, value) in enumerate(tokens):
        following = tokens[n + 1][2] if n + 1 < len(tokens) else ""
        if kind == "data":
            if not in_trans:
                shown.append(value)
                lines.append(lineno)
            continue
        if kind in ("variable_begin", "block_begin"):
            in_tag, block_name, calls = kind.split("_")[0], "", []
            if kind == "variable_begin":
                shown.append(PLACEHOLDER)
                lines.append(lineno)
        elif kind in ("variable_end", "block_end"):
            in_tag = ""
        elif kind == "name" and in_tag == "block" and not block_name:
            block_name = value
            if value == "trans":
                in_trans = True
            elif value == "endtrans":
                in_trans = False
        elif kind == "operator" and value == "(":
            calls.append(previous)
        elif kind == "operator" and value == ")" and calls:
            calls.pop()
        elif kind == "string" and in_tag and not in_trans:
            quiet = any(call in NOT_PROSE for call in calls)
            if block_name in ("extends", "include", "import", "from"):
                quiet = True
            # A dictionary's key, or a class name given to a form field.
            if following == ":" or keyword in ("class", "class_"):
                quiet = True
            if not quiet and WORDS.search(value) and value.strip("'\"").strip() not in ALLOWED:
                literals.append((lineno, value))
        keyword = previous if kind == "operator" and value == "=" else ""
        previous = value if kind == "name" else ""
    problems = [f"{name}:{line}: {text!r} (an expression's text)" for line, text in literals]
    # Line numbers: the HTML parser counts lines of the joined text, which keeps
    # every data token's newlines, so they match the template's but for lines
    # a tag spanned; close enough to find the text.
    parser = _Text()
    parser.feed("".join(shown))
    parser.close()
    for line, text in parser.found:
        text = " ".join(text.replace(PLACEHOLDER, " ").split())
        if LETTER.search(_without_allowed(text)):
            problems.append(f"{name}:{line}: {text!r}")
    return problems


def _without_allowed(text: str) -> str:
    for allowed in ALLOWED:
        text = re.sub(rf"(?<!\w){re.escape(allowed)}(?!\w)", " ", text)
    return ADDRESS.sub(" ", text)


def templates() -> list[Path]:
    return sorted(p for p in TEMPLATES.rglob("*") if p.suffix in (".html", ".txt"))


def test_every_template_string_is_marked_for_translation() -> None:
    # Only lexed, never rendered: escaping does not arise.
    env = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)
    checked = [p for p in templates() if not pending(str(p.relative_to(TEMPLATES)))]
    problems = [problem for path in checked for problem in untranslated(env, path)]
    print(
        f"\ntemplates: {len(checked)} checked for text outside gettext, "
        f"{len(templates()) - len(checked)} pending ({', '.join(sorted(PENDING))})"
    )
    assert not problems, "text outside gettext:\n" + "\n".join(problems)


def _form_classes() -> Iterator[type[Form]]:
    """Every WTForms form the app defines (in forms.py or beside its view)."""
    root = Path(marketplace.__file__).parent
    for module in pkgutil.walk_packages([str(root)], "marketplace."):
        path = root.joinpath(*module.name.split(".")[1:])
        source = path / "__init__.py" if module.ispkg else path.with_suffix(".py")
        text = source.read_text(encoding="utf-8") if source.exists() else ""
        if "wtforms" not in text and "FlaskForm" not in text:
            continue
        loaded = importlib.import_module(module.name)
        for _, cls in inspect.getmembers(loaded, inspect.isclass):
            if issubclass(cls, Form) and cls.__module__ == module.name:
                yield cls


def _is_lazy(text: object) -> bool:
    return isinstance(text, LazyString)


def test_every_form_label_and_message_is_a_lazy_string() -> None:
    problems: list[str] = []
    fields = messages = 0
    for form in _form_classes():
        if pending(form.__module__.replace(".", "/") + ".py"):
            continue
        for name, unbound in inspect.getmembers(form, lambda m: isinstance(m, UnboundField)):
            if unbound.field_class.__name__ in ("HiddenField", "CSRFTokenField"):
                continue
            fields += 1
            where = f"{form.__module__}.{form.__name__}.{name}"
            label = unbound.kwargs.get("label", unbound.args[0] if unbound.args else None)
            if not _is_lazy(label):
                problems.append(f"{where}: label {label!r} is not a lazy string")
            description = unbound.kwargs.get("description")
            if description and not _is_lazy(description):
                problems.append(f"{where}: description {description!r} is not a lazy string")
            validators = unbound.kwargs.get(
                "validators", unbound.args[1] if len(unbound.args) > 1 else ()
            )
            for validator in validators or ():
                message = getattr(validator, "message", None)
                if message is None:
                    continue  # WTForms' own message, which Flask-WTF translates
                messages += 1
                if not _is_lazy(message):
                    problems.append(f"{where}: {type(validator).__name__} says {message!r}")
    print(f"\nforms: {fields} fields and {messages} validator messages checked")
    assert fields > 0
    assert not problems, "form text outside gettext:\n" + "\n".join(problems)


def test_every_flash_message_is_translated() -> None:
    """A flash message is text a reader sees: never a bare string literal."""
    problems: list[str] = []
    calls = 0
    for source in sorted((ROOT / "marketplace").rglob("*.py")):
        where = str(source.relative_to(ROOT))
        if pending(where):
            continue
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "flash":
                calls += 1
                message = node.args[0] if node.args else None
                if isinstance(message, (ast.Constant, ast.JoinedStr)):
                    problems.append(f"{where}:{node.lineno}: flash({ast.unparse(message)})")
    print(f"\nflash messages: {calls} calls checked")
    assert not problems, "flash messages outside gettext:\n" + "\n".join(problems)


def _extracted() -> dict[tuple[str, str | None], list[str]]:
    """Babel's extraction as `make messages` runs it: each (msgid, context) and
    where it is."""
    method_map: list[tuple[str, str]] = []
    options: dict[str, dict[str, str]] = {}
    for line in (ROOT / "babel.cfg").read_text().splitlines():
        section = re.match(r"\[(\w+):\s*(.+)\]", line.strip())
        if section:
            method_map.append((section.group(2), section.group(1)))
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}  # as the Makefile
    found: dict[tuple[str, str | None], list[str]] = {}
    for filename, _lineno, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options, keywords=keywords
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault((msgid, context), []).append(filename)
    return found


def _catalogue(lang: str) -> Catalog:
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=lang)


def _only_pending(locations: list[str]) -> bool:
    return bool(locations) and all(pending(path) for path in locations)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_marked_string_is_in_the_catalogue_and_translated(lang: str) -> None:
    catalogue = _catalogue(lang)
    extracted = _extracted()
    missing = sorted(
        msgid for (msgid, context), where in extracted.items()
        if catalogue.get(msgid, context) is None and not _only_pending(where)
    )  # fmt: skip
    untranslated_, fuzzy = [], []
    for message in catalogue:
        if not message.id:
            continue  # the header
        where = [path for path, _line in message.locations]
        if _only_pending(where):
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings):
            untranslated_.append(message.id)
        if message.fuzzy:
            fuzzy.append(message.id)
    print(
        f"\n{lang}: {len(extracted)} strings extracted from templates and Python, "
        f"{len(catalogue)} in the catalogue, "
        f"{sum(1 for m in catalogue if m.id and not _only_pending([p for p, _ in m.locations]))}"
        " checked"
    )
    assert not missing, f"not in {lang} (run `make messages`): {missing}"
    assert not untranslated_, f"untranslated in {lang}: {untranslated_}"
    assert not fuzzy, f"fuzzy in {lang}: {fuzzy}"
