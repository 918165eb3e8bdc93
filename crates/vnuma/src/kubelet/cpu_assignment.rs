//! Exclusive-CPU selection of the kubelet's static CPU Manager policy, re-implemented from the
//! behaviour reference `kubelet.md` §1.2 and §2.4–§2.6: `pkg/kubelet/cm/cpumanager/cpu_assignment.go`
//! (`cpuAccumulator`, `takeByTopologyNUMAPacked`, `takeByTopologyNUMADistributed`, the uncore
//! step) and the `CPUDetails` queries of `cpumanager/topology/topology.go`.
//!
//! Every sort and "free" test reads the accumulator's *current* details; the per-core,
//! per-socket and per-uncore sizes come from the topology's header counts, as upstream.

use std::collections::{BTreeMap, BTreeSet};

use super::topology::{CpuInfo, CpuTopology};
use crate::cpuset::CpuSet;
use crate::ids::CpuId;

#[cfg(test)]
mod tests;

/// Why `takeByTopology` found no CPUs (the kubelet's texts).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TakeByTopologyError {
    /// More CPUs requested than the set handed in holds.
    #[error("not enough cpus available to satisfy request: requested={requested}, available={available}")]
    NotEnoughCpus {
        /// The request.
        requested: usize,
        /// The size of the set handed to the algorithm.
        available: usize,
    },
    /// Every step ran and the request is still not satisfied.
    #[error("failed to allocate cpus")]
    FailedToAllocate,
    /// The distributed algorithm handed out fewer CPUs than asked.
    #[error("accounting error, not enough CPUs allocated, remaining: {0}")]
    AccountingNotEnough(isize),
    /// The distributed algorithm handed out more CPUs than asked.
    #[error("accounting error, too many CPUs allocated, remaining: {0}")]
    AccountingTooMany(isize),
}

/// The order in which CPUs are handed out once whole NUMA nodes, sockets (and uncores) are
/// taken (`CPUSortingStrategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CpuSortingStrategy {
    /// Whole cores first, then core by core (`packed`).
    #[default]
    Packed,
    /// No whole-core step; then socket by socket, CPUs ascending (`spread`,
    /// option distribute-cpus-across-cores).
    Spread,
}

/// One level of the CPU hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Numa,
    Socket,
    Core,
    Uncore,
}

fn id_at(info: &CpuInfo, level: Level) -> u32 {
    match level {
        Level::Numa => info.numa,
        Level::Socket => info.socket,
        Level::Core => info.core,
        Level::Uncore => info.uncore,
    }
}

fn ids_at(details: &BTreeMap<u32, CpuInfo>, level: Level, within: Option<(Level, &[u32])>) -> BTreeSet<u32> {
    details
        .values()
        .filter(|i| within.is_none_or(|(l, ids)| ids.contains(&id_at(i, l))))
        .map(|i| id_at(i, level))
        .collect()
}

fn cpus_at(details: &BTreeMap<u32, CpuInfo>, level: Level, ids: &[u32]) -> CpuSet {
    details
        .iter()
        .filter(|(_, i)| ids.contains(&id_at(i, level)))
        .map(|(&c, _)| CpuId(c))
        .collect()
}

fn count_at(details: &BTreeMap<u32, CpuInfo>, level: Level, id: u32) -> usize {
    details.values().filter(|i| id_at(i, level) == id).count()
}

