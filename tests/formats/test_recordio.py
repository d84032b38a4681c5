"""RecordIO: framing (incl. magic-word splitting), byte-level compatibility with MXNet, random access
through the index, error reporting, and Dataset round trips."""

from __future__ import annotations

import io
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from pigskin.boxes import clip
from pigskin.detections import Detections
from pigskin.errors import FormatError, PigskinError
from pigskin.formats import load, recordio, save
from pigskin.samples import Dataset, Sample

MAGIC = 0xCED7230A
M = struct.pack("<I", MAGIC)
SIZES = [(64, 48), (33, 17), (128, 72)]


def jpeg_bytes(w: int, h: int, seed: int) -> bytes:
    arr = np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG")
    return buf.getvalue()


def raw_frames(data: bytes) -> list[tuple[int, bytes]]:
    """Scan framed bytes independently of pigskin: (cflag, part) per frame."""
    out, pos = [], 0
    while pos < len(data):
        magic, lrec = struct.unpack_from("<II", data, pos)
        assert magic == MAGIC
        n = lrec & ((1 << 29) - 1)
        out.append((lrec >> 29, data[pos + 8 : pos + 8 + n]))
        pos += 8 + ((n + 3) // 4) * 4
    return out


def write_raw(tmp: Path, payloads: list[bytes], name: str = "raw") -> Path:
    rec = tmp / f"{name}.rec"
    with open(rec, "wb") as frec, open(rec.with_suffix(".idx"), "w") as fidx:
        w = recordio.RecordWriter(frec, fidx)
        for key, p in enumerate(payloads):
            w.write(key, p)
    return rec


# -- framing ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "payload, cflags",
    [
        (b"", [0]),
        (b"abc", [0]),
        (M, [1, 3]),  # magic is the whole payload: empty start and end parts
        (M + b"xyz", [1, 3]),  # at the start
        (b"abcd" + M, [1, 3]),  # at the end: the end part is empty
        (b"abcd" + M + b"efgh" + M + M + b"ij", [1, 2, 2, 3]),  # several, two back to back
        (b"a" + M + b"bcdefgh", [0]),  # unaligned: not split
        (b"ab" + M + b"cd" + M, [1, 3]),  # one unaligned (offset 2), one aligned (offset 8)
    ],
)
def test_magic_at_aligned_offsets_is_split_and_rejoined(tmp_path, payload, cflags):
    framed = recordio.encode_record(payload)
    frames = raw_frames(framed)
    assert [c for c, _ in frames] == cflags
    assert M.join(part for _, part in frames) == payload
    assert len(framed) % 4 == 0
    if cflags == [0]:
        assert frames[0][1] == payload  # unaligned magic stays inside the single part
    rec = write_raw(tmp_path, [b"before", payload, b"after!!"])
    with recordio.RecordReader(rec) as r:
        assert [p for _, p in r] == [b"before", payload, b"after!!"]
    with open(rec, "rb") as f:
        assert [p for _, p in recordio.iter_records(f)] == [b"before", payload, b"after!!"]


def test_split_frames_match_dmlc_bytes_exactly():
    payload = b"abcd" + M + b"efghij"
    expected = (
        M + struct.pack("<I", 1 << 29 | 4) + b"abcd"
        + M + struct.pack("<I", 3 << 29 | 6) + b"efghij" + b"\0\0"
    )  # fmt: skip
    assert recordio.encode_record(payload) == expected


def test_image_containing_magic_reads_back(tmp_path):
    jpeg = jpeg_bytes(16, 16, 0)
    image = jpeg[:8] + M + jpeg[8:]  # 24-byte header + 9 floats = 60: the magic lands at aligned offset 68
    rec = tmp_path / "m.rec"
    with open(rec, "wb") as frec, open(rec.with_suffix(".idx"), "w") as fidx:
        label = np.array([4, 5, 16, 16, 0, 0.1, 0.1, 0.5, 0.5], np.float32)
        recordio.RecordWriter(frec, fidx).write(0, recordio.pack_image_record(label, image, id=0))
    assert [c for c, _ in raw_frames(rec.read_bytes())] == [1, 3]
    assert recordio.read_image_bytes(rec, "0") == image


