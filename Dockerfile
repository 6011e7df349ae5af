# The server's image: `podman build -t auth-backend .` (or docker build). Runs as a non-root user
# on the production dependencies only. Migrations: `node dist/src/migrate.js` in the same image.
#
# Stopping: after SIGTERM the server serves SHUTDOWN_DELAY_SECONDS more with /health/ready at
# 503, then drains for up to 9 s. Give it a stop timeout above both (docker run --stop-timeout,
# compose stop_grace_period, Kubernetes terminationGracePeriodSeconds), or it is killed mid-drain.

# A glibc base: the embedded database's lock addon (fs-native-extensions) ships glibc prebuilds.
ARG NODE_IMAGE=docker.io/library/node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
ENV NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/client/package.json packages/client/
COPY packages/receiver/package.json packages/receiver/
# --ignore-scripts: no install script is needed here (nest build is tsc; the lock addon ships
# prebuilds), and it does not depend on whether this npm honours package.json's allowScripts.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ormconfig.ts ./
COPY src src
COPY migrations migrations
RUN npx nest build

FROM ${NODE_IMAGE}
ENV NODE_ENV=production NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/client/package.json packages/client/
COPY packages/receiver/package.json packages/receiver/
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist dist
COPY deploy/healthcheck.mjs ./
# The embedded database's default home, for a try without DATABASE_URL (not for production:
# its data lives and dies with the container unless a volume is mounted here).
RUN mkdir -p .data && chown node:node .data
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "healthcheck.mjs", "/health/live"]
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/main.js"]
