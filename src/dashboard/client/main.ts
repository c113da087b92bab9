// The dashboard page: asks for the admin token (or takes it from #token=… once), then polls
// /api/v1/status and /api/v1/stats each second, tails the log and offers Restart and Reload.
import { html, render } from 'htm/preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { Actions } from './actions.ts';
import { AdminApi, Unauthorized } from './api.ts';
import type { LogLine, Stats, Status } from './api-types.ts';
import { Cards } from './cards.ts';
import { Chart } from './chart.ts';
import { bytes, latency, num } from './format.ts';
import { LogsPanel } from './logs-panel.ts';
import { CLASSES, History } from './series.ts';

const TOKEN_KEY = 'pillion-admin-token';
const POLL_MS = 1000;
/** Five minutes of one-second samples. */
const SAMPLES = 300;
const KEPT_LINES = 2000;

export const CLASS_COLORS: Record<string, string> = {
  '2xx': '#34d399',
  '3xx': '#60a5fa',
  '4xx': '#fbbf24',
  '5xx': '#f87171',
};
const APP = '#2dd4bf';
const PILLION = '#a78bfa';

/** The token from the URL fragment (then removed from the address bar) or this tab's storage. */
function initialToken(): string | null {
  const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

function Login({ onToken, error }: { onToken: (t: string) => void; error: string | null }) {
  const [value, setValue] = useState('');
  const submit = (e: Event) => {
    e.preventDefault();
    if (value.trim()) onToken(value.trim());
  };
  return html`<main class="login">
    <form class="panel" onSubmit=${submit} data-testid="login">
      <div class="brand big"><span class="mark"></span>Pillion</div>
      <p>Paste the admin token. Pillion writes it to <code>admin-token</code> in its state
      directory (or to <code>admin.token_file</code>).</p>
      <input type="password" autocomplete="off" placeholder="admin token" aria-label="admin token"
        value=${value} onInput=${(e: Event) => setValue((e.target as HTMLInputElement).value)} />
      <button type="submit" class="primary">Connect</button>
      ${error ? html`<p class="error" data-testid="login-error">${error}</p>` : null}
      <p class="hint">The token stays in this tab only. A link ending in <code>#token=…</code> fills it in; the fragment never leaves the browser.</p>
    </form>
  </main>`;
}

function Dashboard({ api, onUnauthorized }: { api: AdminApi; onUnauthorized: () => void }) {
  const samples = useMemo(() => new History(SAMPLES), []);
  const [status, setStatus] = useState<Status | null>(null);
  const [stats, setStats] = useState<Stats | null>(null);
  const [columns, setColumns] = useState(() => samples.columns());
  const [down, setDown] = useState<string | null>(null);
  const [lines, setLines] = useState<LogLine[]>([]);
  const [live, setLive] = useState(false);
  const pending = useRef<LogLine[]>([]);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const [st, sx] = await Promise.all([
          api.get<Status>('/api/v1/status'),
          api.get<Stats>('/api/v1/stats'),
        ]);
        if (stopped) return;
        samples.push(sx);
        setStatus(st);
        setStats(sx);
        setColumns(samples.columns());
        setDown(null);
      } catch (err) {
        if (err instanceof Unauthorized) return onUnauthorized();
        if (!stopped) setDown((err as Error).message);
      }
      if (!stopped) timer = setTimeout(poll, POLL_MS);
    };
    poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [api]);

  useEffect(() => {
    const abort = new AbortController();
    // Lines arrive faster than a person reads: they are drawn at most four times a second.
    const flush = setInterval(() => {
      if (pending.current.length === 0) return;
      const add = pending.current;
      pending.current = [];
      setLines((old) => [...old, ...add].slice(-KEPT_LINES));
    }, 250);
    const tail = async () => {
      let wait = 1000;
      while (!abort.signal.aborted) {
        try {
          const recent = await api.get<LogLine[]>('/api/v1/logs?n=200');
          setLines(Array.isArray(recent) ? recent.slice(-KEPT_LINES) : []);
          pending.current = [];
          setLive(true);
          wait = 1000;
          await api.streamLogs((l) => pending.current.push(l), abort.signal);
        } catch (err) {
          if (err instanceof Unauthorized) return onUnauthorized();
        }
        setLive(false);
        if (abort.signal.aborted) return;
        await new Promise((r) => setTimeout(r, wait));
        wait = Math.min(wait * 2, 10_000);
      }
    };
    tail();
    return () => {
      abort.abort();
      clearInterval(flush);
    };
  }, [api]);

  const rate = samples.currentRate();
  const cpuApp = columns.cpu[1].at(-1) ?? null;
  const cpuPillion = columns.cpu[2].at(-1) ?? null;
  return html`<div class="page">
    <header class="top">
      <div class="brand"><span class="mark"></span>Pillion</div>
      ${
        status
          ? html`<span class="version">v${status.pillion.version}</span>
            <span class=${`pill state-${status.app.state}`} data-testid="app-state">app ${status.app.state}</span>
            <span class=${`pill ${status.ready ? 'ok' : 'warn'}`}>${status.ready ? 'serving' : 'not ready'}</span>
            ${status.draining ? html`<span class="pill bad">draining</span>` : null}`
          : html`<span class="pill">connecting…</span>`
      }
      <div class="spacer"></div>
      <${Actions} api=${api} onUnauthorized=${onUnauthorized} />
    </header>
    ${down ? html`<div class="banner" data-testid="down">Pillion is not answering (${down}); retrying every second.</div>` : null}
    ${status && stats ? html`<${Cards} status=${status} stats=${stats} rate=${rate} />` : null}
    <div class="charts">
      <div class="wide">
        <${Chart} testId="chart-requests" title="Requests per second" headline=${rate === null ? '—' : `${num(rate)} req/s`}
          data=${columns.requests} format=${(v: number | null) => num(v)}
          series=${CLASSES.map((c) => ({ label: c, color: CLASS_COLORS[c], fill: `${CLASS_COLORS[c]}22` }))} />
      </div>
      <${Chart} testId="chart-latency" title="Latency" headline=${`p99 ${latency(stats?.requests.latency_seconds.p99)}`}
        data=${columns.latency} format=${(v: number | null) => (v === null ? '—' : `${num(v)} ms`)}
        series=${[
          { label: 'p50', color: '#60a5fa' },
          { label: 'p90', color: '#fbbf24' },
          { label: 'p99', color: '#f87171' },
        ]} />
      <${Chart} testId="chart-cpu" title="CPU" headline=${`app ${num(cpuApp)} % · pillion ${num(cpuPillion)} %`}
        data=${columns.cpu} format=${(v: number | null) => (v === null ? '—' : `${num(v)} %`)}
        series=${[
          { label: 'app tree', color: APP, fill: `${APP}1f` },
          { label: 'pillion', color: PILLION, fill: `${PILLION}1f` },
        ]} />
      <${Chart} testId="chart-memory" title="Memory (RSS)"
        headline=${`app ${bytes(stats?.process.app?.rss_bytes)} · pillion ${bytes(stats?.process.pillion?.rss_bytes)}`}
        data=${columns.memory} format=${(v: number | null) => bytes(v)}
        series=${[
          { label: 'app tree', color: APP, fill: `${APP}1f` },
          { label: 'pillion', color: PILLION, fill: `${PILLION}1f` },
        ]} />
      <${Chart} testId="chart-connections" title="Open connections"
        headline=${`${stats?.requests.active_connections ?? '—'} conns · ${stats?.requests.active_streams ?? '—'} streams`}
        data=${columns.connections} format=${(v: number | null) => (v === null ? '—' : String(Math.round(v)))}
        series=${[
          { label: 'connections', color: '#38bdf8', fill: '#38bdf81f' },
          { label: 'h2 streams', color: '#f472b6' },
        ]} />
    </div>
    <${LogsPanel} lines=${lines} live=${live} />
    ${
      status
        ? html`<footer>
          HTTPS ${status.listen.https ?? '—'} · admin ${status.listen.admin ?? '—'} · probes ${status.listen.probes ?? 'off'}
          · Node ${status.pillion.node} · Pillion pid ${status.pillion.pid}
        </footer>`
        : null
    }
  </div>`;
}

function App() {
  const [token, setToken] = useState<string | null>(() => initialToken());
  const [error, setError] = useState<string | null>(null);
  const api = useMemo(() => (token ? new AdminApi(token) : null), [token]);
  const onToken = (t: string) => {
    sessionStorage.setItem(TOKEN_KEY, t);
    setError(null);
    setToken(t);
  };
  const onUnauthorized = () => {
    sessionStorage.removeItem(TOKEN_KEY);
    setError('That token was refused; paste the current one.');
    setToken(null);
  };
  if (!api) return html`<${Login} onToken=${onToken} error=${error} />`;
  return html`<${Dashboard} api=${api} onUnauthorized=${onUnauthorized} />`;
}

render(html`<${App} />`, document.getElementById('root') as HTMLElement);
