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

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::quirks::KubeletPanic;
use super::topology::{BitRangeError, NodeMask, TopologyHint};

mod numa_info;
pub use numa_info::NumaInfo;

/// One provider's answer: `None` (a nil map: no preference), or per resource `None` (a nil
/// list: no preference) or a list of hints (an empty list: no placement is possible).
pub type ProviderHints = Option<BTreeMap<String, Option<Vec<TopologyHint>>>>;

/// `defaultMaxAllowableNUMANodes`: the NUMA node limit unless `max-allowable-numa-nodes` says
/// otherwise.
pub const DEFAULT_MAX_ALLOWABLE_NUMA_NODES: usize = 8;
/// The option `prefer-closest-numa-nodes` (GA since 1.32).
pub const PREFER_CLOSEST_NUMA_NODES: &str = "prefer-closest-numa-nodes";
/// The option `max-allowable-numa-nodes` (beta since 1.31).
pub const MAX_ALLOWABLE_NUMA_NODES: &str = "max-allowable-numa-nodes";
/// The feature gate of the beta-level policy options (on by default).
pub const BETA_OPTIONS_GATE: &str = "TopologyManagerPolicyBetaOptions";
/// The feature gate of the alpha-level policy options (off by default).
pub const ALPHA_OPTIONS_GATE: &str = "TopologyManagerPolicyAlphaOptions";
/// The reason of a pod the Topology Manager refuses.
pub const TOPOLOGY_AFFINITY_ERROR: &str = "TopologyAffinityError";
/// The reason of a pod whose provider failed to allocate with an untyped error.
pub const UNEXPECTED_ADMISSION_ERROR: &str = "UnexpectedAdmissionError";
/// vnuma's label for a configuration the kubelet refuses to start with (the kubelet has no
/// admission reason for these: it exits).
pub const KUBELET_CONFIG_ERROR: &str = "KubeletConfigError";

/// The policy options the kubelet knows, by maturity (1.33–1.36). The in-flight
/// `numa-allocation-strategy` / `numa-score-weights` are not modelled, so no alpha option is
/// known and every other name is unknown.
const GA_OPTIONS: [&str; 1] = [PREFER_CLOSEST_NUMA_NODES];
const BETA_OPTIONS: [&str; 1] = [MAX_ALLOWABLE_NUMA_NODES];
const ALPHA_OPTIONS: [&str; 0] = [];

/// Feature gates that are on unless the configuration turns them off.
const DEFAULT_ON_GATES: [&str; 2] = [BETA_OPTIONS_GATE, "TopologyManagerPolicyOptions"];

/// The gates that are on: the kubelet's defaults ([`BETA_OPTIONS_GATE`] and the GA
/// `TopologyManagerPolicyOptions` are on by default) overridden by the configuration's
/// `featureGates` map (`true` turns a gate on, `false` off).
pub fn effective_feature_gates(explicit: &BTreeMap<String, bool>) -> BTreeSet<String> {
    let mut gates: BTreeSet<String> = DEFAULT_ON_GATES.iter().map(|g| (*g).to_owned()).collect();
    for (gate, &on) in explicit {
        if on {
            gates.insert(gate.clone());
        } else {
            gates.remove(gate);
        }
    }
    gates
}

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

/// Go's `strconv.ParseBool`.
fn parse_go_bool(value: &str) -> Result<bool, String> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!(
            "strconv.ParseBool: parsing {}: invalid syntax",
            go_quote(value)
        )),
    }
}

/// Go's `strconv.Atoi` on a 64-bit platform.
fn parse_go_int(value: &str) -> Result<i64, String> {
    let digits = value.strip_prefix(['+', '-']).unwrap_or(value);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "strconv.Atoi: parsing {}: invalid syntax",
            go_quote(value)
        ));
    }
    value
        .parse::<i64>()
        .map_err(|_| format!("strconv.Atoi: parsing {}: value out of range", go_quote(value)))
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

/// `--topology-manager-policy-options`, parsed (`policy_options.go`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopologyManagerOptions {
    /// `prefer-closest-numa-nodes`.
    pub prefer_closest_numa_nodes: bool,
    /// `max-allowable-numa-nodes` (8 by default).
    pub max_allowable_numa_nodes: usize,
}

impl Default for TopologyManagerOptions {
    fn default() -> Self {
        TopologyManagerOptions {
            prefer_closest_numa_nodes: false,
            max_allowable_numa_nodes: DEFAULT_MAX_ALLOWABLE_NUMA_NODES,
        }
    }
}

