"""fleet_sim.vcp: protocol.md's test vectors, key formats, counters and hand-built messages.

The library-driven tests are in test_signed_commands.py; these cover what the library never sends
(HMAC with FLAG_ENCRYPT_RESPONSE as Tesla's Go proxy does, malformed messages) and check the car
side byte for byte against the examples in teslamotors/vehicle-command pkg/protocol/protocol.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
from typing import Any

import aiohttp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
import pytest
from tesla_fleet_api import TeslaFleetApi
from tesla_fleet_api.exceptions import InvalidField
from tesla_fleet_api.tesla import VehicleFleet
from tesla_protocol.command import car_server_pb2 as car_server
from tesla_protocol.command.signatures_pb2 import (
    AES_GCM_Personalized_Signature_Data,
    HMAC_Personalized_Signature_Data,
    KeyIdentity,
    SessionInfo,
    SignatureData,
)
from tesla_protocol.command.universal_message_pb2 import (
    Destination,
    Domain,
    MessageFault_E,
    OperationStatus_E,
    RoutableMessage,
    SessionInfoRequest,
)
from tesla_protocol.command.vcsec_pb2 import (
    ClosureMoveRequest,
    ClosureMoveType_E,
    FromVCSECMessage,
    UnsignedMessage,
)

from fleet_sim import SimClock, Simulator, SimVehicle, VehicleConfig
from fleet_sim.vcp import (
    INFOTAINMENT,
    VCSEC,
    CounterWindow,
    MessageDecodeError,
    VehicleCommandProtocol,
    encode_metadata,
    parse_public_key,
    public_point,
    shared_key,
    subkey,
)

from .const import START, TOKEN

Fault = MessageFault_E

# ---- protocol.md's test keys and examples ------------------------------------------------------

VEHICLE_KEY_PEM = b"""-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIDRO5bRmp88e6xK29QMx2y5exYNO9fS+/P2MvlXCUo1woAoGCCqGSM49
AwEHoUQDQgAEx6H0cThIaqRymXFJSHjTOxok45Vx90im4WxZVbPYd9OmqqDpVRZk
dK9dMsQQ9DmiI0E3rRuwhf1OiBPJWPEdlw==
-----END EC PRIVATE KEY-----
"""
CLIENT_PUBLIC_PEM = """-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEsra8aMLaBmXOZWgVWUmWxiOU7di+
qQX+eBp1T+aoRacUMwkC8iXpJp1GbgWzSZgf2p2FzCPG+0RKpztikQXcbg==
-----END PUBLIC KEY-----
"""
CLIENT_POINT = bytes.fromhex(
    "04b2b6bc68c2da0665ce656815594996c62394edd8bea905fe781a754fe6a845a7"
    "14330902f225e9269d466e05b349981fda9d85cc23c6fb444aa73b629105dc6e"
)
VEHICLE_POINT = bytes.fromhex(
    "04c7a1f47138486aa4729971494878d33b1a24e39571f748a6e16c5955b3d877d3"
    "a6aaa0e955166474af5d32c410f439a2234137ad1bb085fd4e8813c958f11d97"
)
EXAMPLE_VIN = "5YJ30123456789ABC"
EXAMPLE_K = bytes.fromhex("1b2fce19967b79db696f909cff89ea9a")
EXAMPLE_EPOCH = bytes.fromhex("4c463f9cc0d3d26906e982ed224adde6")
EXAMPLE_ROUTING = bytes.fromhex("2c907bd76c640d360b3027dc7404efde")
EXAMPLE_SESSION_INFO = bytes.fromhex(
    "0806124104c7a1f47138486aa4729971494878d33b1a24e39571f748a6e16c5955b3d877d3a6aaa0e9551664"
    "74af5d32c410f439a2234137ad1bb085fd4e8813c958f11d971a104c463f9cc0d3d26906e982ed224adde625"
    "5a0a0000"
)
EXAMPLE_SESSION_INFO_TAG = bytes.fromhex(
    "996c1fe38331be138f8039c194b14db2198846ed7d8251e6749284d7b32ea002"
)


def vehicle_key() -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(VEHICLE_KEY_PEM, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def test_metadata_serialization_examples() -> None:
    # SERIALIZE({COUNTER: 100, VIN: "abc"}): sorted by tag, 0xFF at the end.
    assert encode_metadata([(5, struct.pack(">I", 100)), (2, b"abc")]) == bytes.fromhex(
        "0203616263050400000064ff"
    )
    # The AES-GCM command example's metadata.
    assert encode_metadata(
        [
            (0, bytes([5])),
            (1, bytes([3])),
            (2, EXAMPLE_VIN.encode()),
            (3, EXAMPLE_EPOCH),
            (4, struct.pack(">I", 2655)),
            (5, struct.pack(">I", 7)),
        ]
    ) == bytes.fromhex(
        "000105010103021135594a333031323334353637383941424303104c463f9cc0d3d26906e982ed224adde6"
        "040400000a5f050400000007ff"
    )
    with pytest.raises(ValueError, match="255"):
        encode_metadata([(2, bytes(256))])


def test_key_agreement_example() -> None:
    assert public_point(vehicle_key().public_key()) == VEHICLE_POINT
    assert shared_key(vehicle_key(), CLIENT_POINT) == EXAMPLE_K
    assert subkey(EXAMPLE_K, b"session info") == bytes.fromhex(
        "fceb679ee7bca756fcd441bf238bf2f338629b41d9eb9c67be1b32c9672ce300"
    )


def example_car(clock: SimClock, execute: Any = None) -> VehicleCommandProtocol:
    """protocol.md's car: its vehicle key on infotainment, its epoch, clock at 2650 s."""
    protocol = VehicleCommandProtocol(
        EXAMPLE_VIN,
        clock,
        execute or (lambda name, body: (True, "")),
        paired_keys=[CLIENT_PUBLIC_PEM],
        private_keys={INFOTAINMENT: vehicle_key()},
    )
    computer = protocol.computer(INFOTAINMENT)
    computer.epoch = EXAMPLE_EPOCH
    computer.started = clock.now() - 2650
    return protocol


