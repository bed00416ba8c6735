"""The rules every Describe*s action shares: ids xor filters, filter names as a table, paging.

One set of rules so DescribeJobs, DescribeComputeEnvs and DescribeComputeEnvCreateInfos refuse the
same mistakes with the same codes. A filter table maps each wire filter name to a builder of the
caller's own condition type (a SQL clause for jobs, a predicate on a row for environments).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from re import Pattern
from typing import TypeVar

from batchyard.domain.errors import ApiError
from batchyard.schema.common import Filter

IDS_MAX = 100
FILTERS_MAX = 10  # undocumented; no Describe action has more than seven filter names
FILTER_VALUES_MAX = 100
TAG_FILTER_PREFIX = "tag:"

Condition = TypeVar("Condition")
Build = Callable[[Sequence[str]], Condition]
TagBuild = Callable[[str, Sequence[str]], Condition]


def check_ids_xor_filters(
    ids: list[str] | None, filters: list[Filter] | None, ids_name: str, pattern: Pattern[str], malformed: str
) -> None:
    """Ids and filters are two ways of choosing, never combined; each id must be well formed."""
    if ids is not None and filters is not None:
        raise ApiError(
            "InvalidParameter.InvalidParameterCombination",
            f"{ids_name} and Filters cannot be given together.",
        )
    if ids is not None and len(ids) > IDS_MAX:
        raise ApiError("InvalidParameterValue.LimitExceeded", f"{ids_name} takes at most {IDS_MAX} ids.")
    for value in ids or []:
        if not pattern.fullmatch(value):
            raise ApiError(malformed, f"`{value}` is not a well-formed id in {ids_name}.")


def conditions(
    filters: list[Filter], table: Mapping[str, Build[Condition]], tag: TagBuild[Condition] | None = None
) -> list[Condition]:
    """One condition per filter (AND-ed by the caller); ``tag`` handles ``tag:<key>`` where allowed."""
    if len(filters) > FILTERS_MAX:
        raise ApiError("InvalidParameterValue.LimitExceeded", f"Filters takes at most {FILTERS_MAX} filters.")
    return [_condition(f, table, tag) for f in filters]


def _condition(
    f: Filter, table: Mapping[str, Build[Condition]], tag: TagBuild[Condition] | None
) -> Condition:
    build = table.get(f.Name)
    key = f.Name.removeprefix(TAG_FILTER_PREFIX)
    if build is None and tag is not None and f.Name.startswith(TAG_FILTER_PREFIX) and key:
        return _with_values(f, lambda values: tag(key, values))
    if build is None:
        known = ", ".join([*table, *(["tag:<key>"] if tag is not None else [])])
        raise ApiError("InvalidFilter", f"Unknown filter `{f.Name}`; use one of {known}.")
    return _with_values(f, build)


def _with_values(f: Filter, build: Build[Condition]) -> Condition:
    if len(f.Values) > FILTER_VALUES_MAX:
        raise ApiError(
            "InvalidParameterValue.LimitExceeded", f"A filter takes at most {FILTER_VALUES_MAX} values."
        )
    return build(f.Values)


def check_zone_filters(zones: Mapping[str, list[str]], region: str, filters: list[Filter]) -> None:
    """A zone of another region can never match here: say so rather than answer nothing."""
    own = set(zones.get(region, []))
    for f in filters:
        foreign = [z for z in f.Values if f.Name == "zone" and z not in own]
        if any(z in known for z in foreign for known in zones.values()):
            raise ApiError("InvalidZone.MismatchRegion", f"The zone filter names a zone outside `{region}`.")


def page(offset: int | None, limit: int | None, default: int, maximum: int) -> tuple[int, int]:
    """Offset and Limit with their defaults; a negative Offset only reaches here from signed members."""
    if offset is not None and offset < 0:
        raise ApiError("InvalidParameterValue", "Offset must not be negative.")
    return offset or 0, page_limit(limit, default, maximum)


def page_limit(limit: int | None, default: int, maximum: int) -> int:
    if limit is None:
        return default
    if not 0 < limit <= maximum:
        raise ApiError("InvalidParameterValue.LimitExceeded", f"Limit must be 1..{maximum}.")
    return limit
