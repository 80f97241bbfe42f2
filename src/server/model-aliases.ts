// Other names for served models (`claude-sonnet-4` -> `glm-4`), so tools with a hard-coded model name work: a
// ChatModel wrapper under the gateway's generation, where names are resolved for every dialect and route alike.
import type { CallContext, ChatModel, ChatRequest, ModelInfo } from '../core/index.js';

/**
 * Serves `aliases` (alias -> model or release) beside the inner model's own names: a request for an alias is the
 * request for its target, answered in the target's name (the response's `model`, as a release's version is), and
 * the aliases are listed by /v1/models. Without aliases the inner model is returned as it is.
 */
export function withModelAliases(inner: ChatModel, aliases: Readonly<Record<string, string>> | undefined): ChatModel {
  const targets = new Map(Object.entries(aliases ?? {}));
  if (targets.size === 0) return inner;
  const resolved = (req: ChatRequest, ctx?: CallContext): ChatRequest => {
    const target = targets.get(req.model);
    if (target === undefined) return req;
    // A release below names its version over this.
    if (ctx?.report) ctx.report.model = target;
    return { ...req, model: target };
  };
  // The listed names are checked on every request by the list's identity: one list per list of the inner model's.
  let listedFrom: ModelInfo[] | undefined;
  let listed: ModelInfo[] = [];
  return {
    models() {
      const own = inner.models();
      if (own !== listedFrom) {
        listedFrom = own;
        const byId = new Map(own.map((m) => [m.id, m]));
        const extra = [...targets].flatMap(([alias, target]) => {
          const of = byId.get(target);
          return of ? [{ ...of, id: alias }] : [];
        });
        listed = [...own, ...extra];
      }
      return listed;
    },
    stream: (req, ctx) => inner.stream(resolved(req, ctx), ctx),
    ...(inner.complete && { complete: (req: ChatRequest, ctx: CallContext) => inner.complete!(resolved(req, ctx), ctx) }),
    ...(inner.countTokens && { countTokens: (req: ChatRequest) => inner.countTokens!(resolved(req)) }),
  };
}
