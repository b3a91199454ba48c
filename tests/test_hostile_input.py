"""Hostile input, generated: arbitrary paths, query strings, repeated and unicode parameters, very
long values. Never a 5xx, always JSON, and nothing sent to the car for a request that is refused:
no command and no wake-up in the simulator's ledger. The same for the number entities and their
services: out-of-range values raise ServiceValidationError and send nothing."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import quote, quote_from_bytes, unquote

from aiohttp.http_parser import HttpRequestParserPy
from aiohttp.test_utils import TestClient
import aiohttp.web_protocol
from homeassistant.components.http.security_filter import FILTERS, UNSAFE_URL_BYTES
from homeassistant.components.number import ATTR_VALUE, SERVICE_SET_VALUE
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from hypothesis import HealthCheck, given, settings, strategies as st
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from fleet_sim import Simulator, VehicleConfig

from .conftest import assert_no_traceback, entity_id
from .const import API_KEY, HOME

pytestmark = pytest.mark.parametrize(
    "vehicle_configs",
    [
        [
            VehicleConfig(
                latitude=HOME[0], longitude=HOME[1], plugged_in=True, auto_start_on_plug=False
            )
        ]
    ],
)
HYPOTHESIS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

names = st.sampled_from(
    ["control", "set_amps", "set_soc", "wait", "key", "status", "amps", "", "1", "0", "16", "ä"]
) | st.text(min_size=0, max_size=12)
values = (
    st.sampled_from(
        [
            "",
            "1",
            "0",
            "16",
            "50",
            "-1",
            "1e3",
            "0x10",
            " 16",
            "16 ",
            "١٦",
            "\uff19",
            "NaN",
            "true",
            API_KEY,
        ]
    )
    | st.text(max_size=40)
    | st.integers(min_value=-(10**30), max_value=10**30).map(str)
    | st.text(min_size=1000, max_size=3000)
)
segments = st.sampled_from(
    [
        "1",
        "2",
        "0",
        "-1",
        "status",
        "control",
        "set_amps",
        "set_soc",
        "goe",
        "api",
        "..",
        "%2e%2e",
        "Ω",
        "1.0",
    ]
) | st.text(min_size=1, max_size=20).filter(
    lambda t: "/" not in t and "?" not in t and "#" not in t
)


def query_strings() -> st.SearchStrategy[str]:
    pair = st.tuples(names, values, st.booleans()).map(
        lambda p: quote(p[0], safe="") if p[2] else f"{quote(p[0], safe='')}={quote(p[1], safe='')}"
    )
    return st.lists(pair, max_size=6).map("&".join)


def is_plausible_valid(path: str, query: str) -> bool:
    """A loose upper bound on what may succeed: ASCII digits for values, known names only."""
    allowed = {"control", "set_amps", "set_soc", "wait", "key"}
    for part in filter(None, query.split("&")):
        name, _, value = part.partition("=")
        if name.isdigit() and not value:
            continue
        if name not in allowed:
            return False
        if name != "key" and not (value.isascii() and value.lstrip("-").isdigit()):
            return False
    return path.startswith("/tlwb")


@pytest.fixture
async def client(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, init_integration: MockConfigEntry
) -> TestClient:
    return await hass_client()


def sent(sim: Simulator) -> tuple[int, int]:
    """What reached the car, from the simulator's ledger: wake-ups and commands."""
    return sim.ledger.count("wake"), sim.ledger.count("command")


def filtered_by_home_assistant(url: str) -> bool:
    """Whether HA's own security filter answers before the integration (plain 400, not ours)."""
    unquoted = url
    while (again := unquote(unquoted)) != unquoted:
        unquoted = again
    return any(byte in unquote(url) for byte in UNSAFE_URL_BYTES) or bool(FILTERS.search(unquoted))


