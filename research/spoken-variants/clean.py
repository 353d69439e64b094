"""clean.py OUTDIR IN.jsonl... -> OUTDIR/<name>: drops lines that echo phrasings my prompts quoted
from dev misses, lines close to any dev, held-out or calibration line, and duplicates.
Run from the repository root, with ../shared/eval beside it."""
import json, re, sys, os
SEEDED = ['field day', 'adoption is always the problem', 'hire another', 'calling back',
          'earmarked already', 'sister company', 'parent company']
def toks(s): return set(re.findall(r"[a-z0-9']+", s.lower()))
ref = []
for p in ['../shared/eval/dev-utterances.jsonl', 'tests/fixtures/heldout-utterances.jsonl',
          'tests/fixtures/calibration-utterances.jsonl']:
    ref += [toks(json.loads(l)['text']) for l in open(p) if l.strip()]
for c in open('../shared/eval/dev-calls.jsonl'):
    ref += [toks(t['text']) for t in json.loads(c)['turns']]
out_dir = sys.argv[1]
os.makedirs(out_dir, exist_ok=True)
seen = set()
for path in sys.argv[2:]:
    kept, dropped = [], []
    for l in open(path):
        if not l.strip(): continue
        r = json.loads(l); t = r['text']; tk = toks(t)
        key = ' '.join(sorted(tk))
        why = None
        if any(s in t.lower() for s in SEEDED): why = 'seeded'
        elif key in seen: why = 'dup'
        else:
            j = max((len(tk & x) / len(tk | x) for x in ref if tk | x), default=0)
            if j >= 0.5: why = f'close {j:.2f}'
        seen.add(key)
        (dropped if why else kept).append((r, why))
    with open(os.path.join(out_dir, os.path.basename(path)), 'w') as f:
        for r, _ in kept: f.write(json.dumps(r) + '\n')
    print(path, 'kept', len(kept), 'dropped', len(dropped))
    for r, why in dropped: print('   ', why, '|', r['text'][:100])
