#!/usr/bin/env bash
# Build the busybox initramfs of the guest-boot proof (tests/guest_boot.rs): a superset of
# build-initrd.sh's report that also gives each node's distance row and MemTotal, which the
# proof compares with the plan's cell distances (and sanity-checks against its memory).
#
# Report format (between the markers, one `key=value` per line, in one write):
#   ===NUMA-REPORT-BEGIN===
#   block_size_bytes=<hex, /sys/devices/system/memory/block_size_bytes, 8000000 = 128 MiB>
#   cpus_online=<cpulist>
#   nodes_online=<nodelist>
#   nodeN=<cpulist>:<number of memory blocks of node N>     (the line build-initrd.sh prints)
#   nodeN.distance=<node N's distance row, as /sys/devices/system/node/nodeN/distance>
#   nodeN.memtotal_kb=<MemTotal of /sys/devices/system/node/nodeN/meminfo>
#   ===NUMA-REPORT-END===
# then `sleep 1; poweroff -f` (see shared/spec/guest-proof.md). Kernel arguments:
# console=ttyS0 panic=-1.
#
# Output: "$VNUMA_GUEST_DIR/initrd-full.gz" (default dir: target/guest under the workspace
# root, beside build-initrd.sh's initrd.gz); the path is printed on stdout. Idempotent
# (rebuilt only when missing or older than this script) and safe to run concurrently (flock on
# "$VNUMA_GUEST_DIR/.build-initrd-full.lock"; the file appears atomically). Needs /bin/busybox
# from busybox-static (a static binary: the initramfs holds no libraries).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../../.." && pwd)
dir=${VNUMA_GUEST_DIR:-$root/target/guest}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
out=$dir/initrd-full.gz
busybox=${BUSYBOX:-/bin/busybox}

exec 9>"$dir/.build-initrd-full.lock"
flock 9

if [ ! -s "$out" ] || [ "$here/build-initrd-full.sh" -nt "$out" ]; then
  if ! "$busybox" --help >/dev/null 2>&1; then
    echo "build-initrd-full: $busybox missing: apt-get install busybox-static" >&2
    exit 1
  fi
  if ldd "$busybox" >/dev/null 2>&1; then
    echo "build-initrd-full: $busybox is dynamically linked: apt-get install busybox-static" >&2
    exit 1
  fi
  tmp=$(mktemp -d "$dir/.build-initrd-full.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/ird/bin" "$tmp/ird/proc" "$tmp/ird/sys" "$tmp/ird/dev"
  cp "$busybox" "$tmp/ird/bin/busybox"
  cat > "$tmp/ird/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
{
  echo "===NUMA-REPORT-BEGIN==="
  echo "block_size_bytes=$(cat /sys/devices/system/memory/block_size_bytes)"
  echo "cpus_online=$(cat /sys/devices/system/cpu/online)"
  echo "nodes_online=$(cat /sys/devices/system/node/online)"
  for n in /sys/devices/system/node/node[0-9]*; do
    id=${n##*/node}
    echo "node$id=$(cat "$n/cpulist"):$(ls -d "$n"/memory[0-9]* 2>/dev/null | wc -l)"
    echo "node$id.distance=$(cat "$n/distance")"
    echo "node$id.memtotal_kb=$(awk '/MemTotal:/ {print $4}' "$n/meminfo")"
  done
  echo "===NUMA-REPORT-END==="
} > /report 2>&1
cat /report
sleep 1
poweroff -f
INIT
  chmod +x "$tmp/ird/init"
  (cd "$tmp/ird" && find . | "$busybox" cpio -o -H newc 2>/dev/null | gzip -1) > "$tmp/initrd.gz"
  mv -f "$tmp/initrd.gz" "$out"
fi

echo "$out"
