//! Beyond KubeVirt: which guest NUMA layouts can a VM get on a host, as other pods come and
//! go? KubeVirt derives the guest topology from whatever CPUs the kubelet hands the pod, so
//! the same VM can come back with another layout after a reschedule, or an asymmetric one.
//! This view samples reachable states of the node (other Guaranteed pods arriving and leaving,
//! placed by the same kubelet simulation), plans the VM in each, and counts the distinct
//! layouts. A fixed seed makes it reproducible.

use std::collections::BTreeMap;

use crate::cpuset::CpuSet;
use crate::kubelet::allocate::{Kubelet, KubeletStartError, Request};
use crate::kubelet::config::KubeletConfig;
use crate::plan::{PlanOptions, plan};
use crate::topology::HostTopology;
use crate::vmi::Vmi;

/// SplitMix64: a small, well-known, seedable generator (no dependency needed for sampling).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        match u64::try_from(n) {
            Ok(0) | Err(_) => 0,
            Ok(n) => usize::try_from(self.next_u64() % n).unwrap_or(0),
        }
    }
}

/// A guest NUMA layout: per guest cell, its vCPU count and memory.
pub type Layout = Vec<(usize, u64)>;

/// How often one layout occurred.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutCount {
    /// The layout.
    pub layout: Layout,
    /// Samples that produced it.
    pub count: usize,
    /// Whether its cells differ.
    pub asymmetric: bool,
    /// The pod cpuset of the first sample that produced it.
    pub example_cpuset: CpuSet,
}

/// What the sampling found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Placements {
    /// Samples taken.
    pub samples: usize,
    /// The seed.
    pub seed: u64,
    /// Distinct layouts, most frequent first (ties: the layout order).
    pub layouts: Vec<LayoutCount>,
    /// Samples where the kubelet rejected the pod, by reason.
    pub rejected: BTreeMap<String, usize>,
    /// Samples where the plan failed after admission, by reason (e.g. `hugepage-shortfall`).
    pub failed: BTreeMap<String, usize>,
}

/// Samples `samples` node states from `seed`: each a random sequence of other pods (1 to a
/// quarter of the host's CPUs each, exclusive) arriving and leaving, then the VM's pod.
///
/// # Errors
/// [`KubeletStartError`] for a configuration the kubelet would refuse.
pub fn explore(
    host: &HostTopology,
    config: &KubeletConfig,
    request: &Request,
    vmi: &Vmi,
    options: &PlanOptions,
    samples: usize,
    seed: u64,
) -> Result<Placements, KubeletStartError> {
    explore_with_progress(host, config, request, vmi, options, samples, seed, &mut |_, _| {})
}

