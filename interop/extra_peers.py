"""Build, start and drive the live peers added by issue #11: node-soap and Apache Axis 1.4.

Same contract as :mod:`interop.peerctl` (which drives JAX-WS RI and gSOAP): servers are W3C MTOM
CR echo services on 127.0.0.1 (``/echo11`` SOAP 1.1, ``/echo12`` SOAP 1.2, WSDL at ``?wsdl``),
each logging one ``request Content-Type:`` line per POST; clients take
``URL 1.1|1.2 on|off [--action URI] [--timeout S] [--ct TYPE] FILE ...`` and print one JSON line.
Builds go to ``interop/peers/build/<peer>/<source hash>/``; every wait is bounded and every
process is stopped by killing its process group. Only what differs per peer is here (availability,
build recipe, command lines); building, starting and running are :mod:`interop.peerctl`'s.

``"nodesoap"``
    node-soap (npm ``soap``, :data:`NODESOAP_VERSION`) on the machine's Node.js (>= 20.19),
    installed by ``interop/peers/install.sh`` into :data:`NPM_DIR`. Its server has no MTOM or SwA
    (plain SOAP only; it copies the request's Content-Type onto its reply); its client sends
    MTOM (``forceMTOM`` + ``attachments``) and reads MTOM replies.
``"axis"``
    Apache Axis 1.4 (Debian ``libaxis-java``, run on the JDK): its engine behind the JDK's HTTP
    server (``mtompeer.axis.EchoServer``, a message-style echo service reading inline, href/ref
    (SwA), xop:Include and DIME; reply mode ``plain``, ``swa``, ``mtom`` (Axis's flavour:
    ``href`` references in an ``application/xop+xml`` package), ``dime`` or ``same``), and
    ``mtompeer.axis.EchoClient`` (Axis's ``Call`` and HTTP transport; ``--format swa|mtom|dime``,
    ``--xsi-type on|off``). Axis's own WSDL of an SwA service is at ``/swa?wsdl``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from interop import peerctl
from interop.peerctl import BUILD_DIR, PEERS_DIR, ClientFile, PeerServer, SoapVersion

__all__ = [
    "ALL_PEERS",
    "EXTRA_PEER_NAMES",
    "NODESOAP_VERSION",
    "NPM_DIR",
    "build",
    "client_command",
    "peer_available",
    "run_client",
    "serving",
    "start_server",
]

EXTRA_PEER_NAMES: tuple[str, ...] = ("nodesoap", "axis")
#: Every live peer: the two of :mod:`interop.peerctl` and the ones here.
ALL_PEERS: tuple[str, ...] = peerctl.PEER_NAMES + EXTRA_PEER_NAMES

#: The pinned npm package (what install.sh installs and the build checks).
NODESOAP_VERSION = "1.13.0"
#: Where install.sh puts node_modules (git-ignored, under the build folder).
NPM_DIR = BUILD_DIR / "npm"
NODE_MIN = (20, 19)

#: The jars Axis 1.4 runs with (Debian libaxis-java and its dependencies).
AXIS_JARS: tuple[Path, ...] = tuple(peerctl.JAVA_SHARE / jar for jar in (
    "axis.jar", "axis-jaxrpc.jar", "axis-saaj.jar", "commons-discovery.jar",
    "commons-logging.jar", "wsdl4j.jar", "javax.mail.jar", "javax.activation.jar"))
AXIS_PACKAGES: tuple[str, ...] = ("openjdk-17-jdk-headless", "libaxis-java", "libactivation-java")
AxisFormat = Literal["swa", "mtom", "dime", "plain"]
AxisReply = Literal["plain", "swa", "mtom", "dime", "same"]

_RECIPE = "extra-peers-recipe-1"


def _check_name(name: str) -> None:
    if name not in EXTRA_PEER_NAMES:
        raise ValueError(f"unknown peer {name!r}; expected one of {', '.join(EXTRA_PEER_NAMES)}")


def _node_version() -> tuple[int, int] | None:
    node = shutil.which("node")
    if node is None:
        return None
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30,
                             check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.match(r"v(\d+)\.(\d+)", out.strip())
    return (int(m.group(1)), int(m.group(2))) if m else None


def _installed_nodesoap() -> str | None:
    try:
        meta = json.loads((NPM_DIR / "node_modules" / "soap" / "package.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    version = meta.get("version")
    return version if isinstance(version, str) else None


def peer_available(name: str) -> str | None:
    """None when the peer can run, else what is missing and how to install it.

    Accepts every name of :data:`ALL_PEERS` (the older peers are asked of :mod:`peerctl`).
    """
    if name in peerctl.PEER_NAMES:
        return peerctl.peer_available(name)
    _check_name(name)
    return peerctl._RECIPES[name].available()


def _nodesoap_available() -> str | None:
    problems: list[str] = []
    node = _node_version()
    if node is None:
        problems.append("node not found on PATH (Node.js >= 20.19, e.g. Debian/NodeSource nodejs)")
    elif node < NODE_MIN:
        problems.append(f"node {node[0]}.{node[1]} is older than 20.19 (node-soap "
                        f"{NODESOAP_VERSION} needs >= 20.19)")
    installed = _installed_nodesoap()
    if installed != NODESOAP_VERSION:
        problems.append(f"npm package soap@{NODESOAP_VERSION} not in {NPM_DIR} "
                        f"(found: {installed or 'none'})")
    if not problems:
        return None
    return "; ".join(problems) + f" (run `sh {peerctl._install_script()}`: npm install " \
        f"soap@{NODESOAP_VERSION})"


def _axis_available() -> str | None:
    problems = peerctl._java_problems()
    for jar in AXIS_JARS:
        if not jar.is_file():
            package = "libactivation-java" if "activation" in jar.name else "libaxis-java"
            problems.append((f"{jar} not found", package))
    return peerctl._install_hint(problems)


def _nodesoap_toolchain() -> list[str]:
    return [f"{_node_version()}:{_installed_nodesoap()}"]


def _build_nodesoap(out: Path, log: list[str]) -> None:
    for src in peerctl._source_files("nodesoap"):  # the scripts run as they are
        shutil.copyfile(src, out / src.name)
    log.append(f"copied the scripts of {PEERS_DIR / 'nodesoap'}")


def _axis_classpath(out: Path) -> str:
    return os.pathsep.join([str(out / "classes"), *map(str, AXIS_JARS)])


def _build_axis(out: Path, log: list[str]) -> None:
    classes = out / "classes"
    classes.mkdir(parents=True)
    sources = [str(p) for p in peerctl._source_files("axis") if p.suffix == ".java"]
    peerctl._run_step(["javac", "-nowarn", "-encoding", "UTF-8", "-d", str(classes), "-cp",
                       os.pathsep.join(map(str, AXIS_JARS)), *sources], out, log)
    shutil.copyfile(PEERS_DIR / "axis" / "echo.wsdl", out / "echo.wsdl")


# The shared machinery of peerctl (source hash, build folder and lock) runs these recipes;
# the lambdas look the module's names up at call time (tests replace them).
peerctl._RECIPES["nodesoap"] = peerctl._PeerRecipe(
    version=_RECIPE, available=lambda: _nodesoap_available(),
    toolchain=lambda: _nodesoap_toolchain(), build=lambda out, log: _build_nodesoap(out, log))
peerctl._RECIPES["axis"] = peerctl._PeerRecipe(
    version=_RECIPE, available=lambda: _axis_available(),
    toolchain=lambda: peerctl._fingerprints([shutil.which("javac"), *map(str, AXIS_JARS)]),
    build=lambda out, log: _build_axis(out, log))


def build(name: str) -> Path:
    """Build a peer into ``interop/peers/build/<name>/<hash>/`` unless already built."""
    _check_name(name)
    return peerctl._build_peer(name)


#: Axis keeps whole messages in memory; the echo values here are small.
AXIS_JAVA_OPTIONS = ("-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")


def _java(out: Path, main_class: str, args: Sequence[str]) -> list[str]:
    return ["java", *AXIS_JAVA_OPTIONS, "-cp", _axis_classpath(out), main_class, *args]


# --------------------------------------------------------------------------------------------
# Servers


def _node_env() -> dict[str, str]:
    env = dict(os.environ)
    env["NODE_PATH"] = str(NPM_DIR / "node_modules")
    env.pop("HTTP_PROXY", None)
    env.pop("http_proxy", None)
    return env


def _server_command(name: str, out: Path, port_file: Path, reply: AxisReply) -> list[str]:
    args = ["--port-file", str(port_file), "--wsdl", str(out / "echo.wsdl")]
    if name == "axis":
        return _java(out, "mtompeer.axis.EchoServer",
                     [*args, "--reply", reply, "--parent-pid", str(os.getpid())])
    node = shutil.which("node") or "node"
    return [node, str(out / "echo_server.js"), *args, "--parent-pid", str(os.getpid())]


def start_server(name: str, *, reply: AxisReply = "same",
                 timeout: float = peerctl.DEFAULT_START_TIMEOUT) -> PeerServer:
    """Build if needed and start a peer server on a free 127.0.0.1 port; wait until it serves
    its WSDL. The caller must :meth:`PeerServer.stop` it; prefer :func:`serving`.

    ``reply``: Axis's reply mode (node-soap always answers plain)."""
    out = build(name)
    env = _node_env() if name == "nodesoap" else None
    return peerctl._start_process(
        name, lambda port_file: _server_command(name, out, port_file, reply), env=env,
        timeout=timeout)


