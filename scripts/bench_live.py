#!/usr/bin/env python3
"""Live-capture figures through a real PulseAudio server: scripted calls are played into
null sinks (prospect = the call's output, rep = a second sink standing in for the
microphone) while `cuecard listen --json` coaches them.

    python3 scripts/bench_live.py CALLS.jsonl [--bin target/release/cuecard]
    python3 scripts/bench_live.py CALLS.jsonl --soak 600     # loop the calls for 10 min:
                                                             # CPU and RSS over time

Latency = when the card line reached stdout minus when the objection's audio finished
playing (paplay start + turn end). It includes the null sink's own buffering (PulseAudio
null sinks add up to ~2 s; real devices add tens of ms). Starts its own PulseAudio
daemon in a private runtime dir; needs pulseaudio, pulseaudio-utils, sox, espeak-ng.
"""
import argparse, json, os, subprocess, sys, tempfile, threading, time, statistics

from bench_calls import pct  # same percentile as the replay figures

class Pulse:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="cuecard-pulse-")
        self.env = dict(os.environ, XDG_RUNTIME_DIR=self.dir, HOME=self.dir)
        self.proc = subprocess.Popen(["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1",
                                      "--log-level=error", "-L", "module-native-protocol-unix"],
                                     env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(150):
            if subprocess.run(["pactl", "info"], env=self.env, capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        for sink in ("call", "mic"):
            subprocess.run(["pactl", "load-module", "module-null-sink", f"sink_name={sink}"], env=self.env, check=True, capture_output=True)

    def play(self, sink, wav):
        return subprocess.Popen(["paplay", "-d", sink, wav], env=self.env)

    def close(self):
        self.proc.kill()

class Listen:
    """cuecard listen, with each stdout line stamped on arrival."""
    def __init__(self, pulse, binary, extra):
        self.lines = []
        self.proc = subprocess.Popen([binary, "listen", "--json", "--no-record", "--mic", "pulseaudio:mic.monitor",
                                      "--loopback", "pulseaudio:call"] + extra,
                                     env=pulse.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        threading.Thread(target=self._read, daemon=True).start()
        while sum(1 for _, e in self.lines if e["type"] == "device" and e["kind"] == "opened") < 2:
            if self.proc.poll() is not None:
                sys.exit("cuecard listen exited early")
            time.sleep(0.05)
        time.sleep(0.5)

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append((time.monotonic(), json.loads(line)))

    def stop(self):
        self.proc.send_signal(2)
        self.proc.wait(timeout=120)

def sides(wav, out):
    rep, prospect = out + ".rep.wav", out + ".prospect.wav"
    subprocess.run(["sox", wav, rep, "remix", "1"], check=True)
    subprocess.run(["sox", wav, prospect, "remix", "2"], check=True)
    return rep, prospect

def rss_mb(pid):
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmRSS:"):
            return int(l.split()[1]) / 1024
    return 0.0

def cpu_s(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("calls")
    ap.add_argument("--bin", default="target/release/cuecard")
    ap.add_argument("--soak", type=float, default=0, help="loop the calls for this many seconds")
    ap.add_argument("extra", nargs="*")
    # Anything argparse does not know goes to cuecard (e.g. `-- --asr-prompt off`).
    a, rest = ap.parse_known_args()
    a.extra += [x for x in rest if x != "--"]
    out = tempfile.mkdtemp(prefix="cuecard-live-")
    subprocess.run([sys.executable, "scripts/synth_call.py", a.calls, "--all", out], check=True, stdout=subprocess.DEVNULL)
    ids = [json.loads(l)["id"] for l in open(a.calls) if l.strip()]
    pulse = Pulse()
    try:
        if a.soak:
            soak(pulse, a, ids, out)
        else:
            latency(pulse, a, ids, out)
    finally:
        pulse.close()

def latency(pulse, a, ids, out):
    tot = dict(objections=0, caught=0, false_cards=0)
    lat = []
    for cid in ids:
        wav = os.path.join(out, cid + ".wav")
        turns = json.load(open(wav + ".manifest.json"))["turns"]
        rep, prospect = sides(wav, os.path.join(out, cid))
        listen = Listen(pulse, a.bin, a.extra)
        t0 = time.monotonic()
        players = [pulse.play("mic", rep), pulse.play("call", prospect)]
        for p in players:
            p.wait()
        time.sleep(6)
        listen.stop()
        hit, false_here = set(), 0
        for arrived, c in listen.lines:
            if c["type"] != "card":
                continue
            at = (arrived - t0) * 1000  # ms since playback started
            # The card belongs to the objection turn that was playing or had just ended.
            t = next((t for t in turns if t["speaker"] == "prospect" and t["expect"] == c["category"]
                      and t["start_ms"] - 500 <= at <= t["end_ms"] + 15000 and t["index"] not in hit), None)
            if t is None:
                false_here += 1
                print(f"  {cid}: FALSE/WRONG card {c['category']} at {at / 1000:.1f} s: {c['text']!r}")
                continue
            hit.add(t["index"])
            lat.append((at - t["end_ms"]) / 1000)
            print(f"  {cid}: card {c['category']} {lat[-1]:+.2f} s after the turn ended")
        objs = [t for t in turns if t["expect"] != "none"]
        for t in objs:
            if t["index"] not in hit:
                print(f"  {cid}: MISSED {t['expect']}: {t['text']!r}")
        tot["objections"] += len(objs)
        tot["caught"] += len(hit)
        tot["false_cards"] += false_here
        print(f"{cid}: {len(hit)}/{len(objs)} caught, {false_here} false", flush=True)
    print(json.dumps({"mode": "live", "calls": len(ids), **tot, "false_cards_per_call": round(tot["false_cards"] / len(ids), 2),
                      "latency_s_p50": round(pct(lat, 0.5), 2), "latency_s_p95": round(pct(lat, 0.95), 2),
                      "latencies_s": [round(x, 2) for x in sorted(lat)]}, indent=1))

def soak(pulse, a, ids, out):
    pairs = [sides(os.path.join(out, c + ".wav"), os.path.join(out, c)) for c in ids]
    listen = Listen(pulse, a.bin, a.extra)
    pid, start, cpu0 = listen.proc.pid, time.monotonic(), cpu_s(listen.proc.pid)
    t_start = start
    samples, i = [], 0
    while time.monotonic() - start < a.soak:
        rep, prospect = pairs[i % len(pairs)]
        i += 1
        players = [pulse.play("mic", rep), pulse.play("call", prospect)]
        while any(p.poll() is None for p in players):
            samples.append((time.monotonic() - start, rss_mb(pid)))
            time.sleep(5)
    elapsed, cpu = time.monotonic() - start, cpu_s(pid) - cpu0
    listen.stop()
    cards = [arrived - t_start for arrived, e in listen.lines if e["type"] == "card"]
    rss = [r for _, r in samples]
    third = max(1, len(rss) // 3)
    print(json.dumps({"mode": "soak", "seconds": round(elapsed), "calls_played": i,
                      "cpu_percent_of_one_core": round(100 * cpu / elapsed, 1),
                      "rss_mb_first_third_median": round(statistics.median(rss[:third]), 1),
                      "rss_mb_last_third_median": round(statistics.median(rss[-third:]), 1),
                      "rss_mb_peak": round(max(rss), 1),
                      # Median per minute: growth that levels off (buffers reaching their
                      # largest size) versus a leak (keeps climbing).
                      "rss_mb_per_minute": [round(statistics.median([r for t, r in samples if m * 60 <= t < (m + 1) * 60]), 1)
                                            for m in range(int(elapsed // 60)) if any(m * 60 <= t < (m + 1) * 60 for t, _ in samples)],
                      "cards": len(cards),
                      # Coaching must not fade as the session ages: cards per third of it.
                      "cards_per_third": [sum(1 for t in cards if k * elapsed / 3 <= t < (k + 1) * elapsed / 3) for k in range(3)]}, indent=1))

if __name__ == "__main__":
    main()
