//! Shared test helpers: the hwloc fixtures (located, extracted on demand) and their oracles.
//! The CLI crate's tests include this same file with `#[path]`.

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

/// Every shared snapshot's name (its tarball without `.tar.bz2`), sorted.
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

/// One `.test` file: its name, source tarball (without extension) and target file.
#[derive(Debug, Clone)]
pub(crate) struct FixtureTest {
    pub(crate) name: String,
    pub(crate) tarball: String,
    pub(crate) target: String,
}

/// Every `.test` file in the fixture folder, by name.
pub(crate) fn fixture_tests() -> Vec<FixtureTest> {
    let mut tests = Vec::new();
    for entry in fs::read_dir(fixtures_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("test") {
            continue;
        }
        let text = fs::read_to_string(&path).unwrap();
        let field = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key))
                .map(|v| v.trim().to_string())
                .unwrap_or_else(|| panic!("{} has no {key}", path.display()))
        };
        tests.push(FixtureTest {
            name: path.file_stem().unwrap().to_string_lossy().into_owned(),
            tarball: field("source:").trim_end_matches(".tar.bz2").to_string(),
            target: field("target:"),
        });
    }
    tests.sort_by(|a, b| a.name.cmp(&b.name));
    tests
}

fn read_trimmed(path: &Path) -> Option<String> {
    fs::read_to_string(path).ok().map(|t| {
        t.trim_matches(|c: char| c == '\0' || c.is_whitespace())
            .to_string()
    })
}

/// The sysfs truth of FIXTURES.md, computed independently of the reader: each node's
/// `cpulist` (or `cpumap`) ∩ the `cpuN` directories, minus offline CPUs.
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

/// A `.console` target's NUMA nodes: P# → (PU P#s, local memory text such as `126GiB`), by the
/// rule of FIXTURES.md (the PUs below the nearest ancestor that is not a memory object).
pub(crate) fn console_nodes(text: &str) -> BTreeMap<u32, (CpuSet, String)> {
    let lines: Vec<&str> = text.lines().take_while(|l| !l.starts_with("depth 0:")).collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let is_memory = |l: &str| {
        let t = l.trim_start();
        t.starts_with("NUMANode") || t.starts_with("MemCache") || t.contains("(MemorySideCache)")
    };
    let mut nodes = BTreeMap::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        if !t.starts_with("NUMANode") {
            continue;
        }
        let after = &t[t.find("(P#").unwrap() + 3..];
        let id: u32 = after[..after.find([' ', ')']).unwrap()].parse().unwrap();
        let local = after
            .split_whitespace()
            .find_map(|w| w.strip_prefix("local="))
            .map(|w| w.trim_end_matches(')').to_string())
            .unwrap_or_default();
        let my = indent(line);
        let parent = (0..i)
            .rev()
            .find(|&j| indent(lines[j]) < my && !is_memory(lines[j]));
        let mut pus = CpuSet::new();
        if let Some(p) = parent {
            let pi = indent(lines[p]);
            for l in lines[p + 1..].iter().take_while(|l| indent(l) > pi) {
                let t = l.trim_start();
                if t.starts_with("PU ") {
                    let after = &t[t.find("(P#").unwrap() + 3..];
                    pus.insert(CpuId(after[..after.find([' ', ')']).unwrap()].parse().unwrap()));
                }
            }
        }
        nodes.insert(id, (pus, local));
    }
    nodes
}

/// Memory as lstopo's console output prints it: the largest unit in which the value is at
/// least 10, rounded to nearest (`8190MiB`, `126GiB`).
pub(crate) fn lstopo_memory(bytes: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut unit = 0;
    while unit + 1 < units.len() && bytes >> (10 * (unit + 1)) >= 10 {
        unit += 1;
    }
    let div = 1u64 << (10 * unit);
    let rounded = (bytes + div / 2) / div;
    format!("{rounded}{}", units[unit])
}

/// An `.xml` target's NUMA nodes: os_index → (cpuset, local_memory), and the NUMALatency
/// distances indexed by os index.
pub(crate) struct XmlTarget {
    pub(crate) nodes: BTreeMap<u32, (CpuSet, u64)>,
    pub(crate) distances: BTreeMap<(u32, u32), u32>,
}

fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let rest = &tag[start..];
    Some(&rest[..rest.find('"')?])
}

pub(crate) fn xml_target(text: &str) -> XmlTarget {
    let mut nodes = BTreeMap::new();
    for piece in text
        .split('<')
        .filter(|p| p.starts_with("object type=\"NUMANode\""))
    {
        let id = attr(piece, "os_index").unwrap().parse().unwrap();
        let cpus = CpuSet::parse_map(&attr(piece, "cpuset").unwrap().replace("0x", "")).unwrap();
        let memory = attr(piece, "local_memory").map_or(0, |m| m.parse().unwrap());
        nodes.insert(id, (cpus, memory));
    }
    let mut distances = BTreeMap::new();
    if let Some(start) = text.find("<distances2 type=\"NUMANode\"") {
        let block = &text[start..text[start..].find("</distances2>").unwrap() + start];
        let between = |open: &str| {
            let s = block.find(open).unwrap();
            let s = s + block[s..].find('>').unwrap() + 1;
            block[s..s + block[s..].find('<').unwrap()]
                .split_whitespace()
                .map(|w| w.parse::<u64>().unwrap())
                .collect::<Vec<_>>()
        };
        let indexes = between("<indexes");
        let values: Vec<u64> = block
            .match_indices("<u64values")
            .flat_map(|(i, _)| {
                let s = i + block[i..].find('>').unwrap() + 1;
                block[s..s + block[s..].find('<').unwrap()]
                    .split_whitespace()
                    .map(|w| w.parse::<u64>().unwrap())
                    .collect::<Vec<_>>()
            })
            .collect();
        let n = indexes.len();
        for (k, v) in values.iter().enumerate() {
            let from = u32::try_from(indexes[k / n]).unwrap();
            let to = u32::try_from(indexes[k % n]).unwrap();
            distances.insert((from, to), u32::try_from(*v).unwrap());
        }
    }
    XmlTarget { nodes, distances }
}
