//! Pure parsers for the text of individual sysfs and procfs files.

use crate::cpuset::trim_sysfs;

/// The `MemTotal` of a `/proc/meminfo` or a node's `meminfo` (`Node 0 MemTotal: 8386704 kB`),
/// in bytes. `None` when the line is missing or malformed.
pub fn meminfo_total_bytes(text: &str) -> Option<u64> {
    meminfo_bytes(text, "MemTotal:")
}

/// The `MemFree` of a `/proc/meminfo` or a node's `meminfo` (`Node 0 MemFree: 1830148 kB`),
/// in bytes. `None` when the line is missing or malformed.
pub fn meminfo_free_bytes(text: &str) -> Option<u64> {
    meminfo_bytes(text, "MemFree:")
}

fn meminfo_bytes(text: &str, field: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.contains(field))?;
    let rest = line.split(field).nth(1)?;
    let mut words = rest.split_whitespace();
    let value: u64 = words.next()?.parse().ok()?;
    let scale = match words.next() {
        Some("kB") | None => 1024,
        Some(_) => return None,
    };
    value.checked_mul(scale)
}

/// The page size in bytes of a `hugepages-2048kB` directory name.
pub fn hugepage_dir_size(name: &str) -> Option<u64> {
    let kib: u64 = name
        .strip_prefix("hugepages-")?
        .strip_suffix("kB")?
        .parse()
        .ok()?;
    kib.checked_mul(1024)
}

/// An unsigned number alone in a file.
pub fn number(text: &str) -> Option<u64> {
    trim_sysfs(text).parse().ok()
}

/// A topology id (`physical_package_id`, `core_id`, `die_id`): `-1` means "none" on some
/// architectures and is `None`, as is anything that is not a number.
pub fn topology_id(text: &str) -> Option<u32> {
    trim_sysfs(text)
        .parse::<i64>()
        .ok()
        .and_then(|v| u32::try_from(v).ok())
}

/// A node's `distance` row: white-space separated numbers.
pub fn distance_row(text: &str) -> Option<Vec<u32>> {
    trim_sysfs(text)
        .split_whitespace()
        .map(|w| w.parse().ok())
        .collect()
}

/// One line of `/proc/mounts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount<'a> {
    /// Mount point (octal escapes left as they are).
    pub dir: &'a str,
    /// Filesystem type.
    pub fstype: &'a str,
    /// Mount options.
    pub options: Vec<&'a str>,
}

/// The lines of `/proc/mounts`, skipping malformed ones.
pub fn mounts(text: &str) -> Vec<Mount<'_>> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let _device = words.next()?;
            let dir = words.next()?;
            let fstype = words.next()?;
            let options = words.next().unwrap_or("").split(',').collect();
            Some(Mount { dir, fstype, options })
        })
        .collect()
}

/// Which cgroup hierarchy holds the cpuset controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupKind {
    /// cgroup v1, or the older `cpuset` filesystem.
    V1,
    /// The unified hierarchy.
    V2,
}

/// The process's cgroup path for the cpuset controller from `/proc/self/cgroup`:
/// the `cpuset` line for v1, the `0::` line for v2.
pub fn self_cgroup_path(text: &str, kind: CgroupKind) -> Option<&str> {
    text.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let hierarchy = parts.next()?;
        let controllers = parts.next()?;
        let path = parts.next()?;
        let hit = match kind {
            CgroupKind::V1 => controllers.split(',').any(|c| c == "cpuset"),
            CgroupKind::V2 => hierarchy == "0" && controllers.is_empty(),
        };
        hit.then_some(path)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo() {
        assert_eq!(
            meminfo_total_bytes("Node 0 MemTotal:      8386704 kB\n"),
            Some(8386704 * 1024)
        );
        assert_eq!(
            meminfo_total_bytes("MemTotal:  2052540 kB\nMemFree: 1 kB\n"),
            Some(2052540 * 1024)
        );
        assert_eq!(meminfo_total_bytes("Node 3 MemTotal: 0 kB\n\0"), Some(0));
        assert_eq!(meminfo_total_bytes("MemFree: 1 kB\n"), None);
        assert_eq!(meminfo_total_bytes("MemTotal: lots kB\n"), None);
        assert_eq!(meminfo_total_bytes("MemTotal: 18446744073709551615 kB\n"), None);
        assert_eq!(
            meminfo_free_bytes("Node 0 MemTotal: 8386704 kB\nNode 0 MemFree:  1830148 kB\n"),
            Some(1830148 * 1024)
        );
        assert_eq!(meminfo_free_bytes("MemTotal: 2 kB\n"), None);
        assert_eq!(meminfo_free_bytes("MemFree: some kB\n"), None);
    }

    #[test]
    fn small_files() {
        assert_eq!(hugepage_dir_size("hugepages-2048kB"), Some(2 << 20));
        assert_eq!(hugepage_dir_size("hugepages-1048576kB"), Some(1 << 30));
        assert_eq!(hugepage_dir_size("hugepages-2048"), None);
        assert_eq!(topology_id("-1\n"), None);
        assert_eq!(topology_id("3\n\0"), Some(3));
        assert_eq!(distance_row("10 21\n\0"), Some(vec![10, 21]));
        assert_eq!(distance_row("10 x"), None);
        assert_eq!(number(" 512\n"), Some(512));
    }

    #[test]
    fn cgroup_paths() {
        let v1 = "9:blkio:/user.slice\n3:cpuset:/kubepods/pod1\n";
        assert_eq!(self_cgroup_path(v1, CgroupKind::V1), Some("/kubepods/pod1"));
        assert_eq!(self_cgroup_path(v1, CgroupKind::V2), None);
        assert_eq!(
            self_cgroup_path("0::/kubepods.slice/x\n", CgroupKind::V2),
            Some("/kubepods.slice/x")
        );
        let m = mounts("none /dev/cpuset cpuset rw 0 0\ncgroup2 /sys/fs/cgroup cgroup2 rw,nosuid 0 0\n");
        assert_eq!(m.len(), 2);
        assert_eq!(
            m[1],
            Mount {
                dir: "/sys/fs/cgroup",
                fstype: "cgroup2",
                options: vec!["rw", "nosuid"]
            }
        );
    }
}