def test_records_larger_than_the_read_hint(tmp_path):
    """Past 1 MiB a record is read header-first instead of in one go; both paths give the same bytes."""
    big = bytearray(np.random.default_rng(0).integers(0, 256, (1 << 20) + 999, dtype=np.uint8).tobytes())
    big[4096:4100] = M
    payloads = [bytes(big), b"small", bytes(big[:5000])]
    rec = write_raw(tmp_path, payloads)
    with recordio.RecordReader(rec) as r:
        assert [r.read(k) for k in ("1", "0", "2")] == [payloads[1], payloads[0], payloads[2]]


# -- byte-level golden check ----------------------------------------------------------------------------
def test_writer_bytes_equal_what_mxnet_writes(tmp_path):
    """Built by hand with struct, as im2rec --pack-label --pass-through + MXIndexedRecordIO would."""
    a, b = jpeg_bytes(64, 48, 1), jpeg_bytes(64, 48, 2)
    (tmp_path / "images").mkdir()
    (tmp_path / "images/a.jpg").write_bytes(a)
    (tmp_path / "images/b.jpg").write_bytes(b)
    ds = Dataset(
        ["ball", "player"],
        [
            Sample("images/a.jpg", 64, 48, Detections([[16, 12, 48, 36]], [1])),
            Sample("images/b.jpg", 64, 48),  # no boxes: one all -1 padding object
        ],
        root=tmp_path,
    )
    save(ds, tmp_path / "out/train.rec", "recordio")

    def mx_record(key: int, label: list[float], image: bytes) -> bytes:
        payload = (
            struct.pack("<IfQQ", len(label), 0.0, key, 0) + struct.pack(f"<{len(label)}f", *label) + image
        )
        assert M not in payload  # no magic, so a single frame (checked, not assumed)
        pad = b"\0" * (-len(payload) % 4)
        return struct.pack("<II", MAGIC, len(payload)) + payload + pad

    r0 = mx_record(0, [4, 5, 64, 48, 1, 0.25, 0.25, 0.75, 0.75], a)
    r1 = mx_record(1, [4, 5, 64, 48, -1, -1, -1, -1, -1], b)
    out = tmp_path / "out"
    assert (out / "train.rec").read_bytes() == r0 + r1
    assert (out / "train.idx").read_text() == f"0\t0\n1\t{len(r0)}\n"
    assert (out / "train.lst").read_text() == (
        "0\t4\t5\t64\t48\t1\t0.25\t0.25\t0.75\t0.75\t../images/a.jpg\n"
        "1\t4\t5\t64\t48\t-1\t-1\t-1\t-1\t-1\t../images/b.jpg\n"
    )
    # im2rec (read_list + --pack-label --pass-through) run on our .lst, root = its folder: same bytes
    rebuilt = b""
    for line in (out / "train.lst").read_text().splitlines():
        fields = [f.strip() for f in line.strip().split("\t")]
        labels = [float(v) for v in fields[1:-1]]
        rebuilt += mx_record(int(fields[0]), labels, (out / fields[-1]).read_bytes())
    assert rebuilt == r0 + r1
    assert sorted(p.name for p in out.iterdir()) == [
        "train.idx",
        "train.lst",
        "train.pigskin.json",
        "train.rec",
    ]


# -- round trips ----------------------------------------------------------------------------------------
def test_tiny_dataset_round_trip_and_image_bytes(tiny_dataset, tmp_path):
    rec = tmp_path / "packed" / "tiny.rec"
    save(tiny_dataset, rec, "recordio")
    back = load(rec, "recordio")
    # the fixture's box [30, 20, 62, 60] sticks out of its 64x48 frame: the reader clips and says so
    [problem] = back.meta["problems"]
    assert "key 2, object 1" in problem and "clipped" in problem
    expected = tiny_dataset.replace(
        samples=[s.replace(detections=s.detections.replace(xyxy=clip(s.detections.xyxy, 64, 48)))
                 for s in tiny_dataset]
    )  # fmt: skip
    assert back.equals(expected, atol=1e-3, images=False)
    for i, (orig, s) in enumerate(zip(tiny_dataset, back, strict=True)):
        assert s.image == f"{rec.resolve()}#{i}"
        assert back.image_bytes(s) == tiny_dataset.image_path(orig).read_bytes()
    assert back.load_image(back[2]).shape == (48, 64, 3)
    # the .lst alone, with images on disk, reads as the same dataset
    lst = load(rec.with_suffix(".lst"), "recordio")  # names are relative to the list's folder
    assert lst.equals(expected, atol=1e-3, images=False)
    assert [lst.image_path(s).resolve() for s in lst] == [tiny_dataset.image_path(s) for s in tiny_dataset]
    assert lst[0].image == "../images/frame_000.jpg"


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("rio_images")
    for i, (w, h) in enumerate(SIZES):
        (root / f"im{i}.jpg").write_bytes(jpeg_bytes(w, h, i))
    return root


