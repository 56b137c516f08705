"""trust between collectors: messages, blocks, reports, feedback, reputation

Threads (per trade, per order, direct between two collectors) with their members'
read marks and messages; blocks between members; reports and the moderators'
decisions; feedback per completed trade or delivered order; each member's
reputation counts (filled from the trades and orders already finished); a
suspension on the member; a match's reputation term; and which trade party
posts first.

Revision ID: 0012trust
Revises: 0011mailnextattempt
Create Date: 2026-12-06 08:11:56.107432
"""

from alembic import op
import sqlalchemy as sa
import marketplace.core.models


revision = '0012trust'
down_revision = '0011mailnextattempt'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('blocks',
    sa.Column('blocker_id', sa.Integer(), nullable=False),
    sa.Column('blocked_id', sa.Integer(), nullable=False),
    sa.Column('created_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('blocker_id <> blocked_id', name=op.f('ck_blocks_not_self')),
    sa.ForeignKeyConstraint(['blocked_id'], ['users.id'], name=op.f('fk_blocks_blocked_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['blocker_id'], ['users.id'], name=op.f('fk_blocks_blocker_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('blocker_id', 'blocked_id', name=op.f('pk_blocks'))
    )
    with op.batch_alter_table('blocks', schema=None) as batch_op:
        batch_op.create_index('ix_blocks_blocked_id', ['blocked_id'], unique=False)

    op.create_table('reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reporter_id', sa.Integer(), nullable=True),
    sa.Column('target_kind', sa.String(length=8), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('target_user_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=12), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=9), nullable=False),
    sa.Column('created_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('resolution_note', sa.Text(), nullable=False),
    sa.CheckConstraint("reason IN ('spam', 'abuse', 'fraud', 'counterfeit', 'other')", name=op.f('ck_reports_reason')),
    sa.CheckConstraint("status IN ('open', 'dismissed', 'warned', 'hidden', 'suspended')", name=op.f('ck_reports_status')),
    sa.CheckConstraint("target_kind IN ('message', 'profile', 'listing', 'feedback')", name=op.f('ck_reports_target_kind')),
    sa.ForeignKeyConstraint(['reporter_id'], ['users.id'], name=op.f('fk_reports_reporter_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_reports_resolved_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['target_user_id'], ['users.id'], name=op.f('fk_reports_target_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reports'))
    )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index('ix_reports_status_created_at', ['status', 'created_at'], unique=False)
        batch_op.create_index('ix_reports_target', ['target_kind', 'target_id'], unique=False)

    op.create_table('reputations',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('completed_trades', sa.Integer(), server_default='0', nullable=False),
    sa.Column('delivered_orders', sa.Integer(), server_default='0', nullable=False),
    sa.Column('positive', sa.Integer(), server_default='0', nullable=False),
    sa.Column('neutral', sa.Integer(), server_default='0', nullable=False),
    sa.Column('negative', sa.Integer(), server_default='0', nullable=False),
    sa.Column('updated_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('completed_trades >= 0 AND delivered_orders >= 0 AND positive >= 0 AND neutral >= 0 AND negative >= 0', name=op.f('ck_reputations_counts')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_reputations_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_reputations'))
    )
    op.create_table('feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trade_id', sa.Integer(), nullable=True),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('rater_id', sa.Integer(), nullable=False),
    sa.Column('rated_id', sa.Integer(), nullable=False),
    sa.Column('rating', sa.String(length=8), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('created_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reply', sa.Text(), nullable=True),
    sa.Column('replied_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('hidden_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("rating IN ('positive', 'neutral', 'negative')", name=op.f('ck_feedback_rating')),
    sa.CheckConstraint('(trade_id IS NULL) <> (order_id IS NULL)', name=op.f('ck_feedback_one_subject')),
    sa.CheckConstraint('rater_id <> rated_id', name=op.f('ck_feedback_not_self')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_feedback_order_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['rated_id'], ['users.id'], name=op.f('fk_feedback_rated_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['rater_id'], ['users.id'], name=op.f('fk_feedback_rater_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['trade_id'], ['trades.id'], name=op.f('fk_feedback_trade_id_trades'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback')),
    sa.UniqueConstraint('order_id', 'rater_id', 'rated_id', name=op.f('uq_feedback_order_id_rater_id_rated_id')),
    sa.UniqueConstraint('trade_id', 'rater_id', 'rated_id', name=op.f('uq_feedback_trade_id_rater_id_rated_id'))
    )
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.create_index('ix_feedback_rated_id_created_at', ['rated_id', 'created_at'], unique=False)

    op.create_table('message_threads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=6), nullable=False),
    sa.Column('trade_id', sa.Integer(), nullable=True),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('pair_key', sa.String(length=40), nullable=True),
    sa.Column('created_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_message_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("(kind = 'trade' AND trade_id IS NOT NULL AND order_id IS NULL AND pair_key IS NULL) OR (kind = 'order' AND order_id IS NOT NULL AND trade_id IS NULL AND pair_key IS NULL) OR (kind = 'direct' AND pair_key IS NOT NULL AND trade_id IS NULL AND order_id IS NULL)", name=op.f('ck_message_threads_subject')),
    sa.CheckConstraint("kind IN ('trade', 'order', 'direct')", name=op.f('ck_message_threads_kind')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_message_threads_order_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['trade_id'], ['trades.id'], name=op.f('fk_message_threads_trade_id_trades'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_threads')),
    sa.UniqueConstraint('order_id', name=op.f('uq_message_threads_order_id')),
    sa.UniqueConstraint('pair_key', name=op.f('uq_message_threads_pair_key')),
    sa.UniqueConstraint('trade_id', name=op.f('uq_message_threads_trade_id'))
    )
    op.create_table('message_thread_members',
    sa.Column('thread_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('last_read_id', sa.Integer(), server_default='0', nullable=False),
    sa.Column('joined_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['thread_id'], ['message_threads.id'], name=op.f('fk_message_thread_members_thread_id_message_threads'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_message_thread_members_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('thread_id', 'user_id', name=op.f('pk_message_thread_members'))
    )
    with op.batch_alter_table('message_thread_members', schema=None) as batch_op:
        batch_op.create_index('ix_message_thread_members_user_id', ['user_id', 'thread_id'], unique=False)

    op.create_table('messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('thread_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('hidden_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('length(body) > 0', name=op.f('ck_messages_body')),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_messages_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['thread_id'], ['message_threads.id'], name=op.f('fk_messages_thread_id_message_threads'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages'))
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_messages_thread_id_id', ['thread_id', 'id'], unique=False)

    with op.batch_alter_table('matches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reputation', sa.Float(), nullable=True))

    with op.batch_alter_table('trade_parties', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ships_first', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('suspended_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('suspension_reason', sa.Text(), nullable=True))

    _fill_reputations()


def _fill_reputations() -> None:
    """Members who already completed trades or delivered orders start with them counted."""
    op.execute(
        """
        INSERT INTO reputations
            (user_id, completed_trades, delivered_orders, positive, neutral, negative, updated_at)
        SELECT u.id,
               (SELECT count(*) FROM trade_parties tp JOIN trades t ON t.id = tp.trade_id
                 WHERE tp.user_id = u.id AND t.status = 'completed'),
               (SELECT count(*) FROM orders o
                 WHERE o.status = 'delivered' AND (o.buyer_id = u.id OR o.seller_id = u.id)),
               0, 0, 0, u.created_at
          FROM users u
         WHERE EXISTS (SELECT 1 FROM trade_parties tp JOIN trades t ON t.id = tp.trade_id
                        WHERE tp.user_id = u.id AND t.status = 'completed')
            OR EXISTS (SELECT 1 FROM orders o
                        WHERE o.status = 'delivered' AND (o.buyer_id = u.id OR o.seller_id = u.id))
        """
    )


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('suspension_reason')
        batch_op.drop_column('suspended_at')

    with op.batch_alter_table('trade_parties', schema=None) as batch_op:
        batch_op.drop_column('ships_first')

    with op.batch_alter_table('matches', schema=None) as batch_op:
        batch_op.drop_column('reputation')

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_thread_id_id')

    op.drop_table('messages')
    with op.batch_alter_table('message_thread_members', schema=None) as batch_op:
        batch_op.drop_index('ix_message_thread_members_user_id')

    op.drop_table('message_thread_members')
    op.drop_table('message_threads')
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_index('ix_feedback_rated_id_created_at')

    op.drop_table('feedback')
    op.drop_table('reputations')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index('ix_reports_target')
        batch_op.drop_index('ix_reports_status_created_at')

    op.drop_table('reports')
    with op.batch_alter_table('blocks', schema=None) as batch_op:
        batch_op.drop_index('ix_blocks_blocked_id')

    op.drop_table('blocks')
