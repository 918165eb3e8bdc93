//! Known-field trees of Kubernetes objects, and the walk that names every unknown field the
//! way the API server's field validation does (`kubectl apply --validate=strict|warn`).
//!
//! A tree is text, one definition per `@Name` line followed by its fields, one per line:
//!
//! ```text
//! @v1.CPU
//! cores integer
//! numa v1.NUMA
//! features []v1.CPUFeature
//! ```
//!
//! A field's type is `string`, `integer`, `number`, `boolean`, `quantity` or `any` (free-form:
//! nothing below it is checked), the name of another definition, `[]T` (a list of T) or `{}T`
//! (a map with any keys and values of T). KubeVirt's tree is generated from its published
//! OpenAPI document, the kubelet's from the json tags of its v1beta1 type; vnuma's own wire
//! types read only a part of either and never judge what is unknown.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

/// A field's type in a [`FieldTree`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldType {
    /// A scalar: `string`, `integer`, `number`, `boolean` or `quantity`.
    Scalar(&'static str),
    /// Anything: no field below it is checked.
    Any,
    /// An object of a named definition.
    Object(String),
    /// A list.
    List(Box<FieldType>),
    /// A map with free keys.
    Map(Box<FieldType>),
}

impl FieldType {
    fn parse(token: &str) -> FieldType {
        if let Some(item) = token.strip_prefix("[]") {
            return FieldType::List(Box::new(FieldType::parse(item)));
        }
        if let Some(value) = token.strip_prefix("{}") {
            return FieldType::Map(Box::new(FieldType::parse(value)));
        }
        match token {
            "string" => FieldType::Scalar("string"),
            "integer" => FieldType::Scalar("integer"),
            "number" => FieldType::Scalar("number"),
            "boolean" => FieldType::Scalar("boolean"),
            "quantity" => FieldType::Scalar("quantity"),
            "any" => FieldType::Any,
            name => FieldType::Object(name.to_string()),
        }
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldType::Scalar(name) => f.write_str(name),
            FieldType::Any => f.write_str("any"),
            FieldType::Object(name) => f.write_str(name),
            FieldType::List(item) => write!(f, "[]{item}"),
            FieldType::Map(value) => write!(f, "{{}}{value}"),
        }
    }
}

/// The known fields of a family of objects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldTree {
    defs: BTreeMap<String, BTreeMap<String, FieldType>>,
}

/// A field the tree does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownField {
    /// The full path, e.g. `spec.domain.cpu.guestMappingPasthrough` or
    /// `spec.domain.devices.disks[0].dedicatedIoThread`.
    pub path: String,
    /// The known field at that level nearest to the unknown one, if any is near.
    pub suggestion: Option<String>,
}

impl fmt::Display for UnknownField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown field {}", self.path)?;
        if let Some(s) = &self.suggestion {
            write!(f, "; did you mean {s}?")?;
        }
        Ok(())
    }
}

/// How unknown fields are treated, as kubectl spells it (`--validate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Validation {
    /// An unknown field is an error (exit 2), every one named.
    Strict,
    /// An unknown field is a warning (the default).
    #[default]
    Warn,
    /// Unknown fields are not looked for.
    Ignore,
}

