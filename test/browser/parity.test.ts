// Browser and Node results compared on every op: each row of test/op-cases.ts runs here in
// Chromium and in a Node process with the same build of the core (vitest.config.ts's
// `nodeOpFingerprints` command), and its forward outputs and first gradients must be
// bit-identical (same bytes: NaN, ±inf and -0 included).
import { beforeAll, describe, expect, it } from 'vitest';
import { commands } from 'vitest/browser';
import { simdVariant } from '../../ts/node.js';
import { differences, type NodePrints, ROW_KEYS, rowPrint } from './fingerprint.js';

const variant = simdVariant()!;
let node: NodePrints;

beforeAll(async () => {
  node = await commands.nodeOpFingerprints(variant);
}, 600_000);

describe(`op-cases rows: Chromium (${variant}) is bit-identical to Node (${variant})`, () => {
  it('Node ran the same build over the same rows', () => {
    expect(node.variant).toBe(variant);
    expect(Object.keys(node.rows)).toEqual(ROW_KEYS);
  });

  for (const key of ROW_KEYS) {
    it(key, () => {
      const mine = rowPrint(key);
      expect(differences(mine, node.rows[key]), `${key}: Chromium vs Node ${node.node}`).toEqual([]);
      expect('error' in mine ? mine.error : null, 'the row runs').toBeNull();
    });
  }
});
