#!/usr/bin/env python3
"""PyTorch golden values for wasmgrad: writes test/golden/pytorch.json.

Run by hand, never by CI (nothing in the test suite needs Python):

    /usr/bin/python3 scripts/golden.py

(`--with-reported` also writes the cases listed in REPORTED, to check by hand whether a
reported difference from PyTorch still stands; never commit the JSON written that way.)

It needs PyTorch (developed against Debian's python3-torch, 1.13). Regenerate after
adding, removing or changing a case below, and commit the script and the JSON together;
test/golden.test.ts replays every case through wasmgrad's API.

Each case records, for one op of wasmgrad's API (its name as in the TS API):
  - the inputs: shape and values (float32 values on a 1/4096 grid, so they are exactly
    representable as float32 and print briefly; int32 inputs for indices, labels, masks);
  - args: the options, spelled as in wasmgrad's API (Infinity is written "inf");
  - the outputs (shape, values), computed in float64 in torch from the float32 inputs;
  - a fixed upstream gradient for each float output (on the same grid), and the float64
    gradient of every float input that requires grad, for that upstream gradient;
  - for ops that update inputs in place (batchNorm's running statistics), their values after.

Inputs come from a generator seeded by the case name, so adding a case changes no other.
"""
import json
import math
import os
import sys
import zlib

import torch
import torch.nn.functional as F

GRID = 4096.0
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'golden', 'pytorch.json')

# Cases whose values wasmgrad does not reproduce: each is a reported library difference,
# kept here so that it can be re-enabled (removed from this set) once fixed.
REPORTED: set = set()


class In:
    """One input: a float64 tensor holding float32-exact values, or int indices."""

    def __init__(self, name, value, grad=True, dtype='float32'):
        self.name = name
        self.value = value
        self.dtype = dtype
        self.grad = grad and dtype == 'float32'


def encode(v):
    if math.isnan(v):
        return 'nan'
    if math.isinf(v):
        return 'inf' if v > 0 else '-inf'
    return int(v) if v == int(v) and abs(v) < 2**53 else v


def tensor_json(t, dtype=None):
    t = t.detach()
    out = {'shape': list(t.shape), 'values': [encode(float(v)) for v in t.reshape(-1).tolist()]}
    if dtype is not None:
        out['dtype'] = dtype
    return out


class Gen:
    """Seeded inputs on the 1/4096 grid."""

    def __init__(self, name):
        self.g = torch.Generator().manual_seed(zlib.crc32(name.encode()))

    def uniform(self, shape, lo=-2.0, hi=2.0):
        t = lo + (hi - lo) * torch.rand(shape, generator=self.g, dtype=torch.float64)
        t = torch.round(t * GRID) / GRID
        assert torch.equal(t.float().double(), t), 'inputs must be exactly representable in float32'
        return t

    def distinct(self, shape, lo=-2.0, hi=2.0):
        """Values that are pairwise distinct (for max-like ops, where ties change the gradient)."""
        while True:
            t = self.uniform(shape, lo, hi)
            if t.numel() == torch.unique(t).numel():
                return t

    def away(self, shape, points, lo=-2.0, hi=2.0, margin=0.0625):
        """Values at least `margin` from each of `points` (kinks of the op)."""
        t = self.uniform(shape, lo, hi)
        for p in points:
            t = torch.where((t - p).abs() < margin, t + 2 * margin * torch.where(t >= p, 1.0, -1.0), t)
        assert torch.equal(t.float().double(), t)
        return t

    def ints(self, shape, lo, hi):
        return torch.randint(lo, hi, shape, generator=self.g)


CASES = []


def case(name, op, inputs, fn, args=None, mutated=()):
    """Registers a case: `fn` gets the torch inputs in order (float64, or int64 for ints)."""
    CASES.append((name, op, inputs, fn, args or {}, mutated))


