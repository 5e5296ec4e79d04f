# Sourced by .ci/run and scripts/test.sh: `step NAME COMMAND…` runs one step, prints its
# duration, and remembers it for `step_summary`, which prints the breakdown and the total.
# Nested scripts share one breakdown file (STEPS_FILE), so .ci/run's summary lists test.sh's
# steps too.

if [ -z "${STEPS_FILE:-}" ]; then
  STEPS_FILE="$(mktemp -t cleanrooms-emulator-steps.XXXXXX)"
  STEPS_START="$(date +%s)"
  export STEPS_FILE STEPS_START
fi

step() {
  local name="$1"
  shift
  local start end rc=0
  echo "== $name"
  start="$(date +%s)"
  "$@" || rc=$?
  end="$(date +%s)"
  printf '%-28s %6ss%s\n' "$name" "$((end - start))" "$([ "$rc" = 0 ] || echo "  (failed: exit $rc)")" >>"$STEPS_FILE"
  echo "== $name: $((end - start)) s"
  return "$rc"
}

step_summary() {
  local total=$(($(date +%s) - STEPS_START))
  echo "== steps (wall seconds)"
  cat "$STEPS_FILE"
  printf '%-28s %6ss (%dm%02ds)\n' "total" "$total" "$((total / 60))" "$((total % 60))"
}
