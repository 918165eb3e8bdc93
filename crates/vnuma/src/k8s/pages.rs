//! Page sizes as Kubernetes names them (`hugepages-2Mi`, `pageSize: 1Gi`).

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
