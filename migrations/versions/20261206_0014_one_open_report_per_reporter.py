"""reports: one open report of an item per member

The reporting service already returned a member's open report of an item instead
of filing a second, but two clicks at the same instant could both pass that
check. A partial unique index on (reporter_id, target_kind, target_id) over open
reports makes it a rule of the table; answered reports stay outside it, so a
member may report an item again after a moderator has answered.

Duplicates filed before this rule are answered first: the earliest open report
of each (member, item) stays open, each later one is dismissed with a note
naming it, so no report is lost and the queue shows each item once per member.

Revision ID: 0014openreports
Revises: 0013titles
Create Date: 2026-12-06 15:00:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0014openreports'
down_revision = '0013titles'
branch_labels = None
depends_on = None

OPEN = sa.text("status = 'open'")


def upgrade() -> None:
    reports = sa.table(
        'reports',
        sa.column('id', sa.Integer), sa.column('reporter_id', sa.Integer),
        sa.column('target_kind', sa.String), sa.column('target_id', sa.Integer),
        sa.column('status', sa.String), sa.column('resolution_note', sa.Text),
    )
    conn = op.get_bind()
    first: dict[tuple[int, str, int], int] = {}
    later: list[tuple[int, int]] = []
    rows = conn.execute(
        sa.select(reports.c.id, reports.c.reporter_id, reports.c.target_kind, reports.c.target_id)
        .where(reports.c.status == 'open', reports.c.reporter_id.is_not(None))
        .order_by(reports.c.id)
    )
    for report_id, reporter_id, kind, target_id in rows:
        kept = first.setdefault((reporter_id, kind, target_id), report_id)
        if kept != report_id:
            later.append((report_id, kept))
    for report_id, kept in later:
        conn.execute(
            reports.update()
            .where(reports.c.id == report_id)
            .values(status='dismissed', resolution_note=f'Filed again while report {kept} was open.')
        )
    op.create_index(
        'uq_reports_open_per_reporter', 'reports', ['reporter_id', 'target_kind', 'target_id'],
        unique=True, postgresql_where=OPEN, sqlite_where=OPEN,
    )


def downgrade() -> None:
    op.drop_index('uq_reports_open_per_reporter', table_name='reports')
