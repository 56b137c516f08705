"""mail: when each queued message's next attempt is due

A queued message whose delivery task the broker lost (Redis restarted without
persistence, a task dropped with its worker) stayed queued for ever. Each message
now records when its next attempt is due; a sweep queues again any still waiting
long after that. Messages already queued are due now.

Revision ID: 0011mailnextattempt
Revises: 0010trades
Create Date: 2026-12-06 05:45:34.442904
"""

from alembic import op
import sqlalchemy as sa
import marketplace.core.models


revision = '0011mailnextattempt'
down_revision = '0010trades'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('mail_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_attempt_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_mail_messages_status_next_attempt_at', ['status', 'next_attempt_at'], unique=False)
    op.execute("UPDATE mail_messages SET next_attempt_at = created_at WHERE status = 'queued'")


def downgrade() -> None:
    with op.batch_alter_table('mail_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_mail_messages_status_next_attempt_at')
        batch_op.drop_column('next_attempt_at')
