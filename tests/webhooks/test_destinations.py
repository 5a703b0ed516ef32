"""The SSRF rule: webhooks go only to http(s) URLs whose host resolves to public addresses
(when private addresses are not allowed, as in production)."""

import socket

import pytest

from webhooks import destinations
from webhooks.destinations import UnsafeDestination, address_refusal, destination_check

REFUSED = [
    "127.0.0.1",
    "127.8.9.10",
    "0.0.0.0",  # noqa: S104
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "169.254.10.10",
    "100.64.0.1",  # shared address space (carrier-grade NAT)
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "192.0.2.1",  # documentation
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd00:ec2::254",
    "ff02::1",
    "::ffff:127.0.0.1",  # IPv4-mapped IPv6
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "2001:db8::1",  # documentation
]
ALLOWED = [
    "93.184.216.34",
    "8.8.8.8",
    "1.1.1.1",
    "2606:4700:4700::1111",
    "2a00:1450:4001:80b::200e",
    "::ffff:8.8.8.8",
]


@pytest.mark.parametrize("address", REFUSED)
def test_it_refuses_addresses_that_are_not_public(address):
    assert address_refusal(address) is not None


@pytest.mark.parametrize("address", ALLOWED)
def test_it_allows_public_addresses(address):
    assert address_refusal(address) is None


def test_the_metadata_address_is_named():
    assert address_refusal("169.254.169.254") == "a cloud metadata address"
    assert address_refusal("fd00:ec2::254") == "a cloud metadata address"


@pytest.fixture
def production_rules(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False


@pytest.fixture
def dns(monkeypatch):
    """Answers for host names, instead of the machine's resolver."""
    answers = {}

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            raise socket.gaierror("no such host")
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in answers[host]
        ]

    monkeypatch.setattr(destinations.socket, "getaddrinfo", getaddrinfo)
    return answers


@pytest.mark.parametrize(
    "url",
    ["ftp://hooks.example.com/", "file:///etc/passwd", "gopher://x/", "https://user:pw@x.com/"],
)
def test_only_plain_http_and_https_urls_are_accepted(url, production_rules):
    with pytest.raises(UnsafeDestination):
        destination_check(url)


def test_a_name_resolving_to_a_private_address_is_refused(production_rules, dns):
    dns["hooks.example.com"] = ["93.184.216.34", "10.0.0.5"]  # one bad answer is enough
    with pytest.raises(UnsafeDestination, match="private"):
        destination_check("https://hooks.example.com/in")


def test_literal_addresses_are_checked_too(production_rules, dns):
    dns["169.254.169.254"] = ["169.254.169.254"]
    dns["::ffff:127.0.0.1"] = ["::ffff:127.0.0.1"]
    with pytest.raises(UnsafeDestination, match="metadata"):
        destination_check("http://169.254.169.254/latest/meta-data/")
    with pytest.raises(UnsafeDestination, match="loopback"):
        destination_check("http://[::ffff:127.0.0.1]/")


def test_production_sends_over_https_only(production_rules, dns):
    dns["hooks.example.com"] = ["2606:4700:4700::1111"]
    with pytest.raises(UnsafeDestination, match="https only"):
        destination_check("http://hooks.example.com/hooks")
    assert destination_check("https://hooks.example.com/hooks").address == "2606:4700:4700::1111"


def test_a_public_name_is_sent_to_the_address_that_was_checked(production_rules, dns):
    dns["hooks.example.com"] = ["2606:4700:4700::1111"]
    destination = destination_check("https://hooks.example.com:8443/in?x=1")
    assert destination.url == "https://[2606:4700:4700::1111]:8443/in?x=1"
    assert destination.host == "hooks.example.com"


def test_an_unknown_host_is_refused(production_rules, dns):
    with pytest.raises(UnsafeDestination, match="could not be resolved"):
        destination_check("https://nowhere.invalid/")


def test_private_addresses_are_allowed_where_the_setting_allows_them(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    assert destination_check("http://127.0.0.1:8000/hooks").address is None
    with pytest.raises(UnsafeDestination):
        destination_check("ftp://127.0.0.1/")
