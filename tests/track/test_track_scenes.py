"""Scene cuts split a video into plays; frames are sampled into an input manifest to label."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from pigskin.cli import main
from pigskin.synth.demo_clip import DemoConfig, demo_frames
from pigskin.track.scenes import SceneConfig, cut_distance, export_frames, signature, split_plays
from pigskin.video import VideoWriter


def _two_plays(path, n1=30, n2=30):
    """A field shot, then a cut to a dark studio shot (two visually different segments)."""
    rng = np.random.default_rng(0)
    with VideoWriter(path, 320, 180, 30) as w:
        for img, _ in demo_frames(DemoConfig(width=320, height=180, frames=n1)):
            w.write(img)
        for i in range(n2):
            studio = np.full((180, 320, 3), (30, 30, 70), np.uint8)
            studio[40:140, 60 + i : 160 + i] = (200, 190, 180)  # a presenter moving a little
            w.write(np.clip(studio + rng.normal(0, 3, studio.shape), 0, 255).astype(np.uint8))
    return path


def test_signature_and_distance():
    a = np.zeros((64, 64, 3), np.uint8)
    b = np.full((64, 64, 3), 255, np.uint8)
    sa = signature(a)
    assert sa.shape == (3, 16) and np.allclose(sa.sum(axis=1), 1)
    assert cut_distance(sa, sa) == 0.0
    assert cut_distance(sa, signature(b)) == 1.0


def test_split_plays_finds_the_cut(tmp_path):
    video = _two_plays(tmp_path / "game.mp4")
    assert split_plays(video) == [(0, 30), (30, 60)]


def test_motion_within_a_play_is_not_a_cut(tmp_path):
    video = tmp_path / "one.mp4"
    with VideoWriter(video, 320, 180, 30) as w:
        for img, _ in demo_frames(DemoConfig(width=320, height=180, frames=40)):
            w.write(img)
    assert split_plays(video) == [(0, 40)]
    assert len(split_plays(video, SceneConfig(threshold=0.0, min_length=1))) > 1  # the threshold matters


def test_export_frames_with_scene_cuts(tmp_path):
    video = _two_plays(tmp_path / "game.mp4", n1=25, n2=30)
    out = tmp_path / "label"
    lines = export_frames(video, out, every=10, scene_cuts=True)
    assert [ln["pigskin-frame"]["frame"] for ln in lines] == [0, 10, 20, 25, 35, 45]  # restarts at the cut
    assert [ln["pigskin-frame"]["play"] for ln in lines] == [0, 0, 0, 1, 1, 1]
    manifest = [json.loads(s) for s in (out / "manifest.jsonl").read_text().splitlines()]
    assert manifest == lines
    assert manifest[3]["source-ref"] == "frames/game_000025.jpg"
    with Image.open(out / manifest[3]["source-ref"]) as im:
        assert im.size == (320, 180) and im.format == "JPEG"
    plays = json.loads((out / "plays.json").read_text())["plays"]
    assert [(p["start"], p["end"]) for p in plays] == [(0, 25), (25, 55)]
    names = sorted(p.name for p in (out / "frames").iterdir())
    assert names == [f"game_{i:06d}.jpg" for i in (0, 10, 20, 25, 35, 45)]


def test_frames_cli_with_a_prefix(tmp_path, capsys):
    video = _two_plays(tmp_path / "game.mp4", n1=20, n2=20)
    out = tmp_path / "o"
    assert main(["frames", str(video), "--every", "15", "--out", str(out), "--prefix", "s3://bucket/f/"]) == 0
    refs = [json.loads(s)["source-ref"] for s in (out / "manifest.jsonl").read_text().splitlines()]
    assert refs == ["s3://bucket/f/game_000000.jpg", "s3://bucket/f/game_000015.jpg", "s3://bucket/f/game_000030.jpg"]
    assert not (out / "plays.json").exists()
    assert "wrote 3 frames" in capsys.readouterr().out
    assert main(["frames", str(tmp_path / "nope.mp4"), "--out", str(out)]) == 2
