"""Fine-tune all-MiniLM-L6-v2 on the library's phrasings and write every set's embeddings.

usage: finetune.py MODEL_DIR sets.json OUT.json [--epochs 2] [--lr 2e-5] [--loss supcon|ce]
       [--train-from LAYER] [--none-negative-only] [--seed 0] [--save DIR]
       [--lora RANK [--lora-out FILE]]
`--epochs 0` writes the stock model's embeddings (the baseline). `--lora RANK` trains only
low-rank updates of every linear layer of the encoder (the base weights stay frozen) and
`--lora-out` writes them as the engine's encoder adapter (see crates/engine/src/embed/adapter.rs)."""
import argparse, json, time
import torch, torch.nn.functional as F
from transformers import BertModel, BertTokenizer

ap = argparse.ArgumentParser()
ap.add_argument('model'); ap.add_argument('sets'); ap.add_argument('out')
ap.add_argument('--epochs', type=int, default=2); ap.add_argument('--lr', type=float, default=2e-5)
ap.add_argument('--loss', choices=['supcon', 'ce'], default='supcon')
ap.add_argument('--train-from', type=int, default=0, help='freeze the embeddings and the layers below this one')
ap.add_argument('--none-negative-only', action='store_true', help='supcon: `none` phrasings are never pulled together')
ap.add_argument('--save', metavar='DIR', help='also write the tuned encoder (config, vocab, model.safetensors) here')
ap.add_argument('--seed', type=int, default=0); ap.add_argument('--batch', type=int, default=32)
ap.add_argument('--lora', type=int, default=0, metavar='RANK'); ap.add_argument('--lora-alpha', type=float)
ap.add_argument('--lora-out', metavar='FILE')
args = ap.parse_args()
torch.manual_seed(args.seed)
tok = BertTokenizer(f'{args.model}/vocab.txt', do_lower_case=True)
enc = BertModel.from_pretrained(args.model)
sets = json.load(open(args.sets))
texts = [t for t, _, _ in sets['lib']]
classes = sorted({c for _, c, _ in sets['lib']})
y = torch.tensor([classes.index(c) for _, c, _ in sets['lib']])

def embed(txts):
    """sentence-transformers' pooling, as the engine does it: masked mean, then L2."""
    b = tok(txts, padding=True, truncation=True, max_length=128, return_tensors='pt')
    m = b['attention_mask'].unsqueeze(-1).float()
    return F.normalize((enc(**b).last_hidden_state * m).sum(1) / m.sum(1), dim=-1)

def supervised_contrastive(z, labels, temperature=0.05, none_negative_only=False):
    """Each phrasing is pulled toward the batch's other phrasings of its category."""
    eye = torch.eye(len(labels), dtype=torch.bool)
    s = (z @ z.T / temperature).masked_fill(eye, -1e9)
    positive = (labels[:, None] == labels[None, :]) & ~eye
    if none_negative_only:
        positive &= (labels != classes.index('none'))[:, None]
    logp = s - torch.logsumexp(s, 1, keepdim=True)
    has = positive.any(1)
    return -((logp * positive).sum(1)[has] / positive.sum(1)[has]).mean()

for name, p in enc.named_parameters():
    trainable = any(name.startswith(f'encoder.layer.{k}.') for k in range(args.train_from, 6))
    p.requires_grad = (args.train_from == 0 or trainable) and not args.lora

class LowRank(torch.nn.Module):
    """W x + b + scale * B A x, with W and b frozen; B starts at zero (the stock model)."""
    def __init__(self, base, rank, scale):
        super().__init__()
        self.base, self.scale = base, scale
        self.a = torch.nn.Parameter(torch.randn(rank, base.in_features) / base.in_features ** 0.5)
        self.b = torch.nn.Parameter(torch.zeros(base.out_features, rank))
    def forward(self, x):
        return self.base(x) + (x @ self.a.T @ self.b.T) * self.scale

adapted = {}
if args.lora:
    scale = (args.lora_alpha or args.lora) / args.lora
    for name, module in list(enc.named_modules()):
        for child, linear in list(module.named_children()):
            if isinstance(linear, torch.nn.Linear) and name.startswith('encoder.layer.'):
                adapted[f'{name}.{child}'] = LowRank(linear, args.lora, scale)
                setattr(module, child, adapted[f'{name}.{child}'])
# Used by --loss ce only, but always created: its initialisation draws from the seeded
# generator, so leaving it out would change every supcon run and the figures in README.md.
head = torch.nn.Linear(384, len(classes))
counts = torch.bincount(y).float(); weight = (1 / counts) / (1 / counts).mean()
opt = torch.optim.AdamW([{'params': [p for p in enc.parameters() if p.requires_grad], 'lr': args.lr},
                         {'params': head.parameters(), 'lr': 3e-3}], weight_decay=0.01)
steps = max(1, args.epochs * -(-len(texts) // args.batch))
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, s / (0.1 * steps)) * max(0.0, (steps - s) / steps))
t0 = time.time()
for epoch in range(args.epochs):
    enc.train(); order = torch.randperm(len(texts)); total = 0.0
    for i in range(0, len(texts), args.batch):
        idx = order[i:i + args.batch]; z = embed([texts[j] for j in idx])
        if args.loss == 'ce':
            loss = F.cross_entropy(head(z * 20), y[idx], weight=weight)
        else:
            loss = supervised_contrastive(z, y[idx], none_negative_only=args.none_negative_only)
        opt.zero_grad(); loss.backward(); opt.step(); sched.step(); total += loss.item() * len(idx)
    print(f'epoch {epoch}: loss {total / len(texts):.4f}, {time.time() - t0:.0f} s', flush=True)
enc.eval()
everything = sorted({t for rows in sets.values() for t, _, _ in rows})
with torch.no_grad():
    vectors = torch.cat([embed(everything[i:i + 64]) for i in range(0, len(everything), 64)]).numpy()
json.dump([{'text': t, 'emb': v.tolist()} for t, v in zip(everything, vectors)], open(args.out, 'w'))
print(f'{len(everything)} embeddings -> {args.out}')
if args.lora_out:
    # The engine adds B @ A to each weight once at load (the scale folded into B).
    import hashlib
    from safetensors.torch import save_file
    base_sha256 = hashlib.sha256(open(f'{args.model}/model.safetensors', 'rb').read()).hexdigest()
    save_file({**{f'{n}.lora_a': m.a.detach().contiguous() for n, m in adapted.items()},
               **{f'{n}.lora_b': (m.b * m.scale).detach().contiguous() for n, m in adapted.items()}},
              args.lora_out, metadata={'rank': str(args.lora), 'base_sha256': base_sha256})
    print(f'adapter ({len(adapted)} layers, rank {args.lora}) -> {args.lora_out}')
if args.save:
    import shutil
    enc.save_pretrained(args.save, safe_serialization=True)
    shutil.copy(f'{args.model}/vocab.txt', args.save)
    print(f'tuned encoder -> {args.save}')
