#!/usr/bin/env python3
"""Builds experiments/data/minilm_words.jsonl, the small real data file of experiments/minilm_phi.toml.

Text: sentences from the docstrings of Python standard-library modules (of the interpreter running
this script, Python 3.11 for the shipped file — another version gives other sentences; real English prose, no download), 6-24 words each, deduplicated, sorted, the first
240 after a seeded shuffle. Labels: one per whitespace-separated word, min(1, letters / 12) —
the word's length in letters scaled to [0, 1]; words without letters get -100 (no label).
It is a simple, real, learnable per-token target, not a biological one.

    python3 scripts/make_minilm_data.py
"""
import importlib
import warnings
import json
import os
import random
import re

MODULES = ["abc", "argparse", "asyncio", "base64", "bisect", "calendar", "collections", "contextlib",
           "csv", "dataclasses", "datetime", "decimal", "difflib", "email", "enum", "fractions",
           "functools", "gzip", "heapq", "http", "inspect", "ipaddress", "itertools", "json",
           "logging", "os", "pathlib", "pickle", "queue", "random", "re", "shutil", "socket",
           "statistics", "string", "subprocess", "tarfile", "tempfile", "textwrap", "threading",
           "typing", "unittest", "urllib", "uuid", "zipfile"]
N, SEED = 240, 0
warnings.simplefilter("ignore")

sentences = set()
for name in MODULES:
    try:
        mod = importlib.import_module(name)
    except ImportError:
        continue
    docs = [mod.__doc__ or ""] + [getattr(v, "__doc__", "") or "" for k, v in vars(mod).items() if not k.startswith("_")]
    for doc in docs:
        if not isinstance(doc, str):
            continue
        text = " ".join(doc.split())
        for s in re.split(r"(?<=[.!?])\s+", text):
            words = s.split()
            if 6 <= len(words) <= 24 and all(w.isascii() for w in words):
                sentences.add(" ".join(words))
sentences = sorted(sentences)
random.Random(SEED).shuffle(sentences)
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "experiments", "data", "minilm_words.jsonl")
with open(out, "w") as f:
    for s in sentences[:N]:
        labels = []
        for w in s.split():
            letters = sum(c.isalpha() for c in w)
            labels.append(round(min(1.0, letters / 12), 4) if letters else -100)
        f.write(json.dumps({"sequence": s, "labels": labels}) + "\n")
print(out, min(N, len(sentences)))