def test_handshake_answers_protocol_md_example_byte_for_byte() -> None:
    clock = SimClock(start=START, speed=0)
    protocol = example_car(clock)
    # The example's counter is 6: the car has seen counters up to 6 from this client.
    assert protocol.computer(INFOTAINMENT).session(CLIENT_POINT).window.accept(6)
    request = RoutableMessage(
        to_destination=Destination(domain=INFOTAINMENT),
        from_destination=Destination(routing_address=EXAMPLE_ROUTING),
        session_info_request=SessionInfoRequest(public_key=CLIENT_POINT),
        uuid=bytes.fromhex("1588d5a30eabc6f8fc9a951b11f6fd11"),
    )
    reply = RoutableMessage.FromString(protocol.handle(request.SerializeToString()))
    assert reply.session_info == EXAMPLE_SESSION_INFO
    assert reply.signature_data.session_info_tag.tag == EXAMPLE_SESSION_INFO_TAG
    assert reply.request_uuid == request.uuid
    assert reply.to_destination.routing_address == EXAMPLE_ROUTING
    assert reply.from_destination.domain == INFOTAINMENT
    assert len(reply.uuid) == 16
    assert reply.uuid != request.uuid
    assert not reply.HasField("signedMessageStatus")


def test_aes_gcm_example_command_is_authenticated() -> None:
    clock = SimClock(start=START, speed=0)
    protocol = example_car(clock)
    protocol.computer(INFOTAINMENT).session(CLIENT_POINT).window.accept(6)
    request = RoutableMessage(
        to_destination=Destination(domain=INFOTAINMENT),
        from_destination=Destination(routing_address=EXAMPLE_ROUTING),
        protobuf_message_as_bytes=bytes.fromhex("38038e8c0f2e"),
        signature_data=SignatureData(
            signer_identity=KeyIdentity(public_key=CLIENT_POINT),
            AES_GCM_Personalized_data=AES_GCM_Personalized_Signature_Data(
                epoch=EXAMPLE_EPOCH,
                nonce=bytes.fromhex("dbf79447fa156674dae1caed"),
                counter=7,
                expires_at=2655,
                tag=bytes.fromhex("8e128da165f162f4d7d2c8da866cf82a"),
            ),
        ),
        uuid=bytes.fromhex("58406580528b6a5301391800b4fe9b99"),
    )
    reply = RoutableMessage.FromString(protocol.handle(request.SerializeToString()))
    # It decrypts to "HVAC on", which the simulated car does not model: the signature passed.
    assert (
        reply.signedMessageStatus.signed_message_fault == Fault.MESSAGEFAULT_ERROR_INVALID_COMMAND
    )
    assert protocol.computer(INFOTAINMENT).session(CLIENT_POINT).window.highest == 7
    # The same message again is a replay; its answer carries the session info to resync.
    again = RoutableMessage.FromString(protocol.handle(request.SerializeToString()))
    assert (
        again.signedMessageStatus.signed_message_fault
        == Fault.MESSAGEFAULT_ERROR_INVALID_TOKEN_OR_COUNTER
    )
    assert SessionInfo.FromString(again.session_info).counter == 7
    # Five seconds later on the car's clock it has expired (expires_at 2655 < 2656).
    clock.advance(6)
    late = RoutableMessage.FromString(protocol.handle(request.SerializeToString()))
    assert late.signedMessageStatus.signed_message_fault == Fault.MESSAGEFAULT_ERROR_TIME_EXPIRED
    assert late.signedMessageStatus.operation_status == OperationStatus_E.OPERATIONSTATUS_ERROR
    assert SessionInfo.FromString(late.session_info).clock_time == 2656


