//! `vnuma verify`: compare a running VM with its plan. This is the edge that talks to QEMU
//! (a QMP socket, or `virsh qemu-monitor-command` for a libvirt domain) and reads `/proc`; the
//! comparison itself is `vnuma::verify::compare`.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use serde_json::Value;
use vnuma::cpuset::CpuSet;
use vnuma::verify::{
    Expected, Observed, ObservedMemdev, ObservedSched, ObservedVcpu, compare, parse_numa_maps,
    parse_numa_maps_page_sizes,
};

use crate::Failure;
use crate::host::read_input;

/// Arguments of `vnuma verify`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 the VM matches its plan; 1 mismatches (each printed on stdout); \
2 unusable input (a plan that is not vnuma's JSON, a monitor that cannot be reached)."
)]
pub(crate) struct VerifyArgs {
    /// The plan: the JSON of `vnuma plan -o json` (`-` reads stdin).
    #[arg(long, value_name = "FILE")]
    plan: String,
    /// The VM's QMP socket (`-qmp unix:PATH,server,wait=off`).
    #[arg(
        long,
        value_name = "PATH",
        conflicts_with = "domain",
        required_unless_present = "domain"
    )]
    qmp: Option<PathBuf>,
    /// A libvirt domain name (the monitor is reached through `virsh qemu-monitor-command`,
    /// since libvirt owns it).
    #[arg(long, value_name = "NAME")]
    domain: Option<String>,
    /// libvirt connection URI for `--domain`.
    #[arg(long, value_name = "URI", default_value = "qemu:///system")]
    connect: String,
    /// Pin each vCPU thread to its planned host CPU first (with `taskset`), as libvirt would;
    /// plain QEMU cannot pin on its command line.
    #[arg(long)]
    pin: bool,
}

trait Monitor {
    /// Runs one QMP command with its `arguments` (an object, or `None`).
    fn run(&mut self, command: &str, arguments: Option<&Value>) -> anyhow::Result<Value>;

    fn execute(&mut self, command: &str) -> anyhow::Result<Value> {
        self.run(command, None)
    }
}

/// The QMP request line.
fn request(command: &str, arguments: Option<&Value>) -> String {
    let mut request = serde_json::json!({ "execute": command });
    if let Some(arguments) = arguments {
        request["arguments"] = arguments.clone();
    }
    request.to_string()
}

struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Qmp {
    fn connect(path: &PathBuf) -> anyhow::Result<Self> {
        let stream =
            UnixStream::connect(path).with_context(|| format!("--qmp {}: cannot connect", path.display()))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let writer = stream.try_clone()?;
        let mut qmp = Qmp {
            reader: BufReader::new(stream),
            writer,
        };
        let mut greeting = String::new();
        qmp.reader
            .read_line(&mut greeting)
            .context("reading the QMP greeting")?;
        if !greeting.contains("QMP") {
            bail!(
                "--qmp {}: not a QMP socket (greeting {:?})",
                path.display(),
                greeting.trim()
            );
        }
        qmp.execute("qmp_capabilities")?;
        Ok(qmp)
    }
}

impl Monitor for Qmp {
    fn run(&mut self, command: &str, arguments: Option<&Value>) -> anyhow::Result<Value> {
        writeln!(self.writer, "{}", request(command, arguments))?;
        for _ in 0..1000 {
            let mut line = String::new();
            if self.reader.read_line(&mut line)? == 0 {
                bail!("QMP closed the connection during {command}");
            }
            let reply: Value = serde_json::from_str(&line).with_context(|| format!("QMP sent {line:?}"))?;
            if let Some(ret) = reply.get("return") {
                return Ok(ret.clone());
            }
            if let Some(err) = reply.get("error") {
                bail!("QMP {command}: {err}");
            }
        }
        bail!("QMP {command}: no answer")
    }
}

struct Virsh {
    connect: String,
    domain: String,
}

