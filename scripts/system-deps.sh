#!/usr/bin/env bash
# Installs the Debian packages sopbench's tests need, when they are missing:
# the PostgreSQL server binaries (the suite runs every store test on a
# throwaway PostgreSQL too) and chromium (the dashboard's browser tests drive
# it through Playwright, without `playwright install`). Needs root (or sudo)
# only when something is missing.
set -euo pipefail

have_postgres() {
  command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1
}

missing=()
have_postgres || missing+=(postgresql)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing Debian packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