# ---- key formats -----------------------------------------------------------------------------


def test_public_key_formats() -> None:
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), CLIENT_POINT)
    compressed = key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
    )
    forms: list[bytes | str | ec.EllipticCurvePublicKey] = [
        CLIENT_PUBLIC_PEM,
        CLIENT_PUBLIC_PEM.encode(),
        CLIENT_POINT,
        compressed,
        CLIENT_POINT.hex(),
        f"  {CLIENT_POINT.hex().upper()}\n",
        base64.b64encode(CLIENT_POINT).decode(),
        base64.b64encode(compressed),
        key,
    ]
    for form in forms:
        assert parse_public_key(form) == CLIENT_POINT


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "not a key",
        "04" + "00" * 64,  # not on the curve
        CLIENT_POINT.hex()[:-2],  # one byte short
        b"\x04" + bytes(10),
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        VEHICLE_KEY_PEM.decode(),  # a private key is not taken
    ],
)
def test_bad_public_keys(bad: str | bytes) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - several messages
        parse_public_key(bad)


def test_other_key_types_are_refused() -> None:
    rsa_pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(ValueError, match="elliptic"):
        parse_public_key(rsa_pem)
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
    with pytest.raises(ValueError, match="P-256"):
        parse_public_key(p384)
    p384_pem = p384.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(ValueError, match="P-256"):
        parse_public_key(p384_pem)
    with pytest.raises(ValueError, match="P-256"):
        VehicleCommandProtocol(
            "V",
            SimClock(speed=0),
            lambda n, b: (True, ""),
            private_keys={VCSEC: ec.generate_private_key(ec.SECP384R1())},
        )


def test_pairing_through_the_config_and_the_car() -> None:
    clock = SimClock(start=START, speed=0)
    car = SimVehicle(
        VehicleConfig(paired_keys=[CLIENT_PUBLIC_PEM, CLIENT_POINT.hex()]), clock=clock
    )
    assert car.paired_keys == [CLIENT_POINT]  # the same key twice is one key
    other = public_point(ec.generate_private_key(ec.SECP256R1()).public_key())
    assert car.pair_key(other) == other
    assert car.paired_keys == [CLIENT_POINT, other]
    assert car.snapshot()["paired_keys"] == [CLIENT_POINT.hex(), other.hex()]
    car.unpair_key(CLIENT_PUBLIC_PEM)
    assert car.paired_keys == [other]
    with pytest.raises(KeyError):
        car.unpair_key(CLIENT_POINT)


