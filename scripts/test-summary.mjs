// Prints one closing line for the whole suite from vitest's JSON report, e.g.
// "tests: 412 passed, 0 failed" (cargo test prints its own).
import { readFileSync } from 'node:fs';

const report = JSON.parse(readFileSync(new URL('../target/vitest-report.json', import.meta.url), 'utf8'));
const skipped = report.numPendingTests + report.numTodoTests;
console.log(`vitest: ${report.numPassedTests} passed, ${report.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(report.numFailedTests === 0 && report.numPassedTests > 0 ? 0 : 1);
