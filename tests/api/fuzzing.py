"""Requests for fuzzing the wire: a signed sender, the strategies that build requests, and the
check every reply must pass.

Requests are built as plausible by each action's schema, with integers at and past the 64-bit
bounds, then mutated (members of the wrong type, huge, deeply nested or flooded values, NUL bytes
and lone surrogates, unknown members); raw bodies and queries are garbled byte by byte. Generated
SubmitJobs that pass validation really run, so ``defuse`` makes every request harmless before it
is sent: each string ``Command`` becomes ``true``, members that run or write anything else are
removed, and instance counts stay small.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import time
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from hypothesis import strategies as st
from tencentcloud.batch.v20170312 import batch_client
from test_protocol_errors import JSON, VERSION, envelope, tc3_authorization

from batchyard.api.actions import ACTIONS
from batchyard.api.protocol import MAX_GET_BYTES
from batchyard.domain.errors import MESSAGES
from batchyard.schema import common, jobs
from batchyard.schema.base import ApiModel
from conftest import REGION, ZONE, Server, task

FORM = "application/x-www-form-urlencoded"
INT64_MAX = 2**63 - 1
UNKNOWN_JOB = "job-abcdefgh"
# Members that make a valid job run or write something other than `true`; removed before sending.
DROPPED = frozenset(
    {
        "Commands",
        "EnvVars",
        "RedirectInfo",
        "RedirectLocalInfo",
        "PackagePath",
        "Docker",
        "InputMappings",
        "OutputMappings",
    }
)
MAX_INSTANCES = 2
LONGEST_QUERY = MAX_GET_BYTES + 1024


# ---------------------------------------------------------------------------------------------------
# The wire: hand-signed TC3 requests over one keep-alive connection.


@dataclass(frozen=True)
class Wire:
    """Sends requests as they are given, signed; the SDK is here for its flattening only."""

    srv: Server
    http: httpx.Client
    sdk: batch_client.BatchClient

    def post(self, action: str, body: bytes) -> httpx.Response:
        headers = self._headers(action, "POST", body=body)
        return self.http.post(self.srv.url + "/", headers=headers, content=body)

    def get(self, action: str, query: str) -> httpx.Response:
        """A query past what httpx sends is cut: the server refuses it for its size whatever follows."""
        if len(query) > LONGEST_QUERY:
            query = re.sub("%.?$", "", query[:LONGEST_QUERY])
        headers = self._headers(action, "GET", query=query)
        return self.http.get(f"{self.srv.url}/?{query}", headers=headers)

    def send(self, method: str, action: str, params: dict[str, Any]) -> httpx.Response:
        """POST as the SDK encodes JSON, GET flattened as the SDK flattens; defused either way."""
        if method == "POST":
            return self.post(action, json.dumps(defuse(params)).encode())
        return self.get(action, self.query(params))

    def query(self, params: dict[str, Any], *, defused: bool = True) -> str:
        """The SDK's own flattening. A lone surrogate has no UTF-8, so it goes as the bytes
        surrogatepass gives it, which the server must refuse like any other bytes that are not UTF-8."""
        pairs = self.sdk._fix_params(params)
        return urlencode(defuse_pairs(pairs) if defused else pairs, errors="surrogatepass")

    def _headers(self, action: str, method: str, body: bytes = b"", query: str = "") -> dict[str, str]:
        """As the SDK sends them: JSON for a POST, the form type for a GET although it has no body."""
        timestamp = int(time.time())
        content_type = JSON if method == "POST" else FORM
        authorization = tc3_authorization(
            host=self.srv.endpoint,
            timestamp=timestamp,
            body=body,
            method=method,
            query=query,
            content_type=content_type,
        )
        return {
            "Host": self.srv.endpoint,
            "Content-Type": content_type,
            "Authorization": authorization,
            "X-TC-Action": action,
            "X-TC-Version": VERSION,
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Region": REGION,
        }


def defuse(value: Any) -> Any:
    """The request with every string Command `true` (the schema refuses any other type, so those may
    stay), the DROPPED members gone and instance counts small."""
    if isinstance(value, list):
        return [defuse(item) for item in value]
    if not isinstance(value, dict):
        return value
    safe = {name: defuse(child) for name, child in value.items() if name not in DROPPED}
    if isinstance(safe.get("Command"), str):
        safe["Command"] = "true"
    if "TaskInstanceNum" in safe:
        safe["TaskInstanceNum"] = _few(safe["TaskInstanceNum"])
    return safe


def defuse_pairs(pairs: dict[str, Any]) -> dict[str, Any]:
    """defuse for flattened keys: the server splits names at dots, so every segment is checked."""
    safe = {}
    for key, value in pairs.items():
        segments = set(key.split("."))
        if segments & DROPPED:
            continue
        safe[key] = "true" if "Command" in segments else value
        if "TaskInstanceNum" in segments:
            safe[key] = _few(value)
    return safe


def _few(count: Any) -> Any:
    """Any count the server could accept beyond MAX_INSTANCES becomes MAX_INSTANCES."""
    try:
        number = int(str(count).strip())
    except ValueError:
        return count
    return count if number <= MAX_INSTANCES else MAX_INSTANCES


def check_reply(response: httpx.Response) -> dict[str, Any]:
    """The SDK's contract: 200, exact JSON type, a RequestId, and a known code that is not a crash."""
    reply = envelope(response)
    code = reply.get("Error", {}).get("Code")
    if code is not None:
        assert code in MESSAGES, code
        assert code != "InternalError", reply["Error"]["Message"]
        assert not code.startswith("AuthFailure."), "the fuzzer signed its own request wrongly"
    return reply


