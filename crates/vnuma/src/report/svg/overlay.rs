//! The plan per host CPU and node: what each thread and node card of a plan picture shows.

use std::collections::{BTreeMap, BTreeSet};

use crate::ids::CpuId;
use crate::plan::GuestPlan;
use crate::topology::HostTopology;

/// What the plan puts on one host CPU.
#[derive(Debug, Default, Clone)]
pub(super) struct Mark {
    pub(super) vcpus: Vec<u32>,
    /// Index of the guest cell of the first vCPU.
    pub(super) cell: Option<usize>,
    pub(super) emulator: bool,
    pub(super) iothreads: Vec<u32>,
    pub(super) in_cpuset: bool,
}

impl Mark {
    pub(super) fn label(&self) -> Option<String> {
        let mut parts: Vec<String> = self.vcpus.iter().map(|v| format!("v{v}")).collect();
        if self.emulator {
            parts.push("emu".into());
        }
        parts.extend(self.iothreads.iter().map(|i| format!("io{i}")));
        (!parts.is_empty()).then(|| parts.join("+"))
    }
}

/// The plan, per host CPU and node.
pub(super) struct Overlay<'a> {
    pub(super) plan: &'a GuestPlan,
    pub(super) marks: BTreeMap<u32, Mark>,
    /// Host node id → indices of guest cells bound to it.
    pub(super) cells_on: BTreeMap<u32, Vec<usize>>,
    /// Host nodes that hold any pin, cell or hugepage verdict.
    pub(super) active: BTreeSet<u32>,
    pub(super) share_core: bool,
    pub(super) asymmetric: bool,
    pub(super) emulator_elsewhere: bool,
}

impl<'a> Overlay<'a> {
    pub(super) fn new(plan: &'a GuestPlan, host: &HostTopology) -> Self {
        let mut marks: BTreeMap<u32, Mark> = BTreeMap::new();
        for &cpu in &plan.cpuset {
            marks.entry(cpu).or_default().in_cpuset = true;
        }
        let cell_of = |vcpu: u32| plan.cells.iter().position(|c| c.vcpus.contains(&vcpu));
        for &(vcpu, cpu) in &plan.vcpupin {
            let mark = marks.entry(cpu).or_default();
            mark.vcpus.push(vcpu);
            if mark.cell.is_none() {
                mark.cell = cell_of(vcpu);
            }
        }
        for &cpu in plan.emulatorpin.iter().flatten() {
            marks.entry(cpu).or_default().emulator = true;
        }
        for (id, cpus) in &plan.iothreadpin {
            for &cpu in cpus {
                marks.entry(cpu).or_default().iothreads.push(*id);
            }
        }
        let mut cells_on: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
        for (i, cell) in plan.cells.iter().enumerate() {
            for &node in &cell.host_nodes {
                cells_on.entry(node).or_default().push(i);
            }
        }
        let mut active: BTreeSet<u32> = cells_on.keys().copied().collect();
        active.extend(plan.hugepages.iter().flat_map(|v| v.host_nodes.iter().copied()));
        for (&cpu, mark) in &marks {
            if (mark.label().is_some() || mark.in_cpuset)
                && let Some(node) = host.cpu(CpuId(cpu)).and_then(|c| c.node)
            {
                active.insert(node.0);
            }
        }
        let has = |code: &str| plan.warnings.iter().any(|w| w.code == code);
        Overlay {
            plan,
            marks,
            cells_on,
            active,
            share_core: has("vcpus-share-core"),
            asymmetric: has("asymmetric-cells"),
            emulator_elsewhere: has("emulator-other-node"),
        }
    }
}
