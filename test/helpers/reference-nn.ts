// Float64 references of the nn ops (softmax, cross-entropy, convolution, pooling), shared
// by the op-family tests and the op-table test.
import { nd, numel, type Nd } from './reference.js';

/** Reference softmax / log-softmax along `dim` in float64. */
export function refSoftmax(x: Nd, dim: number, log: boolean): Nd {
  const d = dim < 0 ? dim + x.shape.length : dim;
  const n = x.shape[d]!;
  const inner = numel(x.shape.slice(d + 1));
  const outer = numel(x.shape.slice(0, d));
  const out = new Float64Array(x.data.length);
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < inner; i++) {
      const idx = (k: number) => (o * n + k) * inner + i;
      let m = -Infinity;
      for (let k = 0; k < n; k++) m = Math.max(m, x.data[idx(k)]!);
      let s = 0;
      for (let k = 0; k < n; k++) s += Math.exp(x.data[idx(k)]! - m);
      for (let k = 0; k < n; k++) out[idx(k)] = log ? x.data[idx(k)]! - m - Math.log(s) : Math.exp(x.data[idx(k)]! - m) / s;
    }
  return { shape: x.shape, data: out };
}

/** Reference cross-entropy for logits [N, C, S…] and indices [N, S…] or probabilities. */
export function refCrossEntropy(x: Nd, target: number[], probs: boolean, reduction: string, ignore = -100, eps = 0): Nd {
  const batched = x.shape.length > 1;
  const [N, C] = batched ? [x.shape[0]!, x.shape[1]!] : [1, x.shape[0]!];
  const S = batched ? numel(x.shape.slice(2)) : 1;
  const lp = refSoftmax(x, batched ? 1 : 0, true).data;
  const losses: number[] = [];
  let count = 0;
  for (let i = 0; i < N; i++)
    for (let j = 0; j < S; j++) {
      let loss = 0;
      if (!probs && target[i * S + j] === ignore) {
        losses.push(0);
        continue;
      }
      count++;
      for (let c = 0; c < C; c++) {
        const t = probs ? target[(i * C + c) * S + j]! : c === target[i * S + j] ? 1 : 0;
        loss -= ((1 - eps) * t + eps / C) * lp[(i * C + c) * S + j]!;
      }
      losses.push(loss);
    }
  const rowShape = batched ? [x.shape[0]!, ...x.shape.slice(2)] : [];
  if (reduction === 'none') return nd(rowShape, losses);
  const total = losses.reduce((a, b) => a + b, 0);
  return nd([], [reduction === 'sum' ? total : total / count]);
}

export interface ConvCfg {
  stride?: [number, number];
  /** Padding before (top, left); `padEnd` defaults to the same. */
  pad?: [number, number];
  padEnd?: [number, number];
  dilation?: [number, number];
  groups?: number;
}

/**
 * Calls `tap(oi, xi, wi)` for every term `x[xi] · w[wi]` of output `oi` of a 2-D
 * cross-correlation of x `[N, C, H, W]` with w `[O, C/groups, kH, kW]`, output by output
 * in row-major order and each output's terms in (channel, row, column) order. Returns the
 * output's spatial size.
 */
export function forEachConvTap(
  xShape: readonly number[],
  wShape: readonly number[],
  cfg: ConvCfg,
  tap: (oi: number, xi: number, wi: number) => void,
  start: (oi: number, o: number) => void = () => {},
): { OH: number; OW: number } {
  const [N, C, H, W] = xShape as [number, number, number, number];
  const [O, Cg, KH, KW] = wShape as [number, number, number, number];
  const [sh, sw] = cfg.stride ?? [1, 1];
  const [ph, pw] = cfg.pad ?? [0, 0];
  const [eh, ew] = cfg.padEnd ?? [ph, pw];
  const [dh, dw] = cfg.dilation ?? [1, 1];
  const groups = cfg.groups ?? 1;
  if (Cg * groups !== C || O % groups !== 0) throw new Error('refConv2d: bad channels');
  const OH = Math.floor((H + ph + eh - dh * (KH - 1) - 1) / sh) + 1;
  const OW = Math.floor((W + pw + ew - dw * (KW - 1) - 1) / sw) + 1;
  const Og = O / groups;
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++)
      for (let oy = 0; oy < OH; oy++)
        for (let ox = 0; ox < OW; ox++) {
          const oi = ((n * O + o) * OH + oy) * OW + ox;
          start(oi, o);
          const g = Math.floor(o / Og);
          for (let c = 0; c < Cg; c++)
            for (let i = 0; i < KH; i++)
              for (let j = 0; j < KW; j++) {
                const iy = oy * sh - ph + i * dh;
                const ix = ox * sw - pw + j * dw;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                tap(oi, ((n * C + g * Cg + c) * H + iy) * W + ix, ((o * Cg + c) * KH + i) * KW + j);
              }
        }
  return { OH, OW };
}

