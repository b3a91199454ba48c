"""The car side of Tesla's Vehicle Command Protocol, as Fleet API's signed_command carries it.

Written from teslamotors/vehicle-command ``pkg/protocol/protocol.md`` and its ``.proto`` files
(compiled in the ``tesla_protocol`` package). Each car has two domains (VCSEC and infotainment),
each with its own P-256 key, its own epoch (16 random bytes drawn at boot) and its own clock
(seconds since the epoch began, on the simulator's clock). A client opens a session per domain
with a session-info request; the car answers a SessionInfo authenticated with
``HMAC-SHA256(HMAC-SHA256(K, "session info"), metadata || session_info)``, where K is the first
16 bytes of SHA-1 over the ECDH shared secret. Commands are then authenticated with
HMAC_Personalized (``HMAC-SHA256(HMAC-SHA256(K, "authenticated command"), metadata || payload)``)
or encrypted with AES_GCM_Personalized (AES-GCM with key K, AAD = SHA-256(metadata)); each carries
an anti-replay counter and an expiry time on the domain's clock. What is left out is listed in
fleet_sim/README.md ("Vehicle Command Protocol").

No HTTP and no car physics here: the owning SimVehicle hands over the decoded RoutableMessage
bytes and runs the charging command this module names (through ``execute``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
import hashlib
import hmac
import importlib
import os
import struct
from typing import Any, Final, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from tesla_protocol.command import car_server_pb2 as car_server
from tesla_protocol.command.errors_pb2 import GenericError_E, NominalError
from tesla_protocol.command.signatures_pb2 import (
    AES_GCM_Personalized_Signature_Data,
    Session_Info_Status,
    SessionInfo,
    SignatureType,
    Tag,
)
from tesla_protocol.command.universal_message_pb2 import (
    Destination,
    Domain,
    Flags,
    MessageFault_E,
    MessageStatus,
    OperationStatus_E,
    RoutableMessage,
)
from tesla_protocol.command.vcsec_pb2 import ClosureMoveType_E, FromVCSECMessage, UnsignedMessage

VCSEC: Final = Domain.DOMAIN_VEHICLE_SECURITY
INFOTAINMENT: Final = Domain.DOMAIN_INFOTAINMENT
DOMAINS: Final = (VCSEC, INFOTAINMENT)
# protocol.md: "Infotainment tracks a sliding window of valid counters to allow for out-of-order
# message arrival, while VCSEC requires that messages arrive in counter order." The window's size
# is not in protocol.md; 32 is what Tesla's Go reference verifier uses.
INFOTAINMENT_COUNTER_WINDOW: Final = 32
# Faults that can come from a client whose session state went stale: the car adds its current,
# authenticated session info, so the client can resync and send again (protocol.md, "Recovering
# from synchronization errors").
SYNC_FAULTS: Final = frozenset(
    {
        MessageFault_E.MESSAGEFAULT_ERROR_INVALID_SIGNATURE,
        MessageFault_E.MESSAGEFAULT_ERROR_INVALID_TOKEN_OR_COUNTER,
        MessageFault_E.MESSAGEFAULT_ERROR_INCORRECT_EPOCH,
        MessageFault_E.MESSAGEFAULT_ERROR_TIME_EXPIRED,
    }
)
EPOCH_BYTES: Final = 16
GCM_NONCE_BYTES: Final = 12
GCM_TAG_BYTES: Final = 16
# A VCSEC request hash keeps the signature type byte and the first 16 bytes of the tag.
VCSEC_REQUEST_HASH_BYTES: Final = 17
_UINT32_MAX: Final = 0xFFFFFFFF
_SESSION_INFO_LABEL: Final = b"session info"
_COMMAND_LABEL: Final = b"authenticated command"

# google.protobuf has no type stubs here, so its parse error is looked up at run time.
DecodeError: type[Exception] = importlib.import_module("google.protobuf.message").DecodeError

Executor = Callable[[str, dict[str, Any]], tuple[bool, str]]
# Readers the car side adds for what is not a charging command (fleet_sim/ble.py installs them):
# VCSEC's status and RKE actions, infotainment's vehicle data. None: not theirs to answer.
VcsecReader = Callable[[UnsignedMessage], FromVCSECMessage | None]
InfotainmentReader = Callable[[car_server.Action], car_server.Response | None]


class Clock(Protocol):
    """Anything that tells the simulated time."""

    def now(self) -> float:
        """Return epoch seconds."""
        ...


class MessageDecodeError(ValueError):
    """The bytes are not a RoutableMessage at all (the server answers 400)."""


class CommandRejectedError(Exception):
    """The car understood the command but refuses its arguments: answered with ``fault``."""

    def __init__(self, fault: MessageFault_E) -> None:
        super().__init__(MessageFault_E.Name(fault))
        self.fault = fault


# ---- encodings -------------------------------------------------------------------------------


def uint32(value: int) -> bytes:
    """A metadata integer: four bytes, big-endian."""
    return struct.pack(">I", value)


def encode_metadata(items: Iterable[tuple[int, bytes]]) -> bytes:
    """protocol.md's metadata serialization: tag, length, value, sorted by tag, then 0xFF.

    An empty value is left out, like an absent one.
    """
    out = bytearray()
    for tag, value in sorted(items, key=lambda item: item[0]):
        if not value:
            continue
        if len(value) > 255:
            raise ValueError(f"metadata value for tag {tag} is longer than 255 bytes")
        out += bytes((tag, len(value))) + value
    out.append(Tag.TAG_END)
    return bytes(out)


def public_point(key: ec.EllipticCurvePublicKey) -> bytes:
    """ENCODE_PUBLIC: 0x04 || x || y, the uncompressed point."""
    return key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def parse_public_key(value: bytes | str | ec.EllipticCurvePublicKey) -> bytes:
    """A client's P-256 public key as the uncompressed point the protocol carries.

    Takes a key object, a PEM ``PUBLIC KEY`` block, or the point itself: raw bytes, or hex or
    base64 text (an uncompressed or a compressed point). Anything else is a ValueError.
    """
    if isinstance(value, ec.EllipticCurvePublicKey):
        return _p256_point(value)
    raw = value.encode() if isinstance(value, str) else bytes(value)
    text = raw.strip()
    if text.startswith(b"-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text)
        except ValueError as err:
            raise ValueError("not a PEM public key") from err
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise ValueError("not an elliptic-curve public key")
        return _p256_point(key)
    # A raw point starts with 0x02, 0x03 or 0x04, which no hex or base64 text does.
    point = raw if raw[:1] in (b"\x02", b"\x03", b"\x04") else _decode_text_point(text)
    try:
        return _p256_point(ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point))
    except ValueError as err:
        raise ValueError("not a point on P-256") from err


def _p256_point(key: ec.EllipticCurvePublicKey) -> bytes:
    if not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("not a P-256 (secp256r1) public key")
    return public_point(key)


def _decode_text_point(text: bytes) -> bytes:
    try:
        return bytes.fromhex(text.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        pass
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as err:
        raise ValueError("a public key must be PEM, hex or base64") from err


def shared_key(private_key: ec.EllipticCurvePrivateKey, peer_point: bytes) -> bytes:
    """K = SHA1(ECDH x coordinate)[:16], the 128-bit key both sides derive."""
    peer = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), peer_point)
    secret = private_key.exchange(ec.ECDH(), peer)
    # SHA-1 is what the protocol prescribes for this key derivation.
    return hashlib.sha1(secret).digest()[:16]  # noqa: S324


def subkey(key: bytes, label: bytes) -> bytes:
    """HMAC-SHA256(K, label): the session-info key and the command key K'."""
    return hmac.new(key, label, hashlib.sha256).digest()


