//! The guest-boot proof: a real Linux guest, booted under QEMU with TCG on exactly the command
//! line `vnuma plan -o qemu --qemu-accel tcg` renders, reads its NUMA layout back from
//! `/sys/devices/system/node` and prints it on the serial console; the layout must equal the
//! plan of `vnuma plan -o json`: the same node ids, and per guest node its CPU list, its memory
//! (counted exactly in 128 MiB memory blocks; `MemTotal` only as a sanity bound, since the
//! kernel keeps some) and its distance row.
//!
//! Cases (each YAML is the seed's text with a few strings replaced, written to a temp dir):
//! - `seed-hugetlbfs`: the seed VMI with 512Mi on the built-in dual-socket host, cpuset
//!   `7-8,23-24`: two symmetric cells, distances 10/21; its memory comes from REAL 2 MiB
//!   hugepages on a hugetlbfs mount the test makes (`--qemu-memory-backend file`), checked on
//!   the host too through QEMU's mappings. The pages are reserved through
//!   `/proc/sys/vm/nr_hugepages` under the lock `$VNUMA_GUEST_DIR/.hugepages.lock`; a `Drop`
//!   guard unmounts and gives back exactly the pages it reserved, even when a test panics.
//! - `dual-socket-3+1`: 4 cores, cpuset `0-2,8`: an uneven 3 + 1 vCPU split.
//! - `asymmetric-1gi`: 3 cores with 1Gi pages and 4Gi on the built-in asymmetric host, cpuset
//!   `0,6,8`: three cells of 2Gi/1Gi/1Gi, distances 10/11/21.
//! - `snapshot-distances`: a real machine's host distances (the hwloc snapshot
//!   `128arm-2pa2n8cluster4co`, 4 nodes, distances 16/25/32/33) in a 4-cell plan.
//!
//! The test adds only `-kernel/-initrd/-append/-nographic/-no-reboot`. One rewrite: this
//! machine has one NUMA node, so every `host-nodes=N` becomes `host-nodes=0` (which host node
//! backs a cell does not change what the guest sees). Cells without real hugepages are
//! rendered with `--qemu-memory-backend ram`.
//!
//! Guest files: the kernel from `tests/guest/fetch-kernel.sh` (the shared script) and the
//! initramfs from `tests/guest/build-initrd-full.sh`, whose report adds each node's distance
//! row and `MemTotal` to the shared `build-initrd.sh` report.
//!
//! Flakiness (shared/spec/guest-proof.md): QEMU is killed by its pid as soon as the report's
//! end marker arrives, every wait is bounded, and a boot without a complete report is retried
//! once. A complete report that disagrees with the plan is not retried. Boots run two at a time.
//!
//! A further test starts QEMU paused (`-S`, QMP on stdio) on the plan rendered for every hwloc
//! snapshot with NUMA nodes and at least 4 CPUs, checks each vCPU's `node-id` against its plan
//! cell, and requires a clean exit.
//!
//! Needs the Debian packages qemu-system-x86 and busybox-static, apt access to the Debian
//! mirror (for the kernel) and root (hugetlbfs mount, `/proc/sys/vm/nr_hugepages`): without
//! them the tests fail naming what is missing; they never skip.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "support/hugepages.rs"]
mod hugepages;
#[path = "../../vnuma/tests/support/mod.rs"]
mod support;

use hugepages::HugetlbfsMount;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, mpsc};
use std::thread;
use std::time::{Duration, Instant};

const MIB: u64 = 1 << 20;
/// The memory block size the report counts in (x86-64 guests below 64 GiB).
const BLOCK: u64 = 128 * MIB;
const QEMU: &str = "qemu-system-x86_64";
const BEGIN: &str = "===NUMA-REPORT-BEGIN===";
const END: &str = "===NUMA-REPORT-END===";
const APPEND: &str = "console=ttyS0 panic=-1 quiet";
/// One boot normally reports after 5–11 s on 2 cores; this bounds a hung one.
const BOOT_TIMEOUT: Duration = Duration::from_secs(45);
const BOOT_ATTEMPTS: u32 = 2;
/// Guests booted at once (the machine has 2 cores).
const BOOT_JOBS: usize = 2;
const QMP_TIMEOUT: Duration = Duration::from_secs(30);
/// The hwloc snapshot whose distances the `snapshot-distances` case carries into a guest.
const DISTANCE_SNAPSHOT: &str = "128arm-2pa2n8cluster4co";

/// Serialises the QEMU-heavy work of the tests (the boots, the snapshot runs) on 2 cores.
static QEMU_LOCK: Mutex<()> = Mutex::new(());

fn qemu_lock() -> MutexGuard<'static, ()> {
    QEMU_LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

// ---------------------------------------------------------------------------------------------
// The `-o qemu` text back into argv.

/// The words a POSIX shell makes of `text`, for what a renderer of shell-quoted arguments
/// prints: bare words, single quotes (with `'\''`), double quotes, backslash escapes and
/// backslash-newline continuations. Anything the shell would expand or treat as an operator
/// (`$`, `` ` ``, `;`, `|`, `*`, `{`, ...) is an error, never a guess.
fn shell_words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => words.extend(word.take()),
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(x) => word.get_or_insert_with(String::new).push(x),
                None => return Err("the text ends in a backslash".into()),
            },
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(x) => w.push(x),
                        None => return Err("unterminated single quote".into()),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some('\n') => {}
                            Some(x @ ('$' | '`' | '"' | '\\')) => w.push(x),
                            Some(x) => {
                                w.push('\\');
                                w.push(x);
                            }
                            None => return Err("unterminated double quote".into()),
                        },
                        Some(x @ ('$' | '`')) => {
                            return Err(format!("{x:?} inside double quotes would expand"));
                        }
                        Some(x) => w.push(x),
                        None => return Err("unterminated double quote".into()),
                    }
                }
            }
            c if c.is_ascii_alphanumeric() || "-_=.,:/@%+^]".contains(c) => {
                word.get_or_insert_with(String::new).push(c);
            }
            c => return Err(format!("unquoted {c:?} is special to the shell")),
        }
    }
    words.extend(word);
    Ok(words)
}

