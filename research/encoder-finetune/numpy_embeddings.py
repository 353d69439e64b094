"""all-MiniLM-L6-v2's embeddings, with or without the shipped objection adapter, in numpy
alone (no torch), in replica.py's format.

usage: numpy_embeddings.py MODEL_DIR sets.json OUT.json [ADAPTER.safetensors] [--views]
With --views, OUT.json is a prefix and one file is written per view of the same pass:
OUT-L0.json .. OUT-L6.json (the mean over the tokens after the embeddings and after each
layer; L6 is the sentence embedding), OUT-cls.json and OUT-max.json (the last layer's first
token, and its max over the tokens). Needs `pip install numpy scipy safetensors tokenizers`. The adapter is merged as the engine
merges it (W + lora_b @ lora_a, in float64). The first line printed is the first five
dimensions of a sentence the engine's reference tests also list, as a check."""
import json, sys
import numpy as np
from scipy.special import erf
from safetensors.numpy import load_file
from tokenizers import BertWordPieceTokenizer

views_wanted = '--views' in sys.argv
args = [a for a in sys.argv[1:] if a != '--views']
model_dir, sets_path, out = args[:3]
W = {k.removeprefix('bert.'): v.astype(np.float64) for k, v in load_file(f'{model_dir}/model.safetensors').items()}
if len(args) > 3:
    adapter = load_file(args[3])
    for name in [k[:-len('.lora_a')] for k in adapter if k.endswith('.lora_a')]:
        W[name + '.weight'] += adapter[name + '.lora_b'].astype(np.float64) @ adapter[name + '.lora_a'].astype(np.float64)
W = {k: v.astype(np.float32) for k, v in W.items()}
tokenizer = BertWordPieceTokenizer(f'{model_dir}/vocab.txt', lowercase=True)
# Cut as the engine cuts: at most 256 ids, [SEP] kept last.
tokenizer.enable_truncation(256)

def norm(x, p):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + 1e-12) * W[p + '.weight'] + W[p + '.bias']

def linear(x, p):
    return x @ W[p + '.weight'].T + W[p + '.bias']

def embed(text):
    ids = tokenizer.encode(text).ids
    n = len(ids)
    e = 'embeddings.'
    x = W[e + 'word_embeddings.weight'][ids] + W[e + 'position_embeddings.weight'][:n] + W[e + 'token_type_embeddings.weight'][0]
    x = norm(x, e + 'LayerNorm')
    views = {'L0': x.mean(0)}
    for layer in range(6):
        p = f'encoder.layer.{layer}.'
        q, k, v = (linear(x, p + 'attention.self.' + s).reshape(n, 12, 32).transpose(1, 0, 2) for s in ('query', 'key', 'value'))
        a = q @ k.transpose(0, 2, 1) / np.sqrt(32)
        a = np.exp(a - a.max(-1, keepdims=True))
        a /= a.sum(-1, keepdims=True)
        x = norm(x + linear((a @ v).transpose(1, 0, 2).reshape(n, 384), p + 'attention.output.dense'), p + 'attention.output.LayerNorm')
        h = linear(x, p + 'intermediate.dense')
        x = norm(x + linear(0.5 * h * (1 + erf(h / np.sqrt(2))), p + 'output.dense'), p + 'output.LayerNorm')
        views[f'L{layer + 1}'] = x.mean(0)
    views['cls'], views['max'] = x[0], x.max(0)
    return {k: v / np.linalg.norm(v) for k, v in views.items()}

print(embed("That's way too expensive for us right now.")['L6'][:5])
sets = json.load(open(sets_path))
texts = sorted({row[0] for rows in sets.values() for row in rows})
embedded = [embed(t) for t in texts]
for view in embedded[0] if views_wanted else ['L6']:
    path = f'{out.removesuffix(".json")}-{view}.json' if views_wanted else out
    json.dump([{'text': t, 'emb': e[view].tolist()} for t, e in zip(texts, embedded)], open(path, 'w'))
print(len(texts), 'texts ->', out)