def request_hash(message: RoutableMessage) -> bytes:
    """The signature type byte and the request's tag, 17 bytes for VCSEC (protocol.md)."""
    signature = message.signature_data
    if signature.WhichOneof("sig_type") == "AES_GCM_Personalized_data":
        kind, tag = (
            SignatureType.SIGNATURE_TYPE_AES_GCM_PERSONALIZED,
            bytes(signature.AES_GCM_Personalized_data.tag),
        )
    else:
        kind, tag = (
            SignatureType.SIGNATURE_TYPE_HMAC_PERSONALIZED,
            bytes(signature.HMAC_Personalized_data.tag),
        )
    digest = bytes((kind,)) + tag
    if message.to_destination.domain == VCSEC:
        digest = digest[:VCSEC_REQUEST_HASH_BYTES]
    return digest


# ---- counters --------------------------------------------------------------------------------


@dataclass
class CounterWindow:
    """The anti-replay counters seen from one client key in one epoch.

    ``size`` 0: every counter must be above the highest seen (VCSEC). Otherwise a counter up to
    ``size`` below the highest is also taken, once (infotainment's sliding window).
    """

    size: int = 0
    highest: int = 0
    # Bit n set: counter highest - 1 - n has been used.
    used: int = 0

    def accept(self, counter: int) -> bool:
        """Record ``counter``; False (nothing recorded) if it was seen or is too old."""
        if counter > self.highest:
            shift = counter - self.highest
            self.used = ((self.used << shift) | (1 << (shift - 1))) & ((1 << self.size) - 1)
            self.highest = counter
            return True
        age = self.highest - counter
        if age == 0 or age > self.size:
            return False
        bit = 1 << (age - 1)
        if self.used & bit:
            return False
        self.used |= bit
        return True


