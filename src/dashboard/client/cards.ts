// The row of figures above the charts: the app, requests, latency, connections, certificates
// and Pillion itself.
import { html } from 'htm/preact';
import type { Certificate, Stats, Status } from './api-types.ts';
import { bytes, duration, latency, num } from './format.ts';

const CLASS_NAMES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

function lastExit(s: Status['app']['last_exit']): string {
  if (!s) return 'none';
  const how = s.signal ? s.signal : `code ${s.code ?? '?'}`;
  return s.reason ? `${how} (${s.reason})` : how;
}

function certClass(c: Certificate): string {
  const days = c.expires_in_s / 86400;
  return days < 7 ? 'bad' : days < 30 ? 'warn' : 'ok';
}

function StatusBar({ counts }: { counts: Stats['requests']['by_status_class'] }) {
  const total = CLASS_NAMES.reduce((a, c) => a + (counts[c] ?? 0), 0);
  return html`<div class="codes">
    <div class="bar">
      ${CLASS_NAMES.filter((c) => (counts[c] ?? 0) > 0).map(
        (c) =>
          html`<span class=${`seg c${c}`} style=${{ flexGrow: counts[c] ?? 0 }} title=${`${c}: ${counts[c]}`}></span>`,
      )}
      ${total === 0 ? html`<span class="seg none"></span>` : null}
    </div>
    <div class="legend">
      ${CLASS_NAMES.map(
        (c) =>
          html`<span class=${`c${c}`} data-testid=${`count-${c}`}><i></i>${c} ${counts[c] ?? 0}</span>`,
      )}
    </div>
  </div>`;
}

export function Cards({
  status,
  stats,
  rate,
}: {
  status: Status;
  stats: Stats;
  rate: number | null;
}) {
  const app = status.app;
  const r = stats.requests;
  const pill = stats.process.pillion;
  return html`<div class="cards">
    <section class="panel card" data-testid="card-app">
      <h2>App</h2>
      <div class="big"><span class=${`dot state-${app.state}`}></span>${app.state}</div>
      <dl>
        <dt>pid</dt><dd data-testid="app-pid">${app.pid ?? '—'}</dd>
        <dt>uptime</dt><dd>${duration(app.uptime_s)}</dd>
        <dt>restarts</dt><dd data-testid="app-restarts">${app.restarts}</dd>
        <dt>last exit</dt><dd>${lastExit(app.last_exit)}</dd>
      </dl>
    </section>
    <section class="panel card" data-testid="card-requests">
      <h2>Requests</h2>
      <div class="big">${rate === null ? '—' : num(rate)}<small> req/s</small></div>
      <dl><dt>total</dt><dd data-testid="requests-total">${r.total}</dd></dl>
      <${StatusBar} counts=${r.by_status_class} />
    </section>
    <section class="panel card">
      <h2>Latency</h2>
      <div class="big">${latency(r.latency_seconds.p99)}<small> p99</small></div>
      <dl>
        <dt>p50</dt><dd>${latency(r.latency_seconds.p50)}</dd>
        <dt>p90</dt><dd>${latency(r.latency_seconds.p90)}</dd>
      </dl>
    </section>
    <section class="panel card">
      <h2>Connections</h2>
      <div class="big">${r.active_connections}<small> open</small></div>
      <dl>
        <dt>h2 streams</dt><dd>${r.active_streams}</dd>
        <dt>app fds</dt><dd>${stats.process.app?.fds ?? '—'}</dd>
        <dt>app procs</dt><dd>${stats.process.app?.processes ?? '—'}</dd>
      </dl>
    </section>
    <section class="panel card" data-testid="card-certificates">
      <h2>Certificate${status.certificates.length === 1 ? '' : 's'}</h2>
      ${status.certificates.length === 0 ? html`<div class="big muted">none</div>` : null}
      ${status.certificates.map(
        (c) => html`<div class="cert">
          <div class=${`big ${certClass(c)}`}>${Math.floor(c.expires_in_s / 86400)}<small> days left</small></div>
          <dl>
            <dt>subject</dt><dd title=${c.subject}>${c.subject}</dd>
            <dt>expires</dt><dd>${new Date(c.not_after).toLocaleDateString()}</dd>
            <dt>sha-256</dt><dd class="mono" title=${c.fingerprint256}>${c.fingerprint256.slice(0, 23)}…</dd>
          </dl>
        </div>`,
      )}
    </section>
    <section class="panel card">
      <h2>Pillion</h2>
      <div class="big">${duration(status.pillion.uptime_s)}<small> up</small></div>
      <dl>
        <dt>pid</dt><dd>${status.pillion.pid}</dd>
        <dt>memory</dt><dd>${bytes(pill?.rss_bytes)}</dd>
        <dt>fds</dt><dd>${pill?.fds ?? '—'}</dd>
        <dt>threads</dt><dd>${pill?.threads ?? '—'}</dd>
      </dl>
    </section>
  </div>`;
}
