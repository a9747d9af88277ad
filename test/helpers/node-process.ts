// A fresh Node process running an ES module snippet against the built package (dist/), like
// a user's script: the threads tests compare its results with the threads build's, or
// check that it exits. Node modules are imported lazily, so a test file that also runs in
// Chromium (where such tests are skipped) can import this helper.

export interface NodeRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `code` with `env` added (WASMGRAD_SIMD as in this process, else simd128, unless
 * given), this process's relaxed-simd flag and `nodeArgs`; rejects if it has not exited
 * after `timeoutMs`.
 */
export async function runNode(code: string, env: Record<string, string> = {}, timeoutMs = 60_000, nodeArgs: string[] = []): Promise<NodeRun> {
  const { spawn } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  return new Promise((resolve, reject) => {
    const flags = process.execArgv.filter((a) => a === '--experimental-wasm-relaxed-simd');
    const child = spawn(process.execPath, [...flags, ...nodeArgs, '--input-type=module', '-e', code], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: { ...process.env, WASMGRAD_SIMD: process.env.WASMGRAD_SIMD ?? 'simd128', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the child process hung: no exit within ${timeoutMs} ms (stdout: ${stdout}, stderr: ${stderr})`));
    }, timeoutMs);
    child.on('exit', (exitCode) => {
      clearTimeout(timer);
      resolve({ code: exitCode, stdout, stderr });
    });
  });
}
