"""The API's operations, declared once: each route registers with what the OpenAPI document
says of it (summary, parameters, the answer's schema, the errors it may give), so a route
cannot exist without its documentation, nor the document name a route that does not."""
from __future__ import annotations

from dataclasses import dataclass, field
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


OPERATIONS: list[Operation] = []


def operation(bp, method: str, path: str, *, summary: str, response: type[BaseModel] | None,
              params: Callable[[], list[Param]] = lambda: [], errors: tuple[int, ...] = (401,),
              media_type: str = "application/json", public: bool = False):
    """Register ``view`` on ``bp`` at ``path`` (``{name}`` for a record id) and in
    ``OPERATIONS`` for the document."""
    rule = path.replace("{", "<int:").replace("}", ">")

    def decorate(view):
        endpoint = f"{bp.name}.{view.__name__}"
        OPERATIONS.append(Operation(method=method, path=path, endpoint=endpoint, summary=summary,
                                    response=response, params=params, errors=errors,
                                    media_type=media_type, extra={"public": public}))
        view.api_public = public
        bp.add_url_rule(rule, view_func=view, methods=[method])
        return view

    return decorate
