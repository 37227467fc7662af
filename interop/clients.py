"""The clients of the interop matrix: Zeep with ``zeep_mtom``, a raw core client, the live peers."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lxml import etree

import mtom
from interop import extra_peers, peerctl
from interop.cases import (
    ACCEPT,
    CONTENT_LOCATION,
    DATA,
    DATA_NS,
    ECHO,
    ENV_NS,
    PEER_CLIENT_ACTION,
    REQUEST_TIMEOUT,
    SOAP_MEDIA,
    XMIME_CT,
    Scenario,
    SoapVersion,
    ValueSpec,
)
from interop.servers import Endpoint
from interop.wire import ClientResult, FaultInfo, ValueResult, decode_body
from mtom.writer import PartSource


def _describe(exc: BaseException) -> str:
    """The exception and the last frames it passed through (where a bug would be)."""
    frames = traceback.extract_tb(exc.__traceback__)[-3:]
    where = " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames))
    return f"{type(exc).__name__}: {exc} (at {where})"


def _value_path(work: Path, spec: ValueSpec) -> Path:
    return spec.write(work / f"value-{spec.size}-{spec.seed}.bin")


def _source(spec: ValueSpec, work: Path) -> bytes | Path:
    return _value_path(work, spec) if spec.large_file else spec.payload()


def _zeep_client(url: str, version: SoapVersion, scenario: Scenario, specs: Sequence[ValueSpec],
                 endpoint: Endpoint, work: Path) -> ClientResult:
    import zeep
    from zeep.exceptions import Fault
    from zeep.wsdl.bindings.soap import Soap11Binding, Soap12Binding

    from zeep_mtom import MtomTransport

    transport = MtomTransport(mtom=scenario.request_mtom, threshold=0, stream_attachments=True,
                              timeout=60, operation_timeout=REQUEST_TIMEOUT)
    transport.session.headers["Accept"] = ACCEPT[version]
    try:
        client = zeep.Client(endpoint.wsdl_url(version), transport=transport)  # type: ignore[no-untyped-call]
        kind = Soap11Binding if version == "1.1" else Soap12Binding
        names = [n for n, b in client.wsdl.bindings.items() if type(b) is kind]
        if len(names) != 1:
            return ClientResult(error=f"WSDL has {len(names)} SOAP {version} bindings")
        service = client.create_service(names[0], url)  # type: ignore[no-untyped-call]
        data: list[dict[str, Any]] = []
        for spec in specs:
            item: dict[str, Any] = {"_value_1": _source(spec, work)}
            if spec.content_type is not None:
                item["contentType"] = spec.content_type
            data.append(item)
        try:
            reply = service.EchoTest(Data=data)
        except Fault as exc:
            return ClientResult(fault=FaultInfo(str(exc.code or ""), str(exc.message or ""),
                                                [str(s) for s in (exc.subcodes or [])]))
        items = getattr(reply, "Data", reply)
        if not isinstance(items, list):
            items = [items]
        values = []
        for item in items:
            raw = item["_value_1"]
            ct = item["contentType"] if "contentType" in item else None  # noqa: SIM401
            if isinstance(raw, mtom.Attachment):
                with raw:
                    values.append(ValueResult(raw.size, raw.sha256(), ct))
            else:
                blob = bytes(raw or b"")
                values.append(ValueResult(len(blob), hashlib.sha256(blob).hexdigest(), ct))
        last = transport.last_reply
        return ClientResult(values=values,
                            http_status=last.status_code if last is not None else None)
    except Exception as exc:  # reported as a check failure with the exception
        return ClientResult(error=_describe(exc))
    finally:
        transport.session.close()


def build_request(version: SoapVersion, scenario: Scenario, specs: Sequence[ValueSpec],
                  work: Path) -> tuple[dict[str, str], bytes | mtom.OutgoingPackage]:
    """The raw client's request: headers and a plain body or an MTOM package.

    Failure scenarios break the package on purpose: ``dangling`` points the first Include at
    a Content-ID no part has; ``content-location`` gives the first part a Content-Location
    and points the Include at that URL instead of its cid:.
    """
    env = ENV_NS[version]
    root = etree.Element(f"{{{env}}}Envelope", nsmap={"s": env})
    body = etree.SubElement(root, f"{{{env}}}Body")
    echo = etree.SubElement(body, ECHO, nsmap={"x": DATA_NS, "xmime": mtom.XMIME_NS})
    elements: list[etree._Element] = []
    for spec in specs:
        el = etree.SubElement(echo, DATA)
        if spec.content_type is not None:
            el.set(XMIME_CT, spec.content_type)
        if not scenario.request_mtom:
            el.text = base64.b64encode(spec.payload()).decode("ascii")
        elements.append(el)
    headers = {"Accept": ACCEPT[version]}
    if version == "1.1":
        headers["SOAPAction"] = '""'
    if not scenario.request_mtom:
        headers["Content-Type"] = f"{SOAP_MEDIA[version]}; charset=utf-8"
        return headers, etree.tostring(root, xml_declaration=True, encoding="utf-8")
    sources: dict[etree._Element, PartSource] = {
        el: _source(spec, work) for el, spec in zip(elements, specs, strict=True)}
    if scenario.failure == "content-location":
        first = elements[0]
        part = mtom.OutgoingPart(sources.pop(first), content_type="application/octet-stream",
                                 headers=[("Content-Location", CONTENT_LOCATION)])
        mtom.include(first, part)
        first[0].set("href", CONTENT_LOCATION)
        parts = [part, *mtom.optimize(root, threshold=0, values=sources)]
    else:
        parts = mtom.optimize(root, threshold=0, values=sources)
        if scenario.failure == "dangling":
            elements[0][0].set("href", "cid:no-such-part-" + os.urandom(6).hex()
                               + "@interop.invalid")
    package = mtom.OutgoingPackage(etree.tostring(root, xml_declaration=True, encoding="utf-8"),
                                   parts, soap_version=version)
    headers.update(package.headers)
    return headers, package


def _raw_client(url: str, version: SoapVersion, scenario: Scenario, specs: Sequence[ValueSpec],
                endpoint: Endpoint, work: Path) -> ClientResult:
    import requests

    try:
        headers, body = build_request(version, scenario, specs, work)
        data = body.stream() if isinstance(body, mtom.OutgoingPackage) else body
        with requests.post(url, data=data, headers=headers, stream=True,
                           timeout=(10, REQUEST_TIMEOUT)) as resp:
            ct = resp.headers.get("Content-Type", "")
            values, fault = decode_body(resp.iter_content(256 * 1024), ct)
            result = ClientResult(values=[] if fault else values, fault=fault,
                                  http_status=resp.status_code, response_content_type=ct)
        if fault is None and resp.status_code != 200:
            result.error = f"HTTP {resp.status_code} without a SOAP fault"
        return result
    except Exception as exc:
        return ClientResult(error=_describe(exc))


def _peer_client(name: str) -> Callable[..., ClientResult]:
    def call(url: str, version: SoapVersion, scenario: Scenario, specs: Sequence[ValueSpec],
             endpoint: Endpoint, work: Path) -> ClientResult:
        files: list[peerctl.ClientFile] = [(_value_path(work, s), s.content_type) for s in specs]
        try:
            if name in peerctl.PEER_NAMES:
                out = peerctl.run_client(name, url, version, files, mtom=scenario.request_mtom,
                                         action=PEER_CLIENT_ACTION, timeout=REQUEST_TIMEOUT,
                                         check=False)
            else:
                out = extra_peers.run_client(
                    name, url, version, files, mtom=scenario.request_mtom,
                    action=PEER_CLIENT_ACTION, timeout=REQUEST_TIMEOUT, check=False,
                    axis_format="swa" if scenario.swa_request else None)
        except peerctl.PeerError as exc:
            return ClientResult(error=str(exc))
        result = ClientResult(response_content_type=out.get("response_content_type"))
        if out.get("fault"):
            f = out["fault"]
            result.fault = FaultInfo(str(f.get("code") or ""), str(f.get("string") or ""))
        elif not out.get("ok"):
            result.error = f"{name} client failed: {json.dumps(out)[:2000]}"
        for v in out.get("values", []):
            result.values.append(ValueResult(int(v["size"]), str(v["sha256"]),
                                             v.get("content_type"),
                                             v.get("attachment_type")))
        return result

    return call


CLIENTS: dict[str, Callable[..., ClientResult]] = {
    "zeep": _zeep_client,
    "raw": _raw_client,
    "jaxws": _peer_client("jaxws"),
    "gsoap": _peer_client("gsoap"),
    "nodesoap": _peer_client("nodesoap"),
    "axis": _peer_client("axis"),
}
