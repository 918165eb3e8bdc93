//! The Cloud Hypervisor command line for a plan (`backends-and-topology.md` §4): `--cpus`
//! with the guest topology and the vCPU pins as `affinity`, `--memory size=0` and one
//! `--memory-zone` per guest cell bound to its host node, and one `--numa` node per guest cell
//! with its vCPUs, distances and zone.
//!
//! Only the CPU, memory and NUMA options are rendered; a caller appends the payload
//! (`--kernel`, `--disk`, …). Choices, where Cloud Hypervisor leaves room:
//!
//! - **Sizes** use Cloud Hypervisor's own `K`/`M`/`G` suffixes (powers of 1024) whenever that
//!   is exact, plain bytes otherwise (`64M`, `2G`, `2M`, `1000`): the same form for zone sizes,
//!   `--memory size=` and `hugepage_size=`, read back exactly by its `ByteSized` parser.
//! - **Distances** list only the other cells: Cloud Hypervisor ignores a self distance (with a
//!   warning when it is not 10), so it is left out, and `distances=` is left out altogether
//!   when nothing else remains (a single cell, or a plan without distances).
//! - **Lists** (`affinity` CPU lists, `--numa cpus=`) use the kernel's range form (`0-3,8`),
//!   which Cloud Hypervisor's `IntegerList` parses; a range is never written as `n-n`.
//! - **Memory**: guest cells with hugepages become one zone each
//!   (`hugepages=on,hugepage_size=…,host_numa_node=…,prefault=on`: libvirt preallocates
//!   hugepage-backed memory, KubeVirt asks for immediate allocation). Hugepages without cells
//!   (no passthrough) become one zone `mem0` without a host node. Without hugepages and without
//!   cells the memory is plain `--memory size=…`. Cells without hugepages (a plan KubeVirt
//!   refuses, built by hand) still get one zone each bound to the host node, without the
//!   hugepage settings and with `prefault=on` only under immediate allocation, because a
//!   `--numa` node without a zone has no memory.
//! - **CPU model**: Cloud Hypervisor has no CPU model option: the guest always sees the host
//!   CPU (like libvirt's `host-passthrough`). `host-model` and `host-passthrough` render the
//!   same; a named model (`Skylake-Server`) is refused as [`ChError::Unsupported`].
//! - **Hotplug**: with `maxSockets`, `max=` is `maxSockets × cores × threads` and the
//!   topology has `maxSockets` packages. Without guest cells that is all; with cells the plan
//!   is refused ([`ChError::HotplugSlotsInNoCell`]): KubeVirt's cells cover the boot vCPUs only,
//!   and Cloud Hypervisor refuses vCPUs that are in none of its NUMA nodes.
//!
//! Limits Cloud Hypervisor does not check, or checks only after mangling a value, are refused
//! here as [`ChError`]s rather than rendered wrong.

use std::collections::BTreeMap;

use crate::cpuset::CpuSet;
use crate::ids::CpuId;
use crate::plan::GuestPlan;
use crate::render::shell;

/// Cloud Hypervisor settings that are not part of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChOptions {
    /// The binary, first argument (default `cloud-hypervisor`).
    pub binary: String,
}

impl Default for ChOptions {
    fn default() -> Self {
        ChOptions {
            binary: "cloud-hypervisor".into(),
        }
    }
}

