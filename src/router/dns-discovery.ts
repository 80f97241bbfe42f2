// Replicas found by DNS: a name (a Kubernetes headless Service, a Consul or plain DNS name) is resolved every interval,
// and its records become the pool's replicas: a new record is added, a vanished one is drained (no new requests, its
// in-flight ones finish). Resolution is node:dns against the system's resolver or the configured name servers.
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';

/** One replica's address, as a record gave it. */
export interface DnsTarget {
  host: string;
  port: number;
}

/** The replica id of a target: `host:port`, with IPv6 hosts in brackets as in a URL. */
export const targetId = (t: DnsTarget): string => `${isIP(t.host) === 6 ? `[${t.host}]` : t.host}:${t.port}`;

/** What to add and what to drain to go from the replicas there are to the targets found; pure, order kept. */
export function targetChanges(current: readonly string[], found: readonly DnsTarget[]): { added: DnsTarget[]; removed: string[] } {
  const have = new Set(current);
  const seen = new Set<string>();
  const added: DnsTarget[] = [];
  for (const t of found) {
    const id = targetId(t);
    if (seen.has(id)) continue;
    seen.add(id);
    if (!have.has(id)) added.push(t);
  }
  return { added, removed: current.filter((id) => !seen.has(id)) };
}

export interface DnsLookupSettings {
  dns: string;
  record: 'auto' | 'A' | 'AAAA' | 'SRV';
  port?: number;
  nameservers?: readonly string[];
}

/** Codes with which a resolver says the name has no such records: an answer (no replicas), not a failure. */
const NO_RECORDS = new Set(['ENODATA', 'ENOTFOUND']);
const noRecords = (err: unknown) => NO_RECORDS.has((err as NodeJS.ErrnoException).code ?? '');

/** Resolves the name to targets. Throws on a failed lookup (timeout, SERVFAIL), so a flaky resolver drains nothing. */
export function dnsLookup(settings: DnsLookupSettings): () => Promise<DnsTarget[]> {
  const resolver = new Resolver({ timeout: 2000, tries: 2 });
  if (settings.nameservers) resolver.setServers([...settings.nameservers]);
  const orEmpty = <T>(p: Promise<T[]>) => p.catch((err: unknown) => (noRecords(err) ? [] : Promise.reject(err)));
  const addresses = async (host: string): Promise<string[]> => {
    if (isIP(host)) return [host];
    const [v4, v6] = await Promise.all([orEmpty(resolver.resolve4(host)), orEmpty(resolver.resolve6(host))]);
    return [...v4, ...v6];
  };
  const byAddress = async (record: 'A' | 'AAAA' | 'both'): Promise<DnsTarget[]> => {
    const port = settings.port!;
    const v4 = record === 'AAAA' ? [] : await orEmpty(resolver.resolve4(settings.dns));
    const v6 = record === 'A' ? [] : await orEmpty(resolver.resolve6(settings.dns));
    return [...v4, ...v6].map((host) => ({ host, port }));
  };
  const bySrv = async (): Promise<DnsTarget[]> => {
    const records = await orEmpty(resolver.resolveSrv(settings.dns));
    const targets = await Promise.all(records.map(async (r) => (await addresses(r.name)).map((host) => ({ host, port: r.port }))));
    return targets.flat();
  };
  return async () => {
    switch (settings.record) {
      case 'SRV':
        return bySrv();
      case 'A':
      case 'AAAA':
        return byAddress(settings.record);
      case 'auto': {
        const srv = await bySrv();
        return srv.length > 0 || settings.port === undefined ? srv : byAddress('both');
      }
    }
  };
}

export interface DiscoveryHooks {
  /** A target appeared: make it a replica. */
  add(target: DnsTarget): Promise<void> | void;
  /** A replica's record is gone: stop sending it requests, let its in-flight ones finish, then free it. */
  drain(id: string): Promise<void> | void;
  /** The ids of the replicas there are now. */
  current(): string[];
  /** A lookup failed; the replicas stay as they are until one succeeds. */
  failed?(err: unknown): void;
}

export class DnsDiscovery {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly lookup: () => Promise<DnsTarget[]>,
    private readonly intervalMs: number,
    private readonly hooks: DiscoveryHooks,
  ) {}

  /** Resolves once now (the pool starts with what the name has), then every interval. */
  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.intervalMs);
    this.timer.unref();
  }

  /** One lookup and the changes it calls for; a lookup still running is joined rather than doubled. */
  refresh(): Promise<void> {
    this.running ??= this.apply().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async apply(): Promise<void> {
    let found: DnsTarget[];
    try {
      found = await this.lookup();
    } catch (err) {
      this.hooks.failed?.(err);
      return;
    }
    const { added, removed } = targetChanges(this.hooks.current(), found);
    for (const t of added) await this.hooks.add(t);
    // Draining waits for in-flight requests; the next lookups need not wait for it.
    for (const id of removed) void this.hooks.drain(id);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
