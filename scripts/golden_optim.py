"""Golden optimizer trajectories and learning-rate schedules from PyTorch 1.13.

Run by hand with a local PyTorch to rewrite test/golden/optim.json, which
test/optim-golden.test.ts replays (the tests never need Python):

    ATEN_CPU_CAPABILITY=default python3 scripts/golden_optim.py

ATEN_CPU_CAPABILITY=default selects ATen's portable kernels, which round every float32
operation as wasmgrad's fused updates do; the AVX2 kernels fuse some multiply-adds
(`add(x, alpha=a)` becomes one FMA), which moves these trajectories by up to about 5 ulps
of the parameters' scale (measured when this file was written). The script refuses to
run without it, so the file always holds the same reference.

Optimizers: each case is one optimizer (options as wasmgrad's camelCased names), two
parameters (shapes [3] and [2, 9], the latter long enough for ATen's vectorized loop),
fixed gradient sequences (a null gradient skips that parameter on that step), optionally
a scheduler stepped after each step, the parameter values after every step, and (without
a scheduler) the optimizer's `state_dict()` after step 3 with PyTorch's key names. Schedulers: each case is an optimizer's groups, the
scheduler(s) with their options, and every group's lr (and OneCycleLR's momentum or beta1)
after construction and after each of `steps` steps.
"""
import json
import os
import sys
import warnings

import torch

if os.environ.get('ATEN_CPU_CAPABILITY') != 'default':
    sys.exit('run with ATEN_CPU_CAPABILITY=default (see the docstring)')

warnings.filterwarnings('ignore')
torch.set_default_dtype(torch.float32)
OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'golden', 'optim.json')

SNAKE = {
    'weightDecay': 'weight_decay', 'lrDecay': 'lr_decay', 'initialAccumulatorValue': 'initial_accumulator_value',
    'stepSize': 'step_size', 'tMax': 'T_max', 'etaMin': 'eta_min', 'startFactor': 'start_factor',
    'endFactor': 'end_factor', 'totalIters': 'total_iters', 'maxLr': 'max_lr', 'totalSteps': 'total_steps',
    'stepsPerEpoch': 'steps_per_epoch', 'pctStart': 'pct_start', 'annealStrategy': 'anneal_strategy',
    'cycleMomentum': 'cycle_momentum', 'baseMomentum': 'base_momentum', 'maxMomentum': 'max_momentum',
    'divFactor': 'div_factor', 'finalDivFactor': 'final_div_factor', 'threePhase': 'three_phase',
}


def py_options(options):
    out = {}
    for k, v in options.items():
        out[SNAKE.get(k, k)] = tuple(v) if k == 'betas' else v
    return out


OPTIMIZERS = {
    'SGD': torch.optim.SGD, 'Adam': torch.optim.Adam, 'AdamW': torch.optim.AdamW,
    'RMSprop': torch.optim.RMSprop, 'Adagrad': torch.optim.Adagrad,
}

SHAPES = [[3], [2, 9]]
STEPS = 5
CHECKPOINT = 3  # the optimizer's state_dict() after this many steps is saved too


def checkpoint_of(opt):
    """opt.state_dict() as JSON: tensors as {"tensor": values}, `step` tensors as numbers."""
    sd = opt.state_dict()

    def encode(key, v):
        if isinstance(v, torch.Tensor):
            return float(v.item()) if key == 'step' else {'tensor': values(v)}
        return list(v) if isinstance(v, tuple) else v
    return {
        'after': CHECKPOINT,
        'state': {str(i): {k: encode(k, v) for k, v in st.items()} for i, st in sd['state'].items()},
        'param_groups': [{k: encode(k, v) for k, v in g.items()} for g in sd['param_groups']],
    }


def values(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def make_params(seed):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=g) for s in SHAPES]


def make_grads(seed, skip):
    g = torch.Generator().manual_seed(seed + 1000)
    grads = []
    for step in range(STEPS):
        row = []
        for i, s in enumerate(SHAPES):
            t = torch.randn(s, generator=g) * 2
            row.append(None if (step, i) in skip else t)
        grads.append(row)
    return grads


