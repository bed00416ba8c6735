"""Checks of members several actions share (tags, ClientToken, enumerations), worded by their path."""

from __future__ import annotations

from batchyard.domain.errors import ApiError
from batchyard.schema.common import Tag
from batchyard.service import limits


def check_tags(tags: list[Tag], where: str) -> None:
    """At most ``TAGS_MAX`` tags, keys unique and within Tencent Cloud's tag lengths."""
    if len(tags) > limits.TAGS_MAX:
        raise ApiError(
            "InvalidParameterValue.LimitExceeded", f"{where} takes at most {limits.TAGS_MAX} tags."
        )
    seen: set[str] = set()
    for i, tag in enumerate(tags):
        if not 0 < len(tag.Key) <= limits.TAG_KEY_MAX or len(tag.Value) > limits.TAG_VALUE_MAX:
            raise ApiError(
                "InvalidParameterValue",
                f"`{where}.{i}` needs a Key of 1..{limits.TAG_KEY_MAX} characters "
                f"and a Value of at most {limits.TAG_VALUE_MAX}.",
            )
        if tag.Key in seen:
            raise ApiError("InvalidParameterValue", f"`{where}.{i}.Key` `{tag.Key}` is given twice.")
        seen.add(tag.Key)


def check_client_token(token: str | None) -> None:
    if token is not None and (not token.isascii() or not 0 < len(token) <= limits.CLIENT_TOKEN_MAX):
        raise ApiError(
            "InvalidParameterValue", f"ClientToken must be 1..{limits.CLIENT_TOKEN_MAX} ASCII characters."
        )


def check_choice(value: str | None, choices: tuple[str, ...], where: str) -> None:
    if value is not None and value not in choices:
        raise ApiError("InvalidParameterValue", f"`{where}` must be one of {', '.join(choices)}.")


def check_length(value: str | None, maximum: int, code: str, where: str) -> None:
    if value is not None and len(value) > maximum:
        raise ApiError(code, f"{where} must be at most {maximum} characters.")
