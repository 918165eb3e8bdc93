//! KubeVirt's vCPU pool (`converter/vcpu/vcpu.go`): how the pod's exclusive CPUs become guest
//! cores, reproduced step by step (behaviour reference `kubevirt-numa.md` §1.7).
//!
//! The pool chunks the cpuset into host cells → cores → threads in the order the host
//! topology reports them (the cpuset's own order never matters), then hands out guest cores
//! in three phases: whole host cores, per-cell leftovers, and (relaxed pool only) leftovers
//! across cells. The emulator thread and supplemental IOThreads take single threads after.

use std::collections::{BTreeSet, VecDeque};

/// A host as KubeVirt sees it: cells in topology order, each with CPUs in reporting order and
/// each CPU with its sibling list as KubeVirt parsed it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KvTopology {
    /// Host cells in topology order.
    pub cells: Vec<KvCell>,
}

/// One host cell.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KvCell {
    /// Host node id.
    pub id: u32,
    /// CPUs in reporting order.
    pub cpus: Vec<KvCpu>,
    /// Distances to other host cells, in the host's sibling order.
    pub distances: Vec<(u32, u32)>,
}

/// One host CPU and its siblings (possibly empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvCpu {
    /// CPU id.
    pub id: u32,
    /// Sibling list in the order KubeVirt parsed it.
    pub siblings: Vec<u32>,
}

/// A pool error, with KubeVirt's wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError {
    /// Not enough threads at all (or the relaxed pool could not finish).
    #[error("not enough exclusive threads provided, could not fit {0} core(s)")]
    NotEnoughThreads(usize),
    /// Enough threads, but not within cells (strict pool).
    #[error("could not fit {0} core(s) without crossing numa cell boundaries for individual cores")]
    CrossesCells(usize),
    /// FitThread found nothing left.
    #[error("no remaining unassigned threads")]
    NoThreadLeft,
}

#[derive(Debug, Clone, Default)]
struct CellPool {
    full: VecDeque<Vec<u32>>,
    fragmented: VecDeque<u32>,
}

impl CellPool {
    /// Puts a partly used full core back: still full if it has `tpc` threads, else fragments.
    fn settle_front(&mut self, rest: Vec<u32>, tpc: usize) {
        if rest.len() >= tpc && !rest.is_empty() {
            if let Some(front) = self.full.front_mut() {
                *front = rest;
            }
        } else {
            self.full.pop_front();
            self.fragmented.extend(rest);
        }
    }

    fn take_full(&mut self, tpc: usize) -> Option<Vec<u32>> {
        let front = self.full.front()?.clone();
        let cut = tpc.min(front.len());
        let (taken, rest) = front.split_at(cut);
        let taken = taken.to_vec();
        self.settle_front(rest.to_vec(), tpc);
        Some(taken)
    }

    fn take_fragmented(&mut self, tpc: usize) -> Option<Vec<u32>> {
        if self.fragmented.len() >= tpc && tpc > 0 {
            Some(self.fragmented.drain(..tpc).collect())
        } else {
            None
        }
    }

    fn take_fragmented_up_to(&mut self, n: usize) -> Vec<u32> {
        let n = n.min(self.fragmented.len());
        self.fragmented.drain(..n).collect()
    }

    fn take_one_thread(&mut self, tpc: usize) -> Option<u32> {
        if let Some(t) = self.fragmented.pop_front() {
            return Some(t);
        }
        let front = self.full.front()?.clone();
        let (&first, rest) = front.split_first()?;
        self.settle_front(rest.to_vec(), tpc);
        Some(first)
    }

    fn is_empty(&self) -> bool {
        self.full.is_empty() && self.fragmented.is_empty()
    }
}

/// What FitCores produced: one host thread per vCPU, in vCPU order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fitted {
    /// `threads[i]` is vCPU i's host CPU.
    pub threads: Vec<u32>,
    /// Threads the relaxed pool's rounding (quirk §7.3) left unpinned, 0 normally.
    pub unpinned: usize,
    /// The phase that placed each thread: 1 whole host cores, 2 a cell's leftover threads,
    /// 3 leftovers across cells (relaxed pool only).
    pub phases: Vec<u8>,
}

/// The pool itself.
#[derive(Debug, Clone)]
pub struct CpuPool {
    tpc: usize,
    cores_to_fit: usize,
    allow_cell_crossing: bool,
    available: usize,
    cells: Vec<CellPool>,
}

