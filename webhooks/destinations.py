"""Where a webhook may be sent: http(s) URLs whose host resolves only to public addresses.

A tenant chooses the URL, so without this check the platform could be made to call its own
network: the database, Redis, the cloud's metadata service (SSRF). The check runs when an
endpoint is registered or changed, and again before every attempt after resolving the host
name; the request then goes to the address that was checked (``Destination``), so a name
that resolves to something else a moment later (DNS rebinding) cannot slip through.

``WEBHOOKS_ALLOW_PRIVATE`` (on in development and tests, off in production) lifts the address
rule for receivers on the local machine or network, and lets them use plain http; otherwise
only https URLs are accepted.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.core.exceptions import ValidationError

ALLOWED_SCHEMES = frozenset({"http", "https"})

# Cloud metadata services, named although the ranges below already cover them: what an
# attacker aims for first.
METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, Fly...
        ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    }
)


class UnsafeDestination(ValidationError):
    """A webhook URL the platform will not call."""


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def address_refusal(address: IPAddress | str) -> str | None:
    """Why the platform must not connect to ``address``, or None when it is a public one.

    IPv4 addresses embedded in IPv6 ones (IPv4-mapped ``::ffff:a.b.c.d``, 6to4, Teredo,
    NAT64) are judged as the IPv4 address they reach."""
    address = ipaddress.ip_address(address)
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return address_refusal(embedded)
    checks = (
        ("unspecified", address.is_unspecified),
        ("a loopback address", address.is_loopback),
        ("a link-local address", address.is_link_local),
        ("a multicast address", address.is_multicast),
        ("a private address", address.is_private),
        ("a reserved address", address.is_reserved),
        # Shared address space (carrier-grade NAT), documentation ranges and the like: not
        # private in name, but not on the public internet either.
        ("not a public address", not address.is_global),
    )
    for reason, applies in checks:
        if applies:
            return reason
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # the client's address
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def url_refusal(url: str) -> str | None:
    """What is wrong with ``url`` on its face (scheme, host, credentials), before any
    resolving; None if nothing is."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return "The URL is not valid."
    if parts.scheme not in ALLOWED_SCHEMES:
        return "Only http and https URLs can receive webhooks."
    if not parts.hostname:
        return "The URL has no host."
    if parts.username or parts.password:
        return "The URL must not carry a user name or password; the signature authenticates."
    return None


def public_scheme_refusal(scheme: str) -> str | None:
    """Over the public internet (production) payloads - ids, and for endpoints that opted in
    the candidate's words - travel encrypted."""
    return None if scheme == "https" else "Webhooks are sent over https only."


@dataclass(frozen=True)
class Destination:
    """Where to send: ``url`` with its host replaced by a checked address (or the URL as given
    when private addresses are allowed), and the host name for the Host header and TLS."""

    url: str
    host: str
    address: str | None


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeDestination(f"The host {host!r} could not be resolved.") from exc
    return list(dict.fromkeys(info[4][0] for info in infos))


def destination_check(url: str) -> Destination:
    """Check ``url`` and resolve its host: every address it resolves to must be public (one
    private address among public ones is refused too: the connection could go to either).
    Returns where to connect; raises UnsafeDestination."""
    refusal = url_refusal(url)
    if refusal:
        raise UnsafeDestination(refusal)
    parts = urlsplit(url)
    host = parts.hostname
    if settings.WEBHOOKS_ALLOW_PRIVATE:
        return Destination(url=url, host=host, address=None)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = _resolve(host, port)
    if not addresses:
        raise UnsafeDestination(f"The host {host!r} could not be resolved.")
    for address in addresses:
        reason = address_refusal(address.split("%", 1)[0])  # an IPv6 zone id is no address
        if reason:
            raise UnsafeDestination(
                f"Webhooks are sent only to public addresses; {host} resolves to {reason}."
            )
    refusal = public_scheme_refusal(parts.scheme)
    if refusal:
        raise UnsafeDestination(refusal)
    chosen = addresses[0]
    literal = f"[{chosen}]" if ":" in chosen else chosen
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    return Destination(url=urlunsplit(parts._replace(netloc=netloc)), host=host, address=chosen)
