#!/usr/bin/env python3
"""Label the prospect transcripts of replayed scripted calls, for calibrating on live text.

    python3 scripts/label_transcripts.py DIR --out LINES.jsonl [--partials] [--yaml LIBRARY_FILE.yaml]

DIR is a `scripts/bench_calls.py --out DIR` folder: CALL.wav.manifest.json (the script's
turns with their audio times) beside CALL.events.jsonl (what `cuecard replay --json` saw).
Every final prospect transcript becomes one `cuecard eval` line labelled with the turn it
covers: the turn's category, or `none`. A transcript that covers no prospect turn, or runs
over two objections of different categories, is left out (no single right answer). With
--partials, the partial transcripts of `none` turns are kept too, marked `"partial": true`:
they are the misheard, cut-off fragments a sure matcher fires on. `cuecard eval` ignores the
mark and scores them at the final threshold, stricter than the app's bar for partials.
Partials of objection turns are left out, because the words that make the objection may
not have been heard yet.

With --yaml, the `none` lines (finals and, with --partials, partials) are also written as an
objection-library file of `not_objections`, each text once whatever its case (the
experiment in research/live-calibration/README.md, "Transcribed fragments").

Identical (text, label) pairs are written once, as the first seen: a final that repeats an
earlier partial word for word stays a partial line. The output is deterministic.
"""
import argparse, glob, json, os, sys

from bench_calls import TURN_SLACK_MS  # the same tolerance the end-to-end figures use


def covered_turns(turns, start_ms, end_ms):
    return [t for t in turns if t["speaker"] == "prospect"
            and t["start_ms"] < end_ms + TURN_SLACK_MS and start_ms < t["end_ms"] + TURN_SLACK_MS]


def label(turns, event):
    """The transcript's label, or None when it has no single one."""
    hit = covered_turns(turns, event["start_ms"], event["end_ms"])
    if not hit:
        return None
    objections = {t["expect"] for t in hit if t["expect"] != "none"}
    if not objections:
        return "none"
    if len(objections) > 1 or not event["final"]:
        return None
    return objections.pop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir")
    ap.add_argument("--out", required=True)
    ap.add_argument("--partials", action="store_true")
    ap.add_argument("--yaml", help="also write the none lines here, as a library file of not_objections")
    a = ap.parse_args()
    manifests = sorted(glob.glob(os.path.join(a.dir, "*.wav.manifest.json")))
    if not manifests:
        sys.exit(f"{a.dir}: no *.wav.manifest.json here; run scripts/bench_calls.py --out {a.dir} first")
    lines, seen = [], set()
    counts = dict(final_objection=0, final_none=0, partial_none=0, skipped=0)
    for path in manifests:
        man = json.load(open(path))
        cid = man["call_id"]
        events_path = path[: -len(".wav.manifest.json")] + ".events.jsonl"
        if not os.path.exists(events_path):
            sys.exit(f"{events_path}: missing; replay {cid} with scripts/bench_calls.py first")
        with open(events_path) as f:
            events = [json.loads(l) for l in f if l.strip()]
        for e in events:
            if e["type"] != "transcript" or e["speaker"] != "prospect" or not e["text"].strip():
                continue
            if not e["final"] and not a.partials:
                continue
            expect = label(man["turns"], e)
            if expect is None:
                counts["skipped"] += 1
                continue
            key = (e["text"].strip(), expect)
            if key in seen:
                continue
            seen.add(key)
            kind = "final" if e["final"] else "partial"
            counts[f"{kind}_{'none' if expect == 'none' else 'objection'}"] += 1
            line = {"id": f"{cid}-u{e['utterance_id']}-{e['end_ms']}", "text": key[0], "expect": expect}
            if not e["final"]:
                line["partial"] = True
            lines.append(line)
    write_atomically(a.out, [json.dumps(line) + "\n" for line in lines])
    if a.yaml:
        none = [l["text"] for l in lines if l["expect"] == "none"]
        write_yaml(a.yaml, none, a.dir, a.partials)
    print(json.dumps(counts), file=sys.stderr)


def write_atomically(path, chunks):
    """Writes beside `path`, then renames: an interrupted run leaves the old file whole."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.writelines(chunks)
    os.replace(tmp, path)


def write_yaml(path, texts, source_dir, partials):
    kept, seen = [], set()
    for t in texts:
        if t.lower() not in seen:
            seen.add(t.lower())
            kept.append(t)
    what = "finals and the partials before them" if partials else "their final transcripts"
    header = (
        "# What tiny.en made of a prospect's ordinary (`none`) turns:\n"
        f"# {what}, as scripts/label_transcripts.py --yaml labelled them\n"
        f"# in the replays of {source_dir}\n"
        "# (scripts/bench_calls.py --out). Like the other not-objection files, they show the\n"
        "# matchers what not to fire on; see research/live-calibration/README.md.\n"
        "not_objections:\n"
    )
    # JSON strings are valid YAML double-quoted scalars.
    write_atomically(path, [header] + [f"  - {json.dumps(t, ensure_ascii=False)}\n" for t in kept])


if __name__ == "__main__":
    main()
