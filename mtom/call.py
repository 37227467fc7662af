"""One client operation call's values: part or inline on the way out, token → value on the way in.

Strategy: a client framework serialises each binary value itself (Zeep in
``Base64Binary.render``) and parses each reply value itself (Zeep in
``Base64Binary.pythonvalue``); the adapter wraps those two seams and asks a
:class:`ClientCall`, made per call, what to do:

* **out** — :meth:`ClientCall.render` sets the element's text for one
  value: a ``cid:`` placeholder for a value that will be a part (the value
  itself waits in :attr:`ClientCall.pending`, unread, for
  :func:`mtom.exchange.prepare_request`), base64 text for the others
  (:meth:`MtomOptions.wants_part` decides). While a signature must cover the
  real infoset the text is base64 and the element is recorded in
  :attr:`ClientCall.typed`, to become a part after signing; so is a value
  sent inline only because the call is not MTOM (a resend as MTOM moves it).
* **in** — :meth:`ClientCall.accept_reply` registers the parts a reply's
  tokens stand for (:class:`mtom.exchange.ReplyReader` writes a part's
  ``cid:`` URL into its element); :meth:`ClientCall.resolve` turns a token
  into the part's ``bytes`` (one read, no base64) or, above
  ``spool_threshold`` with ``stream_attachments``, the file-backed
  :class:`~mtom.Attachment` itself. :meth:`ClientCall.finish` closes what
  was copied into ``bytes``.
"""

from __future__ import annotations

import base64
import logging
import os
import warnings
from typing import TYPE_CHECKING

from lxml import etree

from .attachments import Attachment
from .errors import MtomError, UsageError, UsageWarning
from .headers import cid_href
from .options import MtomOptions
from .values import as_part, base64_text, decode_base64
from .writer import OutgoingPart

if TYPE_CHECKING:
    from .exchange import MtomReply
    from .negotiation import EndpointMemory

__all__ = ["ClientCall", "ValueDeliveryError", "is_token", "read_attachment",
           "warn_inlined_by_policy"]


class ValueDeliveryError(MtomError):
    """A reply value could not be delivered (its part was closed or unreadable).

    Deliberately *not* a :class:`ValueError`: a framework's simple-type parser
    may turn ``ValueError`` into a logged ``None`` (Zeep's does), which would
    hide a lost value.
    """


def read_attachment(att: Attachment) -> bytes:
    """The attachment's content as one ``bytes`` (one read; no copy when in memory).

    Raises:
        ValueDeliveryError: the part is closed or came back shorter than its size.
    """
    try:
        data = att.read()
    except (MtomError, OSError, ValueError) as exc:
        raise ValueDeliveryError(f"reply part <{att.content_id}> could not be read: {exc}") from exc
    if len(data) != att.size:
        raise ValueDeliveryError(
            f"reply part <{att.content_id}> gave {len(data)} of {att.size} bytes")
    return data


def is_token(value: object) -> bool:
    """Whether a parsed value may be a reply token (text starting like a ``cid:`` URL).

    Only such text is looked up: hashing a large inline base64 string just to
    miss would cost a pass over it.
    """
    return isinstance(value, str) and value[:80].lstrip()[:4].lower() == "cid:"


def _set_text(node: etree._Element, text: bytes) -> None:
    # lxml takes ASCII bytes as text without a decode copy; the stubs only know str.
    node.text = text  # type: ignore[assignment]


