// The log tail: the last lines from /api/v1/logs, then live from the event stream, filtered by
// words and a lowest level, following the end unless the reader scrolled up.
import { html } from 'htm/preact';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { LogLine } from './api-types.ts';
import { clock, extraFields, LEVELS, levelRank, matches } from './format.ts';

export interface LogsProps {
  lines: LogLine[];
  live: boolean;
}

/** At most this many lines are drawn: the filter searches all that are kept. */
const DRAWN = 400;

export function LogsPanel({ lines, live }: LogsProps) {
  const [query, setQuery] = useState('');
  const [minLevel, setMinLevel] = useState(0);
  const list = useRef<HTMLDivElement>(null);
  const follow = useRef(true);

  const shown = useMemo(
    () => lines.filter((l) => matches(l, query, minLevel)).slice(-DRAWN),
    [lines, query, minLevel],
  );

  useLayoutEffect(() => {
    const el = list.current;
    if (el && follow.current) el.scrollTop = el.scrollHeight;
  }, [shown]);

  useEffect(() => {
    const el = list.current;
    if (!el) return;
    const onScroll = () => {
      follow.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
    };
    el.addEventListener('scroll', onScroll, { passive: true });
    return () => el.removeEventListener('scroll', onScroll);
  }, []);

  return html`<section class="panel logs" data-testid="logs">
    <header>
      <h2>Log tail</h2>
      <span class=${`live ${live ? 'on' : 'off'}`} title=${live ? 'streaming' : 'reconnecting'}>
        ${live ? 'live' : 'reconnecting'}
      </span>
      <div class="spacer"></div>
      <input
        type="search"
        placeholder="Filter: words in any field"
        aria-label="Filter log lines"
        data-testid="log-filter"
        value=${query}
        onInput=${(e: Event) => setQuery((e.target as HTMLInputElement).value)}
      />
      <select
        aria-label="Lowest level"
        value=${String(minLevel)}
        onChange=${(e: Event) => setMinLevel(Number((e.target as HTMLSelectElement).value))}
      >
        <option value="0">all levels</option>
        ${LEVELS.slice(2, 5).map(
          (l) => html`<option value=${String(levelRank(l))}>${l} and above</option>`,
        )}
      </select>
      <span class="count">${shown.length} of ${lines.length}</span>
    </header>
    <div class="lines" ref=${list} data-testid="log-lines">
      ${shown.map(
        (l) => html`<div class=${`line lvl-${String(l.level ?? 'info').toLowerCase()}`}>
          <span class="t">${clock(l)}</span>
          <span class="lvl">${String(l.level ?? '')}</span>
          <span class="src">${String(l.source ?? '')}</span>
          <span class="msg">${String(l.msg ?? '')}</span>
          <span class="kv">${extraFields(l)}</span>
        </div>`,
      )}
      ${shown.length === 0 ? html`<div class="empty">${lines.length ? 'No line matches the filter.' : 'No log lines yet.'}</div>` : null}
    </div>
  </section>`;
}