/// The `CPUDetails` queries, on any CPU → placement map (a topology's details or an
/// accumulator's filtered copy).
pub trait CpuDetails {
    /// `CPUs`: every CPU of the map.
    fn cpus(&self) -> CpuSet;
    /// `NUMANodes`: the NUMA ids present.
    fn numa_nodes(&self) -> BTreeSet<u32>;
    /// `Sockets`: the socket ids present.
    fn sockets(&self) -> BTreeSet<u32>;
    /// `Cores`: the core ids present.
    fn cores(&self) -> BTreeSet<u32>;
    /// `UncoreCaches`: the uncore ids present.
    fn uncore_caches(&self) -> BTreeSet<u32>;
    /// `CPUsInNUMANodes`.
    fn cpus_in_numa_nodes(&self, ids: &[u32]) -> CpuSet;
    /// `CPUsInSockets`.
    fn cpus_in_sockets(&self, ids: &[u32]) -> CpuSet;
    /// `CPUsInCores` (a core id shared by several sockets returns all their CPUs).
    fn cpus_in_cores(&self, ids: &[u32]) -> CpuSet;
    /// `CPUsInUncoreCaches`.
    fn cpus_in_uncore_caches(&self, ids: &[u32]) -> CpuSet;
    /// `SocketsInNUMANodes`.
    fn sockets_in_numa_nodes(&self, ids: &[u32]) -> BTreeSet<u32>;
    /// `NUMANodesInSockets`.
    fn numa_nodes_in_sockets(&self, ids: &[u32]) -> BTreeSet<u32>;
    /// `CoresInNUMANodes`.
    fn cores_in_numa_nodes(&self, ids: &[u32]) -> BTreeSet<u32>;
    /// `CoresInSockets`.
    fn cores_in_sockets(&self, ids: &[u32]) -> BTreeSet<u32>;
    /// `UncoreInNUMANodes`.
    fn uncore_in_numa_nodes(&self, ids: &[u32]) -> BTreeSet<u32>;
    /// `KeepOnly`: the map restricted to `cpus`.
    fn keep_only(&self, cpus: &CpuSet) -> BTreeMap<u32, CpuInfo>;
    /// `CoresNeededInUncoreCache`: the lowest `n` core ids among the CPUs of uncore `uncore`.
    fn cores_needed_in_uncore_cache(&self, n: usize, uncore: u32) -> BTreeSet<u32>;
}

impl CpuDetails for BTreeMap<u32, CpuInfo> {
    fn cpus(&self) -> CpuSet {
        self.keys().map(|&c| CpuId(c)).collect()
    }
    fn numa_nodes(&self) -> BTreeSet<u32> {
        ids_at(self, Level::Numa, None)
    }
    fn sockets(&self) -> BTreeSet<u32> {
        ids_at(self, Level::Socket, None)
    }
    fn cores(&self) -> BTreeSet<u32> {
        ids_at(self, Level::Core, None)
    }
    fn uncore_caches(&self) -> BTreeSet<u32> {
        ids_at(self, Level::Uncore, None)
    }
    fn cpus_in_numa_nodes(&self, ids: &[u32]) -> CpuSet {
        cpus_at(self, Level::Numa, ids)
    }
    fn cpus_in_sockets(&self, ids: &[u32]) -> CpuSet {
        cpus_at(self, Level::Socket, ids)
    }
    fn cpus_in_cores(&self, ids: &[u32]) -> CpuSet {
        cpus_at(self, Level::Core, ids)
    }
    fn cpus_in_uncore_caches(&self, ids: &[u32]) -> CpuSet {
        cpus_at(self, Level::Uncore, ids)
    }
    fn sockets_in_numa_nodes(&self, ids: &[u32]) -> BTreeSet<u32> {
        ids_at(self, Level::Socket, Some((Level::Numa, ids)))
    }
    fn numa_nodes_in_sockets(&self, ids: &[u32]) -> BTreeSet<u32> {
        ids_at(self, Level::Numa, Some((Level::Socket, ids)))
    }
    fn cores_in_numa_nodes(&self, ids: &[u32]) -> BTreeSet<u32> {
        ids_at(self, Level::Core, Some((Level::Numa, ids)))
    }
    fn cores_in_sockets(&self, ids: &[u32]) -> BTreeSet<u32> {
        ids_at(self, Level::Core, Some((Level::Socket, ids)))
    }
    fn uncore_in_numa_nodes(&self, ids: &[u32]) -> BTreeSet<u32> {
        ids_at(self, Level::Uncore, Some((Level::Numa, ids)))
    }
    fn keep_only(&self, cpus: &CpuSet) -> BTreeMap<u32, CpuInfo> {
        self.iter()
            .filter(|(c, _)| cpus.contains(CpuId(**c)))
            .map(|(&c, &i)| (c, i))
            .collect()
    }
    fn cores_needed_in_uncore_cache(&self, n: usize, uncore: u32) -> BTreeSet<u32> {
        ids_at(self, Level::Core, Some((Level::Uncore, &[uncore])))
            .into_iter()
            .take(n)
            .collect()
    }
}

