// Replicas found by DNS: a real DNS server on 127.0.0.1 (dns2) answers the pool's name with SRV records whose set
// changes while clients stream through the gateway. A new record takes traffic within an interval or so; a record that
// goes away (the replica leaving with notice) is drained: no request fails, and it gets none once drained.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import dns2, { type DnsServer, type Resource } from 'dns2';
import OpenAI from 'openai';
import { request } from 'undici';
import { ConfigError, parseGatewayConfig } from '../../src/config/index.js';
import { dnsLookup, targetChanges } from '../../src/router/index.js';
import { serveGateway, serveSim, type GatewayServer, type SimServer } from '../../src/server/index.js';
import { until } from '../support/processes.js';

const { Packet } = dns2;

/** Waits for a condition, failing with what was awaited. */
const waitFor = (what: () => boolean | Promise<boolean>, ms: number, label: string) =>
  until(what, ms, 50).catch(() => {
    throw new Error(`timed out waiting: ${label}`);
  });
const NAME = 'vllm-headless.test';
const INTERVAL_MS = 300;

describe('target changes (pure)', () => {
  it('adds what is new, drains what is gone, keeps the rest, and ignores repeated records', () => {
    const a = { host: '10.0.0.1', port: 8000 };
    const b = { host: '10.0.0.2', port: 8000 };
    const v6 = { host: 'fd00::1', port: 8000 };
    assert.deepEqual(targetChanges([], [a, b, a]), { added: [a, b], removed: [] });
    assert.deepEqual(targetChanges(['10.0.0.1:8000', '10.0.0.3:8000'], [a, b]), { added: [b], removed: ['10.0.0.3:8000'] });
    assert.deepEqual(targetChanges(['10.0.0.1:8000'], []), { added: [], removed: ['10.0.0.1:8000'] });
    assert.deepEqual(targetChanges([], [v6]), { added: [v6], removed: [] }, 'an IPv6 replica is named as in a URL');
    assert.deepEqual(targetChanges(['[fd00::1]:8000'], [v6]), { added: [], removed: [] });
  });
});

