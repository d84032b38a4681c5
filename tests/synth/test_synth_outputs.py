"""Written datasets: determinism across runs and worker counts, the real import path, clips."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pigskin.cli import main as cli
from pigskin.formats import load
from pigskin.synth import SynthConfig, generate_clips, generate_images, preset
from pigskin.synth.clips import clip_frames
from pigskin.synth.generate import iter_truth
from pigskin.video import count_frames

CFG = preset("broadcast", width=320, height=180, seed=5)


def _tree(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_whatever_the_worker_count(tmp_path):
    a = generate_images(CFG, 6, tmp_path / "a", workers=1)
    generate_images(CFG, 6, tmp_path / "b", workers=2)
    ta, tb = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    assert ta.keys() == tb.keys() and len(ta) == 8  # 6 images, manifest, synth.json
    assert ta == tb
    mem = generate_images(CFG, 6, workers=2)  # in memory: same labels, same JPEG bytes
    assert mem.equals(a)
    assert all(mem.image_bytes(s) == ta[s.image] for s in mem)
    other = generate_images(CFG.replace(seed=6), 6)
    assert not other.equals(a)


def test_manifest_goes_through_the_ground_truth_reader(tmp_path):
    ds = generate_images(CFG, 5, tmp_path / "out", workers=1)
    back = load(tmp_path / "out" / "manifest.jsonl")
    assert back.meta["format"] == "groundtruth" and back.classes == ["football"]
    assert back.equals(ds)
    s = next(s for s in back if len(s.detections))
    assert set(s.detections.attrs) == {"occlusion", "visible", "camera", "contrast", "blur", "in_air"}
    assert s.attrs["camera"] in ("sideline", "endzone")
    img = back.load_image(s)
    assert img.shape == (180, 320, 3)
    line = json.loads((tmp_path / "out" / "manifest.jsonl").read_text().splitlines()[0])
    meta = line["football-metadata"]
    assert meta["type"] == "groundtruth/object-detection" and meta["human-annotated"] == "no"
    assert meta["class-map"] == {"0": "football"}


def test_in_memory_dataset_loads_images_without_disk():
    ds = generate_images(CFG, 3)
    assert ds.root is None and not ds.missing_images()
    img = ds.load_image(ds[0])
    assert img.shape == (180, 320, 3) and img.dtype == np.uint8


def test_cli_images_and_clips(tmp_path, capsys):
    out = tmp_path / "imgs"
    assert (
        cli(
            [
                "synth",
                "images",
                str(out),
                "--n",
                "4",
                "--width",
                "320",
                "--height",
                "180",
                "--workers",
                "1",
                "--quiet",
                "--players",
            ]
        )
        == 0
    )
    ds = load(out / "manifest.jsonl")
    assert len(ds) == 4 and ds.classes == ["football", "player"]
    assert (ds.samples[0].detections.class_id == 1).any()
    clips = tmp_path / "clips"
    assert (
        cli(
            [
                "synth",
                "clips",
                str(clips),
                "--n",
                "1",
                "--seconds",
                "1",
                "--fps",
                "10",
                "--width",
                "320",
                "--height",
                "180",
                "--workers",
                "1",
                "--quiet",
            ]
        )
        == 0
    )
    assert count_frames(clips / "clips" / "000000.mp4") == 10
    seq = load(clips / "manifest.jsonl", image_size=(320, 180))
    assert len(seq) == 10 and {s.video_id for s in seq} == {"clips/000000.mp4"}
    assert [s.frame_index for s in seq] == list(range(10))
    assert all((s.detections.track_id == 1).all() for s in seq if len(s.detections))
    # look-alikes survive the manifest on clip frames too (hard negatives for multi-frame training)
    from pigskin.data.clips import lookalike_boxes

    assert all(isinstance(s.attrs["frame-attributes"].get("lookalikes"), list) for s in seq)
    listed = sum(len(s.attrs["frame-attributes"]["lookalikes"]) for s in seq)
    assert sum(len(lookalike_boxes(s)) for s in seq) == listed
    assert "wrote 1 clips" in capsys.readouterr().out
    assert cli(["synth", "images", str(out), "--width", "10"]) == 2  # bad size: a clear error, no traceback


def test_clip_truth_is_continuous_and_complete(tmp_path):
    fps = 15
    generate_clips(CFG, 3, tmp_path, seconds=5, fps=fps, workers=2)
    hidden = visible = 0
    for k in range(3):
        rows = list(iter_truth(tmp_path / "clips" / f"{k:06d}.truth.jsonl"))
        assert [r["frame"] for r in rows] == list(range(5 * fps))
        xyz = np.array([r["ball_xyz"] for r in rows])
        step = np.linalg.norm(np.diff(xyz, axis=0), axis=1)
        assert step.max() <= 40.0 / fps  # no jump: at most 40 yd/s, faster than any throw here
        centre = np.array([[r["cx"], r["cy"]] for r in rows])
        assert np.isfinite(centre).all()  # the true centre is there even when the ball is hidden
        for r in rows:
            if r["visible"]:
                visible += 1
                x1, y1, x2, y2 = r["box"]
                assert x1 < x2 and y1 < y2 and 0 <= r["occlusion"] <= 1
            else:
                hidden += 1
                assert r["box"] is None and r["visible_fraction"] < CFG.min_visible + 1e-9 or r["box"] is None
    assert visible > 0 and hidden > 0


def test_clip_frames_are_deterministic():
    a = [f.detections.xyxy.tolist() for f, _ in clip_frames(CFG, 4, seconds=1, fps=10)]
    frames = list(clip_frames(CFG, 4, seconds=1, fps=10))
    assert a == [f.detections.xyxy.tolist() for f, _ in frames]
    first_again, _ = next(clip_frames(CFG, 4, seconds=1, fps=10))
    assert np.array_equal(first_again.rgb, frames[0][0].rgb)


@pytest.mark.parametrize("bad", [dict(ball_px=(10.0, 5.0)), dict(occlusion=1.5), dict(width=10)])
def test_config_rejects_nonsense(bad):
    with pytest.raises(ValueError):
        SynthConfig(**bad)


def test_presets_order_difficulty():
    easy, hard = preset("easy"), preset("hard")
    assert easy.ball_px[0] > hard.ball_px[1] - 1 and easy.occlusion < hard.occlusion
    assert easy.noise[1] < hard.noise[0] and easy.clutter < hard.clutter
    with pytest.raises(ValueError, match="unknown preset"):
        preset("nightmare")
