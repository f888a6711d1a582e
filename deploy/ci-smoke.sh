#!/usr/bin/env bash
# CI's deploy smoke test (called by .ci/run): start a Docker daemon if none answers, build the
# image offline on a debootstrapped Debian base (Docker Hub and the package index are out of
# reach of container builds here), then run `make smoke`. Where no daemon can be had, say so in
# one line and exit 0: the rest of CI still counts, and the line shows what was not tested.
set -uo pipefail
cd "$(dirname "$0")/.."
skip() { echo "deploy smoke test NOT RUN: $*"; exit 0; }

STARTED_DOCKERD=""
cleanup() { [ -n "$STARTED_DOCKERD" ] && kill "$STARTED_DOCKERD" 2>/dev/null; wait 2>/dev/null; }
trap cleanup EXIT

if ! docker info >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || skip "no Docker daemon answers, and CI is not root to start one"
  if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 \
      docker.io debootstrap >/tmp/zhanaozen-ci-apt.log 2>&1 \
      || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive \
           apt-get install -y -qq docker.io debootstrap >/tmp/zhanaozen-ci-apt.log 2>&1; } \
      || skip "could not install docker.io and debootstrap with apt (/tmp/zhanaozen-ci-apt.log)"
  fi
  # overlay2 where the kernel allows it (much faster builds), else vfs, which works anywhere.
  for driver in overlay2 vfs; do
    dockerd --storage-driver="$driver" >"/tmp/zhanaozen-ci-dockerd-$driver.log" 2>&1 &
    STARTED_DOCKERD=$!
    for _ in $(seq 60); do
      docker info >/dev/null 2>&1 && break
      kill -0 "$STARTED_DOCKERD" 2>/dev/null || break
      sleep 0.5
    done
    if docker info >/dev/null 2>&1; then break; fi
    kill "$STARTED_DOCKERD" 2>/dev/null; wait "$STARTED_DOCKERD" 2>/dev/null; STARTED_DOCKERD=""
  done
  [ -n "$STARTED_DOCKERD" ] || skip "dockerd would not start (/tmp/zhanaozen-ci-dockerd-*.log)"
fi
command -v debootstrap >/dev/null || skip "debootstrap is missing for the base image"

began=$(date +%s)
deploy/base-image.sh zhanaozen-base:bookworm || { echo "deploy smoke test FAILED: no base image"; exit 1; }
make smoke BASE_IMAGE=zhanaozen-base:bookworm OFFLINE=1 >/tmp/zhanaozen-ci-smoke.log 2>&1
status=$?
grep -E "^(ok|FAILED)" /tmp/zhanaozen-ci-smoke.log
[ $status = 0 ] || { tail -40 /tmp/zhanaozen-ci-smoke.log; echo "deploy smoke test FAILED"; exit 1; }
echo "deploy smoke test took $(( $(date +%s) - began ))s (base image, wheels, image build, test)"
grep -E "^smoke:" /tmp/zhanaozen-ci-smoke.log
