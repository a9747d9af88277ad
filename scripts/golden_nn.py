"""Writes test/golden/nn.json: PyTorch (1.13) layers with fixed weights and inputs, their
outputs, input gradients and parameter gradients, for test/nn-golden.test.ts.

Run by hand with a local PyTorch: /usr/bin/python3 scripts/golden_nn.py
Each case names the layer and its arguments; the test builds the same wasmgrad layer from
its own table (keyed by the case name), loads `state` with loadStateDict and compares.
Backward uses a fixed random gradient of every output: loss = sum(out_i * gout_i).
"""
import json
import math
import os

import torch
import torch.nn as nn

torch.manual_seed(0)
torch.set_default_dtype(torch.float32)


def enc(t):
    t = t.detach()
    dtype = {torch.float32: 'float32', torch.float64: 'float32', torch.int64: 'int32', torch.int32: 'int32', torch.bool: 'bool'}[t.dtype]
    data = t.reshape(-1).tolist()
    if dtype == 'bool':
        data = [bool(v) for v in data]
    elif dtype == 'float32':
        data = [float('%.8g' % v) for v in data]  # float32 needs at most 9 digits; 8 keep the file small
    return {'shape': list(t.shape), 'dtype': dtype, 'data': data}


cases = []


def add(name, module, inputs, *, train=True, kwargs=None, outputs=lambda o: [o], same_input=False, extra_state_after=True):
    """Runs `module(*inputs, **kwargs)`; records state, output(s), gradients."""
    kwargs = kwargs or {}
    module.train(train)
    state = {k: enc(v) for k, v in module.state_dict().items()}
    ins = [x.clone().requires_grad_(x.is_floating_point()) if isinstance(x, torch.Tensor) else x for x in inputs]
    if same_input:
        ins = [ins[0]] * len(ins)
    out = outputs(module(*ins, **{k: v for k, v in kwargs.items()}))
    gouts = [torch.randn(o.shape) for o in out]
    loss = sum((o * g).sum() for o, g in zip(out, gouts))
    loss.backward()
    case = {
        'name': name,
        'train': train,
        'state': state,
        'inputs': [enc(x) for x in inputs],
        'kwargs': {k: enc(v) for k, v in kwargs.items() if isinstance(v, torch.Tensor)},
        'outputs': [enc(o) for o in out],
        'gradOutputs': [enc(g) for g in gouts],
        'inputGrads': [None if same_input and i > 0 else enc(x.grad) if isinstance(x, torch.Tensor) and x.grad is not None else None for i, x in enumerate(ins)],
        'paramGrads': {k: enc(p.grad) for k, p in module.named_parameters() if p.grad is not None},
    }
    if extra_state_after:
        case['stateAfter'] = {k: enc(v) for k, v in module.state_dict().items()}
    cases.append(case)


