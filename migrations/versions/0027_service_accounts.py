"""service accounts and their signed webhooks (issue 17)

- ``users.is_service_account``: a system's account, made by the system administrator with
  one organisation and one role; it never signs in on the pages and acts only through its
  API tokens.
- ``users.hook_url`` and ``users.hook_secret``: a service account's webhook and the secret
  that signs what is posted there, sealed (SM4-GCM); both or neither, only on service
  accounts, the URL http(s).
- ``outbox_messages``: a third channel, ``hook``: one signed event for one service account
  (``to_user_id``), delivered by the outbox jobs like SMS and the office chats.

Revision ID: 0027_service_accounts
Revises: 0026_api_requests
Create Date: 2026-12-06 02:20:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0027_service_accounts'
down_revision = '0026_api_requests'
branch_labels = None
depends_on = None

USER_CHECKS = (
    ("ck_users_hook_only_for_service_accounts", "hook_url IS NULL OR is_service_account"),
    ("ck_users_hook_has_secret", "(hook_url IS NULL) = (hook_secret IS NULL)"),
    ("ck_users_hook_url_http", "hook_url IS NULL OR substr(hook_url, 1, 7) = 'http://' "
                               "OR substr(hook_url, 1, 8) = 'https://'"),
)
CHANNELS_BEFORE = "channel IN ('sms', 'webhook')"
CHANNELS_AFTER = "channel IN ('sms', 'webhook', 'hook')"
ADDRESSEE_BEFORE = ("(channel = 'sms' AND to_user_id IS NOT NULL) OR "
                    "(channel = 'webhook' AND organisation_id IS NOT NULL)")
ADDRESSEE_AFTER = ADDRESSEE_BEFORE + " OR (channel = 'hook' AND to_user_id IS NOT NULL)"


def _set_channels(channels: str, addressee: str) -> None:
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_outbox_messages_channel_known'), type_='check')
        batch_op.drop_constraint(op.f('ck_outbox_messages_addressee_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_outbox_messages_channel_known'), channels)
        batch_op.create_check_constraint(op.f('ck_outbox_messages_addressee_known'), addressee)


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_service_account', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.add_column(sa.Column('hook_url', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('hook_secret', sa.String(length=200), nullable=True))
        for name, text in USER_CHECKS:
            batch_op.create_check_constraint(op.f(name), text)
    _set_channels(CHANNELS_AFTER, ADDRESSEE_AFTER)


def downgrade():
    # The service accounts' queued and delivered events go with their channel.
    op.execute("DELETE FROM outbox_messages WHERE channel = 'hook'")
    _set_channels(CHANNELS_BEFORE, ADDRESSEE_BEFORE)
    with op.batch_alter_table('users', schema=None) as batch_op:
        for name, _text in USER_CHECKS:
            batch_op.drop_constraint(op.f(name), type_='check')
        batch_op.drop_column('hook_secret')
        batch_op.drop_column('hook_url')
        batch_op.drop_column('is_service_account')
