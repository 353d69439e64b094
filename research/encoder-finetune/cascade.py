"""A cascade of two replica classifiers: the second (with a second view) decides only the
turns the first scores at least `lo`; the others fire nothing. For each `lo`, the threshold
is calibrated anew on the calibration data, as replica.py does.

usage: cascade.py sets.json FIRST.json SECOND.json   (both written by replica.py --dump)"""
import json, sys
import numpy as np
from scoring import calibrated, score, split

sets = json.load(open(sys.argv[1]))
first, second = json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
SETS = split(sets)

def cascade(name, lo):
    return [b if a[1] >= lo else (a[0], 0.0) for a, b in zip(first[name], second[name])]

calls = SETS[4][1]
prospect = [i for i, (_, _, source) in enumerate(calls) if source.endswith(':prospect')]
for lo in [0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5]:
    chosen = calibrated(SETS[0][1], cascade('calibration', lo))
    share = np.mean([first['dev-call turns'][i][1] >= lo for i in prospect])
    line = f'lo {lo:.2f}  threshold {chosen:.2f}  second pass on {share:.2f} of prospect turns |'
    for name, rows in SETS:
        line += ' %s %.3f/%.3f' % ((name,) + score(rows, cascade(name, lo), chosen))
    print(line)
