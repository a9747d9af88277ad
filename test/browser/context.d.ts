// Types shared by vitest.config.ts and the browser-side test files.
import type { SimdVariant } from '../../ts/ffi.js';
import type { NodePrints } from './fingerprint.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The core build a browser project loads (test/browser/setup.ts). */
    wasmgradSimd: SimdVariant;
  }
}

declare module 'vitest/browser' {
  interface BrowserCommands {
    /** Every op-cases row printed by a Node process running `variant` (vitest.config.ts). */
    nodeOpFingerprints: (variant: SimdVariant) => Promise<NodePrints>;
  }
}
