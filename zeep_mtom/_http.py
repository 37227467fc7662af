"""Reading MTOM reply headers without the ``email`` package's boundary regex.

Python's ``http.client`` parses every reply's header block with the ``email``
feed parser, which, seeing ``Content-Type: multipart/...``, compiles a
regular expression for that boundary — about 0.1 ms per reply, since every
peer picks a fresh boundary per message (``re``'s cache never hits). That is
a quarter of what a small MTOM call costs the client beyond a plain one, and
nothing of it is used: the transport reads the body itself. (Python 3.13's
feed parser no longer compiles that regex; there the renaming is a no-op cost of
a few microseconds, and the adapter still sends bodies in ``SEND_BLOCK`` pieces.)

:class:`MtomHTTPResponse` hides a multipart Content-Type from that parser
(its line is renamed while ``begin`` reads the header block) and puts it back,
value untouched, once the block is parsed. When the status line and the whole
header block already sit in the connection's read buffer (nearly always: a
peer writes them at once), the block is taken from the buffer in one piece,
renamed with one regular-expression pass and handed to ``begin`` as an
in-memory file, so the header lines are not read through a Python wrapper one
by one (about 8 µs per reply in place); otherwise, and for a ``1xx`` status,
the lines are renamed as ``begin`` reads them. It is installed only on the
connections of a :class:`MtomSession` (it mounts :class:`MtomHTTPAdapter`): the
session :class:`~zeep_mtom.MtomTransport` creates, or one the user makes and
passes in; never globally: other code in the process keeps the standard library's
behaviour, and a plain ``requests.Session`` passed in is left as it is.

:class:`MtomSession` is the ``requests.Session`` that transport creates (with that
adapter mounted; a user can make one too). requests asks the environment on every
request which proxy an endpoint needs: it iterates over all of ``os.environ`` twice
(decoding every name) and checks the endpoint against ``no_proxy``, about 80 µs per
call with 35 variables and 0.9 ms with 535 (a container with a service-discovery
environment), a cost as big as a small MTOM call's whole decode. Where the answer
depends on the environment alone (Linux and other POSIX systems; not macOS or
Windows, where urllib asks the system's proxy settings) the session remembers it per
endpoint until ``os.environ`` changes: a dictionary comparison per call (0.2 µs with
35 variables, 3.5 µs with 535). The result is the one requests would compute:
``tests/test_zeep_http.py`` compares them case by case.
"""

from __future__ import annotations

import http.client
import io
import os
import re
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from typing import Any, cast

import requests.adapters
import requests.utils
import urllib3
from requests.sessions import merge_setting as _merge_setting
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

__all__ = ["COALESCE", "SEND_BLOCK", "MtomHTTPAdapter", "MtomHTTPResponse", "MtomSession",
           "coalesce"]

#: Bytes per read of a streamed request body (and per ``sendall``): urllib3 reads 16 KiB
#: at a time, 4,096 system calls for a 64 MiB upload.
SEND_BLOCK = 1024 * 1024

#: Smallest piece :func:`coalesce` hands on (bytes).
COALESCE = 256 * 1024

_HIDDEN = "X-Zeep-Mtom-Multipart-Content-Type"
_HIDDEN_LINE = _HIDDEN.encode("ascii") + b":"
# A Content-Type line whose value names a multipart type, at the start of any line.
_MULTIPART_LINE = re.compile(rb"^content-type:(?=[^\r\n]*multipart/)",
                             re.IGNORECASE | re.MULTILINE)
_HEADER_END = b"\r\n\r\n"


class _HeaderLines:
    """``readline`` over the reply's stream, renaming a multipart Content-Type line."""

    def __init__(self, fp: Any):
        self._fp = fp
        self.renamed = False

    def readline(self, limit: int = -1) -> bytes:
        line: bytes = self._fp.readline(limit)
        if _MULTIPART_LINE.match(line):
            self.renamed = True
            return _HIDDEN_LINE + line[len(b"content-type:"):]
        return line

    def close(self) -> None:
        self._fp.close()


