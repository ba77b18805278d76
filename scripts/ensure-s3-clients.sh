#!/usr/bin/env bash
# Installs the real S3 command-line clients the gateway tests drive: the AWS
# CLI (Debian's awscli, at /usr/bin/aws) and rclone. Does nothing when both
# are present. Needs root or sudo for apt-get.
set -euo pipefail
if [ -x /usr/bin/aws ] && command -v rclone >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "ensure-s3-clients: need root (or sudo) to apt-get install awscli rclone" >&2
    exit 1
  fi
fi
echo "ensure-s3-clients: installing awscli and rclone from Debian packages"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends awscli rclone >/dev/null
/usr/bin/aws --version
rclone version | head -1
