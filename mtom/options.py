"""The options of the value contract, validated once, shared by every adapter.

Strategy: both adapters (Zeep's transports, Spyne's protocols) take the same
keyword arguments with the same names; they become one frozen
:class:`MtomOptions` here, validated with one set of messages, so the code
that sends and receives values reads plain attributes and never re-checks.
Element names are kept in Clark notation (``{namespace}local``), the form
lxml uses for ``element.tag``, so a membership test on a tag is a set lookup.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from .attachments import DEFAULT_SPOOL_THRESHOLD
from .headers import ContentType
from .limits import DEFAULT_LIMITS, Limits
from .package import PackageReader, parse_xml
from .progress import ProgressMeter

__all__ = ["DEFAULT_THRESHOLD", "ElementName", "MtomOptions", "check_size", "element_names"]

#: Values with fewer decoded bytes stay inline as base64. Measured (``python -m
#: benchmarks.calls --sweep``, docs/performance.md): a one-value MTOM round trip is no
#: larger on the wire than inline base64 from about 1.9 KiB on (the MIME framing costs
#: ~600 bytes a message); below that MTOM costs bytes *and* CPU. For comparison: JAX-WS
#: RI optimises every value (``MTOMFeature`` threshold 0), WCF from 768 bytes, CXF
#: from 5 KiB.
DEFAULT_THRESHOLD = 2048

ElementName = str | etree.QName
"""An element name: ``"{namespace}local"`` (Clark notation; a bare ``"local"`` means no
namespace) or an :class:`lxml.etree.QName`."""


def check_size(name: str, value: object) -> int:
    """``value`` if it is a non-negative ``int`` number of bytes, else a ``ValueError``.

    The one message every adapter gives for a size option (``threshold``,
    ``spool_threshold``, ``max_content_length``…); ``bool`` and ``float`` are refused.
    """
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    hint = ""
    if isinstance(value, str):
        hint = " (sizes are plain ints: write 1024 or 1 << 30, not a string like '1k')"
    raise ValueError(f"{name} must be a non-negative int number of bytes, got {value!r}{hint}")


def _clark(option: str, name: object) -> str:
    if isinstance(name, etree.QName):
        return name.text
    if not isinstance(name, str) or not name or (name.startswith("{") and "}" not in name):
        raise ValueError(f"{option}: element name {name!r} is not a QName "
                         "('{namespace}local' or lxml.etree.QName)")
    return name


def element_names(option: str, names: Iterable[ElementName] | ElementName | None
                  ) -> frozenset[str]:
    """Element names in Clark notation; one ``str`` or ``QName`` is one name, never letters."""
    if names is None:
        return frozenset()
    if isinstance(names, (str, etree.QName)):
        names = [names]
    return frozenset(_clark(option, n) for n in names)


@dataclass(frozen=True)
class MtomOptions:
    """What an adapter does with binary values, in both directions.

    Attributes:
        mtom: ``None`` sends MTOM as the service description says (Zeep: the
            WSDL's ``wsoma:OptimizedMimeSerialization`` policy; Spyne: always);
            ``True`` / ``False`` force it on / off. What is received is decoded
            whatever this says.
        threshold: ``xs:base64Binary`` values with fewer bytes stay inline as
            base64 (default 1024). ``0`` sends every value as a part; a value
            whose size cannot be known without reading it (a pipe) is a part.
        optimize_elements: elements (Clark ``{ns}local`` names) always sent as
            parts whatever their size.
        inline_elements: elements never sent as parts (they win over
            ``optimize_elements``).
        spool_threshold: received parts larger than this many bytes are kept
            in an unlinked temporary file instead of memory (default 4 MiB).
        spool_dir: directory for those files (default: the system's).
        limits: resource limits for reading (see :class:`mtom.Limits`).
        huge_tree: let lxml parse text nodes over 10 MB in a root part (inline
            base64); off by default.
        stream_attachments: a client hands received values larger than
            ``spool_threshold`` out as file-backed :class:`mtom.Attachment`
            objects (default), so no value holds more than ``spool_threshold``
            bytes of memory; ``False`` gives every value as ``bytes`` (memory
            up to ``limits.max_attachment_size`` per value).
    """

    mtom: bool | None = None
    threshold: int = DEFAULT_THRESHOLD
    optimize_elements: frozenset[str] = field(default_factory=frozenset)
    inline_elements: frozenset[str] = field(default_factory=frozenset)
    spool_threshold: int = DEFAULT_SPOOL_THRESHOLD
    spool_dir: str | os.PathLike[str] | None = None
    limits: Limits = DEFAULT_LIMITS
    huge_tree: bool = False
    stream_attachments: bool = True

    def __post_init__(self) -> None:
        if self.mtom not in (None, True, False):
            raise ValueError(f"mtom must be None, True or False, got {self.mtom!r}")
        check_size("threshold", self.threshold)
        check_size("spool_threshold", self.spool_threshold)
        for flag in ("huge_tree", "stream_attachments"):
            if not isinstance(getattr(self, flag), bool):
                raise ValueError(f"{flag} must be True or False, got {getattr(self, flag)!r}")
        if not isinstance(self.limits, Limits):
            raise TypeError(f"limits must be an mtom.Limits, got {type(self.limits).__name__}")
        if self.spool_dir is not None and not isinstance(self.spool_dir, (str, os.PathLike)):
            raise ValueError(f"spool_dir must be a path or None, got {self.spool_dir!r}")
        object.__setattr__(self, "optimize_elements",
                           element_names("optimize_elements", self.optimize_elements))
        object.__setattr__(self, "inline_elements",
                           element_names("inline_elements", self.inline_elements))

    @classmethod
    def merge(cls, options: MtomOptions | None = None, **given: Any) -> MtomOptions:
        """``options`` (or the defaults) with every keyword that is not ``None`` replaced.

        What an adapter does with its keyword arguments: one object, validated once.
        """
        if options is not None and not isinstance(options, MtomOptions):
            raise TypeError(f"options must be an mtom.MtomOptions, got {type(options).__name__}")
        fields = {k: v for k, v in given.items() if v is not None}
        if options is None:
            return cls(**fields)
        return dataclasses.replace(options, **fields) if fields else options

    def wants_part(self, tag: object, size: int | None) -> bool:
        """Whether a binary value of ``size`` bytes in element ``tag`` becomes a part.

        ``size`` is ``None`` when unknown (a non-seekable stream): such values
        always become parts, since reading them to decide would load them.
        """
        if tag in self.inline_elements:
            return False
        if tag in self.optimize_elements or size is None:
            return True
        return size >= self.threshold

    def reader(self, content_type: str | ContentType, *,
               spool_threshold: int | None = None,
               progress: ProgressMeter | None = None) -> PackageReader:
        """A :class:`mtom.PackageReader` with these limits, spool settings and parser options
        (and ``progress``, a :class:`mtom.ProgressMeter`, when given)."""
        return PackageReader(content_type, limits=self.limits,
                             spool_threshold=(self.spool_threshold if spool_threshold is None
                                              else spool_threshold),
                             spool_dir=self.spool_dir, huge_tree=self.huge_tree,
                             progress=progress)

    def parse(self, data: bytes, *, charset: str | None = None, what: str = "root part",
              parser_options: dict[str, Any] | None = None) -> etree._Element:
        """:func:`mtom.parse_xml` with ``huge_tree`` (and the caller's parser options)."""
        extra = dict(parser_options or {})
        huge = bool(extra.pop("huge_tree", self.huge_tree))
        return parse_xml(data, charset=charset, huge_tree=huge, what=what,
                         parser_options=extra)
