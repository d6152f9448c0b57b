#!/usr/bin/env python3
"""PyTorch reference for the embedded LM's training step (the tfjs side: LmTrainer in
packages/finetuners, run by tools/src/bench-step-child.ts --model embedded). Standalone: needs only torch.

  /usr/bin/python3 tools/torch/bench_lm_step.py --threads N --steps S --warmup W [--vocab V]

The model is the embedded LM's default (apps/pipeline/configs/llm/embedded.json, model.embedded): a Llama
with 6 layers, width 128, 4 heads of 32, 2 key-value heads, SwiGLU MLP 256, RMSNorm eps 1e-5, RoPE theta
1e4, tied embeddings; a batch of 8 rows of 256 tokens (every position scored), next-token cross-entropy,
clip_grad_norm_(1), Adam lr 2e-3, betas (0.9, 0.95). Written for speed on the CPU: q/k/v in one Linear,
gate and up in one Linear, F.scaled_dot_product_attention(is_causal=True) where torch has it (2.0+),
else masked softmax attention. Runs W untimed then S timed steps (forward + backward + clip + Adam +
zero_grad(set_to_none=True)) on one fixed random batch and prints ONE JSON line.
"""
import argparse
import json
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

CFG = dict(n_layers=6, d_model=128, n_heads=4, n_kv=2, ffn=256, batch=8, seq=256, lr=2e-3, eps=1e-5, theta=1e4)


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.w = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.w


def rope_tables(t, hd, theta):
    inv = 1.0 / theta ** (torch.arange(0, hd, 2).float() / hd)
    ang = torch.outer(torch.arange(t).float(), inv)  # [T, hd/2]
    ang = torch.cat([ang, ang], -1)  # [T, hd]
    return ang.cos(), ang.sin()


def rope(x, cos, sin):  # x [B, H, T, hd]
    x1, x2 = x.chunk(2, -1)
    return x * cos + torch.cat([-x2, x1], -1) * sin


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, h, kv = c["d_model"], c["n_heads"], c["n_kv"]
        self.h, self.kv, self.hd = h, kv, d // h
        self.n1 = RMSNorm(d, c["eps"])
        self.qkv = nn.Linear(d, (h + 2 * kv) * self.hd, bias=False)
        self.o = nn.Linear(d, d, bias=False)
        self.n2 = RMSNorm(d, c["eps"])
        self.gate_up = nn.Linear(d, 2 * c["ffn"], bias=False)
        self.down = nn.Linear(c["ffn"], d, bias=False)

    def forward(self, x, cos, sin, mask):
        b, t, d = x.shape
        q, k, v = self.qkv(self.n1(x)).split([self.h * self.hd, self.kv * self.hd, self.kv * self.hd], -1)
        q = rope(q.view(b, t, self.h, self.hd).transpose(1, 2), cos, sin)
        k = rope(k.view(b, t, self.kv, self.hd).transpose(1, 2), cos, sin)
        v = v.view(b, t, self.kv, self.hd).transpose(1, 2)
        k = k.repeat_interleave(self.h // self.kv, 1)
        v = v.repeat_interleave(self.h // self.kv, 1)
        if hasattr(F, "scaled_dot_product_attention"):
            z = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            z = torch.softmax(q @ k.transpose(-1, -2) / self.hd**0.5 + mask, -1) @ v
        x = x + self.o(z.transpose(1, 2).reshape(b, t, d))
        g, u = self.gate_up(self.n2(x)).chunk(2, -1)
        return x + self.down(F.silu(g) * u)


class Llama(nn.Module):
    def __init__(self, c, vocab):
        super().__init__()
        self.embed = nn.Embedding(vocab, c["d_model"])
        self.blocks = nn.ModuleList(Block(c) for _ in range(c["n_layers"]))
        self.norm = RMSNorm(c["d_model"], c["eps"])
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, 0.0, 0.02)
        cos, sin = rope_tables(c["seq"], c["d_model"] // c["n_heads"], c["theta"])
        self.register_buffer("cos", cos)
        self.register_buffer("sin", sin)
        self.register_buffer("mask", torch.triu(torch.full((c["seq"], c["seq"]), -1e9), diagonal=1))

    def loss(self, ids, targets):
        x = self.embed(ids)
        for blk in self.blocks:
            x = blk(x, self.cos, self.sin, self.mask)
        logits = self.norm(x) @ self.embed.weight.t()  # tied head
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--vocab", type=int, default=2200)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(0)
    c = CFG
    model = Llama(c, args.vocab)
    opt = torch.optim.Adam(model.parameters(), lr=c["lr"], betas=(0.9, 0.95), eps=1e-8)
    seq = torch.randint(4, args.vocab, (c["batch"], c["seq"] + 1))
    ids, targets = seq[:, :-1], seq[:, 1:]

    def step():
        loss = model.loss(ids, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    for _ in range(args.warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    ms = (time.perf_counter() - t0) * 1000 / args.steps
    print(json.dumps({
        "model": "embedded", "threads": torch.get_num_threads(), "ms_per_step": ms,
        "tokens_per_s": c["batch"] * c["seq"] / ms * 1000,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "torch": torch.__version__, "params": sum(p.numel() for p in model.parameters()), "vocab": args.vocab,
    }))


if __name__ == "__main__":
    main()
