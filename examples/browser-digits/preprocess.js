// Turns a drawing into what the mnist-cnn model was trained on, the way MNIST itself was
// made (LeCun et al.): the ink's bounding box is scaled to fit a 20×20 box, keeping the
// aspect ratio (anti-aliased: each output pixel is the mean ink of the area it covers),
// and placed in a 28×28 field so that its centre of mass lies at the field's centre
// (pixel (14, 14), which is where the training digits have theirs on average).
// The values are then what mnist-cnn.mjs trained on: ink 1, background 0, no mean/std.
// Pure functions, no DOM: the input is any { width, height, ink: Float32Array } grid.

export const SIZE = 28;
export const BOX = 20;

/** Ink in [0, 1] per pixel from RGBA bytes (the alpha channel: the page draws on a transparent canvas). */
export function inkFromRGBA(rgba, width, height) {
  const ink = new Float32Array(width * height);
  for (let i = 0; i < ink.length; i++) ink[i] = rgba[4 * i + 3] / 255;
  return { width, height, ink };
}

/** The bounding box of the pixels with ink above `threshold`, or null for an empty drawing. */
export function boundingBox({ width, height, ink }, threshold = 0.05) {
  let x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (ink[y * width + x] > threshold) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return x1 < 0 ? null : { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
}

/**
 * The 28×28 model input (a Float32Array of 784, row-major) for a drawing, or null if
 * nothing is drawn. Also returns the box and centre of mass used, for display.
 */
export function toMnist(image) {
  const box = boundingBox(image);
  if (box === null) return null;
  const scale = BOX / Math.max(box.width, box.height);
  const w = box.width * scale; // one of w, h is 20, the other ≤ 20 (fractional)
  const h = box.height * scale;
  const cols = Math.ceil(w);
  const rows = Math.ceil(h);
  // Area-weighted resampling: output pixel (u, v) covers the source rectangle
  // [u / scale, (u + 1) / scale) × [v / scale, (v + 1) / scale) inside the box.
  const small = new Float32Array(cols * rows);
  const step = 1 / scale;
  for (let v = 0; v < rows; v++) {
    const sy0 = v * step, sy1 = Math.min((v + 1) * step, box.height);
    for (let u = 0; u < cols; u++) {
      const sx0 = u * step, sx1 = Math.min((u + 1) * step, box.width);
      let sum = 0, area = 0;
      for (let sy = Math.floor(sy0); sy < sy1; sy++) {
        const wy = Math.min(sy + 1, sy1) - Math.max(sy, sy0);
        if (wy <= 0) continue;
        const row = (box.y + sy) * image.width + box.x;
        for (let sx = Math.floor(sx0); sx < sx1; sx++) {
          const wx = Math.min(sx + 1, sx1) - Math.max(sx, sx0);
          if (wx <= 0) continue;
          sum += image.ink[row + sx] * wx * wy;
          area += wx * wy;
        }
      }
      small[v * cols + u] = area > 0 ? sum / area : 0;
    }
  }
  // Stretch so the darkest ink is 1, as in MNIST (a thin stroke averages below 1).
  let max = 0;
  for (const value of small) if (value > max) max = value;
  if (max <= 0) return null;
  for (let i = 0; i < small.length; i++) small[i] = Math.min(1, small[i] / max);
  // Centre of mass of the 20×20 image, then an integer shift putting it at (14, 14).
  let mass = 0, mx = 0, my = 0;
  for (let v = 0; v < rows; v++) {
    for (let u = 0; u < cols; u++) {
      const value = small[v * cols + u];
      mass += value;
      mx += value * u;
      my += value * v;
    }
  }
  const com = { x: mx / mass, y: my / mass };
  const dx = Math.round(SIZE / 2 - com.x);
  const dy = Math.round(SIZE / 2 - com.y);
  const pixels = new Float32Array(SIZE * SIZE);
  for (let v = 0; v < rows; v++) {
    const y = v + dy;
    if (y < 0 || y >= SIZE) continue;
    for (let u = 0; u < cols; u++) {
      const x = u + dx;
      if (x < 0 || x >= SIZE) continue;
      pixels[y * SIZE + x] = small[v * cols + u];
    }
  }
  return { pixels, box, scale, centreOfMass: { x: com.x + dx, y: com.y + dy } };
}