impl TopologyManagerOptions {
    /// Parses the options with the gates that are on (see [`effective_feature_gates`]).
    /// Options are checked in name order (the kubelet's is Go map order), each first for
    /// existence and maturity, then for its value.
    ///
    /// # Errors
    /// The kubelet's option errors: unknown name, gate off, bad boolean, not an integer,
    /// `max-allowable-numa-nodes` below 8.
    pub fn parse(
        options: &BTreeMap<String, String>,
        feature_gates: &BTreeSet<String>,
    ) -> Result<Self, TopologyManagerError> {
        let mut opts = TopologyManagerOptions::default();
        for (name, value) in options {
            let name_s = name.as_str();
            if !GA_OPTIONS.contains(&name_s)
                && !BETA_OPTIONS.contains(&name_s)
                && !ALPHA_OPTIONS.contains(&name_s)
            {
                return Err(TopologyManagerError::UnknownOption(name.clone()));
            }
            if ALPHA_OPTIONS.contains(&name_s) && !feature_gates.contains(ALPHA_OPTIONS_GATE) {
                return Err(TopologyManagerError::AlphaOptionsDisabled(name.clone()));
            }
            if BETA_OPTIONS.contains(&name_s) && !feature_gates.contains(BETA_OPTIONS_GATE) {
                return Err(TopologyManagerError::BetaOptionsDisabled(name.clone()));
            }
            if name_s == PREFER_CLOSEST_NUMA_NODES {
                opts.prefer_closest_numa_nodes =
                    parse_go_bool(value).map_err(|error| TopologyManagerError::BadBoolOption {
                        name: name.clone(),
                        error,
                    })?;
            } else if name_s == MAX_ALLOWABLE_NUMA_NODES {
                let n = parse_go_int(value).map_err(|error| TopologyManagerError::NotAnInteger {
                    name: name.clone(),
                    error,
                })?;
                let below = || TopologyManagerError::BelowMinimum {
                    name: name.clone(),
                    min: DEFAULT_MAX_ALLOWABLE_NUMA_NODES,
                };
                let n = usize::try_from(n).map_err(|_| below())?;
                if n < DEFAULT_MAX_ALLOWABLE_NUMA_NODES {
                    return Err(below());
                }
                opts.max_allowable_numa_nodes = n;
            }
        }
        Ok(opts)
    }
}

/// `filterProvidersHints`: the providers' maps as a list of hint lists (§3.2 step 1).
pub fn filter_providers_hints(providers: &[ProviderHints]) -> Vec<Vec<TopologyHint>> {
    let any = TopologyHint {
        affinity: None,
        preferred: true,
    };
    let mut lists = Vec::new();
    for provider in providers {
        match provider {
            Some(map) if !map.is_empty() => {
                for hints in map.values() {
                    match hints {
                        None => lists.push(vec![any]),
                        Some(h) if h.is_empty() => lists.push(vec![TopologyHint {
                            affinity: None,
                            preferred: false,
                        }]),
                        Some(h) => lists.push(h.clone()),
                    }
                }
            }
            _ => lists.push(vec![any]),
        }
    }
    lists
}

/// `maxOfMinAffinityCounts` (the "best non-preferred affinity count", BNP): the largest,
/// over the lists, of the count of the list's narrowest non-nil mask; lists with only nil
/// masks count 0.
pub fn max_of_min_affinity_counts(lists: &[Vec<TopologyHint>]) -> u32 {
    lists
        .iter()
        .filter_map(|l| l.iter().filter_map(|h| h.affinity).map(NodeMask::count).min())
        .max()
        .unwrap_or(0)
}

/// `mergePermutation`: AND of the default mask and every non-nil mask; preferred when every
/// hint is and every non-nil mask is the same.
fn merge_permutation(default: NodeMask, permutation: &[TopologyHint]) -> TopologyHint {
    let mut mask = default;
    let mut preferred = true;
    let mut first: Option<NodeMask> = None;
    for hint in permutation {
        if let Some(m) = hint.affinity {
            mask = mask.and(m);
            match first {
                None => first = Some(m),
                Some(f) if f != m => preferred = false,
                Some(_) => {}
            }
        }
        if !hint.preferred {
            preferred = false;
        }
    }
    TopologyHint {
        affinity: Some(mask),
        preferred,
    }
}