/// `-o qemu` output as argv: every line but the last ends in ` \`, then [`shell_words`].
fn qemu_lines_to_argv(text: &str) -> Result<Vec<String>, String> {
    let body = text
        .strip_suffix('\n')
        .ok_or("the output does not end in a newline")?;
    let lines: Vec<&str> = body.split('\n').collect();
    for (i, line) in lines.iter().enumerate() {
        let continued = line.ends_with(" \\");
        if continued != (i + 1 < lines.len()) {
            return Err(format!(
                "line {} {line:?}: only the last line may lack ` \\`",
                i + 1
            ));
        }
    }
    shell_words(text)
}

/// This machine has one NUMA node: bind every cell's memory to host node 0 instead of the
/// planned host node. Returns how many arguments changed.
fn bind_to_host_node_zero(args: &mut [String]) -> usize {
    let mut changed = 0;
    for arg in args.iter_mut() {
        if !arg.contains("host-nodes=") {
            continue;
        }
        *arg = arg
            .split(',')
            .map(|p| {
                if p.starts_with("host-nodes=") {
                    "host-nodes=0"
                } else {
                    p
                }
            })
            .collect::<Vec<_>>()
            .join(",");
        changed += 1;
    }
    changed
}

// ---------------------------------------------------------------------------------------------
// CPU lists, the plan, the guest's report and their comparison.

/// A Linux CPU list (`0-2,5`; empty for none), parsed independently of the library.
fn parse_cpulist(text: &str) -> Result<BTreeSet<u32>, String> {
    let mut set = BTreeSet::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let bad = || format!("bad CPU list {text:?}");
        let (a, b): (u32, u32) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
        if a > b {
            return Err(bad());
        }
        set.extend(a..=b);
    }
    Ok(set)
}

