"""Tesla Fleet API simulator: the real tesla-fleet-api library talks to it over real HTTP."""

from .clock import SimClock
from .faults import Fault, FaultInjector
from .ledger import PRICES, Ledger, LedgerEntry
from .simulator import Simulator
from .vehicle import CommandRecord, SimVehicle, VehicleConfig

__all__ = [
    "PRICES",
    "CommandRecord",
    "Fault",
    "FaultInjector",
    "Ledger",
    "LedgerEntry",
    "SimClock",
    "SimVehicle",
    "Simulator",
    "VehicleConfig",
]
