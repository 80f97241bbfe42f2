// The prompts a tenant can use: its own (in the database) and the config's global ones, which version a request
// gets (named, split by weights under an SLO watch, chosen by the feedback bandit, or the latest), and the feedback
// that teaches the bandit and the watch.
import { AutoglmError, seededRandom, systemClock, type Clock, type Random } from '../core/index.js';
import type { PromptConfig, PromptsConfig } from '../config/index.js';
import { chooseArm, type Arm } from './bandit.js';
import { PromptStore, type ArmPoint, type ServedRecord } from './prompt-store.js';
import { PromptWatch, type RolledBack } from './prompt-watch.js';
import { templateOf, type PromptRef, type PromptTemplate } from './template.js';
import { splitVersion } from './version-split.js';

/** An answer feedback is about: by the request's id, or by the key of the answer's id (chatcmpl-<key>, resp_<key>, ...). */
export type FeedbackTarget = { requestId: string } | { answerKey: string };

/**
 * Where a request that no managed prompt served is found, by its request id or its answer's key, if it was answered
 * since `fromMs`: the usage ledger, which has a row for every call already. Only the requests prompts served get a
 * row of their own here: one for every request had cost a gateway about 14 µs of its 230 µs a request.
 */
export type AnsweredLookup = (tenant: string, id: string, by: 'request' | 'answer', fromMs: number) => { requestId: string; answerKey?: string } | undefined;

export const GLOBAL_SCOPE = 'global';

/** What a server's managed prompts are made of: the config's prompts and each model's default prompt. */
export interface PromptsSetup {
  prompts?: PromptsConfig;
  /** Model name -> prompt reference (`name` or `name@version`) for requests that name none. */
  models?: Record<string, string>;
  /** Seeds the bandit's draws. */
  seed?: number;
  clock?: Clock;
}

export interface Resolved {
  template: PromptTemplate;
  /** `global` for a config prompt, else the tenant whose prompt it is. */
  scope: string;
  /** How the version was picked. */
  by: 'named' | 'split' | 'bandit' | 'latest';
}

export interface ArmsReport {
  prompt: string;
  scope: string;
  policy: 'bandit' | 'split' | 'latest';
  floor?: number;
  arms: { version: number; served: number; share: number; feedback: number; mean_score: number | null }[];
  series: ArmPoint[];
  rolled_back: RolledBack[];
}

const notFound = (message: string) => new AutoglmError(400, 'invalid_request_error', 'prompt_not_found', message, 'reasoning.prompt');

export class PromptCatalog {
  readonly store: PromptStore;
  private readonly config: PromptsConfig;
  readonly models: Record<string, string>;
  private readonly random: Random;
  private readonly clock: Clock;
  private readonly arms = new Map<string, Map<number, Arm>>();
  private readonly watches = new Map<string, PromptWatch>();

  constructor(
    databasePath: string,
    setup: PromptsSetup = {},
    private readonly answered?: AnsweredLookup,
  ) {
    this.store = new PromptStore(databasePath);
    this.config = setup.prompts ?? {};
    this.models = setup.models ?? {};
    this.random = seededRandom(setup.seed ?? 1);
    this.clock = setup.clock ?? systemClock;
  }

  /** Whether a name is one of the config's prompts (which the admin API cannot create, change or delete). */
  isGlobal(name: string): boolean {
    return Object.hasOwn(this.config, name);
  }

  globalNames(): string[] {
    return Object.keys(this.config);
  }

  /** The config prompt's versions as templates. */
  globalVersions(name: string): PromptTemplate[] {
    const p = this.config[name];
    return p ? versionsOf(name, p) : [];
  }

  /** The template a request gets; an unknown prompt or version is a 400 that names it. */
  resolve(tenant: string, ref: PromptRef, stickyKey: string): Resolved {
    const own = this.store.versions(tenant, ref.name);
    const global = own.length === 0 ? this.config[ref.name] : undefined;
    const versions = own.length ? own : global ? versionsOf(ref.name, global) : [];
    const scope = own.length ? tenant : GLOBAL_SCOPE;
    if (versions.length === 0) throw notFound(`unknown prompt '${ref.name}'; create it with POST /admin/prompts or add it under prompts in the config`);
    if (ref.version !== undefined) {
      const template = versions.find((v) => v.version === ref.version);
      if (!template) throw notFound(`prompt '${ref.name}' has no version ${ref.version}; its versions are ${versions.map((v) => v.version).join(', ')}`);
      return { template, scope, by: 'named' };
    }
    const pick = (version: number, by: Resolved['by']): Resolved => ({ template: versions.find((v) => v.version === version)!, scope, by });
    if (global?.bandit) {
      const arms = this.armsOf(scope, ref.name, versions);
      return pick(Number(chooseArm([...arms.values()], this.random, global.bandit.floor)), 'bandit');
    }
    if (global?.split) {
      const watch = this.watchOf(ref.name, global);
      const split = Object.fromEntries(Object.entries(global.split).filter(([v]) => !watch?.isRolledBack(Number(v))));
      return pick(splitVersion(split, stickyKey), 'split');
    }
    return pick(versions[versions.length - 1]!.version, 'latest');
  }

