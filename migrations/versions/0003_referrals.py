"""referrals

Revision ID: 0003_referrals
Revises: 0002_calendar
Create Date: 2026-11-28 11:38:45.724924

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003_referrals'
down_revision = '0002_calendar'
branch_labels = None
depends_on = None


def upgrade():
    
    op.create_table('referral_counters',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_referral_counters_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('organisation_id', 'year', name=op.f('pk_referral_counters'))
    )
    op.create_table('referrals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('direction', sa.String(length=20), nullable=False),
    sa.Column('sender_org_id', sa.Integer(), nullable=False),
    sa.Column('receiver_org_id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('submission_token', sa.String(length=40), nullable=False),
    sa.Column('number', sa.String(length=60), nullable=True),
    sa.Column('number_year', sa.Integer(), nullable=True),
    sa.Column('number_seq', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=30), nullable=False),
    sa.Column('criminal_case_number', sa.String(length=80), nullable=True),
    sa.Column('offence', sa.String(length=120), nullable=True),
    sa.Column('offence_on', sa.Date(), nullable=True),
    sa.Column('circumstances', sa.Text(), nullable=False),
    sa.Column('help_requested', sa.JSON(), nullable=False),
    sa.Column('is_urgent', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('consent_on', sa.Date(), nullable=True),
    sa.Column('consent_method', sa.String(length=20), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_on', sa.Date(), nullable=True),
    sa.Column('registration_due_on', sa.Date(), nullable=True),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('registration_number', sa.String(length=60), nullable=True),
    sa.Column('handler_id', sa.Integer(), nullable=True),
    sa.Column('statutory_due_on', sa.Date(), nullable=True),
    sa.Column('due_is_provisional', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('extended_due_on', sa.Date(), nullable=True),
    sa.Column('extension_reason', sa.Text(), nullable=True),
    sa.Column('reply_due_on', sa.Date(), nullable=True),
    sa.Column('replied_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reply_on', sa.Date(), nullable=True),
    sa.Column('reply_outcome', sa.String(length=30), nullable=True),
    sa.Column('reply_text', sa.Text(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('return_reason', sa.Text(), nullable=True),
    sa.Column('withdraw_reason', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(number IS NULL) = (state = 'draft')", name=op.f('ck_referrals_numbered_when_sent')),
    sa.CheckConstraint("(registered_at IS NOT NULL) = (state IN ('registered', 'replied', 'closed'))", name=op.f('ck_referrals_registered_when_registered')),
    sa.CheckConstraint("(replied_at IS NOT NULL) = (state IN ('replied', 'closed'))", name=op.f('ck_referrals_replied_when_replied')),
    sa.CheckConstraint("(sent_at IS NULL) = (state = 'draft')", name=op.f('ck_referrals_sent_at_when_sent')),
    sa.CheckConstraint("(state = 'returned') = (return_reason IS NOT NULL)", name=op.f('ck_referrals_return_has_reason')),
    sa.CheckConstraint("direction IN ('to_procuratorate', 'to_federation')", name=op.f('ck_referrals_direction_known')),
    sa.CheckConstraint("source IN ('petition_reception', 'hotline', 'community_visit', 'case_handling', 'other')", name=op.f('ck_referrals_source_known')),
    sa.CheckConstraint("state <> 'draft' OR consent_on IS NULL OR consent_method IS NOT NULL", name=op.f('ck_referrals_consent_has_method')),
    sa.CheckConstraint("state = 'draft' OR consent_on IS NOT NULL", name=op.f('ck_referrals_consent_before_send')),
    sa.CheckConstraint("state IN ('draft', 'sent', 'registered', 'replied', 'closed', 'returned', 'withdrawn')", name=op.f('ck_referrals_state_known')),
    sa.CheckConstraint("state NOT IN ('registered', 'replied', 'closed') OR handler_id IS NOT NULL", name=op.f('ck_referrals_handler_when_registered')),
    sa.CheckConstraint('extended_due_on IS NULL OR extension_reason IS NOT NULL', name=op.f('ck_referrals_extension_has_reason')),
    sa.CheckConstraint('sender_org_id <> receiver_org_id', name=op.f('ck_referrals_not_to_itself')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_referrals_created_by_id_users')),
    sa.ForeignKeyConstraint(['handler_id'], ['users.id'], name=op.f('fk_referrals_handler_id_users')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_referrals_person_id_persons')),
    sa.ForeignKeyConstraint(['receiver_org_id'], ['organisations.id'], name=op.f('fk_referrals_receiver_org_id_organisations')),
    sa.ForeignKeyConstraint(['sender_org_id'], ['organisations.id'], name=op.f('fk_referrals_sender_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referrals')),
    sa.UniqueConstraint('created_by_id', 'submission_token', name='uq_referrals_submission'),
    sa.UniqueConstraint('number', name=op.f('uq_referrals_number')),
    sa.UniqueConstraint('receiver_org_id', 'registration_number', name='uq_referrals_registration'),
    sa.UniqueConstraint('sender_org_id', 'number_year', 'number_seq', name='uq_referrals_number_seq')
    )
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_index('ix_referrals_handler_state_due', ['handler_id', 'state', 'reply_due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_referrals_person_id'), ['person_id'], unique=False)
        batch_op.create_index('ix_referrals_receiver_state_due', ['receiver_org_id', 'state', 'reply_due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_referrals_reply_due_on'), ['reply_due_on'], unique=False)
        batch_op.create_index('ix_referrals_sender_state_due', ['sender_org_id', 'state', 'reply_due_on'], unique=False)

    op.create_table('referral_attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("content_type IN ('application/pdf', 'image/jpeg', 'image/png')", name=op.f('ck_referral_attachments_type_allowed')),
    sa.CheckConstraint('size_bytes > 0', name=op.f('ck_referral_attachments_not_empty')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_referral_attachments_referral_id_referrals')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_referral_attachments_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_attachments'))
    )
    with op.batch_alter_table('referral_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_attachments_referral_id'), ['referral_id'], unique=False)

    op.create_table('referral_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=100), nullable=False),
    sa.Column('actor_org_name', sa.String(length=200), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('from_state', sa.String(length=12), nullable=True),
    sa.Column('to_state', sa.String(length=12), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=True),
    sa.Column('is_shared', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.CheckConstraint("kind IN ('created', 'amended', 'sent', 'registered', 'handler_assigned', 'note', 'comment', 'replied', 'closed', 'returned', 'withdrawn', 'extended', 'due_moved', 'attachment_added')", name=op.f('ck_referral_events_kind_known')),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_referral_events_actor_id_users')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_referral_events_referral_id_referrals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_events'))
    )
    with op.batch_alter_table('referral_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_events_referral_id'), ['referral_id'], unique=False)

    


def downgrade():
    
    with op.batch_alter_table('referral_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_events_referral_id'))

    op.drop_table('referral_events')
    with op.batch_alter_table('referral_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_attachments_referral_id'))

    op.drop_table('referral_attachments')
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index('ix_referrals_sender_state_due')
        batch_op.drop_index(batch_op.f('ix_referrals_reply_due_on'))
        batch_op.drop_index('ix_referrals_receiver_state_due')
        batch_op.drop_index(batch_op.f('ix_referrals_person_id'))
        batch_op.drop_index('ix_referrals_handler_state_due')

    op.drop_table('referrals')
    op.drop_table('referral_counters')
    
