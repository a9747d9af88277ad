// The workloads of scripts/ab-threads.mjs: each `make(wg)` builds its tensors with the given
// wasmgrad module and returns { run, dispose }. The steps follow bench/workloads/mlp.mjs
// (mlp-b128) and bench/workloads/train.mjs (cnn-adam-b64). Every `run` frees what it makes
// (`tidy(() => void …)`: a tidy keeps what its function returns, and a leak would time
// fresh memory's page faults instead of the op).

const uniform = (wg, shape, lo, hi) => wg.tidy(() => wg.rand(shape).mul(hi - lo).add(lo));

function mlpStep(wg) {
  wg.manualSeed(7);
  const sizes = [784, 256, 128, 10];
  const x = uniform(wg, [128, 784], 0, 1);
  const target = uniform(wg, [128, 10], 0, 1);
  const params = [];
  for (let l = 0; l < 3; l++) {
    const bound = 1 / Math.sqrt(sizes[l]);
    params.push(uniform(wg, [sizes[l], sizes[l + 1]], -bound, bound).requiresGrad_());
    params.push(uniform(wg, [sizes[l + 1]], -bound, bound).requiresGrad_());
  }
  const [W1, b1, W2, b2, W3, b3] = params;
  const run = () =>
    wg.tidy(() => {
      const h1 = x.matmul(W1).add(b1).relu();
      const h2 = h1.matmul(W2).add(b2).relu();
      const l = h2.matmul(W3).add(b3).sub(target).pow(2).mean();
      l.backward();
      wg.noGrad(() => {
        for (const q of params) q.sub_(q.grad.mul(0.01));
      });
      for (const q of params) q.grad.zero_();
    });
  return { run, dispose: () => wg.dispose(x, target, ...params) };
}

function cnnStep(wg) {
  wg.manualSeed(7);
  const { nn } = wg;
  const model = new nn.Sequential(
    new nn.Conv2d(1, 16, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Conv2d(16, 32, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Flatten(), new nn.Linear(32 * 7 * 7, 10),
  );
  const x = wg.rand([64, 1, 28, 28]);
  const y = wg.tensor(Array.from({ length: 64 }, (_, i) => (i * 7) % 10), { dtype: 'int32' });
  const lossFn = new nn.CrossEntropyLoss();
  const opt = new wg.Adam(model.parameters(), { lr: 1e-3 });
  const run = () =>
    wg.tidy(() => {
      opt.zeroGrad();
      lossFn.call(model.call(x), y).backward();
      opt.step();
    });
  return { run, dispose: () => wg.dispose(x, y, ...model.parameters()) };
}

const product = (m, k, n) => (wg) => {
  const a = wg.randn([m, k]);
  const b = wg.randn([k, n]);
  return { run: () => wg.tidy(() => void a.matmul(b)), dispose: () => wg.dispose(a, b) };
};

const map = (len) => (wg) => {
  const a = wg.randn([len]);
  return { run: () => wg.tidy(() => void a.relu()), dispose: () => wg.dispose(a) };
};

export const workloads = {
  'mlp-b128 step': mlpStep,
  'cnn-adam-b64 step': cnnStep,
  'x·W1 128x784x256': product(128, 784, 256),
  'h1·W2 128x256x128': product(128, 256, 128),
  'xᵀ·G 784x128x256': (wg) => {
    const x = wg.randn([128, 784]);
    const g = wg.randn([128, 256]);
    return { run: () => wg.tidy(() => void x.t().matmul(g)), dispose: () => wg.dispose(x, g) };
  },
  'matmul 1024²': product(1024, 1024, 1024),
  'matmul 256²': product(256, 256, 256),
  'relu 32K (fork-join)': map(1 << 15),
  'relu 64K': map(1 << 16),
};
