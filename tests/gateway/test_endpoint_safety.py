"""Calls out of the gateway cannot be turned against it (issue 9, item 7): a holder credential and a webhook secret
come only from variables with their fixed prefix, and holder and webhook URLs reach only https at public (or
explicitly allowed) addresses, checked on save and again at every call, connecting to the address that was checked.
No test here sends a packet beyond this machine: host names are answered by a fake resolver."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.forms import modelform_factory
from django.test import override_settings
from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from consent.choices import HolderKind
from consent.models import Organisation
from gateway import webhooks
from gateway.holders import HolderUnavailable, holder_fetch, http
from gateway.models import HolderEndpoint, WebhookEndpoint
from gateway.outbound import (
    HOLDER_CREDENTIAL_PREFIX,
    WEBHOOK_SECRET_PREFIX,
    OutboundRefused,
    address_allowed,
    outbound_target,
    secret_from_env,
    validate_holder_credential_env,
    validate_webhook_secret_env,
)
from tests.gateway.test_holder_fetch import Holder
from tests.gateway.test_webhooks import Receiver

PUBLIC = "93.184.216.34"  # answered by the fake resolver only; nothing connects to it

# Model forms of URL fields (as the admin's) warn about Django 6's https default; the scheme is checked here anyway.
pytestmark = pytest.mark.filterwarnings("ignore:The default scheme will be changed")


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, Callable[[], list[str]]]:
    """A resolver for the test's own host names (``dns["holder.test"] = lambda: ["127.0.0.1"]``); IP literals and
    ``localhost`` go to the system's resolver, which answers them without the network."""
    answers: dict[str, Callable[[], list[str]]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name not in answers:
            return real(host, port, *args, **kwargs)
        port_number = int(port or 0)
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, port_number, 0, 0))
            if ":" in a
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port_number))
            for a in answers[name]()
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


@pytest.fixture
def production_outbound(settings: Any) -> Any:
    """Outbound rules as in production: https only, no network allowed beyond the public ones."""
    settings.GATEWAY_DEMO = False
    settings.GATEWAY_OUTBOUND_ALLOW_HTTP = False
    settings.GATEWAY_OUTBOUND_ALLOWED_NETWORKS = ()
    return settings


# --- Secrets only from prefixed variables --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "ok"),
    [
        ("credential_env", "VD_HOLDER_CREDENTIAL_POLITIE_ROTTERDAM", True),
        ("credential_env", "", True),
        ("credential_env", "GATEWAY_PSEUDONYM_KEY", False),
        ("credential_env", "SECRET_KEY", False),
        ("credential_env", "DATABASE_URL", False),
        ("credential_env", "VD_HOLDER_CREDENTIAL_", False),
        ("credential_env", "vd_holder_credential_police", False),
        ("credential_env", "VD_HOLDER_CREDENTIAL_POLICE-1", False),
        ("credential_env", "VD_WEBHOOK_SECRET_POLICE", False),
        ("credential_env", "XVD_HOLDER_CREDENTIAL_POLICE", False),
    ],
)
def test_the_holder_endpoint_form_accepts_only_prefixed_credentials(db: Any, field: str, value: str, ok: bool) -> None:
    """The admin's form for the model refuses another variable (as the admin does, through model validation)."""
    endpoint = HolderEndpoint.objects.filter(organisation__slug="politie-rotterdam").first()
    form_class = modelform_factory(HolderEndpoint, fields=["organisation", "kind", "url", "credential_env", "active"])
    data = {"organisation": endpoint.organisation_id, "kind": HolderKind.BUILTIN, "url": "", field: value}
    data["active"] = "on"
    form = form_class(data=data, instance=endpoint)
    assert form.is_valid() is ok, form.errors
    if not ok:
        assert field in form.errors


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("VD_WEBHOOK_SECRET_VEILIG_THUIS_RR", True),
        ("", False),
        ("GATEWAY_PSEUDONYM_KEY", False),
        ("VD_HOLDER_CREDENTIAL_VEILIG_THUIS_RR", False),
        ("VD_WEBHOOK_SECRET_", False),
    ],
)
def test_the_webhook_form_accepts_only_prefixed_secrets(db: Any, dns: Any, value: str, ok: bool) -> None:
    dns["hooks.veilig-thuis.example"] = lambda: [PUBLIC]
    form_class = modelform_factory(WebhookEndpoint, fields=["organisation", "url", "secret_env", "active"])
    organisation = Organisation.objects.get(slug="veilig-thuis-rr")
    form = form_class(
        data={
            "organisation": organisation.pk,
            "url": "https://hooks.veilig-thuis.example/veilig-delen",
            "secret_env": value,
            "active": "on",
        }
    )
    assert form.is_valid() is ok, form.errors
    if not ok:
        assert "secret_env" in form.errors


