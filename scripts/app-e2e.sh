#!/usr/bin/env bash
# End-to-end test of the desktop app (src-tauri/) on a headless Linux machine:
#   installs the WebKitGTK build/test packages and tauri-driver if missing, builds ui/dist,
#   the CLI (for models) and the debug app, then under Xvfb drives the real app through
#   tauri-driver + WebKitWebDriver (scripts/app_e2e.py): replay the sample call from the
#   main window, the expected card on the overlay, the helpful key in the overlay, the
#   feedback row in SQLite, screenshots in target/app-e2e/.
# Exits non-zero on the first failure.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
out=$root/target/app-e2e
start=$(date +%s)
step() { printf '\n==> %s (%ss)\n' "$1" "$(($(date +%s) - start))"; }

sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
packages=(libwebkit2gtk-4.1-dev build-essential libxdo-dev libssl-dev libayatana-appindicator3-dev
  librsvg2-dev xvfb webkit2gtk-driver imagemagick sqlite3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  step "installing ${missing[*]} (apt)"
  apt_get() { $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 "$@"; }
  if ! apt_get install -y -q "${missing[@]}"; then
    apt_get update -q
    apt_get install -y -q "${missing[@]}"
  fi
fi
if ! command -v tauri-driver >/dev/null; then
  step "cargo install tauri-driver"
  # A debug build: it only relays WebDriver calls, and compiles in half the time.
  cargo install tauri-driver --locked --debug
fi

if [ -z "${APP_E2E_SKIP_BUILD:-}" ]; then
step "building ui/dist"
(cd ui && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm run build)

step "building the CLI and the app (debug)"
# The same invocation as `make test`'s build (nothing to do after it): any other set of
# packages or targets unifies features differently and compiles the engine again.
cargo build --locked --workspace --all-targets
fi

models=${CUECARD_MODELS:-$root/target/test-models}
step "models in $models"
CUECARD_MODELS=$models ./target/debug/cuecard models install tiny.en >/dev/null
CUECARD_MODELS=$models ./target/debug/cuecard models install all-minilm-l6-v2 >/dev/null

rm -rf "$out"
mkdir -p "$out/home"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

display=${APP_E2E_DISPLAY:-:99}
step "Xvfb $display"
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >"$out/xvfb.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X${display#:}" ] && break; sleep 0.1; done

step "tauri-driver"
# The app inherits this environment (tauri-driver → WebKitWebDriver → app).
DISPLAY=$display CUECARD_HOME=$out/home CUECARD_MODELS=$models RUST_LOG=${RUST_LOG:-info} \
  tauri-driver --port 4444 >"$out/tauri-driver.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  python3 -c 'import socket; socket.create_connection(("127.0.0.1", 4444), 0.2)' 2>/dev/null && break
  sleep 0.1
done

step "driving the app"
DISPLAY=$display python3 scripts/app_e2e.py \
  --app "$root/target/debug/cuecard-app" --call "$root/samples/sample-call.flac" \
  --home "$out/home" --out "$out"
step "app e2e passed"
