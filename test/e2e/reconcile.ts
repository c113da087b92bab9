// Reconciles a load's outcomes with what the fixture app recorded (test/fixtures/app.ts, with
// APP_EVENTS_ANSWERS=1): which instance received each request id, and which it answered. Used
// by the SIGKILL e2e test and by bench/kills-under-load.ts and bench/restarts-under-load.ts.
import { readEvents } from './harness.ts';

/** One request's outcome at the client (chaos.ts `Outcome` and harness.ts `PacedOutcome`). */
export interface ClientOutcome {
  id: string;
  method: string;
  status: number;
  ok: boolean;
  error?: string;
  start: number;
  end: number;
}

/** One app process, from its `listening` line to the next one's. */
export interface AppInstance {
  /** Request ids received, with the method. */
  received: Map<string, string>;
  /** How many times each id was received (more than once is a request sent twice). */
  times: Map<string, number>;
  /** Request ids whose response was handed to the kernel. */
  answered: Set<string>;
}

/** The app's instances, in the order they ran (a killed one writes nothing after its kill). */
export function appInstances(events: string): AppInstance[] {
  const out: AppInstance[] = [];
  for (const line of readEvents(events)) {
    if (line.startsWith('listening ')) {
      out.push({ received: new Map(), times: new Map(), answered: new Set() });
      continue;
    }
    const m = /^(request|answered) (\S+) \S+ (\S+)$/.exec(line);
    const inst = out.at(-1);
    if (!m || !inst) continue;
    if (m[1] === 'request') {
      inst.received.set(m[3], m[2]);
      inst.times.set(m[3], (inst.times.get(m[3]) ?? 0) + 1);
    } else inst.answered.add(m[3]);
  }
  return out;
}

/** How many times each id reached the app, over all instances. */
function receipts(instances: AppInstance[]): Map<string, number> {
  const n = new Map<string, number>();
  for (const inst of instances)
    for (const [id, times] of inst.times) n.set(id, (n.get(id) ?? 0) + times);
  return n;
}

export interface KillReconciliation {
  requests: number;
  kills: number;
  failed: number;
  failedIdempotent: number;
  /** Failed POSTs the killed instance had received and not answered. */
  failedInFlightAtApp: number;
  /** Failed POSTs no instance received, sent before Pillion saw a kill's exit, settled after it. */
  failedNeverReceived: number;
  /** Requests in flight at the kills (sent before the exit was seen, settled after the signal). */
  inFlightAtKills: number;
  /** POSTs in flight at the killed app whose response still came: written just before the kill. */
  answeredAtKill: number;
  /** GETs in flight at the killed app, sent again to the next instance and answered. */
  retriedGets: number;
  postsReceivedTwice: number;
  /** Each rule broken, one sentence each; empty when everything reconciles. */
  problems: string[];
}

/**
 * Reconciles a load during which the app was SIGKILLed at `kills` (ms since the epoch, in order;
 * kill i ends instance i), Pillion seeing each instance exit at `exits`. Every failed request
 * must be a POST that the killed instance had received and not answered, or that no instance
 * received and that was in flight at a kill; no POST reaches the app twice; every answered
 * request reached it; a GET in flight at a killed instance was sent again and answered.
 */
