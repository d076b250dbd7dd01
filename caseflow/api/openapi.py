"""The OpenAPI 3.1 document, assembled from the code: the paths from the declared
operations (``operations.OPERATIONS``), the schemas from the pydantic models' JSON Schema
(2020-12, OpenAPI 3.1's own dialect, so they go in as they are)."""
from __future__ import annotations

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from caseflow.api import schemas
from caseflow.api.operations import OPERATIONS
from caseflow.api.problems import PROBLEM_TYPE

REF_TEMPLATE = "#/components/schemas/{model}"


def _components() -> dict:
    models: set[type[BaseModel]] = {op.response for op in OPERATIONS if op.response is not None}
    models.add(schemas.Problem)
    models.add(schemas.WebhookDelivery)
    bodies = {op.body for op in OPERATIONS if op.body is not None}
    _keys, top = models_json_schema(
        [(m, "serialization") for m in sorted(models, key=lambda m: m.__name__)]
        + [(m, "validation") for m in sorted(bodies, key=lambda m: m.__name__)],
        ref_template=REF_TEMPLATE)
    return dict(sorted(top.get("$defs", {}).items()))


ERROR_DESCRIPTIONS = {
    400: "Bad request: the detail says what, and errors name each bad field",
    401: "No valid token", 403: "Not allowed (or a read-only token for a change)",
    404: "Not found, or not yours to see",
    409: "The record's state does not allow this now, or the same Idempotency-Key is still being processed",
    412: "If-Match names a version the record has moved on from; the ETag header gives the current one",
    415: "The body is not JSON", 422: "This Idempotency-Key came with a different request before",
    428: "If-Match is missing", 429: "This token's calls per minute are used up; see Retry-After",
}

_ETAG = {"ETag": {"description": "The record's version, for If-Match.", "schema": {"type": "string"}}}


def _header(name: str, description: str) -> dict:
    return {"name": name, "in": "header", "required": True, "description": description,
            "schema": {"type": "string", "minLength": 1, "maxLength": 200}}


def _operation(op) -> dict:
    parameters = [
        {"name": p.name, "in": p.where, "required": p.required or p.where == "path",
         "schema": p.schema, **({"description": p.description} if p.description else {})}
        for p in op.params()]
    if op.scope == "write":
        parameters.append(_header("Idempotency-Key", "Your own unique value for this request (e.g. a "
                                  "UUID): sent again with the same request, it returns the first "
                                  "answer and changes nothing twice."))
    if op.versioned:
        parameters.append(_header("If-Match", "The record's ETag as you last read it."))
    success = {"description": "Created" if op.status == 201 else "OK",
               "content": {op.media_type: ({"schema": {"$ref": REF_TEMPLATE.format(model=op.response.__name__)}}
                                           if op.response is not None else {})}}
    if op.response is not None and "version" in op.response.model_fields:
        success["headers"] = dict(_ETAG)
    if op.links:
        success["links"] = {name: {"operationId": endpoint.replace(".", "_"), "parameters": parameters}
                            for name, (endpoint, parameters) in op.links.items()}
    described = {
        "operationId": op.endpoint.replace(".", "_"),
        "summary": op.summary,
        "parameters": parameters,
        "responses": {str(op.status): success},
    }
    if op.body is not None:
        described["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": {"$ref": REF_TEMPLATE.format(model=op.body.__name__)}}}}
    errors = set(op.errors)
    if not op.extra.get("public"):
        errors |= {401, 429}
    if op.scope == "write":
        errors |= {400, 403, 409, 422}
    if op.body is not None:
        errors |= {400, 415}
    if op.versioned:
        errors |= {412, 428}
    for status in sorted(errors):
        described["responses"][str(status)] = {
            "description": ERROR_DESCRIPTIONS[status],
            "content": {PROBLEM_TYPE: {"schema": {"$ref": REF_TEMPLATE.format(model="Problem")}}}}
        if status == 412:
            described["responses"]["412"]["headers"] = dict(_ETAG)
        if status == 429:
            described["responses"]["429"]["headers"] = {"Retry-After": {
                "description": "Seconds until the next window.", "schema": {"type": "integer"}}}
    if op.extra.get("public"):
        described["security"] = []
    return described


_HOOK_HEADERS = (
    ("Caseflow-Event", "The event's name."),
    ("Caseflow-Delivery", "The delivery's id, the same on every retry."),
    ("Caseflow-Timestamp", "This attempt's time, Unix seconds."),
    ("Caseflow-Signature", "t=<the timestamp>,v1=<hex HMAC-SHA256 of \"<t>.<body>\" with the "
                           "webhook's secret>. Compare in constant time; refuse an old t."),
)


def _webhooks() -> dict:
    """What a service account's webhook receives (OpenAPI 3.1's ``webhooks``): one entry per
    event the domains publish (``core.events``)."""
    from caseflow.core.events import EVENT_NAMES

    return {name: {"post": {
        "operationId": "webhook_" + name.replace(".", "_"),
        "summary": f"{name}, posted to the service account's webhook",
        "parameters": [_header(header, text) for header, text in _HOOK_HEADERS],
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"$ref": REF_TEMPLATE.format(model="WebhookDelivery")}}}},
        "responses": {"2XX": {"description": "Delivered. Anything else (or no answer) is retried "
                                             "with a growing delay."}},
    }} for name in EVENT_NAMES}


def document() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    try:
        package_version = version("caseflow")
    except PackageNotFoundError:  # a checkout never installed
        package_version = "0"
    paths: dict[str, dict] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {"title": "caseflow API", "version": package_version,
                 "description": "Referrals between the women's federation and the procuratorate, "
                                "read with a personal access token (Authorization: Bearer). What a "
                                "token reaches is what its owner reaches on the pages."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": dict(sorted(paths.items())),
        "webhooks": _webhooks(),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "A personal access token (account page)."}},
            "schemas": _components(),
        },
    }
