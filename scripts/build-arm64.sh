#!/usr/bin/env bash
# Builds every function for arm64 exactly as the README's `sam build` does (it runs `sam build`:
# SAM's rust-cargolambda method, which calls cargo-lambda for aarch64-unknown-linux-gnu with zig as
# the linker), then records each artifact's size in .work/arm64-sizes.json for docs/benchmarks.md.
# Installs what it needs: the Rust target, and SAM CLI and cargo-lambda into .venv (bootstrap.sh).
# Not in the test command: a clean arm64 release build of six functions takes most of the 40 minutes
# the test command may use on 2 cores. bench/run_benchmarks.sh runs it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scripts/bootstrap.sh
rustup target list --installed | grep -qx aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu
export PATH="$root/.venv/bin:$PATH" SAM_CLI_TELEMETRY=0
start=$(date +%s)
# samconfig.toml opts in to the beta build method, so this never stops to ask.
sam build
seconds=$(( $(date +%s) - start ))
.venv/bin/python - "$seconds" <<'PY'
import io, json, subprocess, sys, zipfile
from pathlib import Path

sizes = {}
for bootstrap in sorted(Path(".aws-sam/build").glob("*/bootstrap")):
    kind = subprocess.run(["file", "-b", str(bootstrap)], capture_output=True, text=True).stdout.strip() if Path("/usr/bin/file").exists() else ""
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(bootstrap, "bootstrap")
    sizes[bootstrap.parent.name] = {"binary_bytes": bootstrap.stat().st_size, "zip_bytes": len(data.getvalue()), "file": kind}
    with open(bootstrap, "rb") as f:
        header = f.read(20)
    # ELF e_machine 0xB7 = AArch64: the build really is for Graviton.
    assert header[:4] == b"\x7fELF" and header[18] == 0xB7, f"{bootstrap} is not an aarch64 ELF executable"
Path(".work").mkdir(exist_ok=True)
Path(".work/arm64-sizes.json").write_text(json.dumps({"build_seconds": int(sys.argv[1]), "functions": sizes}, indent=2))
for name, size in sizes.items():
    print(f"{name}: {size['binary_bytes'] / 1e6:.2f} MB, zipped {size['zip_bytes'] / 1e6:.2f} MB")
PY
