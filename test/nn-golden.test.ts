// nn layers and losses against PyTorch: test/golden/nn.json (written by the hand-run
// scripts/golden_nn.py from PyTorch 1.13) holds each layer's state dict, inputs, outputs,
// input and parameter gradients; each case builds the same wasmgrad layer, loads the
// state dict unchanged (names, shapes) and compares forward, backward and buffers.
import { describe, expect, it } from 'vitest';
import { readJson } from './helpers/read-json.js';
import { dispose, nn, tensor, tidy, type Tensor } from '../ts/node.js';
import { expectClose } from './helpers/gradcheck.js';

interface Enc { shape: number[]; dtype: 'float32' | 'int32' | 'bool'; data: (number | boolean)[] }
interface Case {
  name: string;
  train: boolean;
  state: Record<string, Enc>;
  inputs: Enc[];
  kwargs: Record<string, Enc>;
  outputs: Enc[];
  gradOutputs: Enc[];
  inputGrads: (Enc | null)[];
  paramGrads: Record<string, Enc>;
  stateAfter: Record<string, Enc>;
}
const GOLDEN = (await readJson(new URL('./golden/nn.json', import.meta.url))) as { cases: Case[]; torch: string };

const T = (e: Enc): Tensor => tensor(e.dtype === 'bool' ? e.data.map(Boolean) : (e.data as number[]), { shape: e.shape, dtype: e.dtype });

type Runner = (m: nn.Module, inputs: Tensor[], kw: Record<string, Tensor>) => Tensor[];
const plain: Runner = (m, inputs) => [m.call(...inputs) as Tensor];
const mha: Runner = (m, [q, k, v], kw) => {
  const [o, w] = (m as nn.MultiheadAttention).call(q!, k!, v!, {
    keyPaddingMask: kw.key_padding_mask ?? null,
    attnMask: kw.attn_mask ?? null,
    averageAttnWeights: !('average_attn_weights' in kw) && CURRENT !== 'MultiheadAttention-cross',
  });
  return [o, w!];
};
const encoderLayer: Runner = (m, [src], kw) => [(m as nn.TransformerEncoderLayer).call(src!, { srcMask: kw.src_mask ?? null, srcKeyPaddingMask: kw.src_key_padding_mask ?? null })];
let CURRENT = '';

const BUILD: Record<string, [() => nn.Module, Runner?]> = {
  Linear: [() => new nn.Linear(5, 3)],
  'Linear-nobias-3d': [() => new nn.Linear(5, 3, { bias: false })],
  Conv1d: [() => new nn.Conv1d(3, 4, 3, { stride: 2, padding: 1 })],
  Conv2d: [() => new nn.Conv2d(3, 4, 3, { padding: 1 })],
  'Conv2d-groups': [() => new nn.Conv2d(4, 4, [3, 2], { stride: [2, 1], dilation: [1, 2], groups: 2, bias: false })],
  'Conv2d-same': [() => new nn.Conv2d(2, 3, 4, { padding: 'same' })],
  MaxPool2d: [() => new nn.MaxPool2d(2)],
  'MaxPool2d-options': [() => new nn.MaxPool2d(3, { stride: 2, padding: 1, ceilMode: true })],
  AvgPool2d: [() => new nn.AvgPool2d(3, { stride: 2, padding: 1 })],
  AdaptiveAvgPool2d: [() => new nn.AdaptiveAvgPool2d([2, 3])],
  'BatchNorm1d-train': [() => new nn.BatchNorm1d(4)],
  'BatchNorm1d-3d-train': [() => new nn.BatchNorm1d(4, { momentum: null })],
  'BatchNorm1d-eval': [() => new nn.BatchNorm1d(4)],
  'BatchNorm2d-train': [() => new nn.BatchNorm2d(3, { momentum: 0.3 })],
  'BatchNorm2d-eval': [() => new nn.BatchNorm2d(3)],
  'BatchNorm2d-noaffine': [() => new nn.BatchNorm2d(3, { affine: false, trackRunningStats: false })],
  LayerNorm: [() => new nn.LayerNorm(6)],
  'LayerNorm-2d': [() => new nn.LayerNorm([3, 4], { eps: 1e-3 })],
  GroupNorm: [() => new nn.GroupNorm(2, 4)],
  RMSNorm: [() => new nn.RMSNorm(6)],
  'RMSNorm-2d-eps': [() => new nn.RMSNorm([3, 4], { eps: 1e-5 })],
  Embedding: [() => new nn.Embedding(10, 4, { paddingIdx: 1 })],
  'Dropout-eval': [() => new nn.Dropout(0.3)],
  Flatten: [() => new nn.Flatten()],
  Unflatten: [() => new nn.Unflatten(1, [2, 3])],
  Identity: [() => new nn.Identity()],
  ReLU: [() => new nn.ReLU()],
  LeakyReLU: [() => new nn.LeakyReLU(0.2)],
  ELU: [() => new nn.ELU(0.5)],
  GELU: [() => new nn.GELU()],
  'GELU-tanh': [() => new nn.GELU('tanh')],
  SiLU: [() => new nn.SiLU()],
  Tanh: [() => new nn.Tanh()],
  Sigmoid: [() => new nn.Sigmoid()],
  Softplus: [() => new nn.Softplus(2, 5)],
  Softmax: [() => new nn.Softmax(1)],
  LogSoftmax: [() => new nn.LogSoftmax(-1)],
  'MultiheadAttention-self': [() => new nn.MultiheadAttention(8, 2), (m, [x], kw) => mha(m, [x!, x!, x!], kw)],
  'MultiheadAttention-cross': [() => new nn.MultiheadAttention(8, 4, { batchFirst: true }), mha],
  'MultiheadAttention-unbatched': [() => new nn.MultiheadAttention(6, 3, { bias: false }), mha],
  TransformerEncoderLayer: [() => new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0 }), encoderLayer],
  'TransformerEncoderLayer-normfirst-gelu': [
    () => new nn.TransformerEncoderLayer(8, 4, { dimFeedforward: 12, dropout: 0, activation: 'gelu', batchFirst: true, normFirst: true }),
    encoderLayer,
  ],
  TransformerEncoder: [() => new nn.TransformerEncoder(new nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, dropout: 0 }), 2, { norm: new nn.LayerNorm(8) })],
  'MSELoss-mean': [() => new nn.MSELoss()],
  'MSELoss-sum': [() => new nn.MSELoss({ reduction: 'sum' })],
  'MSELoss-none': [() => new nn.MSELoss({ reduction: 'none' })],
  'L1Loss-mean': [() => new nn.L1Loss()],
  'L1Loss-sum': [() => new nn.L1Loss({ reduction: 'sum' })],
  'L1Loss-none': [() => new nn.L1Loss({ reduction: 'none' })],
  SmoothL1Loss: [() => new nn.SmoothL1Loss({ beta: 0.5 })],
  CrossEntropyLoss: [() => new nn.CrossEntropyLoss({ labelSmoothing: 0.1 })],
  'CrossEntropyLoss-sum': [() => new nn.CrossEntropyLoss({ reduction: 'sum' })],
  NLLLoss: [() => new nn.NLLLoss()],
  BCELoss: [() => new nn.BCELoss()],
  BCEWithLogitsLoss: [() => new nn.BCEWithLogitsLoss()],
  'BCEWithLogitsLoss-posweight': [
    () => {
      using posWeight = tensor([1, 2, 0.5, 3, 1]); // copied into the loss's pos_weight buffer
      return new nn.BCEWithLogitsLoss({ posWeight, reduction: 'sum' });
    },
  ],
};

