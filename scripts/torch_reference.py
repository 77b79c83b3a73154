#!/usr/bin/env python3
"""PyTorch reference for `harness bench`: trains the model a harness run trains and prints ms/step.

`harness bench` writes SPEC.json (the run's resolved config, its exact batches, the warm-up and
the device) and runs, alternating with its own timed runs:

    python3 scripts/torch_reference.py SPEC.json

Install torch and transformers once with `scripts/install_torch.sh` and pass its interpreter:
`harness bench experiments/phi_grid.toml --python target/torch-venv/bin/python`.

Same model: `transformers.BertModel` (no pooler, as the harness has none) built from the config's
architecture, ReLU on last_hidden_state when `encoder_relu`, the per-token MLP head (nn.Linear
layers with the configured activation, then Linear(->1) and a sigmoid), the configured loss over
the kept tokens (torch.std is unbiased, like the harness's), SGD or AdamW with optional gradient
clipping, dropout on, one thread. The learning-rate schedule is not applied (it changes values,
not work). Timed per step: zero_grad, forward, loss, backward, clipping, optimizer step (plus a
device synchronize on CUDA). Prints one JSON line: ms_per_step (mean over the steps after the
warm-up), params (trainable parameters, which the harness checks against its own) and info.
"""
import json
import sys
import time

import torch
import transformers
from torch import nn
from transformers import BertConfig, BertModel


def activation(name, slope):
    acts = {"relu": nn.ReLU(), "gelu": nn.GELU(), "elu": nn.ELU(), "leaky_relu": nn.LeakyReLU(slope or 0.0)}
    if name not in acts:
        sys.exit(f"torch_reference: head_activation {name!r} is not implemented here")
    return acts[name]


class Model(nn.Module):
    def __init__(self, m, attn):
        super().__init__()
        self.bert = BertModel(
            BertConfig(
                vocab_size=m["vocab_size"],
                hidden_size=m["hidden_size"],
                num_hidden_layers=m["num_layers"],
                num_attention_heads=m["num_heads"],
                intermediate_size=m["intermediate_size"],
                hidden_act="gelu",
                hidden_dropout_prob=m["hidden_dropout"],
                attention_probs_dropout_prob=m["attention_dropout"],
                max_position_embeddings=m["max_position"],
                type_vocab_size=2,
                initializer_range=m["init_std"],
                layer_norm_eps=m["layer_norm_eps"],
                pad_token_id=0,
                attn_implementation=attn,
            ),
            add_pooling_layer=False,
        )
        self.encoder_relu = m["encoder_relu"]
        dims = [m["hidden_size"], *m["head_sizes"]]
        layers = []
        for a, b in zip(dims, dims[1:]):
            layers += [nn.Linear(a, b), activation(m["head_activation"], m.get("leaky_slope"))]
        layers.append(nn.Linear(dims[-1], 1))
        self.head = nn.Sequential(*layers)
        if m["freeze_encoder"]:
            self.bert.requires_grad_(False)

    def forward(self, input_ids, attention_mask, keep):
        h = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        x = h.reshape(-1, h.shape[-1])[keep]
        if self.encoder_relu:
            x = torch.relu(x)
        logits = self.head(x).squeeze(-1)
        return logits, torch.sigmoid(logits)


def loss_fn(spec):
    kind, phi = spec["kind"], spec.get("phi", 0.0)

    def loss(preds, logits, y):
        sq = (preds - y) ** 2
        mse = sq.mean() if kind.startswith("mse_mean") else sq.sum()
        if kind in ("mse_sum", "mse_mean"):
            return mse
        if kind in ("mse_sum_minus_std", "mse_mean_minus_std"):
            return mse - phi * preds.std()
        if kind == "mse_sum_minus_logit_std":
            return mse - phi * logits.std()
        if kind == "mse_sum_minus_capped_std":
            return mse - phi * torch.clamp(preds.std(), max=spec["cap"])
        if kind == "mse_sum_hinge_std":
            return mse + phi * torch.relu(spec["target"] - preds.std())
        sys.exit(f"torch_reference: loss kind {kind!r} is not implemented here")

    return loss


def optimizer(spec, params):
    if spec["kind"] == "sgd":
        return torch.optim.SGD(params, lr=spec["lr"], momentum=spec["momentum"], weight_decay=spec["weight_decay"])
    if spec["kind"] == "adamw":
        return torch.optim.AdamW(
            params, lr=spec["lr"], betas=(spec["beta1"], spec["beta2"]), eps=spec["eps"],
            weight_decay=spec["weight_decay"],
        )
    sys.exit(f"torch_reference: optimizer {spec['kind']!r} is not implemented here")


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    cfg, device = spec["config"], torch.device(spec["device"])
    torch.set_num_threads(spec["threads"])
    torch.manual_seed(cfg["seed"])
    attn = spec.get("attn_implementation", "sdpa")
    model = Model(cfg["model"], attn).to(device).train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = optimizer(cfg["optim"], params)
    loss = loss_fn(cfg["loss"])
    clip = cfg["train"].get("clip_grad_norm")
    batches = [
        (
            torch.tensor(b["input_ids"], dtype=torch.long, device=device).reshape(b["batch"], b["seq_len"]),
            torch.tensor(b["attention_mask"], dtype=torch.long, device=device).reshape(b["batch"], b["seq_len"]),
            torch.tensor(b["keep"], dtype=torch.long, device=device),
            torch.tensor(b["labels"], dtype=torch.float32, device=device),
        )
        for b in spec["batches"]
    ]
    times = []
    for ids, mask, keep, y in batches:
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        logits, preds = model(ids, mask, keep)
        loss(preds, logits, y).backward()
        if clip is not None:
            nn.utils.clip_grad_norm_(params, clip)
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    timed = times[spec["warmup"]:]
    attn = model.bert.config._attn_implementation
    info = (f"torch {torch.__version__}, transformers {transformers.__version__}, attention {attn}, "
            f"{torch.get_num_threads()} thread(s), {device}")
    print(json.dumps({
        "ms_per_step": 1e3 * sum(timed) / len(timed),
        "params": sum(p.numel() for p in params),
        "info": info,
    }))


if __name__ == "__main__":
    main()
