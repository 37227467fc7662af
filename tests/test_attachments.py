"""Attachment storage: memory below the threshold, an anonymous temp file above it."""

from __future__ import annotations

import gc
import hashlib
import io
import os
from pathlib import Path

import pytest
from _support import fds_under

from mtom import Attachment, Headers, LimitExceeded, UsageError

DATA = bytes(range(256)) * 40  # 10 KiB
TRAVERSAL = "../" * 8 + "etc/passwd"




def make(data: bytes = DATA, *, threshold: int = 1024, spool_dir: Path | None = None,
         chunk: int = 1000, **kwargs: object) -> Attachment:
    att = Attachment(spool_threshold=threshold, spool_dir=spool_dir, **kwargs)  # type: ignore[arg-type]
    for i in range(0, len(data), chunk):
        att.write(memoryview(data)[i:i + chunk])
    att.finish()
    return att


# -- memory vs spool -----------------------------------------------------------------

def test_threshold_is_inclusive_in_memory(tmp_path: Path) -> None:
    at = make(DATA[:100], threshold=100, spool_dir=tmp_path, chunk=7)
    assert at.in_memory and at.size == 100 and at.read() == DATA[:100]
    over = make(DATA[:101], threshold=100, spool_dir=tmp_path, chunk=7)
    assert not over.in_memory and over.size == 101 and over.read() == DATA[:101]
    assert len(fds_under(tmp_path)) == 1
    over.close()
    assert fds_under(tmp_path) == []


@pytest.mark.parametrize("threshold", [0, 1024, 10 * 1024 * 1024])
def test_content_is_identical_either_way(threshold: int, tmp_path: Path) -> None:
    with make(threshold=threshold, spool_dir=tmp_path) as att:
        assert att.in_memory == (threshold >= len(DATA))
        assert att.size == len(DATA)
        assert att.read() == DATA
        assert att.sha256() == hashlib.sha256(DATA).hexdigest()
        assert b"".join(bytes(c) for c in att.iter_chunks(999)) == DATA
        assert all(len(c) <= 999 for c in att.iter_chunks(999))
        with att.open() as f:
            assert f.read(10) == DATA[:10]
            f.seek(-6, io.SEEK_END)
            assert f.read() == DATA[-6:]
    assert fds_under(tmp_path) == []


def test_spooled_file_lives_in_spool_dir_and_leaves_no_name(tmp_path: Path) -> None:
    att = make(threshold=10, spool_dir=tmp_path)
    assert not att.in_memory
    assert len(fds_under(tmp_path)) == 1
    assert list(tmp_path.iterdir()) == []  # anonymous (O_TMPFILE / unlinked) file
    att.close()
    assert fds_under(tmp_path) == []
    assert list(tmp_path.iterdir()) == []


def test_independent_readers(tmp_path: Path) -> None:
    for threshold in (0, len(DATA)):
        with make(threshold=threshold, spool_dir=tmp_path) as att:
            a, b = att.open(), att.open()
            got_a, got_b = bytearray(), bytearray()
            while True:
                x, y = a.read(333), b.read(1000)
                got_a += x
                got_b += y
                if not x and not y:
                    break
            assert bytes(got_a) == bytes(got_b) == DATA
            a.seek(5)
            assert a.tell() == 5 and a.read(3) == DATA[5:8]
            assert b.read() == b""
            a.close()
            b.close()
            assert att.read() == DATA  # the attachment itself is unaffected


def test_save_copies_to_the_given_path(tmp_path: Path) -> None:
    for threshold in (0, len(DATA)):
        target = tmp_path / f"copy-{threshold}.bin"
        with make(threshold=threshold, spool_dir=tmp_path) as att:
            assert att.save(target) == target
            assert att.save(str(target)) == target
        assert target.read_bytes() == DATA


