#!/usr/bin/env bash
# Sets up everything the tests need and runs every suite:
#   1. the Python virtualenv with the pinned boto3/botocore/pytest (tests/requirements.txt) and
#      the Spark runtime of Athena sessions with awswrangler (tests/requirements-spark.txt; the
#      emulator runs sessions on this venv's Python, see docs/guide/athena-spark.md),
#   2. the build (debug) of the whole workspace, with clippy's lints as errors (build-env.sh),
#   3. the dependency check (`cargo xtask layers`: no import circle, layers point down),
#   4. the Rust tests (unit, generated-code staleness, served operations, integration),
#   5. the Python package's own tests (python/tests: the Spark runner, `cleanrooms_emulator`
#      and its pytest plugin),
#   6. the boto3 acceptance suite against the built binary (the Spark tests included: they fail
#      rather than skip here, CLEANROOMS_EMULATOR_REQUIRE_SPARK=1),
#   7. the wheel as users install it (tests/wheel/run.sh: built from this build, installed with
#      its [spark] extra into a fresh virtualenv without Rust, the sample project run with the
#      plugin).
# Each step prints its duration; the run ends with the breakdown (scripts/steps.sh).
# Environment: CARGO_TARGET_DIR (where to build), CLEANROOMS_EMULATOR_VENV (virtualenv path,
# default .venv), CLEANROOMS_EMULATOR_NO_LINT=1 (build without clippy). Uses the mold linker when
# it is installed (it is optional). Arguments are passed to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=build-env.sh
source scripts/build-env.sh
# shellcheck source=steps.sh
nested="${STEPS_FILE:-}"
source scripts/steps.sh
[ -n "$nested" ] || trap step_summary EXIT

venv="${CLEANROOMS_EMULATOR_VENV:-.venv}"
python_env() {
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
  fi
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt \
    -r tests/requirements-spark.txt
}
step "python venv" python_env
step "cargo build (+clippy)" cargo build --workspace --all-targets
step "layers" cargo xtask layers
step "cargo test" cargo test --workspace

target_dir="$(cargo metadata --format-version 1 --no-deps | "$venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
export CLEANROOMS_EMULATOR_BIN="$target_dir/debug/cleanrooms-emulator"

export CLEANROOMS_EMULATOR_REQUIRE_SPARK=1
step "python package tests" "$venv/bin/python" -m pytest python/tests -q -p no:cacheprovider
step "boto3 suite" "$venv/bin/python" -m pytest tests/boto3 -q -p no:cacheprovider "$@"
step "wheel" env CLEANROOMS_EMULATOR_VENV="$venv" tests/wheel/run.sh
