"""MTOM/XOP for Zeep: pass a transport, send and receive binary values of any size.

::

    import zeep
    from zeep_mtom import MtomTransport

    with MtomTransport(deadline=600) as transport:
        client = zeep.Client(wsdl, transport=transport)
        client.service.Upload(data=pathlib.Path("video.mp4"))  # streamed from disk
        result = client.service.Download(name="video.mp4")    # Attachment (> 4 MiB)

Sending
    :class:`MtomTransport` (requests) and :class:`AsyncMtomTransport` (httpx)
    send every ``xs:base64Binary`` value — also of types derived from it and
    of ``xmime:base64Binary``-style types carrying ``xmime:contentType`` — of
    at least ``threshold`` bytes (default 2048) as a MIME part referenced by
    ``xop:Include``. MTOM is on for a binding whose WSDL attaches the
    ``wsoma:OptimizedMimeSerialization`` policy; ``mtom=True``/``False``
    decides for every binding. Such fields take ``bytes``, base64 ``str``,
    an open binary file, a :class:`pathlib.Path`, an :class:`Attachment` or
    an :class:`OutgoingPart` (which also sets the part's Content-Type and
    Content-ID). Files and paths are read from disk while the request is
    sent; Content-Length is sent whenever every size is known.
    ``optimize_elements`` / ``inline_elements`` force elements (by QName)
    in or out. All options are :class:`MtomOptions` fields, shared with
    spyne_mtom (same names, same validation). A request with no part is sent as plain SOAP.

Receiving
    MTOM, SwA and plain replies are read as a stream; parts over
    ``spool_threshold`` (4 MiB) go to unlinked temporary files and their
    values come back as file-backed :class:`Attachment` objects (close them,
    or use ``with``), smaller ones as ``bytes``: a default transport never
    holds more than ``spool_threshold`` bytes of a value in memory, plus
    ``max_root_size`` of envelope (a plain reply too; gunzipped bytes count).
    ``stream_attachments=False`` returns every value as ``bytes``.
    ``deadline=`` (seconds) bounds a whole call: :class:`CallTimeout`. After
    a reply error the connection is closed, not pooled.
    ``transport.last_reply`` (per thread / asyncio task, held by the
    transport only: released by ``close()`` / ``with``) is an
    :class:`MtomReply` with every part: SwA references (``.swa``), parts no
    reference names (``.unreferenced``), ``.get("cid:…")``. A SOAP Fault in
    an MTOM reply raises Zeep's ``Fault``; a malformed package raises a
    :class:`MtomError` subclass (``mtom.TruncatedMessage``,
    ``mtom.DanglingInclude``, ``mtom.LimitExceeded``…) naming the reply.
    WSDLs importing the xmlmime schemas load offline (:func:`schema_for`);
    Apache Axis 1 WSDLs using ``apachesoap:DataHandler`` load, its types
    being binary. A DIME reply raises :class:`mtom.DimeNotSupported`; a
    fault in the other SOAP version's envelope (VersionMismatch) raises
    Zeep's ``Fault`` with the peer's reason.

Negotiation
    With ``negotiate=True`` (the default) a request refused for its media
    type (HTTP 415, or a fault saying so) is resent once in the other format
    — MTOM → inline base64, or plain → MTOM when the 415 names
    ``multipart/related`` — and the endpoint remembered; decisions are
    logged at INFO on the ``zeep_mtom`` logger. Otherwise a 415 raises
    :class:`UnsupportedMediaType` (a zeep ``TransportError``).

Seeing what happens
    ``progress=`` (a callable) receives :class:`mtom.Progress` events while
    the request is sent and the reply read, about a hundred per transfer.
    After each call ``transport.last_report`` is an :class:`mtom.WireReport`
    (MTOM or plain each way, parts, body bytes, what inline base64 would
    have taken, seconds), logged at INFO on the ``zeep_mtom`` logger; in
    policy mode a WARNING (once per endpoint) says when big values went out
    inline because the WSDL has no MTOM policy. A value that cannot be sent
    (a directory, a text-mode or closed file; a path for an ``xs:string``
    field while MTOM is on) raises :class:`mtom.UsageError` naming the field
    before anything is sent.

How values avoid base64
    Zeep renders a value through ``Base64Binary.render`` and parses one
    through ``Base64Binary.pythonvalue``; :func:`install` (called by the
    transports) wraps both, and ``SoapBinding.send``/``send_async`` to
    scope a per-call context. On the way out a value that will be a part is
    rendered as a ``cid:`` placeholder and ``post_xml`` — after
    WS-Addressing, plugins and WS-Security — replaces it with an
    ``xop:Include`` of a part streaming the original source. On the way in
    each resolved ``xop:Include`` leaves its ``cid:`` URL as the element's
    text, which ``pythonvalue`` turns into the part's bytes. With a signing
    ``wsse`` configured the signature must cover the real infoset, so values
    are rendered as base64, signed, and decoded into parts afterwards (the
    receiver verifies after reconstitution); reply values are likewise
    written back as base64 before Zeep verifies the reply's signature (set
    ``Settings(xml_huge_tree=True)`` for values over ~7 MiB then). Outside
    calls made through these transports every wrapper runs Zeep's own code:
    clients with other transports (and ``Client.create_message``) behave
    exactly as without zeep_mtom.

Limits
    WS-Policy is read from documents Zeep loads through the transport
    (a WSDL given as an open file object is not seen) and from
    ``wsp:Policy``/``wsp:PolicyReference``/``wsp:PolicyURIs`` on the binding
    or its ports; external ``wsp:PolicyAttachment`` is not read. The async
    transport reads file parts with blocking 1 MiB reads.
"""

from mtom import (
    DEFAULT_THRESHOLD,
    Attachment,
    Limits,
    MtomError,
    MtomOptions,
    MtomReply,
    OutgoingPart,
    ValueDeliveryError,
    read_attachment,
)
from mtom.policy import MtomPolicy, PolicyIndex

from . import _requires  # noqa: F401  checks the soap-mtom[zeep] extra
from ._http import MtomSession
from .hooks import install
from .schemas import schema_for
from .transport import (
    AsyncMtomTransport,
    CallTimeout,
    MtomResponse,
    MtomTransport,
    UnsupportedMediaType,
)

__all__ = [
    "DEFAULT_THRESHOLD",
    "AsyncMtomTransport",
    "Attachment",
    "CallTimeout",
    "Limits",
    "MtomError",
    "MtomOptions",
    "MtomPolicy",
    "MtomReply",
    "MtomResponse",
    "MtomSession",
    "MtomTransport",
    "OutgoingPart",
    "PolicyIndex",
    "UnsupportedMediaType",
    "ValueDeliveryError",
    "install",
    "read_attachment",
    "schema_for",
]
