//! The static policy's options (`pkg/kubelet/cm/cpumanager/policy_options.go`:
//! `NewStaticPolicyOptions`, `ValidateStaticPolicyOptions`): the option names and their
//! maturity, the feature gates that allow them, parsing the `cpuManagerPolicyOptions` map and
//! refusing the combinations the kubelet refuses.

use std::collections::{BTreeMap, BTreeSet};

use super::CpuManagerError;
use crate::kubelet::cpu_assignment::CpuSortingStrategy;
use crate::kubelet::topology::CpuTopology;

/// `full-pcpus-only` (GA).
pub const FULL_PCPUS_ONLY: &str = "full-pcpus-only";
/// `distribute-cpus-across-numa` (beta).
pub const DISTRIBUTE_CPUS_ACROSS_NUMA: &str = "distribute-cpus-across-numa";
/// `align-by-socket` (alpha).
pub const ALIGN_BY_SOCKET: &str = "align-by-socket";
/// `distribute-cpus-across-cores` (alpha).
pub const DISTRIBUTE_CPUS_ACROSS_CORES: &str = "distribute-cpus-across-cores";
/// `strict-cpu-reservation` (beta).
pub const STRICT_CPU_RESERVATION: &str = "strict-cpu-reservation";
/// `prefer-align-cpus-by-uncorecache` (beta).
pub const PREFER_ALIGN_CPUS_BY_UNCORECACHE: &str = "prefer-align-cpus-by-uncorecache";

/// The feature gate that allows alpha-level options.
pub const ALPHA_OPTIONS_GATE: &str = "CPUManagerPolicyAlphaOptions";
/// The feature gate that allows beta-level options (on by default in the kubelet).
pub const BETA_OPTIONS_GATE: &str = "CPUManagerPolicyBetaOptions";

/// The gates the kubelet enables by default that matter here: `CPUManagerPolicyBetaOptions`.
/// Union this with the gates a configuration turns on (and remove those it turns off).
pub fn default_feature_gates() -> BTreeSet<String> {
    std::iter::once(BETA_OPTIONS_GATE.to_string()).collect()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Maturity {
    Alpha,
    Beta,
    Stable,
}

fn maturity(option: &str) -> Option<Maturity> {
    match option {
        FULL_PCPUS_ONLY => Some(Maturity::Stable),
        DISTRIBUTE_CPUS_ACROSS_NUMA | STRICT_CPU_RESERVATION | PREFER_ALIGN_CPUS_BY_UNCORECACHE => {
            Some(Maturity::Beta)
        }
        ALIGN_BY_SOCKET | DISTRIBUTE_CPUS_ACROSS_CORES => Some(Maturity::Alpha),
        _ => None,
    }
}

/// Go's `strconv.ParseBool`.
fn parse_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// `StaticPolicyOptions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuManagerOptions {
    /// `full-pcpus-only`: whole cores only (SMT alignment checks; distributed group = CPUs per
    /// core).
    pub full_pcpus_only: bool,
    /// `distribute-cpus-across-numa`: the distributed algorithm.
    pub distribute_cpus_across_numa: bool,
    /// `align-by-socket`: align to the sockets of the hint's NUMA nodes.
    pub align_by_socket: bool,
    /// `distribute-cpus-across-cores`: the spread order.
    pub distribute_cpus_across_cores: bool,
    /// `prefer-align-cpus-by-uncorecache`: the uncore step.
    pub prefer_align_cpus_by_uncorecache: bool,
    /// `strict-cpu-reservation`: reserved CPUs out of the shared pool too.
    pub strict_cpu_reservation: bool,
}

impl CpuManagerOptions {
    /// `NewStaticPolicyOptions` then the topology part of `ValidateStaticPolicyOptions`.
    /// `feature_gates` are the gates that are on (see [`default_feature_gates`]).
    ///
    /// Options are checked in name order (the kubelet walks a Go map, whose order is random, so
    /// with two bad options either error may come first there).
    ///
    /// # Errors
    /// The kubelet's option errors ([`CpuManagerError::UnknownOption`],
    /// [`CpuManagerError::AlphaOptionsDisabled`], [`CpuManagerError::BetaOptionsDisabled`],
    /// [`CpuManagerError::BadOptionValue`], [`CpuManagerError::IncompatibleOptions`],
    /// [`CpuManagerError::AlignBySocketMoreSocketsThanNuma`]).
    pub fn parse(
        options: &BTreeMap<String, String>,
        feature_gates: &BTreeSet<String>,
        topology: &CpuTopology,
    ) -> Result<Self, CpuManagerError> {
        Self::parse_with_topology_manager(options, feature_gates, topology, None)
    }