/// A plan Cloud Hypervisor cannot be given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChError {
    /// The plan says the VM cannot run.
    #[error("the plan cannot run ({reason}: {message}); refusing to render it")]
    PlanFailed {
        /// The failure's reason word.
        reason: String,
        /// The failure's message.
        message: String,
    },
    /// x86 topologies allow at most 2 threads per core.
    #[error("cloud hypervisor allows at most 2 threads per core on x86, the guest has {threads}")]
    TooManyThreadsPerCore {
        /// The guest's threads per core.
        threads: u32,
    },
    /// The topology's product is not the vCPU count Cloud Hypervisor would compare it with.
    #[error("topology {threads}:{cores}:1:{packages} holds {product} vcpus but the guest has {vcpus}")]
    TopologyMismatch {
        /// Threads per core.
        threads: u32,
        /// Cores per die.
        cores: u32,
        /// Packages (sockets, or `maxSockets` with hotplug).
        packages: u32,
        /// threads × cores × packages.
        product: u64,
        /// `max=` (boot vCPUs without hotplug).
        vcpus: u64,
    },
    /// A memory zone would need several host nodes; `host_numa_node` takes one.
    #[error(
        "memory zone mem{cell} would be bound to host nodes {nodes}, but a zone takes one host_numa_node"
    )]
    ZoneHostNodes {
        /// The guest cell.
        cell: u32,
        /// The host nodes it names (cell and numatune), kernel list.
        nodes: String,
    },
    /// A hugepage size that is not a power of two.
    #[error("hugepage size {page_size_bytes} is not a power of two")]
    PageSizeNotPowerOfTwo {
        /// The page size in bytes.
        page_size_bytes: u64,
    },
    /// A zone size that is not a whole number of pages.
    #[error("memory zone mem{cell} size {size_bytes} is not a multiple of the page size {page_size_bytes}")]
    ZoneMisaligned {
        /// The zone's number (its guest cell, 0 for the single zone without cells).
        cell: u32,
        /// The zone size in bytes.
        size_bytes: u64,
        /// The page size in bytes.
        page_size_bytes: u64,
    },
    /// A distance Cloud Hypervisor would store as `u8` (wrapping it).
    #[error(
        "distance {value} from guest cell {from} to guest cell {to} is above 255, which cloud hypervisor would wrap"
    )]
    DistanceTooLarge {
        /// Source cell.
        from: u32,
        /// Destination cell.
        to: u32,
        /// The value.
        value: u32,
    },
    /// CPU hotplug slots that no cell lists, while the guest has cells: KubeVirt builds the
    /// cells from the boot vCPUs only, and Cloud Hypervisor refuses vCPUs outside its NUMA
    /// nodes.
    #[error(
        "vcpu slots {slots} (CPU hotplug) are in no guest NUMA cell, and cloud hypervisor refuses \
         vcpus outside its numa nodes (KubeVirt builds the cells from the boot vcpus only)"
    )]
    HotplugSlotsInNoCell {
        /// The slots, kernel list.
        slots: String,
    },
    /// A boot vCPU that no cell lists, while the guest has cells.
    #[error("vcpu {vcpu} is in no guest cell")]
    VcpuInNoCell {
        /// The vCPU.
        vcpu: u32,
    },
    /// A vCPU listed by two cells.
    #[error("vcpu {vcpu} is in guest cells {first} and {second}")]
    VcpuInSeveralCells {
        /// The vCPU.
        vcpu: u32,
        /// The first cell listing it.
        first: u32,
        /// Another cell listing it.
        second: u32,
    },
    /// A cell lists a vCPU the guest does not boot with.
    #[error("guest cell {cell} lists vcpu {vcpu}, but the guest boots {boot} vcpus")]
    CellVcpuOutOfRange {
        /// The cell.
        cell: u32,
        /// The vCPU.
        vcpu: u32,
        /// Boot vCPUs.
        boot: u32,
    },
    /// Something the guest asks for that Cloud Hypervisor has no option for (reason
    /// `backend-unsupported`), e.g. a named CPU model.
    #[error("{0}")]
    Unsupported(String),
    /// A pin for a vCPU the guest can never have.
    #[error("vcpu {vcpu} is pinned, but the guest has at most {max} vcpus")]
    PinnedVcpuOutOfRange {
        /// The vCPU.
        vcpu: u32,
        /// `max=` (boot vCPUs without hotplug).
        max: u64,
    },
}

/// Cloud Hypervisor's size form: the largest exact `G`/`M`/`K` suffix, else bytes.
fn size(bytes: u64) -> String {
    for (shift, suffix) in [(30, 'G'), (20, 'M'), (10, 'K')] {
        let unit = 1u64 << shift;
        if bytes != 0 && bytes.is_multiple_of(unit) {
            return format!("{}{suffix}", bytes / unit);
        }
    }
    bytes.to_string()
}

/// The kernel list form of ids (`0-3,8`).
fn list(ids: impl IntoIterator<Item = u32>) -> String {
    ids.into_iter().map(CpuId).collect::<CpuSet>().to_string()
}

fn is_x86(architecture: &str) -> bool {
    matches!(architecture, "amd64" | "x86_64")
}

