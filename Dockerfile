# syntax=docker/dockerfile:1
# Keel: one image for every role. The role comes from KEEL_ROLE or the command
# (`start --role api|worker|scheduler|all`); `migrate` and the operator commands run the same way.
# Guide: docs/deploy/docker.md. Decisions 037 (signals, no shell) and 023 (--max-semi-space-size).
ARG NODE_VERSION=20

# Build: every dependency, then the TypeScript of the three packages.
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.base.json ./
COPY packages/engine/package.json packages/engine/
COPY packages/server/package.json packages/server/
COPY packages/sdk/package.json packages/sdk/
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY packages/engine packages/engine
COPY packages/server packages/server
COPY packages/sdk packages/sdk
RUN npx tsc -b packages/engine packages/server packages/sdk

# Production dependencies only (the embedded Postgres's install script is skipped: production
# needs DATABASE_URL).
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/engine/package.json packages/engine/
COPY packages/server/package.json packages/server/
COPY packages/sdk/package.json packages/sdk/
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:${NODE_VERSION}-bookworm-slim
ENV NODE_ENV=production PORT=7070
WORKDIR /app
COPY --from=deps /app/package.json ./
COPY --from=deps /app/node_modules node_modules
COPY --from=build /app/packages/engine/package.json packages/engine/
COPY --from=build /app/packages/engine/dist packages/engine/dist
COPY --from=build /app/packages/engine/migrations packages/engine/migrations
COPY --from=build /app/packages/engine/sql packages/engine/sql
COPY --from=build /app/packages/sdk/package.json packages/sdk/
COPY --from=build /app/packages/sdk/dist packages/sdk/dist
COPY --from=build /app/packages/server/package.json packages/server/
COPY --from=build /app/packages/server/dist packages/server/dist
# The files belong to root and the process does not: Keel writes nothing to disk in production.
USER node
EXPOSE 7070
# Liveness only: a database outage must not get the container restarted (docs/running.md).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 7070) + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form, no shell: Keel is PID 1 and receives SIGTERM itself.
ENTRYPOINT ["node", "--max-semi-space-size=8", "packages/server/dist/bin/keel.js"]
CMD ["start"]
