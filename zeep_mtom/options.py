"""The MTOM options of a transport, validated once and then read-only.

Strategy: both transports take the same keyword arguments; they are turned
into one frozen :class:`MtomOptions` here, so the send and receive code read
plain attributes and never re-validate. Element names are kept in Clark
notation (``{namespace}local``), the form lxml uses for ``element.tag``, so
a membership test on a tag is a set lookup.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field

from lxml import etree

from mtom import DEFAULT_LIMITS, DEFAULT_SPOOL_THRESHOLD, Limits

__all__ = ["DEFAULT_THRESHOLD", "ElementName", "MtomOptions"]

#: Values with fewer decoded bytes stay inline as base64 (JAX-WS RI's default
#: ``@MTOM(threshold=…)`` is 0 but its documentation recommends 1 KiB; WCF's
#: ``MessageEncoding="Mtom"`` inlines anything under 1 KiB as well: below that
#: the MIME framing costs more than base64 saves).
DEFAULT_THRESHOLD = 1024

ElementName = str | etree.QName
"""An element name: ``"{namespace}local"`` (Clark notation; a bare ``"local"`` means no
namespace) or an :class:`lxml.etree.QName`."""


def _clark(name: ElementName) -> str:
    if isinstance(name, etree.QName):
        return name.text
    if not isinstance(name, str) or not name or (name.startswith("{") and "}" not in name):
        raise ValueError(f"element name {name!r} is not a QName ('{{namespace}}local')")
    return name


def _names(names: Iterable[ElementName] | None) -> frozenset[str]:
    if names is None:
        return frozenset()
    if isinstance(names, (str, etree.QName)):
        names = [names]
    return frozenset(_clark(n) for n in names)


@dataclass(frozen=True)
class MtomOptions:
    """What a transport does with binary values.

    Attributes:
        mtom: ``None`` sends MTOM for a binding whose WSDL attaches the
            ``wsoma:OptimizedMimeSerialization`` policy assertion and plain
            SOAP otherwise; ``True`` / ``False`` force it on / off for every
            binding. Replies are decoded whatever this says.
        threshold: ``xs:base64Binary`` values with fewer bytes stay inline as
            base64 (default 1024). ``0`` sends every value as a part.
        optimize_elements: elements (Clark ``{ns}local`` names) always sent as
            parts whatever their size — also elements whose schema type is not
            ``xs:base64Binary`` but whose text is base64.
        inline_elements: elements never sent as parts (they win over
            ``optimize_elements``).
        spool_threshold: with ``stream_attachments``, reply parts larger than
            this many bytes are kept in an unlinked temporary file instead of
            memory (default 4 MiB). Without it every value ends as ``bytes``
            in memory anyway, so parts are not spooled first.
        spool_dir: directory for those files (default: the system's).
        limits: resource limits for reading replies (see :class:`mtom.Limits`).
        stream_attachments: return reply values that were spooled to a
            temporary file as :class:`mtom.Attachment` objects instead of
            ``bytes``, so a value of any size holds bounded memory. Values at
            or below ``spool_threshold`` still come back as ``bytes``.
        render_placeholders: let Zeep render a ``cid:`` placeholder instead of
            base64 for values that will become parts (no base64 work at all).
            Turned off automatically while a signing ``wsse`` is configured,
            because the signature must cover the real base64 text; set it to
            ``False`` yourself only for an egress plugin that hashes or signs
            the body.
    """

    mtom: bool | None = None
    threshold: int = DEFAULT_THRESHOLD
    optimize_elements: frozenset[str] = field(default_factory=frozenset)
    inline_elements: frozenset[str] = field(default_factory=frozenset)
    spool_threshold: int = DEFAULT_SPOOL_THRESHOLD
    spool_dir: str | os.PathLike[str] | None = None
    limits: Limits = DEFAULT_LIMITS
    stream_attachments: bool = False
    render_placeholders: bool = True

    def __post_init__(self) -> None:
        if self.mtom not in (None, True, False):
            raise ValueError(f"mtom must be None, True or False, got {self.mtom!r}")
        for name in ("threshold", "spool_threshold"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative int (bytes), got {value!r}")
        if not isinstance(self.limits, Limits):
            raise TypeError(f"limits must be an mtom.Limits, got {type(self.limits).__name__}")
        object.__setattr__(self, "optimize_elements", _names(self.optimize_elements))
        object.__setattr__(self, "inline_elements", _names(self.inline_elements))

    def wants_part(self, tag: str, size: int | None) -> bool:
        """Whether a base64Binary value of ``size`` bytes in element ``tag`` becomes a part.

        ``size`` is ``None`` when unknown (a non-seekable stream): such values
        always become parts, since reading them to decide would load them.
        """
        if tag in self.inline_elements:
            return False
        if tag in self.optimize_elements or size is None:
            return True
        return size >= self.threshold
