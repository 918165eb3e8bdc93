//! The known fields of the kubelet's `KubeletConfiguration` (`kubelet.config.k8s.io/v1beta1`),
//! from the json tags of its Go type (no OpenAPI document is published for it; the tree's
//! first line names the commit read), and the unknown-field check of `--validate` for it.

use std::sync::OnceLock;

use crate::k8s::documents::{DocumentError, Source, documents};
use crate::k8s::fields::{FieldTree, UnknownField};

/// The tree's text.
pub const KUBELET_CONFIG_FIELDS: &str = include_str!("kubelet-config-fields.txt");

/// The parsed tree (parsed once; a test parses it strictly).
pub fn kubelet_config_tree() -> &'static FieldTree {
    static TREE: OnceLock<FieldTree> = OnceLock::new();
    TREE.get_or_init(|| FieldTree::parse(KUBELET_CONFIG_FIELDS).unwrap_or_default())
}

/// The unknown fields of every `KubeletConfiguration` in a YAML stream, one line each.
///
/// # Errors
/// [`DocumentError::Yaml`] for a stream that does not parse.
pub fn unknown_fields(source: Source<'_>) -> Result<Vec<String>, DocumentError> {
    let mut out = Vec::new();
    for doc in documents(source)? {
        if doc.kind() == "KubeletConfiguration" {
            let fields: Vec<UnknownField> =
                kubelet_config_tree().unknown_fields("KubeletConfiguration", &doc.value, "");
            out.extend(fields.iter().map(|f| format!("KubeletConfiguration: {f}")));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::k8s::fields::FieldType;
    use crate::k8s::trace::{Kind, trace};

    #[test]
    fn the_tree_parses_and_every_reference_is_defined() {
        let tree = FieldTree::parse(KUBELET_CONFIG_FIELDS).expect("tree");
        assert_eq!(tree.dangling(), Vec::<String>::new());
        let top = tree.fields("KubeletConfiguration").expect("root");
        assert!(top.len() > 120, "{} top-level fields", top.len());
        for field in [
            "reservedSystemCPUs",
            "cpuManagerPolicyOptions",
            "topologyManagerPolicyOptions",
            "reservedMemory",
        ] {
            assert!(top.contains_key(field), "{field}");
        }
    }

    /// Every field the kubelet wire type reads has the kubelet's exact json name and type.
    #[test]
    fn every_kubelet_wire_field_has_the_kubelets_exact_name_and_type() {
        let tree = kubelet_config_tree();
        let mut problems = Vec::new();
        let traced = trace::<crate::kubelet::config::KubeletConfiguration>();
        assert!(traced.len() >= 12, "{traced:?}");
        for t in traced {
            let mut ty = FieldType::Object("KubeletConfiguration".into());
            for segment in &t.path {
                let next = match (&ty, segment.as_str()) {
                    (FieldType::Map(value), "*") => Some((**value).clone()),
                    (FieldType::List(item), "[]") => Some((**item).clone()),
                    (FieldType::Object(def), field) => tree.fields(def).and_then(|f| f.get(field)).cloned(),
                    _ => None,
                };
                match next {
                    Some(next) => ty = next,
                    None => {
                        problems.push(format!(
                            "{} is not a KubeletConfiguration field",
                            t.path.join(".")
                        ));
                        break;
                    }
                }
            }
            let fits = match (t.kind, &ty) {
                (Kind::Boolean, FieldType::Scalar(s)) => *s == "boolean",
                (Kind::Integer, FieldType::Scalar(s)) => *s == "integer",
                (Kind::String, FieldType::Scalar(s)) => *s == "string",
                (Kind::Any, FieldType::Scalar(s)) => *s == "quantity" || *s == "string",
                (Kind::Object, FieldType::Object(_)) => true,
                (Kind::Map, FieldType::Map(_)) => true,
                (Kind::Array, FieldType::List(_)) => true,
                _ => false,
            };
            if !fits && !problems.iter().any(|p| p.starts_with(&t.path.join("."))) {
                problems.push(format!(
                    "{} is read as {:?} but the kubelet has {ty}",
                    t.path.join("."),
                    t.kind
                ));
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn a_kubelet_config_typo_is_named_with_the_nearest_field() {
        let text = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n\
                    cpuManagerPolicyy: static\nreservedSystemCPUs: \"0\"\n\
                    reservedMemory: [{numaNode: 0, limit: {memory: 1Gi}}]\n";
        let found = unknown_fields(Source {
            origin: "k.yaml",
            text,
        })
        .expect("yaml");
        assert_eq!(
            found,
            [
                "KubeletConfiguration: unknown field cpuManagerPolicyy; did you mean cpuManagerPolicy?",
                "KubeletConfiguration: unknown field reservedMemory[0].limit; did you mean limits?",
            ]
        );
    }
}
