#!/usr/bin/env bash
# Installs a NATS server (with JetStream) under <repo>/.cache for the tests of the JetStream inbox engine and
# links it as .cache/bin/nats-server. Re-running it is a quick no-op once it is in place.
#
# Cache layout:
#   .cache/nats-server-<version>/root/   Debian bookworm's nats-server package unpacked with dpkg -x
#                                        (usr/sbin/nats-server is the server: one Go binary, only libc)
#   .cache/bin/nats-server               symlink to it
# The component directory holds a .complete marker written last; it is built in a staging directory under
# .cache and renamed into place, so a killed run never leaves a "done" state.
#
# The package comes from Debian bookworm through a private apt state (the system's sources, lists and caches
# are neither read nor changed), as scripts/install-signal-cli.sh does for its JRE. The tests run it as
# `nats-server -js -sd DIR -a 127.0.0.1 -p PORT`; production runs its own NATS deployment.
set -euo pipefail

NATS_DEB_VERSION=2.9.10
NATS_SUITE=bookworm
DEBIAN_MIRROR=${SIGNAL_BROKER_DEBIAN_MIRROR:-http://deb.debian.org}

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
CACHE=$ROOT/.cache
NATS_DIR=$CACHE/nats-server-$NATS_DEB_VERSION
BIN=$NATS_DIR/root/usr/sbin/nats-server
LINK=$CACHE/bin/nats-server

log() { printf 'install-nats-server: %s\n' "$*" >&2; }
die() {
  printf 'install-nats-server: error: %s\n' "$*" >&2
  exit 1
}

TMP=
cleanup() { if [[ -n $TMP ]]; then rm -rf -- "$TMP"; fi; }
trap cleanup EXIT

complete() {
  [[ -f $NATS_DIR/.complete && -x $BIN ]]
}

# Prints the version a nats-server binary reports ("nats-server: v2.9.10" -> 2.9.10); fails if it does not run.
server_version() {
  local out
  out=$("$1" --version 2>&1) || return 1
  [[ $out =~ v([0-9]+\.[0-9]+\.[0-9]+) ]] || return 1
  printf '%s\n' "${BASH_REMATCH[1]}"
}

install_nats() {
  local arch apt=$TMP/apt stage=$TMP/nats keyring opt deb version
  arch=$(dpkg --print-architecture 2>/dev/null) || arch=unknown
  [[ $arch == amd64 ]] || die "the NATS server is only set up for amd64 here (this is $arch)"
  if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg >/dev/null 2>&1; then
    die "apt-get and dpkg are needed to fetch Debian's nats-server package"
  fi
  log "fetching nats-server $NATS_DEB_VERSION from Debian $NATS_SUITE"
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/empty" "$apt/debs" "$stage/root"
  keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  opt="arch=amd64"
  if [[ -f $keyring ]]; then opt+=" signed-by=$keyring"; fi
  cat >"$apt/sources.list" <<EOF
deb [$opt] $DEBIAN_MIRROR/debian $NATS_SUITE main
EOF
  local apt_opts=(
    -o "Dir::Etc::SourceList=$apt/sources.list"
    -o "Dir::Etc::SourceParts=$apt/empty"
    -o "Dir::Etc::Preferences=$apt/empty/none"
    -o "Dir::Etc::PreferencesParts=$apt/empty"
    -o "Dir::State::Lists=$apt/lists"
    -o "Dir::Cache=$apt/cache"
    -o "APT::Sandbox::User=root"
    -o "APT::Update::Error-Mode=any"
    -o "Acquire::Languages=none"
  )
  if ! apt-get "${apt_opts[@]}" -q update >"$apt/update.log" 2>&1; then
    tail -n 20 "$apt/update.log" >&2 || true
    die "could not fetch the Debian $NATS_SUITE package lists from $DEBIAN_MIRROR"
  fi
  if ! (cd "$apt/debs" && apt-get "${apt_opts[@]}" -q download nats-server) >"$apt/download.log" 2>&1; then
    tail -n 20 "$apt/download.log" >&2 || true
    die "could not download nats-server from Debian $NATS_SUITE"
  fi
  for deb in "$apt/debs"/*.deb; do
    dpkg -x "$deb" "$stage/root" || die "could not unpack $deb"
  done
  basename -a "$apt/debs"/*.deb >"$stage/debs.txt"
  [[ -x $stage/root/usr/sbin/nats-server ]] || die "the nats-server package has no usr/sbin/nats-server"
  version=$(server_version "$stage/root/usr/sbin/nats-server") ||
    die "the unpacked nats-server does not start: $("$stage/root/usr/sbin/nats-server" --version 2>&1 | tail -n 5)"
  [[ $version == "$NATS_DEB_VERSION" ]] || die "the unpacked nats-server reports $version, expected $NATS_DEB_VERSION"
  rm -rf -- "$apt"
  date -u +%FT%TZ >"$stage/.complete"
  rm -rf -- "$NATS_DIR"
  mv -T -- "$stage" "$NATS_DIR"
  log "nats-server $version installed in ${NATS_DIR#"$ROOT"/}"
}

main() {
  local target
  mkdir -p "$CACHE/bin"
  exec 9>"$CACHE/.install-nats.lock"
  if command -v flock >/dev/null 2>&1; then flock 9; fi
  rm -rf -- "$CACHE"/.tmp-nats.*

  if ! complete; then
    TMP=$(mktemp -d "$CACHE/.tmp-nats.XXXXXX")
    install_nats
  fi
  server_version "$BIN" >/dev/null || die "${BIN#"$ROOT"/} does not run; remove ${NATS_DIR#"$ROOT"/} and re-run this script"

  # A relative link keeps the cache relocatable.
  target=../nats-server-$NATS_DEB_VERSION/root/usr/sbin/nats-server
  if [[ -L $LINK && $(readlink -- "$LINK") == "$target" ]]; then
    log "up to date: ${LINK#"$ROOT"/} (v$NATS_DEB_VERSION)"
    return 0
  fi
  ln -sfn -- "$target" "$LINK"
  log "linked ${LINK#"$ROOT"/} (v$NATS_DEB_VERSION)"
}

main "$@"
