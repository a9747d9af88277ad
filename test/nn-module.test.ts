// nn.Module: members found in fields with PyTorch's names, explicit registration, modes,
// gradients, state dicts (order, copies, errors reported at once), ownership and memory
// (tidy never frees a module's tensors, dispose() frees them all, training does not leak),
// and the printout against PyTorch's repr.
import { describe, expect, it } from 'vitest';
import { readJson } from './helpers/read-json.js';
import {
  Adam, ArgumentError, DisposedError, dispose, keep, manualSeed, memory, nn, noGrad, randn, ShapeError, tensor, Tensor, tidy, zeros,
} from '../ts/node.js';
import { thrown } from './helpers/snapshot.js';

const GOLDEN = (await readJson(new URL('./golden/nn.json', import.meta.url))) as {
  repr: string; reprNames: string[]; reprParams: number; reprEncoder: string;
};

/** The model scripts/golden_nn.py prints, written the way a wasmgrad user would. */
class Net extends nn.Module {
  conv = new nn.Conv2d(1, 4, 3, { padding: 1 });
  bn = new nn.BatchNorm2d(4);
  pool = new nn.MaxPool2d(2);
  head = new nn.Sequential(new nn.Flatten(), new nn.Linear(64, 10), new nn.ReLU(), new nn.Dropout(0.25), new nn.Linear(10, 3, { bias: false }));
  norm = new nn.LayerNorm(3, { eps: 1e-6 });
  blocks = new nn.ModuleList([new nn.GELU(), new nn.Softmax(-1)]);
  attn = new nn.MultiheadAttention(8, 2);
  forward(x: Tensor): Tensor {
    return this.head.call(this.pool.call(this.bn.call(this.conv.call(x))));
  }
}

class TwoLayer extends nn.Module {
  fc1 = new nn.Linear(4, 8);
  hiddenAct = new nn.ReLU();
  outProj = new nn.Linear(8, 2);
  scale = new nn.Parameter(tidy(() => zeros([2]).add(1)));
  notAMember = 3;
  plainTensor: Tensor | null = null; // a tensor that is not a Parameter is not a member (as in PyTorch)
  forward(x: Tensor): Tensor {
    return this.outProj.call(this.hiddenAct.call(this.fc1.call(x))).mul(this.scale);
  }
}