fn len_isize(n: usize) -> isize {
    isize::try_from(n).unwrap_or(isize::MAX)
}

/// `cpuAccumulator`: the CPUs still free for one request, what was taken so far and how many
/// are still needed.
#[derive(Debug, Clone)]
pub struct CpuAccumulator<'a> {
    topo: &'a CpuTopology,
    details: BTreeMap<u32, CpuInfo>,
    numa_first: bool,
    needed: isize,
    result: CpuSet,
}

impl<'a> CpuAccumulator<'a> {
    /// A fresh accumulator over `available` for `needed` CPUs. The ordering mode is numaFirst
    /// when the header's `NumSockets >= NumNUMANodes`, else socketsFirst.
    pub fn new(topo: &'a CpuTopology, available: &CpuSet, needed: usize) -> Self {
        CpuAccumulator {
            topo,
            details: topo.details.keep_only(available),
            numa_first: topo.num_sockets >= topo.num_numa_nodes,
            needed: len_isize(needed),
            result: CpuSet::new(),
        }
    }

    /// The CPUs taken so far.
    pub fn result(&self) -> &CpuSet {
        &self.result
    }

    /// How many CPUs are still needed (negative after over-taking).
    pub fn needed(&self) -> isize {
        self.needed
    }

    /// The CPUs still available.
    pub fn available(&self) -> CpuSet {
        self.details.cpus()
    }

    /// `take`: adds `cpus` to the result, removes them from the available details and lowers
    /// the count still needed by their number.
    pub fn take(&mut self, cpus: &CpuSet) {
        self.result = self.result.union(cpus);
        self.details.retain(|c, _| !cpus.contains(CpuId(*c)));
        self.needed -= len_isize(cpus.len());
    }

    /// `isSatisfied`: nothing more needed.
    pub fn is_satisfied(&self) -> bool {
        self.needed < 1
    }

    /// `isFailed`: more needed than available.
    pub fn is_failed(&self) -> bool {
        self.needed > len_isize(self.details.len())
    }

    fn needs_at_least(&self, n: usize) -> bool {
        self.needed >= len_isize(n)
    }

    /// Sorts ids ascending by available CPUs in the element, ties by smaller id.
    fn sort(&self, ids: impl IntoIterator<Item = u32>, level: Level) -> Vec<u32> {
        let mut ids: Vec<u32> = ids.into_iter().collect();
        ids.sort_by_key(|&id| (count_at(&self.details, level, id), id));
        ids
    }

    /// `sortAvailableNUMANodes`.
    pub fn sort_available_numa_nodes(&self) -> Vec<u32> {
        if self.numa_first {
            return self.sort(self.details.numa_nodes(), Level::Numa);
        }
        let mut out = Vec::new();
        for socket in self.sort_available_sockets() {
            out.extend(self.sort(self.details.numa_nodes_in_sockets(&[socket]), Level::Numa));
        }
        out
    }

    /// `sortAvailableSockets`.
    pub fn sort_available_sockets(&self) -> Vec<u32> {
        if !self.numa_first {
            return self.sort(self.details.sockets(), Level::Socket);
        }
        let mut out = Vec::new();
        for numa in self.sort_available_numa_nodes() {
            out.extend(self.sort(self.details.sockets_in_numa_nodes(&[numa]), Level::Socket));
        }
        out
    }

