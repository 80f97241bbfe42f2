// Downloads a file with a progress bar into a .part file: resumed with an HTTP Range after a cut, checked against the
// hub's LFS sha256 (or a known one), and renamed into place only when complete and verified.
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, writeSync } from 'node:fs';
import { mkdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, relative } from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import { request } from 'undici';

export interface DownloadOptions {
  headers?: Record<string, string>;
  /** Shown before the progress bar. */
  label: string;
  /** Where the progress bar is drawn; stderr keeps stdout clean for piping. */
  progressStream?: NodeJS.WritableStream;
  /** The file's sha256 when known in advance; otherwise the hub's X-Linked-Etag is used, when it gives one. */
  sha256?: string;
}

export interface DownloadResult {
  /** The sha256 the file was checked against, or undefined when neither the caller nor the hub knew one. */
  verifiedSha256?: string;
  /** Bytes already on disk from an earlier, interrupted download. */
  resumedFrom: number;
}

/** A download whose bytes did not match the expected sha256; the file has been deleted. */
export class ChecksumMismatchError extends Error {
  override name = 'ChecksumMismatchError';
}

const SHA256 = /^[0-9a-f]{64}$/;
const MAX_REDIRECTS = 5;

export async function downloadFile(url: string, target: string, options: DownloadOptions): Promise<DownloadResult> {
  // The first folder this call made, if any: a failed download takes away what it made and left empty.
  const created = await mkdir(dirname(target), { recursive: true });
  try {
    return await fetchInto(url, target, options);
  } catch (err) {
    if (created) await removeEmptyFolders(dirname(target), created);
    throw err;
  }
}

/** Removes `from` and its parents up to `top` while they are empty; a folder someone filled meanwhile stays. */
export async function removeEmptyFolders(from: string, top: string): Promise<void> {
  for (let dir = from; !relative(top, dir).startsWith('..'); dir = dirname(dir)) {
    try {
      await rmdir(dir);
    } catch {
      return;
    }
    if (dir === top) return;
  }
}

const sizeOf = (path: string) =>
  stat(path).then(
    (s) => s.size,
    () => 0,
  );

/** The hub's sha256 of an LFS file: X-Linked-Etag on the resolve response (as huggingface_hub reads it), quotes off. */
function hubSha256(headers: Record<string, string | string[] | undefined>): string | undefined {
  for (const name of ['x-linked-etag', 'etag']) {
    const value = String(headers[name] ?? '')
      .replace(/^W\//, '')
      .replace(/"/g, '')
      .toLowerCase();
    if (SHA256.test(value)) return value;
  }
  return undefined;
}

/** Follows redirects by hand, so the hub's own headers are seen before the CDN's, and a token never leaves the hub. */
async function openDownload(url: string, headers: Record<string, string>, from: number) {
  let current = url;
  let sha256: string | undefined;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const sameHost = new URL(current).host === new URL(url).host;
    const sent: Record<string, string> = Object.fromEntries(Object.entries(headers).filter(([k]) => sameHost || k.toLowerCase() !== 'authorization'));
    if (from > 0) sent.range = `bytes=${from}-`;
    const response = await request(current, { headers: sent });
    // Only the hub's first answer speaks for the file; a CDN's ETag is its own (often an MD5).
    if (hop === 0) sha256 = hubSha256(response.headers);
    const location = response.headers.location;
    if (response.statusCode >= 300 && response.statusCode < 400 && location) {
      await response.body.dump();
      current = new URL(String(location), current).href;
      continue;
    }
    return { response, sha256 };
  }
  throw new Error(`too many redirects from ${new URL(url).host}`);
}

async function fetchInto(url: string, target: string, options: DownloadOptions): Promise<DownloadResult> {
  const partial = `${target}.part`;
  let from = await sizeOf(partial);
  let { response, sha256: hubSum } = await openDownload(url, options.headers ?? {}, from);
  if (response.statusCode === 416 && from > 0) {
    // The part on disk is no prefix of what the hub has now: start again.
    await response.body.dump();
    await rm(partial, { force: true });
    from = 0;
    ({ response, sha256: hubSum } = await openDownload(url, options.headers ?? {}, 0));
  }
  if (response.statusCode !== 200 && response.statusCode !== 206) {
    await response.body.dump();
    throw new Error(`HTTP ${response.statusCode} from ${new URL(url).host}`);
  }
  // A server that ignores Range sends the whole file again.
  if (response.statusCode === 200) from = 0;
  const expected = options.sha256?.toLowerCase() ?? hubSum;
  const total = from + Number(response.headers['content-length'] ?? 0);
  const bar = new SingleBar(
    {
      format: `${options.label} [{bar}] {percentage}% | {value}/{total} MB | {speed} MB/s`,
      stream: options.progressStream ?? process.stderr,
      hideCursor: true,
      // Piped or logged, the bar still reports: one line every 10 s and one at the end, not a redraw per chunk.
      noTTYOutput: true,
      notTTYSchedule: 10_000,
    },
    Presets.shades_classic,
  );
  const mb = (bytes: number) => Number((bytes / 1e6).toFixed(1));
  const started = Date.now();
  let received = 0;
  bar.start(mb(total), mb(from), { speed: '0' });
  const fd = openSync(partial, from > 0 ? 'a' : 'w');
  try {
    // Each chunk goes to disk as it arrives (a stream would drop what it buffered when the connection fails), so a
    // cut download leaves a .part with every byte received, and the next attempt resumes where this one stopped.
    await new Promise<void>((done, failed) => {
      response.body.on('data', (chunk: Buffer) => {
        for (let at = 0; at < chunk.length; ) at += writeSync(fd, chunk, at);
        received += chunk.length;
        const seconds = Math.max(0.001, (Date.now() - started) / 1000);
        bar.update(mb(from + received), { speed: (received / 1e6 / seconds).toFixed(1) });
      });
      response.body.once('end', done);
      response.body.once('error', failed);
    });
    if (total > from && from + received !== total) throw new Error(`download cut short (${from + received} of ${total} bytes)`);
  } finally {
    closeSync(fd);
    bar.stop();
  }
  if (expected) {
    const actual = await sha256Of(partial);
    if (actual !== expected) {
      await rm(partial, { force: true });
      throw new ChecksumMismatchError(`sha256 mismatch for ${options.label}: expected ${expected}, got ${actual}; the downloaded file was deleted`);
    }
  }
  await rename(partial, target);
  return { verifiedSha256: expected, resumedFrom: from };
}

export async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
