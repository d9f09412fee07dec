# The nmp container image: the `nemo` binary, entry point `nemo services run`.
#
#   docker build -t nmp:0.1.0 .
#   docker run --rm -p 8080:8080 -v nmp-data:/var/lib/nmp nmp:0.1.0
#
# Stage 1 builds a release binary; stage 2 is a distroless runtime (glibc, CA certificates, no
# shell, no package manager) running as the unprivileged user 65532. The root filesystem can be
# mounted read-only: the server writes only to /var/lib/nmp (the SQLite store) and /tmp.
# See docs/deployment.md.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY crates crates
RUN cargo build --release --locked -p nmp-cli --bin nemo \
 && install -D -m 0755 target/release/nemo /out/nemo \
 && mkdir -p /out/var/lib/nmp

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/nemo /usr/local/bin/nemo
COPY --from=build --chown=65532:65532 /out/var/lib/nmp /var/lib/nmp
USER 65532:65532
ENV NMP_HOST=0.0.0.0 \
    NMP_PORT=8080 \
    NMP_DATA_DIR=/var/lib/nmp
EXPOSE 8080
VOLUME ["/var/lib/nmp"]
ENTRYPOINT ["/usr/local/bin/nemo"]
CMD ["services", "run"]
