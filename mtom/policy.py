"""WS-Policy: does a WSDL ask for MTOM on a binding, and how a WSDL says it does.

Strategy: the transport sees every WSDL and XSD document Zeep loads (they
all go through ``Transport.load``), so it feeds each one to a
:class:`PolicyIndex`. The index remembers the ``wsp:Policy`` elements by
their ids and names, and which policies are attached to which binding —
inline (``wsp:Policy`` child), by ``wsp:PolicyReference`` or by the
``wsp:PolicyURIs`` attribute, on the ``wsdl:binding`` or on a
``wsdl:port`` naming it. Evaluation happens on demand: a policy expression
is reduced to the set of truth values "this alternative contains
``wsoma:OptimizedMimeSerialization``" over its alternatives (``All`` is a
conjunction, ``ExactlyOne`` a choice, ``wsp:Optional="true"`` makes an
assertion a choice too), which gives :class:`MtomPolicy`.

:func:`add_mtom_policy` writes the assertion into a WSDL (a server adapter
publishing its WSDL). Both WS-Policy 1.2 (``http://schemas.xmlsoap.org/ws/2004/09/policy``) and
1.5 (``http://www.w3.org/ns/ws-policy``) are read. External attachment
(``wsp:PolicyAttachment`` documents) is not.
"""

from __future__ import annotations

import enum

from lxml import etree

from .soap import namespace_of

__all__ = ["MTOM_POLICY_ID", "WSDL_NS", "WSOMA_NS", "WSP12_NS", "WSP15_NS", "WSU_NS", "MtomPolicy",
           "PolicyIndex", "add_mtom_policy"]

WSOMA_NS = "http://schemas.xmlsoap.org/ws/2004/09/policy/optimizedmimeserialization"
WSP12_NS = "http://schemas.xmlsoap.org/ws/2004/09/policy"
WSP15_NS = "http://www.w3.org/ns/ws-policy"
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
WSU_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
XML_NS = "http://www.w3.org/XML/1998/namespace"

_WSP = (WSP12_NS, WSP15_NS)
_ASSERTION = f"{{{WSOMA_NS}}}OptimizedMimeSerialization"
_ID_ATTRS = (f"{{{WSU_NS}}}Id", f"{{{XML_NS}}}id", "Id", "id")
_MAX_DEPTH = 32
#: ``wsu:Id`` of the policy :func:`add_mtom_policy` writes.
MTOM_POLICY_ID = "SpyneMtomPolicy"
_SOAP_BINDING_NS = ("http://schemas.xmlsoap.org/wsdl/soap/",
                    "http://schemas.xmlsoap.org/wsdl/soap12/")


class MtomPolicy(enum.Enum):
    """What a binding's policy says about MTOM."""

    NONE = "none"
    """No ``wsoma:OptimizedMimeSerialization`` in any alternative."""
    OPTIONAL = "optional"
    """Some alternatives have it (``wsp:Optional="true"`` or ``ExactlyOne``)."""
    REQUIRED = "required"
    """Every alternative has it."""

    @property
    def enabled(self) -> bool:
        """Whether a client following the policy sends MTOM (it does for OPTIONAL too)."""
        return self is not MtomPolicy.NONE


def _wsp(el: etree._Element, local: str) -> bool:
    return isinstance(el.tag, str) and el.tag in (f"{{{ns}}}{local}" for ns in _WSP)


def _wsp_attr(el: etree._Element, local: str) -> str | None:
    for ns in _WSP:
        value = el.get(f"{{{ns}}}{local}")
        if value is not None:
            return value
    return el.get(local) if local == "URI" else None


def _safe_parse(data: bytes) -> etree._Element | None:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             remove_comments=True)
    try:
        return etree.fromstring(data, parser)
    except (etree.XMLSyntaxError, ValueError):
        return None


