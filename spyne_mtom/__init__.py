"""Spyne adapter for soap-mtom: MTOM/XOP (and SwA input) for any Spyne SOAP service.

Use :class:`Soap11Mtom` / :class:`Soap12Mtom` in place of Spyne's ``Soap11`` /
``Soap12``::

    app = Application([MyService], tns,
                      in_protocol=Soap11Mtom(validator="lxml"),
                      out_protocol=Soap11Mtom(threshold=1024))
    wsgi = spyne_mtom.wsgi_application(app)   # raises Spyne's 2 MiB body cap

``ByteArray`` and ``File`` values arrive straight from MIME parts (no base64
round trip) and large ones leave as parts; malformed MTOM becomes a SOAP
Fault; the WSDL carries the MTOM policy assertion.
"""

from .context import (
    MtomProtocolContext,
    attachment_of,
    request_package,
    request_references,
)
from .faults import MtomFault
from .protocol import DEFAULT_THRESHOLD, MtomMixin, Soap11Mtom, Soap12Mtom
from .server import (
    DEFAULT_MAX_CONTENT_LENGTH,
    SPYNE_MAX_CONTENT_LENGTH,
    MtomWsgiApplication,
    wsgi_application,
)
from .wsdl import MTOM_POLICY_ID, WSOMA_NS, WSP_NS, add_mtom_policy

__all__ = [
    "DEFAULT_MAX_CONTENT_LENGTH",
    "DEFAULT_THRESHOLD",
    "MTOM_POLICY_ID",
    "SPYNE_MAX_CONTENT_LENGTH",
    "WSOMA_NS",
    "WSP_NS",
    "MtomFault",
    "MtomMixin",
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