@st.composite
def samples(draw, index: int) -> Sample:
    which = draw(st.integers(0, len(SIZES) - 1))
    w, h = SIZES[which]
    n = draw(st.integers(0, 40))
    unit = st.floats(0, 1, allow_nan=False)
    boxes = []
    for _ in range(n):
        x1, y1 = draw(unit) * (w - 1), draw(unit) * (h - 1)
        boxes.append([x1, y1, x1 + 0.5 + draw(unit) * (w - x1 - 0.5), y1 + 0.5 + draw(unit) * (h - y1 - 0.5)])
    cls = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    kw = {}
    if n and draw(st.booleans()):
        kw["confidence"] = draw(st.lists(st.floats(0, 1, width=32), min_size=n, max_size=n))
    if n and draw(st.booleans()):
        kw["track_id"] = draw(st.lists(st.integers(0, 10**6), min_size=n, max_size=n))
    attrs = {}
    if n and draw(st.booleans()):
        attrs["difficult"] = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    if n and draw(st.booleans()):
        attrs["occluded"] = draw(st.lists(st.sampled_from([True, False, None]), min_size=n, max_size=n))
        if all(v is None for v in attrs["occluded"]):
            attrs["occluded"][0] = True  # all-None means "absent" (see docs/recordio.md)
    det = Detections(np.array(boxes, np.float32).reshape(-1, 4), cls, attrs=attrs, **kw)
    video = draw(st.sampled_from([None, "game1", "game2"]))
    return Sample(
        f"im{which}.jpg",
        w,
        h,
        det,
        video_id=video,
        frame_index=index if video else None,
        attrs=draw(st.sampled_from([{}, {"weather": "snow"}])),
    )


@settings(max_examples=25, deadline=None)
@given(data=st.data(), n=st.integers(0, 6), pad_empty=st.booleans())
def test_hypothesis_round_trip(image_dir, data, n, pad_empty):
    ds = Dataset(["ball", "player", "ref", "flag"], [data.draw(samples(i)) for i in range(n)], root=image_dir)
    with tempfile.TemporaryDirectory() as tmp:
        rec = Path(tmp) / "rt.rec"
        recordio.write(ds, rec, pad_empty=pad_empty)
        back = recordio.read(rec)
        assert back.meta["problems"] == []
        assert back.equals(ds, atol=1e-3, images=False)
        for orig, s in zip(ds, back, strict=True):
            assert np.abs(s.detections.xyxy - orig.detections.xyxy).max(initial=0) < 1e-3
            assert back.image_bytes(s) == (image_dir / orig.image).read_bytes()
        lst = recordio.read(rec.with_suffix(".lst"))
        assert lst.equals(ds, atol=1e-3, images=False)
        assert all(lst.image_path(s).resolve() == image_dir / o.image for s, o in zip(lst, ds, strict=True))


def test_rewrite_in_place_is_seen_by_cached_reader(tmp_path):
    for seed in (1, 2):
        (tmp_path / "a.jpg").write_bytes(jpeg_bytes(20, 10, seed))
        ds = Dataset(["ball"], [Sample("a.jpg", 20, 10)], root=tmp_path)
        recordio.write(ds, tmp_path / "x.rec")
        assert recordio.read_image_bytes(tmp_path / "x.rec", "0") == jpeg_bytes(20, 10, seed)