class PolicyIndex:
    """Policies and policy attachments gathered from WSDL documents."""

    def __init__(self) -> None:
        self._by_id: dict[str, etree._Element] = {}
        self._by_name: dict[str, etree._Element] = {}
        # binding Clark name -> attached policy expressions (elements) or URIs
        self._subjects: dict[str, list[etree._Element | str]] = {}

    # -- gathering -------------------------------------------------------

    def add_document(self, data: bytes | etree._Element, url: str | None = None) -> None:
        """Index one loaded document (non-WSDL and malformed documents are ignored)."""
        if isinstance(data, (bytes, bytearray)):
            if b"olicy" not in data:  # cheap filter: no wsp:Policy/PolicyReference/PolicyURIs
                return
            root = _safe_parse(bytes(data))
        else:
            root = data
        if root is None:
            return
        for policy in root.iter(*(f"{{{ns}}}Policy" for ns in _WSP)):
            for attr in _ID_ATTRS:
                pid = policy.get(attr)
                if pid:
                    self._by_id.setdefault(pid, policy)
                    if url:
                        self._by_id.setdefault(f"{url}#{pid}", policy)
            name = policy.get("Name")
            if name:
                self._by_name.setdefault(name, policy)
        if root.tag != f"{{{WSDL_NS}}}definitions":
            return
        tns = root.get("targetNamespace") or ""
        for binding in root.iterchildren(f"{{{WSDL_NS}}}binding"):
            name = binding.get("name")
            if name:
                self._attach(f"{{{tns}}}{name}", binding)
        for port in root.iter(f"{{{WSDL_NS}}}port"):
            ref = port.get("binding")
            if ref:
                prefix, _, local = ref.rpartition(":")
                ns = port.nsmap.get(prefix or None, tns if not prefix else "")
                self._attach(f"{{{ns}}}{local}", port)

    def _attach(self, subject: str, el: etree._Element) -> None:
        found: list[etree._Element | str] = []
        for child in el:
            if _wsp(child, "Policy"):
                found.append(child)
            elif _wsp(child, "PolicyReference") and child.get("URI"):
                found.append(child.get("URI", ""))
        uris = _wsp_attr(el, "PolicyURIs")
        if uris:
            found.extend(uris.split())
        if found:
            self._subjects.setdefault(subject, []).extend(found)

    # -- evaluation ------------------------------------------------------

    def _resolve(self, uri: str) -> etree._Element | None:
        if uri in self._by_name:
            return self._by_name[uri]
        if uri in self._by_id:
            return self._by_id[uri]
        _, sep, fragment = uri.partition("#")
        return self._by_id.get(fragment) if sep and fragment else None

    def _truths(self, node: etree._Element | str, depth: int) -> set[bool]:
        """Possible values of "MTOM asserted" over the alternatives of ``node``."""
        if depth > _MAX_DEPTH:
            return {False}
        if isinstance(node, str):
            target = self._resolve(node)
            return self._truths(target, depth + 1) if target is not None else {False}
        if node.tag == _ASSERTION:
            optional = (_wsp_attr(node, "Optional") or "").strip().lower() in ("true", "1")
            return {True, False} if optional else {True}
        if _wsp(node, "PolicyReference"):
            return self._truths(node.get("URI", ""), depth + 1)
        if _wsp(node, "ExactlyOne"):
            out: set[bool] = set()
            for child in node:
                if isinstance(child.tag, str):
                    out |= self._truths(child, depth + 1)
            return out or {False}
        if _wsp(node, "All") or _wsp(node, "Policy"):
            return self._conjunction(
                [c for c in node if isinstance(c.tag, str)], depth + 1)
        return {False}  # another assertion (its nested policy is its own business)

    def _conjunction(self, nodes: list[etree._Element | str], depth: int) -> set[bool]:
        # An alternative of a conjunction picks one alternative of each member:
        # it can assert MTOM if any member can, and can lack it if all can.
        sets = [self._truths(n, depth) for n in nodes]
        out = set()
        if any(True in s for s in sets):
            out.add(True)
        if all(False in s for s in sets):
            out.add(False)
        return out

    def binding_policy(self, binding: str | etree.QName) -> MtomPolicy:
        """What the policies attached to ``binding`` (its QName) say about MTOM."""
        key = binding.text if isinstance(binding, etree.QName) else str(binding)
        attached = self._subjects.get(key)
        if not attached:
            return MtomPolicy.NONE
        truths = self._conjunction(attached, 0)
        if truths == {True}:
            return MtomPolicy.REQUIRED
        return MtomPolicy.OPTIONAL if True in truths else MtomPolicy.NONE

    def __len__(self) -> int:
        return len(self._subjects)


def add_mtom_policy(definitions: etree._Element, policy_id: str = MTOM_POLICY_ID) -> None:
    """Add the MTOM policy to a ``wsdl:definitions`` tree and refer to it from each binding.

    A WS-Policy 1.5 ``wsp:Policy`` with ``wsoma:OptimizedMimeSerialization``
    (WS-MTOMPolicy) at the top, a ``wsp:PolicyReference`` in every binding
    after its SOAP binding element: what JAX-WS, CXF and WCF clients read.
    """
    policy = etree.Element(f"{{{WSP15_NS}}}Policy",
                           nsmap={"wsp": WSP15_NS, "wsu": WSU_NS, "wsoma": WSOMA_NS})
    policy.set(f"{{{WSU_NS}}}Id", policy_id)
    etree.SubElement(policy, _ASSERTION)
    # WSDL 1.1: extensibility elements come first in wsdl:definitions.
    index = 1 if len(definitions) and definitions[0].tag == f"{{{WSDL_NS}}}documentation" else 0
    definitions.insert(index, policy)
    for binding in definitions.iterchildren(f"{{{WSDL_NS}}}binding"):
        ref = etree.Element(f"{{{WSP15_NS}}}PolicyReference", nsmap={"wsp": WSP15_NS})
        ref.set("URI", f"#{policy_id}")
        at = 0
        for i, child in enumerate(binding):
            if namespace_of(child) in _SOAP_BINDING_NS:
                at = i + 1
        binding.insert(at, ref)
