"""Tracking accuracy on clips with exact per-frame truth: point recall and precision, track losses
and re-acquisitions, and how close the predictions are while the ball is hidden.

    python benchmarks/track_accuracy.py --clips DIR [--model model.tar.gz] [--no-window]
    python benchmarks/track_accuracy.py --demo 10 [--demo-dir DIR]   # draws 10 demo clips first

``--clips DIR`` reads every ``DIR/**/<name>.mp4`` (or .mkv/.mov) that has a truth file beside it,
``<name>.truth.jsonl`` (or ``<name>.jsonl``), one JSON object per frame: ``{"frame": 0, "cx": 641.2,
"cy": 300.5, "visible": true}`` (see ``pigskin.track.metrics.load_truth``; a ``"camera"`` key on the
first line, e.g. ``"sideline"``/``"endzone"``, is shown in the table). The synthetic clip renderer
(``pigskin.synth``) is meant to write this layout; ``--demo`` uses ``pigskin.synth.demo_clip`` clips,
which are much easier (one camera, no perspective, no blur), for a run without synthetic clips.

Metrics (``pigskin.track.metrics``): recall = visible frames with a reported position within
10 px (``det`` column: only frames marked detected); precision = detected rows within 10 px of a
visible ball; losses / re-acquisitions = track ends and restarts; hidden<=20 = share of frames
with the ball hidden inside the picture whose position (online prediction, and after offline
smoothing) is within 20 px; ``seen`` counts only the hidden frames after the track's first
detection (before it, no tracker can know where the ball is). The blob detector is used unless
``--model`` is given.

``--ceiling`` (implies ``--no-window``) also says what the detector alone finds, frame by frame on
the whole frame, with no tracker: the share of visible balls with a detection at or above the
threshold within 10 px (``any``), and with the frame's best detection on the ball (``top1``, the
candidate a tracker would start on). Tracking recall far below ``any`` is the tracker's loss; at
``any``, the detector's.

``--oracle RECALL`` measures the tracker alone on the clips' motion (camera pans, passes, carries,
occlusions) with a simulated detector of known quality instead of a real one: the true box of a
visible ball with probability RECALL, its centre jittered by ``--jitter`` px, plus
``--false-positives`` random boxes per frame (Poisson) with lower scores. It honours the search
window like a real detector. It says how good the tracking half is, not the detector.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from pathlib import Path

import numpy as np

from pigskin import runtime

runtime.prepare()  # as pigskin track does, before torch starts

from pigskin.detections import Detections  # noqa: E402
from pigskin.track.detectors import model_detector  # noqa: E402
from pigskin.track.metrics import TrackMetrics, clip_pairs, load_truth, track_metrics  # noqa: E402
from pigskin.track.offline import smooth  # noqa: E402
from pigskin.track.pipeline import PipelineConfig, track_video  # noqa: E402
from pigskin.track.simple import BlobDetector  # noqa: E402
from pigskin.track.tracker import TrackerConfig  # noqa: E402


class OracleDetector:
    """Detections made from the truth (see the module docstring); one call per frame, in order."""

    def __init__(self, truth: list[dict], recall: float, jitter: float, false_positives: float, seed: int):
        self.truth, self.recall, self.jitter, self.fp = truth, recall, jitter, false_positives
        self.rng = np.random.default_rng(seed)
        self.frame = 0

    def __call__(self, image: np.ndarray, window=None) -> Detections:
        h, w = image.shape[:2]
        t = self.truth[min(self.frame, len(self.truth) - 1)]
        self.frame += 1
        boxes, scores = [], []
        if t["visible"] and self.rng.random() < self.recall:
            bw, bh = (t["box"][2] - t["box"][0], t["box"][3] - t["box"][1]) if t.get("box") else (10.0, 10.0)
            cx, cy = np.array([t["cx"], t["cy"]]) + self.rng.normal(0, self.jitter, 2)
            boxes.append([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2])
            scores.append(self.rng.uniform(0.5, 0.95))
        for _ in range(self.rng.poisson(self.fp)):
            x, y = self.rng.uniform(0, w - 10), self.rng.uniform(0, h - 10)
            boxes.append([x, y, x + 10, y + 8])
            scores.append(self.rng.uniform(0.2, 0.6))
        d = Detections(np.array(boxes, np.float32).reshape(-1, 4), confidence=np.array(scores, np.float32))
        if window is not None and len(d):
            c = d.centers
            x1, y1, x2, y2 = window
            d = d[(c[:, 0] >= x1) & (c[:, 0] < x2) & (c[:, 1] >= y1) & (c[:, 1] < y2)]
        return d


class Recorder:
    """The detector, keeping what it found on each whole frame (``--ceiling``)."""

    def __init__(self, detector) -> None:
        self.detector = detector
        self.frames: list[Detections] = []

    def __getattr__(self, name: str):
        return getattr(self.detector, name)

    def __call__(self, image: np.ndarray, window=None) -> Detections:
        found = self.detector(image, window)
        if window is None:
            self.frames.append(found)
        return found


def ceiling(frames: list[Detections], truth: list[dict], threshold: float, width: int, height: int,
            radius: float = 10.0) -> tuple[int, int, int]:
    """Visible balls in the picture, those with a detection >= ``threshold`` within ``radius`` px, and
    those where the frame's best detection is the ball."""
    visible = anywhere = best = 0
    for t, d in zip(truth, frames, strict=False):
        if not t.get("visible") or not (0 <= t["cx"] < width and 0 <= t["cy"] < height):
            continue
        visible += 1
        d = d[d.confidence >= threshold]
        if not len(d):
            continue
        dist = np.hypot(*(d.centers - np.array([t["cx"], t["cy"]])).T)
        anywhere += bool(np.any(dist <= radius))
        best += bool(dist[int(np.argmax(d.confidence))] <= radius)
    return visible, anywhere, best


