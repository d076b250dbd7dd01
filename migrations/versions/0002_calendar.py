"""calendar overrides and loaded years

Revision ID: 0002_calendar
Revises: 0001_foundation
Create Date: 2026-11-28 11:31:59.167780

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002_calendar'
down_revision = '0001_foundation'
branch_labels = None
depends_on = None


def upgrade():
    
    op.create_table('calendar_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('is_working', sa.Boolean(), nullable=False),
    sa.Column('note', sa.String(length=100), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_calendar_days_updated_by_id_users')),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_calendar_days'))
    )
    op.create_table('calendar_years',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('loaded_by_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=200), nullable=True),
    sa.CheckConstraint('year BETWEEN 2000 AND 2099', name=op.f('ck_calendar_years_year_plausible')),
    sa.ForeignKeyConstraint(['loaded_by_id'], ['users.id'], name=op.f('fk_calendar_years_loaded_by_id_users')),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_calendar_years'))
    )
    


def downgrade():
    
    op.drop_table('calendar_years')
    op.drop_table('calendar_days')
    