impl CpuPool {
    /// Chunks `cpuset` over `topology`. `tpc` is the guest's threads per core, `cores_to_fit`
    /// its sockets × cores, `relaxed` allows guest cores to span cells. `available` is the
    /// length of the pod cpuset as KubeVirt counts it (CPUs absent from the host included).
    pub fn new(
        topology: &KvTopology,
        cpuset: &BTreeSet<u32>,
        available: usize,
        tpc: usize,
        cores_to_fit: usize,
        relaxed: bool,
    ) -> Self {
        let mut visited = BTreeSet::new();
        let mut cells = Vec::with_capacity(topology.cells.len());
        for cell in &topology.cells {
            let mut pool = CellPool::default();
            for cpu in &cell.cpus {
                if visited.contains(&cpu.id) {
                    continue;
                }
                let core: Vec<u32> = if cpu.siblings.is_empty() {
                    visited.insert(cpu.id);
                    if cpuset.contains(&cpu.id) {
                        vec![cpu.id]
                    } else {
                        Vec::new()
                    }
                } else {
                    visited.extend(cpu.siblings.iter().copied());
                    cpu.siblings
                        .iter()
                        .copied()
                        .filter(|s| cpuset.contains(s))
                        .collect()
                };
                if core.is_empty() {
                    continue;
                }
                if core.len() >= tpc {
                    pool.full.push_back(core);
                } else {
                    pool.fragmented.extend(core);
                }
            }
            cells.push(pool);
        }
        CpuPool {
            tpc,
            cores_to_fit,
            allow_cell_crossing: relaxed,
            available,
            cells,
        }
    }

    /// Places every guest core, KubeVirt's three phases. With `round_down` (KubeVirt's
    /// behaviour) a relaxed pool one partial core short reports success with fewer threads.
    ///
    /// # Errors
    /// [`PoolError::NotEnoughThreads`] or [`PoolError::CrossesCells`], as KubeVirt decides.
    pub fn fit_cores(&mut self, round_down: bool) -> Result<Fitted, PoolError> {
        let tpc = self.tpc;
        let mut threads = Vec::new();
        let mut phases = Vec::new();
        let mut remaining = self.cores_to_fit;
        for cell in &mut self.cells {
            while remaining > 0 {
                let Some(core) = cell.take_full(tpc) else { break };
                phases.extend(std::iter::repeat_n(1, core.len()));
                threads.extend(core);
                remaining -= 1;
            }
        }
        for cell in &mut self.cells {
            while remaining > 0 {
                let Some(core) = cell.take_fragmented(tpc) else {
                    break;
                };
                phases.extend(std::iter::repeat_n(2, core.len()));
                threads.extend(core);
                remaining -= 1;
            }
        }
        let mut unpinned = 0;
        if self.allow_cell_crossing && remaining > 0 {
            let mut needed = tpc * remaining;
            for cell in &mut self.cells {
                while needed > 0 {
                    let taken = cell.take_fragmented_up_to(needed);
                    if taken.is_empty() {
                        break;
                    }
                    needed -= taken.len();
                    phases.extend(std::iter::repeat_n(3, taken.len()));
                    threads.extend(taken);
                }
            }
            // KubeVirt: remainingCores = int(remainingThreads + 0.5) / tpc, i.e. a floor.
            remaining = if round_down {
                needed / tpc.max(1)
            } else {
                needed.div_ceil(tpc.max(1))
            };
            if remaining == 0 {
                unpinned = needed;
            }
        }
        if remaining > 0 {
            return Err(
                if self.allow_cell_crossing || self.available < self.cores_to_fit * tpc {
                    PoolError::NotEnoughThreads(remaining)
                } else {
                    PoolError::CrossesCells(remaining)
                },
            );
        }
        Ok(Fitted {
            threads,
            unpinned,
            phases,
        })
    }

    /// One thread from the first cell that has any (emulator, supplemental IOThreads).
    ///
    /// # Errors
    /// [`PoolError::NoThreadLeft`].
    pub fn fit_thread(&mut self) -> Result<u32, PoolError> {
        let tpc = self.tpc;
        self.cells
            .iter_mut()
            .find(|c| !c.is_empty())
            .and_then(|c| c.take_one_thread(tpc))
            .ok_or(PoolError::NoThreadLeft)
    }
}

#[cfg(test)]
mod tests;
