"""The car's Bluetooth LE side: its identity, VCSEC's unsigned messages, pairing, routing.

Written from teslamotors/vehicle-command ``pkg/protocol/protocol.md`` ("BLE", "VCSEC
application-layer responses") and ``vcsec.proto``; the link and its framing are ble_link.py.
The car has one whitelist and the same two domain computers whatever the transport: signed
messages go to the car's ``VehicleCommandProtocol`` (vcp.py), as Fleet API's signed_command
does. VCSEC answers while the car sleeps; infotainment stays silent then. No Home Assistant and
no bleak here (ble_bleak.py is the bleak backend, ha_radio.py the Home Assistant proxy).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import hashlib
import os
from typing import Final

from tesla_protocol.command import car_server_pb2 as car_server
from tesla_protocol.command.universal_message_pb2 import Domain, RoutableMessage
from tesla_protocol.command.vcsec_pb2 import (
    CommandStatus,
    FromVCSECMessage,
    InformationRequestType,
    KeyIdentifier,
    OperationStatus_E,
    RKEAction_E,
    SignatureType,
    ToVCSECMessage,
    UnsignedMessage,
    WhitelistOperation,
    WhitelistOperation_information_E,
    WhitelistOperation_status,
)

from . import ble_data
from .ble_link import (
    APPEARANCE_UUID,
    ATT_HEADER,
    DEFAULT_MTU,
    DEVICE_NAME_UUID,
    PROTOCOL_VERSION,
    READ_UUID,
    SERVICE_UUID,
    VERSION_UUID,
    WRITE_UUID,
    BleLink,
)
from .clock import SimClock
from .ledger import Ledger
from .vcp import DecodeError, parse_public_key
from .vehicle import SimVehicle, VehicleUnavailableError

# The key card that approves a pairing: what VCSEC names as the signer of the operation.
KEY_CARD_ID: Final = hashlib.sha1(b"fleet_sim key card").digest()[:4]  # noqa: S324
_DOMAIN_NAMES: Final = {
    Domain.DOMAIN_VEHICLE_SECURITY: "vcsec",
    Domain.DOMAIN_INFOTAINMENT: "infotainment",
}
# The ledger category a BLE exchange would have over Fleet API (its price is 0 anyway).
_CATEGORIES: Final = {"vehicle_data": "data", "vehicle_status": "state", "wake": "wake"}


def ble_name(vin: str) -> str:
    """Tesla's BLE local name: "S" + the first 8 bytes of SHA-1(VIN) in hex + "C"."""
    return "S" + hashlib.sha1(vin.encode()).hexdigest()[:16] + "C"  # noqa: S324


def ble_address(vin: str) -> str:
    """A stable MAC-style address for the car, derived from its VIN."""
    digest = hashlib.sha256(vin.encode()).digest()[:6]
    return ":".join(f"{byte:02X}" for byte in digest)


@dataclass(frozen=True)
class BleRequest:
    """One message that came over BLE: when (sim time), to which domain, what, answered or not."""

    time: float
    domain: str
    kind: str
    answered: bool


@dataclass
class _Pairing:
    link: BleLink
    request: RoutableMessage
    key: bytes


