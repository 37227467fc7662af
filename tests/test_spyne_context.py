"""Per-request state: the request package, its references, and its clean-up."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from _support import decode, envelope, pattern, post_mtom, serve_wsgi, xop
from spyne import Application, ByteArray, File, ServiceBase, Unicode, rpc

import mtom
from spyne_mtom import (
    MtomProtocolContext,
    Soap11Mtom,
    attachment_of,
    request_package,
    request_references,
    wsgi_application,
)
from spyne_mtom.context import in_state, out_state

SEEN: list[mtom.Package] = []
HANDLES: list[Any] = []


class Inspect(ServiceBase):  # type: ignore[misc]
    @rpc(File, _returns=Unicode)
    def keep(ctx: Any, f: Any) -> str:
        pkg = request_package(ctx)
        assert pkg is not None
        SEEN.append(pkg)
        HANDLES.append(f.handle)
        (ref,) = request_references(ctx)
        assert attachment_of(ctx, ref.element) is ref.attachment
        assert attachment_of(ctx, object()) is None
        assert isinstance(ctx.inprot_ctx, MtomProtocolContext)
        return f.handle.read(5).decode()

    @rpc(File, _returns=File)
    def echo(ctx: Any, f: Any) -> Any:
        SEEN.append(request_package(ctx))  # type: ignore[arg-type]
        return f

    @rpc(ByteArray, _returns=Unicode)
    def plain(ctx: Any, data: Any) -> str:
        return "none" if request_package(ctx) is None else "package"


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    app = Application([Inspect], "urn:i", in_protocol=Soap11Mtom(spool_threshold=1024),
                      out_protocol=Soap11Mtom())
    with serve_wsgi(wsgi_application(app)) as base:
        yield base


def _closed_soon(pkg: mtom.Package) -> bool:
    for _ in range(100):
        if all(p.closed for p in pkg.parts):
            return True
        time.sleep(0.02)
    return False


def test_package_is_closed_after_a_plain_response(url: str) -> None:
    SEEN.clear()
    part = mtom.OutgoingPart(pattern(100_000, 1))
    root = envelope("1.1", f"<i:keep xmlns:i='urn:i'><i:f>{xop(part)}</i:f></i:keep>")
    reply = decode(post_mtom(url, "1.1", root, [part]))
    assert reply.text("keepResult") == pattern(100_000, 1)[:5].decode()
    (pkg,) = SEEN
    assert _closed_soon(pkg)
    with pytest.raises(ValueError):  # the handle was request-scoped
        HANDLES[-1].read()


def test_package_outlives_spyne_until_the_echo_is_streamed(url: str) -> None:
    SEEN.clear()
    data = pattern(300_000, 2)  # spooled: the response streams from the temp file
    part = mtom.OutgoingPart(data)
    root = envelope("1.1", f"<i:echo xmlns:i='urn:i'><i:f>{xop(part)}</i:f></i:echo>")
    reply = decode(post_mtom(url, "1.1", root, [part]))
    assert next(iter(reply.values.values())).read() == data
    assert _closed_soon(SEEN[0])


def test_no_package_for_plain_requests(url: str) -> None:
    root = envelope("1.1", "<i:plain xmlns:i='urn:i'><i:data>AAAA</i:data></i:plain>")
    from _support import post_plain

    assert decode(post_plain(url, "1.1", root)).text("plainResult") == "none"


def test_state_falls_back_to_the_method_context() -> None:
    class Ctx:
        inprot_ctx = None
        outprot_ctx = object()

    ctx = Ctx()
    st = in_state(ctx)
    assert st is in_state(ctx) and isinstance(st, MtomProtocolContext)
    assert out_state(ctx) is not st and out_state(ctx) is out_state(ctx)
    st.close()
    st.close()  # idempotent
