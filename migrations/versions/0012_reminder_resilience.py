"""reminder resilience: ledger keys that fit, failed items recorded, undeliverable alerts

Revision ID: 0012_reminder_resilience
Revises: 0011_report_indexes
Create Date: 2026-12-04 21:00:00

* ``reminder_ledger.stage`` was VARCHAR(30); an extended referral's key such as
  ``overdue_w1@2026-11-27+2027-01-29`` is longer, and PostgreSQL (not SQLite) refused it,
  rolling back the whole sweep. 80 holds the longest key with room.
* ``job_item_failures``: one item of a job that failed while the job went on with the
  others; ``job_runs.status`` gains ``partial`` for such a run.
* ``undeliverable_alerts``: an alert that found nobody at all to tell.
* ``referrals.target_due_on``: an urgent referral's internal reply target.
* The two report indexes of 0011 also cover ``sent_at``: the report's hours from sending
  to registration read it (without it, each registered referral's row: 84-201 ms against
  13-31 ms per side at 100,000 referrals on SQLite).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_reminder_resilience'
down_revision = '0011_report_indexes'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('reminder_ledger') as batch:
        batch.alter_column('stage', existing_type=sa.String(length=30), type_=sa.String(length=80),
                           existing_nullable=False)
    with op.batch_alter_table('job_runs') as batch:
        batch.drop_constraint(op.f('ck_job_runs_status_known'), type_='check')
        batch.create_check_constraint(
            'status_known', "status IN ('running', 'succeeded', 'partial', 'failed')")
    op.create_table(
        'job_item_failures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=True),
        sa.Column('job', sa.String(length=60), nullable=False),
        sa.Column('subject_type', sa.String(length=30), nullable=False),
        sa.Column('subject_id', sa.Integer(), nullable=False),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['run_id'], ['job_runs.id'], ondelete='SET NULL',
                                name=op.f('fk_job_item_failures_run_id_job_runs')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_job_item_failures')),
    )
    op.create_index('ix_job_item_failures_occurred_at', 'job_item_failures', ['occurred_at'])
    op.create_index(op.f('ix_job_item_failures_run_id'), 'job_item_failures', ['run_id'])
    op.create_table(
        'undeliverable_alerts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('dedupe_key', sa.String(length=120), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('params', sa.JSON(), nullable=False),
        sa.Column('link', sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_undeliverable_alerts_organisation_id_organisations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_undeliverable_alerts')),
        sa.UniqueConstraint('dedupe_key', name=op.f('uq_undeliverable_alerts_dedupe_key')),
    )
    op.create_index('ix_undeliverable_alerts_created_at', 'undeliverable_alerts', ['created_at'])
    with op.batch_alter_table('referrals') as batch:
        batch.add_column(sa.Column('target_due_on', sa.Date(), nullable=True))
        batch.create_check_constraint('target_only_when_urgent', 'target_due_on IS NULL OR is_urgent')
    _restore_list_indexes()
    _report_indexes(REPORT_COVERED + ["sent_at"])


REPORT_COVERED = ["state", "direction", "source", "reply_on", "reply_due_on", "registered_at",
                  "registration_due_on", "extended_due_on"]


#: The referral lists' order indexes of 0004 and 0007. They are expression-based, which
#: SQLAlchemy cannot reflect: on SQLite, where batch mode rebuilds the table from its
#: reflection, the rebuilt table lacks them, so they are made again here.
LIST_ORDER = [sa.text("is_urgent DESC"), sa.text("(reply_due_on IS NULL)"), "reply_due_on",
              sa.text("id DESC")]


def _restore_list_indexes():
    if op.get_bind().dialect.name != "sqlite":
        return  # PostgreSQL alters the table in place and keeps them
    for column in ("receiver_org_id", "sender_org_id", "handler_id"):
        op.create_index(f"ix_referrals_{column}_list_order", "referrals", [column, *LIST_ORDER],
                        unique=False, if_not_exists=True)
        op.create_index(f"ix_referrals_{column}_state_list_order", "referrals",
                        [column, "state", *LIST_ORDER], unique=False, if_not_exists=True)


def _report_indexes(covered):
    for side, other in (("sender_org_id", "receiver_org_id"), ("receiver_org_id", "sender_org_id")):
        op.drop_index(f"ix_referrals_{side}_report", table_name="referrals")
        op.create_index(f"ix_referrals_{side}_report", "referrals",
                        [side, "received_on", other, *covered], unique=False)


def downgrade():
    _report_indexes(REPORT_COVERED)
    with op.batch_alter_table('referrals') as batch:
        batch.drop_constraint(op.f('ck_referrals_target_only_when_urgent'), type_='check')
        batch.drop_column('target_due_on')
    _restore_list_indexes()
    op.drop_index('ix_undeliverable_alerts_created_at', table_name='undeliverable_alerts')
    op.drop_table('undeliverable_alerts')
    op.drop_index(op.f('ix_job_item_failures_run_id'), table_name='job_item_failures')
    op.drop_index('ix_job_item_failures_occurred_at', table_name='job_item_failures')
    op.drop_table('job_item_failures')
    with op.batch_alter_table('job_runs') as batch:
        batch.drop_constraint(op.f('ck_job_runs_status_known'), type_='check')
        batch.create_check_constraint('status_known',
                                      "status IN ('running', 'succeeded', 'failed')")
    with op.batch_alter_table('reminder_ledger') as batch:
        batch.alter_column('stage', existing_type=sa.String(length=80), type_=sa.String(length=30),
                           existing_nullable=False)
