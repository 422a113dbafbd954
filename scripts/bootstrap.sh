#!/usr/bin/env bash
# Installs what the tests and the demo need, idempotently: a Python venv with moto, boto3, pytest,
# cfn-lint and cargo-lambda (a prebuilt binary from PyPI). Needs: python3 with venv, cargo.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
command -v cargo >/dev/null || { echo "bootstrap: cargo is required (https://rustup.rs)" >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv 2>/dev/null || {
    echo "bootstrap: python3 -m venv failed; installing python3-venv" >&2
    apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null && python3 -m venv .venv
  }
fi
stamp=.venv/.requirements.sha
want="$(sha256sum tests/requirements.txt | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "==> installing test tools into .venv (moto, boto3, pytest, cfn-lint, cargo-lambda)"
  .venv/bin/pip install -q --disable-pip-version-check -r tests/requirements.txt
  echo "$want" > "$stamp"
fi
# checkov has a venv of its own: its pinned dependencies clash with cfn-lint's and sam's.
if [ ! -x .venv-checkov/bin/checkov ]; then
  echo "==> installing checkov into .venv-checkov"
  python3 -m venv .venv-checkov
  .venv-checkov/bin/pip install -q --disable-pip-version-check checkov
fi
