// Per-tenant and per-key limits on top of rate-limiter-flexible (memory, or Redis to share them across processes):
// requests and tokens per minute, concurrent requests, daily and monthly token budgets, allowed models.
import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';
import type * as Flexible from 'rate-limiter-flexible';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { AutoglmError } from '../core/index.js';
import { parseStrategyModel } from '../reasoning/index.js';

// The package's index loads every store it supports (Mongo, Postgres, DynamoDB...), about 10 MB of a gateway's memory;
// the two stores used here are loaded on their own, the Redis one only when Redis is configured.
const require = createRequire(import.meta.url);
const RateLimiterMemory = require('rate-limiter-flexible/lib/RateLimiterMemory.js') as typeof Flexible.RateLimiterMemory;
const RateLimiterRes = require('rate-limiter-flexible/lib/RateLimiterRes.js') as typeof Flexible.RateLimiterRes;
type RateLimiterRes = Flexible.RateLimiterRes;
const loadRedisLimiter = () => require('rate-limiter-flexible/lib/RateLimiterRedis.js') as typeof Flexible.RateLimiterRedis;
import type { Limits } from '../config/index.js';

/** Who a check is for: a tenant's limits and, when the key has its own, the key's. */
export interface LimitSubject {
  tenant: string;
  keyId?: string;
  tenantLimits: Limits;
  keyLimits?: Limits;
}

/** A request let in: the headers to send, and `settle` to call once with the tokens it really used. */
export interface Admission {
  headers: Record<string, string>;
  settle(actualTokens: number): Promise<void>;
}

/** A 429 from the limits, with the x-ratelimit-* headers a success would have carried (this request not counted). */
export class LimitRefusal extends AutoglmError {
  constructor(
    status: number,
    type: 'rate_limit_error' | 'insufficient_quota',
    code: string,
    message: string,
    retryAfter: number,
    readonly headers: Record<string, string>,
  ) {
    super(status, type, code, message, null, retryAfter);
  }
}

type Kind = 'rpm' | 'tpm' | 'concurrent' | 'day' | 'month';

interface Check {
  kind: Kind;
  scope: string;
  scopeLabel: string;
  points: number;
  limit: number;
  key: string;
  limiter: RateLimiterAbstract;
}

const MINUTE = 60;
/** Concurrency slots expire on their own after this long, so a process that died holding them cannot lock a tenant out. */
const CONCURRENCY_TTL_SECONDS = 600;

