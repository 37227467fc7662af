"""soap-mtom core: a sans-IO MTOM/XOP and SwA codec.

Reading: :class:`PackageReader` (push bytes) or :func:`read_package` gives a
:class:`Package`; :func:`reconstitute` resolves its ``xop:Include`` elements.
Writing: :func:`optimize` turns values into :class:`OutgoingPart` objects,
:class:`OutgoingPackage` streams the multipart body. The value contract the
adapters share: :class:`MtomOptions` (validated once) and :mod:`mtom.values`
(:func:`build_package`: envelope and values → package; :func:`unpack`:
package → envelope and values). A client adapter's exchange, sans-IO:
:class:`ClientCall` (one call's values), :func:`prepare_request` and
:class:`ReplyReader` (:mod:`mtom.exchange`), :class:`Negotiator`
(:mod:`mtom.negotiation`). Every error is an :class:`MtomError`.
"""

from .attachments import DEFAULT_SPOOL_THRESHOLD, Attachment
from .call import ClientCall, ValueDeliveryError, read_attachment
from .errors import (
    AmbiguousReference,
    DanglingInclude,
    DimeNotSupported,
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
    UnsupportedMediaType,
    UsageError,
    UsageWarning,
)
from .events import MessageEnd, PartData, PartEnd, PartStart
from .exchange import Exchange, MtomReply, OutgoingRequest, ReplyReader, prepare_request
from .headers import (
    ContentType,
    Headers,
    cid_href,
    href_to_content_id,
    make_boundary,
    make_content_id,
    normalize_content_id,
    parse_content_length,
    parse_content_type,
)
from .limits import DEFAULT_LIMITS, Limits
from .negotiation import Negotiator
from .options import DEFAULT_THRESHOLD, ElementName, MtomOptions, check_size, element_names
from .package import Package, PackageReader, parse_xml, read_package
from .progress import Progress, ProgressMeter
from .reader import MultipartReader
from .report import MessageStats, WireReport, base64_length
from .soap import (
    SOAP11_ENV_NS,
    SOAP12_ENV_NS,
    XMIME_NS,
    XOP_NS,
    SoapFault,
    SoapVersion,
    fault_envelope,
    multipart_content_type,
    read_fault,
    root_content_type,
)
from .values import (
    Detached,
    as_part,
    base64_text,
    build_package,
    check_source,
    detach_hints,
    inline_parts,
    is_binary_value,
    unpack,
)
from .writer import OutgoingPackage, OutgoingPart, PackageStream, source_size
from .xop import (
    XOP_INCLUDE,
    XopReference,
    XopResult,
    content_type_hint,
    find_swa_references,
    include,
    inline_base64,
    optimize,
    reconstitute,
)

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_SPOOL_THRESHOLD",
    "DEFAULT_THRESHOLD",
    "SOAP11_ENV_NS",
    "SOAP12_ENV_NS",
    "XMIME_NS",
    "XOP_INCLUDE",
    "XOP_NS",
    "AmbiguousReference",
    "Attachment",
    "ClientCall",
    "ContentType",
    "DanglingInclude",
    "Detached",
    "DimeNotSupported",
    "ElementName",
    "Exchange",
    "Headers",
    "InvalidInclude",
    "LimitExceeded",
    "Limits",
    "MalformedMime",
    "MalformedXop",
    "MessageEnd",
    "MessageStats",
    "MtomError",
    "MtomOptions",
    "MtomReply",
    "MultipartReader",
    "Negotiator",
    "NoBoundary",
    "NotMultipart",
    "OutgoingPackage",
    "OutgoingPart",
    "OutgoingRequest",
    "Package",
    "PackageReader",
    "PackageStream",
    "PartData",
    "PartEnd",
    "PartStart",
    "Progress",
    "ProgressMeter",
    "ProtocolError",
    "ReplyReader",
    "RootPartError",
    "SoapFault",
    "SoapVersion",
    "TruncatedMessage",
    "UnsupportedMediaType",
    "UsageError",
    "UsageWarning",
    "ValueDeliveryError",
    "WireReport",
    "XopReference",
    "XopResult",
    "__version__",
    "as_part",
    "base64_length",
    "base64_text",
    "build_package",
    "check_size",
    "check_source",
    "cid_href",
    "content_type_hint",
    "detach_hints",
    "element_names",
    "fault_envelope",
    "find_swa_references",
    "href_to_content_id",
    "include",
    "inline_base64",
    "inline_parts",
    "is_binary_value",
    "make_boundary",
    "make_content_id",
    "multipart_content_type",
    "normalize_content_id",
    "optimize",
    "parse_content_length",
    "parse_content_type",
    "parse_xml",
    "prepare_request",
    "read_attachment",
    "read_fault",
    "read_package",
    "reconstitute",
    "root_content_type",
    "source_size",
    "unpack",
]
