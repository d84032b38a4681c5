"""pigskin analyze: sensitivity analysis with an HTML report."""

from __future__ import annotations

import argparse

from pigskin.cli.evaluate import add_input_args, inputs_from


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "analyze",
        help="AP and recall per slice with intervals, error causes, HTML report",
        description="Writes OUT/report.html, slices.json, slices.csv and errors.csv.",
    )
    add_input_args(p)
    p.add_argument("--classes", nargs="+", help="classes to analyse (default: '*ball*')")
    p.add_argument("--bootstrap", type=int, default=200, help="resamples for 95%% intervals (default 200)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--min-count", type=int, default=10, help="smallest slice that may be named weakest")
    p.add_argument("--no-pixels", action="store_true", help="skip contrast and blur (no image reads)")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    if args.model:
        from pigskin.runtime import prepare

        prepare()  # before torch is imported (a predictions file needs no torch at all)
    from pigskin.evaluate.run import analyze_to_dir
    from pigskin.evaluate.slices import AnalyzeConfig

    config = AnalyzeConfig(
        score_threshold=args.score_threshold,
        classes=tuple(args.classes) if args.classes else None,
        bootstrap=args.bootstrap,
        seed=args.seed,
        min_count=args.min_count,
        measure_pixels=not args.no_pixels,
    )
    result = analyze_to_dir(inputs_from(args), args.out, config)
    ov = result.overall
    print(
        f"all: AP50 {ov.ap50:.3f} [{ov.ap50_ci[0]:.3f}, {ov.ap50_ci[1]:.3f}], recall {ov.recall:.3f}, "
        f"{ov.count} boxes, {len(result.slices)} slices"
    )
    for w in result.weakest:
        print(f"weak: {w['text']}")
    for t in result.gather_next:
        print(f"next: {t}")
    print(f"wrote {args.out}/report.html, slices.json, slices.csv, errors.csv")
    return 0
