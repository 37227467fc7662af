"""MTOM messages in the wire styles of stacks that cannot run here.

The seeds (``../shared/seeds``) and the corpus show how WSE 3.0, Axis2 and WCF
frame MTOM. These builders write messages the same way, byte for byte in
their framing choices, so the reader is tested against those shapes with any
payload we like. They frame by hand on purpose (not with ``mtom.OutgoingPackage``):
the point is to be *unlike* our own writer.

Each builder returns ``(content_type, body, expected)`` where ``expected``
maps each part's Content-ID to its bytes.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

__all__ = ["StyledMessage", "axis2", "echo_envelope", "wcf", "wse3", "wse3_root_only"]

CRLF = b"\r\n"
DATA_NS = "http://example.org/mtom/data"


@dataclass(frozen=True)
class StyledMessage:
    style: str
    content_type: str
    body: bytes
    expected: dict[str, bytes]  # Content-ID (normalised) -> decoded bytes
    soap_version: str
    includes: int


def echo_envelope(hrefs: Sequence[str], soap_version: str = "1.1", *,
                  inline: Sequence[bytes] = (), xml_decl: bool = True) -> bytes:
    """A W3C-scenario ``EchoTest`` envelope whose ``Data`` elements include ``hrefs``."""
    ns = ("http://schemas.xmlsoap.org/soap/envelope/" if soap_version == "1.1"
          else "http://www.w3.org/2003/05/soap-envelope")
    datas = "".join(
        f'<m:Data><xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" '
        f'href="{h}"/></m:Data>' for h in hrefs)
    datas += "".join(f"<m:Data>{base64.b64encode(b).decode()}</m:Data>" for b in inline)
    decl = '<?xml version="1.0" encoding="utf-8"?>' if xml_decl else ""
    return (f'{decl}<soap:Envelope xmlns:soap="{ns}"><soap:Header/><soap:Body>'
            f'<m:EchoTest xmlns:m="{DATA_NS}">{datas}</m:EchoTest>'
            f"</soap:Body></soap:Envelope>").encode()


def wse3(payloads: Sequence[bytes], digits: str = "632623001715672932") -> StyledMessage:
    """WSE 3.0: boundary ``--MIMEBoundary<digits>`` (the value itself starts with
    ``--``), ``<N.<digits>@example.org>`` Content-IDs, lower-case headers with
    content-id first, root ``type="text/xml; charset=utf-8"``."""
    boundary = f"--MIMEBoundary{digits}"
    cids = [f"{i}.{digits}@example.org" for i in range(1, len(payloads) + 1)]
    env = echo_envelope([f"cid:{c}" for c in cids])
    out = [f"--{boundary}".encode(), CRLF,
           f"content-id: <0.{digits}@example.org>".encode(), CRLF,
           b'content-type: application/xop+xml; charset=utf-8; type="text/xml; charset=utf-8"',
           CRLF, b"content-transfer-encoding: binary", CRLF, CRLF, env]
    for cid, data in zip(cids, payloads, strict=True):
        out += [CRLF, f"--{boundary}".encode(), CRLF, f"content-id: <{cid}>".encode(), CRLF,
                b"content-type: application/octet-stream", CRLF,
                b"content-transfer-encoding: binary", CRLF, CRLF, data]
    out += [CRLF, f"--{boundary}--".encode(), CRLF]
    ct = (f'multipart/related; type="application/xop+xml"; boundary={boundary}; '
          f'start="<0.{digits}@example.org>"; start-info="text/xml; charset=utf-8"')
    return StyledMessage("wse3", ct, b"".join(out), dict(zip(cids, payloads, strict=True)),
                         "1.1", len(cids))


def wse3_root_only(inline: bytes, digits: str = "632623001715672933") -> StyledMessage:
    """WSE 3.0's "MTOM without XOP": a MIME package holding only the root, whose
    base64 value stayed inline because it was too small to optimise."""
    boundary = f"--MIMEBoundary{digits}"
    env = echo_envelope([], inline=[inline])
    body = b"".join([
        f"--{boundary}".encode(), CRLF, f"content-id: <0.{digits}@example.org>".encode(), CRLF,
        b'content-type: application/xop+xml; charset=utf-8; type="text/xml; charset=utf-8"', CRLF,
        b"content-transfer-encoding: binary", CRLF, CRLF, env, CRLF,
        f"--{boundary}--".encode(), CRLF])
    ct = (f'multipart/related; type="application/xop+xml"; boundary={boundary}; '
          f'start="<0.{digits}@example.org>"; start-info="text/xml; charset=utf-8"')
    return StyledMessage("wse3-root-only", ct, body, {}, "1.1", 0)


def axis2(payloads: Sequence[bytes], uuid_hex: str = "0FE43E4D025F0BF3DC11582467646812",
          soap_version: str = "1.1") -> StyledMessage:
    """Axis2/Axiom: boundary ``MIMEBoundaryurn_uuid_<hex>``, Content-IDs
    ``N.urn:uuid:<hex>@apache.org``, lower-case headers, the content-id value
    folded onto a continuation line (as in the Axis2 seed), a trailing ``;``
    on the root type, ``charset`` on the multipart type."""
    boundary = f"MIMEBoundaryurn_uuid_{uuid_hex}"
    root = f"0.urn:uuid:{uuid_hex}@apache.org"
    cids = [f"{i}.urn:uuid:{uuid_hex}@apache.org" for i in range(1, len(payloads) + 1)]
    soap_type = "text/xml" if soap_version == "1.1" else "application/soap+xml"
    env = echo_envelope([f"cid:{c}" for c in cids], soap_version)
    out = [f"--{boundary}".encode(), CRLF,
           f'content-type: application/xop+xml; charset=UTF-8; type="{soap_type}";'.encode(), CRLF,
           b"content-transfer-encoding: binary", CRLF,
           b"content-id: ", CRLF, f"   <{root}>".encode(), CRLF, CRLF, env]
    for cid, data in zip(cids, payloads, strict=True):
        out += [CRLF, f"--{boundary}".encode(), CRLF, b"content-type: application/octet-stream",
                CRLF, b"content-transfer-encoding: binary", CRLF,
                b"content-id: ", CRLF, f"         <{cid}>".encode(), CRLF, CRLF, data]
    out += [CRLF, f"--{boundary}--".encode(), CRLF]
    ct = (f'multipart/related; boundary={boundary}; type="application/xop+xml"; '
          f'start="<{root}>"; start-info="{soap_type}"; charset=UTF-8')
    if soap_version == "1.2":
        ct += ';action="urn:echo"'
    return StyledMessage(f"axis2-soap{soap_version}", ct, b"".join(out),
                         dict(zip(cids, payloads, strict=True)), soap_version, len(cids))


def wcf(payloads: Sequence[bytes], uuid: str = "1b1eb29a-a92e-441b-8ac7-f954cb72160e",
        escape_href: bool = False, soap_version: str = "1.2") -> StyledMessage:
    """WCF: a leading CRLF preamble, boundary ``uuid:<uuid>+id=N``, URI Content-IDs
    ``<http://tempuri.org/0>`` and ``<http://tempuri.org/1/<ticks>>``, header order
    Content-ID / Content-Transfer-Encoding / Content-Type, parameters without
    spaces. ``escape_href`` %-encodes the cid URL as 2005-era WCF did."""
    boundary = f"uuid:{uuid}+id={len(payloads) + 1}"
    cids = [f"http://tempuri.org/{i}/63793909122200{i:04d}" for i in range(1, len(payloads) + 1)]
    soap_type = "application/soap+xml" if soap_version == "1.2" else "text/xml"
    hrefs = [("cid:" + quote(c, safe="")) if escape_href else f"cid:{c}" for c in cids]
    env = echo_envelope(hrefs, soap_version, xml_decl=False)
    out = [CRLF, f"--{boundary}".encode(), CRLF, b"Content-ID: <http://tempuri.org/0>", CRLF,
           b"Content-Transfer-Encoding: 8bit", CRLF,
           f'Content-Type: application/xop+xml;charset=utf-8;type="{soap_type}"'.encode(),
           CRLF, CRLF, env]
    for cid, data in zip(cids, payloads, strict=True):
        out += [CRLF, f"--{boundary}".encode(), CRLF, f"Content-ID: <{cid}>".encode(), CRLF,
                b"Content-Transfer-Encoding: binary", CRLF,
                b"Content-Type: application/octet-stream", CRLF, CRLF, data]
    out += [CRLF, f"--{boundary}--".encode(), CRLF]
    ct = (f'multipart/related;type="application/xop+xml";start="<http://tempuri.org/0>";'
          f'boundary="{boundary}";start-info="{soap_type}"')
    return StyledMessage(f"wcf{'-escaped' if escape_href else ''}-soap{soap_version}", ct,
                         b"".join(out), dict(zip(cids, payloads, strict=True)), soap_version,
                         len(cids))
