"""Video-frame tracking output: the manifest line, its SeqLabel.json, and write_seqlabel."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from pigskin.detections import Detections
from pigskin.formats import load, save
from pigskin.formats.groundtruth import read_seqlabel, write_seqlabel
from pigskin.samples import Dataset, Sample

SEQ_KEY = "output/labeling-job-name/annotations/consolidated-annotation/output/0/SeqLabel.json"
# sms-data-output.md, "Video Frame Object Tracking Output" (frame attributes filled in)
SEQLABEL = {
    "tracking-annotations": [
        {
            "annotations": [
                {
                    "height": 36,
                    "width": 46,
                    "top": 178,
                    "left": 315,
                    "class-id": "0",
                    "label-category-attributes": {"occluded": "no"},
                    "object-id": "480dc450-c0ca-11ea-961f-a9b1c5c97972",
                    "object-name": "car:1",
                }
            ],
            "frame-no": "0",
            "frame": "frame_0001.jpeg",
            "frame-attributes": {},
        },
        {
            "annotations": [
                {
                    "height": 30,
                    "width": 47,
                    "top": 163,
                    "left": 344,
                    "class-id": "1",
                    "label-category-attributes": {"occluded": "no", "size": "medium"},
                    "object-id": "98f2b0b0-c0ca-11ea-961f-a9b1c5c97972",
                    "object-name": "bus:1",
                },
                {
                    "height": 28,
                    "width": 33,
                    "top": 150,
                    "left": 192,
                    "class-id": "0",
                    "label-category-attributes": {"occluded": "partially"},
                    "object-id": "480dc450-c0ca-11ea-961f-a9b1c5c97972",
                    "object-name": "car:1",
                },
            ],
            "frame-no": "1",
            "frame": "frame_0002.jpeg",
            "frame-attributes": {"weather": "rain"},
        },
    ]
}
LINE = {
    "source-ref": "s3://DOC-EXAMPLE-BUCKET/example-path/input-manifest.json",
    "CarObjectTracking-ref": f"s3://AWSDOC-EXAMPLE-BUCKET/{SEQ_KEY}",
    "CarObjectTracking-ref-metadata": {
        "class-map": {"0": "car", "1": "bus"},
        "job-name": "labeling-job/labeling-job-name",
        "human-annotated": "yes",
        "creation-date": "2021-09-29T05:50:35.566000",
        "type": "groundtruth/video-object-tracking",
    },
}


def _aws_layout(tmp_path: Path) -> Path:
    """A local mirror of the bucket: SeqLabel.json with its two 640x360 frames beside it."""
    seq = tmp_path / "mirror" / SEQ_KEY
    seq.parent.mkdir(parents=True)
    seq.write_text(json.dumps(SEQLABEL, indent=2))
    for name in ("frame_0001.jpeg", "frame_0002.jpeg"):
        Image.new("RGB", (640, 360)).save(seq.parent / name)
    manifest = tmp_path / "output.manifest"
    manifest.write_text(json.dumps(LINE) + "\n")
    return manifest


def test_tracking_manifest_reads_frames_with_tracks(tmp_path):
    ds = load(_aws_layout(tmp_path), image_root=tmp_path / "mirror")
    assert ds.classes == ["car", "bus"]
    assert [s.frame_index for s in ds] == [0, 1]
    assert {s.video_id for s in ds} == {LINE["source-ref"]}
    assert (ds[0].width, ds[0].height) == (640, 360)  # from the frame image's header
    assert ds.image_path(ds[1]).resolve() == (tmp_path / "mirror" / SEQ_KEY).parent / "frame_0002.jpeg"
    f0, f1 = ds[0].detections, ds[1].detections
    np.testing.assert_array_equal(f0.xyxy, [[315, 178, 361, 214]])
    np.testing.assert_array_equal(f1.xyxy, [[344, 163, 391, 193], [192, 150, 225, 178]])
    assert f1.class_id.tolist() == [1, 0]
    assert f0.track_id[0] == f1.track_id[1] != f1.track_id[0]  # the car keeps its object-id
    assert f1.attrs["occluded"].tolist() == ["no", "partially"]
    assert f1.attrs["object-id"][0] == "98f2b0b0-c0ca-11ea-961f-a9b1c5c97972"
    assert ds[1].attrs == {"frame-attributes": {"weather": "rain"}}


def test_tracking_manifest_round_trip(tmp_path):
    ds = load(_aws_layout(tmp_path), image_root=tmp_path / "mirror")
    out = tmp_path / "again" / "out.manifest"
    save(ds, out, "groundtruth")
    line = json.loads(out.read_text())
    assert line["source-ref"] == LINE["source-ref"]
    assert line["CarObjectTracking-ref-metadata"] == LINE["CarObjectTracking-ref-metadata"]
    back = load(out, image_root=tmp_path / "mirror")
    assert back.equals(ds, images=False)
    assert [back.image_path(s).resolve() for s in back] == [ds.image_path(s).resolve() for s in ds]
    written = json.loads((tmp_path / "again" / line["CarObjectTracking-ref"]).read_text())
    for mine, theirs in zip(written["tracking-annotations"], SEQLABEL["tracking-annotations"], strict=True):
        assert {k: v for k, v in mine.items() if k != "frame"} == {
            k: v for k, v in theirs.items() if k != "frame"
        }


def test_read_seqlabel_alone_names_classes_from_object_names(tmp_path):
    seq = tmp_path / "SeqLabel.json"
    seq.write_text(json.dumps(SEQLABEL))
    ds = read_seqlabel(seq, image_size=(1280, 720))
    assert ds.classes == ["car", "bus"]
    assert [s.image for s in ds] == ["frame_0001.jpeg", "frame_0002.jpeg"]
    assert (ds[0].width, ds[0].height) == (1280, 720)


def test_write_seqlabel_round_trip_for_tracker_output(tmp_path):
    """What the tracker and the clip generator write: integer track ids, no AWS object ids."""
    frames = []
    for i in range(4):
        Image.new("RGB", (96, 64)).save(tmp_path / f"f{i:03d}.jpg")
        xyxy = np.array([[10 + i, 20, 18.5 + i, 27.25], [50, 5, 60, 15]], np.float32)[: 1 + i % 2]
        det = Detections(xyxy, np.zeros(len(xyxy), np.int64), track_id=[7, 9][: len(xyxy)])
        frames.append(Sample(f"f{i:03d}.jpg", 96, 64, det, video_id="clip", frame_index=10 + i))
    no_ball = Detections.empty().replace(track_id=np.zeros(0, np.int64))  # a tracking file's empty frame
    frames.append(Sample("f000.jpg", 96, 64, no_ball, video_id="clip", frame_index=14))
    write_seqlabel(frames, tmp_path / "SeqLabel.json", ["football"], root=tmp_path)
    doc = json.loads((tmp_path / "SeqLabel.json").read_text())
    first = doc["tracking-annotations"][0]
    assert first["annotations"][0]["object-id"] == "7"
    assert first["annotations"][0]["object-name"] == "football:7"
    assert first["frame"] == "f000.jpg" and first["frame-no"] == 10
    back = read_seqlabel(tmp_path / "SeqLabel.json", ["football"], video_id="clip")
    assert back.equals(Dataset(["football"], frames))


def test_manifest_writer_handles_video_and_image_samples_together(tmp_path):
    for name in ("a.jpg", "v0.jpg", "v1.jpg"):
        Image.new("RGB", (32, 24)).save(tmp_path / name)
    box = Detections(np.array([[1, 2, 5, 6]], np.float32), [0])
    tracked = box.replace(track_id=np.array([3]))
    ds = Dataset(
        ["ball"],
        [
            Sample("a.jpg", 32, 24, box),
            Sample("v0.jpg", 32, 24, tracked, video_id="game1/drive3", frame_index=0),
            Sample(
                "v1.jpg",
                32,
                24,
                Detections.empty().replace(track_id=np.zeros(0, np.int64)),
                video_id="game1/drive3",
                frame_index=1,
            ),
        ],
        root=tmp_path,
    )
    save(ds, tmp_path / "out" / "all.manifest", "groundtruth")
    lines = [json.loads(x) for x in (tmp_path / "out" / "all.manifest").read_text().splitlines()]
    assert [sorted(x) for x in lines] == [
        ["bounding-box", "bounding-box-metadata", "source-ref"],
        ["bounding-box-ref", "bounding-box-ref-metadata", "source-ref"],
    ]
    assert lines[1]["bounding-box-ref-metadata"]["type"] == "groundtruth/video-object-tracking"
    back = load(tmp_path / "out" / "all.manifest")
    assert back.equals(ds, images=False)
    assert [back.image_path(s).resolve() for s in back] == [
        tmp_path / n for n in ("a.jpg", "v0.jpg", "v1.jpg")
    ]