    /// [`CpuManagerOptions::parse`] with the Topology Manager's policy name, so that
    /// align-by-socket with `single-numa-node` is refused too (checked first, as upstream).
    ///
    /// # Errors
    /// As [`CpuManagerOptions::parse`], plus
    /// [`CpuManagerError::AlignBySocketWithSingleNumaNode`].
    pub fn parse_with_topology_manager(
        options: &BTreeMap<String, String>,
        feature_gates: &BTreeSet<String>,
        topology: &CpuTopology,
        topology_manager_policy: Option<&str>,
    ) -> Result<Self, CpuManagerError> {
        let mut opts = CpuManagerOptions::default();
        for (name, value) in options {
            match maturity(name) {
                None => return Err(CpuManagerError::UnknownOption { name: name.clone() }),
                Some(Maturity::Alpha) if !feature_gates.contains(ALPHA_OPTIONS_GATE) => {
                    return Err(CpuManagerError::AlphaOptionsDisabled { name: name.clone() });
                }
                Some(Maturity::Beta) if !feature_gates.contains(BETA_OPTIONS_GATE) => {
                    return Err(CpuManagerError::BetaOptionsDisabled { name: name.clone() });
                }
                Some(_) => {}
            }
            let on = parse_bool(value).ok_or_else(|| CpuManagerError::BadOptionValue {
                name: name.clone(),
                value: value.clone(),
            })?;
            match name.as_str() {
                FULL_PCPUS_ONLY => opts.full_pcpus_only = on,
                DISTRIBUTE_CPUS_ACROSS_NUMA => opts.distribute_cpus_across_numa = on,
                ALIGN_BY_SOCKET => opts.align_by_socket = on,
                DISTRIBUTE_CPUS_ACROSS_CORES => opts.distribute_cpus_across_cores = on,
                STRICT_CPU_RESERVATION => opts.strict_cpu_reservation = on,
                _ => opts.prefer_align_cpus_by_uncorecache = on,
            }
        }
        let pairs = [
            (
                opts.full_pcpus_only && opts.distribute_cpus_across_cores,
                FULL_PCPUS_ONLY,
                DISTRIBUTE_CPUS_ACROSS_CORES,
            ),
            (
                opts.distribute_cpus_across_numa && opts.distribute_cpus_across_cores,
                DISTRIBUTE_CPUS_ACROSS_NUMA,
                DISTRIBUTE_CPUS_ACROSS_CORES,
            ),
            (
                opts.prefer_align_cpus_by_uncorecache && opts.distribute_cpus_across_cores,
                PREFER_ALIGN_CPUS_BY_UNCORECACHE,
                DISTRIBUTE_CPUS_ACROSS_CORES,
            ),
            (
                opts.prefer_align_cpus_by_uncorecache && opts.distribute_cpus_across_numa,
                PREFER_ALIGN_CPUS_BY_UNCORECACHE,
                DISTRIBUTE_CPUS_ACROSS_NUMA,
            ),
        ];
        if let Some(&(_, first, second)) = pairs.iter().find(|p| p.0) {
            return Err(CpuManagerError::IncompatibleOptions { first, second });
        }
        if opts.align_by_socket {
            if topology_manager_policy == Some("single-numa-node") {
                return Err(CpuManagerError::AlignBySocketWithSingleNumaNode);
            }
            if topology.num_sockets > topology.num_numa_nodes {
                return Err(CpuManagerError::AlignBySocketMoreSocketsThanNuma);
            }
        }
        Ok(opts)
    }

    /// The sorting strategy: spread with distribute-cpus-across-cores, else packed.
    pub fn strategy(&self) -> CpuSortingStrategy {
        if self.distribute_cpus_across_cores {
            CpuSortingStrategy::Spread
        } else {
            CpuSortingStrategy::Packed
        }
    }
}
