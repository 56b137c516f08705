"""TradeMaximizer / OLWLG want-list files: reader, writer and graph builder.

Owns the file format used by BoardGameGeek math trades (TradeMaximizer 1.3c,
plus the later ``METRIC=``/``VERBOSE`` options written by the OLWLG):

* ``#!`` option lines, allowed only before official names and want lists;
* ``#`` comment lines (a ``#`` anywhere else is an error);
* ``!BEGIN-OFFICIAL-NAMES`` ... ``!END-OFFICIAL-NAMES``: the first token of
  each line is an official item name, the rest is free text;
* want lists ``(user) ITEM : WANT WANT ; WANT WANT=5`` where the username,
  the colon, ``;`` (a big step in rank) and ``=n`` (explicit priority) are
  optional or required according to the options; ``%name`` is a dummy item
  private to its user.

:func:`parse_wantlist` checks the syntax and raises :class:`WantListError`
(with the 1-based line number) on anything TradeMaximizer would reject;
unknown options become warnings. :func:`write_wantlist` writes a parsed file
back (parse → write → parse is stable). :func:`build_problem` applies the
solver's semantics (official names, duplicates, unknown items, priorities)
and produces an :class:`~marketplace.matching.exchange.ExchangeGraph` with one
agent per item, collecting TradeMaximizer's non-fatal ``****`` errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from marketplace.matching.exchange import ExchangeGraph
from marketplace.matching.javatext import (
    BOM,
    JAVA_SPACE,
    dot_matches_all,
    java_split,
    java_trim,
    split_lines,
)

__all__ = [
    "PRIORITY_SCHEMES",
    "TradeProblem",
    "WantList",
    "WantListError",
    "WantListOptions",
    "build_problem",
    "parse_wantlist",
    "write_wantlist",
]

PRIORITY_SCHEMES = ("NONE", "LINEAR", "TRIANGLE", "SQUARE", "SCALED", "EXPLICIT")
METRICS = ("CHAIN-SIZES-SOS", "USERS-TRADING", "USERS-SOS", "COMBINE-SHIPPING")

_FLAGS = {
    "CASE-SENSITIVE": ("case_sensitive", True),
    "REQUIRE-COLONS": ("require_colons", True),
    "REQUIRE-USERNAMES": ("require_usernames", True),
    "REQUIRE-OFFICIAL-NAMES": ("require_official_names", True),
    "HIDE-ERRORS": ("show_errors", False),
    "HIDE-REPEATS": ("show_repeats", False),
    "HIDE-LOOPS": ("show_loops", False),
    "HIDE-SUMMARY": ("show_summary", False),
    "HIDE-NONTRADES": ("show_nontrades", False),
    "HIDE-STATS": ("show_stats", False),
    "SHOW-MISSING": ("show_missing", True),
    "SORT-BY-ITEM": ("sort_by_item", True),
    "ALLOW-DUMMIES": ("allow_dummies", True),
    "SHOW-ELAPSED-TIME": ("show_elapsed_time", True),
    "VERBOSE": ("verbose", True),
    "SHRINK-VERBOSE": ("shrink_verbose", True),
    "SHOW-WANTS": ("show_wants", True),
}
_SCHEME_FLAGS = {
    "LINEAR-PRIORITIES": "LINEAR",
    "TRIANGLE-PRIORITIES": "TRIANGLE",
    "SQUARE-PRIORITIES": "SQUARE",
    "SCALED-PRIORITIES": "SCALED",
    "EXPLICIT-PRIORITIES": "EXPLICIT",
}
# name -> (field, pattern the value must match, message)
_VALUED = {
    "SMALL-STEP": ("small_step", r"\d+", "must be a non-negative integer"),
    "BIG-STEP": ("big_step", r"\d+", "must be a non-negative integer"),
    "NONTRADE-COST": ("nontrade_cost", r"[1-9]\d*", "must be a positive integer"),
    "ITERATIONS": ("iterations", r"[1-9]\d*", "must be a positive integer"),
    "SEED": ("seed", r"[1-9]\d*", "must be a positive integer"),
    "SHRINK": ("shrink", r"[0-9]", "must be a single digit"),
}
_BIG_STEP = ";"
# Java's ``(.*\)\s+)?[^(\s)]\S*`` with Java's ``.`` and ``\s``: an optional
# username, then exactly one word.
_S = re.escape(JAVA_SPACE)
_HEADER = re.compile(f"(?:[^\\n\\r\\u0085\\u2028\\u2029]*\\)[{_S}]+)?[^({_S})][^{_S}]*")
# ``split("[:\\s]")``: an official name ends at a colon or whitespace.
_NAME_END = re.compile(f"[:{_S}]")
_EXPLICIT = re.compile(r"[^=]+=[0-9]+")


class WantListError(ValueError):
    """A want-list file TradeMaximizer would refuse; names the line."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(f"{message} (line {line})")
        self.message = message
        self.line = line


