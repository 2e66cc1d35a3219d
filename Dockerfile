# syntax=docker/dockerfile:1
# The action's image: a static binary and CA certificates, nothing else.
#
#   docker build -t releasekit-sign .                      # builds from source
#   docker build --target prebuilt --build-arg ... .       # see ci/container-test.sh
#
# Stage `build` compiles a static musl binary; `runtime` copies it into scratch.
# `prebuilt` is the same final layout fed a binary built outside (offline CI).
# Both run as root: GitHub mounts the workspace for the action to write into.

FROM rust:1.88-alpine3.22 AS build
# hadolint ignore=DL3018
RUN apk add --no-cache musl-dev build-base cmake perl ca-certificates
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin releasekit-sign \
 && cp target/release/releasekit-sign /releasekit-sign

FROM scratch AS prebuilt
ARG BINARY=releasekit-sign
ARG CA_CERTS=ca-certificates.crt
COPY ${CA_CERTS} /etc/ssl/certs/ca-certificates.crt
COPY ${BINARY} /releasekit-sign
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
ENTRYPOINT ["/releasekit-sign"]

FROM scratch AS runtime
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /releasekit-sign /releasekit-sign
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
ENTRYPOINT ["/releasekit-sign"]