def test_no_other_variable_of_the_environment_can_be_sent_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """The general guard: whatever is in this process's environment (the gateway's keys, the database URL,
    PATH, ...), only a name with the kind's prefix is ever read, and the other kind's prefix does not count."""
    monkeypatch.setenv("VD_HOLDER_CREDENTIAL_X", "holder-credential")
    monkeypatch.setenv("VD_WEBHOOK_SECRET_X", "webhook-secret")
    checked = 0
    for name in os.environ:
        for prefix, validator in (
            (HOLDER_CREDENTIAL_PREFIX, validate_holder_credential_env),
            (WEBHOOK_SECRET_PREFIX, validate_webhook_secret_env),
        ):
            if name.startswith(prefix):
                assert secret_from_env(name, prefix=prefix)
                continue
            with pytest.raises(OutboundRefused):
                secret_from_env(name, prefix=prefix)
            with pytest.raises(ValidationError):
                validator(name)
            checked += 1
    assert checked >= 2 * 3  # SECRET_KEY, GATEWAY_PSEUDONYM_KEY, DATABASE_URL at least


@given(name=st.text(max_size=80))
def test_a_name_without_the_prefix_is_never_read(name: str) -> None:
    for prefix in (HOLDER_CREDENTIAL_PREFIX, WEBHOOK_SECRET_PREFIX):
        assume(not name.startswith(prefix))
        with pytest.raises(OutboundRefused):
            secret_from_env(name, prefix=prefix)