@dataclass(frozen=True)
class Jobs:
    """Real ids, so requests get past "not found": a finished job to read, and one for the mutators
    to terminate, retry and delete, still running when the fuzzing starts and with a failed task."""

    read: str
    victim: str


# ---------------------------------------------------------------------------------------------------
# Strategies: plausible requests shaped by each action's schema, then mutated in a few places.

# Past-the-bound values first: hypothesis draws the early choices of a sampled_from most often.
BOUNDARY_INTS = (2**63, -(2**63) - 1, 2**64, 2**64 - 1, 10**30, -(10**30), INT64_MAX, -(2**63), -1, 0)
NASTY_TEXT = ("\x00", "a\x00b", "\ud800", "\udfff", "job-\udcff", "", " ", "\u202e", "💥", "%00", "a.b", "0")
FLOODS = (1_000, 2_000)
"""How long a flooded list grows: past what any query or loop was built for, within a JSON body."""
MUTATORS = frozenset({"TerminateJob", "TerminateTaskInstance", "RetryJobs", "DeleteJob"})
# Values that pass the service's checks, by member name, so that a request with one bad member
# reaches the code behind the checks it passes.
KNOWN_TEXT: dict[str, tuple[str, ...]] = {
    "Zone": (ZONE,),
    "Zones": (ZONE,),
    "InstanceType": ("S2.SMALL1",),
    "DeliveryForm": ("LOCAL",),
    "EnvType": ("MANAGED",),
    "TaskName": ("a", "b"),
    "StartTask": ("a",),
    "EndTask": ("b",),
    "FailedAction": ("TERMINATE", "INTERRUPT", "FAST_INTERRUPT"),
    "TaskExecutionDependOn": ("PRE_TASK_SUCCEED", "PRE_TASK_AT_LEAST_PARTLY_SUCCEED", "PRE_TASK_FINISHED"),
    "Name": ("job-id", "job-name", "job-state", "zone", "tag-key", "tag-value", "tag:k"),
    "Values": ("SUCCEED", "FAILED", "fuzz", ZONE, "k", "v"),
    "DiskType": ("CLOUD_SSD", "LOCAL_BASIC"),
    "ImageId": ("img-abcdefgh",),
}
TASK_FILTER = {"Name": ("task-instance-state",), "Values": ("SUCCEED", "FAILED", "RUNNING")}

short_texts = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=12), st.sampled_from(NASTY_TEXT)
)
texts = st.one_of(short_texts, st.integers(1_000, 100_000).map(lambda n: "x" * n))
boundaries = st.sampled_from(BOUNDARY_INTS)
wire_ints = st.one_of(boundaries, boundaries.map(str), st.integers(), st.integers().map(str))
wire_bools = st.one_of(st.booleans(), st.sampled_from(["true", "False", "yes", "1", ""]))
scalars = st.one_of(st.none(), st.booleans(), wire_ints, st.floats(allow_nan=False), texts)


