//! The Kubernetes foundation both the kubelet and the KubeVirt stages stand on: what the API
//! machinery gives every object, independent of any one API group.
//!
//! - [`documents`]: YAML and JSON streams into documents, and a document into a typed mirror.
//! - [`fields`]: known-field trees and the unknown-field check of `--validate`.
//! - [`pages`]: page sizes as Kubernetes names them.
//! - [`pod`]: a pod's requests and limits, and its QoS class.
//! - [`quantity`]: `resource.Quantity`, parsed and printed as Kubernetes does, and
//!   [`quantity::QuantityText`], a quantity as a manifest writes it.

pub mod documents;
pub mod fields;
pub mod pages;
pub mod pod;
pub mod quantity;
#[cfg(test)]
pub(crate) mod trace;
