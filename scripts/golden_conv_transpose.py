#!/usr/bin/env python3
"""PyTorch golden values for convTranspose2d: writes test/golden/conv-transpose.json.

Run by hand, never by CI (nothing in the test suite needs Python):

    /usr/bin/python3 scripts/golden_conv_transpose.py

It needs PyTorch (developed against Debian's python3-torch, 1.13). Regenerate after
adding, removing or changing a case below, and commit the script and the JSON together;
test/conv-transpose.test.ts replays every case through wasmgrad's API.

Each case records the options (spelled as in wasmgrad's API), the input, weight and
optional bias (float32-exact values on a 1/4096 grid, from a generator seeded by the case
name), a fixed upstream gradient on the same grid, and, computed by F.conv_transpose2d in
float64 from those values: the output, the gradients of sum(upstream * output) with
respect to input, weight and bias, and the gradients of the sum of those gradients'
squares (second order).

`--op-case` prints the small case that test/op-cases.ts pastes as its golden row instead.
"""
import json
import os
import sys
import zlib

import torch
import torch.nn.functional as F

GRID = 4096.0
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'golden', 'conv-transpose.json')

# name: (input shape, weight shape, bias?, options)
CASES = {
    'basic 3x3': ([2, 3, 4, 4], [3, 2, 3, 3], True, {}),
    'stride 2': ([1, 2, 3, 4], [2, 3, 3, 3], True, {'stride': 2}),
    'stride 2 padding 1 (k=4, the usual 2x upsampling)': ([2, 3, 4, 4], [3, 2, 4, 4], True, {'stride': 2, 'padding': 1}),
    'stride 2 padding 1 outputPadding 1': ([1, 2, 3, 3], [2, 3, 3, 3], True, {'stride': 2, 'padding': 1, 'outputPadding': 1}),
    'asymmetric stride, padding, outputPadding': ([1, 2, 3, 5], [2, 2, 3, 2], True, {'stride': [3, 2], 'padding': [1, 0], 'outputPadding': [2, 1]}),
    'dilation 2': ([1, 2, 4, 4], [2, 3, 3, 3], True, {'dilation': 2}),
    'dilation with outputPadding (smaller than dilation, not stride)': ([1, 2, 3, 3], [2, 2, 2, 3], True, {'dilation': [2, 3], 'outputPadding': [1, 2]}),
    'dilation, stride, padding': ([2, 2, 3, 3], [2, 2, 3, 3], False, {'stride': 2, 'padding': 2, 'dilation': 2}),
    'groups 2': ([2, 4, 3, 3], [4, 3, 3, 3], True, {'groups': 2, 'stride': 2, 'padding': 1}),
    'groups 3, two channels per group': ([1, 6, 3, 4], [6, 2, 2, 3], True, {'groups': 3}),
    'depthwise (groups = channels)': ([2, 4, 4, 4], [4, 1, 3, 3], True, {'groups': 4, 'stride': 2, 'padding': 1, 'outputPadding': 1}),
    'depthwise with a channel multiplier': ([1, 3, 4, 3], [3, 2, 3, 3], False, {'groups': 3, 'padding': 1}),
    'unbatched': ([3, 4, 4], [3, 2, 3, 3], True, {'stride': 2, 'padding': 1}),
    'unbatched, no bias': ([2, 3, 3], [2, 2, 2, 2], False, {}),
    'no bias': ([2, 3, 3, 3], [3, 4, 3, 3], False, {'stride': 2}),
    '1x1 kernel (pointwise)': ([2, 5, 3, 4], [5, 3, 1, 1], True, {}),
    '1x1 kernel, stride 2': ([1, 3, 3, 3], [3, 2, 1, 1], True, {'stride': 2, 'outputPadding': 1}),
    '1x1 kernel, padding 1 (crops the border)': ([1, 3, 4, 4], [3, 2, 1, 1], True, {'padding': 1}),
    'padding crops to a single pixel': ([1, 2, 1, 1], [2, 2, 3, 3], True, {'padding': 1}),
    'kernel larger than the input': ([1, 2, 2, 2], [2, 2, 5, 4], True, {'stride': 3, 'padding': 1}),
    'one input channel, many outputs': ([2, 1, 3, 3], [1, 8, 3, 3], True, {'stride': 2}),
    'empty batch': ([0, 3, 3, 3], [3, 2, 3, 3], True, {'stride': 2, 'padding': 1}),
}