    /// `sortAvailableCores`.
    pub fn sort_available_cores(&self) -> Vec<u32> {
        let mut out = Vec::new();
        if self.numa_first {
            for socket in self.sort_available_sockets() {
                out.extend(self.sort(self.details.cores_in_sockets(&[socket]), Level::Core));
            }
        } else {
            for numa in self.sort_available_numa_nodes() {
                out.extend(self.sort(self.details.cores_in_numa_nodes(&[numa]), Level::Core));
            }
        }
        out
    }

    /// `sortAvailableUncoreCaches`: per NUMA node in sorted order, its uncores sorted (an uncore
    /// spanning NUMA nodes repeats).
    pub fn sort_available_uncore_caches(&self) -> Vec<u32> {
        let mut out = Vec::new();
        for numa in self.sort_available_numa_nodes() {
            out.extend(self.sort(self.details.uncore_in_numa_nodes(&[numa]), Level::Uncore));
        }
        out
    }

    /// `sortAvailableCPUsPacked` (`freeCPUs`): per core in sorted order, its available CPUs
    /// ascending.
    pub fn free_cpus(&self) -> Vec<u32> {
        let mut out = Vec::new();
        for core in self.sort_available_cores() {
            out.extend(self.details.cpus_in_cores(&[core]).iter().map(|c| c.0));
        }
        out
    }

    /// `sortAvailableCPUsSpread`: per socket in sorted order, its available CPUs ascending.
    pub fn free_cpus_spread(&self) -> Vec<u32> {
        let mut out = Vec::new();
        for socket in self.sort_available_sockets() {
            out.extend(self.details.cpus_in_sockets(&[socket]).iter().map(|c| c.0));
        }
        out
    }

    /// `freeNUMANodes`: NUMA nodes all of whose CPUs are available, in sorted order.
    pub fn free_numa_nodes(&self) -> Vec<u32> {
        self.sort_available_numa_nodes()
            .into_iter()
            .filter(|&n| {
                count_at(&self.details, Level::Numa, n) == count_at(&self.topo.details, Level::Numa, n)
            })
            .collect()
    }

    /// `freeSockets`: sockets with `CPUsPerSocket` available CPUs, in sorted order.
    pub fn free_sockets(&self) -> Vec<u32> {
        let per = self.topo.cpus_per_socket();
        self.sort_available_sockets()
            .into_iter()
            .filter(|&s| count_at(&self.details, Level::Socket, s) == per)
            .collect()
    }

    /// `freeCores`: cores with `CPUsPerCore` available CPUs, in sorted order.
    pub fn free_cores(&self) -> Vec<u32> {
        let per = self.topo.cpus_per_core();
        self.sort_available_cores()
            .into_iter()
            .filter(|&c| count_at(&self.details, Level::Core, c) == per)
            .collect()
    }

    /// `freeUncoreCache`: uncores all of whose CPUs are available, in sorted order.
    pub fn free_uncore_caches(&self) -> Vec<u32> {
        self.sort_available_uncore_caches()
            .into_iter()
            .filter(|&u| {
                count_at(&self.details, Level::Uncore, u) == count_at(&self.topo.details, Level::Uncore, u)
            })
            .collect()
    }

    /// takeFullX: over the free list computed once, take each element's topology CPUs when
    /// no more than needed.
    fn take_full(&mut self, free: Vec<u32>, level: Level) {
        for id in free {
            let cpus = cpus_at(&self.topo.details, level, &[id]);
            if !self.needs_at_least(cpus.len()) {
                continue;
            }
            self.take(&cpus);
        }
    }

    /// `takeFullNUMANodes`.
    pub fn take_full_numa_nodes(&mut self) {
        let free = self.free_numa_nodes();
        self.take_full(free, Level::Numa);
    }

    /// `takeFullSockets`.
    pub fn take_full_sockets(&mut self) {
        let free = self.free_sockets();
        self.take_full(free, Level::Socket);
    }

    /// `takeFullCores`.
    pub fn take_full_cores(&mut self) {
        let free = self.free_cores();
        self.take_full(free, Level::Core);
    }