impl Monitor for Virsh {
    fn run(&mut self, command: &str, arguments: Option<&Value>) -> anyhow::Result<Value> {
        let out = Command::new("virsh")
            .args(["-c", &self.connect, "qemu-monitor-command", &self.domain])
            .arg(request(command, arguments))
            .output()
            .context("running virsh (Debian package libvirt-clients)")?;
        if !out.status.success() {
            bail!(
                "virsh qemu-monitor-command {}: {}",
                self.domain,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let reply: Value = serde_json::from_slice(&out.stdout).context("virsh printed no JSON")?;
        reply
            .get("return")
            .cloned()
            .ok_or_else(|| anyhow!("QMP {command}: {reply}"))
    }
}

fn u32_field(v: &Value, key: &str) -> Option<u32> {
    v.get(key)
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
}

fn status_field(tid: u64, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))
}

fn observe(monitor: &mut dyn Monitor) -> anyhow::Result<Observed> {
    let cpus = monitor.execute("query-cpus-fast")?;
    let memdevs = monitor.execute("query-memdev")?;
    let mut observed = Observed::default();
    for cpu in cpus.as_array().into_iter().flatten() {
        let props = cpu.get("props").cloned().unwrap_or(Value::Null);
        let thread_id = cpu.get("thread-id").and_then(Value::as_u64);
        let affinity = thread_id
            .and_then(|t| status_field(t, "Cpus_allowed_list:"))
            .and_then(|list| CpuSet::parse_list(&list).ok());
        observed.vcpus.push(ObservedVcpu {
            index: u32_field(cpu, "cpu-index").unwrap_or(0),
            node: u32_field(&props, "node-id"),
            socket: u32_field(&props, "socket-id"),
            core: u32_field(&props, "core-id"),
            thread: u32_field(&props, "thread-id"),
            thread_id,
            affinity,
        });
    }
    for m in memdevs.as_array().into_iter().flatten() {
        observed.memdevs.push(ObservedMemdev {
            id: m.get("id").and_then(Value::as_str).unwrap_or("").to_string(),
            size: m.get("size").and_then(Value::as_u64).unwrap_or(0),
            host_nodes: m
                .get("host-nodes")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_u64)
                        .filter_map(|n| u32::try_from(n).ok())
                        .collect()
                })
                .unwrap_or_default(),
            policy: m.get("policy").and_then(Value::as_str).unwrap_or("").to_string(),
            backend_type: None,
            hugetlb: None,
            hugetlbsize: None,
        });
    }
    backend_types(monitor, &mut observed.memdevs)?;
    let pid = observed
        .vcpus
        .iter()
        .find_map(|v| v.thread_id)
        .and_then(|t| status_field(t, "Tgid:"));
    if let Some(pid) = pid {
        let maps = std::fs::read_to_string(format!("/proc/{pid}/numa_maps")).ok();
        observed.bound_per_node = maps.as_deref().map(parse_numa_maps);
        observed.page_sizes_per_node = maps.as_deref().map(parse_numa_maps_page_sizes);
        observed.sched = vcpu_sched(&pid);
    }
    Ok(observed)
}

/// Each backend's QOM type (`qom-list /objects` names children `child<TYPE>`) and, for memfd,
/// its hugepage settings: `query-memdev` reports neither.
fn backend_types(monitor: &mut dyn Monitor, memdevs: &mut [ObservedMemdev]) -> anyhow::Result<()> {
    let objects = monitor.run("qom-list", Some(&serde_json::json!({"path": "/objects"})))?;
    for m in memdevs.iter_mut() {
        let kind = objects.as_array().into_iter().flatten().find_map(|o| {
            (o.get("name").and_then(Value::as_str) == Some(m.id.as_str()))
                .then(|| o.get("type").and_then(Value::as_str))
                .flatten()
                .map(|t| t.trim_start_matches("child<").trim_end_matches('>').to_string())
        });
        if kind.as_deref() == Some("memory-backend-memfd") {
            let path = format!("/objects/{}", m.id);
            let get = |monitor: &mut dyn Monitor, property: &str| {
                monitor.run(
                    "qom-get",
                    Some(&serde_json::json!({"path": path, "property": property})),
                )
            };
            m.hugetlb = get(monitor, "hugetlb")?.as_bool();
            m.hugetlbsize = get(monitor, "hugetlbsize")?.as_u64();
        }
        m.backend_type = kind;
    }
    Ok(())
}

