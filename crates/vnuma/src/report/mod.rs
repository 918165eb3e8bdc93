//! What the command line prints: versioned JSON documents (the shapes of `cli-contract.md`)
//! and tables for people. Pure: every function returns a `String`.
//!
//! Serde lives here and on wire types only, never on the domain model: a JSON field can be
//! added or renamed for the contract without touching the pipeline.

pub mod allocate;
pub mod explain;
pub mod plan;
pub mod pod;
pub mod reschedule;
pub mod svg;
pub mod terminal;
pub mod topology;

pub use crate::k8s::pages::page_size_label;
pub use crate::text::{json_text, yaml_text};

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
