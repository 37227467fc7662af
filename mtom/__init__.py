"""soap-mtom core: a sans-IO MTOM/XOP and SwA codec.

Reading: :class:`PackageReader` (push bytes) or :func:`read_package` gives a
:class:`Package`; :func:`reconstitute` resolves its ``xop:Include`` elements.
Writing: :func:`optimize` turns values into :class:`OutgoingPart` objects,
:class:`OutgoingPackage` streams the multipart body. The value contract the
adapters share: :class:`MtomOptions` (validated once) and :mod:`mtom.values`
(:func:`build_package`: envelope and values → package; :func:`unpack`:
package → envelope and values). Every error is an :class:`MtomError`.
"""

from .attachments import DEFAULT_SPOOL_THRESHOLD, Attachment
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
    UsageError,
    UsageWarning,
)
from .events import MessageEnd, PartData, PartEnd, PartStart
from .headers import (
    ContentType,
    Headers,
    cid_href,
    href_to_content_id,
    make_boundary,
    make_content_id,
    normalize_content_id,
    parse_content_type,
)
from .limits import DEFAULT_LIMITS, Limits
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
    SoapVersion,
    multipart_content_type,
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
    "ContentType",
    "DanglingInclude",
    "Detached",
    "DimeNotSupported",
    "ElementName",
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
    "MultipartReader",
    "NoBoundary",
    "NotMultipart",
    "OutgoingPackage",
    "OutgoingPart",
    "Package",
    "PackageReader",
    "PackageStream",
    "PartData",
    "PartEnd",
    "PartStart",
    "Progress",
    "ProgressMeter",
    "ProtocolError",
    "RootPartError",
    "SoapVersion",
    "TruncatedMessage",
    "UsageError",
    "UsageWarning",
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
    "parse_content_type",
    "parse_xml",
    "read_package",
    "reconstitute",
    "root_content_type",
    "source_size",
    "unpack",
]