@contextlib.contextmanager
def serving(name: str, *, reply: AxisReply = "same",
            timeout: float = peerctl.DEFAULT_START_TIMEOUT) -> Iterator[PeerServer]:
    """Context manager: a running :class:`PeerServer` (both SOAP versions), always stopped."""
    server = start_server(name, reply=reply, timeout=timeout)
    try:
        yield server
    finally:
        server.stop()


# --------------------------------------------------------------------------------------------
# Clients


def client_command(name: str, url: str, soap_version: SoapVersion, files: Sequence[ClientFile],
                   mtom: bool = True, *, action: str | None = None, timeout: float = 120.0,
                   axis_format: AxisFormat | None = None, xsi_type: bool = True
                   ) -> tuple[list[str], dict[str, str]]:
    """The command line (and environment) :func:`run_client` runs (builds the peer if needed)."""
    _check_name(name)
    extra: list[str] = []
    if name == "axis":
        if axis_format is not None:
            extra += ["--format", axis_format]
        extra += ["--xsi-type", "on" if xsi_type else "off"]
    elif axis_format is not None or not xsi_type:
        raise ValueError("axis_format= and xsi_type= apply to the Axis peer only")
    args = peerctl._client_args(url, soap_version, files, mtom, action=action, timeout=timeout,
                                extra=extra)
    out = build(name)
    if name == "axis":
        return _java(out, "mtompeer.axis.EchoClient", args), dict(os.environ)
    node = shutil.which("node") or "node"
    return [node, str(out / "echo_client.js"), *args], _node_env()


