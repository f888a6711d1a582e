#!/usr/bin/env bash
# A Debian base image with python3 and python3-venv, built with debootstrap, for machines that
# cannot pull `python:3.11-slim` from Docker Hub (CI here, an air-gapped campaign server).
#
#   deploy/base-image.sh [IMAGE]        default: zhanaozen-base:bookworm
#
# Needs root, debootstrap and a Debian mirror (DEBIAN_MIRROR). The root filesystem is kept as a
# tarball in BASE_CACHE (default /var/cache/zhanaozen-bot) so the next build skips debootstrap.
set -euo pipefail
IMAGE=${1:-zhanaozen-base:bookworm}
SUITE=${DEBIAN_SUITE:-bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
CACHE=${BASE_CACHE:-/var/cache/zhanaozen-bot}
TARBALL="$CACHE/base-$SUITE.tar"

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "base image $IMAGE already present"
  exit 0
fi
if [ ! -s "$TARBALL" ]; then
  command -v debootstrap >/dev/null || { echo "debootstrap is not installed (apt-get install debootstrap)"; exit 1; }
  mkdir -p "$CACHE"
  ROOT=$(mktemp -d)
  trap 'rm -rf "$ROOT"' EXIT
  chmod 755 "$ROOT"   # mktemp's 0700 would lock every non-root user out of the whole image
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    "$SUITE" "$ROOT" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 \
    || { tail -20 "$CACHE/debootstrap.log"; exit 1; }
  rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/*
  tar -C "$ROOT" -cf "$TARBALL.part" .
  mv "$TARBALL.part" "$TARBALL"
fi
docker import --change 'ENV LANG=C.UTF-8' --change 'CMD ["/bin/bash"]' "$TARBALL" "$IMAGE" >/dev/null
echo "base image $IMAGE imported from $TARBALL"
