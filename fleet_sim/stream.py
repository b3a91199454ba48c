"""Teslemetry's stream: server-sent events at GET /sse/{vin} (or /sse for every car) and the
cars' Fleet Telemetry field config at /api/config/{vin}, as teslemetry-stream uses them.

`StreamHub` plays Teslemetry's side. It looks at the cars after every request, every
`sim.advance()` and every `interval` real seconds, and sends what changed: a `state` event when a
car falls asleep, wakes or goes out of reach (with a `connectivity` event when it goes off or on
line), and a `data` event with the changed signals of an online car that streams. A connection
first gets a snapshot of the last known state, config and values (`isCache: true`), unless it
asks for `cache=false`. Nothing is sent for `keepalive` real seconds: an SSE comment line keeps
the connection alive. The faults of a live connection (drop, end, stall, malformed events) are
methods here; those of a connection attempt (401, 402, 403, drop, hang) are the FaultInjector's
with a path such as "/sse".
"""

from __future__ import annotations

import asyncio
from collections import Counter
import contextlib
from dataclasses import dataclass, field
from enum import Enum
import itertools
import json
import re
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from .faults import Fault, default_error
from .telemetry import (
    SIGNALS,
    TOPICS,
    connectivity_body,
    envelope,
    signals,
    state_body,
    topic_of,
)
from .vehicle import ONLINE, SimVehicle

if TYPE_CHECKING:
    from .simulator import Simulator

KEEPALIVE_COMMENT: Final = b": keep-alive\n\n"
# A `data:` line that is not JSON: what a garbled event looks like to a client.
MALFORMED_EVENT: Final = 'data: {"vin": "%s", "data": {"ChargeAmps": 1'
# Teslemetry's error keys, as tesla_fleet_api's exceptions name them (exceptions.py).
STREAM_ERRORS: Final[dict[int, str]] = {
    401: "invalid_token",
    402: "subscription_required",
    403: "invalid_scope",
}
MISSING_TOKEN: Final = "missing_token"  # noqa: S105 - an error key, not a secret
FLEET_TELEMETRY_VERSION: Final = "1.0.2"
_FIELD_NAME: Final = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_FIELD_OPTIONS: Final = ("interval_seconds", "minimum_delta", "resend_interval_seconds")


class _Control(Enum):
    END = "end"  # finish the response cleanly
    DROP = "drop"  # close the TCP connection under it


type _Item = bytes | _Control


def teslemetry_error(status: int, error: str | None = None) -> web.Response:
    """Teslemetry's error answer: ``{"response": null, "error": key, "error_description"}``."""
    key = error if error is not None else STREAM_ERRORS.get(status, default_error(status))
    body = {"response": None, "error": key, "error_description": ""}
    return web.json_response(body, status=status)


@dataclass(eq=False)
class StreamConnection:
    """One open SSE response: which cars and topics it wants, and what it got."""

    id: int
    vins: tuple[str, ...]
    topics: frozenset[str] | None
    opened_at: float
    queue: asyncio.Queue[_Item] = field(default_factory=asyncio.Queue, repr=False)
    stalled: bool = False
    events: int = 0

    def wants(self, vin: str, topic: str | None) -> bool:
        """Whether an event of ``topic`` about ``vin`` goes to this connection."""
        if vin not in self.vins:
            return False
        return self.topics is None or topic in self.topics

    def as_json(self) -> dict[str, Any]:
        """The connection's settings and progress."""
        return {
            "id": self.id,
            "vins": list(self.vins),
            "topics": None if self.topics is None else sorted(self.topics),
            "opened_at": self.opened_at,
            "stalled": self.stalled,
            "events": self.events,
        }


@dataclass
class _Feed:
    """What Teslemetry last heard from one car, and the car's Fleet Telemetry config."""

    fields: dict[str, dict[str, Any]]
    state: str | None = None
    state_time: float = 0.0
    values: dict[str, Any] = field(default_factory=dict)
    sent_at: dict[str, float] = field(default_factory=dict)


def default_fields() -> dict[str, dict[str, Any]]:
    """A new car's config: every signal the simulator models, each sent as soon as it changes."""
    return {name: {} for name in SIGNALS}


def parse_fields(body: Any) -> dict[str, dict[str, Any]]:
    """The `fields` of a config request body; ValueError for a body that is not one."""
    fields = body.get("fields") if isinstance(body, dict) else None
    if not isinstance(fields, dict):
        raise ValueError("the body must be an object with a fields object")
    parsed: dict[str, dict[str, Any]] = {}
    for name, options in fields.items():
        if not isinstance(name, str) or not _FIELD_NAME.match(name):
            raise ValueError(f"{name!r} is not a field name")
        chosen = {} if options is None else options
        if not isinstance(chosen, dict) or set(chosen) - set(_FIELD_OPTIONS):
            raise ValueError(f"{name}: options must be null or an object of {_FIELD_OPTIONS}")
        for option, value in chosen.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{name}: {option} must be a number, not negative")
        parsed[name] = dict(chosen)
    return parsed