def test_a_holder_row_written_past_the_admin_sends_no_other_variable(db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check is repeated where the value is read: nothing is sent, the category is an error."""
    server = Holder()
    try:
        HolderEndpoint.objects.filter(organisation__slug="politie-rotterdam").update(
            kind=HolderKind.HTTP, url=server.url, credential_env="GATEWAY_PSEUDONYM_KEY", timeout_seconds=0.5
        )
        with pytest.raises(HolderUnavailable, match="credential"):
            holder_fetch(
                holder="politie-rotterdam",
                category="police_incidents",
                field_types=(("date", "date"),),
                request_id="req_x",
                bsn="999990019",
                purpose="vt_safety_assessment",
            )
        assert server.received == []
    finally:
        server.close()


def test_a_webhook_row_written_past_the_admin_sends_no_other_variable(db: Any) -> None:
    receiver = Receiver()
    try:
        organisation = Organisation.objects.get(slug="veilig-thuis-rr")
        WebhookEndpoint.objects.create(organisation=organisation, url=receiver.url, secret_env="SECRET_KEY")
        delivery = webhooks.webhook_enqueue(organisation=organisation, event="request.updated", payload={})
        assert delivery is not None
        assert webhooks.webhook_send(delivery.id) == "pending"
        delivery.refresh_from_db()
        assert delivery.last_error.startswith("refused:")
        assert receiver.calls == []
    finally:
        receiver.server.shutdown()


def test_an_internal_holder_url_written_past_the_admin_is_not_called(
    db: Any, production_outbound: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checked again at call time: a row pointing at the gateway's own machine gets no request at all."""
    monkeypatch.setenv("VD_HOLDER_CREDENTIAL_POLITIE_ROTTERDAM", "holder-credential-123")
    server = Holder()
    try:
        for url in (server.url, server.url.replace("http://", "https://")):
            HolderEndpoint.objects.filter(organisation__slug="politie-rotterdam").update(
                kind=HolderKind.HTTP,
                url=url,
                credential_env="VD_HOLDER_CREDENTIAL_POLITIE_ROTTERDAM",
                timeout_seconds=0.5,
            )
            with pytest.raises(HolderUnavailable, match="cannot be called"):
                holder_fetch(
                    holder="politie-rotterdam",
                    category="police_incidents",
                    field_types=(("date", "date"),),
                    request_id="req_x",
                    bsn="999990019",
                    purpose="vt_safety_assessment",
                )
        assert server.received == []
    finally:
        server.close()


def test_an_internal_webhook_url_written_past_the_admin_is_not_called(
    db: Any, production_outbound: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VD_WEBHOOK_SECRET_VEILIG_THUIS_RR", "whsec-test-0123456789")
    receiver = Receiver()
    try:
        organisation = Organisation.objects.get(slug="veilig-thuis-rr")
        WebhookEndpoint.objects.create(
            organisation=organisation, url=receiver.url, secret_env="VD_WEBHOOK_SECRET_VEILIG_THUIS_RR"
        )
        delivery = webhooks.webhook_enqueue(organisation=organisation, event="request.updated", payload={})
        assert delivery is not None
        assert webhooks.webhook_send(delivery.id) == "pending"
        delivery.refresh_from_db()
        assert delivery.last_error.startswith("refused:")
        assert receiver.calls == []
    finally:
        receiver.server.shutdown()


# --- Where a call may go -------------------------------------------------------------------------------------


REFUSED_URLS = [
    "http://holder.example.nl/fetch",  # plain http outside demo mode
    "ftp://holder.example.nl/fetch",
    "https://user:secret@holder.example.nl/fetch",
    "https:///fetch",
    "not a url",
    "https://127.0.0.1/fetch",
    "https://127.1/fetch",
    "https://2130706433/fetch",
    "https://0x7f000001/fetch",
    "https://localhost/fetch",
    "https://[::1]/fetch",
    "https://[::ffff:127.0.0.1]/fetch",
    "https://[::ffff:a9fe:a9fe]/fetch",
    "https://169.254.169.254/latest/meta-data/",
    "https://[fe80::1]/fetch",
    "https://10.0.0.5/fetch",
    "https://172.16.0.1/fetch",
    "https://192.168.1.1/fetch",
    "https://100.64.0.1/fetch",
    "https://192.0.2.10/fetch",
    "https://0.0.0.0/fetch",
    "https://[::]/fetch",
    "https://224.0.0.1/fetch",
    "https://240.0.0.1/fetch",
    "https://255.255.255.255/fetch",
    "https://[fc00::1]/fetch",
    "https://[ff02::1]/fetch",
    "https://[2002:7f00:1::1]/fetch",  # 6to4 around 127.0.0.1
    "https://[64:ff9b::a9fe:a9fe]/fetch",  # NAT64 around 169.254.169.254
    "https://internal.example.nl/fetch",  # resolves to a private address
    "https://mixed.example.nl/fetch",  # one public and one internal address
    "https://nowhere.example.nl/fetch",  # does not resolve
]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_internal_and_plain_urls_are_refused(production_outbound: Any, dns: Any, url: str) -> None:
    dns["holder.example.nl"] = lambda: [PUBLIC]
    dns["internal.example.nl"] = lambda: ["10.1.2.3"]
    dns["mixed.example.nl"] = lambda: [PUBLIC, "10.1.2.3"]
    dns["nowhere.example.nl"] = lambda: []
    with pytest.raises(OutboundRefused):
        outbound_target(url)


@pytest.mark.parametrize("url", REFUSED_URLS[:3] + REFUSED_URLS[5:12] + REFUSED_URLS[-3:-1])
def test_the_endpoint_forms_refuse_those_urls(db: Any, production_outbound: Any, dns: Any, url: str) -> None:
    dns["holder.example.nl"] = lambda: [PUBLIC]
    dns["internal.example.nl"] = lambda: ["10.1.2.3"]
    dns["mixed.example.nl"] = lambda: [PUBLIC, "10.1.2.3"]
    endpoint = HolderEndpoint.objects.filter(organisation__slug="politie-rotterdam").first()
    form_class = modelform_factory(HolderEndpoint, fields=["url"])
    assert "url" in form_class(data={"url": url}, instance=endpoint).errors
    webhook_form = modelform_factory(WebhookEndpoint, fields=["url"])
    assert "url" in webhook_form(data={"url": url}).errors


def test_a_public_host_is_pinned_to_its_checked_address(production_outbound: Any, dns: Any) -> None:
    dns["holder.example.nl"] = lambda: [PUBLIC]
    target = outbound_target("https://holder.example.nl:8443/veilig-delen/fetch?x=1")
    assert str(target.url) == f"https://{PUBLIC}:8443/veilig-delen/fetch?x=1"
    assert target.headers == {"Host": "holder.example.nl:8443"}
    assert target.extensions == {"sni_hostname": "holder.example.nl"}
    literal = outbound_target("https://[2a00:1450:4001::1]/fetch")
    assert literal.extensions == {} and literal.headers == {"Host": "[2a00:1450:4001::1]"}


def test_an_allowed_network_opens_only_itself(production_outbound: Any, dns: Any) -> None:
    production_outbound.GATEWAY_OUTBOUND_ALLOWED_NETWORKS = ("10.20.0.0/16",)
    dns["holder.gemeente.internal"] = lambda: ["10.20.1.5"]
    assert str(outbound_target("https://holder.gemeente.internal/fetch").address) == "10.20.1.5"
    assert str(outbound_target("https://[::ffff:10.20.1.6]/fetch").address) == "10.20.1.6"
    with pytest.raises(OutboundRefused):
        outbound_target("https://10.21.0.1/fetch")
    with pytest.raises(OutboundRefused):
        outbound_target("http://holder.gemeente.internal/fetch")


def test_plain_http_is_allowed_in_demo_mode_only(production_outbound: Any, dns: Any) -> None:
    dns["holder.example.nl"] = lambda: [PUBLIC]
    production_outbound.GATEWAY_DEMO = True
    assert outbound_target("http://holder.example.nl/fetch").extensions == {}
    production_outbound.GATEWAY_DEMO = False
    with pytest.raises(OutboundRefused):
        outbound_target("http://holder.example.nl/fetch")


NON_PUBLIC_NETWORKS = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "::/128",
    "::1/128",
    "64:ff9b::/96",
    "100::/64",
    "2001:db8::/32",
    "fc00::/7",
    "fe80::/10",
    "ff00::/8",
]


@override_settings(GATEWAY_OUTBOUND_ALLOWED_NETWORKS=())
@hypothesis_settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    address=st.sampled_from(NON_PUBLIC_NETWORKS).flatmap(
        lambda network: st.ip_addresses(network=ipaddress.ip_network(network))
    )
)
def test_no_address_of_a_non_public_network_is_allowed(address: Any) -> None:
    """The general guard over the address space: loopback, private, shared, link-local, documentation,
    benchmarking, multicast, reserved and unspecified, in IPv4 and IPv6, and each IPv4 one also IPv4-mapped and
    wrapped in 6to4 (an IPv4-mapped address is judged as the IPv4 address it is)."""
    assert not address_allowed(address)
    if address.version == 4:
        assert not address_allowed(ipaddress.IPv6Address(f"::ffff:{address}"))
        assert not address_allowed(ipaddress.IPv6Address((0x2002 << 112) | (int(address) << 80) | 1))


