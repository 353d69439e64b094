#!/usr/bin/env bash
# Installs the system packages cuecard needs to build and test on Debian/Ubuntu.
# `--app` adds what the desktop app (src-tauri/, WebKitGTK) needs to build; `--qemu` adds
# qemu's user-mode emulator (scripts/cpu-fallback-test.sh).
# Safe to re-run: only missing packages are installed.
set -euo pipefail

packages=(
  build-essential pkg-config cmake clang libclang-dev   # whisper.cpp via whisper-rs
  espeak-ng sox libsox-fmt-all ffmpeg                   # synthesised test calls, format fixtures
  libasound2-dev libasound2-plugins                     # cpal live capture (ALSA host)
  pulseaudio pulseaudio-utils                           # live capture tests: null sinks, paplay
  nodejs npm                                            # fetches the real-speech test clip
)
for option in "$@"; do
  case $option in
    --app) packages+=(libwebkit2gtk-4.1-dev libxdo-dev libssl-dev libayatana-appindicator3-dev librsvg2-dev) ;;
    --qemu) packages+=(qemu-user) ;;
    *) echo "error: unknown option $option (known: --app, --qemu)" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node may come from elsewhere (nvm, nodesource): don't fight it.
if command -v npm >/dev/null; then
  tmp=(); for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || tmp+=("$p"); done
  missing=("${tmp[@]+"${tmp[@]}"}")
fi
if ((${#missing[@]})); then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
fi
if ! command -v cargo >/dev/null; then
  echo "error: cargo not found: install Rust with rustup (https://rustup.rs) and re-run" >&2
  exit 1
fi
