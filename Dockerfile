# Multi-stage build: compile in the Rust image, run from a small Debian image as a non-root user.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY scim-schemas ./scim-schemas
COPY benches ./benches
RUN cargo build --release --locked --bin tableau-scim

FROM debian:bookworm-slim
# Unpinned on purpose: Debian replaces package versions in place, so pins break rebuilds.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data --create-home tableau-scim \
    && mkdir -p /etc/tableau-scim
COPY --from=build /src/target/release/tableau-scim /usr/local/bin/tableau-scim
USER 10001
WORKDIR /data
# The configuration (and any secret files) on one volume, the SQLite store on the other.
VOLUME ["/data", "/etc/tableau-scim"]
ENV TABLEAU_SCIM_DATA_DIR=/data \
    TABLEAU_SCIM_LISTEN=0.0.0.0:8080 \
    TABLEAU_SCIM_LOG_FORMAT=json
EXPOSE 8080
# /healthz answers over HTTP, or over HTTPS when the configuration enables TLS.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s \
    CMD ["sh", "-c", "curl -fsS http://127.0.0.1:8080/healthz || curl -fsSk https://127.0.0.1:8080/healthz || exit 1"]
ENTRYPOINT ["tableau-scim"]
CMD ["serve", "--config", "/etc/tableau-scim/config.toml"]
