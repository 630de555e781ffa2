"""The API's error answers, one shape each, and how they appear in OpenAPI.

Every error body is `{"detail": ...}`: a sentence for 401/403/404/409/413/503, and FastAPI's list
of `{loc, msg, type}` for 422 (also for the limits the routes check themselves, so a client
handles one shape). A dependency that cannot be reached (the live view, the ledger, Kafka) is a
503 with `Retry-After`, never a guess: the API would rather say it does not know than serve a
wrong number.
"""

from __future__ import annotations

from typing import Any, NoReturn

from fastapi import HTTPException, status
from pydantic import BaseModel


class ErrorPublic(BaseModel):
    detail: str


class ValidationIssue(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorPublic(BaseModel):
    """422, for routes that validate their body by hand (FastAPI documents the others)."""

    detail: list[ValidationIssue]


class Unavailable(Exception):  # noqa: N818 - the condition is what the client is told
    """A dependency did not answer; becomes 503."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


_DESCRIPTIONS = {
    400: "The body could not be parsed (not JSON, or not UTF-8).",
    401: "No valid credential (send `Authorization: Bearer <key>` or `X-API-Key`).",
    403: "The credential's role may not do this.",
    404: "Not found.",
    409: "Conflicts with what the ledger already holds.",
    422: "The request is not valid; `loc` says where.",
    413: "The request body is larger than the server's limit.",
    503: "A dependency (live view, ledger or Kafka) did not answer; retry later.",
}


def described(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error codes (FastAPI documents 422 where it validates)."""
    found: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        entry: dict[str, Any] = {"model": ErrorPublic, "description": _DESCRIPTIONS[code]}
        if code == 422:
            entry["model"] = ValidationErrorPublic
        if code == 401:
            entry["headers"] = {
                "WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}
            }
        if code == 503:
            entry["headers"] = {
                "Retry-After": {"schema": {"type": "string"}, "description": "seconds"}
            }
        found[code] = entry
    return found


AUTH = (401, 403)
READ = (*AUTH, 503)


def unprocessable(loc: tuple[str | int, ...], msg: str, kind: str = "value_error") -> NoReturn:
    """A 422 in FastAPI's own shape, for checks a schema cannot express (runtime limits)."""
    raise HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail=[{"loc": list(loc), "msg": msg, "type": kind}],
    )


def not_found(msg: str) -> NoReturn:
    raise HTTPException(status.HTTP_404_NOT_FOUND, detail=msg)
