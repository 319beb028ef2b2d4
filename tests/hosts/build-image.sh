#!/usr/bin/env bash
# Build a test-host image: Debian (bookworm by default; bullseye and trixie for the
# support matrix) with systemd as PID 1, python3 and python3-cryptography, imported
# into podman as
#   localhost/otlp-tls-testhost:<hash>            (bookworm; and :latest)
#   localhost/otlp-tls-testhost-<suite>:<hash>    (the others; and :latest)
# where <hash> covers the suite, this script and tests/hosts/image-packages.txt.
#
# Why built here and not pulled: no container registry is reachable from
# these machines, only Debian's package mirror. So the rootfs comes from
# debootstrap, using the mirror this machine's apt already uses (read at run
# time, never written into the repo), and `podman import` turns it into an
# image.
#
# Usage: tests/hosts/build-image.sh [--suite bookworm|bullseye|trixie] [--force]
#   Skips the build when the hashed tag already exists (unless --force).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

# shellcheck source=../../scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"

SUITE=bookworm
force=0
while (($#)); do
  case $1 in
    --force) force=1 ;;
    --suite) SUITE=${2:?--suite needs a Debian codename}; shift ;;
    *) echo "usage: $0 [--suite bookworm|bullseye|trixie] [--force]" >&2; exit 2 ;;
  esac
  shift
done
if [[ " $OTLP_TLS_SUITES " != *" $SUITE "* ]]; then
  echo "build-image.sh: unknown suite '$SUITE'; use one of: $OTLP_TLS_SUITES" >&2
  exit 2
fi
image="$(otlp_image "$SUITE")"
latest="${image%:*}:latest"

# Use the same podman configuration as the tests (runtime, ulimits).
if [[ -f "$(otlp_containers_conf)" ]]; then
  CONTAINERS_CONF="$(otlp_containers_conf)"
  export CONTAINERS_CONF
fi

mkdir -p "$OTLP_TLS_CACHE"
# Two setups racing (e.g. a developer and CI on one machine) would both spend
# a minute building the same image; serialise them instead.
exec 9>"$OTLP_TLS_CACHE/.build-image-$SUITE.lock"
flock 9

if ((!force)) && podman image exists "$image"; then
  podman tag "$image" "$latest"
  otlp_log "image $image exists, skipping build"
  exit 0
fi

# --- Debian mirror, from this machine's apt configuration ----------------
# `apt-get indextargets` lists what apt fetches; Codename is only known once
# the Release files are present, so fall back to the suite named in the
# sources, then to any Debian repository (a mirror carries every suite).
repo_uri() { # repo_uri FILTER... -> first matching Repo-URI, or nothing
  # shellcheck disable=SC2016 # $(REPO_URI) is apt's format, not shell
  apt-get indextargets --format '$(REPO_URI)' 'Identifier: Packages' "$@" 2>/dev/null | head -n1
}
mirror="$(repo_uri "Codename: $SUITE")"
[[ -n "$mirror" ]] || mirror="$(repo_uri "Release: $SUITE")"
[[ -n "$mirror" ]] || mirror="$(repo_uri 'Label: Debian')"
if [[ -z "$mirror" ]]; then
  otlp_log "apt knows no Debian repository yet; running apt-get update once"
  apt-get update -qq
  mirror="$(repo_uri "Codename: $SUITE")"
  [[ -n "$mirror" ]] || mirror="$(repo_uri 'Label: Debian')"
fi
if [[ -z "$mirror" ]]; then
  otlp_log "ERROR: no Debian mirror found in this machine's apt configuration"
  exit 1
fi
security="$(repo_uri "Codename: $SUITE-security")"
[[ -n "$security" ]] || security="$(repo_uri 'Label: Debian-Security')"

mapfile -t packages < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' \
  "$OTLP_TLS_ROOT/tests/hosts/image-packages.txt")

