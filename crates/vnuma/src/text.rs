//! Printing documents: every `-o json` and `-o yaml` of every stage goes through these two, so
//! the forms agree (key order, nulls, the final newline).

use serde::Serialize;

/// A document as pretty JSON with a final newline (every `-o json`).
pub fn json_text<T: Serialize>(doc: &T) -> String {
    let mut text = serde_json::to_string_pretty(doc).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}

/// The same document as YAML (every `-o yaml`), through serde_json's value so key order and
/// nulls match the JSON form.
pub fn yaml_text<T: Serialize>(doc: &T) -> String {
    let value = serde_json::to_value(doc).unwrap_or(serde_json::Value::Null);
    serde_saphyr::to_string(&value).unwrap_or_else(|e| format!("error: {e}\n"))
}
