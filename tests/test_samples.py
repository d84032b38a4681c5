import numpy as np
import pytest

from pigskin.detections import Detections
from pigskin.samples import Dataset, Sample, frame_run_groups


def _clip_dataset(n_videos=10, frames=6):
    samples = [
        Sample(f"v{v}/f{f}.jpg", 64, 48, Detections.empty(), video_id=f"v{v}", frame_index=f)
        for v in range(n_videos)
        for f in range(frames)
    ]
    return Dataset(["football"], samples)


def test_split_keeps_videos_whole():
    train, val = _clip_dataset().split(0.3, seed=1)
    assert len(train) + len(val) == 60
    assert {s.video_id for s in train}.isdisjoint({s.video_id for s in val})
    assert 12 <= len(val) <= 24


def test_split_is_deterministic_and_seeded():
    a = _clip_dataset().split(0.3, seed=1)[1]
    b = _clip_dataset().split(0.3, seed=1)[1]
    assert [s.image for s in a] == [s.image for s in b]
    with pytest.raises(ValueError, match="val_fraction"):
        _clip_dataset().split(1.5)


def test_frame_runs_group_consecutive_frames():
    names = ["frame_1_jpg.rf.aa.jpg", "frame_2_jpg.rf.bb.jpg", "frame_3.jpg", "frame_40.jpg", "frame_41.jpg"]
    ds = Dataset(["ball"], [Sample(n, 10, 10) for n in names])
    keys = frame_run_groups(ds.samples)
    assert keys[0] == keys[1] == keys[2]
    assert keys[3] == keys[4] != keys[0]
    train, val = ds.split(0.4, seed=0, group=keys)
    assert {s.image for s in val} in ({names[3], names[4]}, set(names[:3]))


def test_images_resolve_and_load(tiny_dataset, tmp_path):
    s = tiny_dataset[0]
    assert tiny_dataset.image_path(s) == tmp_path / s.image
    img = tiny_dataset.load_image(s)
    assert img.shape == (48, 64, 3) and img.dtype == np.uint8
    assert tiny_dataset.missing_images() == []
    gone = tiny_dataset.replace(samples=[Sample("images/nope.jpg", 4, 4)])
    assert len(gone.missing_images()) == 1


def test_s3_refs_need_an_image_root(tmp_path):
    ds = Dataset(["football"], [Sample("s3://bucket/a/b.jpg", 4, 4)])
    with pytest.raises(FileNotFoundError, match="image-root"):
        ds.image_path(ds[0])
    ds.image_root = tmp_path
    assert ds.image_path(ds[0]) == tmp_path / "a/b.jpg"


def test_sample_rejects_bad_size():
    with pytest.raises(ValueError, match="image size"):
        Sample("x.jpg", 0, 10)


def test_lookalikes_from_stills_and_clip_frame_attributes():
    rows = [{"xyxy": [1, 2, 5, 6], "kind": "flag"}, {"bbox": [0, 0, 3, 3], "label": "helmet"},
            {"xyxy": [5, 5, 5, 9]}, {"xyxy": "bad"}, {"xyxy": [1, 2, None, 4]}, "junk", {"kind": "x"}]
    still = Sample("a.jpg", 10, 10, attrs={"lookalikes": rows})
    clip = Sample("b.jpg", 10, 10, attrs={"frame-attributes": {"camera": "sideline", "lookalikes": rows}})
    want = [([1.0, 2.0, 5.0, 6.0], "flag"), ([0.0, 0.0, 3.0, 3.0], "helmet")]
    assert still.lookalikes() == want and clip.lookalikes() == want
    assert Sample("c.jpg", 10, 10).lookalikes() == []
    assert Sample("d.jpg", 10, 10, attrs={"lookalikes": "nope"}).lookalikes() == []


def test_merge_makes_image_paths_absolute_and_checks_classes(tmp_path):
    a = Dataset(["ball"], [Sample("images/a.jpg", 10, 10)], root=tmp_path / "one")
    two = [Sample("images/b.jpg", 10, 10), Sample("images/c.jpg", 10, 10)]
    b = Dataset(["ball"], two, root=tmp_path / "two")
    merged = Dataset.merge([a, b])
    assert merged.classes == ["ball"] and len(merged) == 3
    assert [merged.image_path(s) for s in merged] == [
        (tmp_path / "one/images/a.jpg").resolve(), (tmp_path / "two/images/b.jpg").resolve(),
        (tmp_path / "two/images/c.jpg").resolve()]
    with pytest.raises(ValueError, match="classes differ"):
        Dataset.merge([a, Dataset(["football"], [])])


def test_merge_keeps_clips_of_different_sets_apart(tmp_path):
    """Two rendered sets both hold clips/000000.mp4: after merging, a frame's predecessors (the past
    frames a multi-frame model is fed) must come from its own clip, not the other set's."""
    from pigskin.data.clips import frame_stacks

    def clip_set(name: str, extra: str | None = None) -> Dataset:
        frames = [Sample(f"frames/{name}{k}.jpg", 10, 10, video_id="clips/000000.mp4", frame_index=k)
                  for k in range(3)]
        if extra:
            frames.append(Sample(f"frames/{extra}.jpg", 10, 10, video_id=extra, frame_index=0))
        return Dataset(["ball"], frames, root=tmp_path / name)

    merged = Dataset.merge([clip_set("a", "only-a"), clip_set("b")])
    assert len({s.video_id for s in merged}) == 3
    assert merged.samples[3].video_id == "only-a"  # an id no other set uses stays as it was
    stacks = frame_stacks(merged, 3)
    assert stacks[2] == (0, 1, 2) and stacks[6] == (4, 5, 6)  # b's frame 2 sees b's frames 0 and 1
    with pytest.raises(ValueError, match="no datasets"):
        Dataset.merge([])
