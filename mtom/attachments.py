"""Where a part's bytes live: memory up to a threshold, an unlinked temp file past it.

Strategy: an :class:`Attachment` is written once (by the package reader, or
by a user building an outgoing message) and then read any number of times.
Below ``spool_threshold`` it keeps the received chunks and joins them once
(one copy in all). Past the threshold it moves to an unnamed temporary file
— on Linux an ``O_TMPFILE`` with no name, so nothing can leak on disk even if
the process dies — and readers get independent positions through
``os.pread``. :meth:`Attachment.save` names that file in place (``linkat``)
instead of copying it when it can. No header value (Content-ID, filename, Content-Location) is
ever used to build a path. ``close()``, the context manager and a finalizer
all release the file.
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import shutil
import tempfile
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import IO, BinaryIO

from .errors import LimitExceeded, UsageError
from .headers import ContentType, Headers, normalize_content_id, parse_content_type

__all__ = ["DEFAULT_SPOOL_THRESHOLD", "Attachment"]

#: Parts larger than this are spooled to a temporary file (bytes).
DEFAULT_SPOOL_THRESHOLD = 4 * 1024 * 1024
_READ_CHUNK = 1024 * 1024


def _unnamed_file(directory: str | os.PathLike[str] | None) -> IO[bytes]:
    """A temporary file with no name, that :func:`_link_into_place` can name later.

    ``tempfile.TemporaryFile`` opens ``O_TMPFILE`` with ``O_EXCL``, which Linux
    documents as "can never be linked"; without ``O_EXCL`` it can be. Elsewhere
    (or on a file system without ``O_TMPFILE``) it is ``TemporaryFile`` itself.
    """
    flag = getattr(os, "O_TMPFILE", 0)
    if flag:
        where = os.fspath(directory) if directory is not None else tempfile.gettempdir()
        try:
            fd = os.open(where, os.O_RDWR | flag | getattr(os, "O_CLOEXEC", 0), 0o600)
        except OSError:
            pass  # EOPNOTSUPP, EISDIR on old kernels...: the portable way below
        else:
            return open(fd, "w+b")
    return tempfile.TemporaryFile(prefix="mtom-", dir=directory)


def _umask() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def _link_into_place(fd: int, target: Path) -> bool:
    """Give the unnamed file ``fd`` the name ``target`` (Linux); False if it cannot."""
    if not os.path.isdir("/proc/self/fd"):
        return False
    temp = f".{target.name}.{secrets.token_hex(6)}.mtom-part"
    try:
        parent = os.open(target.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return False
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # the mode a newly created file would get
        # A directory fd makes os.link call linkat(AT_SYMLINK_FOLLOW), which follows
        # the /proc link to the file itself (plain link() would not).
        os.link(f"/proc/self/fd/{fd}", temp, dst_dir_fd=parent, follow_symlinks=True)
    except OSError:
        os.close(parent)
        return False  # EXDEV (another file system), ENOENT (a named file), EPERM...
    try:
        os.replace(temp, target.name, src_dir_fd=parent, dst_dir_fd=parent)
    except OSError:
        os.unlink(temp, dir_fd=parent)
        raise
    finally:
        os.close(parent)
    return True


def _kernel_copy(fd: int, size: int, target: Path) -> bool:
    """Copy ``size`` bytes of ``fd`` to ``target`` in the kernel; False if unsupported."""
    copy = getattr(os, "copy_file_range", None)
    if copy is None:
        return False
    with target.open("wb") as dst:
        done = 0
        try:
            while done < size:
                n = copy(fd, dst.fileno(), size - done, done, done)
                if n == 0:
                    break
                done += n
        except OSError:
            done = -1
        if done == size:
            return True
        dst.truncate(0)
    return False


class _PreadReader(io.RawIOBase):
    """A read-only file object with its own position over its own ``dup()`` of the fd.

    Owning a duplicate keeps the (unlinked) file alive while this reader is
    open, even after the attachment is closed, and means a closed attachment
    can never make this reader read whatever file later reuses the fd number.
    ``pread`` never touches the offset the duplicates share.
    """

    def __init__(self, fd: int, size: int):
        super().__init__()
        self._fd = os.dup(fd)
        self._size = size
        self._pos = 0

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
        super().close()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self.closed:
            raise ValueError("read from a closed attachment reader")
        view = memoryview(buffer).cast("B")
        want = min(len(view), self._size - self._pos)
        if want <= 0:
            return 0
        n = os.preadv(self._fd, [view[:want]], self._pos)  # straight into the caller's buffer
        self._pos += n
        return n


class Attachment:
    """One MIME part's decoded content and metadata.

    Attributes:
        content_id: normalised Content-ID (no angle brackets) or ``None``.
        content_type: the part's Content-Type value (``application/octet-stream``
            when the part had none and none was given).
        headers: all MIME headers of the part.
        index: position of the part in its message (``-1`` for one built locally).

    Reading: :meth:`read` (all bytes), :meth:`open` (a binary file object),
    :meth:`iter_chunks`, :meth:`save`. The object is a context manager;
    :meth:`close` frees the temporary file, after which reads fail.
    """

    def __init__(self, *, content_id: str | None = None,
                 content_type: str = "application/octet-stream",
                 headers: Headers | None = None, index: int = -1,
                 spool_threshold: int = DEFAULT_SPOOL_THRESHOLD,
                 spool_dir: str | os.PathLike[str] | None = None,
                 max_size: int | None = None, limit_name: str = "max_attachment_size",
                 keep: bool = True):
        self.content_id = normalize_content_id(content_id) if content_id is not None else None
        self.content_type = content_type
        self.headers = headers if headers is not None else Headers()
        self.index = index
        self._threshold = spool_threshold
        self._spool_dir = spool_dir
        self._max_size = max_size
        self._limit_name = limit_name
        self._buffer: io.BytesIO | None = None  # in-memory content while being written
        self._data: bytes | None = None
        self._file: IO[bytes] | None = None
        self._finalizer: weakref.finalize[[], Attachment] | None = None
        self._size = 0
        self._finished = False
        self._closed = False
        # keep=False: only the size and a running SHA-256 are kept (mtom inspect).
        self._digest: hashlib._Hash | None = None if keep else hashlib.sha256()

    @classmethod
    def from_bytes(cls, data: bytes, *, content_type: str = "application/octet-stream",
                   content_id: str | None = None) -> Attachment:
        """An in-memory attachment holding ``data``."""
        att = cls(content_id=content_id, content_type=content_type)
        att._data = bytes(data)  # kept as given (no copy for bytes)
        att._size = len(att._data)
        att._finished = True
        return att

    # -- writing ---------------------------------------------------------

    def write(self, chunk: bytes | memoryview) -> None:
        """Append decoded bytes. ``chunk`` must not be mutated afterwards."""
        if self._finished:
            raise UsageError("Attachment.write() after finish()")
        n = len(chunk)
        if not n:
            return
        self._size += n
        if self._max_size is not None and self._size > self._max_size:
            hint = (" (the root is parsed in memory: up to ~40 bytes of memory per byte)"
                    if self._limit_name == "max_root_size" else "")
            raise LimitExceeded(
                f"part exceeds {self._limit_name}={self._max_size} bytes{hint}; if the peer's "
                f"messages are legitimately this large, raise Limits({self._limit_name}=...)",
                limit=self._limit_name, value=self._max_size,
                part=self.index if self.index >= 0 else None,
            )
        if self._digest is not None:
            self._digest.update(chunk)
            return
        if self._file is None and self._size > self._threshold:
            self._spool()
        if self._file is not None:
            self._file.write(chunk)
            return
        if self._buffer is None:
            self._buffer = io.BytesIO()
        self._buffer.write(chunk)  # one growing buffer: never a chunk list plus a joined copy

    def _spool(self) -> None:
        # Closed by close(), or by the finalizer when the attachment is collected.
        f = _unnamed_file(self._spool_dir)
        self._finalizer = weakref.finalize(self, f.close)
        if self._buffer is not None:
            f.write(self._buffer.getbuffer())
            self._buffer = None
        self._file = f

    def finish(self) -> None:
        """Mark the content complete; from now on it can be read."""
        if self._finished:
            return
        self._finished = True
        if self._file is not None:
            self._file.flush()
        else:
            buffer, self._buffer = self._buffer, None
            # getvalue() hands over the buffer's own bytes object when nothing views it.
            self._data = buffer.getvalue() if buffer is not None else b""

    # -- reading ---------------------------------------------------------

    @property
    def size(self) -> int:
        """Decoded size in bytes."""
        return self._size

    @property
    def in_memory(self) -> bool:
        """False when the content was spooled to a temporary file."""
        return self._file is None

    @property
    def media_type(self) -> str:
        """The Content-Type's ``type/subtype`` in lower case."""
        return self.parsed_content_type.media_type

    @property
    def parsed_content_type(self) -> ContentType:
        return parse_content_type(self.content_type)

    @property
    def filename(self) -> str | None:
        """The Content-Disposition filename, as metadata only (never a path to use)."""
        cd = self.headers.get("content-disposition")
        if cd is None:
            return None
        return parse_content_type("x/x;" + cd.partition(";")[2]).get("filename")

    def _check_readable(self) -> None:
        if self._closed:
            raise UsageError("attachment is closed")
        if self._digest is not None:
            raise UsageError("the content of this attachment was not kept (keep=False): "
                             "only its size and sha256() are known")
        if not self._finished:
            raise UsageError("attachment is still being written")

    def read(self) -> bytes:
        """The whole content as bytes (reads the temp file when spooled)."""
        self._check_readable()
        if self._data is not None:
            return self._data
        assert self._file is not None
        fd, pieces, pos = self._file.fileno(), [], 0
        while pos < self._size:  # one pread per ~2 GiB (Linux's cap): bytes made once
            piece = os.pread(fd, self._size - pos, pos)
            if not piece:
                raise UsageError(f"spooled attachment file ended at {pos} of {self._size} bytes")
            pieces.append(piece)
            pos += len(piece)
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def open(self) -> BinaryIO:
        """A new binary file object positioned at the start of the content."""
        self._check_readable()
        if self._file is not None:
            raw = _PreadReader(self._file.fileno(), self._size)
            return io.BufferedReader(raw, buffer_size=_READ_CHUNK)
        return io.BytesIO(self._data or b"")

    def iter_chunks(self, chunk_size: int = _READ_CHUNK) -> Iterator[bytes | memoryview]:
        """Yield the content in pieces of at most ``chunk_size`` bytes."""
        self._check_readable()
        if self._data is not None:
            view = memoryview(self._data)
            for i in range(0, len(view), chunk_size):
                yield view[i:i + chunk_size]
            return
        with self.open() as f:
            while chunk := f.read(chunk_size):
                yield chunk

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the content to ``path`` (chosen by the caller; replaced if it exists).

        A spooled attachment is not copied where the platform allows it: its
        unnamed temporary file is given the name ``path`` (Linux ``linkat`` of
        an ``O_TMPFILE`` file, when the spool directory is on the same file
        system as ``path`` — set ``spool_dir`` to make it so), so every byte is
        written to disk once. The saved file then *is* the attachment's
        storage: later reads of the attachment see what is written to it.
        Else the kernel copies (``copy_file_range``), else Python does.
        """
        self._check_readable()
        target = Path(path)
        if self._file is not None:
            self._file.flush()
            fd = self._file.fileno()
            if _link_into_place(fd, target) or _kernel_copy(fd, self._size, target):
                return target
        with self.open() as src, target.open("wb") as dst:
            shutil.copyfileobj(src, dst, _READ_CHUNK)
        return target

    def sha256(self) -> str:
        """Hex SHA-256 of the content."""
        if self._digest is not None and self._finished:
            return self._digest.hexdigest()
        h = hashlib.sha256()
        for chunk in self.iter_chunks():
            h.update(chunk)
        return h.hexdigest()

    # -- lifetime --------------------------------------------------------

    def close(self) -> None:
        """Release the temporary file (if any) and the data. Idempotent."""
        self._closed = True
        self._buffer = None
        self._data = None
        if self._finalizer is not None:
            self._finalizer()
        self._file = None

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> Attachment:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = "memory" if self.in_memory else "spooled"
        return (f"<Attachment cid={self.content_id!r} type={self.content_type!r} "
                f"size={self._size} {where}>")
