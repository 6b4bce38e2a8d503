"""Files: listing images, and atomic writes that never clobber, never leave temporaries and keep file modes."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pytest

from deblur.errors import ImageError
from deblur.io.files import atomic_write_bytes, atomic_write_json, encode_npy, list_images


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "folder-in-the-way"
    (target).mkdir()
    with pytest.raises(ImageError, match="cannot write"):
        atomic_write_bytes(target, b"data")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder-in-the-way"]


def test_list_images(photo_folder: Path) -> None:
    (photo_folder / "notes.txt").write_text("x")
    (photo_folder / ".hidden.png").write_bytes(b"")
    names = [p.relative_to(photo_folder).as_posix() for p in list_images(photo_folder)]
    assert names == ["astronaut.png", "coffee.png", "sub/chelsea.png"]
    assert len(list_images(photo_folder, recursive=False)) == 2
    with pytest.raises(ImageError, match="does not exist"):
        list_images(photo_folder / "nope")


def test_values_outputs_follow_the_umask_and_keep_a_replaced_files_mode(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        fresh = atomic_write_bytes(tmp_path / "fresh.bin", b"1")
        assert fresh.stat().st_mode & 0o777 == 0o644
        shared = tmp_path / "shared.bin"
        shared.write_bytes(b"0")
        shared.chmod(0o664)
        atomic_write_bytes(shared, b"2", overwrite=True)
        assert shared.stat().st_mode & 0o777 == 0o664 and shared.read_bytes() == b"2"
    finally:
        os.umask(old)


def test_values_the_longest_legal_output_name_can_be_written(tmp_path: Path) -> None:
    name = "x" * 251 + ".png"  # 255 bytes: the usual limit of one name
    assert atomic_write_bytes(tmp_path / name, b"data").read_bytes() == b"data"
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_exception_an_interrupted_write_leaves_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(_fd: int) -> None:
        raise SystemExit(143)  # what SIGTERM raises in deblur restore, mid-write

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(SystemExit):
        atomic_write_bytes(tmp_path / "out.png", b"partial")
    assert list(tmp_path.iterdir()) == []


def test_values_json_and_npy_bytes(tmp_path: Path) -> None:
    written = atomic_write_json(tmp_path / "config.json", {"b": 1, "a": [2.5]})
    assert written.read_text() == '{\n  "b": 1,\n  "a": [\n    2.5\n  ]\n}\n'  # insertion order, trailing newline
    assert json.loads(written.read_text()) == {"b": 1, "a": [2.5]}
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(np.load(io.BytesIO(encode_npy(array)), allow_pickle=False), array)
    with pytest.raises(ValueError, match="pickle"):
        encode_npy(np.array([{"a": 1}], dtype=object))


def test_exception_a_failed_temporary_names_the_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # C28: "cannot write mnt_ro/.deblur-aqb2u8v6.tmp: Read-only file system", a raw OSError naming the temporary
    import errno
    import tempfile

    def read_only(*_: object, dir: str, **__: object) -> None:  # noqa: A002
        raise OSError(errno.EROFS, "Read-only file system", os.path.join(dir, ".deblur-aqb2u8v6.tmp"))

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(ImageError, match="cannot write") as caught:
        atomic_write_bytes(tmp_path / "out.png", b"data")
    assert "out.png: Read-only file system" in str(caught.value) and ".deblur-" not in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def _lock(monkeypatch: pytest.MonkeyPatch, locked: Path) -> None:
    """Make ``locked`` unreadable as ``chmod 000`` does for a user who is not root."""
    real = os.scandir

    def scandir(path: object = ".") -> object:
        if Path(os.fspath(path)) == locked:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)


def test_exception_an_unreadable_folder_is_reported_not_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # C07: folders that could not be read were skipped silently
    (tmp_path / "ok").mkdir()
    (tmp_path / "locked").mkdir()
    (tmp_path / "ok" / "a.png").write_bytes(b"")
    (tmp_path / "locked" / "b.png").write_bytes(b"")
    _lock(monkeypatch, tmp_path / "locked")
    with pytest.raises(ImageError, match="cannot read the folder .*locked: Permission denied"):
        list_images(tmp_path)
    unreadable: list[str] = []
    assert list_images(tmp_path, unreadable=unreadable) == [tmp_path / "ok" / "a.png"]
    assert len(unreadable) == 1 and "locked: Permission denied" in unreadable[0]