def randomize(module, scale=0.5):
    """Non-trivial values for every parameter and float buffer (running_var kept positive)."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(torch.randn(p.shape) * scale + (1.0 if name.endswith('norm1.weight') or name.endswith('norm2.weight') else 0.0))
        for name, b in module.named_buffers():
            if name.endswith('running_mean'):
                b.copy_(torch.randn(b.shape) * 0.3)
            elif name.endswith('running_var'):
                b.copy_(torch.rand(b.shape) + 0.5)
            elif name.endswith('num_batches_tracked'):
                b.fill_(3)
    return module


R = torch.randn

add('Linear', randomize(nn.Linear(5, 3)), [R(4, 5)])
add('Linear-nobias-3d', randomize(nn.Linear(5, 3, bias=False)), [R(2, 3, 5)])
add('Conv1d', randomize(nn.Conv1d(3, 4, 3, stride=2, padding=1)), [R(2, 3, 9)])
add('Conv2d', randomize(nn.Conv2d(3, 4, 3, padding=1)), [R(2, 3, 6, 6)])
add('Conv2d-groups', randomize(nn.Conv2d(4, 4, (3, 2), stride=(2, 1), dilation=(1, 2), groups=2, bias=False)), [R(2, 4, 7, 6)])
add('Conv2d-same', randomize(nn.Conv2d(2, 3, 4, padding='same')), [R(1, 2, 5, 5)])
add('MaxPool2d', nn.MaxPool2d(2), [R(2, 3, 6, 6)])
add('MaxPool2d-options', nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), [R(1, 2, 7, 7)])
add('AvgPool2d', nn.AvgPool2d(3, stride=2, padding=1), [R(2, 3, 7, 7)])
add('AdaptiveAvgPool2d', nn.AdaptiveAvgPool2d((2, 3)), [R(2, 3, 5, 7)])
add('BatchNorm1d-train', randomize(nn.BatchNorm1d(4)), [R(8, 4)])
add('BatchNorm1d-3d-train', randomize(nn.BatchNorm1d(4, momentum=None)), [R(3, 4, 5)])
add('BatchNorm1d-eval', randomize(nn.BatchNorm1d(4)), [R(8, 4)], train=False)
add('BatchNorm2d-train', randomize(nn.BatchNorm2d(3, momentum=0.3)), [R(4, 3, 5, 5)])
add('BatchNorm2d-eval', randomize(nn.BatchNorm2d(3)), [R(4, 3, 5, 5)], train=False)
add('BatchNorm2d-noaffine', nn.BatchNorm2d(3, affine=False, track_running_stats=False), [R(2, 3, 4, 4)])
add('LayerNorm', randomize(nn.LayerNorm(6)), [R(4, 6)])
add('LayerNorm-2d', randomize(nn.LayerNorm([3, 4], eps=1e-3)), [R(2, 3, 4)])
add('GroupNorm', randomize(nn.GroupNorm(2, 4)), [R(3, 4, 5)])
add('Embedding', randomize(nn.Embedding(10, 4, padding_idx=1)), [torch.tensor([[1, 2, 3], [4, 1, 9]])])
add('Dropout-eval', nn.Dropout(0.3), [R(4, 5)], train=False)
add('Flatten', nn.Flatten(), [R(2, 3, 4)])
add('Unflatten', nn.Unflatten(1, (2, 3)), [R(4, 6)])
add('Identity', nn.Identity(), [R(3)])
act_in = torch.linspace(-6, 6, 25).reshape(5, 5)
for name, m in [('ReLU', nn.ReLU()), ('LeakyReLU', nn.LeakyReLU(0.2)), ('ELU', nn.ELU(0.5)), ('GELU', nn.GELU()),
                ('GELU-tanh', nn.GELU('tanh')), ('SiLU', nn.SiLU()), ('Tanh', nn.Tanh()), ('Sigmoid', nn.Sigmoid()),
                ('Softplus', nn.Softplus(beta=2, threshold=5)), ('Softmax', nn.Softmax(dim=1)), ('LogSoftmax', nn.LogSoftmax(dim=-1))]:
    add(name, m, [act_in + 0.1])

# MultiheadAttention: self-attention with masks (seq-first), and cross-attention batch-first.
mha = randomize(nn.MultiheadAttention(8, 2))
kpm = torch.tensor([[False, False, False, True, True], [False, False, False, False, False], [False, True, False, False, False]])
am = torch.randn(5, 5) * 0.5
x = R(5, 3, 8)
# Self-attention: the test passes one tensor as query, key and value; its gradient is the sum of the three.
add('MultiheadAttention-self', mha, [x, x, x], kwargs={'key_padding_mask': kpm, 'attn_mask': am},
    outputs=lambda o: [o[0], o[1]], same_input=True)
mha2 = randomize(nn.MultiheadAttention(8, 4, batch_first=True))
bam = torch.rand(4, 6) < 0.3
bam[:, 0] = False
add('MultiheadAttention-cross', mha2, [R(3, 4, 8), R(3, 6, 8), R(3, 6, 8)], kwargs={'attn_mask': bam, 'average_attn_weights': False},
    outputs=lambda o: [o[0], o[1]])
add('MultiheadAttention-unbatched', randomize(nn.MultiheadAttention(6, 3, bias=False)), [R(4, 6), R(5, 6), R(5, 6)], outputs=lambda o: [o[0], o[1]])

enc_layer = randomize(nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0))
src = R(5, 3, 8)
add('TransformerEncoderLayer', enc_layer, [src], kwargs={'src_key_padding_mask': kpm})
add('TransformerEncoderLayer-normfirst-gelu', randomize(nn.TransformerEncoderLayer(8, 4, dim_feedforward=12, dropout=0.0, activation='gelu', batch_first=True, norm_first=True)),
    [R(2, 5, 8)], kwargs={'src_mask': torch.randn(5, 5)})
encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0), 2, norm=nn.LayerNorm(8), enable_nested_tensor=False)
add('TransformerEncoder', randomize(encoder), [R(4, 2, 8)])

# Losses.
inp, tgt = R(4, 5), R(4, 5)
for red in ['mean', 'sum', 'none']:
    add(f'MSELoss-{red}', nn.MSELoss(reduction=red), [inp, tgt])
    add(f'L1Loss-{red}', nn.L1Loss(reduction=red), [inp, tgt])
add('SmoothL1Loss', nn.SmoothL1Loss(beta=0.5), [inp, tgt])
cls = torch.tensor([1, 0, 4, -100])
add('CrossEntropyLoss', nn.CrossEntropyLoss(label_smoothing=0.1), [inp, cls])
add('CrossEntropyLoss-sum', nn.CrossEntropyLoss(reduction='sum'), [R(3, 4, 2, 2), torch.tensor([[[0, 1], [2, 3]], [[3, 3], [0, 1]], [[1, 1], [2, 2]]])])
add('NLLLoss', nn.NLLLoss(), [torch.log_softmax(inp, 1), cls])
prob = torch.rand(4, 5) * 0.98 + 0.01
t01 = (torch.rand(4, 5) > 0.5).float()
add('BCELoss', nn.BCELoss(), [prob, t01])
add('BCEWithLogitsLoss', nn.BCEWithLogitsLoss(), [inp, t01])
add('BCEWithLogitsLoss-posweight', nn.BCEWithLogitsLoss(pos_weight=torch.tensor([1.0, 2.0, 0.5, 3.0, 1.0]), reduction='sum'), [inp, t01])


# RMSNorm (PyTorch >= 2.4): its documented formula in float64, y = x / sqrt(mean(x^2) + eps) * weight.
def rms_case(name, shape, normalized, eps):
    x = R(*shape).double().requires_grad_()
    w = (R(*normalized) * 0.5 + 1).double().requires_grad_()
    dims = tuple(range(-len(normalized), 0))
    e = torch.finfo(torch.float32).eps if eps is None else eps
    y = x / torch.sqrt((x * x).mean(dims, keepdim=True) + e) * w
    g = R(*shape).double()
    (y * g).sum().backward()
    cases.append({'name': name, 'train': True, 'state': {'weight': enc(w.float())}, 'inputs': [enc(x.float())], 'kwargs': {},
                  'outputs': [enc(y.float())], 'gradOutputs': [enc(g.float())], 'inputGrads': [enc(x.grad.float())],
                  'paramGrads': {'weight': enc(w.grad.float())}, 'stateAfter': {'weight': enc(w.float())}})


rms_case('RMSNorm', (4, 6), (6,), None)
rms_case('RMSNorm-2d-eps', (2, 3, 4), (3, 4), 1e-5)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(64, 10), nn.ReLU(), nn.Dropout(0.25), nn.Linear(10, 3, bias=False))
        self.norm = nn.LayerNorm(3, eps=1e-6)
        self.blocks = nn.ModuleList([nn.GELU(), nn.Softmax(dim=-1)])
        self.attn = nn.MultiheadAttention(8, 2)

    def forward(self, x):
        return self.head(self.pool(self.bn(self.conv(x))))


net = Net()
out = {
    'cases': cases,
    'repr': repr(net),
    'reprNames': list(net.state_dict().keys()),
    'reprParams': sum(p.numel() for p in net.parameters()),
    'reprEncoder': repr(nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, dim_feedforward=16), 2, enable_nested_tensor=False)),
    'torch': torch.__version__,
}
path = os.path.join(os.path.dirname(__file__), '..', 'test', 'golden', 'nn.json')
with open(path, 'w') as f:
    json.dump(out, f, separators=(',', ':'))
print(f'wrote {len(cases)} cases to {os.path.normpath(path)} (torch {torch.__version__})')
