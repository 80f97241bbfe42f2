// Delivers alerts as JSON POSTs to each configured webhook, retrying failures with backoff; never blocks serving.
import { request } from 'undici';
import type { FastifyBaseLogger } from 'fastify';

export interface Alert {
  type: string;
  time: string;
  [key: string]: unknown;
}

export class WebhookNotifier {
  constructor(
    private urls: readonly string[],
    private retries: number,
    private readonly log?: Pick<FastifyBaseLogger, 'warn' | 'info'>,
    private readonly baseDelayMs = 250,
  ) {}

  reconfigure(urls: readonly string[], retries: number): void {
    this.urls = urls;
    this.retries = retries;
  }

  /** Sends to every webhook; resolves when each has taken the alert or run out of retries. */
  async send(alert: Omit<Alert, 'time'>): Promise<void> {
    const body = JSON.stringify({ ...alert, time: new Date().toISOString(), source: 'open-autoglm' });
    this.log?.info({ alert: alert.type }, 'alert');
    await Promise.all(this.urls.map((url) => this.deliver(url, body)));
  }

  private async deliver(url: string, body: string): Promise<void> {
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      try {
        const res = await request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, headersTimeout: 5000, bodyTimeout: 5000 });
        await res.body.dump();
        if (res.statusCode < 300) return;
      } catch {
        // unreachable webhook: retried below like a failed status
      }
      if (attempt < this.retries) await new Promise((r) => setTimeout(r, this.baseDelayMs * 2 ** attempt).unref());
    }
    this.log?.warn({ url }, 'alert webhook failed after retries');
  }
}
