"""Request-rate throttling for the emulated AWS: a token bucket per account, as AWS meters API rates.

AWS limits most control-plane APIs per account and Region with a token bucket: each call takes a
token, tokens come back at a steady rate up to a maximum (the burst), and a call finding the bucket
empty is refused with ``ThrottlingException`` ("Rate exceeded"), nothing done. Here the same, for
the services switched on (Directory Service, ``ds``, by default): off until

    POST   /_trustflow/throttle {"requestsPerSecond": 5, "burst": 5, "services": ["ds"]}

switches it on (fresh, full buckets; counters zeroed); ``GET`` answers the settings and how many
calls were admitted and throttled (per operation too); ``DELETE`` switches it off (counters kept
until the next POST). The emulator's middleware asks ``THROTTLE.admits`` where it takes injected
faults (``admits_request``) and answers a refusal with its ``fault_response``: HTTP 400, ``__type`` and
``x-amzn-ErrorType`` ``ThrottlingException``, message ``Rate exceeded``, as the JSON protocol of
Directory Service carries AWS's common throttling error. A refused call is in the call log with the
status ``throttled``.

The account is the caller's: the account of the role whose session signed the call, or a 12-digit
access key taken as the account id (moto's convention), or moto's default account.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from typing import Any, Callable

ERROR = "ThrottlingException"
MESSAGE = "Rate exceeded"
CREDENTIAL = re.compile(r"Credential=([^/]+)/")


class Throttle:
    """Token buckets per (account, service), shared by every thread of the emulator."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.lock = threading.Lock()
        self.enabled = False
        self.rate = 0.0
        self.burst = 0.0
        self.services: frozenset[str] = frozenset()
        # (account, service) -> (tokens, when they were counted)
        self.buckets: dict[tuple[str, str], tuple[float, float]] = {}
        self.admitted = 0
        self.throttled: Counter[str] = Counter()

    def configure(self, requests_per_second: float, burst: float | None = None, services: list[str] | None = None) -> None:
        """Switches throttling on: ``requests_per_second`` tokens a second per account, at most ``burst`` at once."""
        rate = float(requests_per_second)
        burst = float(burst if burst is not None else max(1.0, rate))
        if rate <= 0 or burst < 1:
            raise ValueError("requestsPerSecond must be > 0 and burst >= 1")
        with self.lock:
            self.enabled, self.rate, self.burst = True, rate, burst
            self.services = frozenset(services or ["ds"])
            self.buckets.clear()
            self.admitted = 0
            self.throttled.clear()

    def disable(self) -> None:
        with self.lock:
            self.enabled = False

    def admits(self, account: str, service: str, operation: str) -> bool:
        """Whether a call may proceed now (a token taken); False: refuse it with ThrottlingException."""
        with self.lock:
            if not self.enabled or service not in self.services:
                return True
            now = self.clock()
            tokens, then = self.buckets.get((account, service), (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.rate)
            if tokens >= 1:
                self.buckets[(account, service)] = (tokens - 1, now)
                self.admitted += 1
                return True
            self.buckets[(account, service)] = (tokens, now)
            self.throttled[f"{service}:{operation}"] += 1
            return False

    def admits_request(self, environ: dict[str, Any], service: str, operation: str) -> bool:
        """``admits`` for a WSGI request, metered against the caller's account (looked up only when it matters)."""
        if not self.enabled or service not in self.services:
            return True
        return self.admits(account_of(environ), service, operation)

    def status(self) -> dict[str, Any]:
        with self.lock:
            return {"enabled": self.enabled, "requestsPerSecond": self.rate, "burst": self.burst,
                    "services": sorted(self.services), "admitted": self.admitted,
                    "throttled": sum(self.throttled.values()), "throttledByOperation": dict(self.throttled)}

    def control(self, method: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The control route ``/_trustflow/throttle``."""
        if method == "POST":
            self.configure(payload["requestsPerSecond"], payload.get("burst"), payload.get("services"))
        elif method == "DELETE":
            self.disable()
        elif method != "GET":
            raise ValueError(f"/_trustflow/throttle: GET, POST or DELETE, not {method}")
        return self.status()


THROTTLE = Throttle()


def account_of(environ: dict[str, Any]) -> str:
    """The account a signed request is metered against."""
    from moto.core import DEFAULT_ACCOUNT_ID

    match = CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    if not match:
        return DEFAULT_ACCOUNT_ID
    access_key = match.group(1)
    if re.fullmatch(r"\d{12}", access_key):
        return access_key
    if environ.get("HTTP_X_AMZ_SECURITY_TOKEN"):
        import iam_enforcement

        # A session of a role of any account (one assumed across accounts too) acts in the role's account.
        role = iam_enforcement.session_of(access_key)
        if role is not None:
            return role.role_arn.split(":")[4]
    return DEFAULT_ACCOUNT_ID
