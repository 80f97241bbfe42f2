// Downloads a file with a progress bar, into a .part file renamed on success so a cut download is never used.
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, rmdir } from 'node:fs/promises';
import { dirname, relative } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SingleBar, Presets } from 'cli-progress';
import { Agent, interceptors, request } from 'undici';

export interface DownloadOptions {
  headers?: Record<string, string>;
  /** Shown before the progress bar. */
  label: string;
  /** Where the progress bar is drawn; stderr keeps stdout clean for piping. */
  progressStream?: NodeJS.WritableStream;
}

const redirectingAgent = new Agent().compose(interceptors.redirect({ maxRedirections: 5 }));

export async function downloadFile(url: string, target: string, options: DownloadOptions): Promise<void> {
  // The first folder this call made, if any: a failed download takes away what it made and left empty.
  const created = await mkdir(dirname(target), { recursive: true });
  try {
    await fetchInto(url, target, options);
  } catch (err) {
    if (created) await removeEmptyFolders(dirname(target), created);
    throw err;
  }
}

/** Removes `from` and its parents up to `top` while they are empty; a folder someone filled meanwhile stays. */
async function removeEmptyFolders(from: string, top: string): Promise<void> {
  for (let dir = from; !relative(top, dir).startsWith('..'); dir = dirname(dir)) {
    try {
      await rmdir(dir);
    } catch {
      return;
    }
    if (dir === top) return;
  }
}

async function fetchInto(url: string, target: string, options: DownloadOptions): Promise<void> {
  const partial = `${target}.part`;
  const response = await request(url, { headers: options.headers, dispatcher: redirectingAgent });
  if (response.statusCode !== 200) {
    await response.body.dump();
    throw new Error(`HTTP ${response.statusCode} from ${new URL(url).host}`);
  }
  const total = Number(response.headers['content-length'] ?? 0);
  const bar = new SingleBar(
    {
      format: `${options.label} [{bar}] {percentage}% | {value}/{total} MB | {speed} MB/s`,
      stream: options.progressStream ?? process.stderr,
      hideCursor: true,
    },
    Presets.shades_classic,
  );
  const mb = (bytes: number) => Number((bytes / 1e6).toFixed(1));
  const started = Date.now();
  let received = 0;
  bar.start(mb(total), 0, { speed: '0' });
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      received += chunk.length;
      const seconds = Math.max(0.001, (Date.now() - started) / 1000);
      bar.update(mb(received), { speed: (received / 1e6 / seconds).toFixed(1) });
      done(null, chunk);
    },
  });
  try {
    await pipeline(response.body, meter, createWriteStream(partial));
    if (total > 0 && received !== total) throw new Error(`download cut short (${received} of ${total} bytes)`);
    await rename(partial, target);
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  } finally {
    bar.stop();
  }
}
