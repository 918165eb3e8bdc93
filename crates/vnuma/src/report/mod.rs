//! What the command line prints: versioned JSON documents (the shapes of `cli-contract.md`)
//! and tables for people. Pure: every function returns a `String`.
//!
//! Serde lives here and on wire types only, never on the domain model: a JSON field can be
//! added or renamed for the contract without touching the pipeline.

pub mod explain;
pub mod plan;
pub mod pod;
pub mod reschedule;
pub mod svg;
pub mod terminal;
pub mod topology;

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

/// A page size the way Kubernetes and KubeVirt name it: `2Mi`, `1Gi`, `64Ki`.
pub fn page_size_label(bytes: u64) -> String {
    const UNITS: [(u64, &str); 4] = [(1 << 40, "Ti"), (1 << 30, "Gi"), (1 << 20, "Mi"), (1 << 10, "Ki")];
    UNITS
        .iter()
        .find(|(unit, _)| bytes >= *unit && bytes.is_multiple_of(*unit))
        .map_or_else(
            || format!("{bytes}"),
            |(unit, name)| format!("{}{name}", bytes / unit),
        )
}

/// A memory size for people: `32 GiB`, `1.5 GiB`, `512 MiB`, `0 B`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (1 << 40, "TiB"),
        (1 << 30, "GiB"),
        (1 << 20, "MiB"),
        (1 << 10, "KiB"),
    ];
    for (unit, name) in UNITS {
        if bytes >= unit {
            let whole = bytes / unit;
            let tenths = (bytes % unit) * 10 / unit;
            return if tenths == 0 {
                format!("{whole} {name}")
            } else {
                format!("{whole}.{tenths} {name}")
            };
        }
    }
    format!("{bytes} B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(page_size_label(2 << 20), "2Mi");
        assert_eq!(page_size_label(1 << 30), "1Gi");
        assert_eq!(page_size_label(16 << 30), "16Gi");
        assert_eq!(page_size_label(64 << 10), "64Ki");
        assert_eq!(page_size_label(1000), "1000");
        assert_eq!(human_bytes(32 << 30), "32 GiB");
        assert_eq!(human_bytes(8386704 * 1024), "7.9 GiB");
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(512 << 20), "512 MiB");
    }
}
