# gRPC DeviceService for ECS Fargate (arm64). Built by CDK (ContainerImage.fromAsset) at deploy time.
#
# Stage 1 bundles src/grpc/main.ts with esbuild on the build machine's own platform (the output
# is plain JavaScript); stage 2 is a distroless Node image: no shell, no package manager,
# running as the non-root user 65532.

FROM --platform=$BUILDPLATFORM node:22-bookworm-slim AS build
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json ./
COPY scripts/build-grpc.ts ./scripts/
COPY src ./src
RUN npx tsx scripts/build-grpc.ts /build/dist/grpc

FROM --platform=linux/arm64 gcr.io/distroless/nodejs22-debian12:nonroot
WORKDIR /app
ENV NODE_ENV=production PORT=50051
COPY --from=build --chown=65532:65532 /build/dist/grpc/ /app/
USER 65532:65532
EXPOSE 50051
# The tiny bundled grpc.health.v1 client: exit 0 only when the server answers SERVING.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/nodejs/bin/node", "/app/health-client.mjs"]
# SIGTERM goes straight to node (no shell in between), which shuts the server down gracefully.
ENTRYPOINT ["/nodejs/bin/node", "--enable-source-maps", "/app/main.mjs"]