def build(name, op, inputs, fn, args, mutated):
    g = Gen(name + '/upstream')
    leaves = []
    record = []
    for i in inputs:
        if i.dtype == 'int32':
            leaves.append(i.value.long())
        else:
            leaves.append(i.value.clone().requires_grad_(i.grad))
        record.append({'name': i.name, 'dtype': i.dtype, 'requiresGrad': i.grad, **tensor_json(i.value)})
    out = fn(*leaves)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    float_outs = [o for o in outs if o.is_floating_point()]
    upstream = [g.uniform(list(o.shape), -1.0, 1.0) if o.is_floating_point() else None for o in outs]
    wrt = [t for t, i in zip(leaves, inputs) if i.grad]
    grads = {}
    if wrt:
        diff = [(o, u) for o, u in zip(outs, upstream) if u is not None and o.requires_grad]
        gs = torch.autograd.grad([o for o, _ in diff], wrt, [u for _, u in diff], allow_unused=True) if diff else [None] * len(wrt)
        for t, i, gr in zip(wrt, [i for i in inputs if i.grad], gs):
            grads[i.name] = tensor_json(torch.zeros_like(t) if gr is None else gr)
    entry = {
        'name': name,
        'op': op,
        'args': args,
        'inputs': record,
        'outputs': [tensor_json(o, 'float32' if o.is_floating_point() else 'int32') for o in outs],
        'upstream': [None if u is None else tensor_json(u) for u in upstream],
        'grads': grads,
    }
    if mutated:
        entry['updated'] = {inputs[k].name: tensor_json(leaves[k]) for k in mutated}
    assert float_outs or not wrt, name
    return entry


# ---- elementwise unary ------------------------------------------------------------------

def unary(name, op, torch_fn, lo=-2.0, hi=2.0, args=None, kinks=(), shape=(3, 4), values=None):
    g = Gen(name)
    x = values if values is not None else (g.away(list(shape), kinks, lo, hi) if kinks else g.uniform(list(shape), lo, hi))
    case(name, op, [In('x', x)], torch_fn, args)


unary('neg', 'neg', torch.neg)
unary('exp', 'exp', torch.exp, -3, 3)
unary('log', 'log', torch.log, 0.05, 4)
unary('log1p', 'log1p', torch.log1p, -0.9, 3)
unary('expm1', 'expm1', torch.expm1, -2, 2)
unary('sqrt', 'sqrt', torch.sqrt, 0.05, 4)
unary('rsqrt', 'rsqrt', torch.rsqrt, 0.1, 4)
unary('abs', 'abs', torch.abs, kinks=[0])
unary('sign', 'sign', torch.sign, kinks=[0])
unary('sin', 'sin', torch.sin, -4, 4)
unary('cos', 'cos', torch.cos, -4, 4)
unary('tan', 'tan', torch.tan, -1.2, 1.2)
unary('tanh', 'tanh', torch.tanh, -3, 3)
unary('sigmoid', 'sigmoid', torch.sigmoid, -4, 4)
unary('relu', 'relu', torch.relu, kinks=[0])
unary('leakyRelu', 'leakyRelu', F.leaky_relu, kinks=[0])
unary('leakyRelu.slope', 'leakyRelu', lambda x: F.leaky_relu(x, 0.2), args={'negativeSlope': 0.2}, kinks=[0])
unary('elu', 'elu', F.elu, -3, 2, kinks=[0])
unary('elu.alpha', 'elu', lambda x: F.elu(x, 0.5), -3, 2, args={'alpha': 0.5}, kinks=[0])
unary('gelu', 'gelu', F.gelu, -4, 4)
unary('gelu.tanh', 'gelu', lambda x: F.gelu(x, approximate='tanh'), -4, 4, args={'approximate': 'tanh'})
unary('silu', 'silu', F.silu, -4, 4)
unary('softplus', 'softplus', F.softplus, -4, 4)
unary('softplus.threshold', 'softplus', F.softplus, values=torch.tensor([-30.0, -5.0, 19.5, 20.5, 25.0, 0.25], dtype=torch.float64))
unary('reciprocal', 'reciprocal', torch.reciprocal, 0.25, 3)
unary('square', 'square', torch.square)
unary('floor', 'floor', torch.floor, -3, 3, kinks=[-2, -1, 0, 1, 2])
unary('ceil', 'ceil', torch.ceil, -3, 3, kinks=[-2, -1, 0, 1, 2])
unary('round', 'round', torch.round, values=torch.tensor([[-2.5, -1.5, -0.5, 0.5], [1.5, 2.5, -0.75, 0.25], [1.25, -1.75, 3.5, -3.5]], dtype=torch.float64))
unary('clamp', 'clamp', lambda x: x.clamp(-0.5, 1.0), args={'min': -0.5, 'max': 1.0}, kinks=[-0.5, 1.0])
unary('clamp.min', 'clamp', lambda x: x.clamp(min=0.25), args={'min': 0.25}, kinks=[0.25])
unary('clamp.max', 'clamp', lambda x: x.clamp(max=-0.25), args={'max': -0.25}, kinks=[-0.25])
unary('clamp.at_bounds', 'clamp', lambda x: x.clamp(0.0, 1.0), args={'min': 0, 'max': 1},
      values=torch.tensor([-0.5, 0.0, 0.5, 1.0, 1.5], dtype=torch.float64))