def _buffered_header_block(fp: Any) -> bytes | None:
    """Take the status line and header block (with its blank line) from ``fp``'s buffer.

    ``None`` (nothing taken) unless all of it is already buffered, every line
    of it ends in CRLF (so its first CRLF CRLF is the blank line, not one in the
    body) and it answers with a final (non-``1xx``) status.
    """
    peek = getattr(fp, "peek", None)
    if peek is None:
        return None
    buffered: bytes = peek()
    end = buffered.find(_HEADER_END)
    if end < 0 or not buffered.startswith(b"HTTP/"):
        return None
    head = buffered[:end]
    status = head.split(None, 2)
    if len(status) < 2 or status[1][:1] == b"1" or head.count(b"\n") != head.count(b"\r\n"):
        return None
    taken: bytes = fp.read(end + len(_HEADER_END))
    return taken


class MtomHTTPResponse(http.client.HTTPResponse):
    """``http.client.HTTPResponse`` whose header parse skips the multipart boundary regex.

    The headers it exposes are the peer's (a renamed Content-Type is restored,
    as the last header); everything else is the standard class.
    """

    def begin(self) -> None:
        if self.headers is not None:
            return
        raw = self.fp
        block = _buffered_header_block(raw)
        source: Any
        if block is not None:
            block, renamed = _MULTIPART_LINE.subn(_HIDDEN_LINE, block)
            source = io.BytesIO(block)
        else:
            source = lines = _HeaderLines(raw)
        self.fp = source
        try:
            super().begin()
        finally:
            if self.fp is source:
                self.fp = raw
            elif block is not None:  # begin() closed the connection: close it for real
                raw.close()
        if renamed if block is not None else lines.renamed:
            values = self.msg.get_all(_HIDDEN) or []
            del self.msg[_HIDDEN]
            for value in values:
                self.msg["Content-Type"] = value


def _reads_with_ours(conn: Any) -> Any:
    """Give a new connection :class:`MtomHTTPResponse`, if it uses the standard response.

    Set per connection, not through a connection class of ours: whatever class
    the pool is configured (or patched, as a test recorder does) to make is kept.
    """
    if getattr(conn, "response_class", None) is http.client.HTTPResponse:
        conn.response_class = MtomHTTPResponse
    return conn


class _Pool(HTTPConnectionPool):
    def _new_conn(self) -> Any:
        return _reads_with_ours(super()._new_conn())


class _HTTPSPool(HTTPSConnectionPool):
    def _new_conn(self) -> Any:
        return _reads_with_ours(super()._new_conn())


