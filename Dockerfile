# Granary's image: the static granary binary on an empty base, run as an
# unprivileged user, data under the /data volume. Any subcommand runs:
#   docker run granary:dev server            (the embedded single-machine store)
#   docker run granary:dev master --id m1 …  (one role of a cluster; see deploy/compose.yaml)
#
# Build it with `make docker` (needs Go and Docker, no network), which runs
# deploy/build-image.sh: it compiles granary with CGO off and builds this
# file with a context that also holds the /data and /tmp folders with their
# owner and modes (an empty base image has no shell to create them).
FROM scratch
COPY rootfs/ /
COPY --chown=65532:65532 data/ /data/
COPY granary /usr/local/bin/granary
USER 65532:65532
WORKDIR /data
ENV TMPDIR=/tmp
VOLUME ["/data"]
# 9000 S3 gateway, 9333 master API and dashboard, 9334 Raft, 8080 chunk server data plane.
EXPOSE 9000 9333 9334 8080
HEALTHCHECK --interval=5s --timeout=4s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/granary", "healthcheck", "http://127.0.0.1:9333/v1/health"]
ENTRYPOINT ["/usr/local/bin/granary"]
CMD ["server", "--dir", "/data", "--s3-addr", ":9000", "--web-addr", ":9333"]
