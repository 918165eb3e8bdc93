//! `NUMAInfo` (`numa_info.go`): the machine's NUMA node ids, their distances, and the
//! `Narrowest` / `Closest` choices between two masks.

use std::collections::BTreeMap;

use crate::kubelet::quirks::{CLOSEST_NUMA_NONCONTIGUOUS_IDS, KubeletPanic};
use crate::kubelet::topology::{BitRangeError, NodeMask};
use crate::topology::HostTopology;

/// `NUMAInfo`: the machine's NUMA node ids and their distances.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NumaInfo {
    /// The NUMA node ids.
    pub nodes: Vec<u32>,
    /// `distance[(i, j)]` as `/sys/devices/system/node/node<i>/distance` gives it. Only used
    /// with `prefer-closest-numa-nodes`. The kubelet keeps each node's file as a list (one
    /// entry per node, in id order) and reads it by node id ([`NumaInfo::distance`]); a node
    /// without any entry (the source gave no distances) has a row of one unknown (0) entry per
    /// node.
    pub distances: BTreeMap<(u32, u32), u32>,
}

impl NumaInfo {
    /// The host's nodes (every node the source lists) and distances.
    pub fn from_host(host: &HostTopology) -> Self {
        let mut distances = BTreeMap::new();
        for node in &host.nodes {
            for (to, &d) in node.distances.iter().flatten() {
                distances.insert((node.id.0, to.0), d);
            }
        }
        NumaInfo {
            nodes: host.nodes.iter().map(|n| n.id.0).collect(),
            distances,
        }
    }

    /// `DefaultAffinityMask`: all nodes.
    ///
    /// # Errors
    /// [`BitRangeError`] for a node id past 63.
    pub fn default_affinity_mask(&self) -> Result<NodeMask, BitRangeError> {
        NodeMask::of(&self.nodes)
    }

    /// `Narrowest`: `m1` if it is narrower than `m2`, else `m2`.
    pub fn narrowest(m1: NodeMask, m2: NodeMask) -> NodeMask {
        if m1.is_narrower_than(m2) { m1 } else { m2 }
    }

    /// `NUMADistances[i][j]` as Go reads it: node `i`'s row is its distance list, indexed by
    /// node id `j`. The row has one entry per node, so with node ids that are not `0..n`
    /// (nodes 0 and 2) an id reaches past the row: the kubelet panics (`index out of range`),
    /// and within the row it reads another node's distance.
    ///
    /// # Errors
    /// [`KubeletPanic`] where Go indexes out of range.
    pub fn distance(&self, i: u32, j: u32) -> Result<u32, KubeletPanic> {
        let row: Vec<u32> = self
            .distances
            .range((i, 0)..=(i, u32::MAX))
            .map(|(_, &d)| d)
            .collect();
        let len = if row.is_empty() {
            self.nodes.len()
        } else {
            row.len()
        };
        match usize::try_from(j) {
            Ok(index) if index < len => Ok(row.get(index).copied().unwrap_or(0)),
            _ => Err(KubeletPanic {
                quirk: CLOSEST_NUMA_NONCONTIGUOUS_IDS,
                panic: format!("index out of range [{j}] with length {len}"),
                cause: format!(
                    "with prefer-closest-numa-nodes the Topology Manager reads the distance from \
                     NUMA node {i} to node {j} as entry {j} of node {i}'s distance row, which has \
                     one entry per NUMA node ({len} entries for node ids {}), not one per id",
                    self.nodes
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                ),
            }),
        }
    }

    /// Σ distance over every ordered pair of the mask's nodes (`CalculateAverageFor`'s
    /// numerator; the denominator `|m|²` is the same for masks of one size, so sums compare as
    /// averages do). A one-node mask reads its own distance too.
    fn distance_sum(&self, m: NodeMask) -> Result<u64, KubeletPanic> {
        let nodes = m.nodes();
        let mut sum = 0u64;
        for &i in &nodes {
            for &j in &nodes {
                sum += u64::from(self.distance(i, j)?);
            }
        }
        Ok(sum)
    }

    /// `Closest`: the narrower mask if the counts differ, else the smaller average distance
    /// (`m1`'s computed first, as upstream), else the smaller integer mask.
    ///
    /// # Errors
    /// [`KubeletPanic`] where the kubelet's distance lookup indexes out of range.
    pub fn closest(&self, m1: NodeMask, m2: NodeMask) -> Result<NodeMask, KubeletPanic> {
        if m1.count() != m2.count() {
            return Ok(NumaInfo::narrowest(m1, m2));
        }
        let d1 = self.distance_sum(m1)?;
        let d2 = self.distance_sum(m2)?;
        Ok(if d1 < d2 || (d1 == d2 && m1.0 < m2.0) {
            m1
        } else {
            m2
        })
    }
}
