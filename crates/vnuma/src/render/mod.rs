//! Stage 5: a [`crate::plan::GuestPlan`] rendered for a hypervisor. Pure: plans in, text out.
//!
//! - [`libvirt`]: the domain XML, elements in KubeVirt's order (`virtwrap/api/schema.go`).

pub mod libvirt;
