//! The Topology Manager's policy options (`pkg/kubelet/cm/topologymanager/policy_options.go`):
//! the option names and their maturity, the feature gates that allow them, and parsing
//! `--topology-manager-policy-options` with Go's number and boolean syntax.

use std::collections::{BTreeMap, BTreeSet};

use super::{TopologyManagerError, go_quote};

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
