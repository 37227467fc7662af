"""MTOM/XOP for Zeep: pass a transport, send and receive binary values of any size.

::

    import zeep
    from zeep_mtom import MtomTransport

    client = zeep.Client(wsdl, transport=MtomTransport())
    client.service.Upload(data=pathlib.Path("video.mp4"))   # streamed from disk
    result = client.service.Download(name="video.mp4")     # bytes, byte-exact

:class:`MtomTransport` (requests) and :class:`AsyncMtomTransport` (httpx)
send ``xs:base64Binary`` values at or over ``threshold`` bytes as MIME
parts referenced by ``xop:Include`` — MTOM is on when the WSDL's WS-Policy
asks for it, or when ``mtom=True`` — and decode MTOM, SwA and plain replies
as a stream. Attachments outside the values (SwA, unreferenced parts) are
in ``transport.last_reply``. Errors in a reply's packaging are
:class:`mtom.MtomError` subclasses.
"""

from mtom import Attachment, Limits, MtomError, OutgoingPart

from .hooks import install
from .options import DEFAULT_THRESHOLD, MtomOptions
from .policy import MtomPolicy, PolicyIndex
from .response import MtomReply, MtomResponse
from .schemas import schema_for
from .transport import AsyncMtomTransport, MtomTransport
from .values import ValueDeliveryError, read_attachment

__all__ = [
    "DEFAULT_THRESHOLD",
    "AsyncMtomTransport",
    "Attachment",
    "Limits",
    "MtomError",
    "MtomOptions",
    "MtomPolicy",
    "MtomReply",
    "MtomResponse",
    "MtomTransport",
    "OutgoingPart",
    "PolicyIndex",
    "ValueDeliveryError",
    "install",
    "read_attachment",
    "schema_for",
]
