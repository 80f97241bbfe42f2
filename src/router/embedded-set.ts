// A gateway config's embedded (llama) replicas as one set of models loaded on demand (`embedded:` in the config):
// each replica is a member of the set, loaded on its first request and unloaded after its keep-alive, within the
// set's budget; its pool sees an engine like any other.
import { statSync } from 'node:fs';
import type { CallContext, ChatChunk, ChatModel, ChatRequest, EmbeddingModel, ModelInfo } from '../core/index.js';
import type { GatewayConfig, ModelPaths } from '../config/index.js';
import type { LoadedModelSet, SetMember, UnloadReason } from '../engines/llama/index.js';
import type { ReplicaEngine } from './replica.js';

/** Told of loads and unloads as they happen, and where the members' states are read (metrics, dashboard). */
export interface EmbeddedModelHooks {
  loaded(model: string): void;
  unloaded(model: string, reason: UnloadReason): void;
  watch(states: () => ReturnType<LoadedModelSet['states']>): void;
}

/** One member of the set, as its pool's replica engine: every call names the member. */
class SetMemberEngine implements ReplicaEngine {
  readonly embeddings: EmbeddingModel;
  readonly countTokens: (req: ChatRequest) => Promise<number>;

  constructor(
    private readonly set: LoadedModelSet,
    private readonly member: string,
  ) {
    this.embeddings = {
      models: () => set.embeddings.models().filter((m) => m.id === member),
      embed: (req, ctx) => set.embeddings.embed({ ...req, model: member }, ctx),
    };
    this.countTokens = (req) => set.countTokens({ ...req, model: member });
  }

  models(): ModelInfo[] {
    return this.set.models().filter((m) => m.id === this.member);
  }

  stream(req: ChatRequest, ctx: CallContext): AsyncIterable<ChatChunk> {
    return this.set.stream({ ...req, model: this.member }, ctx);
  }
}

export interface EmbeddedSet {
  set: LoadedModelSet;
  /** The engine of a model's llama replica, by its index among the model's replicas. */
  engineOf(model: string, index: number): ChatModel & ReplicaEngine;
  /** The member name of that replica: the model's own name when it has one llama replica. */
  memberOf(model: string, index: number): string;
}

/** The set, when the config asks for one and has llama replicas; every model file is found before anything loads. */
export async function embeddedSet(config: GatewayConfig, paths: ModelPaths, hooks?: EmbeddedModelHooks): Promise<EmbeddedSet | undefined> {
  if (!config.embedded) return undefined;
  const replicas = Object.entries(config.models).flatMap(([model, m]) =>
    m.replicas.flatMap((r, index) => (r.type === 'llama' ? [{ model, index, replica: r, ofModel: m.replicas.filter((x) => x.type === 'llama').length }] : [])),
  );
  if (replicas.length === 0) return undefined;
  const { LlamaEngine, LoadedModelSet, resolveModel } = await import('../engines/llama/index.js');
  const names = new Map<string, string>();
  const members: SetMember[] = [];
  for (const { model, index, replica, ofModel } of replicas) {
    const { type: _type, id, weight: _weight, ...settings } = replica;
    const name = ofModel === 1 ? model : `${model}/${id ?? `llama-${index}`}`;
    const resolved = await resolveModel(settings.model, paths);
    names.set(`${model}#${index}`, name);
    members.push({
      name,
      bytes: statSync(resolved.path).size,
      path: resolved.path,
      load: () => LlamaEngine.load({ ...settings, model: resolved.path, alias: model }, paths),
    });
  }
  const set = new LoadedModelSet(members, {
    keepAliveSeconds: config.embedded.keepAlive,
    maxLoadedModels: config.embedded.maxLoadedModels,
    maxLoadedBytes: config.embedded.maxLoadedBytes,
    onLoaded: (model) => hooks?.loaded(model),
    onUnloaded: (model, reason) => hooks?.unloaded(model, reason),
  });
  hooks?.watch(() => set.states());
  const memberOf = (model: string, index: number) => names.get(`${model}#${index}`)!;
  return { set, memberOf, engineOf: (model, index) => new SetMemberEngine(set, memberOf(model, index)) };
}
