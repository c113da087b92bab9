// Restart and Reload: each asks once more before it acts, since a restart interrupts the app.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { type AdminApi, Unauthorized } from './api.ts';

type Name = 'restart' | 'reload';

const WHAT: Record<Name, { label: string; ask: string; done: string }> = {
  restart: { label: 'Restart app', ask: 'Restart the app?', done: 'App restarted' },
  reload: { label: 'Reload config', ask: 'Reload the config?', done: 'Config reloaded' },
};

/** What the action's reply says: the new pid of a restart, the fields a reload applied. */
function summary(name: Name, reply: unknown): string {
  const r = (reply ?? {}) as { pid?: unknown; applied?: unknown; need_restart?: unknown };
  const done = WHAT[name].done;
  if (name === 'restart') return typeof r.pid === 'number' ? `${done}: pid ${r.pid}` : done;
  const applied = Array.isArray(r.applied) ? r.applied : [];
  const later = Array.isArray(r.need_restart) ? r.need_restart : [];
  return [
    applied.length ? `${done}: ${applied.join(', ')}` : `${done}: nothing changed`,
    later.length ? ` (at the next start: ${later.join(', ')})` : '',
  ].join('');
}

export function Actions({ api, onUnauthorized }: { api: AdminApi; onUnauthorized: () => void }) {
  const [asking, setAsking] = useState<Name | null>(null);
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<{ text: string; bad: boolean } | null>(null);

  const run = async (name: Name) => {
    setAsking(null);
    setBusy(true);
    try {
      setNote({ text: summary(name, await api.action(name)), bad: false });
    } catch (err) {
      if (err instanceof Unauthorized) return onUnauthorized();
      setNote({ text: `${WHAT[name].label} failed: ${(err as Error).message}`, bad: true });
    } finally {
      setBusy(false);
    }
  };

  const button = (name: Name) =>
    asking === name
      ? html`<span class="confirm">
          ${WHAT[name].ask}
          <button class="danger" data-testid=${`${name}-confirm`} onClick=${() => run(name)}>Yes</button>
          <button onClick=${() => setAsking(null)}>No</button>
        </span>`
      : html`<button data-testid=${name} disabled=${busy} onClick=${() => {
          setNote(null);
          setAsking(name);
        }}>${WHAT[name].label}</button>`;

  return html`<div class="actions">
    ${note ? html`<span class=${`toast ${note.bad ? 'bad' : 'ok'}`} data-testid="toast">${note.text}</span>` : null}
    ${button('reload')} ${button('restart')}
  </div>`;
}
