"""Export of a Have or Want list as CSV, in the columns the import reads, so that an
export imports back to the same list."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from marketplace.catalogue.models import Pin
from marketplace.core.spreadsheet import write_rows
from marketplace.lists.models import Have, Want
from marketplace.lists.operations import HAVES, WANTS, ListKind, defect_slugs, list_kind


def export_rows(session: Session, user_id: int, kind: str | ListKind) -> list[list[str]]:
    kind = list_kind(kind)
    if kind is HAVES:
        haves = session.execute(
            select(Have, Pin.ref, Pin.title_en, Pin.legend)
            .join(Pin, Pin.id == Have.pin_id)
            .where(Have.user_id == user_id)
            .order_by(Pin.ref, Have.condition.desc(), Have.defects)
        ).all()
        rows = [list(HAVES.csv_fields)]
        for h, ref, title, legend in haves:
            rows.append([
                ref, title, legend or "", str(h.quantity), h.condition.label,
                "|".join(defect_slugs(h.defects)), "yes" if h.tradeable else "no",
                _money(h.price), h.currency or "", h.notes or "",
            ])  # fmt: skip
        return rows
    wants = session.execute(
        select(Want, Pin.ref, Pin.title_en, Pin.legend)
        .outerjoin(Pin, Pin.id == Want.pin_id)
        .where(Want.user_id == user_id)
        .order_by(func.coalesce(Pin.ref, Want.variant_group))
    ).all()
    rows = [list(WANTS.csv_fields)]
    for w, ref, title, legend in wants:
        rows.append([
            ref or w.variant_group or "", "yes" if w.variant_group else "no", title or "",
            legend or "", str(w.priority), w.min_condition.label if w.min_condition else "",
            _money(w.max_price), w.currency or "", w.notes or "",
        ])  # fmt: skip
    return rows


def _money(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


def export_csv(session: Session, user_id: int, kind: str | ListKind) -> str:
    """The list as CSV (UTF-8 with a BOM, which spreadsheets need to see Cyrillic)."""
    return "\ufeff" + write_rows(export_rows(session, user_id, kind))
