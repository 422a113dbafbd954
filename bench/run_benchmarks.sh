#!/usr/bin/env bash
# Benchmarks (docs/benchmarks.md): release build, then every Lambda against its Python/boto3 twin, with the
# emulated AWS over plain HTTP and, for init and first invocation, behind TLS (a throwaway CA made at run time).
# Pass --clean to measure a clean release build too (about 8 minutes on 2 cores). Also builds the arm64
# artifacts with `sam build` (scripts/build-arm64.sh) for their sizes, unless --no-arm64 follows.
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
# The arm64 artifacts as `sam build` makes them (sizes beside the x86_64 ones); --no-arm64 skips it.
if [ "${1:-}" = "--no-arm64" ]; then shift; else scripts/build-arm64.sh; fi
.venv/bin/python bench/run_benchmarks.py "${build_args[@]}" "$@"
.venv/bin/python bench/burst.py --write-docs   # 200 requests at once, Directory Service throttled: the section "A burst of requests"