describe('members and names', () => {
  it('finds parameters, buffers and children in fields, named in snake_case, in PyTorch order', () => {
    using net = new Net();
    expect(Object.keys(net.stateDict({ clone: false }))).toEqual(GOLDEN.reprNames);
    expect(net.parameters().reduce((n, p) => n + p.size, 0)).toBe(GOLDEN.reprParams);
    expect(net.namedBuffers().map(([n]) => n)).toEqual(['bn.running_mean', 'bn.running_var', 'bn.num_batches_tracked']);
    expect(net.namedChildren().map(([n]) => n)).toEqual(['conv', 'bn', 'pool', 'head', 'norm', 'blocks', 'attn']);
    expect(net.namedModules().map(([n]) => n)).toEqual([
      '', 'conv', 'bn', 'pool', 'head', 'head.0', 'head.1', 'head.2', 'head.3', 'head.4', 'norm', 'blocks', 'blocks.0', 'blocks.1', 'attn', 'attn.out_proj',
    ]);
    expect(net.children()).toHaveLength(7);
    expect(net.modules()[0]).toBe(net);
    expect(net.head[1]).toBeInstanceOf(nn.Linear);
  });
  it('camelCase fields become snake_case names; a plain tensor or number is not a member', () => {
    using m = new TwoLayer();
    expect(m.namedParameters().map(([n, p]) => [n, [...p.shape]])).toEqual([
      ['scale', [2]], ['fc1.weight', [8, 4]], ['fc1.bias', [8]], ['out_proj.weight', [2, 8]], ['out_proj.bias', [2]],
    ]);
    expect(m.namedChildren().map(([n]) => n)).toEqual(['fc1', 'hidden_act', 'out_proj']);
    expect(m.parameters(false)).toEqual([m.scale]);
    expect(m.namedParameters({ prefix: 'model' })[0]![0]).toBe('model.scale');
  });
  it('registerParameter/registerBuffer/registerModule take the exact name (field: its camelCase)', () => {
    class Custom extends nn.Module {
      constructor() {
        super();
        this.registerParameter('W_q', zeros([2, 2]));
        this.registerBuffer('step_count', zeros([]));
        this.registerBuffer('cache', zeros([3]), { persistent: false });
        this.registerModule('sub_layer', new nn.Linear(2, 2));
        this.registerParameter('absent', null);
      }
      forward(x: Tensor): Tensor { return x; }
    }
    using m = new Custom();
    const fields = m as unknown as Record<string, unknown>;
    expect(fields.WQ).toBeInstanceOf(nn.Parameter);
    expect(fields.stepCount).toBeInstanceOf(Tensor);
    expect(fields.subLayer).toBeInstanceOf(nn.Linear);
    expect(m.namedParameters().map(([n]) => n)).toEqual(['W_q', 'sub_layer.weight', 'sub_layer.bias']);
    expect(m.namedBuffers().map(([n]) => n)).toEqual(['step_count', 'cache']);
    // Non-persistent buffers stay out of the state dict.
    expect(Object.keys(m.stateDict({ clone: false }))).toEqual(['W_q', 'step_count', 'sub_layer.weight', 'sub_layer.bias']);
    expect((fields.WQ as Tensor).requiresGrad).toBe(true);
    expect(thrown(() => m.registerBuffer('a.b', null))).toBeInstanceOf(ArgumentError);
  });
  it('a Parameter is the tensor itself: a leaf that requires grad, instanceof Tensor and Parameter', () => {
    const t = zeros([3]);
    const p = new nn.Parameter(t);
    expect(p).toBe(t);
    expect(p).toBeInstanceOf(Tensor);
    expect(p).toBeInstanceOf(nn.Parameter);
    expect(p.requiresGrad).toBe(true);
    using plain = zeros([1]);
    expect(plain).not.toBeInstanceOf(nn.Parameter);
    const frozen = new nn.Parameter(zeros([2]), false);
    expect(frozen.requiresGrad).toBe(false);
    dispose(p, frozen);
  });
  it('shared modules and parameters are listed once; state dicts name them under each name', () => {
    class Tied extends nn.Module {
      a = new nn.Linear(3, 3);
      b = this.a;
      forward(x: Tensor): Tensor { return this.b.call(this.a.call(x)); }
    }
    using m = new Tied();
    expect(m.parameters()).toHaveLength(2);
    expect(m.children()).toHaveLength(1);
    expect(Object.keys(m.stateDict({ clone: false }))).toEqual(['a.weight', 'a.bias', 'b.weight', 'b.bias']);
  });
});

describe('modes and gradients', () => {
  it('train()/eval() set training on every module; apply() visits children first', () => {
    using net = new Net();
    expect(net.modules().every((m) => m.training)).toBe(true);
    expect(net.eval()).toBe(net);
    expect(net.modules().some((m) => m.training)).toBe(false);
    net.train();
    expect(net.head[3]!.training).toBe(true);
    const order: string[] = [];
    net.head.apply((m) => order.push(m.constructor.name));
    expect(order).toEqual(['Flatten', 'Linear', 'ReLU', 'Dropout', 'Linear', 'Sequential']);
  });
  it('zeroGrad() drops gradients (or zeroes them); requiresGrad_(false) freezes', () => {
    using m = new TwoLayer();
    tidy(() => m.call(randn([5, 4])).sum().backward());
    expect(m.parameters().every((p) => p.grad !== null)).toBe(true);
    m.zeroGrad({ setToNone: false });
    expect(tidy(() => m.parameters().every((p) => p.grad !== null && p.grad.abs().sum().item() === 0))).toBe(true);
    m.zeroGrad();
    expect(m.parameters().every((p) => p.grad === null)).toBe(true);
    m.requiresGrad_(false);
    expect(m.parameters().some((p) => p.requiresGrad)).toBe(false);
    expect(tidy(() => m.call(randn([1, 4])).requiresGrad)).toBe(false);
  });
  it('call() is forward()', () => {
    using lin = new nn.Linear(3, 2);
    const [a, b] = tidy(() => {
      const x = randn([4, 3]);
      return [lin.call(x).data(), lin.forward(x).data()];
    });
    expect(a).toEqual(b);
  });
});

