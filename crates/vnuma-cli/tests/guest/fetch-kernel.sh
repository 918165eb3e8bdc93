#!/usr/bin/env bash
# Fetch a stock Debian guest kernel for the TCG guest tests, without installing it.
#
# Output: "$VNUMA_GUEST_DIR/vmlinuz" (default dir: target/guest under the workspace root); the
# path is printed on stdout. Idempotent (a present kernel is reused) and safe to run
# concurrently (flock on "$VNUMA_GUEST_DIR/.fetch-kernel.lock"; the file appears atomically).
#
# The kernel is the one `linux-image-cloud-amd64` depends on (CONFIG_NUMA, ACPI NUMA, 8250
# console and devtmpfs built in; it boots under TCG in about 5 s). It comes from the machine's
# Debian sources with `apt-get download` + `dpkg-deb`: no package is installed, no hook runs.
# Needs root only for `apt-get update`, which runs only when apt's lists don't know the package.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../.." && pwd)
dir=${VNUMA_GUEST_DIR:-$root/target/guest}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
out=$dir/vmlinuz

exec 9>"$dir/.fetch-kernel.lock"
flock 9

if [ ! -s "$out" ]; then
  kpkg() { apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}'; }
  pkg=$(kpkg || true)
  if [ -z "$pkg" ]; then
    echo "fetch-kernel: apt does not know linux-image-cloud-amd64 yet; running apt-get update" >&2
    apt-get update -qq >&2
    pkg=$(kpkg || true)
  fi
  if [ -z "$pkg" ]; then
    echo "fetch-kernel: cannot resolve the kernel package behind linux-image-cloud-amd64" >&2
    exit 1
  fi
  tmp=$(mktemp -d "$dir/.fetch-kernel.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  echo "fetch-kernel: downloading $pkg" >&2
  (cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root "$pkg" >&2)
  dpkg-deb --fsys-tarfile "$tmp"/"$pkg"_*.deb | tar -x -C "$tmp" ./boot
  kernel=$(ls "$tmp"/boot/vmlinuz-* | head -n1)
  [ -s "$kernel" ] || { echo "fetch-kernel: no vmlinuz in $pkg" >&2; exit 1; }
  echo "${kernel##*/vmlinuz-}" > "$tmp/version"
  mv -f "$tmp/version" "$dir/vmlinuz.version"
  mv -f "$kernel" "$out.tmp.$$"
  mv -f "$out.tmp.$$" "$out"
fi

echo "$out"
