# The action's image: the release's static Linux binary and CA certificates,
# nothing else. No compiler runs here: the image holds exactly the bytes the
# release workflow built with ci/build-release.sh and ran through the
# container test (ci/container-test.sh), for linux/amd64 and linux/arm64.
#
# The build context, laid out by ci/image-context.sh:
#   ca-certificates.crt
#   amd64/releasekit-sign, arm64/releasekit-sign   (Docker's arch names)
#
# It runs as root: GitHub mounts the workspace for the action to write into.
FROM scratch
ARG TARGETARCH
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY ${TARGETARCH}/releasekit-sign /releasekit-sign
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
ENTRYPOINT ["/releasekit-sign"]
