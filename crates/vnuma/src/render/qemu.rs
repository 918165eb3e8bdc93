//! The QEMU command line for a plan, as libvirt would translate the domain
//! (`qemu_command.c`, behaviour reference `backends-and-topology.md` §3.3): `-smp` with the
//! guest topology, one memory backend per guest cell bound to its host node, `-numa node`
//! with the cell's vCPUs and backend, and every `-numa dist` pair when distances are known.
//!
//! QEMU cannot pin vCPU threads on its command line (libvirt pins them through QMP thread ids
//! afterwards), so the pinning is a separate, machine-readable document: [`pinning_json`].

use std::fmt::Write as _;

use crate::cpuset::CpuSet;
use crate::ids::CpuId;
use crate::plan::GuestPlan;
use crate::render::shell;

/// What QEMU will say about a plan it accepts: with CPU hotplug and guest cells, the
/// hot-pluggable vCPU slots are in no `-numa node` (KubeVirt builds the cells from the boot
/// vCPUs only), so QEMU warns at start ("CPU(s) not present in any NUMA nodes") and gives
/// each such slot a guest node by its default rule (on x86 machines, the socket id modulo the
/// node count). One line each, for the caller to print on stderr.
pub fn warnings(plan: &GuestPlan) -> Vec<String> {
    let outside = plan.vcpus_outside_cells();
    if outside.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "vcpu slots {} (CPU hotplug) are in no guest NUMA cell: QEMU warns \"CPU(s) not present in any \
         NUMA nodes\" at start and gives each a guest node by its default rule (x86: socket id modulo the node count)",
        outside.iter().copied().map(CpuId).collect::<CpuSet>()
    )]
}

/// How guest memory is backed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemoryBackend {
    /// `memory-backend-memfd,hugetlb=on,hugetlbsize=…` (what KubeVirt's `<source type="memfd">`
    /// becomes); plain memfd without hugepages.
    Memfd,
    /// `memory-backend-file` on the hugetlbfs mount for the page size; the argument is the
    /// mount of 2 MiB pages, 1 GiB pages use the same path with a `1G` suffix (libvirt's
    /// `/dev/hugepages` and `/dev/hugepages1G` convention).
    File(String),
    /// `memory-backend-ram`: no hugepages (for syntax checks on hosts without reserved pages).
    Ram,
}

/// QEMU settings that are not part of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QemuOptions {
    /// The binary, first argument.
    pub binary: String,
    /// `-accel`: `kvm` or `tcg`.
    pub accel: String,
    /// `-machine` type.
    pub machine: String,
    /// `-cpu` model.
    pub cpu: String,
    /// The memory backend.
    pub backend: MemoryBackend,
}

impl Default for QemuOptions {
    fn default() -> Self {
        QemuOptions {
            binary: "qemu-system-x86_64".into(),
            accel: "kvm".into(),
            machine: "q35".into(),
            cpu: "host".into(),
            backend: MemoryBackend::Memfd,
        }
    }
}

/// A plan QEMU cannot be given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QemuError {
    /// The plan failed; there is nothing to run.
    #[error("the plan cannot run ({0}); no QEMU command line is rendered")]
    PlanFailed(String),
    /// A guest this renderer cannot write faithfully (reason `backend-unsupported`).
    #[error("{0}")]
    Unsupported(String),
    /// A cell's memory is not a whole number of KiB.
    #[error("guest cell {cell} has {bytes} bytes, not a whole number of KiB")]
    Unaligned {
        /// The cell.
        cell: u32,
        /// Its size.
        bytes: u64,
    },
}

/// The `-cpu` value libvirt derives from the domain's `<cpu>`: `host` for `host-passthrough`
/// and for `host-model` (libvirt expands that to the host's closest named model and features at
/// start; `host` is the nearest fixed spelling), `max` for those under `tcg`, the model's name
/// for a named model; then each `<feature>` as `name=on` (`disable`/`forbid`: `name=off`).
pub fn default_cpu(plan: &GuestPlan, accel: &str) -> String {
    let mut cpu = match crate::render::libvirt::cpu_mode(&plan.cpu_model) {
        (_, Some(named)) => named.to_string(),
        _ if accel == "tcg" => "max".to_string(),
        _ => "host".to_string(),
    };
    for (name, policy) in crate::render::libvirt::cpu_features(plan) {
        let on = !matches!(policy.as_deref(), Some("disable" | "forbid"));
        let _ = write!(cpu, ",{name}={}", if on { "on" } else { "off" });
    }
    cpu
}

/// QEMU's `-numa node,cpus=` form: one `cpus=a-b` per run of consecutive vCPUs.
fn cpus_params(vcpus: &[u32]) -> String {
    let set: CpuSet = vcpus.iter().map(|&v| CpuId(v)).collect();
    set.to_string()
        .split(',')
        .map(|run| format!(",cpus={run}"))
        .collect()
}

