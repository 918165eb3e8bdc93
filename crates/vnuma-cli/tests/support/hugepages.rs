//! Real 2 MiB hugepages for the guest tests: a hugetlbfs mount with pages reserved through
//! `/proc/sys/vm/nr_hugepages` under the lock `$VNUMA_GUEST_DIR/.hugepages.lock` (shared by
//! every test binary and session), restored when dropped. Needs root (CI is root).

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

const NR_HUGEPAGES: &str = "/proc/sys/vm/nr_hugepages";
const FREE_2M_PAGES: &str = "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages";

fn read_u64(path: &str) -> Result<u64, String> {
    fs::read_to_string(path)
        .map_err(|e| format!("cannot read {path}: {e}"))?
        .trim()
        .parse()
        .map_err(|e| format!("{path}: {e}"))
}

/// The lock file that serialises changes of `nr_hugepages` between the project's tests (other
/// test binaries and sessions may reserve hugepages too): `$VNUMA_GUEST_DIR/.hugepages.lock`,
/// default `<workspace>/target/guest`, as the `tests/guest/` scripts use.
fn hugepages_lock_path() -> PathBuf {
    let dir = std::env::var_os("VNUMA_GUEST_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/guest"),
        PathBuf::from,
    );
    dir.join(".hugepages.lock")
}

/// Takes the hugepage lock (`flock`), waiting at most `timeout`.
fn lock_hugepages(timeout: Duration) -> Result<fs::File, String> {
    let path = hugepages_lock_path();
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let file = fs::File::create(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let deadline = Instant::now() + timeout;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(200));
            }
            Err(e) => return Err(format!("cannot lock {} within {timeout:?}: {e}", path.display())),
        }
    }
}

/// A hugetlbfs mount of 2 MiB pages in a temp dir, with `pages` more pages reserved through
/// `/proc/sys/vm/nr_hugepages`; dropping it unmounts and restores the previous count. It
/// holds the hugepage lock throughout.
pub(crate) struct HugetlbfsMount {
    dir: tempfile::TempDir,
    /// Released (by dropping) after `drop` has restored `nr_hugepages`.
    _lock: fs::File,
    previous_nr: u64,
    /// `nr_hugepages` right after the test raised it.
    reserved_nr: Option<u64>,
    mounted: bool,
}

impl HugetlbfsMount {
    pub(crate) fn new(pages: u64) -> Result<Self, String> {
        let lock = lock_hugepages(Duration::from_secs(120))?;
        let previous_nr = read_u64(NR_HUGEPAGES)?;
        let dir = tempfile::Builder::new()
            .prefix("vnuma-hugetlbfs-")
            .tempdir()
            .map_err(|e| format!("temp dir: {e}"))?;
        let mut mount = HugetlbfsMount {
            dir,
            _lock: lock,
            previous_nr,
            reserved_nr: None,
            mounted: false,
        };
        // A machine busy with builds has its memory in small pieces: when the kernel cannot
        // find enough 2 MiB blocks, drop the page cache, compact memory and ask again.
        let mut free = 0;
        for attempt in 0..3 {
            if attempt > 0 {
                let _ = fs::write("/proc/sys/vm/drop_caches", "3\n");
                let _ = fs::write("/proc/sys/vm/compact_memory", "1\n");
                thread::sleep(Duration::from_millis(500));
            }
            fs::write(NR_HUGEPAGES, format!("{}\n", previous_nr + pages)).map_err(|e| {
                format!("cannot reserve {pages} hugepages through {NR_HUGEPAGES} ({e}): the test needs root")
            })?;
            mount.reserved_nr = Some(read_u64(NR_HUGEPAGES)?);
            free = read_u64(FREE_2M_PAGES)?;
            if free >= pages {
                break;
            }
        }
        if free < pages {
            return Err(format!(
                "the kernel has {free} free 2 MiB pages after asking for {pages} more (memory too fragmented?)"
            ));
        }
        let out = Command::new("mount")
            .args(["-t", "hugetlbfs", "-o", "pagesize=2M", "none"])
            .arg(mount.dir.path())
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t hugetlbfs -o pagesize=2M none {} failed (needs root): {}",
                mount.dir.path().display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        mount.mounted = true;
        eprintln!(
            "hugetlbfs mounted at {} with {pages} more 2 MiB pages (nr_hugepages {previous_nr} -> {})",
            mount.dir.path().display(),
            previous_nr + pages
        );
        Ok(mount)
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for HugetlbfsMount {
    fn drop(&mut self) {
        if self.mounted {
            let unmounted = (0..50).any(|_| {
                let ok = Command::new("umount")
                    .arg(self.dir.path())
                    .status()
                    .is_ok_and(|s| s.success());
                if !ok {
                    thread::sleep(Duration::from_millis(100));
                }
                ok
            });
            if !unmounted {
                eprintln!("warning: could not unmount {}", self.dir.path().display());
            }
        }
        let Some(reserved_nr) = self.reserved_nr else {
            return;
        };
        // Back to the previous count; if someone else changed it meanwhile, take back only ours.
        let ours = reserved_nr.saturating_sub(self.previous_nr);
        let restore = match read_u64(NR_HUGEPAGES) {
            Ok(now) if now != reserved_nr => {
                eprintln!(
                    "warning: nr_hugepages changed under the test ({now}); releasing only its {ours} pages"
                );
                now.saturating_sub(ours)
            }
            _ => self.previous_nr,
        };
        if let Err(e) = fs::write(NR_HUGEPAGES, format!("{restore}\n")) {
            eprintln!("warning: could not restore nr_hugepages to {restore}: {e}");
        }
        eprintln!(
            "hugetlbfs unmounted, nr_hugepages back to {}",
            read_u64(NR_HUGEPAGES).map_or_else(|e| e, |n| n.to_string())
        );
    }
}
