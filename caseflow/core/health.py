from flask import Blueprint, jsonify
from sqlalchemy import text

from caseflow.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """For load balancers and monitors: the app answers and the database too."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any failure means unhealthy; the detail goes to the log
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")