/** "6m0s", "1.5s", "20ms": the reset format OpenAI's x-ratelimit-reset-* headers use. */
export function resetText(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.ceil(ms))}ms`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 100) / 10;
  return minutes ? `${minutes}m${seconds}s` : `${seconds}s`;
}

const dayStart = (ms: number) => {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
};
const monthStart = (ms: number) => {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
};
const nextDay = (ms: number) => dayStart(ms) + 86_400_000;
const nextMonth = (ms: number) => {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
};

/** Whether these limits let a caller use a model (no list: every model). */
/**
 * Whether `limits` let a caller use `model`. A list names models, and allows their aliases: `claude-sonnet-4` is
 * allowed where the list names `glm-4` and the config aliases one to the other (`target`). The reverse does not hold:
 * a list that names only the alias allows only that name.
 */
export const allowsModel = (limits: Limits | undefined, model: string, target?: string): boolean =>
  !limits?.models || limits.models.includes(model) || (target !== undefined && limits.models.includes(target));

export interface RateLimitsOptions {
  redis?: Redis;
  now?: () => number;
  /** Tokens already used in a budget period, read from the ledger when a memory counter starts (after a restart). */
  usedSince?: (tenant: string, fromMs: number) => number;
}

export class RateLimits {
  private readonly limiters = new Map<string, RateLimiterAbstract>();
  private readonly seeded = new Set<string>();
  private readonly now: () => number;

  constructor(private readonly options: RateLimitsOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  /** One limiter per kind and size: counters live under the kind's prefix, so a changed limit keeps its count. */
  private limiter(kind: Kind, points: number): RateLimiterAbstract {
    const id = `${kind}:${points}`;
    let limiter = this.limiters.get(id);
    if (!limiter) {
      const duration = kind === 'concurrent' ? CONCURRENCY_TTL_SECONDS : kind === 'day' ? 2 * 86_400 : kind === 'month' ? 32 * 86_400 : MINUTE;
      const settings = { keyPrefix: `autoglm:${kind}`, points, duration };
      // Budget counters are keyed by their UTC day or month, so in memory they need no expiry; a memory counter's expiry
      // is a Node timer, which cannot wait 32 days (past 2^31 ms it fires at once and would drop the month's count).
      const memory = new RateLimiterMemory(kind === 'month' ? { ...settings, duration: 0 } : settings);
      // If Redis fails, each process falls back to its own counters instead of failing requests.
      limiter = this.options.redis ? new (loadRedisLimiter())({ ...settings, storeClient: this.options.redis, insuranceLimiter: memory }) : memory;
      this.limiters.set(id, limiter);
    }
    return limiter;
  }

  private checks(subject: LimitSubject, tokens: number): Check[] {
    const now = this.now();
    const checks: Check[] = [];
    const scopes: [string, string, Limits | undefined][] = [
      [`t:${subject.tenant}`, `tenant '${subject.tenant}'`, subject.tenantLimits],
      [`k:${subject.keyId}`, `API key '${subject.keyId}'`, subject.keyId ? subject.keyLimits : undefined],
    ];
    for (const [scope, scopeLabel, limits] of scopes) {
      if (!limits) continue;
      const add = (kind: Kind, limit: number | undefined, points: number, key = scope) => {
        if (limit !== undefined) checks.push({ kind, scope, scopeLabel, limit, points, key, limiter: this.limiter(kind, limit) });
      };
      add('rpm', limits.requestsPerMinute, 1);
      add('tpm', limits.tokensPerMinute, tokens);
      add('concurrent', limits.maxConcurrent, 1);
      add('day', limits.tokensPerDay, tokens, `${scope}:${new Date(dayStart(now)).toISOString().slice(0, 10)}`);
      add('month', limits.tokensPerMonth, tokens, `${scope}:${new Date(monthStart(now)).toISOString().slice(0, 7)}`);
    }
    return checks;
  }

  /** Budget counters kept in memory start from what the ledger says was used this period. */
  private async seed(check: Check, tenant: string): Promise<void> {
    if (this.options.redis || !this.options.usedSince || (check.kind !== 'day' && check.kind !== 'month') || !check.scope.startsWith('t:')) return;
    const id = `${check.kind}:${check.key}`;
    if (this.seeded.has(id)) return;
    this.seeded.add(id);
    const from = check.kind === 'day' ? dayStart(this.now()) : monthStart(this.now());
    const used = this.options.usedSince(tenant, from);
    if (used > 0) await check.limiter.penalty(check.key, used);
  }

  /** Whether these limits would check anything at all: most tenants of a local server have none. */
  static anySet(l: Limits | undefined): boolean {
    return !!l && (l.requestsPerMinute ?? l.tokensPerMinute ?? l.maxConcurrent ?? l.tokensPerDay ?? l.tokensPerMonth ?? l.models) !== undefined;
  }

  /** Whether a check needs the request's token estimate (which costs building its prompt text). */
  static countsTokens(l: Limits | undefined): boolean {
    return !!l && (l.tokensPerMinute ?? l.tokensPerDay ?? l.tokensPerMonth) !== undefined;
  }

  /** The model an alias names (a gateway config's `aliases`, followed across reloads); none by default. */
  aliasOf: (name: string) => string | undefined = () => undefined;

  /** Lets a request in or throws 429 (403 for a model the tenant may not use); nothing is held when it refuses. */
  async admit(subject: LimitSubject, asked: string, estimatedTokens: number): Promise<Admission> {
    // A strategy prefix (sc:glm-4) does not change which model is used.
    const model = parseStrategyModel(asked).model;
    const target = this.aliasOf(model);
    for (const [limits, who] of [
      [subject.tenantLimits, `Tenant '${subject.tenant}'`],
      [subject.keyLimits, 'This API key'],
    ] as const) {
      if (!allowsModel(limits, model, target)) {
        throw new AutoglmError(
          403,
          'permission_error',
          'model_not_allowed',
          `${who} may not use the model '${model}'. Allowed: ${(limits?.models ?? []).join(', ') || 'none'}.`,
          'model',
        );
      }
    }
    const checks = this.checks(subject, estimatedTokens);
    for (const c of checks) await this.seed(c, subject.tenant);
    const results = await Promise.allSettled(checks.map((c) => c.limiter.consume(c.key, c.points)));
    const refused = results.findIndex((r) => r.status === 'rejected');
    if (refused >= 0) {
      // A refused request holds nothing: every counter it moved, the refusing one included, is moved back.
      await Promise.all(checks.map((c) => c.limiter.reward(c.key, c.points)));
      const reason = (results[refused] as PromiseRejectedResult).reason;
      if (!(reason instanceof RateLimiterRes)) throw reason;
      // A refusal says where the caller stands as a success does, every kind included (a request refused for its
      // concurrency or budget still shows its requests and tokens per minute), with this request given back.
      const states = results.map((r) => (r.status === 'fulfilled' ? r.value : r.reason instanceof RateLimiterRes ? r.reason : undefined));
      throw this.refusal(checks[refused]!, reason, estimatedTokens, this.headers(checks, states, true));
    }
    const headers = this.headers(
      checks,
      results.map((r) => (r as PromiseFulfilledResult<RateLimiterRes>).value),
      false,
    );
    let settled = false;
    return {
      headers,
      settle: async (actual) => {
        if (settled) return;
        settled = true;
        await Promise.all(
          checks.map((c) => {
            if (c.kind === 'concurrent') return c.limiter.reward(c.key, 1);
            if (c.kind === 'rpm' || actual === c.points) return undefined;
            return actual > c.points ? c.limiter.penalty(c.key, actual - c.points) : c.limiter.reward(c.key, c.points - actual);
          }),
        );
      },
    };
  }

  /**
   * OpenAI's x-ratelimit-* headers, from the tightest scope of each kind. `givenBack`: the request was refused and its
   * points returned, so what remains is what the counters held before it.
   */
  private headers(checks: Check[], results: (RateLimiterRes | undefined)[], givenBack: boolean): Record<string, string> {
    const headers: Record<string, string> = {};
    const remaining = (c: Check, res: RateLimiterRes) => Math.max(0, givenBack ? c.limit - (res.consumedPoints - c.points) : res.remainingPoints);
    for (const [kind, suffix] of [
      ['rpm', 'requests'],
      ['tpm', 'tokens'],
    ] as const) {
      let best: { limit: number; remaining: number; res: RateLimiterRes } | undefined;
      checks.forEach((c, i) => {
        const res = results[i];
        if (c.kind !== kind || !res) return;
        const left = remaining(c, res);
        if (!best || left < best.remaining) best = { limit: c.limit, remaining: left, res };
      });
      if (!best) continue;
      headers[`x-ratelimit-limit-${suffix}`] = String(best.limit);
      headers[`x-ratelimit-remaining-${suffix}`] = String(Math.min(best.limit, best.remaining));
      headers[`x-ratelimit-reset-${suffix}`] = resetText(best.res.msBeforeNext);
    }
    return headers;
  }

  private refusal(check: Check, res: RateLimiterRes, tokens: number, headers: Record<string, string>): LimitRefusal {
    const now = this.now();
    const who = check.scopeLabel;
    const error = (type: 'rate_limit_error' | 'insufficient_quota', code: string, message: string, retryMs: number) =>
      new LimitRefusal(429, type, code, message, Math.max(1, Math.ceil(retryMs / 1000)), headers);
    switch (check.kind) {
      case 'rpm':
        return error(
          'rate_limit_error',
          'rate_limit_exceeded',
          `Rate limit reached for ${who}: ${check.limit} requests per minute. Retry in ${resetText(res.msBeforeNext)}.`,
          res.msBeforeNext,
        );
      case 'tpm':
        return error(
          'rate_limit_error',
          'rate_limit_exceeded',
          tokens > check.limit
            ? `This request needs about ${tokens} tokens, more than the ${check.limit} tokens per minute allowed for ${who}. Lower max_tokens or shorten the prompt.`
            : `Rate limit reached for ${who}: ${check.limit} tokens per minute (this request needs about ${tokens}). Retry in ${resetText(res.msBeforeNext)}.`,
          res.msBeforeNext,
        );
      case 'concurrent':
        return error(
          'rate_limit_error',
          'concurrency_limit_exceeded',
          `${who} already has ${check.limit} requests running, its limit. Retry when one finishes.`,
          1000,
        );
      case 'day':
      case 'month': {
        const resets = check.kind === 'day' ? nextDay(now) : nextMonth(now);
        return error(
          'insufficient_quota',
          'budget_exceeded',
          `${who[0]!.toUpperCase()}${who.slice(1)} has used its ${check.kind === 'day' ? 'daily' : 'monthly'} token budget of ${check.limit} tokens; it resets at ${new Date(resets).toISOString()}.`,
          resets - now,
        );
      }
    }
  }
}