def _all_members() -> list[str]:
    models = [v for m in (common, jobs) for v in vars(m).values() if isinstance(v, type)]
    return sorted({name for model in models if issubclass(model, ApiModel) for name in model.model_fields})


names = st.one_of(st.sampled_from(_all_members()), short_texts)


def _nest(depth: int, leaf: Any, as_list: bool) -> Any:
    for _ in range(depth):
        leaf = [leaf] if as_list else {"A": leaf}
    return leaf


garbage = st.one_of(
    st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=3),
        max_leaves=10,
    ),
    st.builds(_nest, st.integers(2, 300), scalars, st.booleans()),
)


@dataclass(frozen=True)
class Shapes:
    """Plausible wire forms of a model: every required member, some optional ones, sensible values
    but for integers, which are as often at or past a 64-bit bound, as the store is where they fail."""

    job_ids: tuple[str, ...]
    known_text: Mapping[str, tuple[str, ...]]

    def object(self, model: type[ApiModel]) -> st.SearchStrategy[dict[str, Any]]:
        fields = model.model_fields
        members = {name: self.value(name, field.annotation) for name, field in fields.items()}
        required = {name: members[name] for name, field in fields.items() if field.is_required()}
        optional = {name: members[name] for name, field in fields.items() if not field.is_required()}
        return st.fixed_dictionaries(required, optional=optional)

    def value(self, name: str, annotation: Any) -> st.SearchStrategy[Any]:
        kinds = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if typing.get_origin(annotation) in (typing.Union, types.UnionType, typing.Annotated):
            return self.value(name, kinds[0])
        if typing.get_origin(annotation) is list:
            return st.lists(self.value(name, kinds[0]), min_size=1, max_size=2)
        if isinstance(annotation, type) and issubclass(annotation, ApiModel):
            return self.object(annotation)
        if annotation is bool:
            return st.booleans()
        if annotation is int:
            return st.one_of(st.integers(0, 3), boundaries)
        if name in ("JobId", "JobIds"):
            return st.sampled_from(self.job_ids)
        return st.sampled_from(self.known_text.get(name, ("fuzz", "未命名 job")))


Path = tuple[str | int, ...]


def _children(node: Any) -> list[tuple[str | int, Any]]:
    if isinstance(node, dict):
        return list(node.items())
    if isinstance(node, list):
        return list(enumerate(node))
    return []


def _paths(node: Any, path: Path = ()) -> Iterator[Path]:
    yield path
    for key, child in _children(node):
        yield from _paths(child, (*path, key))


def _nodes(node: Any) -> Iterator[Any]:
    yield node
    for _, child in _children(node):
        yield from _nodes(child)


@st.composite
def mutated(draw: st.DrawFn, bodies: st.SearchStrategy[dict[str, Any]], most: int = 3) -> dict[str, Any]:
    """A body with up to ``most`` members replaced, removed or added anywhere in it, and now and
    then one of its lists flooded with copies of its first item."""
    body = copy.deepcopy(draw(bodies))
    for _ in range(draw(st.integers(0, most))):
        path = draw(st.sampled_from(list(_paths(body))))
        body = _mutate(draw, body, path)
    lists = [node for node in _nodes(body) if isinstance(node, list) and node]
    if lists and draw(st.integers(0, 4)) == 0:
        _flood(draw(st.sampled_from(lists)), draw(st.sampled_from(FLOODS)))
    return body


def _flood(items: list[Any], length: int) -> None:
    """Last and at most once per body, so a flooded list is never copied or walked again."""
    items.extend(copy.deepcopy(items[0]) for _ in range(length - len(items)))


def _mutate(draw: st.DrawFn, body: dict[str, Any], path: Path) -> dict[str, Any]:
    if not path:
        return {**body, draw(names): draw(garbage)}
    *parents, last = path
    parent: Any = body
    for key in parents:
        parent = parent[key]
    kind = draw(st.sampled_from(["replace", "remove", "add"]))
    node = parent[last]
    if kind == "remove":
        del parent[last]
    elif kind == "add" and isinstance(parent, list):
        parent.append(copy.deepcopy(node))
    elif kind == "add":
        parent[draw(names)] = draw(garbage)
    else:
        parent[last] = draw(st.one_of(_like(node), garbage))
    return body


