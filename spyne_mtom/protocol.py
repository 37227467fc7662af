"""``Soap11Mtom`` / ``Soap12Mtom``: Spyne's SOAP protocols with MTOM/XOP in and out.

Strategy
--------
*In* (``create_in_document``): the request body, ``ctx.in_string`` (Spyne's
reader of ``wsgi.input``), goes to the core's
:meth:`mtom.server.ServerCall.read_request` (the request's state is one):
a ``multipart/*`` request is pushed chunk by chunk into the
:class:`mtom.PackageReader` of the protocol's :class:`mtom.MtomOptions`
(large parts spool to temporary files as they arrive) and its root parsed
once (its charset honoured, Spyne's ``parser_kwargs`` and the core's safety
options), every ``xop:Include`` removed, leaving its parent empty and
recorded as parent → attachment (SwA ``cid:`` references too); a plain
request is parsed the same way (an ``xop:Include`` in it is a Sender fault).
One deserialisation handler for ``ByteArray`` and ``File``
(``binary_from_element``) looks an element up in that map first and builds
the value straight from the attachment: no base64 text is ever made, so a
100 MiB upload never becomes a 130 MiB text node.

*Validation* (``validator='lxml'``) sees the envelope with every Include
removed: an empty ``base64Binary`` element is valid. ``xmime:contentType``
attributes (and SwA ``href``/``cid:`` text) are detached
(:func:`mtom.detach_hints`) while the schema checks the body and put back
afterwards, so a model that does not declare them is not rejected; a model
that declares one (``XmlAttribute``) gets it.

*Out*: one serialisation handler for ``ByteArray`` and ``File``
(``binary_to_parent``; ``XmlData`` and fault details take the same path,
``_put``) binds each value to its element as an :class:`mtom.OutgoingPart`
(files by path or handle, never read here), or writes base64 text when the
type is not optimised. ``create_out_string`` hands (envelope, values) to
:meth:`mtom.server.ServerCall.reply_package`: :func:`mtom.build_package`
puts an ``xop:Include`` where a value qualifies (``threshold``,
``optimize_elements``, ``inline_elements``) and base64 text elsewhere, and
the package is streamed (:meth:`mtom.server.ServerCall.reply_stream`) — or
plain SOAP is written when no value became a part. Whether a reply may be
MTOM at all is ``mtom_reply`` (:func:`mtom.server.reply_mtom`): by default
(``"auto"``) only when the request was MTOM or its ``Accept`` lists
``application/xop+xml`` (JAX-WS RI's rule); ``"always"`` answers plain
requests with MTOM too (W3C scenarios 1a/2a/3a).

*Wire report*: each request's sizes (MTOM, SwA or plain, parts, bytes each
way, bytes as inline base64) are the core's :class:`mtom.MessageStats`, logged
as one :class:`mtom.WireReport` line at INFO on the ``spyne_mtom`` logger when
the reply is over (:class:`mtom.server.ServerCall`).

*Faults*: any :class:`mtom.MtomError` while reading becomes a Spyne Fault
(``Client.<Error>``) with the SOAP binding's HTTP status; every fault is
written on XML-safe strings; see :mod:`.faults`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from lxml import etree
from spyne.const.http import HTTP_405
from spyne.error import RequestNotAllowed
from spyne.model import ComplexModelBase, XmlAttribute
from spyne.model.binary import BINARY_ENCODING_BASE64, BINARY_ENCODING_USE_DEFAULT, ByteArray, File
from spyne.model.fault import Fault
from spyne.protocol.soap import Soap11, Soap12
from spyne.protocol.xml import SchemaValidationError
from spyne.server.http import HttpTransportContext
from spyne.util.etreeconv import root_dict_to_etree

import mtom
import mtom.schema
import mtom.server
import mtom.soap
from mtom.progress import ProgressCallback

from . import values
from .context import MtomProtocolContext, existing_in_state, in_state, out_state
from .faults import VersionMismatch, fault_for_error, soap12_http_status, xml_safe_fault
from .wsdl import install_wsdl_hooks

__all__ = ["MtomMixin", "Soap11Mtom", "Soap12Mtom"]

logger = logging.getLogger(__name__)

_XML_ID = "{http://www.w3.org/XML/1998/namespace}id"
_XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
_BINARY = (ByteArray, File)
#: Fault detail values written as binary (``File``) elements.
_DETAIL_BINARY = (bytes, bytearray, memoryview, mtom.Attachment, File.Value)


class MtomMixin:
    """MTOM/XOP behaviour shared by :class:`Soap11Mtom` and :class:`Soap12Mtom`.

    All other arguments are Spyne's ``Soap11``/``Soap12`` ones.

    Keyword Args:
        options: an :class:`mtom.MtomOptions`; its fields given as keywords
            (``mtom``, ``threshold``, ``optimize_elements``, ``inline_elements``,
            ``spool_dir``, ``limits``…) override it: the same names and the same
            validation as Zeep's transports (``threshold`` default 2048; values
            whose size cannot be known without reading, a pipe, are parts).
        optimize_types: the Spyne types whose values may be optimised (default
            ``(ByteArray, File)``); subclasses (customised types) count.
        optimize: the former name of ``optimize_types`` (still accepted).
        mtom_reply: when the reply may be MTOM (as the *output* protocol):
            ``"auto"`` (default, JAX-WS RI's rule) only when the request was MTOM
            (``multipart/related; type="application/xop+xml"``) or its ``Accept``
            header lists ``application/xop+xml``, so a plain client (curl, a stack
            without MTOM) gets a plain reply; ``"always"`` (W3C MTOM endpoints,
            WCF's ``messageEncoding="Mtom"``) whatever the request; ``"never"``.
            ``mtom=False`` means ``"never"``. The WSDL's MTOM policy is the same
            in every mode.
        require_mtom: as the *input* protocol, answer a request that is not
            multipart with HTTP 415 and a ``Client.UnsupportedMediaType`` fault
            naming ``multipart/related; type="application/xop+xml"`` (WCF's
            ``serverMode="always"``); SwA requests are accepted. Default ``False``.
        progress: a callable given :class:`mtom.Progress` events for each request
            (as the input protocol: ``"receive"``, the request body) and reply (as
            the output protocol: ``"send"``, an MTOM reply body), at a bounded rate
            (about a hundred per transfer, never per chunk); it must not raise.
            ``None`` (default): no meter at all.

    ``spool_threshold`` (an :class:`mtom.MtomOptions` field) has a Spyne-specific
    default: ``None`` means 4 MiB (:data:`mtom.DEFAULT_SPOOL_THRESHOLD`) when some
    operation takes a ``File``; otherwise received parts are not spooled at all,
    since every binary value ends up in memory as ``bytes`` anyway (memory stays
    bounded by the request size cap).

    Spyne's ``parser_kwargs`` (``huge_tree``, ``remove_comments``…) apply to
    every root part, MTOM or plain, with the core's safety options on top.
    """

    soap_version: ClassVar[str] = "1.1"

    # Provided by Spyne's XmlDocument / Soap11.
    app: Any
    validator: Any
    encoding: str
    parser_kwargs: dict[str, Any]
    binary_encoding: Any
    serialization_handlers: Any
    deserialization_handlers: Any
    SCHEMA_VALIDATION: Any
    SOFT_VALIDATION: Any
    ns_soap_env: str

    def __init__(self, *args: Any, options: mtom.MtomOptions | None = None,
                 optimize_types: Iterable[type] | None = None,
                 optimize: Iterable[type] | None = None, mtom_reply: str = "auto",
                 require_mtom: bool = False, progress: ProgressCallback | None = None,
                 **kwargs: Any):
        self.server_options = mtom.server.ServerOptions(mtom_reply, require_mtom, progress)
        given = {f.name: kwargs.pop(f.name) for f in dataclasses.fields(mtom.MtomOptions)
                 if f.name in kwargs and f.name != "huge_tree"}  # huge_tree is Spyne's too
        super().__init__(*args, **kwargs)
        self.mtom_options = mtom.MtomOptions.merge(
            options, **{"huge_tree": True if self.parser_kwargs.get("huge_tree") else None,
                        **given})
        types = next((t for t in (optimize_types, optimize) if t is not None), _BINARY)
        if isinstance(types, type) or not all(isinstance(t, type) for t in types):
            raise ValueError(f"optimize_types must be an iterable of Spyne types, got {types!r}")
        self.optimize = tuple(types)
        self._auto_spool = given.get("spool_threshold") is None and options is None
        for kind in _BINARY:  # one "part or inline" path for both
            self.serialization_handlers[kind] = self.binary_to_parent
            self.deserialization_handlers[kind] = self.binary_from_element

    @property
    def threshold(self) -> int:
        return self.mtom_options.threshold

    # -- Spyne plumbing ------------------------------------------------------

    def get_context(self, parent: Any, transport: Any) -> MtomProtocolContext:
        return MtomProtocolContext(parent, transport)

    def set_app(self, value: Any) -> None:
        if value is not None:
            install_wsdl_hooks(value, policy=value.in_protocol is self)
            _install_cleanup(value)
            if self._auto_spool:  # spool only for a File (else every value ends as bytes)
                self.mtom_options = dataclasses.replace(self.mtom_options, spool_threshold=(
                    mtom.DEFAULT_SPOOL_THRESHOLD if _takes_files(value)
                    else self.mtom_options.limits.max_attachment_size + 1))
        super().set_app(value)  # type: ignore[misc]

    # -- reading -------------------------------------------------------------

    def create_in_document(self, ctx: Any, charset: str | None = None) -> None:
        content_type: str | None = None
        if isinstance(ctx.transport, HttpTransportContext):
            content_type = ctx.transport.get_request_content_type()
            if content_type is None or ctx.transport.get_request_method() != "POST":
                ctx.transport.resp_code = HTTP_405
                raise RequestNotAllowed("You must issue a POST request with the "
                                        "Content-Type header properly set.")
        state, environ = in_state(ctx), getattr(ctx.transport, "req_env", None) or {}
        try:
            root = state.read_request(
                ctx.in_string, content_type, self.mtom_options, parser_options=self.parser_kwargs,
                charset=charset, require_mtom=self.server_options.require_mtom,
                progress=self.server_options.progress,
                content_length=environ.get("CONTENT_LENGTH"))
        except mtom.MtomError as exc:  # the call is closed already (read_request)
            if isinstance(exc, mtom.RootPartError) and not mtom.server.is_package(
                    state.content_type):  # Spyne's own code for a plain request
                raise Fault("Client.XMLSyntaxError", exc.message) from None
            raise fault_for_error(ctx, exc, self.soap_version) from None
        except Fault:  # Spyne's own (RequestTooLong from its reader of wsgi.input)
            raise
        except Exception as exc:  # I/O errors while spooling, etc.
            logger.error("could not read the request: %s: %s", type(exc).__name__, exc)
            raise Fault("Server", "the server could not read the request") from None
        xmlids: dict[str, Any] = {} if state.package else {
            v: el for el in root.iter() if (v := el.get(_XML_ID)) is not None}
        ctx.in_document = (root, xmlids)

    def decompose_incoming_envelope(self, ctx: Any, message: Any = Soap11.REQUEST) -> None:
        envelope = ctx.in_document[0]
        name = etree.QName(envelope)
        if name.localname == "Envelope" and name.namespace != self.ns_soap_env:
            raise VersionMismatch(name.namespace, self.soap_version)
        body = envelope.find(f"{{{self.ns_soap_env}}}Body")
        if name.namespace == self.ns_soap_env and body is not None and (
                next(body.iterchildren(tag=etree.Element), None) is None):
            raise Fault("Client.SoapError", "the SOAP Body has no element; expected the "
                        "operation's request element")
        with _client_fault("Client.SoapError", "malformed SOAP envelope"):
            super().decompose_incoming_envelope(ctx, message)  # type: ignore[misc]

    def validate_body(self, ctx: Any, message: Any) -> None:
        validate = super().validate_body  # type: ignore[misc]
        if self.validator is not self.SCHEMA_VALIDATION or ctx.in_body_doc is None:
            return validate(ctx, message)  # type: ignore[no-any-return]
        try:  # xmime hints detached (a model need not declare them), or as received
            mtom.values.validate_received(lambda: validate(ctx, message), ctx.in_body_doc,
                                          in_state(ctx).references.values(),
                                          SchemaValidationError)
        except SchemaValidationError as exc:
            # Spyne's Soap12 cannot serialise its own (bytes message, Reason in no namespace).
            text = exc.faultstring
            text = text.decode("ascii", "replace") if isinstance(text, bytes) else text
            raise Fault("Client.SchemaValidationError", str(text)) from None
        return None

    def deserialize(self, ctx: Any, message: Any) -> None:
        with _client_fault("Client.ValidationError", "the request does not match the schema"):
            super().deserialize(ctx, message)  # type: ignore[misc]

    # -- values in -------------------------------------------------------------

    def _part_value(self, ctx: Any, t: Any, ref: mtom.XopReference) -> Any:
        """The native value of a received part: ``File.Value`` (a handle) or ``(bytes,)``."""
        value = values.part_value(t, ref.attachment, ref.content_type)
        if isinstance(value, File.Value):
            in_state(ctx).handles.append(value.handle)
        return value

    def from_element(self, ctx: Any, cls: Any, element: Any) -> Any:
        ref = in_state(ctx).reference(element)
        if ref is not None and not issubclass(cls, (*_BINARY, ComplexModelBase)):
            # A non-binary type holding an optimised value: its infoset value is
            # the base64 text (XOP section 3), so give the type exactly that.
            mtom.inline_base64([ref])
        return super().from_element(ctx, cls, element)  # type: ignore[misc]

    def binary_from_element(self, ctx: Any, cls: Any, element: Any) -> Any:
        """A ``ByteArray`` or ``File`` value: the attachment ``element`` refers to, else
        its inline base64 text."""
        ref = in_state(ctx).reference(element)
        if ref is not None:
            retval = self._part_value(ctx, cls, ref)
            if self.validator is self.SOFT_VALIDATION and not cls.validate_native(cls, retval):
                raise Fault("Client.ValidationError", "an attachment value does not respect "
                            "the constraints of its type")
            return retval
        text = element.text
        try:
            if issubclass(cls, File):
                return None if text is None else File.Value(
                    type=mtom.content_type_hint(element) or "application/octet-stream",
                    data=[mtom.values.decode_base64(text)])
            if text and self._base64(cls) and self.validator is not self.SOFT_VALIDATION:
                # One strict rule, as for File (Spyne's from_base64 would skip characters
                # outside the alphabet, and joins the text by character: ~8 µs per KiB).
                return (mtom.values.decode_base64(text),)
            return super().byte_array_from_element(ctx, cls, element)  # type: ignore[misc]
        except (ValueError, TypeError) as exc:  # binascii.Error on bad base64
            raise Fault("Client.ValidationError", f"invalid base64Binary value: {exc}") from None

    def complex_from_element(self, ctx: Any, cls: Any, elt: Any) -> Any:
        inst = super().complex_from_element(ctx, cls, elt)  # type: ignore[misc]
        attrs = self.get_cls_attrs(cls)  # type: ignore[attr-defined]
        ref = in_state(ctx).reference(elt)
        if ref is not None and attrs._xml_tag_body_as is not None:
            for key, modifier in attrs._xml_tag_body_as:
                t = modifier.type
                if issubclass(t, _BINARY):
                    value = self._part_value(ctx, t, ref)
                    inst._safe_set(key, value, t, self.get_cls_attrs(t))  # type: ignore[attr-defined]
        # Spyne matches attributes by local name only; namespaced ones
        # (xmime:contentType on the W3C Data type) are read here.
        for key, member in cls.get_flat_type_info(cls).items():
            ns = getattr(member, "_ns", None)
            if (isinstance(member, type) and issubclass(member, XmlAttribute)
                    and ns and getattr(inst, key, None) is None):
                raw = elt.get(f"{{{ns}}}{key}")
                if raw is not None:
                    inst._safe_set(key, self.from_unicode(member.type, raw),  # type: ignore[attr-defined]
                                   member.type, self.get_cls_attrs(member.type))  # type: ignore[attr-defined]
        return inst

    # -- values out ------------------------------------------------------------

    def _base64(self, cls: Any) -> bool:
        """Whether ``cls``'s values are written as base64 (its encoding or the protocol's)."""
        encoding = self.get_cls_attrs(cls).encoding  # type: ignore[attr-defined]
        if encoding is BINARY_ENCODING_USE_DEFAULT:
            encoding = self.binary_encoding
        return encoding is BINARY_ENCODING_BASE64

    def _put(self, ctx: Any, cls: Any, elt: etree._Element, found: values.Found,
             optimise: bool = True) -> None:
        """``elt``'s value, the one "part or inline" path: a part candidate (decided by
        :func:`mtom.build_package` when the envelope is complete) or base64 text now."""
        source, size, content_type = found
        if optimise and issubclass(cls, self.optimize) and self._base64(cls):
            declared = mtom.schema.single_media_type(
                getattr(cls.Attributes, "expected_content_types", None))
            out_state(ctx).values[elt] = mtom.OutgoingPart(source, size=size, content_type=(
                content_type or declared or "application/octet-stream"))
        else:
            elt.text = mtom.base64_text(mtom.OutgoingPart(source, size=size)).decode("ascii")

    def serialize(self, ctx: Any, message: Any) -> Any:
        out_state(ctx).values = {}
        error = ctx.out_error
        if isinstance(error, VersionMismatch):  # answered in the sender's version
            ctx.out_document = mtom.fault_envelope(error.reply_version, "VersionMismatch",
                                                   error.faultstring, upgrade=self.soap_version)
            headers = getattr(ctx.transport, "resp_headers", None)
            if error.reply_version != self.soap_version and headers is not None:
                headers["Content-Type"] = "text/xml; charset=utf-8"
            return None
        result = super().serialize(ctx, message)  # type: ignore[misc]
        if error is not None and ctx.out_document is not None:
            # SOAP 1.2 Subcode values as QNames (JAX-WS rejects bare ones).
            mtom.soap.qualify_subcodes(ctx.out_document, getattr(self.app, "tns", None))
        return result

    def binary_to_parent(self, ctx: Any, cls: Any, inst: Any, parent: Any, ns: Any,
                         name: str = "retval", **kwargs: Any) -> Any:
        """A ``ByteArray`` or ``File`` value as an element (:meth:`_put`)."""
        found = values.binary_source(cls, inst)
        tree = isinstance(parent, etree._Element)
        if not issubclass(cls, File) and (found is None or not tree or not self._base64(cls)
                                          or not issubclass(cls, self.optimize)):
            return super().byte_array_to_parent(  # type: ignore[misc]
                ctx, cls, inst, parent, ns, name, **kwargs)
        if found is None:
            raise ValueError(f"{type(inst).__name__} is not a File value (data, handle or path)")
        elt = self._gen_tag(cls, ns, name, **kwargs)  # type: ignore[attr-defined]
        self._put(ctx, cls, elt, found, optimise=tree)
        if tree:
            parent.append(elt)
        else:
            parent.write(elt)
        return None

    def xmldata_to_parent(self, ctx: Any, cls: Any, inst: Any, parent: Any, ns: Any, name: Any,
                          add_type: bool = False, **kwargs: Any) -> Any:
        t = cls.type
        found = None
        if (inst is not None and isinstance(parent, etree._Element) and len(parent) == 0
                and issubclass(t, _BINARY)):
            found = values.binary_source(t, inst)
        if found is None:
            return super().xmldata_to_parent(  # type: ignore[misc]
                ctx, cls, inst, parent, ns, name, add_type=add_type, **kwargs)
        if add_type:
            parent.set(_XSI_TYPE, cls.get_type_name_ns(self.app.interface))
        self._put(ctx, t, parent, found)
        return None

    # -- faults ------------------------------------------------------------------

    def _fault_to_parent_impl(self, ctx: Any, cls: Any, inst: Any, parent: Any, ns: Any,
                              subelts: list[Any], **kwargs: Any) -> Any:
        detail = getattr(inst, "detail", None)
        items = detail.items() if isinstance(detail, dict) else ()
        found = {k: values.file_source(v) for k, v in items if isinstance(v, _DETAIL_BINARY)}
        if not found:
            return super()._fault_to_parent_impl(  # type: ignore[misc]
                ctx, cls, inst, parent, ns, subelts, **kwargs)
        tag = "detail" if self.soap_version == "1.1" else f"{{{self.ns_soap_env}}}Detail"
        detail_elt = etree.Element(tag)
        for key, value in items:
            if key not in found:
                detail_elt.append(root_dict_to_etree({key: value}))
            elif (source := found[key]) is not None:
                self._put(ctx, File, etree.SubElement(detail_elt, key), source)
        inst.detail = None
        try:
            return super()._fault_to_parent_impl(  # type: ignore[misc]
                ctx, cls, inst, parent, ns, [*subelts, detail_elt], **kwargs)
        finally:
            inst.detail = detail

    def fault_to_parent(self, ctx: Any, cls: Any, inst: Any, parent: Any, ns: Any,
                        *args: Any, **kwargs: Any) -> Any:
        """Spyne's fault writer, on strings made safe for XML first (a peer's text may not be)."""
        return super().fault_to_parent(  # type: ignore[misc]
            ctx, cls, xml_safe_fault(inst), parent, ns, *args, **kwargs)

    # -- writing -----------------------------------------------------------------

    def create_out_string(self, ctx: Any, charset: str | None = None) -> None:
        state = out_state(ctx)
        bound, state.values = state.values, {}
        request = in_state(ctx)
        package = None
        if bound and ctx.out_document is not None:
            environ = getattr(ctx.transport, "req_env", None) or {}
            package = request.reply_package(
                ctx.out_document, bound, self.mtom_options, mode=self.server_options.mtom_reply,
                accept=environ.get("HTTP_ACCEPT"), soap_version=self.soap_version,
                charset=charset or self.encoding)
        if package is None:  # no value became a part: the values are base64 text now
            super().create_out_string(ctx, charset)  # type: ignore[misc]
            if isinstance(ctx.out_string, list):
                request.sent = mtom.MessageStats.plain(sum(len(c) for c in ctx.out_string))
            return
        body = request.reply_stream(package, self.server_options.progress)
        ctx.out_string = iter(body)  # no len(): Spyne would iterate the body to sum it up
        state.body = body  # MtomWsgiApplication: Content-Length, wsgi.file_wrapper
        headers = getattr(ctx.transport, "resp_headers", None)
        if headers is not None:
            headers["Content-Type"] = package.content_type
            headers["MIME-Version"] = "1.0"


class Soap11Mtom(MtomMixin, Soap11):  # type: ignore[misc]
    """Spyne's ``Soap11`` with MTOM/XOP (and SwA input); see :class:`MtomMixin`."""

    soap_version = "1.1"


