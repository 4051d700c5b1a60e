# Build: the bundled SQLite and libpq need only a C compiler.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
COPY migrations ./migrations
# The PDF font and the OpenAPI document are compiled in, the order of the code the server
# runs (assets/symbol-order.txt) goes to the linker; the benchmark target is declared in
# Cargo.toml.
COPY assets ./assets
COPY openapi ./openapi
COPY bench ./bench
RUN cargo build --release --locked && strip target/release/firmenportal

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /data firmenportal \
 && mkdir -p /data && chown firmenportal /data
COPY --from=build /src/target/release/firmenportal /usr/local/bin/firmenportal
USER firmenportal
WORKDIR /data
ENV BIND_ADDR=0.0.0.0:8080 \
    DATA_DIR=/data
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080"]
ENTRYPOINT ["firmenportal"]
CMD ["serve"]
