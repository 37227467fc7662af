"""An example MTOM service: the W3C MTOM interop echo plus an upload/download pair.

Namespace ``http://example.org/mtom/data``. Operations:

* ``EchoTest`` — the W3C MTOM CR interop shape (document/literal bare):
  ``EchoTest`` wraps 1..n ``Data`` elements (``base64Binary`` with an optional
  ``xmime:contentType``); the reply root is ``EchoTest`` again, holding the
  same values (as the W3C service, JAX-WS and gSOAP answer). Values of
  ``threshold`` bytes or more come back as MIME parts whose Content-Type is the
  ``xmime:contentType`` (scenarios 1a-3b).
* ``Upload(name, data)`` — stores a ``File`` under a server-chosen id (never
  the client's name) and returns ``id``, ``size`` and ``sha256``.
* ``Download(id)`` — streams the stored file back as an MTOM part, from disk.

``wsgi_app("1.1")`` / ``wsgi_app("1.2")`` give a WSGI application;
``python -m mtom_demo.service --port 8080`` serves one with waitress on
127.0.0.1.

Uploads are files in one directory: ``store_dir=``, else the environment variable
``MTOM_DEMO_STORE_DIR``, else a new temporary directory. Give every process of a
server the same directory (gunicorn workers, several waitress processes) and an
``Upload`` handled by one can be downloaded from another; files are written under
a temporary name and renamed when complete. :func:`application` builds the
application from the environment alone (``MTOM_DEMO_SOAP``: ``1.1`` or ``1.2``),
for servers that import a WSGI callable or call a factory::

    MTOM_DEMO_STORE_DIR=/srv/uploads gunicorn -w 2 --timeout 300 \
        'mtom_demo.service:application()'
    MTOM_DEMO_STORE_DIR=/srv/uploads waitress-serve --listen=127.0.0.1:8080 \
        --call mtom_demo.service:application
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import shutil
import tempfile
import uuid
from typing import Any

import spyne_mtom.compat  # noqa: F401  before spyne: lets Spyne 2.14 import on 3.12+

# isort: split
from spyne import (
    Application,
    ByteArray,
    ComplexModel,
    File,
    Long,
    ServiceBase,
    Unicode,
    XmlAttribute,
    XmlData,
    rpc,
)
from spyne.model.fault import Fault

from mtom import DEFAULT_THRESHOLD, XMIME_NS
from spyne_mtom import DEFAULT_MAX_CONTENT_LENGTH, Soap11Mtom, Soap12Mtom, wsgi_application

__all__ = ["NAMESPACE", "SOAP_ENV", "STORE_ENV", "Data", "EchoTestType", "UploadResult",
           "application", "make_application", "wsgi_app"]

NAMESPACE = "http://example.org/mtom/data"
#: Environment variable naming the upload directory shared by all processes.
STORE_ENV = "MTOM_DEMO_STORE_DIR"
#: Environment variable with the SOAP version :func:`application` serves (default 1.1).
SOAP_ENV = "MTOM_DEMO_SOAP"
_ID_CHARS = frozenset("0123456789abcdef")


class Data(ComplexModel):  # type: ignore[misc]
    """``xs:base64Binary`` with an optional ``xmime:contentType`` (the W3C ``Data``)."""

    __namespace__ = NAMESPACE
    _type_info = [
        ("value", XmlData(ByteArray)),
        ("contentType", XmlAttribute(Unicode, ns=XMIME_NS)),
    ]


class EchoTestType(ComplexModel):  # type: ignore[misc]
    """``EchoTest``: 1..n ``Data`` — the request *and* the reply root, as in the W3C service."""

    __namespace__ = NAMESPACE
    __type_name__ = "EchoTest"
    _type_info = [("Data", Data.customize(min_occurs=1, max_occurs="unbounded"))]


class UploadResult(ComplexModel):  # type: ignore[misc]
    __namespace__ = NAMESPACE
    _type_info = [
        ("id", Unicode),
        ("size", Long),
        ("sha256", Unicode),
    ]


def _service(store: str) -> type[ServiceBase]:
    class MtomDemoService(ServiceBase):  # type: ignore[misc]
        @rpc(EchoTestType, _returns=EchoTestType,  # type: ignore[untyped-decorator]
             _body_style="bare", _in_message_name="EchoTest", _out_message_name="EchoTest")
        def EchoTest(ctx: Any, request: Any) -> Any:
            return request

        @rpc(Unicode, File(min_occurs=1, nillable=False),  # type: ignore[untyped-decorator]
             _returns=UploadResult)
        def Upload(ctx: Any, name: str | None, data: Any) -> UploadResult:
            file_id = uuid.uuid4().hex
            path = os.path.join(store, file_id)
            digest = hashlib.sha256()
            size = 0
            # Written under a name Download never accepts, then renamed: another
            # process sharing the store sees the file complete or not at all.
            try:
                with open(path + ".part", "wb") as out:
                    for chunk in _chunks(data):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                os.replace(path + ".part", path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(path + ".part")
                raise
            return UploadResult(id=file_id, size=size, sha256=digest.hexdigest())

        @rpc(Unicode(min_occurs=1, nillable=False),  # type: ignore[untyped-decorator]
             _returns=File, _out_variable_name="data")
        def Download(ctx: Any, id: str) -> Any:
            if not id or not set(id) <= _ID_CHARS:
                raise Fault("Client.NotFound", "no such file id")
            path = os.path.join(store, id)
            if not os.path.isfile(path):
                raise Fault("Client.NotFound", "no such file id")
            return File.Value(path=path, type="application/octet-stream")

    return MtomDemoService


def _chunks(value: Any) -> Any:
    if value is None:
        return
    if value.handle is not None:
        value.handle.seek(0)
        while chunk := value.handle.read(1024 * 1024):
            yield chunk
    elif value.data is not None:
        for chunk in value.data:
            yield bytes(chunk)
    elif value.path is not None:
        with open(value.path, "rb") as f:
            while chunk := f.read(1024 * 1024):
                yield chunk


def make_application(soap_version: str = "1.1", *, store_dir: str | None = None,
                     threshold: int = DEFAULT_THRESHOLD, validator: str | None = "lxml",
                     mtom_reply: str = "always", **protocol_options: Any) -> Application:
    """The demo ``spyne.Application`` for SOAP ``"1.1"`` or ``"1.2"``.

    Args:
        soap_version: ``"1.1"`` (:class:`~spyne_mtom.Soap11Mtom`) or ``"1.2"``
            (:class:`~spyne_mtom.Soap12Mtom`).
        store_dir: directory of uploads, created if missing; share it between
            processes. Default: ``$MTOM_DEMO_STORE_DIR``, else a new temporary
            directory (not removed at exit: see ``app.store_dir``).
        threshold: reply values of at least this many bytes are MIME parts.
        validator: Spyne's request validator (``"lxml"`` or ``None``).
        mtom_reply: the reply mode (see :class:`~spyne_mtom.MtomMixin`); the demo is a
            W3C-style MTOM endpoint, so ``"always"`` (a plain request gets an MTOM reply
            when a value reaches ``threshold``), unlike the protocols' ``"auto"``.
        protocol_options: other keyword arguments of both protocol objects.
    """
    protocol = {"1.1": Soap11Mtom, "1.2": Soap12Mtom}[str(soap_version)]
    store = store_dir or os.environ.get(STORE_ENV) or tempfile.mkdtemp(prefix="spyne-mtom-demo-")
    os.makedirs(store, exist_ok=True)
    app = Application([_service(store)], NAMESPACE, name="MtomDemo",
                      in_protocol=protocol(validator=validator, **protocol_options),
                      out_protocol=protocol(threshold=threshold, mtom_reply=mtom_reply,
                                            **protocol_options))
    app.store_dir = store
    return app


def wsgi_app(soap_version: str = "1.1", *, max_content_length: int = DEFAULT_MAX_CONTENT_LENGTH,
             **options: Any) -> Any:
    """A WSGI application serving the demo service (SOAP ``"1.1"`` or ``"1.2"``).

    ``options`` go to :func:`make_application`; the WSGI object has the
    application as ``.app`` and its upload directory as ``.app.store_dir``.
    """
    return wsgi_application(make_application(soap_version, **options),
                            max_content_length=max_content_length)


def application() -> Any:
    """The demo WSGI application configured by the environment, for WSGI servers.

    ``MTOM_DEMO_SOAP`` (``1.1`` default, or ``1.2``) and ``MTOM_DEMO_STORE_DIR``
    (the upload directory every worker shares). gunicorn:
    ``'mtom_demo.service:application()'``; waitress-serve:
    ``--call mtom_demo.service:application``.
    """
    return wsgi_app(os.environ.get(SOAP_ENV, "1.1"))


def main(argv: list[str] | None = None) -> int:
    """Serve the demo with waitress on 127.0.0.1 until interrupted."""
    from waitress import serve

    ap = argparse.ArgumentParser(prog="python -m mtom_demo.service",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--soap", choices=("1.1", "1.2"), default="1.1")
    ap.add_argument("--threshold", type=int, default=DEFAULT_THRESHOLD)
    ap.add_argument("--store", metavar="DIR",
                    help=f"upload directory, kept at exit (default: ${STORE_ENV}, else a "
                         "temporary directory removed at exit)")
    args = ap.parse_args(argv)
    keep = bool(args.store or os.environ.get(STORE_ENV))
    app = wsgi_app(args.soap, threshold=args.threshold, store_dir=args.store)
    print(f"MTOM demo service (SOAP {args.soap}) on http://127.0.0.1:{args.port}/ "
          f"(WSDL: ?wsdl), uploads in {app.app.store_dir}", flush=True)
    try:
        serve(app, host="127.0.0.1", port=args.port, recv_bytes=256 * 1024,  # see deployment
              max_request_body_size=DEFAULT_MAX_CONTENT_LENGTH)
    finally:
        if not keep:
            shutil.rmtree(app.app.store_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
