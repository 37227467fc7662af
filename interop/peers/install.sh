#!/bin/sh
# Install what the interop peers need:
#   JAX-WS RI: openjdk-17-jdk-headless (any JDK with javac will do) libjaxws-java
#   gSOAP:     gsoap libgsoap-dev, plus a C toolchain (gcc libc6-dev pkg-config)
#   Axis 1.4:  libaxis-java (Debian; pulls in libmail-java, libwsdl4j-java, commons-discovery,
#              commons-logging) and libactivation-java, run on the same JDK
#   node-soap: the npm package soap@NODESOAP_VERSION, installed with npm into
#              interop/peers/build/npm (git-ignored) for the machine's Node.js (>= 20.19;
#              Debian's nodejs + npm are installed only when there is no node at all)
# Only missing packages are installed; `apt-get update` runs at most once.
# Usage: sh interop/peers/install.sh        (as root, or with sudo available)
set -eu

NODESOAP_VERSION="1.13.0"   # keep in step with interop/extra_peers.py
HERE="$(cd "$(dirname "$0")" && pwd)"
NPM_DIR="$HERE/build/npm"

install_nodesoap() {
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        echo "interop peers: node or npm missing; node-soap is not installed" >&2
        return 1
    fi
    have="$(cd / && node -p "require('$NPM_DIR/node_modules/soap/package.json').version" 2>/dev/null || true)"
    if [ "$have" = "$NODESOAP_VERSION" ]; then
        echo "interop peers: node-soap $NODESOAP_VERSION present ($NPM_DIR)"
        return 0
    fi
    echo "interop peers: npm install soap@$NODESOAP_VERSION into $NPM_DIR"
    mkdir -p "$NPM_DIR"
    npm install --no-audit --no-fund --no-save --prefix "$NPM_DIR" "soap@$NODESOAP_VERSION"
}

PACKAGES="openjdk-17-jdk-headless libjaxws-java gsoap libgsoap-dev gcc libc6-dev pkg-config"
PACKAGES="$PACKAGES libaxis-java libactivation-java"
if ! command -v node >/dev/null 2>&1; then
    PACKAGES="$PACKAGES nodejs npm"
fi

is_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing=""
for pkg in $PACKAGES; do
    if [ "$pkg" = "openjdk-17-jdk-headless" ] && command -v javac >/dev/null 2>&1 \
        && javac -version 2>&1 | grep -Eq 'javac (1[7-9]|[2-9][0-9])'; then
        continue  # a JDK >= 17 is already there (any packaging)
    fi
    if ! is_installed "$pkg"; then
        missing="$missing $pkg"
    fi
done

if [ -z "$missing" ]; then
    echo "interop peers: all packages present ($PACKAGES)"
    install_nodesoap
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "interop peers: missing packages:$missing, and apt-get is not available" >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "interop peers: need root (or sudo) to install:$missing" >&2
        exit 1
    fi
fi

echo "interop peers: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
# shellcheck disable=SC2086  # word splitting of the package list is intended
$SUDO apt-get install -y --no-install-recommends $missing
install_nodesoap