    /// `takeFullUncore`: one pass over the free uncores, taking each that fits.
    pub fn take_full_uncore(&mut self) {
        let free = self.free_uncore_caches();
        self.take_full(free, Level::Uncore);
    }

    /// `takePartialUncore`: the lowest `ceil(needed / CPUsPerCore)` cores of the uncore, taken
    /// only when their available CPUs are exactly what is needed (one CPU dropped for an odd
    /// request on SMT, PR #131850).
    pub fn take_partial_uncore(&mut self, uncore: u32) {
        let Ok(needed) = usize::try_from(self.needed) else {
            return;
        };
        let per_core = self.topo.cpus_per_core().max(1);
        let cores: Vec<u32> = self
            .details
            .cores_needed_in_uncore_cache(needed.div_ceil(per_core), uncore)
            .into_iter()
            .collect();
        let mut cand = self.details.cpus_in_cores(&cores);
        let highest = cand.iter().next_back();
        if needed % 2 == 1
            && self.topo.cpus_per_core() > 1
            && cand.len() > needed
            && let Some(highest) = highest
        {
            cand = cand.difference(&std::iter::once(highest).collect());
        }
        if cand.len() == needed {
            self.take(&cand);
        }
    }

    /// `takeUncoreCache`: per uncore in sorted order (computed once), whole free uncores while
    /// at least an uncore's worth is needed, then the partial take of this uncore.
    pub fn take_uncore_cache(&mut self) {
        let per_uncore = self.topo.cpus_per_uncore();
        for uncore in self.sort_available_uncore_caches() {
            if self.needs_at_least(per_uncore) {
                self.take_full_uncore();
            }
            if self.is_satisfied() {
                return;
            }
            self.take_partial_uncore(uncore);
            if self.is_satisfied() {
                return;
            }
        }
    }

    /// `takeRemainingCPUs`: one CPU at a time in packed or spread order (computed once).
    pub fn take_remaining_cpus(&mut self, strategy: CpuSortingStrategy) {
        let order = match strategy {
            CpuSortingStrategy::Packed => self.free_cpus(),
            CpuSortingStrategy::Spread => self.free_cpus_spread(),
        };
        for cpu in order {
            let one: CpuSet = std::iter::once(CpuId(cpu)).collect();
            if !self.needs_at_least(1) {
                return;
            }
            self.take(&one);
            if self.is_satisfied() {
                return;
            }
        }
    }
}

/// `takeByTopologyNUMAPacked` (§2.5): whole NUMA nodes / sockets (in the topology's ordering
/// mode), then whole uncores when `prefer_uncore`, whole cores (packed only), then single CPUs.
///
/// # Errors
/// [`TakeByTopologyError::NotEnoughCpus`] when `available` is too small,
/// [`TakeByTopologyError::FailedToAllocate`] when every step ran short.
pub fn take_by_topology_numa_packed(
    topo: &CpuTopology,
    available: &CpuSet,
    num_cpus: usize,
    strategy: CpuSortingStrategy,
    prefer_uncore: bool,
) -> Result<CpuSet, TakeByTopologyError> {
    let mut acc = CpuAccumulator::new(topo, available, num_cpus);
    if acc.is_satisfied() {
        return Ok(acc.result);
    }
    if acc.is_failed() {
        return Err(TakeByTopologyError::NotEnoughCpus {
            requested: num_cpus,
            available: available.len(),
        });
    }
    if acc.numa_first {
        acc.take_full_numa_nodes();
    } else {
        acc.take_full_sockets();
    }
    if acc.is_satisfied() {
        return Ok(acc.result);
    }
    if acc.numa_first {
        acc.take_full_sockets();
    } else {
        acc.take_full_numa_nodes();
    }
    if acc.is_satisfied() {
        return Ok(acc.result);
    }
    if prefer_uncore {
        acc.take_uncore_cache();
        if acc.is_satisfied() {
            return Ok(acc.result);
        }
    }
    if strategy == CpuSortingStrategy::Packed {
        acc.take_full_cores();
        if acc.is_satisfied() {
            return Ok(acc.result);
        }
    }
    acc.take_remaining_cpus(strategy);
    if acc.is_satisfied() {
        return Ok(acc.result);
    }
    Err(TakeByTopologyError::FailedToAllocate)
}

