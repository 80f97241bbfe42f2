// The methods each path answers, so that a known path asked with another method gets 405 and Allow, not 404.
/** One route as fastify spells it: `:name` is a segment, `*` anything from there on. */
interface Pattern {
  match: RegExp;
  methods: Set<string>;
}

const REGEX_SPECIAL = /[.+?^${}()|[\]\\]/g;
const segmentPattern = (segment: string) => (segment.startsWith(':') ? '[^/]+' : segment.replace(REGEX_SPECIAL, '\\$&').replace(/\*/g, '.*'));
const patternOf = (url: string) => new RegExp(`^${url.split('/').map(segmentPattern).join('/')}$`);

export class RouteTable {
  private readonly byUrl = new Map<string, Pattern>();

  add(methods: string | readonly string[], url: string): void {
    let pattern = this.byUrl.get(url);
    if (!pattern) this.byUrl.set(url, (pattern = { match: patternOf(url), methods: new Set() }));
    for (const m of typeof methods === 'string' ? [methods] : methods) pattern.methods.add(m.toUpperCase());
  }

  /** The route (as registered, `/v1/models/:id`) a path belongs to, whatever the method; undefined for an unknown path. */
  routeOf(path: string): string | undefined {
    for (const [url, { match }] of this.byUrl) if (match.test(path)) return url;
    return undefined;
  }

  /** The methods some route answers on this path (without its query), in a stable order; empty for an unknown path. */
  allowed(path: string): string[] {
    const methods = new Set<string>();
    for (const { match, methods: ms } of this.byUrl.values()) if (match.test(path)) for (const m of ms) methods.add(m);
    return [...methods].sort();
  }
}
