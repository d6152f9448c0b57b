#!/usr/bin/env python3
"""PyTorch reference for the LoRA finetuning step of the ~100M Llama-shaped checkpoint (the tfjs side:
tools/src/bench/lora-step.ts, run by tools/src/bench-step-child.ts --model lora|lora-full). Needs only torch.

  /usr/bin/python3 tools/torch/bench_lora_step.py --config DIR/config.json --mode lora|full --threads N --steps S --warmup W

The model has the checkpoint's dimensions (hidden 768, 12 layers, 12 heads, 4 key-value heads, SwiGLU
2048, vocab 32000, tied embeddings), randomly initialised: a step's cost does not depend on the values.
`lora`: the base weights frozen, a rank-16 adapter (alpha 16, dropout 0.1 on its input, PEFT's layout)
on every projection (q, k, v, o, gate, up, down) of layers 0-3; `full`: every weight of layers 0-3 trained,
the rest frozen. A batch of 4 rows of 128 tokens, every position scored, next-token cross-entropy,
clip_grad_norm_(1) over the trained parameters, Adam lr 1e-3. Written for speed on the CPU: the frozen
q/k/v and gate/up projections fused into one Linear each (the adapters' outputs added per projection),
F.scaled_dot_product_attention where torch has it (2.0+). Runs W untimed then S timed steps and prints
ONE JSON line.
"""
import argparse
import json
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

LAYERS = [0, 1, 2, 3]
B, T, R, ALPHA, DROPOUT = 4, 128, 16, 16, 0.1


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.w = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.w


class Lora(nn.Module):
    """PEFT's LoRA branch of one projection: scale * B(A(dropout(x))), A kaiming-uniform, B zero."""

    def __init__(self, d_in, d_out):
        super().__init__()
        self.A = nn.Linear(d_in, R, bias=False)
        self.B = nn.Linear(R, d_out, bias=False)
        nn.init.kaiming_uniform_(self.A.weight, a=5**0.5)
        nn.init.zeros_(self.B.weight)
        self.drop = nn.Dropout(DROPOUT)

    def forward(self, x):
        return self.B(self.A(self.drop(x))) * (ALPHA / R)


def rope(x, cos, sin):  # x [B, H, T, hd]
    x1, x2 = x.chunk(2, -1)
    return x * cos + torch.cat([-x2, x1], -1) * sin


class Block(nn.Module):
    def __init__(self, c, adapted):
        super().__init__()
        d, h, kv, f = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"], c["intermediate_size"]
        self.h, self.kv, self.hd, self.f = h, kv, d // h, f
        self.n1 = RMSNorm(d, c["rms_norm_eps"])
        self.qkv = nn.Linear(d, (h + 2 * kv) * self.hd, bias=False)
        self.o = nn.Linear(h * self.hd, d, bias=False)
        self.n2 = RMSNorm(d, c["rms_norm_eps"])
        self.gate_up = nn.Linear(d, 2 * f, bias=False)
        self.down = nn.Linear(f, d, bias=False)
        self.lora = None
        if adapted:
            dims = {"q": (d, h * self.hd), "k": (d, kv * self.hd), "v": (d, kv * self.hd), "o": (h * self.hd, d), "gate": (d, f), "up": (d, f), "down": (f, d)}
            self.lora = nn.ModuleDict({k: Lora(*v) for k, v in dims.items()})

    def forward(self, x, cos, sin):
        b, t, d = x.shape
        a = self.n1(x)
        q, k, v = self.qkv(a).split([self.h * self.hd, self.kv * self.hd, self.kv * self.hd], -1)
        if self.lora is not None:
            q, k, v = q + self.lora["q"](a), k + self.lora["k"](a), v + self.lora["v"](a)
        q = rope(q.view(b, t, self.h, self.hd).transpose(1, 2), cos, sin)
        k = rope(k.view(b, t, self.kv, self.hd).transpose(1, 2), cos, sin)
        v = v.view(b, t, self.kv, self.hd).transpose(1, 2)
        k = k.repeat_interleave(self.h // self.kv, 1)
        v = v.repeat_interleave(self.h // self.kv, 1)
        if hasattr(F, "scaled_dot_product_attention"):
            z = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            mask = torch.triu(torch.full((t, t), float("-inf")), diagonal=1)
            z = torch.softmax(q @ k.transpose(-1, -2) / self.hd**0.5 + mask, -1) @ v
        z = z.transpose(1, 2).reshape(b, t, self.h * self.hd)
        o = self.o(z)
        if self.lora is not None:
            o = o + self.lora["o"](z)
        x = x + o
        a2 = self.n2(x)
        g, u = self.gate_up(a2).chunk(2, -1)
        if self.lora is not None:
            g, u = g + self.lora["gate"](a2), u + self.lora["up"](a2)
        m = F.silu(g) * u
        y = self.down(m)
        if self.lora is not None:
            y = y + self.lora["down"](m)
        return x + y


class Llama(nn.Module):
    def __init__(self, c, lora):
        super().__init__()
        d = c["hidden_size"]
        self.embed = nn.Embedding(c["vocab_size"], d)
        self.blocks = nn.ModuleList(Block(c, lora and i in LAYERS) for i in range(c["num_hidden_layers"]))
        self.norm = RMSNorm(d, c["rms_norm_eps"])
        for n, p in self.named_parameters():
            if p.dim() == 2 and "lora" not in n:
                nn.init.normal_(p, 0.0, 0.02)
        hd = d // c["num_attention_heads"]
        inv = 1.0 / c.get("rope_theta", 1e4) ** (torch.arange(0, hd, 2).float() / hd)
        ang = torch.outer(torch.arange(T).float(), inv)
        ang = torch.cat([ang, ang], -1)
        self.register_buffer("cos", ang.cos())
        self.register_buffer("sin", ang.sin())

    def loss(self, ids, targets):
        x = self.embed(ids)
        for blk in self.blocks:
            x = blk(x, self.cos, self.sin)
        logits = self.norm(x) @ self.embed.weight.t()  # tied head
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--mode", choices=["lora", "full"], default="lora")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(0)
    with open(args.config) as f:
        c = json.load(f)
    model = Llama(c, args.mode == "lora")
    for n, p in model.named_parameters():
        if args.mode == "lora":
            p.requires_grad_("lora" in n)
        else:
            p.requires_grad_(n.startswith("blocks.") and int(n.split(".")[1]) in LAYERS)
    model.train()
    trained = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(trained, lr=1e-3)
    seq = torch.randint(4, c["vocab_size"], (B, T + 1))
    ids, targets = seq[:, :-1], seq[:, 1:]

    def step():
        loss = model.loss(ids, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trained, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    for _ in range(args.warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    ms = (time.perf_counter() - t0) * 1000 / args.steps
    print(json.dumps({
        "model": args.mode, "threads": torch.get_num_threads(), "ms_per_step": ms,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "torch": torch.__version__, "trained": sum(p.numel() for p in trained),
    }))


if __name__ == "__main__":
    main()
