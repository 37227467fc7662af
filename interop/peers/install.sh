#!/bin/sh
# Install the Debian packages the interop peers (JAX-WS RI, gSOAP) need:
#   JAX-WS RI: openjdk-17-jdk-headless (any JDK with javac will do) libjaxws-java
#   gSOAP:     gsoap libgsoap-dev, plus a C toolchain (gcc libc6-dev pkg-config)
# Only missing packages are installed; `apt-get update` runs at most once.
# Usage: sh interop/peers/install.sh        (as root, or with sudo available)
set -eu

PACKAGES="openjdk-17-jdk-headless libjaxws-java gsoap libgsoap-dev gcc libc6-dev pkg-config"

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