def pair(v):
    return list(v) if isinstance(v, (list, tuple)) else [v, v]


def values(name, shape, k):
    g = torch.Generator().manual_seed(zlib.crc32(f'{name}/{k}'.encode()))
    return (torch.randint(-8192, 8193, shape, generator=g, dtype=torch.float64) / GRID)


def run(name, xs, ws, bias, opts):
    x = values(name, xs, 0).requires_grad_()
    w = values(name, ws, 1).requires_grad_()
    b = values(name, [ws[1] * opts.get('groups', 1)], 2).requires_grad_() if bias else None
    kw = dict(stride=pair(opts.get('stride', 1)), padding=pair(opts.get('padding', 0)),
              output_padding=pair(opts.get('outputPadding', 0)), dilation=pair(opts.get('dilation', 1)),
              groups=opts.get('groups', 1))
    y = F.conv_transpose2d(x, w, b, **kw)
    up = values(name, list(y.shape), 3)
    inputs = [t for t in (x, w, b) if t is not None]
    grads = torch.autograd.grad((y * up).sum(), inputs, create_graph=True)
    total = sum((g * g).sum() for g in grads)
    gradgrads = torch.autograd.grad(total, inputs, allow_unused=True) if total.requires_grad else [None] * len(inputs)
    gradgrads = [torch.zeros_like(t) if g is None else g for t, g in zip(inputs, gradgrads)]
    # Nine significant digits: more than float32 holds, so the file stays small.
    flat = lambda t: [float(f'{v:.9g}') for v in t.detach().reshape(-1).tolist()]
    return {
        'name': name,
        'options': opts,
        'input': {'shape': xs, 'data': flat(x)},
        'weight': {'shape': ws, 'data': flat(w)},
        'bias': None if b is None else flat(b),
        'upstream': flat(up),
        'output': {'shape': list(y.shape), 'data': flat(y)},
        'grads': [flat(g) for g in grads],
        'gradgrads': [flat(g) for g in gradgrads],
    }


def op_case():
    """The row of test/op-cases.ts: stride 2, padding 1, outputPadding 1, with a bias."""
    x = torch.tensor([0.5, -1, 2, 0.25, -0.75, 1.5, 1, 0.5, -2, -0.25, 0.75, 1.25], dtype=torch.float64).reshape(1, 2, 2, 3)
    w = torch.tensor([1, -0.5, 0.25, 2, -1.5, 0.75, 0.5, -0.25, 0.125, 1, -2, 0.5, 1.5, -1, 0.25, -0.75], dtype=torch.float64).reshape(2, 2, 2, 2)
    b = torch.tensor([0.5, -0.25], dtype=torch.float64)
    inputs = [t.clone().requires_grad_() for t in (x, w, b)]
    y = F.conv_transpose2d(*inputs, stride=2, padding=1, output_padding=1)
    weights = torch.tensor([[1, -2, 0.5, 1.5, -1][i % 5] * (1 if i % 7 else -0.5) for i in range(y.numel())], dtype=torch.float64)
    grads = torch.autograd.grad((y.reshape(-1) * weights).sum(), inputs, create_graph=True)
    # The bias's gradient is constant: its second gradient is unused, i.e. zero.
    gradgrads = torch.autograd.grad(sum((g * g).sum() for g in grads), inputs, allow_unused=True)
    gradgrads = [torch.zeros_like(t) if g is None else g for t, g in zip(inputs, gradgrads)]
    fmt = lambda t: '[' + ', '.join(f'{float(v):.9g}' for v in t.detach().reshape(-1).tolist()) + ']'
    print(f'output shape {list(y.shape)}')
    print(f'weights: {fmt(weights)},')
    print(f'output: {fmt(y)},')
    print('grads: [' + ', '.join(fmt(g) for g in grads) + '],')
    print('gradgrads: [' + ', '.join(fmt(g) for g in gradgrads) + '],')


def main():
    if '--op-case' in sys.argv:
        return op_case()
    cases = [run(name, *spec) for name, spec in CASES.items()]
    with open(OUT, 'w') as f:
        json.dump({'generator': 'scripts/golden_conv_transpose.py', 'torch': torch.__version__, 'cases': cases}, f, separators=(',', ':'))
        f.write('\n')
    print(f'wrote {len(cases)} cases to {os.path.relpath(OUT)}')


if __name__ == '__main__':
    main()
