# syntax=docker/dockerfile:1.7
# Open-AutoGLM as a container: the package is built and packed in one stage and installed in the next exactly as a
# user installs it (npm install --omit=dev of the packed tarball), so the image holds no compiler, no sources and no
# dev dependencies.
#
#   docker build -t open-autoglm .
#   docker run --rm -p 8080:8080 -v "$PWD/models:/models:ro" -e AUTOGLM_MODEL=stories260K open-autoglm
#
# CUDA: the same file with a CUDA runtime base; node-llama-cpp's prebuilt CUDA binaries (installed with the package)
# need CUDA 13's libcudart and libcublas from the base, and the NVIDIA container toolkit on the host for libcuda:
#
#   docker build --build-arg RUNTIME_BASE=nvidia/cuda:13.0.0-runtime-ubuntu24.04 -t open-autoglm:cuda .
#   docker run --rm --gpus all -p 8080:8080 -v "$PWD/models:/models:ro" open-autoglm:cuda serve --host 0.0.0.0 --gpu cuda

ARG NODE_IMAGE=node:20.20.2-bookworm-slim
ARG RUNTIME_BASE=node:20.20.2-bookworm-slim

FROM ${NODE_IMAGE} AS node

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Scripts are skipped: building needs TypeScript and esbuild only, not the native addons compiled or unpacked.
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json LICENSE README.md ./
COPY scripts/build-ui.mjs scripts/
COPY web web
COPY src src
RUN npm run build
RUN mkdir /pack && npm pack --ignore-scripts --pack-destination /pack && mv /pack/open-autoglm-*.tgz /pack/open-autoglm.tgz

FROM ${RUNTIME_BASE} AS runtime
# tini is PID 1: it forwards SIGTERM to node and reaps zombies, so a rollout's SIGTERM starts the drain.
RUN apt-get update && apt-get install -y --no-install-recommends tini ca-certificates && rm -rf /var/lib/apt/lists/*
# Node from the official image, so a CUDA base (which has none) runs the same Node as the default one.
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -sf ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && useradd --system --uid 10001 --home-dir /data --no-create-home autoglm
WORKDIR /app
RUN echo '{"name":"autoglm-image","private":true}' > package.json
RUN --mount=type=bind,from=build,source=/pack,target=/pack --mount=type=cache,target=/root/.npm npm install --omit=dev --no-audit --no-fund --prefer-offline /pack/open-autoglm.tgz
RUN mkdir -p /data /cache /models && chown autoglm /data /cache

# Everything written at run time goes to these folders, so the root filesystem can be read-only.
ENV NODE_ENV=production \
    HOME=/data \
    AUTOGLM_DATA_DIR=/data \
    AUTOGLM_CACHE_DIR=/cache \
    AUTOGLM_MODELS_DIR=/models \
    PATH=/app/node_modules/.bin:$PATH
VOLUME ["/data", "/cache", "/models"]

LABEL org.opencontainers.image.title="Open-AutoGLM" \
      org.opencontainers.image.description="Self-hosted LLM serving: an OpenAI-compatible server and gateway over llama.cpp, remote engines and a simulator" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="0.1.0"

USER 10001
EXPOSE 8080
# node -e, not curl: the slim image has no curl. /health is liveness; /ready (model loaded, not draining) is for balancers.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "require('http').get('http://127.0.0.1:8080/health', (r) => process.exit(r.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1))"]
ENTRYPOINT ["tini", "--", "autoglm"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
