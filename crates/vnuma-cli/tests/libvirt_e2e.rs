//! libvirt end to end: a real libvirt daemon defines and boots the domain `vnuma plan -o xml`
//! renders, and both the guest kernel and the host confirm the plan (`vnuma plan -o json`).
//!
//! For each case (a symmetric plan: the seed VMI with 512Mi on `example:dual-socket`, cpuset
//! `7-8,23-24`; an asymmetric one: 4 cores, 768Mi, an isolated emulator thread, cpuset
//! `0-2,8-9`, so cells of 3 and 1 vCPUs plus an `<emulatorpin>`), the test
//! 1. renders the plan as XML and JSON with the built `vnuma` binary;
//! 2. adapts the XML to this machine (see [`adapt`]): domain type `qemu` (TCG, there is no
//!    usable KVM), direct kernel boot of a Debian kernel and a busybox initramfs whose `/init`
//!    prints `nodeN=<cpulist>:<128 MiB memory blocks>` per guest node (built by
//!    `tests/guest/fetch-kernel.sh` and `tests/guest/build-initrd.sh`), a serial console into a
//!    file, CPU model `qemu64` instead of `host-model`, no `<kvm>` features; and it MAPS the
//!    plan's host CPUs (`vcpupin`, `emulatorpin`, `iothreadpin`) onto this machine's CPUs (plan
//!    CPU `c` → allowed CPU number `c mod n`) and every host node (`numatune`) onto this
//!    machine's first node. The mapping is recorded, and the adapted XML is read back and
//!    checked against the plan through it;
//! 3. `virsh define --validate` + `virsh start`; while the guest runs, reads each vCPU thread's
//!    id (`query-cpus-fast`), the emulator (main) thread and any IOThread, and compares their
//!    `Cpus_allowed_list` with the MAPPED pinning; checks in `/proc/<pid>/numa_maps` that all the
//!    guest memory is in 2 MiB hugepages (`<hugepages>` + memfd), on and bound (`bind:N`, the
//!    mapped `<numatune>`) to this machine's node;
//! 4. waits (at most [`BOOT_TIMEOUT`]) for the report's end marker on the serial log, compares
//!    the guest's nodes, CPU lists and memory block counts with the plan's cells, then
//!    `virsh destroy` + `undefine`. A boot that shows no report is retried once (TCG guests
//!    occasionally stall, see `shared/spec/guest-proof.md`).
//!
//! The daemon. The test starts `virtlogd` and `libvirtd` itself, as root, in a PRIVATE mount
//! namespace (`unshare --mount --propagation private`) where a fresh temporary directory is
//! bind-mounted over `/etc/libvirt`, `/run/libvirt`, `/var/lib/libvirt`, `/var/log/libvirt` and
//! `/var/cache/libvirt`, and hugetlbfs (2M pages) is mounted before `libvirtd` starts. The host
//! never sees these mounts; `virsh` talks to the private socket
//! (`qemu:///system?socket=…/libvirt-sock`), the QEMU pid file is the private
//! `/var/run/libvirt/qemu/<name>.pid`, and a system libvirtd, if any, is not touched. The setup
//! of guest-proof.md §3 is kept: the log folder (its mount point), the `libvirt-qemu` user
//! (created if missing: libvirtd refuses to start without it, whatever qemu.conf says), and
//! `user = "root"` / `group = "root"` in the private `qemu.conf` (see [`qemu_conf`]: any active
//! `user`/`group` line of the machine's qemu.conf is commented out and ours appended, so
//! rewriting is idempotent; without it each define costs ~52 s of capability re-probing because
//! /dev/kvm is root-only).
//!
//! Cleanup, by a `Drop` guard so that it also runs when an assertion panics: destroy and
//! undefine the test's domains, kill any QEMU left by its pid, unmount the hugetlbfs mount, stop
//! `libvirtd` and `virtlogd` by their pids (the bind mounts vanish with the namespace), remove
//! the `machine` cgroups the daemon created, and shrink the 2 MiB hugepage pool by exactly the
//! pages the test added (`nr_hugepages` grows by the biggest guest's pages before the daemon
//! starts; a relative give-back stays right if another test moves the pool meanwhile). The whole
//! test holds `/tmp/vnuma-libvirt-e2e.lock` (cgroup names and the pool are machine-wide).
//!
//! Needs root and the Debian packages `libvirt-daemon`, `libvirt-daemon-driver-qemu`,
//! `libvirt-clients`, `qemu-system-x86` and `busybox-static`; it FAILS (never skips) with the
//! missing package named. The guest kernel comes from Debian's archive (`apt-get download`).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

const MIB: u64 = 1 << 20;
/// The guest kernel's memory block size on x86_64 (`block_size_bytes` 0x8000000).
const BLOCK_BYTES: u64 = 128 * MIB;
const HUGEPAGE_BYTES: u64 = 2 * MIB;
/// How long one boot may take to print its report (they take 4–12 s; two tries at most).
const BOOT_TIMEOUT: Duration = Duration::from_secs(30);
const BEGIN: &str = "===NUMA-REPORT-BEGIN===";
const END: &str = "===NUMA-REPORT-END===";
const LOCK_FILE: &str = "/tmp/vnuma-libvirt-e2e.lock";
const HUGEPAGES_SYSFS: &str = "/sys/kernel/mm/hugepages/hugepages-2048kB";
/// The host directories the private namespace covers with bind mounts (mount point → name of
/// the private directory).
const PRIVATE_DIRS: [(&str, &str); 5] = [
    ("/etc/libvirt", "etc"),
    ("/run/libvirt", "run"),
    ("/var/lib/libvirt", "lib"),
    ("/var/log/libvirt", "log"),
    ("/var/cache/libvirt", "cache"),
];

// ---------------------------------------------------------------------------------------------
// Small helpers: commands with a timeout, cpulists, /proc.

/// What a finished (or timed-out) command left.
struct Out {
    what: String,
    status: Option<ExitStatus>,
    stdout: String,
    stderr: String,
}

impl Out {
    fn ok(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    fn describe(&self) -> String {
        let status = match self.status {
            Some(s) => s.to_string(),
            None => "timed out".to_owned(),
        };
        format!(
            "`{}`: {status}\n--- stdout\n{}\n--- stderr\n{}",
            self.what,
            self.stdout.trim_end(),
            self.stderr.trim_end()
        )
    }
}

/// Runs a command with no stdin, collecting its output, killing it after `timeout`.
fn run(cmd: &mut Command, timeout: Duration) -> Out {
    let what = format!("{cmd:?}").replace('"', "");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = reader(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = reader(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    Out {
        what,
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

/// Parses a Linux cpulist (`0-2,8`, empty for none).
fn parse_list(text: &str) -> Result<BTreeSet<u32>, String> {
    let mut set = BTreeSet::new();
    for part in text.trim().split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let num = |s: &str| {
            s.trim()
                .parse::<u32>()
                .map_err(|e| format!("bad list {text:?}: {e}"))
        };
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (num(a)?, num(b)?);
                if a > b {
                    return Err(format!("bad list {text:?}: range {a}-{b}"));
                }
                set.extend(a..=b);
            }
            None => {
                set.insert(num(part)?);
            }
        }
    }
    Ok(set)
}

/// Formats a set in the kernel's cpulist syntax (`0-2,8`).
fn format_list(set: &BTreeSet<u32>) -> String {
    let mut parts = Vec::new();
    let mut iter = set.iter().copied().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while iter.peek() == Some(&(end + 1)) {
            end += 1;
            iter.next();
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
    }
    parts.join(",")
}

fn set_of(ids: &[u32]) -> BTreeSet<u32> {
    ids.iter().copied().collect()
}

/// A `Field:\tvalue` line of a /proc status-like file.
fn status_field(text: &str, field: &str) -> Option<String> {
    text.lines().find_map(|l| {
        l.strip_prefix(field)?
            .strip_prefix(':')
            .map(|v| v.trim().to_owned())
    })
}

fn read_u64(path: &str) -> u64 {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    text.trim()
        .parse()
        .unwrap_or_else(|e| panic!("{path} holds {text:?}, not a number: {e}"))
}

/// True while `pid` is a live (not zombie) process.
fn alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => false,
    }
}