class BleCar:
    """The BLE side of one SimVehicle: its advertised identity, links, requests and pairing."""

    def __init__(
        self,
        vehicle: SimVehicle,
        clock: SimClock,
        ledger: Ledger,
        *,
        wake_delay: float = 0.0,
        mtu: int = DEFAULT_MTU,
    ) -> None:
        self.vehicle = vehicle
        self.vin = vehicle.vin
        self.name = ble_name(vehicle.vin)
        self.address = ble_address(vehicle.vin)
        self.clock = clock
        self.ledger = ledger
        # Sim seconds from an RKE wake until infotainment answers (the library waits in real
        # time, so 0 by default).
        self.wake_delay = wake_delay
        self.mtu = mtu
        self.auto_tap = False
        # protocol.md: VCSEC answers a pairing request at once with OPERATIONSTATUS_WAIT while
        # it waits for the key card. False: nothing until the tap.
        self.pairing_wait_status = True
        self.requests: list[BleRequest] = []
        self.links: list[BleLink] = []
        self._in_range = True
        self._pending: _Pairing | None = None
        self._kind: str | None = None
        vehicle.vcp.vcsec_reader = self._vcsec_read
        vehicle.vcp.infotainment_reader = self._infotainment_read

    # ---- the radio ----------------------------------------------------------------------------

    @property
    def in_range(self) -> bool:
        """Whether the car can be reached; False drops every link and refuses new ones."""
        return self._in_range

    @in_range.setter
    def in_range(self, value: bool) -> None:
        self._in_range = value
        if not value:
            for link in list(self.links):
                link.drop()

    def connect(self, notify: Callable[[bytes], None], dropped: Callable[[], None]) -> BleLink:
        """A client connects; TimeoutError when the car is out of range, as a proxy reports."""
        if not self._in_range:
            raise TimeoutError(f"{self.name} did not answer the connection request")
        link = BleLink(self, notify, dropped)
        self.links.append(link)
        return link

    def forget(self, link: BleLink) -> None:
        """A link is gone."""
        if link in self.links:
            self.links.remove(link)

    def touch(self) -> None:
        """Infotainment traffic: an awake car stays awake (its sleep timer restarts). VCSEC's
        messages and GATT reads do not keep it awake."""
        if self.vehicle.state == "online":
            self.vehicle.go_online()

    # ---- pairing ------------------------------------------------------------------------------

    @property
    def pairing_pending(self) -> bool:
        """Whether a pairing request waits for the key card."""
        return self._pending is not None

    def tap_key_card(self) -> bool:
        """The user taps the key card: the pending key joins the whitelist, the client is told.

        False if no pairing request is waiting.
        """
        pending, self._pending = self._pending, None
        if pending is None:
            return False
        self.vehicle.pair_key(pending.key)
        done = _whitelist_status(
            WhitelistOperation_information_E.WHITELISTOPERATION_INFORMATION_NONE
        )
        pending.link.send(_vcsec_reply(pending.request, done))
        return True

    def _pair(self, link: BleLink, request: RoutableMessage, operation: WhitelistOperation) -> bool:
        """A whitelist operation without a signature: only adding a key, with the card's tap."""
        info = WhitelistOperation_information_E
        which = operation.WhichOneof("sub_message")
        if which == "addKeyToWhitelistAndAddPermissions":
            raw = bytes(operation.addKeyToWhitelistAndAddPermissions.key.PublicKeyRaw)
        elif which == "addPublicKeyToWhitelist":
            raw = bytes(operation.addPublicKeyToWhitelist.PublicKeyRaw)
        else:
            # Removing keys or changing roles needs a signed request from a key the car knows.
            refusal = _whitelist_status(info.WHITELISTOPERATION_INFORMATION_NO_PERMISSION_TO_REMOVE)
            link.send(_vcsec_reply(request, refusal))
            return True
        try:
            point = parse_public_key(raw)
        except ValueError:
            refusal = _whitelist_status(info.WHITELISTOPERATION_INFORMATION_INVALID_PUBLIC_KEY)
            link.send(_vcsec_reply(request, refusal))
            return True
        if point in self.vehicle.paired_keys:
            known = info.WHITELISTOPERATION_INFORMATION_ATTEMPTING_TO_ADD_KEY_THAT_IS_ALREADY_ON_THE_WHITELIST  # noqa: E501
            link.send(_vcsec_reply(request, _whitelist_status(known)))
            return True
        self._pending = _Pairing(link, request, point)
        if self.pairing_wait_status:
            wait = FromVCSECMessage(
                commandStatus=CommandStatus(operationStatus=OperationStatus_E.OPERATIONSTATUS_WAIT)
            )
            link.send(_vcsec_reply(request, wait))
        if self.auto_tap:
            self.tap_key_card()
        return self.pairing_wait_status or self.auto_tap

    # ---- messages -----------------------------------------------------------------------------

    def receive(self, link: BleLink, frame: bytes) -> None:
        """One complete frame from a client."""
        self._kind = None
        try:
            request = RoutableMessage.FromString(frame)
        except DecodeError:
            self._log("unknown", "undecodable", answered=False)
            return
        if frame and not request.ListFields():
            # vehicle-command's add-key request: a bare ToVCSECMessage, no RoutableMessage.
            request = _from_bare_vcsec(frame)
        domain = request.to_destination.domain
        name = _DOMAIN_NAMES.get(domain, "unknown")
        if domain == Domain.DOMAIN_VEHICLE_SECURITY and _unsigned(request):
            answered = self._unsigned_vcsec(link, request)
            self._log(name, self._kind or "unsigned", answered=answered)
            return
        if domain == Domain.DOMAIN_INFOTAINMENT and self.vehicle.state != "online":
            # A sleeping car's infotainment does not answer at all.
            self._log(name, _kind_of(request, None), answered=False)
            return
        commands = len(self.vehicle.commands)
        try:
            answer = self.vehicle.vcp.handle(frame)
        except VehicleUnavailableError:
            # A VCSEC actuation that needs infotainment while it sleeps: no answer.
            self._log(name, _kind_of(request, self._kind), answered=False)
            return
        ran = self.vehicle.commands[commands:]
        if domain == Domain.DOMAIN_INFOTAINMENT:
            self.touch()
        link.send(answer)
        self._log(name, _kind_of(request, self._kind or (ran[-1].name if ran else None)), True)

    def _unsigned_vcsec(self, link: BleLink, request: RoutableMessage) -> bool:
        """VCSEC's unsigned messages: the status (while asleep too) and pairing."""
        try:
            message = UnsignedMessage.FromString(request.protobuf_message_as_bytes)
        except DecodeError:
            return False
        which = message.WhichOneof("sub_message")
        if which == "WhitelistOperation":
            self._kind = "pair"
            return self._pair(link, request, message.WhitelistOperation)
        # Only the status is answered without a signature; an RKE action needs one.
        answer = self._vcsec_read(message) if which == "InformationRequest" else None
        if answer is None:
            # An actuation needs a signature: VCSEC refuses it.
            self._kind = which or "unsigned"
            answer = FromVCSECMessage(
                commandStatus=CommandStatus(operationStatus=OperationStatus_E.OPERATIONSTATUS_ERROR)
            )
        link.send(_vcsec_reply(request, answer))
        return True

    def _vcsec_read(self, message: UnsignedMessage) -> FromVCSECMessage | None:
        """VCSEC's status and its RKE wake; None for what vcp.py answers itself."""
        which = message.WhichOneof("sub_message")
        status = InformationRequestType.INFORMATION_REQUEST_TYPE_GET_STATUS
        if which == "InformationRequest" and (
            message.InformationRequest.informationRequestType == status
        ):
            self._kind = "vehicle_status"
            return FromVCSECMessage(vehicleStatus=ble_data.vehicle_status(self.vehicle))
        if which == "RKEAction" and message.RKEAction == RKEAction_E.RKE_ACTION_WAKE_VEHICLE:
            self._kind = "wake"
            self.vehicle.wake_up(delay=self.wake_delay)
            # protocol.md: for non-whitelist operations an empty message is success.
            return FromVCSECMessage()
        return None

    def _infotainment_read(self, action: car_server.Action) -> car_server.Response | None:
        """Infotainment's vehicle data; None for the commands vcp.py runs."""
        vehicle_action = action.vehicleAction
        if vehicle_action.WhichOneof("vehicle_action_msg") != "getVehicleData":
            return None
        self._kind = "vehicle_data"
        return ble_data.vehicle_data_response(self.vehicle, vehicle_action.getVehicleData)

    def _log(self, domain: str, kind: str, answered: bool) -> None:
        now = self.clock.now()
        self.requests.append(BleRequest(now, domain, kind, answered))
        self.ledger.record_bluetooth(
            time=now,
            vin=self.vin,
            domain=domain,
            kind=kind,
            category=_CATEGORIES.get(kind, "other" if kind == "pair" else "command"),
            answered=answered,
        )