  /** A served request's outcome, for the SLO watch of a split prompt. */
  outcome(resolved: Resolved, outcome: { ok: boolean; latencyMs: number }): void {
    const global = resolved.scope === GLOBAL_SCOPE ? this.config[resolved.template.name] : undefined;
    if (global?.split) this.watchOf(resolved.template.name, global)?.record(resolved.template.version, outcome);
  }

  served(record: ServedRecord): void {
    this.store.served(record);
  }

  /** What served a request: the prompt's row, else (no prompt served it) the ledger's record of the call. */
  private servedBy(tenant: string, answer: FeedbackTarget): ServedRecord | undefined {
    const [id, by] = 'requestId' in answer ? [answer.requestId, 'request' as const] : [answer.answerKey, 'answer' as const];
    const prompted = this.store.servedBy(tenant, id, by);
    if (prompted) return prompted;
    const call = this.answered?.(tenant, id, by, this.store.feedbackSince());
    return call && { tenant, requestId: call.requestId, ...(call.answerKey !== undefined && { answerKey: call.answerKey }) };
  }

  /**
   * Feedback on a request of this tenant (named by its request id, or by its answer's key): stored, then taught to
   * the bandit and the SLO watch of the prompt that served it. Undefined when the tenant has no request by that id.
   */
  feedback(tenant: string, answer: FeedbackTarget, score: number, label?: string): ServedRecord | undefined {
    const served = this.servedBy(tenant, answer);
    if (!served) return undefined;
    const replaced = this.store.addFeedback({ ...served, score, label, timeMs: Date.now() });
    if (served.prompt !== undefined && served.version !== undefined && served.scope !== undefined) {
      const global = served.scope === GLOBAL_SCOPE ? this.config[served.prompt] : undefined;
      if (global?.bandit) {
        const arms = this.armsOf(served.scope, served.prompt, versionsOf(served.prompt, global));
        const arm = arms.get(served.version);
        if (arm) {
          arm.rewards += score - (replaced ?? 0);
          if (replaced === undefined) arm.trials++;
        }
      }
      if (global?.split && replaced === undefined) this.watchOf(served.prompt, global)?.feedback(served.version, score);
    }
    return served;
  }

  /** Each version's share of traffic and feedback, overall and per time bucket; undefined for an unknown prompt. */
  armsReport(tenant: string, name: string, bucketMs: number): ArmsReport | undefined {
    const own = this.store.versions(tenant, name);
    const global = own.length === 0 ? this.config[name] : undefined;
    if (own.length === 0 && !global) return undefined;
    const scope = own.length ? tenant : GLOBAL_SCOPE;
    const series = this.store.arms(scope, name, bucketMs);
    const versions = (own.length ? own : versionsOf(name, global!)).map((v) => v.version);
    const total = series.reduce((s, p) => s + p.served, 0);
    const arms = versions.map((version) => {
      const points = series.filter((p) => p.version === version);
      const served = points.reduce((s, p) => s + p.served, 0);
      const feedback = points.reduce((s, p) => s + p.feedback, 0);
      const scored = points.reduce((s, p) => s + (p.meanScore ?? 0) * p.feedback, 0);
      return { version, served, share: total ? served / total : 0, feedback, mean_score: feedback ? scored / feedback : null };
    });
    return {
      prompt: name,
      scope,
      policy: global?.bandit ? 'bandit' : global?.split ? 'split' : 'latest',
      ...(global?.bandit && { floor: global.bandit.floor }),
      arms,
      series,
      rolled_back: global?.split ? (this.watchOf(name, global)?.rolledBack ?? []) : [],
    };
  }

  close(): void {
    this.store.close();
  }

  private armsOf(scope: string, name: string, versions: readonly PromptTemplate[]): Map<number, Arm> {
    const key = `${scope}\u0000${name}`;
    let arms = this.arms.get(key);
    if (!arms) {
      const totals = this.store.feedbackTotals(scope, name);
      arms = new Map(
        versions.map((v) => [v.version, { id: String(v.version), rewards: totals.get(v.version)?.rewards ?? 0, trials: totals.get(v.version)?.trials ?? 0 }]),
      );
      this.arms.set(key, arms);
    }
    return arms;
  }

  private watchOf(name: string, p: PromptConfig): PromptWatch | undefined {
    if (!p.slo || !p.split) return undefined;
    let watch = this.watches.get(name);
    if (!watch) {
      const stable = Math.min(...Object.keys(p.split).map(Number));
      this.watches.set(name, (watch = new PromptWatch(p.slo, stable, this.clock)));
    }
    return watch;
  }
}

function versionsOf(name: string, p: PromptConfig): PromptTemplate[] {
  return Object.entries(p.versions)
    .map(([v, body]) => templateOf(name, Number(v), body))
    .sort((a, b) => a.version - b.version);
}