@dataclass
class _Session:
    shared_key: bytes
    window: CounterWindow

    @property
    def command_key(self) -> bytes:
        return subkey(self.shared_key, _COMMAND_LABEL)

    @property
    def session_info_key(self) -> bytes:
        return subkey(self.shared_key, _SESSION_INFO_LABEL)


class DomainComputer:
    """One of the car's computers (VCSEC or infotainment): its key, epoch, clock and sessions."""

    def __init__(
        self, domain: Domain, clock: Clock, private_key: ec.EllipticCurvePrivateKey | None = None
    ) -> None:
        self.domain = domain
        self._clock = clock
        # Generated once per car and domain; a reboot keeps it.
        self._private_key = private_key or ec.generate_private_key(ec.SECP256R1())
        _p256_point(self._private_key.public_key())
        self.public_key = public_point(self._private_key.public_key())
        self.epoch = b""
        self.started = 0.0
        self._sessions: dict[bytes, _Session] = {}
        self.reboot()

    def reboot(self) -> None:
        """A new epoch: fresh random id, the clock restarts at 0, every counter is forgotten."""
        self.epoch = os.urandom(EPOCH_BYTES)
        self.started = self._clock.now()
        self._sessions.clear()

    def clock_time(self) -> int:
        """Whole seconds since the epoch began."""
        return min(max(int(self._clock.now() - self.started), 0), _UINT32_MAX)

    def session(self, client_key: bytes) -> _Session:
        """The session with one (paired) client key, created at first use."""
        session = self._sessions.get(client_key)
        if session is None:
            size = INFOTAINMENT_COUNTER_WINDOW if self.domain == INFOTAINMENT else 0
            session = _Session(shared_key(self._private_key, client_key), CounterWindow(size))
            self._sessions[client_key] = session
        return session


@dataclass
class _InjectedFault:
    fault: MessageFault_E
    remaining: int | None


@dataclass
class _Verified:
    """A command that passed authentication: its plaintext and the key to answer with."""

    plaintext: bytes
    session: _Session
    counter: int