class ClientCall:
    """State of one operation call: values to send, parts received.

    Args:
        options: the client's options.
        optimise: whether this call's request is sent as MTOM.
        placeholders: render ``cid:`` placeholders (no base64) for values that
            will be parts; off while a signature must cover the base64 text.
        huge_tree: let the reply root hold huge text nodes (Zeep's
            ``Settings.xml_huge_tree``).
        inline_replies: give the framework reply values as base64 text (the
            XOP infoset), for a WS-Security signature check over the reply.
    """

    def __init__(self, options: MtomOptions, *, optimise: bool, placeholders: bool,
                 huge_tree: bool = False, inline_replies: bool = False):
        self.options = options
        self.optimise = optimise
        self.placeholders = placeholders and optimise
        self.huge_tree = huge_tree
        self.inline_replies = inline_replies
        self.pending: dict[str, OutgoingPart] = {}
        self.typed: list[etree._Element] = []  # base64 text that may become parts
        self.reply: MtomReply | None = None
        self._reply_values: dict[str, Attachment] = {}
        self._parsed: tuple[bytes, etree._Element] | None = None
        self._delivered: list[Attachment] = []
        #: Values at or above the threshold written inline because this call is not MTOM.
        self.inlined = 0
        #: The binding's name (set by the adapter), for messages.
        self.binding: object = None

    # -- sending ---------------------------------------------------------

    def render(self, node: etree._Element, value: object, field: str | None = None) -> None:
        """Set ``node.text`` for a base64Binary ``value``: a placeholder or base64 text.

        ``field`` names the value in errors (default: the element's local name).

        Raises:
            mtom.UsageError: a directory, a text-mode file or a closed file.
        """
        part: OutgoingPart | None = None
        if isinstance(value, (bytes, bytearray)):  # the usual value: no part object unless sent
            size: int | None = len(value)
        else:
            field = field or etree.QName(node).localname
            if isinstance(value, str):
                self._render_text(node, value, field)
                return
            part = as_part(value, field=field)
            if part is None:  # not a binary value the framework accepts either: base64 raises
                _set_text(node, base64.b64encode(value))  # type: ignore[arg-type]
                return
            size = part.size
        wants = self.options.wants_part(node.tag, size)
        if wants and self.placeholders:
            self._placeholder(node, part or OutgoingPart(value))  # type: ignore[arg-type]
            return
        _set_text(node, base64_text(value if part is None else part))
        if wants:
            self._typed(node)

    def _typed(self, node: etree._Element) -> None:
        """A value written as base64 text that is a part if the request goes out as MTOM."""
        if not self.optimise:
            self.inlined += 1  # for the policy warning; a part if resent as MTOM
        self.typed.append(node)

    def _render_text(self, node: etree._Element, text: str, field: str) -> None:
        # A str value is base64 text (Zeep's convention); decode only what will move.
        node.text = text
        if not self.optimise:
            if self.options.wants_part(node.tag, len(text) * 3 // 4):
                self._typed(node)
            return
        warnings.warn(
            f"field {field!r} (xs:base64Binary) was given a str: it is sent as base64 text "
            "decoded to bytes (Zeep's convention); pass bytes (text.encode()) to send the "
            "text itself, or a pathlib.Path to send a file", UsageWarning, stacklevel=2)
        if not self.options.wants_part(node.tag, len(text) * 3 // 4):
            return
        if not self.placeholders:
            self.typed.append(node)
            return
        try:
            raw = decode_base64(text)
        except ValueError:  # binascii.Error, UnicodeEncodeError
            return  # not base64: sent as given, like Zeep does
        if self.options.wants_part(node.tag, len(raw)):
            self._placeholder(node, OutgoingPart(raw))

    def _placeholder(self, node: etree._Element, part: OutgoingPart) -> None:
        token = cid_href(part.content_id)
        if token in self.pending:  # the same part object used twice: a new Content-ID
            part = OutgoingPart(part.source, content_type=part.content_type,
                                headers=part.headers, size=part.size)
            token = cid_href(part.content_id)
        self.pending[token] = part
        node.text = token

    def check_text(self, value: object, field: str) -> None:
        """Refuse a path given to a text (``xs:string``) field while the call is MTOM.

        Raises:
            mtom.UsageError: naming the field and what to pass instead.
        """
        if self.optimise and isinstance(value, os.PathLike):
            raise UsageError(
                f"field {field!r} is an xs:string but was given a path "
                f"({os.fspath(value)!r}); files go into xs:base64Binary fields. To send the "
                "file's name as text, pass str(path)")

    # -- receiving -------------------------------------------------------

    def accept_reply(self, reply: MtomReply, values: dict[str, Attachment],
                     parsed: tuple[bytes, etree._Element] | None = None) -> None:
        """Register the parts a reply's tokens stand for, and the reply's parsed envelope.

        ``parsed``: (the ``bytes`` handed to the framework as the reply's
        envelope, the tree they serialise), for :meth:`parsed_reply`.
        """
        self.reply = reply
        self._reply_values = values
        self._parsed = parsed

    def parsed_reply(self, content: object) -> etree._Element | None:
        """The tree of ``content`` if it is the very ``bytes`` object registered by
        :meth:`accept_reply` (an identity check; once), else ``None``: a framework's
        parse of the reply's envelope can take the tree instead of parsing it again."""
        parsed = self._parsed
        if parsed is None or content is not parsed[0]:
            return None
        self._parsed = None
        return parsed[1]

    def resolve(self, text: str) -> bytes | Attachment | None:
        """The value for a reply token, or ``None`` when ``text`` is not one."""
        att = self._reply_values.get(text)
        if att is None:
            return None
        if self.options.stream_attachments and not att.in_memory:
            if self.reply is not None:
                self.reply.hand_out(att)
            return att
        data = read_attachment(att)
        self._delivered.append(att)
        return data

    def finish(self) -> None:
        """Release what the call no longer needs (parts already copied into ``bytes``)."""
        self.pending.clear()
        self.typed.clear()
        self._parsed = None
        keep: set[int] = set()
        if self.reply is not None:
            keep = {id(r.attachment) for r in self.reply.swa}
            keep.update(id(a) for a in self.reply.unreferenced)
            keep.update(self.reply.handed_out_ids)
        for att in self._delivered:
            if id(att) not in keep:
                att.close()
        self._delivered.clear()


def warn_inlined_by_policy(call: ClientCall | None, address: str, warned: EndpointMemory[bool],
                           logger: logging.Logger) -> None:
    """WARNING once per endpoint: policy mode sent values over the threshold inline.

    Only in policy mode (``mtom=None``) and only when a value at or above the
    threshold went out as base64 because the binding's service description
    attaches no MTOM policy; ``warned`` holds the endpoints already warned
    about (bounded: a client that calls many addresses keeps the most recent).
    """
    if call is None or call.optimise or call.options.mtom is not None or not call.inlined:
        return
    if warned.get(address):
        return
    warned.remember(address, True)
    logger.warning(
        "%d binary value(s) of %d bytes or more were sent to %s as inline base64: the "
        "WSDL attaches no MTOM policy (wsoma:OptimizedMimeSerialization) to binding %s, "
        "and mtom=None follows the policy. Pass mtom=True to the transport to send them "
        "as MTOM parts (mtom=False keeps base64 and silences this warning)",
        call.inlined, call.options.threshold, address, call.binding)
