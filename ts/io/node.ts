/**
 * Node-only file helpers for safetensors (exported by the Node entry only, so the browser
 * bundle never imports `node:fs`).
 * @module
 */
import { closeSync, fstatSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import type { Tensor } from '../tensor.js';
import { loadCheckpoint, saveCheckpoint, type CheckpointParts, type LoadedCheckpoint, type SaveCheckpointOptions } from './checkpoint.js';
import { MAX_HEADER, load, parseHeader, save, type SafetensorsHeader, type SaveOptions } from './safetensors.js';

/** {@link save}s `tensors` to the file at `path` (synchronously; the file is replaced). */
export function saveFile(path: string | URL, tensors: Record<string, Tensor> | ReadonlyMap<string, Tensor>, options: SaveOptions = {}): void {
  writeFileSync(path, save(tensors, options));
}

/** {@link load}s every tensor of the safetensors file at `path` (synchronously). */
export function loadFile(path: string | URL): Record<string, Tensor> {
  return load(readFileSync(path));
}

/** {@link saveCheckpoint} to the file at `path` (synchronously; the file is replaced). */
export function saveCheckpointFile(path: string | URL, parts: SaveCheckpointOptions): void {
  writeFileSync(path, saveCheckpoint(parts));
}

/** {@link loadCheckpoint} from the file at `path` (synchronously). */
export function loadCheckpointFile(path: string | URL, parts: CheckpointParts): LoadedCheckpoint {
  return loadCheckpoint(readFileSync(path), parts);
}

/**
 * {@link readHeader} of the safetensors file at `path`: its metadata and tensor list,
 * reading only the header (so it works for files of any size).
 */
export function readHeaderFile(path: string | URL): SafetensorsHeader {
  const fd = openSync(path, 'r');
  try {
    const fileLength = fstatSync(fd).size;
    const prefix = new Uint8Array(8);
    readSync(fd, prefix, 0, 8, 0);
    const n = new DataView(prefix.buffer).getBigUint64(0, true);
    // An absurd or truncated length is for parseHeader to report: read at most what exists.
    const want = Math.max(0, Math.min(Number(n), fileLength - 8, MAX_HEADER));
    const bytes = new Uint8Array(8 + want);
    bytes.set(prefix);
    for (let at = 8; at < bytes.length; ) {
      const got = readSync(fd, bytes, at, bytes.length - at, at);
      if (got === 0) break;
      at += got;
    }
    return parseHeader('readHeaderFile', bytes, fileLength);
  } finally {
    closeSync(fd);
  }
}
