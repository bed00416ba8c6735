"""The SDK client the commands share: where it connects, and what it sends again."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from batchyard.cli.client import Endpoint, ThrottleRetryer, collect, parse_endpoint, throttled
from batchyard.cli.errors import CliError


@pytest.mark.parametrize(
    ("text", "endpoint"),
    [
        ("127.0.0.1:9000", Endpoint("https", "127.0.0.1:9000")),
        ("http://127.0.0.1:9000", Endpoint("http", "127.0.0.1:9000")),
        ("https://batch.example.com/", Endpoint("https", "batch.example.com")),
        ("batch.tencentcloudapi.com", Endpoint("https", "batch.tencentcloudapi.com")),
    ],
)
def test_an_endpoint_is_host_and_port_or_a_url(text: str, endpoint: Endpoint) -> None:
    assert parse_endpoint(text) == endpoint


@pytest.mark.parametrize("text", ["ftp://host", "http://host/path", "http://"])
def test_an_endpoint_that_is_no_server_address_is_refused(text: str) -> None:
    with pytest.raises(CliError, match="give host"):
        parse_endpoint(text)


@pytest.mark.parametrize(
    ("code", "again"),
    [
        ("RequestLimitExceeded", True),
        ("RequestLimitExceeded.UinLimitExceeded", True),
        ("ClientNetworkError", False),
        ("ServerNetworkError", False),
        ("InvalidParameter", False),
    ],
)
def test_only_a_throttled_request_is_sent_again(code: str, again: bool) -> None:
    """A network error may hide a SubmitJob that was done: sending it again would submit twice."""
    assert throttled(TencentCloudSDKException(code, "m")) is again


def sender(*answers: object) -> tuple[list[int], Callable[[], str]]:
    """A request whose attempts answer in turn (an exception is raised), and the count of attempts."""
    sent = [0]

    def send() -> str:
        answer = answers[sent[0]]
        sent[0] += 1
        if isinstance(answer, Exception):
            raise answer
        return str(answer)

    return sent, send


def test_a_throttled_request_is_sent_until_it_passes_and_no_more() -> None:
    slow = TencentCloudSDKException("RequestLimitExceeded", "slow down")
    sent, send = sender(slow, slow, "done", "again")
    assert ThrottleRetryer(5, lambda attempt: 0).send_request(send) == "done"
    assert sent == [3]


def test_the_last_throttled_attempt_and_any_other_error_are_raised() -> None:
    slow = TencentCloudSDKException("RequestLimitExceeded", "slow down")
    sent, send = sender(slow, slow, slow)
    with pytest.raises(TencentCloudSDKException):
        ThrottleRetryer(3, lambda attempt: 0).send_request(send)
    assert sent == [3]
    sent, send = sender(TencentCloudSDKException("ClientNetworkError", "gone"), "done")
    with pytest.raises(TencentCloudSDKException):
        ThrottleRetryer(3, lambda attempt: 0).send_request(send)
    assert sent == [1]


def test_collect_pages_until_the_limit_or_the_total() -> None:
    items = list(range(250))
    asked: list[tuple[int, int]] = []

    def fetch(offset: int, limit: int) -> tuple[list[object], int]:
        asked.append((offset, limit))
        return list(items[offset : offset + limit]), len(items)

    assert collect(fetch, 10, 230, 100) == (items[10:240], 250)
    assert asked == [(10, 100), (110, 100), (210, 30)]
    asked.clear()
    assert collect(fetch, 200, 100, 100) == (items[200:], 250)
    assert asked == [(200, 100)]
