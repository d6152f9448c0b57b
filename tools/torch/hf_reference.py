#!/usr/bin/env python3
"""Independent PyTorch re-implementation of the Hugging Face `transformers` forward pass (eager attention,
no cache, no padding) for model_type llama, mistral, qwen2, gemma2, olmo and gpt2, to compute parity
fixtures for the TypeScript models. Needs only torch + numpy (Debian's python3-torch, 1.13 or later);
safetensors is read and written by hand.

  /usr/bin/python3 tools/torch/hf_reference.py --model <hf dir> --ids <ids.json> --out <out.safetensors>
      [--dtype float64|float32] [--adapter <peft lora dir>]

<hf dir> holds config.json and model.safetensors, or the shards named by model.safetensors.index.json.
ids.json is a list of equal-length lists of token ids (one row per sequence; positions are 0..T-1).
The output holds float32 tensors:
  hook_embed                 [batch, pos, d_model]  what enters block 0 (Gemma: after * sqrt(d); GPT-2: wte + wpe)
  blocks.{l}.hook_resid_post [batch, pos, d_model]  the output of block l (before the final norm)
  logits                     [batch, pos, vocab]    (Gemma 2: after final_logit_softcapping)
Weights are upcast to --dtype (float64 by default) and every op runs in that dtype; HF's own float32
upcasts (RMSNorm, softmax, RoPE tables) become float64 too. --dtype float32 follows HF in float32.
Any config field this script cannot honour stops it with an error rather than a silent difference.

--adapter applies a Hugging Face PEFT LoRA adapter directory (adapter_config.json + adapter_model.safetensors,
as PeftModel.save_pretrained writes them) in eval mode, as peft/tuners/lora/layer.py Linear.forward does:
each targeted nn.Linear returns base(x) + scaling * (x @ A^T) @ B^T with scaling = lora_alpha / r, or
lora_alpha / sqrt(r) with use_rslora; lora_dropout is inactive in eval. Only plain LoRA on the decoders'
nn.Linear projections is supported; DoRA, biases, fan_in_fan_out, rank/alpha patterns, modules_to_save and
the other LoRA variants stop the script with an error, as do adapter tensors it would not apply.
"""
import argparse
import json
import math
import mmap
import os
import re
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

SUPPORTED = ("llama", "mistral", "qwen2", "gemma2", "olmo", "gpt2")
TIE_DEFAULT = {"llama": False, "mistral": False, "qwen2": False, "olmo": False, "gemma2": True, "gpt2": True}
NP_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1", "U8": "u1"}
# Buffers some checkpoints carry that are not parameters.
IGNORED_SUFFIXES = ("rotary_emb.inv_freq", ".attn.bias", ".attn.masked_bias")
ACT = {  # transformers.activations.ACT2FN, for the names these models use
    "silu": F.silu,
    "swish": F.silu,
    "relu": F.relu,
    "gelu": F.gelu,  # erf form
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "gelu_new": lambda x: 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0)))),
}


def fail(msg):
    sys.exit(f"hf_reference.py: error: {msg}")


# ---------------------------------------------------------------- safetensors


