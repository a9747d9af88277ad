// Linear regression with autograd and a hand-written SGD step, as in PyTorch's tutorials.
// Fits y = w·x + b to 7 points of y = 10x + 1. Usage: linear-regression [--epochs N]
import { noGrad, scalar, tensor, tidy } from 'wasmgrad';

const flag = process.argv.indexOf('--epochs');
const epochs = flag >= 0 ? Number(process.argv[flag + 1]) : 500;

const X = tensor([1, 2, 3, 4, 5, 6, 7]);
const Y = X.mul(10).add(1);
const w = scalar(0, { requiresGrad: true });
const b = scalar(0, { requiresGrad: true });
const lr = 0.01;

const forward = (x) => w.mul(x).add(b);

for (let epoch = 0; epoch < epochs; epoch++) {
  tidy(() => {
    const loss = forward(X).sub(Y).pow(2).mean(); // MSE
    loss.backward();
    noGrad(() => {
      w.sub_(w.grad.mul(lr));
      b.sub_(b.grad.mul(lr));
    });
    w.grad.zero_();
    b.grad.zero_();
    if (epoch % 50 === 0) {
      console.log(`epoch ${String(epoch).padStart(4)}: w = ${w.item().toFixed(4)}, b = ${b.item().toFixed(4)}, loss = ${loss.item().toPrecision(5)}`);
    }
  });
}

const prediction = tidy(() => forward(tensor([8])).item());
console.log(`after ${epochs} epochs: w = ${w.item().toFixed(4)}, b = ${b.item().toFixed(4)}`);
console.log(`prediction for x = 8: ${prediction.toFixed(3)} (true value 81)`);