/// The argument vector, binary first.
///
/// ```
/// use vnuma::render::cloud_hypervisor::{ChOptions, args};
/// let mut plan = vnuma::plan::GuestPlan::default();
/// plan.guest.sockets = 1;
/// plan.guest.cores = 2;
/// plan.guest.threads = 1;
/// plan.guest.vcpus = 2;
/// plan.guest.memory_bytes = 1 << 30;
/// let argv = args(&plan, &ChOptions::default()).unwrap();
/// assert_eq!(argv, ["cloud-hypervisor", "--cpus", "boot=2,topology=1:2:1:1", "--memory", "size=1G"]);
/// ```
pub fn args(plan: &GuestPlan, options: &ChOptions) -> Result<Vec<String>, ChError> {
    if let Some(failure) = &plan.error {
        return Err(ChError::PlanFailed {
            reason: failure.reason.as_str().to_string(),
            message: failure.message.clone(),
        });
    }
    if crate::render::libvirt::cpu_mode(&plan.cpu_model).1.is_some() {
        return Err(ChError::Unsupported(format!(
            "cloud hypervisor has no CPU model option (it always gives the guest the host's CPU, like \
             host-passthrough); the VMI asks for the CPU model {}",
            plan.cpu_model
        )));
    }
    let g = &plan.guest;
    if is_x86(&plan.architecture) && g.threads > 2 {
        return Err(ChError::TooManyThreadsPerCore { threads: g.threads });
    }
    let packages = if g.max_sockets != 0 {
        g.max_sockets
    } else {
        g.sockets
    };
    let product = u64::from(packages) * u64::from(g.cores) * u64::from(g.threads);
    let max_vcpus = if g.max_sockets != 0 {
        product
    } else {
        u64::from(g.vcpus)
    };
    if product != max_vcpus || product == 0 {
        return Err(ChError::TopologyMismatch {
            threads: g.threads,
            cores: g.cores,
            packages,
            product,
            vcpus: max_vcpus,
        });
    }
    check_vcpus(plan, max_vcpus)?;

    let mut argv = vec![options.binary.clone(), "--cpus".to_string()];
    let mut cpus = format!("boot={}", g.vcpus);
    if g.max_sockets != 0 {
        cpus.push_str(&format!(",max={max_vcpus}"));
    }
    cpus.push_str(&format!(",topology={}:{}:1:{packages}", g.threads, g.cores));
    let mut pins: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for &(vcpu, cpu) in &plan.vcpupin {
        pins.entry(vcpu).or_default().push(cpu);
    }
    if !pins.is_empty() {
        let entries: Vec<String> = pins
            .into_iter()
            .map(|(vcpu, host)| format!("{vcpu}@[{}]", list(host)))
            .collect();
        cpus.push_str(&format!(",affinity=[{}]", entries.join(",")));
    }
    argv.push(cpus);

    let zones = memory_zones(plan)?;
    argv.push("--memory".into());
    if zones.is_empty() {
        argv.push(format!("size={}", size(g.memory_bytes)));
    } else {
        argv.push("size=0".into());
        argv.push("--memory-zone".into());
        argv.extend(zones);
    }

    if !plan.cells.is_empty() {
        argv.push("--numa".into());
        for cell in &plan.cells {
            let mut node = format!("guest_numa_id={}", cell.id);
            if !cell.vcpus.is_empty() {
                node.push_str(&format!(",cpus=[{}]", list(cell.vcpus.iter().copied())));
            }
            let others: Vec<String> = cell
                .distances
                .iter()
                .flatten()
                .filter(|(to, _)| *to != cell.id)
                .map(|&(to, value)| {
                    if value > 255 {
                        Err(ChError::DistanceTooLarge {
                            from: cell.id,
                            to,
                            value,
                        })
                    } else {
                        Ok(format!("{to}@{value}"))
                    }
                })
                .collect::<Result<_, _>>()?;
            if !others.is_empty() {
                node.push_str(&format!(",distances=[{}]", others.join(",")));
            }
            node.push_str(&format!(",memory_zones=[mem{}]", cell.id));
            argv.push(node);
        }
    }
    Ok(argv)
}

/// The command line as shell text, one option per line ([`shell::lines`]).
pub fn command_line(plan: &GuestPlan, options: &ChOptions) -> Result<String, ChError> {
    Ok(shell::lines(&args(plan, options)?))
}

