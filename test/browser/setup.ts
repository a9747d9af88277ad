// Browser projects only (vitest.config.ts): loads the wasm core the way a page does, with
// `await init()`, before the first test file touches a tensor. The build comes from the
// project (`provide: { wasmgradSimd }`), so each browser project runs the build it names.
import { inject } from 'vitest';
import { init, simdVariant } from '../../ts/browser.js';

const wanted = inject('wasmgradSimd');
await init({ simd: wanted });
if (simdVariant() !== wanted) throw new Error(`browser setup: asked for the ${wanted} build, got ${String(simdVariant())}`);