# --- Build the rootfs ----------------------------------------------------
start=$SECONDS
work="$(mktemp -d "$OTLP_TLS_CACHE/build-image.XXXXXX")"
rootfs="$work/rootfs"
cleanup() {
  # Never leave a proc mount behind: rm -rf would then walk into /proc.
  mountpoint -q "$rootfs/proc" 2>/dev/null && umount -l "$rootfs/proc"
  rm -rf "$work"
}
trap cleanup EXIT

otlp_log "debootstrap $SUITE (minbase) into $rootfs"
debootstrap --variant=minbase "$SUITE" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -n 30 "$work/debootstrap.log" >&2
  exit 1
}

in_root() { chroot "$rootfs" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
  DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"; }

mount -t proc proc "$rootfs/proc"
cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
# Do not start services inside the chroot while installing them.
printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
chmod 0755 "$rootfs/usr/sbin/policy-rc.d"

# Same sources as the host (updates + security too), so test hosts get the
# current point release of the suite and apt works inside them if a test needs it.
{
  printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\n' "$mirror" "$SUITE" "$SUITE"
  printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
  if [[ -n "$security" ]]; then
    printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\n' "$security" "$SUITE"
    printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
  fi
} >"$rootfs/etc/apt/sources.list.d/debian.sources"
: >"$rootfs/etc/apt/sources.list"
# Mirrors here may be dated snapshots whose Release files are "expired";
# keep the image small and quiet.
cat >"$rootfs/etc/apt/apt.conf.d/90otlp-tls-testhost" <<'EOF'
Acquire::Check-Valid-Until "false";
Acquire::Languages "none";
APT::Install-Recommends "false";
APT::Install-Suggests "false";
EOF

otlp_log "apt-get install ${#packages[@]} packages in the chroot"
{
  in_root apt-get update -qq
  in_root apt-get -y -qq dist-upgrade
  in_root apt-get -y -qq install "${packages[@]}"
} >"$work/apt.log" 2>&1 || {
  tail -n 30 "$work/apt.log" >&2
  exit 1
}

# --- Make systemd boot cleanly as PID 1 in a container -------------------
# Units that wait for hardware/ttys or try to change kernel state a container
# may not touch: they either hang the boot or leave it "degraded".
in_root systemctl set-default multi-user.target >/dev/null 2>&1
in_root systemctl mask \
  getty.target console-getty.service getty@tty1.service serial-getty@.service \
  systemd-udevd.service systemd-udev-trigger.service systemd-udev-settle.service \
  systemd-modules-load.service sys-kernel-config.mount sys-kernel-debug.mount \
  sys-kernel-tracing.mount sys-fs-fuse-connections.mount \
  systemd-remount-fs.service systemd-firstboot.service systemd-sysusers.service \
  systemd-hwdb-update.service systemd-machine-id-commit.service \
  apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service \
  fstrim.timer >/dev/null 2>&1
# An empty machine-id makes systemd generate a fresh one per container, so
# containers started from one image still get distinct ids.
: >"$rootfs/etc/machine-id"
rm -f "$rootfs/var/lib/dbus/machine-id"

# --- Clean up and import -------------------------------------------------
rm -f "$rootfs/usr/sbin/policy-rc.d"
in_root apt-get clean
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
  "$rootfs"/var/log/*.log "$rootfs"/var/log/apt/* "$rootfs"/tmp/* "$rootfs"/var/tmp/*
# podman provides these per container.
: >"$rootfs/etc/resolv.conf"
: >"$rootfs/etc/hostname"
umount "$rootfs/proc"

otlp_log "importing $image"
tar --numeric-owner --xattrs -C "$rootfs" \
  --exclude=./proc/* --exclude=./sys/* --exclude=./dev/* -c . |
  podman import --quiet \
    --change 'CMD ["/sbin/init"]' \
    --change 'STOPSIGNAL SIGRTMIN+3' \
    --change 'ENV container=podman' \
    --message "otlp.tls test host ($SUITE, $(otlp_image_tag "$SUITE"))" \
    - "$image" >/dev/null
podman tag "$image" "$latest"
otlp_log "built $image in $((SECONDS - start)) s"
