// How busy the rest of the machine was while we measured (Linux: /proc/stat), so that a slow
// row can be told apart from a row that shared the CPUs with a build or a test run.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const USER_HZ = 100; // /proc/stat's unit on Linux

function cpuTimes() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] ?? 0); // idle + iowait
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0); // without guest time (already in user)
    return { busy: (total - idle) / USER_HZ };
  } catch {
    return null;
  }
}

/** Starts a window; `end()` returns the average number of CPUs that *other* processes kept busy. */
export function otherLoad() {
  const sys0 = cpuTimes();
  const own0 = process.cpuUsage();
  const t0 = performance.now();
  return {
    end() {
      const sys1 = cpuTimes();
      if (sys0 === null || sys1 === null) return null;
      const own = process.cpuUsage(own0);
      const ownSeconds = (own.user + own.system) / 1e6;
      const wall = (performance.now() - t0) / 1000;
      return Math.max(0, (sys1.busy - sys0.busy - ownSeconds) / wall);
    },
  };
}
