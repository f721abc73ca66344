#!/usr/bin/env bash
# Set-up for a fresh clone, safe to re-run (quick when everything is present):
#   pnpm 10 (installed with `npm i -g pnpm@10` when missing), `pnpm install --frozen-lockfile`,
#   signal-cli + Java 21 into .cache (scripts/install-signal-cli.sh), a NATS server for the JetStream inbox
#   tests (scripts/install-nats-server.sh, .cache/bin/nats-server), `node scripts/build.mjs`, and Debian's
#   chromium for the dashboard's browser test (apt-get, when /usr/bin/chromium is missing; skipped without apt
#   or root, and that test then skips with the reason). SIGNAL_BROKER_SKIP_CHROMIUM=1 skips it too.
# Works from any cwd.
set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"

log() { printf 'setup: %s\n' "$*" >&2; }
die() {
  printf 'setup: error: %s\n' "$*" >&2
  exit 1
}

command -v node >/dev/null 2>&1 || die "node (>= 20.5) is required"
command -v npm >/dev/null 2>&1 || die "npm is required"

pnpm_version() { pnpm --version 2>/dev/null; }

if ! command -v pnpm >/dev/null 2>&1 || ! pnpm_version >/dev/null; then
  log "installing pnpm 10 (npm i -g pnpm@10)"
  npm install -g pnpm@10 --update-notifier=false --fund=false --audit=false >&2 ||
    die "could not install pnpm 10 with npm"
  hash -r
  pnpm_version >/dev/null || die "pnpm is still not runnable after npm i -g pnpm@10"
fi
version=$(pnpm_version)
if [[ ${version%%.*} != 10 ]]; then
  log "warning: pnpm $version found; this repository is set up with pnpm 10"
fi

log "pnpm install --frozen-lockfile (pnpm $version)"
pnpm install --frozen-lockfile >&2

log "installing signal-cli"
bash "$ROOT/scripts/install-signal-cli.sh"

log "installing nats-server (for the JetStream inbox tests)"
bash "$ROOT/scripts/install-nats-server.sh"

install_chromium() {
  if [[ -x /usr/bin/chromium ]]; then
    return 0
  fi
  if [[ ${SIGNAL_BROKER_SKIP_CHROMIUM:-} == 1 ]]; then
    log "not installing chromium (SIGNAL_BROKER_SKIP_CHROMIUM=1); the dashboard's browser test will skip"
    return 0
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    log "no apt-get here: not installing chromium; the dashboard's browser test will skip (it needs /usr/bin/chromium)"
    return 0
  fi
  local sudo=()
  if [[ $(id -u) != 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo=(sudo -n)
    else
      log "not root and no password-less sudo: not installing chromium; the dashboard's browser test will skip"
      return 0
    fi
  fi
  log "installing chromium (apt-get) for the dashboard's browser test"
  if ! { "${sudo[@]}" apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq chromium >&2; }; then
    log "warning: could not install chromium; the dashboard's browser test will skip"
  fi
}
install_chromium

log "building (node scripts/build.mjs)"
node "$ROOT/scripts/build.mjs"

log "done; signal-cli launcher: .cache/bin/signal-cli"