const ATOL = 2e-5;
const RTOL = 2e-4;
const values = (t: Tensor) => Array.from(t.data(), Number);

describe(`nn layers against PyTorch ${GOLDEN.torch} (test/golden/nn.json)`, () => {
  it('has a builder for every golden case, and a case for every builder', () => {
    expect(GOLDEN.cases.map((c) => c.name).sort()).toEqual(Object.keys(BUILD).sort());
  });
  for (const c of GOLDEN.cases) {
    it(`${c.name}: state dict loads unchanged; output, input and parameter gradients${Object.keys(c.stateAfter).length ? ', buffers after' : ''}`, () => {
      const [build, runner = plain] = BUILD[c.name] ?? [];
      expect(build, `no builder for ${c.name}`).toBeDefined();
      CURRENT = c.name;
      const m = build!();
      try {
        tidy(() => {
          const sd = Object.fromEntries(Object.entries(c.state).map(([k, v]) => [k, T(v)]));
          expect(Object.keys(m.stateDict({ clone: false })), 'state dict names and order').toEqual(Object.keys(c.state));
          m.loadStateDict(sd);
          m.train(c.train);
          const inputs = c.inputs.map((e) => {
            const t = T(e);
            if (t.dtype === 'float32') t.requiresGrad = true;
            return t;
          });
          const kw = Object.fromEntries(Object.entries(c.kwargs).map(([k, v]) => [k, T(v)]));
          const outs = runner(m, inputs, kw);
          expect(outs.length).toBe(c.outputs.length);
          outs.forEach((o, i) => {
            expect([...o.shape], `output ${i} shape`).toEqual(c.outputs[i]!.shape);
            expectClose(values(o), c.outputs[i]!.data as number[], ATOL, RTOL, `${c.name} output ${i}`);
          });
          const loss = outs.map((o, i) => o.mul(T(c.gradOutputs[i]!)).sum()).reduce((a, b) => a.add(b));
          loss.backward();
          c.inputGrads.forEach((g, i) => {
            if (g === null) return;
            expectClose(values(inputs[i]!.grad!), g.data as number[], ATOL, RTOL, `${c.name} input ${i} grad`);
          });
          const params = new Map(m.namedParameters());
          expect([...params.keys()].sort(), 'parameters with a gradient').toEqual(Object.keys(c.paramGrads).sort());
          for (const [name, g] of Object.entries(c.paramGrads)) {
            expectClose(values(params.get(name)!.grad!), g.data as number[], ATOL, RTOL, `${c.name} ${name}.grad`);
          }
          const after = m.stateDict({ clone: false });
          for (const [name, e] of Object.entries(c.stateAfter)) {
            expect(after[name]!.dtype, `${name} dtype`).toBe(e.dtype);
            expectClose(values(after[name]!), e.data as number[], ATOL, RTOL, `${c.name} ${name} after`);
          }
          dispose(inputs.map((t) => t.grad));
        });
      } finally {
        m.dispose();
      }
    });
  }
});