unary('leakyRelu.at_zero', 'leakyRelu', lambda x: F.leaky_relu(x, 0.1), args={'negativeSlope': 0.1},
      values=torch.tensor([-1.0, 0.0, 2.0], dtype=torch.float64))
unary('elu.at_zero', 'elu', F.elu, values=torch.tensor([-1.0, 0.0, 2.0], dtype=torch.float64))

# ---- binary -----------------------------------------------------------------------------

def binary(name, op, torch_fn, sa, sb, lo=-2.0, hi=2.0, blo=None, bhi=None, distinct_from_a=False):
    g = Gen(name)
    a = g.uniform(sa, lo, hi)
    b = g.uniform(sb, lo if blo is None else blo, hi if bhi is None else bhi)
    if distinct_from_a:
        while (torch.broadcast_tensors(a, b)[0] == torch.broadcast_tensors(a, b)[1]).any():
            b = g.uniform(sb, lo, hi)
    case(name, op, [In('a', a), In('b', b)], torch_fn)


def scalar_case(name, op, torch_fn, value, reversed_=False, lo=-2.0, hi=2.0, shape=(3, 4)):
    x = Gen(name).uniform(list(shape), lo, hi)
    case(name, op, [In('x', x)], torch_fn, {'scalar': value, 'reversed': reversed_})


binary('add.broadcast', 'add', torch.add, [3, 1], [4])
binary('sub.broadcast', 'sub', torch.sub, [2, 1, 4], [3, 1])
binary('mul.broadcast', 'mul', torch.mul, [4], [3, 4])
binary('div.broadcast', 'div', torch.div, [2, 3], [2, 1], blo=0.5, bhi=2)
binary('pow', 'pow', torch.pow, [3, 4], [3, 4], lo=0.25, hi=2, blo=-2, bhi=2)
binary('pow.broadcast', 'pow', torch.pow, [2, 3], [3], lo=0.5, hi=2)
binary('maximum.broadcast', 'maximum', torch.maximum, [3, 4], [4], distinct_from_a=True)
binary('minimum', 'minimum', torch.minimum, [2, 3], [2, 3], distinct_from_a=True)
scalar_case('pow.scalar_exponent', 'pow', lambda x: torch.pow(x, 3), 3)
scalar_case('pow.scalar_sqrt', 'pow', lambda x: torch.pow(x, 0.5), 0.5, lo=0.1, hi=3)
scalar_case('pow.scalar_base', 'pow', lambda x: torch.pow(2.0, x), 2, reversed_=True)
scalar_case('sub.scalar_reversed', 'sub', lambda x: 1.5 - x, 1.5, reversed_=True)
scalar_case('div.scalar_reversed', 'div', lambda x: 2.0 / x, 2, reversed_=True, lo=0.5, hi=2)

# ---- reductions -------------------------------------------------------------------------

def reduction(name, op, torch_fn, shape, args, distinct=False, lo=-2.0, hi=2.0):
    g = Gen(name)
    x = g.distinct(shape, lo, hi) if distinct else g.uniform(shape, lo, hi)
    case(name, op, [In('x', x)], torch_fn, args)


reduction('sum', 'sum', torch.sum, [3, 4], {})
reduction('sum.dims_keepdim', 'sum', lambda x: x.sum([0, 2], keepdim=True), [2, 3, 4], {'dim': [0, 2], 'keepdim': True})
reduction('mean.dim', 'mean', lambda x: x.mean(1), [3, 4], {'dim': 1})
reduction('mean.neg_dim_keepdim', 'mean', lambda x: x.mean(-1, keepdim=True), [2, 3, 4], {'dim': -1, 'keepdim': True})
reduction('amax', 'amax', torch.amax, [3, 4], {}, distinct=True)
reduction('amax.dim', 'amax', lambda x: x.amax(1), [3, 4], {'dim': 1}, distinct=True)
reduction('amin.dims_keepdim', 'amin', lambda x: x.amin([0, 2], keepdim=True), [2, 3, 4], {'dim': [0, 2], 'keepdim': True}, distinct=True)
reduction('max.dim', 'max', lambda x: torch.max(x, 1), [3, 4], {'dim': 1}, distinct=True)
reduction('min.dim_keepdim', 'min', lambda x: torch.min(x, 0, keepdim=True), [3, 4], {'dim': 0, 'keepdim': True}, distinct=True)
reduction('max.all', 'max', torch.max, [3, 4], {}, distinct=True)
case('max.dim.ties', 'max', [In('x', torch.tensor([[1.0, 3.0, 3.0], [2.0, 0.5, 2.0]], dtype=torch.float64))],
     lambda x: torch.max(x, 1), {'dim': 1})