def tracker_config(pairs: list[str]) -> TrackerConfig:
    """A TrackerConfig with ``key=value`` overrides (values typed like the defaults)."""
    changes = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if key not in TrackerConfig.__dataclass_fields__:
            raise SystemExit(f"--tracker: no TrackerConfig field {key!r}")
        default = getattr(TrackerConfig(), key)
        changes[key] = type(default)(value)
    if changes:
        print("tracker: " + ", ".join(f"{k}={v}" for k, v in changes.items()))
    return TrackerConfig(**changes)


def truth_rows(path: Path) -> list[dict]:
    """Raw truth lines (with the optional ``box``), in frame order."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return sorted(rows, key=lambda r: r["frame"])


def make_demo(root: Path, n: int) -> list[tuple[Path, Path]]:
    from pigskin.synth.demo_clip import DemoConfig, write_demo_clip

    pairs = []
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        video = root / f"demo_{i:02d}.mp4"
        truth = write_demo_clip(video, DemoConfig(width=1280, height=720, frames=240, occlusions=4,
                                                  lookalike=i % 2 == 1, seed=100 + i))
        path = root / f"demo_{i:02d}.truth.jsonl"
        path.write_text("".join(json.dumps(t | {"camera": "demo"}) + "\n" for t in truth))
        pairs.append((video, path))
    return pairs


def fmt(x: float) -> str:
    return "   -" if math.isnan(x) else f"{100 * x:4.0f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--clips", type=Path, help="folder of clips with <name>.truth.jsonl beside each")
    src.add_argument("--demo", type=int, help="draw this many demo clips and use them")
    ap.add_argument("--demo-dir", type=Path, help="keep the drawn demo clips here (reuse them with --clips)")
    ap.add_argument("--model", help="trained model.tar.gz instead of the blob detector")
    ap.add_argument("--oracle", type=float, metavar="RECALL", help="simulated detector from the truth")
    ap.add_argument("--jitter", type=float, default=1.5, help="oracle centre noise (px)")
    ap.add_argument("--false-positives", type=float, default=0.3, help="oracle false boxes per frame")
    ap.add_argument("--no-window", action="store_true", help="search the whole frame on every frame")
    ap.add_argument("--lost-every", type=int, default=PipelineConfig.lost_every,
                    help="whole-frame search every N frames while there is no track")
    ap.add_argument("--full-every", type=int, default=PipelineConfig.full_every,
                    help="whole-frame search at least every N frames while tracking")
    ap.add_argument("--ceiling", action="store_true",
                    help="also score the detector alone on every whole frame (implies --no-window)")
    ap.add_argument("--max-gap", type=int, default=15, help="gap filled by offline smoothing")
    ap.add_argument("--tracker", action="append", default=[], metavar="KEY=VALUE",
                    help="override a TrackerConfig field, e.g. --tracker max_coast=45 (repeatable)")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32", help="model inference precision")
    ap.add_argument("--backend", choices=["auto", "torch", "onnx"], default="auto",
                    help="model runtime (auto: ONNX Runtime when installed and fp32)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.clips is not None:
            if not args.clips.exists():
                print(f"no clips at {args.clips}; nothing to do")
                return
            pairs = clip_pairs(args.clips)
        else:
            pairs = make_demo(args.demo_dir or tmp, args.demo)
        if not pairs:
            print(f"no <name>.mp4 + <name>.truth.jsonl pairs under {args.clips}")
            return
        detector = (model_detector(args.model, precision=args.precision, backend=args.backend)
                    if args.model else BlobDetector())
        name = Path(args.model).name if args.model else "blob (pigskin.track.simple)"
        if args.oracle is not None:
            name = (f"oracle (truth boxes, recall {args.oracle:g}, jitter {args.jitter:g} px, "
                    f"{args.false_positives:g} false boxes/frame)")
        args.no_window = args.no_window or args.ceiling
        cfg = PipelineConfig(window=not args.no_window, write_video=False, progress=False,
                             lost_every=args.lost_every, full_every=args.full_every)
        tcfg = tracker_config(args.tracker)
        if args.model and args.oracle is None and not any(p.startswith("min_score=") for p in args.tracker):
            tcfg = tcfg.at_threshold(detector.score_threshold)  # as pigskin track does
        print(f"detector: {name}; window search "
              + ("off" if args.no_window else f"on (whole frame every {cfg.lost_every} frames without a "
                 f"track, every {cfg.full_every} with one)"))
        head = (f"{'clip':<18} {'camera':<9} {'frames':>6} {'vis':>5} {'recall':>6} {'det':>5} {'prec':>5} "
                f"{'losses':>6} {'reacq':>5} {'hidden':>6} {'<=20px':>6} {'smooth':>6} {'seen':>5} "
                f"{'<=20px':>6}")
        print(head)
        print("-" * len(head))
        totals: list[tuple[TrackMetrics, TrackMetrics]] = []
        camera_of: list[str] = []
        ceilings: list[tuple[str, int, int, int]] = []
        whole = frames_run = 0
        for video, truth_path in pairs:
            truth = load_truth(truth_path)
            first = json.loads(truth_path.read_text().splitlines()[0])
            if args.oracle is not None:
                detector = OracleDetector(truth_rows(truth_path), args.oracle, args.jitter,
                                          args.false_positives, seed=len(totals))
            run_with = Recorder(detector) if args.ceiling else detector
            res = track_video(video, run_with, tmp / "out" / video.stem, cfg, tcfg)
            w, h = res.info.width, res.info.height
            whole, frames_run = whole + res.timing.full_frames, frames_run + res.timing.frames
            if args.ceiling:
                ceilings.append((str(first.get("camera", "?")),
                                 *ceiling(run_with.frames, truth_rows(truth_path), tcfg.min_score, w, h)))
            online = track_metrics(res.rows, truth, w, h)
            smoothed = track_metrics(smooth(res.rows, tcfg, max_gap=args.max_gap), truth, w, h)
            totals.append((online, smoothed))
            camera_of.append(str(first.get("camera", "?")))
            print(f"{video.stem[:18]:<18} {str(first.get('camera', '?'))[:9]:<9} {online.frames:6d} "
                  f"{online.visible:5d} {fmt(online.recall):>6} {fmt(online.recall_detected):>5} "
                  f"{fmt(online.precision):>5} {online.losses:6d} {online.reacquisitions:5d} "
                  f"{online.hidden:6d} {fmt(online.hidden_within):>6} {fmt(smoothed.hidden_within):>6} "
                  f"{online.hidden_seen:5d} {fmt(online.hidden_seen_within):>6}")
        print("-" * len(head))
        cameras = sorted(set(camera_of))
        if len(cameras) > 1:
            for cam in cameras:
                total_row(f"{cam} clips", [t for t, c in zip(totals, camera_of, strict=True) if c == cam])
        total_row(f"all {len(totals)} clips", totals)
        det = sum(t[0].detected for t in totals)
        print(f"(percentages; {det} detected rows; recall/precision within 10 px; the whole frame searched "
              f"on {whole} of {frames_run} frames, {100 * whole / max(frames_run, 1):.0f} %)")
        if ceilings:
            print(f"\ndetector alone, every whole frame, score >= {tcfg.min_score:.3g} (no tracker):")
            for cam in [*cameras, None] if len(cameras) > 1 else [None]:
                rows = [c for c in ceilings if cam is None or c[0] == cam]
                vis, anywhere, best = (sum(r[k] for r in rows) for k in (1, 2, 3))
                print(f"  {cam or 'all'} clips: {vis} visible balls; a detection on the ball in "
                      f"{fmt(anywhere / max(vis, 1)).strip()} %, the best detection on it in "
                      f"{fmt(best / max(vis, 1)).strip()} %")


def pooled(values: list[float], weights: list[int]) -> float:
    total = sum(weights)
    if not total:
        return math.nan
    return sum(v * w for v, w in zip(values, weights, strict=True) if w) / total


def total_row(label: str, totals: list[tuple[TrackMetrics, TrackMetrics]]) -> None:
    """One pooled row (each rate weighted by the frames it counts) over some clips."""
    on = [t[0] for t in totals]
    print(f"{label[:18]:<18} {'':<9} {sum(m.frames for m in on):6d} {sum(m.visible for m in on):5d} "
          f"{fmt(pooled([m.recall for m in on], [m.visible for m in on])):>6} "
          f"{fmt(pooled([m.recall_detected for m in on], [m.visible for m in on])):>5} "
          f"{fmt(pooled([m.precision for m in on], [m.detected for m in on])):>5} "
          f"{sum(m.losses for m in on):6d} {sum(m.reacquisitions for m in on):5d} "
          f"{sum(m.hidden for m in on):6d} "
          f"{fmt(pooled([m.hidden_within for m in on], [m.hidden for m in on])):>6} "
          f"{fmt(pooled([t[1].hidden_within for t in totals], [t[1].hidden for t in totals])):>6} "
          f"{sum(m.hidden_seen for m in on):5d} "
          f"{fmt(pooled([m.hidden_seen_within for m in on], [m.hidden_seen for m in on])):>6}")


if __name__ == "__main__":
    main()
