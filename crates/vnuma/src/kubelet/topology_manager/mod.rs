//! The kubelet's Topology Manager (`pkg/kubelet/cm/topologymanager`: `topology_manager.go`,
//! `policy.go`, `policy_none.go`, `policy_best_effort.go`, `policy_restricted.go`,
//! `policy_single_numa_node.go`, `policy_options.go`, `numa_info.go`, `scope.go`,
//! `scope_container.go`, `scope_pod.go`), written clean-room from `kubelet.md` §3.
//!
//! The hint providers (CPU Manager, Memory Manager, device plugins) hand in one map
//! `resource → hints` each; [`TopologyManager::merge`] turns them into the one hint the pod's
//! container is aligned to and says whether the policy admits it. [`TopologyManager::admit`]
//! runs the container or pod scope over [`HintProvider`]s, so allocations of earlier containers
//! shape the hints of later ones, as in the kubelet.
//!
//! Go map iteration order is random; here every map is a `BTreeMap`, so resources are merged in
//! name order. That only matters when two candidates tie exactly (`kubelet.md` §3.2).
//!
//! This module keeps the manager itself (`topology_manager.go`, the policies of `policy_*.go`,
//! the scopes of `scope*.go`) and its errors; `options` parses the policy options
//! (`policy_options.go`), `merge` merges hints (`policy.go`), `numa_info` holds the NUMA
//! nodes and their distances (`numa_info.go`). Every item is re-exported here, so
//! `topology_manager::X` is the one path to use.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::quirks::KubeletPanic;
use super::topology::{BitRangeError, NodeMask, TopologyHint};

mod merge;
mod numa_info;
mod options;
pub use merge::{HintMerger, filter_providers_hints, max_of_min_affinity_counts};
pub use numa_info::NumaInfo;
pub use options::{
    ALPHA_OPTIONS_GATE, BETA_OPTIONS_GATE, DEFAULT_MAX_ALLOWABLE_NUMA_NODES, MAX_ALLOWABLE_NUMA_NODES,
    PREFER_CLOSEST_NUMA_NODES, TopologyManagerOptions, effective_feature_gates,
};

/// One provider's answer: `None` (a nil map: no preference), or per resource `None` (a nil
/// list: no preference) or a list of hints (an empty list: no placement is possible).
pub type ProviderHints = Option<BTreeMap<String, Option<Vec<TopologyHint>>>>;

/// The reason of a pod the Topology Manager refuses.
pub const TOPOLOGY_AFFINITY_ERROR: &str = "TopologyAffinityError";
/// The reason of a pod whose provider failed to allocate with an untyped error.
pub const UNEXPECTED_ADMISSION_ERROR: &str = "UnexpectedAdmissionError";
/// vnuma's label for a configuration the kubelet refuses to start with (the kubelet has no
/// admission reason for these: it exits).
pub const KUBELET_CONFIG_ERROR: &str = "KubeletConfigError";

/// Go's `%q` of a string (`strconv.Quote`): double quotes, backslash escapes for quotes,
/// backslashes and control characters.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if !c.is_control() => out.push(c),
            c if u32::from(c) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if u32::from(c) < 0x1_0000 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => {
                let _ = write!(out, "\\U{:08x}", u32::from(c));
            }
        }
    }
    out.push('"');
    out
}

