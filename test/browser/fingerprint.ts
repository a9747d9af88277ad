// What one row of test/op-cases.ts computes, down to the bit: the forward outputs and the
// first gradients (of Σ wᵢ·outᵢ with fixed mixed-sign weights) for a grad row, every output
// for a no-grad row. The same code runs in Chromium (test/browser/parity.test.ts) and in a
// Node process (test/browser/node-prints.ts, started by vitest.config.ts's
// `nodeOpFingerprints` command), so the two can be compared bit for bit.
import { grad, tensor, tidy, type Tensor } from '../../ts/node.js';
import { isGradCase, OP_CASES } from '../op-cases.js';

/** A tensor's dtype, shape and raw bytes (hex, so NaN payloads, ±inf and -0 survive). */
export interface TensorPrint {
  dtype: string;
  shape: number[];
  hex: string;
}
export type RowPrint =
  | { outputs: TensorPrint[]; grads: (TensorPrint | null)[] }
  | { error: string };

export interface NodePrints {
  variant: string | null;
  node: string;
  rows: Record<string, RowPrint>;
}

function print(t: Tensor): TensorPrint {
  const d = t.data();
  const bytes = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  return { dtype: t.dtype, shape: [...t.shape], hex: Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('') };
}

/** Weights -1.5, -0.5, 0.5, 1.5, 2.5, … (exact in float32) so every output element counts. */
const weights = (n: number): number[] => Array.from({ length: n }, (_, i) => (i % 5) - 1.5);

export function rowPrint(key: string): RowPrint {
  const c = OP_CASES[key];
  if (c === undefined) return { error: `no row ${key}` };
  try {
    return tidy(() => {
      if (isGradCase(c)) {
        const xs = c.grad.inputs.map((x) => tensor(Array.from(x.data), { shape: x.shape, requiresGrad: true }));
        const out = c.grad.fn(...xs);
        const total = out.mul(tensor(weights(out.size), { shape: out.shape })).sum();
        const grads = grad(total, xs, { allowUnused: true });
        return { outputs: [print(out)], grads: grads.map((g) => (g === null ? null : print(g))) };
      }
      const xs = (c.inputs ?? []).map((x) => tensor(Array.from(x.data), { shape: x.shape, requiresGrad: true }));
      const result = c.run(...xs);
      return { outputs: (Array.isArray(result) ? result : [result]).map(print), grads: [] };
    });
  } catch (e) {
    return { error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
}

export const ROW_KEYS: string[] = Object.keys(OP_CASES);

/** Where two prints of one row differ, in words (empty when bit-identical). */
export function differences(browser: RowPrint, node: RowPrint | undefined): string[] {
  if (node === undefined) return ['Node has no print of this row'];
  if ('error' in browser || 'error' in node) {
    const b = 'error' in browser ? browser.error : 'no error';
    const n = 'error' in node ? node.error : 'no error';
    return b === n ? [] : [`browser: ${b}; node: ${n}`];
  }
  const out: string[] = [];
  const compare = (what: string, b: TensorPrint | null | undefined, n: TensorPrint | null | undefined) => {
    if (b == null || n == null) {
      if ((b == null) !== (n == null)) out.push(`${what}: browser ${b == null ? 'none' : 'a tensor'}, node ${n == null ? 'none' : 'a tensor'}`);
      return;
    }
    if (b.dtype !== n.dtype || b.shape.join() !== n.shape.join()) {
      out.push(`${what}: browser ${b.dtype}[${b.shape}], node ${n.dtype}[${n.shape}]`);
      return;
    }
    if (b.hex === n.hex) return;
    const width = b.dtype === 'bool' ? 2 : 8;
    const value = (hex: string) => {
      if (b.dtype === 'bool') return String(parseInt(hex, 16));
      const bytes = new Uint8Array(hex.match(/../g)!.map((h) => parseInt(h, 16)));
      return String(b.dtype === 'int32' ? new Int32Array(bytes.buffer)[0] : new Float32Array(bytes.buffer)[0]);
    };
    /** The element's bit pattern as a number would print it (the bytes are little-endian). */
    const bits = (hex: string) => hex.match(/../g)!.reverse().join('');
    const diffs: string[] = [];
    let count = 0;
    for (let i = 0; i < b.hex.length / width; i++) {
      const hb = b.hex.slice(i * width, (i + 1) * width);
      const hn = n.hex.slice(i * width, (i + 1) * width);
      if (hb === hn) continue;
      if (++count <= 4) diffs.push(`[${i}] browser ${value(hb)} (0x${bits(hb)}) vs node ${value(hn)} (0x${bits(hn)})`);
    }
    out.push(`${what}: ${count} of ${b.hex.length / width} elements differ: ${diffs.join(', ')}`);
  };
  const n = Math.max(browser.outputs.length, node.outputs.length);
  for (let i = 0; i < n; i++) compare(`output ${i}`, browser.outputs[i], node.outputs[i]);
  const m = Math.max(browser.grads.length, node.grads.length);
  for (let i = 0; i < m; i++) compare(`gradient ${i}`, browser.grads[i], node.grads[i]);
  return out;
}
