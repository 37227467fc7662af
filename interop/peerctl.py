"""Build, start and drive the third-party SOAP peers of the interop suite.

Two peers, both echo services of the W3C MTOM CR interop shape (element ``EchoTest`` in
``http://example.org/mtom/data`` holding one or more ``Data`` elements of a type extending
xs:base64Binary with an optional ``xmime:contentType``; the reply is ``EchoTest`` again):

``"jaxws"``
    JAX-WS RI 2.3 (Debian ``libjaxws-java``, run on the JDK). Endpoints ``/echo11`` (SOAP 1.1)
    and ``/echo12`` (SOAP 1.2), WSDL at ``?wsdl``, ``@MTOM`` enabled with threshold 0. It
    answers MTOM when the request was MTOM or its ``Accept`` lists ``application/xop+xml``.
``"gsoap"``
    gSOAP 2.8 (Debian ``gsoap`` + ``libgsoap-dev``), C. Answers SOAP 1.1 and 1.2 on any path
    (``/echo11`` and ``/echo12`` are used for symmetry), WSDL at ``?wsdl``. Reply mode
    ``"mtom"`` (default: every value as an attachment), ``"plain"`` or ``"same"``.

Each peer also has a client program; :func:`run_client` runs it and returns its JSON.

The machinery here (source-hashed build cache with its lock and ``.complete`` marker, server
start/readiness/stop, client runs) also serves the peers of :mod:`interop.extra_peers`: each peer
registers a :class:`_PeerRecipe` (availability check, toolchain fingerprint, build step) and
supplies its own command lines.

Only the standard library is used. Servers listen on 127.0.0.1 only, every wait is bounded, and
every server is stopped by killing its process group, whatever happens.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "PEER_NAMES",
    "ClientFile",
    "PeerError",
    "PeerServer",
    "SoapVersion",
    "build",
    "client_command",
    "debian_packages",
    "interop_required",
    "peer_available",
    "run_client",
    "running_server",
    "serving",
]

SoapVersion = Literal["1.1", "1.2"]
ReplyMode = Literal["mtom", "plain", "same"]
StrPath = str | os.PathLike[str]
#: A file to send: a path, or (path, xmime:contentType or None).
ClientFile = StrPath | tuple[StrPath, str | None]

PEER_NAMES: tuple[str, ...] = ("jaxws", "gsoap")

PEERS_DIR = Path(__file__).resolve().parent / "peers"
BUILD_DIR = PEERS_DIR / "build"
INSTALL_SCRIPT = PEERS_DIR / "install.sh"

JAVA_SHARE = Path("/usr/share/java")
JAXWS_RT_JAR = JAVA_SHARE / "jaxws-rt.jar"
GSOAP_IMPORT_DIRS = (Path("/usr/share/gsoap/import"), Path("/usr/local/share/gsoap/import"))

#: JVM heap for the JAX-WS server and client (a 64 MiB echo needs well over 256 MiB).
JAVA_HEAP = os.environ.get("MTOM_INTEROP_JAVA_HEAP", "1g")
JAVA_PROPERTIES = (
    "-Dcom.sun.xml.ws.monitoring.endpoint=false",
    "-Djavax.xml.soap.SAAJMetaFactory=com.sun.xml.messaging.saaj.soap.SAAJMetaFactoryImpl",
)

BUILD_LOCK_TIMEOUT = 300.0
BUILD_STEP_TIMEOUT = 240.0
DEFAULT_START_TIMEOUT = 60.0
STOP_GRACE = 5.0

_ENDPOINT_PATHS: dict[str, str] = {"1.1": "/echo11", "1.2": "/echo12"}
_PACKAGES: dict[str, tuple[str, ...]] = {
    "jaxws": ("openjdk-17-jdk-headless", "libjaxws-java"),
    "gsoap": ("gsoap", "libgsoap-dev", "gcc", "libc6-dev", "pkg-config"),
}


class PeerError(RuntimeError):
    """A peer could not be built, started or run; the message carries its output."""


def interop_required() -> bool:
    """True when ``MTOM_INTEROP_REQUIRE=1``: a missing peer must fail, not skip."""
    return os.environ.get("MTOM_INTEROP_REQUIRE", "0") == "1"


def debian_packages(name: str) -> tuple[str, ...]:
    """The Debian packages a peer needs (what ``interop/peers/install.sh`` installs)."""
    _check_name(name)
    return _PACKAGES[name]


def _check_name(name: str) -> None:
    if name not in PEER_NAMES:
        raise ValueError(f"unknown peer {name!r}; expected one of {', '.join(PEER_NAMES)}")


def peer_available(name: str) -> str | None:
    """None when the peer's toolchain is installed, else what is missing and which Debian
    packages to install."""
    _check_name(name)
    return _RECIPES[name].available()


def _jaxws_available() -> str | None:
    problems: list[tuple[str, str]] = []  # (what is missing, Debian package)
    problems += _java_problems()
    if not JAXWS_RT_JAR.is_file():
        problems.append((f"{JAXWS_RT_JAR} not found", "libjaxws-java"))
    return _install_hint(problems)


def _java_problems() -> list[tuple[str, str]]:
    """The JDK tools missing from PATH, with the Debian package that has them."""
    return [
        (f"{tool} not found on PATH", "openjdk-17-jdk-headless")
        for tool in ("java", "javac")
        if shutil.which(tool) is None
    ]


def _gsoap_available() -> str | None:
    problems: list[tuple[str, str]] = []
    if shutil.which("soapcpp2") is None or _gsoap_import_dir() is None:
        problems.append(("soapcpp2 or its import files (xop.h, xmime5.h) not found", "gsoap"))
    if not _gsoap_dev_present():
        problems.append(("gSOAP headers/library (stdsoap2.h, libgsoap) not found", "libgsoap-dev"))
    if _c_compiler() is None:
        problems.append(("no C compiler (cc/gcc) on PATH", "gcc"))
    return _install_hint(problems)


def _gsoap_import_dir() -> Path | None:
    for d in GSOAP_IMPORT_DIRS:
        if (d / "xop.h").is_file() and (d / "xmime5.h").is_file():
            return d
    return None


def _gsoap_dev_present() -> bool:
    if shutil.which("pkg-config") is not None:
        done = subprocess.run(
            ["pkg-config", "--exists", "gsoap"], capture_output=True, timeout=30, check=False
        )
        if done.returncode == 0:
            return True
    return Path("/usr/include/stdsoap2.h").is_file()


def _c_compiler() -> str | None:
    for cc in (os.environ.get("CC", ""), "cc", "gcc"):
        if cc and shutil.which(cc) is not None:
            return cc
    return None


@dataclass(frozen=True)
class _PeerRecipe:
    """What one peer adds to the shared build machinery: everything else (source hashing, the
    build folder, its lock and ``.complete`` marker) is done once, by :func:`_build_peer`."""

    #: Bumped when the recipe changes, so cached builds are redone.
    version: str
    #: None when the peer can run, else what is missing (see :func:`peer_available`).
    available: Callable[[], str | None]
    #: Strings that identify the toolchain (tool fingerprints, versions) for the build hash.
    toolchain: Callable[[], Sequence[str]]
    #: Builds into an empty folder, appending commands and output to the log.
    build: Callable[[Path, list[str]], None]


#: Every peer that :func:`_build_peer` knows (this module's and :mod:`interop.extra_peers`').
_RECIPES: dict[str, _PeerRecipe] = {}


def _require(name: str) -> None:
    reason = _RECIPES[name].available()
    if reason is not None:
        raise PeerError(f"peer {name!r} unavailable: {reason}")


def _install_hint(problems: Sequence[tuple[str, str]]) -> str | None:
    """``problems`` (what is missing, Debian package) as one message naming the install."""
    if not problems:
        return None
    packages = " ".join(dict.fromkeys(package for _, package in problems))
    return (
        "; ".join(what for what, _ in problems)
        + f" (install the Debian package(s) {packages}, e.g. run `sh {_install_script()}` as root)"
    )


def _install_script() -> str:
    """``interop/peers/install.sh``, relative to the repository root (for messages)."""
    return str(INSTALL_SCRIPT.relative_to(PEERS_DIR.parent.parent))


# --------------------------------------------------------------------------------------------
# Building


def _source_files(name: str) -> list[Path]:
    root = PEERS_DIR / name
    return sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def _fingerprint(path: Path | None) -> str:
    if path is None or not path.exists():
        return "-"
    st = path.stat()
    return f"{path}:{st.st_size}:{int(st.st_mtime)}"


def _source_hash(name: str) -> str:
    recipe = _RECIPES[name]
    h = hashlib.sha256(recipe.version.encode())
    for p in _source_files(name):
        h.update(str(p.relative_to(PEERS_DIR)).encode() + b"\0")
        h.update(p.read_bytes() + b"\0")
    for item in recipe.toolchain():
        h.update(item.encode() + b"\0")
    return h.hexdigest()[:16]


def _fingerprints(tools: Sequence[str | None]) -> list[str]:
    """:func:`_fingerprint` of each tool path (None: not found)."""
    return [_fingerprint(Path(tool) if tool else None) for tool in tools]


def _run_step(cmd: Sequence[str], cwd: Path, log: list[str]) -> None:
    log.append("$ " + " ".join(cmd))
    try:
        done = subprocess.run(
            list(cmd),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=BUILD_STEP_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise PeerError(f"build step timed out after {BUILD_STEP_TIMEOUT:.0f} s: {cmd}") from exc
    log.append(done.stdout + done.stderr)
    if done.returncode != 0:
        raise PeerError(
            f"build step failed (exit {done.returncode}): {' '.join(cmd)}\n"
            + (done.stdout + done.stderr)[-4000:]
        )


def _build_jaxws(out: Path, log: list[str]) -> None:
    classes = out / "classes"
    classes.mkdir(parents=True)
    sources = [str(p) for p in _source_files("jaxws") if p.suffix == ".java"]
    # Document/literal *bare*: no request/response wrapper beans to generate, so no wsgen step
    # is needed (Debian's jaxws-rt lacks the ASM classes it would otherwise need at run time).
    _run_step(
        [
            "javac",
            "-nowarn",
            "-encoding",
            "UTF-8",
            "-d",
            str(classes),
            "-cp",
            str(JAXWS_RT_JAR),
            *sources,
        ],
        out,
        log,
    )


def _pkg_config_gsoap() -> list[str]:
    if shutil.which("pkg-config") is not None:
        done = subprocess.run(
            ["pkg-config", "--cflags", "--libs", "gsoap"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.split()
    return ["-lgsoap"]


def _build_gsoap(out: Path, log: list[str]) -> None:
    src = PEERS_DIR / "gsoap"
    gen = out / "gen"
    gen.mkdir(parents=True)
    import_dir = _gsoap_import_dir()
    cc = _c_compiler()
    if import_dir is None or cc is None:
        raise PeerError("gSOAP toolchain vanished during the build")
    # -c: C, -L: no soapClientLib/soapServerLib, -x: no sample messages, -w: no WSDL/XSD
    # (echo.wsdl is hand-written).
    _run_step(
        [
            "soapcpp2",
            "-c",
            "-L",
            "-x",
            "-w",
            f"-I{import_dir}",
            "-d",
            str(gen),
            str(src / "echo.h"),
        ],
        out,
        log,
    )
    flags = ["-O2", "-std=gnu11", "-Wall", f"-I{gen}", f"-I{src}"]
    gsoap = _pkg_config_gsoap()
    _run_step(
        [
            cc,
            *flags,
            "-o",
            str(out / "echo_server"),
            str(src / "echo_server.c"),
            str(src / "common.c"),
            str(gen / "soapC.c"),
            str(gen / "soapServer.c"),
            *gsoap,
            "-lpthread",
        ],
        out,
        log,
    )
    _run_step(
        [
            cc,
            *flags,
            "-o",
            str(out / "echo_client"),
            str(src / "echo_client.c"),
            str(src / "common.c"),
            str(src / "sha256.c"),
            str(gen / "soapC.c"),
            str(gen / "soapClient.c"),
            *gsoap,
        ],
        out,
        log,
    )
    shutil.copyfile(src / "echo.wsdl", out / "echo.wsdl")


@contextlib.contextmanager
def _build_lock(name: str) -> Iterator[None]:
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    with open(BUILD_DIR / f".{name}.lock", "a+") as fh:
        deadline = time.monotonic() + BUILD_LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() > deadline:
                    raise PeerError(
                        f"timed out after {BUILD_LOCK_TIMEOUT:.0f} s waiting for the build lock "
                        f"of {name!r}"
                    ) from exc
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


_RECIPES["jaxws"] = _PeerRecipe(
    version="peerctl-recipe-1",
    available=_jaxws_available,
    toolchain=lambda: _fingerprints([shutil.which("javac"), str(JAXWS_RT_JAR)]),
    build=_build_jaxws,
)
_RECIPES["gsoap"] = _PeerRecipe(
    version="peerctl-recipe-1",
    available=_gsoap_available,
    toolchain=lambda: _fingerprints(
        [shutil.which("soapcpp2"), _c_compiler(), "/usr/include/stdsoap2.h"]
    ),
    build=_build_gsoap,
)


def build(name: str) -> Path:
    """Build a peer into ``interop/peers/build/<name>/<hash>/`` unless already built; returns it.

    The hash covers the peer's sources, the build recipe and the toolchain, so a rerun with
    nothing changed costs a few file reads. Safe to call from several processes at once.
    """
    _check_name(name)
    return _build_peer(name)


def _build_peer(name: str) -> Path:
    """:func:`build` for any peer of :data:`_RECIPES`."""
    _require(name)
    digest = _source_hash(name)
    out = BUILD_DIR / name / digest
    if (out / ".complete").is_file():
        return out
    with _build_lock(name):
        if (out / ".complete").is_file():
            return out
        parent = out.parent
        parent.mkdir(parents=True, exist_ok=True)
        for old in parent.iterdir():  # stale builds of other source versions
            if old.name != digest:
                shutil.rmtree(old, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        log: list[str] = []
        started = time.monotonic()
        try:
            _RECIPES[name].build(out, log)
        except BaseException:
            shutil.rmtree(out, ignore_errors=True)
            raise
        log.append(f"built in {time.monotonic() - started:.1f} s")
        (out / "build.log").write_text("\n".join(log), encoding="utf-8")
        (out / ".complete").write_text(digest, encoding="ascii")
    return out


# --------------------------------------------------------------------------------------------
# Servers


def _java_command(out: Path, main_class: str, args: Sequence[str]) -> list[str]:
    classpath = os.pathsep.join([str(out / "classes"), str(JAXWS_RT_JAR)])
    return ["java", f"-Xmx{JAVA_HEAP}", *JAVA_PROPERTIES, "-cp", classpath, main_class, *args]


@dataclass
class PeerServer:
    """A running peer server process (see :func:`serving`)."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    workdir: Path
    log_path: Path
    _stopped: bool = field(default=False, repr=False)
    _final_log: str = field(default="", repr=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, soap_version: SoapVersion = "1.1") -> str:
        """The endpoint address for a SOAP version."""
        try:
            return self.base_url + _ENDPOINT_PATHS[soap_version]
        except KeyError:
            raise ValueError(f"SOAP version must be '1.1' or '1.2', not {soap_version!r}") from None

    def wsdl_url(self, soap_version: SoapVersion = "1.1") -> str:
        return self.url(soap_version) + "?wsdl"

    def log(self) -> str:
        """What the server wrote so far (one line per request: the Content-Type it received);
        still available after :meth:`stop`."""
        if self._stopped:
            return self._final_log
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """Kill the server's process group (TERM, then KILL) and remove its work directory."""
        if self._stopped:
            return
        _stop_process(self.process)
        self._final_log = self.log()
        self._stopped = True
        with _LIVE_LOCK:
            _LIVE_SERVERS.pop(id(self), None)
        shutil.rmtree(self.workdir, ignore_errors=True)


