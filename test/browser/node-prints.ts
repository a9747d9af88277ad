// Node side of the parity check: prints every row of test/op-cases.ts with the Node entry
// and writes them as JSON to stdout. vitest.config.ts bundles this file and runs it in a
// Node process set up like the Node test projects (WASMGRAD_SIMD, and the relaxed-simd
// flag for that build).
import { simdVariant } from '../../ts/node.js';
import { type NodePrints, ROW_KEYS, rowPrint } from './fingerprint.js';

const rows = Object.fromEntries(ROW_KEYS.map((key) => [key, rowPrint(key)]));
const result: NodePrints = { variant: simdVariant(), node: process.version, rows };
process.stdout.write(JSON.stringify(result));