fn comm(pid: u32) -> String {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// `kill SIGNAL PID` by bash's builtin (procps, which ships /bin/kill, is not essential).
fn signal_pid(pid: u32, signal: &str) {
    let _ = run(
        command("bash").args(["-c", &format!("kill {signal} {pid}")]),
        Duration::from_secs(5),
    );
}

/// Sends `signal` to `pid` if it is alive and its command name starts with `name` (so a
/// recycled pid is never hit), then waits up to `wait` for it to go.
fn stop_pid(pid: u32, name: &str, signal: &str, wait: Duration) -> bool {
    if !alive(pid) {
        return true;
    }
    if !comm(pid).starts_with(name) {
        eprintln!("cleanup: pid {pid} is {:?}, not {name}; left alone", comm(pid));
        return true;
    }
    signal_pid(pid, signal);
    let deadline = Instant::now() + wait;
    while alive(pid) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
    }
    !alive(pid)
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn tail_file(path: &Path, lines: usize) -> String {
    match fs::read(path) {
        Ok(bytes) => tail(&String::from_utf8_lossy(&bytes).replace('\r', ""), lines),
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

// ---------------------------------------------------------------------------------------------
// The guest's report and the plan's expectation.

/// One guest node: its CPUs and its number of 128 MiB memory blocks.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NodeLayout {
    cpus: BTreeSet<u32>,
    blocks: u64,
}

/// Guest node id → layout.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Layout(BTreeMap<u32, NodeLayout>);

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items: Vec<String> = self
            .0
            .iter()
            .map(|(id, n)| format!("node{id}={}:{}", format_list(&n.cpus), n.blocks))
            .collect();
        f.write_str(&items.join(" "))
    }
}

/// The report the initramfs printed between the markers (kernel noise and `\r` ignored).
fn parse_report(console: &str) -> Result<Layout, String> {
    let console = console.replace('\r', "");
    let start = console
        .find(BEGIN)
        .ok_or("no report begin marker on the console")?;
    let body = &console[start + BEGIN.len()..];
    let end = body.find(END).ok_or("no report end marker on the console")?;
    let mut layout = Layout::default();
    for line in body[..end].lines().map(str::trim) {
        let Some(rest) = line.strip_prefix("node") else {
            continue;
        };
        let Some((id, value)) = rest.split_once('=') else {
            continue;
        };
        let Some((cpus, blocks)) = value.rsplit_once(':') else {
            continue;
        };
        let (Ok(id), Ok(blocks)) = (id.parse::<u32>(), blocks.parse::<u64>()) else {
            continue;
        };
        let node = NodeLayout {
            cpus: parse_list(cpus)?,
            blocks,
        };
        if layout.0.insert(id, node).is_some() {
            return Err(format!("node{id} reported twice"));
        }
    }
    if layout.0.is_empty() {
        return Err("the report lists no node".into());
    }
    Ok(layout)
}

/// What the guest must report for a plan: one node per cell, the cell's vCPUs, its memory in
/// 128 MiB blocks (a cell not a whole number of blocks cannot be checked exactly: an error).
fn expected_layout(plan: &Value) -> Result<Layout, String> {
    let cells = plan["cells"].as_array().ok_or("the plan has no cells array")?;
    let mut layout = Layout::default();
    for cell in cells {
        let id = cell["id"].as_u64().ok_or("a cell has no id")?;
        let id = u32::try_from(id).map_err(|e| e.to_string())?;
        let cpus = parse_list(cell["vcpus"].as_str().ok_or("a cell has no vcpus")?)?;
        let bytes = cell["memory_bytes"]
            .as_u64()
            .ok_or("a cell has no memory_bytes")?;
        if bytes % BLOCK_BYTES != 0 {
            return Err(format!("cell {id} has {bytes} B, not a multiple of 128 MiB"));
        }
        layout.0.insert(
            id,
            NodeLayout {
                cpus,
                blocks: bytes / BLOCK_BYTES,
            },
        );
    }
    Ok(layout)
}

/// Compares the guest's report with the expectation; the error lists every difference.
fn compare_layouts(want: &Layout, got: &Layout) -> Result<(), String> {
    let mut diffs = Vec::new();
    for (id, w) in &want.0 {
        match got.0.get(id) {
            None => diffs.push(format!("node{id} missing from the guest")),
            Some(g) => {
                if g.cpus != w.cpus {
                    diffs.push(format!(
                        "node{id} CPUs: want {}, guest has {}",
                        format_list(&w.cpus),
                        format_list(&g.cpus)
                    ));
                }
                if g.blocks != w.blocks {
                    diffs.push(format!(
                        "node{id} memory: want {} x 128 MiB, guest has {}",
                        w.blocks, g.blocks
                    ));
                }
            }
        }
    }
    for id in got.0.keys().filter(|id| !want.0.contains_key(id)) {
        diffs.push(format!("guest has node{id}, the plan has no such cell"));
    }
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(format!("want {want}, guest reported {got}: {}", diffs.join("; ")))
    }
}

/// Thread label ("vCPU 0", "emulator", "IOThread 1") → CPUs. Used for pins and affinities.
type Pins = BTreeMap<String, BTreeSet<u32>>;

