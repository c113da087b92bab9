// `node bench/admin-token-compare.ts`: the admin token compare takes the same time whatever
// the guess: equal, wrong in its first or last character, shorter, longer. Each guess is
// compared 200,000 times, interleaved over 5 rounds; the report is ns per compare and each
// guess's ratio to the right token. A timing belongs here, not in a test (shared machines).
import { randomBytes } from 'node:crypto';
import { sameSecret } from '../src/admin/admin-token.ts';

const token = randomBytes(32).toString('base64url');
const flip = (s: string, i: number): string =>
  s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
const guesses: [string, string][] = [
  ['right token', token],
  ['first char wrong', flip(token, 0)],
  ['last char wrong', flip(token, token.length - 1)],
  ['one char short', token.slice(0, -1)],
  ['one char long', `${token}x`],
  ['empty', ''],
];
const N = 200_000;
const total = new Map<string, number>(guesses.map(([name]) => [name, 0]));
for (let round = 0; round < 5; round++) {
  for (const [name, guess] of guesses) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) sameSecret(guess, token);
    total.set(name, (total.get(name) ?? 0) + Number(process.hrtime.bigint() - t0));
  }
}
const base = (total.get('right token') ?? 1) / (5 * N);
for (const [name] of guesses) {
  const ns = (total.get(name) ?? 0) / (5 * N);
  console.log(`${name.padEnd(18)} ${ns.toFixed(0).padStart(6)} ns  ×${(ns / base).toFixed(3)}`);
}