reduction('var.dim', 'var', lambda x: x.var(1), [3, 5], {'dim': 1})
reduction('var.biased', 'var', lambda x: x.var(unbiased=False), [3, 4], {'unbiased': False})
reduction('std.dim_keepdim', 'std', lambda x: x.std(0, keepdim=True), [4, 3], {'dim': 0, 'keepdim': True})
reduction('std.biased', 'std', lambda x: x.std([0, 1], unbiased=False), [2, 3, 2], {'dim': [0, 1], 'unbiased': False})
reduction('logsumexp.dim', 'logsumexp', lambda x: torch.logsumexp(x, 1), [3, 4], {'dim': 1}, lo=-4, hi=4)
reduction('logsumexp.dims_keepdim', 'logsumexp', lambda x: torch.logsumexp(x, [0, 1], keepdim=True), [2, 3, 2], {'dim': [0, 1], 'keepdim': True})
reduction('norm.p2', 'norm', torch.norm, [3, 4], {})
reduction('norm.p1.dim', 'norm', lambda x: torch.norm(x, 1, 1), [3, 4], {'p': 1, 'dim': 1})
reduction('norm.inf.dim_keepdim', 'norm', lambda x: torch.norm(x, float('inf'), 0, keepdim=True), [3, 4], {'p': 'inf', 'dim': 0, 'keepdim': True}, distinct=True)

# ---- products ---------------------------------------------------------------------------

def product(name, op, torch_fn, sa, sb):
    g = Gen(name)
    case(name, op, [In('a', g.uniform(sa)), In('b', g.uniform(sb))], torch_fn)


product('matmul', 'matmul', torch.matmul, [3, 4], [4, 2])
product('matmul.vec_mat', 'matmul', torch.matmul, [4], [4, 3])
product('matmul.mat_vec', 'matmul', torch.matmul, [3, 4], [4])
product('matmul.batched_broadcast', 'matmul', torch.matmul, [2, 1, 3, 4], [3, 4, 2])
product('matmul.batched_vec', 'matmul', torch.matmul, [2, 3, 4], [4])
product('bmm', 'bmm', torch.bmm, [2, 3, 4], [2, 4, 3])
product('outer', 'outer', torch.outer, [3], [4])
product('dot', 'dot', torch.dot, [5], [5])

# ---- movement ---------------------------------------------------------------------------

def movement(name, op, torch_fn, shape, args):
    case(name, op, [In('x', Gen(name).uniform(shape))], torch_fn, args)


def slicer(dim, start, end, step):
    def f(x):
        idx = [slice(None)] * x.dim()
        idx[dim] = slice(start, end, step)
        return x[tuple(idx)]
    return f


