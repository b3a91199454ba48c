"""HTTPS for the simulator under Teslemetry's host names, so clients that only talk to
``https://*.teslemetry.com`` (teslemetry-stream) reach it unchanged.

A certificate authority made once per process signs a server certificate for ``teslemetry.com``,
``*.teslemetry.com`` and 127.0.0.1. Clients trust that authority through ``client_context()``
and find the simulator through ``TeslemetryResolver``, which answers every Teslemetry host name
with the simulator's address and TLS port; any other name is refused, so nothing leaves the
machine.

`TlsFront` ends TLS and pipes each connection to the simulator's plain port. On the way it drops
one thing: the chunk terminator ``0\r\n\r\n`` that aiohttp's client writes after a GET without
a body when asked for ``chunked=True`` (as teslemetry-stream connects), with no
Transfer-Encoding header to announce it (aio-libs/aiohttp#13739). Teslemetry's servers take such
a request; aiohttp's server would read the terminator as a second request and answer 400.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from functools import cache
import ipaddress
from pathlib import Path
import socket
import ssl
import tempfile
from typing import Final

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

TESLEMETRY_DOMAIN: Final = "teslemetry.com"
_STRAY_TERMINATOR: Final = b"0\r\n\r\n"
_HEADERS_END: Final = b"\r\n\r\n"


def is_teslemetry_host(host: str) -> bool:
    """Whether ``host`` is teslemetry.com or one of its subdomains (api., eu., na.)."""
    host = host.rstrip(".").lower()
    return host == TESLEMETRY_DOMAIN or host.endswith("." + TESLEMETRY_DOMAIN)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_usage(*, signs_certificates: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not signs_certificates,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=signs_certificates,
        crl_sign=signs_certificates,
        encipher_only=False,
        decipher_only=False,
    )


@cache
def _material() -> tuple[bytes, Path, Path]:
    """The authority's certificate (PEM) and the server's certificate and key files."""
    now = dt.datetime.now(dt.UTC)
    start, end = now - dt.timedelta(days=1), now + dt.timedelta(days=3650)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("fleet_sim test authority")
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    authority = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(signs_certificates=True), critical=True)
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [
        x509.DNSName(TESLEMETRY_DOMAIN),
        x509.DNSName("*." + TESLEMETRY_DOMAIN),
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    server = (
        x509.CertificateBuilder()
        .subject_name(_name("api." + TESLEMETRY_DOMAIN))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(signs_certificates=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    # ssl loads a certificate chain only from files: a directory of this process's own.
    directory = Path(tempfile.mkdtemp(prefix="fleet_sim_tls_"))
    cert_file, key_file = directory / "server.crt", directory / "server.key"
    cert_file.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
    return authority.public_bytes(serialization.Encoding.PEM), cert_file, key_file


def authority_pem() -> bytes:
    """The certificate of the authority that signs the simulator's server certificate."""
    return _material()[0]


def server_context() -> ssl.SSLContext:
    """The simulator's server-side TLS context."""
    _, cert_file, key_file = _material()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


def client_context() -> ssl.SSLContext:
    """A client TLS context that verifies the simulator's certificate (and trusts nothing else)."""
    return ssl.create_default_context(cadata=authority_pem().decode("ascii"))


class TeslemetryResolver(AbstractResolver):
    """Answers every Teslemetry host name with the simulator's TLS address; refuses the rest."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The simulator for Teslemetry's names; OSError for anything else."""
        if not is_teslemetry_host(host):
            raise OSError(f"fleet_sim resolves only {TESLEMETRY_DOMAIN} names, not {host}")
        return [
            {
                "hostname": host,
                "host": self.host,
                "port": self.port,
                "family": socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
        ]

    async def close(self) -> None:
        """Nothing to release."""


def teslemetry_connector(host: str, port: int) -> aiohttp.TCPConnector:
    """A connector that sends Teslemetry's host names to the simulator at host:port (TLS)."""
    return aiohttp.TCPConnector(resolver=TeslemetryResolver(host, port), ssl=client_context())


class StrayTerminatorFilter:
    """Client-to-server bytes of one connection, minus a chunk terminator that follows a request
    without a body. Bodies sized by Content-Length pass untouched; after a chunked body (whose
    own end the filter does not track) everything passes."""

    def __init__(self) -> None:
        self._buffer = b""
        self._body_left = 0
        self._after_bodyless = False
        self._passthrough = False

    def feed(self, data: bytes) -> bytes:
        """The bytes to forward for ``data`` (some may be held back until more arrive)."""
        if self._passthrough:
            return data
        self._buffer += data
        out = bytearray()
        while self._buffer:
            if self._body_left:
                part = self._buffer[: self._body_left]
                out += part
                self._body_left -= len(part)
                self._buffer = self._buffer[len(part) :]
                continue
            if self._after_bodyless:
                if _STRAY_TERMINATOR.startswith(self._buffer):
                    break  # maybe the terminator, not all here yet
                if self._buffer.startswith(_STRAY_TERMINATOR):
                    self._buffer = self._buffer[len(_STRAY_TERMINATOR) :]
                self._after_bodyless = False
                continue
            end = self._buffer.find(_HEADERS_END)
            if end < 0:
                break
            head = self._buffer[: end + len(_HEADERS_END)]
            out += head
            self._buffer = self._buffer[len(head) :]
            if self._start_body(head):
                self._passthrough = True
                out += self._buffer
                self._buffer = b""
                break
        return bytes(out)

    def _start_body(self, head: bytes) -> bool:
        """Expect the body ``head`` announces; True for a chunked one (not followed)."""
        headers = {}
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip().lower()
        if b"transfer-encoding" in headers:
            return True
        length = headers.get(b"content-length", b"0")
        self._body_left = int(length) if length.isdigit() else 0
        self._after_bodyless = self._body_left == 0
        return False


class TlsFront:
    """HTTPS in front of the simulator's plain HTTP port, in the simulator's own event loop."""

    def __init__(self, target: tuple[str, int]) -> None:
        self._target = target
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    async def start(self, host: str) -> tuple[str, int]:
        """Listen on a free port of ``host``; returns the bound address."""
        self._server = await asyncio.start_server(self._connection, host, 0, ssl=server_context())
        address = self._server.sockets[0].getsockname()
        return str(address[0]), int(address[1])

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.close()
            return
        pipes = [
            asyncio.ensure_future(self._pipe(reader, upstream_writer, StrayTerminatorFilter())),
            asyncio.ensure_future(self._pipe(upstream_reader, writer, None)),
        ]
        self._pipes.update(pipes)
        try:
            # When one side ends, the other has nothing left to say either.
            await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pipe in pipes:
                pipe.cancel()
            await asyncio.gather(*pipes, return_exceptions=True)
            self._pipes.difference_update(pipes)
            for side in (writer, upstream_writer):
                side.close()

    @staticmethod
    async def _pipe(
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        stray_filter: StrayTerminatorFilter | None,
    ) -> None:
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            while data := await reader.read(65536):
                if stray_filter is not None:
                    data = stray_filter.feed(data)
                writer.write(data)
                await writer.drain()

    async def close(self) -> None:
        """Stop listening and end every open connection."""
        if self._server is None:
            return
        server, self._server = self._server, None
        server.close()
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)
        server.close_clients()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1):
                await server.wait_closed()