class Soap12Mtom(MtomMixin, Soap12):  # type: ignore[misc]
    """Spyne's ``Soap12`` with MTOM/XOP (and SwA input); see :class:`MtomMixin`.

    Faults follow the SOAP 1.2 HTTP binding: ``env:Sender`` → 400, others 500.
    """

    soap_version = "1.2"

    def fault_to_http_response_code(self, fault: Any) -> str:
        return soap12_http_status(fault)


# -- helpers ---------------------------------------------------------------------


@contextlib.contextmanager
def _client_fault(code: str, message: str) -> Iterator[None]:
    """A Python error while Spyne reads the request (the envelope did not have the shape
    Spyne assumes) is the client's: a ``code`` Fault saying ``message`` (the error's type)."""
    try:
        yield
    except Fault:
        raise
    except (LookupError, AttributeError, TypeError, ValueError) as exc:
        logger.debug("%s: %r", message, exc)
        raise Fault(code, f"{message} ({type(exc).__name__})") from None


def _takes_files(app: Any) -> bool:
    """Whether any operation's input (body or headers) holds a ``File`` somewhere."""
    seen: set[int] = set()

    def walk(cls: Any) -> bool:
        if not isinstance(cls, type) or id(cls) in seen:
            return False
        seen.add(id(cls))
        inner = getattr(cls, "type", None)
        if isinstance(inner, type) and walk(inner):  # XmlData / XmlAttribute
            return True
        if issubclass(cls, File):
            return True
        if issubclass(cls, ComplexModelBase):
            model: Any = cls
            return any(walk(v) for v in model.get_flat_type_info(model).values())
        return False

    for method in app.interface.method_id_map.values():
        headers = method.in_header or ()
        if not isinstance(headers, (list, tuple)):
            headers = (headers,)
        if walk(method.in_message) or any(walk(h) for h in headers):
            return True
    return False


_CLEANUP_INSTALLED = "_spyne_mtom_cleanup"


def _install_cleanup(app: Any) -> None:
    """Close each request's package when Spyne closes the method context."""
    if getattr(app, _CLEANUP_INSTALLED, False):
        return
    setattr(app, _CLEANUP_INSTALLED, True)

    def on_close(ctx: Any) -> None:
        state = existing_in_state(ctx)
        if state is not None and not state.streaming:
            state.finish()

    app.event_manager.add_listener("method_context_closed", on_close)
