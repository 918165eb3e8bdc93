//! The `memory_manager_state` checkpoint (`pkg/kubelet/cm/memorymanager/state/checkpoint.go`):
//! the kubelet's JSON file as wire types, parsed and turned into a machine state and
//! assignments for [`MemoryManager::start`](super::MemoryManager::start) to validate.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use super::state::{Assignments, Block, MachineState, MemoryTable, NodeState};
use super::{MemoryManagerError, MemoryManagerPolicy};

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// The `memory_manager_state` checkpoint (`/var/lib/kubelet/memory_manager_state`), as
/// written by the kubelet. The checksum is read, not verified.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemoryManagerCheckpoint {
    /// `policyName`: `Static` or `None`.
    #[serde(default)]
    pub policy_name: String,
    /// `machineState`: node id (as a string) → state.
    #[serde(default, deserialize_with = "null_as_default")]
    pub machine_state: BTreeMap<String, WireNodeState>,
    /// `entries`: pod UID → container → blocks.
    #[serde(default, deserialize_with = "null_as_default")]
    pub entries: BTreeMap<String, BTreeMap<String, Vec<WireBlock>>>,
    /// `checksum`.
    #[serde(default)]
    pub checksum: u64,
}

/// A node of the checkpoint's `machineState`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireNodeState {
    /// `numberOfAssignments`.
    #[serde(default)]
    pub number_of_assignments: u64,
    /// `memoryMap`: resource → table.
    #[serde(default, deserialize_with = "null_as_default")]
    pub memory_map: BTreeMap<String, WireMemoryTable>,
    /// `cells`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub cells: Vec<u32>,
}

/// A `memoryMap` table of the checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireMemoryTable {
    /// `total`.
    #[serde(default)]
    pub total: u64,
    /// `systemReserved`.
    #[serde(default)]
    pub system_reserved: u64,
    /// `allocatable`.
    #[serde(default)]
    pub allocatable: u64,
    /// `reserved`.
    #[serde(default)]
    pub reserved: u64,
    /// `free`.
    #[serde(default)]
    pub free: u64,
}

/// A block of the checkpoint's `entries`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireBlock {
    /// `numaAffinity`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub numa_affinity: Vec<u32>,
    /// `type`: the resource.
    #[serde(rename = "type")]
    pub resource: String,
    /// `size` in bytes.
    pub size: u64,
}

impl MemoryManagerCheckpoint {
    /// Reads the checkpoint's JSON.
    ///
    /// # Errors
    /// [`MemoryManagerError::Checkpoint`] with serde's message.
    pub fn parse(text: &str) -> Result<Self, MemoryManagerError> {
        serde_json::from_str(text).map_err(|e| MemoryManagerError::Checkpoint(e.to_string()))
    }

    /// The machine state and assignments it holds. Only a `Static` checkpoint restores into
    /// the static policy.
    ///
    /// # Errors
    /// [`MemoryManagerError::CheckpointPolicy`], [`MemoryManagerError::CheckpointNodeKey`].
    pub fn to_state(&self) -> Result<(MachineState, Assignments), MemoryManagerError> {
        if self.policy_name != MemoryManagerPolicy::Static.name() {
            return Err(MemoryManagerError::CheckpointPolicy(self.policy_name.clone()));
        }
        let mut state = MachineState::default();
        for (key, node) in &self.machine_state {
            let id: u32 = key
                .parse()
                .map_err(|_| MemoryManagerError::CheckpointNodeKey(key.clone()))?;
            state.nodes.insert(
                id,
                NodeState {
                    number_of_assignments: node.number_of_assignments,
                    memory_map: node
                        .memory_map
                        .iter()
                        .map(|(r, t)| {
                            (
                                r.clone(),
                                MemoryTable {
                                    total: t.total,
                                    system_reserved: t.system_reserved,
                                    allocatable: t.allocatable,
                                    reserved: t.reserved,
                                    free: t.free,
                                },
                            )
                        })
                        .collect(),
                    cells: node.cells.clone(),
                },
            );
        }
        let assignments = self
            .entries
            .iter()
            .map(|(pod, containers)| {
                let containers = containers
                    .iter()
                    .map(|(name, blocks)| {
                        let blocks = blocks
                            .iter()
                            .map(|b| Block {
                                numa_affinity: b.numa_affinity.clone(),
                                resource: b.resource.clone(),
                                size: b.size,
                            })
                            .collect();
                        (name.clone(), blocks)
                    })
                    .collect();
                (pod.clone(), containers)
            })
            .collect();
        Ok((state, assignments))
    }
}
