#!/usr/bin/env bash
# The wheel as users get it (scripts/test.sh runs this after the other suites): builds it from
# the debug build (scripts/wheel.sh --dev), checks its size, installs it with the `[spark]`
# extra and pytest into a fresh virtualenv whose PATH has no Rust toolchain, and runs the
# sample project tests/wheel/sample, which uses nothing but the plugin's fixtures.
# Environment: CLEANROOMS_EMULATOR_WHEEL_VENV (default <target dir>/wheel-venv, recreated on
# every run), CLEANROOMS_EMULATOR_WHEEL_MAX_MB (size limit, default 120).
set -euo pipefail
cd "$(dirname "$0")/../.."

wheel="$(scripts/wheel.sh --dev | tail -1)"
size_mb=$(( $(stat -c %s "$wheel") / 1048576 ))
max_mb="${CLEANROOMS_EMULATOR_WHEEL_MAX_MB:-120}"
echo "wheel: $wheel (${size_mb} MB, limit ${max_mb} MB)"
if [ "$size_mb" -gt "$max_mb" ]; then
  echo "the wheel is ${size_mb} MB, over the limit of ${max_mb} MB" >&2
  exit 1
fi

target_dir="${CARGO_TARGET_DIR:-target}"
venv="${CLEANROOMS_EMULATOR_WHEEL_VENV:-$target_dir/wheel-venv}"
rm -rf "$venv"
python3 -m venv "$venv"
venv="$(cd "$venv" && pwd)"

# A PATH without cargo, rustc or rustup: installing the wheel must not need them.
clean_path="$venv/bin"
IFS=: read -r -a dirs <<< "$PATH"
for dir in "${dirs[@]}"; do
  if [ -n "$dir" ] && [ ! -e "$dir/cargo" ] && [ ! -e "$dir/rustc" ] && [ ! -e "$dir/rustup" ]; then
    clean_path="$clean_path:$dir"
  fi
done
# ... and without the build's or the suites' settings (the plugin must find everything itself).
unset_args=()
while read -r name; do
  unset_args+=(-u "$name")
done < <(compgen -e | grep -E '^(CLEANROOMS_EMULATOR_|AWS_|CARGO|RUST)')
as_user() { env "${unset_args[@]}" PATH="$clean_path" "$@"; }

as_user bash -c '! command -v cargo && ! command -v rustc' >/dev/null
pytest_pin="$(grep -E '^pytest==' tests/requirements.txt)"
as_user "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$wheel[spark]" "$pytest_pin"
test -x "$venv/bin/cleanrooms-emulator"
as_user cleanrooms-emulator --version

cd tests/wheel/sample
as_user "$venv/bin/python" -m pytest -q