describe('state dicts', () => {
  it('stateDict() copies (the caller owns them); { clone: false } gives the module’s own tensors', () => {
    using m = new nn.BatchNorm1d(3);
    const own = m.stateDict({ clone: false });
    expect(own.weight).toBe(m.weight);
    expect(own.num_batches_tracked!.dtype).toBe('int32');
    const before = memory().numTensors;
    const sd = m.stateDict();
    expect(memory().numTensors).toBe(before + 5);
    expect(sd.weight).not.toBe(m.weight);
    expect(sd.weight!.requiresGrad).toBe(false);
    tidy(() => void m.call(randn([4, 3]))); // training changes the module, not the snapshot
    expect(Array.from(sd.running_mean!.data())).toEqual([0, 0, 0]);
    expect(sd.num_batches_tracked!.item()).toBe(0);
    dispose(sd);
    expect(memory().numTensors).toBe(before);
  });
  it('a round trip restores every value, in place (optimizers keep their tensors)', () => {
    manualSeed(1);
    using a = new Net();
    using b = new Net();
    const weight = b.conv.weight;
    tidy(() => {
      a.call(randn([2, 1, 8, 8]));
      b.loadStateDict(a.stateDict());
    });
    expect(b.conv.weight).toBe(weight);
    const sa = a.stateDict({ clone: false });
    const sb = b.stateDict({ clone: false });
    for (const k of Object.keys(sa)) expect(Array.from(sb[k]!.data()), k).toEqual(Array.from(sa[k]!.data()));
    expect(sb['bn.num_batches_tracked']!.item()).toBe(1);
  });
  it('reports missing, unexpected, wrong-shape and wrong-dtype entries at once, and copies nothing', () => {
    using m = new TwoLayer();
    const before = tidy(() => Array.from(m.fc1.weight.data()));
    const err = thrown(() => m.loadStateDict({
      'fc1.weight': zeros([4, 8]), 'fc1.bias': zeros([8]), scale: zeros([2], { dtype: 'int32' }), 'out_proj.weight': zeros([2, 8]), extra: zeros([1]), 'fc9.bias': zeros([1]),
    }));
    expect(err).toBeInstanceOf(ArgumentError);
    expect(err.message).toBe([
      'Error(s) in loading state_dict for TwoLayer:',
      '\tMissing key(s) in state_dict: "out_proj.bias"',
      '\tUnexpected key(s) in state_dict: "extra", "fc9.bias"',
      '\tdtype mismatch for scale: copying a int32 tensor from checkpoint, the dtype in current model is float32',
      '\tsize mismatch for fc1.weight: copying a param with shape [4, 8] from checkpoint, the shape in current model is [8, 4]',
    ].join('\n'));
    expect(tidy(() => Array.from(m.fc1.weight.data()))).toEqual(before);
  });
  it('strict: false loads what matches and returns the missing and unexpected names; shapes are still checked', () => {
    using m = new TwoLayer();
    const result = tidy(() => m.loadStateDict({ 'fc1.bias': zeros([8]).add(2), other: zeros([1]) }, { strict: false }));
    expect(result).toEqual({ missingKeys: ['scale', 'fc1.weight', 'out_proj.weight', 'out_proj.bias'], unexpectedKeys: ['other'] });
    expect(Array.from(m.fc1.bias!.data())).toEqual(Array(8).fill(2));
    expect(thrown(() => m.loadStateDict({ 'fc1.bias': zeros([7]) }, { strict: false })).message).toContain('size mismatch for fc1.bias');
  });
  it('accepts a Map and a disposed entry is reported', () => {
    using m = new nn.Linear(2, 1);
    const w = zeros([1, 2]);
    w.dispose();
    expect(thrown(() => m.loadStateDict(new Map([['weight', w], ['bias', zeros([1])]]))).message).toContain('weight: the tensor was disposed');
  });
});

