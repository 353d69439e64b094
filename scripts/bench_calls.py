#!/usr/bin/env python3
"""End-to-end figures on scripted calls: objections caught, false cards, card latency,
ASR real-time factor and peak RSS, by replaying synthesised audio through `cuecard`.

    python3 scripts/bench_calls.py CALLS.jsonl [--pace realtime|fast] [--out DIR] [-- extra replay args]

Each call is rendered with scripts/synth_call.py (rep left, prospect right), replayed
with `cuecard replay --json`, and every card is matched to the turn it fired on.
Latency = card wall-clock time minus the end of the objection's audio (negative: the
card came while the prospect was still talking); only at realtime pace, since fast pace
runs ahead of the audio clock. Each call's events are kept beside its audio as
CALL.events.jsonl. Needs a built cuecard and a model.
"""
import argparse, json, os, re, statistics, subprocess, sys, tempfile

# Voice activity detection opens and closes an utterance a little off the script's turn
# times; an utterance this close to a turn counts as that turn's.
TURN_SLACK_MS = 400

def pct(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    k = (len(xs) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)

def words(text):
    return re.findall(r"[a-z0-9']+", text.lower().replace("-", " "))

def edits(ref, hyp):
    """Word-level edit distance (substitutions + insertions + deletions)."""
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("calls")
    ap.add_argument("--pace", default="realtime")
    ap.add_argument("--out", default=None)
    ap.add_argument("--bin", default="target/release/cuecard")
    ap.add_argument("extra", nargs="*")
    # Anything argparse does not know goes to cuecard (e.g. `-- --asr-prompt off`).
    a, rest = ap.parse_known_args()
    a.extra += [x for x in rest if x != "--"]
    out = a.out or tempfile.mkdtemp(prefix="cuecard-bench-")
    os.makedirs(out, exist_ok=True)
    subprocess.run([sys.executable, "scripts/synth_call.py", a.calls, "--all", out], check=True, stdout=subprocess.DEVNULL)
    ids = [json.loads(l)["id"] for l in open(a.calls) if l.strip()]
    tot = dict(objections=0, caught=0, false_cards=0, wrong_category=0)
    lat, rtf, rss = [], [], []
    wer_edits, wer_words = 0, 0
    for cid in ids:
        wav = os.path.join(out, cid + ".wav")
        man = json.load(open(wav + ".manifest.json"))
        cmd = ["/usr/bin/time", "-f", "%M", a.bin, "replay", "--json", "--no-record", "--pace", a.pace, wav] + a.extra
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"{cid}: replay failed: {p.stderr}")
        rss.append(int(p.stderr.strip().splitlines()[-1]) / 1024)
        ev = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
        with open(os.path.join(out, cid + ".events.jsonl"), "w") as f:
            f.write(p.stdout)
        cards = [e for e in ev if e["type"] == "card"]
        summ = [e for e in ev if e["type"] == "summary"][0]
        rtf.append(summ["asr"]["real_time_factor"])
        turns = man["turns"]
        # Word error rate of the final transcripts against the script, per speaker.
        for side in ("rep", "prospect"):
            ref = [w for t in turns if t["speaker"] == side for w in words(t["text"])]
            hyp = [w for e in ev if e["type"] == "transcript" and e["final"] and e["speaker"] == side for w in words(e["text"])]
            wer_edits += edits(ref, hyp)
            wer_words += len(ref)
        hit_turns = set()
        false_here = 0
        for c in cards:
            s = c["utterance_start_ms"]
            t = next((t for t in turns if s + TURN_SLACK_MS >= t["start_ms"] and s <= t["end_ms"]), None)
            if t is None or t["expect"] == "none":
                false_here += 1
                print(f"  {cid}: FALSE card {c['category']} on {t['speaker'] if t else '?'}: {c['text']!r}")
                continue
            if c["category"] != t["expect"]:
                tot["wrong_category"] += 1
                false_here += 1
                print(f"  {cid}: WRONG card {c['category']} (expected {t['expect']}): {c['text']!r}")
                continue
            if t["index"] not in hit_turns:
                hit_turns.add(t["index"])
                if a.pace == "realtime":
                    lat.append((c["wall_ms"] - t["end_ms"]) / 1000.0)
        objs = [t for t in turns if t["expect"] != "none"]
        for t in objs:
            if t["index"] not in hit_turns:
                print(f"  {cid}: MISSED {t['expect']}: {t['text']!r}")
        tot["objections"] += len(objs)
        tot["caught"] += len(hit_turns)
        tot["false_cards"] += false_here
        print(f"{cid}: {len(hit_turns)}/{len(objs)} caught, {false_here} false, rtf {summ['asr']['real_time_factor']:.3f}, rss {rss[-1]:.0f} MB")
    print(json.dumps({
        "pace": a.pace, "calls": len(ids), **tot,
        "false_cards_per_call": tot["false_cards"] / len(ids),
        "latency_s_p50": round(pct(lat, 0.5), 2) if lat else None,
        "latency_s_p95": round(pct(lat, 0.95), 2) if lat else None,
        "latencies_s": [round(x, 2) for x in sorted(lat)],
        "word_error_rate": round(wer_edits / max(wer_words, 1), 4),
        "rtf_median": round(statistics.median(rtf), 3), "peak_rss_mb_max": round(max(rss)),
    }, indent=1))

if __name__ == "__main__":
    main()