_LIVE_LOCK = threading.Lock()
_LIVE_SERVERS: dict[int, PeerServer] = {}


def _stop_process(proc: subprocess.Popen[bytes]) -> None:
    for sig, grace in ((signal.SIGTERM, STOP_GRACE), (signal.SIGKILL, STOP_GRACE)):
        if proc.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)  # start_new_session=True: pgid == pid
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)


@atexit.register
def _stop_leftovers() -> None:
    with _LIVE_LOCK:
        servers = list(_LIVE_SERVERS.values())
    for server in servers:
        with contextlib.suppress(Exception):
            server.stop()


def _tail(text: str, limit: int = 4000) -> str:
    return text if len(text) <= limit else "..." + text[-limit:]


def _server_command(
    name: str,
    out: Path,
    port_file: Path,
    *,
    mtom: bool,
    threshold: int,
    reply: ReplyMode | None,
) -> list[str]:
    if name == "jaxws":
        if reply is not None:
            raise ValueError("reply= applies to the gSOAP peer only (JAX-WS decides by itself)")
        return _java_command(
            out,
            "mtompeer.EchoServer",
            [
                "--port-file",
                str(port_file),
                "--threshold",
                str(threshold),
                "--mtom",
                "on" if mtom else "off",
                "--parent-pid",
                str(os.getpid()),
            ],
        )
    if threshold != 0:
        raise ValueError("threshold= applies to the JAX-WS peer only")
    mode: ReplyMode = reply if reply is not None else ("mtom" if mtom else "plain")
    return [
        str(out / "echo_server"),
        "--port-file",
        str(port_file),
        "--reply",
        mode,
        "--wsdl",
        str(out / "echo.wsdl"),
        "--parent-pid",
        str(os.getpid()),
    ]


