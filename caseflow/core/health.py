"""/healthz for load balancers and monitors, /metrics for Prometheus.

Both are reached without signing in: /healthz says nothing about anyone (counts, ages,
times), /metrics asks for the bearer token ``CASEFLOW_METRICS_TOKEN`` instead.
"""
import hmac

from flask import Blueprint, Response, abort, current_app, jsonify, request

from caseflow.core import metrics, monitoring
from caseflow.core.db import utcnow

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """The checks of ``caseflow check`` as JSON: 200 when ok or warning, 503 when the
    database is unreachable or the scheduler silent (see core/monitoring.py)."""
    report = monitoring.run_checks()
    response = jsonify(report.as_json())
    response.status_code = report.http_status
    response.headers["Cache-Control"] = "no-store"
    return response


def _refused(status: int) -> Response:
    response = Response(f"{status}\n", status=status, mimetype="text/plain")
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="caseflow metrics"'
    return response


@bp.get("/metrics", endpoint="metrics")
def prometheus_metrics():
    """The Prometheus text format, for the holder of the metrics token only; without a
    token configured the page does not exist."""
    token = current_app.config.get("CASEFLOW_METRICS_TOKEN") or ""
    if not token:
        abort(404)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        return _refused(401)
    if not hmac.compare_digest(given.strip().encode("utf-8"), token.encode("utf-8")):
        return _refused(403)
    text = metrics.render(current_app._get_current_object(), utcnow())
    return Response(text, mimetype=None, content_type=metrics.CONTENT_TYPE,
                    headers={"Cache-Control": "no-store"})
