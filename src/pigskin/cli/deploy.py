"""pigskin deploy: serve the best model of a tuning study (SageMaker's tuner.deploy())."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("deploy", help="serve the best trial's model.tar.gz of a tuning study")
    p.add_argument("--study", required=True, help="study name given to pigskin tune")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--storage", help="the study's SQLAlchemy URL")
    where.add_argument("--out", help="pigskin tune's --out folder (uses its study.db)")
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--backend", help="serving backend, as in pigskin serve (default: its own)")
    p.add_argument("--print-model", action="store_true", help="print the model's path and exit")
    p.set_defaults(func=_deploy)


def _deploy(args: argparse.Namespace) -> int:
    from pigskin.tune.deploy import best_model, deploy
    from pigskin.tune.storage import default_storage

    storage = args.storage or default_storage(args.out)
    if args.print_model:
        model, _ = best_model(args.study, storage)
        print(model)
        return 0
    options = {"backend": args.backend} if args.backend else {}
    deploy(args.study, storage, args.host, args.port, **options)
    return 0