movement('reshape', 'reshape', lambda x: x.reshape(4, -1), [2, 3, 2], {'shape': [4, -1]})
movement('permute', 'permute', lambda x: x.permute(2, 0, 1), [2, 3, 4], {'dims': [2, 0, 1]})
movement('transpose', 'transpose', lambda x: x.transpose(0, 2), [2, 3, 4], {'dim0': 0, 'dim1': 2})
movement('expand', 'expand', lambda x: x.expand(2, 3, 4), [3, 1], {'shape': [2, 3, 4]})
movement('expand.keep_dim', 'expand', lambda x: x.expand(-1, 4), [3, 1], {'shape': [-1, 4]})
movement('slice.step', 'slice', slicer(1, 1, 6, 2), [3, 7], {'dim': 1, 'start': 1, 'end': 6, 'step': 2})
movement('slice.negative', 'slice', slicer(0, -3, None, 1), [5, 2], {'dim': 0, 'start': -3})
movement('repeat', 'repeat', lambda x: x.repeat(2, 1, 3), [2, 3], {'repeats': [2, 1, 3]})
movement('tile', 'tile', lambda x: torch.tile(x, (2,)), [2, 3], {'repeats': [2]})
movement('tril', 'tril', torch.tril, [4, 3], {})
movement('triu.diagonal', 'triu', lambda x: torch.triu(x, 1), [2, 3, 4], {'diagonal': 1})
movement('tril.negative_diagonal', 'tril', lambda x: torch.tril(x, -1), [4, 4], {'diagonal': -1})
movement('pad', 'pad', lambda x: F.pad(x, (1, 2, 0, 1), value=0.5), [2, 3, 2], {'padding': [1, 2, 0, 1], 'value': 0.5})
g = Gen('cat')
case('cat', 'cat', [In('x0', g.uniform([2, 3])), In('x1', g.uniform([2, 1])), In('x2', g.uniform([2, 2]))],
     lambda a, b, c: torch.cat([a, b, c], 1), {'dim': 1})
g = Gen('stack')
case('stack', 'stack', [In('x0', g.uniform([2, 3])), In('x1', g.uniform([2, 3]))], lambda a, b: torch.stack([a, b], 1), {'dim': 1})

# ---- selection --------------------------------------------------------------------------

g = Gen('where')
case('where', 'where', [In('cond', g.ints([3, 4], 0, 2), dtype='int32'), In('a', g.uniform([3, 4])), In('b', g.uniform([4]))],
     lambda c, a, b: torch.where(c.bool(), a, b))
g = Gen('maskedFill')
case('maskedFill', 'maskedFill', [In('x', g.uniform([3, 4])), In('mask', g.ints([3, 4], 0, 2), dtype='int32')],
     lambda x, m: x.masked_fill(m.bool(), -1.25), {'value': -1.25})
g = Gen('indexSelect')
case('indexSelect.dim0_repeats', 'indexSelect', [In('x', g.uniform([4, 3])), In('index', torch.tensor([2, 0, 2, 3]), dtype='int32')],
     lambda x, i: torch.index_select(x, 0, i), {'dim': 0})
g = Gen('indexSelect.dim1')
case('indexSelect.dim1', 'indexSelect', [In('x', g.uniform([2, 5])), In('index', torch.tensor([4, 1]), dtype='int32')],
     lambda x, i: torch.index_select(x, 1, i), {'dim': 1})
g = Gen('embedding')
case('embedding', 'embedding', [In('indices', torch.tensor([[1, 3, 1], [0, 4, 2]]), dtype='int32'), In('weight', g.uniform([5, 3]))],
     lambda i, w: F.embedding(i, w))

# ---- softmax and losses -----------------------------------------------------------------

g = Gen('softmax')
case('softmax', 'softmax', [In('x', g.uniform([3, 5], -3, 3))], lambda x: torch.softmax(x, 1), {'dim': 1})
g = Gen('softmax.dim0_3d')
case('softmax.dim0_3d', 'softmax', [In('x', g.uniform([3, 2, 2], -3, 3))], lambda x: torch.softmax(x, 0), {'dim': 0})
g = Gen('logSoftmax')
case('logSoftmax', 'logSoftmax', [In('x', g.uniform([3, 5], -3, 3))], lambda x: torch.log_softmax(x, -1), {'dim': -1})


def ce(name, logits_shape, target, args, probs=False, target_grad=False):
    g = Gen(name)
    logits = g.uniform(logits_shape, -3, 3)
    if probs:
        t = torch.softmax(g.uniform(logits_shape, -2, 2), 1)
        t = torch.round(t * GRID) / GRID
        inputs = [In('input', logits), In('target', t, grad=target_grad)]
    else:
        inputs = [In('input', logits), In('target', torch.tensor(target), dtype='int32')]
    torch_args = {'reduction': args.get('reduction', 'mean'), 'ignore_index': args.get('ignoreIndex', -100),
                  'label_smoothing': args.get('labelSmoothing', 0.0)}
    case(name, 'crossEntropy', inputs, lambda x, t: F.cross_entropy(x, t, **torch_args), args)


