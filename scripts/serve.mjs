// A tiny dependency-free static server for the browser examples: serves the repository
// root (so a page can import /dist/browser.js and fetch /dist/*.wasm), with the MIME types
// browsers insist on (application/wasm for streaming compilation, text/javascript for
// modules) and the two headers that make a page cross-origin isolated (needed for
// SharedArrayBuffer, i.e. threads).
//
//   node scripts/serve.mjs [page] [--port 8080] [--host 127.0.0.1]
//
// `page` (e.g. examples/browser-digits) is only the URL printed; PORT in the environment
// also sets the port; `--port 0` picks a free one. Tests import { serve } and start it
// in-process: `const s = await serve({ port: 0 }); … await s.close();`.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export const MIME_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
  '.safetensors': 'application/octet-stream',
};

const ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/**
 * The file under `root` that a URL path names, or null if it would lie outside `root`
 * (`..` segments, encoded or not, absolute paths, NUL bytes, backslashes).
 */
export function resolvePath(root, urlPath) {
  let path;
  try {
    path = decodeURIComponent(urlPath.split('?')[0].split('#')[0]);
  } catch {
    return null; // malformed %-escapes
  }
  if (path.includes('\0') || path.includes('\\')) return null;
  const base = resolve(root);
  const file = resolve(join(base, path));
  if (file !== base && !file.startsWith(base + sep)) return null;
  return file;
}

function send(res, status, text, headers = {}) {
  res.writeHead(status, { ...ISOLATION, 'Content-Type': 'text/plain; charset=utf-8', ...headers });
  res.end(text);
}

/**
 * Starts the server. Resolves once it listens, with its `url`, `port`, the `server` and
 * `close()`. `port: 0` picks a free port.
 */
export async function serve({ root = ROOT, port = 8080, host = '127.0.0.1', log = false } = {}) {
  const server = createServer(async (req, res) => {
    const done = (status) => { if (log) console.log(`${status} ${req.method} ${req.url}`); };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      done(405);
      return send(res, 405, 'method not allowed\n', { Allow: 'GET, HEAD' });
    }
    const url = req.url ?? '/';
    let file = resolvePath(root, url);
    if (file === null) {
      done(403);
      return send(res, 403, 'forbidden\n');
    }
    try {
      let info = await stat(file);
      if (info.isDirectory()) {
        const pathname = url.split('?')[0];
        if (!pathname.endsWith('/')) {
          // Relative URLs inside the page (./main.js) need the trailing slash.
          done(301);
          return send(res, 301, 'moved\n', { Location: `${pathname}/${url.slice(pathname.length)}` });
        }
        file = join(file, 'index.html');
        info = await stat(file);
      }
      if (!info.isFile()) throw new Error('not a file');
      res.writeHead(200, {
        ...ISOLATION,
        'Content-Type': MIME_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
        'Content-Length': info.size,
        'Cache-Control': 'no-cache',
      });
      done(200);
      if (req.method === 'HEAD') return res.end();
      createReadStream(file).on('error', () => res.destroy()).pipe(res);
    } catch {
      done(404);
      send(res, 404, 'not found\n');
    }
  });
  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => { server.off('error', fail); ok(); });
  });
  const actual = server.address().port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${actual}/`;
  return {
    server,
    port: actual,
    url,
    close: () => new Promise((ok) => { server.closeAllConnections?.(); server.close(() => ok()); }),
  };
}

// ---- command line
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  const option = (name) => {
    const i = args.indexOf(`--${name}`);
    if (i < 0) return undefined;
    const value = args[i + 1];
    args.splice(i, 2);
    return value;
  };
  const portText = option('port') ?? process.env.PORT ?? '8080';
  const host = option('host') ?? '127.0.0.1';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`serve: --port must be an integer from 0 to 65535, got ${JSON.stringify(portText)}`);
    process.exit(2);
  }
  const page = (args[0] ?? '').replace(/^\.?\/+/, '').replace(/\/*$/, '');
  const s = await serve({ port, host, log: process.env.SERVE_LOG === '1' }).catch((err) => {
    console.error(`serve: cannot listen on ${host}:${port}: ${err.message}`);
    process.exit(1);
  });
  console.log(`serving ${ROOT} (cross-origin isolated) at ${s.url}`);
  console.log(`open ${s.url}${page}${page && !/\.\w+$/.test(page) ? '/' : ''}`);
  console.log('press Ctrl+C to stop');
  const stop = () => s.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