/** Direct 2-D cross-correlation, x `[N, C, H, W]` or `[C, H, W]`, w `[O, C/groups, kH, kW]`. */
export function refConv2d(x: Nd, w: Nd, b: Nd | null, cfg: ConvCfg = {}): Nd {
  const batched = x.shape.length === 4;
  const xShape = batched ? x.shape : [1, ...x.shape];
  const out: number[] = [];
  const { OH, OW } = forEachConvTap(
    xShape,
    w.shape,
    cfg,
    (oi, xi, wi) => void (out[oi]! += x.data[xi]! * w.data[wi]!),
    (oi, o) => void (out[oi] = b ? b.data[o]! : 0),
  );
  const [N, O] = [xShape[0]!, w.shape[0]!];
  return { shape: batched ? [N, O, OH, OW] : [O, OH, OW], data: Float64Array.from(out) };
}

/** Input, weight and bias gradients of `Σ conv2d(x, w, b) · up` (x 4-D) in float64 loops. */
export function refConv2dGrads(x: Nd, w: Nd, up: Nd, cfg: ConvCfg = {}): { dx: Float64Array; dw: Float64Array; db: Float64Array } {
  const dx = new Float64Array(x.data.length);
  const dw = new Float64Array(w.data.length);
  const db = new Float64Array(w.shape[0]!);
  forEachConvTap(
    x.shape,
    w.shape,
    cfg,
    (oi, xi, wi) => {
      dx[xi]! += up.data[oi]! * w.data[wi]!;
      dw[wi]! += up.data[oi]! * x.data[xi]!;
    },
    (oi, o) => void (db[o]! += up.data[oi]!),
  );
  return { dx, dw, db };
}

export interface ConvTransposeCfg {
  stride?: [number, number];
  pad?: [number, number];
  outputPad?: [number, number];
  dilation?: [number, number];
  groups?: number;
}

/**
 * Direct 2-D transposed convolution (`F.conv_transpose2d`), x `[N, Cin, H, W]` or
 * `[Cin, H, W]`, w `[Cin, Cout/groups, kH, kW]`: each input element scatters
 * `x · w[ci, co]` to output `(y·s − p + i·d, x·s − p + j·d)`.
 */
export function refConvTranspose2d(x: Nd, w: Nd, b: Nd | null, cfg: ConvTransposeCfg = {}): Nd {
  const batched = x.shape.length === 4;
  const [N, C, H, W] = (batched ? x.shape : [1, ...x.shape]) as [number, number, number, number];
  const [Ci, Og, KH, KW] = w.shape as [number, number, number, number];
  const [sh, sw] = cfg.stride ?? [1, 1];
  const [ph, pw] = cfg.pad ?? [0, 0];
  const [qh, qw] = cfg.outputPad ?? [0, 0];
  const [dh, dw] = cfg.dilation ?? [1, 1];
  const groups = cfg.groups ?? 1;
  if (Ci !== C || C % groups !== 0) throw new Error('refConvTranspose2d: bad channels');
  const O = Og * groups;
  const Cg = C / groups;
  const OH = (H - 1) * sh - 2 * ph + dh * (KH - 1) + qh + 1;
  const OW = (W - 1) * sw - 2 * pw + dw * (KW - 1) + qw + 1;
  const out = new Float64Array(N * O * OH * OW);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++) {
      const g = Math.floor(o / Og);
      const base = (n * O + o) * OH * OW;
      if (b) out.fill(b.data[o]!, base, base + OH * OW);
      for (let c = g * Cg; c < (g + 1) * Cg; c++)
        for (let y = 0; y < H; y++)
          for (let xx = 0; xx < W; xx++) {
            const v = x.data[((n * C + c) * H + y) * W + xx]!;
            for (let i = 0; i < KH; i++)
              for (let j = 0; j < KW; j++) {
                const oy = y * sh - ph + i * dh;
                const ox = xx * sw - pw + j * dw;
                if (oy < 0 || oy >= OH || ox < 0 || ox >= OW) continue;
                out[base + oy * OW + ox]! += v * w.data[((c * Og + (o - g * Og)) * KH + i) * KW + j]!;
              }
          }
    }
  return { shape: batched ? [N, O, OH, OW] : [O, OH, OW], data: out };
}

/** 1-D convolution as the 2-D reference with height 1. */
export function refConv1d(x: Nd, w: Nd, b: Nd | null, stride = 1, pad = 0, dilation = 1, groups = 1, padEnd = pad): Nd {
  const x2 = nd([...x.shape.slice(0, -1), 1, x.shape.at(-1)!], x.data);
  const w2 = nd([w.shape[0]!, w.shape[1]!, 1, w.shape[2]!], w.data);
  const y = refConv2d(x2, w2, b, { stride: [1, stride], pad: [0, pad], padEnd: [0, padEnd], dilation: [1, dilation], groups });
  return { shape: [...y.shape.slice(0, -2), y.shape.at(-1)!], data: y.data };
}

