"""The error family: hierarchy, fault roles, HTTP status hints, where it happened."""

from __future__ import annotations

import pickle
from collections.abc import Callable

import pytest

import mtom
from mtom import (
    DanglingInclude,
    InvalidInclude,
    LimitExceeded,
    MalformedMime,
    MalformedXop,
    MtomError,
    NoBoundary,
    NotMultipart,
    ProtocolError,
    RootPartError,
    TruncatedMessage,
    UsageError,
)

PEER_ERRORS = [MalformedMime, NotMultipart, NoBoundary, TruncatedMessage, RootPartError,
               MalformedXop, InvalidInclude, ProtocolError]


def test_hierarchy() -> None:
    for cls in (*PEER_ERRORS, DanglingInclude, LimitExceeded):
        assert issubclass(cls, ProtocolError) and issubclass(cls, MtomError)
    for cls in (NotMultipart, NoBoundary, TruncatedMessage):
        assert issubclass(cls, MalformedMime)
    for cls in (DanglingInclude, InvalidInclude):
        assert issubclass(cls, MalformedXop)
    assert issubclass(UsageError, MtomError) and issubclass(UsageError, ValueError)
    assert not issubclass(UsageError, ProtocolError)


def test_every_public_error_is_exported() -> None:
    names = {"MtomError", "ProtocolError", "UsageError", "MalformedMime", "NotMultipart",
             "NoBoundary", "TruncatedMessage", "RootPartError", "MalformedXop",
             "DanglingInclude", "InvalidInclude", "LimitExceeded"}
    assert names <= set(mtom.__all__)


@pytest.mark.parametrize("cls", PEER_ERRORS)
def test_peer_errors_are_sender_faults(cls: type[MtomError]) -> None:
    err = cls("bad input")
    assert err.fault_role == "Sender"
    assert err.soap11_fault_code == "Client"
    assert err.soap12_fault_code == "Sender"
    assert err.http_status("1.1") == 500  # SOAP 1.1 sends every fault with 500
    assert err.http_status("1.2") == 400
    assert err.http_status() == 500


@pytest.mark.parametrize("err", [UsageError("misuse"), MtomError("local failure")])
def test_local_errors_are_receiver_faults(err: MtomError) -> None:
    assert err.fault_role == "Receiver"
    assert err.soap11_fault_code == "Server"
    assert err.soap12_fault_code == "Receiver"
    assert err.http_status("1.1") == err.http_status("1.2") == 500


def test_message_says_where() -> None:
    assert str(MalformedMime("bad header", part=2, offset=120)) == \
        "bad header (part 2, byte 120)"
    assert str(MalformedMime("bad", part=0)) == "bad (part 0)"
    assert str(MalformedMime("bad", offset=0)) == "bad (byte 0)"
    err = MalformedMime("plain")
    assert str(err) == "plain" and err.message == "plain"
    assert err.part is None and err.offset is None


def test_specific_attributes() -> None:
    d = DanglingInclude("no such part", href="cid:a@b", part=1)
    assert d.href == "cid:a@b" and d.part == 1
    lim = LimitExceeded("too many", limit="max_parts", value=10, offset=99)
    assert (lim.limit, lim.value, lim.offset) == ("max_parts", 10, 99)


def test_errors_from_the_entry_point_carry_location() -> None:
    body = b"--b\r\n\r\nfirst\r\n--b\r\nContent-ID: <x>\r\n\r\ncut off"
    with pytest.raises(TruncatedMessage) as info:
        mtom.read_package(body, "multipart/related; boundary=b")
    err = info.value
    assert (err.part, err.offset) == (1, len(body))
    assert "--b--" in str(err)  # says what the peer should have sent


def test_catch_all_with_mtom_error() -> None:
    """Callers can catch every codec failure, peer or local, with one except clause."""
    calls: list[Callable[[], object]] = [
        lambda: mtom.read_package(b"", "text/plain"),
        lambda: mtom.read_package(b"x", "multipart/related"),
        lambda: mtom.read_package(b"--b--", "multipart/related; boundary=b"),
        lambda: mtom.OutgoingPackage(b"<r/>", boundary="bad;boundary"),
        lambda: mtom.MultipartReader(""),
    ]
    for call in calls:
        with pytest.raises(MtomError):
            call()


@pytest.mark.parametrize("err", [
    DanglingInclude("no such part", href="cid:a@b", part=1),
    LimitExceeded("too many", limit="max_parts", value=10, offset=99),
])
def test_errors_survive_pickling(err: MtomError) -> None:
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is type(err) and str(again) == str(err)
    assert again.part == err.part and again.offset == err.offset


def test_plain_errors_survive_pickling() -> None:
    err = TruncatedMessage("cut", part=3, offset=7)
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is TruncatedMessage and str(again) == str(err)
    assert (again.part, again.offset) == (3, 7)