fn cpulist(set: &BTreeSet<u32>) -> String {
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for &c in set {
        match runs.last_mut() {
            Some((_, end)) if *end + 1 == c => *end = c,
            _ => runs.push((c, c)),
        }
    }
    let text: Vec<String> = runs
        .iter()
        .map(|&(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") })
        .collect();
    if text.is_empty() {
        "(none)".into()
    } else {
        text.join(",")
    }
}

/// A guest cell of the plan.
#[derive(Debug, Clone)]
struct Cell {
    id: u32,
    vcpus: BTreeSet<u32>,
    memory_bytes: u64,
    /// To cell id; empty when the plan gives the guest no distances.
    distances: BTreeMap<u32, u32>,
}

/// What the proof needs of `vnuma plan -o json`.
#[derive(Debug, Clone)]
struct Plan {
    vcpus: u32,
    page_size_bytes: Option<u64>,
    cells: Vec<Cell>,
}

fn plan_from_json(doc: &serde_json::Value) -> Plan {
    let u = |v: &serde_json::Value| v.as_u64().unwrap_or_else(|| panic!("not a number: {v}"));
    let mut cells: Vec<Cell> = doc["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .map(|c| Cell {
            id: u32::try_from(u(&c["id"])).unwrap(),
            vcpus: parse_cpulist(c["vcpus"].as_str().expect("vcpus")).unwrap(),
            memory_bytes: u(&c["memory_bytes"]),
            distances: c["distances"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.parse().unwrap(), u32::try_from(u(v)).unwrap()))
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect();
    cells.sort_by_key(|c| c.id);
    Plan {
        vcpus: u32::try_from(u(&doc["guest"]["vcpus"])).unwrap(),
        page_size_bytes: doc["guest"]["page_size_bytes"].as_u64(),
        cells,
    }
}

/// One guest node as the guest reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct GuestNode {
    cpus: BTreeSet<u32>,
    blocks: u64,
    distance: Vec<u32>,
    memtotal_kb: u64,
}

/// The report `build-initrd-full.sh`'s init prints between the markers.
#[derive(Debug, Clone, PartialEq, Eq)]
struct GuestReport {
    block_size_bytes: u64,
    cpus_online: BTreeSet<u32>,
    nodes: BTreeMap<u32, GuestNode>,
}

/// The report out of a console log (escape sequences and kernel lines around it ignored).
fn parse_report(console: &str) -> Result<GuestReport, String> {
    let start = console
        .find(BEGIN)
        .ok_or("no report: the begin marker never came")?
        + BEGIN.len();
    let len = console[start..]
        .find(END)
        .ok_or("incomplete report: no end marker")?;
    let mut block_size = None;
    let mut cpus_online = None;
    #[derive(Default)]
    struct Partial {
        line: Option<(BTreeSet<u32>, u64)>,
        distance: Option<Vec<u32>>,
        memtotal_kb: Option<u64>,
    }
    let mut partial: BTreeMap<u32, Partial> = BTreeMap::new();
    for line in console[start..start + len].lines() {
        let line = line.trim_matches(|c: char| c == '\r' || c == ' ');
        if line.is_empty() {
            continue;
        }
        let bad = || format!("unexpected report line {line:?}");
        let (key, value) = line.split_once('=').ok_or_else(bad)?;
        match key {
            "block_size_bytes" => block_size = Some(u64::from_str_radix(value, 16).map_err(|_| bad())?),
            "cpus_online" => cpus_online = Some(parse_cpulist(value)?),
            "nodes_online" => {}
            _ => {
                let rest = key.strip_prefix("node").ok_or_else(bad)?;
                let (id, field) = match rest.split_once('.') {
                    Some((id, field)) => (id, Some(field)),
                    None => (rest, None),
                };
                let entry = partial.entry(id.parse().map_err(|_| bad())?).or_default();
                match field {
                    None => {
                        let (cpus, blocks) = value.rsplit_once(':').ok_or_else(bad)?;
                        entry.line = Some((parse_cpulist(cpus)?, blocks.parse().map_err(|_| bad())?));
                    }
                    Some("distance") => {
                        let row: Result<Vec<u32>, _> = value.split_whitespace().map(str::parse).collect();
                        entry.distance = Some(row.map_err(|_| bad())?);
                    }
                    Some("memtotal_kb") => entry.memtotal_kb = Some(value.parse().map_err(|_| bad())?),
                    Some(_) => return Err(bad()),
                }
            }
        }
    }
    let mut nodes = BTreeMap::new();
    for (id, p) in partial {
        let missing = |what: &str| format!("the report lacks node{id}'s {what}");
        let (cpus, blocks) = p.line.ok_or_else(|| missing("CPU list"))?;
        nodes.insert(
            id,
            GuestNode {
                cpus,
                blocks,
                distance: p.distance.ok_or_else(|| missing("distance"))?,
                memtotal_kb: p.memtotal_kb.ok_or_else(|| missing("MemTotal"))?,
            },
        );
    }
    if nodes.is_empty() {
        return Err("the report names no node".into());
    }
    Ok(GuestReport {
        block_size_bytes: block_size.ok_or("the report lacks block_size_bytes")?,
        cpus_online: cpus_online.ok_or("the report lacks cpus_online")?,
        nodes,
    })
}

/// The distance the guest should see from cell `a` to cell `b`: the plan's (QEMU fills a
/// missing direction from the other), else the kernel's default without a SLIT: 10 and 20.
fn planned_distance(a: &Cell, b: &Cell) -> u32 {
    a.distances
        .get(&b.id)
        .or_else(|| b.distances.get(&a.id))
        .copied()
        .unwrap_or(if a.id == b.id { 10 } else { 20 })
}

/// Every way the guest's report differs from the plan, one per line.
fn compare(plan: &Plan, report: &GuestReport) -> Result<(), String> {
    let mut problems = Vec::new();
    if report.block_size_bytes != BLOCK {
        problems.push(format!(
            "guest memory blocks are {} MiB, the proof counts in 128 MiB",
            report.block_size_bytes / MIB
        ));
    }
    let all: BTreeSet<u32> = (0..plan.vcpus).collect();
    if report.cpus_online != all {
        problems.push(format!(
            "guest CPUs online {}, plan has vCPUs {}",
            cpulist(&report.cpus_online),
            cpulist(&all)
        ));
    }
    let cells: BTreeSet<u32> = plan.cells.iter().map(|c| c.id).collect();
    let nodes: BTreeSet<u32> = report.nodes.keys().copied().collect();
    if cells != nodes {
        problems.push(format!("guest nodes {nodes:?}, plan cells {cells:?}"));
    }
    for cell in &plan.cells {
        let Some(node) = report.nodes.get(&cell.id) else {
            continue;
        };
        let id = cell.id;
        if node.cpus != cell.vcpus {
            problems.push(format!(
                "node {id}: guest CPUs {}, plan vCPUs {}",
                cpulist(&node.cpus),
                cpulist(&cell.vcpus)
            ));
        }
        if cell.memory_bytes % BLOCK != 0 {
            problems.push(format!(
                "node {id}: plan memory {} bytes is no whole number of 128 MiB blocks",
                cell.memory_bytes
            ));
        } else if node.blocks != cell.memory_bytes / BLOCK {
            problems.push(format!(
                "node {id}: guest has {} memory blocks of 128 MiB ({} MiB), plan {} MiB",
                node.blocks,
                node.blocks * 128,
                cell.memory_bytes / MIB
            ));
        }
        let row: Vec<u32> = plan.cells.iter().map(|b| planned_distance(cell, b)).collect();
        if node.distance != row {
            problems.push(format!(
                "node {id}: guest distances {:?}, plan {row:?}",
                node.distance
            ));
        }
        // MemTotal is what the kernel left after its own use: a bound, not an equality.
        let total = node.memtotal_kb * 1024;
        if total > cell.memory_bytes || total < cell.memory_bytes / 2 {
            problems.push(format!(
                "node {id}: guest MemTotal {} kB is not within half and all of the plan's {} MiB",
                node.memtotal_kb,
                cell.memory_bytes / MIB
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

// ---------------------------------------------------------------------------------------------
// Processes: bounded waits, prerequisites, vnuma.

/// A child process killed (by its pid) and reaped when dropped.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Everything a child writes to one pipe, read by a thread.
struct Drained {
    buf: Arc<Mutex<Vec<u8>>>,
    done: mpsc::Receiver<()>,
}

impl Drained {
    fn new(pipe: Option<impl Read + Send + 'static>) -> Self {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let (tx, done) = mpsc::channel();
        if let Some(mut pipe) = pipe {
            let sink = Arc::clone(&buf);
            thread::spawn(move || {
                let mut chunk = [0u8; 8192];
                while let Ok(n @ 1..) = pipe.read(&mut chunk) {
                    sink.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .extend_from_slice(&chunk[..n]);
                }
                let _ = tx.send(());
            });
        }
        Drained { buf, done }
    }

    /// The text so far, after waiting up to `wait` for the writer to close the pipe.
    fn text(&self, wait: Duration) -> String {
        let _ = self.done.recv_timeout(wait);
        String::from_utf8_lossy(&self.buf.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

struct Finished {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Runs `cmd` with `input` on stdin, killing it after `timeout`.
fn run_bounded(mut cmd: Command, input: &[u8], timeout: Duration) -> Result<Finished, String> {
    let what = format!("{cmd:?}");
    let child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {what}: {e}"))?;
    let mut child = Reaped(child);
    let out = Drained::new(child.0.stdout.take());
    let err = Drained::new(child.0.stderr.take());
    let mut stdin = child.0.stdin.take().unwrap();
    let _ = stdin.write_all(input);
    drop(stdin);
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child
            .0
            .try_wait()
            .map_err(|e| format!("waiting for {what}: {e}"))?
        {
            return Ok(Finished {
                status,
                stdout: out.text(Duration::from_secs(5)),
                stderr: err.text(Duration::from_secs(5)),
            });
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "{what} did not finish within {timeout:?} (killed); stderr: {}",
                err.text(Duration::ZERO)
            ));
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// QEMU must be there: the proof fails (never skips) without it.
fn require_qemu() {
    match Command::new(QEMU).arg("--version").output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "{QEMU} --version failed ({}): reinstall the Debian package qemu-system-x86: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!(
            "{QEMU} cannot run ({e}): install the Debian package qemu-system-x86 \
             (apt-get install --no-install-recommends qemu-system-x86)"
        ),
    }
}

struct GuestFiles {
    kernel: PathBuf,
    initrd: PathBuf,
}

static GUEST_FILES: OnceLock<Result<GuestFiles, String>> = OnceLock::new();

/// Runs a `tests/guest/` helper that prints the path of what it made.
fn guest_helper(script: &str, timeout: Duration, needs: &str) -> Result<PathBuf, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/guest")
        .join(script);
    let mut cmd = Command::new("bash");
    cmd.arg(&path);
    let fail = |why: String| format!("tests/guest/{script} failed ({needs}): {why}");
    let done = run_bounded(cmd, b"", timeout).map_err(fail)?;
    if !done.status.success() {
        return Err(fail(format!("{}; stderr: {}", done.status, done.stderr.trim())));
    }
    let made = PathBuf::from(done.stdout.trim());
    if !made.is_file() {
        return Err(fail(format!(
            "it printed {:?}, which is no file",
            done.stdout.trim()
        )));
    }
    Ok(made)
}

/// The guest kernel and initramfs, made once per test process; failing names the package.
fn guest_files() -> &'static GuestFiles {
    let files = GUEST_FILES.get_or_init(|| {
        Ok(GuestFiles {
            kernel: guest_helper(
                "fetch-kernel.sh",
                Duration::from_secs(300),
                "the guest kernel is the one Debian's linux-image-cloud-amd64 depends on, fetched \
                 with apt-get download from the Debian mirror; needs apt, dpkg-deb and tar",
            )?,
            initrd: guest_helper(
                "build-initrd-full.sh",
                Duration::from_secs(120),
                "needs the Debian package busybox-static (apt-get install busybox-static)",
            )?,
        })
    });
    match files {
        Ok(files) => files,
        Err(e) => panic!("{e}"),
    }
}

fn vnuma(args: &[String]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_vnuma"))
        .args(args)
        .output()
        .unwrap()
}

fn seed_text() -> String {
    fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/seed.yaml")).unwrap()
}

/// `text` with `from` replaced by `to`, which must be there.
fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "the seed no longer contains {from:?}");
    text.replacen(from, to, 1)
}

/// `vnuma plan VMI FLAGS -o json`, which must succeed.
fn plan(vmi: &Path, flags: &[String]) -> Result<Plan, String> {
    let mut args = vec!["plan".to_string(), vmi.display().to_string()];
    args.extend_from_slice(flags);
    args.extend(["-o".to_string(), "json".to_string()]);
    let out = vnuma(&args);
    if !out.status.success() {
        return Err(format!(
            "vnuma {args:?} exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| format!("{e}"))?;
    Ok(plan_from_json(&doc))
}

/// `vnuma plan VMI FLAGS -o qemu --qemu-accel tcg BACKEND` as argv, bound to host node 0.
fn qemu_argv(vmi: &Path, flags: &[String], backend: &[String]) -> Result<Vec<String>, String> {
    let mut args = vec!["plan".to_string(), vmi.display().to_string()];
    args.extend_from_slice(flags);
    args.extend(["-o", "qemu", "--qemu-accel", "tcg"].map(String::from));
    args.extend_from_slice(backend);
    let out = vnuma(&args);
    if !out.status.success() {
        return Err(format!(
            "vnuma {args:?} exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = String::from_utf8(out.stdout).map_err(|e| format!("{e}"))?;
    let mut argv = qemu_lines_to_argv(&text).map_err(|e| format!("{e} in:\n{text}"))?;
    if argv.first().map(String::as_str) != Some(QEMU) {
        return Err(format!("the command line does not start with {QEMU}:\n{text}"));
    }
    bind_to_host_node_zero(&mut argv);
    Ok(argv)
}

fn ram_backend() -> Vec<String> {
    ["--qemu-memory-backend", "ram"].map(String::from).to_vec()
}

// ---------------------------------------------------------------------------------------------
// Real hugepages.

/// Bytes of `pid`'s mappings of files under `dir` (QEMU's guest RAM on the hugetlbfs mount).
fn mapped_bytes_under(pid: u32, dir: &Path) -> u64 {
    let maps = fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
    let dir = format!("{}/", dir.display());
    maps.lines()
        .filter(|l| l.contains(&dir))
        .filter_map(|l| {
            let (a, b) = l.split_whitespace().next()?.split_once('-')?;
            Some(u64::from_str_radix(b, 16).ok()? - u64::from_str_radix(a, 16).ok()?)
        })
        .sum()
}

// ---------------------------------------------------------------------------------------------
// Booting.

/// A case's successful boot.
#[derive(Debug)]
struct Booted {
    plan: Plan,
    args: Vec<String>,
    report: GuestReport,
    /// Bytes QEMU had mapped from the test's hugetlbfs mount when the report arrived.
    hugetlbfs_mapped: Option<u64>,
}

fn console_log(name: &str, attempt: u32) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("guest_boot");
    fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{name}.attempt{attempt}.log"))
}

fn tail(text: &str, chars: usize) -> &str {
    let mut start = text.len().saturating_sub(chars);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

/// One boot: the report, and the bytes mapped from `hugetlbfs` at that moment.
fn boot_once(
    args: &[String],
    files: &GuestFiles,
    hugetlbfs: Option<&Path>,
    log: &Path,
) -> Result<(GuestReport, Option<u64>, f64), String> {
    let started = Instant::now();
    let child = Command::new(&args[0])
        .args(&args[1..])
        .arg("-kernel")
        .arg(&files.kernel)
        .arg("-initrd")
        .arg(&files.initrd)
        .args(["-append", APPEND, "-nographic", "-no-reboot"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", args[0]))?;
    let mut qemu = Reaped(child);
    let pid = qemu.0.id();
    let stderr = Drained::new(qemu.0.stderr.take());
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    let mut stdout = qemu.0.stdout.take().unwrap();
    thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n @ 1..) = stdout.read(&mut chunk) {
            if tx.send(chunk[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut console = Vec::new();
    let mut complete = false;
    let mut mapped = None;
    let mut qemu_exited = false;
    while let Some(left) = (started + BOOT_TIMEOUT).checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left.min(Duration::from_millis(200))) {
            Ok(chunk) => {
                console.extend_from_slice(&chunk);
                let text = String::from_utf8_lossy(&console);
                if text.find(BEGIN).is_some_and(|b| text[b..].contains(END)) {
                    complete = true;
                    mapped = hugetlbfs.map(|dir| mapped_bytes_under(pid, dir));
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                qemu_exited = true;
                break;
            }
        }
    }
    // Stop QEMU at the end marker: a guest's own poweroff sometimes stalls under TCG.
    let _ = qemu.0.kill();
    let status = qemu.0.wait().map_err(|e| format!("waiting for QEMU: {e}"))?;
    let seconds = started.elapsed().as_secs_f64();
    let console = String::from_utf8_lossy(&console).into_owned();
    let _ = fs::write(log, &console);
    let why = if complete {
        match parse_report(&console) {
            Ok(report) => return Ok((report, mapped, seconds)),
            Err(e) => e,
        }
    } else if qemu_exited {
        format!("QEMU exited ({status}) after {seconds:.1} s without a complete report")
    } else {
        format!("no complete report within {BOOT_TIMEOUT:?} (QEMU killed)")
    };
    Err(format!(
        "{why}\nQEMU stderr: {}\nconsole ({}), last part:\n{}",
        stderr.text(Duration::from_secs(5)).trim(),
        log.display(),
        tail(&console, 1500)
    ))
}

/// Boots `args`, retrying once a boot that gave no complete report.
fn boot(
    name: &str,
    args: &[String],
    files: &GuestFiles,
    hugetlbfs: Option<&Path>,
) -> Result<(GuestReport, Option<u64>), String> {
    let mut failures = Vec::new();
    for attempt in 1..=BOOT_ATTEMPTS {
        match boot_once(args, files, hugetlbfs, &console_log(name, attempt)) {
            Ok((report, mapped, seconds)) => {
                eprintln!("guest {name}: report after {seconds:.1} s (attempt {attempt})");
                return Ok((report, mapped));
            }
            Err(e) => {
                eprintln!(
                    "guest {name}: attempt {attempt} failed: {}",
                    e.lines().next().unwrap_or("")
                );
                failures.push(format!("attempt {attempt}: {e}"));
            }
        }
    }
    Err(failures.join("\n\n"))
}

/// A proof case: a VMI (the seed's text, edited), `vnuma plan` flags, and whether its memory
/// comes from the test's hugetlbfs mount.
struct Case {
    name: &'static str,
    vmi: String,
    flags: Vec<String>,
    hugepages: bool,
}

fn cases() -> Vec<Case> {
    let seed = seed_text();
    let flags = |f: &[&str]| f.iter().map(ToString::to_string).collect::<Vec<_>>();
    let mem = |size: &str| edit(&seed, "memory: 64Mi", &format!("memory: {size}"));
    let snapshot = support::fsroot(DISTANCE_SNAPSHOT).display().to_string();
    vec![
        Case {
            name: "asymmetric-1gi",
            vmi: edit(
                &edit(&mem("4Gi"), "cores: 4", "cores: 3"),
                "pageSize: 2Mi",
                "pageSize: 1Gi",
            ),
            flags: flags(&[
                "--host",
                "example:asymmetric",
                "--cpuset",
                "0,6,8",
                "--allow-hugepage-shortfall",
            ]),
            hugepages: false,
        },
        Case {
            name: "snapshot-distances",
            vmi: mem("1Gi"),
            flags: flags(&[
                "--host",
                &snapshot,
                "--cpuset",
                "0,32,64,96",
                "--allow-hugepage-shortfall",
            ]),
            hugepages: false,
        },
        Case {
            name: "seed-hugetlbfs",
            vmi: mem("512Mi"),
            flags: flags(&["--cpuset", "7-8,23-24"]),
            hugepages: true,
        },
        Case {
            name: "dual-socket-3+1",
            vmi: mem("512Mi"),
            flags: flags(&["--host", "example:dual-socket", "--cpuset", "0-2,8"]),
            hugepages: false,
        },
    ]
}

type Outcomes = BTreeMap<&'static str, Result<Booted, String>>;

static BOOTS: OnceLock<Outcomes> = OnceLock::new();

/// Plans, renders and boots every case (once per test process, `BOOT_JOBS` at a time).
fn boot_all() -> Outcomes {
    let _qemu = qemu_lock();
    require_qemu();
    let files = guest_files();
    let started = Instant::now();
    let work = tempfile::tempdir().unwrap();
    let mut outcomes: Outcomes = BTreeMap::new();
    let mut ready: Vec<(&'static str, Plan, PathBuf, Vec<String>, bool)> = Vec::new();
    for case in cases() {
        let vmi = work.path().join(format!("{}.yaml", case.name));
        fs::write(&vmi, &case.vmi).unwrap();
        match plan(&vmi, &case.flags) {
            Ok(p) => ready.push((case.name, p, vmi, case.flags, case.hugepages)),
            Err(e) => {
                outcomes.insert(case.name, Err(e));
            }
        }
    }
    // The one hugepage-backed case decides the reservation: its memory in 2 MiB pages.
    let mut hugetlbfs: Option<Result<HugetlbfsMount, String>> = None;
    let mut jobs = Vec::new();
    for (name, p, vmi, flags, hugepages) in ready {
        let backend = if hugepages {
            assert_eq!(
                p.page_size_bytes,
                Some(2 * MIB),
                "{name}: the hugetlbfs case needs 2Mi pages"
            );
            let pages = p.cells.iter().map(|c| c.memory_bytes).sum::<u64>() / (2 * MIB);
            match hugetlbfs.get_or_insert_with(|| HugetlbfsMount::new(pages)) {
                Ok(mount) => {
                    let dir = mount.path().display().to_string();
                    ["--qemu-memory-backend", "file", "--qemu-hugetlbfs", &dir]
                        .map(String::from)
                        .to_vec()
                }
                Err(e) => {
                    outcomes.insert(name, Err(e.clone()));
                    continue;
                }
            }
        } else {
            ram_backend()
        };
        match qemu_argv(&vmi, &flags, &backend) {
            Ok(args) => jobs.push((name, p, args, hugepages)),
            Err(e) => {
                outcomes.insert(name, Err(e));
            }
        }
    }
    let mount_dir = hugetlbfs
        .as_ref()
        .and_then(|m| m.as_ref().ok())
        .map(HugetlbfsMount::path);
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    thread::scope(|s| {
        for _ in 0..BOOT_JOBS {
            s.spawn(|| {
                while let Some((name, p, args, hugepages)) = jobs.get(next.fetch_add(1, Ordering::SeqCst)) {
                    let done = boot(name, args, files, mount_dir.filter(|_| *hugepages));
                    let outcome = done.map(|(report, mapped)| Booted {
                        plan: p.clone(),
                        args: args.clone(),
                        report,
                        hugetlbfs_mapped: mapped,
                    });
                    results.lock().unwrap().push((*name, outcome));
                }
            });
        }
    });
    drop(hugetlbfs);
    outcomes.extend(results.into_inner().unwrap());
    eprintln!(
        "guest boots: {} case(s) in {:.1} s",
        outcomes.len(),
        started.elapsed().as_secs_f64()
    );
    outcomes
}

fn booted(name: &str) -> &'static Booted {
    match BOOTS.get_or_init(boot_all).get(name) {
        Some(Ok(b)) => b,
        Some(Err(e)) => panic!("guest case {name} failed:\n{e}"),
        None => panic!("no guest case {name}"),
    }
}

/// The case's plan has the intended shape, and the guest saw exactly that plan.
fn assert_guest_matches(name: &str, shape: &[(&str, u64)]) -> &'static Booted {
    let b = booted(name);
    let got: Vec<(String, u64)> = b
        .plan
        .cells
        .iter()
        .map(|c| (cpulist(&c.vcpus), c.memory_bytes / MIB))
        .collect();
    let want: Vec<(String, u64)> = shape.iter().map(|&(v, m)| (v.to_string(), m)).collect();
    assert_eq!(
        got, want,
        "{name}: the plan is not the case's intended (vCPUs, MiB) per cell"
    );
    if let Err(e) = compare(&b.plan, &b.report) {
        panic!(
            "{name}: the guest does not see the plan:\n{e}\nargs: {:?}\nreport: {:?}",
            b.args, b.report
        );
    }
    eprintln!("{name}: guest matches the plan: {:?}", b.report.nodes);
    b
}

// ---------------------------------------------------------------------------------------------
// Tests: the parsers.

#[test]
fn shell_words_undo_the_quoting() {
    let words = |t: &str| shell_words(t).unwrap();
    assert_eq!(words("-smp 4,sockets=1 \\\n-S\n"), ["-smp", "4,sockets=1", "-S"]);
    assert_eq!(words("'affinity=[0@[7]]'"), ["affinity=[0@[7]]"]);
    assert_eq!(words("'it'\\''s'"), ["it's"]);
    assert_eq!(words("'' x"), ["", "x"]);
    assert_eq!(words("\"a b\" a\\ b \"q\\\"\\$\\x\""), ["a b", "a b", "q\"$\\x"]);
    assert_eq!(words("  a\t b  "), ["a", "b"]);
    assert_eq!(words(""), Vec::<String>::new());
    for bad in [
        "$HOME", "a;b", "a|b", "*", "x 'open", "\"open", "`id`", "\"$x\"", "{a,b}", "a\\",
    ] {
        assert!(shell_words(bad).is_err(), "{bad:?} should be refused");
    }
}

#[test]
fn shell_words_invert_the_renderers_quoting() {
    let args: Vec<String> = [
        "qemu-system-x86_64",
        "-object",
        "memory-backend-file,id=m,mem-path=/dev/hugepages,size=1",
        "-name",
        "it's a 'VM' \"quoted\" $x `y` \\z",
        "-append",
        "",
        "-numa",
        "node,nodeid=0,cpus=0-1,cpus=3",
        "-x",
        "affinity=[0@[7]]; {a,b} * ? ~ # ! & | < > ( ) \t tab",
    ]
    .map(String::from)
    .to_vec();
    for arg in &args {
        assert_eq!(
            shell_words(&vnuma::render::shell::quote(arg)).unwrap(),
            std::slice::from_ref(arg)
        );
    }
    assert_eq!(
        qemu_lines_to_argv(&vnuma::render::shell::lines(&args)).unwrap(),
        args
    );
    assert!(
        qemu_lines_to_argv("a \\\nb\nc\n").is_err(),
        "a line lacking ` \\` mid-text"
    );
    assert!(qemu_lines_to_argv("a \\\nb").is_err(), "no final newline");
}

#[test]
fn rendered_lines_parse_back_and_bind_to_host_node_zero() {
    let dir = tempfile::tempdir().unwrap();
    let vmi = dir.path().join("seed.yaml");
    fs::write(&vmi, seed_text()).unwrap();
    let flags = ["--cpuset", "7-8,23-24"].map(String::from).to_vec();
    let args = qemu_argv(&vmi, &flags, &ram_backend()).unwrap();
    assert_eq!(args[..3], ["qemu-system-x86_64", "-machine", "q35"]);
    let objects: Vec<&String> = args
        .iter()
        .filter(|a| a.starts_with("memory-backend-ram,"))
        .collect();
    assert_eq!(objects.len(), 2, "{args:?}");
    assert!(
        objects.iter().all(|o| o.contains(",host-nodes=0,policy=bind")),
        "{objects:?}"
    );
    let mut planned = ["-x", "a,host-nodes=1,policy=bind", "host-nodes=12"].map(String::from);
    assert_eq!(bind_to_host_node_zero(&mut planned), 2);
    assert_eq!(planned, ["-x", "a,host-nodes=0,policy=bind", "host-nodes=0"]);
}

#[test]
fn cpulists_parse_and_print() {
    assert_eq!(
        parse_cpulist("0-2,5,7-8\n").unwrap(),
        BTreeSet::from([0, 1, 2, 5, 7, 8])
    );
    assert_eq!(parse_cpulist("").unwrap(), BTreeSet::new());
    assert!(parse_cpulist("3-1").is_err() && parse_cpulist("a").is_err());
    assert_eq!(cpulist(&BTreeSet::from([0, 1, 2, 5, 7, 8])), "0-2,5,7-8");
}

/// A console as the guest prints it: terminal escapes before the marker, CR-LF lines.
const CONSOLE: &str = "\x1bc\x1b[?7l\x1b[2JSeaBIOS\r\n\x1bc\x1b[?7l\x1b[2J===NUMA-REPORT-BEGIN===\r\n\
block_size_bytes=8000000\r\ncpus_online=0-3\r\nnodes_online=0-1\r\n\
node0=0-2:3\r\nnode0.distance=10 21\r\nnode0.memtotal_kb=352716\r\n\
node1=3:1\r\nnode1.distance=21 10\r\nnode1.memtotal_kb=96024\r\n\
===NUMA-REPORT-END===\r\nreboot: Power down\r\n";

fn console_plan() -> Plan {
    let cell = |id, vcpus: &str, mib: u64, d: [u32; 2]| Cell {
        id,
        vcpus: parse_cpulist(vcpus).unwrap(),
        memory_bytes: mib * MIB,
        distances: BTreeMap::from([(0, d[0]), (1, d[1])]),
    };
    Plan {
        vcpus: 4,
        page_size_bytes: None,
        cells: vec![cell(0, "0-2", 384, [10, 21]), cell(1, "3", 128, [21, 10])],
    }
}

#[test]
fn the_report_parses_and_every_difference_is_named() {
    let report = parse_report(CONSOLE).unwrap();
    assert_eq!(report.block_size_bytes, BLOCK);
    assert_eq!(
        report.nodes[&0],
        GuestNode {
            cpus: BTreeSet::from([0, 1, 2]),
            blocks: 3,
            distance: vec![10, 21],
            memtotal_kb: 352_716,
        }
    );
    compare(&console_plan(), &report).unwrap();

    let mut wrong = console_plan();
    let (a, b) = (wrong.cells[0].vcpus.clone(), wrong.cells[1].vcpus.clone());
    (wrong.cells[0].vcpus, wrong.cells[1].vcpus) = (b, a);
    wrong.cells[0].memory_bytes = 128 * MIB;
    wrong.cells[1].memory_bytes = 384 * MIB;
    wrong.cells[0].distances.insert(1, 31);
    wrong.cells[1].distances.insert(0, 31);
    let err = compare(&wrong, &report).unwrap_err();
    for needle in [
        "node 0: guest CPUs 0-2, plan vCPUs 3",
        "node 1: guest CPUs 3, plan vCPUs 0-2",
        "node 0: guest has 3 memory blocks of 128 MiB (384 MiB), plan 128 MiB",
        "node 0: guest distances [10, 21], plan [10, 31]",
        "node 1: guest distances [21, 10], plan [31, 10]",
    ] {
        assert!(err.contains(needle), "{needle:?} missing from:\n{err}");
    }

    assert!(parse_report("no markers").unwrap_err().contains("begin marker"));
    let cut = &CONSOLE[..CONSOLE.find("node1.distance").unwrap()];
    assert!(parse_report(cut).unwrap_err().contains("no end marker"));
    let garbled = CONSOLE.replace("node1.distance=21 10", "[   12.3] rcu: INFO: stall");
    assert!(parse_report(&garbled).is_err());
    let shared_format = CONSOLE.replace("node1.distance=21 10\r\n", "");
    assert!(
        parse_report(&shared_format)
            .unwrap_err()
            .contains("node1's distance")
    );
}

// ---------------------------------------------------------------------------------------------
// Tests: the guest boots.

#[test]
fn guest_sees_the_seed_plan_backed_by_real_hugepages() {
    let b = assert_guest_matches("seed-hugetlbfs", &[("0-1", 256), ("2-3", 256)]);
    assert!(
        b.args
            .iter()
            .any(|a| a.starts_with("memory-backend-file,") && a.contains(",mem-path=")),
        "{:?}",
        b.args
    );
    assert_eq!(
        b.hugetlbfs_mapped,
        Some(512 * MIB),
        "QEMU should have mapped all 512 MiB of guest RAM from the test's hugetlbfs mount"
    );
}

#[test]
fn guest_sees_an_uneven_vcpu_split() {
    assert_guest_matches("dual-socket-3+1", &[("0-2", 256), ("3", 256)]);
}

#[test]
fn guest_sees_uneven_1gi_cells_and_the_host_distances() {
    let b = assert_guest_matches("asymmetric-1gi", &[("0", 2048), ("1", 1024), ("2", 1024)]);
    let rows: Vec<&Vec<u32>> = b.report.nodes.values().map(|n| &n.distance).collect();
    assert_eq!(rows, [&vec![10, 11, 21], &vec![11, 10, 21], &vec![21, 21, 10]]);
}

#[test]
fn guest_sees_a_real_machines_distances() {
    let b = assert_guest_matches(
        "snapshot-distances",
        &[("0", 256), ("1", 256), ("2", 256), ("3", 256)],
    );
    // The snapshot's own node0 row, read from its sysfs: the plan carried it into the guest.
    let root = support::fsroot(DISTANCE_SNAPSHOT);
    let row = fs::read_to_string(root.join("sys/devices/system/node/node0/distance")).unwrap();
    let row: Vec<u32> = row.split_whitespace().map(|d| d.parse().unwrap()).collect();
    assert_eq!(b.report.nodes[&0].distance, row);
    assert_eq!(row, [10, 16, 32, 33]);
}

#[test]
fn the_proof_fails_on_wrong_plans() {
    // The real reports of the boots above, compared with deliberately wrong plans: no extra boot.
    let b = booted("dual-socket-3+1");
    let mut wrong = b.plan.clone();
    let (a, c) = (wrong.cells[0].vcpus.clone(), wrong.cells[1].vcpus.clone());
    (wrong.cells[0].vcpus, wrong.cells[1].vcpus) = (c, a);
    let err = compare(&wrong, &b.report).expect_err("swapped vCPUs must not pass");
    assert!(err.contains("node 0: guest CPUs 0-2, plan vCPUs 3"), "{err}");
    assert!(err.contains("node 1: guest CPUs 3, plan vCPUs 0-2"), "{err}");

    let mut forgot = b.plan.clone();
    forgot.cells[1].vcpus.clear();
    let err = compare(&forgot, &b.report).expect_err("a forgotten vCPU must not pass");
    assert!(err.contains("node 1: guest CPUs 3, plan vCPUs (none)"), "{err}");

    let b = booted("asymmetric-1gi");
    let mut wrong = b.plan.clone();
    wrong.cells[0].memory_bytes = 1 << 30;
    wrong.cells[1].memory_bytes = 2 << 30;
    let err = compare(&wrong, &b.report).expect_err("swapped sizes must not pass");
    assert!(
        err.contains("node 0: guest has 16 memory blocks of 128 MiB (2048 MiB), plan 1024 MiB"),
        "{err}"
    );
    assert!(
        err.contains("node 1: guest has 8 memory blocks of 128 MiB (1024 MiB), plan 2048 MiB"),
        "{err}"
    );

    let b = booted("snapshot-distances");
    let mut wrong = b.plan.clone();
    wrong.cells[2].distances.insert(3, 17);
    wrong.cells[3].distances.insert(2, 17);
    let err = compare(&wrong, &b.report).expect_err("other distances must not pass");
    assert!(
        err.contains("node 2: guest distances [32, 25, 10, 16], plan [32, 25, 10, 17]"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// Tests: QEMU accepts the plans of every hwloc snapshot.

/// Snapshots `vnuma` refuses to read as a host (so there is no command line to check), with
/// the reason.
const REFUSED_SNAPSHOTS: &[(&str, &str)] = &[(
    "fakeheterocpunuma",
    "a fake topology whose nodes share CPUs (CPUs 16-23 in two or three nodes each)",
)];
/// Snapshots with NUMA nodes and at least 4 CPUs, minus the refused ones.
const CHECKED_SNAPSHOTS: usize = 30;

/// `count` distinct CPUs taken round-robin over the nodes' CPU lists.
fn round_robin(nodes: &[Vec<u32>], count: usize) -> Vec<u32> {
    let mut next = vec![0; nodes.len()];
    let mut picked: Vec<u32> = Vec::new();
    while picked.len() < count {
        let before = picked.len();
        for (node, cpus) in nodes.iter().enumerate() {
            while next[node] < cpus.len() && picked.contains(&cpus[next[node]]) {
                next[node] += 1;
            }
            if picked.len() < count && next[node] < cpus.len() {
                picked.push(cpus[next[node]]);
                next[node] += 1;
            }
        }
        if picked.len() == before {
            break;
        }
    }
    picked
}

/// Starts QEMU paused with QMP on stdio, checks each vCPU's node against the plan, quits.
fn qmp_check(args: &[String], plan: &Plan) -> Result<(), String> {
    let mut cmd = Command::new(&args[0]);
    cmd.args(&args[1..])
        .args(["-S", "-nodefaults", "-display", "none", "-qmp", "stdio"]);
    let input = concat!(
        "{\"execute\":\"qmp_capabilities\"}\n",
        "{\"execute\":\"query-cpus-fast\",\"id\":\"cpus\"}\n",
        "{\"execute\":\"quit\"}\n"
    );
    let done = run_bounded(cmd, input.as_bytes(), QMP_TIMEOUT)?;
    if !done.status.success() {
        return Err(format!(
            "QEMU exited with {}: {}",
            done.status,
            done.stderr.trim()
        ));
    }
    let cpus = done
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["id"] == "cpus")
        .ok_or_else(|| format!("no answer to query-cpus-fast in {:?}", done.stdout))?;
    let got: BTreeMap<u64, Option<u64>> = cpus["return"]
        .as_array()
        .ok_or_else(|| format!("query-cpus-fast failed: {cpus}"))?
        .iter()
        .map(|c| {
            (
                c["cpu-index"].as_u64().unwrap_or(u64::MAX),
                c["props"]["node-id"].as_u64(),
            )
        })
        .collect();
    let want: BTreeMap<u64, Option<u64>> = plan
        .cells
        .iter()
        .flat_map(|c| c.vcpus.iter().map(|&v| (u64::from(v), Some(u64::from(c.id)))))
        .collect();
    if got != want {
        return Err(format!("vCPU -> node: QEMU has {got:?}, plan {want:?}"));
    }
    Ok(())
}

#[test]
fn qemu_accepts_the_plans_of_every_hwloc_snapshot() {
    require_qemu();
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/seed.yaml");
    let _qemu = qemu_lock();
    let (mut checked, mut skipped, mut refused, mut failures) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for name in support::tarballs() {
        let root = support::fsroot(&name);
        let truth = support::sysfs_truth(&root);
        let nodes: Vec<Vec<u32>> = truth
            .values()
            .filter(|s| !s.is_empty())
            .map(|s| s.iter().map(|c| c.0).collect())
            .collect();
        let n_cpus = nodes.iter().flatten().collect::<BTreeSet<_>>().len();
        if truth.is_empty() {
            skipped.push(format!("{name} (no NUMA nodes)"));
            continue;
        }
        if n_cpus < 4 {
            skipped.push(format!("{name} ({n_cpus} CPUs)"));
            continue;
        }
        let cpuset = round_robin(&nodes, 4)
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let flags: Vec<String> = vec![
            "--host".into(),
            root.display().to_string(),
            "--cpuset".into(),
            cpuset.clone(),
            "--allow-hugepage-shortfall".into(),
        ];
        let p = match plan(&seed, &flags) {
            Ok(p) => p,
            Err(e) => {
                refused.push((name, e));
                continue;
            }
        };
        let result = qemu_argv(&seed, &flags, &ram_backend()).and_then(|args| qmp_check(&args, &p));
        match result {
            Ok(()) => checked.push(format!("{name} (cpuset {cpuset}, {} cells)", p.cells.len())),
            Err(e) => failures.push(format!("{name} (cpuset {cpuset}): {e}")),
        }
    }
    eprintln!(
        "QEMU accepted {} snapshot plans:\n  {}",
        checked.len(),
        checked.join("\n  ")
    );
    eprintln!(
        "skipped (fewer than 4 CPUs in NUMA nodes):\n  {}",
        skipped.join("\n  ")
    );
    for (name, e) in &refused {
        eprintln!(
            "vnuma refuses {name} as a host: {}",
            e.lines().last().unwrap_or("")
        );
    }
    assert!(
        failures.is_empty(),
        "QEMU refused or misplaced:\n{}",
        failures.join("\n")
    );
    let unexpected: Vec<&(String, String)> = refused
        .iter()
        .filter(|(n, _)| !REFUSED_SNAPSHOTS.iter().any(|(r, _)| r == n))
        .collect();
    assert!(unexpected.is_empty(), "vnuma refused: {unexpected:?}");
    assert_eq!(
        checked.len(),
        CHECKED_SNAPSHOTS,
        "checked snapshots (update CHECKED_SNAPSHOTS if the fixtures or vnuma's refusals changed): {checked:#?}"
    );
}
