#!/usr/bin/env python3
"""PyTorch reference for the training-step benchmark (the tfjs side: tools/src/gpt-bench-model.ts and
finetuners' benchTrainStep). Standalone: needs only torch (Debian's python3-torch, 1.13 or later).

  /usr/bin/python3 tools/torch/bench_step.py --model gpt|regression --threads N --steps S --warmup W [--json]

Builds the model, runs W untimed then S timed training steps (forward + backward + Adam step +
zero_grad(set_to_none=True)) on one fixed random batch, and prints ONE JSON line:
  {"model", "threads", "ms_per_step", "peak_rss_mb", "torch", "params", ...}

Models (the same math as the tfjs ones, parameter counts equal):
- gpt: GPT-2 style decoder, 6 layers, width 128, 4 heads, context 80, batch 64, vocab 256, learned
  positions, pre-LayerNorm, GELU (tanh) MLP 4x width, UNTIED head without bias, causal attention
  written out; next-token cross-entropy; Adam lr 1e-4, betas (0.9, 0.9999). 1,265,664 parameters.
- regression: packages/model-runners/src/regression-transformer.ts with the "quick" preset
  (apps/pipeline/configs/quick.json): D = 8, K = 6 examples, xy-pair tokens, 4 layers, width 64,
  4 heads, batch 64; MSE of the y predictions (read out at the x tokens); Adam lr 1e-3,
  betas (0.9, 0.9999). 201,537 parameters. --clip C adds clip_grad_norm_(C) (the preset trains with
  gradClip 1; finetuners' benchTrainStep does not clip, so the default is no clipping).
"""
import argparse
import json
import math
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

GPT = dict(n_layers=6, d_model=128, n_heads=4, context=80, batch=64, vocab=256, lr=1e-4)
REGRESSION = dict(n_layers=4, d_model=64, n_heads=4, x_dim=8, n_examples=6, batch=64, lr=1e-3)
BETAS = (0.9, 0.9999)
LN_EPS = 1e-5


def causal_mask(t):
    """Additive mask [T, T]: 0 where key <= query, -1e9 above the diagonal (as layers.ts)."""
    return torch.triu(torch.full((t, t), -1e9), diagonal=1)


class Block(nn.Module):
    """Pre-LN block: h += W_O attn(ln1(h)); h += mlp(ln2(h)). Q, K, V, O are separate Linear(d, d) with
    bias (the tfjs models store W_Q/W_K/W_V/W_O + biases); MLP d -> 4d -> d with GELU (tanh)."""

    def __init__(self, d, n_heads, n_layers):
        super().__init__()
        self.h = n_heads
        self.ln1 = nn.LayerNorm(d, eps=LN_EPS)
        self.q = nn.Linear(d, d)
        self.k = nn.Linear(d, d)
        self.v = nn.Linear(d, d)
        self.o = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d, eps=LN_EPS)
        self.fc_in = nn.Linear(d, 4 * d)
        self.fc_out = nn.Linear(4 * d, d)
        resid = 0.02 / math.sqrt(2 * n_layers)
        for lin, std in ((self.q, 0.02), (self.k, 0.02), (self.v, 0.02), (self.o, resid), (self.fc_in, 0.02), (self.fc_out, resid)):
            nn.init.normal_(lin.weight, 0.0, std)
            nn.init.zeros_(lin.bias)

    def forward(self, x, mask):  # x [B, T, d], mask [T, T]
        B, T, d = x.shape
        dh = d // self.h
        a = self.ln1(x)  # [B, T, d]
        q = self.q(a).view(B, T, self.h, dh).transpose(1, 2)  # [B, H, T, dh]
        k = self.k(a).view(B, T, self.h, dh).transpose(1, 2)  # [B, H, T, dh]
        v = self.v(a).view(B, T, self.h, dh).transpose(1, 2)  # [B, H, T, dh]
        scores = q @ k.transpose(-2, -1) / math.sqrt(dh) + mask  # [B, H, T, T]
        pattern = torch.softmax(scores, dim=-1)  # [B, H, T, T]
        z = (pattern @ v).transpose(1, 2).reshape(B, T, d)  # [B, T, d]
        x = x + self.o(z)  # [B, T, d]
        m = self.ln2(x)  # [B, T, d]
        return x + self.fc_out(F.gelu(self.fc_in(m), approximate="tanh"))  # [B, T, d]