class StreamHub:
    """Teslemetry's stream for one Simulator: connections, what each car last sent, faults."""

    def __init__(self, sim: Simulator) -> None:
        self._sim = sim
        # Real seconds without a byte before a keep-alive comment (the library gives up at 30).
        self.keepalive = 15.0
        # Real seconds between looks at the cars, for a clock that runs by itself.
        self.interval = 0.1
        self._connections: dict[int, StreamConnection] = {}
        self._feeds: dict[str, _Feed] = {}
        self._ids = itertools.count(1)
        self._sent: Counter[tuple[str, str | None]] = Counter()
        self._poked: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    def register(self, app: web.Application) -> None:
        """Add the stream routes and the config routes (the latter go through the Fleet API's
        middleware: token, faults, ledger)."""
        app.router.add_get("/sse", self._stream)
        app.router.add_get("/sse/{vin}", self._stream)
        app.router.add_get("/api/config/{vin}", self._get_config)
        app.router.add_patch("/api/config/{vin}", self._patch_config)
        app.router.add_post("/api/config/{vin}", self._post_config)

    # ---- the cars ---------------------------------------------------------------------------

    def _feed(self, vin: str) -> _Feed:
        if vin not in self._feeds:
            self._feeds[vin] = _Feed(fields=default_fields())
        return self._feeds[vin]

    def fields(self, vin: str) -> dict[str, dict[str, Any]]:
        """A car's Fleet Telemetry config: field name -> options (interval_seconds...)."""
        return {name: dict(options) for name, options in self._feed(vin).fields.items()}

    def configure(
        self, vin: str, fields: dict[str, dict[str, Any]], *, replace: bool = False
    ) -> None:
        """Change a car's config (merged, or replacing it); clients hear a `config` event."""
        feed = self._feed(vin)
        feed.fields = {} if replace else feed.fields
        feed.fields.update({name: dict(options) for name, options in fields.items()})
        for name in set(feed.values) - set(feed.fields):
            del feed.values[name]
            feed.sent_at.pop(name, None)
        now = self._sim.now()
        self._broadcast(vin, envelope(vin, now, {"config": {"fields": self.fields(vin)}}))
        self.poke()

    def tick(self) -> None:
        """Look at every car now and send what changed."""
        now = self._sim.now()
        for car in list(self._sim.vehicles.values()):
            self._look_at(car, now)

    def _look_at(self, car: SimVehicle, now: float) -> None:
        feed = self._feed(car.vin)
        state = car.state
        if state != feed.state:
            before, feed.state, feed.state_time = feed.state, state, now
            if before is not None and (before == ONLINE) != (state == ONLINE):
                body = connectivity_body(state == ONLINE)
                self._broadcast(car.vin, envelope(car.vin, now, body))
            self._broadcast(car.vin, envelope(car.vin, now, state_body(state)))
        if state != ONLINE or not car.streaming:
            return
        changed: dict[str, Any] = {}
        for name, value in signals(car).items():
            options = feed.fields.get(name)
            if options is None or (name in feed.values and feed.values[name] == value):
                continue
            interval = float(options.get("interval_seconds") or 0)
            if name in feed.sent_at and now - feed.sent_at[name] < interval:
                continue
            changed[name] = value
        if changed:
            feed.values.update(changed)
            feed.sent_at.update(dict.fromkeys(changed, now))
            self._broadcast(car.vin, envelope(car.vin, now, {"data": changed}))

    def poke(self) -> None:
        """Look at the cars soon (something may have changed them)."""
        if self._poked is not None:
            self._poked.set()

    async def _run(self) -> None:
        poked = self._poked
        assert poked is not None
        while self._connections:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(poked.wait(), self.interval)
            poked.clear()
            self.tick()

    # ---- sending ----------------------------------------------------------------------------

    def _broadcast(self, vin: str, event: dict[str, Any]) -> int:
        topic = topic_of(event)
        self._sent[vin, topic] += 1
        payload = b"data: " + json.dumps(event, separators=(",", ":")).encode() + b"\n\n"
        return self._put(payload, vin, topic)

    def _put(
        self, item: _Item, vin: str | None, topic: str | None = None, *, raw: bool = False
    ) -> int:
        count = 0
        for connection in list(self._connections.values()):
            if vin is None or connection.wants(vin, topic) or (raw and vin in connection.vins):
                connection.queue.put_nowait(item)
                count += 1
        return count

    def sent(self, vin: str | None = None, topic: str | None = None) -> int:
        """How many events the cars sent (whether or not anyone listened), by car and topic."""
        return sum(
            count
            for (event_vin, event_topic), count in self._sent.items()
            if (vin is None or event_vin == vin) and (topic is None or event_topic == topic)
        )

    def send(self, event: dict[str, Any], vin: str | None = None) -> int:
        """Send an event of your own (alerts, errors...) to the connections that want it.

        It gets `vin` (default: every car) and `createdAt` (now) unless it has them; returns
        how many connections it went to.
        """
        vins = [vin] if vin is not None else list(self._sim.vehicles)
        count = 0
        for car_vin in vins:
            body = {key: value for key, value in event.items() if key not in ("vin", "createdAt")}
            full = envelope(car_vin, self._sim.now(), body)
            full["createdAt"] = event.get("createdAt", full["createdAt"])
            count += self._broadcast(car_vin, full)
        return count

    def send_raw(self, text: str, vin: str | None = None) -> int:
        """Write ``text`` as it is (a blank line is added) to the connections for ``vin``, whatever
        topics they asked for: a line that is not an event has none."""
        return self._put(text.encode() + b"\n\n", vin, raw=True)

    def send_malformed(self, vin: str | None = None) -> int:
        """A `data:` line that is not JSON, to the connections for ``vin`` (default: all)."""
        return self.send_raw(MALFORMED_EVENT % (vin or ""), vin)

    # ---- live faults ------------------------------------------------------------------------

    def _chosen(self, vin: str | None) -> list[StreamConnection]:
        return [c for c in self._connections.values() if vin is None or vin in c.vins]

    def drop(self, vin: str | None = None) -> int:
        """Close the TCP connection under the open streams (for ``vin``); returns how many."""
        return self._control(_Control.DROP, vin)

    def end(self, vin: str | None = None) -> int:
        """End the open streams (for ``vin``) cleanly, as a server restart does."""
        return self._control(_Control.END, vin)

    def _control(self, item: _Control, vin: str | None) -> int:
        chosen = self._chosen(vin)
        for connection in chosen:
            connection.queue.put_nowait(item)
        return len(chosen)

    def stall(self, vin: str | None = None) -> int:
        """The open streams (for ``vin``) stay open but send nothing, keep-alives included."""
        chosen = self._chosen(vin)
        for connection in chosen:
            connection.stalled = True
        return len(chosen)

    def resume(self, vin: str | None = None) -> int:
        """Stalled streams send again (what they missed is lost); returns how many."""
        chosen = [c for c in self._chosen(vin) if c.stalled]
        for connection in chosen:
            connection.stalled = False
        return len(chosen)

    @property
    def connections(self) -> list[StreamConnection]:
        """The open streams, oldest first."""
        return list(self._connections.values())

    async def wait_for_connections(self, count: int = 1) -> None:
        """Wait until at least ``count`` streams are open (a client connects in the background);
        callers bound the wait with asyncio.timeout."""
        while len(self._connections) < count:  # noqa: ASYNC110 - no event to await
            await asyncio.sleep(0.005)

    async def close(self) -> None:
        """End every stream and stop looking at the cars (the simulator stops)."""
        self._control(_Control.END, None)
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def as_json(self) -> dict[str, Any]:
        """The hub's settings, the open streams and the events sent per car and topic."""
        sent: dict[str, dict[str, int]] = {}
        for (vin, topic), count in sorted(self._sent.items(), key=str):
            sent.setdefault(vin, {})[topic or "other"] = count
        return {
            "keepalive": self.keepalive,
            "interval": self.interval,
            "connections": [connection.as_json() for connection in self.connections],
            "sent": sent,
        }

    # ---- HTTP -------------------------------------------------------------------------------

    def _record(self, request: web.Request, status: int, vin: str | None) -> None:
        self._sim.ledger.record(
            time=self._sim.now(), method=request.method, path=request.path, status=status, vin=vin
        )

    def _token_refusal(self, request: web.Request) -> web.Response | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return teslemetry_error(401, MISSING_TOKEN)
        if self._sim.token is not None and token != self._sim.token:
            return teslemetry_error(401)
        return None

    async def _fault_answer(self, request: web.Request, fault: Fault) -> web.StreamResponse:
        if fault.kind == "status":
            assert fault.status is not None
            return teslemetry_error(fault.status, fault.error)
        if fault.kind == "hang":
            await self._sim.closing.wait()
        if request.transport is not None:
            request.transport.close()
        return web.Response()

    def _topics(self, request: web.Request) -> frozenset[str] | web.Response | None:
        raw = request.query.get("topics")
        if raw is None:
            return None
        topics = frozenset(part.strip() for part in raw.split(",") if part.strip())
        unknown = topics - set(TOPICS)
        if not topics or unknown:
            return teslemetry_error(400, "invalid_topics")
        return topics

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        tag = request.match_info.get("vin")
        car = self._sim.vehicle_by_tag(tag) if tag is not None else None
        vin = car.vin if car is not None else None
        refusal = self._token_refusal(request)
        fault = self._sim.faults.take(request.path) if refusal is None else None
        if fault is not None:
            # Recorded first: a hung or dropped attempt never gets an answer to record.
            self._record(request, fault.status or 0, vin)
            return await self._fault_answer(request, fault)
        if refusal is None and tag is not None and car is None:
            refusal = teslemetry_error(404, "not_found")
        topics = self._topics(request) if refusal is None else None
        if isinstance(topics, web.Response):
            refusal = topics
        if refusal is not None:
            self._record(request, refusal.status, vin)
            return refusal
        assert not isinstance(topics, web.Response)
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        self._record(request, 200, vin)
        vins = (vin,) if vin is not None else tuple(self._sim.vehicles)
        connection = StreamConnection(next(self._ids), vins, topics, self._sim.now())
        self.tick()  # the feeds up to date (earlier connections hear the news first)
        self._connections[connection.id] = connection
        if self._task is None or self._task.done():
            self._poked = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run())
        try:
            if request.query.get("cache", "true").lower() not in ("false", "0"):
                self._queue_snapshot(connection)
            await self._pump(request, response, connection)
        finally:
            self._connections.pop(connection.id, None)
        return response

    def _queue_snapshot(self, connection: StreamConnection) -> None:
        for vin in connection.vins:
            feed, car = self._feed(vin), self._sim.vehicles[vin]
            events: list[dict[str, Any]] = []
            if feed.state is not None:
                events.append(envelope(vin, feed.state_time, state_body(feed.state), cache=True))
            if car.streaming:
                config = {"config": {"fields": self.fields(vin)}}
                events.append(envelope(vin, self._sim.now(), config, cache=True))
            if feed.values:
                since = max(feed.sent_at.values())
                events.append(envelope(vin, since, {"data": dict(feed.values)}, cache=True))
            for event in events:
                if connection.wants(vin, topic_of(event)):
                    payload = json.dumps(event, separators=(",", ":")).encode()
                    connection.queue.put_nowait(b"data: " + payload + b"\n\n")

    async def _pump(
        self, request: web.Request, response: web.StreamResponse, connection: StreamConnection
    ) -> None:
        while True:
            try:
                item: _Item = await asyncio.wait_for(connection.queue.get(), self.keepalive)
            except TimeoutError:
                item = KEEPALIVE_COMMENT
            if item is _Control.END:
                await response.write_eof()
                return
            if item is _Control.DROP:
                if request.transport is not None:
                    request.transport.close()
                return
            if connection.stalled:
                continue
            assert isinstance(item, bytes)
            if item is not KEEPALIVE_COMMENT:
                connection.events += 1
            try:
                await response.write(item)
            except ConnectionError:
                return  # the client went away

    # ---- field config -----------------------------------------------------------------------

    def _config_car(self, request: web.Request) -> SimVehicle:
        car = self._sim.vehicle_by_tag(request.match_info["vin"])
        if car is None:
            raise web.HTTPNotFound
        return car

    async def _get_config(self, request: web.Request) -> web.Response:
        car = self._config_car(request)
        if not car.streaming:
            return teslemetry_error(404, "not_found")
        return web.json_response({"fields": self.fields(car.vin)})

    async def _patch_config(self, request: web.Request) -> web.Response:
        return await self._change_config(request, replace=False)

    async def _post_config(self, request: web.Request) -> web.Response:
        return await self._change_config(request, replace=True)

    async def _change_config(self, request: web.Request, *, replace: bool) -> web.Response:
        car = self._config_car(request)
        try:
            fields = parse_fields(await request.json())
        except ValueError as err:  # json.JSONDecodeError is one too
            body = {"response": None, "error": "fst_err_validation", "error_description": str(err)}
            return web.json_response(body, status=400)
        if not car.streaming:
            # Cars without Fleet Telemetry (pre-2021 Model S and X) cannot be configured.
            skipped = {"unsupported_hardware": [car.vin]}
            return web.json_response({"updated_vehicles": 0, "skipped_vehicles": skipped})
        self.configure(car.vin, fields, replace=replace)
        return web.json_response({"updated_vehicles": 1})
