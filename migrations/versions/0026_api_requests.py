"""the REST API's requests: idempotency keys, per-token rate windows, and the channel an
audited change came through (issue 17)

- ``api_idempotency_keys``: a POST's ``Idempotency-Key`` per token, with a hash of the
  request it came with and, once answered, the answer (status, body, headers), so a retry
  gets the same answer and creates nothing twice; unique per token and key.
- ``api_rate_windows``: how many calls a token made in a fixed window, counted by one
  atomic upsert so that the limit holds across web workers.
- ``audit_events.via`` and ``access_events.via``: ``api cf_…`` (the token's shown prefix)
  when the change or the view came through the API; null for the pages.

Revision ID: 0026_api_requests
Revises: 0025_api_tokens
Create Date: 2026-12-06 02:10:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0026_api_requests'
down_revision = '0025_api_tokens'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('api_idempotency_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('headers', sa.JSON(), nullable=True),
    sa.CheckConstraint('(status IS NULL) = (body IS NULL)', name=op.f('ck_api_idempotency_keys_answered_whole')),
    sa.ForeignKeyConstraint(['token_id'], ['api_tokens.id'],
                            name=op.f('fk_api_idempotency_keys_token_id_api_tokens')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_idempotency_keys')),
    sa.UniqueConstraint('token_id', 'key', name=op.f('uq_api_idempotency_keys_token_id_key'))
    )
    with op.batch_alter_table('api_idempotency_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_idempotency_keys_created_at'), ['created_at'], unique=False)
    op.create_table('api_rate_windows',
    sa.Column('token_id', sa.Integer(), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('calls', sa.Integer(), nullable=False),
    sa.CheckConstraint('calls >= 0', name=op.f('ck_api_rate_windows_calls_not_negative')),
    sa.ForeignKeyConstraint(['token_id'], ['api_tokens.id'],
                            name=op.f('fk_api_rate_windows_token_id_api_tokens')),
    sa.PrimaryKeyConstraint('token_id', 'window_start', name=op.f('pk_api_rate_windows'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('via', sa.String(length=40), nullable=True))
    with op.batch_alter_table('access_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('via', sa.String(length=40), nullable=True))


def downgrade():
    with op.batch_alter_table('access_events', schema=None) as batch_op:
        batch_op.drop_column('via')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('via')
    op.drop_table('api_rate_windows')
    with op.batch_alter_table('api_idempotency_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_idempotency_keys_created_at'))
    op.drop_table('api_idempotency_keys')