def _probe(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2.0) as resp:
            return bool(resp.status == 200 and b"definitions" in resp.read(65536))
    except (urllib.error.URLError, OSError, ValueError):
        return False


def start_server(
    name: str,
    *,
    mtom: bool = True,
    threshold: int = 0,
    reply: ReplyMode | None = None,
    timeout: float = DEFAULT_START_TIMEOUT,
) -> PeerServer:
    """Build if needed and start a peer server on a free 127.0.0.1 port; wait until it serves
    its WSDL. The caller must :meth:`PeerServer.stop` it; prefer :func:`serving`.

    ``mtom``: JAX-WS: MTOMFeature on/off; gSOAP: reply mode "mtom"/"plain" unless ``reply``.
    ``threshold``: JAX-WS MTOM threshold in bytes. ``reply``: gSOAP reply mode.
    """
    out = build(name)
    return _start_process(
        name,
        lambda port_file: _server_command(
            name, out, port_file, mtom=mtom, threshold=threshold, reply=reply
        ),
        timeout=timeout,
    )


def _start_process(
    name: str,
    command: Callable[[Path], Sequence[str]],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_START_TIMEOUT,
) -> PeerServer:
    """Start ``command(port_file)`` in a fresh work directory and its own process group; wait
    until it wrote its port to ``port_file`` and serves a WSDL at ``/echo11?wsdl``."""
    workdir = Path(tempfile.mkdtemp(prefix=f"mtom-peer-{name}-"))
    port_file = workdir / "port"
    log_path = workdir / "server.log"
    try:
        cmd = list(command(port_file))
        with open(log_path, "wb") as log_fh:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log_fh,
                stderr=subprocess.STDOUT,
                cwd=workdir,
                env=None if env is None else dict(env),
                start_new_session=True,
            )
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    server = PeerServer(name=name, process=proc, port=0, workdir=workdir, log_path=log_path)
    with _LIVE_LOCK:
        _LIVE_SERVERS[id(server)] = server
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise PeerError(
                    f"{name} server exited with code {proc.returncode} during start-up:\n"
                    + _tail(server.log())
                )
            if server.port == 0:
                with contextlib.suppress(FileNotFoundError, ValueError):
                    server.port = int(port_file.read_text(encoding="ascii").strip())
            if server.port and _probe(server.wsdl_url("1.1")):
                return server
            if time.monotonic() > deadline:
                raise PeerError(
                    f"{name} server not ready after {timeout:.0f} s:\n" + _tail(server.log())
                )
            time.sleep(0.05)
    except BaseException:
        server.stop()
        raise