def _unsigned(request: RoutableMessage) -> bool:
    return request.WhichOneof("payload") == "protobuf_message_as_bytes" and not request.HasField(
        "signature_data"
    )


def _kind_of(request: RoutableMessage, known: str | None) -> str:
    if request.WhichOneof("payload") == "session_info_request":
        return "session_info"
    return known or "command"


def _from_bare_vcsec(frame: bytes) -> RoutableMessage:
    """A bare ToVCSECMessage as the unsigned VCSEC RoutableMessage it stands for."""
    try:
        envelope = ToVCSECMessage.FromString(frame)
    except DecodeError:
        return RoutableMessage()
    if envelope.signedMessage.signatureType != SignatureType.SIGNATURE_TYPE_PRESENT_KEY:
        return RoutableMessage()
    message = RoutableMessage(
        protobuf_message_as_bytes=envelope.signedMessage.protobufMessageAsBytes
    )
    message.to_destination.domain = Domain.DOMAIN_VEHICLE_SECURITY
    return message


def _whitelist_status(info: int) -> FromVCSECMessage:
    """vcsec.proto's answer to a whitelist operation: terminal, since its status is set."""
    ok = info == WhitelistOperation_information_E.WHITELISTOPERATION_INFORMATION_NONE
    status = OperationStatus_E.OPERATIONSTATUS_OK if ok else OperationStatus_E.OPERATIONSTATUS_ERROR
    return FromVCSECMessage(
        commandStatus=CommandStatus(
            operationStatus=status,
            whitelistOperationStatus=WhitelistOperation_status(
                whitelistOperationInformation=info,  # type: ignore[arg-type]
                signerOfOperation=KeyIdentifier(publicKeySHA1=KEY_CARD_ID),
                operationStatus=status,
            ),
        )
    )