# ---- counters --------------------------------------------------------------------------------


def test_vcsec_counters_must_rise() -> None:
    window = CounterWindow()
    assert not window.accept(0)
    assert window.accept(1)
    assert not window.accept(1)
    assert window.accept(5)
    assert not window.accept(4)  # VCSEC takes no counter out of order
    assert window.highest == 5


def test_infotainment_counter_window() -> None:
    window = CounterWindow(size=32)
    assert window.accept(50)
    assert not window.accept(50)
    assert window.accept(49)  # arrived out of order, not seen before
    assert not window.accept(49)
    assert window.accept(18)  # 32 below the highest: still in the window
    assert not window.accept(17)  # 33 below: too old to tell, refused
    assert window.accept(100)
    assert not window.accept(50)  # now 50 below
    assert window.accept(99)
    assert window.highest == 100


# ---- hand-built messages ---------------------------------------------------------------------


def tlv(tag: int, value: bytes) -> bytes:
    return bytes([tag, len(value)]) + value


class HandClient:
    """A client written out from protocol.md, independent of fleet_sim.vcp's helpers."""

    def __init__(self, car: SimVehicle, domain: Domain) -> None:
        self.car = car
        self.domain = domain
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.point = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        car.pair_key(self.point)
        computer = car.vcp.computer(domain)
        vehicle = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), computer.public_key)
        self.k = hashlib.sha1(self.key.exchange(ec.ECDH(), vehicle)).digest()[:16]  # noqa: S324
        self.counter = 0

    @property
    def epoch(self) -> bytes:
        return self.car.vcp.computer(self.domain).epoch

    def expires_at(self, seconds: int = 10) -> int:
        return self.car.vcp.computer(self.domain).clock_time() + seconds

    def hmac_message(
        self,
        payload: bytes,
        *,
        flags: int = 0,
        epoch: bytes | None = None,
        send_epoch: bool = True,
        sign_flags: bool = True,
    ) -> RoutableMessage:
        self.counter += 1
        expires = self.expires_at()
        used_epoch = self.epoch if epoch is None else epoch
        metadata = (
            tlv(0, bytes([8]))
            + tlv(1, bytes([self.domain]))
            + tlv(2, self.car.vin.encode())
            + tlv(3, used_epoch)
            + tlv(4, struct.pack(">I", expires))
            + tlv(5, struct.pack(">I", self.counter))
            + (tlv(7, struct.pack(">I", flags)) if flags and sign_flags else b"")
            + b"\xff"
        )
        signing_key = hmac.new(self.k, b"authenticated command", hashlib.sha256).digest()
        tag = hmac.new(signing_key, metadata + payload, hashlib.sha256).digest()
        return RoutableMessage(
            to_destination=Destination(domain=self.domain),
            from_destination=Destination(routing_address=bytes(range(16))),
            protobuf_message_as_bytes=payload,
            signature_data=SignatureData(
                signer_identity=KeyIdentity(public_key=self.point),
                HMAC_Personalized_data=HMAC_Personalized_Signature_Data(
                    epoch=used_epoch if send_epoch else b"",
                    counter=self.counter,
                    expires_at=expires,
                    tag=tag,
                ),
            ),
            uuid=bytes(range(16, 32)),
            flags=flags,
        )

    def send(self, message: RoutableMessage) -> RoutableMessage:
        return RoutableMessage.FromString(self.car.signed_command(message.SerializeToString()))

    def decrypt(self, request: RoutableMessage, reply: RoutableMessage) -> bytes:
        """protocol.md "Response decryption", with the request hash of a HMAC request."""
        request_hash = bytes([8]) + request.signature_data.HMAC_Personalized_data.tag
        if self.domain == VCSEC:
            request_hash = request_hash[:17]
        data = reply.signature_data.AES_GCM_Response_data
        metadata = (
            tlv(0, bytes([9]))
            + tlv(1, bytes([reply.from_destination.domain]))
            + tlv(2, self.car.vin.encode())
            + tlv(5, struct.pack(">I", data.counter))
            + tlv(7, struct.pack(">I", reply.flags))
            + tlv(8, request_hash)
            + tlv(9, struct.pack(">I", reply.signedMessageStatus.signed_message_fault))
            + b"\xff"
        )
        aad = hashlib.sha256(metadata).digest()
        return AESGCM(self.k).decrypt(data.nonce, reply.protobuf_message_as_bytes + data.tag, aad)


