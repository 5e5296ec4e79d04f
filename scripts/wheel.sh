#!/usr/bin/env bash
# Builds the Python wheel of cleanrooms-emulator into dist/: the emulator binary (stripped) with
# the `cleanrooms_emulator` package (start/stop from Python, the pytest plugin) and the Spark
# runner; `pip install dist/cleanrooms_emulator-*.whl` (or `…whl[spark]`) needs no Rust toolchain.
#   scripts/wheel.sh          a release build (what users and the Docker image install)
#   scripts/wheel.sh --dev    the debug build scripts/test.sh made already (what CI checks)
# maturin (python/requirements-build.txt) is installed into the virtualenv
# CLEANROOMS_EMULATOR_VENV (default .venv). Prints the wheel's path.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=build-env.sh
source scripts/build-env.sh
profile=(--release)
if [ "${1:-}" = "--dev" ]; then
  profile=(--profile dev)
fi
venv="${CLEANROOMS_EMULATOR_VENV:-.venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r python/requirements-build.txt
rm -rf dist
"$venv/bin/maturin" build --quiet "${profile[@]}" --strip --locked --out dist >&2
ls dist/cleanrooms_emulator-*.whl
