#!/usr/bin/env python3
"""Write a Hugging Face PEFT LoRA adapter directory (adapter_config.json + adapter_model.safetensors, float32)
for an HF model directory, with seeded random non-zero lora_A and lora_B, using PEFT's on-disk layout (as
PeftModel.save_pretrained writes it for a *ForCausalLM with the adapter named "default"). Needs only torch +
numpy (Debian's python3-torch); safetensors is read and written by hand (helpers from hf_reference.py).

  /usr/bin/python3 tools/torch/peft_fixture.py --model <hf dir> --out <adapter dir> --layers 0,1
      --targets q_proj,v_proj,down_proj --r 4 --alpha 8 [--seed 0] [--rslora] [--dropout 0.0] [--std 0.05]
      [--layers-pattern layers] [--base-name NAME]

Tensors: base_model.model.<module>.lora_A.weight [r, in_features] and .lora_B.weight [out_features, r] for
every checkpoint linear <module> = ...layers.<l>....<target> (<module>.weight a 2-D tensor), l in --layers.
Values are torch.randn * --std from torch.manual_seed(--seed), drawn layer by layer (ascending), target by
target (--targets order), A before B. The config is LoraConfig's complete to_dict() (PEFT's default for every
field not set here) with target_modules, layers_to_transform (= --layers), r, lora_alpha, use_rslora and
lora_dropout set, inference_mode true, task_type CAUSAL_LM, serialised as PEFT does (indent 2, sorted keys).
See packages/model-runners/test/fixtures/peft/README.md for the conventions and the PEFT sources.
"""
import argparse
import json
import os
import re
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hf_reference import Weights, write_safetensors  # noqa: E402

# The PEFT source the layout follows (huggingface/peft main; __version__ 0.20.1.dev0). For a dev version PEFT
# writes peft_version as "<version>@<commit>" (peft/config.py PeftConfigMixin._get_peft_version).
PEFT_VERSION = "0.20.1.dev0@5d602fdbff04c33c1c4de55cda9d4ae1d7cb7e40"


def fail(msg):
    sys.exit(f"peft_fixture.py: error: {msg}")


def default_lora_config():
    """LoraConfig().to_dict() of peft/tuners/lora/config.py (+ PeftConfig fields of peft/config.py), with
    runtime_config removed (LoraConfig.to_dict) as save_pretrained writes it."""
    return {
        # PeftConfigMixin / PeftConfig
        "task_type": None,
        "peft_type": "LORA",
        "auto_mapping": None,
        "peft_version": PEFT_VERSION,
        "base_model_name_or_path": None,
        "revision": None,
        "inference_mode": False,
        # LoraConfig
        "r": 8,
        "target_modules": None,
        "exclude_modules": None,
        "lora_alpha": 8,
        "lora_dropout": 0.0,
        "fan_in_fan_out": False,
        "bias": "none",
        "use_rslora": False,
        "modules_to_save": None,
        "init_lora_weights": True,
        "layers_to_transform": None,
        "layers_pattern": None,
        "rank_pattern": {},
        "alpha_pattern": {},
        "megatron_config": None,
        "megatron_core": "megatron.core",
        "trainable_token_indices": None,
        "loftq_config": {},
        "eva_config": None,
        "corda_config": None,
        "lora_ga_config": None,
        "use_dora": False,
        "velora_config": None,
        "alora_invocation_tokens": None,
        "use_qalora": False,
        "qalora_group_size": 16,
        "monteclora_config": None,
        "layer_replication": None,
        "lora_bias": False,
        "target_parameters": None,
        "use_bdlora": None,
        "arrow_config": None,
        "kasa_config": None,
        "ensure_weight_tying": False,
    }


