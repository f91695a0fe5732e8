#!/usr/bin/env bash
# Proves that the README's set-up works on a fresh Debian 12 machine.
#   Builds a minimal Debian 12 root (mmdebstrap --variant=apt: essential packages and apt, no
#   make, no compiler) from this machine's own apt sources, puts a clean clone of the committed
#   HEAD of this checkout at ROOT/work/loom and ../shared read-only at ROOT/work/shared, and runs
#   by chroot, as root with CI=true, what the README tells a new user to run:
#     setup   apt-get update && apt-get install make   (make cannot install itself)
#     run     cd /work/loom && make run
#     test    cd /work/loom && make test
#   It prints each command's exit status and wall time, then a one-line summary; it exits
#   non-zero when any command fails. On a 2-core machine shared with other builds it took 1.5 to
#   2 hours: the root 3 minutes, make run 45 (the apt installs and the Release build are most of
#   it), make test the rest (ctest, the ASan+UBSan build, ctest again, the fuzz smoke).
# Usage: scripts/fresh-machine.sh [--keep] [run] [test]   (default: run test; setup always runs)
#   --keep  keep the root (its path is printed) to look inside: sudo chroot ROOT bash
# Mounts (/proc, /dev, /sys, ../shared) are made only inside a private mount namespace per
# command (unshare), so they vanish with it; before deleting the root the script kills what still
# runs in it, checks that nothing is mounted below it, and deletes it only then.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
shared=$(cd "$repo/../shared" && pwd)
root=""
keep=0

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit "${1:-0}"; }

apt_sources() {  # this machine's apt sources files, in the order apt reads them
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -s "$f" ] && grep -qE '^[[:space:]]*(deb|Types:)' "$f" && echo "$f"
  done
  return 0
}

make_root() {  # a minimal Debian 12 root with a clone of HEAD and the machine's name resolution
  command -v mmdebstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    -o DPkg::Lock::Timeout=600 --no-install-recommends mmdebstrap >/dev/null
  root=$(mktemp -d "${TMPDIR:-/var/tmp}/loom-fresh.XXXXXX")
  mapfile -t sources < <(apt_sources)
  [ ${#sources[@]} -gt 0 ] || { echo "no apt sources found in /etc/apt" >&2; return 1; }
  echo "== building a Debian 12 root in $root from ${sources[*]}"
  mmdebstrap --quiet --variant=apt bookworm "$root/root.tar" "${sources[@]}"
  mkdir "$root/fs"
  tar -C "$root/fs" --numeric-owner -xf "$root/root.tar"
  rm "$root/root.tar"
  cp -L /etc/resolv.conf /etc/hosts "$root/fs/etc/"
  mkdir -p "$root/fs/work/shared"
  git clone -q "$repo" "$root/fs/work/loom"
  git -C "$root/fs/work/loom" checkout -q "$(git -C "$repo" rev-parse HEAD)"
  echo "== clone of $(git -C "$repo" log -1 --format='%h %s' | cut -c1-90)"
}

in_root() {  # runs the shell command $1 in /work/loom of the root; mounts die with the namespace
  unshare --mount --propagation private -- bash -euc '
    fs=$1; shared=$2
    mount -t proc proc "$fs/proc"
    mount --rbind /dev "$fs/dev"
    mount --rbind /sys "$fs/sys"
    mount --bind "$shared" "$fs/work/shared"
    mount -o remount,bind,ro "$fs/work/shared"
    exec chroot "$fs" /usr/bin/env -i HOME=/root TERM=dumb CI=true \
      PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      bash -c "cd /work/loom && $3" </dev/null
  ' _ "$root/fs" "$shared" "$1"
}

timed() {  # timed NAME COMMAND: runs COMMAND in the root, records "NAME: exit N, MmSSs"
  local name=$1 start rc=0 secs
  echo; echo "== $name: $2    ($(date -u +%H:%M:%S) UTC)"
  start=$(date +%s)
  in_root "$2" &  # in the background, so a signal reaches the trap at once
  wait $! || rc=$?
  secs=$(( $(date +%s) - start ))
  results+=("$(printf '%s: exit %d, %dm%02ds' "$name" "$rc" $((secs / 60)) $((secs % 60)))")
  echo "== ${results[-1]}"
  [ "$rc" -eq 0 ] || failed=1
}

cleanup() {  # stop what still runs in the root, prove nothing is mounted below it, then delete
  local rc=$? pids p
  trap - EXIT INT TERM
  [ -n "$root" ] && [ -d "$root" ] || exit "$rc"
  for _ in 1 2 3; do
    pids=$(for p in /proc/[0-9]*; do
      [ "$(readlink "$p/root" 2>/dev/null)" = "$root/fs" ] && echo "${p#/proc/}"; done || true)
    [ -z "$pids" ] || { kill -9 $pids 2>/dev/null || true; sleep 1; }
  done
  if [ "$keep" -eq 1 ]; then
    echo "kept the root: $root/fs"
  elif findmnt -rn -o TARGET | grep -qF "$root"; then
    echo "NOT deleting $root: something is still mounted below it:" >&2
    findmnt -rn -o TARGET | grep -F "$root" >&2
    rc=1
  else
    rm -rf --one-file-system "$root"
  fi
  exit "$rc"
}

main() {
  local cmds=() results=() failed=0 total=$(date +%s) c
  for a in "$@"; do
    case $a in
      --keep) keep=1 ;;
      run | test) cmds+=("$a") ;;
      -h | --help) usage ;;
      *) echo "unknown argument: $a" >&2; usage 2 ;;
    esac
  done
  [ ${#cmds[@]} -gt 0 ] || cmds=(run test)
  [ "$(id -u)" -eq 0 ] || { echo "needs root (mmdebstrap, mount, chroot)" >&2; exit 2; }
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  make_root
  timed setup "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq make >/dev/null"
  local setup_failed=$failed
  for c in "${cmds[@]}"; do
    if [ "$setup_failed" -eq 0 ]; then timed "make $c" "make $c"; else results+=("make $c: not run"); fi
  done
  echo; printf '%s\n' "${results[@]}"
  local secs=$(( $(date +%s) - total ))
  printf 'fresh Debian 12: %s in %dm%02ds; %s\n' "$([ "$failed" -eq 0 ] && echo PASS || echo FAIL)" \
    $((secs / 60)) $((secs % 60)) "$(IFS=';'; echo "${results[*]}" | sed 's/;/; /g')"
  return "$failed"
}

main "$@"; exit  # on one line: bash reads no further, even if this file is edited while it runs
