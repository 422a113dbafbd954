"""The emulator's throttle: a token bucket per account for Directory Service calls, off by default,
answering ThrottlingException as the JSON protocol does. No server needed."""

import json

import pytest

import emulator
import throttling


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def throttle(clock):
    return throttling.Throttle(clock)


def calls_admitted(throttle, clock, per_second, seconds, account="123456789012", operation="DescribeTrusts"):
    """Sends ``per_second`` evenly spaced calls a second for ``seconds``; how many were admitted."""
    admitted = 0
    for _ in range(int(per_second * seconds)):
        clock.now += 1 / per_second
        admitted += throttle.admits(account, "ds", operation)
    return admitted


def test_off_by_default(throttle, clock):
    assert all(throttle.admits("123456789012", "ds", "CreateTrust") for _ in range(1000))
    assert throttle.status()["throttled"] == 0


def test_calls_below_the_rate_are_never_throttled(throttle, clock):
    throttle.configure(requests_per_second=10, burst=5)
    assert calls_admitted(throttle, clock, per_second=8, seconds=30) == 240
    assert throttle.status()["throttled"] == 0


def test_calls_above_the_rate_are_throttled_down_to_it(throttle, clock):
    throttle.configure(requests_per_second=10, burst=5)
    admitted = calls_admitted(throttle, clock, per_second=40, seconds=30)
    # 10 a second plus the burst, give or take the first token.
    assert 300 <= admitted <= 306
    status = throttle.status()
    assert status["throttled"] == 1200 - admitted and status["throttledByOperation"] == {"ds:DescribeTrusts": 1200 - admitted}


def test_a_burst_is_admitted_up_to_the_bucket_then_refilled_at_the_rate(throttle, clock):
    throttle.configure(requests_per_second=2, burst=5)
    assert [throttle.admits("a", "ds", "CreateTrust") for _ in range(6)] == [True] * 5 + [False]
    clock.now += 1.0  # two tokens back
    assert [throttle.admits("a", "ds", "CreateTrust") for _ in range(3)] == [True, True, False]


def test_each_account_has_its_own_bucket_and_other_services_are_not_metered(throttle, clock):
    throttle.configure(requests_per_second=1, burst=1)
    assert throttle.admits("111111111111", "ds", "DescribeTrusts") and not throttle.admits("111111111111", "ds", "DescribeTrusts")
    assert throttle.admits("222222222222", "ds", "DescribeTrusts")
    assert all(throttle.admits("111111111111", "states", "StartExecution") for _ in range(10))


def test_switched_off_by_the_control_route_and_bad_settings_refused(throttle, clock):
    assert throttle.control("POST", {"requestsPerSecond": 1, "burst": 1})["enabled"] is True
    assert throttle.admits("a", "ds", "VerifyTrust") and not throttle.admits("a", "ds", "VerifyTrust")
    assert throttle.control("DELETE", {})["enabled"] is False
    assert throttle.admits("a", "ds", "VerifyTrust")
    with pytest.raises(ValueError):
        throttle.control("POST", {"requestsPerSecond": 0})
    with pytest.raises(KeyError):
        throttle.control("POST", {"burst": 3})


def test_the_answer_is_the_json_protocols_throttling_error():
    seen = {}
    body = emulator.fault_response("ds", "DescribeTrusts", throttling.ERROR,
                                   lambda status, headers: seen.update(status=status, headers=dict(headers)),
                                   message=throttling.MESSAGE)
    assert seen["status"].startswith("400")
    assert seen["headers"]["x-amzn-ErrorType"] == "ThrottlingException"
    assert json.loads(b"".join(body)) == {"__type": "ThrottlingException", "message": "Rate exceeded", "Message": "Rate exceeded"}


def test_a_twelve_digit_access_key_is_its_account():
    environ = {"HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=111122223333/20261125/us-east-1/ds/aws4_request, "
                                     "SignedHeaders=host, Signature=x"}
    assert throttling.account_of(environ) == "111122223333"
    assert throttling.account_of({}) == "123456789012"
