//! The Kubernetes foundation both the kubelet and the KubeVirt stages stand on: what the API
//! machinery gives every object, independent of any one API group.
//!
//! - [`fields`]: known-field trees and the unknown-field check of `--validate`.
//! - [`pages`]: page sizes as Kubernetes names them.

pub mod fields;
pub mod pages;
#[cfg(test)]
pub(crate) mod trace;
