"""A simulator served over HTTPS with a self-signed certificate, as a tesla-http-proxy usually is."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
import datetime as dt
import ipaddress
from pathlib import Path
import ssl
import threading
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from yarl import URL

from fleet_sim import Simulator


def self_signed_context(directory: Path) -> ssl.SSLContext:
    """A server TLS context with a fresh self-signed certificate for 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tesla-http-proxy.local")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "proxy.crt", directory / "proxy.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


class TlsFront:
    """A TLS front for the simulator in a thread of its own, with its own event loop: the machine
    a tesla-http-proxy runs on. Each connection is decrypted and piped to the simulator's plain
    HTTP port. A client that refuses the certificate resets the connection during the handshake;
    that error belongs to this server's loop (it is counted in `refused_handshakes`), not to Home
    Assistant's, whose test harness fails a test for every error its loop reports."""

    def __init__(self, target: tuple[str, int], context: ssl.SSLContext) -> None:
        self._target = target
        self._context = context
        self._loop = asyncio.new_event_loop()
        self._loop.set_exception_handler(self._on_loop_error)
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self.refused_handshakes = 0

    def _on_loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if isinstance(context.get("exception"), (ConnectionResetError, ssl.SSLError)):
            self.refused_handshakes += 1
        else:
            loop.default_exception_handler(context)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
        )

    async def _start(self) -> int:
        self._server = await asyncio.start_server(
            self._connection, "127.0.0.1", 0, ssl=self._context
        )
        return int(self._server.sockets[0].getsockname()[1])

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        self._server.close_clients()
        # Connections the client kept open (keep-alive) end with the server.
        connections = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in connections:
            task.cancel()
        await asyncio.gather(*connections, return_exceptions=True)
        await self._server.wait_closed()

    def start(self) -> int:
        """Listen on a free port of 127.0.0.1; returns the port."""
        self._thread.start()
        return asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@asynccontextmanager
async def serve_tls(sim: Simulator, directory: Path) -> AsyncIterator[str]:
    """Serve the simulator's API over HTTPS, on a free port; yields the https:// base URL. A
    simulator that is not running yet is started (over plain HTTP, behind the TLS front) and
    stopped again."""
    started = sim.url is None
    if started:
        await sim.start()
    target = URL(sim.url)
    assert target.host is not None
    assert target.port is not None
    front = TlsFront((target.host, target.port), self_signed_context(directory))
    port = await asyncio.to_thread(front.start)
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        await asyncio.to_thread(front.stop)
        if started:
            await sim.stop()
