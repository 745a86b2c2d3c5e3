# pdv-sync server image: `docker compose up` runs it with PostgreSQL (docker-compose.yml).
# Build stage: compile TypeScript and the native SQLite binding, then drop development packages.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY config ./config
RUN npm run build && npm prune --omit=dev \
  && find dist -name '*.test.*' -delete && rm -rf dist/testing

FROM node:20-bookworm-slim
# pg_dump / pg_restore for `pdv-sync backup` and `restore` on PostgreSQL.
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client \
  && rm -rf /var/lib/apt/lists/* \
  && mkdir -p /var/lib/pdv-sync && chown node:node /var/lib/pdv-sync
WORKDIR /app
ENV NODE_ENV=production
ENV PDV_SYNC_HOST=0.0.0.0
ENV PDV_SYNC_PORT=3001
ENV PDV_SYNC_DB=sqlite:/var/lib/pdv-sync/data/pdv-sync.db
ENV PDV_SYNC_LOG_FILE=/var/lib/pdv-sync/logs/pdv-sync-server.log
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/config ./config
USER node
VOLUME /var/lib/pdv-sync
EXPOSE 3001
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PDV_SYNC_PORT||3001)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["server"]
