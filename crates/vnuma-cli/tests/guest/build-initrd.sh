#!/usr/bin/env bash
# Build the busybox initramfs of the TCG guest tests: its /init prints the guest's NUMA layout
# on the console and powers the guest off.
#
# Report format (one line per guest node, between the markers):
#   ===NUMA-REPORT-BEGIN===
#   nodeN=<cpulist>:<number of 128 MiB memory blocks of node N>
#   ===NUMA-REPORT-END===
# then `sleep 1; poweroff -f` (the pause keeps the report from being lost under TCG; see
# shared/spec/guest-proof.md). Kernel arguments: console=ttyS0 panic=-1.
#
# Output: "$VNUMA_GUEST_DIR/initrd.gz" (default dir: target/guest under the workspace root); the
# path is printed on stdout. Idempotent (rebuilt only when missing or older than this script)
# and safe to run concurrently (flock on "$VNUMA_GUEST_DIR/.build-initrd.lock"; the file
# appears atomically). Needs /bin/busybox from busybox-static (a static binary: the initramfs
# holds no libraries).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../../.." && pwd)
dir=${VNUMA_GUEST_DIR:-$root/target/guest}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
out=$dir/initrd.gz
busybox=${BUSYBOX:-/bin/busybox}

exec 9>"$dir/.build-initrd.lock"
flock 9

if [ ! -s "$out" ] || [ "$here/build-initrd.sh" -nt "$out" ]; then
  if ! "$busybox" --help >/dev/null 2>&1; then
    echo "build-initrd: $busybox missing: apt-get install busybox-static" >&2
    exit 1
  fi
  if ldd "$busybox" >/dev/null 2>&1; then
    echo "build-initrd: $busybox is dynamically linked: apt-get install busybox-static" >&2
    exit 1
  fi
  tmp=$(mktemp -d "$dir/.build-initrd.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/ird/bin" "$tmp/ird/proc" "$tmp/ird/sys" "$tmp/ird/dev"
  cp "$busybox" "$tmp/ird/bin/busybox"
  cat > "$tmp/ird/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
echo "===NUMA-REPORT-BEGIN==="
for n in /sys/devices/system/node/node*; do
  id=${n##*/node}
  echo "node$id=$(cat "$n/cpulist"):$(ls -d "$n"/memory[0-9]* 2>/dev/null | wc -l)"
done
echo "===NUMA-REPORT-END==="
sleep 1
poweroff -f
INIT
  chmod +x "$tmp/ird/init"
  (cd "$tmp/ird" && find . | "$busybox" cpio -o -H newc 2>/dev/null | gzip -1) > "$tmp/initrd.gz"
  mv -f "$tmp/initrd.gz" "$out"
fi

echo "$out"
