//! The kubelet's known bugs, predicted as the kubelet behaves (there is no switch to turn them
//! off: vnuma tells what the kubelet does, not what it should do). Each has a stable code,
//! `kubelet-quirk:<name>`, that names it in a rejection or a warning.

use crate::cpuset::CpuSet;
use crate::ids::CpuId;
use crate::kubelet::topology::CpuTopology;

/// `prefer-closest-numa-nodes` on a host whose NUMA ids are not `0..n`: the kubelet indexes
/// each node's distance row (as long as the node count) by node id and panics.
pub const CLOSEST_NUMA_NONCONTIGUOUS_IDS: &str = "kubelet-quirk:closest-numa-noncontiguous-ids";

/// The packed algorithm's whole-socket step on a socket with fewer CPUs than the machine-wide
/// `CPUsPerSocket` that has as many free: the kubelet takes every CPU of the socket, reserved or
/// assigned ones too.
pub const UNEVEN_SOCKET_WHOLE_TAKE: &str = "kubelet-quirk:uneven-socket-whole-take";

/// The packed algorithm's whole-core step on a core with more CPUs than the machine-wide
/// `CPUsPerCore`: the kubelet takes every CPU of the core, reserved or assigned ones too.
pub const UNEVEN_CORE_WHOLE_TAKE: &str = "kubelet-quirk:uneven-core-whole-take";

/// The pod-admission reason vnuma gives when the kubelet would crash (a Go panic) instead of
/// answering.
pub const KUBELET_PANIC: &str = "KubeletPanic";

/// A Go runtime panic the kubelet would hit: the process dies, no answer is given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{quirk}: the kubelet crashes with \"panic: runtime error: {panic}\" ({cause}); it restarts and \
     crashes again while the pod stays bound to the node, so the pod is never admitted"
)]
pub struct KubeletPanic {
    /// The quirk code.
    pub quirk: &'static str,
    /// Go's panic text after `runtime error: `.
    pub panic: String,
    /// Why, in plain words.
    pub cause: String,
}

/// A quirk that fired without stopping the kubelet: the answer is what the kubelet gives, but
/// it breaks a promise the user relies on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuirkWarning {
    /// The quirk code (`kubelet-quirk:…`).
    pub code: String,
    /// Plain words.
    pub message: String,
    /// The CPUs it concerns (for the whole-take quirks: the reserved or assigned CPUs handed
    /// out).
    pub cpus: CpuSet,
}

/// The warnings for a cpuset holding CPUs the kubelet should not hand out (reserved ones, or
/// ones other containers hold): each such CPU came in with a whole socket (the socket is in the
/// cpuset and has more CPUs than `CPUsPerSocket`: [`UNEVEN_SOCKET_WHOLE_TAKE`]) or a whole core
/// ([`UNEVEN_CORE_WHOLE_TAKE`]), the only steps that take CPUs that are not available. Empty
/// when the cpuset holds none (the quirk may have fired harmlessly; nothing to tell then).
pub fn whole_take_warnings(
    topology: &CpuTopology,
    cpuset: &CpuSet,
    reserved: &CpuSet,
    assigned: &CpuSet,
) -> Vec<QuirkWarning> {
    let (mut by_socket, mut by_core) = (CpuSet::new(), CpuSet::new());
    for cpu in cpuset.intersection(&reserved.union(assigned)).iter() {
        let Some(info) = topology.details.get(&cpu.0) else {
            continue;
        };
        let socket: Vec<u32> = topology
            .details
            .iter()
            .filter(|(_, c)| c.socket == info.socket)
            .map(|(&id, _)| id)
            .collect();
        let whole_socket =
            socket.len() > topology.cpus_per_socket() && socket.iter().all(|&c| cpuset.contains(CpuId(c)));
        if whole_socket {
            by_socket.insert(cpu);
        } else {
            by_core.insert(cpu);
        }
    }
    let mut warnings = Vec::new();
    let held = |bad: &CpuSet| {
        let mut parts = Vec::new();
        let r = bad.intersection(reserved);
        if !r.is_empty() {
            parts.push(format!("reserved CPU(s) {r}"));
        }
        let a = bad.intersection(assigned).difference(reserved);
        if !a.is_empty() {
            parts.push(format!("CPU(s) {a} already assigned to other containers"));
        }
        parts.join(" and ")
    };
    if !by_socket.is_empty() {
        warnings.push(QuirkWarning {
            code: UNEVEN_SOCKET_WHOLE_TAKE.into(),
            message: format!(
                "the kubelet hands out {} in cpuset {cpuset}: its whole-socket step counts a socket \
                 free when its free CPUs number CPUsPerSocket ({} online CPUs / {} sockets = {}), \
                 then takes every CPU of the socket; this socket has more CPUs than that (uneven \
                 sockets, offline CPUs)",
                held(&by_socket),
                topology.num_cpus,
                topology.num_sockets,
                topology.cpus_per_socket()
            ),
            cpus: by_socket,
        });
    }
    if !by_core.is_empty() {
        warnings.push(QuirkWarning {
            code: UNEVEN_CORE_WHOLE_TAKE.into(),
            message: format!(
                "the kubelet hands out {} in cpuset {cpuset}: its whole-core step counts a core \
                 free when its free CPUs number CPUsPerCore ({} online CPUs / {} cores = {}), then \
                 takes every CPU of the core; this core has more CPUs than that (uneven SMT, \
                 offline siblings)",
                held(&by_core),
                topology.num_cpus,
                topology.num_cores,
                topology.cpus_per_core()
            ),
            cpus: by_core,
        });
    }
    warnings
}
