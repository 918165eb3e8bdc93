//! Stage 5: a [`crate::plan::GuestPlan`] rendered for a hypervisor. Pure: plans in, text out.
//!
//! - [`libvirt`]: the domain XML, elements in KubeVirt's order (`virtwrap/api/schema.go`);
//! - [`qemu`]: the QEMU command line as libvirt would derive it, and the pinning document;
//! - [`cloud_hypervisor`]: the Cloud Hypervisor command line, refusing what it cannot express;
//! - [`shell`]: argument lists as shell-quoted lines;
//! - `xml`: the one XML escape, shared with the SVG pictures of [`crate::report`].

pub mod cloud_hypervisor;
pub mod libvirt;
pub mod qemu;
pub mod shell;
pub(crate) mod xml;
