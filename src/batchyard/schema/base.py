"""The one place where wire parameters become typed models, and where shape errors become ``ApiError``.

Parameters reach us in two shapes (API_NOTES §1.5): POST JSON with native types, and GET queries or
v1 forms where every leaf is a string. One set of models serves both, so validation is pydantic's
lax mode narrowed by the scalar types below to what Tencent's (Go) backends accept: integers as
JSON numbers or decimal strings, booleans as JSON booleans or the words true/false, strings only as
strings. Value rules (ranges, ID formats, defaults) belong to the service layer; the schema only
refuses what has the wrong shape, plus what no layer behind it could hold: numbers outside the
64-bit range the store keeps (so ``UInt64`` stops at 2^63-1), negative unsigned numbers, and strings
with NUL bytes or lone surrogates, which are not text any later layer can store, log or echo.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeAlias, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

from batchyard.domain.errors import ApiError

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

_DECIMAL = re.compile(r"\s*[+-]?\d+\s*")
_SURROGATE = re.compile(r"[\ud800-\udfff]")

Loc = tuple[int | str, ...]
Trail: TypeAlias = "tuple[Trail, int | str] | None"
"""A location as a chain of (parent, name) links: one step costs O(1), where a tuple costs its depth."""


def _wire_int(value: object) -> object:
    # bool is an int subclass and pydantic would take 1.0 or "1.0" as 1; Go's decoder takes neither.
    if isinstance(value, bool | float):
        raise PydanticCustomError("int_type", "expected an integer")
    if isinstance(value, str) and not _DECIMAL.fullmatch(value):
        raise PydanticCustomError("int_parsing", "expected an integer")
    return value


def _wire_bool(value: object) -> object:
    # The Python SDK flattens True into "True" for GET, other clients send "true"; nothing sends "yes".
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if not isinstance(value, bool):
        raise PydanticCustomError("bool_type", "expected a boolean")
    return value


Int64 = Annotated[int, BeforeValidator(_wire_int), Field(ge=INT64_MIN, le=INT64_MAX)]
# Unsigned stops at 2^63-1, not 2^64-1: the store's integers are signed 64-bit (SQLite), and no
# unsigned Batch value (counts, indexes, offsets, seconds) comes near 2^63.
UInt64 = Annotated[int, BeforeValidator(_wire_int), Field(ge=0, le=INT64_MAX)]
Bool = Annotated[bool, BeforeValidator(_wire_bool)]


class ApiModel(BaseModel):
    """Base of every wire structure, request or response.

    Field names are the wire names, so no aliases. Unknown members are refused everywhere: in a
    request that is Tencent's ``UnknownParameter``, in a response it catches a misspelt field before
    the SDK silently drops it.
    """

    model_config = ConfigDict(extra="forbid", strict=False, coerce_numbers_to_str=False)


Model = TypeVar("Model", bound=ApiModel)


def parse(model_cls: type[Model], params: dict[str, Any]) -> Model:
    """Validate ``params`` into ``model_cls`` or raise the ``ApiError`` Tencent would answer with.

    Only the first problem is reported, as the real service does. Pydantic lists errors in schema
    declaration order (depth first, list items by index, unknown members after the declared ones of
    the same object), which matches the member order of the official API schema. Strings that are
    not text are refused first, in request order, because pydantic cannot even name a member whose
    name holds a lone surrogate.
    """
    _check_text(params)
    try:
        return model_cls.model_validate(params)
    except ValidationError as exc:
        raise _to_api_error(exc.errors(include_url=False)[0]) from None


def dump(model: ApiModel) -> bytes:
    """The wire form of a response as a JSON object: every member present, unset ones as null.

    Nulls are kept because the official examples show them (``EndTime`` of an unfinished job,
    ``ComputeNodeInstanceId`` of an instance without a node) and the SDK deserializes them as None.
    Serialised by pydantic's own (compiled) encoder: a page of 1000 instances is most of a
    DescribeTask's cost otherwise.
    """
    return model.__pydantic_serializer__.to_json(model)


def _check_text(params: object) -> None:
    """Walk every name and string, depth first in request order, without recursion: a body may be
    nested as deep as the JSON decoder allows, deeper than this thread's remaining stack."""
    pending: list[tuple[Trail, object]] = [(None, params)]
    while pending:
        trail, value = pending.pop()
        if isinstance(value, str):
            _check_string(value, trail)
        elif isinstance(value, dict):
            for name in value:
                _check_name(name, trail)
            pending.extend(reversed([((trail, name), child) for name, child in value.items()]))
        elif isinstance(value, list):
            pending.extend(reversed([((trail, index), child) for index, child in enumerate(value)]))


def _check_string(value: str, trail: Trail) -> None:
    """NUL ends C strings (the shell, paths, environment variables); a lone surrogate cannot be encoded."""
    if "\x00" in value:
        raise ApiError("InvalidParameterValue", f"The parameter `{_path(trail)}` must not contain NUL bytes.")
    if _SURROGATE.search(value):
        raise ApiError(
            "InvalidParameter",
            f"The parameter `{_path(trail)}` is not valid Unicode text: it holds a lone surrogate.",
        )


def _check_name(name: str, trail: Trail) -> None:
    """No member is named so, and pydantic would fail on the surrogate instead of naming it."""
    if "\x00" in name or _SURROGATE.search(name):
        raise ApiError("UnknownParameter", f"The parameter `{_path((trail, name))}` is not recognized.")


def _path(trail: Trail) -> str:
    names: list[int | str] = []
    while trail is not None:
        trail, name = trail
        names.append(name)
    return _dotted(tuple(reversed(names)))


def _to_api_error(error: ErrorDetails) -> ApiError:
    path = _dotted(error["loc"])
    kind = error["type"]
    if kind == "missing":
        return ApiError("MissingParameter", f"The request is missing a required parameter `{path}`.")
    if kind == "extra_forbidden":
        return ApiError("UnknownParameter", f"The parameter `{path}` is not recognized.")
    if kind == "greater_than_equal" and error.get("ctx", {}).get("ge") == 0:
        return ApiError("InvalidParameterValue.Negative", f"The parameter `{path}` must not be negative.")
    if kind in _OUT_OF_RANGE:
        return ApiError("InvalidParameterValue", f"The parameter `{path}` is out of range: {_range(error)}.")
    expected = _expectation(error)
    if not path:
        return ApiError("InvalidParameter", f"The request parameters are invalid: expected {expected}.")
    return ApiError("InvalidParameter", f"The parameter `{path}` is invalid: expected {expected}.")


def _dotted(loc: Loc) -> str:
    return ".".join(str(part) for part in loc)


_OUT_OF_RANGE = frozenset({"less_than_equal", "greater_than_equal", "int_parsing_size"})

_EXPECTED = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "bool_type": "a boolean (true or false)",
    "string_type": "a string",
    "list_type": "a list",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "dict_type": "an object",
}


def _expectation(error: ErrorDetails) -> str:
    return _EXPECTED.get(error["type"], "a value of the documented type")


def _range(error: ErrorDetails) -> str:
    """int_parsing_size carries no bound: it is a decimal string longer than Python will convert."""
    ctx = error.get("ctx", {})
    if error["type"] == "less_than_equal":
        return f"expected an integer no greater than {ctx['le']}"
    if error["type"] == "greater_than_equal":
        return f"expected an integer no less than {ctx['ge']}"
    return "it has more digits than any 64-bit integer"
