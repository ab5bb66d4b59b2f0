"""Outbound URL safety (design §8): customer-supplied URLs must not reach our own network.

Two layers, because a name can resolve anywhere and resolve differently later (DNS rebinding):

- when a URL is registered, :func:`check_target` refuses what is visibly local -- IP literals in
  non-public ranges (including the shorthand forms ``127.1`` and ``2130706433`` that resolvers
  accept), ``localhost`` and other local-only names, and single-label hosts that resolve through
  search domains to internal machines;
- when it is used, the sender checks the address it actually connected to with
  :func:`is_public_address` before writing a byte.

Pure: no DNS, no sockets opened. ``allow_private`` (``ZAPGATE_ALLOW_PRIVATE_URLS``) switches the
address rules off for local development and tests; ``allow_loopback``
(``ZAPGATE_ALLOW_LOOPBACK_URLS``, on by default in development) lets through only this machine --
loopback addresses and the name ``localhost`` -- and nothing else private. The syntax rules
always apply.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import SplitResult, urlsplit

from zapgate import errors

MAX_URL_LENGTH = 2048
NOT_ALLOWED = "WEBHOOK_URL_NOT_ALLOWED"
PRIVATE_SETTING = "ZAPGATE_ALLOW_PRIVATE_URLS"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Names that never leave the machine or the local network (RFC 6761, RFC 6762, RFC 8375) and
# the suffix cloud providers use for metadata and internal DNS.
_LOCAL_SUFFIXES = (".localhost", ".local", ".localdomain", ".internal", ".home.arpa")
_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
# NAT64 embeds an IPv4 address in the low 32 bits; the embedded address decides.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def check_target(
    raw: object, *, allow_private: bool, allow_loopback: bool = False, field: str = "url"
) -> str:
    """The URL, stripped, if it may be registered as a webhook target; else raises.

    Malformed input is ``VALIDATION_ERROR`` (with ``details``); a well-formed URL pointing at a
    local or private target is ``WEBHOOK_URL_NOT_ALLOWED``, with a message naming the setting
    that would allow it.
    """
    url = raw.strip() if isinstance(raw, str) else ""
    host = _parse(url, field).hostname or ""
    if allow_private or is_public_host(host) or (allow_loopback and is_loopback_host(host)):
        return url
    raise errors.ValidationFailed(
        f"Webhook URL host {host!r} is a local or private address; webhooks must target a "
        f"public endpoint (set {PRIVATE_SETTING}=1 to allow local and private targets, e.g. "
        "for development or tests)",
        code=NOT_ALLOWED,
    )


def is_loopback_host(host: str) -> bool:
    """True for this machine only: a loopback address literal (127.0.0.0/8, ``::1``, also
    IPv4-mapped) or the name ``localhost``, which resolves from the hosts file, not from DNS."""
    name = host.lower().rstrip(".")
    if name == "localhost":
        return True
    address = literal_address(name)
    return address is not None and is_loopback_address(address)


def is_loopback_address(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def hostname(url: str) -> str:
    """The lowercased host of a URL that passed :func:`check_target`."""
    return urlsplit(url).hostname or ""


def is_http_url(url: str) -> bool:
    """An absolute http(s) URL with a host, a valid port, no whitespace or control characters
    (never raises, whatever the text)."""
    return _syntax_problem(url) is None


def _parse(url: str, field: str) -> SplitResult:
    problem = _syntax_problem(url)
    if problem is not None:
        raise errors.ValidationFailed(
            f"Invalid {field}: {problem}", details=[{"field": field, "message": problem}]
        )
    return urlsplit(url)


def _syntax_problem(url: str) -> str | None:
    if not url:
        return "required, an http(s) URL"
    if len(url) > MAX_URL_LENGTH:
        return f"at most {MAX_URL_LENGTH} characters"
    if any(ch.isspace() or ord(ch) < 0x20 for ch in url):
        return "must not contain whitespace or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a non-numeric or out-of-range port
    except ValueError:
        return "not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "scheme must be http or https"
    if not parts.hostname:
        return "host is missing"
    if port == 0:
        return "port 0 is not allowed"
    return None


def is_public_host(host: str) -> bool:
    """False for hosts that are visibly local: non-public IP literals and local-only names."""
    name = host.lower().rstrip(".")
    address = literal_address(name)
    if address is not None:
        return is_public_address(address)
    if not name or name in _LOCAL_NAMES or name.endswith(_LOCAL_SUFFIXES):
        return False
    # A single label ("intranet", "db") resolves through search domains, i.e. internally.
    return "." in name


def literal_address(host: str) -> IPAddress | None:
    """The address a host names literally, in any form a resolver would accept, or None."""
    text = host.strip("[]")
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        pass
    if not text or not all(ch in "0123456789abcdefxABCDEFX." for ch in text):
        return None
    try:
        # inet_aton takes the classic shorthands (127.1, 0x7f.0.0.1, 2130706433) that
        # getaddrinfo also resolves; ipaddress rejects them, so they would slip through.
        return ipaddress.IPv4Address(socket.inet_aton(text))
    except OSError:
        return None


def is_public_address(address: IPAddress) -> bool:
    """True only for globally routable unicast addresses."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_public_address(embedded)
    return address.is_global and not address.is_multicast


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def parse_address(text: str) -> IPAddress | None:
    """A socket peer address (``"10.0.0.1"``, ``"fe80::1%eth0"``) as an address, or None."""
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
