#!/usr/bin/env bash
# Installs the Debian packages the test suite needs when they are missing (root and apt only).
# Everything from npm comes from the lock file through `npm ci`.
set -euo pipefail

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
# coturn: the TURN relay of calls (tests/web/calls-1to1.test.ts runs a call through it).
[ -x /usr/bin/turnserver ] || need+=(coturn)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "setup-machine: missing ${need[*]}; install them with: apt-get install ${need[*]}" >&2
  exit 1
fi
echo "setup-machine: installing ${need[*]} from Debian"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
