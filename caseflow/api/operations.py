"""The API's operations, declared once: each route registers with what the OpenAPI document
says of it (summary, parameters, the answer's schema, the errors it may give), so a route
cannot exist without its documentation, nor the document name a route that does not."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import wraps
from typing import Callable

from pydantic import BaseModel


@dataclass(frozen=True)
class Param:
    name: str
    schema: dict
    description: str = ""
    where: str = "query"
    required: bool = False


@dataclass
class Operation:
    method: str
    path: str  # OpenAPI's form: /referrals/{referral_id}
    endpoint: str
    summary: str
    response: type[BaseModel] | None
    params: Callable[[], list[Param]] = lambda: []
    errors: tuple[int, ...] = (401,)
    scope: str = "read"
    media_type: str = "application/json"
    extra: dict = field(default_factory=dict)
    #: The JSON body's model (a POST's), given to the view as ``body``.
    body: type[BaseModel] | None = None
    #: A change of an existing record: ``If-Match`` with its ETag is required.
    versioned: bool = False
    #: The success status: 201 when the call creates a record.
    status: int = 200
    #: OpenAPI links from the success answer to the operations that follow it (by endpoint).
    links: dict = field(default_factory=dict)


OPERATIONS: list[Operation] = []
BY_ENDPOINT: dict[str, Operation] = {}


def operation(bp, method: str, path: str, *, summary: str, response: type[BaseModel] | None,
              params: Callable[[], list[Param]] = lambda: [], errors: tuple[int, ...] = (401,),
              media_type: str = "application/json", public: bool = False,
              body: type[BaseModel] | None = None, versioned: bool = False, status: int = 200,
              links: dict | None = None):
    """Register ``view`` on ``bp`` at ``path`` (``{name}`` for a record id) and in
    ``OPERATIONS`` for the document. Every method but GET changes something: it needs a
    token with the write scope and an ``Idempotency-Key`` (checked by the blueprint before
    the view runs); ``body`` is read and checked before the view is called with it."""
    rule = path.replace("{", "<int:").replace("}", ">")
    scope = "read" if method == "GET" else "write"

    def decorate(view):
        endpoint = f"{bp.name}.{view.__name__}"
        described = Operation(method=method, path=path, endpoint=endpoint, summary=summary,
                              response=response, params=params, errors=errors, scope=scope,
                              media_type=media_type, extra={"public": public}, body=body,
                              versioned=versioned, status=status, links=links or {})
        OPERATIONS.append(described)
        BY_ENDPOINT[endpoint] = described
        handler = view if body is None else _with_body(view, body)
        handler.api_public = public
        bp.add_url_rule(rule, view_func=handler, methods=[method])
        return handler

    return decorate


def _with_body(view, model: type[BaseModel]):
    """``view`` called with the request's JSON body read into ``model`` as ``body``."""
    from caseflow.api.requests import read_body

    @wraps(view)
    def with_body(**kwargs):
        return view(body=read_body(model), **kwargs)

    return with_body


def operation_for(endpoint: str | None) -> Operation | None:
    return BY_ENDPOINT.get(endpoint)