describe('ownership and memory', () => {
  it('tidy never frees a module’s parameters or buffers; dispose() frees them all', () => {
    const start = memory();
    const m = tidy(() => new Net());
    expect(m.parameters().every((p) => !p.isDisposed)).toBe(true);
    expect(memory().numTensors).toBe(start.numTensors + GOLDEN.reprNames.length);
    m.dispose();
    m.dispose(); // idempotent
    expect(memory()).toEqual(start);
    expect(thrown(() => m.call(zeros([1, 1, 8, 8])))).toBeInstanceOf(DisposedError);
  });
  it('creating, training (forward, backward, Adam steps inside tidy) and disposing a model returns memory to where it was, with no leak per step', () => {
    const start = memory();
    manualSeed(3);
    const model = new nn.Sequential(new nn.Linear(6, 16), new nn.BatchNorm1d(16), new nn.ReLU(), new nn.Dropout(0.1), new nn.Linear(16, 3));
    const lossFn = new nn.CrossEntropyLoss();
    const opt = new Adam(model.parameters(), { lr: 0.01 });
    const x = randn([32, 6]);
    const y = tensor(Array.from({ length: 32 }, (_, i) => i % 3), { dtype: 'int32' });
    const counts: number[] = [];
    const losses: number[] = [];
    for (let step = 0; step < 30; step++) {
      tidy(() => {
        opt.zeroGrad();
        const loss = lossFn.call(model.call(x), y);
        loss.backward();
        nn.utils.clipGradNorm_(model.parameters(), 1);
        opt.step();
        losses.push(Number(loss.item()));
      });
      counts.push(memory().numTensors);
    }
    expect(new Set(counts.slice(2)).size).toBe(1); // flat after the optimizer's state exists
    expect(losses[29]!).toBeLessThan(losses[0]!);
    model.dispose();
    lossFn.dispose();
    opt.dispose();
    dispose(x, y);
    expect(memory()).toEqual(start);
  });
  it('conv and transformer models train without growing memory and free everything on dispose', () => {
    const start = memory();
    manualSeed(4);
    const conv = new nn.Sequential(
      new nn.Conv2d(1, 4, 3, { padding: 1 }), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Flatten(), new nn.Linear(4 * 4 * 4, 3),
    );
    const enc = new nn.TransformerEncoder(new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, batchFirst: true }), 2, { norm: new nn.LayerNorm(8) });
    const models: [nn.Module, () => Tensor][] = [
      [conv, () => nn.functional.crossEntropy(conv.call(randn([6, 1, 8, 8])), tensor([0, 1, 2, 0, 1, 2], { dtype: 'int32' }))],
      [enc, () => enc.call(randn([3, 5, 8]), { srcKeyPaddingMask: tensor([[false, false, false, true, true], [false, false, false, false, false], [false, false, false, false, true]]) }).square().mean()],
    ];
    for (const [model, lossOf] of models) {
      const opt = new Adam(model.parameters(), { lr: 0.01 });
      const counts: string[] = [];
      for (let step = 0; step < 6; step++) {
        tidy(() => {
          opt.zeroGrad();
          lossOf().backward();
          opt.step();
        });
        const { numTensors, numBytes } = memory();
        counts.push(`${numTensors} tensors, ${numBytes} bytes`);
      }
      expect(new Set(counts.slice(1)).size, `${model.constructor.name}: ${counts.join('; ')}`).toBe(1);
      model.dispose();
      opt.dispose();
    }
    expect(memory()).toEqual(start);
  });
  it('`using` disposes a module at the end of its block', () => {
    const start = memory();
    {
      using lin = new nn.Linear(3, 3);
      expect(lin.weight.isDisposed).toBe(false);
    }
    expect(memory()).toEqual(start);
  });
  it('keep() of a forward result inside tidy and the module’s own tensors survive', () => {
    using lin = new nn.Linear(2, 2);
    const out = tidy(() => keep(lin.call(zeros([1, 2]))));
    expect(out.isDisposed).toBe(false);
    out.dispose();
  });
});