ce('crossEntropy', [4, 5], [1, 0, 4, 2], {})
ce('crossEntropy.sum', [3, 4], [3, 3, 0], {'reduction': 'sum'})
ce('crossEntropy.none', [3, 4], [2, 1, 0], {'reduction': 'none'})
ce('crossEntropy.ignoreIndex', [4, 3], [1, -1, 2, -1], {'ignoreIndex': -1})
ce('crossEntropy.labelSmoothing', [3, 4], [0, 3, 1], {'labelSmoothing': 0.2})
ce('crossEntropy.spatial', [2, 3, 4], [[0, 2, 1, 1], [2, 0, 0, 1]], {})
ce('crossEntropy.probs', [3, 4], None, {}, probs=True)
ce('crossEntropy.probs.smoothing_sum', [2, 5], None, {'labelSmoothing': 0.1, 'reduction': 'sum'}, probs=True)
ce('crossEntropy.probs.target_grad', [3, 4], None, {}, probs=True, target_grad=True)


def nll(name, target, args):
    g = Gen(name)
    x = torch.log_softmax(g.uniform([len(target), 4], -2, 2), 1)
    x = torch.round(x * GRID) / GRID
    torch_args = {'reduction': args.get('reduction', 'mean'), 'ignore_index': args.get('ignoreIndex', -100)}
    case(name, 'nllLoss', [In('input', x), In('target', torch.tensor(target), dtype='int32')],
         lambda x, t: F.nll_loss(x, t, **torch_args), args)


nll('nllLoss', [3, 0, 1], {})
nll('nllLoss.ignoreIndex_sum', [2, 0, 2, 1], {'ignoreIndex': 2, 'reduction': 'sum'})
nll('nllLoss.none', [1, 3], {'reduction': 'none'})


def pointwise_loss(name, op, torch_fn, args, shape=(3, 4), lo=-2.0, hi=2.0, tlo=-2.0, thi=2.0, target_grad=True, target=None, kinks=()):
    g = Gen(name)
    x = g.uniform(list(shape), lo, hi)
    t = target if target is not None else g.uniform(list(shape), tlo, thi)
    for k in kinks:
        # Keep |x − t| away from the loss's kinks.
        d = x - t
        x = torch.where((d.abs() - k).abs() < 0.05, x + 0.125, x)
    targs = {'reduction': args.get('reduction', 'mean')}
    if 'beta' in args:
        targs['beta'] = args['beta']
    case(name, op, [In('input', x), In('target', t, grad=target_grad)], lambda a, b: torch_fn(a, b, **targs), args)


pointwise_loss('mseLoss', 'mseLoss', F.mse_loss, {})
pointwise_loss('mseLoss.none', 'mseLoss', F.mse_loss, {'reduction': 'none'}, shape=(2, 3))
pointwise_loss('l1Loss.sum', 'l1Loss', F.l1_loss, {'reduction': 'sum'}, kinks=[0])
pointwise_loss('smoothL1Loss', 'smoothL1Loss', F.smooth_l1_loss, {}, kinks=[0, 1])
pointwise_loss('smoothL1Loss.beta', 'smoothL1Loss', F.smooth_l1_loss, {'beta': 0.5, 'reduction': 'none'}, shape=(2, 4), kinks=[0, 0.5])
# PyTorch 1.13 does not differentiate binary_cross_entropy's target.
pointwise_loss('binaryCrossEntropy', 'binaryCrossEntropy', F.binary_cross_entropy, {}, lo=0.05, hi=0.95, tlo=0, thi=1, target_grad=False)
pointwise_loss('binaryCrossEntropy.none', 'binaryCrossEntropy', F.binary_cross_entropy, {'reduction': 'none'}, shape=(5,), lo=0.05, hi=0.95,
               target=torch.tensor([0.0, 1.0, 1.0, 0.0, 0.25], dtype=torch.float64), target_grad=False)
pointwise_loss('binaryCrossEntropyWithLogits', 'binaryCrossEntropyWithLogits', F.binary_cross_entropy_with_logits, {}, lo=-4, hi=4, tlo=0, thi=1)
pointwise_loss('binaryCrossEntropyWithLogits.sum', 'binaryCrossEntropyWithLogits', F.binary_cross_entropy_with_logits, {'reduction': 'sum'},
               shape=(6,), lo=-6, hi=6, target=torch.tensor([0.0, 1.0, 1.0, 0.0, 0.5, 1.0], dtype=torch.float64))

# ---- linear, convolution, pooling -------------------------------------------------------

