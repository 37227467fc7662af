"""Spyne adapter for soap-mtom: MTOM/XOP (and SwA input) for any Spyne SOAP service.

Use :class:`Soap11Mtom` / :class:`Soap12Mtom` in place of Spyne's ``Soap11`` /
``Soap12``, and serve with :func:`wsgi_application` (Spyne's
``WsgiApplication`` with a request cap fit for MTOM — Spyne's default is
2 MiB — that hands MTOM bodies to ``wsgi.file_wrapper``)::

    app = Application([MyService], tns,
                      in_protocol=Soap11Mtom(validator="lxml"),
                      out_protocol=Soap11Mtom(threshold=1024))
    wsgi = spyne_mtom.wsgi_application(app, max_content_length=1 << 30)

``ByteArray`` and ``File`` values arrive straight from MIME parts (no base64
round trip; ``File`` values read a spooled temporary file through
``.handle``, valid until the request ends) and values of ``threshold`` bytes
or more leave as parts (``File`` paths and handles streamed from disk).
The options are :class:`MtomOptions` fields, shared with zeep_mtom (same
names, same validation): ``threshold``, ``optimize_elements``,
``inline_elements``, ``spool_threshold``, ``spool_dir``, ``limits``, ``mtom``,
or ``options=MtomOptions(...)``; ``optimize_types`` picks the Spyne types.
Replies are MTOM when the request was MTOM or accepts it (``mtom_reply="auto"``;
``"always"`` for W3C-style endpoints); ``require_mtom``, ``progress`` and one INFO
log line per request on the ``spyne_mtom`` logger are described in :class:`MtomMixin`.
Malformed MTOM becomes a SOAP Fault (``Client``/``Sender``) with the SOAP
binding's HTTP status, always well-formed; the WSDL carries the MTOM policy
assertion.
The example service built on it is a separate package, :mod:`mtom_demo.service`.
"""

from mtom import DEFAULT_THRESHOLD, MtomOptions
from mtom.policy import MTOM_POLICY_ID, WSOMA_NS, add_mtom_policy
from mtom.policy import WSP15_NS as WSP_NS

from . import compat  # noqa: F401  first: checks the extra, lets Spyne 2.14 import on 3.12+
from .context import (
    MtomProtocolContext,
    attachment_of,
    request_package,
    request_references,
)
from .faults import MtomFault
from .protocol import MtomMixin, Soap11Mtom, Soap12Mtom
from .server import (
    DEFAULT_MAX_CONTENT_LENGTH,
    SPYNE_MAX_CONTENT_LENGTH,
    MtomWsgiApplication,
    wsgi_application,
)

__all__ = [
    "DEFAULT_MAX_CONTENT_LENGTH",
    "DEFAULT_THRESHOLD",
    "MTOM_POLICY_ID",
    "SPYNE_MAX_CONTENT_LENGTH",
    "WSOMA_NS",
    "WSP_NS",
    "MtomFault",
    "MtomMixin",
    "MtomOptions",
    "MtomProtocolContext",
    "MtomWsgiApplication",
    "Soap11Mtom",
    "Soap12Mtom",
    "add_mtom_policy",
    "attachment_of",
    "request_package",
    "request_references",
    "wsgi_application",
]
