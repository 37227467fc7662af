"""Quick start, Spyne: a service that takes and returns binary values as MTOM parts.

Serve it with ``python quickstart_spyne.py`` (waitress on http://127.0.0.1:8000/,
WSDL at ``?wsdl``); ``wsgi`` is the WSGI application for any other server.
"""

from __future__ import annotations

import hashlib
from typing import Any

import spyne_mtom  # noqa: F401  import before spyne: Spyne 2.14 needs it on Python 3.12+

# isort: split
from spyne import Application, ByteArray, ComplexModel, Long, ServiceBase, Unicode, rpc

from spyne_mtom import Soap11Mtom, wsgi_application

TNS = "urn:example:files"


class Digest(ComplexModel):  # type: ignore[misc]
    __namespace__ = TNS
    _type_info = [("size", Long), ("sha256", Unicode)]


class FileService(ServiceBase):  # type: ignore[misc]
    @rpc(ByteArray, _returns=Digest)  # type: ignore[untyped-decorator]
    def Checksum(ctx: Any, data: Any) -> Digest:
        # A ByteArray arrives as a sequence of bytes chunks, straight from its MIME part.
        raw = b"".join(data or ())
        return Digest(size=len(raw), sha256=hashlib.sha256(raw).hexdigest())

    @rpc(Long, _returns=ByteArray)  # type: ignore[untyped-decorator]
    def Zeros(ctx: Any, size: int) -> bytes:
        return bytes(size)  # 1024 bytes or more: sent back as a MIME part


app = Application(
    [FileService], TNS, name="Files",
    in_protocol=Soap11Mtom(validator="lxml"),   # accepts MTOM, SwA and plain SOAP
    out_protocol=Soap11Mtom(threshold=1024),     # values >= 1 KiB leave as parts (MTOM clients)
)
wsgi = wsgi_application(app)  # Spyne's WsgiApplication, request cap raised from 2 MiB to 1 GiB

if __name__ == "__main__":
    from waitress import serve

    serve(wsgi, host="127.0.0.1", port=8000, max_request_body_size=1 << 30)
