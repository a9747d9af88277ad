// A JSON fixture next to a test file, in Node (a file: URL, read from disk) and in the
// browser projects (an http: URL, which vite's dev server serves as it is).
export async function readJson<T = unknown>(url: URL): Promise<T> {
  if (url.protocol === 'file:') {
    const { readFile } = await import('node:fs/promises');
    return JSON.parse(await readFile(url, 'utf8')) as T;
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`readJson: ${url.href}: HTTP ${response.status}`);
  return (await response.json()) as T;
}