async def _check(hass: HomeAssistant, client: TestClient, sim: Simulator, url: str) -> None:
    before = sent(sim)
    response = await client.get(url)
    # A valid command answered early (wait=0) finishes now, not during the next example.
    await hass.async_block_till_done(wait_background_tasks=True)
    normalized = response.url.path  # ".." segments resolve before the request is sent
    if normalized != "/tlwb" and not normalized.startswith("/tlwb/"):
        assert sent(sim) == before
        return
    assert response.status < 500, url
    if filtered_by_home_assistant(f"{normalized}?{response.url.raw_query_string}"):
        assert response.status == 400, url
        assert sent(sim) == before
        return
    assert response.content_type == "application/json", (url, response.status)
    await response.json()
    path, _, query = url.partition("?")
    if response.status >= 400:
        assert sent(sim) == before, url
    elif sent(sim) != before:
        assert is_plausible_valid(path, query), url


@HYPOTHESIS
@given(segments=st.lists(segments, min_size=0, max_size=4), query=query_strings())
async def test_arbitrary_paths_and_queries(
    hass: HomeAssistant, client: TestClient, sim: Simulator, segments: list[str], query: str
) -> None:
    path = "/tlwb" + "".join("/" + quote(segment, safe="%") for segment in segments)
    await _check(hass, client, sim, f"{path}?{query}" if query else path)


@HYPOTHESIS
@given(action=st.sampled_from(["control", "set_amps", "set_soc", "status"]), query=query_strings())
async def test_actions_with_arbitrary_values(
    hass: HomeAssistant, client: TestClient, sim: Simulator, action: str, query: str
) -> None:
    await _check(hass, client, sim, f"/tlwb/1/{action}?{query}")


@HYPOTHESIS
@given(
    value=st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-(10**6), 10**6))
)
async def test_number_entities_refuse_out_of_range(
    hass: HomeAssistant, init_integration: MockConfigEntry, sim: Simulator, value: float
) -> None:
    vin = sim.vehicle(1).vin
    for key, low, high in (("charge_current", 1, 16), ("charge_limit", 50, 100)):
        before = sent(sim)
        valid = low <= value <= high and float(value).is_integer()
        try:
            await hass.services.async_call(
                "number",
                SERVICE_SET_VALUE,
                {ATTR_ENTITY_ID: entity_id(hass, "number", vin, key), ATTR_VALUE: value},
                blocking=True,
            )
        except ServiceValidationError:
            assert not valid, (key, value)
            assert sent(sim) == before
        else:
            assert valid, (key, value)


goe_keys = st.sampled_from(
    ["amp", "frc", "fna", "psm", "su", "car", "alw", "nrg", "eto", "filter", "x", "", "amp[]"]
) | st.text(max_size=10)
goe_values = (
    st.sampled_from(
        [
            "16",
            "16.0",
            "16.5",
            "0",
            "-1",
            "99",
            '"16"',
            "true",
            "null",
            "NaN",
            "[]",
            "{}",
            '"Garage"',
            "2",
            "1",
        ]
    )
    | st.text(max_size=30)
    | st.text(min_size=500, max_size=2000)
)


@HYPOTHESIS
@given(
    key_in_path=st.sampled_from([API_KEY, "wrong", ""]) | st.text(min_size=1, max_size=30),
    op=st.sampled_from(["status", "set", "mqtt", ""]) | st.text(max_size=10),
    pairs=st.lists(st.tuples(goe_keys, goe_values), max_size=5),
)
async def test_goe_endpoint(
    hass: HomeAssistant,
    client: TestClient,
    sim: Simulator,
    key_in_path: str,
    op: str,
    pairs: list[tuple[str, str]],
) -> None:
    query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)
    path = f"/tlwb/1/goe/{quote(key_in_path, safe='')}/api/{quote(op, safe='')}"
    before = sent(sim)
    response = await client.get(f"{path}?{query}")
    await hass.async_block_till_done(wait_background_tasks=True)
    normalized = response.url.path
    if not normalized.startswith("/tlwb/") or filtered_by_home_assistant(
        f"{normalized}?{response.url.raw_query_string}"
    ):
        assert response.status < 500, (path, query)
        assert sent(sim) == before
        return
    assert response.status < 500, (path, query)
    assert response.content_type == "application/json", (path, query, response.status)
    await response.json()
    if response.status >= 400 or key_in_path != API_KEY:
        assert sent(sim) == before, (path, query)
    # The car is online: a valid su sends nothing either, and no request ever wakes it.
    assert sent(sim)[0] == before[0], (path, query)