@dataclass(frozen=True, slots=True)
class WantListOptions:
    """The ``#!`` options in force, with TradeMaximizer's defaults."""

    case_sensitive: bool = False
    require_colons: bool = False
    require_usernames: bool = False
    require_official_names: bool = False
    show_errors: bool = True
    show_repeats: bool = True
    show_loops: bool = True
    show_summary: bool = True
    show_nontrades: bool = True
    show_stats: bool = True
    show_missing: bool = False
    sort_by_item: bool = False
    allow_dummies: bool = False
    show_elapsed_time: bool = False
    verbose: bool = False
    shrink_verbose: bool = False
    show_wants: bool = False
    priorities: str = "NONE"
    small_step: int = 1
    big_step: int = 9
    nontrade_cost: int = 1_000_000_000
    iterations: int = 1
    seed: int | None = None
    shrink: int = 0
    metric: str = "CHAIN-SIZES-SOS"


@dataclass(frozen=True, slots=True)
class WantEntry:
    """One want list: ``user`` owns ``item`` and would give it for any of
    ``wants`` (tokens in order, including ``;`` and ``NAME=n``). ``user`` is
    the username word as the reference keeps it, parentheses included:
    ``(ANN)``."""

    line: int
    user: str | None
    item: str
    wants: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class WantList:
    """A parsed file. ``options`` are the option tokens as written
    (upper-cased), in order; ``warnings`` are for stderr."""

    options: tuple[str, ...]
    settings: WantListOptions
    official_names: tuple[str, ...] | None
    entries: tuple[WantEntry, ...]
    warnings: tuple[str, ...] = ()


