//! Kubernetes documents: a YAML (or JSON) stream split into objects, `kind: List` flattened,
//! and an object deserialized into a typed mirror, with the file and field path in every error.

use serde::de::DeserializeOwned;
use serde_json::Value;

/// A document, or a field of it, that cannot be read. The messages name the file and the field
/// path, as the API server's would.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DocumentError {
    /// Not YAML.
    #[error("{origin}: invalid YAML: {message}")]
    Yaml {
        /// The file or `<stdin>`.
        origin: String,
        /// The parser's words (with line and column).
        message: String,
    },
    /// A field of the wrong type.
    #[error("{origin}: {path}: {message}")]
    Field {
        /// The file.
        origin: String,
        /// The field path, e.g. `spec.domain.cpu.cores`.
        path: String,
        /// What was wrong.
        message: String,
    },
    /// A quantity that does not parse, or parses but cannot be used there.
    #[error("{origin}: {path}: invalid quantity {value:?}: {message}")]
    Quantity {
        /// The file.
        origin: String,
        /// The field path.
        path: String,
        /// The text as written.
        value: String,
        /// Why.
        message: String,
    },
    /// The object looked for is not there (or is ambiguous), or the file is not the JSON
    /// expected.
    #[error("{origin}: {message}")]
    Select {
        /// The file.
        origin: String,
        /// What is missing or ambiguous.
        message: String,
    },
}

/// One YAML source: its name for messages and its text.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// The file name, or `<stdin>`.
    pub origin: &'a str,
    /// The YAML text.
    pub text: &'a str,
}

/// A parsed document with the source it came from.
#[derive(Debug, Clone)]
pub struct Document {
    /// The file it came from.
    pub origin: String,
    /// Its content.
    pub value: Value,
}

impl Document {
    /// `kind`, or the empty string.
    pub fn kind(&self) -> &str {
        self.value.get("kind").and_then(Value::as_str).unwrap_or("")
    }

    /// `metadata.name`, or the empty string.
    pub fn name(&self) -> &str {
        self.value
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
    }
}

/// Splits a YAML stream into documents, flattening `kind: List`.
///
/// # Errors
/// [`DocumentError::Yaml`] with the parser's location.
pub fn documents(source: Source<'_>) -> Result<Vec<Document>, DocumentError> {
    let values: Vec<Value> = serde_saphyr::from_multiple(source.text).map_err(|e| DocumentError::Yaml {
        origin: source.origin.to_string(),
        message: yaml_message(
            e.to_string()
                .lines()
                .next()
                .unwrap_or("")
                .trim_start_matches("error: "),
        ),
    })?;
    let mut docs = Vec::new();
    for value in values {
        flatten(value, source.origin, &mut docs);
    }
    Ok(docs)
}

/// The parser's message in a user's words: a duplicate key is named with its place, not the
/// parser's option that would allow it.
fn yaml_message(message: &str) -> String {
    const DUPLICATE: &str = "duplicate mapping key: ";
    const POLICY: &str = ", set DuplicateKeyPolicy in Options if acceptable";
    if let Some(at) = message.find(DUPLICATE) {
        let (place, rest) = message.split_at(at);
        let key = rest[DUPLICATE.len()..].trim_end_matches(POLICY);
        return format!("{place}key {key:?} is given twice in the same mapping; keep one of them");
    }
    message.to_string()
}

fn flatten(value: Value, origin: &str, out: &mut Vec<Document>) {
    if value.get("kind").and_then(Value::as_str) == Some("List") {
        if let Some(Value::Array(items)) = value.get("items") {
            for item in items {
                flatten(item.clone(), origin, out);
            }
        }
        return;
    }
    if !value.is_null() {
        out.push(Document {
            origin: origin.to_string(),
            value,
        });
    }
}

/// Deserializes a document into a wire type, naming the field path of a wrong type.
///
/// # Errors
/// [`DocumentError::Field`].
pub fn typed<T: DeserializeOwned>(value: &Value, origin: &str) -> Result<T, DocumentError> {
    serde_path_to_error::deserialize(value.clone()).map_err(|e| DocumentError::Field {
        origin: origin.to_string(),
        path: e.path().to_string(),
        message: e.inner().to_string(),
    })
}