/// Why the Topology Manager cannot be built, or refuses a pod.
///
/// `Display` is the kubelet's text; [`TopologyManagerError::reason`] the pod-admission reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TopologyManagerError {
    /// `--topology-manager-policy` names no policy.
    #[error("unknown policy: \"{0}\"")]
    UnknownPolicy(String),
    /// `--topology-manager-scope` names no scope.
    #[error("unknown scope: \"{0}\"")]
    UnknownScope(String),
    /// More NUMA nodes than `max-allowable-numa-nodes` (8 by default) under a policy other
    /// than `none`.
    #[error("unsupported on machines with more than {max} NUMA Nodes")]
    TooManyNumaNodes {
        /// The limit in force.
        max: usize,
    },
    /// A policy option the kubelet does not know.
    #[error("unknown Topology Manager Policy option: {}", go_quote(.0))]
    UnknownOption(String),
    /// An alpha-level option with its feature gate off.
    #[error("Topology Manager Policy Alpha-level Options not enabled, but option {} provided", go_quote(.0))]
    AlphaOptionsDisabled(String),
    /// A beta-level option with its feature gate off.
    #[error("Topology Manager Policy Beta-level Options not enabled, but option {} provided", go_quote(.0))]
    BetaOptionsDisabled(String),
    /// A boolean option whose value `strconv.ParseBool` refuses.
    #[error("bad value for option {}: {error}", go_quote(.name))]
    BadBoolOption {
        /// The option.
        name: String,
        /// Go's parse error text.
        error: String,
    },
    /// An integer option whose value `strconv.Atoi` refuses.
    #[error("unable to convert policy option to integer {}: {error}", go_quote(.name))]
    NotAnInteger {
        /// The option.
        name: String,
        /// Go's parse error text.
        error: String,
    },
    /// `max-allowable-numa-nodes` below 8.
    #[error("the minimum value of {} should not be less than {min}", go_quote(.name))]
    BelowMinimum {
        /// The option.
        name: String,
        /// The minimum (8).
        min: usize,
    },
    /// A NUMA node id past 63 (vnuma's check: the kubelet's bitmask cannot hold it).
    #[error(transparent)]
    NodeId(#[from] BitRangeError),
    /// The policy refuses the merged hint.
    #[error("Resources cannot be allocated with Topology locality")]
    TopologyAffinity,
    /// A provider refused the container with a typed admission error (e.g. the CPU
    /// Manager's `SMTAlignmentError`).
    #[error("{message}")]
    Admission {
        /// The error's type name, the pod's reason.
        reason: &'static str,
        /// Its text.
        message: String,
    },
    /// A provider failed to allocate with any other error.
    #[error("Allocate failed due to {0}, which is unexpected")]
    UnexpectedAdmission(String),
    /// The kubelet crashes while admitting the pod (a Go panic; see [`TopologyManager::merge`]).
    #[error(transparent)]
    KubeletPanic(#[from] KubeletPanic),
}

impl TopologyManagerError {
    /// The pod-admission reason: `TopologyAffinityError`, a provider's typed reason,
    /// `UnexpectedAdmissionError`, or [`KUBELET_CONFIG_ERROR`] for a configuration the
    /// kubelet refuses to start with.
    pub fn reason(&self) -> &'static str {
        match self {
            TopologyManagerError::TopologyAffinity => TOPOLOGY_AFFINITY_ERROR,
            TopologyManagerError::Admission { reason, .. } => reason,
            TopologyManagerError::UnexpectedAdmission(_) => UNEXPECTED_ADMISSION_ERROR,
            TopologyManagerError::KubeletPanic(_) => super::quirks::KUBELET_PANIC,
            _ => KUBELET_CONFIG_ERROR,
        }
    }

    /// Whether this refuses a pod (rather than the kubelet's configuration).
    pub fn is_admission(&self) -> bool {
        self.reason() != KUBELET_CONFIG_ERROR
    }
}

/// A provider's `Allocate` failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderError {
    /// A typed admission error: the pod's reason is its type.
    Admission {
        /// The error's type name (e.g. `SMTAlignmentError`).
        reason: &'static str,
        /// Its text.
        message: String,
    },
    /// Any other error, by its text: the pod's reason becomes `UnexpectedAdmissionError`.
    Other(String),
}

impl From<ProviderError> for TopologyManagerError {
    fn from(e: ProviderError) -> Self {
        match e {
            ProviderError::Admission { reason, message } => {
                TopologyManagerError::Admission { reason, message }
            }
            ProviderError::Other(text) => TopologyManagerError::UnexpectedAdmission(text),
        }
    }
}

/// `--topology-manager-policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// `none`: no alignment, every pod admitted.
    None,
    /// `best-effort`: merge, always admit.
    BestEffort,
    /// `restricted`: merge, admit only a preferred hint.
    Restricted,
    /// `single-numa-node`: only single-node (or no-preference) hints, admit only a preferred one.
    SingleNumaNode,
}

