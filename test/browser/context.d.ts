// Types shared by vitest.config.ts and the browser-side test files.
import type { SimdVariant } from '../../ts/ffi.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The core build a browser project loads (test/browser/setup.ts). */
    wasmgradSimd: SimdVariant;
  }
}