def optimizer_case(name, kind, options, seed, groups=None, skip=(), scheduler=None):
    params = [p.clone().requires_grad_() for p in make_params(seed)]
    grads = make_grads(seed, set(skip))
    if groups is None:
        torch_groups = params
    else:
        torch_groups = [dict(py_options({k: v for k, v in grp.items() if k != 'params'}),
                             params=[params[i] for i in grp['params']]) for grp in groups]
    opt = OPTIMIZERS[kind](torch_groups, **py_options(options))
    sched = None if scheduler is None else build_scheduler(opt, scheduler)
    trajectory = []
    checkpoint = None
    for k, row in enumerate(grads):
        for p, g in zip(params, row):
            p.grad = None if g is None else g.clone()
        opt.step()
        if sched is not None:
            sched.step()
        trajectory.append([values(p) for p in params])
        if k + 1 == CHECKPOINT:
            checkpoint = checkpoint_of(opt)
    case = {
        'name': name, 'optimizer': kind, 'options': options,
        'params': [{'shape': s, 'data': values(p)} for s, p in zip(SHAPES, make_params(seed))],
        'grads': [[None if g is None else values(g) for g in row] for row in grads],
        'trajectory': trajectory,
    }
    if groups is not None:
        case['groups'] = groups
    if scheduler is not None:
        case['scheduler'] = scheduler
    else:
        case['checkpoint'] = checkpoint
    return case


def optimizer_cases():
    c = optimizer_case
    return [
        c('SGD', 'SGD', {'lr': 0.1}, 1),
        c('SGD momentum', 'SGD', {'lr': 0.1, 'momentum': 0.9}, 2),
        c('SGD Nesterov', 'SGD', {'lr': 0.05, 'momentum': 0.8, 'nesterov': True}, 3),
        c('SGD dampening, weight decay', 'SGD', {'lr': 0.1, 'momentum': 0.9, 'dampening': 0.3, 'weightDecay': 0.05}, 4),
        c('SGD maximize, momentum, weight decay, a skipped step', 'SGD',
          {'lr': 0.01, 'momentum': 0.9, 'weightDecay': 0.1, 'maximize': True}, 5, skip=[(1, 0), (2, 1)]),
        c('Adam', 'Adam', {'lr': 0.1}, 6),
        c('Adam weight decay', 'Adam', {'lr': 0.1, 'weightDecay': 0.1}, 7),
        c('Adam betas, eps, maximize', 'Adam', {'lr': 0.01, 'betas': [0.8, 0.99], 'eps': 1e-3, 'maximize': True}, 8),
        c('Adam amsgrad', 'Adam', {'lr': 0.1, 'amsgrad': True}, 9),
        c('Adam amsgrad, weight decay, maximize, a skipped step', 'Adam',
          {'lr': 0.05, 'amsgrad': True, 'weightDecay': 0.2, 'maximize': True}, 10, skip=[(2, 0)]),
        c('AdamW', 'AdamW', {'lr': 0.1}, 11),
        c('AdamW amsgrad', 'AdamW', {'lr': 0.1, 'amsgrad': True, 'weightDecay': 0.05}, 12),
        c('AdamW weight decay 0.5, maximize', 'AdamW', {'lr': 0.1, 'weightDecay': 0.5, 'maximize': True}, 13),
        c('RMSprop', 'RMSprop', {'lr': 0.01}, 14),
        c('RMSprop centered', 'RMSprop', {'lr': 0.01, 'centered': True}, 15),
        c('RMSprop momentum', 'RMSprop', {'lr': 0.01, 'momentum': 0.9}, 16),
        c('RMSprop centered, momentum, weight decay', 'RMSprop',
          {'lr': 0.02, 'centered': True, 'momentum': 0.5, 'weightDecay': 0.1}, 17),
        c('RMSprop alpha, eps, maximize, a skipped step', 'RMSprop',
          {'lr': 0.01, 'alpha': 0.9, 'eps': 1e-3, 'maximize': True}, 18, skip=[(0, 1)]),
        c('Adagrad', 'Adagrad', {'lr': 0.1}, 19),
        c('Adagrad lrDecay', 'Adagrad', {'lr': 0.1, 'lrDecay': 0.3}, 20),
        c('Adagrad initialAccumulatorValue, weight decay, a skipped step', 'Adagrad',
          {'lr': 0.1, 'initialAccumulatorValue': 0.5, 'weightDecay': 0.1, 'lrDecay': 0.05}, 21, skip=[(1, 1)]),
        c('Adagrad eps, maximize', 'Adagrad', {'lr': 0.05, 'eps': 1e-2, 'maximize': True}, 22),
        c('SGD parameter groups', 'SGD', {'lr': 0.1}, 23,
          groups=[{'params': [0], 'momentum': 0.9}, {'params': [1], 'lr': 0.02, 'weightDecay': 0.1}]),
        c('RMSprop parameter groups', 'RMSprop', {'lr': 0.01}, 24,
          groups=[{'params': [1], 'centered': True}, {'params': [0], 'momentum': 0.5, 'lr': 0.03}]),
        # A scheduler stepped after each optimizer step: its lr (and OneCycleLR's beta1 or
        # momentum) reach the updates.
        c('Adam + OneCycleLR (beta1 cycled)', 'Adam', {'lr': 0.01, 'amsgrad': True}, 25,
          scheduler={'type': 'OneCycleLR', 'options': {'maxLr': 0.2, 'totalSteps': 6}}),
        c('SGD momentum + OneCycleLR three phases (momentum cycled)', 'SGD', {'lr': 0.01, 'momentum': 0.9}, 26,
          scheduler={'type': 'OneCycleLR', 'options': {'maxLr': 0.3, 'totalSteps': 6, 'threePhase': True}}),
        c('RMSprop + CosineAnnealingLR', 'RMSprop', {'lr': 0.05, 'momentum': 0.3}, 27,
          scheduler={'type': 'CosineAnnealingLR', 'options': {'tMax': 3, 'etaMin': 0.001}}),
        c('Adagrad + StepLR', 'Adagrad', {'lr': 0.1, 'lrDecay': 0.1}, 28,
          scheduler={'type': 'StepLR', 'options': {'stepSize': 2, 'gamma': 0.5}}),
    ]


