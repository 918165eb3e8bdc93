//! Stage 2: what the kubelet would allocate to the VM's pod, simulated (behaviour reference
//! `kubelet.md`, Kubernetes 1.33–1.36): the CPU Manager static policy, the Topology Manager
//! and the Memory Manager static policy.
//!
//! - [`topology`]: the kubelet's view of the host (`CPUTopology`) and the NUMA bitmask and
//!   topology hints every manager speaks.

pub mod allocate;
pub mod config;
pub mod config_fields;
pub mod cpu_assignment;
pub mod cpu_manager;
#[cfg(test)]
pub mod fixtures;
pub mod memory_manager;
pub mod quirks;
pub mod topology;
pub mod topology_manager;