def parse_wantlist(text: str) -> WantList:
    """Parse a want-list file; raise :class:`WantListError` if malformed.

    Lines and words are cut as the reference cuts them
    (:mod:`~marketplace.matching.javatext`): a Ctrl-Z at the end is a blank
    line, a vertical tab or U+2028 stays inside its line, a no-break space
    inside its word, and a leading byte-order mark is skipped."""
    settings = WantListOptions()
    options: list[str] = []
    warnings: list[str] = []
    official: list[str] | None = None
    official_seen: set[str] = set()
    reading_official = False
    begin_line = 0
    entries: list[WantEntry] = []

    for number, raw in enumerate(split_lines(text.removeprefix(BOM)), start=1):
        line = java_trim(raw)
        if not line:
            continue
        # ``#!.*`` and ``#.*`` in Java: a NEL or U+2028 makes neither match,
        # and the line is then refused for its ``#`` below.
        plain = dot_matches_all(line)
        if plain and line.startswith("#!"):
            if entries:
                raise WantListError(
                    "Options (#!...) cannot be declared after first real want list", number
                )
            if official is not None:
                raise WantListError(
                    "Options (#!...) cannot be declared after official names", number
                )
            for option in java_split(java_trim(line.upper()[2:])):
                settings = _apply_option(settings, option, number, warnings)
                options.append(option)
            continue
        if plain and line.startswith("#"):
            continue
        if "#" in line:
            if not reading_official:
                raise WantListError(
                    "Comments (#...) cannot be used after beginning of line", number
                )
            if "#" in _NAME_END.split(line, maxsplit=1)[0]:
                raise WantListError("# symbol cannot be used in an item name", number)

        upper = line.upper()
        if upper == "!BEGIN-OFFICIAL-NAMES":
            if official is not None:
                raise WantListError("Cannot begin official names more than once", number)
            if entries:
                raise WantListError(
                    "Official names cannot be declared after first real want list", number
                )
            official = []
            reading_official = True
            begin_line = number
            continue
        if upper == "!END-OFFICIAL-NAMES":
            if not reading_official:
                raise WantListError(
                    "!END-OFFICIAL-NAMES without matching !BEGIN-OFFICIAL-NAMES", number
                )
            reading_official = False
            continue
        if reading_official:
            assert official is not None
            if line[0] == ":":
                raise WantListError("Line cannot begin with colon", number)
            if line[0] == "%":
                raise WantListError("Cannot give official names for dummy items", number)
            name = _NAME_END.split(line, maxsplit=1)[0]
            if not settings.case_sensitive:
                name = name.upper()
            if name in official_seen:
                raise WantListError(f"Official name {name} already defined", number)
            official_seen.add(name)
            official.append(name)
            continue
        entries.append(_parse_entry(line, number, settings))

    if reading_official:
        raise WantListError(
            "!BEGIN-OFFICIAL-NAMES without matching !END-OFFICIAL-NAMES", begin_line
        )
    return WantList(
        options=tuple(options),
        settings=settings,
        official_names=None if official is None else tuple(official),
        entries=tuple(entries),
        warnings=tuple(warnings),
    )


def _apply_option(
    settings: WantListOptions, option: str, number: int, warnings: list[str]
) -> WantListOptions:
    flag = _FLAGS.get(option)
    if flag is not None:
        changes: dict[str, Any] = {flag[0]: flag[1]}
        return replace(settings, **changes)
    scheme = _SCHEME_FLAGS.get(option)
    if scheme is not None:
        if scheme == "SCALED":
            raise WantListError("SCALED-PRIORITIES no longer supported!", number)
        return replace(settings, priorities=scheme)
    name, eq, value = option.partition("=")
    if eq and name in _VALUED:
        attr, pattern, message = _VALUED[name]
        if not re.fullmatch(pattern, value):
            raise WantListError(f"{name} argument {message}", number)
        numbers: dict[str, Any] = {attr: int(value)}
        return replace(settings, **numbers)
    if eq and name == "METRIC":
        if value not in METRICS:
            warnings.append(f'line {number}: unknown metric "{value}" (ignored)')
            return settings
        return replace(settings, metric=value)
    if eq and name == "PRIORITIES":
        value = value.removesuffix("-PRIORITIES")
        if value not in PRIORITY_SCHEMES or value == "SCALED":
            raise WantListError(f'Unknown priority scheme "{value}"', number)
        return replace(settings, priorities=value)
    warnings.append(f'line {number}: unknown option "{option}" (ignored)')
    return settings