def charge_limit(percent: int) -> bytes:
    action = car_server.Action(
        vehicleAction=car_server.VehicleAction(
            chargingSetLimitAction=car_server.ChargingSetLimitAction(percent=percent)
        )
    )
    return action.SerializeToString()


def open_charge_port() -> bytes:
    move = ClosureMoveRequest(chargePort=ClosureMoveType_E.CLOSURE_MOVE_TYPE_OPEN)
    return UnsignedMessage(closureMoveRequest=move).SerializeToString()


def fault_of(reply: RoutableMessage) -> int:
    return reply.signedMessageStatus.signed_message_fault


@pytest.fixture
def car() -> SimVehicle:
    return SimVehicle(VehicleConfig(), clock=SimClock(start=START, speed=0))


ENCRYPT_RESPONSE = 1 << 1  # 1 << Flags.FLAG_ENCRYPT_RESPONSE


def test_hmac_with_encrypted_response_infotainment(car: SimVehicle) -> None:
    client = HandClient(car, INFOTAINMENT)
    request = client.hmac_message(charge_limit(70), flags=ENCRYPT_RESPONSE)
    reply = client.send(request)
    assert fault_of(reply) == 0
    assert reply.signature_data.WhichOneof("sig_type") == "AES_GCM_Response_data"
    assert reply.signature_data.AES_GCM_Response_data.counter == 1
    response = car_server.Response.FromString(client.decrypt(request, reply))
    assert response.actionStatus.result == car_server.OperationStatus_E.OPERATIONSTATUS_OK
    assert car.charge_limit_soc == 70
    # A refusal, encrypted the same way, carries the REST reason.
    request = client.hmac_message(charge_limit(70), flags=ENCRYPT_RESPONSE)
    response = car_server.Response.FromString(client.decrypt(request, client.send(request)))
    assert response.actionStatus.result == car_server.OperationStatus_E.OPERATIONSTATUS_ERROR
    assert response.actionStatus.result_reason.plain_text == "already_set"
    assert [(c.result, c.signed) for c in car.commands] == [(True, True), (False, True)]


def test_hmac_with_encrypted_response_vcsec(car: SimVehicle) -> None:
    client = HandClient(car, VCSEC)
    request = client.hmac_message(open_charge_port(), flags=ENCRYPT_RESPONSE)
    reply = client.send(request)
    assert reply.request_uuid == b""  # VCSEC leaves it out (protocol.md)
    assert FromVCSECMessage.FromString(client.decrypt(request, reply)) == FromVCSECMessage()
    assert car.commands[-1].name == "charge_port_door_open"


def test_plain_response_without_the_flag(car: SimVehicle) -> None:
    client = HandClient(car, INFOTAINMENT)
    reply = client.send(client.hmac_message(charge_limit(70)))
    assert not reply.HasField("signature_data")
    response = car_server.Response.FromString(reply.protobuf_message_as_bytes)
    assert response.actionStatus.result == car_server.OperationStatus_E.OPERATIONSTATUS_OK
    assert reply.request_uuid == bytes(range(16, 32))


def test_infotainment_charge_port_door_open(car: SimVehicle) -> None:
    # The CarServer action for the port, beside the VCSEC closure move the library sends.
    client = HandClient(car, INFOTAINMENT)
    action = car_server.Action(
        vehicleAction=car_server.VehicleAction(chargePortDoorOpen=car_server.ChargePortDoorOpen())
    )
    reply = client.send(client.hmac_message(action.SerializeToString()))
    assert car_server.Response.FromString(reply.protobuf_message_as_bytes).actionStatus.result == 0
    assert [(c.name, c.body) for c in car.commands] == [("charge_port_door_open", {})]
    assert car.charge_state()["charge_port_door_open"] is True


