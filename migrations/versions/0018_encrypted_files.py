"""attachments encrypted at rest

No schema change: an encrypted file names its key in its own header (``core.files``). This
migration seals the files that earlier versions kept in clear under CASEFLOW_ATTACHMENT_DIR
(``<dir>/<sha256[:2]>/<sha256>``) and removes the clear copies. It runs only through
``caseflow db upgrade`` (it needs the app's data key) and only where the directory is
configured (the tests leave it unset); it is safe to run again.

Revision ID: 0018_encrypted_files
Revises: 0017_sealed_copies
Create Date: 2026-12-04 22:00:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018_encrypted_files'
down_revision = '0017_sealed_copies'
branch_labels = None
depends_on = None


def upgrade():
    from pathlib import Path

    from alembic import context
    from flask import current_app, has_app_context

    if context.is_offline_mode() or not has_app_context():
        return
    configured = current_app.config.get("CASEFLOW_ATTACHMENT_DIR")
    if not configured:
        return
    from caseflow.core.crypto import FieldCipher
    from caseflow.core.files import encrypt_clear_files

    cipher = FieldCipher.from_config(current_app.config["CASEFLOW_DATA_KEY"],
                                     current_app.config.get("CASEFLOW_DATA_KEY_PREVIOUS", ""))
    encrypt_clear_files(Path(configured), cipher)


def downgrade():
    pass  # the files stay encrypted: an older version would not read them, nor should it
