# Sourced by .ci/run and scripts/test.sh (and by developers: `source scripts/build-env.sh`): the
# one set of build settings, so that every step of a run reuses the same compiled dependencies.
# A different RUSTFLAGS rebuilds every dependency; a different wrapper rebuilds the workspace.
#
# - mold links when it is installed (optional; .ci/run installs it when it can).
# - Clippy runs inside the build: clippy-driver is the workspace's compiler wrapper (what
#   `cargo clippy` itself sets up), so the lints of every workspace target come out of the one
#   `cargo build` whose artifacts the tests use, and no dependency is compiled a second time in
#   check mode. CLIPPY_ARGS turns every warning into an error, as `clippy -- -D warnings` would.
#   CLEANROOMS_EMULATOR_NO_LINT=1 builds without it.

if command -v mold >/dev/null 2>&1; then
  case " ${RUSTFLAGS:-} " in
    *" -C link-arg=-fuse-ld=mold "*) ;;
    *) export RUSTFLAGS="${RUSTFLAGS:-} -C link-arg=-fuse-ld=mold" ;;
  esac
fi

if [ "${CLEANROOMS_EMULATOR_NO_LINT:-}" != 1 ]; then
  _clippy_driver="$(rustc --print sysroot)/bin/clippy-driver"
  if [ -x "$_clippy_driver" ]; then
    export RUSTC_WORKSPACE_WRAPPER="$_clippy_driver"
    export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
  else
    echo "clippy-driver not found (rustup component add clippy): building without lints" >&2
  fi
  unset _clippy_driver
fi
