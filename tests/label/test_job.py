"""The labeller without a browser: the store, resume, shards, proposals, review (plain Python)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from label_helpers import H, W, ball_box, read_manifest, write_frames, write_predictions

from pigskin.cli import main
from pigskin.errors import FormatError, PigskinError
from pigskin.label.job import Job, LabelConfig
from pigskin.label.manifest import shard_files
from pigskin.label.store import LabelStore, merge_shards


def box(xyxy, source="drawn", confidence=1.0, cls=0, **attrs):
    return {"xyxy": list(xyxy), "class_id": cls, "source": source, "confidence": confidence, "attrs": attrs}


def test_save_round_trip_through_the_ground_truth_manifest(frames_dir: Path):
    job = Job(LabelConfig(frames_dir, classes=["football", "player"]))
    job.save(0, {"boxes": [box(ball_box(0), occlusion="partial"), box([10, 20, 60, 140], cls=1)]})
    job.save(1, {"boxes": [box(ball_box(1), "accepted", 0.8125)]})
    job.save(2, {"boxes": [], "no_ball": True})
    job.save(3, {"boxes": [box(ball_box(3), "corrected", 1.0, occlusion="heavy")]})

    lines = {x["source-ref"]: x for x in read_manifest(frames_dir / "output.manifest")}
    assert sorted(lines) == [f"play_{k:06d}.jpg" for k in range(4)]  # frame 4 is unlabelled: absent
    first = lines["play_000000.jpg"]
    ann = first["bounding-box"]["annotations"][0]
    assert (ann["left"], ann["top"], ann["width"], ann["height"]) == (594, 516, 12, 8)
    assert ann["label-category-attributes"] == {"occlusion": "partial", "source": "drawn"}
    assert first["bounding-box-metadata"]["human-annotated"] == "yes"
    assert first["bounding-box-metadata"]["class-map"] == {"0": "football", "1": "player"}
    assert first["bounding-box"]["image_size"] == [{"width": W, "height": H, "depth": 3}]
    accepted = lines["play_000001.jpg"]["bounding-box-metadata"]
    assert accepted["human-annotated"] == "no" and accepted["objects"] == [{"confidence": 0.8125}]
    assert lines["play_000002.jpg"]["bounding-box"]["annotations"] == []
    assert lines["play_000003.jpg"]["bounding-box-metadata"]["human-annotated"] == "yes"

    # a new session reads back exactly what was saved
    again = Job(LabelConfig(frames_dir, classes=["football", "player"]))
    for i in range(4):
        assert again.store.labels[i].to_json()["boxes"] == job.store.labels[i].to_json()["boxes"]
    assert 4 not in again.store.labels
    swapped = Job(LabelConfig(frames_dir, classes=["player", "football"]))  # ids follow the names
    assert [b.class_id for b in swapped.store.labels[0].boxes] == [1, 0]
    with pytest.raises(PigskinError, match=r"has classes \['player'\] that this job"):
        Job(LabelConfig(frames_dir, classes=["football"]))

    # and the rest of pigskin reads it as an ordinary Ground Truth dataset
    from pigskin.formats import load

    ds = load(frames_dir / "output.manifest")
    assert len(ds) == 4 and ds.classes == ["football", "player"]
    d0 = ds[0].detections
    assert list(d0.attrs["source"]) == ["drawn", "drawn"]
    np.testing.assert_allclose(d0.xyxy[0], ball_box(0))
    assert ds.image_path(ds[0]) == frames_dir / "play_000000.jpg"


def test_video_frames_are_also_written_as_seqlabel(frames_dir: Path):
    job = Job(LabelConfig(frames_dir))
    job.save(0, {"boxes": [box(ball_box(0))]})
    job.save(1, {"boxes": [], "no_ball": True})
    job.store.flush()  # the video layout is written in the background after each save
    (line,) = read_manifest(frames_dir / "output.video.manifest")
    assert line["bounding-box-ref-metadata"]["type"] == "groundtruth/video-object-tracking"
    seq = json.loads((frames_dir / line["bounding-box-ref"]).read_text())
    frames = seq["tracking-annotations"]
    assert [f["frame-no"] for f in frames] == [0, 1]
    assert frames[0]["annotations"][0]["object-id"] == "1"
    assert frames[0]["annotations"][0]["object-name"] == "football:1"
    assert frames[1]["annotations"] == []

    from pigskin.formats import load

    ds = load(frames_dir / "output.video.manifest")
    assert [s.frame_index for s in ds] == [0, 1] and list(ds[0].detections.track_id) == [1]


def test_boxes_are_clipped_validated_and_given_default_attributes(frames_dir: Path):
    job = Job(LabelConfig(frames_dir))
    out = job.save(0, {"boxes": [box([-5, 1070, 20.3, 1100])]})
    (b,) = out["label"]["boxes"]
    assert b["xyxy"] == [0.0, 1070.0, 20.25, 1080.0] and b["attrs"] == {"occlusion": "none"}
    with pytest.raises(ValueError, match="occlusion='sometimes' is not one of"):
        job.save(0, {"boxes": [box(ball_box(0), occlusion="sometimes")]})
    with pytest.raises(ValueError, match="box 0: .*source must be one of"):
        job.save(0, {"boxes": [box(ball_box(0), source="guessed")]})
    with pytest.raises(ValueError, match="class_id 2 is not one of 0..0"):
        job.save(0, {"boxes": [box(ball_box(0), cls=2)]})
    assert job.store.labels[0].boxes[0].xyxy == (0.0, 1070.0, 20.25, 1080.0)  # rejected saves change nothing


def test_deleting_every_box_unlabels_the_frame(frames_dir: Path):
    job = Job(LabelConfig(frames_dir))
    job.save(0, {"boxes": [box(ball_box(0))]})
    job.save(0, {"boxes": [], "no_ball": False})
    assert read_manifest(frames_dir / "output.manifest") == []
    assert job.start == 0


def test_resume_opens_at_the_first_unlabelled_frame(frames_dir: Path):
    job = Job(LabelConfig(frames_dir))
    assert job.start == 0
    for i in (0, 1, 3):
        job.save(i, {"boxes": [box(ball_box(i))]})
    assert Job(LabelConfig(frames_dir)).start == 2
    job.save(2, {"boxes": [], "no_ball": True})
    job.save(4, {"boxes": [box(ball_box(4))]})
    again = Job(LabelConfig(frames_dir))
    assert again.start == 0 and len(again.store.labels) == 5  # all done: back to the start


def test_input_manifest_keys_pass_through_and_labels_are_kept(tmp_path: Path):
    paths = write_frames(tmp_path / "clip", 3)
    manifest = tmp_path / "frames.manifest"
    manifest.write_text(
        "".join(
            json.dumps(
                {"source-ref": f"clip/{p.name}", "video-id": "game7", "frame-index": 10 * k, "camera": "wide"}
            )
            + "\n"
            for k, p in enumerate(paths)
        )
    )
    job = Job(LabelConfig(manifest))
    assert [(f.video_id, f.frame_index) for f in job.frames] == [("game7", 0), ("game7", 10), ("game7", 20)]
    job.save(1, {"boxes": [box(ball_box(1))]})
    (line,) = read_manifest(tmp_path / "output.manifest")
    assert line["source-ref"] == "clip/play_000001.jpg"
    assert (line["camera"], line["video-id"], line["frame-index"]) == ("wide", "game7", 10)

    # an output manifest given as DATA starts with its labels
    relabel = Job(LabelConfig(tmp_path / "output.manifest", out=tmp_path / "second.manifest"))
    assert [f.name for f in relabel.frames] == ["play_000001.jpg"] and 0 in relabel.store.labels


def test_bad_manifest_line_names_file_and_line(tmp_path: Path):
    write_frames(tmp_path, 1)
    bad = tmp_path / "in.manifest"
    bad.write_text('{"source-ref": "play_000000.jpg"}\n{"source-ref": 3}\n')
    with pytest.raises(FormatError, match=r"in\.manifest: line 2: .*source-ref"):
        Job(LabelConfig(bad))
    (tmp_path / "empty").mkdir()
    with pytest.raises(PigskinError, match="no images"):
        Job(LabelConfig(tmp_path / "empty"))


def test_shards_are_disjoint_and_merge_back_in_input_order(tmp_path: Path):
    frames = tmp_path / "frames"
    write_frames(frames, 5)
    jobs = [Job(LabelConfig(frames, shard=(i, 2))) for i in range(2)]
    for j in jobs:
        j.store.lock()  # two labellers at once: each holds only its own shard's lock
    assert [f.name for f in jobs[0].frames] == ["play_000000.jpg", "play_000002.jpg", "play_000004.jpg"]
    assert [f.name for f in jobs[1].frames] == ["play_000001.jpg", "play_000003.jpg"]
    for j in jobs:
        for i, f in enumerate(j.frames):
            j.save(i, {"boxes": [box(ball_box(int(f.name[5:11])))]})
    assert [p.name for p in shard_files(frames / "output.manifest")] == [
        "output.shard-0-of-2.manifest",
        "output.shard-1-of-2.manifest",
    ]
    assert not (frames / "output.manifest").exists()
    for j in jobs:
        j.close()

    assert main(["label", str(frames), "--merge"]) == 0
    merged = read_manifest(frames / "output.manifest")
    assert [x["source-ref"] for x in merged] == [f"play_{k:06d}.jpg" for k in range(5)]
    assert len(read_manifest(frames / "output.video.manifest")) == 1  # the video layout, merged too

    # a frame labelled in two shards is a conflict, not a silent overwrite
    dup = tmp_path / "dup.manifest"
    dup.write_text((frames / "output.shard-0-of-2.manifest").read_text().splitlines()[0] + "\n")
    with pytest.raises(FormatError, match="also labelled in"):
        merge_shards([frames / "output.shard-0-of-2.manifest", dup], tmp_path / "m.manifest")


def test_one_writer_per_output_manifest(frames_dir: Path):
    first = Job(LabelConfig(frames_dir))
    first.store.lock()
    (frames_dir / ".output.manifest.x1y2.tmp").write_text("half a line")  # left by a killed session
    first.close()
    first.store.lock()
    assert not (frames_dir / ".output.manifest.x1y2.tmp").exists()
    second = LabelStore(first.frames, first.store.out, ["football"])
    with pytest.raises(PigskinError, match="another pigskin label session"):
        second.lock()
    first.close()
    second.lock()  # free again once the first session ends
    second.close()


def test_predictions_are_proposals_mapped_to_job_classes(tmp_path: Path):
    paths = write_frames(tmp_path / "frames", 3)
    pred = write_predictions(
        tmp_path / "pred.manifest", paths, {1: [(ball_box(1), 0.9), ([100, 100, 140, 130], 0.2)]}
    )
    job = Job(LabelConfig(tmp_path / "frames", model=pred, classes=["player", "football"], track=False))
    props = job.frame(1)["proposals"]
    assert props == [
        {"xyxy": ball_box(1), "class_id": 1, "score": 0.9, "origin": "model"}
    ]  # 0.2 < 0.3 hidden
    assert job.frame(0)["proposals"] == []
    assert job.summary()["proposals"] is True


def test_tracker_carries_the_ball_into_the_next_frame(frames_dir: Path):
    job = Job(LabelConfig(frames_dir))
    assert job.frame(1)["proposals"] == []  # nothing labelled before it
    job.save(0, {"boxes": [box(ball_box(0))]})
    (p,) = job.frame(1)["proposals"]
    assert p["origin"] == "tracker" and p["xyxy"] == pytest.approx(ball_box(0), abs=0.01)
    job.save(1, {"boxes": [box(ball_box(1))]})
    (p,) = job.frame(2)["proposals"]
    # with two sightings it extrapolates the throw: nearer frame 2's ball than frame 1's
    cx = (p["xyxy"][0] + p["xyxy"][2]) / 2
    assert abs(cx - (ball_box(2)[0] + 6)) < abs(cx - (ball_box(1)[0] + 6))
    job.save(2, {"boxes": [], "no_ball": True})  # hidden: the tracker coasts through it
    (p,) = job.frame(3)["proposals"]
    assert p["score"] == 0.5
    assert Job(LabelConfig(frames_dir, track=False)).frame(1)["proposals"] == []


def test_review_lists_only_disagreements_in_frame_order(tmp_path: Path):
    paths = write_frames(tmp_path / "frames", 5)
    job = Job(LabelConfig(tmp_path / "frames"))
    for i in range(4):
        job.save(i, {"boxes": [box(ball_box(i))]})
    job.save(4, {"boxes": [], "no_ball": True})
    job.close()
    shifted = [v + 30 for v in ball_box(2)]
    pred = write_predictions(
        tmp_path / "pred.manifest",
        paths,
        {
            0: [(ball_box(0), 0.9)],  # agrees
            1: [(ball_box(1), 0.9), ([50, 50, 70, 70], 0.8)],  # a false positive
            2: [(shifted, 0.9)],  # a miss and a false positive
            # 3: no prediction: a miss
            4: [([300, 300, 320, 316], 0.3)],  # below the review threshold: agrees with "no ball"
        },
    )
    review = Job(LabelConfig(tmp_path / "frames", review=pred))
    s = review.summary()
    assert s["review"] and s["start"] == 0
    assert [(f["index"], f["note"]) for f in s["frames"]] == [
        (1, "1 false positive"),
        (2, "1 miss, 1 false positive"),
        (3, "1 miss"),
    ]
    assert review.frame(2)["proposals"][0]["xyxy"] == shifted
    review.save(2, {"boxes": [box(shifted, "accepted", 0.9)]})  # fixing a label keeps every other frame
    assert len(read_manifest(tmp_path / "frames" / "output.manifest")) == 5


def test_pigskin_frames_output_is_labelled_play_by_play(tmp_path: Path):
    write_frames(tmp_path / "video", 6)
    assert main(["frames", str(tmp_path / "video"), "--out", str(tmp_path / "job"), "--every", "2"]) == 0
    job = Job(LabelConfig(tmp_path / "job"))
    assert [f.frame_index for f in job.frames] == [0, 2, 4]
    assert len({f.video_id for f in job.frames}) == 1
    job.save(0, {"boxes": [box(ball_box(0))]})
    assert job.frame(1)["proposals"][0]["origin"] == "tracker"  # the next sampled frame of the same play
    (line,) = read_manifest(tmp_path / "job" / "output.manifest")
    assert line["source-ref"].startswith("frames/") and line["pigskin-frame"]["frame"] == 0  # passed through
    job.store.flush()
    seq_line = read_manifest(tmp_path / "job" / "output.video.manifest")[0]
    seq = json.loads((tmp_path / "job" / seq_line["bounding-box-ref"]).read_text())
    assert seq["tracking-annotations"][0]["frame-no"] == 0


def test_pigskin_predict_lines_are_proposals(tmp_path: Path):
    paths = write_frames(tmp_path / "frames", 2)
    lines = [
        {
            "image": str(paths[0]),
            "width": W,
            "height": H,
            "detections": [
                {"box": ball_box(0), "class": "football", "class_id": 0, "confidence": 0.75},
                {"box": [5, 5, 50, 50], "class": "player", "class_id": 1, "confidence": 0.9},
            ],
        },
        {"image": "elsewhere/play_000001.jpg", "width": W, "height": H, "detections": []},
    ]
    pred = tmp_path / "pred.jsonl"
    pred.write_text("".join(json.dumps(x) + "\n" for x in lines))
    job = Job(LabelConfig(tmp_path / "frames", model=pred, track=False))
    assert job.frame(0)["proposals"] == [
        {"xyxy": ball_box(0), "class_id": 0, "score": 0.75, "origin": "model"}
    ]
    assert job.frame(1)["proposals"] == []
    pred.write_text('{"image": "a.jpg", "detections": [{"box": [1, 2]}]}\n')
    with pytest.raises(FormatError, match=r"pred\.jsonl: line 1: expected a `pigskin predict` line"):
        Job(LabelConfig(tmp_path / "frames", model=pred))
