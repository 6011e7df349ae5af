// The container health check: `node healthcheck.mjs [path]` exits 0 when the server on this
// container's PORT answers the path (default /health/live) with a 2xx. Node rather than curl, which
// the slim base lacks; a file rather than `node -e '…'`, whose spaces podman's Docker API splits.
const path = process.argv[2] ?? '/health/live';
const port = process.env.PORT || '3000';
try {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2000) });
  process.exit(res.ok ? 0 : 1);
} catch {
  process.exit(1);
}