class VehicleCommandProtocol:
    """The protocol endpoints of one car: paired keys, both domains, injected faults."""

    def __init__(
        self,
        vin: str,
        clock: Clock,
        execute: Executor,
        paired_keys: Iterable[bytes | str | ec.EllipticCurvePublicKey] = (),
        private_keys: Mapping[Domain, ec.EllipticCurvePrivateKey] | None = None,
    ) -> None:
        """``private_keys``: fixed domain keys (e.g. protocol.md's test vehicle key); by
        default each domain generates its own."""
        self.vin = vin
        self.clock = clock
        self.execute = execute
        self._paired: list[bytes] = []
        fixed = private_keys or {}
        self._computers = {
            domain: DomainComputer(domain, clock, fixed.get(domain)) for domain in DOMAINS
        }
        self._faults: list[_InjectedFault] = []
        self.vcsec_reader: VcsecReader | None = None
        self.infotainment_reader: InfotainmentReader | None = None
        for key in paired_keys:
            self.pair_key(key)

    # ---- set-up ------------------------------------------------------------------------------

    @property
    def paired_keys(self) -> list[bytes]:
        """The client public keys the car knows (uncompressed points), in pairing order."""
        return list(self._paired)

    def pair_key(self, key: bytes | str | ec.EllipticCurvePublicKey) -> bytes:
        """Add a client public key to the car's keys (again: no change); return its point."""
        point = parse_public_key(key)
        if point not in self._paired:
            self._paired.append(point)
        return point

    def unpair_key(self, key: bytes | str | ec.EllipticCurvePublicKey) -> bytes:
        """Remove a paired key; KeyError if the car does not know it."""
        point = parse_public_key(key)
        if point not in self._paired:
            raise KeyError(point.hex())
        self._paired.remove(point)
        return point

    def computer(self, domain: Domain) -> DomainComputer:
        """The VCSEC or infotainment computer."""
        return self._computers[domain]

    def reboot(self) -> None:
        """Both computers restart: new epochs, clocks from 0, counters forgotten."""
        for computer in self._computers.values():
            computer.reboot()

    def inject_fault(self, fault: MessageFault_E | int | str, count: int | None = 1) -> None:
        """Answer the next ``count`` signed_command messages (None: until cleared) with ``fault``.

        Sync faults carry the session info, as a real one does.
        """
        # Value and Name raise ValueError for what the protocol does not define.
        name = fault if isinstance(fault, str) else MessageFault_E.Name(fault)
        value = MessageFault_E.Value(name)
        if value == MessageFault_E.MESSAGEFAULT_ERROR_NONE:
            raise ValueError("MESSAGEFAULT_ERROR_NONE is not a fault")
        if count is not None and count < 1:
            raise ValueError("count must be at least 1, or None for until cleared")
        self._faults.append(_InjectedFault(value, count))

    def clear_faults(self) -> None:
        """Forget every injected fault."""
        self._faults.clear()

    @property
    def pending_faults(self) -> list[tuple[str, int | None]]:
        """The injected faults still to come: (name, remaining)."""
        return [(MessageFault_E.Name(item.fault), item.remaining) for item in self._faults]

    def _take_fault(self) -> MessageFault_E | None:
        if not self._faults:
            return None
        item = self._faults[0]
        if item.remaining is not None:
            item.remaining -= 1
            if item.remaining == 0:
                self._faults.pop(0)
        return item.fault

    # ---- messages ----------------------------------------------------------------------------

    def handle(self, data: bytes) -> bytes:
        """Answer one serialized RoutableMessage with a serialized RoutableMessage."""
        try:
            request = RoutableMessage.FromString(data)
        except DecodeError as err:
            raise MessageDecodeError("not a RoutableMessage") from err
        return bytes(self._answer(request).SerializeToString())

    def _answer(self, request: RoutableMessage) -> RoutableMessage:
        reply = RoutableMessage(
            to_destination=Destination(), from_destination=Destination(), uuid=os.urandom(16)
        )
        # The car swaps the addresses: the answer goes back to the client's routing address.
        reply.to_destination.CopyFrom(request.from_destination)
        reply.from_destination.CopyFrom(request.to_destination)
        addressed = request.to_destination.WhichOneof("sub_destination") == "domain"
        computer = self._computers.get(request.to_destination.domain) if addressed else None
        # protocol.md: replies from VCSEC typically leave request_uuid empty (memory constraints).
        if computer is None or computer.domain != VCSEC:
            reply.request_uuid = request.uuid
        if computer is None:
            return _fault(reply, MessageFault_E.MESSAGEFAULT_ERROR_INVALID_DOMAINS)
        injected = self._take_fault()
        if injected is not None:
            return self._injected(reply, request, computer, injected)
        payload = request.WhichOneof("payload")
        if payload == "session_info_request":
            return self._handshake(reply, request, computer)
        if payload == "protobuf_message_as_bytes":
            return self._command(reply, request, computer)
        return _fault(reply, MessageFault_E.MESSAGEFAULT_ERROR_DECODING)

    def _injected(
        self,
        reply: RoutableMessage,
        request: RoutableMessage,
        computer: DomainComputer,
        fault: MessageFault_E,
    ) -> RoutableMessage:
        key = bytes(
            request.session_info_request.public_key
            if request.WhichOneof("payload") == "session_info_request"
            else request.signature_data.signer_identity.public_key
        )
        if fault in SYNC_FAULTS and key in self._paired:
            self._attach_session_info(reply, request, computer, key)
        return _fault(reply, fault)

    def _handshake(
        self, reply: RoutableMessage, request: RoutableMessage, computer: DomainComputer
    ) -> RoutableMessage:
        key = bytes(request.session_info_request.public_key)
        if key not in self._paired:
            if computer.domain == VCSEC:
                # VCSEC's way to say so: a session info with that status and no key of its own.
                status = Session_Info_Status.SESSION_INFO_STATUS_KEY_NOT_ON_WHITELIST
                reply.session_info = SessionInfo(status=status).SerializeToString()
                return reply
            return _fault(reply, MessageFault_E.MESSAGEFAULT_ERROR_UNKNOWN_KEY_ID)
        self._attach_session_info(reply, request, computer, key)
        return reply

    def _attach_session_info(
        self,
        reply: RoutableMessage,
        request: RoutableMessage,
        computer: DomainComputer,
        key: bytes,
    ) -> None:
        session = computer.session(key)
        info = SessionInfo(
            counter=session.window.highest,
            publicKey=computer.public_key,
            epoch=computer.epoch,
            clock_time=computer.clock_time(),
            status=Session_Info_Status.SESSION_INFO_STATUS_OK,
        )
        encoded = bytes(info.SerializeToString())
        metadata = encode_metadata(
            [
                (Tag.TAG_SIGNATURE_TYPE, bytes((SignatureType.SIGNATURE_TYPE_HMAC,))),
                (Tag.TAG_PERSONALIZATION, self.vin.encode()),
                # The challenge is the uuid of the request this answers.
                (Tag.TAG_CHALLENGE, bytes(request.uuid)),
            ]
        )
        reply.session_info = encoded
        reply.signature_data.session_info_tag.tag = hmac.new(
            session.session_info_key, metadata + encoded, hashlib.sha256
        ).digest()

    def _command(
        self, reply: RoutableMessage, request: RoutableMessage, computer: DomainComputer
    ) -> RoutableMessage:
        verified = self._verify(reply, request, computer)
        if isinstance(verified, RoutableMessage):
            return verified
        try:
            if computer.domain == INFOTAINMENT:
                answer = self._run_infotainment(verified.plaintext)
            else:
                answer = self._run_vcsec(verified.plaintext)
        except CommandRejectedError as err:
            return _fault(reply, err.fault)
        reply.protobuf_message_as_bytes = answer
        if request.flags & (1 << Flags.FLAG_ENCRYPT_RESPONSE):
            self._encrypt(reply, request, verified)
        return reply

    def _verify(
        self, reply: RoutableMessage, request: RoutableMessage, computer: DomainComputer
    ) -> _Verified | RoutableMessage:
        """Authenticate a command; a fault answer when it does not pass."""
        signature = request.signature_data
        method = signature.WhichOneof("sig_type")
        if method not in ("HMAC_Personalized_data", "AES_GCM_Personalized_data"):
            return _fault(reply, MessageFault_E.MESSAGEFAULT_ERROR_BAD_PARAMETER)
        if signature.signer_identity.WhichOneof("identity_type") == "handle":
            return _fault(reply, MessageFault_E.MESSAGEFAULT_ERROR_INVALID_KEY_HANDLE)
        key = bytes(signature.signer_identity.public_key)
        if key not in self._paired:
            return _fault(reply, MessageFault_E.MESSAGEFAULT_ERROR_UNKNOWN_KEY_ID)
        gcm = method == "AES_GCM_Personalized_data"
        data = signature.AES_GCM_Personalized_data if gcm else signature.HMAC_Personalized_data

        def refuse(fault: MessageFault_E) -> RoutableMessage:
            self._attach_session_info(reply, request, computer, key)
            return _fault(reply, fault)

        # protocol.md: the epoch may be left out; when sent, a mismatch has its own fault.
        if data.epoch and bytes(data.epoch) != computer.epoch:
            return refuse(MessageFault_E.MESSAGEFAULT_ERROR_INCORRECT_EPOCH)
        if data.expires_at < computer.clock_time():
            return refuse(MessageFault_E.MESSAGEFAULT_ERROR_TIME_EXPIRED)
        if gcm and len(signature.AES_GCM_Personalized_data.nonce) != GCM_NONCE_BYTES:
            return _fault(reply, MessageFault_E.MESSAGEFAULT_ERROR_IV_INCORRECT_LENGTH)
        session = computer.session(key)
        kind = (
            SignatureType.SIGNATURE_TYPE_AES_GCM_PERSONALIZED
            if gcm
            else SignatureType.SIGNATURE_TYPE_HMAC_PERSONALIZED
        )
        items = [
            (Tag.TAG_SIGNATURE_TYPE, bytes((kind,))),
            (Tag.TAG_DOMAIN, bytes((computer.domain,))),
            (Tag.TAG_PERSONALIZATION, self.vin.encode()),
            # The car's own epoch: a message without one is checked against it.
            (Tag.TAG_EPOCH, computer.epoch),
            (Tag.TAG_EXPIRES_AT, uint32(data.expires_at)),
            (Tag.TAG_COUNTER, uint32(data.counter)),
        ]
        if request.flags:
            # Flags are authenticated only when some bit is set.
            items.append((Tag.TAG_FLAGS, uint32(request.flags)))
        metadata = encode_metadata(items)
        payload = bytes(request.protobuf_message_as_bytes)
        if gcm:
            plaintext = _decrypt(
                session.shared_key, signature.AES_GCM_Personalized_data, payload, metadata
            )
        else:
            expected = hmac.new(session.command_key, metadata + payload, hashlib.sha256).digest()
            plaintext = payload if hmac.compare_digest(expected, bytes(data.tag)) else None
        if plaintext is None:
            return refuse(MessageFault_E.MESSAGEFAULT_ERROR_INVALID_SIGNATURE)
        if not session.window.accept(data.counter):
            return refuse(MessageFault_E.MESSAGEFAULT_ERROR_INVALID_TOKEN_OR_COUNTER)
        return _Verified(plaintext, session, data.counter)

    def _encrypt(
        self, reply: RoutableMessage, request: RoutableMessage, verified: _Verified
    ) -> None:
        """AES_GCM_Response: protocol.md's "Response decryption", seen from the car."""
        metadata = encode_metadata(
            [
                (Tag.TAG_SIGNATURE_TYPE, bytes((SignatureType.SIGNATURE_TYPE_AES_GCM_RESPONSE,))),
                (Tag.TAG_DOMAIN, bytes((reply.from_destination.domain,))),
                (Tag.TAG_PERSONALIZATION, self.vin.encode()),
                # The request's counter: unique per request, so unique per (request, response).
                (Tag.TAG_COUNTER, uint32(verified.counter)),
                # Always present in response metadata, even when zero.
                (Tag.TAG_FLAGS, uint32(reply.flags)),
                (Tag.TAG_REQUEST_HASH, request_hash(request)),
                (Tag.TAG_FAULT, uint32(reply.signedMessageStatus.signed_message_fault)),
            ]
        )
        nonce = os.urandom(GCM_NONCE_BYTES)
        sealed = AESGCM(verified.session.shared_key).encrypt(
            nonce, bytes(reply.protobuf_message_as_bytes), hashlib.sha256(metadata).digest()
        )
        reply.protobuf_message_as_bytes = sealed[:-GCM_TAG_BYTES]
        response = reply.signature_data.AES_GCM_Response_data
        response.nonce = nonce
        response.counter = verified.counter
        response.tag = sealed[-GCM_TAG_BYTES:]

    # ---- application layer -------------------------------------------------------------------

    def _run_infotainment(self, plaintext: bytes) -> bytes:
        try:
            action = car_server.Action.FromString(plaintext)
        except DecodeError:
            raise CommandRejectedError(MessageFault_E.MESSAGEFAULT_ERROR_DECODING) from None
        if self.infotainment_reader is not None:
            read = self.infotainment_reader(action)
            if read is not None:
                return bytes(read.SerializeToString())
        vehicle_action = action.vehicleAction
        which = vehicle_action.WhichOneof("vehicle_action_msg")
        if which == "ping":
            ping = vehicle_action.ping
            seconds, fraction = divmod(self.clock.now(), 1.0)
            now = {"seconds": int(seconds), "nanos": int(fraction * 1e9)}
            answer = car_server.Response(
                actionStatus=car_server.ActionStatus(
                    result=car_server.OperationStatus_E.OPERATIONSTATUS_OK
                ),
                ping=car_server.Ping(
                    ping_id=ping.ping_id,
                    local_timestamp=now,
                    last_remote_timestamp=ping.local_timestamp,
                ),
            )
            return bytes(answer.SerializeToString())
        name, body = _infotainment_command(vehicle_action, which)
        result, reason = self.execute(name, body)
        status = car_server.ActionStatus(
            result=car_server.OperationStatus_E.OPERATIONSTATUS_OK
            if result
            else car_server.OperationStatus_E.OPERATIONSTATUS_ERROR
        )
        if reason:
            status.result_reason.plain_text = reason
        return bytes(car_server.Response(actionStatus=status).SerializeToString())

    def _run_vcsec(self, plaintext: bytes) -> bytes:
        try:
            message = UnsignedMessage.FromString(plaintext)
        except DecodeError:
            raise CommandRejectedError(MessageFault_E.MESSAGEFAULT_ERROR_DECODING) from None
        if self.vcsec_reader is not None:
            read = self.vcsec_reader(message)
            if read is not None:
                return bytes(read.SerializeToString())
        # Proto3 lists only the fields that are not NONE.
        wanted = {item.name: value for item, value in message.closureMoveRequest.ListFields()}
        if message.WhichOneof("sub_message") != "closureMoveRequest" or wanted != {
            "chargePort": ClosureMoveType_E.CLOSURE_MOVE_TYPE_OPEN
        }:
            # Locks, trunks, whitelist operations...: not modelled here.
            raise CommandRejectedError(MessageFault_E.MESSAGEFAULT_ERROR_INVALID_COMMAND)
        result, _ = self.execute("charge_port_door_open", {})
        # protocol.md: for non-whitelist operations an empty message is success, nominalError
        # an error.
        answer = (
            FromVCSECMessage()
            if result
            else FromVCSECMessage(
                nominalError=NominalError(genericError=GenericError_E.GENERICERROR_UNKNOWN)
            )
        )
        return bytes(answer.SerializeToString())