class Trunk(nn.Module):
    """Learned positions + blocks + ln_final, shared by both models."""

    def __init__(self, d, n_heads, n_layers, t):
        super().__init__()
        self.pos = nn.Parameter(torch.randn(t, d) * 0.02)  # [T, d]
        self.blocks = nn.ModuleList([Block(d, n_heads, n_layers) for _ in range(n_layers)])
        self.ln_f = nn.LayerNorm(d, eps=LN_EPS)
        self.register_buffer("mask", causal_mask(t))  # [T, T]

    def forward(self, h):  # h [B, T, d] (embedded tokens)
        h = h + self.pos  # [B, T, d]
        for blk in self.blocks:
            h = blk(h, self.mask)
        return self.ln_f(h)  # [B, T, d]


class GPTModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["d_model"]
        self.wte = nn.Embedding(c["vocab"], d)  # [V, d]
        nn.init.normal_(self.wte.weight, 0.0, 0.02)
        self.trunk = Trunk(d, c["n_heads"], c["n_layers"], c["context"])
        self.head = nn.Linear(d, c["vocab"], bias=False)  # untied, [V, d]
        nn.init.normal_(self.head.weight, 0.0, 0.02)

    def loss(self, batch):
        tokens, targets = batch  # [B, T] int64 each
        logits = self.head(self.trunk(self.wte(tokens)))  # [B, T, V]
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


class RegressionModel(nn.Module):
    """regression-transformer.ts, tokenFormat "xy-pair": position 2k holds (x_k, 0), 2k+1 holds (x_k, y_k)."""

    def __init__(self, c):
        super().__init__()
        d, D = c["d_model"], c["x_dim"]
        self.read_in = nn.Linear(D + 1, d)  # W_E [D+1, d] + b_E
        nn.init.normal_(self.read_in.weight, 0.0, 0.02)
        nn.init.zeros_(self.read_in.bias)
        self.trunk = Trunk(d, c["n_heads"], c["n_layers"], 2 * c["n_examples"])
        self.read_out = nn.Linear(d, 1)  # W_U [d, 1] + b_U
        nn.init.normal_(self.read_out.weight, 0.0, 0.02)
        nn.init.zeros_(self.read_out.bias)

    def loss(self, batch):
        xs, ys = batch  # [B, K, D], [B, K]
        B, K, D = xs.shape
        x_tok = F.pad(xs, (0, 1))  # [B, K, D+1]  (x, 0)
        y_tok = torch.cat([xs, ys.unsqueeze(-1)], dim=-1)  # [B, K, D+1]  (x, y)
        tokens = torch.stack([x_tok, y_tok], dim=2).reshape(B, 2 * K, D + 1)  # [B, 2K, D+1]
        out = self.read_out(self.trunk(self.read_in(tokens)))  # [B, 2K, 1]
        preds = out[:, 0::2, 0]  # [B, K], read-out at the x tokens
        return F.mse_loss(preds, ys)


def build(name):
    if name == "gpt":
        c = GPT
        model = GPTModel(c)
        seq = torch.randint(0, c["vocab"], (c["batch"], c["context"] + 1))  # [B, T+1]
        batch = (seq[:, :-1].contiguous(), seq[:, 1:].contiguous())  # [B, T] inputs, [B, T] targets
    else:
        c = REGRESSION
        model = RegressionModel(c)
        xs = torch.randn(c["batch"], c["n_examples"], c["x_dim"])  # [B, K, D]
        ys = torch.randn(c["batch"], c["n_examples"])  # [B, K]
        batch = (xs, ys)
    return c, model, batch


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", choices=["gpt", "regression"], required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--clip", type=float, default=0.0, help="clip_grad_norm_ max norm; 0 = none")
    ap.add_argument("--json", action="store_true", help="accepted for symmetry; output is always one JSON line")
    args = ap.parse_args()
    if args.threads < 1 or args.steps < 1 or args.warmup < 0:
        ap.error("--threads and --steps must be >= 1, --warmup >= 0")

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(0)
    c, model, batch = build(args.model)
    params = list(model.parameters())
    opt = torch.optim.Adam(params, lr=c["lr"], betas=BETAS, eps=1e-8)

    def step():
        loss = model.loss(batch)
        loss.backward()
        if args.clip > 0:
            torch.nn.utils.clip_grad_norm_(params, args.clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.item()

    for _ in range(args.warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        loss = step()
    ms = (time.perf_counter() - t0) * 1000.0 / args.steps
    out = {
        "model": args.model,
        "threads": torch.get_num_threads(),
        "ms_per_step": round(ms, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),  # ru_maxrss is KiB on Linux
        "torch": torch.__version__,
        "params": sum(p.numel() for p in params),
        "steps": args.steps,
        "warmup": args.warmup,
        "batch": c["batch"],
        "loss": round(loss, 6),
        "clip": args.clip,
    }
    print(json.dumps(out))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