SCHEDULERS = {
    'StepLR': torch.optim.lr_scheduler.StepLR, 'MultiStepLR': torch.optim.lr_scheduler.MultiStepLR,
    'ConstantLR': torch.optim.lr_scheduler.ConstantLR, 'LinearLR': torch.optim.lr_scheduler.LinearLR,
    'ExponentialLR': torch.optim.lr_scheduler.ExponentialLR,
    'CosineAnnealingLR': torch.optim.lr_scheduler.CosineAnnealingLR,
    'OneCycleLR': torch.optim.lr_scheduler.OneCycleLR,
}


def build_scheduler(opt, spec):
    if spec['type'] == 'SequentialLR':
        subs = [build_scheduler(opt, s) for s in spec['schedulers']]
        return torch.optim.lr_scheduler.SequentialLR(opt, subs, spec['milestones'])
    return SCHEDULERS[spec['type']](opt, **py_options(spec.get('options', {})))


def scheduler_case(name, optimizer, scheduler, steps=30):
    """optimizer: {'type', 'options', 'groups': [overrides per group]}; one parameter per group."""
    groups = optimizer.get('groups', [{}])
    params = [torch.zeros(2, requires_grad=True) for _ in groups]
    opt = OPTIMIZERS[optimizer['type']]([dict(py_options(g), params=[p]) for g, p in zip(groups, params)],
                                        **py_options(optimizer['options']))
    sched = build_scheduler(opt, scheduler)
    momentum = 'betas' if 'betas' in opt.defaults else 'momentum' if 'momentum' in opt.defaults else None

    def record():
        lrs.append([float(x) for x in sched.get_last_lr()])
        if momentum == 'betas':
            moms.append([float(g['betas'][0]) for g in opt.param_groups])
        elif momentum:
            moms.append([float(g['momentum']) for g in opt.param_groups])

    lrs, moms = [], []
    record()
    for _ in range(steps):
        opt.step()
        sched.step()
        record()
    case = {'name': name, 'optimizer': optimizer, 'scheduler': scheduler, 'steps': steps, 'lr': lrs}
    if momentum:
        case['momentum'] = moms
    return case


