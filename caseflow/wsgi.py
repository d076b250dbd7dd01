"""The WSGI entry point for production servers: ``gunicorn 'caseflow.wsgi:app'``.

Settings come from the CASEFLOW_* environment (see caseflow/config.py). The app is
refused, and so gunicorn does not boot, when the database's schema is not the one this
code needs (older: run ``caseflow db upgrade``; newer: deploy the newer caseflow). See
caseflow/core/schema.py.
"""
from __future__ import annotations

import sys

from caseflow import create_app
from caseflow.core.schema import SchemaNotCurrent, require_current_schema

app = create_app()

try:
    require_current_schema(app)
except SchemaNotCurrent as refusal:
    # First on its own line for whoever reads the console or the journal, then raised:
    # gunicorn reports a worker that cannot load its app and stops, not respawning it.
    print(refusal, file=sys.stderr, flush=True)
    raise
