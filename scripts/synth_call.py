#!/usr/bin/env python3
"""Render a scripted sales call to stereo test audio with espeak-ng and sox.

The rep speaks on the LEFT channel, the prospect on the RIGHT channel. Each turn
is synthesised with espeak-ng, resampled with sox, trimmed to its spoken audio
and placed on its speaker's channel, with silence on the other channel. A
manifest with sample-accurate turn timings is written next to the audio as
``<out>.manifest.json``.

Input is either a JSON file holding one call, or a JSONL file with one call per
line (the format of eval/dev-calls.jsonl):

    {"id": "...", "title": "...",
     "turns": [{"speaker": "rep"|"prospect", "text": "...", "expect": "none"|<category>}]}

Examples:

    python3 scripts/synth_call.py samples/sample-call.json --out samples/sample-call.flac
    python3 scripts/synth_call.py dev-calls.jsonl --call call-d1 --out /tmp/d1.wav
    python3 scripts/synth_call.py dev-calls.jsonl --all /tmp/calls

Output is deterministic: the same input and options give byte-identical audio.
Requires python3 (stdlib only), espeak-ng and sox on PATH.
"""

import argparse
import array
import concurrent.futures
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import wave

REP_VOICE = "en-us+m3"        # American English, male variant
PROSPECT_VOICE = "en-gb+f3"   # British English, female variant
SPEED_WPM = 165
SPEAKERS = ("rep", "prospect")
# A sample louder than this (about -54 dBFS) counts as speech when trimming.
# espeak-ng output starts speaking at once and ends in digital zeros; the
# threshold only has to sit above the resampler's ringing.
TRIM_THRESHOLD = 64
NOISE_SEED = 0x5EED


class SynthError(Exception):
    """An error reported to the user as a one-line message, without a traceback."""


# --------------------------------------------------------------------------- input

def _check_call(call, where):
    if not isinstance(call, dict):
        raise SynthError(f"{where}: a call must be a JSON object")
    cid = call.get("id")
    if not isinstance(cid, str) or not cid:
        raise SynthError(f"{where}: call has no string \"id\"")
    turns = call.get("turns")
    if not isinstance(turns, list) or not turns:
        raise SynthError(f"{where}: call {cid!r} has no \"turns\" list")
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict):
            raise SynthError(f"{where}: call {cid!r} turn {i} is not an object")
        if turn.get("speaker") not in SPEAKERS:
            raise SynthError(
                f"{where}: call {cid!r} turn {i}: speaker must be \"rep\" or \"prospect\", "
                f"got {turn.get('speaker')!r}")
        text = turn.get("text")
        if not isinstance(text, str) or not text.strip():
            raise SynthError(f"{where}: call {cid!r} turn {i}: empty or missing \"text\"")
    return call