/// [`explore`], calling `progress(done, total)` after each sample (for a progress bar).
///
/// # Errors
/// As [`explore`].
#[allow(clippy::too_many_arguments)]
pub fn explore_with_progress(
    host: &HostTopology,
    config: &KubeletConfig,
    request: &Request,
    vmi: &Vmi,
    options: &PlanOptions,
    samples: usize,
    seed: u64,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Placements, KubeletStartError> {
    let mut rng = SplitMix64::new(seed);
    // other pods take CPUs only; the CPU Manager holds no state besides the assigned set
    let others = Kubelet::start(
        host,
        &KubeletConfig {
            memory_manager_policy: "None".into(),
            ..config.clone()
        },
        None,
    )?;
    let total = host.online_cpus().len();
    let mut found: BTreeMap<Layout, LayoutCount> = BTreeMap::new();
    let mut result = Placements {
        samples,
        seed,
        ..Placements::default()
    };
    for sample in 0..samples {
        progress(sample, samples);
        let mut pods: Vec<CpuSet> = Vec::new();
        let steps = rng.below(total.max(1) * 2 + 1);
        for _ in 0..steps {
            if !pods.is_empty() && rng.below(3) == 0 {
                let gone = rng.below(pods.len());
                pods.swap_remove(gone);
                continue;
            }
            let assigned = pods.iter().fold(CpuSet::new(), |acc, p| acc.union(p));
            let cpus = 1 + rng.below((total / 4).max(1));
            let pod = Request {
                cpu_millis: i64::try_from(cpus).unwrap_or(1) * 1000,
                memory: 0,
                hugepages: BTreeMap::new(),
            };
            let mut kubelet = others.clone();
            let a = kubelet.allocate(&pod, &assigned);
            if let Some(set) = a.cpuset.filter(|_| a.exclusive) {
                pods.push(set);
            }
        }
        let assigned = pods.iter().fold(CpuSet::new(), |acc, p| acc.union(p));
        let mut kubelet = Kubelet::start(host, config, None)?;
        let a = kubelet.allocate(request, &assigned);
        if let Some((reason, _)) = a.error {
            *result.rejected.entry(reason).or_default() += 1;
            continue;
        }
        let cpuset = a.cpuset.unwrap_or_default();
        let cpus: Vec<u32> = cpuset.iter().map(|c| c.0).collect();
        let p = plan(host, vmi, &cpus, options);
        if let Some(e) = &p.error {
            *result.failed.entry(e.reason.as_str().to_string()).or_default() += 1;
            continue;
        }
        let layout: Layout = p.cells.iter().map(|c| (c.vcpus.len(), c.memory_bytes)).collect();
        let entry = found.entry(layout.clone()).or_insert_with(|| LayoutCount {
            asymmetric: layout.windows(2).any(|w| w[0] != w[1]),
            layout,
            count: 0,
            example_cpuset: cpuset,
        });
        entry.count += 1;
    }
    let mut layouts: Vec<LayoutCount> = found.into_values().collect();
    layouts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.layout.cmp(&b.layout)));
    result.layouts = layouts;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::examples::example;
    use crate::vmi::Quantity;

    fn seed_vmi() -> Vmi {
        let mut vmi = Vmi {
            name: "numavm".into(),
            namespace: "default".into(),
            architecture: Some("amd64".into()),
            ..Vmi::default()
        };
        vmi.cpu.sockets = 1;
        vmi.cpu.cores = 4;
        vmi.cpu.threads = 1;
        vmi.cpu.dedicated = true;
        vmi.cpu.passthrough = true;
        vmi.memory.hugepages = Some("2Mi".into());
        vmi.memory.guest = Quantity::parse("64Mi").ok();
        vmi
    }

    fn request() -> Request {
        Request {
            cpu_millis: 4000,
            memory: 432_144_384,
            hugepages: [("hugepages-2Mi".to_string(), 64 << 20)].into_iter().collect(),
        }
    }

    #[test]
    fn the_seed_gets_several_layouts_without_the_topology_manager() {
        let host = example("dual-socket").unwrap_or_else(|e| panic!("{e}"));
        let p = explore(
            &host,
            &KubeletConfig::assumed_defaults(),
            &request(),
            &seed_vmi(),
            &PlanOptions::default(),
            300,
            7,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let counted: usize = p.layouts.iter().map(|l| l.count).sum::<usize>()
            + p.rejected.values().sum::<usize>()
            + p.failed.values().sum::<usize>();
        assert_eq!(counted, 300);
        let shapes: Vec<&Layout> = p.layouts.iter().map(|l| &l.layout).collect();
        assert!(shapes.contains(&&vec![(4, 64 << 20)]), "one cell: {shapes:?}");
        assert!(
            shapes.contains(&&vec![(2, 32 << 20), (2, 32 << 20)]),
            "two even cells: {shapes:?}"
        );
        assert!(
            p.layouts.iter().any(|l| l.asymmetric),
            "an asymmetric split occurs: {shapes:?}"
        );
        // reproducible
        let again = explore(
            &host,
            &KubeletConfig::assumed_defaults(),
            &request(),
            &seed_vmi(),
            &PlanOptions::default(),
            300,
            7,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p, again);
    }

    #[test]
    fn single_numa_node_allows_only_one_cell() {
        let host = example("dual-socket").unwrap_or_else(|e| panic!("{e}"));
        let config = KubeletConfig {
            topology_manager_policy: "single-numa-node".into(),
            ..KubeletConfig::assumed_defaults()
        };
        let p = explore(
            &host,
            &config,
            &request(),
            &seed_vmi(),
            &PlanOptions::default(),
            200,
            3,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(p.layouts.iter().all(|l| l.layout.len() == 1), "{:?}", p.layouts);
        assert!(!p.layouts.is_empty());
    }
}
