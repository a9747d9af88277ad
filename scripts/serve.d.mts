// Types for scripts/serve.mjs (imported by test/browser-demo.test.ts).
import type { Server } from 'node:http';

export declare const ROOT: string;
export declare const MIME_TYPES: Record<string, string>;
/** The file under `root` a URL path names, or null if it would lie outside `root`. */
export declare function resolvePath(root: string, urlPath: string): string | null;
export interface StaticServer {
  server: Server;
  port: number;
  /** e.g. http://127.0.0.1:8080/ (with the trailing slash). */
  url: string;
  close(): Promise<void>;
}
/** Starts the static server; `port: 0` picks a free port. */
export declare function serve(options?: { root?: string; port?: number; host?: string; log?: boolean }): Promise<StaticServer>;