describe('printing', () => {
  it('repr() is PyTorch’s repr(model); toString() adds the parameter count', () => {
    using net = new Net();
    expect(net.repr()).toBe(GOLDEN.repr);
    expect(net.toString()).toBe(`${GOLDEN.repr}\nParameters: ${GOLDEN.reprParams.toLocaleString('en-US')} (trainable: 1,022)`);
    using enc = new nn.TransformerEncoder(new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16 }), 2);
    expect(enc.repr()).toBe(GOLDEN.reprEncoder);
    net.requiresGrad_(false);
    expect(net.toString().split('\n').at(-1)).toBe('Parameters: 1,022 (trainable: 0)');
  });
  it('layer arguments print as PyTorch prints them', () => {
    const cases: [nn.Module, string][] = [
      [new nn.Conv1d(2, 4, 3, { stride: 2, dilation: 2, groups: 2, bias: false }), 'Conv1d(2, 4, kernel_size=(3,), stride=(2,), dilation=(2,), groups=2, bias=False)'],
      [new nn.Conv2d(2, 4, 3, { padding: 'same' }), 'Conv2d(2, 4, kernel_size=(3, 3), stride=(1, 1), padding=same)'],
      [new nn.AvgPool2d([2, 3]), 'AvgPool2d(kernel_size=(2, 3), stride=(2, 3), padding=0)'],
      [new nn.AdaptiveAvgPool2d([null, 7]), 'AdaptiveAvgPool2d(output_size=(None, 7))'],
      [new nn.BatchNorm1d(5, { momentum: null, affine: false }), 'BatchNorm1d(5, eps=1e-05, momentum=None, affine=False, track_running_stats=True)'],
      [new nn.GroupNorm(2, 6, { eps: 0.001 }), 'GroupNorm(2, 6, eps=0.001, affine=True)'],
      [new nn.RMSNorm([4]), 'RMSNorm((4,), eps=None, elementwise_affine=True)'],
      [new nn.Embedding(10, 3, { paddingIdx: -1 }), 'Embedding(10, 3, padding_idx=9)'],
      [new nn.Unflatten(1, [2, 5]), 'Unflatten(dim=1, unflattened_size=(2, 5))'],
      [new nn.LeakyReLU(), 'LeakyReLU(negative_slope=0.01)'],
      [new nn.ELU(), 'ELU(alpha=1.0)'],
      [new nn.Softplus(), 'Softplus(beta=1, threshold=20)'],
      [new nn.Dropout(), 'Dropout(p=0.5, inplace=False)'],
      [new nn.MSELoss(), 'MSELoss()'],
      [new nn.Identity(), 'Identity()'],
    ];
    for (const [m, s] of cases) {
      expect(m.repr()).toBe(s);
      m.dispose();
    }
  });
});

