"""Pins and themes as the list tests write them: a pin by catalogue number,
straight into the table (see `PinFactory`), and a theme found or created by path."""

from __future__ import annotations

from typing import Any

from marketplace.accounts.models import User
from marketplace.catalogue.models import Pin, Theme
from marketplace.core.extensions import db
from marketplace.lists.models import ListImport
from tests.support.factories import PinFactory, ThemeFactory


def make_pin(ref: str, title: str = "", legend: str | None = None, **extra: Any) -> Pin:
    """Pin `ref`, titled "Pin <ref>" unless given a title; its variant group is
    the ref up to the first hyphen ("A-1" and "A-2" are variants of "A") unless
    `variant_group` is given. `extra` are Pin columns, `themes` Theme rows."""
    extra.setdefault("variant_group", ref.split("-")[0])
    pin: Pin = PinFactory(ref=ref, title_en=title or f"Pin {ref}", legend=legend, **extra)
    return pin


def theme(path: str) -> Theme:
    found: Theme = ThemeFactory(path=path)
    return found


def queued_import(user: User, content: str = "ref\nZN-0041\n") -> ListImport:
    """A one-row Haves import waiting for the worker, as an upload leaves it."""
    upload = ListImport(
        user_id=user.id, kind="haves", status="queued", filename="haves.csv",
        encoding="utf-8", delimiter=",", content=content, total_rows=1,
    )  # fmt: skip
    db.session.add(upload)
    return upload