fn backend_object(
    id: &str,
    bytes: u64,
    plan: &GuestPlan,
    host_nodes: Option<&[u32]>,
    options: &QemuOptions,
) -> String {
    let page = plan.guest.page_size_bytes;
    let mut object = match (&options.backend, page) {
        (MemoryBackend::Memfd, Some(page)) => {
            format!("memory-backend-memfd,id={id},size={bytes},hugetlb=on,hugetlbsize={page}")
        }
        (MemoryBackend::File(dir), Some(page)) => {
            let mount = if page == 1 << 30 {
                format!("{dir}1G")
            } else {
                dir.clone()
            };
            format!("memory-backend-file,id={id},size={bytes},mem-path={mount}")
        }
        (MemoryBackend::Memfd, None) => format!("memory-backend-memfd,id={id},size={bytes}"),
        (MemoryBackend::File(_) | MemoryBackend::Ram, _) => {
            format!("memory-backend-ram,id={id},size={bytes}")
        }
    };
    if plan.allocation_immediate || (page.is_some() && options.backend != MemoryBackend::Ram) {
        object.push_str(",prealloc=on");
    }
    if let Some(nodes) = host_nodes.filter(|n| !n.is_empty()) {
        // host-nodes is a list: one `host-nodes=a` or `host-nodes=a-b` per run of nodes
        let set: CpuSet = nodes.iter().map(|&n| CpuId(n)).collect();
        for run in set.to_string().split(',') {
            let _ = write!(object, ",host-nodes={run}");
        }
        object.push_str(",policy=bind");
    }
    object
}

/// The command line as arguments, binary first.
///
/// # Errors
/// [`QemuError`] when the plan failed or a cell cannot be expressed.
pub fn args(plan: &GuestPlan, options: &QemuOptions) -> Result<Vec<String>, QemuError> {
    if let Some(e) = &plan.error {
        return Err(QemuError::PlanFailed(e.message.clone()));
    }
    if !matches!(plan.architecture.as_str(), "" | "amd64") {
        return Err(QemuError::Unsupported(format!(
            "the QEMU command line is rendered for amd64 guests only; this guest is {}, for which libvirt \
             runs another QEMU binary and machine (on arm64 qemu-system-aarch64 -machine virt, with a GIC \
             version it picks from the host), which vnuma cannot know: use -o xml and let libvirt derive it",
            plan.architecture
        )));
    }
    let g = &plan.guest;
    let mut a: Vec<String> = vec![options.binary.clone()];
    let mut push = |opt: &str, value: String| {
        a.push(opt.to_string());
        a.push(value);
    };
    let single_backend = plan.cells.is_empty() && g.page_size_bytes.is_some();
    let machine = if single_backend {
        format!("{},memory-backend=ram", options.machine)
    } else {
        options.machine.clone()
    };
    push("-machine", machine);
    push("-accel", options.accel.clone());
    push("-cpu", options.cpu.clone());
    push("-m", format!("size={}k", g.memory_bytes / 1024));
    let smp = if g.max_sockets != 0 {
        let max = g.max_sockets.saturating_mul(g.cores).saturating_mul(g.threads);
        format!(
            "{},maxcpus={max},sockets={},cores={},threads={}",
            g.vcpus, g.max_sockets, g.cores, g.threads
        )
    } else {
        format!(
            "{},sockets={},cores={},threads={}",
            g.vcpus, g.sockets, g.cores, g.threads
        )
    };
    push("-smp", smp);
    if single_backend {
        push(
            "-object",
            backend_object("ram", g.memory_bytes, plan, None, options),
        );
    }
    let memnode = |cell: u32| {
        plan.numatune.as_ref().and_then(|n| {
            n.memnodes
                .iter()
                .find(|(c, _)| *c == cell)
                .map(|(_, h)| h.as_slice())
        })
    };
    for cell in &plan.cells {
        if cell.memory_bytes % 1024 != 0 {
            return Err(QemuError::Unaligned {
                cell: cell.id,
                bytes: cell.memory_bytes,
            });
        }
        let id = format!("ram-node{}", cell.id);
        push(
            "-object",
            backend_object(&id, cell.memory_bytes, plan, memnode(cell.id), options),
        );
        push(
            "-numa",
            format!("node,nodeid={}{},memdev={id}", cell.id, cpus_params(&cell.vcpus)),
        );
    }
    if plan.cells.iter().any(|c| c.distances.is_some()) {
        for src in &plan.cells {
            for dst in &plan.cells {
                let val = src
                    .distances
                    .iter()
                    .flatten()
                    .find(|(to, _)| *to == dst.id)
                    .map(|(_, v)| *v)
                    .or_else(|| {
                        dst.distances
                            .iter()
                            .flatten()
                            .find(|(to, _)| *to == src.id)
                            .map(|(_, v)| *v)
                    })
                    .unwrap_or(if src.id == dst.id { 10 } else { 20 });
                push("-numa", format!("dist,src={},dst={},val={val}", src.id, dst.id));
            }
        }
    }
    Ok(a)
}

/// The command line as shell text (`-o qemu`).
///
/// # Errors
/// As [`args`].
pub fn command_line(plan: &GuestPlan, options: &QemuOptions) -> Result<String, QemuError> {
    Ok(shell::lines(&args(plan, options)?))
}

/// The pinning QEMU cannot express (`-o qemu-pinning`, shape fixed by `cli-contract.md`).
pub fn pinning_json(plan: &GuestPlan) -> String {
    let list = |cpus: &[u32]| cpus.iter().map(|&c| CpuId(c)).collect::<CpuSet>().to_string();
    let doc = serde_json::json!({
        "vcpus": plan.vcpupin.iter().map(|(v, c)| serde_json::json!({"vcpu": v, "cpus": c.to_string()})).collect::<Vec<_>>(),
        "emulator": plan.emulatorpin.as_deref().map(list),
        "iothreads": plan.iothreadpin.iter().map(|(t, c)| serde_json::json!({"iothread": t, "cpus": list(c)})).collect::<Vec<_>>(),
    });
    crate::text::json_text(&doc)
}

#[cfg(test)]
mod tests;