@contextlib.contextmanager
def serving(
    name: str,
    *,
    mtom: bool = True,
    threshold: int = 0,
    reply: ReplyMode | None = None,
    timeout: float = DEFAULT_START_TIMEOUT,
) -> Iterator[PeerServer]:
    """Context manager: a running :class:`PeerServer` (both SOAP versions), always stopped."""
    server = start_server(name, mtom=mtom, threshold=threshold, reply=reply, timeout=timeout)
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def running_server(
    name: str,
    soap_version: SoapVersion = "1.1",
    *,
    mtom: bool = True,
    threshold: int = 0,
    reply: ReplyMode | None = None,
    timeout: float = DEFAULT_START_TIMEOUT,
) -> Iterator[str]:
    """Context manager: the endpoint URL of a freshly started peer server for a SOAP version."""
    with serving(name, mtom=mtom, threshold=threshold, reply=reply, timeout=timeout) as server:
        yield server.url(soap_version)


# --------------------------------------------------------------------------------------------
# Clients


def client_command(
    name: str,
    url: str,
    soap_version: SoapVersion,
    files: Sequence[ClientFile],
    mtom: bool = True,
    *,
    threshold: int | None = None,
    action: str | None = None,
    timeout: float = 120.0,
) -> list[str]:
    """The command line :func:`run_client` runs (builds the peer if needed)."""
    _check_name(name)
    extra = [] if threshold is None else ["--threshold", str(threshold)]
    args = _client_args(url, soap_version, files, mtom, action=action, timeout=timeout, extra=extra)
    out = build(name)
    if name == "jaxws":
        return _java_command(out, "mtompeer.client.EchoClient", args)
    return [str(out / "echo_client"), *args]


