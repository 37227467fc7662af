"""Helpers shared by test modules (importable: pytest puts ``tests/`` on ``sys.path``)."""

from __future__ import annotations

import os
from pathlib import Path


def fds_under(directory: Path) -> list[str]:
    """Open file descriptors of this process whose target lies in ``directory``.

    A spooled attachment is an unlinked temporary file: it has no directory
    entry, but its descriptor's link still names the spool directory, so this
    is how a test sees that nothing is left open.
    """
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(directory)):
            out.append(target)
    return out