def test_epoch_may_be_left_out(car: SimVehicle) -> None:
    client = HandClient(car, INFOTAINMENT)
    assert fault_of(client.send(client.hmac_message(charge_limit(70), send_epoch=False))) == 0
    assert car.charge_limit_soc == 70
    # Without an epoch to compare, a stale one just fails the signature.
    stale = client.hmac_message(charge_limit(71), epoch=bytes(16), send_epoch=False)
    reply = client.send(stale)
    assert fault_of(reply) == Fault.MESSAGEFAULT_ERROR_INVALID_SIGNATURE
    assert SessionInfo.FromString(reply.session_info).epoch == client.epoch
    # With one, the car says what is wrong.
    reply = client.send(client.hmac_message(charge_limit(71), epoch=bytes(16)))
    assert fault_of(reply) == Fault.MESSAGEFAULT_ERROR_INCORRECT_EPOCH
    assert car.charge_limit_soc == 70


def test_flags_are_authenticated(car: SimVehicle) -> None:
    client = HandClient(car, INFOTAINMENT)
    # A MITM that sets a flag the client did not sign breaks the signature.
    reply = client.send(
        client.hmac_message(charge_limit(70), flags=ENCRYPT_RESPONSE, sign_flags=False)
    )
    assert fault_of(reply) == Fault.MESSAGEFAULT_ERROR_INVALID_SIGNATURE
    assert car.commands == []


def test_malformed_messages(car: SimVehicle) -> None:
    client = HandClient(car, INFOTAINMENT)

    def answer(message: RoutableMessage) -> RoutableMessage:
        return client.send(message)

    good = client.hmac_message(charge_limit(70))
    # No domain, or one the car does not have.
    for destination in (
        Destination(routing_address=b"x"),
        Destination(domain=Domain.DOMAIN_BROADCAST),
    ):
        message = RoutableMessage()
        message.CopyFrom(good)
        message.to_destination.CopyFrom(destination)
        reply = answer(message)
        assert fault_of(reply) == Fault.MESSAGEFAULT_ERROR_INVALID_DOMAINS
        assert reply.request_uuid == good.uuid
    # No payload at all.
    assert fault_of(answer(RoutableMessage(to_destination=Destination(domain=INFOTAINMENT)))) == (
        Fault.MESSAGEFAULT_ERROR_DECODING
    )
    # A command without a signature, or with a session-info tag instead of one.
    unsigned = RoutableMessage(
        to_destination=Destination(domain=INFOTAINMENT), protobuf_message_as_bytes=charge_limit(70)
    )
    assert fault_of(answer(unsigned)) == Fault.MESSAGEFAULT_ERROR_BAD_PARAMETER
    # A key handle the car never gave out.
    handle = RoutableMessage()
    handle.CopyFrom(good)
    handle.signature_data.signer_identity.handle = 7
    assert fault_of(answer(handle)) == Fault.MESSAGEFAULT_ERROR_INVALID_KEY_HANDLE
    # An AES-GCM nonce that is not 12 bytes.
    gcm = RoutableMessage(
        to_destination=Destination(domain=INFOTAINMENT),
        protobuf_message_as_bytes=b"x",
        signature_data=SignatureData(
            signer_identity=KeyIdentity(public_key=client.point),
            AES_GCM_Personalized_data=AES_GCM_Personalized_Signature_Data(
                epoch=client.epoch, nonce=bytes(8), counter=1, expires_at=client.expires_at()
            ),
        ),
    )
    assert fault_of(answer(gcm)) == Fault.MESSAGEFAULT_ERROR_IV_INCORRECT_LENGTH
    gcm.signature_data.AES_GCM_Personalized_data.nonce = bytes(12)
    assert fault_of(answer(gcm)) == Fault.MESSAGEFAULT_ERROR_INVALID_SIGNATURE
    # Authentic, but not a CarServer.Action / VCSEC.UnsignedMessage.
    assert fault_of(answer(client.hmac_message(b"\xff\xff"))) == Fault.MESSAGEFAULT_ERROR_DECODING
    vcsec = HandClient(car, VCSEC)
    assert (
        fault_of(vcsec.send(vcsec.hmac_message(b"\xff\xff"))) == Fault.MESSAGEFAULT_ERROR_DECODING
    )
    both = UnsignedMessage(
        closureMoveRequest=ClosureMoveRequest(
            chargePort=ClosureMoveType_E.CLOSURE_MOVE_TYPE_OPEN,
            frontTrunk=ClosureMoveType_E.CLOSURE_MOVE_TYPE_MOVE,
        )
    ).SerializeToString()
    assert (
        fault_of(vcsec.send(vcsec.hmac_message(both))) == Fault.MESSAGEFAULT_ERROR_INVALID_COMMAND
    )
    assert car.commands == []
    # Not a RoutableMessage at all.
    with pytest.raises(MessageDecodeError):
        car.signed_command(b"\x0a\xff")


