#!/usr/bin/env python3
"""Replays fuzz programs (exported by scripts/fuzz-torch.mjs with wasmgrad's results) in
PyTorch, float64, and compares. Local only: nothing in CI or the package needs Python.

Each step runs the PyTorch equivalent of the op (mirroring test/fuzz/ops.ts by name) on
the operands, and its result is compared with wasmgrad's. The value then carried forward
is wasmgrad's own (pinned: `out + (wasm - out).detach()`), so float32 rounding does not
compound and branch decisions (floor, comparisons, max) match, while gradients still flow
through PyTorch's op. Gradients are then compared with PyTorch's backward()/autograd.grad.

Usage: python3 scripts/fuzz_torch.py programs.json
"""
import json
import math
import sys

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
F64 = torch.float64


def dims(d, x):
    if d is None:
        return tuple(range(x.dim()))
    return (d,) if isinstance(d, int) else tuple(d)


def keep_all(y, x, keepdim):
    return y.reshape([1] * x.dim()) if keepdim else y


def slice_along(x, dim, start, end, step):
    idx = [slice(None)] * x.dim()
    idx[dim] = slice(start, end, step)
    return x[tuple(idx)]


def index_items(items):
    out = []
    for it in items:
        if it == '...':
            out.append(Ellipsis)
        elif it == 'None':
            out.append(None)
        elif isinstance(it, list):
            out.append(slice(it[0], it[1], it[2]))
        else:
            out.append(it)
    return tuple(out)


def longs(values, shape):
    return torch.tensor(values, dtype=torch.long).reshape(shape)


def fl(x):
    """Comparisons and indices become float 0/1 (wasmgrad's bool and float32 arithmetic)."""
    return x.to(F64)


UNARY = {
    'neg': torch.neg, 'abs': torch.abs, 'relu': torch.relu, 'sigmoid': torch.sigmoid, 'tanh': torch.tanh,
    'sin': torch.sin, 'cos': torch.cos, 'square': torch.square, 'silu': F.silu, 'softplus': F.softplus,
    'gelu': F.gelu, 'geluTanh': lambda x: F.gelu(x, approximate='tanh'), 'elu': lambda x: F.elu(x, 0.5),
    'leakyRelu': lambda x: F.leaky_relu(x, 0.1), 'exp': torch.exp, 'expm1': torch.expm1, 'log': torch.log,
    'log1p': torch.log1p, 'sqrt': torch.sqrt, 'rsqrt': torch.rsqrt, 'reciprocal': torch.reciprocal,
    'tan': torch.tan, 'floor': torch.floor, 'ceil': torch.ceil, 'round': torch.round, 'clone': torch.clone,
    # wasmgrad records no gradient for sign (PyTorch's is zero): documented in its op table.
    'sign': lambda x: torch.sign(x).detach(), 'detach': lambda x: x.detach(),
}
BINARY = {
    'add': torch.add, 'sub': torch.sub, 'mul': torch.mul, 'div': torch.div, 'maximum': torch.maximum,
    'minimum': torch.minimum, 'pow': torch.pow, 'matmul': torch.matmul,
    'gt': lambda a, b: fl(a > b), 'le': lambda a, b: fl(a <= b), 'eq': lambda a, b: fl(a == b),
    'logicalXor': lambda a, b: fl(torch.logical_xor(a, b)),
}


