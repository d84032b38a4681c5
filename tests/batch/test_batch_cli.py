"""`pigskin batch` without Ray: in-process runs, resuming, failures in the table, inputs and refusals."""

from __future__ import annotations

import json
import sys

import pytest
from batch_helpers import TRUNCATED

from pigskin.batch import BatchConfig, from_paths, read_list, read_manifest, run_batch
from pigskin.batch.season import COLUMNS, read_season
from pigskin.batch.videos import check_names
from pigskin.cli import main
from pigskin.errors import FormatError, PigskinError
from pigskin.track.job import TrackJob


def test_without_ray_installed_batch_says_how_to_install(tmp_path, clips, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails as it does where it is not installed
    out = tmp_path / "o"
    assert main(["batch", str(clips[0]), "--detector", "simple", "--out", str(out), "--quiet"]) == 2
    assert 'pip install "pigskin[ray]"' in capsys.readouterr().err
    assert [r["status"] for r in read_season(out / "season.csv")] == ["pending"]


def test_no_ray_runs_in_process_records_failures_and_resumes(tmp_path, clips, capsys):
    missing = tmp_path / "nowhere" / "game.mp4"
    cut = next(c for c in clips if c.stem == TRUNCATED)
    videos = [clips[0], cut, missing]  # a good clip, the truncated one, a file that is not there
    out = tmp_path / "season"
    args = ["batch", *map(str, videos), "--detector", "simple", "--out", str(out), "--no-ray",
            "--workers", "1", "--quiet"]
    assert main(args) == 1  # some videos failed
    text = capsys.readouterr().out
    assert "3 videos: 1 complete (0 already), 2 failed" in text and f"wrote {out / 'season.csv'}" in text
    with open(out / "season.csv", encoding="utf-8") as f:
        assert f.readline().strip() == ",".join(COLUMNS)
    rows = {r["name"]: r for r in read_season(out / "season.csv")}
    assert rows[clips[0].stem]["status"] == "complete" and rows[clips[0].stem]["frames"] == "45"
    row = rows[TRUNCATED]
    assert row["status"] == "failed" and "truncated" in row["error"] and f"{TRUNCATED}.mp4" in row["error"]
    assert 0 < int(row["frames"]) < 45  # the frames it got through, as timing.json recorded them
    assert rows["game"]["status"] == "failed" and str(missing) in rows["game"]["error"]

    ref_dir = tmp_path / "ref"
    assert main(["track", str(clips[0]), "--detector", "simple", "--out", str(ref_dir), "--quiet"]) == 0
    ref = (ref_dir / "tracks.csv").read_bytes()
    assert (out / clips[0].stem / "tracks.csv").read_bytes() == ref

    again = run_batch(BatchConfig(tuple(from_paths(videos)), out, TrackJob(detector="simple"), ray=False,
                                  progress=False))
    assert again.skipped == [clips[0].stem] and again.ran == [TRUNCATED, "game"]  # failures are retried
    assert len(again.failed) == 2 and again.workers[0]["videos"] == 2
    # the frames bar counted what the worker tracked of the two (the truncated clip's first frames)
    assert again.frames_counted == again.frames_run == int(rows[TRUNCATED]["frames"])


def test_lists_and_manifests_resolve_relative_to_their_file(tmp_path):
    (tmp_path / "lists").mkdir()
    listing = tmp_path / "lists" / "season.txt"
    listing.write_text("# week 1\n../games/a.mp4\n\n/abs/b.mkv\n")
    assert [(str(v.path), v.name) for v in read_list(listing)] == [
        (str(tmp_path / "lists" / ".." / "games" / "a.mp4"), "a"), ("/abs/b.mkv", "b")]
    manifest = tmp_path / "season.manifest"
    manifest.write_text(json.dumps({"source-ref": "w1/game.mp4", "name": "w1-game"}) + "\n\n"
                        + json.dumps({"video": "w2/game.mp4"}) + "\n")
    assert [(v.path, v.name) for v in read_manifest(manifest)] == [
        (tmp_path / "w1" / "game.mp4", "w1-game"), (tmp_path / "w2" / "game.mp4", "game")]

    manifest.write_text(json.dumps({"source-ref": "a.mp4"}) + "\n" + json.dumps({"path": "b.mp4"}) + "\n")
    with pytest.raises(FormatError, match=r"season\.manifest: line 2: .*source-ref"):
        read_manifest(manifest)
    manifest.write_text(json.dumps({"source-ref": "s3://bucket/a.mp4"}) + "\n")
    with pytest.raises(FormatError, match=r"line 1: s3://bucket/a\.mp4: only local"):
        read_manifest(manifest)
    manifest.write_text(json.dumps({"video": "a.mp4", "name": "../up"}) + "\n")
    with pytest.raises(FormatError, match="not a plain folder name"):
        read_manifest(manifest)
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        read_list(tmp_path / "nope.txt")


def test_batch_refuses_what_it_cannot_do(tmp_path, capsys):
    one, two = from_paths([tmp_path / "w1" / "game.mp4", tmp_path / "w2" / "game.mp4"])
    assert check_names([one, one]) == [one]  # the same file twice is tracked once
    with pytest.raises(PigskinError, match=r"w1/game\.mp4 and .*w2/game\.mp4 both write game/"):
        check_names([one, two])
    with pytest.raises(PigskinError, match="no videos"):
        check_names([])
    with pytest.raises(PigskinError, match="use --workers 1"):
        BatchConfig((one,), tmp_path, ray=False, workers=2)
    out = str(tmp_path / "o")
    assert main(["batch", str(one.path), "--model", str(tmp_path / "none.tar.gz"), "--out", out]) == 2
    assert "none.tar.gz: no such model" in capsys.readouterr().err
