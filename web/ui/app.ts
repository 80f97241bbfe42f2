// The dashboard at /ui: live numbers from /admin/stats once a second, charts, replica and rollout state, tenant usage,
// and a playground that streams a chat completion. Preact + htm (no build-time JSX) and uPlot for the charts.
import { h, render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import htm from 'htm';
import uPlot from 'uplot';

const html = htm.bind(h);

interface Stats {
  live: {
    series: { t: number; requests: number; errors: number; tokens: number }[];
    requestsPerS: number; tokensPerS: number; errorsPerS: number;
    latencyMs: { p50: number | null; p90: number | null; p99: number | null };
    ttftMs: { p50: number | null; p99: number | null };
    total: { requests: number; errors: number; tokens: number };
  };
  engines: { model: string; queueDepth: number; busySequences: number; parallel: number }[];
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
    return () => { stopped = true; clearInterval(timer); };
  }, []);
  return state;
}

function Chart({ title, series, values, unit }: { title: string; series: number[]; values: number[][]; unit: string }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  useEffect(() => {
    if (!box.current) return;
    plot.current = new uPlot({
      width: box.current.clientWidth || 400, height: 180,
      series: [{}, ...values.map((_, i) => ({ label: i === 0 ? title : 'errors', stroke: i === 0 ? '#1f77b4' : '#cf222e', width: 2 }))],
      axes: [{}, { label: unit }],
      scales: { x: { time: true } },
    }, [series, ...values], box.current);
    return () => plot.current?.destroy();
  }, []);
  useEffect(() => plot.current?.setData([series, ...values]), [series, values]);
  return html`<section><h2>${title}</h2><div ref=${box}></div></section>`;
}

function Playground() {
  const [models, setModels] = useState<string[]>([]);
  const [model, setModel] = useState('');
  const [prompt, setPrompt] = useState('Tell me a short story about a cat.');
  const [answer, setAnswer] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  useEffect(() => {
    void fetch('/v1/models', { headers: authHeaders() }).then((r) => r.json()).then((b: { data?: { id: string }[] }) => {
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
      const res = await fetch('/v1/chat/completions', {
        method: 'POST', headers: { 'content-type': 'application/json', ...authHeaders() },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: prompt }], max_tokens: 128, stream: true }),
      });
      if (!res.ok || !res.body) throw new Error(((await res.json()) as { error?: { message: string } }).error?.message ?? `HTTP ${res.status}`);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        const events = buffer.split('\n\n');
        buffer = events.pop() ?? '';
        for (const event of events) {
          const data = event.replace(/^data: /, '');
          if (data === '[DONE]') continue;
          const chunk = JSON.parse(data) as { choices?: { delta?: { content?: string } }[]; error?: { message: string } };
          if (chunk.error) throw new Error(chunk.error.message);
          const text = chunk.choices?.[0]?.delta?.content;
          if (text) setAnswer((a) => a + text);
        }
      }
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
  const times = live?.series.map((s) => s.t) ?? [];
  const queue = stats?.engines.reduce((a, e) => a + e.queueDepth, 0) ?? 0;
  const kpi = (label: string, value: string, id: string) => html`<div class="kpi"><div class="value" data-testid=${id}>${value}</div><div class="label">${label}</div></div>`;
  return html`
    <header>
      <h1>Open-AutoGLM</h1>
      <input type="password" placeholder="admin API key (if auth is on)" value=${key}
        onChange=${(e: Event) => { const v = (e.target as HTMLInputElement).value; setKey(v); localStorage.setItem(keyStore, v); }} />
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
      ${live && html`<${Chart} title="requests / s" unit="req/s" series=${times} values=${[live.series.map((s) => s.requests), live.series.map((s) => s.errors)]} />`}
      ${live && html`<${Chart} title="tokens / s" unit="tok/s" series=${times} values=${[live.series.map((s) => s.tokens)]} />`}
      <section><h2>Replicas</h2><table><tr><th>model</th><th>replica</th><th>state</th><th>breaker</th><th>in flight</th><th>TTFT (ewma)</th></tr>
        ${(stats?.replicas ?? []).map((r) => html`<tr><td>${r.model}</td><td>${r.id}</td><td class=${r.available ? 'ok' : 'bad'}>${r.available ? 'healthy' : 'unavailable'}</td>
          <td class=${r.breaker === 'closed' ? 'ok' : r.breaker === 'open' ? 'bad' : 'warn'}>${r.breaker}</td><td>${r.outstanding}</td><td>${fmt(r.ewmaTtftMs, 0)}</td></tr>`)}
        ${(stats?.engines ?? []).filter((e) => !e.model.includes('/')).map((e) => html`<tr><td>${e.model}</td><td>embedded</td><td class="ok">serving</td><td>–</td><td>${e.busySequences}/${e.parallel}</td><td>–</td></tr>`)}
      </table></section>
      <section><h2>Rollouts</h2><table><tr><th>release</th><th>status</th><th>stable</th><th>canary</th><th>share</th></tr>
        ${(stats?.rollouts ?? []).map((r) => html`<tr><td>${r.release}</td><td class=${r.status === 'rolled_back' ? 'bad' : r.status === 'ramping' ? 'warn' : 'ok'}>${r.status}</td><td>${r.stable}</td><td>${r.canary ?? '–'}</td><td>${r.canaryPercent}%</td></tr>`)}
      </table>${(stats?.rollouts.length ?? 0) === 0 && html`<p>No releases configured.</p>`}</section>
      <section><h2>Tenants (last 24 h)</h2><table><tr><th>tenant</th><th>requests</th><th>tokens</th><th>errors</th></tr>
        ${(stats?.tenants ?? []).map((t) => html`<tr><td>${t.tenant}</td><td>${t.requests}</td><td>${t.total_tokens}</td><td>${t.errors}</td></tr>`)}
      </table></section>
      <${Playground} />
    </main>`;
}

render(html`<${App} />`, document.getElementById('app')!);
