#!/usr/bin/env bash
# Run the whole test suite (`make test`) inside Debian root file systems with newer QGIS releases.
#
# Each root is built once with debootstrap from the host's Debian mirror, provisioned with QGIS and the
# test tools, and cached in $MAPBRIDGE_ROOTS (machine-wide, so fresh clones and CI reuse it). Every run
# happens in a private mount namespace: the bind mounts vanish with it, whatever way the run ends.
#
# Usage: tools/test_matrix.sh [SUITE...]      (default: trixie sid; extra pytest arguments in PYTEST_ARGS)
#        tools/test_matrix.sh --prepare [SUITE...]   build and provision the roots only
#        tools/test_matrix.sh --exec SUITE CMD...    run CMD in the checkout inside that root
set -uo pipefail
cd "$(dirname "$0")/.."
CHECKOUT=$(pwd -P)
# A git worktree keeps its repository elsewhere: that is mounted too (read-only), so `git ls-files` works inside.
GIT_COMMON=$(git -C "$CHECKOUT" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)
case "$GIT_COMMON" in "$CHECKOUT"/*|"") GIT_COMMON="" ;; esac
ROOTS=${MAPBRIDGE_ROOTS:-/var/tmp/mapbridge-roots}
MIRROR=${MAPBRIDGE_MIRROR:-$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*debian\)\/*$/\1/p' \
  /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
VENV_IN_ROOT=/opt/mapbridge-venv
# Bump when the provisioning below changes: cached roots are then provisioned again (not bootstrapped again).
PROVISION_VERSION=3
APT_PACKAGES=(qgis python3-qgis qgis-providers python3-gdal gdal-bin xvfb xauth python3-venv python3-pip
  python3-requests python3-socks pyqt5-dev-tools make zip git ca-certificates fonts-noto-color-emoji)

declare -A LABEL=([trixie]="QGIS 3.40 LTR (Debian 13)" [sid]="QGIS 3.44 LTR (Debian unstable)")

log() { printf 'test-matrix: %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  exec sudo -E "$0" "$@"
fi

need_host_tools() {
  local missing=()
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v unshare >/dev/null || missing+=(util-linux)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# Run "$@" inside ROOT with /proc, /sys, /dev and the checkout mounted, in a private mount namespace.
in_root() {
  local root=$1; shift
  unshare --mount --propagation private -- /bin/bash -s -- "$root" "$CHECKOUT" "$GIT_COMMON" "$@" <<'EOS'
set -e
root=$1; checkout=$2; git_common=$3; shift 3
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount -t tmpfs -o mode=755 tmpfs "$root/dev"
for node in null zero full random urandom tty; do
  touch "$root/dev/$node"; mount --bind "/dev/$node" "$root/dev/$node"
done
mkdir -p "$root/dev/pts" "$root/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666 devpts "$root/dev/pts"
ln -sf pts/ptmx "$root/dev/ptmx"
mount -t tmpfs -o mode=1777 tmpfs "$root/dev/shm"
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
mkdir -p "$root$checkout"
mount --bind "$checkout" "$root$checkout"
if [ -n "$git_common" ]; then
  mkdir -p "$root$git_common"
  mount --bind "$git_common" "$root$git_common"
  mount -o remount,ro,bind "$root$git_common"
fi
# The test profile (pytest-qgis keeps it in the checkout) is private to this run: a host run may share the folder.
mkdir -p "$checkout/.qgis-settings"
mount -t tmpfs -o mode=755 tmpfs "$root$checkout/.qgis-settings"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
cp /etc/ssl/certs/ca-certificates.crt "$root/usr/local/share/host-ca-certificates.crt" 2>/dev/null || true
exec chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  LANG=C.UTF-8 TERM=dumb DEBIAN_FRONTEND=noninteractive CI="${CI:-}" PYTEST_ARGS="${PYTEST_ARGS:-}" \
  PIP_CERT=/usr/local/share/host-ca-certificates.crt PIP_DISABLE_PIP_VERSION_CHECK=1 "$@"
EOS
}

bootstrap() {
  local suite=$1 root=$2
  [ -x "$root/usr/bin/apt-get" ] && [ -f "$root/.mapbridge-bootstrapped" ] && return 0
  log "$suite: bootstrapping $root from $MIRROR"
  rm -rf "$root.tmp"
  mkdir -p "$root.tmp"
  debootstrap --variant=minbase "$suite" "$root.tmp" "$MIRROR" >"$ROOTS/$suite-bootstrap.log" 2>&1 \
    || { log "$suite: debootstrap failed, see $ROOTS/$suite-bootstrap.log"; return 1; }
  touch "$root.tmp/.mapbridge-bootstrapped"
  rm -rf "$root"
  mv "$root.tmp" "$root"
}

provision() {
  local suite=$1 root=$2
  [ "$(cat "$root/.mapbridge-provisioned" 2>/dev/null)" = "$PROVISION_VERSION" ] && return 0
  log "$suite: installing QGIS and the test tools"
  mkdir -p "$root/usr/local/share" "$root/etc/apt/apt.conf.d"
  # A frozen mirror's unstable Release file can be older than its Valid-Until against this clock.
  echo 'Acquire::Check-Valid-Until "false";' >"$root/etc/apt/apt.conf.d/99mapbridge-valid-until"
  echo "deb $MIRROR $suite main" >"$root/etc/apt/sources.list"
  cp "$CHECKOUT/requirements-dev.txt" "$root/usr/local/share/mapbridge-requirements-dev.txt"
  in_root "$root" /bin/bash -euc "
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends ${APT_PACKAGES[*]} >/dev/null
    apt-get clean
    rm -rf $VENV_IN_ROOT
    /usr/bin/python3 -m venv --system-site-packages $VENV_IN_ROOT
    PIP_CERT=/usr/local/share/host-ca-certificates.crt $VENV_IN_ROOT/bin/python -m pip install -q \
      --disable-pip-version-check -r /usr/local/share/mapbridge-requirements-dev.txt
    sha1sum /usr/local/share/mapbridge-requirements-dev.txt | cut -d' ' -f1 > $VENV_IN_ROOT/.requirements-dev.sha
  " >"$ROOTS/$suite-provision.log" 2>&1 || { log "$suite: provisioning failed, see $ROOTS/$suite-provision.log"; return 1; }
  echo "$PROVISION_VERSION" >"$root/.mapbridge-provisioned"
}

qgis_version() {
  in_root "$1" /usr/bin/python3 -c "from qgis.core import Qgis; print(Qgis.QGIS_VERSION.split('-')[0])" 2>/dev/null
}

run_suite() {
  local suite=$1 root=$ROOTS/$1 out=$2
  local start=$SECONDS
  ( prepare "$suite" ) || { echo "FAIL ${LABEL[$suite]:-$suite}: root not ready" >"$out"; return 1; }
  local version; version=$(qgis_version "$root")
  log "$suite: running the suite on QGIS $version"
  local report="$CHECKOUT/.build/test-matrix-$suite.log"
  mkdir -p "$CHECKOUT/.build"
  in_root "$root" /bin/bash -c "cd '$CHECKOUT' && CI=\$CI make test VENV=$VENV_IN_ROOT \
    PYTEST_ARGS=\"\$PYTEST_ARGS -p no:cacheprovider\"" 2>&1 | tee "$report"
  local rc=${PIPESTATUS[0]}
  local tally; tally=$(grep -E '(passed|failed|error).* in [0-9.]+s' "$report" | tail -n1 | sed 's/=//g; s/^ *//; s/ *$//')
  local state=PASS; [ "$rc" -eq 0 ] || state=FAIL
  printf '%s QGIS %s (%s): %s [%ds]\n' "$state" "${version:-?}" "$suite" "${tally:-no test summary, see $report}" \
    "$((SECONDS - start))" >"$out"
  return "$rc"
}