g = Gen('linear')
case('linear', 'linear', [In('x', g.uniform([3, 4])), In('weight', g.uniform([2, 4])), In('bias', g.uniform([2]))], F.linear)
g = Gen('linear.nobias_3d')
case('linear.nobias_3d', 'linear', [In('x', g.uniform([2, 3, 4])), In('weight', g.uniform([5, 4]))], F.linear)
g = Gen('linear.relu')
x, w, b = g.uniform([4, 3]), g.uniform([3, 3]), g.uniform([3])
while (F.linear(x, w, b).abs() < 0.05).any():  # no pre-activation at relu's kink
    b = g.uniform([3])
case('linear.relu', 'linear', [In('x', x), In('weight', w), In('bias', b)], lambda x, w, b: F.relu(F.linear(x, w, b)), {'activation': 'relu'})


def conv(name, op, xs, ws, args, bias=True):
    g = Gen(name)
    inputs = [In('input', g.uniform(xs)), In('weight', g.uniform(ws, -1, 1))]
    if bias:
        inputs.append(In('bias', g.uniform([ws[0]], -1, 1)))
    torch_fn = F.conv1d if op == 'conv1d' else F.conv2d
    targs = {'stride': args.get('stride', 1), 'padding': args.get('padding', 0), 'dilation': args.get('dilation', 1),
             'groups': args.get('groups', 1)}
    case(name, op, inputs, (lambda x, w, b: torch_fn(x, w, b, **targs)) if bias else (lambda x, w: torch_fn(x, w, None, **targs)), args)


conv('conv1d', 'conv1d', [2, 3, 7], [4, 3, 3], {})
conv('conv1d.stride_padding_dilation', 'conv1d', [1, 2, 9], [3, 2, 3], {'stride': 2, 'padding': 2, 'dilation': 2})
conv('conv1d.groups_nobias', 'conv1d', [2, 4, 6], [4, 2, 2], {'groups': 2}, bias=False)
conv('conv2d', 'conv2d', [2, 2, 5, 4], [3, 2, 3, 2], {})
conv('conv2d.stride_padding', 'conv2d', [1, 3, 6, 5], [2, 3, 3, 3], {'stride': 2, 'padding': 1})
conv('conv2d.dilation_asym', 'conv2d', [1, 2, 7, 6], [2, 2, 2, 3], {'dilation': [2, 1], 'padding': [1, 0], 'stride': [1, 2]})
conv('conv2d.groups', 'conv2d', [2, 4, 4, 4], [6, 2, 2, 2], {'groups': 2})
conv('conv2d.depthwise_same', 'conv2d', [1, 3, 5, 5], [3, 1, 3, 3], {'groups': 3, 'padding': 'same'}, bias=False)
conv('conv2d.unbatched', 'conv2d', [2, 4, 4], [2, 2, 2, 2], {'padding': 1})


def pool(name, op, shape, torch_fn, args):
    case(name, op, [In('input', Gen(name).distinct(shape))], torch_fn, args)


pool('maxPool2d', 'maxPool2d', [2, 2, 4, 4], lambda x: F.max_pool2d(x, 2), {'kernelSize': 2})
pool('maxPool2d.stride_padding', 'maxPool2d', [1, 2, 5, 5], lambda x: F.max_pool2d(x, 3, 2, 1), {'kernelSize': 3, 'stride': 2, 'padding': 1})
pool('maxPool2d.ceil_dilation', 'maxPool2d', [1, 1, 7, 6], lambda x: F.max_pool2d(x, 2, 2, 0, 2, ceil_mode=True),
     {'kernelSize': 2, 'stride': 2, 'dilation': 2, 'ceilMode': True})
pool('avgPool2d', 'avgPool2d', [2, 2, 4, 6], lambda x: F.avg_pool2d(x, [2, 3]), {'kernelSize': [2, 3]})
pool('avgPool2d.padding', 'avgPool2d', [1, 2, 5, 5], lambda x: F.avg_pool2d(x, 3, 2, 1), {'kernelSize': 3, 'stride': 2, 'padding': 1})
pool('avgPool2d.exclude_pad_ceil', 'avgPool2d', [1, 1, 5, 6], lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
     {'kernelSize': 3, 'stride': 2, 'padding': 1, 'ceilMode': True, 'countIncludePad': False})