fn show_pins(pins: &Pins) -> String {
    pins.iter()
        .map(|(k, v)| format!("{k}→{}", format_list(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Compares the pinning a plan asks for with what the host shows; every difference is named.
fn compare_pins(want: &Pins, got: &Pins) -> Result<(), String> {
    let mut diffs = Vec::new();
    for (thread, cpus) in want {
        match got.get(thread) {
            None => diffs.push(format!("{thread}: no such thread found")),
            Some(g) if g != cpus => diffs.push(format!(
                "{thread}: want CPUs {}, has {}",
                format_list(cpus),
                format_list(g)
            )),
            Some(_) => {}
        }
    }
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(diffs.join("; "))
    }
}

/// The pinning in a plan's JSON, in host CPUs of the plan's host.
fn plan_pins(plan: &Value) -> Result<Pins, String> {
    let mut pins = Pins::new();
    for pin in plan["vcpupin"]
        .as_array()
        .ok_or("the plan has no vcpupin array")?
    {
        let vcpu = pin["vcpu"].as_u64().ok_or("vcpupin without vcpu")?;
        let cpu = pin["cpu"].as_u64().ok_or("vcpupin without cpu")?;
        let cpu = u32::try_from(cpu).map_err(|e| e.to_string())?;
        pins.insert(format!("vCPU {vcpu}"), set_of(&[cpu]));
    }
    if let Some(list) = plan["emulatorpin"].as_str() {
        pins.insert("emulator".into(), parse_list(list)?);
    }
    for pin in plan["iothreadpin"]
        .as_array()
        .ok_or("the plan has no iothreadpin array")?
    {
        let id = pin["iothread"].as_u64().ok_or("iothreadpin without iothread")?;
        let cpus = parse_list(pin["cpus"].as_str().ok_or("iothreadpin without cpus")?)?;
        pins.insert(format!("IOThread {id}"), cpus);
    }
    Ok(pins)
}

// ---------------------------------------------------------------------------------------------
// The domain XML: a small tag-level rewriter (vnuma's XML has no comments, CDATA or `>` in
// attribute values; a declaration or comment is passed through).

enum Token<'a> {
    Text(&'a str),
    Tag(&'a str),
}

fn tokens(xml: &str) -> Result<Vec<Token<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find('<') {
        if start > 0 {
            out.push(Token::Text(&rest[..start]));
        }
        let closer = if rest[start..].starts_with("<!--") {
            "-->"
        } else {
            ">"
        };
        let end = rest[start..]
            .find(closer)
            .ok_or_else(|| format!("unclosed tag at {:?}", &rest[start..rest.len().min(start + 40)]))?;
        let end = start + end + closer.len();
        out.push(Token::Tag(&rest[start..end]));
        rest = &rest[end..];
    }
    if !rest.is_empty() {
        out.push(Token::Text(rest));
    }
    Ok(out)
}

fn tag_name(tag: &str) -> &str {
    let inner = tag.trim_start_matches('<').trim_start_matches('/');
    let end = inner
        .find(|c: char| c.is_whitespace() || c == '/' || c == '>')
        .unwrap_or(inner.len());
    &inner[..end]
}

fn is_close(tag: &str) -> bool {
    tag.starts_with("</")
}

fn is_open(tag: &str) -> bool {
    !is_close(tag) && !tag.ends_with("/>") && !tag.starts_with("<?") && !tag.starts_with("<!")
}

/// The byte range of attribute `name`'s value inside `tag`.
fn attr_span(tag: &str, name: &str) -> Option<(usize, usize)> {
    let bytes = tag.as_bytes();
    let mut from = 0;
    while let Some(pos) = tag[from..].find(name) {
        let at = from + pos;
        from = at + name.len();
        let before_ok = at > 0 && bytes[at - 1].is_ascii_whitespace();
        let rest = tag[at + name.len()..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let value = rest[1..].trim_start();
        let quote = value.chars().next()?;
        if quote != '"' && quote != '\'' {
            return None;
        }
        let start = tag.len() - value.len() + 1;
        let len = tag[start..].find(quote)?;
        return Some((start, start + len));
    }
    None
}

fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    attr_span(tag, name).map(|(a, b)| &tag[a..b])
}

/// `tag` with attribute `name` set to `value` (added before the closing `>` when absent).
fn set_attr(tag: &str, name: &str, value: &str) -> String {
    match attr_span(tag, name) {
        Some((a, b)) => format!("{}{value}{}", &tag[..a], &tag[b..]),
        None => {
            let cut = if tag.ends_with("/>") {
                tag.len() - 2
            } else {
                tag.len() - 1
            };
            format!("{} {name}=\"{value}\"{}", tag[..cut].trim_end(), &tag[cut..])
        }
    }
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// How the plan's host maps onto this machine. Every host CPU and node the adapter met is
/// recorded, so the summary can show it and the checks can apply it.
#[derive(Debug, Clone)]
struct HostMapping {
    /// The CPUs this machine lets us use, in order; plan CPU `c` → `local_cpus[c mod len]`.
    local_cpus: Vec<u32>,
    /// The node every plan host node maps to.
    local_node: u32,
    cpus: BTreeMap<u32, u32>,
    nodes: BTreeMap<u32, u32>,
}

impl HostMapping {
    fn new(local_cpus: Vec<u32>, local_node: u32) -> Self {
        assert!(!local_cpus.is_empty(), "this machine offers no CPU to pin to");
        Self {
            local_cpus,
            local_node,
            cpus: BTreeMap::new(),
            nodes: BTreeMap::new(),
        }
    }

    /// This machine: the CPUs this process may run on, and its first online NUMA node.
    fn this_machine() -> Self {
        let status = fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
        let cpus = status_field(&status, "Cpus_allowed_list").expect("Cpus_allowed_list in status");
        let cpus: Vec<u32> = parse_list(&cpus).expect("own cpulist").into_iter().collect();
        let node = fs::read_to_string("/sys/devices/system/node/online")
            .ok()
            .and_then(|t| parse_list(&t).ok())
            .and_then(|s| s.first().copied())
            .unwrap_or(0);
        Self::new(cpus, node)
    }

    fn cpu(&mut self, plan_cpu: u32) -> u32 {
        let n = u32::try_from(self.local_cpus.len()).unwrap_or(u32::MAX);
        let local = self.local_cpus[usize::try_from(plan_cpu % n).unwrap_or(0)];
        self.cpus.insert(plan_cpu, local);
        local
    }

    fn node(&mut self, plan_node: u32) -> u32 {
        self.nodes.insert(plan_node, self.local_node);
        self.local_node
    }

    fn map_cpus(&mut self, set: &BTreeSet<u32>) -> BTreeSet<u32> {
        set.iter().map(|&c| self.cpu(c)).collect()
    }

    fn map_nodes(&mut self, set: &BTreeSet<u32>) -> BTreeSet<u32> {
        set.iter().map(|&n| self.node(n)).collect()
    }

    /// The plan's pins as they must look on this machine (uses only recorded CPUs: a plan CPU
    /// the adapter never met is an error, so the XML and the JSON must agree).
    fn apply(&self, pins: &Pins) -> Result<Pins, String> {
        pins.iter()
            .map(|(thread, cpus)| {
                let mapped = cpus
                    .iter()
                    .map(|c| {
                        self.cpus
                            .get(c)
                            .copied()
                            .ok_or(format!("{thread}: CPU {c} was never mapped"))
                    })
                    .collect::<Result<BTreeSet<u32>, String>>()?;
                Ok((thread.clone(), mapped))
            })
            .collect()
    }

    fn describe(&self) -> String {
        let cpus: Vec<String> = self.cpus.iter().map(|(a, b)| format!("{a}→{b}")).collect();
        let nodes: Vec<String> = self.nodes.iter().map(|(a, b)| format!("{a}→{b}")).collect();
        format!("host CPUs {}; host nodes {}", cpus.join(" "), nodes.join(" "))
    }
}

/// What the test adds to make the domain boot here.
struct GuestBoot<'a> {
    name: &'a str,
    kernel: &'a Path,
    initrd: &'a Path,
    serial_log: &'a Path,
}

/// The adapted domain and what was changed.
struct Adapted {
    xml: String,
    mapping: HostMapping,
    /// What was changed for TCG, for the summary.
    changes: Vec<String>,
}

/// Adapts vnuma's domain XML to this machine (TCG, direct kernel boot, serial log, host CPUs
/// and nodes mapped); see the file's doc. `<hugepages><page nodeset>` names GUEST cells and is
/// kept as it is.
fn adapt(xml: &str, boot: &GuestBoot<'_>, mut mapping: HostMapping) -> Result<Adapted, String> {
    let mut out = String::with_capacity(xml.len() + 1024);
    let mut stack: Vec<&str> = Vec::new();
    let mut changes = Vec::new();
    let mut skip_depth = 0usize;
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for token in tokens(xml)? {
        let tag = match token {
            Token::Text(text) => {
                if skip_depth == 0 && stack.last() != Some(&"name") {
                    out.push_str(text);
                }
                continue;
            }
            Token::Tag(tag) => tag,
        };
        let name = tag_name(tag);
        if skip_depth > 0 {
            if is_open(tag) {
                skip_depth += 1;
            } else if is_close(tag) {
                skip_depth -= 1;
            }
            continue;
        }
        if is_close(tag) {
            match (name, stack.last().copied()) {
                ("os", _) => {
                    out.push_str(&format!(
                        "<kernel>{}</kernel><initrd>{}</initrd><cmdline>console=ttyS0 panic=-1 quiet</cmdline>\n  ",
                        xml_escape(&boot.kernel.display().to_string()),
                        xml_escape(&boot.initrd.display().to_string())
                    ));
                }
                ("devices", _) => {
                    out.push_str(&format!(
                        "  <serial type=\"file\"><source path=\"{}\"/><target port=\"0\"/></serial>\n  ",
                        xml_escape(&boot.serial_log.display().to_string())
                    ));
                }
                _ => {}
            }
            if stack.pop() != Some(name) {
                return Err(format!("unbalanced </{name}>"));
            }
            out.push_str(tag);
            continue;
        }
        let parent = stack.last().copied();
        let open = is_open(tag);
        seen.insert(name);
        let rewritten = match (name, parent) {
            ("domain", _) => {
                changes.push(format!("type {}→qemu", attr(tag, "type").unwrap_or("?")));
                set_attr(tag, "type", "qemu")
            }
            ("name", Some("domain")) => format!("{tag}{}", xml_escape(boot.name)),
            // TCG has no KVM paravirt features (hint-dedicated makes QEMU refuse to start).
            ("kvm", Some("features")) => {
                changes.push("dropped <features><kvm>".to_owned());
                if open {
                    skip_depth = 1;
                }
                continue;
            }
            // host-model/host-passthrough need KVM; qemu64 is a model TCG runs.
            ("cpu", Some("domain")) => match attr(tag, "mode") {
                Some(mode @ ("host-model" | "host-passthrough" | "maximum")) => {
                    changes.push(format!("cpu {mode}→qemu64"));
                    let tag = set_attr(&set_attr(tag, "mode", "custom"), "match", "exact");
                    if open {
                        format!("{tag}<model fallback=\"allow\">qemu64</model>")
                    } else {
                        return Err("a self-closing <cpu> cannot take a model".into());
                    }
                }
                _ => tag.to_owned(),
            },
            ("vcpupin" | "emulatorpin" | "iothreadpin", Some("cputune")) => {
                let cpuset = attr(tag, "cpuset").ok_or(format!("<{name}> without cpuset"))?;
                let mapped = mapping.map_cpus(&parse_list(cpuset)?);
                set_attr(tag, "cpuset", &format_list(&mapped))
            }
            ("memory" | "memnode", Some("numatune")) => match attr(tag, "nodeset") {
                Some(nodeset) => {
                    let mapped = mapping.map_nodes(&parse_list(nodeset)?);
                    set_attr(tag, "nodeset", &format_list(&mapped))
                }
                None => tag.to_owned(),
            },
            _ => tag.to_owned(),
        };
        out.push_str(&rewritten);
        if open {
            stack.push(name);
        }
    }
    if !stack.is_empty() {
        return Err(format!("unclosed elements {stack:?}"));
    }
    for needed in ["domain", "name", "os", "devices", "cpu"] {
        if !seen.contains(needed) {
            return Err(format!("the domain has no <{needed}>"));
        }
    }
    Ok(Adapted {
        xml: out,
        mapping,
        changes,
    })
}

/// What a domain XML pins, read back from the XML itself.
#[derive(Debug, Default)]
struct DomainPins {
    pins: Pins,
    /// `<numatune>`: "memory" or "memnode N" → host nodes.
    numatune: BTreeMap<String, BTreeSet<u32>>,
    domain_type: String,
    cpu_mode: String,
    has_kvm_features: bool,
}

fn read_domain(xml: &str) -> Result<DomainPins, String> {
    let mut d = DomainPins::default();
    let mut stack: Vec<&str> = Vec::new();
    for token in tokens(xml)? {
        let Token::Tag(tag) = token else { continue };
        let name = tag_name(tag);
        if is_close(tag) {
            stack.pop();
            continue;
        }
        let parent = stack.last().copied();
        let cpuset = || parse_list(attr(tag, "cpuset").unwrap_or_default());
        match (name, parent) {
            ("domain", None) => d.domain_type = attr(tag, "type").unwrap_or_default().to_owned(),
            ("cpu", Some("domain")) => d.cpu_mode = attr(tag, "mode").unwrap_or_default().to_owned(),
            ("kvm", Some("features")) => d.has_kvm_features = true,
            ("vcpupin", Some("cputune")) => {
                let vcpu = attr(tag, "vcpu").unwrap_or_default();
                d.pins.insert(format!("vCPU {vcpu}"), cpuset()?);
            }
            ("emulatorpin", Some("cputune")) => {
                d.pins.insert("emulator".into(), cpuset()?);
            }
            ("iothreadpin", Some("cputune")) => {
                let id = attr(tag, "iothread").unwrap_or_default();
                d.pins.insert(format!("IOThread {id}"), cpuset()?);
            }
            ("memory", Some("numatune")) => {
                d.numatune.insert(
                    "memory".into(),
                    parse_list(attr(tag, "nodeset").unwrap_or_default())?,
                );
            }
            ("memnode", Some("numatune")) => {
                let cell = attr(tag, "cellid").unwrap_or_default();
                let nodes = parse_list(attr(tag, "nodeset").unwrap_or_default())?;
                d.numatune.insert(format!("memnode {cell}"), nodes);
            }
            _ => {}
        }
        if is_open(tag) {
            stack.push(name);
        }
    }
    Ok(d)
}

/// The private qemu.conf: the machine's, with any active `user`/`group` setting commented out
/// and `user = "root"` / `group = "root"` appended. Applying it twice changes nothing.
fn qemu_conf(existing: &str) -> String {
    const OURS: &str = "# vnuma libvirt e2e: QEMU runs as root, so /dev/kvm's root-only mode never\n\
                        # triggers libvirt's ~52 s capability re-probe on every define.\n\
                        user = \"root\"\ngroup = \"root\"\n";
    let mut out = String::new();
    for line in existing.replace(OURS, "").lines() {
        let key = line.split('=').next().unwrap_or_default().trim();
        if !line.trim_start().starts_with('#') && line.contains('=') && (key == "user" || key == "group") {
            out.push_str("# ");
        }
        out.push_str(line);
        out.push('\n');
    }
    format!("{out}{OURS}")
}

// ---------------------------------------------------------------------------------------------
// The machine: preconditions, guest files, lock, hugepages, the daemon.

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn guest_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/guest")
        .join(name)
}

/// A program's full path: from PATH, else the sbin directories a non-login root shell may lack.
fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/sbin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

fn which(program: &str) -> bool {
    find_program(program).is_some()
}

/// A `Command` for a program found by [`find_program`] (its bare name when it is missing, so
/// the spawn error names it).
fn command(program: &str) -> Command {
    Command::new(find_program(program).unwrap_or_else(|| PathBuf::from(program)))
}

/// True for a 64-bit little-endian ELF executable without a program interpreter (`PT_INTERP`),
/// i.e. a static one: the initramfs holds no libraries.
fn is_static_elf(elf: &[u8]) -> bool {
    let u16_at = |at: usize| elf.get(at..at + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |at: usize| {
        let bytes: Option<[u8; 4]> = elf.get(at..at + 4).and_then(|b| b.try_into().ok());
        bytes.map(u32::from_le_bytes)
    };
    let u64_at = |at: usize| {
        let bytes: Option<[u8; 8]> = elf.get(at..at + 8).and_then(|b| b.try_into().ok());
        bytes.map(u64::from_le_bytes)
    };
    if !elf.starts_with(b"\x7fELF\x02\x01") {
        return false;
    }
    let (Some(phoff), Some(size), Some(count)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38)) else {
        return false;
    };
    let Ok(phoff) = usize::try_from(phoff) else {
        return false;
    };
    const PT_INTERP: u32 = 3;
    (0..usize::from(count)).all(|i| u32_at(phoff + i * usize::from(size)) != Some(PT_INTERP))
}

/// Fails, naming every missing package, unless this process is root and the tools exist.
fn preflight() {
    let status = fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let uid = status_field(&status, "Uid").unwrap_or_default();
    assert!(
        uid.split_whitespace().next() == Some("0"),
        "the libvirt e2e test must run as root (it starts libvirtd, mounts hugetlbfs and sets \
         the hugepage pool); running as uid {uid}"
    );
    let qemu_driver = ["/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib"]
        .iter()
        .any(|d| {
            Path::new(d)
                .join("libvirt/connection-driver/libvirt_driver_qemu.so")
                .is_file()
        });
    let busybox_static = fs::read("/bin/busybox").is_ok_and(|elf| is_static_elf(&elf));
    let checks = [
        (
            which("libvirtd") && which("virtlogd"),
            "libvirt-daemon",
            "libvirtd/virtlogd",
        ),
        (
            qemu_driver,
            "libvirt-daemon-driver-qemu",
            "libvirt_driver_qemu.so",
        ),
        (which("virsh"), "libvirt-clients", "virsh"),
        (
            which("qemu-system-x86_64"),
            "qemu-system-x86",
            "qemu-system-x86_64",
        ),
        (busybox_static, "busybox-static", "a static /bin/busybox"),
        (
            which("unshare") && which("nsenter") && which("flock"),
            "util-linux",
            "unshare, nsenter, flock",
        ),
        (which("apt-get"), "apt", "apt-get: the guest kernel"),
        (which("dpkg-deb"), "dpkg", "dpkg-deb: the guest kernel"),
    ];
    let missing: Vec<String> = checks
        .iter()
        .filter(|c| !c.0)
        .map(|(_, pkg, what)| format!("{pkg} (for {what})"))
        .collect();
    let packages: BTreeSet<&str> = checks.iter().filter(|c| !c.0).map(|c| c.1).collect();
    assert!(
        missing.is_empty(),
        "the libvirt e2e test needs packages that are not installed: {}.\n\
         Install them: apt-get install -y --no-install-recommends {}",
        missing.join(", "),
        packages.into_iter().collect::<Vec<_>>().join(" ")
    );
}

/// The guest kernel and initramfs, from the shared scripts (cached in $VNUMA_GUEST_DIR).
fn guest_files() -> (PathBuf, PathBuf) {
    let path_of = |script: &str| {
        let out = run(
            command("bash")
                .arg(guest_script(script))
                .current_dir(workspace_root()),
            Duration::from_secs(300),
        );
        assert!(out.ok(), "tests/guest/{script} failed: {}", out.describe());
        let path = PathBuf::from(out.stdout.lines().last().unwrap_or_default().trim());
        assert!(
            path.is_file(),
            "tests/guest/{script} printed {path:?}, which is no file"
        );
        path
    };
    (path_of("fetch-kernel.sh"), path_of("build-initrd.sh"))
}

/// Holds the machine-wide test lock (an exclusive `flock`) until dropped.
fn lock_machine() -> File {
    let file = File::create(LOCK_FILE).unwrap_or_else(|e| panic!("cannot create {LOCK_FILE}: {e}"));
    if file.try_lock().is_err() {
        eprintln!("waiting for {LOCK_FILE} (another libvirt e2e run holds it)");
        file.lock()
            .unwrap_or_else(|e| panic!("cannot lock {LOCK_FILE}: {e}"));
    }
    file
}

/// Grows the 2 MiB hugepage pool by `pages`; when dropped, takes back exactly those pages (the
/// pool is machine-wide: another test, e.g. guest_boot.rs, may grow and shrink it meanwhile, so
/// the guard never writes back an absolute old value).
struct HugepagePool {
    /// The pages this guard added (and gives back).
    pages: u64,
}

impl HugepagePool {
    fn total() -> u64 {
        read_u64(&format!("{HUGEPAGES_SYSFS}/nr_hugepages"))
    }

    fn free() -> u64 {
        read_u64(&format!("{HUGEPAGES_SYSFS}/free_hugepages"))
    }

    fn set(total: u64) -> std::io::Result<()> {
        fs::write(format!("{HUGEPAGES_SYSFS}/nr_hugepages"), format!("{total}\n"))
    }

    fn reserve(pages: u64) -> Self {
        let before = Self::total();
        if let Err(e) = Self::set(before + pages) {
            panic!(
                "cannot grow the 2 MiB hugepage pool from {before} to {} pages: {e}",
                before + pages
            );
        }
        // The kernel may give fewer pages than asked (fragmented memory): give back what it gave.
        let (total, free) = (Self::total(), Self::free());
        let pool = Self {
            pages: total.saturating_sub(before).min(pages),
        };
        assert!(
            free >= pages,
            "asked the kernel for {pages} more 2 MiB hugepages ({before} -> {}); the pool has {total} \
             with {free} free (memory too fragmented?)",
            before + pages
        );
        pool
    }
}

impl Drop for HugepagePool {
    fn drop(&mut self) {
        let now = Self::total();
        if let Err(e) = Self::set(now.saturating_sub(self.pages)) {
            eprintln!(
                "cleanup: cannot shrink nr_hugepages from {now} by {}: {e}",
                self.pages
            );
        }
    }
}

/// A private libvirtd (see the file's doc) and everything it must undo.
struct Libvirtd {
    dir: PathBuf,
    child: Child,
    virtlogd: Option<u32>,
    hugetlbfs: PathBuf,
    socket: PathBuf,
    defined: Vec<String>,
    qemu_pids: Vec<u32>,
    /// The `machine` cgroups that existed before the daemon (it creates the others when a
    /// domain starts; the guard removes those).
    cgroups_before: BTreeSet<PathBuf>,
}

fn machine_cgroups() -> BTreeSet<PathBuf> {
    fs::read_dir("/sys/fs/cgroup")
        .map(|dir| {
            dir.flatten()
                .map(|controller| controller.path().join("machine"))
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default()
}

impl Libvirtd {
    fn start(dir: &Path) -> Self {
        // guest-proof.md §3: without this user libvirtd's QEMU driver refuses to initialise.
        if !run(
            command("getent").args(["passwd", "libvirt-qemu"]),
            Duration::from_secs(10),
        )
        .ok()
        {
            let out = run(
                command("useradd").args([
                    "--system",
                    "--user-group",
                    "--no-create-home",
                    "--home-dir",
                    "/var/lib/libvirt",
                    "--shell",
                    "/usr/sbin/nologin",
                    "libvirt-qemu",
                ]),
                Duration::from_secs(30),
            );
            assert!(
                out.ok(),
                "cannot create the libvirt-qemu user: {}",
                out.describe()
            );
        }
        for (mount_point, private) in PRIVATE_DIRS {
            // The host keeps the (empty) mount points, /var/log/libvirt among them.
            fs::create_dir_all(mount_point).unwrap_or_else(|e| panic!("mkdir {mount_point}: {e}"));
            fs::create_dir_all(dir.join(private)).expect("private dir");
        }
        let etc = dir.join("etc");
        let copy = run(
            command("cp").args(["-a", "/etc/libvirt/.", &etc.display().to_string()]),
            Duration::from_secs(30),
        );
        assert!(copy.ok(), "cannot copy /etc/libvirt: {}", copy.describe());
        let conf = etc.join("qemu.conf");
        let existing = fs::read_to_string(&conf).unwrap_or_default();
        fs::write(&conf, qemu_conf(&existing)).expect("write private qemu.conf");

        let hugetlbfs = dir.join("hugepages");
        fs::create_dir_all(&hugetlbfs).expect("hugetlbfs mount point");
        let mut script = String::from("set -e\nexport PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH\n");
        for (mount_point, private) in PRIVATE_DIRS {
            script.push_str(&format!(
                "mount --bind '{}' '{mount_point}'\n",
                dir.join(private).display()
            ));
        }
        // hugetlbfs must be mounted before libvirtd starts, or it never uses hugepages.
        script.push_str(&format!(
            "mount -t hugetlbfs -o pagesize=2M hugetlbfs '{}'\n",
            hugetlbfs.display()
        ));
        script.push_str(&format!(
            "virtlogd -d -p '{}'\n",
            dir.join("virtlogd.pid").display()
        ));
        script.push_str(&format!(
            "exec libvirtd -p '{}'\n",
            dir.join("libvirtd.pid").display()
        ));
        fs::write(dir.join("start.sh"), script).expect("write start.sh");
        let log = File::create(dir.join("libvirtd.log")).expect("libvirtd.log");
        let cgroups_before = machine_cgroups();
        let child = command("unshare")
            .args(["--mount", "--propagation", "private", "--", "sh"])
            .arg(dir.join("start.sh"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run unshare: {e}"));
        let mut daemon = Self {
            dir: dir.to_owned(),
            child,
            virtlogd: None,
            hugetlbfs,
            socket: dir.join("run/libvirt-sock"),
            defined: Vec::new(),
            qemu_pids: Vec::new(),
            cgroups_before,
        };
        daemon.wait_ready();
        daemon
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let log = self.dir.join("libvirtd.log");
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "libvirtd exited ({status}) while starting:\n{}",
                    tail_file(&log, 30)
                );
            }
            if self.virtlogd.is_none()
                && let Ok(pid) = fs::read_to_string(self.dir.join("virtlogd.pid"))
            {
                self.virtlogd = pid.trim().parse().ok();
            }
            if self.socket.exists() {
                // The first connection probes QEMU's capabilities (~5-10 s).
                let out = self.virsh(&["version"], Duration::from_secs(45));
                if out.ok() {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "libvirtd does not answer: {}",
                    out.describe()
                );
            }
            assert!(
                Instant::now() < deadline,
                "libvirtd made no socket in 60 s:\n{}",
                tail_file(&log, 30)
            );
            thread::sleep(Duration::from_millis(100));
        }
        let pidfile = fs::read_to_string(self.dir.join("libvirtd.pid")).unwrap_or_default();
        assert_eq!(
            pidfile.trim(),
            self.child.id().to_string(),
            "libvirtd's pid file does not name the process the test started"
        );
    }

    fn uri(&self) -> String {
        format!("qemu:///system?socket={}", self.socket.display())
    }

    fn virsh(&self, args: &[&str], timeout: Duration) -> Out {
        run(command("virsh").arg("-c").arg(self.uri()).args(args), timeout)
    }

    fn qemu_log(&self, domain: &str) -> PathBuf {
        self.dir.join(format!("log/qemu/{domain}.log"))
    }

    fn qemu_pid(&self, domain: &str) -> Option<u32> {
        // /var/run/libvirt/qemu/<name>.pid inside the daemon's namespace.
        fs::read_to_string(self.dir.join(format!("run/qemu/{domain}.pid")))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    fn define(&mut self, domain: &str, xml_file: &Path) {
        let file = xml_file.display().to_string();
        let out = self.virsh(&["define", "--validate", &file], Duration::from_secs(60));
        assert!(out.ok(), "virsh define of {domain} failed: {}", out.describe());
        self.defined.push(domain.to_owned());
    }

    fn destroy(&self, domain: &str) {
        let out = self.virsh(&["destroy", domain], Duration::from_secs(30));
        if !out.ok() && !out.stderr.contains("not running") {
            eprintln!("virsh destroy {domain}: {}", out.describe());
        }
    }

    fn undefine(&mut self, domain: &str) {
        let out = self.virsh(&["undefine", domain], Duration::from_secs(30));
        assert!(out.ok(), "virsh undefine {domain} failed: {}", out.describe());
        self.defined.retain(|d| d != domain);
    }

    /// Every process the guard stops (for the after-cleanup check).
    fn pids(&self) -> Vec<u32> {
        let mut pids = vec![self.child.id()];
        pids.extend(self.virtlogd);
        pids.extend(&self.qemu_pids);
        pids
    }
}

impl Drop for Libvirtd {
    fn drop(&mut self) {
        for domain in self.defined.clone() {
            self.destroy(&domain);
            let _ = self.virsh(&["undefine", &domain], Duration::from_secs(30));
        }
        for &pid in &self.qemu_pids {
            if !stop_pid(pid, "qemu", "-KILL", Duration::from_secs(5)) {
                eprintln!("cleanup: QEMU pid {pid} survives SIGKILL");
            }
        }
        if self.virtlogd.is_none() {
            self.virtlogd = fs::read_to_string(self.dir.join("virtlogd.pid"))
                .ok()
                .and_then(|p| p.trim().parse().ok());
        }
        let libvirtd = self.child.id();
        if alive(libvirtd) {
            let out = run(
                command("nsenter")
                    .args(["--target", &libvirtd.to_string(), "--mount", "umount"])
                    .arg(&self.hugetlbfs),
                Duration::from_secs(10),
            );
            if !out.ok() {
                eprintln!(
                    "cleanup: unmounting hugetlbfs: {} (it goes with the namespace)",
                    out.describe()
                );
            }
        }
        signal_pid(libvirtd, "-TERM");
        let deadline = Instant::now() + Duration::from_secs(15);
        while !matches!(self.child.try_wait(), Ok(Some(_))) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(50));
        }
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            eprintln!("cleanup: libvirtd {libvirtd} ignored SIGTERM; killing it");
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if let Some(pid) = self.virtlogd
            && !stop_pid(pid, "virtlogd", "-TERM", Duration::from_secs(5))
            && !stop_pid(pid, "virtlogd", "-KILL", Duration::from_secs(5))
        {
            eprintln!("cleanup: virtlogd pid {pid} survives SIGKILL");
        }
        for cgroup in machine_cgroups().difference(&self.cgroups_before) {
            // A cgroup can stay busy for a moment after its last task left.
            let removed = (0..50).any(|_| {
                fs::remove_dir(cgroup).is_ok() || {
                    thread::sleep(Duration::from_millis(100));
                    !cgroup.exists()
                }
            });
            if !removed {
                eprintln!("cleanup: cannot remove {}", cgroup.display());
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// One case: plan, adapt, boot, check.

struct Case {
    label: &'static str,
    vmi_yaml: String,
    cpuset: &'static str,
    host: &'static str,
}

/// What one case showed.
struct CaseResult {
    label: &'static str,
    want: Layout,
    got: Layout,
    mapping: String,
    pins: Pins,
    huge: HugeMemory,
    attempts: usize,
    boot_secs: f64,
    changes: Vec<String>,
}

fn vnuma(args: &[&str]) -> String {
    let out = run(
        Command::new(env!("CARGO_BIN_EXE_vnuma")).args(args),
        Duration::from_secs(60),
    );
    assert!(out.ok(), "vnuma failed: {}", out.describe());
    out.stdout
}

/// The seed example with another `requests.memory`.
fn seed_with_memory(memory: &str) -> String {
    let path = workspace_root().join("examples/seed.yaml");
    let seed = fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut lines: Vec<String> = seed.lines().map(str::to_owned).collect();
    let requests = lines
        .iter()
        .position(|l| l.trim() == "requests:")
        .expect("examples/seed.yaml has no `requests:` block");
    let at = lines[requests + 1..]
        .iter()
        .position(|l| l.trim_start().starts_with("memory:"))
        .map(|i| i + requests + 1)
        .expect("examples/seed.yaml requests no memory");
    let indent = &lines[at][..lines[at].len() - lines[at].trim_start().len()];
    lines[at] = format!("{indent}memory: {memory}");
    lines.join("\n") + "\n"
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            label: "symmetric",
            vmi_yaml: seed_with_memory("512Mi"),
            cpuset: "7-8,23-24",
            host: "example:dual-socket",
        },
        Case {
            label: "asymmetric",
            vmi_yaml: "apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata:
  name: asym
spec:
  domain:
    cpu:
      cores: 4
      dedicatedCpuPlacement: true
      isolateEmulatorThread: true
      numa:
        guestMappingPassthrough: {}
    resources:
      requests:
        memory: 768Mi
    memory:
      hugepages:
        pageSize: 2Mi
    devices: {}
"
            .to_owned(),
            cpuset: "0-2,8-9",
            host: "example:dual-socket",
        },
    ]
}

struct Planned {
    xml: String,
    json: Value,
}

fn plan(case: &Case, dir: &Path) -> Planned {
    let vmi = dir.join(format!("{}.yaml", case.label));
    fs::write(&vmi, &case.vmi_yaml).expect("write VMI");
    let vmi = vmi.display().to_string();
    let common = ["plan", vmi.as_str(), "--host", case.host, "--cpuset", case.cpuset];
    let xml = vnuma(&[&common[..], &["-o", "xml"]].concat());
    let json: Value = serde_json::from_str(&vnuma(&[&common[..], &["-o", "json"]].concat()))
        .expect("vnuma plan -o json prints JSON");
    assert!(
        json["error"].is_null(),
        "{}: the plan has an error: {}",
        case.label,
        json["error"]
    );
    Planned { xml, json }
}

/// The host's view of a running domain's threads.
fn observe_threads(daemon: &Libvirtd, domain: &str, pid: u32, plan: &Pins) -> Result<Pins, String> {
    let affinity = |tid: u64| -> Result<BTreeSet<u32>, String> {
        let path = format!("/proc/{pid}/task/{tid}/status");
        let status = fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        parse_list(&status_field(&status, "Cpus_allowed_list").ok_or(format!("{path}: no affinity"))?)
    };
    let qmp = |command: &str| -> Result<Value, String> {
        let out = daemon.virsh(
            &[
                "qemu-monitor-command",
                domain,
                &format!("{{\"execute\":\"{command}\"}}"),
            ],
            Duration::from_secs(20),
        );
        if !out.ok() {
            return Err(out.describe());
        }
        let reply: Value = serde_json::from_str(&out.stdout).map_err(|e| format!("{command}: {e}"))?;
        Ok(reply["return"].clone())
    };
    let mut got = Pins::new();
    for cpu in qmp("query-cpus-fast")?
        .as_array()
        .ok_or("query-cpus-fast: no list")?
    {
        let index = cpu["cpu-index"].as_u64().ok_or("query-cpus-fast: no cpu-index")?;
        let tid = cpu["thread-id"].as_u64().ok_or("query-cpus-fast: no thread-id")?;
        got.insert(format!("vCPU {index}"), affinity(tid)?);
    }
    // The emulator's main thread has the process's id.
    got.insert("emulator".into(), affinity(u64::from(pid))?);
    if plan.keys().any(|k| k.starts_with("IOThread")) {
        for thread in qmp("query-iothreads")?
            .as_array()
            .ok_or("query-iothreads: no list")?
        {
            let id = thread["id"]
                .as_str()
                .unwrap_or_default()
                .trim_start_matches("iothread");
            let tid = thread["thread-id"]
                .as_u64()
                .ok_or("query-iothreads: no thread-id")?;
            got.insert(format!("IOThread {id}"), affinity(tid)?);
        }
    }
    Ok(got)
}

/// A process's 2 MiB hugetlb memory, from `/proc/<pid>/numa_maps`: pages per host node and the
/// memory policies of those mappings (libvirt's strict `<numatune>` becomes `bind:<nodes>`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct HugeMemory {
    pages_by_node: BTreeMap<u32, u64>,
    policies: BTreeSet<String>,
}

impl HugeMemory {
    fn pages(&self) -> u64 {
        self.pages_by_node.values().sum()
    }
}

fn parse_numa_maps(text: &str) -> HugeMemory {
    let mut huge = HugeMemory::default();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 2 || !fields.contains(&"huge") || !fields.contains(&"kernelpagesize_kB=2048") {
            continue;
        }
        huge.policies.insert(fields[1].to_owned());
        for field in &fields[2..] {
            let Some((node, pages)) = field.strip_prefix('N').and_then(|f| f.split_once('=')) else {
                continue;
            };
            if let (Ok(node), Ok(pages)) = (node.parse::<u32>(), pages.parse::<u64>()) {
                *huge.pages_by_node.entry(node).or_default() += pages;
            }
        }
    }
    huge
}

/// One attempt's outcome.
enum Attempt {
    Reported {
        console: String,
        threads: Pins,
        huge: HugeMemory,
        secs: f64,
    },
    Failed(String),
}

fn boot_once(daemon: &mut Libvirtd, domain: &str, serial: &Path, want_pins: &Pins) -> Attempt {
    let _ = fs::remove_file(serial);
    let started = Instant::now();
    let out = daemon.virsh(&["start", domain], Duration::from_secs(60));
    if !out.ok() {
        return Attempt::Failed(format!(
            "virsh start: {}\nQEMU log:\n{}",
            out.describe(),
            tail_file(&daemon.qemu_log(domain), 20)
        ));
    }
    let Some(pid) = daemon.qemu_pid(domain) else {
        return Attempt::Failed("no QEMU pid file after start".into());
    };
    daemon.qemu_pids.push(pid);
    // The memory is preallocated (`<allocation mode="immediate">`) before `start` returns.
    let huge = parse_numa_maps(&fs::read_to_string(format!("/proc/{pid}/numa_maps")).unwrap_or_default());
    let threads = match observe_threads(daemon, domain, pid, want_pins) {
        Ok(threads) => threads,
        Err(e) => {
            daemon.destroy(domain);
            return Attempt::Failed(format!("reading the QEMU threads: {e}"));
        }
    };
    let deadline = started + BOOT_TIMEOUT;
    let console = loop {
        let console = String::from_utf8_lossy(&fs::read(serial).unwrap_or_default()).into_owned();
        if console.contains(END) {
            break Some(console);
        }
        if !alive(pid) || Instant::now() >= deadline {
            break None;
        }
        thread::sleep(Duration::from_millis(100));
    };
    let secs = started.elapsed().as_secs_f64();
    // Stop at the end marker: a guest's own poweroff occasionally stalls under TCG.
    daemon.destroy(domain);
    match console {
        Some(console) => Attempt::Reported {
            console,
            threads,
            huge,
            secs,
        },
        None => Attempt::Failed(format!(
            "no report after {secs:.1} s (QEMU {}); console tail:\n{}\nQEMU log:\n{}",
            if alive(pid) { "still running" } else { "gone" },
            tail_file(serial, 15),
            tail_file(&daemon.qemu_log(domain), 10)
        )),
    }
}

fn run_case(case: &Case, daemon: &mut Libvirtd, boot_files: (&Path, &Path), dir: &Path) -> CaseResult {
    let label = case.label;
    let planned = plan(case, dir);
    let want = expected_layout(&planned.json).unwrap_or_else(|e| panic!("{label}: {e}"));
    let plan_pins = plan_pins(&planned.json).unwrap_or_else(|e| panic!("{label}: {e}"));

    // The XML and the JSON of one plan must agree before anything is mapped.
    let rendered = read_domain(&planned.xml).unwrap_or_else(|e| panic!("{label}: vnuma's XML: {e}"));
    assert_eq!(
        rendered.pins, plan_pins,
        "{label}: the XML's <cputune> differs from the JSON's pins"
    );

    let domain = format!("vnuma-e2e-{label}");
    let serial = dir.join(format!("{label}.serial.log"));
    let boot = GuestBoot {
        name: &domain,
        kernel: boot_files.0,
        initrd: boot_files.1,
        serial_log: &serial,
    };
    let adapted = adapt(&planned.xml, &boot, HostMapping::this_machine())
        .unwrap_or_else(|e| panic!("{label}: cannot adapt the domain: {e}"));

    // Check the mapping back: the adapted XML pins exactly the mapped plan, binds memory to this
    // machine's node only, and has nothing TCG refuses.
    let want_pins = adapted
        .mapping
        .apply(&plan_pins)
        .unwrap_or_else(|e| panic!("{label}: {e}"));
    let back = read_domain(&adapted.xml).unwrap_or_else(|e| panic!("{label}: adapted XML: {e}"));
    assert_eq!(
        back.pins,
        want_pins,
        "{label}: adapted <cputune> is not the plan's pins through the mapping ({})",
        adapted.mapping.describe()
    );
    let local_node = set_of(&[adapted.mapping.local_node]);
    assert!(
        !back.numatune.is_empty() && back.numatune.values().all(|n| *n == local_node),
        "{label}: adapted <numatune> {:?} is not all node {}",
        back.numatune,
        adapted.mapping.local_node
    );
    for (host_node, local) in &adapted.mapping.nodes {
        assert_eq!(
            *local, adapted.mapping.local_node,
            "{label}: host node {host_node} mapped to {local}"
        );
    }
    assert!(
        back.domain_type == "qemu" && back.cpu_mode == "custom" && !back.has_kvm_features,
        "{label}: adapted domain is type {:?}, cpu mode {:?}, kvm features {}",
        back.domain_type,
        back.cpu_mode,
        back.has_kvm_features
    );

    let xml_file = dir.join(format!("{label}.xml"));
    fs::write(&xml_file, &adapted.xml).expect("write adapted XML");
    daemon.define(&domain, &xml_file);

    let memory = planned.json["guest"]["memory_bytes"]
        .as_u64()
        .expect("guest memory_bytes");
    let uses_hugepages = planned.json["guest"]["page_size_bytes"].as_u64() == Some(HUGEPAGE_BYTES);
    let mut failures = Vec::new();
    let mut result = None;
    for attempt in 1..=2 {
        match boot_once(daemon, &domain, &serial, &want_pins) {
            Attempt::Reported {
                console,
                threads,
                huge,
                secs,
            } => {
                result = Some((console, threads, huge, secs, attempt));
                break;
            }
            Attempt::Failed(why) => {
                eprintln!("{label}: boot attempt {attempt} failed: {why}");
                failures.push(format!("attempt {attempt}: {why}"));
            }
        }
    }
    daemon.undefine(&domain);
    let Some((console, threads, huge, secs, attempts)) = result else {
        panic!(
            "{label}: the guest never reported its NUMA layout:\n{}",
            failures.join("\n")
        );
    };

    compare_pins(&want_pins, &threads).unwrap_or_else(|e| {
        panic!(
            "{label}: QEMU's threads are not pinned as the mapped plan says ({}): {e}\nall threads: {}",
            adapted.mapping.describe(),
            show_pins(&threads)
        )
    });
    // The host's view of the memory: all of it in 2 MiB pages, on this machine's node, bound
    // there (the mapped `<numatune>`), or none at all without hugepages.
    let local = adapted.mapping.local_node;
    let want_pages = if uses_hugepages {
        memory / HUGEPAGE_BYTES
    } else {
        0
    };
    assert_eq!(
        huge.pages(),
        want_pages,
        "{label}: QEMU maps {} x 2 MiB hugetlb pages ({huge:?}); the plan has {memory} B in 2 MiB pages",
        huge.pages()
    );
    assert!(
        huge.pages_by_node.keys().all(|n| *n == local)
            && huge.policies.iter().all(|p| *p == format!("bind:{local}")),
        "{label}: QEMU's hugepages are not all bound to host node {local}: {huge:?}"
    );
    let got = parse_report(&console)
        .unwrap_or_else(|e| panic!("{label}: {e}; console tail:\n{}", tail(&console, 15)));
    compare_layouts(&want, &got)
        .unwrap_or_else(|e| panic!("{label}: the guest disagrees with the plan: {e}"));

    CaseResult {
        label,
        want,
        got,
        mapping: adapted.mapping.describe(),
        pins: want_pins,
        huge,
        attempts,
        boot_secs: secs,
        changes: adapted.changes,
    }
}

#[test]
fn libvirt_boots_the_planned_numa_layout() {
    let started = Instant::now();
    preflight();
    let (kernel, initrd) = guest_files();
    let cases = cases();
    let dir = tempfile::Builder::new()
        .prefix("vnuma-libvirt-e2e.")
        .tempdir()
        .expect("tempdir");

    let _lock = lock_machine();
    // Enough 2 MiB pages for the biggest guest (the cases boot one after another).
    let pages = cases
        .iter()
        .map(|case| {
            let json = plan(case, dir.path()).json;
            json["guest"]["memory_bytes"].as_u64().unwrap_or(0) / HUGEPAGE_BYTES
        })
        .max()
        .unwrap_or(0);
    let pool_before = HugepagePool::total();
    let pool = HugepagePool::reserve(pages);
    let mut daemon = Libvirtd::start(dir.path());
    let version = daemon.virsh(&["version"], Duration::from_secs(30)).stdout;

    let results: Vec<CaseResult> = cases
        .iter()
        .map(|case| run_case(case, &mut daemon, (&kernel, &initrd), dir.path()))
        .collect();

    let pids = daemon.pids();
    let cgroups_before = daemon.cgroups_before.clone();
    drop(daemon);
    for pid in pids {
        assert!(!alive(pid), "pid {pid} ({}) still runs after cleanup", comm(pid));
    }
    let left: Vec<PathBuf> = machine_cgroups().difference(&cgroups_before).cloned().collect();
    assert!(left.is_empty(), "cgroups left after cleanup: {left:?}");
    drop(pool);
    let pool_after = HugepagePool::total();
    if pool_after != pool_before {
        // Only a concurrent test (guest_boot.rs run by hand beside this one) can cause this: the
        // guard took back exactly its own pages.
        eprintln!("note: nr_hugepages was {pool_before} before the test and is {pool_after} now");
    }

    let versions: Vec<&str> = version
        .lines()
        .filter_map(|l| {
            l.strip_prefix("Running hypervisor: ")
                .or(l.strip_prefix("Using library: "))
        })
        .collect();
    println!(
        "\nlibvirt e2e ({}, TCG), {} 2 MiB hugepages reserved:",
        versions.join(", "),
        pages
    );
    for r in &results {
        println!("  {}:", r.label);
        println!("    plan cells:      {}", r.want);
        println!("    guest reported:  {}", r.got);
        println!("    mapping:         {}", r.mapping);
        println!("    thread pins ok:  {}", show_pins(&r.pins));
        let policies: Vec<&str> = r.huge.policies.iter().map(String::as_str).collect();
        println!(
            "    QEMU memory:     {} x 2 MiB hugepages, policy {}",
            r.huge.pages(),
            policies.join(" ")
        );
        println!("    TCG changes:     {}", r.changes.join(", "));
        println!(
            "    boot:            {:.1} s to the report, attempt {}",
            r.boot_secs, r.attempts
        );
    }
    println!(
        "  cleanup: daemons stopped, domains undefined, cgroups removed, nr_hugepages {pool_before} before \
         and {pool_after} after; total {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

// ---------------------------------------------------------------------------------------------
// Unit-level checks of the comparisons and the adapter (no daemon, no boot).

/// The asymmetric case's plan, as `vnuma plan -o json` prints it.
fn asymmetric_plan() -> (Planned, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let case = cases()
        .into_iter()
        .find(|c| c.label == "asymmetric")
        .expect("asymmetric case");
    (plan(&case, dir.path()), dir)
}

#[test]
fn comparison_detects_swapped_cell_cpus() {
    let (planned, _dir) = asymmetric_plan();
    let want = expected_layout(&planned.json).unwrap();
    assert_eq!(want.to_string(), "node0=0-2:3 node1=3:3");
    let console = format!("noise\r\n{BEGIN}\r\nnode0=0-2:3\r\nnode1=3:3\r\n{END}\r\nreboot: Power down\r\n");
    let got = parse_report(&console).unwrap();
    compare_layouts(&want, &got).unwrap();

    // A wrong expectation: the cells' CPU lists swapped.
    let mut swapped = want.clone();
    let cpus0 = swapped.0[&0].cpus.clone();
    let cpus1 = swapped.0[&1].cpus.clone();
    swapped.0.get_mut(&0).unwrap().cpus = cpus1;
    swapped.0.get_mut(&1).unwrap().cpus = cpus0;
    let err = compare_layouts(&swapped, &got).expect_err("swapped CPU lists must not match");
    assert!(
        err.contains("node0 CPUs: want 3, guest has 0-2")
            && err.contains("node1 CPUs: want 0-2, guest has 3"),
        "{err}"
    );
}

#[test]
fn comparison_detects_wrong_memory_and_nodes() {
    let want = parse_report(&format!("{BEGIN}\nnode0=0-1:2\nnode1=2-3:2\n{END}\n")).unwrap();
    let sizes = parse_report(&format!("{BEGIN}\nnode0=0-1:1\nnode1=2-3:3\n{END}\n")).unwrap();
    let err = compare_layouts(&want, &sizes).unwrap_err();
    assert!(
        err.contains("node0 memory: want 2 x 128 MiB, guest has 1"),
        "{err}"
    );
    let forgotten = parse_report(&format!("{BEGIN}\nnode0=0-1,3:2\nnode1=2:2\n{END}\n")).unwrap();
    assert!(compare_layouts(&want, &forgotten).is_err());
    let one_node = parse_report(&format!("{BEGIN}\nnode0=0-3:4\n{END}\n")).unwrap();
    let err = compare_layouts(&want, &one_node).unwrap_err();
    assert!(err.contains("node1 missing"), "{err}");
    assert!(parse_report("node0=0-3:4\n").is_err(), "no markers, no report");
    assert!(
        parse_report(&format!("{BEGIN}\nnode0=0-3:4\n")).is_err(),
        "no end marker"
    );
}

#[test]
fn pin_comparison_detects_a_wrong_thread() {
    let want: Pins = [
        ("vCPU 0".to_owned(), set_of(&[0])),
        ("emulator".to_owned(), set_of(&[1])),
    ]
    .into();
    let mut got = want.clone();
    got.insert("vCPU 1".into(), set_of(&[0, 1]));
    compare_pins(&want, &got).unwrap();
    got.insert("vCPU 0".into(), set_of(&[0, 1]));
    let err = compare_pins(&want, &got).unwrap_err();
    assert!(err.contains("vCPU 0: want CPUs 0, has 0-1"), "{err}");
    got.remove("emulator");
    assert!(
        compare_pins(&want, &got)
            .unwrap_err()
            .contains("emulator: no such thread")
    );
}

#[test]
fn adapter_maps_every_host_cpu_and_node() {
    let (planned, _dir) = asymmetric_plan();
    let boot = GuestBoot {
        name: "vnuma-e2e-unit",
        kernel: Path::new("/k/vmlinuz"),
        initrd: Path::new("/k/initrd.gz"),
        serial_log: Path::new("/k/serial.log"),
    };
    let adapted = adapt(&planned.xml, &boot, HostMapping::new(vec![0, 1], 0)).unwrap();
    let xml = &adapted.xml;
    // Plan: vCPUs 0-3 on host CPUs 0,1,2,8, the emulator on 9; nodes 0 and 1.
    assert_eq!(
        adapted.mapping.cpus,
        [(0, 0), (1, 1), (2, 0), (8, 0), (9, 1)].into()
    );
    assert_eq!(adapted.mapping.nodes, [(0, 0), (1, 0)].into());
    let back = read_domain(xml).unwrap();
    let want = adapted.mapping.apply(&plan_pins(&planned.json).unwrap()).unwrap();
    assert_eq!(back.pins, want);
    assert_eq!(
        show_pins(&want),
        "emulator→1, vCPU 0→0, vCPU 1→1, vCPU 2→0, vCPU 3→0"
    );
    assert!(
        back.numatune.values().all(|n| *n == set_of(&[0])),
        "{:?}",
        back.numatune
    );
    assert_eq!(
        (back.domain_type.as_str(), back.cpu_mode.as_str()),
        ("qemu", "custom")
    );
    assert!(!back.has_kvm_features && !xml.contains("hint-dedicated"), "{xml}");
    assert!(xml.contains("<model fallback=\"allow\">qemu64</model>"), "{xml}");
    assert!(xml.contains("<name>vnuma-e2e-unit</name>"), "{xml}");
    assert!(
        xml.contains("<kernel>/k/vmlinuz</kernel><initrd>/k/initrd.gz</initrd>"),
        "{xml}"
    );
    assert!(
        xml.contains("<serial type=\"file\"><source path=\"/k/serial.log\"/>"),
        "{xml}"
    );
    // The guest-side parts stay: cells, hugepages per guest cell, memfd.
    assert!(
        xml.contains("<cell id=\"0\" cpus=\"0,1,2\" memory=\"402653184\" unit=\"b\">"),
        "{xml}"
    );
    assert!(
        xml.contains("nodeset=\"1\"></page>") && xml.contains("<source type=\"memfd\">"),
        "{xml}"
    );
    // The read-back check catches a mapping that was not applied.
    let unmapped = read_domain(&planned.xml).unwrap();
    assert_ne!(unmapped.pins, want);
}

#[test]
fn qemu_conf_rewrite_is_idempotent() {
    let machine = "# user = \"libvirt-qemu\"\nuser = \"libvirt-qemu\"\nsecurity_driver = \"none\"\n";
    let once = qemu_conf(machine);
    assert_eq!(qemu_conf(&once), once);
    let active: Vec<&str> = once
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect();
    assert_eq!(
        active,
        [
            "security_driver = \"none\"",
            "user = \"root\"",
            "group = \"root\""
        ]
    );
}

#[test]
fn numa_maps_count_hugepages_per_node() {
    let maps = "7f0000000000 bind:0 file=/memfd:ram-node0\\040(deleted) huge dirty=128 N0=128 kernelpagesize_kB=2048\n\
                7f0010000000 bind:0 file=/memfd:ram-node1\\040(deleted) huge dirty=64 N0=60 N1=4 kernelpagesize_kB=2048\n\
                7f0020000000 default anon=3 dirty=3 N0=3 kernelpagesize_kB=4\n";
    let huge = parse_numa_maps(maps);
    assert_eq!(huge.pages_by_node, [(0, 188), (1, 4)].into());
    assert_eq!(huge.pages(), 192);
    assert_eq!(huge.policies, ["bind:0".to_owned()].into());
}

#[test]
fn static_elf_detection() {
    // The test binary itself is dynamically linked: it has an interpreter.
    assert!(!is_static_elf(&fs::read("/proc/self/exe").unwrap()));
    // A header with one PT_LOAD program header and no PT_INTERP.
    let mut elf = vec![0u8; 0x40 + 0x38];
    elf[..6].copy_from_slice(b"\x7fELF\x02\x01");
    elf[0x20] = 0x40; // e_phoff
    elf[0x36] = 0x38; // e_phentsize
    elf[0x38] = 1; // e_phnum
    elf[0x40] = 1; // PT_LOAD
    assert!(is_static_elf(&elf));
    elf[0x40] = 3; // PT_INTERP
    assert!(!is_static_elf(&elf));
    assert!(!is_static_elf(b"#!/bin/sh\n"));
}

#[test]
fn cpulists_round_trip() {
    assert_eq!(
        parse_list("0-2,8,10-11\n").unwrap(),
        set_of(&[0, 1, 2, 8, 10, 11])
    );
    assert_eq!(format_list(&set_of(&[0, 1, 2, 8, 10, 11])), "0-2,8,10-11");
    assert_eq!(parse_list("").unwrap(), BTreeSet::new());
    assert!(parse_list("3-1").is_err() && parse_list("x").is_err());
}
