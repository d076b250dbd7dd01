"""visits saved on a phone offline and sent later (issue 18)

- ``visits.client_token``: the token (a UUID) the phone gave a visit it saved without a
  connection; unique, so that a visit sent twice (the answer to the first send lost on
  the way back) is recorded once. Visits recorded on the pages have none.

Revision ID: 0028_offline_visits
Revises: 0027_service_accounts
Create Date: 2026-12-06 02:40:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0028_offline_visits'
down_revision = '0027_service_accounts'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_token', sa.String(length=36), nullable=True))
        batch_op.create_unique_constraint('uq_visits_client_token', ['client_token'])


def downgrade():
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.drop_constraint('uq_visits_client_token', type_='unique')
        batch_op.drop_column('client_token')