class MtomHTTPAdapter(requests.adapters.HTTPAdapter):
    """requests' ``HTTPAdapter`` whose connections use :class:`MtomHTTPResponse`."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("blocksize", SEND_BLOCK)
        super().init_poolmanager(*args, **kwargs)
        self._use_our_pools(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        self._use_our_pools(manager)
        return manager

    @staticmethod
    def _use_our_pools(manager: Any) -> None:
        """Swap in our pool classes where the manager uses urllib3's own (not SOCKS')."""
        classes = getattr(manager, "pool_classes_by_scheme", None)
        if not isinstance(manager, urllib3.PoolManager) or not isinstance(classes, dict):
            return
        ours = {"http": (HTTPConnectionPool, _Pool), "https": (HTTPSConnectionPool, _HTTPSPool)}
        swapped = dict(classes)
        for scheme, (default, mine) in ours.items():
            if classes.get(scheme) is default:
                swapped[scheme] = mine
        manager.pool_classes_by_scheme = swapped


class _Environment:
    """What the environment said, valid while ``os.environ`` holds ``snapshot``."""

    __slots__ = ("ca_bundle", "proxies", "snapshot")

    def __init__(self, snapshot: dict[Any, Any]):
        self.snapshot = snapshot
        self.ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        self.proxies: dict[tuple[str, str | None], dict[str, str]] = {}


_merge = cast(Callable[[Any, Any], Any], _merge_setting)  # untyped in the stubs
# What requests.utils uses (imported from urllib.request); read per call, as a test may swap them.
_ENV_LOOKUPS = ((requests.utils, "getproxies", urllib.request, "getproxies_environment"),
                (requests.utils, "proxy_bypass", urllib.request, "proxy_bypass_environment"))

#: Endpoints (URL, ``no_proxy``) remembered per environment; past it the memory starts over.
_MAX_ENDPOINTS = 256


def _environ_data() -> dict[Any, Any] | None:
    """``os.environ``'s own dictionary, when requests' proxy lookups read nothing else."""
    data = getattr(os.environ, "_data", None)
    if not isinstance(data, dict):
        return None
    for used_by, name, module, environment_only in _ENV_LOOKUPS:
        if getattr(used_by, name, None) is not getattr(module, environment_only, False):
            return None  # macOS, Windows: the system's proxy settings count too
    return data


class MtomSession(requests.Session):
    """The ``requests.Session`` :class:`~zeep_mtom.MtomTransport` makes: cheaper per call.

    A ``requests.Session`` in every respect (configure auth, certificates,
    proxies, adapters as usual), with two changes:

    * its ``http://`` and ``https://`` adapters are :class:`MtomHTTPAdapter`:
      a reply's multipart Content-Type skips the ``email`` parser's
      boundary regex (an adapter you mount afterwards replaces it);
    * ``merge_environment_settings`` returns what requests' own returns
      (proxies from ``*_proxy``/``no_proxy``,
      ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``), but the proxy lookup for a
      URL is remembered until ``os.environ`` changes. Where urllib consults
      more than the environment (macOS, Windows), or with ``trust_env`` off,
      it is requests' method unchanged.

    Pass one as ``MtomTransport(session=...)`` when you build the session
    yourself; a plain ``requests.Session`` passed in is used as it is.
    """

    # A class default: an unpickled session (requests restores ``__attrs__`` only) has none.
    _environment: _Environment | None = None

    def __init__(self) -> None:
        super().__init__()
        for prefix in ("http://", "https://"):
            self.mount(prefix, MtomHTTPAdapter())

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any,
                                   cert: Any) -> Any:
        data = _environ_data() if self.trust_env else None
        if data is None:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        env = self._environment
        if env is None or data != env.snapshot:
            env = self._environment = _Environment(dict(data))
        no_proxy = proxies.get("no_proxy") if proxies is not None else None
        key = (url, no_proxy)
        found = env.proxies.get(key)
        if found is None:
            found = requests.utils.get_environ_proxies(url, no_proxy)
            if data == env.snapshot:  # not changed meanwhile (another thread)
                if len(env.proxies) >= _MAX_ENDPOINTS:
                    env.proxies.clear()
                env.proxies[key] = found
        if proxies is not None:
            for scheme, proxy in found.items():
                proxies.setdefault(scheme, proxy)
        if verify is True or verify is None:
            verify = env.ca_bundle or verify
        return {"proxies": _merge(proxies, self.proxies), "stream": _merge(stream, self.stream),
                "verify": _merge(verify, self.verify), "cert": _merge(cert, self.cert)}


def coalesce(chunks: Iterable[bytes], size: int = COALESCE) -> Iterator[bytes]:
    """The same bytes in pieces of at least ``size`` (the last may be shorter).

    requests hands a chunked reply over one HTTP chunk at a time, whatever
    ``chunk_size`` asks for (urllib3's ``read_chunked``): JAX-WS RI answers in
    4 KiB chunks, and feeding each to the decoder costs a Python call chain
    per 4 KiB. Runs of small chunks are joined (one copy); a chunk that is
    already big enough passes through untouched.
    """
    pending: list[bytes] = []
    held = 0
    for chunk in chunks:
        if not pending and len(chunk) >= size:
            yield chunk
            continue
        pending.append(chunk)
        held += len(chunk)
        if held >= size:
            yield b"".join(pending)
            pending.clear()
            held = 0
    if pending:
        yield b"".join(pending)