/// The k-combinations of `0..n` in lexicographic order, visited until `visit` returns `false`.
fn for_each_combination(n: usize, k: usize, mut visit: impl FnMut(&[usize]) -> bool) {
    if k == 0 || k > n {
        return;
    }
    let mut idx: Vec<usize> = (0..k).collect();
    loop {
        if !visit(&idx) {
            return;
        }
        // advance: the rightmost index that can still move
        let Some(i) = (0..k).rev().find(|&i| idx[i] < n - k + i) else {
            return;
        };
        idx[i] += 1;
        for j in i + 1..k {
            idx[j] = idx[j - 1] + 1;
        }
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Population standard deviation with the kubelet's rounding: the mean and the result rounded
/// to 3 decimals.
fn standard_deviation(xs: &[isize]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    let to_f = |x: isize| i32::try_from(x).map_or(f64::from(i32::MAX), f64::from);
    let len = to_f(len_isize(xs.len()));
    let mean = round3(xs.iter().map(|&x| to_f(x)).sum::<f64>() / len);
    let var = xs.iter().map(|&x| (to_f(x) - mean).powi(2)).sum::<f64>() / len;
    round3(var.sqrt())
}

/// Subtracts `group` round-robin from the subset's entries that still hold a group, until
/// `remainder` is used up (or no entry can give; upstream would loop forever there).
fn spread_remainder(after: &mut BTreeMap<u32, isize>, subset: &[u32], mut remainder: isize, group: isize) {
    while remainder > 0 {
        let mut progressed = false;
        for numa in subset {
            if remainder == 0 {
                break;
            }
            let Some(left) = after.get_mut(numa) else { continue };
            if *left < group {
                continue;
            }
            *left -= group;
            remainder -= group;
            progressed = true;
        }
        if !progressed {
            return;
        }
    }
}

/// `takeByTopologyNUMADistributed` (§2.6): spread the request evenly, in groups of
/// `group_size`, over the fewest NUMA nodes that can hold it, choosing the combination that
/// leaves the free CPUs most balanced; falls back to the packed algorithm (uncore preference
/// off) when the request is not a multiple of the group or no combination fits.
///
/// # Errors
/// As [`take_by_topology_numa_packed`], plus the accounting errors.
pub fn take_by_topology_numa_distributed(
    topo: &CpuTopology,
    available: &CpuSet,
    num_cpus: usize,
    group_size: usize,
    strategy: CpuSortingStrategy,
) -> Result<CpuSet, TakeByTopologyError> {
    let group_size = group_size.max(1);
    if !num_cpus.is_multiple_of(group_size) {
        return take_by_topology_numa_packed(topo, available, num_cpus, strategy, false);
    }
    let mut acc = CpuAccumulator::new(topo, available, num_cpus);
    if acc.is_satisfied() {
        return Ok(acc.result);
    }
    if acc.is_failed() {
        return Err(TakeByTopologyError::NotEnoughCpus {
            requested: num_cpus,
            available: available.len(),
        });
    }
    let numas = acc.sort_available_numa_nodes();
    let avail_in = |acc: &CpuAccumulator<'_>, numa: u32| len_isize(count_at(&acc.details, Level::Numa, numa));

    // the range of NUMA node counts worth trying
    let numa_count = topo.details.numa_nodes().len().max(1);
    let groups_total = topo.details.len().div_ceil(group_size);
    let groups_per_numa = groups_total.div_ceil(numa_count).max(1);
    let groups_needed = num_cpus.div_ceil(group_size);
    let min_numas = groups_needed.div_ceil(groups_per_numa);
    let max_numas = groups_needed.min(acc.details.numa_nodes().len());

    let n = len_isize(num_cpus);
    let g = len_isize(group_size);
    for k in min_numas..=max_numas {
        let mut best_balance = f64::MAX;
        let mut best: Option<(Vec<u32>, Vec<u32>, isize)> = None;
        for_each_combination(numas.len(), k, |picked| {
            if best_balance == 0.0 {
                return false;
            }
            let combo: Vec<u32> = picked.iter().map(|&i| numas[i]).collect();
            let avail: Vec<isize> = combo.iter().map(|&x| avail_in(&acc, x)).collect();
            if avail.iter().sum::<isize>() < n {
                return true;
            }
            if avail.iter().map(|a| a / g * g).sum::<isize>() < n {
                return true;
            }
            let dist = n / len_isize(k) / g * g;
            if avail.iter().any(|&a| a < dist) {
                return true;
            }
            let mut after: BTreeMap<u32, isize> = numas.iter().map(|&x| (x, avail_in(&acc, x))).collect();
            for numa in &combo {
                if let Some(a) = after.get_mut(numa) {
                    *a -= dist;
                }
            }
            let remainder = n - dist * len_isize(k);
            let rem_combo: Vec<u32> = combo
                .iter()
                .copied()
                .filter(|x| after.get(x).is_some_and(|&a| a >= g))
                .collect();
            let values = |m: &BTreeMap<u32, isize>| {
                numas
                    .iter()
                    .map(|x| m.get(x).copied().unwrap_or(0))
                    .collect::<Vec<_>>()
            };
            let (local, local_rem) = if remainder == 0 {
                (standard_deviation(&values(&after)), Vec::new())
            } else {
                let mut local = f64::MAX;
                let mut local_rem = Vec::new();
                for j in (1..=rem_combo.len()).rev() {
                    for_each_combination(rem_combo.len(), j, |sub| {
                        let subset: Vec<u32> = sub.iter().map(|&i| rem_combo[i]).collect();
                        let room: isize = subset.iter().map(|x| after.get(x).copied().unwrap_or(0)).sum();
                        if room < remainder {
                            return true;
                        }
                        let mut copy = after.clone();
                        spread_remainder(&mut copy, &subset, remainder, g);
                        let balance = standard_deviation(&values(&copy));
                        if balance < local {
                            local = balance;
                            local_rem = subset;
                        }
                        true
                    });
                }
                (local, local_rem)
            };
            if local < best_balance {
                best_balance = local;
                best = Some((combo, local_rem, dist));
            }
            true
        });
        let Some((combo, rem_numas, dist)) = best else {
            continue;
        };
        let dist_cpus = usize::try_from(dist).unwrap_or(0);
        for &numa in &combo {
            let in_numa = acc.details.cpus_in_numa_nodes(&[numa]);
            let cpus = take_by_topology_numa_packed(topo, &in_numa, dist_cpus, strategy, false)?;
            acc.take(&cpus);
        }
        let mut remainder = n - dist * len_isize(combo.len());
        while remainder > 0 {
            let mut progressed = false;
            for &numa in &rem_numas {
                if remainder == 0 {
                    break;
                }
                let in_numa = acc.details.cpus_in_numa_nodes(&[numa]);
                if in_numa.len() < group_size {
                    continue;
                }
                let cpus = take_by_topology_numa_packed(topo, &in_numa, group_size, strategy, false)?;
                acc.take(&cpus);
                remainder -= g;
                progressed = true;
            }
            if !progressed {
                break;
            }
        }
        if acc.needed > 0 {
            return Err(TakeByTopologyError::AccountingNotEnough(acc.needed));
        }
        if acc.needed < 0 {
            return Err(TakeByTopologyError::AccountingTooMany(acc.needed));
        }
        return Ok(acc.result);
    }
    take_by_topology_numa_packed(topo, available, num_cpus, strategy, false)
}