impl Policy {
    /// The kubelet's name.
    pub fn name(self) -> &'static str {
        match self {
            Policy::None => "none",
            Policy::BestEffort => "best-effort",
            Policy::Restricted => "restricted",
            Policy::SingleNumaNode => "single-numa-node",
        }
    }

    /// Parses the kubelet's name.
    ///
    /// # Errors
    /// [`TopologyManagerError::UnknownPolicy`].
    pub fn parse(name: &str) -> Result<Policy, TopologyManagerError> {
        match name {
            "none" => Ok(Policy::None),
            "best-effort" => Ok(Policy::BestEffort),
            "restricted" => Ok(Policy::Restricted),
            "single-numa-node" => Ok(Policy::SingleNumaNode),
            _ => Err(TopologyManagerError::UnknownPolicy(name.to_owned())),
        }
    }
}

/// `--topology-manager-scope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `container` (the default): each container aligned on its own.
    Container,
    /// `pod`: one hint for the whole pod.
    Pod,
}

impl Scope {
    /// The kubelet's name.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Container => "container",
            Scope::Pod => "pod",
        }
    }

    /// Parses the kubelet's name.
    ///
    /// # Errors
    /// [`TopologyManagerError::UnknownScope`].
    pub fn parse(name: &str) -> Result<Scope, TopologyManagerError> {
        match name {
            "container" => Ok(Scope::Container),
            "pod" => Ok(Scope::Pod),
            _ => Err(TopologyManagerError::UnknownScope(name.to_owned())),
        }
    }
}

/// A hint provider as the scopes drive it: the CPU Manager, the Memory Manager, a device
/// plugin. Containers are numbered in the kubelet's order: init containers, then app
/// containers.
pub trait HintProvider {
    /// `GetTopologyHints(pod, container)`.
    fn container_hints(&self, container: usize) -> ProviderHints;
    /// `GetPodTopologyHints(pod)`.
    fn pod_hints(&self) -> ProviderHints;
    /// `Allocate(pod, container)`, with the hint the Topology Manager stored for the container
    /// (`GetAffinity`).
    ///
    /// # Errors
    /// The provider's failure; the scope turns it into the pod's rejection.
    fn allocate(&mut self, container: usize, hint: TopologyHint) -> Result<(), ProviderError>;
}

/// The Topology Manager: a policy, a scope, options and the machine's NUMA nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopologyManager {
    policy: Policy,
    scope: Scope,
    options: TopologyManagerOptions,
    numa: NumaInfo,
    default: NodeMask,
}

impl TopologyManager {
    /// `NewManager`: options first, then the NUMA node limit (not under `none`), then the
    /// policy name, then the scope name.
    ///
    /// `feature_gates` are the gates that are on, defaults included (see
    /// [`effective_feature_gates`]). Distances in `numa` are only used with
    /// `prefer-closest-numa-nodes` (the kubelet reads them only then).
    ///
    /// # Errors
    /// The kubelet's construction errors (see [`TopologyManagerError`]).
    pub fn new(
        policy: &str,
        scope: &str,
        options: &BTreeMap<String, String>,
        feature_gates: &BTreeSet<String>,
        numa: NumaInfo,
    ) -> Result<Self, TopologyManagerError> {
        let options = TopologyManagerOptions::parse(options, feature_gates)?;
        if policy != Policy::None.name() && numa.nodes.len() > options.max_allowable_numa_nodes {
            return Err(TopologyManagerError::TooManyNumaNodes {
                max: options.max_allowable_numa_nodes,
            });
        }
        let policy = Policy::parse(policy)?;
        let scope = Scope::parse(scope)?;
        let default = numa.default_affinity_mask()?;
        Ok(TopologyManager {
            policy,
            scope,
            options,
            numa,
            default,
        })
    }

    /// The policy.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// The configured scope (under policy `none` the kubelet uses its no-op scope whatever
    /// this says).
    pub fn scope(&self) -> Scope {
        self.scope
    }

    /// The parsed options.
    pub fn options(&self) -> TopologyManagerOptions {
        self.options
    }

