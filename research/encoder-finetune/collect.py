"""Gather the library, our calibration set, the dev set, the dev calls' turns and the
held-out set into sets.json: [text, category, source] rows. Run from the repo root.

usage: collect.py [OUT.json] [--without-topical]
`--without-topical` leaves out objection-library/not-objections-topical.yaml (the library
as it was before the objection adapter, for the first tables in README.md)."""
import glob, json, sys
import yaml

def jsonl(path):
    return [json.loads(line) for line in open(path) if line.strip()]

library = []
TOPICAL = 'objection-library/not-objections-topical.yaml'
for path in sorted(glob.glob('objection-library/*.yaml')):
    if path == TOPICAL and '--without-topical' in sys.argv:
        continue
    doc = yaml.safe_load(open(path))
    for text in doc.get('not_objections') or []:
        library.append((text, 'none', 'notobj'))
    for obj in doc.get('objections') or []:
        library += [(t, obj['category'], 'trig:' + obj['id']) for t in obj['triggers']]
        library += [(t, 'none', 'mnf:' + obj['id']) for t in obj.get('must_not_fire') or []]
sets = {
    'lib': library,
    'own': [(d['text'], d['expect'], 'own') for d in jsonl('tests/fixtures/calibration-utterances.jsonl')],
    'dev': [(d['text'], d['expect'], 'dev:' + d['id']) for d in jsonl('../shared/eval/dev-utterances.jsonl')],
    'calls': [(t['text'], t['expect'], f"call:{c['id']}:{i}:{t['speaker']}")
              for c in jsonl('../shared/eval/dev-calls.jsonl') for i, t in enumerate(c['turns'])],
    'held': [(d['text'], d['expect'], 'held') for d in jsonl('tests/fixtures/heldout-utterances.jsonl')],
}
args = [a for a in sys.argv[1:] if not a.startswith('--')]
out = args[0] if args else 'sets.json'
json.dump(sets, open(out, 'w'))
print({k: len(v) for k, v in sets.items()}, '->', out)
