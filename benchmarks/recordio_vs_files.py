"""RecordIO vs loose JPEG files: pack time, then random reads by key (raw bytes and decoded).

    python benchmarks/recordio_vs_files.py            # 5,000 images of 320x180, 1,000 random reads
    python benchmarks/recordio_vs_files.py --n 500 --reads 200

Both sides are read warm-cache (dropping the OS page cache needs root): every file and the whole
``.rec`` are read once before timing, so the comparison is per-read overhead (open/close of one
file per image vs one ``pread`` at an indexed offset in one open file), not disk speed. Decoding
uses the same PIL call on bytes for both sides, so the decoded ratio shows how much of a training
loader's time the container format can save.
"""

from __future__ import annotations

import argparse
import io
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from pigskin.detections import Detections
from pigskin.formats import recordio
from pigskin.samples import Dataset, Sample


def make_images(folder: Path, n: int, width: int, height: int, seed: int) -> list[str]:
    """Noisy colour gradients: about 19 KB per JPEG at 320x180, like a broadcast thumbnail."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 255, width, dtype=np.float32)[None, :, None]
    names = []
    for i in range(n):
        base = ramp * rng.uniform(0.3, 1.0, 3)[None, None, :]
        noise = rng.normal(0, 10, (height, width, 3))
        arr = np.clip(base + noise, 0, 255).astype(np.uint8)
        name = f"img_{i:05d}.jpg"
        Image.fromarray(arr).save(folder / name, quality=90)
        names.append(name)
    return names


def decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


def read_file(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def median_rate(fn, items: list, repeats: int) -> float:
    """Images/second: the median of ``repeats`` passes (the machine is shared; medians are steadier)."""
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for it in items:
            fn(it)
        rates.append(len(items) / (time.perf_counter() - t0))
    return statistics.median(rates)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5000, help="images to generate and pack")
    ap.add_argument("--reads", type=int, default=1000, help="random records read per pass")
    ap.add_argument("--size", default="320x180", help="image size WxH")
    ap.add_argument("--repeats", type=int, default=5, help="timed passes per method (median reported)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", type=Path, default=None, help="keep files here instead of a temp dir")
    args = ap.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))

    work = args.workdir or Path(tempfile.mkdtemp(prefix="pigskin-recbench-"))
    images = work / "images"
    images.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        names = make_images(images, args.n, width, height, args.seed)
        gen_s = time.perf_counter() - t0
        rng = random.Random(args.seed)
        samples = []
        for name in names:
            x, y = rng.uniform(0, width - 20), rng.uniform(0, height - 20)
            samples.append(Sample(name, width, height, Detections([[x, y, x + 12, y + 9]], [0])))
        ds = Dataset(["football"], samples, root=images)

        rec = work / "packed" / "train.rec"
        t0 = time.perf_counter()
        recordio.write(ds, rec)
        pack_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        loaded = recordio.read(rec)
        load_s = time.perf_counter() - t0
        assert len(loaded) == args.n

        keys = rng.sample(range(args.n), min(args.reads, args.n))
        paths = [images / names[k] for k in keys]
        # warm both sides equally: every loose file and the whole .rec through the page cache
        for p in images.iterdir():
            read_file(p)
        read_file(rec)
        t0 = time.perf_counter()
        recordio.cached_reader(rec)  # opens the file and parses the .idx once per process
        index_ms = (time.perf_counter() - t0) * 1e3
        for k, p in zip(keys[:20], paths[:20], strict=True):  # same bytes either way
            assert recordio.read_image_bytes(rec, str(k)) == read_file(p)

        order = [images / n for n in names]
        raw = lambda k: recordio.read_image_bytes(rec, str(k))  # noqa: E731 - the same call in every row
        cases = [  # (what, RecordIO read, its items, file read, its items)
            ("random, raw bytes", raw, keys, read_file, paths),
            (
                "random, + PIL decode",
                lambda k: decode(raw(k)),
                keys,
                lambda p: decode(read_file(p)),
                paths,
            ),
            (f"in order, all {args.n}, raw", raw, range(args.n), read_file, order),
        ]
        rows = []
        for what, rec_fn, rec_items, file_fn, file_items in cases:
            rec_rate = median_rate(rec_fn, rec_items, args.repeats)
            file_rate = median_rate(file_fn, file_items, args.repeats)
            rows.append((what, rec_rate, file_rate))

        files_mb = sum(p.stat().st_size for p in images.iterdir()) / 1e6
        rec_mb = rec.stat().st_size / 1e6
        print(
            f"{args.n} JPEGs of {width}x{height} ({files_mb:.1f} MB as files, {rec_mb:.1f} MB as .rec); "
            f"{len(keys)} random reads, {args.repeats} passes per row (median), warm page cache"
        )
        print(
            f"generate {gen_s:.1f} s | pack with pigskin {pack_s:.2f} s ({args.n / pack_s:,.0f} img/s) | "
            f"recordio.read of all labels {load_s:.2f} s | open + parse .idx {index_ms:.1f} ms"
        )
        print()
        head = ("read", "RecordIO img/s", "loose files img/s", "RecordIO / files")
        print(f"| {head[0]:<24} | {head[1]:>14} | {head[2]:>17} | {head[3]:>16} |")
        print(f"|{'-' * 26}|{'-' * 16}|{'-' * 19}|{'-' * 18}|")
        for what, r, f in rows:
            print(f"| {what:<24} | {r:>14,.0f} | {f:>17,.0f} | {r / f:>15.2f}x |")
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
