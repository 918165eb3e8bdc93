//! vnuma: give a virtual machine the NUMA topology its host really has.
//!
//! The library is a pipeline of pure stages (see `ARCHITECTURE.md`):
//!
//! 1. [`topology`]: the host, read from sysfs, a `virsh capabilities` document or a built-in
//!    example, into one [`topology::HostTopology`];
//! 2. kubelet allocation, 3. the VMI spec, 4. the plan and 5. the renderers follow in later
//!    stages;
//! 6. [`report`]: the JSON documents and human tables the command line prints.
//!
//! Only the source readers touch the filesystem, and only below a root they are given.

pub mod cpuset;
pub mod ids;
pub mod k8s;
pub mod kubelet;
pub mod pipeline;
pub mod plan;
pub mod render;
pub mod report;
pub mod reschedule;
pub mod text;
pub mod topology;
pub mod verify;
pub mod vmi;
