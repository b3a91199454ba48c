"""Fault injection: make the next matching Fleet API requests fail the ways Tesla's servers do."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from http import HTTPStatus
import random
from typing import Any, Final

FAULT_KINDS: Final = ("status", "hang", "drop", "result_false")

COMMAND_PROTOCOL_REQUIRED: Final = (
    "Tesla Vehicle Command Protocol required, please refer to the documentation here: "
    "https://developer.tesla.com/docs/fleet-api#2023-10-09-rest-api-vehicle-commands-endpoint-"
    "deprecation-warning"
)
VEHICLE_UNAVAILABLE: Final = "vehicle unavailable: vehicle is offline or asleep"
TOKEN_EXPIRED: Final = "token expired (401)"  # noqa: S105 - an error text, not a secret
DEFAULT_RETRY_AFTER: Final = 30.0
# The error texts Tesla sends; tesla_fleet_api picks its exception class from status and text.
DEFAULT_ERRORS: Final[dict[int, str]] = {
    401: TOKEN_EXPIRED,
    403: COMMAND_PROTOCOL_REQUIRED,
    408: VEHICLE_UNAVAILABLE,
    429: "Rate limit exceeded. Retry after the time given in the Retry-After header.",
    500: "upstream internal error",
    502: "bad gateway: upstream connection error",
    503: "service unavailable: vehicle command service is busy",
    504: "operation_timedout for txid `5f1c2e3d4b5a69788796a5b4c3d2e1f0`",
}
DEFAULT_RESULT_FALSE_REASON: Final = "could_not_wake_buses"


def default_error(status: int) -> str:
    """The error text Tesla sends with ``status``."""
    if status in DEFAULT_ERRORS:
        return DEFAULT_ERRORS[status]
    try:
        return HTTPStatus(status).phrase.lower()
    except ValueError:
        return "error"


@dataclass(eq=False)
class Fault:
    """One injected fault; ``remaining`` is None when it lasts until cleared."""

    kind: str
    status: int | None = None
    remaining: int | None = 1
    path: str | None = None
    retry_after: float | None = None
    # The Retry-After header exactly as sent (an HTTP date, "1e12"...), instead of retry_after.
    retry_after_header: str | None = None
    reason: str | None = None
    error: str | None = None
    probability: float = 1.0
    seed: int | None = None
    fired: int = 0
    _rng: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def applies_to(self, path: str) -> bool:
        """Whether this fault is meant for a request to ``path``.

        Connections to Teslemetry's stream (/sse) take only faults whose path names them, so
        a fault for the next Fleet API request is never spent on a stream reconnecting.
        """
        if self.path is None and path.startswith("/sse"):
            return False
        if self.path is not None and self.path not in path:
            return False
        return self.kind != "result_false" or "/command/" in path

    def roll(self) -> bool:
        """Whether the fault strikes this time, by its probability (seeded: reproducible)."""
        return self.probability >= 1.0 or self._rng.random() < self.probability

    @property
    def error_text(self) -> str:
        """The error string for a status fault."""
        assert self.status is not None
        return self.error if self.error is not None else default_error(self.status)

    @property
    def result_reason(self) -> str:
        """The reason for a result_false fault."""
        return self.reason if self.reason is not None else DEFAULT_RESULT_FALSE_REASON

    def as_json(self) -> dict[str, Any]:
        """The fault's settings and progress, ready for json.dumps."""
        return {item.name: getattr(self, item.name) for item in fields(self) if item.init}


class FaultInjector:
    """Holds pending faults; the server asks it before answering each Fleet API request."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(
        self,
        kind: str = "status",
        *,
        status: int | None = None,
        count: int | None = 1,
        path: str | None = None,
        retry_after: float | None = None,
        retry_after_header: str | None = None,
        reason: str | None = None,
        error: str | None = None,
        probability: float = 1.0,
        seed: int | None = None,
    ) -> Fault:
        """Add a fault for the next ``count`` matching requests (None: until cleared)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(FAULT_KINDS)}")
        if kind == "status" and (status is None or not 400 <= status <= 599):
            raise ValueError("a status fault needs a status between 400 and 599")
        if count is not None and count < 1:
            raise ValueError("count must be at least 1, or None for until cleared")
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        if retry_after is not None and retry_after < 0:
            raise ValueError("retry_after must not be negative")
        if kind == "status" and status == 429 and retry_after is None and not retry_after_header:
            retry_after = DEFAULT_RETRY_AFTER
        fault = Fault(
            kind=kind,
            status=status if kind == "status" else None,
            remaining=count,
            path=path,
            retry_after=retry_after,
            retry_after_header=retry_after_header,
            reason=reason,
            error=error,
            probability=probability,
            seed=seed,
        )
        self._faults.append(fault)
        return fault

    def take(self, path: str) -> Fault | None:
        """Return the fault that hits a request to ``path`` now, if any, and count it."""
        for fault in self._faults:
            if not fault.applies_to(path):
                continue
            if not fault.roll():
                continue
            fault.fired += 1
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
            return fault
        return None

    def clear(self) -> None:
        """Remove every pending fault."""
        self._faults.clear()

    @property
    def pending(self) -> list[Fault]:
        """Faults that will still fire, in the order they are tried."""
        return list(self._faults)
