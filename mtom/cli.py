"""The ``mtom`` command line: ``mtom inspect FILE [--content-type CT] [--json]``.

``inspect`` decodes a saved message — a body, a MIME entity, or a raw HTTP
capture — and prints what is inside: SOAP version, root part, every other
part with its Content-ID, Content-Type, decoded size, SHA-256, and whether
an ``xop:Include`` refers to it. Bad input gives exit status 2 and one line
naming what is wrong (``{"error": {...}}`` with ``--json``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .capture import read_saved_message, sniff_boundary
from .errors import MtomError, RootPartError
from .headers import format_content_type, href_to_content_id
from .package import Package, read_package
from .xop import XOP_INCLUDE, reconstitute

__all__ = ["Inspection", "inspect_bytes", "main"]


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

    def to_json(self) -> dict[str, Any]:
        return {"soap_version": self.soap_version, "root": self.root, "parts": self.parts,
                "xop_includes": self.xop_includes}


def _element_path(el: Any) -> str:
    names = []
    while el is not None:
        tag = el.tag
        names.append(tag.rsplit("}", 1)[-1] if isinstance(tag, str) else "?")
        el = el.getparent()
    return "/" + "/".join(reversed(names))


def inspect_bytes(data: bytes, content_type: str | None = None) -> Inspection:
    """Decode a saved message and describe it.

    Raises:
        MtomError: the message cannot be decoded (MIME or XOP errors).
    """
    saved = read_saved_message(data)
    ct = content_type or saved.content_type
    if ct is None:
        boundary = sniff_boundary(saved.body)
        if boundary is None:
            raise MtomError("no Content-Type given and none found in the file; pass "
                            "--content-type 'multipart/related; boundary=...'")
        ct = format_content_type("multipart/related", {"boundary": boundary})
    # Parts are hashed as they are read, never stored: inspect needs sizes and digests.
    with read_package(saved.body, ct, keep_attachments=False) as package:
        return _describe(package, ct, len(saved.body), saved.source)


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
    for att in package.attachments:
        parts.append({
            "content_id": att.content_id,
            "content_type": att.headers.get("content-type"),
            "size": att.size,
            "sha256": att.sha256(),
            "xop": id(att) in resolved,
        })
    return Inspection(
        soap_version=version.value if version else None,
        root={"content_id": root.content_id, "content_type": root.headers.get("content-type"),
              "size": root.size},
        parts=parts, xop_includes=len(includes), content_type=ct, body_size=body_size,
        source=source, warnings=list(package.warnings), references=references,
    )


def _human(name: str, r: Inspection, out: TextIO) -> None:
    kind = "MTOM/XOP" if r.xop_includes or "xop+xml" in r.content_type.lower() else "SwA/MIME"
    soap = f"SOAP {r.soap_version}" if r.soap_version else "no SOAP envelope"
    n = len(r.parts) + 1
    out.write(f"{name}: {kind}, {soap}, {n} part{'s' * (n != 1)}, {r.body_size:,} bytes"
              f"{' (from an HTTP capture)' if r.source == 'http' else ''}\n")
    out.write(f"  Content-Type: {r.content_type}\n\n")
    root = r.root
    out.write(f"  root  <{root['content_id'] or '(no Content-ID)'}>\n")
    out.write(f"        {root['content_type'] or '(no Content-Type)'}, {root['size']:,} bytes, "
              f"{r.xop_includes} xop:Include\n")
    for i, p in enumerate(r.parts, 1):
        out.write(f"  #{i:<4}<{p['content_id'] or '(no Content-ID)'}>\n")
        out.write(f"        {p['content_type'] or '(no Content-Type)'}, {p['size']:,} bytes\n")
        out.write(f"        sha256 {p['sha256']}\n")
        for where in r.references.get(p["content_id"] or "\0", []):
            out.write(f"        xop:Include from {where}\n")
        swa = r.references.get("swa:" + (p["content_id"] or "\0"), [])
        for where in swa:
            out.write(f"        SwA reference from {where}\n")
        if not p["xop"] and not swa:
            out.write("        (not referenced from the root part)\n")
    for w in r.warnings:
        out.write(f"  warning: {w}\n")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="mtom", description="MTOM/XOP and SwA message tools")
    sub = ap.add_subparsers(dest="command", required=True)
    ins = sub.add_parser("inspect", help="describe the parts of a saved MTOM/SwA message",
                         description="FILE is a message body, a MIME entity, or a raw HTTP "
                         "capture (its headers give the Content-Type). '-' reads stdin.")
    ins.add_argument("file")
    ins.add_argument("--content-type", help="the HTTP Content-Type the body was sent with")
    ins.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)

    try:
        data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        return _fail(args.json, "OSError", f"cannot read {args.file}: {exc.strerror}")
    try:
        result = inspect_bytes(data, args.content_type)
    except MtomError as exc:
        return _fail(args.json, type(exc).__name__, str(exc))
    if args.json:
        print(json.dumps(result.to_json(), indent=1))
    else:
        _human(args.file, result, sys.stdout)
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
