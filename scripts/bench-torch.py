#!/usr/bin/python3
"""PyTorch on the workloads of `npm run bench` (bench/run.mjs), for a fourth column.

Same workload ids, shapes, seeded inputs (mulberry32, as bench/lib/rng.mjs), FLOP counts
(bench/lib/flops.mjs) and timing method (bench/lib/timing.mjs: warm-up of at least one
repetition and up to 300 ms, then repetitions until the workload's cap or at least 7 of
them and 2.5 s; the median), on one thread: torch.set_num_threads(1).

Run by hand only, with Debian's python3-torch (1.13):

    /usr/bin/python3 scripts/bench-torch.py [--ids id1,id2] [--only substring] > torch.txt
    npm run bench -- --torch torch.txt        # merges it as a column (or: --torch, to run this first)

Prints progress on stderr, a table and one line `TORCH_JSON {...}` on stdout. Each result
also carries small outputs (losses of the first training steps, sums of |values|) that
bench/run.mjs compares with wasmgrad's before it shows the column.
"""
import argparse
import datetime
import gc
import glob
import json
import os
import platform
import statistics
import sys
import time

import numpy as np

# OpenBLAS (libopenblas0-pthread, what a representative PyTorch install multiplies with) starts
# its own thread pool, which torch.set_num_threads does not govern.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
import torch  # noqa: E402 (after the thread-count environment)
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(1)

# ---- inputs: bench/lib/rng.mjs ------------------------------------------------------------


def mulberry32(n, seed):
    """The first n values of mulberry32(seed) in [0, 1), as float64 (the JS generator, vectorised)."""
    mask = np.uint64(0xFFFFFFFF)
    a = ((np.uint64(seed) + np.arange(1, n + 1, dtype=np.uint64) * np.uint64(0x6D2B79F5)) & mask).astype(np.uint32)
    with np.errstate(over="ignore"):
        t = (a ^ (a >> np.uint32(15))) * (a | np.uint32(1))
        t = t ^ (t + (t ^ (t >> np.uint32(7))) * (t | np.uint32(61)))
        t = t ^ (t >> np.uint32(14))
    return t.astype(np.float64) / 4294967296.0


def uniform(shape, lo, hi, seed):
    n = int(np.prod(shape))
    return torch.from_numpy((lo + (hi - lo) * mulberry32(n, seed)).astype(np.float32).reshape(shape))


def labels(n, seed):
    return torch.from_numpy(np.floor(mulberry32(n, seed) * 10).astype(np.int64))


# ---- FLOP counts: bench/lib/flops.mjs -------------------------------------------------------

TRAIN_FACTOR = 3  # forward + input gradient + weight gradient


def matmul_flops(m, n, k):
    return 2 * m * n * k


