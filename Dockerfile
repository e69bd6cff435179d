# Herald in a container: a multi-stage build on Debian 12. The release
# binary is built in the Rust image and copied into debian:bookworm-slim,
# which adds only CA certificates (for the relay, feeds and providers) and
# curl for the health check; the time-zone database is compiled in. Runs as the unprivileged user herald (uid 10001); the store
# and the outbox live in the /var/lib/herald volume.
#
#   docker build -t herald .
#   docker run --rm herald --version
#   docker compose up     (compose.yaml: Herald, PostgreSQL, a Postfix relay)

FROM rust:1.94-bookworm AS build
WORKDIR /src
COPY . .
# The registry and target folders are build caches (BuildKit), so a rebuild
# after a source change compiles Herald only.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin herald \
    && install -m 0755 -s target/release/herald /usr/local/bin/herald

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb \
    && groupadd --system --gid 10001 herald \
    && useradd --system --uid 10001 --gid herald --home-dir /var/lib/herald --shell /usr/sbin/nologin herald \
    && install -d -o herald -g herald -m 0750 /var/lib/herald /etc/herald
COPY --from=build /usr/local/bin/herald /usr/bin/herald
COPY deploy/container/herald.toml /etc/herald/herald.toml
USER herald
WORKDIR /var/lib/herald
VOLUME /var/lib/herald
ENV HERALD_CONFIG=/etc/herald/herald.toml
# 8080: subscriber pages, webhooks, /healthz, /readyz. 9464: /metrics
# (bound to all interfaces inside the container; publish it only to the
# monitoring network).
EXPOSE 8080 9464
HEALTHCHECK --interval=30s --timeout=5s CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["/usr/bin/herald"]
CMD ["run"]
