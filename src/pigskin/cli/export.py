"""pigskin export: write a model.tar.gz as ONNX, checked against PyTorch on sample frames."""

from __future__ import annotations

import argparse
import sys


def _frame_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT like 1280x720, got {text!r}") from None
    return w, h


def _check_frames(n: int, width: int, height: int) -> list:
    """Synthetic broadcast stills when the renderer is installed (and works), else random pixels: the
    renderer is optional here, and either is enough to compare two runtimes."""
    try:
        from pigskin.synth.scene import sample_frames

        return sample_frames(n, width, height)
    except Exception:
        from pigskin.serve.export import noise_frames

        return noise_frames(n, width, height)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a model to ONNX (checked against PyTorch)",
                       description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="model.tar.gz (or the folder it was unpacked into)")
    p.add_argument("--format", choices=["onnx"], default="onnx")
    p.add_argument("--out", help="where to write the .onnx file")
    p.add_argument("--add-to-artifact", action="store_true",
                   help="also store it as model.onnx inside the artifact (`serve --backend onnx` finds it)")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (>= 11)")
    p.add_argument("--check-frames", type=int, default=4, help="sample frames to compare on (0: no check)")
    p.add_argument("--frame-size", type=_frame_size, default=(1280, 720), help="sample frame size WxH")
    p.add_argument("--score-threshold", type=float, default=None, help="compare detections above this score "
                                                                        "(default: the model's threshold)")
    p.add_argument("--box-atol", type=float, default=0.01, help="largest box difference (px) that passes")
    p.add_argument("--score-atol", type=float, default=1e-4, help="largest score difference that passes")
    p.set_defaults(func=_export)


def _export(args: argparse.Namespace) -> int:
    from pigskin.errors import PigskinError
    from pigskin.fileio import write_bytes
    from pigskin.models.artifact import load_model
    from pigskin.serve.export import add_to_artifact, check_onnx, export_onnx

    if not args.out and not args.add_to_artifact:
        raise PigskinError("nowhere to write: give --out model.onnx and/or --add-to-artifact")
    predictor = load_model(args.model)
    data = export_onnx(predictor, args.frame_size, args.opset)
    if args.check_frames > 0:
        frames = _check_frames(args.check_frames, *args.frame_size)
        result = check_onnx(predictor, data, frames, args.score_threshold)
        print(f"check: {result.summary()}")
        if not result.ok(args.box_atol, args.score_atol):
            print(f"pigskin export: error: ONNX Runtime does not match PyTorch (tolerance {args.box_atol} "
                  f"px, {args.score_atol} score); nothing written", file=sys.stderr)
            return 1
    if args.out:
        write_bytes(args.out, data)
        print(f"wrote {args.out} ({len(data) / 1e6:.1f} MB, opset {args.opset})")
    if args.add_to_artifact:
        print(f"added model.onnx to {add_to_artifact(args.model, data)}")
    return 0