/// The vCPU rules Cloud Hypervisor does not check: cells list boot vCPUs only, each in one
/// cell, every boot vCPU in some cell; pins name vCPUs the guest can have.
fn check_vcpus(plan: &GuestPlan, max_vcpus: u64) -> Result<(), ChError> {
    let boot = plan.guest.vcpus;
    if let Some(&(vcpu, _)) = plan
        .vcpupin
        .iter()
        .find(|(vcpu, _)| u64::from(*vcpu) >= max_vcpus)
    {
        return Err(ChError::PinnedVcpuOutOfRange { vcpu, max: max_vcpus });
    }
    if plan.cells.is_empty() {
        return Ok(());
    }
    let mut owner: BTreeMap<u32, u32> = BTreeMap::new();
    for cell in &plan.cells {
        for &vcpu in &cell.vcpus {
            if vcpu >= boot {
                return Err(ChError::CellVcpuOutOfRange {
                    cell: cell.id,
                    vcpu,
                    boot,
                });
            }
            if let Some(&first) = owner.get(&vcpu) {
                return Err(ChError::VcpuInSeveralCells {
                    vcpu,
                    first,
                    second: cell.id,
                });
            }
            owner.insert(vcpu, cell.id);
        }
    }
    if let Some(vcpu) = (0..boot).find(|vcpu| !owner.contains_key(vcpu)) {
        return Err(ChError::VcpuInNoCell { vcpu });
    }
    let slots = plan.vcpus_outside_cells();
    if !slots.is_empty() {
        return Err(ChError::HotplugSlotsInNoCell { slots: list(slots) });
    }
    Ok(())
}

/// The `--memory-zone` values; empty when the memory is plain `--memory size=`.
fn memory_zones(plan: &GuestPlan) -> Result<Vec<String>, ChError> {
    let page = plan.guest.page_size_bytes;
    let hugepages = match page {
        Some(page) if !page.is_power_of_two() => {
            return Err(ChError::PageSizeNotPowerOfTwo {
                page_size_bytes: page,
            });
        }
        Some(page) => format!(",hugepages=on,hugepage_size={}", size(page)),
        None => String::new(),
    };
    let aligned = |cell: u32, size_bytes: u64| match page {
        Some(page_size_bytes) if !size_bytes.is_multiple_of(page_size_bytes) => {
            Err(ChError::ZoneMisaligned {
                cell,
                size_bytes,
                page_size_bytes,
            })
        }
        _ => Ok(()),
    };
    let prefault = if page.is_some() || plan.allocation_immediate {
        ",prefault=on"
    } else {
        ""
    };
    if plan.cells.is_empty() {
        return match page {
            Some(_) => {
                aligned(0, plan.guest.memory_bytes)?;
                Ok(vec![format!(
                    "id=mem0,size={}{hugepages}{prefault}",
                    size(plan.guest.memory_bytes)
                )])
            }
            None => Ok(Vec::new()),
        };
    }
    let mut zones = Vec::with_capacity(plan.cells.len());
    for cell in &plan.cells {
        let Some(host_node) = cell.host_node() else {
            return Err(ChError::Unsupported(format!(
                "guest cell {} is bound to {}, but a Cloud Hypervisor memory zone takes one host_numa_node: use -o xml or -o qemu",
                cell.id,
                cell.host_nodes_phrase()
            )));
        };
        let mut nodes = vec![host_node];
        if let Some(numatune) = &plan.numatune {
            nodes.extend(
                numatune
                    .memnodes
                    .iter()
                    .filter(|(guest, _)| *guest == cell.id)
                    .flat_map(|(_, hosts)| hosts.iter().copied()),
            );
        }
        nodes.sort_unstable();
        nodes.dedup();
        if nodes.len() != 1 {
            return Err(ChError::ZoneHostNodes {
                cell: cell.id,
                nodes: list(nodes),
            });
        }
        aligned(cell.id, cell.memory_bytes)?;
        zones.push(format!(
            "id=mem{},size={}{hugepages},host_numa_node={}{prefault}",
            cell.id,
            size(cell.memory_bytes),
            host_node
        ));
    }
    Ok(zones)
}

#[cfg(test)]
mod tests;
