"""Reference embeddings of the adapted encoder, for crates/engine/src/embed/reference_tests.rs.

usage: adapter_reference.py MODEL_DIR ADAPTER.safetensors TEXT...
Merges the adapter into the weights in float64 (W + lora_b @ lora_a) and prints each text's
first five embedding dimensions (mean pooling, L2 norm), as the engine's tests list them."""
import sys
import torch, torch.nn.functional as F
from safetensors.torch import load_file
from transformers import BertModel, BertTokenizer

model_dir, adapter_path, texts = sys.argv[1], sys.argv[2], sys.argv[3:]
tok = BertTokenizer(f'{model_dir}/vocab.txt', do_lower_case=True)
enc = BertModel.from_pretrained(model_dir).double().eval()
adapter = load_file(adapter_path)
weights = dict(enc.named_parameters())
with torch.no_grad():
    for name in [n[:-len('.lora_a')] for n in adapter if n.endswith('.lora_a')]:
        weights[f'{name}.weight'] += adapter[f'{name}.lora_b'].double() @ adapter[f'{name}.lora_a'].double()
    for text in texts:
        b = tok([text], truncation=True, max_length=256, return_tensors='pt')
        m = b['attention_mask'].unsqueeze(-1).double()
        v = F.normalize((enc(**b).last_hidden_state * m).sum(1) / m.sum(1), dim=-1)[0]
        print(f'    ({text!r}, [{", ".join(f"{x:.7f}" for x in v[:5].tolist())}]),')