def _vcsec_reply(request: RoutableMessage, answer: FromVCSECMessage) -> bytes:
    """VCSEC's answer to the client's routing address; VCSEC leaves request_uuid empty."""
    reply = RoutableMessage(
        uuid=os.urandom(16), protobuf_message_as_bytes=answer.SerializeToString()
    )
    reply.to_destination.CopyFrom(request.from_destination)
    reply.from_destination.domain = Domain.DOMAIN_VEHICLE_SECURITY
    return bytes(reply.SerializeToString())


__all__ = [
    "APPEARANCE_UUID",
    "ATT_HEADER",
    "DEFAULT_MTU",
    "DEVICE_NAME_UUID",
    "PROTOCOL_VERSION",
    "READ_UUID",
    "SERVICE_UUID",
    "VERSION_UUID",
    "WRITE_UUID",
    "BleCar",
    "BleLink",
    "BleRequest",
    "ble_address",
    "ble_name",
    "find",
    "register",
    "unregister",
]

# ---- where bleak backends find the cars -------------------------------------------------------

_CARS: dict[str, BleCar] = {}


def register(car: BleCar) -> None:
    """Make a car reachable by its address (the Simulator does this for each of its cars)."""
    _CARS[car.address] = car


def unregister(car: BleCar) -> None:
    """Forget a car, if it is the one registered under its address."""
    if _CARS.get(car.address) is car:
        del _CARS[car.address]


def find(address: str) -> BleCar | None:
    """The registered car with this address."""
    return _CARS.get(address.upper())