def _parse_entry(line: str, number: int, settings: WantListOptions) -> WantEntry:
    """One want list, step by step as TradeMaximizer checks it."""
    if "(" not in line and settings.require_usernames:
        raise WantListError("Missing username with REQUIRE-USERNAMES selected", number)
    if line[0] == "(":
        if line.rfind("(") > 0:
            raise WantListError("Cannot have more than one '(' per line", number)
        close = line.find(")")
        if close == -1:
            raise WantListError("Missing ')' in username", number)
        if close == len(line) - 1:
            raise WantListError("Username cannot appear on a line by itself", number)
        if line.rfind(")") > close:
            raise WantListError("Cannot have more than one ')' per line", number)
        if close == 1:
            raise WantListError("Cannot have empty parentheses", number)
        # The reference keeps the username one word by turning its spaces
        # into '#' (no '#' can be left on the line by now); other whitespace
        # in a username still splits it, there as here.
        if line.find(" ") < close:
            line = line[: close + 1].replace(" ", "#") + " " + line[close + 1 :]
    elif line.find("(") > 0:
        raise WantListError("Username can only be used at the front of a want list", number)
    elif line.find(")") > 0:
        raise WantListError("Bad ')' on a line that does not have a '('", number)

    line = line.replace(";", " ; ")
    semi = line.find(";")
    if semi != -1:
        if semi < line.find(":"):
            raise WantListError("Semicolon cannot appear before colon", number)
        before = java_trim(line[:semi])
        if not before or before[-1] == ")":
            raise WantListError("Semicolon cannot appear before first item on line", number)
    colon = line.find(":")
    if colon != -1:
        if line.rfind(":") != colon:
            raise WantListError("Cannot have more that one colon on a line", number)
        if not _HEADER.fullmatch(java_trim(line[:colon])):
            raise WantListError("Must have exactly one item before a colon (:)", number)
        line = line[:colon] + " " + line[colon + 1 :]
    elif settings.require_colons:
        raise WantListError("Missing colon with REQUIRE-COLONS selected", number)
    if not settings.case_sensitive:
        line = line.upper()
    tokens = java_split(java_trim(line))
    user: str | None = None
    if tokens and tokens[0][0] == "(":
        user = tokens.pop(0).replace("#", " ")
    if not tokens:
        raise WantListError("Want list has no item", number)
    return WantEntry(line=number, user=user, item=tokens[0], wants=tuple(tokens[1:]))


def write_wantlist(wantlist: WantList) -> str:
    """Write ``wantlist`` back in the file format (canonical spacing)."""
    out: list[str] = []
    if wantlist.options:
        out.append("#! " + " ".join(wantlist.options))
    if wantlist.official_names is not None:
        out.append("!BEGIN-OFFICIAL-NAMES")
        out.extend(wantlist.official_names)
        out.append("!END-OFFICIAL-NAMES")
    for entry in wantlist.entries:
        head = f"{entry.user} {entry.item}" if entry.user is not None else entry.item
        body = " ".join(entry.wants)
        out.append(f"{head} : {body}".rstrip())
    return "\n".join(out) + "\n"


@dataclass(slots=True)
class TradeProblem:
    """A want list turned into an exchange graph (one agent per item)."""

    wantlist: WantList
    names: list[str]  # agent -> item name (dummies: "%X for user (U)")
    users: list[str | None]  # agent -> owner, None without usernames
    dummy: list[bool]
    graph: ExchangeGraph
    errors: list[str] = field(default_factory=list)
    missing_official: list[str] = field(default_factory=list)

    @property
    def real_items(self) -> int:
        return len(self.names) - sum(self.dummy)

    @property
    def has_usernames(self) -> bool:
        return any(u is not None for u in self.users)


