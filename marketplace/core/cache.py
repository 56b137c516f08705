"""The shared cache and the versions that invalidate it.

`cache` (Flask-Caching) is Redis when `REDIS_URL` is set, so every web process
shares one cache, and a per-process SimpleCache otherwise (`make run`).

What is cached is keyed by a *version* of what it was computed from
(`version("catalogue")`), or, for a page (`shared_page`), kept with it, and a
change bumps that version after its commit (`watch_tables`, `watch_rows`): one
write invalidates every entry of the kind, and entries of an old version are
never served again and age out. Versions are random tokens, so a version lost
from the cache (evicted, Redis restarted) only means everything is computed
afresh. Without Redis, versions live in a small file
store under the instance folder, so a change the command line commits (an
import, a reindex) reaches the web process too. A deploy changes the keys as
well (`code_token`), so no page rendered by older templates is served.

The cache is a help, never a dependency: if it cannot be reached, pages are
computed as if nothing were cached.
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from cachelib import FileSystemCache
from flask import Flask, Response, current_app, has_app_context, request, session
from flask_babel import get_locale
from flask_login import current_user
from redis.exceptions import RedisError
from sqlalchemy import Delete, Insert, TextClause, Update, event, inspect
from sqlalchemy.orm import ORMExecuteState, Session

from marketplace.core.extensions import cache

log = logging.getLogger(__name__)
T = TypeVar("T")

# A cache that cannot be reached: pages are computed as if nothing were cached.
UNREACHABLE = (RedisError, OSError)
DEFAULT_TIMEOUT = 3600  # entries are keyed by version; the timeout only frees memory
_WRITE = re.compile(r"^\s*(?:insert\s+(?:or\s+\w+\s+)?into|update|delete\s+from)\s+\"?(\w+)", re.I)
_WATCHED: dict[str, frozenset[str]] = {}
_ROWS: dict[str, tuple[dict[str, str], frozenset[str]]] = {}


def init_cache(app: Flask, redis_url: str | None, root: Path) -> None:
    if redis_url:
        app.config.setdefault("CACHE_TYPE", "RedisCache")
        app.config.setdefault("CACHE_REDIS_URL", redis_url)
    else:
        app.config.setdefault("CACHE_TYPE", "SimpleCache")
        app.extensions["cache_versions"] = FileSystemCache(
            str(Path(app.instance_path) / "cache-versions"), threshold=0, default_timeout=0
        )
    app.config.setdefault("CACHE_DEFAULT_TIMEOUT", DEFAULT_TIMEOUT)
    app.config.setdefault("CACHE_KEY_PREFIX", "znachki:")
    app.extensions["cache_code_token"] = code_token(root)
    cache.init_app(app)


def code_token(root: Path) -> str:
    """Changes whenever the code or a template does (a deploy)."""
    digest = hashlib.sha1(usedforsecurity=False)
    for folder, pattern in (("marketplace", "*.py"), ("templates", "*")):
        for path in sorted((root / folder).rglob(pattern)):
            stat = path.stat()
            digest.update(f"{path.relative_to(root)}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()[:12]


def _versions() -> Any:
    return current_app.extensions.get("cache_versions") or cache.cache


def version(name: str) -> str | None:
    """The current version of `name`; None if the cache cannot be reached."""
    token = _token(name)
    return f"{current_app.extensions['cache_code_token']}.{token}" if token else None


def _token(name: str) -> str | None:
    key = f"version:{name}"
    try:
        store = _versions()
        token = store.get(key)
        if token is None:
            store.add(key, uuid.uuid4().hex, timeout=0)  # only if still absent
            token = store.get(key)
    except UNREACHABLE:
        log.warning("cache unreachable", exc_info=True)
        return None
    return str(token) if token else None


def bump(name: str) -> None:
    try:
        _versions().set(f"version:{name}", uuid.uuid4().hex, timeout=0)
    except UNREACHABLE:
        # Entries of the old version would be served: say so loudly.
        log.error("could not invalidate cached %s", name, exc_info=True)


def versioned(name: str, *parts: object) -> str | None:
    """A key under the current version of `name`; None (cache nothing) when
    the version cannot be known."""
    token = version(name)
    return None if token is None else ":".join((name, token, *map(str, parts)))


def remembered(key: str | None, compute: Callable[[], T], timeout: int | None = None) -> T:
    """`compute()`, through the cache under `key` (from `versioned`); a None
    key computes it afresh."""
    if key is None:
        return compute()
    try:
        found = cache.get(key)
    except UNREACHABLE:
        log.warning("cache unreachable", exc_info=True)
        return compute()
    if found is not None:
        return found
    value = compute()
    try:
        cache.set(key, value, timeout=timeout)
    except UNREACHABLE:
        log.warning("cache unreachable", exc_info=True)
    return value


def watch_tables(name: str, tables: Iterable[str]) -> None:
    """Bump version `name` after every commit that wrote to one of `tables`:
    through the ORM, an `insert`/`update`/`delete` statement or plain SQL."""
    _WATCHED[name] = frozenset(tables)
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "do_orm_execute", _on_execute)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_rollback)


def watch_rows(name: str, columns: Mapping[str, str], deletes: Iterable[str] = ()) -> None:
    """Bump version `name:<value>` after every commit that wrote a row of a
    table in `columns` whose column held that value (before or after), and
    `name` itself for a write it cannot pin down: a statement over many rows,
    plain SQL, a row without a value, a delete from a table in `deletes`
    (whose rows the database deletes in cascade). Whatever is cached under
    one value depends on both versions."""
    _ROWS[name] = (dict(columns), frozenset(deletes))
    watch_tables(name, ())


def _mark_row(session: Session, obj: Any, table: str, deleted: bool) -> None:
    for name, (columns, deletes) in _ROWS.items():
        column = columns.get(table)
        if column is None:
            if deleted and table in deletes:
                _mark_name(session, name)
            continue
        history = inspect(obj).attrs[column].history
        values = {*history.added, *history.deleted, *history.unchanged}
        for value in values or {None}:
            _mark_name(session, name if value is None else f"{name}:{value}")


def pending(session: Session, name: str) -> bool:
    """Whether `session` has flushed writes that will bump version `name` when
    it commits: what is kept under the current version does not hold them."""
    return name in session.info.get("bump_versions", ())


def _mark_name(session: Session, name: str) -> None:
    session.info.setdefault("bump_versions", set()).add(name)


def _mark(session: Session, table: str) -> None:
    for name, tables in _WATCHED.items():
        if table in tables:
            _mark_name(session, name)
    for name, (columns, _deletes) in _ROWS.items():
        if table in columns:
            _mark_name(session, name)


def _after_flush(session: Session, _context: Any) -> None:
    deleted = set(map(id, session.deleted))
    for obj in (*session.new, *session.dirty, *session.deleted):
        table = getattr(obj, "__tablename__", None)
        if table:
            for name, tables in _WATCHED.items():
                if table in tables:
                    _mark_name(session, name)
            _mark_row(session, obj, table, id(obj) in deleted)


def _on_execute(state: ORMExecuteState) -> None:
    statement = state.statement
    if isinstance(statement, Insert | Update | Delete):
        _mark(session=state.session, table=getattr(statement.table, "name", ""))
    elif isinstance(statement, TextClause):
        found = _WRITE.match(statement.text)
        if found:
            _mark(state.session, found[1].lower())


def _after_commit(session: Session) -> None:
    names = session.info.pop("bump_versions", None)
    if names and has_app_context():
        for name in names:
            bump(name)


def _after_rollback(session: Session, previous: Any) -> None:
    # Only the whole transaction's rollback undoes every marked write; a
    # savepoint's leaves those before it (an extra bump costs only a recompute).
    if previous.parent is None:
        session.info.pop("bump_versions", None)


def shared_page(
    names: Sequence[str], parts: Iterable[object], render: Callable[[], str]
) -> Response:
    """A page that is the same for every visitor who is not signed in, kept
    with the versions of `names` it was rendered at (`parts` tell pages apart),
    served with an ETag, so that a browser or a shared cache asks again each
    time and gets a 304 when nothing changed. Anyone signed in (or sending a
    token), or with a message waiting to be flashed, gets the page rendered
    for them, and the security headers keep it out of shared caches
    (`Cache-Control: no-store`)."""
    personal = (
        current_user.is_authenticated
        or "Authorization" in request.headers
        or "_flashes" in session
        or request.method not in ("GET", "HEAD")
    )
    if personal:
        return Response(render(), mimetype="text/html")
    # Visitors differ only in the language they read (their switch or browser).
    key = ":".join(("page", names[0], str(get_locale()), *map(str, parts)))
    token, stored = _versions_and(names, key)
    if token is None:
        return Response(render(), mimetype="text/html")
    if stored is not None and stored[0] == token:
        html, etag = stored[1], stored[2]
    else:
        html = render()
        etag = hashlib.sha1(html.encode(), usedforsecurity=False).hexdigest()[:24]
        try:
            cache.set(key, (token, html, etag))
        except UNREACHABLE:
            log.warning("cache unreachable", exc_info=True)
    response = Response(html, mimetype="text/html")
    response.set_etag(etag)
    # Anyone may keep it, but must ask again before showing it (a 304 when the
    # ETag still matches); the answer differs for a signed-in member's cookie.
    response.headers["Cache-Control"] = "public, no-cache"
    response.vary.add("Cookie")
    response.vary.add("Accept-Language")
    response.make_conditional(request)  # a 304 when If-None-Match matches
    return response


def _versions_and(names: Sequence[str], key: str) -> tuple[str | None, Any]:
    """The current versions of `names`, as one token, and what is cached under
    `key`, in one round trip to Redis (a page is read on every visit)."""
    keys = [f"version:{name}" for name in names]
    try:
        versions = current_app.extensions.get("cache_versions")
        if versions is None:
            *tokens, stored = cache.get_many(*keys, key)
        else:
            tokens, stored = [versions.get(k) for k in keys], cache.get(key)
    except UNREACHABLE:
        log.warning("cache unreachable", exc_info=True)
        return None, None
    for i, token in enumerate(tokens):
        if token is None:
            tokens[i] = _token(names[i])
            if tokens[i] is None:
                return None, None
            stored = None
    return ".".join([current_app.extensions["cache_code_token"], *tokens]), stored
