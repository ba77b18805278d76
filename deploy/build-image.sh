#!/usr/bin/env bash
# deploy/build-image.sh TAG: compile a static granary (CGO off) and build
# the Dockerfile around it as TAG. The build context is a temporary folder
# holding the binary and the /data and /tmp folders with their owner and
# modes (an empty base image has no shell to create them). Needs Go and
# Docker, no network. Used by `make docker` and the container fault suite.
set -euo pipefail
tag=${1:?usage: deploy/build-image.sh TAG}
root=$(cd "$(dirname "$0")/.." && pwd)
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/rootfs/tmp" "$ctx/data"
chmod 1777 "$ctx/rootfs/tmp"
(cd "$root" && CGO_ENABLED=0 GOOS=linux ${GO:-go} build -trimpath -ldflags '-s -w' -o "$ctx/granary" ./cmd/granary)
docker build -q -t "$tag" -f "$root/Dockerfile" "$ctx"