    /// The machine's NUMA nodes.
    pub fn numa(&self) -> &NumaInfo {
        &self.numa
    }

    /// Merges the providers' hints under the policy and says whether it admits the result
    /// (§3.3): `none` gives `{nil, false}` and admits; `best-effort` admits anything;
    /// `restricted` and `single-numa-node` admit a preferred hint only.
    ///
    /// # Errors
    /// [`KubeletPanic`] where the kubelet crashes merging: with prefer-closest-numa-nodes on a
    /// host whose NUMA ids are not `0..n`, comparing two candidate masks of one size reads a
    /// distance past a row (`NumaInfo::distance`). That happens here, while admitting a pod,
    /// not when the kubelet starts (building `NUMAInfo` only stores the rows): the kubelet
    /// starts, then dies on the first pod whose merge compares such masks, and again after
    /// every restart while the pod stays bound; the pod is never admitted.
    pub fn merge(&self, providers: &[ProviderHints]) -> Result<(TopologyHint, bool), KubeletPanic> {
        let mut lists = filter_providers_hints(providers);
        let closest = match self.policy {
            Policy::None => {
                return Ok((
                    TopologyHint {
                        affinity: None,
                        preferred: false,
                    },
                    true,
                ));
            }
            Policy::SingleNumaNode => {
                for list in &mut lists {
                    list.retain(|h| h.preferred && h.affinity.is_none_or(|m| m.count() == 1));
                }
                false
            }
            Policy::BestEffort | Policy::Restricted => self.options.prefer_closest_numa_nodes,
        };
        let merger = HintMerger {
            numa: &self.numa,
            default: self.default,
            best_non_preferred: max_of_min_affinity_counts(&lists),
            lists,
            closest,
        };
        let mut hint = merger.merge()?;
        Ok(match self.policy {
            Policy::BestEffort => (hint, true),
            Policy::SingleNumaNode => {
                if hint.affinity == Some(self.default) {
                    hint.affinity = None;
                }
                (hint, hint.preferred)
            }
            _ => (hint, hint.preferred),
        })
    }

    /// Admits a pod of `containers` containers (init containers, then app containers) through
    /// the scope, allocating each container with every provider in order. Returns the hint
    /// stored for each container (`GetAffinity`).
    ///
    /// - `container` scope: per container, hints from every provider, merge, reject if not
    ///   admitted, then every provider allocates that container;
    /// - `pod` scope: pod hints once, one merge, then every container gets the same hint;
    /// - policy `none`: no merge, `{nil, false}` for every container, providers still allocate.
    ///
    /// # Errors
    /// [`TopologyManagerError::TopologyAffinity`], or the first provider failure
    /// ([`TopologyManagerError::Admission`] / [`TopologyManagerError::UnexpectedAdmission`]).
    pub fn admit(
        &self,
        containers: usize,
        providers: &mut [&mut dyn HintProvider],
    ) -> Result<Vec<TopologyHint>, TopologyManagerError> {
        let mut stored = Vec::with_capacity(containers);
        let pod_hint = match (self.policy, self.scope) {
            (Policy::None, _) => Some(TopologyHint {
                affinity: None,
                preferred: false,
            }),
            (_, Scope::Pod) => {
                let hints: Vec<ProviderHints> = providers.iter().map(|p| p.pod_hints()).collect();
                let (hint, admit) = self.merge(&hints)?;
                if !admit {
                    return Err(TopologyManagerError::TopologyAffinity);
                }
                Some(hint)
            }
            (_, Scope::Container) => None,
        };
        for container in 0..containers {
            let hint = match pod_hint {
                Some(h) => h,
                None => {
                    let hints: Vec<ProviderHints> =
                        providers.iter().map(|p| p.container_hints(container)).collect();
                    let (hint, admit) = self.merge(&hints)?;
                    if !admit {
                        return Err(TopologyManagerError::TopologyAffinity);
                    }
                    hint
                }
            };
            stored.push(hint);
            for provider in providers.iter_mut() {
                provider.allocate(container, hint)?;
            }
        }
        Ok(stored)
    }
}

#[cfg(test)]
mod tests;
