/**
 * `import url from 'wasmgrad/wasmgrad.wasm'` (or `wasmgrad-relaxed.wasm`) under a bundler's
 * file or asset loader (esbuild `--loader:.wasm=file`, webpack `asset/resource`): the URL
 * the bundler gives the copied binary, to pass to `init({ wasm: { simd128, relaxedSimd } })`.
 * @module
 */
declare const url: string;
export default url;