describe('containers', () => {
  it('Sequential: indexing, length, iteration, append, named entries; forward chains', () => {
    using seq = new nn.Sequential(new nn.Linear(3, 4), new nn.ReLU());
    expect(seq.length).toBe(2);
    seq.append(new nn.Linear(4, 1));
    expect([...seq].map((m) => m.constructor.name)).toEqual(['Linear', 'ReLU', 'Linear']);
    expect(Object.keys(seq.stateDict({ clone: false }))).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    expect(tidy(() => [...seq.call(zeros([5, 3])).shape])).toEqual([5, 1]);
    using named = new nn.Sequential({ encoder: new nn.Linear(2, 2), act: new nn.Tanh() });
    expect(named.namedChildren().map(([n]) => n)).toEqual(['encoder', 'act']);
    expect(thrown(() => new nn.Sequential(3 as unknown as nn.Module))).toBeInstanceOf(ArgumentError);
  });
  it('Linear → ReLU in a Sequential runs fused, with the same values and gradients as one after the other', () => {
    manualSeed(9);
    using seq = new nn.Sequential(new nn.Linear(5, 4), new nn.ReLU(), new nn.Linear(4, 2));
    const x = tidy(() => randn([3, 5]));
    const run = (f: () => Tensor) => tidy(() => {
      seq.zeroGrad();
      const y = f();
      y.square().sum().backward();
      return [Array.from(y.data()), ...seq.parameters().map((p) => Array.from(p.grad!.data()))];
    });
    const fused = run(() => seq.call(x));
    const [lin1, relu, lin2] = [...seq];
    const separate = run(() => lin2!.call(relu!.call(lin1!.call(x))));
    expect(fused).toEqual(separate);
    using pair = new nn.Sequential(new nn.Linear(5, 4), new nn.ReLU());
    expect(tidy(() => pair.call(x).gradFn)).toBe('AddmmBackward0'); // one fused node (ReluBackward0 if separate)
    class Leaky extends nn.ReLU {
      forward(t: Tensor): Tensor { return t.leakyRelu(0.5); }
    }
    using custom = new nn.Sequential(new nn.Linear(5, 4), new Leaky());
    expect(tidy(() => custom.call(x).gradFn)).not.toBe('AddmmBackward0'); // an overridden forward runs as written
    x.dispose();
  });
  it('a module used twice in a Sequential runs twice', () => {
    using lin = new nn.Linear(2, 2, { bias: false });
    tidy(() => noGrad(() => void lin.weight.copy_(tensor([[2, 0], [0, 2]]))));
    const seq = new nn.Sequential(lin, lin);
    expect(tidy(() => seq.call(tensor([[1, 1]])).toArray())).toEqual([[4, 4]]);
  });
  it('ModuleList and ModuleDict (insertion order, even for numeric-looking keys)', () => {
    using list = new nn.ModuleList([new nn.Linear(1, 1)]);
    list.append(new nn.Linear(1, 2)).extend([new nn.ReLU()]);
    expect(list.length).toBe(3);
    expect(list[1]).toBeInstanceOf(nn.Linear);
    expect(Object.keys(list.stateDict({ clone: false }))).toEqual(['0.weight', '0.bias', '1.weight', '1.bias']);
    expect(thrown(() => list.forward())).toBeInstanceOf(ArgumentError);
    using dict = new nn.ModuleDict({ b: new nn.Linear(1, 1), 10: new nn.ReLU(), a: new nn.Linear(1, 1, { bias: false }) });
    dict.set('2', new nn.Identity());
    expect(dict.keys()).toEqual(['10', 'b', 'a', '2']); // JS puts integer keys of an object first; the Map keeps order after that
    expect(Object.keys(dict.stateDict({ clone: false }))).toEqual(['b.weight', 'b.bias', 'a.weight']);
    expect(dict.get('a')).toBeInstanceOf(nn.Linear);
    const removed = dict.delete('b')!;
    expect(dict.has('b')).toBe(false);
    removed.dispose();
  });
  it('TransformerEncoder owns its layer as layers[0] and deep-copies the others (same values, separate tensors)', () => {
    using enc = new nn.TransformerEncoder(new nn.TransformerEncoderLayer(4, 2, { dimFeedforward: 8 }), 3);
    const sd = enc.stateDict({ clone: false });
    expect(sd['layers.0.linear1.weight']).not.toBe(sd['layers.1.linear1.weight']);
    expect(Array.from(sd['layers.2.linear1.weight']!.data())).toEqual(Array.from(sd['layers.0.linear1.weight']!.data()));
    expect(sd['layers.1.self_attn.in_proj_weight']).toBeInstanceOf(nn.Parameter);
    expect(enc.parameters()).toHaveLength(36);
  });
});

describe('errors name the layer', () => {
  it('Linear, Conv2d, BatchNorm, LayerNorm, Embedding', () => {
    using lin = new nn.Linear(784, 256);
    const e = thrown(() => lin.call(zeros([3, 10])));
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toBe('Linear(784, 256): input of shape [3, 10] does not fit in_features=784');
    using conv = new nn.Conv2d(3, 8, 3);
    expect(thrown(() => conv.call(zeros([1, 4, 5, 5]))).message).toMatch(/^Conv2d\(3, 8, kernel_size=\(3, 3\)\): input of shape \[1, 4, 5, 5\] does not fit in_channels=3/);
    using bn = new nn.BatchNorm2d(3);
    expect(thrown(() => bn.call(zeros([2, 3, 4])))).toBeInstanceOf(ShapeError);
    expect(thrown(() => bn.call(zeros([1, 3, 1, 1]))).message).toContain('expected more than 1 value per channel when training');
    using ln = new nn.LayerNorm(4);
    expect(thrown(() => ln.call(zeros([2, 5]))).message).toMatch(/^LayerNorm\(\(4,\)\): input of shape \[2, 5\]/);
    using emb = new nn.Embedding(5, 2);
    expect(thrown(() => emb.call(zeros([3])))).toHaveProperty('name', 'DTypeError');
    expect(thrown(() => new nn.Linear(-1, 2))).toBeInstanceOf(ArgumentError);
    expect(thrown(() => new nn.Conv2d(3, 4, 3, { groups: 2 })).message).toContain('must be divisible by groups');
    expect(thrown(() => new nn.MultiheadAttention(10, 3)).message).toContain('must be divisible by num_heads');
  });
});
