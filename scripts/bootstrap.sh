#!/usr/bin/env bash
# Installs what the tests and the demo need, idempotently: a Python venv with moto, boto3, pytest,
# cfn-lint and cargo-lambda (a prebuilt binary from PyPI), and cdk/'s Node packages. Needs: python3 with
# venv, cargo, node 20+ with npm.
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
# Every version is pinned by a constraints file (pip freeze of a working install): a new release of a
# test dependency cannot break a fresh clone. The stamp holds both files' hashes, so a change to
# either reinstalls.
stamp=.venv/.requirements.sha
want="$(cat tests/requirements.txt tests/constraints.txt | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "==> installing test tools into .venv (moto, boto3, pytest, cfn-lint, cargo-lambda), pinned by tests/constraints.txt"
  .venv/bin/pip install -q --disable-pip-version-check -r tests/requirements.txt -c tests/constraints.txt
  echo "$want" > "$stamp"
fi
# checkov has a venv of its own: its pinned dependencies clash with cfn-lint's and sam's.
checkov_stamp=.venv-checkov/.constraints.sha
checkov_want="$(sha256sum tests/constraints-checkov.txt | cut -d' ' -f1)"
if [ ! -x .venv-checkov/bin/checkov ] || [ "$(cat "$checkov_stamp" 2>/dev/null)" != "$checkov_want" ]; then
  echo "==> installing checkov into .venv-checkov, pinned by tests/constraints-checkov.txt"
  [ -x .venv-checkov/bin/python ] || python3 -m venv .venv-checkov
  .venv-checkov/bin/pip install -q --disable-pip-version-check checkov -c tests/constraints-checkov.txt
  echo "$checkov_want" > "$checkov_stamp"
fi
# The CDK constructs (cdk/): their Node dependencies, exactly as cdk/package-lock.json pins them. The
# stamp holds the lock file's hash, so a changed lock reinstalls and an unchanged one costs nothing.
command -v npm >/dev/null || { echo "bootstrap: node and npm are required for cdk/ (Node 20 or later)" >&2; exit 1; }
npm_stamp=cdk/node_modules/.package-lock.sha
npm_want="$(sha256sum cdk/package-lock.json | cut -d' ' -f1)"
if [ "$(cat "$npm_stamp" 2>/dev/null)" != "$npm_want" ]; then
  echo "==> installing cdk/'s Node dependencies (npm ci: aws-cdk-lib, constructs, aws-cdk, typescript), pinned by cdk/package-lock.json"
  (cd cdk && npm ci --no-audit --no-fund --loglevel=error)
  echo "$npm_want" > "$npm_stamp"
fi
