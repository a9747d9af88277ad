// The browser-digits demo: a CNN trained in Node (examples/mnist-cnn.mjs) classifies a
// drawing, and a small MLP trains live. wasmgrad is imported as any ESM page would: the
// import map in index.html maps 'wasmgrad' to the browser entry, which needs `await init()`.
import { Adam, dispose, init, load, memory, nn, noGrad, readHeader, simdVariant, tensor, tidy, manualSeed } from 'wasmgrad';
import { SIZE, inkFromRGBA, toMnist } from './preprocess.js';

const $ = (id) => document.getElementById(id);

/** State for people poking around in the console, and for test/browser-demo.test.ts. */
const demo = {
  ready: false,
  error: null,
  simdVariant: null,
  crossOriginIsolated: globalThis.crossOriginIsolated === true,
  model: null,
  prediction: null, // { digit, probabilities: number[10] }
  training: { running: false, steps: 0, losses: [], tensors: [], accuracy: null },
  numTensors: () => memory().numTensors,
};
globalThis.demo = demo;

function showTensors() {
  $('tensors').textContent = String(memory().numTensors);
}

// ---- 1. the digit classifier --------------------------------------------------------

/** The architecture of examples/mnist-cnn.mjs; the state dict's names (0.weight, …) follow it. */
function makeCnn() {
  return new nn.Sequential(
    new nn.Conv2d(1, 8, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Conv2d(8, 16, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Flatten(), new nn.Linear(16 * 7 * 7, 64), new nn.ReLU(),
    new nn.Linear(64, 10),
  );
}

async function loadCnn() {
  const response = await fetch('./mnist-cnn.safetensors');
  if (!response.ok) throw new Error(`mnist-cnn.safetensors: HTTP ${response.status} (run \`npm run example -- mnist-cnn\` to make it)`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const { metadata } = readHeader(bytes);
  const model = makeCnn();
  const state = load(bytes); // name → tensor
  try {
    model.loadStateDict(state); // copies the values into the model's parameters
  } finally {
    dispose(state);
  }
  model.eval();
  const parameters = model.parameters().reduce((n, p) => n + p.size, 0);
  return { model, parameters, bytes: bytes.length, metadata };
}

const pad = $('pad');
const padCtx = pad.getContext('2d', { willReadFrequently: true });
const seenCtx = $('seen').getContext('2d');
const bars = [];

function buildBars() {
  const list = $('bars');
  for (let d = 0; d < 10; d++) {
    const li = document.createElement('li');
    li.innerHTML = `<span class="digit" aria-hidden="true">${d}</span><span class="track" aria-hidden="true"><span class="fill"></span></span><span class="value">–</span>`;
    li.setAttribute('aria-label', `digit ${d}: no prediction`);
    list.append(li);
    bars.push({ li, fill: li.querySelector('.fill'), value: li.querySelector('.value') });
  }
}

function showPrediction(probabilities) {
  let best = 0;
  probabilities.forEach((p, i) => { if (p > probabilities[best]) best = i; });
  probabilities.forEach((p, i) => {
    const bar = bars[i];
    bar.fill.style.width = `${(p * 100).toFixed(1)}%`;
    bar.value.textContent = `${(p * 100).toFixed(1)}%`;
    bar.li.classList.toggle('top', i === best);
    bar.li.setAttribute('aria-label', `digit ${i}: ${(p * 100).toFixed(1)} percent`);
  });
  $('prediction').textContent = String(best);
  $('confidence').textContent = `${(probabilities[best] * 100).toFixed(1)}% sure`;
  demo.prediction = { digit: best, probabilities };
}

function clearPrediction() {
  for (const bar of bars) {
    bar.fill.style.width = '0';
    bar.value.textContent = '–';
    bar.li.classList.remove('top');
  }
  $('prediction').textContent = '–';
  $('confidence').textContent = '';
  seenCtx.clearRect(0, 0, SIZE, SIZE);
  demo.prediction = null;
}

function showSeen(pixels) {
  const image = seenCtx.createImageData(SIZE, SIZE);
  for (let i = 0; i < pixels.length; i++) {
    const v = Math.round(pixels[i] * 255);
    image.data.set([v, v, v, 255], 4 * i);
  }
  seenCtx.putImageData(image, 0, 0);
}

function predict() {
  if (!demo.model) return;
  const input = toMnist(inkFromRGBA(padCtx.getImageData(0, 0, pad.width, pad.height).data, pad.width, pad.height));
  if (input === null) return clearPrediction();
  showSeen(input.pixels);
  const probabilities = noGrad(() => tidy(() => {
    const x = tensor(input.pixels, { shape: [1, 1, SIZE, SIZE] }); // NCHW, ink 1 on 0 as in training
    return Array.from(demo.model.call(x).softmax(1).data());
  }));
  showPrediction(probabilities);
  showTensors();
}

/** Tells screen readers the result once a stroke ends (not at every frame while drawing). */
function announce() {
  const p = demo.prediction;
  $('announce').textContent = p ? `Predicted ${p.digit}, ${(p.probabilities[p.digit] * 100).toFixed(0)} percent sure` : '';
}

let predictQueued = false;
function queuePredict() {
  if (predictQueued) return;
  predictQueued = true;
  requestAnimationFrame(() => { predictQueued = false; predict(); });
}

function setUpPad() {
  padCtx.lineCap = 'round';
  padCtx.lineJoin = 'round';
  padCtx.lineWidth = 20; // ≈ 2 MNIST pixels once a digit of ~200 px is scaled into its 20×20 box
  padCtx.strokeStyle = '#14171c';
  padCtx.fillStyle = '#14171c';
  let last = null;
  // offsetX/Y are relative to the padding box; scale CSS pixels to canvas pixels.
  const at = (e) => ({ x: (e.offsetX * pad.width) / pad.clientWidth, y: (e.offsetY * pad.height) / pad.clientHeight });
  let pointer = null; // the one pointer drawing (a second finger is ignored)
  pad.addEventListener('pointerdown', (e) => {
    if (e.button !== 0 || pointer !== null) return;
    e.preventDefault();
    pointer = e.pointerId;
    pad.setPointerCapture(e.pointerId);
    last = at(e);
    padCtx.beginPath();
    padCtx.arc(last.x, last.y, padCtx.lineWidth / 2, 0, 2 * Math.PI);
    padCtx.fill();
    queuePredict();
  });
  pad.addEventListener('pointermove', (e) => {
    if (last === null || e.pointerId !== pointer) return;
    const events = e.getCoalescedEvents?.() ?? [e];
    padCtx.beginPath();
    padCtx.moveTo(last.x, last.y);
    for (const ev of events.length ? events : [e]) {
      last = at(ev);
      padCtx.lineTo(last.x, last.y);
    }
    padCtx.stroke();
    queuePredict();
  });
  const end = (e) => {
    if (last === null || e.pointerId !== pointer) return;
    last = null;
    pointer = null;
    predict();
    announce();
  };
  pad.addEventListener('pointerup', end);
  pad.addEventListener('pointercancel', end);
  const clear = () => {
    padCtx.clearRect(0, 0, pad.width, pad.height);
    clearPrediction();
    $('announce').textContent = 'Drawing cleared';
  };
  $('clear').addEventListener('click', clear);
  pad.addEventListener('keydown', (e) => {
    if (e.key === 'Delete' || e.key === 'Backspace' || e.key === 'Escape') clear();
  });
}

// ---- 2. live training ---------------------------------------------------------------

const CLASSES = 3;
const PER_CLASS = 100;
const COLOURS = [[222, 76, 58], [47, 111, 223], [46, 160, 90]];

/** Three interleaved spirals in [-1, 1]², from a seeded generator (the same every load). */
function spirals() {
  let seed = 42;
  const random = () => { // mulberry32
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const points = new Float32Array(CLASSES * PER_CLASS * 2);
  const labels = new Int32Array(CLASSES * PER_CLASS);
  for (let c = 0; c < CLASSES; c++) {
    for (let i = 0; i < PER_CLASS; i++) {
      const r = i / PER_CLASS;
      const angle = c * ((2 * Math.PI) / CLASSES) + r * 5 + (random() - 0.5) * 0.5;
      const k = c * PER_CLASS + i;
      points[2 * k] = r * Math.cos(angle);
      points[2 * k + 1] = r * Math.sin(angle);
      labels[k] = c;
    }
  }
  return { points, labels };
}

const data = spirals();
let trainX = null; // tensors, created after init()
let trainY = null;
let grid = null; // the points where the decision regions are evaluated
const GRID = 60;
const EXTENT = 1.1;
let net = null;
let lossFn = null;
let optimizer = null;

function buildNet() {
  manualSeed(7); // the same initial weights after every reset
  net = new nn.Sequential(new nn.Linear(2, 32), new nn.ReLU(), new nn.Linear(32, 32), new nn.ReLU(), new nn.Linear(32, CLASSES));
  lossFn = new nn.CrossEntropyLoss();
  optimizer = new Adam(net.parameters(), { lr: 0.01 });
}

function disposeNet() {
  for (const owner of [net, lossFn, optimizer]) owner?.dispose();
  net = lossFn = optimizer = null;
}

/** One full-batch step; every tensor it makes is freed by tidy (the parameters and Adam's state persist). */
function trainStep() {
  return tidy(() => {
    optimizer.zeroGrad();
    const loss = lossFn.call(net.call(trainX), trainY);
    loss.backward();
    optimizer.step();
    return loss.item();
  });
}

const boundaryCtx = $('boundary').getContext('2d');
const lossCtx = $('loss').getContext('2d');
const regions = new OffscreenCanvas(GRID, GRID);
const regionsCtx = regions.getContext('2d');

function drawBoundary() {
  const { width, height } = boundaryCtx.canvas;
  const { probabilities, accuracy } = noGrad(() => tidy(() => {
    const predicted = net.call(trainX).argmax(1).data();
    let correct = 0;
    predicted.forEach((p, i) => { if (p === data.labels[i]) correct++; });
    return { probabilities: net.call(grid).softmax(1).data(), accuracy: correct / data.labels.length };
  }));
  const image = regionsCtx.createImageData(GRID, GRID);
  for (let i = 0; i < GRID * GRID; i++) {
    for (let ch = 0; ch < 3; ch++) {
      let v = 0;
      for (let c = 0; c < CLASSES; c++) v += probabilities[i * CLASSES + c] * COLOURS[c][ch];
      image.data[4 * i + ch] = 255 - (255 - v) * 0.35; // pale
    }
    image.data[4 * i + 3] = 255;
  }
  regionsCtx.putImageData(image, 0, 0);
  boundaryCtx.imageSmoothingEnabled = true;
  boundaryCtx.drawImage(regions, 0, 0, width, height);
  for (let k = 0; k < data.labels.length; k++) {
    const x = ((data.points[2 * k] + EXTENT) / (2 * EXTENT)) * width;
    const y = ((EXTENT - data.points[2 * k + 1]) / (2 * EXTENT)) * height;
    boundaryCtx.beginPath();
    boundaryCtx.arc(x, y, 2.6, 0, 2 * Math.PI);
    boundaryCtx.fillStyle = `rgb(${COLOURS[data.labels[k]].join(',')})`;
    boundaryCtx.fill();
    boundaryCtx.strokeStyle = 'rgba(255,255,255,0.8)';
    boundaryCtx.lineWidth = 0.8;
    boundaryCtx.stroke();
  }
  demo.training.accuracy = accuracy;
  $('train-acc').textContent = `${(accuracy * 100).toFixed(1)}%`;
}

/** Sizes a canvas's backing store to its CSS size × devicePixelRatio (crisp text); returns the CSS size. */
function fitCanvas(ctx) {
  const canvas = ctx.canvas;
  const ratio = globalThis.devicePixelRatio || 1;
  const width = canvas.clientWidth || canvas.width;
  const height = canvas.clientHeight || canvas.height;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  return { width, height };
}

function drawLoss() {
  const { width, height } = fitCanvas(lossCtx);
  const losses = demo.training.losses;
  const left = 42, bottom = 24, top = 12, right = 12;
  lossCtx.clearRect(0, 0, width, height);
  lossCtx.textAlign = 'left';
  lossCtx.font = '12px system-ui, sans-serif';
  lossCtx.fillStyle = '#5b6470';
  lossCtx.strokeStyle = '#d9dde3';
  lossCtx.lineWidth = 1;
  const max = Math.max(1.2, ...losses.slice(0, 50));
  const steps = Math.max(100, losses.length);
  const px = (i) => left + (i / steps) * (width - left - right);
  const py = (v) => top + (1 - Math.min(v, max) / max) * (height - top - bottom);
  for (let t = 0; t <= 4; t++) { // horizontal grid lines and y labels
    const v = (max * t) / 4;
    lossCtx.beginPath();
    lossCtx.moveTo(left, py(v));
    lossCtx.lineTo(width - right, py(v));
    lossCtx.stroke();
    lossCtx.fillText(v.toFixed(2), 4, py(v) + 4);
  }
  lossCtx.fillText('0', left - 3, height - 6);
  lossCtx.textAlign = 'right';
  lossCtx.fillText(`${steps} steps`, width - right, height - 6);
  lossCtx.textAlign = 'left';
  if (losses.length === 0) return;
  lossCtx.beginPath();
  const stride = Math.max(1, Math.floor(losses.length / (width - left - right)));
  for (let i = 0; i < losses.length; i += stride) {
    if (i === 0) lossCtx.moveTo(px(i), py(losses[i]));
    else lossCtx.lineTo(px(i), py(losses[i]));
  }
  lossCtx.lineTo(px(losses.length - 1), py(losses[losses.length - 1]));
  lossCtx.strokeStyle = '#2f6fdf';
  lossCtx.lineWidth = 2;
  lossCtx.stroke();
}

function showTraining() {
  const t = demo.training;
  $('train-step').textContent = String(t.steps);
  $('train-loss').textContent = t.losses.length ? t.losses[t.losses.length - 1].toFixed(4) : '–';
  drawLoss();
  showTensors();
}

const yieldToBrowser = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Trains in slices of ~12 ms, yielding between them so input, painting and timers go on. */
let loopId = 0;
async function trainLoop() {
  const id = ++loopId; // a restart before the last loop noticed its stop must not run two
  const t = demo.training;
  let lastBoundary = 0;
  let rateSteps = t.steps;
  let rateTime = performance.now();
  while (t.running && id === loopId) {
    const start = performance.now();
    do {
      t.losses.push(trainStep());
      t.steps++;
    } while (t.running && performance.now() - start < 12);
    t.tensors.push({ step: t.steps, numTensors: memory().numTensors });
    const now = performance.now();
    if (now - lastBoundary > 200) {
      drawBoundary();
      lastBoundary = now;
    }
    if (now - rateTime > 500) {
      $('train-rate').textContent = String(Math.round(((t.steps - rateSteps) * 1000) / (now - rateTime)));
      rateSteps = t.steps;
      rateTime = now;
    }
    showTraining();
    await yieldToBrowser();
  }
  if (id !== loopId) return;
  drawBoundary();
  showTraining();
}

function setRunning(running) {
  const t = demo.training;
  if (t.running === running) return;
  t.running = running;
  const button = $('train-toggle');
  button.textContent = running ? 'Stop training' : 'Start training';
  button.setAttribute('aria-pressed', String(running));
  if (running) trainLoop().catch(fail);
}

function setUpTraining() {
  trainX = tensor(data.points, { shape: [CLASSES * PER_CLASS, 2] });
  trainY = tensor(data.labels, { dtype: 'int32' });
  const g = new Float32Array(GRID * GRID * 2);
  for (let r = 0; r < GRID; r++) {
    for (let c = 0; c < GRID; c++) {
      g[2 * (r * GRID + c)] = -EXTENT + ((c + 0.5) / GRID) * 2 * EXTENT;
      g[2 * (r * GRID + c) + 1] = EXTENT - ((r + 0.5) / GRID) * 2 * EXTENT;
    }
  }
  grid = tensor(g, { shape: [GRID * GRID, 2] });
  buildNet();
  drawBoundary();
  showTraining();
  $('train-toggle').addEventListener('click', () => setRunning(!demo.training.running));
  $('train-reset').addEventListener('click', () => {
    setRunning(false);
    disposeNet();
    buildNet();
    Object.assign(demo.training, { steps: 0, losses: [], tensors: [], accuracy: null });
    $('train-rate').textContent = '–';
    drawBoundary();
    showTraining();
  });
}

// ---- start-up -----------------------------------------------------------------------

function fail(err) {
  demo.error = String(err?.stack ?? err);
  $('status').textContent = `error: ${err?.message ?? err}`;
  $('status').classList.add('error');
  console.error(err);
}

async function main() {
  buildBars();
  clearPrediction();
  await init(); // threads when the page is cross-origin isolated (it is here), with relaxed-simd where the browser has it, else simd128
  demo.simdVariant = simdVariant();
  $('simd').textContent = demo.simdVariant;
  $('isolated').textContent = demo.crossOriginIsolated ? 'yes' : 'no';
  const cnn = await loadCnn();
  demo.model = cnn.model;
  const trained = cnn.metadata?.epochs ? `, trained ${cnn.metadata.epochs} epochs on ${cnn.metadata.train} digits` : '';
  $('status').textContent = `ready · mnist-cnn: ${cnn.parameters.toLocaleString('en')} parameters (${Math.round(cnn.bytes / 1024)} KB)${trained}`;
  setUpPad();
  setUpTraining();
  showTensors();
  demo.ready = true;
}

main().catch(fail);
