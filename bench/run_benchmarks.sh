#!/usr/bin/env bash
# Benchmarks (docs/benchmarks.md): release build, then every Lambda against its Python/boto3 twin.
# Pass --clean to measure a clean release build too (about 8 minutes on 2 cores).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/bootstrap.sh
.venv/bin/pip install -q --disable-pip-version-check -r bench/requirements.txt
build_args=()
if [ "${1:-}" = "--clean" ]; then
  shift
  rm -rf target/release
  start=$(date +%s)
  cargo build --release --workspace --bins --locked
  build_args=(--build-seconds "$(( $(date +%s) - start ))")
else
  cargo build --release --workspace --bins --locked
fi
cargo build --workspace --bins --locked   # the local stack's Lambdas, for the workflow figures
exec .venv/bin/python bench/run_benchmarks.py "${build_args[@]}" "$@"