/// `HintMerger`: picks the best of every permutation of the hint lists (§3.2 steps 2–4).
#[derive(Debug, Clone)]
pub struct HintMerger<'a> {
    numa: &'a NumaInfo,
    default: NodeMask,
    lists: Vec<Vec<TopologyHint>>,
    best_non_preferred: u32,
    closest: bool,
}

impl<'a> HintMerger<'a> {
    /// A merger over these (filtered) lists; `closest` = prefer-closest-numa-nodes under a
    /// policy other than single-numa-node.
    ///
    /// # Errors
    /// [`BitRangeError`] for a node id past 63.
    pub fn new(
        numa: &'a NumaInfo,
        lists: Vec<Vec<TopologyHint>>,
        closest: bool,
    ) -> Result<Self, BitRangeError> {
        Ok(HintMerger {
            numa,
            default: numa.default_affinity_mask()?,
            best_non_preferred: max_of_min_affinity_counts(&lists),
            lists,
            closest,
        })
    }

    /// The BNP this merger compares non-preferred candidates with.
    pub fn best_non_preferred(&self) -> u32 {
        self.best_non_preferred
    }

    fn compare_masks(
        &self,
        current: TopologyHint,
        candidate: TopologyHint,
    ) -> Result<TopologyHint, KubeletPanic> {
        let (Some(cur), Some(cand)) = (current.affinity, candidate.affinity) else {
            return Ok(current);
        };
        if cur == cand {
            return Ok(current);
        }
        let pick = if self.closest {
            self.numa.closest(cur, cand)?
        } else {
            NumaInfo::narrowest(cur, cand)
        };
        Ok(if pick == cur { current } else { candidate })
    }

    /// `HintMerger.compare(current, candidate)`: which of the two is better (§3.2 step 3).
    ///
    /// # Errors
    /// [`KubeletPanic`] where the kubelet crashes comparing the two (prefer-closest-numa-nodes
    /// reading a distance out of range).
    pub fn compare(
        &self,
        current: Option<TopologyHint>,
        candidate: TopologyHint,
    ) -> Result<Option<TopologyHint>, KubeletPanic> {
        let k = candidate.affinity.map_or(0, NodeMask::count);
        if k == 0 {
            return Ok(current);
        }
        let Some(cur) = current else {
            return Ok(Some(candidate));
        };
        match (cur.preferred, candidate.preferred) {
            (false, true) => return Ok(Some(candidate)),
            (true, false) => return Ok(Some(cur)),
            (true, true) => return self.compare_masks(cur, candidate).map(Some),
            (false, false) => {}
        }
        let c = cur.affinity.map_or(0, NodeMask::count);
        let bnp = self.best_non_preferred;
        let pick = if c > bnp {
            self.compare_masks(cur, candidate)?
        } else if c == bnp {
            if k == bnp {
                self.compare_masks(cur, candidate)?
            } else {
                cur
            }
        } else if k > bnp {
            cur
        } else if k == bnp || k > c {
            candidate
        } else if k < c {
            cur
        } else {
            self.compare_masks(cur, candidate)?
        };
        Ok(Some(pick))
    }

    /// The best merged hint over every permutation (first list outermost); `{default mask,
    /// not preferred}` when there is none.
    ///
    /// # Errors
    /// [`KubeletPanic`] where the kubelet crashes comparing two candidates.
    pub fn merge(&self) -> Result<TopologyHint, KubeletPanic> {
        let mut best: Option<TopologyHint> = None;
        if self.lists.iter().all(|l| !l.is_empty()) {
            let mut idx = vec![0usize; self.lists.len()];
            let mut permutation: Vec<TopologyHint> = Vec::with_capacity(self.lists.len());
            loop {
                permutation.clear();
                permutation.extend(self.lists.iter().zip(&idx).map(|(l, &i)| l[i]));
                let merged = merge_permutation(self.default, &permutation);
                best = self.compare(best, merged)?;
                // advance the odometer: the last list varies fastest
                let mut pos = self.lists.len();
                loop {
                    if pos == 0 {
                        return Ok(best.unwrap_or(TopologyHint {
                            affinity: Some(self.default),
                            preferred: false,
                        }));
                    }
                    pos -= 1;
                    idx[pos] += 1;
                    if idx[pos] < self.lists[pos].len() {
                        break;
                    }
                    idx[pos] = 0;
                }
            }
        }
        Ok(best.unwrap_or(TopologyHint {
            affinity: Some(self.default),
            preferred: false,
        }))
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
