// Restart and Reload: each asks once more before it acts, since a restart interrupts the app.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { type AdminApi, Unauthorized } from './api.ts';

type Name = 'restart' | 'reload';

const WHAT: Record<Name, { label: string; ask: string; done: string }> = {
  restart: { label: 'Restart app', ask: 'Restart the app?', done: 'Restart requested' },
  reload: { label: 'Reload config', ask: 'Reload the config?', done: 'Config reloaded' },
};

function summary(name: Name, reply: unknown): string {
  const r = (reply ?? {}) as Record<string, unknown>;
  const said = r.message ?? r.result ?? r.status;
  return typeof said === 'string' && said ? `${WHAT[name].done}: ${said}` : WHAT[name].done;
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
