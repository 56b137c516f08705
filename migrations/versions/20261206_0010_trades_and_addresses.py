"""trades and addresses: carrying a match out

Collectors keep postal addresses (one the default); a trade (a swap two collectors
negotiate, or a ring the solve found) has parties, numbered versions of its terms
with the copies each gives, the parcels under way and its history. Orders keep the
buyer's address as given at checkout.

Revision ID: 0010trades
Revises: 0009matchitems
Create Date: 2026-12-06 05:17:45.402537
"""

from alembic import op
import sqlalchemy as sa
import marketplace.core.models
import marketplace.lists.models


revision = '0010trades'
down_revision = '0009matchitems'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('addresses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('line1', sa.String(length=200), nullable=False),
    sa.Column('line2', sa.String(length=200), nullable=False),
    sa.Column('city', sa.String(length=100), nullable=False),
    sa.Column('region', sa.String(length=100), nullable=False),
    sa.Column('postal_code', sa.String(length=20), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('created_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('length(country) = 2', name=op.f('ck_addresses_country')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_addresses_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_addresses'))
    )
    with op.batch_alter_table('addresses', schema=None) as batch_op:
        batch_op.create_index('ix_addresses_user_id_is_default', ['user_id', 'is_default'], unique=False)

    op.create_table('trades',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=5), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('proposer_id', sa.Integer(), nullable=True),
    sa.Column('ring_proposal_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('close_reason', sa.Text(), nullable=True),
    sa.Column('created_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('completed_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('disputed_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('swap', 'ring')", name=op.f('ck_trades_kind')),
    sa.CheckConstraint("status IN ('proposed', 'accepted', 'completed', 'declined', 'cancelled', 'expired', 'disputed')", name=op.f('ck_trades_status')),
    sa.CheckConstraint('version >= 1', name=op.f('ck_trades_version')),
    sa.ForeignKeyConstraint(['proposer_id'], ['users.id'], name=op.f('fk_trades_proposer_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ring_proposal_id'], ['trade_proposals.id'], name=op.f('fk_trades_ring_proposal_id_trade_proposals'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trades')),
    sa.UniqueConstraint('ring_proposal_id', name=op.f('uq_trades_ring_proposal_id'))
    )
    with op.batch_alter_table('trades', schema=None) as batch_op:
        batch_op.create_index('ix_trades_status_expires_at', ['status', 'expires_at'], unique=False)

    op.create_table('trade_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trade_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('created_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("action IN ('proposed', 'countered', 'accepted', 'declined', 'cancelled', 'expired', 'shipped', 'received', 'disputed', 'completed', 'refused', 'reminded')", name=op.f('ck_trade_events_action')),
    sa.ForeignKeyConstraint(['trade_id'], ['trades.id'], name=op.f('fk_trade_events_trade_id_trades'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_trade_events_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trade_events'))
    )
    with op.batch_alter_table('trade_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trade_events_trade_id'), ['trade_id'], unique=False)

    op.create_table('trade_parcels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trade_id', sa.Integer(), nullable=False),
    sa.Column('giver_id', sa.Integer(), nullable=False),
    sa.Column('receiver_id', sa.Integer(), nullable=False),
    sa.Column('tracking', sa.String(length=100), nullable=True),
    sa.Column('shipped_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('received_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reminded_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['giver_id'], ['users.id'], name=op.f('fk_trade_parcels_giver_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['receiver_id'], ['users.id'], name=op.f('fk_trade_parcels_receiver_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['trade_id'], ['trades.id'], name=op.f('fk_trade_parcels_trade_id_trades'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trade_parcels')),
    sa.UniqueConstraint('trade_id', 'giver_id', 'receiver_id', name=op.f('uq_trade_parcels_trade_id_giver_id_receiver_id'))
    )
    with op.batch_alter_table('trade_parcels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trade_parcels_giver_id'), ['giver_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_trade_parcels_receiver_id'), ['receiver_id'], unique=False)

    op.create_table('trade_parties',
    sa.Column('trade_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('accepted_version', sa.Integer(), nullable=True),
    sa.Column('accepted_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ship_to', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['trade_id'], ['trades.id'], name=op.f('fk_trade_parties_trade_id_trades'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_trade_parties_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('trade_id', 'user_id', name=op.f('pk_trade_parties'))
    )
    with op.batch_alter_table('trade_parties', schema=None) as batch_op:
        batch_op.create_index('ix_trade_parties_user_id_trade_id', ['user_id', 'trade_id'], unique=False)

    op.create_table('trade_versions',
    sa.Column('trade_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', marketplace.core.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_trade_versions_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['trade_id'], ['trades.id'], name=op.f('fk_trade_versions_trade_id_trades'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('trade_id', 'number', name=op.f('pk_trade_versions'))
    )
    op.create_table('trade_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trade_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('giver_id', sa.Integer(), nullable=False),
    sa.Column('receiver_id', sa.Integer(), nullable=False),
    sa.Column('have_id', sa.Integer(), nullable=True),
    sa.Column('want_id', sa.Integer(), nullable=True),
    sa.Column('pin_id', sa.Integer(), nullable=False),
    sa.Column('condition', marketplace.lists.models.ConditionType(), nullable=False),
    sa.Column('defects', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('reserved', sa.Boolean(), nullable=False),
    sa.CheckConstraint('NOT reserved OR have_id IS NOT NULL', name=op.f('ck_trade_items_reserved')),
    sa.CheckConstraint('giver_id <> receiver_id', name=op.f('ck_trade_items_distinct_parties')),
    sa.CheckConstraint('quantity >= 1', name=op.f('ck_trade_items_quantity')),
    sa.ForeignKeyConstraint(['giver_id'], ['users.id'], name=op.f('fk_trade_items_giver_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['have_id'], ['haves.id'], name=op.f('fk_trade_items_have_id_haves'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['pin_id'], ['pins.id'], name=op.f('fk_trade_items_pin_id_pins'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['receiver_id'], ['users.id'], name=op.f('fk_trade_items_receiver_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['trade_id', 'version'], ['trade_versions.trade_id', 'trade_versions.number'], name=op.f('fk_trade_items_trade_id_trade_versions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['trade_id'], ['trades.id'], name=op.f('fk_trade_items_trade_id_trades'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['want_id'], ['wants.id'], name=op.f('fk_trade_items_want_id_wants'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trade_items'))
    )
    with op.batch_alter_table('trade_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trade_items_have_id'), ['have_id'], unique=False)
        batch_op.create_index('ix_trade_items_trade_id_version', ['trade_id', 'version'], unique=False)

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ship_to', sa.JSON(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('ship_to')

    with op.batch_alter_table('trade_items', schema=None) as batch_op:
        batch_op.drop_index('ix_trade_items_trade_id_version')
        batch_op.drop_index(batch_op.f('ix_trade_items_have_id'))

    op.drop_table('trade_items')
    op.drop_table('trade_versions')
    with op.batch_alter_table('trade_parties', schema=None) as batch_op:
        batch_op.drop_index('ix_trade_parties_user_id_trade_id')

    op.drop_table('trade_parties')
    with op.batch_alter_table('trade_parcels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trade_parcels_receiver_id'))
        batch_op.drop_index(batch_op.f('ix_trade_parcels_giver_id'))

    op.drop_table('trade_parcels')
    with op.batch_alter_table('trade_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trade_events_trade_id'))

    op.drop_table('trade_events')
    with op.batch_alter_table('trades', schema=None) as batch_op:
        batch_op.drop_index('ix_trades_status_expires_at')

    op.drop_table('trades')
    with op.batch_alter_table('addresses', schema=None) as batch_op:
        batch_op.drop_index('ix_addresses_user_id_is_default')

    op.drop_table('addresses')