@override_settings(GATEWAY_OUTBOUND_ALLOWED_NETWORKS=())
@given(
    address=st.sampled_from(["145.0.0.0/8", "8.8.0.0/16", "2a00::/16", "2001:4860::/32"]).flatmap(
        lambda network: st.ip_addresses(network=ipaddress.ip_network(network))
    )
)
def test_public_addresses_are_allowed(address: Any) -> None:
    assert address_allowed(address)


# --- The connection goes to the checked address --------------------------------------------------------------


def test_the_call_goes_to_the_address_that_was_checked(db: Any, dns: Any, settings: Any) -> None:
    """DNS rebinding: the first answer (checked) is the holder; every later answer points elsewhere. The call
    must use the checked address and not ask the resolver again."""
    settings.GATEWAY_OUTBOUND_ALLOWED_NETWORKS = ("127.0.0.1/32",)
    answers = iter([["127.0.0.1"]])
    lookups: list[str] = []

    def rebinding() -> list[str]:
        lookups.append("holder.test")
        return next(answers, ["127.0.0.2"])

    dns["holder.test"] = rebinding
    server = Holder()
    try:
        server.script.append((200, {"data": {"date": "2026-11-02"}}, 0.0))
        port = server.server.server_address[1]
        data = http.fetch(
            url=f"http://holder.test:{port}/veilig-delen/fetch", credential_env="", timeout=2, retries=0, payload={}
        )
        assert data == {"date": "2026-11-02"}
        assert lookups == ["holder.test"]
        assert server.headers[0]["Host"] == f"holder.test:{port}"
    finally:
        server.close()


class TLSHolder:
    """An https holder on 127.0.0.1 with a self-signed certificate for ``name``; records the TLS server name."""

    def __init__(self, tmp_path: Path, name: str) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = dt.datetime.now(dt.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        self.cert_file = tmp_path / f"{name}.pem"
        self.cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_file = tmp_path / f"{name}.key"
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        self.server_names: list[str | None] = []
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, key_file)
        context.sni_callback = lambda sock, server_name, ctx: self.server_names.append(server_name)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = b'{"data": {"date": "2026-11-02"}}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def tls_holder(tmp_path: Path, dns: Any, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[TLSHolder]:
    settings.GATEWAY_OUTBOUND_ALLOW_HTTP = False
    settings.GATEWAY_OUTBOUND_ALLOWED_NETWORKS = ("127.0.0.1/32",)
    dns["holder.test"] = lambda: ["127.0.0.1"]
    dns["other.test"] = lambda: ["127.0.0.1"]
    holder = TLSHolder(tmp_path, "holder.test")
    monkeypatch.setenv("SSL_CERT_FILE", str(holder.cert_file))  # httpx trusts the test's certificate only
    yield holder
    holder.server.shutdown()


def test_tls_is_verified_against_the_host_name_while_connecting_to_the_checked_address(tls_holder: TLSHolder) -> None:
    data = http.fetch(
        url=f"https://holder.test:{tls_holder.port}/fetch", credential_env="", timeout=2, retries=0, payload={}
    )
    assert data == {"date": "2026-11-02"}
    assert tls_holder.server_names == ["holder.test"]


def test_a_certificate_for_another_name_is_refused(tls_holder: TLSHolder) -> None:
    with pytest.raises(HolderUnavailable):
        http.fetch(
            url=f"https://other.test:{tls_holder.port}/fetch", credential_env="", timeout=2, retries=0, payload={}
        )
