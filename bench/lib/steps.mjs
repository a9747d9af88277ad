// One training step as each library's users write it, returning the loss when asked
// (`check` reads it, timed runs do not): wasmgrad's modules, and TF.js's optimizer.minimize.
import { tf, wg } from './libs.mjs';

/** zeroGrad, loss, backward, step of a wasmgrad model. */
export function moduleStep(model, lossFn, opt, x, y) {
  return (readLoss) =>
    wg.tidy(() => {
      opt.zeroGrad();
      const loss = lossFn.call(model.call(x), y);
      loss.backward();
      opt.step();
      return readLoss ? loss.item() : undefined;
    });
}

/** A TF.js optimizer minimising `loss` over `vars`. */
export function minimizeStep(optimizer, loss, vars) {
  return (readLoss) =>
    tf.tidy(() => {
      const l = optimizer.minimize(loss, readLoss, vars);
      return readLoss ? l.dataSync()[0] : undefined;
    });
}
