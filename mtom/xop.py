"""XOP on lxml trees: reconstitute includes from parts, optimise values into parts.

Strategy
--------
*Reconstitute* walks the whole root document (SOAP headers and body alike)
for ``xop:Include`` elements, checks each against the XOP rules, and
resolves its ``cid:`` href through the package. It does **not** base64-encode
anything: it returns :class:`XopReference` objects (the parent element plus
the :class:`~mtom.attachments.Attachment`) and, by default, removes the
Include element so the parent is left empty for the caller to fill. Callers
that need the pure infoset (a signature check, a schema validation) call
:func:`inline_base64`, which writes base64 text into the parents.

*Optimise* does the reverse on an outgoing tree: chosen elements get their
content replaced by an ``xop:Include`` pointing at a new
:class:`OutgoingPart`; ``xmime:contentType`` on the element becomes the
part's Content-Type.

SwA references (``href="cid:…"`` attributes, swaRef text values) are found by
:func:`find_swa_references`; parts nobody references are reported, never
dropped.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lxml import etree

from .attachments import Attachment
from .encodings import decode_base64
from .errors import DanglingInclude, InvalidInclude, LimitExceeded, quoted
from .headers import cid_href, href_to_content_id, make_content_id
from .limits import DEFAULT_LIMITS, Limits
from .options import DEFAULT_THRESHOLD
from .package import Package
from .soap import XMIME_CONTENT_TYPE, XOP_NS
from .writer import OutgoingPart, PartSource

if TYPE_CHECKING:
    from .options import MtomOptions

__all__ = [
    "XOP_INCLUDE",
    "XopReference",
    "XopResult",
    "content_type_hint",
    "find_swa_references",
    "include",
    "inline_base64",
    "optimize",
    "reconstitute",
]

XOP_INCLUDE = f"{{{XOP_NS}}}Include"
_XMIME_CT = XMIME_CONTENT_TYPE


@dataclass
class XopReference:
    """One resolved reference from the XML to a part.

    Attributes:
        element: the element whose value the part is (the Include's parent,
            or the element carrying an SwA ``href``/swaRef value).
        attachment: the referenced part.
        href: the reference as written (``cid:…``).
        kind: ``"xop"``, ``"swa-href"`` (an ``href`` attribute),
            ``"swa-ref"`` (an element whose text is a ``cid:`` URL) or
            ``"swa-location"`` (an ``href`` equal to a part's Content-Location).
    """

    element: etree._Element
    attachment: Attachment
    href: str
    kind: str = "xop"

    @property
    def content_type(self) -> str:
        """``xmime:contentType`` of the element if present, else the part's Content-Type."""
        return content_type_hint(self.element) or self.attachment.content_type


@dataclass
class XopResult:
    """What :func:`reconstitute` found."""

    references: list[XopReference] = field(default_factory=list)
    swa: list[XopReference] = field(default_factory=list)
    unreferenced: list[Attachment] = field(default_factory=list)

    _by_element: dict[int, XopReference] | None = field(default=None, repr=False,
                                                        compare=False)

    def value_of(self, element: etree._Element) -> Attachment | None:
        """The attachment an ``xop:Include`` in ``element`` resolved to, if any."""
        if self._by_element is None or len(self._by_element) < len(self.references):
            # Built once (O(references)); keyed by identity, as the references hold
            # the element proxies alive.
            self._by_element = {id(r.element): r for r in self.references}
        ref = self._by_element.get(id(element))
        return ref.attachment if ref is not None and ref.element is element else None


def content_type_hint(element: etree._Element) -> str | None:
    """The ``xmime:contentType`` attribute (2005/05 or 2004/11 namespace), if any."""
    for name in _XMIME_CT:
        value = element.get(name)
        if value:
            return value
    return None


def _local(element: etree._Element) -> str:
    """The local name of an element, safely (a tag may carry an undeclared prefix)."""
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else "?"


def _where(element: etree._Element) -> str:
    line = element.sourceline
    return f"line {line}" if line else "the root part"


def reconstitute(root: etree._Element, package: Package, *, limits: Limits = DEFAULT_LIMITS,
                 remove_includes: bool = True, swa: bool = True) -> XopResult:
    """Resolve every ``xop:Include`` in ``root`` from ``package``.

    With ``remove_includes`` (default) each Include element is removed, leaving
    its parent empty; the value is available as ``XopReference.attachment``
    with no base64 encode/decode. With ``swa`` (default) SwA references are
    collected too, and every part referenced by neither is listed in
    :attr:`XopResult.unreferenced`.

    Raises:
        InvalidInclude: an Include without href, with a non-``cid:`` href
            (never fetched), with element children, or not the only content
            of its parent.
        DanglingInclude: the href names no part (the error carries ``href``).
        LimitExceeded: more than ``max_includes`` Includes, or a part
            referenced more than ``max_references_per_part`` times.
    """
    includes = list(root.iter(XOP_INCLUDE))
    if len(includes) > limits.max_includes:
        raise LimitExceeded(
            f"{len(includes)} xop:Include elements exceed max_includes={limits.max_includes}",
            limit="max_includes", value=limits.max_includes)
    result = XopResult()
    counts: dict[int, int] = {}
    for inc in includes:
        href = inc.get("href")
        if href is None:
            raise InvalidInclude(f"xop:Include at {_where(inc)} has no href attribute")
        cid = href_to_content_id(href)
        if cid is None:
            raise InvalidInclude(
                f"xop:Include at {_where(inc)} has href {quoted(href)}, which is not a cid: "
                "URL; XOP requires a cid: reference to a part's Content-ID (it is never fetched)")
        if len(inc) and any(isinstance(child.tag, str) for child in inc):
            raise InvalidInclude(f"xop:Include at {_where(inc)} (href {quoted(href)}) has element "
                                 "children; "
                                 "XOP allows none")
        parent = inc.getparent()
        if parent is None:
            raise InvalidInclude("the document element itself is an xop:Include")
        if (parent.text or "").strip() or (inc.tail or "").strip() or len(parent) != 1:
            raise InvalidInclude(
                f"xop:Include at {_where(inc)} (href {quoted(href)}) is not the only content "
                f"of its parent <{_local(parent)}>; XOP replaces a whole value")
        att = package.by_content_id(cid, href)
        if att is None or att is package.root:
            present = ", ".join(f"<{quoted(a.content_id, limit=60, quotes=False)}>"
                                for a in package.attachments[:5] if a.content_id) or "none"
            raise DanglingInclude(
                f"xop:Include at {_where(inc)} refers to {quoted(href)}, but the package has "
                f"no part with Content-ID <{quoted(cid, quotes=False)}> (parts present: "
                f"{present}); the peer must send that part or inline the value", href=href)
        n = counts.get(id(att), 0) + 1
        if n > limits.max_references_per_part:
            raise LimitExceeded(
                f"part <{quoted(cid, quotes=False)}> is referenced by {n} xop:Include elements, "
                "more than "
                f"max_references_per_part={limits.max_references_per_part}",
                limit="max_references_per_part", value=limits.max_references_per_part,
                part=att.index)
        counts[id(att)] = n
        result.references.append(XopReference(parent, att, href, "xop"))
        if remove_includes:
            parent.remove(inc)
            parent.text = None
    if swa:
        result.swa = find_swa_references(root, package)
        seen = {id(r.attachment) for r in result.references}
        seen.update(id(r.attachment) for r in result.swa)
        result.unreferenced = [a for a in package.attachments if id(a) not in seen]
    return result


def find_swa_references(root: etree._Element, package: Package) -> list[XopReference]:
    """SwA references: ``href="cid:…"`` attributes, elements whose text is a cid URL,
    and ``href`` attributes equal to a part's Content-Location (SwA Note).

    Only references that resolve to a part are returned (SwA has no rule
    that every reference resolves; unresolved ones are left as they are).
    """
    refs: list[XopReference] = []
    for el in root.iter():
        if not isinstance(el.tag, str) or el.tag == XOP_INCLUDE:
            continue
        href = el.get("href")
        text = el.text if len(el) == 0 else None
        # Only a text that starts with "cid:" is stripped (never a large inline value).
        text = text.strip() if text and text[:64].lstrip()[:4].lower() == "cid:" else None
        for value in (href, text):
            if value and value[:4].lower() == "cid:":
                att = package.get(value)  # one dict lookup (AmbiguousReference if shared)
                if att is not None and att is not package.root:
                    kind = "swa-href" if value == href else "swa-ref"
                    refs.append(XopReference(el, att, value, kind))
        if href and href[:4].lower() != "cid:":
            # The SwA Note also lets an href name a part by its Content-Location.
            att = package.get_by_location(href)
            if att is not None and att is not package.root:
                refs.append(XopReference(el, att, href, "swa-location"))
    return refs


def inline_base64(references: Iterable[XopReference], *, line_length: int | None = None) -> None:
    """Write each referenced part back as base64 text: the pure XOP infoset.

    For callers that need the infoset as if no optimisation had happened
    (XML signature checks, schema validation). Costs a base64 encode and
    ~1.33x the part size in memory; avoid it on the hot path.
    """
    for ref in references:
        for child in list(ref.element):
            if child.tag == XOP_INCLUDE:
                ref.element.remove(child)
        text = base64.b64encode(ref.attachment.read()).decode("ascii")
        if line_length:
            text = "\n".join(text[i:i + line_length] for i in range(0, len(text), line_length))
        ref.element.text = text


def include(element: etree._Element, part: OutgoingPart) -> None:
    """Replace ``element``'s content with an ``xop:Include`` of ``part``."""
    for child in list(element):
        element.remove(child)
    element.text = None
    inc = etree.SubElement(element, XOP_INCLUDE, nsmap={"xop": XOP_NS})
    inc.set("href", cid_href(part.content_id))


def optimize(root: etree._Element, *, threshold: int = DEFAULT_THRESHOLD,
             select: Callable[[etree._Element], bool] | None = None,
             values: Mapping[etree._Element, PartSource | OutgoingPart] | None = None,
             content_id: Callable[[], str] = make_content_id,
             options: MtomOptions | None = None) -> list[OutgoingPart]:
    """Move base64Binary values of ``root`` into parts, in document order.

    Args:
        threshold: values with fewer decoded bytes stay inline.
        select: chooses elements whose text is a base64 value to optimise
            (default: elements carrying ``xmime:contentType``). Their text is
            decoded once; nothing is re-encoded.
        values: elements whose value the caller already has as raw bytes, a
            file, a path, an iterable or a ready :class:`OutgoingPart` (e.g. a
            placeholder it rendered); they are optimised regardless of
            ``select`` and without any base64 step (the size threshold applies
            when the size is known; a value that stays inline is written as
            base64 text). ``xmime:contentType`` on the element wins over a
            part's own Content-Type.
        content_id: factory for new Content-IDs.
        options: an :class:`~mtom.MtomOptions` whose ``threshold``,
            ``optimize_elements`` and ``inline_elements`` decide instead of
            ``threshold`` (:meth:`~mtom.MtomOptions.wants_part`).

    Returns the parts to send after the root, in the order of their Includes.

    Raises:
        InvalidInclude: a selected element's text is not valid base64.
    """
    chooser = select or (lambda el: content_type_hint(el) is not None)
    given = values or {}
    if options is not None:
        threshold = options.threshold
        forced, never = options.optimize_elements, options.inline_elements
    else:
        forced = never = frozenset()

    def wants(el: etree._Element, size: int | None) -> bool:
        if options is not None:
            return options.wants_part(el.tag, size)
        return size is None or size >= threshold

    parts: list[OutgoingPart] = []
    for el in list(root.iter()):
        if not isinstance(el.tag, str) or el.tag == XOP_INCLUDE:
            continue
        if el in given:
            value = given[el]
            hint = content_type_hint(el)
            if isinstance(value, OutgoingPart):
                part = value
                if hint:
                    part.content_type = hint
            else:
                part = OutgoingPart(value, content_id=content_id(),
                                    content_type=hint or "application/octet-stream")
            if not wants(el, part.size):
                # Too small to optimise: the value goes inline as base64 text.
                small = b"".join(bytes(c) for c in part.iter_content())
                for child in list(el):
                    el.remove(child)
                el.text = base64.b64encode(small).decode("ascii")
                continue
        elif len(el) == 0 and el.text and el.tag not in never and chooser(el):
            text = el.text
            # Decoded size is about 3/4 of the text: skip small values cheaply.
            if el.tag not in forced and len(text) * 3 // 4 < threshold - 3:
                continue
            try:
                raw = decode_base64(text)
            except ValueError as exc:  # binascii.Error, UnicodeEncodeError
                raise InvalidInclude(
                    f"element <{_local(el)}> chosen for optimisation does not "
                    f"hold base64 text: {exc}") from exc
            if not wants(el, len(raw)):
                continue
            part = OutgoingPart(raw, content_id=content_id(),
                                content_type=content_type_hint(el) or "application/octet-stream")
        else:
            continue
        include(el, part)
        parts.append(part)
    return parts
