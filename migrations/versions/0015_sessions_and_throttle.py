"""server-side sessions, sign-in throttle

Revision ID: 0015_sessions_and_throttle
Revises: 0014_receiving_departments
Create Date: 2026-12-04 22:00:00

``user_sessions`` makes a session something the server can end: the cookie carries a
random token, the row its SM3 hash, and only a row not yet ended signs a request in.
``sign_in_windows`` counts password checks per client and fixed window, shared by every
web worker (an atomic upsert), for the per-client limit on sign-ins.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015_sessions_and_throttle'
down_revision = '0014_receiving_departments'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('user_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_agent', sa.String(length=200), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.String(length=30), nullable=True),
    sa.CheckConstraint('(ended_at IS NULL) = (end_reason IS NULL)', name=op.f('ck_user_sessions_ended_with_reason')),
    sa.CheckConstraint("end_reason IN ('signed_out', 'signed_out_everywhere', 'password_changed', "
                       "'password_reset', 'deactivated', 'idle')", name=op.f('ck_user_sessions_end_reason_known')),
    sa.CheckConstraint('last_seen_at >= started_at', name=op.f('ck_user_sessions_seen_after_start')),
    sa.CheckConstraint('ended_at IS NULL OR ended_at >= started_at', name=op.f('ck_user_sessions_ended_after_start')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_sessions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_user_sessions_token_hash'))
    )
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_sessions_user_id'), ['user_id'], unique=False)

    op.create_table('sign_in_windows',
    sa.Column('client', sa.String(length=64), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('refusal_audited', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_sign_in_windows_attempts_not_negative')),
    sa.PrimaryKeyConstraint('client', 'window_start', name=op.f('pk_sign_in_windows'))
    )
    with op.batch_alter_table('sign_in_windows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_windows_window_start'), ['window_start'], unique=False)


def downgrade():
    with op.batch_alter_table('sign_in_windows', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_in_windows_window_start'))
    op.drop_table('sign_in_windows')
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_sessions_user_id'))
    op.drop_table('user_sessions')