describe('a pool whose replicas are found by DNS', () => {
  let server: DnsServer;
  let dnsPort: number;
  const sims: SimServer[] = [];
  let gateway: GatewayServer;
  /** The SRV records the name has right now: the ports of the replicas, all on 127.0.0.1. */
  let records: number[] = [];

  before(async () => {
    for (let i = 0; i < 3; i++) sims.push(await serveSim({ model: 'sim', preset: 'instant', itlMs: 5, outputTokens: 12, seed: i }, { port: 0 }));
    server = dns2.createServer({
      udp: true,
      handle: (req, send) => {
        const response = Packet.createResponseFromRequest(req);
        const [question] = req.questions;
        if (question?.name === NAME && question.type === Packet.TYPE.SRV) {
          for (const port of records)
            response.answers.push({
              name: NAME,
              type: Packet.TYPE.SRV,
              class: Packet.CLASS.IN,
              ttl: 1,
              priority: 0,
              weight: 10,
              port,
              target: 'pod.test',
            } as Resource);
        } else if ((question?.name === 'pod.test' || question?.name === 'plain.test') && question.type === Packet.TYPE.A) {
          response.answers.push({ name: question.name, type: Packet.TYPE.A, class: Packet.CLASS.IN, ttl: 1, address: '127.0.0.1' } as Resource);
        }
        send(response);
      },
    });
    const addresses = await server.listen({ udp: { port: 0, address: '127.0.0.1' } });
    dnsPort = addresses.udp!.port;
  });

  after(async () => {
    await gateway?.close();
    for (const s of sims) await s.close();
    await server?.close();
  });

  const portOf = (sim: SimServer) => Number(new URL(sim.url).port);
  /** Requests each replica of the pool has answered, by its port, from the gateway's own metrics. */
  const answeredBy = async (): Promise<Map<number, number>> => {
    const res = await request(`${gateway.url}/metrics`);
    const text = await res.body.text();
    const counts = new Map<number, number>();
    for (const m of text.matchAll(/autoglm_replica_requests_total\{[^}]*replica="127\.0\.0\.1:(\d+)"[^}]*outcome="ok"[^}]*\} (\d+)/g))
      counts.set(Number(m[1]), Number(m[2]));
    return counts;
  };

  it('reads A records with the configured port, and auto prefers SRV records where the name has them', async () => {
    const nameservers = [`127.0.0.1:${dnsPort}`];
    records = [8001, 8002];
    assert.deepEqual(await dnsLookup({ dns: 'plain.test', record: 'A', port: 9000, nameservers })(), [{ host: '127.0.0.1', port: 9000 }]);
    assert.deepEqual(await dnsLookup({ dns: 'plain.test', record: 'auto', port: 9000, nameservers })(), [{ host: '127.0.0.1', port: 9000 }], 'no SRV: A');
    assert.deepEqual(
      await dnsLookup({ dns: NAME, record: 'auto', port: 9000, nameservers })(),
      [
        { host: '127.0.0.1', port: 8001 },
        { host: '127.0.0.1', port: 8002 },
      ],
      'SRV records carry their own ports',
    );
    assert.deepEqual(await dnsLookup({ dns: 'nothing.test', record: 'auto', port: 9000, nameservers })(), [], 'a name with no records has no replicas');
  });

  it('refuses a pool with neither replicas nor discover, and A records without a port', () => {
    const refused = (yaml: string) => {
      try {
        parseGatewayConfig(yaml, 'gw.yaml');
      } catch (err) {
        if (err instanceof ConfigError) return err.message;
        throw err;
      }
      return 'accepted';
    };
    assert.match(refused('models:\n  chat: {}\n'), /models\.chat\.replicas: list at least one replica, or find them with discover/);
    assert.match(refused('models:\n  chat:\n    discover: { dns: x.test }\n'), /models\.chat\.discover\.port: A and AAAA records carry no port/);
    assert.equal(refused('models:\n  chat:\n    discover: { dns: x.test, record: SRV }\n'), 'accepted');
  });

  it('adds a new record within about an interval, drains a removed one without failing a request, and sends it nothing after', async () => {
    const [a, b, c] = sims.map(portOf) as [number, number, number];
    records = [a, b];
    const yaml = [
      'models:',
      '  chat:',
      '    discover:',
      `      dns: ${NAME}`,
      '      record: SRV',
      '      preset: autoglm',
      '      upstreamModel: sim',
      `      intervalMs: ${INTERVAL_MS}`,
      `      nameservers: ["127.0.0.1:${dnsPort}"]`,
    ].join('\n');
    const events: string[] = [];
    const eventAt = new Map<string, number>();
    gateway = await serveGateway(parseGatewayConfig(yaml), {
      serverOverrides: { port: 0 },
      onDiscovery: (e) => {
        events.push(`${e.change} ${e.replica ?? ''}`);
        eventAt.set(`${e.change} ${e.replica ?? ''}`, performance.now());
      },
    });
    assert.deepEqual(events.sort(), [`added 127.0.0.1:${a}`, `added 127.0.0.1:${b}`].sort(), 'the pool starts with the records the name has');

    // Streaming clients for as long as the records change, each stream read to its end.
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'x', maxRetries: 0, timeout: 30_000 });
    let running = true;
    let sent = 0;
    const failures: string[] = [];
    const streams = Array.from({ length: 6 }, async () => {
      while (running) {
        sent++;
        try {
          const stream = await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }], stream: true });
          let finished = false;
          for await (const chunk of stream) if (chunk.choices[0]?.finish_reason) finished = true;
          if (!finished) failures.push('a stream ended without a finish reason');
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    });
    try {
      await waitFor(async () => ((await answeredBy()).get(a) ?? 0) > 0 && ((await answeredBy()).get(b) ?? 0) > 0, 30_000, 'both first replicas take traffic');

      // A third replica appears.
      const addedAt = performance.now();
      records = [a, b, c];
      await waitFor(async () => ((await answeredBy()).get(c) ?? 0) > 0, 30_000, 'the new replica takes traffic');
      const tookMs = performance.now() - addedAt;
      const joinedMs = eventAt.get(`added 127.0.0.1:${c}`)! - addedAt;

      // The first one leaves with notice: its record goes, and it stays up until drained.
      records = [b, c];
      await waitFor(async () => events.includes(`drained 127.0.0.1:${a}`), 30_000, 'the removed replica is drained');
      const afterDrain = (await answeredBy()).get(a) ?? 0;
      const before = sent;
      await waitFor(async () => sent >= before + 30, 60_000, 'thirty more requests after the drain');
      const later = await answeredBy();
      running = false;
      await Promise.all(streams);

      console.log(
        `# dns discovery: ${sent} streams, ${failures.length} failed; the new replica joined the pool ${joinedMs.toFixed(0)} ms and was seen answering ${tookMs.toFixed(0)} ms after its record appeared (interval ${INTERVAL_MS} ms)`,
      );
      assert.deepEqual(failures, [], 'no request failed while replicas came and went');
      assert.equal(later.get(a) ?? 0, afterDrain, 'the drained replica got no request after it was drained');
      assert.ok((later.get(b) ?? 0) > 0 && (later.get(c) ?? 0) > 0, 'the remaining replicas serve');
      // A new record is picked up at the next lookup; a busy machine may delay timers, so two intervals and some slack.
      assert.ok(joinedMs < 2 * INTERVAL_MS + 2000, `the new replica joined the pool ${joinedMs.toFixed(0)} ms after its record appeared`);
    } finally {
      running = false;
      await Promise.all(streams);
    }
  });
});