def _client_args(
    url: str,
    soap_version: SoapVersion,
    files: Sequence[ClientFile],
    mtom: bool,
    *,
    action: str | None,
    timeout: float,
    extra: Sequence[str] = (),
) -> list[str]:
    """The arguments every peer client takes:
    ``URL 1.1|1.2 on|off --timeout S [EXTRA] [--action URI] ([--ct TYPE] FILE)...``."""
    if soap_version not in _ENDPOINT_PATHS:
        raise ValueError(f"SOAP version must be '1.1' or '1.2', not {soap_version!r}")
    if not files:
        raise ValueError("at least one file is needed")
    args = [url, soap_version, "on" if mtom else "off", "--timeout", str(max(1, int(timeout)))]
    args += extra
    if action is not None:
        args += ["--action", action]
    for item in files:
        if isinstance(item, tuple):
            path, content_type = item
        else:
            path, content_type = item, None
        if content_type is not None:
            args += ["--ct", content_type]
        args.append(os.path.abspath(os.fspath(path)))  # never mistaken for an option
    return args


def run_client(
    name: str,
    url: str,
    soap_version: SoapVersion,
    files: Sequence[ClientFile],
    mtom: bool = True,
    *,
    threshold: int | None = None,
    action: str | None = None,
    timeout: float = 120.0,
    check: bool = True,
) -> dict[str, Any]:
    """Send one EchoTest with one Data per file through a peer's client; return its JSON.

    ``files``: paths, or ``(path, content_type)`` pairs (``content_type`` becomes the value's
    xmime:contentType; with MTOM the gSOAP client also uses it as the part's Content-Type).
    Result: ``{"ok": True, "values": [{"size", "sha256", "content_type", "attachment_type"}],
    "response_content_type": ..., "exit_code": 0}`` (``attachment_type``: MIME type of the
    part a value came back in; gSOAP only, None for JAX-WS). On a SOAP fault: ``{"ok": False,
    "fault": {"code", "string"}, ...}`` (exit code 2). With ``check`` (default) anything but
    success raises :class:`PeerError`; without it failures come back as ``"ok": False`` with
    ``"error"`` holding the client's stderr.
    """
    cmd = client_command(
        name, url, soap_version, files, mtom, threshold=threshold, action=action, timeout=timeout
    )
    return _run_client_process(name, cmd, timeout=timeout, check=check)


