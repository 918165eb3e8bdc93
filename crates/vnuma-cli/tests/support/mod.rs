//! Shared test helpers of the CLI tests: the hwloc sysfs snapshots (located, extracted on
//! demand) and their per-node CPU truth. Copied from `crates/vnuma/tests/support/mod.rs`
//! (integration tests of one crate cannot use another crate's test helpers).

#![allow(
    dead_code,
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use vnuma::cpuset::CpuSet;
use vnuma::ids::CpuId;

/// The fixture folder: `$VNUMA_HWLOC_FIXTURES`, else `../shared/fixtures/hwloc` beside the
/// repository. Missing fixtures fail the test with directions, never skip it.
pub(crate) fn fixtures_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("VNUMA_HWLOC_FIXTURES") {
        return PathBuf::from(dir);
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = repo.join("../shared/fixtures/hwloc");
    assert!(
        dir.is_dir(),
        "hwloc fixtures not found at {} and VNUMA_HWLOC_FIXTURES is not set: put a checkout of \
         hwloc's tests/hwloc/linux/ (the *.tar.bz2, *.test, *.console, *.xml files) there",
        dir.display()
    );
    dir
}

/// The names (without `.tar.bz2`) of every snapshot tarball in the fixture folder, sorted.
pub(crate) fn tarballs() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(fixtures_dir())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_suffix(".tar.bz2").map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

static EXTRACTED: OnceLock<Mutex<(tempfile::TempDir, HashMap<String, PathBuf>)>> = OnceLock::new();

/// The filesystem root of a fixture tarball (by its name without `.tar.bz2`), extracted once
/// per test process into a temporary directory. The root is the single top-level directory.
pub(crate) fn fsroot(tarball: &str) -> PathBuf {
    let cell = EXTRACTED.get_or_init(|| Mutex::new((tempfile::tempdir().unwrap(), HashMap::new())));
    let mut guard = cell.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(root) = guard.1.get(tarball) {
        return root.clone();
    }
    let dest = guard.0.path().join(tarball);
    fs::create_dir_all(&dest).unwrap();
    let archive = fixtures_dir().join(format!("{tarball}.tar.bz2"));
    let status = Command::new("tar")
        .arg("xjf")
        .arg(&archive)
        .arg("-C")
        .arg(&dest)
        .status()
        .expect("running tar (Debian packages tar and bzip2)");
    assert!(status.success(), "tar xjf {} failed", archive.display());
    let tops: Vec<PathBuf> = fs::read_dir(&dest).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(
        tops.len(),
        1,
        "{tarball} should hold one top-level directory: {tops:?}"
    );
    let root = tops[0].clone();
    guard.1.insert(tarball.to_string(), root.clone());
    root
}

fn read_trimmed(path: &Path) -> Option<String> {
    fs::read_to_string(path).ok().map(|t| {
        t.trim_matches(|c: char| c == '\0' || c.is_whitespace())
            .to_string()
    })
}

/// The sysfs truth of FIXTURES.md, computed independently of the reader: each node's
/// `cpulist` (or `cpumap`) ∩ the `cpuN` directories, minus offline CPUs. Empty when the
/// snapshot has no `node/` directory.
pub(crate) fn sysfs_truth(root: &Path) -> BTreeMap<u32, CpuSet> {
    let sys = root.join("sys/devices/system");
    let existing: CpuSet = fs::read_dir(sys.join("cpu"))
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().to_str()?.strip_prefix("cpu")?.parse().ok())
        .map(CpuId)
        .collect();
    let online_list = read_trimmed(&sys.join("cpu/online")).map(|t| CpuSet::parse_list(&t).unwrap());
    let online: CpuSet = existing
        .iter()
        .filter(|c| match &online_list {
            Some(list) => list.contains(*c),
            None => read_trimmed(&sys.join(format!("cpu/cpu{c}/online"))).as_deref() != Some("0"),
        })
        .collect();
    let mut truth = BTreeMap::new();
    let Ok(nodes) = fs::read_dir(sys.join("node")) else {
        return truth;
    };
    for entry in nodes {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let Some(id) = name.strip_prefix("node").and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let dir = sys.join(&name);
        let dir = if dir.exists() {
            dir
        } else {
            sys.join("node").join(&name)
        };
        let listed = match read_trimmed(&dir.join("cpulist")) {
            Some(list) => CpuSet::parse_list(&list).unwrap(),
            None => CpuSet::parse_map(&read_trimmed(&dir.join("cpumap")).unwrap_or_default()).unwrap(),
        };
        truth.insert(id, listed.intersection(&online));
    }
    truth
}
