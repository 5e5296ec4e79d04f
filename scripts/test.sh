#!/usr/bin/env bash
# Sets up everything the tests need and runs every suite:
#   1. the Python virtualenv with the pinned boto3/botocore/pytest (tests/requirements.txt),
#   2. the build (debug) of the whole workspace,
#   3. the Rust tests (unit, generated-code staleness, integration),
#   4. the boto3 acceptance suite against the built binary.
# Environment: CARGO_TARGET_DIR (where to build), CLEANROOMS_EMULATOR_VENV (virtualenv path,
# default .venv). Uses the mold linker when it is installed (it is optional).
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v mold >/dev/null 2>&1; then
  export RUSTFLAGS="${RUSTFLAGS:-} -C link-arg=-fuse-ld=mold"
fi

venv="${CLEANROOMS_EMULATOR_VENV:-.venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt

echo "== build"
cargo build --workspace --all-targets

echo "== cargo test"
cargo test --workspace

target_dir="$(cargo metadata --format-version 1 --no-deps | "$venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
export CLEANROOMS_EMULATOR_BIN="$target_dir/debug/cleanrooms-emulator"

echo "== boto3 suite"
"$venv/bin/python" -m pytest tests/boto3 -q -p no:cacheprovider "$@"
