#!/usr/bin/env bash
# Two `pigskin tune` workers sharing one study in PostgreSQL, as workers on many machines would.
#
#   bash scripts/tune_postgres.sh            # TRIALS=16 PORT=55432 by default
#
# Installs Debian's postgresql when its binaries are missing (apt-get), and the psycopg2-binary driver
# into .venv when missing (pip); starts a throwaway cluster in a temporary folder listening on
# 127.0.0.1 only (trust authentication: nothing else can reach it); creates a database; runs two
# workers at once on one --study/--storage (each with its own --out, as on two machines); prints the
# trials table and which worker ran what; stops the cluster and deletes the folder.
# The trials are the benchmark's cheap real objective (a 2-epoch numpy MLP, about 0.5 s each).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
PORT=${PORT:-55432}
TRIALS=${TRIALS:-16}

if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  echo "== installing Debian's postgresql"
  apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
if ! "$PY" -c "import psycopg2" 2>/dev/null; then
  echo "== installing psycopg2-binary into $("$PY" -c 'import sys; print(sys.prefix)')"
  "$PY" -m pip install --quiet psycopg2-binary
fi

WORK=$(mktemp -d /tmp/pigskin-pg.XXXXXX)
OUT=$(mktemp -d /tmp/pigskin-tune.XXXXXX)
AS=()
if [ "$(id -u)" = 0 ]; then  # initdb refuses to run as root: the cluster belongs to the postgres user
  chown postgres "$WORK"
  AS=(runuser -u postgres --)
fi
cleanup() {
  "${AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$WORK" "$OUT"
}
trap cleanup EXIT

echo "== PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT in $WORK"
"${AS[@]}" "$PGBIN/initdb" -D "$WORK/data" -U pigskin --auth=trust -E UTF8 >/dev/null
"${AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/data" -l "$WORK/data/server.log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $PORT -k $WORK" start >/dev/null
"${AS[@]}" "$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U pigskin tune
URL="postgresql+psycopg2://pigskin@127.0.0.1:$PORT/tune"  # SQLAlchemy 2.1 defaults to psycopg 3

cat >"$OUT/space.yaml" <<'EOF'
lr: {type: float, low: 0.0001, high: 1.0, log: true}
batch: {type: int, low: 8, high: 256, log: true}
hidden: {type: int, low: 4, high: 128, log: true}
weight-decay: {type: float, low: 1.0e-6, high: 0.1, log: true}
momentum: {type: float, low: 0.0, high: 0.99}
EOF
ENTRY="$PY benchmarks/tune_bayes_vs_random.py train"
echo "== two workers: pigskin tune --study pg-demo --storage $URL --max-trials $TRIALS"
for w in 1 2; do
  "$PY" -m pigskin tune --space "$OUT/space.yaml" --study pg-demo --storage "$URL" --max-trials "$TRIALS" \
    --out "$OUT/worker$w" --entry-point "$ENTRY" --seed "$w" --quiet --no-report >"$OUT/worker$w.log" 2>&1 &
  pids[$w]=$!
done
status=0
for w in 1 2; do wait "${pids[$w]}" || { status=$?; echo "worker $w failed:"; cat "$OUT/worker$w.log"; }; done
[ "$status" = 0 ] || exit "$status"

echo "== trials table (a third run joins the finished study: it runs nothing and prints the table)"
"$PY" -m pigskin tune --space "$OUT/space.yaml" --study pg-demo --storage "$URL" --max-trials "$TRIALS" \
  --out "$OUT/summary" --entry-point "$ENTRY" --no-report
"$PY" - "$URL" <<'EOF'
import collections, sys
import optuna
optuna.logging.set_verbosity(optuna.logging.WARNING)
study = optuna.load_study(study_name="pg-demo", storage=sys.argv[1])
by_worker = collections.Counter(t.user_attrs.get("worker", "?") for t in study.trials)
numbers = [t.number for t in study.trials]
print(f"trials per worker: {dict(by_worker)}; numbers unique: {len(set(numbers)) == len(numbers)}")
EOF
