#!/usr/bin/env bash
# Installs what the test suite drives from Debian's packages: the real S3
# command-line clients (awscli at /usr/bin/aws, rclone) for the gateway tests,
# fuse3 (fusermount3) and rsync for the kernel-mount tests of `granary
# mount`, and
# Chromium for the dashboard's browser tests, and promtool (from the
# prometheus package) for the alert rules' tests in deploy/. Does nothing
# when all are present. Needs root or sudo for apt-get.
set -euo pipefail
need=()
[ -x /usr/bin/aws ] || need+=(awscli)
command -v rclone >/dev/null 2>&1 || need+=(rclone)
command -v fusermount3 >/dev/null 2>&1 || need+=(fuse3)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v rsync >/dev/null 2>&1 || need+=(rsync)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "ensure-test-deps: need root (or sudo) to apt-get install ${need[*]}" >&2
    exit 1
  fi
fi
echo "ensure-test-deps: installing ${need[*]} from Debian packages"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
