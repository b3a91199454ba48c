"""HTTPS under Teslemetry's host names: the connector, the resolver and the TLS front."""

from __future__ import annotations

import aiohttp
import pytest

from fleet_sim import SimClock, Simulator
from fleet_sim.tls import StrayTerminatorFilter, TeslemetryResolver, is_teslemetry_host

from .const import TOKEN


def test_no_connector_without_tls() -> None:
    with pytest.raises(RuntimeError, match="tls=True"):
        Simulator().teslemetry_connector()


async def test_only_teslemetry_names_resolve(socket_enabled: None) -> None:
    resolver = TeslemetryResolver("127.0.0.1", 4443)
    [answer] = await resolver.resolve("eu.teslemetry.com", 443)
    assert (answer["host"], answer["port"]) == ("127.0.0.1", 4443)
    with pytest.raises(OSError, match=r"teslemetry\.com"):
        await resolver.resolve("example.com", 443)
    await resolver.close()
    assert is_teslemetry_host("TESLEMETRY.COM.")
    assert not is_teslemetry_host("notteslemetry.com")


async def test_other_hosts_are_refused_over_the_connector(
    socket_enabled: None, clock: SimClock
) -> None:
    async with (
        Simulator(clock=clock, token=TOKEN, tls=True) as sim,
        aiohttp.ClientSession(connector=sim.teslemetry_connector()) as session,
    ):
        with pytest.raises(aiohttp.ClientConnectorError):
            await session.get("https://example.com/")
        # The simulator's own address is no name: it is reached as it is.
        async with session.get(f"{sim.url}/status") as response:
            assert await response.text() == "ok"
        assert sim.tls_url is not None
        async with session.get(f"{sim.tls_url}/status") as response:
            assert await response.text() == "ok"
    assert sim.tls_url is None


def test_the_stray_terminator_filter() -> None:
    request = b"GET /sse/V HTTP/1.1\r\nHost: eu.teslemetry.com\r\n\r\n"
    stray = StrayTerminatorFilter()
    # Split anywhere, the terminator after a bodiless request is dropped.
    assert stray.feed(request + b"0\r") == request
    assert stray.feed(b"\n\r\n" + request) == request
    assert stray.feed(b"GE") == b""  # neither a terminator nor a whole request yet
    assert stray.feed(b"T / HTTP/1.1\r\n\r\n") == b"GET / HTTP/1.1\r\n\r\n"
    posted = b"PATCH /api HTTP/1.1\r\nContent-Length: 7\r\n\r\n0\r\n\r\n"
    assert stray.feed(posted + b"xx") == posted + b"xx"  # a body that looks like one stays
    chunked = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"
    assert StrayTerminatorFilter().feed(chunked) == chunked
    follow = StrayTerminatorFilter()
    follow.feed(chunked)
    assert follow.feed(b"0\r\n\r\n") == b"0\r\n\r\n"  # after a chunked body all passes
