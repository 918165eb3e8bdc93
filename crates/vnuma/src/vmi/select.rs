//! Which VMI or VM of an input to plan: `--name NAME` or kubectl's `--name KIND/NAME` (kind
//! case-insensitive: `vm`, `vmi`, `virtualmachine`, `virtualmachineinstance`, plurals and the
//! `.kubevirt.io` group allowed), and `--namespace NS`. `kubectl get vm,vmi -o yaml` returns a
//! VM and its VMI under one name, so a bare name matching both is refused with both named.

use crate::vmi::input::Document;

/// The two kinds a VM can be planned from.
const VM: &str = "VirtualMachine";
const VMI: &str = "VirtualMachineInstance";

/// What `--name` and `--namespace` ask for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    /// `VirtualMachine` or `VirtualMachineInstance`, when the name said `KIND/`.
    pub kind: Option<&'static str>,
    /// The name, when given.
    pub name: Option<String>,
    /// The namespace, when given (objects without one match any).
    pub namespace: Option<String>,
}

impl Selector {
    /// Reads `--name` (`NAME` or `KIND/NAME`) and `--namespace`.
    ///
    /// # Errors
    /// A kind that is neither a VirtualMachine nor a VirtualMachineInstance, or an empty name.
    pub fn parse(name: Option<&str>, namespace: Option<&str>) -> Result<Self, String> {
        let mut selector = Selector {
            namespace: namespace.map(str::to_string),
            ..Selector::default()
        };
        let Some(text) = name else {
            return Ok(selector);
        };
        let (kind, bare) = match text.split_once('/') {
            Some((kind, bare)) => (Some(kind), bare),
            None => (None, text),
        };
        if let Some(kind) = kind {
            let lower = kind.to_ascii_lowercase();
            let lower = lower.strip_suffix(".kubevirt.io").unwrap_or(&lower);
            selector.kind = Some(match lower {
                "vm" | "vms" | "virtualmachine" | "virtualmachines" => VM,
                "vmi" | "vmis" | "virtualmachineinstance" | "virtualmachineinstances" => VMI,
                _ => {
                    return Err(format!(
                        "--name {text}: unknown kind {kind:?}; use vm (VirtualMachine) or vmi \
                         (VirtualMachineInstance), e.g. --name vm/{bare}"
                    ));
                }
            });
        }
        if bare.is_empty() || bare.contains('/') {
            return Err(format!("--name {text}: expected NAME or KIND/NAME"));
        }
        selector.name = Some(bare.to_string());
        Ok(selector)
    }

    fn matches(&self, doc: &Document) -> bool {
        self.kind.is_none_or(|k| doc.kind() == k)
            && self.name.as_deref().is_none_or(|n| doc.name() == n)
            && self.namespace_matches(doc)
    }

    fn namespace_matches(&self, doc: &Document) -> bool {
        let ns = namespace(doc);
        self.namespace
            .as_deref()
            .is_none_or(|want| ns.is_none_or(|ns| ns == want))
    }
}

fn namespace(doc: &Document) -> Option<&str> {
    doc.value
        .pointer("/metadata/namespace")
        .and_then(serde_json::Value::as_str)
        .filter(|s| !s.is_empty())
}

/// `Kind/name`, with ` in namespace NS` when `with_namespace`.
fn label(doc: &Document, with_namespace: bool) -> String {
    match namespace(doc).filter(|_| with_namespace) {
        Some(ns) => format!("{}/{} (namespace {ns})", doc.kind(), doc.name()),
        None => format!("{}/{}", doc.kind(), doc.name()),
    }
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// Picks the candidate `selector` asks for.
///
/// # Errors
/// None or several match, in words that say how to pick.
pub fn pick<'a>(candidates: &[&'a Document], selector: &Selector) -> Result<&'a Document, String> {
    if candidates.is_empty() {
        return Err(
            "no VirtualMachineInstance or VirtualMachine in the input (kind is missing or different)".into(),
        );
    }
    let found: Vec<&'a Document> = candidates
        .iter()
        .copied()
        .filter(|d| selector.matches(d))
        .collect();
    let asked = match (selector.kind, &selector.name) {
        (Some(kind), Some(name)) => format!("{kind}/{name}"),
        (None, Some(name)) => name.clone(),
        (_, None) => String::new(),
    };
    match (found.as_slice(), &selector.name) {
        ([one], _) => Ok(one),
        ([], Some(name)) if selector.kind.is_none() && selector.namespace.is_none() => {
            let names: Vec<&str> = candidates.iter().map(|d| d.name()).collect();
            Err(format!(
                "no VM named {name:?} in the input (found: {})",
                names.join(", ")
            ))
        }
        ([], _) => {
            let names: Vec<String> = candidates.iter().map(|d| label(d, true)).collect();
            let wanted = match (&selector.name, &selector.namespace) {
                (Some(_), Some(ns)) => format!("{asked} in namespace {ns:?}"),
                (Some(_), None) => asked,
                (None, Some(ns)) => format!("VM in namespace {ns:?}"),
                (None, None) => "VM".into(),
            };
            Err(format!("no {wanted} in the input (found: {})", names.join(", ")))
        }
        (many, None) if selector.namespace.is_none() => {
            let names: Vec<String> = many.iter().map(|d| label(d, false)).collect();
            Err(format!(
                "several VMs in the input ({}); pick one with --name",
                names.join(", ")
            ))
        }
        (many, _) => {
            let kinds_differ = many.iter().any(|d| d.kind() != many[0].kind());
            let same_label = many
                .iter()
                .any(|d| many.iter().filter(|o| label(o, false) == label(d, false)).count() > 1);
            let names: Vec<String> = many.iter().map(|d| label(d, same_label)).collect();
            let how = if selector.name.is_none() {
                "pick one with --name".to_string()
            } else if kinds_differ && selector.kind.is_none() {
                "pick one with --name KIND/NAME".to_string()
            } else {
                "pick one with --namespace".to_string()
            };
            let what = if asked.is_empty() {
                format!(
                    "namespace {:?}",
                    selector.namespace.as_deref().unwrap_or_default()
                )
            } else {
                format!("--name {asked}")
            };
            Err(format!("{} match {what}; {how}", and_list(&names)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_read_as_kubectl_writes_them() {
        for (text, kind) in [
            ("web", None),
            ("vm/web", Some(VM)),
            ("VirtualMachine/web", Some(VM)),
            ("virtualmachines.kubevirt.io/web", Some(VM)),
            ("VMI/web", Some(VMI)),
            ("virtualmachineinstance/web", Some(VMI)),
        ] {
            let s = Selector::parse(Some(text), None).unwrap();
            assert_eq!((s.kind, s.name.as_deref()), (kind, Some("web")), "{text}");
        }
        assert!(Selector::parse(Some("pod/web"), None).is_err());
        assert!(Selector::parse(Some("vm/"), None).is_err());
        assert!(Selector::parse(Some("vm/a/b"), None).is_err());
    }
}