def test_injected_faults(car: SimVehicle) -> None:
    client = HandClient(car, INFOTAINMENT)
    car.vcp.inject_fault(Fault.MESSAGEFAULT_ERROR_TIMEOUT, count=None)
    car.vcp.inject_fault(2)  # behind the first, which lasts until cleared
    assert car.vcp.pending_faults == [
        ("MESSAGEFAULT_ERROR_TIMEOUT", None),
        ("MESSAGEFAULT_ERROR_TIMEOUT", 1),
    ]
    for _ in range(3):
        reply = client.send(client.hmac_message(charge_limit(70)))
        assert fault_of(reply) == Fault.MESSAGEFAULT_ERROR_TIMEOUT
        assert not reply.session_info  # not a sync fault
    car.vcp.clear_faults()
    # A sync fault carries the session info, also for a handshake; not for an unknown key.
    car.vcp.inject_fault("MESSAGEFAULT_ERROR_INVALID_TOKEN_OR_COUNTER", count=2)
    handshake = RoutableMessage(
        to_destination=Destination(domain=INFOTAINMENT),
        session_info_request=SessionInfoRequest(public_key=client.point),
        uuid=b"u",
    )
    assert SessionInfo.FromString(client.send(handshake).session_info).epoch == client.epoch
    handshake.session_info_request.public_key = VEHICLE_POINT
    assert not client.send(handshake).session_info
    assert car.commands == []
    for bad in ("MESSAGEFAULT_ERROR_NOPE", 999, 0, "MESSAGEFAULT_ERROR_NONE"):
        with pytest.raises(ValueError):  # noqa: PT011 - several messages
            car.vcp.inject_fault(bad)
    with pytest.raises(ValueError, match="count"):
        car.vcp.inject_fault(1, count=0)


# ---- over HTTP -------------------------------------------------------------------------------


async def test_signed_command_endpoint_errors(
    sim: Simulator, api: TeslaFleetApi, session: aiohttp.ClientSession
) -> None:
    car = VehicleFleet(api, sim.vehicle(1).vin)
    for bad in ("not base64!", base64.b64encode(b"\x0a\xff").decode()):
        with pytest.raises(InvalidField):
            await car.signed_command(bad)
    url = f"{sim.url}/api/1/vehicles/{car.vin}/signed_command"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    for body in ({}, {"routable_message": 3}):
        async with session.post(url, json=body, headers=headers) as response:
            assert response.status == 400
            assert (await response.json())["error"] == "invalid_field"
    async with session.post(url, data=b"{", headers=headers) as response:
        assert (await response.json())["error"] == "invalid_request"
    async with session.post(url, json=[1], headers=headers) as response:
        assert (await response.json())["error"] == "invalid_request"
    # An empty message is a RoutableMessage without a destination: the car's own fault answer.
    answer = await car.signed_command("")
    reply = RoutableMessage.FromString(base64.b64decode(answer["response"]))
    assert fault_of(reply) == Fault.MESSAGEFAULT_ERROR_INVALID_DOMAINS
    assert sim.ledger.count("command") == 7
    assert sim.vehicle(1).commands == []