def run_client(name: str, url: str, soap_version: SoapVersion, files: Sequence[ClientFile],
               mtom: bool = True, *, action: str | None = None, timeout: float = 120.0,
               check: bool = True, axis_format: AxisFormat | None = None,
               xsi_type: bool = True) -> dict[str, Any]:
    """Send one EchoTest with one Data per file through a peer's client; return its JSON
    (the shape of :func:`interop.peerctl.run_client`)."""
    cmd, env = client_command(name, url, soap_version, files, mtom, action=action,
                              timeout=timeout, axis_format=axis_format, xsi_type=xsi_type)
    return peerctl._run_client_process(name, cmd, env=env, timeout=timeout, check=check)


# --------------------------------------------------------------------------------------------
# Command line: python -m interop.extra_peers check|build|serve NAME


def _main(argv: Sequence[str] | None = None) -> int:
    parser, _, p_serve = peerctl._cli_parser("python -m interop.extra_peers",
                                             "node-soap and Apache Axis 1.4 peers.",
                                             EXTRA_PEER_NAMES)
    p_serve.add_argument("--reply", choices=("plain", "swa", "mtom", "dime", "same"),
                         default="same")
    args = parser.parse_args(argv)
    if args.command == "check":
        return peerctl._print_check(EXTRA_PEER_NAMES, peer_available)
    if args.command == "build":
        for name in args.names:
            print(f"{name}: {build(name)}")
        return 0
    with serving(args.name, reply=args.reply) as server:
        print(f"{args.name}: {server.url('1.1')} (SOAP 1.1), {server.url('1.2')} (SOAP 1.2); "
              f"stopping in {args.seconds:.0f} s", flush=True)
        peerctl._serve_for(server, args.seconds)
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(_main())
