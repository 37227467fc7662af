"""The ``mtom`` command line: ``mtom inspect FILE [--content-type CT] [--json]``.

``inspect`` decodes a saved message — a body, a MIME entity, or a raw HTTP
capture; ``-`` reads standard input — and prints what is inside: SOAP
version, root part, every other part with its Content-ID, Content-Type,
decoded size, SHA-256, and whether an ``xop:Include`` refers to it, plus how
many bytes MTOM saves against sending the same values as inline base64. A
plain SOAP message (no multipart) is described too: its inline base64 values
and what MTOM would save. ``--extract DIR`` writes every part to DIR under
generated names (``part-NNN`` and an extension from the Content-Type, never
a name taken from a header); ``--part CID`` writes one part to standard
output. Bad input gives exit status 2 and one line naming what is wrong
(``{"error": {...}}`` with ``--json``); closing the output early (``| head``)
ends the command quietly.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from .capture import read_saved_message, sniff_boundary
from .errors import MtomError, RootPartError, UsageError
from .headers import cid_href, format_content_type, href_to_content_id, parse_content_type
from .options import DEFAULT_THRESHOLD
from .package import Package, parse_xml, read_package
from .report import base64_length
from .soap import namespace_of, soap_version_of_namespace
from .xop import XOP_INCLUDE, reconstitute

__all__ = ["Inspection", "inspect_bytes", "main"]

#: Values below this many decoded bytes stay inline (the library's default threshold).
_THRESHOLD = DEFAULT_THRESHOLD
_B64_TEXT = re.compile(r"[A-Za-z0-9+/\s]+={0,2}\s*")
_SAFE_EXT = re.compile(r"\.[a-z0-9]{1,8}")


@dataclass
class Inspection:
    """The result of inspecting one message (what ``--json`` prints)."""

    soap_version: str | None
    root: dict[str, Any]
    parts: list[dict[str, Any]]
    xop_includes: int
    content_type: str = ""
    body_size: int = 0
    source: str = "body"
    warnings: list[str] = field(default_factory=list)
    references: dict[str, list[str]] = field(default_factory=dict)
    #: Bytes the same message would take with every optimised value inline as base64
    #: (for a plain message: with every value of ``DEFAULT_THRESHOLD`` bytes or more as a part).
    other_size: int = 0
    #: A plain (not multipart) message: its base64 values, ``{"path", "size"}``.
    inline_base64: list[dict[str, Any]] | None = None

    def to_json(self) -> dict[str, Any]:
        out = {"soap_version": self.soap_version, "root": self.root, "parts": self.parts,
               "xop_includes": self.xop_includes}
        if self.inline_base64 is not None:
            out["inline_base64"] = self.inline_base64
        return out


def _element_path(el: Any) -> str:
    names = []
    while el is not None:
        tag = el.tag
        names.append(tag.rsplit("}", 1)[-1] if isinstance(tag, str) else "?")
        el = el.getparent()
    return "/" + "/".join(reversed(names))


def _is_multipart(ct: str) -> bool:
    return parse_content_type(ct).is_multipart


def inspect_bytes(data: bytes, content_type: str | None = None, *,
                  keep: bool = False, spool_dir: str | os.PathLike[str] | None = None,
                  ) -> Inspection:
    """Decode a saved message and describe it.

    Raises:
        MtomError: the message cannot be decoded (MIME or XOP errors).
    """
    return _inspect(data, content_type, keep=keep, spool_dir=spool_dir, use=None)


def _inspect(data: bytes, content_type: str | None, *, keep: bool,
             spool_dir: str | os.PathLike[str] | None, use: Any) -> Inspection:
    saved = read_saved_message(data)
    ct = content_type or saved.content_type
    if ct is None:
        boundary = sniff_boundary(saved.body)
        if boundary is None:
            if saved.body.lstrip()[:1] == b"<":
                return _describe_plain(saved.body, "text/xml", saved.source)
            raise MtomError("no Content-Type given and none found in the file; pass "
                            "--content-type 'multipart/related; boundary=...'")
        ct = format_content_type("multipart/related", {"boundary": boundary})
    if not _is_multipart(ct):
        return _describe_plain(saved.body, ct, saved.source)
    # Without --extract/--part, parts are hashed as they are read and never stored.
    # With them, they spool to the target's file system so that saving is a link.
    options: dict[str, Any] = {"keep_attachments": keep}
    if keep and spool_dir is not None:
        options.update(spool_dir=spool_dir, spool_threshold=lambda start: 0)
    with read_package(saved.body, ct, **options) as package:
        result = _describe(package, ct, len(saved.body), saved.source)
        if use is not None:
            use(package, result)
        return result


def _describe(package: Package, ct: str, body_size: int, source: str) -> Inspection:
    includes: list[Any] = []
    references: dict[str, list[str]] = {}
    resolved: set[int] = set()  # the parts an xop:Include resolved to
    try:
        root_el = package.root_element()
    except RootPartError:
        root_el = None  # MIME-level message whose root is not XML: report it as such
    if root_el is not None:
        includes = list(root_el.iter(XOP_INCLUDE))
        for inc in includes:
            cid = href_to_content_id(inc.get("href") or "")
            references.setdefault(cid or "", []).append(
                f"{_element_path(inc.getparent())} (line {inc.sourceline})")
        found = reconstitute(root_el, package)  # validates: dangling / invalid includes raise
        resolved = {id(ref.attachment) for ref in found.references}
        for ref in found.swa:
            references.setdefault("swa:" + (ref.attachment.content_id or ""), []).append(
                f"{_element_path(ref.element)} (line {ref.element.sourceline}, {ref.kind})")
    version = package.soap_version
    root = package.root
    parts = []
    boundary = package.content_type.boundary or ""
    other = body_size
    for att in package.attachments:
        parts.append({
            "content_id": att.content_id,
            "content_type": att.headers.get("content-type"),
            "size": att.size,
            "sha256": att.sha256(),
            "xop": id(att) in resolved,
        })
        if id(att) in resolved:
            # Inline, this part's framing, headers and Include would go; base64 comes.
            framing = len(boundary) + 6 + sum(len(k) + len(v) + 4 for k, v in att.headers.raw) + 2
            include = len(f'<xop:Include href="{cid_href(att.content_id or "")}"/>')
            other += base64_length(att.size) - att.size - framing - include
    return Inspection(
        soap_version=version.value if version else None,
        root={"content_id": root.content_id, "content_type": root.headers.get("content-type"),
              "size": root.size},
        parts=parts, xop_includes=len(includes), content_type=ct, body_size=body_size,
        source=source, warnings=list(package.warnings), references=references, other_size=other,
    )


def _describe_plain(body: bytes, ct: str, source: str) -> Inspection:
    """A plain SOAP message: its inline base64 values and what MTOM would save."""
    root = parse_xml(body, charset=parse_content_type(ct).charset, huge_tree=True,
                     what="message")
    values = []
    other = len(body)
    for el in root.iter():
        text = el.text
        if not isinstance(el.tag, str) or len(el) or not text or len(text) < 16:
            continue
        if not _B64_TEXT.fullmatch(text):
            continue
        compact = "".join(text.split())
        if len(compact) % 4 or not compact.rstrip("=") or compact.isdigit():
            continue
        size = len(compact) // 4 * 3 - (len(compact) - len(compact.rstrip("=")))
        values.append({"path": _element_path(el), "line": el.sourceline, "size": size,
                       "text_size": len(text)})
        if size >= _THRESHOLD:
            # As a part: the text goes, raw bytes, part framing (~120) and an Include (~90).
            other += size - len(text) + 120 + 90
    version = soap_version_of_namespace(namespace_of(root))
    return Inspection(
        soap_version=version.value if version else None,
        root={"content_id": None, "content_type": ct, "size": len(body)},
        parts=[], xop_includes=0, content_type=ct, body_size=len(body), source=source,
        other_size=other, inline_base64=values)


def _saving(r: Inspection) -> str:
    if r.inline_base64 is not None:
        saved = r.body_size - r.other_size
        if saved <= 0:
            return f"MTOM would save nothing (no base64 value of {_THRESHOLD} bytes or more)"
        return (f"MTOM would save ~{saved:,} bytes ({saved / r.body_size:.0%}) by sending "
                f"the values of {_THRESHOLD} bytes or more as parts")
    saved = r.other_size - r.body_size
    if not r.xop_includes:
        return "no xop:Include: nothing was optimised"
    return (f"MTOM saves ~{saved:,} bytes against inline base64 "
            f"(~{r.other_size:,} bytes, {saved / max(r.other_size, 1):.0%} less)")


def _human(name: str, r: Inspection, out: TextIO) -> None:
    capture = " (from an HTTP capture)" if r.source == "http" else ""
    soap = f"SOAP {r.soap_version}" if r.soap_version else "no SOAP envelope"
    if r.inline_base64 is not None:
        out.write(f"{name}: plain SOAP (not multipart), {soap}, {r.body_size:,} bytes{capture}\n")
        out.write(f"  Content-Type: {r.content_type}\n")
        out.write(f"  {len(r.inline_base64)} inline base64 value"
                  f"{'s' * (len(r.inline_base64) != 1)}\n")
        for v in r.inline_base64:
            out.write(f"    {v['path']} (line {v['line']}): {v['size']:,} bytes "
                      f"as {v['text_size']:,} characters\n")
        out.write(f"  {_saving(r)}\n")
        return
    kind = "MTOM/XOP" if r.xop_includes or "xop+xml" in r.content_type.lower() else "SwA/MIME"
    n = len(r.parts) + 1
    out.write(f"{name}: {kind}, {soap}, {n} part{'s' * (n != 1)}, {r.body_size:,} bytes"
              f"{capture}\n")
    out.write(f"  Content-Type: {r.content_type}\n")
    out.write(f"  {_saving(r)}\n\n")
    root = r.root
    out.write(f"  root  <{root['content_id'] or '(no Content-ID)'}>\n")
    out.write(f"        {root['content_type'] or '(no Content-Type)'}, {root['size']:,} bytes, "
              f"{r.xop_includes} xop:Include\n")
    if "file" in root:
        out.write(f"        saved as {root['file']}\n")
    for i, p in enumerate(r.parts, 1):
        out.write(f"  #{i:<4}<{p['content_id'] or '(no Content-ID)'}>\n")
        out.write(f"        {p['content_type'] or '(no Content-Type)'}, {p['size']:,} bytes\n")
        out.write(f"        sha256 {p['sha256']}\n")
        if "file" in p:
            out.write(f"        saved as {p['file']}\n")
        for where in r.references.get(p["content_id"] or "\0", []):
            out.write(f"        xop:Include from {where}\n")
        swa = r.references.get("swa:" + (p["content_id"] or "\0"), [])
        for where in swa:
            out.write(f"        SwA reference from {where}\n")
        if not p["xop"] and not swa:
            out.write("        (not referenced from the root part)\n")
    for w in r.warnings:
        out.write(f"  warning: {w}\n")


def _extension(content_type: str | None) -> str:
    """A safe file extension for a media type (``.bin`` when none is known)."""
    media = parse_content_type(content_type or "").media_type
    if media in ("application/xop+xml", "application/soap+xml", "text/xml"):
        return ".xml"
    ext = mimetypes.guess_extension(media, strict=False) or ".bin"
    return ext if _SAFE_EXT.fullmatch(ext) else ".bin"


def _extract(directory: Path) -> Any:
    def use(package: Package, result: Inspection) -> None:
        for i, (att, entry) in enumerate(zip(package.parts, [result.root, *result.parts],
                                             strict=True)):
            name = f"part-{i:03d}{'-root' if att is package.root else ''}"
            entry["file"] = str(att.save(directory / (name + _extension(att.content_type))))
    return use


def _one_part(cid: str, out: BinaryIO) -> Any:
    def use(package: Package, result: Inspection) -> None:
        att = package.get(cid)
        if att is None:
            present = ", ".join(f"<{p.content_id}>" for p in package.parts[:10] if p.content_id)
            raise UsageError(f"no part has Content-ID <{cid}> (parts: {present or 'none'})")
        for chunk in att.iter_chunks():
            out.write(chunk)
        out.flush()
    return use


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="mtom", description="MTOM/XOP and SwA message tools")
    sub = ap.add_subparsers(dest="command", required=True)
    ins = sub.add_parser("inspect", help="describe the parts of a saved MTOM/SwA message",
                         description="FILE is a message body, a MIME entity, or a raw HTTP "
                         "capture (its headers give the Content-Type). '-' reads stdin.")
    ins.add_argument("file")
    ins.add_argument("--content-type", help="the HTTP Content-Type the body was sent with")
    ins.add_argument("--json", action="store_true", help="print one JSON object")
    what = ins.add_mutually_exclusive_group()
    what.add_argument("--extract", metavar="DIR",
                      help="write every part to DIR as part-NNN.EXT and print the mapping")
    what.add_argument("--part", metavar="CID", help="write the part with this Content-ID "
                      "(or cid: URL) to standard output")
    args = ap.parse_args(argv)
    try:
        return _run(args)
    except BrokenPipeError:
        # The reader went away (| head): no traceback, no second error at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def _run(args: argparse.Namespace) -> int:
    try:
        data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        return _fail(args.json, "OSError", f"cannot read {args.file}: {exc.strerror}")
    use = None
    if args.extract:
        try:
            Path(args.extract).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return _fail(args.json, "OSError", f"cannot create {args.extract}: {exc.strerror}")
        use = _extract(Path(args.extract))
    elif args.part:
        use = _one_part(args.part, sys.stdout.buffer)
    try:
        result = _inspect(data, args.content_type, keep=use is not None,
                          spool_dir=args.extract, use=use)
    except MtomError as exc:
        return _fail(args.json, type(exc).__name__, str(exc))
    except OSError as exc:
        return _fail(args.json, "OSError", f"cannot write: {exc}")
    if args.part:
        return 0
    if args.json:
        print(json.dumps(result.to_json(), indent=1))
    else:
        _human(args.file, result, sys.stdout)
    sys.stdout.flush()
    return 0


def _fail(as_json: bool, kind: str, message: str) -> int:
    one_line = " ".join(message.split())
    if as_json:
        print(json.dumps({"error": {"type": kind, "message": one_line}}))
    else:
        print(f"mtom: error: {kind}: {one_line}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
