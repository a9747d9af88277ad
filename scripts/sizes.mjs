// Prints the shipped sizes of dist/: each .wasm and the JS (all dist/**/*.js summed), raw,
// gzip -9 and brotli at max quality, as a markdown table (the README quotes it). Sizes of
// the compressed forms are what a browser downloads, so they are the numbers that matter.
// Usage: node scripts/sizes.mjs [dist directory]
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const dist = process.argv[2] ?? fileURLToPath(new URL('../dist', import.meta.url));
if (!existsSync(dist)) {
  console.error(`sizes: ${dist} does not exist (run npm run build first)`);
  process.exit(1);
}

/** Every file under `dir`, without following symlinks; an explicit stack, no recursion. */
function files(dir) {
  const out = [];
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop();
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (e.isFile()) out.push(p);
    }
  }
  return out.sort();
}

function measure(bytes) {
  return {
    raw: bytes.length,
    gzip: gzipSync(bytes, { level: 9 }).length,
    brotli: brotliCompressSync(bytes, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
        [constants.BROTLI_PARAM_LGWIN]: constants.BROTLI_MAX_WINDOW_BITS,
        [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
      },
    }).length,
  };
}

const all = files(dist);
const rows = all
  .filter((f) => f.endsWith('.wasm'))
  .map((f) => ({ name: relative(dist, f), ...measure(readFileSync(f)) }));

// The JS is many small modules; a bundler concatenates them, so each is compressed on its
// own here and summed: an upper bound on what a bundle of all of it would compress to.
const js = all.filter((f) => f.endsWith('.js'));
if (js.length > 0) {
  const sum = { raw: 0, gzip: 0, brotli: 0 };
  for (const f of js) {
    const m = measure(readFileSync(f));
    sum.raw += m.raw;
    sum.gzip += m.gzip;
    sum.brotli += m.brotli;
  }
  rows.push({ name: `JS (${js.length} files, each compressed, summed)`, ...sum });
}

const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
console.log('| file | raw | gzip -9 | brotli (q 11) |');
console.log('|---|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.name} | ${kb(r.raw)} | ${kb(r.gzip)} | ${kb(r.brotli)} |`);
