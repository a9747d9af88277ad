// A TypeScript consumer of the packed tarball type-checks under each moduleResolution, with
// only the DOM and ES2022 libraries and no @types/node (a browser app), and with the
// disposable lib too.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, run, scenario } from './consumer.js';

const SETTINGS = [
  { moduleResolution: 'bundler', module: 'esnext', lib: ['es2022', 'dom'] },
  { moduleResolution: 'node16', module: 'node16', lib: ['es2022', 'dom'] },
  { moduleResolution: 'nodenext', module: 'nodenext', lib: ['es2022', 'dom'] },
  { moduleResolution: 'bundler', module: 'esnext', lib: ['es2022', 'dom', 'esnext.disposable'] },
  { moduleResolution: 'nodenext', module: 'nodenext', lib: ['esnext', 'dom'] },
];

describe('the tarball in a TypeScript project', () => {
  for (const { moduleResolution, module, lib } of SETTINGS) {
    it(`type-checks with moduleResolution ${moduleResolution}, lib ${lib.join('+')}`, () => {
      const dir = scenario(`types-${moduleResolution}-${lib.length}-${lib[0]}`);
      const compilerOptions = { strict: true, target: 'es2022', module, moduleResolution, lib, types: [], noEmit: true, skipLibCheck: false };
      writeFileSync(join(dir, 'types', 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['app.ts'] }));
      const r = run(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', 'types/tsconfig.json'], dir);
      expect(`${r.stdout}${r.stderr}`).toBe('');
      expect(r.status).toBe(0);
    });
  }
});
