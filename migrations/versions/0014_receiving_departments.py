"""receiving departments: who acts for an organisation

Revision ID: 0014_receiving_departments
Revises: 0013_alert_channels
Create Date: 2026-12-04 21:00:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014_receiving_departments'
down_revision = '0013_alert_channels'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('receiving_department_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_organisations_receiving_department_id_organisations'),
            'organisations', ['receiving_department_id'], ['id'])
        batch_op.create_check_constraint(
            op.f('ck_organisations_not_own_receiving_department'),
            'receiving_department_id IS NULL OR receiving_department_id <> id')


def downgrade():
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_organisations_not_own_receiving_department'), type_='check')
        batch_op.drop_constraint(
            batch_op.f('fk_organisations_receiving_department_id_organisations'), type_='foreignkey')
        batch_op.drop_column('receiving_department_id')
