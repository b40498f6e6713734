#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Build (once) a Debian 13 "trixie" system in a folder, for the real-window GUI test:
# Blender 4.3.2 (Python 3.13), python3-torch (CPU), soundfile, Xvfb with Mesa's llvmpipe,
# and ImageMagick's `import` for screenshots.
#
#   tests/gui/make_root.sh [DIR]      (default: .cache/gui-debian13/root)
#
# Needs root, debootstrap and the Debian mirror ($GUI_DEBIAN_MIRROR, default
# http://deb.debian.org/debian). A finished folder carries a stamp listing its packages and
# is reused as it is; a half-made one is thrown away and made again. /proc and /dev are
# mounted only inside a private mount namespace (unshare), so nothing stays mounted on the
# host whatever happens, and deleting the folder can never reach the host's /dev.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
DIR="${1:-$HERE/../../.cache/gui-debian13/root}"
MIRROR="${GUI_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
PACKAGES="blender xvfb xauth libgl1-mesa-dri libglx-mesa0 python3-torch python3-soundfile imagemagick"
STAMP_NAME=.timar-gui-root
say() { echo "[gui-root] $*"; }

if [ "$(id -u)" != 0 ]; then say "needs root (debootstrap and chroot)"; exit 2; fi
if ! command -v debootstrap >/dev/null; then say "needs debootstrap (apt-get install debootstrap)"; exit 2; fi

mkdir -p "$(dirname "$DIR")"
DIR="$(cd "$(dirname "$DIR")" && pwd)/$(basename "$DIR")"
if [ -f "$DIR/$STAMP_NAME" ] && [ "$(cat "$DIR/$STAMP_NAME")" = "$PACKAGES" ]; then
  say "reusing $DIR"
  exit 0
fi

TMP="$DIR.part"
for d in "$DIR" "$TMP"; do
  if [ -e "$d" ]; then
    # never delete through a mount (a leaked /dev bind would take the host's /dev with it)
    if grep -q " $d/" /proc/self/mounts; then say "refusing: something is mounted under $d"; exit 1; fi
    rm -rf "$d"
  fi
done

t0=$(date +%s)
say "debootstrap trixie into $TMP ($MIRROR)"
debootstrap --variant=minbase trixie "$TMP" "$MIRROR" >"$TMP.log" 2>&1 \
  || { tail -20 "$TMP.log"; say "debootstrap failed (log: $TMP.log)"; exit 1; }
t1=$(date +%s)
say "debootstrap took $((t1 - t0)) s"

printf '#!/bin/sh\nexit 101\n' >"$TMP/usr/sbin/policy-rc.d"   # start no services
chmod +x "$TMP/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$TMP/etc/resolv.conf"
say "apt-get install $PACKAGES"
unshare --mount --propagation private -- bash -euo pipefail -c '
  R="$1"; shift
  mount -t proc proc "$R/proc"
  mount --rbind /dev "$R/dev"
  export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
  chroot "$R" apt-get update -q
  chroot "$R" apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-unsafe-io "$@"
  chroot "$R" apt-get clean
' _ "$TMP" $PACKAGES >>"$TMP.log" 2>&1 \
  || { tail -20 "$TMP.log"; say "apt-get install failed (log: $TMP.log)"; exit 1; }
t2=$(date +%s)
say "apt-get install took $((t2 - t1)) s"

echo "$PACKAGES" >"$TMP/$STAMP_NAME"
mv "$TMP" "$DIR"
rm -f "$TMP.log"
say "ready: $DIR ($(du -sh "$DIR" | cut -f1), $((t2 - t0)) s in all)"