prepare() {
  local suite=$1 root=$ROOTS/$1
  mkdir -p "$ROOTS"
  exec 9>"$root.lock"
  flock 9
  bootstrap "$suite" "$root" && provision "$suite" "$root"
}

main() {
  need_host_tools
  if [ "${1:-}" = "--prepare" ]; then
    shift
    [ $# -gt 0 ] || set -- trixie sid
    local suite rc=0
    for suite in "$@"; do prepare "$suite" || rc=1; done
    return $rc
  fi
  if [ "${1:-}" = "--exec" ]; then
    # tools/test_matrix.sh --exec SUITE COMMAND...: run a command in a prepared root (debugging a failure).
    local suite=${2:?--exec needs a suite}; shift 2
    prepare "$suite" || return 1
    in_root "$ROOTS/$suite" /bin/bash -c 'cd "$0" && "$@"' "$CHECKOUT" "$@"
    return
  fi
  local suites=("$@"); [ ${#suites[@]} -gt 0 ] || suites=(trixie sid)
  summary=$(mktemp)
  trap 'rm -f "$summary" "$summary".*' EXIT
  trap 'log "interrupted"; exit 130' INT TERM
  local status=0 started=$SECONDS
  # Roots that are not ready yet are built side by side (network-bound); the suites then run one at a time.
  for suite in "${suites[@]}"; do
    ( prepare "$suite" ) >/dev/null 2>&1 &
  done
  for suite in "${suites[@]}"; do
    run_suite "$suite" "$summary.$suite" || status=1
    cat "$summary.$suite" >>"$summary"
  done
  echo
  echo "test-matrix summary ($((SECONDS - started)) s):"
  sed 's/^/  /' "$summary"
  return $status
}

main "$@"