def _like(node: Any) -> st.SearchStrategy[Any]:
    """A value of the same kind, so the mutation gets past the schema to the value rules."""
    if isinstance(node, bool):
        return wire_bools
    if isinstance(node, int):
        return wire_ints
    if isinstance(node, str):
        return texts
    return st.just(type(node)())


@functools.cache
def requests_for(action: str, known: Jobs) -> st.SearchStrategy[dict[str, Any]]:
    """The mutating actions aim at a job of their own, so the read-only ones keep theirs to read."""
    job = known.victim if action in MUTATORS else known.read
    text = {**KNOWN_TEXT, **TASK_FILTER} if action == "DescribeTask" else KNOWN_TEXT
    job_ids = (job,) * 3 + (UNKNOWN_JOB,)  # three in four get past the lookup
    return mutated(Shapes(job_ids, text).object(ACTIONS[action].request), most=2)


VALID_SUBMIT: dict[str, Any] = {
    "Placement": {"Zone": ZONE},
    "Job": {
        "JobName": "fuzz",
        "JobDescription": "a job to mutate",
        "Priority": 1,
        "Tasks": [
            task("a", "true", MaxRetryCount=0, Timeout=60, FailedAction="TERMINATE", MaxConcurrentNum=1),
            task(
                "b",
                "true",
                ComputeEnv={
                    "EnvType": "MANAGED",
                    "EnvData": {
                        "InstanceType": "S2.SMALL1",
                        "SystemDisk": {"DiskType": "CLOUD_SSD", "DiskSize": 50},
                        "DataDisks": [{"DiskSize": 100, "DiskType": "CLOUD_SSD"}],
                        "Zones": [ZONE],
                    },
                },
            ),
        ],
        "Dependences": [{"StartTask": "a", "EndTask": "b"}],
        "TaskExecutionDependOn": "PRE_TASK_FINISHED",
        "Tags": [{"Key": "k", "Value": "v"}],
    },
}

_ESCAPES = st.integers(0, 255).map(lambda byte: f"%{byte:02X}")
_QUERY_PIECES = st.one_of(
    st.sampled_from([*"AZaz09-_~+=&.", "JobId", "Filters", "Job", "Tasks", "Limit", "Name", "Values"]),
    _ESCAPES,
)
raw_queries = st.lists(_QUERY_PIECES, max_size=40).map("".join)


def _edit(body: bytes, at: int, byte: int, how: str) -> bytes:
    at %= len(body) + 1
    if how == "insert":
        return body[:at] + bytes([byte]) + body[at:]
    return body[:at] + (bytes([byte]) if how == "replace" else b"") + body[at + 1 :]


def _base_bodies(known: Jobs) -> list[bytes]:
    """One valid body per action; SubmitJob's has no Command, so no single edit can make it run one."""
    lookup = {"JobId": known.read, "TaskName": "a", "TaskInstanceIndexes": [0], "Offset": 0, "Limit": 5}
    quiet_task = {**task("a", "true"), "Application": {"DeliveryForm": "LOCAL"}}
    submit_body = {"Placement": {"Zone": ZONE}, "Job": {"JobName": "edit", "Tasks": [quiet_task]}}
    return [json.dumps(lookup).encode(), json.dumps(submit_body).encode(), b'{"JobIds":["job-abcdefgh"]}']


def raw_bodies(known: Jobs) -> st.SearchStrategy[bytes]:
    edits = st.builds(
        _edit,
        st.sampled_from(_base_bodies(known)),
        st.integers(0, 10_000),
        st.integers(0, 255),
        st.sampled_from(["replace", "insert", "remove"]),
    )
    deep = st.integers(500, 100_000).map(lambda n: b'{"JobId":' + b"[" * n + b"]" * n + b"}")
    long_number = st.integers(4_000, 10_000).map(lambda n: b'{"Limit":' + b"9" * n + b"}")
    return st.one_of(edits, st.binary(max_size=64), deep, long_number)


methods = st.sampled_from(["POST", "GET"])
actions = st.sampled_from(sorted(ACTIONS))