def layer_index(module, layers_pattern):
    """The layer index PEFT's check_target_module_exists reads from a module name (peft/tuners/tuners_utils.py)."""
    if layers_pattern:
        m = re.match(rf".*?\.{layers_pattern}\.(\d+)\.", module)
    else:
        m = re.match(r".*?\.[^.]*\.(\d+)\.", module)
    return int(m.group(1)) if m else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="HF model directory (config.json + safetensors)")
    ap.add_argument("--out", required=True, help="adapter directory to write")
    ap.add_argument("--layers", required=True, help="comma-separated layer indices (layers_to_transform)")
    ap.add_argument("--targets", required=True, help="comma-separated module names (target_modules)")
    ap.add_argument("--r", type=int, default=8, help="LoRA rank (default 8, as LoraConfig)")
    ap.add_argument("--alpha", type=float, default=8, help="lora_alpha (default 8, as LoraConfig)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rslora", action="store_true", help="use_rslora: scaling = alpha / sqrt(r)")
    ap.add_argument("--dropout", type=float, default=0.0, help="lora_dropout recorded in the config (training only)")
    ap.add_argument("--std", type=float, default=0.05, help="standard deviation of the random A and B entries")
    ap.add_argument("--layers-pattern", default=None, help="layers_pattern (default null: PEFT's generic match)")
    ap.add_argument("--base-name", default=None, help="base_model_name_or_path (default: --model as given)")
    args = ap.parse_args()
    if args.r <= 0:
        fail("--r must be positive")
    layers = sorted({int(v) for v in args.layers.split(",") if v.strip()})
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    if not layers or not targets:
        fail("--layers and --targets must be non-empty")
    with open(os.path.join(args.model, "config.json")) as f:
        model_cfg = json.load(f)
    if model_cfg.get("model_type") == "gpt2":
        fail("gpt2 is not supported (its Conv1D weights are [in, out]; PEFT targets them with fan_in_fan_out)")
    n_layers = model_cfg.get("num_hidden_layers")
    if n_layers is not None and layers[-1] >= n_layers:
        fail(f"layer {layers[-1]} is out of range for num_hidden_layers {n_layers}")

    # Module names of the transformers model = checkpoint weight names without ".weight" (LlamaForCausalLM,
    # Gemma2ForCausalLM, ...: model.layers.<l>.self_attn.q_proj). A bare-decoder checkpoint loads under "model.".
    W = Weights(args.model, torch.float32)
    bare = not any(k.startswith("model.") for k in W.entries)
    modules = {}  # (layer, target) -> (module name, out_features, in_features)
    for key, (_, _, info) in W.entries.items():
        if not key.endswith(".weight") or len(info["shape"]) != 2:
            continue
        module = ("model." if bare else "") + key[: -len(".weight")]
        target = next((t for t in targets if module.endswith("." + t)), None)
        l = layer_index(module, args.layers_pattern) if target else None
        if l in layers:
            if (l, target) in modules:
                fail(f"both {modules[(l, target)][0]!r} and {module!r} match layer {l} target {target!r}")
            modules[(l, target)] = (module, info["shape"][0], info["shape"][1])
    missing = [(l, t) for l in layers for t in targets if (l, t) not in modules]
    if missing:
        fail(f"no linear weight for (layer, target) {missing} in {args.model}")

    torch.manual_seed(args.seed)
    tensors = {}
    for l in layers:
        for t in targets:
            module, out_f, in_f = modules[(l, t)]
            A = torch.randn(args.r, in_f, dtype=torch.float32) * args.std
            B = torch.randn(out_f, args.r, dtype=torch.float32) * args.std
            tensors[f"base_model.model.{module}.lora_A.weight"] = A
            tensors[f"base_model.model.{module}.lora_B.weight"] = B

    alpha = int(args.alpha) if float(args.alpha).is_integer() else args.alpha
    cfg = default_lora_config()
    cfg.update(
        task_type="CAUSAL_LM",
        base_model_name_or_path=args.base_name if args.base_name is not None else args.model,
        inference_mode=True,  # PeftModel.save_pretrained sets it for the saved copy
        r=args.r,
        lora_alpha=alpha,
        lora_dropout=args.dropout,
        use_rslora=args.rslora,
        target_modules=targets,  # a set in LoraConfig, written as a list (order not significant)
        layers_to_transform=layers,
        layers_pattern=args.layers_pattern,
    )
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "adapter_config.json"), "w") as f:
        f.write(json.dumps(cfg, indent=2, sort_keys=True))  # PeftConfigMixin.save_pretrained
    write_safetensors(
        os.path.join(args.out, "adapter_model.safetensors"), dict(sorted(tensors.items())), {"format": "pt"}
    )
    scaling = alpha / args.r ** 0.5 if args.rslora else alpha / args.r
    print(f"wrote {args.out}: {len(tensors) // 2} modules (layers {layers}, targets {targets}), r {args.r}, "
          f"lora_alpha {alpha}, scaling {scaling!r}")


if __name__ == "__main__":
    main()