impl FieldTree {
    /// Parses the text form (see the module documentation).
    ///
    /// # Errors
    /// The line number and text of a line that is neither a definition nor a field, or a
    /// field outside any definition.
    pub fn parse(text: &str) -> Result<FieldTree, String> {
        let mut tree = FieldTree::default();
        let mut current: Option<String> = None;
        for (number, line) in text.lines().enumerate() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(name) = line.strip_prefix('@') {
                tree.defs.entry(name.to_string()).or_default();
                current = Some(name.to_string());
                continue;
            }
            let bad = || format!("line {}: {line:?} is not `NAME TYPE`", number + 1);
            let (name, ty) = line.split_once(' ').ok_or_else(bad)?;
            if name.is_empty() || ty.is_empty() || ty.contains(' ') {
                return Err(bad());
            }
            let def = current
                .as_ref()
                .ok_or_else(|| format!("line {}: a field before any @definition", number + 1))?;
            tree.defs
                .entry(def.clone())
                .or_default()
                .insert(name.to_string(), FieldType::parse(ty));
        }
        Ok(tree)
    }

    /// Whether `name` is a definition of the tree.
    pub fn has(&self, name: &str) -> bool {
        self.defs.contains_key(name)
    }

    /// The fields of a definition.
    pub fn fields(&self, name: &str) -> Option<&BTreeMap<String, FieldType>> {
        self.defs.get(name)
    }

    /// Definition names that are referenced but not defined (a tree must have none).
    pub fn dangling(&self) -> Vec<String> {
        fn walk(ty: &FieldType, tree: &FieldTree, out: &mut Vec<String>) {
            match ty {
                FieldType::Object(name) if !tree.has(name) => out.push(name.clone()),
                FieldType::List(t) | FieldType::Map(t) => walk(t, tree, out),
                _ => {}
            }
        }
        let mut out = Vec::new();
        for fields in self.defs.values() {
            for ty in fields.values() {
                walk(ty, self, &mut out);
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Every field of `value` (an object of definition `root`) that the tree does not know,
    /// in document order. `prefix` starts every path (empty for a whole object).
    pub fn unknown_fields(&self, root: &str, value: &Value, prefix: &str) -> Vec<UnknownField> {
        let mut out = Vec::new();
        self.walk(&FieldType::Object(root.to_string()), value, prefix, &mut out);
        out
    }

    fn walk(&self, ty: &FieldType, value: &Value, path: &str, out: &mut Vec<UnknownField>) {
        match (ty, value) {
            (FieldType::Object(name), Value::Object(map)) => {
                // A definition the tree does not hold is judged by nobody.
                let Some(fields) = self.defs.get(name) else { return };
                for (key, child) in map {
                    let child_path = join(path, key);
                    match fields.get(key) {
                        Some(child_ty) => self.walk(child_ty, child, &child_path, out),
                        None => out.push(UnknownField {
                            path: child_path,
                            suggestion: nearest(key, fields.keys()),
                        }),
                    }
                }
            }
            (FieldType::List(item), Value::Array(items)) => {
                for (i, child) in items.iter().enumerate() {
                    self.walk(item, child, &format!("{path}[{i}]"), out);
                }
            }
            (FieldType::Map(item), Value::Object(map)) => {
                for (key, child) in map {
                    self.walk(item, child, &join(path, key), out);
                }
            }
            // Scalars, free-form values and wrong types (the typed reading names those).
            _ => {}
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// The known name nearest to `unknown`: equal but for case, else within an edit distance of
/// two (or a third of its length, for long names). Ties go to the first in sorted order.
fn nearest<'a>(unknown: &str, known: impl Iterator<Item = &'a String>) -> Option<String> {
    let lower = unknown.to_lowercase();
    let limit = (unknown.chars().count() / 3).max(2);
    let mut best: Option<(usize, &String)> = None;
    for name in known {
        let d = if name.to_lowercase() == lower {
            0
        } else {
            edit_distance(&lower, &name.to_lowercase())
        };
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, name));
        }
    }
    best.map(|(_, name)| name.clone())
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            let next = (row[j + 1] + 1).min(row[j] + 1).min(prev + cost);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const TREE: &str = "# test\n@Root\nspec Spec\nlabels {}string\n@Spec\ncores integer\nitems []Item\nfree any\n@Item\nname string\n";

    #[test]
    fn unknown_fields_are_named_with_their_path_and_nearest_known_field() {
        let tree = FieldTree::parse(TREE).expect("tree");
        let doc = serde_json::json!({
            "spec": {"core": 4, "items": [{"name": "a"}, {"nmae": "b"}], "free": {"x": 1}},
            "labels": {"anything": "goes"},
            "zzz": 1
        });
        let found: Vec<String> = tree
            .unknown_fields("Root", &doc, "")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            found,
            [
                "unknown field spec.core; did you mean cores?",
                "unknown field spec.items[1].nmae; did you mean name?",
                "unknown field zzz",
            ]
        );
    }

    #[test]
    fn a_case_difference_is_the_nearest_of_all() {
        let names = ["dedicatedIOThread".to_string(), "dedicatedIoThreads".to_string()];
        assert_eq!(
            nearest("dedicatedIoThread", names.iter()).as_deref(),
            Some("dedicatedIOThread")
        );
        assert_eq!(nearest("completelyDifferent", names.iter()), None);
    }

    #[test]
    fn a_malformed_tree_line_is_refused_with_its_number() {
        assert_eq!(
            FieldTree::parse("@A\nbroken\n").unwrap_err(),
            "line 2: \"broken\" is not `NAME TYPE`"
        );
        assert!(
            FieldTree::parse("x string\n")
                .unwrap_err()
                .contains("before any @definition")
        );
        let tree = FieldTree::parse("@A\nb B\nc []D\n").expect("tree");
        assert_eq!(tree.dangling(), ["B", "D"]);
    }
}
