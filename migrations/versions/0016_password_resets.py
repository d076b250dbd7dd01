"""one-time password resets

Revision ID: 0016_password_resets
Revises: 0015_sessions_and_throttle
Create Date: 2026-12-04 22:00:00
"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '0016_password_resets'
down_revision = '0015_sessions_and_throttle'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'password_resets',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('password_hash', sa.String(length=255), nullable=False),
        sa.Column('sent_to', sa.String(length=200), nullable=False),
        sa.CheckConstraint('expires_at > created_at',
                           name=op.f('ck_password_resets_expires_after_creation')),
        sa.CheckConstraint('used_at IS NULL OR used_at >= created_at',
                           name=op.f('ck_password_resets_used_after_creation')),
        sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'],
                                name=op.f('fk_password_resets_requested_by_id_users')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_password_resets_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_password_resets')),
    )
    op.create_index(op.f('ix_password_resets_user_id'), 'password_resets', ['user_id'])
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('account_kind', sa.String(length=10), nullable=True))
        batch_op.create_check_constraint(op.f('ck_users_account_kind_known'),
                                         "account_kind IN ('admin', 'case')")
    # Existing accounts take the kind of the roles they hold; one with none stays open.
    op.execute("UPDATE users SET account_kind = 'admin' WHERE id IN "
               "(SELECT user_id FROM user_roles WHERE is_admin_role)")
    op.execute("UPDATE users SET account_kind = 'case' WHERE account_kind IS NULL AND id IN "
               "(SELECT user_id FROM user_roles WHERE NOT is_admin_role)")


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_users_account_kind_known'), type_='check')
        batch_op.drop_column('account_kind')
    op.drop_index(op.f('ix_password_resets_user_id'), table_name='password_resets')
    op.drop_table('password_resets')
