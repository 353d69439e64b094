#!/usr/bin/env bash
# Builds and tests the desktop app's web front end (ui/):
#   npm ci → npm run build → npm test (Vitest unit tests) → npm run test:e2e (Playwright
#   driving Debian's chromium against the built ui/dist, IPC mocked).
# Idempotent; needs only node (>= 20.19) and npm. Installs chromium with apt if missing.
# Exits non-zero on the first failure.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
start=$(date +%s)
step() { printf '\n==> %s (%ss)\n' "$1" "$(($(date +%s) - start))"; }

chromium=${CUECARD_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
  step "installing chromium (apt)"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  apt_get() { $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 "$@"; }
  if ! apt_get install -y --no-install-recommends chromium; then
    apt_get update
    apt_get install -y --no-install-recommends chromium
  fi
  [ -x "$chromium" ] || { echo "error: chromium is still missing at $chromium" >&2; exit 1; }
fi

command -v node >/dev/null || { echo "error: node is not installed (need >= 20.19)" >&2; exit 1; }
command -v npm >/dev/null || { echo "error: npm is not installed" >&2; exit 1; }
node -e '
  const [maj, min] = process.versions.node.split(".").map(Number);
  if (maj < 20 || (maj === 20 && min < 19)) {
    console.error(`error: node ${process.versions.node} is too old; Vite 7 needs >= 20.19`);
    process.exit(1);
  }'

cd ui
step "npm ci"
npm ci --no-audit --no-fund
step "npm run build"
npm run build
step "npm test (unit)"
npm test
step "npm run test:e2e (browser)"
CUECARD_CHROMIUM="$chromium" npm run test:e2e
step "ui tests passed"
