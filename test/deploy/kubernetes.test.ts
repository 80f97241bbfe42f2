// The Kustomize base and overlays, rendered by kubectl and checked against the Kubernetes schemas; the gateway config
// each ConfigMap carries passes `autoglm config check`, and the probe paths, ports and metrics path the manifests name
// are the ones the real servers (the gateway with that config, `autoglm sim` with the sim pods' args) answer.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { parse, stringify } from 'yaml';
import { parseGatewayConfig } from '../../src/config/index.js';
import { serveGateway, type GatewayServer } from '../../src/server/index.js';
import { runCli } from '../support/processes.js';
import { startRedis } from '../support/redis.js';
import { repoRoot } from '../support/server.js';
import { startSimLike } from './sim-process.js';
import { hasKubectl, render, validate, type KubeObject } from './manifests.js';

const TARGETS = ['base', 'overlays/dev', 'overlays/vllm'] as const;

interface Probe {
  httpGet?: { path: string; port: string | number };
  exec?: { command: string[] };
}
interface Container {
  name: string;
  image: string;
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  lifecycle?: { preStop?: Probe };
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; capabilities?: { drop?: string[] } };
}
interface PodSpec {
  containers: Container[];
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean };
}

const podSpec = (o: KubeObject) => (o.spec as { template: { spec: PodSpec } }).template.spec;
const find = (objects: KubeObject[], kind: string, name: string) => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  assert.ok(found, `${kind}/${name} is rendered`);
  return found;
};
const ourContainers = (objects: KubeObject[]) =>
  objects
    .filter((o) => ['Deployment', 'StatefulSet'].includes(o.kind))
    .flatMap((o) => podSpec(o).containers.map((c) => ({ owner: o, container: c, pod: podSpec(o) })))
    .filter(({ container }) => container.image.split(':')[0]!.endsWith('open-autoglm'));
/** The port number a probe or Service names, by name or number, among the container's ports. */
const portOf = (container: Container, port: string | number) =>
  typeof port === 'number' ? port : container.ports?.find((p) => p.name === port)?.containerPort;
const gatewayConfigText = (objects: KubeObject[]) => {
  const config = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('autoglm-config-'));
  assert.ok(config, 'the gateway config is a generated (hash-named) ConfigMap');
  const text = (config.data as Record<string, string>)['autoglm.yaml'];
  assert.ok(text, 'the ConfigMap holds autoglm.yaml');
  return text;
};