/** PyTorch's pooling output size. */
export function pooledSize(size: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  let out = Math.floor((size + 2 * p - d * (k - 1) - 1 + (ceil ? s - 1 : 0)) / s) + 1;
  if (ceil && (out - 1) * s >= size + p) out--;
  return out;
}

export interface PoolCfg {
  stride?: [number, number];
  pad?: [number, number];
  dilation?: [number, number];
  ceil?: boolean;
}

/** Planes view of a 3-D or 4-D input: `[planes, H, W]` plus the leading output dims. */
export function planes(x: Nd): { P: number; H: number; W: number; lead: number[] } {
  const lead = x.shape.slice(0, -2);
  return { P: numel(lead), H: x.shape.at(-2)!, W: x.shape.at(-1)!, lead };
}

/** Max pooling scanning each window row-major: a strictly greater value (or NaN) wins. */
export function refMaxPool2d(x: Nd, k: [number, number], cfg: PoolCfg = {}): { out: Nd; argmax: number[] } {
  const { P, H, W, lead } = planes(x);
  const [sh, sw] = cfg.stride ?? k;
  const [ph, pw] = cfg.pad ?? [0, 0];
  const [dh, dw] = cfg.dilation ?? [1, 1];
  const OH = pooledSize(H, k[0], sh, ph, dh, !!cfg.ceil);
  const OW = pooledSize(W, k[1], sw, pw, dw, !!cfg.ceil);
  const out = new Float64Array(P * OH * OW);
  const argmax: number[] = [];
  for (let p = 0; p < P; p++)
    for (let oy = 0; oy < OH; oy++)
      for (let ox = 0; ox < OW; ox++) {
        let best = -Infinity;
        let at = -1;
        for (let i = 0; i < k[0]; i++)
          for (let j = 0; j < k[1]; j++) {
            const iy = oy * sh - ph + i * dh;
            const ix = ox * sw - pw + j * dw;
            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
            const v = x.data[(p * H + iy) * W + ix]!;
            if (at < 0 || v > best || Number.isNaN(v)) {
              best = v;
              at = (p * H + iy) * W + ix;
            }
          }
        out[(p * OH + oy) * OW + ox] = best;
        argmax.push(at);
      }
  return { out: { shape: [...lead, OH, OW], data: out }, argmax };
}

/** Average pooling with PyTorch's divisor rules. */
export function refAvgPool2d(x: Nd, k: [number, number], cfg: PoolCfg & { countIncludePad?: boolean; divisor?: number } = {}): Nd {
  const { P, H, W, lead } = planes(x);
  const [sh, sw] = cfg.stride ?? k;
  const [ph, pw] = cfg.pad ?? [0, 0];
  const OH = pooledSize(H, k[0], sh, ph, 1, !!cfg.ceil);
  const OW = pooledSize(W, k[1], sw, pw, 1, !!cfg.ceil);
  const out = new Float64Array(P * OH * OW);
  for (let p = 0; p < P; p++)
    for (let oy = 0; oy < OH; oy++)
      for (let ox = 0; ox < OW; ox++) {
        // The window may run into the padding (counted when countIncludePad) but not past it.
        const y0 = oy * sh - ph;
        const x0 = ox * sw - pw;
        const y1 = Math.min(y0 + k[0], H + ph);
        const x1 = Math.min(x0 + k[1], W + pw);
        let sum = 0;
        let inside = 0;
        for (let iy = Math.max(y0, 0); iy < Math.min(y1, H); iy++)
          for (let ix = Math.max(x0, 0); ix < Math.min(x1, W); ix++) {
            sum += x.data[(p * H + iy) * W + ix]!;
            inside++;
          }
        const divisor = cfg.divisor ?? ((cfg.countIncludePad ?? true) ? (y1 - y0) * (x1 - x0) : inside);
        out[(p * OH + oy) * OW + ox] = inside === 0 ? 0 : sum / divisor;
      }
  return { shape: [...lead, OH, OW], data: out };
}

/** Adaptive average pooling: rows floor(i·H/OH) … ceil((i+1)·H/OH) − 1, likewise columns. */
export function refAdaptiveAvgPool2d(x: Nd, OH: number, OW: number): Nd {
  const { P, H, W, lead } = planes(x);
  const out = new Float64Array(P * OH * OW);
  for (let p = 0; p < P; p++)
    for (let oy = 0; oy < OH; oy++)
      for (let ox = 0; ox < OW; ox++) {
        const [y0, y1] = [Math.floor((oy * H) / OH), Math.ceil(((oy + 1) * H) / OH)];
        const [x0, x1] = [Math.floor((ox * W) / OW), Math.ceil(((ox + 1) * W) / OW)];
        let sum = 0;
        for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) sum += x.data[(p * H + iy) * W + ix]!;
        out[(p * OH + oy) * OW + ox] = sum / ((y1 - y0) * (x1 - x0));
      }
  return { shape: [...lead, OH, OW], data: out };
}