def conv_flops(n, c_out, c_in, kh, kw, oh, ow, groups=1):
    return 2 * n * c_out * (c_in // groups) * kh * kw * oh * ow


def gflops(flops):
    return lambda ms: flops / (ms * 1e6)


# ---- workloads: each returns (run, check) -----------------------------------------------------

BATCH = 64
MLP_SIZES = [784, 256, 128, 10]


def mlp_sgd(batch):
    """bench/workloads/mlp.mjs: SGD step of 784-256-128-10 with relu and MSE, W as [in, out]."""
    params = []
    for l in range(3):
        fan_in, fan_out = MLP_SIZES[l], MLP_SIZES[l + 1]
        bound = 1 / np.sqrt(fan_in)
        params.append(uniform([fan_in, fan_out], -bound, bound, 100 + l).requires_grad_())
        params.append(uniform([fan_out], -bound, bound, 200 + l).requires_grad_())
    x = uniform([batch, 784], 0, 1, 1)
    target = uniform([batch, 10], 0, 1, 2)
    w1, b1, w2, b2, w3, b3 = params

    def step():
        h1 = (x @ w1 + b1).relu()
        h2 = (h1 @ w2 + b2).relu()
        loss = ((h2 @ w3 + b3 - target) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            for p in params:
                p.sub_(p.grad * 0.01)
        for p in params:
            p.grad.zero_()
        return loss.item()

    return step, lambda: {"losses of 3 steps": [step(), step(), step()]}


def train_step(model, names, params, x, y):
    """bench/workloads/train.mjs and mnist.mjs: cross-entropy, Adam (lr 1e-3)."""
    model.load_state_dict({n: params[n] for n in names})
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    return step, lambda: {"losses of 3 steps": [step(), step(), step()]}


def mlp_adam():
    names = ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    params = {}
    for l in range(3):
        fan_in, fan_out = MLP_SIZES[l], MLP_SIZES[l + 1]
        bound = 1 / np.sqrt(fan_in)
        params[names[2 * l]] = uniform([fan_out, fan_in], -bound, bound, 300 + l)
        params[names[2 * l + 1]] = uniform([fan_out], -bound, bound, 400 + l)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    return train_step(model, names, params, uniform([BATCH, 784], 0, 1, 4), labels(BATCH, 5))


CNN_NAMES = ["0.weight", "0.bias", "3.weight", "3.bias", "7.weight", "7.bias"]
CNN_SHAPES = [[16, 1, 3, 3], [16], [32, 16, 3, 3], [32], [10, 1568], [10]]
CNN_FAN_IN = [9, 9, 144, 144, 1568, 1568]


def cnn_adam():
    params = {}
    for i, n in enumerate(CNN_NAMES):
        bound = 1 / np.sqrt(CNN_FAN_IN[i])
        params[n] = uniform(CNN_SHAPES[i], -bound, bound, 501 + i)
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(1568, 10),
    )
    return train_step(model, CNN_NAMES, params, uniform([BATCH, 1, 28, 28], 0, 1, 41), labels(BATCH, 42))


def linreg():
    """bench/workloads/linreg.mjs: 500 epochs of SGD on y = 10x + 1, from w = b = 0."""
    xs = torch.tensor([1.0, 2, 3, 4, 5, 6, 7])
    ys = xs * 10 + 1
    out = {}

    def train():
        w = torch.zeros((), requires_grad=True)
        b = torch.zeros((), requires_grad=True)
        for _ in range(500):
            loss = ((w * xs + b - ys) ** 2).mean()
            loss.backward()
            with torch.no_grad():
                w.sub_(w.grad * 0.01)
                b.sub_(b.grad * 0.01)
            w.grad.zero_()
            b.grad.zero_()
        out.update(w=w.item(), b=b.item())

    def check():
        train()
        return dict(out)

    return train, check


def abs_sums(**tensors):
    return {f"sum |{k}|": float(v.detach().abs().double().sum()) for k, v in tensors.items()}


def matmul(n, transpose_a, transpose_b):
    a = uniform([n, n], -1, 1, 11)
    b = uniform([n, n], -1, 1, 12)
    product = lambda: (a.t() if transpose_a else a) @ (b.t() if transpose_b else b)
    return product, lambda: abs_sums(product=product())


def unary(shape, seed, op, lo=-1, hi=1, key="output"):
    x = uniform(shape, lo, hi, seed)
    return lambda: op(x), lambda: abs_sums(**{key: op(x)})


def conv(x_shape, w_shape, groups=1, backward=True):
    c = x_shape[1]
    bound = 1 / np.sqrt(9 * (c // groups))
    x = uniform(x_shape, -1, 1, 71).requires_grad_(backward)
    w = uniform(w_shape, -bound, bound, 72).requires_grad_(backward)
    y_shape = [x_shape[0], w_shape[0], x_shape[2], x_shape[3]]
    dy = uniform(y_shape, -1, 1, 73) if backward else None

    def compute():
        y = F.conv2d(x, w, None, padding=1, groups=groups)
        if not backward:
            return {"y": y}
        dx, dw = torch.autograd.grad(y, [x, w], dy)
        return {"y": y, "dx": dx, "dw": dw}

    return compute, lambda: abs_sums(**compute())


def chain(requires_grad, backward, n=10_000):
    """bench/workloads/overhead.mjs: 10 000 chained y = y + 1 on a scalar."""
    x = torch.zeros((), requires_grad=requires_grad)

    def run():
        y = x
        for _ in range(n):
            y = y + 1
        if backward:
            y.backward()
        return y

    def check():
        out = {"y": run().item()}
        if backward:
            out["grad"] = x.grad.item()
        x.grad = None
        return out

    def timed():
        run()
        if backward:
            x.grad = None

    return timed, check


def conv_rate(x_shape, w_shape, groups=1, backward=True):
    n, c, h, w = x_shape
    return (TRAIN_FACTOR if backward else 1) * conv_flops(n, w_shape[0], c, 3, 3, h, w, groups)


MLP_ADAM_FLOPS = TRAIN_FACTOR * sum(matmul_flops(BATCH, MLP_SIZES[l + 1], MLP_SIZES[l]) for l in range(3))
CNN_FLOPS = TRAIN_FACTOR * (
    conv_flops(BATCH, 16, 1, 3, 3, 28, 28) + conv_flops(BATCH, 32, 16, 3, 3, 14, 14) + matmul_flops(BATCH, 10, 1568)
)
POOL = [64, 16, 28, 28]
ROWS = [1024, 1024]
per_op = lambda ms: ms * 1000 / 10_000

# id: (unit, metric from ms or None, maxReps, make)
WORKLOADS = {
    "mlp-b128": ("ms", None, 40, lambda: mlp_sgd(128)),
    "mlp-b32": ("ms", None, 40, lambda: mlp_sgd(32)),
    "mnist-mlp": ("samples/s", lambda ms: BATCH / (ms / 1000), 60, mlp_adam),
    "mlp-adam-b64": ("GFLOP/s", gflops(MLP_ADAM_FLOPS), 60, mlp_adam),
    "cnn-adam-b64": ("GFLOP/s", gflops(CNN_FLOPS), 30, cnn_adam),
    "linreg-500": ("ms", None, 25, linreg),
    "matmul-1024": ("GFLOP/s", gflops(2 * 1024**3), 15, lambda: matmul(1024, False, False)),
    "matmul-512-Bt": ("GFLOP/s", gflops(2 * 512**3), 30, lambda: matmul(512, False, True)),
    "matmul-512-At": ("GFLOP/s", gflops(2 * 512**3), 30, lambda: matmul(512, True, False)),
    "matmul-256": ("GFLOP/s", gflops(2 * 256**3), 30, lambda: matmul(256, False, False)),
    "exp-1M": ("ms", None, 60, lambda: unary([1 << 20], 21, torch.exp, -4, 4, key="exp")),
    "relu-64x16x28x28": ("ms", None, 60, lambda: unary(POOL, 61, torch.relu)),
    "maxpool2d-64x16x28x28": ("ms", None, 60, lambda: unary(POOL, 61, lambda x: F.max_pool2d(x, 2))),
    "sum-rows-1024": ("ms", None, 60, lambda: unary(ROWS, 62, lambda x: x.sum(1))),
    "amax-rows-1024": ("ms", None, 60, lambda: unary(ROWS, 62, lambda x: x.amax(1))),
    "conv1-fwd-bwd": ("GFLOP/s", gflops(conv_rate([64, 1, 28, 28], [16, 1, 3, 3])), 40, lambda: conv([64, 1, 28, 28], [16, 1, 3, 3])),
    "conv2-fwd-bwd": ("GFLOP/s", gflops(conv_rate([64, 16, 14, 14], [32, 16, 3, 3])), 40, lambda: conv([64, 16, 14, 14], [32, 16, 3, 3])),
    "conv-depthwise-fwd": (
        "GFLOP/s",
        gflops(conv_rate([32, 32, 28, 28], [32, 1, 3, 3], 32, False)),
        40,
        lambda: conv([32, 32, 28, 28], [32, 1, 3, 3], groups=32, backward=False),
    ),
    "op-recorded": ("µs/op", per_op, 30, lambda: chain(True, False)),
    "op-nograd": ("µs/op", per_op, 30, lambda: chain(False, False)),
    "op-backward": ("µs/op", per_op, 30, lambda: chain(True, True)),
}

# ---- timing: bench/lib/timing.mjs, for one library ---------------------------------------------


def measure(run, max_reps, reps=None, min_reps=7, budget_ms=2500, warmup_ms=300, max_warmup=5):
    gc.collect()
    start = time.perf_counter()
    for i in range(max_warmup):
        if i > 0 and (time.perf_counter() - start) * 1000 >= warmup_ms:
            break
        run()
    gc.collect()
    samples = []
    spent = 0.0
    while (len(samples) < reps) if reps else (len(samples) < max_reps and not (len(samples) >= min_reps and spent >= budget_ms)):
        t0 = time.perf_counter()
        run()
        dt = (time.perf_counter() - t0) * 1000
        samples.append(dt)
        spent += dt
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples), "reps": len(samples)}


def round5(x):
    return float(f"{x:.5g}")


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def blas_library():
    """Debian's torch uses whichever libblas.so.3 the alternatives system points at (BLAS_INFO=generic)."""
    links = glob.glob("/etc/alternatives/libblas.so.3*")
    return os.path.realpath(links[0]) if links else "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ids", help="comma-separated workload ids (default: all)")
    parser.add_argument("--only", help="workloads whose id contains this")
    parser.add_argument("--reps", type=int, help="exactly this many timed repetitions per workload")
    args = parser.parse_args()
    ids = list(WORKLOADS)
    if args.ids:
        wanted = args.ids.split(",")
        unknown = [i for i in wanted if i not in WORKLOADS]
        if unknown:
            print(f"note: no PyTorch version of {', '.join(unknown)}", file=sys.stderr)
        ids = [i for i in ids if i in wanted]
    if args.only:
        ids = [i for i in ids if args.only in i]
    if not ids:
        parser.error(f"no workload selected; ids: {', '.join(WORKLOADS)}")

    results = []
    started = time.perf_counter()
    for wid in ids:
        unit, metric, max_reps, make = WORKLOADS[wid]
        _, check = make()
        outputs = check()  # from fresh inputs, as the JS harness checks before timing
        run, _ = make()
        res = measure(run, max_reps, args.reps)
        value = metric(res["median"]) if metric else res["median"]
        print(f"{wid:22} torch median {res['median']:.3f} ms over {res['reps']} reps (min {res['min']:.3f})", file=sys.stderr)
        results.append({
            "id": wid, "unit": unit, "value": round5(value),
            "medianMs": round5(res["median"]), "minMs": round5(res["min"]), "maxMs": round5(res["max"]), "reps": res["reps"],
            "check": outputs,
        })

    print(f"\nPyTorch {torch.__version__}, {torch.get_num_threads()} thread, BLAS {blas_library()}, Python {platform.python_version()}, {cpu_model()}")
    print("medians; GFLOP/s rows also show ms\n")
    head = ("workload", "unit", "torch")
    rows = [(r["id"], r["unit"], f"{r['value']:.4g}" + (f" ({r['medianMs']:.4g} ms)" if r["unit"] == "GFLOP/s" else "")) for r in results]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    print(f"{head[0].ljust(widths[0])}  {head[1].ljust(widths[1])}  {head[2].rjust(widths[2])}")
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(f"{r[0].ljust(widths[0])}  {r[1].ljust(widths[1])}  {r[2].rjust(widths[2])}")
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "torch": torch.__version__, "threads": torch.get_num_threads(), "python": platform.python_version(),
        "blas": blas_library(), "numpy": np.__version__, "cpuModel": cpu_model(),
    }
    print("\nTORCH_JSON " + json.dumps({**meta, "results": results}, ensure_ascii=False))
    print(f"total {time.perf_counter() - started:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