def build_problem(wantlist: WantList) -> TradeProblem:
    """Apply TradeMaximizer's semantics to a parsed want list."""
    opts = wantlist.settings
    official = None if wantlist.official_names is None else set(wantlist.official_names)
    errors: list[str] = []
    index: dict[str, int] = {}
    names: list[str] = []
    users: list[str | None] = []
    dummy: list[bool] = []
    lists: list[tuple[int, WantEntry]] = []

    for entry in wantlist.entries:
        name = entry.item
        user = entry.user
        is_dummy = name[0] == "%"
        if is_dummy:
            if user is None:
                errors.append(f"**** Dummy item {name} declared without a username.")
            elif not opts.allow_dummies:
                errors.append(f"**** Dummy items not allowed. ({name})")
            else:
                name = f"{name} for user {user}"
        if official is not None and name not in official and name[0] != "%":
            errors.append(
                f"**** Cannot define want list for {name} because it is not an official"
                " name.  (Usually indicates a typo by the item owner.)"
            )
        elif name in index:
            errors.append(
                f"**** Item {name} has multiple want lists--ignoring all but first."
                "  (Sometimes the result of an accidental line break in the middle of a"
                " want list.)"
            )
        else:
            index[name] = len(names)
            names.append(name)
            users.append(user)
            dummy.append(is_dummy)
            lists.append((index[name], entry))

    owner_ids: dict[str | None, int] = {}
    if any(u is not None for u in users):
        agent_owner = [owner_ids.setdefault(u, len(owner_ids)) for u in users]
    else:
        agent_owner = list(range(len(names)))
    n = len(names)
    tg: list[int] = []
    tw: list[int] = []
    ranks: list[int] = []
    scheme = opts.priorities
    small, big = opts.small_step, opts.big_step
    unknowns: dict[str, int] = {}
    # The user an item counts as for the same-user check (dummies never do),
    # and the receiver whose want list last took the item (repeats). Lists
    # instead of per-list sets: this loop runs once per want, the hot spot of
    # reading a file.
    same_user = [None if d else u for u, d in zip(users, dummy, strict=True)]
    taken_by = [-1] * n
    for receiver, entry in lists:
        from_name = names[receiver]
        from_user = users[receiver]
        rank = 1
        for token in entry.wants:
            if token == _BIG_STEP:
                rank += big
                continue
            to_name = token
            if "=" in to_name:
                if scheme != "EXPLICIT":
                    errors.append(
                        f"**** Cannot use '=' annotation in item {to_name} in want list for"
                        f" item {from_name} unless using EXPLICIT_PRIORITIES."
                    )
                    continue
                if not _EXPLICIT.fullmatch(to_name):
                    errors.append(
                        f"**** Item {to_name} in want list for item {from_name} must have"
                        " the format 'name=number'."
                    )
                    continue
                to_name, _, number = to_name.partition("=")
                if int(number) < 1:
                    errors.append(
                        f"**** Explicit priority must be positive in item {token} in want"
                        f" list for item {from_name}."
                    )
                    continue
                rank = int(number)
            if to_name[0] == "%":
                if from_user is None:
                    errors.append(
                        f"**** Dummy item {to_name} used in want list for item {from_name},"
                        " which does not have a username."
                    )
                    continue
                to_name = f"{to_name} for user {from_user}"
            giver = index.get(to_name)
            if giver is None:
                if official is not None and to_name in official:
                    rank += small
                else:
                    unknowns[to_name] = unknowns.get(to_name, 0) + 1
                continue
            if giver == receiver:
                errors.append(f"**** Item {to_name} appears in its own want list.")
            elif taken_by[giver] == receiver:
                if opts.show_repeats:
                    errors.append(f"**** Item {to_name} is repeated in want list for {from_name}.")
            elif from_user is not None and same_user[giver] == from_user:
                errors.append(
                    f"**** Item {from_name} contains item {names[giver]} from the same user"
                    f" ({from_user})"
                )
            else:
                taken_by[giver] = receiver
                tg.append(giver)
                tw.append(receiver)
                ranks.append(rank)
                rank += small
    for item, count in unknowns.items():
        plural = "" if count == 1 else "s"
        errors.append(f"**** Unknown item {item} ({count} occurrence{plural})")

    graph = ExchangeGraph(
        agent_owner=agent_owner,
        agent_counts=[not d for d in dummy],
        give_agent=list(range(n)),
        give_capacity=[1] * n,
        want_agent=list(range(n)),
        want_capacity=[1] * n,
        transfer_give=tg,
        transfer_want=tw,
        transfer_cost=_priority_costs(scheme, ranks),
    )
    missing: list[str] = []
    if official is not None:
        missing = sorted(official - set(index))
    return TradeProblem(
        wantlist=wantlist,
        names=names,
        users=users,
        dummy=dummy,
        graph=graph,
        errors=errors,
        missing_official=missing,
    )


def _priority_costs(scheme: str, ranks: list[int]) -> list[int]:
    if scheme in ("LINEAR", "EXPLICIT"):
        return ranks
    if scheme == "TRIANGLE":
        return [r * (r + 1) // 2 for r in ranks]
    if scheme == "SQUARE":
        return [r * r for r in ranks]
    return [1] * len(ranks)
