# syntax=docker/dockerfile:1
# AI Hub gateway image: `docker build -t aihub .`, then
#   docker run -p 8080:8080 -e AIHUB_SECRET_KEY=... -v aihub-data:/data aihub
# (SQLite in /data unless DATABASE_URL points at PostgreSQL; see docker-compose.yml).

# ---- build ----------------------------------------------------------------
FROM rust:1-bookworm AS builder
WORKDIR /build
COPY . .
# Cache mounts keep the crate registry and target dir across builds (BuildKit);
# the binary is copied out because the cached target dir isn't part of the layer.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/build/target \
    cargo build --release --locked -p aihub-server \
    && install -m 0755 target/release/aihub /usr/local/bin/aihub

# ---- runtime --------------------------------------------------------------
FROM debian:bookworm-slim
# ca-certificates: TLS to the upstream providers; curl: the health check.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 aihub \
    && useradd --system --uid 10001 --gid aihub --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin aihub \
    && mkdir -p /data \
    && chown aihub:aihub /data
COPY --from=builder /usr/local/bin/aihub /usr/local/bin/aihub

ENV AIHUB_HOST=0.0.0.0 \
    AIHUB_PORT=8080 \
    AIHUB_DATA_DIR=/data
USER aihub:aihub
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD curl -fsS "http://127.0.0.1:${AIHUB_PORT}/health" >/dev/null || exit 1
ENTRYPOINT ["aihub"]
CMD ["serve"]