describe('Kubernetes manifests', { skip: hasKubectl ? false : 'kubectl is not installed (it renders the Kustomize overlays)' }, () => {
  const rendered = new Map<string, KubeObject[]>();
  const dir = mkdtempSync(join(tmpdir(), 'autoglm-k8s-'));
  before(() => {
    for (const target of TARGETS) rendered.set(target, render(target));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('every overlay renders, and every object passes its Kubernetes schema', async (t) => {
    for (const [target, objects] of rendered) {
      for (const object of objects) await validate(object);
      const kinds = new Map<string, number>();
      for (const o of objects) kinds.set(o.kind, (kinds.get(o.kind) ?? 0) + 1);
      t.diagnostic(`${target}: ${objects.length} objects (${[...kinds].map(([k, n]) => `${n} ${k}`).join(', ')})`);
    }
    assert.ok(!rendered.get('base')!.some((o) => o.apiVersion.startsWith('monitoring.coreos.com')), 'the base needs no CRDs');
    assert.ok(
      rendered.get('overlays/vllm')!.some((o) => o.kind === 'ServiceMonitor'),
      'the vllm overlay is monitored',
    );
  });

  it('the schema check refuses an object that is wrong', async () => {
    const deployment = structuredClone(find(rendered.get('base')!, 'Deployment', 'autoglm-gateway'));
    (deployment.spec as { replicas: unknown }).replicas = 'two';
    await assert.rejects(validate(deployment), /replicas/);
  });

  it("each overlay's autoglm.yaml passes `autoglm config check`", async () => {
    const checks = [...rendered].map(async ([target, objects]) => {
      const file = join(dir, `${target.replace('/', '-')}.yaml`);
      writeFileSync(file, gatewayConfigText(objects));
      const check = runCli(['config', 'check', file], { ...process.env, AUTOGLM_DATA_DIR: dir });
      return { target, check, code: await check.exited };
    });
    for (const { target, check, code } of await Promise.all(checks)) assert.equal(code, 0, `${target}: config check exits 0 (${check.out()}${check.err()})`);
  });

  it('the pods run as non-root, with a read-only root, no capabilities, and a grace period that covers the drain', () => {
    for (const [target, objects] of rendered) {
      const containers = ourContainers(objects);
      assert.ok(containers.length > 0, `${target} runs the image`);
      for (const { owner, container, pod } of containers) {
        const where = `${target} ${owner.kind}/${owner.metadata.name}`;
        assert.equal(pod.securityContext?.runAsNonRoot, true, `${where}: runAsNonRoot`);
        assert.equal(container.securityContext?.readOnlyRootFilesystem, true, `${where}: readOnlyRootFilesystem`);
        assert.equal(container.securityContext?.allowPrivilegeEscalation, false, `${where}: no privilege escalation`);
        assert.deepEqual(container.securityContext?.capabilities?.drop, ['ALL'], `${where}: drops all capabilities`);
      }
      const gateway = podSpec(find(objects, 'Deployment', 'autoglm-gateway'));
      const server = (parse(gatewayConfigText(objects)) as { server: { drainDelaySeconds: number; drainSeconds: number } }).server;
      const preStop = Number(gateway.containers[0]!.lifecycle?.preStop?.exec?.command.at(-1) ?? 0);
      assert.ok(server.drainDelaySeconds > 0, `${target}: the gateways wait for endpoints to go before draining`);
      assert.ok(
        gateway.terminationGracePeriodSeconds! > preStop + server.drainDelaySeconds + server.drainSeconds,
        `${target}: terminationGracePeriodSeconds ${gateway.terminationGracePeriodSeconds} > preStop ${preStop} + drain delay ${server.drainDelaySeconds} + drain ${server.drainSeconds}`,
      );
    }
  });

  it('the image tag is the package version', () => {
    const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
    for (const { container } of ourContainers(rendered.get('base')!)) assert.equal(container.image, `open-autoglm:${version}`);
  });

  describe('probes, ports and metrics against the real servers', () => {
    let redis: Awaited<ReturnType<typeof startRedis>>;
    let sim: Awaited<ReturnType<typeof startSimLike>>;
    const gateways: GatewayServer[] = [];
    before(async () => {
      redis = await startRedis();
      // The sim pods' own args, on loopback and a free port.
      const simArgs = podSpec(find(rendered.get('overlays/dev')!, 'Deployment', 'autoglm-sim')).containers[0]!.args!;
      assert.equal(simArgs[0], 'sim');
      sim = await startSimLike(simArgs.slice(1));
    });
    after(async () => {
      for (const g of gateways) await g.close();
      await sim?.stop();
      redis?.stop();
    });

    /** The overlay's gateway config on loopback: its upstreams are the sim, its Redis the test's. */
    const startGateway = async (objects: KubeObject[]) => {
      const config = parse(gatewayConfigText(objects)) as {
        server: { port: number };
        redis?: string;
        database?: string;
        models: Record<string, { replicas: { type: string; baseUrl?: string }[] }>;
      };
      if (config.redis) config.redis = redis.url;
      config.database = ':memory:';
      for (const model of Object.values(config.models)) for (const r of model.replicas) if (r.baseUrl) r.baseUrl = `${sim.url}/v1`;
      const gateway = await serveGateway(parseGatewayConfig(stringify(config)), { serverOverrides: { host: '127.0.0.1', port: 0 } });
      gateways.push(gateway);
      return { gateway, configPort: config.server.port };
    };

    it("every overlay's gateway answers its probes, on the port its Service and config name, and serves the metrics path", async () => {
      for (const [target, objects] of rendered) {
        const { gateway, configPort } = await startGateway(objects);
        const container = podSpec(find(objects, 'Deployment', 'autoglm-gateway')).containers[0]!;
        const service = find(objects, 'Service', 'autoglm-gateway').spec as { ports: { targetPort: string | number }[] };
        assert.equal(portOf(container, service.ports[0]!.targetPort), configPort, `${target}: the Service targets the port the config listens on`);
        for (const kind of ['startupProbe', 'livenessProbe', 'readinessProbe'] as const) {
          const probe = container[kind]?.httpGet;
          assert.ok(probe, `${target}: the gateway has an HTTP ${kind}`);
          assert.equal(portOf(container, probe.port), configPort, `${target}: ${kind} checks the port the config listens on`);
          const res = await request(`${gateway.url}${probe.path}`);
          await res.body.dump();
          assert.equal(res.statusCode, 200, `${target}: ${kind} ${probe.path} answers 200 on a ready gateway`);
        }
        assert.equal(container.readinessProbe?.httpGet?.path, '/ready', `${target}: readiness follows /ready (503 while loading or draining)`);
        const monitor = objects.find((o) => o.kind === 'ServiceMonitor');
        const metricsPath = (monitor?.spec as { endpoints: { path: string }[] } | undefined)?.endpoints[0]?.path ?? '/metrics';
        const metrics = await request(`${gateway.url}${metricsPath}`);
        assert.equal(metrics.statusCode, 200);
        assert.match(await metrics.body.text(), /^autoglm_requests_total/m, `${target}: ${metricsPath} is the Prometheus page`);
      }
    });

    it('the dev gateway routes a chat to the sim pods through its config', async () => {
      const { gateway } = await startGateway(rendered.get('overlays/dev')!);
      const res = await request(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'sim', messages: [{ role: 'user', content: 'hello' }], max_tokens: 4 }),
      });
      assert.equal(res.statusCode, 200, await res.body.text());
    });

    it('the sim pods answer their probes, and export the queue-depth metric their HPA scales on', async () => {
      const objects = rendered.get('overlays/dev')!;
      const container = podSpec(find(objects, 'Deployment', 'autoglm-sim')).containers[0]!;
      const port = Number(container.args![container.args!.indexOf('--port') + 1]);
      assert.equal(portOf(container, 'http'), port, 'the sim container port is the one sim listens on');
      for (const kind of ['livenessProbe', 'readinessProbe'] as const) {
        const res = await request(`${sim.url}${container[kind]!.httpGet!.path}`);
        await res.body.dump();
        assert.equal(res.statusCode, 200, `sim ${kind}`);
      }
      const hpa = find(objects, 'HorizontalPodAutoscaler', 'autoglm-sim').spec as { metrics: { pods?: { metric: { name: string } } }[] };
      const metric = hpa.metrics.find((m) => m.pods)?.pods?.metric.name;
      assert.ok(metric, 'the sim HPA scales on a pods metric');
      const page = await (await request(`${sim.url}/metrics`)).body.text();
      assert.match(page, new RegExp(`^${metric}\\{`, 'm'), `the sim exports ${metric}`);
      const rules = parse(readFileSync(join(repoRoot, 'deploy/kubernetes/components/monitoring/prometheus-adapter-rules.yaml'), 'utf8')) as {
        rules: { custom: { name: { as: string } }[] };
      };
      assert.ok(
        rules.rules.custom.some((r) => r.name.as === metric),
        `the Prometheus Adapter rules serve ${metric}`,
      );
    });
  });
});
