"""pigskin convert: every pair of formats on the tiny dataset, summaries, and no partial output."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pigskin.cli import main
from pigskin.formats import load, save

OUT = {"groundtruth": "data.manifest", "coco": "coco", "yolo": "yolo", "voc": "voc"}


def _sources(tiny_dataset, tmp_path: Path) -> dict[str, Path]:
    out = {}
    for fmt, name in OUT.items():
        save(tiny_dataset, tmp_path / "src" / name, fmt)
        out[fmt] = tmp_path / "src" / name
    return out


def test_convert_between_every_pair(tiny_dataset, tmp_path, capsys):
    sources = _sources(tiny_dataset, tmp_path)
    for src_fmt, src in sources.items():
        expected = load(src)  # as read: the fixture's box that sticks out is clipped
        for dst_fmt, name in OUT.items():
            dst = tmp_path / "out" / src_fmt / name
            assert main(["convert", str(src), str(dst), "--to", dst_fmt]) == 0
            got = load(dst)
            assert got.equals(expected, atol=1e-3, images=False), (src_fmt, dst_fmt)
            assert all(got.image_path(s).is_file() for s in got), (src_fmt, dst_fmt)
    out = capsys.readouterr().out
    assert "4 images, 5 boxes, 2 classes (football, player), 1 problems repaired" in out
    assert "outside the 64x48 image; clipped" in out


def test_strict_failure_leaves_no_output(tiny_dataset, tmp_path, capsys):
    src = _sources(tiny_dataset, tmp_path)["coco"]
    dst = tmp_path / "strict_out"
    assert main(["convert", str(src), str(dst), "--to", "yolo", "--strict"]) == 2
    assert "outside the 64x48 image" in capsys.readouterr().err
    assert not dst.exists() and sorted(os.listdir(tmp_path)) == ["images", "src"]


def test_failed_write_leaves_no_output(tiny_dataset, tmp_path, capsys):
    src = _sources(tiny_dataset, tmp_path)["groundtruth"]
    (tiny_dataset.root / "images" / "frame_003.jpg").unlink()  # the writer cannot copy the last image
    for fmt in ("yolo", "voc", "coco"):
        dst = tmp_path / f"broken_{fmt}"
        assert main(["convert", str(src), str(dst), "--to", fmt]) == 2
        assert "frame_003.jpg" in capsys.readouterr().err
        assert not dst.exists()
    assert sorted(os.listdir(tmp_path)) == sorted(["src", "images"])  # no temporary folders either


def test_existing_destination_needs_overwrite(tiny_dataset, tmp_path):
    src = _sources(tiny_dataset, tmp_path)["voc"]
    dst = tmp_path / "o.manifest"
    dst.write_text("keep me\n")
    assert main(["convert", str(src), str(dst), "--to", "groundtruth"]) == 2
    assert dst.read_text() == "keep me\n"
    assert main(["convert", str(src), str(dst), "--to", "groundtruth", "--overwrite"]) == 0
    assert len(load(dst)) == 4


def test_format_specific_flags_are_checked(tiny_dataset, tmp_path, capsys):
    src = _sources(tiny_dataset, tmp_path)["voc"]
    assert main(["convert", str(src), str(tmp_path / "x"), "--to", "coco", "--label-attribute", "ball"]) == 2
    assert "--label-attribute applies to groundtruth input, not voc" in capsys.readouterr().err
    gt = tmp_path / "src" / OUT["groundtruth"]
    assert main(["convert", str(gt), str(tmp_path / "y"), "--to", "coco", "--label-attribute", "nope"]) == 2
    assert "no label attribute 'nope'" in capsys.readouterr().err


def test_unknown_source_format_is_an_error(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(SystemExit):
        main(["convert", str(tmp_path / "notes.txt"), str(tmp_path / "o"), "--to", "pascal"])
    assert main(["convert", str(tmp_path / "notes.txt"), str(tmp_path / "o"), "--to", "coco"]) == 2
    assert "cannot tell the format" in capsys.readouterr().err
