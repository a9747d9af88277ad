// Correctness checks: every library must produce the same numbers before anything is timed.

export const TOLERANCE = 1e-4;

export class MismatchError extends Error {}

/**
 * Compares named outputs `{ name: Float32Array | number[] | number }` of one library with
 * the reference's. The error of each output is max |a - b| divided by the max |value| of
 * the two outputs (1 if that is 0); throws a MismatchError above `TOLERANCE`.
 * Returns the worst relative error found.
 */
export function compareOutputs(workload, refName, ref, otherName, other) {
  let worst = 0;
  for (const key of Object.keys(ref)) {
    if (!(key in other)) throw new MismatchError(`${workload}: ${otherName} did not produce output "${key}"`);
    const a = toArray(ref[key]);
    const b = toArray(other[key]);
    if (a.length !== b.length) {
      throw new MismatchError(`${workload}: output "${key}" has ${a.length} values in ${refName} but ${b.length} in ${otherName}`);
    }
    let scale = 0;
    let diff = 0;
    let at = -1;
    for (let i = 0; i < a.length; i++) {
      if (!Number.isFinite(a[i]) || !Number.isFinite(b[i])) {
        throw new MismatchError(`${workload}: output "${key}"[${i}] is not finite (${refName} ${a[i]}, ${otherName} ${b[i]})`);
      }
      scale = Math.max(scale, Math.abs(a[i]), Math.abs(b[i]));
      const d = Math.abs(a[i] - b[i]);
      if (d > diff) [diff, at] = [d, i];
    }
    const rel = diff / (scale || 1);
    if (rel > TOLERANCE) {
      throw new MismatchError(
        `${workload}: output "${key}" disagrees between ${refName} and ${otherName}: ` +
          `max |diff| ${diff.toExponential(3)} at [${at}] (${a[at]} vs ${b[at]}), ` +
          `relative ${rel.toExponential(3)} > ${TOLERANCE} (scale ${scale.toPrecision(4)})`,
      );
    }
    worst = Math.max(worst, rel);
  }
  return worst;
}

function toArray(v) {
  return typeof v === 'number' ? [v] : v;
}