def load_calls(path):
    """Return the list of calls in a JSON (one call, or a list) or JSONL file."""
    try:
        with open(path, encoding="utf-8") as f:
            content = f.read()
    except FileNotFoundError:
        raise SynthError(f"input file not found: {path}")
    except IsADirectoryError:
        raise SynthError(f"input is a directory, not a file: {path}")
    except (OSError, UnicodeDecodeError) as e:
        raise SynthError(f"cannot read {path}: {e}")

    try:
        whole = json.loads(content)
    except json.JSONDecodeError:
        whole = None
    if isinstance(whole, dict):
        return [_check_call(whole, path)]
    if isinstance(whole, list):
        return [_check_call(c, f"{path} item {i}") for i, c in enumerate(whole)]

    calls = []
    for lineno, line in enumerate(content.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise SynthError(f"{path}:{lineno}: invalid JSON: {e.msg} (column {e.colno})")
        calls.append(_check_call(obj, f"{path}:{lineno}"))
    if not calls:
        raise SynthError(f"{path}: no calls found")
    return calls


def pick_call(calls, call_id, path):
    if call_id is not None:
        for call in calls:
            if call["id"] == call_id:
                return call
        known = ", ".join(c["id"] for c in calls)
        raise SynthError(f"unknown call id {call_id!r} in {path} (known: {known})")
    if len(calls) == 1:
        return calls[0]
    raise SynthError(
        f"{path} holds {len(calls)} calls; choose one with --call ID or render all with --all OUTDIR")


# --------------------------------------------------------------------------- tools

def find_tools():
    tools = {}
    for name in ("espeak-ng", "sox"):
        exe = shutil.which(name)
        if exe is None:
            hint = "apt-get install espeak-ng" if name == "espeak-ng" else "apt-get install sox libsox-fmt-all"
            raise SynthError(f"{name} not found on PATH (install it, e.g. `{hint}`)")
        tools[name] = exe
    return tools


def _run(cmd, what):
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as e:
        raise SynthError(f"{what}: cannot run {cmd[0]}: {e}")
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip() or f"exit status {proc.returncode}"
        raise SynthError(f"{what}: {os.path.basename(cmd[0])} failed: {msg}")
    return proc.stdout


def check_voice(tools, voice, tmpdir):
    out = os.path.join(tmpdir, "voicecheck.wav")
    _run([tools["espeak-ng"], "-v", voice, "-w", out, "ok"], f"voice {voice!r}")


# --------------------------------------------------------------------------- synthesis

def synth_turn(tools, tmpdir, index, text, voice, speed, rate):
    """Synthesise one turn; return mono int16 samples at `rate`, trimmed to speech."""
    txt = os.path.join(tmpdir, f"turn{index:03d}.txt")
    raw_wav = os.path.join(tmpdir, f"turn{index:03d}.wav")
    with open(txt, "w", encoding="utf-8") as f:
        f.write(text.strip() + "\n")
    what = f"turn {index}"
    _run([tools["espeak-ng"], "-v", voice, "-s", str(speed), "-b", "1",
          "-f", txt, "-w", raw_wav], what)
    # -R: repeatable, -D: no dither -> deterministic output.
    pcm = _run([tools["sox"], "-R", "-D", "-V1", raw_wav,
                "-t", "raw", "-e", "signed-integer", "-b", "16", "-c", "1", "-r", str(rate),
                "-L", "-"], what)
    samples = array.array("h")
    samples.frombytes(pcm)
    if sys.byteorder != "little":
        samples.byteswap()
    first = next((i for i, x in enumerate(samples) if abs(x) > TRIM_THRESHOLD), None)
    if first is None:
        raise SynthError(f"{what}: espeak-ng produced no audible speech for {text!r}")
    last = next(i for i in range(len(samples) - 1, -1, -1) if abs(samples[i]) > TRIM_THRESHOLD)
    return samples[first:last + 1]


def render_call(call, out_path, tools, opts):
    rate = opts.rate
    turns = call["turns"]
    voices = {"rep": opts.rep_voice, "prospect": opts.prospect_voice}

    with tempfile.TemporaryDirectory(prefix="synth_call_") as tmpdir:
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 2)) as ex:
            futures = [ex.submit(synth_turn, tools, tmpdir, i, t["text"], voices[t["speaker"]],
                                 opts.speed, rate)
                       for i, t in enumerate(turns)]
            clips = [f.result() for f in futures]

        lead = round(opts.lead * rate)
        gap = round(opts.gap * rate)
        tail = round(opts.tail * rate)
        placed = []
        cursor = lead
        for i, (turn, clip) in enumerate(zip(turns, clips)):
            placed.append((cursor, cursor + len(clip)))
            cursor += len(clip) + (gap if i + 1 < len(turns) else 0)
        total = cursor + tail

        # Interleaved stereo buffer: index 2*n = left (rep), 2*n+1 = right (prospect).
        buf = array.array("h", bytes(4 * total))
        if opts.noise is not None:
            add_noise(buf, opts.noise)
        for turn, clip, (start, _end) in zip(turns, clips, placed):
            ch = 0 if turn["speaker"] == "rep" else 1
            if opts.noise is None:
                buf[2 * start + ch:2 * (start + len(clip)):2] = clip
            else:
                seg = buf[2 * start + ch:2 * (start + len(clip)):2]
                buf[2 * start + ch:2 * (start + len(clip)):2] = array.array(
                    "h", (max(-32768, min(32767, a + b)) for a, b in zip(seg, clip)))

        write_audio(buf, rate, out_path, tools, tmpdir)

    def ms(n):
        return round(n * 1000 / rate)

    manifest = {
        "call_id": call["id"],
        "title": call.get("title", ""),
        "sample_rate": rate,
        "channels": {"left": "rep", "right": "prospect"},
        "voices": voices,
        "duration_ms": ms(total),
        "turns": [
            {
                "index": i,
                "speaker": t["speaker"],
                "text": t["text"],
                "expect": t.get("expect", "none"),
                "start_ms": ms(start),
                "end_ms": ms(end),
                "start_sample": start,
                "end_sample": end,
            }
            for i, (t, (start, end)) in enumerate(zip(turns, placed))
        ],
    }
    manifest_path = out_path + ".manifest.json"
    try:
        with open(manifest_path, "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=2, ensure_ascii=False)
            f.write("\n")
    except OSError as e:
        raise SynthError(f"cannot write {manifest_path}: {e}")
    return manifest, manifest_path


def add_noise(buf, level_db):
    """Fill buf with deterministic Gaussian noise whose RMS is `level_db` dBFS."""
    sigma = 32768.0 * 10.0 ** (level_db / 20.0)
    rng = random.Random(NOISE_SEED)
    gauss = rng.gauss
    n = len(buf)
    # Generate a long block once and repeat it; 7.3 s of stereo noise at any
    # rate is far longer than a noticeable loop.
    block_len = min(n, 2 * 117_000)
    block = array.array("h", (max(-32768, min(32767, int(round(gauss(0.0, sigma)))))
                              for _ in range(block_len)))
    for off in range(0, n, block_len):
        chunk = min(block_len, n - off)
        buf[off:off + chunk] = block[:chunk]


def write_audio(buf, rate, out_path, tools, tmpdir):
    ext = os.path.splitext(out_path)[1].lower()
    out_dir = os.path.dirname(os.path.abspath(out_path))
    if not os.path.isdir(out_dir):
        raise SynthError(f"output directory does not exist: {out_dir}")
    if sys.byteorder != "little":
        buf = array.array("h", buf)
        buf.byteswap()
    wav_path = out_path if ext == ".wav" else os.path.join(tmpdir, "mix.wav")
    try:
        with wave.open(wav_path, "wb") as w:
            w.setnchannels(2)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(buf.tobytes())
    except OSError as e:
        raise SynthError(f"cannot write {wav_path}: {e}")
    if ext == ".wav":
        return
    if ext == ".flac":
        fmt = ["-C", "8"]
    elif ext:
        fmt = []  # let sox pick the format from the extension
    else:
        raise SynthError(f"output {out_path!r} has no extension; use .wav or .flac")
    _run([tools["sox"], "-R", "-D", "-V1", wav_path] + fmt + [out_path], f"writing {out_path}")


# --------------------------------------------------------------------------- cli

def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Render a scripted call (JSON or JSONL) to stereo audio: "
                    "left = rep, right = prospect. Writes <out>.manifest.json with turn timings.")
    p.add_argument("input", help="JSON file with one call, or JSONL file with one call per line")
    p.add_argument("--call", metavar="ID", help="call id to render from a JSONL file")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--out", metavar="PATH", help="output audio file (.wav 16-bit or .flac)")
    target.add_argument("--all", metavar="OUTDIR",
                        help="render every call into OUTDIR/<id>.wav (+ manifest each)")
    p.add_argument("--rate", type=int, default=16000, help="sample rate in Hz (default 16000)")
    p.add_argument("--gap", type=float, default=0.7, help="silence between turns in s (default 0.7)")
    p.add_argument("--lead", type=float, default=0.5, help="silence before the first turn in s (default 0.5)")
    p.add_argument("--tail", type=float, default=1.5, help="silence after the last turn in s (default 1.5)")
    p.add_argument("--noise", type=float, metavar="DB", default=None,
                   help="add deterministic background noise at this RMS level in dBFS, e.g. -60 (default off)")
    p.add_argument("--speed", type=int, default=SPEED_WPM, help=f"espeak-ng words per minute (default {SPEED_WPM})")
    p.add_argument("--rep-voice", default=REP_VOICE, help=f"espeak-ng voice for the rep (default {REP_VOICE})")
    p.add_argument("--prospect-voice", default=PROSPECT_VOICE,
                   help=f"espeak-ng voice for the prospect (default {PROSPECT_VOICE})")
    args = p.parse_args(argv)
    if not 8000 <= args.rate <= 96000:
        p.error("--rate must be between 8000 and 96000")
    for name in ("gap", "lead", "tail"):
        v = getattr(args, name)
        if not (v >= 0 and math.isfinite(v)):
            p.error(f"--{name} must be a non-negative number of seconds")
    if args.noise is not None and not (math.isfinite(args.noise) and args.noise < 0):
        p.error("--noise is a level in dBFS and must be negative, e.g. -60")
    if not 80 <= args.speed <= 450:
        p.error("--speed must be between 80 and 450 words per minute")
    if args.all and args.call:
        p.error("--call and --all cannot be used together")
    return args


def main(argv=None):
    args = parse_args(argv)
    calls = load_calls(args.input)
    tools = find_tools()
    with tempfile.TemporaryDirectory(prefix="synth_call_") as tmpdir:
        for voice in {args.rep_voice, args.prospect_voice}:
            check_voice(tools, voice, tmpdir)

    if args.all:
        os.makedirs(args.all, exist_ok=True)
        jobs = [(c, os.path.join(args.all, c["id"] + ".wav")) for c in calls]
    else:
        jobs = [(pick_call(calls, args.call, args.input), args.out)]

    for call, out in jobs:
        manifest, manifest_path = render_call(call, out, tools, args)
        print(f"{out}: call {manifest['call_id']}, {len(manifest['turns'])} turns, "
              f"{manifest['duration_ms'] / 1000:.2f} s; manifest {manifest_path}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SynthError as e:
        print(f"synth_call: error: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
