"""alert channels: SMS, group-chat webhooks, preferences

Revision ID: 0013_alert_channels
Revises: 0012_reminder_resilience
Create Date: 2026-12-04 21:00:00

``outbox_messages`` is the e-mail outbox's sibling for SMS and group-chat robot messages;
``alert_preferences`` holds the channels each user chose per kind of event (defaults are
not stored). Users get a mobile number and quiet hours for SMS (22:00 to 07:00 unless
they change them); organisations get their office chat's robot URL.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_alert_channels'
down_revision = '0012_reminder_resilience'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('outbox_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('dedupe_key', sa.String(length=160), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('to_user_id', sa.Integer(), nullable=True),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('to_address', sa.String(length=500), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('held_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("channel IN ('sms', 'webhook')", name=op.f('ck_outbox_messages_channel_known')),
    sa.CheckConstraint("status IN ('queued', 'sending', 'sent')", name=op.f('ck_outbox_messages_status_known')),
    sa.CheckConstraint("(status = 'sent') = (sent_at IS NOT NULL)", name=op.f('ck_outbox_messages_sent_when_sent')),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_outbox_messages_attempts_not_negative')),
    sa.CheckConstraint("(channel = 'sms' AND to_user_id IS NOT NULL) OR "
                       "(channel = 'webhook' AND organisation_id IS NOT NULL)",
                       name=op.f('ck_outbox_messages_addressee_known')),
    sa.ForeignKeyConstraint(['to_user_id'], ['users.id'], name=op.f('fk_outbox_messages_to_user_id_users')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_outbox_messages_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_messages')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_outbox_messages_dedupe_key'))
    )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_messages_due', ['status', 'next_attempt_at'], unique=False)

    op.create_table('alert_preferences',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=40), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.CheckConstraint("channel IN ('email', 'sms')", name=op.f('ck_alert_preferences_channel_known')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_alert_preferences_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', 'event', 'channel', name=op.f('pk_alert_preferences'))
    )

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('sms_quiet_from', sa.Integer(), server_default='22', nullable=True))
        batch_op.add_column(sa.Column('sms_quiet_until', sa.Integer(), server_default='7', nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_users_sms_quiet_hours_valid'),
            "(sms_quiet_from IS NULL) = (sms_quiet_until IS NULL) AND "
            "(sms_quiet_from IS NULL OR sms_quiet_from BETWEEN 0 AND 23) AND "
            "(sms_quiet_until IS NULL OR sms_quiet_until BETWEEN 0 AND 23)")

    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('webhook_url', sa.String(length=500), nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_organisations_webhook_url_http'),
            "webhook_url IS NULL OR substr(webhook_url, 1, 7) = 'http://' "
            "OR substr(webhook_url, 1, 8) = 'https://'")


def downgrade():
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_organisations_webhook_url_http'), type_='check')
        batch_op.drop_column('webhook_url')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_users_sms_quiet_hours_valid'), type_='check')
        batch_op.drop_column('sms_quiet_until')
        batch_op.drop_column('sms_quiet_from')
        batch_op.drop_column('phone')

    op.drop_table('alert_preferences')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_messages_due')
    op.drop_table('outbox_messages')