def _run_client_process(
    name: str,
    cmd: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float,
    check: bool,
) -> dict[str, Any]:
    """Run a peer client command (its own process group, bounded wait) and return the JSON
    line it printed last, with ``exit_code`` (see :func:`run_client`)."""
    proc = subprocess.Popen(
        list(cmd),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=None if env is None else dict(env),
        start_new_session=True,
    )
    try:
        stdout_b, stderr_b = proc.communicate(timeout=timeout + 30.0)
    except subprocess.TimeoutExpired:
        _stop_process(proc)
        stdout_b, stderr_b = proc.communicate()
        detail = stderr_b.decode("utf-8", errors="replace")
        raise PeerError(f"{name} client timed out after {timeout + 30.0:.0f} s: {detail}") from None
    except BaseException:
        _stop_process(proc)
        raise
    stdout = stdout_b.decode("utf-8", errors="replace")
    stderr = stderr_b.decode("utf-8", errors="replace")
    result: dict[str, Any] | None = None
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            with contextlib.suppress(json.JSONDecodeError):
                result = json.loads(line)
            break
    if result is None:
        result = {"ok": False, "error": _tail(stderr.strip() or stdout.strip() or "no output")}
    result["exit_code"] = proc.returncode
    for value in result.get("values", []):
        value.setdefault("attachment_type", None)
    if check and (proc.returncode != 0 or not result.get("ok")):
        raise PeerError(
            f"{name} client failed (exit {proc.returncode}): {json.dumps(result)}\n{_tail(stderr)}"
        )
    return result


