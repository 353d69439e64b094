"""A Python replica of the hybrid matcher's classifier, to compare sentence encoders.

usage: replica.py sets.json EMBEDDINGS.json [--second OTHER.json [--second-scale S]] [--sweep] [--false-alarms]
                  [--dump PREDICTIONS.json]
Features as in crates/engine/src/matcher/classifier.rs: the sentence embedding, word 1-2-gram
and char 2-5-gram TF-IDF, and each category's two nearest library phrasings (leave-one-out
on the library); with --second, also each category's two nearest phrasings by a second
set of embeddings of the same texts (scaled by S, default 2). --dump writes each set's
(top category, score) per item, for cascade.py. Logistic regression trained on the library. The threshold is the lowest
with false alarms <= 0.03 on the calibration data (our calibration set + the dev set's even
lines); figures are printed for every set. Its absolute figures sit a little below the Rust
matcher's (its linear model is not the same trainer), so compare encoders within it."""
import json, sys
import numpy as np, scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from scoring import THRESHOLDS, best, calibrated, score, split

def option(name, default=None):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default

def load(path):
    return {d['text']: np.array(d['emb'], dtype=np.float32) for d in json.load(open(path))}

sets = json.load(open(sys.argv[1]))
E = load(sys.argv[2])
E2 = load(option('--second')) if option('--second') else None
SECOND_SCALE = float(option('--second-scale', 2))
lib = sets['lib']
SETS = split(sets)
calibration = SETS[0][1]
texts = [t for t, _, _ in lib]
y = np.array([c for _, c, _ in lib])
classes = sorted(set(y))
lib_vectors = np.stack([E[t] for t in texts])
lib_vectors2 = np.stack([E2[t] for t in texts]) if E2 else None

def nearest(vectors, leave_one_out, library=lib_vectors):
    s = vectors @ library.T
    if leave_one_out:
        np.fill_diagonal(s, -1)
    return np.stack([np.sort(s[:, y == c], axis=1)[:, -2:].mean(1) for c in classes], 1)

words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit(texts)
chars = TfidfVectorizer(analyzer='char_wb', ngram_range=(2, 5), sublinear_tf=True, min_df=2).fit(texts)

def features(txts, leave_one_out=False):
    vectors = np.stack([E[t] for t in txts])
    blocks = [sp.csr_matrix(vectors * 2), words.transform(txts), chars.transform(txts),
              sp.csr_matrix(nearest(vectors, leave_one_out) * 4)]
    if E2:
        second = nearest(np.stack([E2[t] for t in txts]), leave_one_out, lib_vectors2)
        blocks.append(sp.csr_matrix(second * SECOND_SCALE))
    return sp.hstack(blocks).tocsr()

model = LogisticRegression(C=64, max_iter=5000, class_weight='balanced').fit(features(texts, True), y)
none = list(model.classes_).index('none')

def predict(rows):
    p = model.predict_proba(features([t for t, _, _ in rows]))
    p[:, none] = -1
    return [(model.classes_[i], q[i]) for q, i in zip(p, p.argmax(1))]

predicted = {name: predict(rows) for name, rows in SETS}
chosen = calibrated(calibration, predicted['calibration'])
print(f'threshold {chosen:.2f} (false alarms <= 0.03 on the calibration data)')
for name, rows in SETS:
    acc, fa = score(rows, predicted[name], chosen)
    print(f'  {name:20s} accuracy {acc:.3f}  false alarms {fa:.3f}')
for name in ('dev', 'held-out'):
    acc, t = best(dict(SETS)[name], predicted[name])
    print(f'  best {name} accuracy at false alarms <= 0.03, any threshold: {acc:.3f} ({t:.2f})')
if '--sweep' in sys.argv:
    for t in THRESHOLDS[55::3]:
        print(f'{t:.2f} ' + '  '.join('%s %.3f/%.3f' % ((n,) + score(r, predicted[n], t)) for n, r in SETS))
if '--false-alarms' in sys.argv:
    for name, rows in SETS[1:]:
        for (text, expect, _), (cat, s) in zip(rows, predicted[name]):
            if expect == 'none' and s >= chosen:
                print(f'  FA {name}: {cat} {s:.2f} {text}')
if option('--dump'):
    json.dump({name: [[c, float(s)] for c, s in predicted[name]] for name, _ in SETS}, open(option('--dump'), 'w'))
