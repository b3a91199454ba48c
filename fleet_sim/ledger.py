"""The ledger: every Fleet API request the simulator answered, with what Tesla would bill for it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from http import HTTPStatus
import re
from typing import Any, Final

# Tesla's pay-per-use list prices in USD per request (developer.tesla.com, Billing and Limits).
# Teslemetry's stream has no price per event: its Vehicle Stream subscription is a flat fee per
# car for "unmetered access" (teslemetry.com/pricing), so stream connections cost $0 here.
PRICES: dict[str, float] = {"data": 0.002, "command": 0.001, "wake": 0.02}
CATEGORIES: Final = ("data", "command", "wake", "state", "stream", "other")
# How a request reached the car: Fleet API over the internet, or a local Bluetooth LE link (free).
TRANSPORTS: Final = ("cloud", "bluetooth")

_VEHICLE_PATH: Final = re.compile(r"^/api/1/vehicles/(?P<vin>[^/]+)(?P<rest>/.*)?$")
# Teslemetry's stream: one entry per connection attempt, never per event.
_STREAM_PATH: Final = re.compile(r"^/sse(?:/(?P<vin>[^/]+))?$")
# Account-wide lists of cars: state reads like the vehicle object, priced by state_price.
_STATE_LISTS: Final = frozenset({"/api/1/vehicles", "/api/1/products"})


def classify(method: str, path: str) -> tuple[str, str | None]:
    """Return the billing category of a request and the VIN it addresses, if any."""
    stream = _STREAM_PATH.match(path)
    if stream is not None:
        return "stream", stream["vin"]
    match = _VEHICLE_PATH.match(path)
    if match is None:
        return ("state" if path in _STATE_LISTS else "other"), None
    vin = match["vin"]
    rest = match["rest"] or ""
    if rest == "":
        return "state", vin
    if rest == "/vehicle_data":
        return "data", vin
    if rest == "/wake_up":
        return "wake", vin
    if (rest.startswith("/command/") or rest == "/signed_command") and method == "POST":
        # Every signed_command is billed as a command, session-info requests included: no
        # public source exempts them (fleet_sim/README.md, "Vehicle Command Protocol").
        return "command", vin
    return "other", vin


def is_billable(status: int) -> bool:
    """Whether Tesla bills an answer with this status.

    Every answer below 500 is billed, except 401: a caller whose token was refused is not
    authenticated, so there is no account to bill. A dropped or hung request (status 0) got
    no answer at all.
    """
    return 0 < status < 500 and status != HTTPStatus.UNAUTHORIZED


@dataclass(frozen=True)
class LedgerEntry:
    """One request: when (sim time), what, how it ended, what it cost."""

    time: float
    method: str
    path: str
    category: str
    status: int
    price: float
    vin: str | None
    transport: str = "cloud"


class Ledger:
    """An append-only list of LedgerEntry with counting and cost helpers."""

    def __init__(self, state_price: float = 0.0) -> None:
        self.state_price = state_price
        self.entries: list[LedgerEntry] = []

    def price_of(self, category: str, status: int) -> float:
        """What Tesla bills for one request of ``category`` that ended with ``status``."""
        if not is_billable(status):
            return 0.0
        if category == "state":
            return self.state_price
        return PRICES.get(category, 0.0)

    def record(
        self, *, time: float, method: str, path: str, status: int, vin: str | None = None
    ) -> LedgerEntry:
        """Append the request and return its entry; ``vin`` overrides the path's vehicle tag."""
        category, tag = classify(method, path)
        vin = vin or tag
        entry = LedgerEntry(
            time=time,
            method=method,
            path=path,
            category=category,
            status=status,
            price=self.price_of(category, status),
            vin=vin,
        )
        self.entries.append(entry)
        return entry

    def record_bluetooth(
        self, *, time: float, vin: str, domain: str, kind: str, category: str, answered: bool
    ) -> LedgerEntry:
        """Append one exchange over a Bluetooth LE link: never billed (price 0).

        ``path`` reads ``ble/<domain>/<kind>``; ``status`` is 200 when the car answered, 0 when
        it stayed silent (infotainment asleep, a pairing that waits for the key card).
        """
        entry = LedgerEntry(
            time=time,
            method="BLE",
            path=f"ble/{domain}/{kind}",
            category=category,
            status=HTTPStatus.OK if answered else 0,
            price=0.0,
            vin=vin,
            transport="bluetooth",
        )
        self.entries.append(entry)
        return entry

    def count(
        self, category: str | None = None, vin: str | None = None, transport: str | None = None
    ) -> int:
        """How many requests, optionally of one category, one VIN and/or one transport."""
        return sum(
            1
            for entry in self.entries
            if (category is None or entry.category == category)
            and (vin is None or entry.vin == vin)
            and (transport is None or entry.transport == transport)
        )

    def cost(self, category: str | None = None, transport: str | None = None) -> float:
        """What all requests (or those of one category and/or transport) cost, in USD."""
        return sum(
            entry.price
            for entry in self.entries
            if (category is None or entry.category == category)
            and (transport is None or entry.transport == transport)
        )

    def summary(self) -> dict[str, Any]:
        """Counts and cost per category plus the totals."""
        categories = {
            category: {"count": self.count(category), "cost": round(self.cost(category), 6)}
            for category in CATEGORIES
        }
        return {
            "categories": categories,
            "total": {"count": len(self.entries), "cost": round(self.cost(), 6)},
        }

    def by_transport(self) -> dict[str, dict[str, float]]:
        """Count and cost per transport: ``{"cloud": {...}, "bluetooth": {...}}``."""
        return {
            transport: {
                "count": self.count(transport=transport),
                "cost": round(self.cost(transport=transport), 6),
            }
            for transport in TRANSPORTS
        }

    def as_json(self) -> dict[str, Any]:
        """Entries and summary, ready for json.dumps."""
        return {"entries": [asdict(entry) for entry in self.entries], "summary": self.summary()}

    def clear(self) -> None:
        """Forget every entry."""
        self.entries.clear()

    def __len__(self) -> int:
        return len(self.entries)
