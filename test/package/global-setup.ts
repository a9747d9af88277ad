// Packs the package as `npm publish` would (from the dist/ the test command just built)
// and installs the tarball into a throwaway project, as a user does.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

function npm(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync('npm', args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false', ...env } });
  if (r.status !== 0) throw new Error(`npm ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return `${r.stdout}\n${r.stderr}`;
}

export default function setup(project: TestProject): () => void {
  const root = mkdtempSync(join(tmpdir(), 'wasmgrad-consumer-'));
  // The test command has just built dist/: prepack must not rebuild it under the other projects' feet.
  npm(['pack', '--pack-destination', root], REPO, { WASMGRAD_PACK_PREBUILT: '1' });
  const tarball = join(root, readdirSync(root).find((f) => f.endsWith('.tgz'))!);
  writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  const installLog = npm(['install', '--no-audit', '--no-fund', tarball], root);
  project.provide('consumerRoot', root);
  project.provide('tarball', tarball);
  project.provide('installLog', installLog);
  return () => rmSync(root, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    consumerRoot: string;
    tarball: string;
    installLog: string;
  }
}