pool('avgPool2d.divisor', 'avgPool2d', [1, 2, 4, 4], lambda x: F.avg_pool2d(x, 2, divisor_override=3), {'kernelSize': 2, 'divisorOverride': 3})
pool('adaptiveAvgPool2d', 'adaptiveAvgPool2d', [2, 2, 5, 7], lambda x: F.adaptive_avg_pool2d(x, (2, 3)), {'outputSize': [2, 3]})
pool('adaptiveAvgPool2d.global', 'adaptiveAvgPool2d', [2, 3, 3, 4], lambda x: F.adaptive_avg_pool2d(x, 1), {'outputSize': 1})

# ---- normalisation and attention --------------------------------------------------------

g = Gen('layerNorm')
case('layerNorm', 'layerNorm', [In('x', g.uniform([3, 5])), In('weight', g.uniform([5])), In('bias', g.uniform([5]))],
     lambda x, w, b: F.layer_norm(x, [5], w, b), {'normalizedShape': [5]})
g = Gen('layerNorm.two_dims')
case('layerNorm.two_dims', 'layerNorm', [In('x', g.uniform([2, 2, 3]))], lambda x: F.layer_norm(x, [2, 3], eps=1e-3),
     {'normalizedShape': [2, 3], 'eps': 1e-3})
g = Gen('batchNorm.training')
case('batchNorm.training', 'batchNorm',
     [In('x', g.uniform([3, 2, 2])), In('runningMean', g.uniform([2], -0.5, 0.5), grad=False), In('runningVar', g.uniform([2], 0.5, 2), grad=False),
      In('weight', g.uniform([2])), In('bias', g.uniform([2]))],
     lambda x, rm, rv, w, b: F.batch_norm(x, rm, rv, w, b, training=True, momentum=0.25),
     {'training': True, 'momentum': 0.25}, mutated=(1, 2))
g = Gen('batchNorm.training_2d')
case('batchNorm.training_2d', 'batchNorm', [In('x', g.uniform([4, 3]))],
     lambda x: F.batch_norm(x, None, None, training=True), {'training': True})
g = Gen('groupNorm')
case('groupNorm', 'groupNorm', [In('x', g.uniform([2, 4, 3])), In('weight', g.uniform([4])), In('bias', g.uniform([4]))],
     lambda x, w, b: F.group_norm(x, 2, w, b), {'numGroups': 2})


def sdpa(q, k, v, causal=False, scale=None):
    # torch 1.13 has no F.scaled_dot_product_attention: this is its documented definition.
    s = (1 / math.sqrt(q.shape[-1])) if scale is None else scale
    scores = q @ k.transpose(-2, -1) * s
    if causal:
        L, S = q.shape[-2], k.shape[-2]
        scores = scores.masked_fill(torch.ones(L, S, dtype=torch.bool).triu(1), float('-inf'))
    return torch.softmax(scores, -1) @ v


g = Gen('scaledDotProductAttention.causal')
case('scaledDotProductAttention.causal', 'scaledDotProductAttention',
     [In('q', g.uniform([2, 3, 4])), In('k', g.uniform([2, 3, 4])), In('v', g.uniform([2, 3, 4]))],
     lambda q, k, v: sdpa(q, k, v, causal=True), {'isCausal': True})
g = Gen('scaledDotProductAttention.scale')
case('scaledDotProductAttention.scale', 'scaledDotProductAttention',
     [In('q', g.uniform([1, 2, 3, 2])), In('k', g.uniform([1, 2, 4, 2])), In('v', g.uniform([1, 2, 4, 3]))],
     lambda q, k, v: sdpa(q, k, v, scale=0.75), {'scale': 0.75})


def main():
    names = [c[0] for c in CASES]
    assert len(names) == len(set(names)), 'case names must be unique'
    # --with-reported also writes the reported mismatches, to check them by hand.
    keep = set(REPORTED) if '--with-reported' in sys.argv else set()
    entries = [build(*c) for c in CASES if c[0] not in REPORTED or c[0] in keep]
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        f.write('{"generator": "scripts/golden.py", "torch": %s, "cases": [\n' % json.dumps(torch.__version__))
        f.write(',\n'.join(json.dumps(e, allow_nan=False, separators=(',', ':')) for e in entries))
        f.write('\n]}\n')
    left_out = len(REPORTED - keep)
    print(f'wrote {len(entries)} cases to {os.path.relpath(OUT)} ({left_out} reported mismatches left out)')


if __name__ == '__main__':
    main()
