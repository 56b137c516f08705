"""orders: sellers' payment accounts, orders, received Stripe events, and the
count of reserved copies on each Have

Revision ID: 0006orders
Revises: 0005notifications
Create Date: 2026-11-22 08:56:26.274649
"""

from alembic import op
import sqlalchemy as sa
import marketplace.core.models


revision = '0006orders'
down_revision = '0005notifications'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('stripe_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.String(length=255), nullable=False),
    sa.Column('type', sa.String(length=100), nullable=False),
    sa.Column('object_id', sa.String(length=255), nullable=True),
    sa.Column('livemode', sa.Boolean(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('received_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('processed_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=100), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stripe_events')),
    sa.UniqueConstraint('event_id', name=op.f('uq_stripe_events_event_id'))
    )
    with op.batch_alter_table('stripe_events', schema=None) as batch_op:
        batch_op.create_index('ix_stripe_events_processed_at_id', ['processed_at', 'id'], unique=False)

    op.create_table('seller_accounts',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('stripe_account_id', sa.String(length=255), nullable=False),
    sa.Column('charges_enabled', sa.Boolean(), nullable=False),
    sa.Column('payouts_enabled', sa.Boolean(), nullable=False),
    sa.Column('details_submitted', sa.Boolean(), nullable=False),
    sa.Column('created_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_seller_accounts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_seller_accounts')),
    sa.UniqueConstraint('stripe_account_id', name=op.f('uq_seller_accounts_stripe_account_id'))
    )
    op.create_table('orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('buyer_id', sa.Integer(), nullable=True),
    sa.Column('seller_id', sa.Integer(), nullable=True),
    sa.Column('have_id', sa.Integer(), nullable=True),
    sa.Column('pin_id', sa.Integer(), nullable=True),
    sa.Column('condition', marketplace.lists.models.ConditionType(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('platform_fee', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('holds_reservation', sa.Boolean(), nullable=False),
    sa.Column('reserved_until', marketplace.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('checkout_session_id', sa.String(length=255), nullable=True),
    sa.Column('checkout_url', sa.Text(), nullable=True),
    sa.Column('payment_intent_id', sa.String(length=255), nullable=True),
    sa.Column('stripe_account_id', sa.String(length=255), nullable=False),
    sa.Column('tracking_number', sa.String(length=100), nullable=True),
    sa.Column('refund_id', sa.String(length=255), nullable=True),
    sa.Column('refunded_amount', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('paid_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('shipped_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('refunded_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('disputed_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("NOT holds_reservation OR status = 'pending'", name=op.f('ck_orders_reservation')),
    sa.CheckConstraint("status IN ('pending', 'paid', 'shipped', 'delivered', 'expired', 'refunded', 'cancelled')", name=op.f('ck_orders_status')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_orders_amount')),
    sa.CheckConstraint('platform_fee >= 0 AND platform_fee <= amount', name=op.f('ck_orders_platform_fee')),
    sa.CheckConstraint('quantity = 1', name=op.f('ck_orders_quantity')),
    sa.CheckConstraint('refunded_amount >= 0 AND refunded_amount <= amount', name=op.f('ck_orders_refunded')),
    sa.ForeignKeyConstraint(['buyer_id'], ['users.id'], name=op.f('fk_orders_buyer_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['have_id'], ['haves.id'], name=op.f('fk_orders_have_id_haves'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['pin_id'], ['pins.id'], name=op.f('fk_orders_pin_id_pins'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['seller_id'], ['users.id'], name=op.f('fk_orders_seller_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders')),
    sa.UniqueConstraint('checkout_session_id', name=op.f('uq_orders_checkout_session_id'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_buyer_id_id', ['buyer_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_have_id'), ['have_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_payment_intent_id'), ['payment_intent_id'], unique=False)
        batch_op.create_index('ix_orders_pin_id_status_paid_at', ['pin_id', 'status', 'paid_at'], unique=False)
        batch_op.create_index('ix_orders_seller_id_id', ['seller_id', 'id'], unique=False)
        batch_op.create_index('ix_orders_status_reserved_until', ['status', 'reserved_until'], unique=False)

    # Batch mode would rebuild `haves` on SQLite, and dropping the old table with
    # foreign keys on cascades into have_photos and every other child row. SQLite
    # can add a column with its own CHECK in place, so it gets exactly that.
    check = 'reserved >= 0 AND reserved <= quantity'
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(
            "ALTER TABLE haves ADD COLUMN reserved INTEGER DEFAULT '0' NOT NULL "
            f'CONSTRAINT ck_haves_reserved CHECK ({check})'
        )
    else:
        op.add_column('haves', sa.Column('reserved', sa.Integer(), server_default='0', nullable=False))
        op.create_check_constraint('reserved', 'haves', check)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE haves DROP COLUMN reserved')
    else:
        op.drop_constraint('ck_haves_reserved', 'haves', type_='check')
        op.drop_column('haves', 'reserved')

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_status_reserved_until')
        batch_op.drop_index('ix_orders_seller_id_id')
        batch_op.drop_index('ix_orders_pin_id_status_paid_at')
        batch_op.drop_index(batch_op.f('ix_orders_payment_intent_id'))
        batch_op.drop_index(batch_op.f('ix_orders_have_id'))
        batch_op.drop_index('ix_orders_buyer_id_id')

    op.drop_table('orders')
    op.drop_table('seller_accounts')
    with op.batch_alter_table('stripe_events', schema=None) as batch_op:
        batch_op.drop_index('ix_stripe_events_processed_at_id')

    op.drop_table('stripe_events')
