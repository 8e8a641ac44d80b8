# Multi-stage build: compile in the Rust image, run from a small Debian image as a non-root user.
FROM rust:1-bookworm AS build
WORKDIR /src
# The dependencies first, in a layer of their own: built against empty sources of our own, so a
# change to src/ rebuilds only tableau-scim. Every target Cargo.toml names must exist, hence the
# empty benches and example.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src benches bench \
    && printf '//! Empty: the dependencies build first.\nfn main() {}\n' > src/main.rs && echo '//! Empty: the dependencies build first.' > src/lib.rs \
    && sed -n '/^\[\[bench\]\]/{n;s/^name = "\(.*\)"/\1/p}' Cargo.toml \
       | while read -r b; do echo 'fn main() {}' > "benches/$b.rs"; done \
    && echo 'fn main() {}' > bench/reference_server.rs \
    && cargo build --release --locked --bin tableau-scim \
    && rm -rf src benches bench
# What the build reads: the sources, the SCIM schemas they include, the console's templates
# (askama compiles them in) and the benches Cargo.toml names. .dockerignore lets in only these.
COPY src ./src
COPY scim-schemas ./scim-schemas
COPY templates ./templates
COPY benches ./benches
COPY bench/reference_server.rs ./bench/reference_server.rs
# Our sources' times may be older than the empty ones': touch them so cargo rebuilds the crate.
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --bin tableau-scim

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
