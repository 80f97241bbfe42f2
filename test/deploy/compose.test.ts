// The one-machine stack (deploy/compose): the compose file, nginx, Prometheus and Grafana files agree with each other
// and with the servers: pinned images, the ports each service really listens on, Prometheus scraping every
// Open-AutoGLM service, and a dashboard whose every metric a real gateway or simulator exposes on /metrics.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { parse, stringify } from 'yaml';
import { parseGatewayConfig } from '../../src/config/index.js';
import { serveGateway, type GatewayServer } from '../../src/server/index.js';
import { startRedis } from '../support/redis.js';
import { repoRoot } from '../support/server.js';
import { startSimLike } from './sim-process.js';

const dir = join(repoRoot, 'deploy/compose');
const read = (path: string) => readFileSync(join(dir, path), 'utf8');

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  ports?: string[];
  expose?: string[];
  volumes?: string[];
}
// `<<: *anchor` merge keys, as Compose reads them.
const compose = parse(read('docker-compose.yaml'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const gatewayConfigText = read('autoglm.yaml');
const gatewayConfig = parse(gatewayConfigText) as {
  server: { port: number };
  redis: string;
  models: Record<string, { replicas: { baseUrl?: string }[] }>;
};
const isOurs = (s: Service) => s.image?.startsWith('open-autoglm:') ?? false;
const flag = (s: Service, name: string) => s.command?.[s.command.indexOf(name) + 1];
/** The port a service listens on inside its container: its own flags and config, or the image's documented default. */
const listensOn = (name: string, s: Service): number => {
  if (isOurs(s)) return s.command?.[0] === 'sim' ? Number(flag(s, '--port')) : gatewayConfig.server.port;
  if (name === 'lb') return Number(/listen\s+(\d+);/.exec(read('nginx.conf'))?.[1]);
  // Defaults of the images (not overridden in the compose file): Redis 6379, Prometheus 9090, Grafana 3000.
  return { redis: 6379, prometheus: 9090, grafana: 3000 }[name] ?? Number.NaN;
};
const ourServices = Object.entries(services).filter(([, s]) => isOurs(s));
const hostPort = ([name, s]: [string, Service]) => `${name}:${listensOn(name, s)}`;

describe('the compose stack', () => {
  it('parses, and runs every service from an image pinned to a version', () => {
    assert.ok(Object.keys(services).length >= 8, `lb, 2 gateways, 2 sims, redis, prometheus, grafana: ${Object.keys(services)}`);
    for (const [name, s] of Object.entries(services)) {
      assert.ok(s.image, `${name} names an image`);
      const tag = s.image.split(':')[1];
      assert.ok(tag && tag !== 'latest' && /\d/.test(tag), `${name}: ${s.image} is pinned to a version`);
    }
    const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
    for (const [name, s] of ourServices) {
      assert.equal(s.image, `open-autoglm:${version}`, `${name} runs this version's image`);
      assert.ok(s.build, `${name} is built from the repository's Dockerfile`);
    }
  });

  it('publishes and exposes the ports the services listen on, and mounts files that exist', () => {
    for (const [name, s] of Object.entries(services)) {
      const port = listensOn(name, s);
      for (const published of s.ports ?? []) assert.equal(Number(published.split(':').at(-1)), port, `${name}: publishes ${published} to ${port}`);
      for (const exposed of s.expose ?? []) assert.equal(Number(exposed), port, `${name}: exposes ${exposed}, listens on ${port}`);
      for (const volume of s.volumes ?? [])
        if (volume.startsWith('./')) assert.ok(existsSync(join(dir, volume.split(':')[0]!)), `${name}: mounts ${volume}, which exists`);
    }
    // The gateways' config file is the one mounted where their --config points.
    for (const [name, s] of ourServices.filter(([, s]) => s.command?.[0] === 'serve'))
      assert.ok(s.volumes?.includes(`./autoglm.yaml:${flag(s, '--config')}:ro`), `${name} reads ./autoglm.yaml`);
  });

  it('nginx balances over the gateways, the gateways over the sims and Redis, by their service names and ports', () => {
    const gateways = ourServices.filter(([, s]) => s.command?.[0] === 'serve');
    const sims = ourServices.filter(([, s]) => s.command?.[0] === 'sim');
    assert.equal(gateways.length, 2, 'two gateways');
    assert.equal(sims.length, 2, 'two sims');
    const upstreams = [...read('nginx.conf').matchAll(/^\s*server\s+([\w.-]+:\d+)/gm)].map((m) => m[1]);
    assert.deepEqual(upstreams.sort(), gateways.map(hostPort).sort());
    parseGatewayConfig(gatewayConfigText, 'deploy/compose/autoglm.yaml');
    const replicas = Object.values(gatewayConfig.models).flatMap((m) => m.replicas.map((r) => new URL(r.baseUrl!).host));
    assert.deepEqual(replicas.sort(), sims.map(hostPort).sort());
    assert.equal(new URL(gatewayConfig.redis).host, hostPort(['redis', services.redis!]));
  });

  it('Prometheus scrapes every Open-AutoGLM service on /metrics, and Grafana reads that Prometheus', () => {
    const prometheus = parse(read('prometheus.yml')) as { scrape_configs: { metrics_path?: string; static_configs: { targets: string[] }[] }[] };
    const targets = prometheus.scrape_configs.flatMap((c) => {
      assert.equal(c.metrics_path ?? '/metrics', '/metrics');
      return c.static_configs.flatMap((s) => s.targets);
    });
    assert.deepEqual(targets.sort(), ourServices.map(hostPort).sort());
    const datasources = parse(read('grafana/provisioning/datasources/prometheus.yaml')) as { datasources: { url: string }[] };
    assert.equal(new URL(datasources.datasources[0]!.url).host, hostPort(['prometheus', services.prometheus!]));
    const providers = parse(read('grafana/provisioning/dashboards/autoglm.yaml')) as { providers: { options: { path: string } }[] };
    assert.ok(
      services.grafana!.volumes!.includes(`./grafana/dashboards:${providers.providers[0]!.options.path}:ro`),
      'the dashboards folder is mounted where the provider reads',
    );
  });

  describe('the Grafana dashboard', () => {
    let redis: Awaited<ReturnType<typeof startRedis>>;
    let sim: Awaited<ReturnType<typeof startSimLike>>;
    let gateway: GatewayServer;
    before(async () => {
      redis = await startRedis();
      // A sim with the compose sims' own args, on loopback; the compose gateway config with its upstreams there.
      sim = await startSimLike(services['sim-1']!.command!.slice(1));
      const config = parse(gatewayConfigText) as typeof gatewayConfig & { database?: string };
      config.redis = redis.url;
      config.database = ':memory:';
      for (const m of Object.values(config.models)) for (const r of m.replicas) r.baseUrl = `${sim.url}/v1`;
      gateway = await serveGateway(parseGatewayConfig(stringify(config)), { serverOverrides: { host: '127.0.0.1', port: 0 } });
    });
    after(async () => {
      await gateway?.close();
      await sim?.stop();
      redis?.stop();
    });

    it('uses only metrics the gateway or the simulator exposes on /metrics', async () => {
      const exposed = new Map<string, string>();
      for (const url of [gateway.url, sim.url]) {
        const page = await (await request(`${url}/metrics`)).body.text();
        for (const m of page.matchAll(/^# TYPE (\w+) (\w+)$/gm)) exposed.set(m[1]!, m[2]!);
      }
      const dashboard = JSON.parse(read('grafana/dashboards/open-autoglm.json')) as { panels: { title: string; targets: { expr: string }[] }[] };
      const used = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => [...t.expr.matchAll(/\bautoglm_\w+/g)].map((m) => m[0]))));
      assert.ok(used.size >= 10, `the dashboard charts the server's metrics: ${[...used]}`);
      for (const name of used) {
        const histogram = /^(.*)_(bucket|sum|count)$/.exec(name)?.[1];
        const known = exposed.has(name) || (histogram !== undefined && exposed.get(histogram) === 'histogram');
        assert.ok(known, `${name} is exposed by the server (it exposes ${[...exposed.keys()].filter((n) => n.startsWith('autoglm_')).join(', ')})`);
      }
    });
  });
});
