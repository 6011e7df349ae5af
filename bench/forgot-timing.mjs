// Does POST /password/forgot tell by its time whether an address has an account? Against a
// running server (AUTH_URL, default http://127.0.0.1:3000, with rate limits high enough, e.g.
// THROTTLE_LOGIN_LIMIT=100000 THROTTLE_FORGOT_RECIPIENT_LIMIT=100000: the registered address is
// asked every round, and past its recipient limit would get the guard's quicker 429): N
// interleaved requests for a registered and for unknown
// addresses, medians and 90th percentiles. `node bench/forgot-timing.mjs`
const base = `${process.env.AUTH_URL ?? 'http://127.0.0.1:3000'}/api/v1/auth`;
const rounds = Number(process.env.ROUNDS ?? 200);
const post = (path, body) => fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const known = `timing-${Date.now()}@example.com`;
await post('/register', { email: known, password: 'password-123' });
const time = async (email) => {
  const started = performance.now();
  await (await post('/password/forgot', { email })).text();
  return performance.now() - started;
};
const samples = { known: [], unknown: [] };
for (let i = 0; i < rounds; i++) {
  samples.known.push(await time(known));
  samples.unknown.push(await time(`nobody-${Date.now()}-${i}@example.com`));
}
const at = (xs, q) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * q)];
const row = (xs) => ({ medianMs: +at(xs, 0.5).toFixed(2), p90Ms: +at(xs, 0.9).toFixed(2) });
console.log(JSON.stringify({ rounds, known: row(samples.known), unknown: row(samples.unknown), medianRatio: +(at(samples.known, 0.5) / at(samples.unknown, 0.5)).toFixed(3) }));
