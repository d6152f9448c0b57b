"""Forward-pass speed of a Hugging Face decoder in PyTorch (float32, no grad), the reference side of
`npm run bench:torch`'s LLM row. Reuses hf_reference.py's model code with the weights read once.

  /usr/bin/python3 tools/torch/bench_forward.py --model <dir> --batch B --seq T --reps R --threads N

Prints one JSON line: {"tokens_per_s", "ms_per_forward", "peak_rss_mb", "threads", "torch"}.
"""
import argparse
import json
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402

import hf_reference as R  # noqa: E402


class CachedWeights(R.Weights):
    """Each tensor is read and converted once, as a loaded model would hold it."""

    def __init__(self, model_dir, dtype):
        super().__init__(model_dir, dtype)
        self.cache = {}

    def get(self, name):
        if name not in self.cache:
            self.cache[name] = super().get(name)
        return self.cache[name]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    with open(os.path.join(a.model, "config.json")) as f:
        cfg = json.load(f)
    mt = cfg["model_type"]
    W = CachedWeights(a.model, torch.float32)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, cfg["vocab_size"], (a.batch, a.seq), generator=g)
    run = (lambda: R.forward_gpt2(cfg, W, ids)) if mt == "gpt2" else (lambda: R.forward_decoder(cfg, mt, W, ids, torch.float32))
    with torch.no_grad():
        run()  # warm-up, and every weight read
        t0 = time.perf_counter()
        for _ in range(a.reps):
            run()
        dt = (time.perf_counter() - t0) / a.reps
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"tokens_per_s": a.batch * a.seq / dt, "ms_per_forward": dt * 1000, "peak_rss_mb": peak, "threads": a.threads, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
