"""glibc malloc settings vs defaults: one 1280x720 detector forward pass, each in a fresh process.

    python benchmarks/allocator.py [--model fasterrcnn_mobilenet_v2] [--repeat 10] [--rounds 3] [--threads 0]

By default glibc serves big blocks with mmap and unmaps them on free, so every forward pass of a
1280x720 frame maps and page-faults its large activations anew. ``pigskin.runtime.tune_allocator``
raises the mmap and trim thresholds with mallopt (what ``pigskin train/predict`` do at start-up).
Each variant runs in processes of its own (mallopt cannot be undone), ``--rounds`` of them alternating
with the other variant's; each warms up twice, then times ``--repeat`` forward+decode passes. The
table shows the median time, each process's median, page faults per pass (``ru_minflt``) and the
ratio against the default allocator.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time


def child(model_name: str, tuned: bool, repeat: int, threads: int) -> dict:
    from pigskin import runtime

    runtime.passive_omp_wait()
    applied = runtime.tune_allocator() if tuned else {}
    import warnings

    import torch

    from pigskin.config import ModelConfig
    from pigskin.models import build_model

    runtime.set_threads(threads or None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = build_model(ModelConfig(name=model_name, image_size=1280)).eval()
    x = torch.rand(1, 3, 736 if model.size_divisible == 32 else 768, 1280)
    times, faults = [], []
    with torch.no_grad():
        for i in range(repeat + 2):
            f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            t0 = time.perf_counter()
            model.decode(model(x), [(720, 1280)])
            dt = time.perf_counter() - t0
            if i >= 2:
                times.append(dt)
                faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
    return {
        "ms": 1000 * statistics.median(times),
        "faults": statistics.median(faults),
        "mallopt": applied,
        "threads": torch.get_num_threads(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="fasterrcnn_mobilenet_v2")
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3, help="processes per variant, run alternately")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = one per available core)")
    ap.add_argument("--child", choices=["default", "tuned"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.model, args.child == "tuned", args.repeat, args.threads)))
        return
    # alternate the variants, so that other work on a shared machine slows both alike
    runs: dict[str, list[dict]] = {"default": [], "tuned": []}
    for _ in range(args.rounds):
        for variant, results in runs.items():
            cmd = [sys.executable, __file__, "--child", variant, "--model", args.model,
                   "--repeat", str(args.repeat), "--threads", str(args.threads)]
            done = subprocess.run(cmd, capture_output=True, text=True, check=True)
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"# {args.model}, one 1280x720 frame, forward + decode; median over {args.rounds} processes x "
          f"{args.repeat} passes per variant, run alternately; {platform.machine()}, "
          f"{runs['default'][0]['threads']} torch threads")
    print(f"{'allocator':<10} {'ms/frame':>9} {'per process':>24} {'faults/pass':>12} {'vs default':>11}")
    base = statistics.median(r["ms"] for r in runs["default"])
    for name, results in runs.items():
        ms = statistics.median(r["ms"] for r in results)
        each = " ".join(f"{r['ms']:.0f}" for r in results)
        faults = statistics.median(r["faults"] for r in results)
        print(f"{name:<10} {ms:9.1f} {each:>24} {faults:12.0f} {base / ms:10.2f}x")
    print(f"tuned = pigskin.runtime.tune_allocator(): mallopt {runs['tuned'][0]['mallopt']}")


if __name__ == "__main__":
    main()
