"""Server-side request forgery guard: which webhook URLs and resolved addresses may be reached.

Checked when a webhook is created or changed, and again at every connection after DNS resolution (the
connection then goes to the very address that was checked, so a name that re-resolves to an internal
address between check and use cannot slip through).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048

# Cloud metadata services that are not covered by the link-local/private ranges everywhere.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)


class UnsafeTarget(ValueError):
    """A URL or an address that webhooks must not reach; str() says why."""


class Unresolvable(OSError):
    """The URL's host name does not resolve (now)."""


def check_url(url: str, allow_private: bool) -> tuple[str, int]:
    """(host, port) of a webhook URL that passes the static rules, or UnsafeTarget saying why not."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeTarget(f"url must be at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeTarget(f"not a valid URL: {exc}") from None
    allowed = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in allowed:
        raise UnsafeTarget("url must use https")
    host = parts.hostname
    if not host:
        raise UnsafeTarget("url must have a host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeTarget("url must not contain credentials")
    if parts.fragment:
        raise UnsafeTarget("url must not contain a fragment")
    try:
        host.encode("idna")
    except UnicodeError:
        raise UnsafeTarget("url has an invalid host name") from None
    return host, port or (443 if parts.scheme == "https" else 80)


def check_address(address: str, allow_private: bool) -> None:
    """UnsafeTarget unless address is a public unicast address (or private ones are allowed)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if allow_private:
        return
    if ip in METADATA_ADDRESSES:
        raise UnsafeTarget(f"url resolves to a metadata address ({ip})")
    for label, flag in (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
    ):
        if flag:
            raise UnsafeTarget(f"url resolves to a {label} address ({ip})")
    if not ip.is_global:
        raise UnsafeTarget(f"url resolves to a non-public address ({ip})")


def resolve(host: str, port: int, allow_private: bool) -> list[str]:
    """Every address host resolves to, each checked; UnsafeTarget if any is refused, Unresolvable if none."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise Unresolvable(f"host {host!r} does not resolve: {exc}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise Unresolvable(f"host {host!r} does not resolve")
    # All, not any: a name with one public and one internal address could be steered to the internal one.
    for address in addresses:
        check_address(address, allow_private)
    return addresses


def check_webhook_url(url: str, allow_private: bool) -> None:
    """The check at creation: static rules, then every resolved address (UnsafeTarget or Unresolvable)."""
    host, port = check_url(url, allow_private)
    resolve(host, port, allow_private)