# --------------------------------------------------------------------------------------------
# Command line: python -m interop.peerctl check|build|serve|client ...


def _cli_parser(
    prog: str, description: str, names: Sequence[str]
) -> tuple[
    argparse.ArgumentParser,
    argparse._SubParsersAction[argparse.ArgumentParser],
    argparse.ArgumentParser,
]:
    """The ``check``, ``build [NAME...]`` and ``serve NAME --seconds S`` commands of a peer
    module's command line: (parser, its subparsers, the ``serve`` parser)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="say which peers are usable")
    p_build = sub.add_parser("build", help="build peers")
    p_build.add_argument("names", nargs="*", default=list(names))
    p_serve = sub.add_parser("serve", help="run a peer server for a while")
    p_serve.add_argument("name", choices=names)
    p_serve.add_argument("--seconds", type=float, default=600.0)
    return parser, sub, p_serve


def _print_check(names: Sequence[str], available: Callable[[str], str | None]) -> int:
    """``check``: one line per peer; 1 when any is unusable."""
    status = 0
    for name in names:
        reason = available(name)
        print(f"{name}: {'ok' if reason is None else reason}")
        status |= reason is not None
    return status


def _serve_for(server: PeerServer, seconds: float) -> None:
    """``serve``: keep a server up for ``seconds`` (or until Ctrl-C), then print its log."""
    with contextlib.suppress(KeyboardInterrupt):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and server.alive():
            time.sleep(0.5)
    print(server.log(), end="")


def _main(argv: Sequence[str] | None = None) -> int:
    parser, sub, p_serve = _cli_parser(
        "python -m interop.peerctl", (__doc__ or "").split("\n")[0], PEER_NAMES
    )
    p_serve.add_argument("--reply", choices=("mtom", "plain", "same"))
    p_serve.add_argument("--threshold", type=int, default=0)
    p_client = sub.add_parser("client", help="run a peer client once")
    p_client.add_argument("name", choices=PEER_NAMES)
    p_client.add_argument("url")
    p_client.add_argument("soap_version", choices=("1.1", "1.2"))
    p_client.add_argument("files", nargs="+")
    p_client.add_argument("--plain", action="store_true", help="do not use MTOM")
    args = parser.parse_args(argv)

    if args.command == "check":
        return _print_check(PEER_NAMES, peer_available)
    if args.command == "build":
        for name in args.names:
            started = time.monotonic()
            out = build(name)
            print(f"{name}: {out} ({time.monotonic() - started:.1f} s)")
        return 0
    if args.command == "serve":
        with serving(args.name, reply=args.reply, threshold=args.threshold) as server:
            print(f"{args.name}: {server.url('1.1')} (SOAP 1.1), {server.url('1.2')} (SOAP 1.2)")
            print(f"WSDL: {server.wsdl_url('1.1')}; stopping in {args.seconds:.0f} s", flush=True)
            _serve_for(server, args.seconds)
        return 0
    result = run_client(
        args.name, args.url, args.soap_version, args.files, not args.plain, check=False
    )
    print(json.dumps(result, indent=2))
    return 0 if result.get("ok") else 1


if __name__ == "__main__":
    sys.exit(_main())