class MulAdd(torch.autograd.Function):
    """a·b + a, as test/fuzz/ops.ts defines it with defineFunction."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b + a

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return g * (b + 1), g * a


def run_op(name, xs, p):
    if name in UNARY:
        return UNARY[name](xs[0])
    if name in BINARY:
        return BINARY[name](xs[0], xs[1])
    x = xs[0]
    if name == 'addScalar':
        return p['c'] + x if p['left'] else x + p['c']
    if name == 'mulScalar':
        return x * p['c']
    if name == 'rsubScalar':
        return p['c'] - x
    if name == 'powScalar':
        return x ** p['e']
    if name == 'hardtanh':
        return F.hardtanh(x, p['lo'], p['hi'])
    if name == 'clamp':
        return torch.clamp(x, p['lo'], p['hi'])
    if name == 'reshape':
        return x.reshape(p['shape'])
    if name == 'permute':
        return x.permute(p['order'])
    if name == 'transpose':
        return x.transpose(p['d0'], p['d1'])
    if name == 'slice':
        return slice_along(x, p['dim'], p['start'], p['end'], p['step'])
    if name == 'expand':
        return x.expand(p['shape'])
    if name == 'unsqueeze':
        return x.unsqueeze(p['dim'])
    if name == 'squeeze':
        return x.squeeze() if p['dim'] is None else x.squeeze(p['dim'])
    if name == 'flip':
        return torch.flip(x, p['dims'])
    if name == 'repeat':
        return x.repeat(p['reps'])
    if name == 'tril':
        return torch.triu(x, p['k']) if p['upper'] else torch.tril(x, p['k'])
    if name == 'chunkPick':
        return torch.chunk(x, p['chunks'], p['dim'])[p['pick']]
    if name == 'cat':
        return torch.cat([xs[0], xs[1]], p['dim'])
    if name == 'stack':
        return torch.stack([xs[0], xs[1]], p['dim'])
    if name in ('sum', 'mean', 'amax', 'amin', 'var', 'norm2', 'norm1', 'logsumexp'):
        d, k = dims(p.get('dim'), x), p['keepdim']
        if d == () and x.dim() > 0:
            # wasmgrad: an empty dim list reduces no dim (NumPy's rule; PyTorch 1.13 reduces all).
            x, d, k = x.unsqueeze(0), (0,), False
        if name == 'sum':
            return torch.sum(x, d, keepdim=k)
        if name == 'mean':
            return torch.mean(x, d, keepdim=k)
        if name == 'amax':
            return torch.amax(x, d, keepdim=k)
        if name == 'amin':
            return torch.amin(x, d, keepdim=k)
        if name == 'var':
            return torch.var(x, d, unbiased=True, keepdim=k) if d != () else keep_all(torch.var(x), x, k)
        if name == 'norm2':
            return torch.linalg.vector_norm(x, 2, d, keepdim=k)
        if name == 'norm1':
            return torch.linalg.vector_norm(x, 1, d, keepdim=k)
        return torch.logsumexp(x, d, keepdim=k)
    if name == 'prod':
        if p.get('dim') is None:
            return keep_all(torch.prod(x), x, p['keepdim'])
        return torch.prod(x, p['dim'], keepdim=p['keepdim'])
    if name == 'maxValues':
        return torch.max(x, p['dim'], keepdim=p['keepdim']).values
    if name == 'argminF':
        return fl(torch.argmin(x, p['dim'], keepdim=p['keepdim']))
    if name == 'cumsum':
        return torch.cumsum(x, p['dim'])
    if name == 'logcumsumexp':
        return torch.logcumsumexp(x, p['dim'])
    if name == 'softmax':
        return F.softmax(x, p['dim'])
    if name == 'logSoftmax':
        return F.log_softmax(x, p['dim'])
    if name == 'where':
        return torch.where(xs[0] > 0, xs[1], xs[2])
    if name == 'maskedFill':
        return x.masked_fill(xs[1] < 0, p['value'])
    if name == 'indexSelect':
        return torch.index_select(x, p['dim'], longs(p['index'], [len(p['index'])]))
    if name == 'gather':
        return torch.gather(x, p['dim'], longs(p['index'], p['shape']))
    if name == 'index':
        return x[index_items(p['items'])]
    if name == 'conv2d':
        return F.conv2d(x, xs[1], xs[2], stride=tuple(p['stride']), padding=tuple(p['padding']),
                        dilation=tuple(p['dilation']), groups=p['groups'])
    if name == 'maxPool2d':
        return F.max_pool2d(x, tuple(p['kernel']), tuple(p['stride']), tuple(p['padding']), tuple(p['dilation']),
                            ceil_mode=p['ceilMode'])
    if name == 'avgPool2d':
        return F.avg_pool2d(x, tuple(p['kernel']), tuple(p['stride']), tuple(p['padding']), ceil_mode=p['ceilMode'],
                            count_include_pad=p['countIncludePad'])
    if name == 'linear':
        if xs[2].dim() != 1 or xs[2].shape[0] != xs[1].shape[0]:
            # F.linear broadcasts any bias (addmm); its documented shape, which wasmgrad
            # enforces with a ShapeError, is (out_features).
            raise ValueError('linear: bias must be (out_features,)')
        y = F.linear(x, xs[1], xs[2])
        return torch.relu(y) if p['relu'] else y
    if name == 'crossEntropy':
        target = torch.tensor(p['target'], dtype=torch.long).reshape([len(p['target'])] if x.dim() == 2 else [])
        return F.cross_entropy(x, target, reduction=p['reduction'], ignore_index=-100, label_smoothing=p['labelSmoothing'])
    if name == 'customMulAdd':
        return MulAdd.apply(xs[0], xs[1])
    if name == 'hookScale':
        y = x.clone()
        y.register_hook(lambda g: g * p['c'])
        return y
    raise KeyError(f'fuzz_torch: no PyTorch mapping for op {name}')


def tensor_of(v):
    data = [float(x) for x in v['data']]
    return torch.tensor(data, dtype=F64).reshape(v['shape'])


def compare(what, got, want, atol, rtol):
    """`got` is wasmgrad's (a dict), `want` PyTorch's tensor. Returns a message or None."""
    if list(want.shape) != got['shape']:
        return f'{what}: wasmgrad shape {got["shape"]}, PyTorch {list(want.shape)}'
    g = tensor_of(got)
    w = want.detach().to(F64)
    if w.numel() == 0:
        return None
    finite = torch.isfinite(w)
    scale = max(1.0, float(w[finite].abs().max()) if finite.any() else 1.0)
    same_nan = torch.isnan(g) == torch.isnan(w)
    same_inf = torch.where(torch.isinf(w), g == w, torch.ones_like(finite))
    close = torch.where(finite, (g - w).abs() <= atol * scale + rtol * w.abs(), same_nan & same_inf)
    if not bool(close.all()):
        i = int((~close).nonzero()[0].sum()) if close.dim() == 0 else int((~close.reshape(-1)).nonzero()[0])
        return f'{what}[{i}]: wasmgrad {float(g.reshape(-1)[i])}, PyTorch {float(w.reshape(-1)[i])}'
    return None


def replay(case):
    prog, wasm = case['program'], case['wasm']
    err = wasm['error']
    problems = []
    vals = []
    for inp in prog['inputs']:
        t = torch.tensor(inp['data'], dtype=F64).reshape(inp['shape'])
        vals.append(t.requires_grad_(inp['requiresGrad']))
    n_in = len(vals)
    for s, step in enumerate(prog['steps']):
        vid = n_in + s
        if step['op'] == 'const':
            p = step['params']
            vals.append(torch.tensor(p['data'], dtype=F64).reshape(p['shape']).requires_grad_(p['requiresGrad']))
            continue
        if err is not None and err['at'] == s and err['name'] == 'DisposedError':
            return problems  # PyTorch has no dispose: nothing more to compare
        try:
            with torch.set_grad_enabled(not step.get('noGrad', False) and torch.is_grad_enabled()):
                out = run_op(step['op'], [vals[a] for a in step['args']], step.get('params', {}))
            if step.get('noGrad', False):
                # PyTorch marks a view made under no_grad of a tensor requiring grad as requiring
                # grad too; wasmgrad records nothing under noGrad.
                out = out.detach()
        except KeyError:
            raise
        except Exception as e:  # noqa: BLE001 - PyTorch raises RuntimeError, IndexError, ValueError
            if err is not None and err['at'] == s:
                return problems  # both reject the program
            problems.append(f'step {s} ({step["op"]}): PyTorch raised {type(e).__name__}: {str(e)[:160]}; wasmgrad ran')
            return problems
        if err is not None and err['at'] == s:
            problems.append(f'step {s} ({step["op"]}): wasmgrad raised {err["name"]}: {err["message"]}; PyTorch ran')
            return problems
        got = wasm['values'][vid]
        msg = compare(f'step {s} v{vid} = {step["op"]}', got, out, 1e-4, 1e-4)
        if msg:
            problems.append(msg)
            return problems
        if out.requires_grad != wasm['requiresGrad'][vid]:
            problems.append(f'step {s} ({step["op"]}): requiresGrad wasmgrad {wasm["requiresGrad"][vid]}, PyTorch {out.requires_grad}')
        pinned = tensor_of(got)
        if out.dtype == F64:
            pinned = out + (pinned - out).detach()
        vals.append(pinned)

    f = prog['final']
    if f['mode'] == 'none':
        return problems
    T = vals[f['target']]
    up = None if f['upstream'] is None else torch.tensor(f['upstream'], dtype=F64).reshape(T.shape)
    try:
        passes = []
        if f['mode'] == 'backward':
            for i in f['wrt']:
                vals[i].retain_grad()
            for k in range(2 if f['twice'] else 1):
                T.backward(up, retain_graph=f['twice'] and k == 0)
                ids = [int(i) for i in wasm['grads'][k]] if k < len(wasm['grads']) else []
                passes.append({i: (None if vals[i].grad is None else vals[i].grad.clone()) for i in ids})
        elif f['mode'] == 'hvp':
            msg = (err or {}).get('message') or ''
            if err is not None and err['at'] == 'final' and ('not differentiable' in msg or 'prod: double backward' in msg):
                # wasmgrad's limits: no double backward through conv/pooling (documented), nor
                # through prod of an input with zeros (reported).
                return problems
            xs = [vals[i] for i in f['wrt']]
            gs = torch.autograd.grad([T], xs, grad_outputs=None if up is None else [up], allow_unused=True, create_graph=True)
            passes.append(dict(zip(f['wrt'], gs)))
            terms = [(g * torch.tensor(d, dtype=F64).reshape(g.shape)).sum() for g, d in zip(gs, f['direction']) if g is not None]
            D = sum(terms) if terms else None
            second = (torch.autograd.grad(D, xs, allow_unused=True) if D is not None and D.requires_grad else [None] * len(xs))
            passes.append({i: torch.zeros_like(vals[i]) if g is None else g for i, g in zip(f['wrt'], second)})
        else:
            for k in range(2 if f['twice'] else 1):
                gs = torch.autograd.grad([T], [vals[i] for i in f['wrt']], grad_outputs=None if up is None else [up],
                                         allow_unused=True, retain_graph=f['twice'] and k == 0)
                passes.append(dict(zip(f['wrt'], gs)))
        if f['mode'] == 'backward' and len(passes) == 2:
            # The second pass accumulates: twice the first. (Read from PyTorch, .grad is wrong
            # here in 1.13 for stacked 0-d leaves: s = torch.stack([a, b]).sum();
            # s.backward(retain_graph=True); s.backward() leaves a.grad == 3, not 2.)
            passes[1] = {i: None if g is None else 2 * g for i, g in passes[0].items()}
    except Exception as e:  # noqa: BLE001
        if err is not None and err['at'] == 'final':
            return problems
        problems.append(f'final {f["mode"]}: PyTorch raised {type(e).__name__}: {str(e)[:160]}; wasmgrad ran')
        return problems
    if err is not None:
        if err['name'] != 'DisposedError':
            problems.append(f'final {f["mode"]}: wasmgrad raised {err["name"]}: {err["message"]}; PyTorch ran')
        return problems
    for k, grads in enumerate(wasm['grads']):
        for sid, g in grads.items():
            want = passes[k].get(int(sid))
            what = f'gradient of v{sid} ({f["mode"]}, pass {k + 1})'
            if f['mode'] == 'hvp' and k == 1 and g is None:
                g = {'shape': list(want.shape), 'data': [0.0] * want.numel()}  # null: zero
            if want is None or g is None:
                # wasmgrad's sign() records no graph: PyTorch's zero gradient there is None here.
                if (want is None) != (g is None) and not (want is not None and float(want.abs().max() if want.numel() else 0) == 0):
                    problems.append(f'{what}: wasmgrad {"none" if g is None else "a gradient"}, PyTorch {"none" if want is None else "a gradient"}')
                continue
            msg = compare(what, g, want, 1e-3, 1e-3)
            if msg:
                problems.append(msg)
    return problems


def main():
    cases = json.load(open(sys.argv[1]))
    failures = 0
    kinds = {}
    for n, case in enumerate(cases):
        try:
            problems = replay(case)
        except KeyError as e:
            problems = [str(e)]
        if problems:
            failures += 1
            key = problems[0].split(':')[0].split('(')[0].strip()
            kinds[key] = kinds.get(key, 0) + 1
            if failures <= 15:
                print(f'--- program {n}: {problems[0]}')
                print(json.dumps(case['program'], separators=(',', ':'))[:1500])
    print(f'FUZZ_TORCH {json.dumps({"programs": len(cases), "failures": failures})}')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