export function reconcileKills(input: {
  outcomes: ClientOutcome[];
  events: string;
  kills: number[];
  exits: number[];
}): KillReconciliation {
  const { outcomes, kills, exits } = input;
  const instances = appInstances(input.events);
  const seen = receipts(instances);
  const byId = new Map(outcomes.map((o) => [o.id, o]));
  const problems: string[] = [];
  const say = (text: string): void => {
    if (problems.length < 50) problems.push(text);
  };
  if (exits.length !== kills.length) say(`${kills.length} kills but ${exits.length} exits seen`);
  if (instances.length < kills.length + 1)
    say(`${kills.length} kills but only ${instances.length} app instances recorded`);
  const windows = kills.map((k, i) => [k, Math.max(k, exits[i] ?? k)] as const);
  const inFlight = (o: ClientOutcome): boolean =>
    windows.some(([k, exit]) => o.start <= exit + 1 && o.end >= k);
  const instanceOf = (id: string): number => instances.findIndex((x) => x.received.has(id));
  const r: KillReconciliation = {
    requests: outcomes.length,
    kills: kills.length,
    failed: 0,
    failedIdempotent: 0,
    failedInFlightAtApp: 0,
    failedNeverReceived: 0,
    inFlightAtKills: outcomes.filter(inFlight).length,
    answeredAtKill: 0,
    retriedGets: 0,
    postsReceivedTwice: 0,
    problems,
  };
  for (const o of outcomes) {
    const n = seen.get(o.id) ?? 0;
    if (o.method === 'POST' && n > 1) {
      r.postsReceivedTwice++;
      say(`POST ${o.id} reached the app ${n} times`);
    }
    if (o.ok) {
      if (n === 0) say(`${o.method} ${o.id} answered but never received`);
      continue;
    }
    r.failed++;
    if (o.method !== 'POST') {
      r.failedIdempotent++;
      say(
        `${o.method} ${o.id} failed (${o.status} ${o.error ?? ''}): idempotent requests are retried`,
      );
      continue;
    }
    // A 502, a reset, or a 200 cut off when the app died mid-response.
    if (o.status !== 502 && o.status !== 0 && o.status !== 200)
      say(`POST ${o.id} failed with ${o.status}, not a 502 or a reset (${o.error ?? ''})`);
    if (n === 0) {
      r.failedNeverReceived++;
      if (!inFlight(o)) say(`POST ${o.id} failed, never received, and was not in flight at a kill`);
      continue;
    }
    const i = instanceOf(o.id);
    if (i >= kills.length) say(`POST ${o.id} failed but instance ${i}, never killed, received it`);
    else if (instances[i].answered.has(o.id))
      say(`POST ${o.id} failed but instance ${i} answered it before its kill`);
    else r.failedInFlightAtApp++;
  }
  // What each killed instance held at its kill: a POST fails (or its answer was already
  // written), a GET is sent again and answered.
  instances.forEach((inst, i) => {
    for (const [id, method] of inst.received) {
      if (inst.answered.has(id)) continue;
      const o = byId.get(id);
      if (!o) continue;
      if (i >= kills.length)
        say(`${method} ${id} received by instance ${i}, never killed, unanswered`);
      else if (o.ok && method === 'POST') r.answeredAtKill++;
      else if (o.ok && (seen.get(id) ?? 0) >= 2) r.retriedGets++;
      else if (o.ok) r.answeredAtKill++;
    }
  });
  return r;
}

export interface RestartReconciliation {
  requests: number;
  failed: number;
  /** POSTs the app received more than once. */
  postsReceivedTwice: number;
  /** Requests of any method not received exactly once. */
  notReceivedOnce: number;
  problems: string[];
}

/** Graceful restarts: no request fails, and each id reaches the app exactly once. */
export function reconcileRestarts(
  outcomes: ClientOutcome[],
  events: string,
): RestartReconciliation {
  const seen = receipts(appInstances(events));
  const problems: string[] = [];
  const say = (text: string): void => {
    if (problems.length < 50) problems.push(text);
  };
  let failed = 0;
  let twice = 0;
  let notOnce = 0;
  for (const o of outcomes) {
    const n = seen.get(o.id) ?? 0;
    if (!o.ok) {
      failed++;
      say(`${o.method} ${o.id} failed: ${o.status} ${o.error ?? ''}`);
    }
    if (o.method === 'POST' && n > 1) twice++;
    if (n !== 1) {
      notOnce++;
      say(`${o.method} ${o.id} reached the app ${n} times`);
    }
  }
  return {
    requests: outcomes.length,
    failed,
    postsReceivedTwice: twice,
    notReceivedOnce: notOnce,
    problems,
  };
}
