//! Merging the providers' hints (`pkg/kubelet/cm/topologymanager/policy.go`:
//! `filterProvidersHints`, `maxOfMinAffinityCounts`, `mergePermutation`, `HintMerger`): every
//! permutation of one hint per list, merged and compared to find the best (`kubelet.md` §3.2).
//! The policies of `policy_*.go` filter the lists and judge the result in
//! [`TopologyManager::merge`](super::TopologyManager::merge).

use super::{NumaInfo, ProviderHints};
use crate::kubelet::quirks::KubeletPanic;
use crate::kubelet::topology::{BitRangeError, NodeMask, TopologyHint};

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
    pub(super) numa: &'a NumaInfo,
    pub(super) default: NodeMask,
    pub(super) lists: Vec<Vec<TopologyHint>>,
    pub(super) best_non_preferred: u32,
    pub(super) closest: bool,
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