/// The scheduling of QEMU's vCPU threads, found as virt-handler finds them: every task of the
/// process whose `comm` is `CPU N/KVM`.
fn vcpu_sched(pid: &str) -> Option<std::collections::BTreeMap<u32, ObservedSched>> {
    use vnuma::plan::realtime::{stat_sched, vcpu_thread_id};
    let mut sched = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/task")).ok()?.flatten() {
        let path = entry.path();
        let Some(tid) = entry.file_name().to_str().and_then(|t| t.parse::<u64>().ok()) else {
            continue;
        };
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        let Some(vcpu) = vcpu_thread_id(&comm) else {
            continue;
        };
        let stat = std::fs::read_to_string(path.join("stat")).unwrap_or_default();
        if let Some((policy, priority)) = stat_sched(&stat) {
            sched.insert(
                vcpu,
                ObservedSched {
                    tid,
                    policy,
                    priority,
                },
            );
        }
    }
    Some(sched)
}

fn pin(monitor: &mut dyn Monitor, expected: &Expected) -> anyhow::Result<()> {
    let cpus = monitor.execute("query-cpus-fast")?;
    for cpu in cpus.as_array().into_iter().flatten() {
        let (Some(index), Some(tid)) = (
            u32_field(cpu, "cpu-index"),
            cpu.get("thread-id").and_then(Value::as_u64),
        ) else {
            continue;
        };
        let Some(p) = expected.vcpupin.iter().find(|p| p.vcpu == index) else {
            continue;
        };
        let status = Command::new("taskset")
            .args(["-p", "-c", &p.cpu.to_string(), &tid.to_string()])
            .output()
            .context("running taskset (Debian package util-linux)")?;
        if !status.status.success() {
            bail!(
                "taskset could not pin vCPU {index} (thread {tid}) to CPU {}: {}",
                p.cpu,
                String::from_utf8_lossy(&status.stderr).trim()
            );
        }
    }
    Ok(())
}

pub(crate) fn run(args: &VerifyArgs) -> Result<(), Failure> {
    let text = read_input(&args.plan).map_err(Failure::input)?;
    let expected: Expected = serde_json::from_str(&text)
        .map_err(|e| Failure::input(anyhow!("--plan {}: not a vnuma plan document: {e}", args.plan)))?;
    let mut monitor: Box<dyn Monitor> = match (&args.qmp, &args.domain) {
        (Some(path), _) => Box::new(Qmp::connect(path).map_err(Failure::input)?),
        (None, Some(domain)) => Box::new(Virsh {
            connect: args.connect.clone(),
            domain: domain.clone(),
        }),
        (None, None) => return Err(Failure::input(anyhow!("pass --qmp PATH or --domain NAME"))),
    };
    if args.pin {
        pin(monitor.as_mut(), &expected).map_err(Failure::input)?;
    }
    let observed = observe(monitor.as_mut()).map_err(Failure::input)?;
    let mismatches = compare(&expected, &observed);
    if mismatches.is_empty() {
        println!(
            "the VM matches its plan: {} vCPUs, {} cells{}{}",
            observed.vcpus.len(),
            expected.cells.len(),
            match (&observed.bound_per_node, expected.guest.page_size_bytes) {
                (Some(_), Some(_)) => ", memory binding and page size checked in numa_maps",
                (Some(_), None) => ", memory binding checked in numa_maps",
                (None, _) => "",
            },
            if expected.realtime.is_some() && observed.sched.is_some() {
                ", realtime scheduling checked"
            } else {
                ""
            }
        );
        return Ok(());
    }
    for m in &mismatches {
        println!("mismatch: {m}");
    }
    Err(Failure::cannot_run(anyhow!(
        "{} mismatch(es) between the VM and its plan",
        mismatches.len()
    )))
}
