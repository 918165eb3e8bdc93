//! Newtypes for the ids that are easy to confuse: a host CPU, a host NUMA node.
//!
//! Both are plain `u32` in every source (sysfs directory names, libvirt attributes), which is
//! exactly why they get their own types: a node id used as a CPU id compiles otherwise.

use std::fmt;

/// A logical host CPU (a hardware thread) as Linux and libvirt number it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CpuId(pub u32);

/// A host NUMA node as Linux and libvirt number it (ids may be sparse).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u32);

/// What an id type needs so that [`crate::cpuset::IdSet`] can hold it.
pub trait Id: Copy + Ord + fmt::Display {
    /// Wraps a raw number.
    fn from_raw(raw: u32) -> Self;
    /// The raw number.
    fn raw(self) -> u32;
}

macro_rules! impl_id {
    ($t:ident) => {
        impl Id for $t {
            fn from_raw(raw: u32) -> Self {
                $t(raw)
            }
            fn raw(self) -> u32 {
                self.0
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}
impl_id!(CpuId);
impl_id!(NodeId);
