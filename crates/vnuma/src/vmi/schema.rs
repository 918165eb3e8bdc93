//! KubeVirt's known fields, generated from its published OpenAPI document (see
//! `tests/kubevirt_schema.rs`), and the unknown-field check of `--validate` for the objects
//! vnuma reads. The tree is the schema's, not vnuma's wire types': those read only a part.

use std::sync::OnceLock;

use serde_json::Value;

use crate::k8s::fields::{FieldTree, UnknownField};

/// The tree's text, as generated.
pub const KUBEVIRT_FIELDS: &str = include_str!("kubevirt-fields.txt");

/// The kinds vnuma reads and their schema definitions.
pub const ROOTS: [(&str, &str); 7] = [
    ("VirtualMachineInstance", "v1.VirtualMachineInstance"),
    ("VirtualMachine", "v1.VirtualMachine"),
    ("VirtualMachineInstancetype", "v1beta1.VirtualMachineInstancetype"),
    (
        "VirtualMachineClusterInstancetype",
        "v1beta1.VirtualMachineClusterInstancetype",
    ),
    ("VirtualMachinePreference", "v1beta1.VirtualMachinePreference"),
    (
        "VirtualMachineClusterPreference",
        "v1beta1.VirtualMachineClusterPreference",
    ),
    ("KubeVirt", "v1.KubeVirt"),
];

/// The parsed tree (parsed once).
pub fn kubevirt_tree() -> &'static FieldTree {
    static TREE: OnceLock<FieldTree> = OnceLock::new();
    // The text is generated and checked by a test; a parse failure cannot reach a user.
    TREE.get_or_init(|| FieldTree::parse(KUBEVIRT_FIELDS).unwrap_or_default())
}

/// The unknown fields of one object, by its `kind`; objects of other kinds have none.
pub fn unknown_fields(object: &Value) -> Vec<UnknownField> {
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
    match ROOTS.iter().find(|(k, _)| *k == kind) {
        Some((_, def)) => kubevirt_tree().unknown_fields(def, object, ""),
        None => Vec::new(),
    }
}