# ----- bytes that are not UTF-8 in the credentials ---------------------------------------------------


async def raw_get(
    client: TestClient, target: bytes, headers: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    """One request written byte by byte: no client library would send these bytes."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    try:
        writer.write(
            b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers
            + b"Connection: close\r\n\r\n"
        )  # fmt: skip
        await writer.drain()
        answer = await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    fields = dict(line.split(": ", 1) for line in lines)
    return int(status_line.split()[1]), {k.lower(): v for k, v in fields.items()}, body


def assert_unauthorized(answer: tuple[int, dict[str, str], bytes], what: object) -> None:
    status, headers, body = answer
    assert status == 401, (what, status, body[:200])
    assert headers["content-type"].startswith("application/json"), (what, headers)
    assert json.loads(body)["error"] == "unauthorized", (what, body[:200])


# Not UTF-8: a lone surrogate's UTF-8 form (ED A0 80), a stray byte, the right key with one added.
UNDECODABLE = [b"\xed\xa0\x80", b"\xff", b"\xc3", API_KEY.encode() + b"\xff", b"\x80" * 300]


@pytest.fixture
async def anonymous(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    init_integration: MockConfigEntry,
) -> TestClient:
    return await hass_client_no_auth()


async def test_undecodable_api_key_header(
    hass: HomeAssistant,
    anonymous: TestClient,
    sim: Simulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """aiohttp decodes header bytes that are not UTF-8 into surrogates ('\\udcff'), with its C
    parser as with its Python one: the key comparison gets a str that .encode() refuses."""
    before = sent(sim)
    for raw in UNDECODABLE:
        for target in (b"/tlwb", b"/tlwb/1/status", b"/tlwb/1/control?1", b"/tlwb/x/y/z"):
            answer = await raw_get(anonymous, target, b"X-API-Key: " + raw + b"\r\n")
            assert_unauthorized(answer, (target, raw))
    assert sent(sim) == before
    assert_no_traceback(caplog)


@pytest.mark.parametrize("parser", ["c", "python"])
async def test_undecodable_key_in_the_query_and_the_goe_path(
    hass: HomeAssistant,
    anonymous: TestClient,
    sim: Simulator,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    parser: str,
) -> None:
    """Percent-encoded bytes that are not UTF-8 (?key=%ED%A0%80) stay as text (yarl 1.22) or
    become U+FFFD (yarl 1.25). Raw bytes in the request line are refused by aiohttp's C parser
    with a 400 before Home Assistant sees them; its pure-Python parser (aiohttp without its C
    extension, or AIOHTTP_NO_EXTENSIONS=1) turns them into surrogates in the query and the path.
    That parser is swapped in here for the connections of this test: nothing else sends them."""
    if parser == "python":
        monkeypatch.setattr(aiohttp.web_protocol, "HttpRequestParser", HttpRequestParserPy)
        forms = UNDECODABLE
    else:
        forms = [quote_from_bytes(raw, safe="").encode() for raw in UNDECODABLE]
    before = sent(sim)
    for raw in forms:
        for target in (
            b"/tlwb?key=" + raw,
            b"/tlwb/1/status?key=" + raw,
            b"/tlwb/1/control?1&key=" + raw,
            b"/tlwb/1/goe/" + raw + b"/api/status",
            b"/tlwb/1/goe/" + raw + b"/api/set?amp=10",
            b"/tlwb/1/goe/" + raw + b"/status",
        ):
            assert_unauthorized(await raw_get(anonymous, target), target)
    assert sent(sim) == before
    assert_no_traceback(caplog)
