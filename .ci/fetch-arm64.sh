#!/usr/bin/env bash
# Fetches what the aarch64 QEMU tests boot (tests/aarch64.rs): Debian's arm64
# cloud kernel and busybox-static:arm64, unpacked from their .deb files with
# `apt-get download` + `dpkg-deb -x` (nothing is installed for arm64).
#
#   $FOSTER_CACHE/arm64/vmlinuz    (default FOSTER_CACHE=/var/cache/foster)
#   $FOSTER_CACHE/arm64/busybox
#   $FOSTER_CACHE/arm64/VERSION    the kernel package it came from
#
# Idempotent: does nothing when both files are there. The tests look in the same
# place (or take FOSTER_KERNEL_AARCH64 / FOSTER_BUSYBOX_AARCH64).
set -euo pipefail

cache="${FOSTER_CACHE:-/var/cache/foster}/arm64"
if [ -s "$cache/vmlinuz" ] && [ -s "$cache/busybox" ]; then
    echo "fetch-arm64: cached in $cache ($(cat "$cache/VERSION" 2>/dev/null || echo '?'))"
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    echo "fetch-arm64: dpkg --add-architecture arm64"
    dpkg --add-architecture arm64
    apt-get update -qq
elif ! apt-cache show linux-image-cloud-arm64:arm64 >/dev/null 2>&1; then
    apt-get update -qq
fi

# The meta package names the versioned one: linux-image-6.1.0-NN-cloud-arm64.
resolve() {
    apt-cache depends linux-image-cloud-arm64:arm64 \
        | sed -n 's/^ *Depends: \(linux-image-[0-9][^ :]*-cloud-arm64\).*/\1/p' | head -n 1
}
# apt-get download writes into the current directory; as root it warns that the
# download is unsandboxed (the _apt user cannot write here): harmless.
download() {
    (cd "$work" && apt-get download -qq "$kpkg:arm64" "busybox-static:arm64" 2>&1 \
        | grep -v 'unsandboxed' >&2 || true)
    ls "$work"/linux-image-*_arm64.deb >/dev/null 2>&1 &&
        ls "$work"/busybox-static_*_arm64.deb >/dev/null 2>&1
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
kpkg=$(resolve)
if [ -z "$kpkg" ] || ! download; then
    # Stale package lists name a version the mirror no longer has: refresh once.
    apt-get update -qq
    kpkg=$(resolve)
    if [ -z "$kpkg" ]; then
        echo "fetch-arm64: unable to resolve linux-image-cloud-arm64:arm64 to a versioned package" >&2
        exit 1
    fi
    rm -f "$work"/*.deb
    download || true
fi
kdeb=$(ls "$work"/linux-image-*_arm64.deb 2>/dev/null | head -n 1)
bdeb=$(ls "$work"/busybox-static_*_arm64.deb 2>/dev/null | head -n 1)
if [ -z "$kdeb" ] || [ -z "$bdeb" ]; then
    echo "fetch-arm64: unable to download $kpkg:arm64 and busybox-static:arm64" >&2
    exit 1
fi
dpkg-deb -x "$kdeb" "$work/k"
dpkg-deb -x "$bdeb" "$work/b"
vmlinuz=$(ls "$work"/k/boot/vmlinuz-* | head -n 1)

mkdir -p "$cache"
install -m 0644 "$vmlinuz" "$cache/vmlinuz.new"
install -m 0755 "$work/b/bin/busybox" "$cache/busybox.new"
mv "$cache/vmlinuz.new" "$cache/vmlinuz"
mv "$cache/busybox.new" "$cache/busybox"
echo "$kpkg $(basename "$kdeb") $(basename "$bdeb")" >"$cache/VERSION"
echo "fetch-arm64: $kpkg and busybox-static:arm64 unpacked into $cache"
