"""pigskin synth: render synthetic broadcast stills or clips with exact ball labels."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "synth",
        help="render synthetic broadcast frames or clips with exact labels",
        description=__doc__.splitlines()[0],
    )
    ssub = p.add_subparsers(dest="synth_command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("out", help="output folder (replaced atomically when done)")
    common.add_argument(
        "--n", type=int, default=None, help="how many stills (default 2000) or clips (default 20)"
    )
    common.add_argument("--seed", type=int, default=0)
    common.add_argument("--preset", default="broadcast", choices=("easy", "broadcast", "hard"))
    common.add_argument("--width", type=int, default=1280)
    common.add_argument("--height", type=int, default=720)
    common.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    common.add_argument("--players", action="store_true", help="also label players (class 'player')")
    common.add_argument(
        "--endzone",
        type=float,
        default=None,
        metavar="P",
        help="share of frames from the end-zone camera (default: the preset's, 0.3)",
    )
    common.add_argument("--quiet", action="store_true", help="no progress bar")
    im = ssub.add_parser("images", parents=[common], help="stills: images/*.jpg + manifest.jsonl")
    im.set_defaults(func=_images)
    cl = ssub.add_parser(
        "clips", parents=[common], help="clips: clips/*.mp4 + *.truth.jsonl + a video-tracking manifest.jsonl"
    )
    cl.add_argument("--seconds", type=float, default=8.0)
    cl.add_argument("--fps", type=float, default=30.0)
    cl.add_argument("--frames", action="store_true", help="also write every frame as frames/<clip>_<n>.jpg")
    cl.set_defaults(func=_clips)


def _config(args: argparse.Namespace):
    from pigskin.errors import PigskinError
    from pigskin.synth import preset

    extra = {} if args.endzone is None else {"endzone_p": args.endzone}
    try:
        return preset(
            args.preset, width=args.width, height=args.height, seed=args.seed, players=args.players, **extra
        )
    except ValueError as e:
        raise PigskinError(str(e)) from None


def _bar(total: int, unit: str, quiet: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, disable=quiet)


def _images(args: argparse.Namespace) -> int:
    from pigskin.synth import generate_images

    cfg = _config(args)
    n = 2000 if args.n is None else args.n
    with _bar(n, "img", args.quiet) as bar:
        ds = generate_images(cfg, n, args.out, workers=args.workers, progress=bar.update)
    negatives = sum(1 for s in ds if not (s.detections.class_id == 0).any())
    print(f"wrote {len(ds)} images ({negatives} without a visible ball) and manifest.jsonl to {args.out}")
    return 0


def _clips(args: argparse.Namespace) -> int:
    from pigskin.synth import generate_clips

    cfg = _config(args)
    n = 20 if args.n is None else args.n
    with _bar(n, "clip", args.quiet) as bar:
        ds = generate_clips(
            cfg,
            n,
            args.out,
            seconds=args.seconds,
            fps=args.fps,
            workers=args.workers,
            frames=args.frames,
            progress=bar.update,
        )
    print(f"wrote {n} clips ({len(ds)} frames) to {args.out}/clips and manifest.jsonl")
    return 0
