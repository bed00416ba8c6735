"""The one place where wire parameters become typed models, and where shape errors become ``ApiError``.

Parameters reach us in two shapes (API_NOTES §1.5): POST JSON with native types, and GET queries or
v1 forms where every leaf is a string. One set of models serves both, so validation is pydantic's
lax mode narrowed by the scalar types below to what Tencent's (Go) backends accept: integers as
JSON numbers or decimal strings, booleans as JSON booleans or the words true/false, strings only as
strings. Value rules (ranges, ID formats, defaults) belong to the service layer; the schema only
refuses what has the wrong shape, with one exception: a negative number for an unsigned member.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

from batchyard.domain.errors import ApiError

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
UINT64_MAX = 2**64 - 1

_DECIMAL = re.compile(r"\s*[+-]?\d+\s*")


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
UInt64 = Annotated[int, BeforeValidator(_wire_int), Field(ge=0, le=UINT64_MAX)]
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
    the same object), which matches the member order of the official API schema.
    """
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


def _to_api_error(error: ErrorDetails) -> ApiError:
    path = _dotted(error["loc"])
    kind = error["type"]
    if kind == "missing":
        return ApiError("MissingParameter", f"The request is missing a required parameter `{path}`.")
    if kind == "extra_forbidden":
        return ApiError("UnknownParameter", f"The parameter `{path}` is not recognized.")
    if kind == "greater_than_equal" and error.get("ctx", {}).get("ge") == 0:
        return ApiError("InvalidParameterValue.Negative", f"The parameter `{path}` must not be negative.")
    expected = _expectation(error)
    if not path:
        return ApiError("InvalidParameter", f"The request parameters are invalid: expected {expected}.")
    return ApiError("InvalidParameter", f"The parameter `{path}` is invalid: expected {expected}.")


def _dotted(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc)


_EXPECTED = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_parsing_size": "an integer",
    "bool_type": "a boolean (true or false)",
    "string_type": "a string",
    "list_type": "a list",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "dict_type": "an object",
}


def _expectation(error: ErrorDetails) -> str:
    ctx = error.get("ctx", {})
    if error["type"] == "less_than_equal":
        return f"an integer no greater than {ctx['le']}"
    if error["type"] == "greater_than_equal":
        return f"an integer no less than {ctx['ge']}"
    return _EXPECTED.get(error["type"], "a value of the documented type")