# -- random access --------------------------------------------------------------------------------------
def test_reads_by_key_touch_only_that_record(tmp_path):
    payloads = [bytes([i]) * (100 + 7 * i) for i in range(6)]
    rec = write_raw(tmp_path, payloads)
    index = recordio.read_index(rec.with_suffix(".idx"))
    start, end = index["3"], index["4"]
    data = bytearray(rec.read_bytes())
    data[:start] = bytes(start)  # zero every other record: a scan would hit a bad magic at offset 0
    data[end:] = b"\xff" * (len(data) - end)
    rec.write_bytes(bytes(data))
    with recordio.RecordReader(rec) as r:
        assert r.read(3) == payloads[3]
        with pytest.raises(FormatError, match=r"key 1: bad magic 0x00000000"):
            r.read("1")
    with open(rec, "rb") as f, pytest.raises(FormatError, match="at offset 0: bad magic"):
        next(recordio.iter_records(f, path=rec))


# -- errors ---------------------------------------------------------------------------------------------
@pytest.fixture
def packed(tiny_dataset, tmp_path) -> Path:
    rec = tmp_path / "p.rec"
    recordio.write(tiny_dataset, rec)
    return rec


def test_truncated_rec_names_file_and_key(packed):
    idx = recordio.read_index(packed.with_suffix(".idx"))
    data = packed.read_bytes()
    packed.write_bytes(data[: idx["3"] + 40])
    with pytest.raises(FormatError, match=r"p\.rec: key 3: truncated") as e:
        recordio.read(packed)
    assert e.value.path == str(packed.resolve())


def test_idx_entry_past_end(packed):
    with open(packed.with_suffix(".idx"), "a") as f:
        f.write(f"9\t{packed.stat().st_size + 100}\n")
    with pytest.raises(FormatError, match=r"p\.idx: key 9: offset \d+ is past the end of p\.rec"):
        recordio.read(packed)


def test_bad_magic_at_index_offset(packed):
    idx = packed.with_suffix(".idx")
    lines = idx.read_text().splitlines()
    key, off = lines[2].split("\t")
    lines[2] = f"{key}\t{int(off) + 4}"
    idx.write_text("\n".join(lines) + "\n")
    with pytest.raises(FormatError, match=r"p\.rec: key 2: bad magic"):
        recordio.read(packed)


@pytest.mark.parametrize(
    "text, match",
    [("0\t0\n1 16\n", "line 2: expected 'key<TAB>offset'"), ("0\t0\n1\t-5\n", "line 2: key 1: offset"),
     ("0\t0\n0\t0\n", "line 2: key 0 appears twice")],
)  # fmt: skip
def test_malformed_idx_line(packed, text, match):
    packed.with_suffix(".idx").write_text(text)
    with pytest.raises(FormatError, match=match):
        recordio.read(packed)


def test_dangling_references(packed):
    """Like a missing image file (FileNotFoundError), a missing key is a KeyError, and a FormatError."""
    with pytest.raises(KeyError, match=r"p\.idx: key 99: no such key") as e:
        recordio.read_image_bytes(packed, "99")
    assert isinstance(e.value, FormatError)
    with pytest.raises(FileNotFoundError):
        recordio.read_image_bytes(packed.with_name("gone.rec"), "0")


def test_missing_idx(packed):
    packed.with_suffix(".idx").unlink()
    with pytest.raises(FormatError, match="no index file p.idx"):
        recordio.read(packed)
    assert not recordio.sniff(packed)


@pytest.mark.parametrize(
    "label, match",
    [
        ([1, 5, 0, 0.1, 0.1, 0.2, 0.2], "header width A=1"),
        ([2, 4, 0, 0.1, 0.1, 0.2], "object width B=4"),
        ([4, 5, 16, 16, 0, 0.1, 0.1, 0.2], "label length 8 does not fit header 4"),
        ([4, 5, 16, 16, 0.5, 0.1, 0.1, 0.2, 0.2], "object 0: class id 0.5"),
        (7.0, "scalar label 7"),
    ],
)
def test_bad_labels_name_record(tmp_path, label, match):
    image = jpeg_bytes(16, 16, 0)
    good = recordio.pack_image_record([4, 5, 16, 16, 0, 0.1, 0.1, 0.2, 0.2], image, id=0)
    rec = write_raw(tmp_path, [good, recordio.pack_image_record(label, image, id=1)])
    with pytest.raises(FormatError, match=f"raw.rec: key 1[:,] .*{match}"):
        recordio.read(rec)


