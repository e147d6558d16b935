#!/usr/bin/env bash
# Installs the Debian packages the test suite drives for real: njs (CloudFront-like JS
# engine), chromium (demo page), node (CloudFront Function tests). No-op when present.
set -euo pipefail
need=()
command -v njs >/dev/null 2>&1 || need+=(njs)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v node >/dev/null 2>&1 || need+=(nodejs)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "missing Debian packages: ${need[*]} (run: sudo apt-get install ${need[*]})" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
