// Kubernetes manifests as kubectl renders them (its built-in Kustomize), and the schema check of each object.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../support/server.js';

export const kubernetesDir = join(repoRoot, 'deploy/kubernetes');

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

export const hasKubectl = (() => {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** `kubectl kustomize <dir>`: what `kubectl apply -k` would send, rendered offline. */
export function render(dir: string): KubeObject[] {
  const text = execFileSync('kubectl', ['kustomize', join(kubernetesDir, dir)], { encoding: 'utf8', maxBuffer: 16 << 20 });
  return parseAllDocuments(text).map((doc) => {
    if (doc.errors.length) throw new Error(`${dir}: ${doc.errors[0]!.message}`);
    return doc.toJS() as KubeObject;
  });
}

/** The kubernetes-models class for an object's apiVersion and kind (core, apps, ... and the Prometheus Operator's). */
async function modelClass(apiVersion: string, kind: string): Promise<new (data: unknown) => { validate(): void }> {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const module =
    group === 'monitoring.coreos.com'
      ? `@kubernetes-models/prometheus-operator/${group}/${version}/${kind}`
      : `kubernetes-models/${group ? `${group}/` : ''}${version}/${kind}`;
  const loaded = (await import(module)) as Record<string, new (data: unknown) => { validate(): void }>;
  const model = loaded[kind];
  if (!model) throw new Error(`no schema for ${apiVersion} ${kind}`);
  return model;
}

/** Validates an object against its Kubernetes (or CRD) JSON Schema; throws naming the object and the field. */
export async function validate(object: KubeObject): Promise<void> {
  const Model = await modelClass(object.apiVersion, object.kind);
  try {
    new Model(object).validate();
  } catch (err) {
    throw new Error(`${object.kind}/${object.metadata.name}: ${(err as Error).message}`);
  }
}
