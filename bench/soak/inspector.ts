// The soak's view into the gateway process over the DevTools protocol (node --inspect): a full GC before each
// measurement, so memory is read at the same point of every batch instead of wherever the GC sawtooth happens to be,
// the JS heap left after it, and heap snapshots written to a file.
import { createWriteStream } from 'node:fs';
import WebSocket from 'ws';

interface Reply {
  id?: number;
  method?: string;
  params?: { chunk?: string };
  result?: Record<string, unknown>;
  error?: { message: string };
}

export class Inspector {
  private next = 1;
  private readonly pending = new Map<number, { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  private onChunk?: (chunk: string) => void;

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const msg = JSON.parse(String(data)) as Reply;
      if (msg.method === 'HeapProfiler.addHeapSnapshotChunk') this.onChunk?.(msg.params!.chunk!);
      const waiting = msg.id === undefined ? undefined : this.pending.get(msg.id);
      if (!waiting) return;
      this.pending.delete(msg.id!);
      if (msg.error) waiting.reject(new Error(msg.error.message));
      else waiting.resolve(msg.result ?? {});
    });
  }

  /** Connects to the `ws://` URL node prints on stderr when started with --inspect. */
  static async connect(url: string): Promise<Inspector> {
    const socket = new WebSocket(url, { maxPayload: 1024 * 1024 * 1024 });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    const inspector = new Inspector(socket);
    await inspector.call('HeapProfiler.enable');
    return inspector;
  }

  call(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Collects all garbage, then reports the JS heap still in use, in bytes. */
  async heapAfterGc(): Promise<number> {
    await this.call('HeapProfiler.collectGarbage');
    const usage = await this.call('Runtime.getHeapUsage');
    return Number(usage.usedSize);
  }

  /** Memory of objects outside the JS heap that it owns (Buffers, ArrayBuffers), in bytes. */
  async externalMemory(): Promise<number> {
    const { result } = (await this.call('Runtime.evaluate', { expression: 'process.memoryUsage().external', returnByValue: true })) as {
      result?: { value?: number };
    };
    return Number(result?.value);
  }

  /** Writes a heap snapshot of the process to `file`. */
  async heapSnapshot(file: string): Promise<void> {
    const out = createWriteStream(file);
    this.onChunk = (chunk) => out.write(chunk);
    try {
      await this.call('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
    } finally {
      this.onChunk = undefined;
      await new Promise<void>((resolve) => out.end(resolve));
    }
  }

  close(): void {
    this.socket.close();
  }
}
