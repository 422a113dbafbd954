#!/usr/bin/env bash
# Runs a trust request through the whole workflow locally. Options: --scenario NAME (see --help).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/bootstrap.sh
echo "==> building the Lambdas"
cargo build --workspace --bins --locked
exec .venv/bin/python scripts/demo.py "$@"