def test_large_attachment_streams_through_the_spool(tmp_path: Path) -> None:
    data = hashlib.sha256(b"seed").digest() * (3 * 1024 * 1024 // 32)
    with make(data, threshold=1024 * 1024, spool_dir=tmp_path, chunk=64 * 1024) as att:
        assert not att.in_memory
        assert att.sha256() == hashlib.sha256(data).hexdigest()
        assert all(len(c) <= 1024 * 1024 for c in att.iter_chunks())


# -- lifetime ---------------------------------------------------------------------------

def test_close_is_idempotent_and_reads_then_fail(tmp_path: Path) -> None:
    att = make(threshold=0, spool_dir=tmp_path)
    att.close()
    att.close()
    assert att.closed
    for call in (att.read, att.open, att.sha256, lambda: list(att.iter_chunks())):
        with pytest.raises(UsageError):
            call()
    with pytest.raises(UsageError):
        att.save(tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_context_manager_closes(tmp_path: Path) -> None:
    with make(threshold=0, spool_dir=tmp_path) as att:
        assert fds_under(tmp_path)
    assert att.closed and fds_under(tmp_path) == []


def test_finalizer_releases_an_unclosed_spool_file(tmp_path: Path) -> None:
    att = make(threshold=0, spool_dir=tmp_path)
    assert fds_under(tmp_path)
    del att
    gc.collect()
    assert fds_under(tmp_path) == []


def test_write_after_finish_and_read_before_finish() -> None:
    att = Attachment()
    att.write(b"abc")
    with pytest.raises(UsageError):
        att.read()
    att.finish()
    att.finish()  # idempotent
    with pytest.raises(UsageError):
        att.write(b"more")
    assert att.read() == b"abc"


def test_max_size(tmp_path: Path) -> None:
    att = Attachment(max_size=10, index=3, spool_dir=tmp_path, spool_threshold=0,
                     limit_name="max_attachment_size")
    att.write(b"0123456789")
    with pytest.raises(LimitExceeded) as info:
        att.write(b"x")
    assert info.value.limit == "max_attachment_size" and info.value.value == 10
    assert info.value.part == 3
    att.close()


def test_empty_attachment() -> None:
    att = Attachment.from_bytes(b"")
    assert att.size == 0 and att.read() == b"" and list(att.iter_chunks()) == []
    assert att.sha256() == hashlib.sha256(b"").hexdigest()


# -- metadata ---------------------------------------------------------------------------

def test_from_bytes_and_metadata() -> None:
    att = Attachment.from_bytes(b"<x/>", content_type='Text/XML; charset="utf-8"',
                                content_id=" <a@b> ")
    assert att.content_id == "a@b"
    assert att.media_type == "text/xml"
    assert att.parsed_content_type.charset == "utf-8"
    assert att.index == -1 and att.filename is None
    assert "a@b" in repr(att) and "memory" in repr(att)


@pytest.mark.parametrize(("disposition", "filename"), [
    ('attachment; filename="report 2024.pdf"', "report 2024.pdf"),
    ("attachment; filename=plain.txt", "plain.txt"),
    ('attachment; name="UnXMLCopyPaste.xml"; filename="UnXMLCopyPaste.xml"', "UnXMLCopyPaste.xml"),
    (f"attachment; filename={TRAVERSAL}", TRAVERSAL),
    ('attachment; filename="C:\\\\Windows\\\\win.ini"', "C:\\Windows\\win.ini"),
    ("inline", None),
    ('attachment; name="id2"', None),
])
def test_filename_is_metadata_only(disposition: str, filename: str | None,
                                   tmp_path: Path) -> None:
    att = Attachment(headers=Headers([("Content-Disposition", disposition)]),
                     spool_threshold=0, spool_dir=tmp_path)
    att.write(b"secret")
    att.finish()
    assert att.filename == filename
    # Neither spooling nor the attachment's use ever created a file named after it.
    assert list(tmp_path.iterdir()) == []
    att.save(tmp_path / "chosen-by-caller")
    assert [p.name for p in tmp_path.iterdir()] == ["chosen-by-caller"]
    att.close()


def test_repr_says_spooled(tmp_path: Path) -> None:
    with make(threshold=0, spool_dir=tmp_path) as att:
        assert "spooled" in repr(att)


def test_keep_false_keeps_size_and_digest_only() -> None:
    import hashlib

    att = Attachment(keep=False, spool_threshold=4)
    att.write(b"0123456789")
    att.write(memoryview(b"abc"))
    att.finish()
    assert att.size == 13 and att.in_memory
    assert att.sha256() == hashlib.sha256(b"0123456789abc").hexdigest()
    with pytest.raises(UsageError, match="not kept"):
        att.read()
    with pytest.raises(UsageError, match="not kept"):
        att.open()


def _spooled(tmp_path: Path, data: bytes) -> Attachment:
    att = Attachment(spool_threshold=10, spool_dir=tmp_path)
    att.write(data)
    att.finish()
    assert not att.in_memory
    return att


def test_save_names_the_spooled_file_instead_of_copying(tmp_path: Path) -> None:
    """Issue 13: the spool is given the target's name (linkat): the bytes hit the disk
    once. The new file gets the mode a created file would get."""
    data = bytes(range(256)) * 100
    target = tmp_path / "out.bin"
    target.write_bytes(b"old content")
    with _spooled(tmp_path, data) as att:
        assert att.save(target) == target
        assert target.read_bytes() == data and att.read() == data
        assert os.stat(target).st_ino == os.fstat(att._file.fileno()).st_ino  # type: ignore[union-attr]
        umask = os.umask(0)
        os.umask(umask)
        assert os.stat(target).st_mode & 0o777 == 0o666 & ~umask
    assert target.read_bytes() == data  # the name outlives the attachment
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]  # no temporary name left


def test_save_across_file_systems_copies_in_the_kernel(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    def exdev(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EXDEV, "cross-device link")

    monkeypatch.setattr(os, "link", exdev)
    data = b"\r\n" + bytes(range(256)) * 50
    with _spooled(tmp_path, data) as att:
        att.save(tmp_path / "copy.bin")
        assert (tmp_path / "copy.bin").read_bytes() == data
        assert os.stat(tmp_path / "copy.bin").st_ino != os.fstat(att._file.fileno()).st_ino  # type: ignore[union-attr]
    if hasattr(os, "copy_file_range"):
        def unsupported(*args: object) -> int:
            raise OSError(errno.ENOSYS, "no copy_file_range")

        monkeypatch.setattr(os, "copy_file_range", unsupported)
        with _spooled(tmp_path, data) as att:
            att.save(tmp_path / "plain.bin")
        assert (tmp_path / "plain.bin").read_bytes() == data


def test_save_of_an_in_memory_attachment(tmp_path: Path) -> None:
    att = Attachment.from_bytes(b"small")
    assert att.save(tmp_path / "s.bin").read_bytes() == b"small"
