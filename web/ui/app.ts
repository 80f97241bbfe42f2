// The dashboard at /ui: live numbers from /admin/stats once a second, charts, replica and rollout state, tenant usage,
// and a playground that streams an answer in any dialect the server speaks. Preact + htm (no build-time JSX) and uPlot for the charts.
import { h, render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import htm from 'htm';
import { emptyMinute, LiveChart } from './live-chart.js';
import { DIALECTS, streamPrompt, type Dialect } from './playground-dialects.js';
import { PromptArms } from './prompt-arms.js';

const html = htm.bind(h);

type EngineState = 'loaded' | 'loading' | 'unloaded';

interface Stats {
  live: {
    series: { t: number; requests: number; errors: number; tokens: number }[];
    requestsPerS: number;
    tokensPerS: number;
    errorsPerS: number;
    latencyMs: { p50: number | null; p90: number | null; p99: number | null };
    ttftMs: { p50: number | null; p99: number | null };
    total: { requests: number; errors: number; tokens: number };
  };
  /** Embedded engines; `status` for models loaded on demand (several in one process). */
  engines: { model: string; queueDepth: number; busySequences: number; parallel: number; status?: EngineState }[];
  replicas: { model: string; id: string; available: boolean; breaker: string; outstanding: number; ewmaTtftMs: number | null }[];
  rollouts: { release: string; status: string; stable: string; canary: string | null; canaryPercent: number; reason: string | null }[];
  tenants: { tenant: string; requests: number; total_tokens: number; errors: number }[];
}

const keyStore = 'autoglm-api-key';
const authHeaders = (): Record<string, string> => {
  const key = localStorage.getItem(keyStore);
  return key ? { authorization: `Bearer ${key}` } : {};
};
const fmt = (v: number | null | undefined, digits = 1) => (v === null || v === undefined ? '–' : v.toFixed(digits));

function useStats(): { stats?: Stats; error?: string } {
  const [state, setState] = useState<{ stats?: Stats; error?: string }>({});
  useEffect(() => {
    let stopped = false;
    const poll = async () => {
      try {
        const res = await fetch('/admin/stats', { headers: authHeaders() });
        const body = await res.json();
        if (!stopped) setState(res.ok ? { stats: body as Stats } : { error: (body as { error?: { message: string } }).error?.message ?? `HTTP ${res.status}` });
      } catch (err) {
        if (!stopped) setState((s) => ({ ...s, error: String(err) }));
      }
    };
    void poll();
    const timer = setInterval(poll, 1000);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, []);
  return state;
}

/** How an embedded model's load state reads: one unloaded is not a failure, it loads again on its next request. */
const ENGINE_STATE: Record<EngineState, { label: string; class: string; title: string }> = {
  loaded: { label: 'serving', class: 'ok', title: 'loaded in memory' },
  loading: { label: 'loading', class: 'warn', title: 'loading: requests for it wait' },
  unloaded: { label: 'unloaded', class: 'idle', title: 'not in memory: loads on its next request' },
};

/** The colour of a rollout's status: a rollout that was stopped, by its SLOs or by hand, is not a success. */
const ROLLOUT_CLASS: Record<string, string> = { promoted: 'ok', ramping: 'warn', rolled_back: 'bad', aborted: 'bad' };

function Playground() {
  const [models, setModels] = useState<string[]>([]);
  const [model, setModel] = useState('');
  const [dialect, setDialect] = useState<Dialect>('chat');
  const [prompt, setPrompt] = useState('Tell me a short story about a cat.');
  const [answer, setAnswer] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  useEffect(() => {
    void fetch('/v1/models', { headers: authHeaders() })
      .then((r) => r.json())
      .then((b: { data?: { id: string }[] }) => {
        const ids = (b.data ?? []).map((m) => m.id);
        setModels(ids);
        setModel(ids[0] ?? '');
      });
  }, []);
  const send = async () => {
    setBusy(true);
    setAnswer('');
    setError('');
    try {
      await streamPrompt(dialect, model, prompt, authHeaders(), (text) => setAnswer((a) => a + text));
    } catch (err) {
      setError(String((err as Error).message ?? err));
    } finally {
      setBusy(false);
    }
  };
  return html`<section class="playground"><h2>Playground</h2>
    <div class="row">
      <select value=${model} onChange=${(e: Event) => setModel((e.target as HTMLSelectElement).value)} aria-label="model">
        ${models.map((m) => html`<option value=${m}>${m}</option>`)}
      </select>
      <select value=${dialect} onChange=${(e: Event) => setDialect((e.target as HTMLSelectElement).value as Dialect)} aria-label="API">
        ${DIALECTS.map((d) => html`<option value=${d.id}>${d.label}</option>`)}
      </select>
      <button onClick=${send} disabled=${busy || !model}>${busy ? 'Streaming…' : 'Send'}</button>
    </div>
    <textarea aria-label="message" value=${prompt} onInput=${(e: Event) => setPrompt((e.target as HTMLTextAreaElement).value)}></textarea>
    <div class="answer" data-testid="answer">${answer}</div>
    ${error && html`<div class="error">${error}</div>`}
  </section>`;
}

function App() {
  const { stats, error } = useStats();
  const [key, setKey] = useState(localStorage.getItem(keyStore) ?? '');
  const live = stats?.live;
  const [placeholder] = useState(emptyMinute);
  const times = live?.series.map((s) => s.t) ?? placeholder;
  const zeros = times.map(() => 0);
  const queue = stats?.engines.reduce((a, e) => a + e.queueDepth, 0) ?? 0;
  const kpi = (label: string, value: string, id: string) =>
    html`<div class="kpi"><div class="value" data-testid=${id}>${value}</div><div class="label">${label}</div></div>`;
  return html`
    <header>
      <h1>Open-AutoGLM</h1>
      <input type="password" placeholder="admin API key (if auth is on)" value=${key}
        onChange=${(e: Event) => {
          const v = (e.target as HTMLInputElement).value;
          setKey(v);
          localStorage.setItem(keyStore, v);
        }} />
    </header>
    ${error && html`<div class="error" style="padding: .5rem 1.5rem">${error}</div>`}
    <main>
      <div class="kpis">
        ${kpi('requests / s', fmt(live?.requestsPerS), 'rps')}
        ${kpi('tokens / s', fmt(live?.tokensPerS, 0), 'tps')}
        ${kpi('latency p50 / p99 ms', `${fmt(live?.latencyMs.p50, 0)} / ${fmt(live?.latencyMs.p99, 0)}`, 'latency')}
        ${kpi('first token p50 ms', fmt(live?.ttftMs.p50, 0), 'ttft')}
        ${kpi('queue depth', String(queue), 'queue')}
        ${kpi('requests served', String(live?.total.requests ?? 0), 'total')}
        ${kpi('errors / s', fmt(live?.errorsPerS), 'errors')}
      </div>
      <${LiveChart} title="requests / s" unit="req/s" series=${['requests / s', 'errors']} times=${times}
        values=${live ? [live.series.map((s) => s.requests), live.series.map((s) => s.errors)] : [zeros, zeros]} />
      <${LiveChart} title="tokens / s" unit="tok/s" series=${['tokens / s']} times=${times} values=${[live ? live.series.map((s) => s.tokens) : zeros]} />
      <section class="wide"><h2>Replicas</h2><div class="table"><table data-testid="replicas">
        <tr><th>model</th><th>replica</th><th>state</th><th>breaker</th><th class="num">in flight</th><th class="num" title="time to first token, moving average">TTFT ms</th></tr>
        ${(stats?.replicas ?? []).map(
          (
            r,
          ) => html`<tr><td class="name" title=${r.model}>${r.model}</td><td class="name" title=${r.id}>${r.id}</td><td class=${r.available ? 'ok' : 'bad'}>${r.available ? 'healthy' : 'unavailable'}</td>
          <td class=${r.breaker === 'closed' ? 'ok' : r.breaker === 'open' ? 'bad' : 'warn'}>${r.breaker}</td><td class="num">${r.outstanding}</td><td class="num">${fmt(r.ewmaTtftMs, 0)}</td></tr>`,
        )}
        ${(stats?.engines ?? [])
          .filter((e) => !e.model.includes('/'))
          .map((e) => {
            const state = ENGINE_STATE[e.status ?? 'loaded'];
            return html`<tr data-model=${e.model}><td class="name" title=${e.model}>${e.model}</td><td>embedded</td><td class=${state.class} data-testid="engine-state" title=${state.title}>${state.label}</td><td>–</td><td class="num">${e.status === 'unloaded' ? '–' : `${e.busySequences}/${e.parallel}`}</td><td class="num">–</td></tr>`;
          })}
      </table></div></section>
      <section><h2>Rollouts</h2><div class="table"><table data-testid="rollouts"><tr><th>release</th><th>status</th><th>stable</th><th>canary</th><th class="num">share</th></tr>
        ${(stats?.rollouts ?? []).map((r) => html`<tr><td>${r.release}</td><td class=${ROLLOUT_CLASS[r.status] ?? ''}>${r.status}</td><td>${r.stable}</td><td>${r.canary ?? '–'}</td><td class="num">${r.canaryPercent}%</td></tr>`)}
      </table></div>${(stats?.rollouts.length ?? 0) === 0 && html`<p>No releases configured.</p>`}</section>
      <section><h2>Tenants (last 24 h)</h2><div class="table"><table><tr><th>tenant</th><th class="num">requests</th><th class="num">tokens</th><th class="num">errors</th></tr>
        ${(stats?.tenants ?? []).map((t) => html`<tr><td>${t.tenant}</td><td class="num">${t.requests}</td><td class="num">${t.total_tokens}</td><td class="num">${t.errors}</td></tr>`)}
      </table></div></section>
      <${PromptArms} headers=${authHeaders} />
      <${Playground} />
    </main>`;
}

render(html`<${App} />`, document.getElementById('app')!);