# -- records written by other tools ---------------------------------------------------------------------
def test_foreign_layouts_without_sidecar(tmp_path):
    """No sidecar; A=2 (size from the JPEG header), B=6 (VOC difficult), B=7 (unnamed), padding rows."""
    im = jpeg_bytes(40, 20, 3)
    rec = write_raw(
        tmp_path,
        [
            recordio.pack_image_record([2, 6, 2, 0.25, 0.5, 0.75, 1.0, 1, -1, -1, -1, -1, -1, -1], im, id=0),
            recordio.pack_image_record([4, 7, 40, 20, 0, 0.5, 0.5, 1.0, 1.0, 0, 9], im, id=1),
        ],
    )
    ds = recordio.read(rec)
    assert ds.classes == ["class_0", "class_1", "class_2"]
    s0, s1 = ds.samples
    assert (s0.width, s0.height) == (40, 20)
    assert s0.detections.equals(Detections([[10, 10, 30, 20]], [2], attrs={"difficult": [1]}))
    assert s1.detections.equals(Detections([[20, 10, 40, 20]], [0]))
    assert any("[7] values" in p and "ignored" in p for p in ds.meta["problems"])
    assert ds.meta["recordio"]["layouts"] == [[2, 6], [4, 7]]


def test_im2rec_list_with_images_on_disk(tmp_path):
    """A .lst as im2rec's write_list prints it ('%f' labels), A=2 so the size comes from the image file."""
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs/a.jpg").write_bytes(jpeg_bytes(40, 20, 0))
    label = [2, 5, 0, 0.25, 0.5, 0.75, 1.0]
    lst = tmp_path / "lists/train.lst"
    lst.parent.mkdir()
    lst.write_text("0\t" + "".join(f"{v:f}\t" for v in label) + "a.jpg\n")
    assert recordio.sniff(lst)
    ds = recordio.read(lst, image_root=tmp_path / "imgs")
    assert (ds[0].width, ds[0].height) == (40, 20)
    assert ds[0].detections.equals(Detections([[10, 10, 30, 20]], [0]))
    assert ds.image_path(ds[0]) == tmp_path / "imgs/a.jpg"
    lst.write_text("0\t2\t5\tx\t0\t0\t1\t1\ta.jpg\n")
    with pytest.raises(FormatError, match=r"train\.lst: line 1: .*labels numbers"):
        recordio.read(lst, image_root=tmp_path / "imgs")


def test_boxes_outside_image_clip_or_raise(tmp_path):
    im = jpeg_bytes(16, 16, 0)
    rec = write_raw(tmp_path, [recordio.pack_image_record([4, 5, 16, 16, 0, -0.25, 0.0, 0.5, 1.5], im)])
    ds = recordio.read(rec)
    assert ds[0].detections.xyxy.tolist() == [[0, 0, 8, 16]]
    assert "key 0, object 0" in ds.meta["problems"][0] and "clipped" in ds.meta["problems"][0]
    with pytest.raises(FormatError, match="key 0, object 0: box .* outside the 16x16 image"):
        recordio.read(rec, strict=True)


def test_sniff(packed, tmp_path):
    assert recordio.sniff(packed) and recordio.sniff(packed.with_suffix(".idx"))
    assert recordio.sniff(packed.with_suffix(".lst"))
    (tmp_path / "notes.lst").write_text("just some words\n")
    assert not recordio.sniff(tmp_path / "notes.lst")
    assert not recordio.sniff(tmp_path)


def test_failed_write_leaves_nothing(tmp_path):
    ds = Dataset(["ball"], [Sample("missing.jpg", 10, 10)], root=tmp_path)
    with pytest.raises(PigskinError, match="missing.jpg"):
        recordio.write(ds, tmp_path / "out" / "x.rec")
    assert list((tmp_path / "out").iterdir()) == []


def test_string_box_attrs_are_dropped_with_a_warning(tmp_path, caplog):
    (tmp_path / "a.jpg").write_bytes(jpeg_bytes(20, 10, 0))
    det = Detections([[1, 1, 5, 5]], [0], attrs={"labeler": ["ann"], "difficult": [1]})
    recordio.write(Dataset(["ball"], [Sample("a.jpg", 20, 10, det)], root=tmp_path), tmp_path / "x.rec")
    assert "'labeler' is not numeric" in caplog.text
    assert recordio.read(tmp_path / "x.rec")[0].detections.equals(det.replace(attrs={"difficult": [1]}))