class Weights:
    """Lazy reader over model.safetensors or its shards (or the given files): get(name) reads one tensor and
    upcasts it."""

    def __init__(self, model_dir, dtype, files=None):
        index = os.path.join(model_dir, "model.safetensors.index.json")
        self.adapter = None  # an Adapter applied by linear(), see --adapter
        if files is not None:
            files = list(files)
        elif os.path.exists(index):
            with open(index) as f:
                files = sorted(set(json.load(f)["weight_map"].values()))
        elif os.path.exists(os.path.join(model_dir, "model.safetensors")):
            files = ["model.safetensors"]
        else:
            fail(f"{model_dir} has neither model.safetensors nor model.safetensors.index.json")
        self.dtype, self.entries, self.used = dtype, {}, set()
        for name in files:
            with open(os.path.join(model_dir, name), "rb") as f:
                (n,) = struct.unpack("<Q", f.read(8))
                header = json.loads(f.read(n))
                mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            header.pop("__metadata__", None)
            for key, info in header.items():
                self.entries[key] = (mm, 8 + n, info)

    def has(self, name):
        return name in self.entries

    def get(self, name):
        if name not in self.entries:
            fail(f"tensor {name!r} is not in the checkpoint")
        self.used.add(name)
        mm, base, info = self.entries[name]
        start, end = info["data_offsets"]
        if info["dtype"] == "BF16":  # bfloat16 is the high half of a float32
            raw = np.frombuffer(mm, "<u2", (end - start) // 2, base + start)
            arr = (raw.astype(np.uint32) << 16).view(np.float32)
        elif info["dtype"] in NP_DTYPES:
            dt = np.dtype(NP_DTYPES[info["dtype"]])
            arr = np.frombuffer(mm, dt, (end - start) // dt.itemsize, base + start)
        else:
            fail(f"tensor {name!r} has unsupported dtype {info['dtype']}")
        return torch.from_numpy(np.array(arr, dtype=np.float64)).to(self.dtype).reshape(info["shape"])

    def unused(self, ignore=()):
        return sorted(k for k in self.entries if k not in self.used and k not in ignore and not k.endswith(IGNORED_SUFFIXES))


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():
        blob = t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # keep the data 8-byte aligned, as the safetensors library does
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


# ---------------------------------------------------------------- PEFT LoRA adapters

# adapter_config.json fields (peft/config.py PeftConfig, peft/tuners/lora/config.py LoraConfig) that need no
# action here: bookkeeping, or initialisation-only settings that do not change what a saved adapter computes.
PEFT_BENIGN = {
    "task_type", "peft_type", "auto_mapping", "peft_version", "base_model_name_or_path", "revision", "inference_mode",
    "r", "lora_alpha", "lora_dropout", "use_rslora", "target_modules", "exclude_modules", "layers_to_transform",
    "layers_pattern", "init_lora_weights", "megatron_core", "loftq_config", "eva_config", "corda_config",
    "lora_ga_config", "qalora_group_size", "ensure_weight_tying", "runtime_config",
}
# Fields that must hold these values (or be absent): anything else changes the computation in a way not honoured.
PEFT_REQUIRED = {"use_dora": False, "bias": "none", "fan_in_fan_out": False, "lora_bias": False, "use_qalora": False}
# Fields that must be null/empty (or absent).
PEFT_EMPTY = (
    "rank_pattern", "alpha_pattern", "modules_to_save", "megatron_config", "trainable_token_indices",
    "layer_replication", "target_parameters", "velora_config", "alora_invocation_tokens", "monteclora_config",
    "use_bdlora", "arrow_config", "kasa_config",
)
# init_lora_weights values that rewrite the base weights (or select a variant): the adapter is not plain LoRA
# on the unmodified checkpoint unless PEFT converted it at save time (then it records init_lora_weights=true).
PEFT_BASE_MODIFYING_INITS = ("pissa", "olora", "corda", "loftq", "lora_ga", "mica")
PEFT_KEY_PREFIX = "base_model.model."  # PeftModel.base_model (LoraModel) .model (the transformers model)
PEFT_KEY = re.compile(r"^base_model\.model\.(.+)\.(lora_A|lora_B)\.weight$")


def peft_targets(cfg, module):
    """peft/tuners/tuners_utils.py check_target_module_exists for a module name of the transformers model."""
    exclude = cfg.get("exclude_modules")
    if exclude:
        if isinstance(exclude, str):
            if re.fullmatch(exclude, module):
                return False
        elif module in exclude or any(module.endswith("." + e) for e in exclude):
            return False
    targets = cfg.get("target_modules")
    if targets is None:
        fail("adapter_config.json has no target_modules (PEFT's per-architecture defaults are not resolved here)")
    if isinstance(targets, str):
        if targets == "all-linear":  # every nn.Linear but the output layer
            return not module.endswith("lm_head")
        return re.fullmatch(targets, module) is not None
    if module in targets:
        return True
    if not any(module.endswith("." + t) for t in targets):
        return False
    layers = cfg.get("layers_to_transform")
    if layers is None or (isinstance(layers, list) and not layers):
        return True
    pattern = cfg.get("layers_pattern")
    if not pattern:
        m = re.match(r".*?\.[^.]*\.(\d+)\.", module)
    else:
        m = None
        for p in [pattern] if isinstance(pattern, str) else pattern:
            m = re.match(rf".*?\.{p}\.(\d+)\.", module)
            if m is not None:
                break
    if m is None:
        return False
    return int(m.group(1)) == layers if isinstance(layers, int) else int(m.group(1)) in layers


class Adapter:
    """A PEFT LoRA adapter directory: per targeted module, lora_A [r, in] and lora_B [out, r] plus one scaling."""

    def __init__(self, adapter_dir, dtype):
        path = os.path.join(adapter_dir, "adapter_config.json")
        if not os.path.exists(path):
            fail(f"{adapter_dir} has no adapter_config.json")
        with open(path) as f:
            cfg = json.load(f)
        if cfg.get("peft_type") != "LORA":
            fail(f"adapter peft_type {cfg.get('peft_type')!r} is not 'LORA'")
        for key, want in PEFT_REQUIRED.items():
            if key in cfg and cfg[key] != want:
                fail(f"adapter_config.json {key}={cfg[key]!r} is not supported (only {want!r})")
        for key in PEFT_EMPTY:
            if cfg.get(key):
                fail(f"adapter_config.json {key}={cfg[key]!r} is not supported (only null/empty)")
        for key, value in cfg.items():
            if key not in PEFT_BENIGN and key not in PEFT_REQUIRED and key not in PEFT_EMPTY and value:
                fail(f"adapter_config.json field {key}={value!r} is unknown to this script")
        init = cfg.get("init_lora_weights", True)
        if isinstance(init, str) and init.lower().startswith(PEFT_BASE_MODIFYING_INITS):
            fail(f"adapter_config.json init_lora_weights={init!r} (modified base weights) is not supported")
        r, alpha = cfg.get("r", 8), cfg.get("lora_alpha", 8)
        if not isinstance(r, int) or r <= 0:
            fail(f"adapter_config.json r={r!r} is not a positive integer")
        # peft/tuners/lora/layer.py LoraLayer.update_layer
        self.scaling = alpha / math.sqrt(r) if cfg.get("use_rslora", False) else alpha / r
        if not os.path.exists(os.path.join(adapter_dir, "adapter_model.safetensors")):
            fail(f"{adapter_dir} has no adapter_model.safetensors (adapter_model.bin is not read)")
        W = Weights(adapter_dir, dtype, files=["adapter_model.safetensors"])
        parts = {}
        for key in W.entries:
            m = PEFT_KEY.match(key)
            if m is None:
                fail(f"adapter tensor {key!r} is not a plain LoRA linear weight "
                     "(base_model.model.<module>.lora_A/B.weight)")
            parts.setdefault(m.group(1), {})[m.group(2)] = W.get(key)
        self.modules = {}
        for module, ab in sorted(parts.items()):
            if set(ab) != {"lora_A", "lora_B"}:
                fail(f"adapter module {module!r} lacks {'lora_B' if 'lora_A' in ab else 'lora_A'}")
            A, B = ab["lora_A"], ab["lora_B"]
            if A.dim() != 2 or B.dim() != 2 or A.shape[0] != r or B.shape[1] != r:
                fail(f"adapter module {module!r}: lora_A {list(A.shape)} / lora_B {list(B.shape)} "
                     f"do not have rank r={r}")
            if not peft_targets(cfg, module):
                fail(f"adapter module {module!r} is not targeted by adapter_config.json (PEFT would not load it)")
            self.modules[module] = (A, B)
        if not self.modules:
            fail(f"{adapter_dir}/adapter_model.safetensors holds no LoRA tensors")
        self.cfg, self.used = cfg, set()

    def apply(self, name, x, y):
        """y = base(x) for the nn.Linear `name`; PEFT lora.Linear.forward: y + lora_B(lora_A(dropout(x))) * scaling."""
        # A checkpoint of the bare decoder (no "model." prefix) loads as the CausalLM's `model` submodule.
        module = name if name in self.modules or name.startswith("model.") else "model." + name
        if module not in self.modules:
            return y
        A, B = self.modules[module]
        if A.shape[1] != x.shape[-1] or B.shape[0] != y.shape[-1]:
            fail(f"adapter module {module!r}: lora_A {list(A.shape)} / lora_B {list(B.shape)} do not fit "
                 f"the layer ({x.shape[-1]} -> {y.shape[-1]})")
        self.used.add(module)
        return y + (x @ A.T) @ B.T * self.scaling

    def unused(self):
        return sorted(m for m in self.modules if m not in self.used)


# ---------------------------------------------------------------- shared pieces


def linear(x, W, name, bias):  # nn.Linear: weight [out, in]; with an adapter, PEFT's lora.Linear
    y = x @ W.get(name + ".weight").T
    if bias:
        y = y + W.get(name + ".bias")
    return W.adapter.apply(name, x, y) if W.adapter is not None else y


def conv1d(x, W, name):  # GPT-2 Conv1D: weight [in, out], always with bias
    return x @ W.get(name + ".weight") + W.get(name + ".bias")


def rms_norm(x, w, eps):  # LlamaRMSNorm: weight * (x * rsqrt(mean(x^2) + eps))
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def gemma_rms_norm(x, w, eps):  # Gemma2RMSNorm: (x * rsqrt(mean(x^2) + eps)) * (1 + weight)
    return (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)) * (1.0 + w)


def activation(name):
    if name not in ACT:
        fail(f"unsupported activation {name!r}")
    return ACT[name]


def rope_tables(cfg, head_dim, T, dtype):
    """cos, sin [T, head_dim] as HF's RotaryEmbedding (modeling_rope_utils: default, linear, llama3)."""
    params = cfg.get("rope_scaling") or cfg.get("rope_parameters") or {}
    if "full_attention" in params or "sliding_attention" in params:
        fail("per-layer-type rope_parameters are not supported")
    theta = cfg.get("rope_theta", params.get("rope_theta", 10000.0))
    kind = params.get("rope_type", params.get("type", "default"))
    if cfg.get("partial_rotary_factor", params.get("partial_rotary_factor", 1.0)) != 1.0:
        fail("partial_rotary_factor != 1 is not supported")
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).to(dtype) / head_dim))
    if kind == "linear":
        inv_freq = inv_freq / params["factor"]
    elif kind == "llama3":  # _compute_llama3_parameters
        factor, lo, hi = params["factor"], params["low_freq_factor"], params["high_freq_factor"]
        old_len = params["original_max_position_embeddings"]
        wavelen = 2 * math.pi / inv_freq
        scaled = torch.where(wavelen > old_len / lo, inv_freq / factor, inv_freq)
        smooth = (old_len / wavelen - lo) / (hi - lo)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wavelen < old_len / hi) * ~(wavelen > old_len / lo)
        inv_freq = torch.where(medium, smoothed, scaled)
    elif kind != "default":
        fail(f"unsupported rope scaling type {kind!r}")
    freqs = torch.arange(T, dtype=dtype)[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def apply_rope(x, cos, sin):  # x [B, H, T, hd]; rotate_half convention
    half = x.shape[-1] // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * cos + rotated * sin


def attend(q, k, v, score_fn, window=None):
    """Eager attention. q [B, H, T, hd], k/v [B, KV, T, hd] (repeat_kv: head h reads kv head h // (H/KV)).
    score_fn maps q.k^T to the pre-mask scores; the mask keeps j <= i and, with a window, i - j < window."""
    B, H, T, hd = q.shape
    rep = H // k.shape[1]
    k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
    scores = score_fn(q @ k.transpose(-1, -2))
    i, j = torch.arange(T)[:, None], torch.arange(T)[None, :]
    allowed = j <= i
    if window is not None:
        allowed = allowed & (j > i - window)
    scores = torch.where(allowed, scores, torch.tensor(torch.finfo(scores.dtype).min, dtype=scores.dtype))
    out = torch.softmax(scores, dim=-1) @ v
    return out.transpose(1, 2).reshape(B, T, H * hd)


def layer_windows(cfg, mt, n_layers):
    """Sliding window of each layer (None = full causal), as HF's layer_types / is_sliding."""
    if mt == "mistral":
        return [cfg.get("sliding_window", 4096)] * n_layers
    if mt == "gemma2":
        default = ["sliding_attention" if i % 2 == 0 else "full_attention" for i in range(n_layers)]
        window = cfg.get("sliding_window", 4096)
    elif mt == "qwen2" and cfg.get("use_sliding_window", False):
        first = cfg.get("max_window_layers", 28)
        default = ["sliding_attention" if i >= first else "full_attention" for i in range(n_layers)]
        window = cfg.get("sliding_window", 4096)
    else:
        return [None] * n_layers
    types = cfg.get("layer_types") or default
    return [window if t == "sliding_attention" else None for t in types]


# ---------------------------------------------------------------- llama / mistral / qwen2 / olmo


def rope_attention(cfg, W, p, x, cos, sin, spec, window):
    """LlamaAttention (+ Qwen2 q/k/v biases, OLMo clip_qkv)."""
    B, T, _ = x.shape
    H, KV, hd = spec["heads"], spec["kv_heads"], spec["head_dim"]
    q = linear(x, W, p + "q_proj", spec["qkv_bias"])
    k = linear(x, W, p + "k_proj", spec["qkv_bias"])
    v = linear(x, W, p + "v_proj", spec["qkv_bias"])
    if spec["clip_qkv"] is not None:
        c = spec["clip_qkv"]
        q, k, v = q.clamp(-c, c), k.clamp(-c, c), v.clamp(-c, c)
    q = apply_rope(q.view(B, T, H, hd).transpose(1, 2), cos, sin)
    k = apply_rope(k.view(B, T, KV, hd).transpose(1, 2), cos, sin)
    v = v.view(B, T, KV, hd).transpose(1, 2)
    out = attend(q, k, v, lambda s: s * spec["scaling"], window)
    return linear(out, W, p + "o_proj", spec["o_bias"])


def gated_mlp(W, p, x, act, bias):  # LlamaMLP / Gemma2MLP: down(act(gate(x)) * up(x))
    return linear(act(linear(x, W, p + "gate_proj", bias)) * linear(x, W, p + "up_proj", bias), W, p + "down_proj", bias)


def llama_block(cfg, W, l, x, cos, sin, spec, window):
    """LlamaDecoderLayer (also Mistral, Qwen2, OLMo): h = x + attn(norm(x)); out = h + mlp(norm(h))."""
    p = f"{spec['prefix']}layers.{l}."
    if spec["olmo"]:  # OlmoLayerNorm: no weight or bias, eps fixed at 1e-5
        norm = lambda h, _name: F.layer_norm(h, (h.shape[-1],), None, None, 1e-5)
    else:
        norm = lambda h, name: rms_norm(h, W.get(p + name + ".weight"), spec["eps"])
    h = x + rope_attention(cfg, W, p + "self_attn.", norm(x, "input_layernorm"), cos, sin, spec, window)
    return h + gated_mlp(W, p + "mlp.", norm(h, "post_attention_layernorm"), spec["act"], spec["mlp_bias"])


# ---------------------------------------------------------------- gemma2


def gemma2_block(cfg, W, l, x, cos, sin, spec, window):
    """Gemma2DecoderLayer: sandwich norms around attention (softcapped scores) and the gated GELU MLP."""
    p = f"{spec['prefix']}layers.{l}."
    norm = lambda h, name: gemma_rms_norm(h, W.get(p + name + ".weight"), spec["eps"])
    B, T, _ = x.shape
    H, KV, hd = spec["heads"], spec["kv_heads"], spec["head_dim"]
    a = norm(x, "input_layernorm")
    q = apply_rope(linear(a, W, p + "self_attn.q_proj", spec["qkv_bias"]).view(B, T, H, hd).transpose(1, 2), cos, sin)
    k = apply_rope(linear(a, W, p + "self_attn.k_proj", spec["qkv_bias"]).view(B, T, KV, hd).transpose(1, 2), cos, sin)
    v = linear(a, W, p + "self_attn.v_proj", spec["qkv_bias"]).view(B, T, KV, hd).transpose(1, 2)
    cap = spec["attn_softcap"]

    def scores(s):
        s = s * spec["scaling"]
        return torch.tanh(s / cap) * cap if cap is not None else s

    attn = linear(attend(q, k, v, scores, window), W, p + "self_attn.o_proj", spec["o_bias"])
    h = x + norm(attn, "post_attention_layernorm")
    m = gated_mlp(W, p + "mlp.", norm(h, "pre_feedforward_layernorm"), spec["act"], False)
    return h + norm(m, "post_feedforward_layernorm")


# ---------------------------------------------------------------- gpt2


def gpt2_block(cfg, W, p, x):
    """GPT2Block: h = x + c_proj(attn(ln_1(x))); out = h + mlp(ln_2(h)), fused c_attn split into q, k, v."""
    B, T, D = x.shape
    H, eps = cfg["n_head"], cfg.get("layer_norm_epsilon", 1e-5)
    hd = D // H
    ln = lambda h, name: F.layer_norm(h, (D,), W.get(p + name + ".weight"), W.get(p + name + ".bias"), eps)
    q, k, v = (t.view(B, T, H, hd).transpose(1, 2) for t in conv1d(ln(x, "ln_1"), W, p + "attn.c_attn").split(D, dim=-1))
    h = x + conv1d(attend(q, k, v, lambda s: s / hd**0.5), W, p + "attn.c_proj")
    act = activation(cfg.get("activation_function", "gelu_new"))
    return h + conv1d(act(conv1d(ln(h, "ln_2"), W, p + "mlp.c_fc")), W, p + "mlp.c_proj")


def forward_gpt2(cfg, W, ids):
    for flag in ("scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn", "add_cross_attention"):
        if cfg.get(flag, False):
            fail(f"gpt2 config {flag}=true is not supported")
    if cfg.get("scale_attn_weights", True) is not True:
        fail("gpt2 config scale_attn_weights=false is not supported")
    p = "transformer." if W.has("transformer.wte.weight") else ""
    wte = W.get(p + "wte.weight")
    T = ids.shape[1]
    if T > cfg.get("n_positions", 1024):
        fail(f"sequence length {T} exceeds n_positions")
    x = wte[ids] + W.get(p + "wpe.weight")[:T]
    out = {"hook_embed": x}
    for l in range(cfg["n_layer"]):
        x = out[f"blocks.{l}.hook_resid_post"] = gpt2_block(cfg, W, f"{p}h.{l}.", x)
    x = F.layer_norm(x, (x.shape[-1],), W.get(p + "ln_f.weight"), W.get(p + "ln_f.bias"), cfg.get("layer_norm_epsilon", 1e-5))
    head = wte if cfg.get("tie_word_embeddings", True) else W.get("lm_head.weight")
    out["logits"] = x @ head.T
    return out


# ---------------------------------------------------------------- rotary decoders


def decoder_spec(cfg, mt, W):
    heads = cfg["num_attention_heads"]
    head_dim = cfg.get("head_dim", 256) if mt == "gemma2" else (cfg.get("head_dim") or cfg["hidden_size"] // heads)
    attn_bias = cfg.get("attention_bias", False)
    spec = dict(
        prefix="model." if W.has("model.embed_tokens.weight") else "",
        heads=heads,
        kv_heads=cfg.get("num_key_value_heads") or heads,
        head_dim=head_dim,
        eps=cfg.get("rms_norm_eps", 1e-6),
        scaling=head_dim**-0.5,
        qkv_bias={"mistral": False, "qwen2": True}.get(mt, attn_bias),
        o_bias=False if mt in ("mistral", "qwen2") else attn_bias,
        mlp_bias=cfg.get("mlp_bias", False) if mt == "llama" else False,
        clip_qkv=cfg.get("clip_qkv") if mt == "olmo" else None,
        olmo=mt == "olmo",
    )
    if mt == "gemma2":
        spec.update(
            scaling=cfg.get("query_pre_attn_scalar", 256) ** -0.5,
            attn_softcap=cfg.get("attn_logit_softcapping", 50.0),
            act=activation(cfg.get("hidden_activation") or "gelu_pytorch_tanh"),  # Gemma2MLP ignores hidden_act
        )
    else:
        spec["act"] = activation(cfg.get("hidden_act", "silu"))
    return spec


def forward_decoder(cfg, mt, W, ids, dtype):
    spec = decoder_spec(cfg, mt, W)
    T, n_layers = ids.shape[1], cfg["num_hidden_layers"]
    x = W.get(spec["prefix"] + "embed_tokens.weight")[ids]
    if mt == "gemma2":  # normalizer = torch.tensor(hidden_size**0.5, dtype=hidden_states.dtype)
        x = x * torch.tensor(cfg["hidden_size"] ** 0.5, dtype=x.dtype)
    out = {"hook_embed": x}
    cos, sin = rope_tables(cfg, spec["head_dim"], T, dtype)
    block = gemma2_block if mt == "gemma2" else llama_block
    for l, window in enumerate(layer_windows(cfg, mt, n_layers)):
        x = out[f"blocks.{l}.hook_resid_post"] = block(cfg, W, l, x, cos, sin, spec, window)
    if mt == "olmo":
        x = F.layer_norm(x, (x.shape[-1],), None, None, 1e-5)
    else:
        norm = gemma_rms_norm if mt == "gemma2" else rms_norm
        x = norm(x, W.get(spec["prefix"] + "norm.weight"), spec["eps"])
    tied = cfg.get("tie_word_embeddings", TIE_DEFAULT[mt])
    logits = x @ (W.get(spec["prefix"] + "embed_tokens.weight") if tied else W.get("lm_head.weight")).T
    cap = cfg.get("final_logit_softcapping", 30.0) if mt == "gemma2" else None
    out["logits"] = torch.tanh(logits / cap) * cap if cap is not None else logits
    return out


# ---------------------------------------------------------------- main


def load_ids(path):
    with open(path) as f:
        ids = json.load(f)
    ok = isinstance(ids, list) and ids and all(isinstance(r, list) and r for r in ids)
    if not ok or len({len(r) for r in ids}) != 1 or not all(isinstance(t, int) and t >= 0 for r in ids for t in r):
        fail(f"{path} must be a non-empty list of equal-length, non-empty lists of non-negative integer token ids")
    return torch.tensor(ids, dtype=torch.int64)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="HF model directory (config.json + safetensors)")
    ap.add_argument("--ids", required=True, help="JSON list of equal-length lists of token ids")
    ap.add_argument("--out", required=True, help="output .safetensors path")
    ap.add_argument("--dtype", choices=["float64", "float32"], default="float64", help="compute dtype")
    ap.add_argument("--adapter", help="PEFT LoRA adapter directory (adapter_config.json + adapter_model.safetensors)")
    args = ap.parse_args()
    dtype = getattr(torch, args.dtype)
    with open(os.path.join(args.model, "config.json")) as f:
        cfg = json.load(f)
    mt = cfg.get("model_type")
    if mt not in SUPPORTED:
        fail(f"model_type {mt!r} is not one of {', '.join(SUPPORTED)}")
    if cfg.get("quantization_config"):
        fail("quantized checkpoints are not supported")
    ids = load_ids(args.ids)
    vocab = cfg.get("vocab_size")
    if vocab is not None and int(ids.max()) >= vocab:
        fail(f"token id {int(ids.max())} is out of range for vocab_size {vocab}")
    W = Weights(args.model, dtype)
    if args.adapter is not None:
        if mt == "gpt2":
            fail("--adapter is not supported for gpt2 (PEFT targets its Conv1D layers with fan_in_fan_out)")
        W.adapter = Adapter(args.adapter, dtype)
    with torch.no_grad():
        out = forward_gpt2(cfg, W, ids) if mt == "gpt2" else forward_decoder(cfg, mt, W, ids, dtype)
    if W.adapter is not None and W.adapter.unused():
        fail(f"adapter modules this script does not apply LoRA to: {W.adapter.unused()}")
    unused = W.unused(ignore=("lm_head.weight",))  # a tied checkpoint may also carry a copy of the head
    if unused:
        print(f"hf_reference.py: warning: {len(unused)} checkpoint tensors unused, e.g. {unused[:5]}", file=sys.stderr)
    metadata = {"format": "pt", "model_type": mt, "compute_dtype": args.dtype}
    if W.adapter is not None:
        metadata.update(adapter_modules=str(len(W.adapter.modules)), adapter_scaling=repr(W.adapter.scaling))
    write_safetensors(args.out, out, metadata)
    extra = "" if W.adapter is None else f", adapter {len(W.adapter.modules)} modules, scaling {W.adapter.scaling!r}"
    print(f"wrote {args.out}: {len(out)} tensors, logits {list(out['logits'].shape)}, model_type {mt}, {args.dtype}"
          + extra)


if __name__ == "__main__":
    main()