def scheduler_cases():
    c = scheduler_case
    sgd = {'type': 'SGD', 'options': {'lr': 0.1}}
    sgd_m = {'type': 'SGD', 'options': {'lr': 0.1, 'momentum': 0.9}}
    two = {'type': 'SGD', 'options': {'lr': 0.1}, 'groups': [{}, {'lr': 0.03}]}
    adam = {'type': 'Adam', 'options': {'lr': 1e-3}}
    return [
        c('StepLR', sgd, {'type': 'StepLR', 'options': {'stepSize': 7, 'gamma': 0.5}}),
        c('StepLR two groups', two, {'type': 'StepLR', 'options': {'stepSize': 3}}),
        c('MultiStepLR (a repeated milestone)', sgd,
          {'type': 'MultiStepLR', 'options': {'milestones': [3, 8, 8, 20], 'gamma': 0.3}}),
        c('ConstantLR', sgd, {'type': 'ConstantLR', 'options': {'factor': 0.5, 'totalIters': 4}}),
        c('LinearLR', two, {'type': 'LinearLR', 'options': {'startFactor': 0.25, 'endFactor': 0.9, 'totalIters': 8}}),
        c('LinearLR defaults', sgd, {'type': 'LinearLR'}),
        c('ExponentialLR', two, {'type': 'ExponentialLR', 'options': {'gamma': 0.9}}),
        c('CosineAnnealingLR (past tMax: the recursive form cycles)', sgd,
          {'type': 'CosineAnnealingLR', 'options': {'tMax': 10, 'etaMin': 0.001}}, steps=45),
        c('CosineAnnealingLR two groups', two, {'type': 'CosineAnnealingLR', 'options': {'tMax': 25}}),
        c('OneCycleLR cos, SGD momentum', sgd_m, {'type': 'OneCycleLR', 'options': {'maxLr': 0.5, 'totalSteps': 30}}),
        c('OneCycleLR linear, three phases, Adam betas', adam,
          {'type': 'OneCycleLR', 'options': {'maxLr': 0.01, 'totalSteps': 30, 'annealStrategy': 'linear',
                                             'threePhase': True, 'pctStart': 0.25}}),
        c('OneCycleLR epochs × stepsPerEpoch, per-group maxLr, no momentum cycling', two,
          {'type': 'OneCycleLR', 'options': {'maxLr': [1.0, 0.2], 'epochs': 5, 'stepsPerEpoch': 6,
                                             'cycleMomentum': False, 'divFactor': 10, 'finalDivFactor': 100}}),
        c('OneCycleLR cos, three phases, RMSprop momentum', {'type': 'RMSprop', 'options': {'lr': 0.01, 'momentum': 0.9}},
          {'type': 'OneCycleLR', 'options': {'maxLr': 0.1, 'totalSteps': 30, 'threePhase': True,
                                             'baseMomentum': 0.8, 'maxMomentum': 0.9}}),
        c('SequentialLR warmup then cosine', sgd,
          {'type': 'SequentialLR', 'milestones': [5], 'schedulers': [
              {'type': 'LinearLR', 'options': {'startFactor': 0.1, 'totalIters': 5}},
              {'type': 'CosineAnnealingLR', 'options': {'tMax': 25}}]}),
        c('SequentialLR of three', two,
          {'type': 'SequentialLR', 'milestones': [2, 10], 'schedulers': [
              {'type': 'ConstantLR', 'options': {'factor': 0.1, 'totalIters': 2}},
              {'type': 'ExponentialLR', 'options': {'gamma': 0.9}},
              {'type': 'StepLR', 'options': {'stepSize': 4, 'gamma': 0.5}}]}),
    ]


def main():
    data = {
        'source': f'PyTorch {torch.__version__}, ATEN_CPU_CAPABILITY=default (scripts/golden_optim.py)',
        'optimizers': optimizer_cases(),
        'schedulers': scheduler_cases(),
    }
    # One case per line: readable diffs without a line per number.
    with open(OUT, 'w') as f:
        f.write('{\n "source": %s,\n' % json.dumps(data['source']))
        for key in ('optimizers', 'schedulers'):
            lines = ',\n'.join('  ' + json.dumps(case, separators=(',', ':')) for case in data[key])
            f.write(' "%s": [\n%s\n ]%s\n' % (key, lines, ',' if key == 'optimizers' else ''))
        f.write('}\n')
    print(f'wrote {OUT}: {len(data["optimizers"])} optimizer cases, {len(data["schedulers"])} scheduler cases')


if __name__ == '__main__':
    main()
