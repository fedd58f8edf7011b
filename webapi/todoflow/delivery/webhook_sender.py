"""Sends one webhook delivery: signed POST to the checked address, no redirects, 10 s to answer."""

from __future__ import annotations

import json
import logging
import time
import typing
import uuid
from typing import Any

import httpcore
import httpx

from todoflow.delivery import policy, signing, targets

log = logging.getLogger(__name__)

USER_AGENT = "todoflow-webhooks/1"
MAX_RESPONSE_BYTES = 64 * 1024


class CheckedBackend(httpcore.NetworkBackend):
    """The socket backend of httpcore, but every connection checks each address of its host first.

    It then connects to exactly those addresses (no second lookup that could return something else).
    """

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private
        self.inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        """A stream to the first checked address of host that accepts; UnsafeTarget if none is allowed."""
        last: Exception | None = None
        for address in targets.resolve(host, port, self.allow_private):
            try:
                return self.inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None) -> Any:
        """Always UnsafeTarget: a webhook goes to a TCP address."""
        raise targets.UnsafeTarget("unix sockets are not webhook targets")

    def sleep(self, seconds: float) -> None:
        """Sleep for seconds (httpcore's backend interface)."""
        time.sleep(seconds)


class CheckedTransport(httpx.HTTPTransport):
    """httpx's transport over CheckedBackend (httpx takes no network backend, so its pool is rebuilt here)."""

    def __init__(self, allow_private: bool, max_connections: int) -> None:
        super().__init__(limits=httpx.Limits(max_connections=max_connections), trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=30.0,
            network_backend=CheckedBackend(allow_private),
        )


def make_client(allow_private: bool, timeout: float, max_connections: int = 100) -> httpx.Client:
    """One client per process: thread-safe, keeps connections alive, never follows redirects, ignores proxies."""
    return httpx.Client(
        transport=CheckedTransport(allow_private, max_connections),
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": USER_AGENT},
    )


def _drain(response: httpx.Response) -> None:
    """Read a small answer to its end so the connection can be reused; a large one is cut off (never downloaded)."""
    read = 0
    for chunk in response.iter_raw():
        read += len(chunk)
        if read > MAX_RESPONSE_BYTES:
            break


def body_of(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed): the event envelope as compact JSON."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def send(
    client: httpx.Client,
    url: str,
    secret: str,
    delivery_id: uuid.UUID,
    event_type: str,
    payload: dict[str, Any],
    allow_private: bool,
) -> policy.Outcome:
    """POST the event; the outcome says delivered, retry or failed, with the status or error."""
    started = time.monotonic()
    try:
        targets.check_url(url, allow_private)
        body = body_of(payload)
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "X-Todoflow-Event": event_type,
            "X-Todoflow-Delivery": str(delivery_id),
            "X-Todoflow-Timestamp": str(timestamp),
            "X-Todoflow-Signature": signing.signature(secret, timestamp, body),
        }
        with client.stream("POST", url, content=body, headers=headers) as response:
            outcome = policy.classify_status(response.status_code, response.headers.get("Retry-After"))
            _drain(response)
    except targets.UnsafeTarget as exc:
        outcome = policy.Outcome(policy.FAILED, None, f"refused target: {exc}")
    except targets.Unresolvable as exc:
        outcome = policy.Outcome(policy.RETRY, None, str(exc))
    except httpx.TimeoutException as exc:
        outcome = policy.Outcome(policy.RETRY, None, f"timeout: {type(exc).__name__}")
    except httpx.TransportError as exc:
        outcome = policy.Outcome(policy.RETRY, None, f"{type(exc).__name__}: {exc}"[:500])
    except httpx.HTTPError as exc:
        outcome = policy.Outcome(policy.FAILED, None, f"{type(exc).__name__}: {exc}"[:500])
    except Exception as exc:  # noqa: BLE001 - one endpoint's oddity (a URL httpx refuses) fails that delivery only
        outcome = policy.Outcome(policy.FAILED, None, f"{type(exc).__name__}: {exc}"[:500])
    return policy.Outcome(
        outcome.kind, outcome.status_code, outcome.error, outcome.retry_after, time.monotonic() - started
    )
