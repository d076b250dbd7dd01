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
    _keys, top = models_json_schema([(m, "serialization") for m in sorted(models, key=lambda m: m.__name__)],
                                    ref_template=REF_TEMPLATE)
    return dict(sorted(top.get("$defs", {}).items()))


def _operation(op) -> dict:
    described = {
        "operationId": op.endpoint.replace(".", "_"),
        "summary": op.summary,
        "parameters": [
            {"name": p.name, "in": p.where, "required": p.required or p.where == "path",
             "schema": p.schema, **({"description": p.description} if p.description else {})}
            for p in op.params()],
        "responses": {"200": {"description": "OK", "content": {op.media_type: (
            {"schema": {"$ref": REF_TEMPLATE.format(model=op.response.__name__)}}
            if op.response is not None else {})}}},
    }
    for status in op.errors:
        described["responses"][str(status)] = {
            "description": {400: "Bad request", 401: "No valid token", 403: "Not allowed",
                            404: "Not found, or not yours to see"}[status],
            "content": {PROBLEM_TYPE: {"schema": {"$ref": REF_TEMPLATE.format(model="Problem")}}}}
    if op.extra.get("public"):
        described["security"] = []
    return described


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
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "A personal access token (account page)."}},
            "schemas": _components(),
        },
    }