def _infotainment_command(
    vehicle_action: car_server.VehicleAction, which: str | None
) -> tuple[str, dict[str, Any]]:
    """The REST command name and body a CarServer VehicleAction stands for."""
    if which == "chargingStartStopAction":
        how = vehicle_action.chargingStartStopAction.WhichOneof("charging_action")
        if how == "start":
            return "charge_start", {}
        if how == "stop":
            return "charge_stop", {}
    elif which == "setChargingAmpsAction":
        return "set_charging_amps", {
            "charging_amps": vehicle_action.setChargingAmpsAction.charging_amps
        }
    elif which == "chargingSetLimitAction":
        return "set_charge_limit", {"percent": vehicle_action.chargingSetLimitAction.percent}
    elif which == "chargePortDoorOpen":
        return "charge_port_door_open", {}
    # Everything else (climate, media, start_standard / start_max_range...) is not modelled.
    raise CommandRejectedError(MessageFault_E.MESSAGEFAULT_ERROR_INVALID_COMMAND)


def _decrypt(
    key: bytes, data: AES_GCM_Personalized_Signature_Data, ciphertext: bytes, metadata: bytes
) -> bytes | None:
    try:
        return AESGCM(key).decrypt(
            bytes(data.nonce), ciphertext + bytes(data.tag), hashlib.sha256(metadata).digest()
        )
    except InvalidTag:
        return None


def _fault(reply: RoutableMessage, fault: MessageFault_E) -> RoutableMessage:
    reply.signedMessageStatus.CopyFrom(
        MessageStatus(
            operation_status=OperationStatus_E.OPERATIONSTATUS_ERROR, signed_message_fault=fault
        )
    )
    return reply
