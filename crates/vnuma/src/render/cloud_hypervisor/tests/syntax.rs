//! A strict reader of the Cloud Hypervisor options vnuma writes, following CH's own
//! `option_parser` (`split_commas`, `IntegerList`, `Tuple`, `StringList`, `ByteSized`), and the
//! semantic checks of a rendered command line against its plan. Shared by the unit tests and
//! `tests/cloud_hypervisor_args.rs` (included there with `#[path]`), so it names the plan type
//! through its parent module.

use std::collections::{BTreeMap, BTreeSet};

use super::GuestPlan;

/// Splits at commas outside `[...]`, as CH's `split_commas` does (no quotes in our output).
pub(crate) fn split_top(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    for c in text.chars() {
        match c {
            '[' => {
                depth += 1;
                current.push(c);
            }
            ']' => {
                depth = depth
                    .checked_sub(1)
                    .unwrap_or_else(|| panic!("unbalanced ] in {text:?}"));
                current.push(c);
            }
            ',' if depth == 0 => parts.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    assert_eq!(depth, 0, "unbalanced [ in {text:?}");
    parts.push(current);
    parts
}

/// `key=value` pairs of one option value; every key must be in `known` and appear once.
pub(crate) fn pairs(text: &str, known: &[&str]) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for part in split_top(text) {
        let (key, value) = part
            .split_once('=')
            .unwrap_or_else(|| panic!("{part:?} in {text:?} is not key=value"));
        assert!(known.contains(&key), "unknown key {key:?} in {text:?}");
        assert!(!value.is_empty(), "empty value for {key:?} in {text:?}");
        assert!(
            map.insert(key.to_string(), value.to_string()).is_none(),
            "{key:?} twice in {text:?}"
        );
    }
    map
}

/// Strips one pair of brackets, which must be there.
fn bracketed(text: &str) -> &str {
    text.strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or_else(|| panic!("{text:?} is not [...]"))
}

/// CH's `IntegerList` in brackets: ids and `a-b` ranges with `a < b`, ascending, no repeats.
pub(crate) fn int_list(text: &str) -> Vec<u32> {
    let mut ids: Vec<u32> = Vec::new();
    for piece in bracketed(text).split(',') {
        let (start, end) = match piece.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.parse().unwrap(), b.parse().unwrap());
                assert!(a < b, "range {piece:?} in {text:?}: CH needs start < end");
                (a, b)
            }
            None => {
                let a = piece.parse().unwrap_or_else(|_| panic!("{piece:?} in {text:?}"));
                (a, a)
            }
        };
        for id in start..=end {
            assert!(ids.last().is_none_or(|&last| last < id), "{text:?} not ascending");
            ids.push(id);
        }
    }
    ids
}

/// CH's `Tuple`: `[a@b,...]`, each `b` left as text.
pub(crate) fn tuples(text: &str) -> Vec<(u32, String)> {
    split_top(bracketed(text))
        .into_iter()
        .map(|t| {
            let (a, b) = t
                .split_once('@')
                .unwrap_or_else(|| panic!("{t:?} in {text:?} is not a@b"));
            assert!(!b.contains('@') || b.starts_with('['), "{t:?}");
            (a.parse().unwrap(), b.to_string())
        })
        .collect()
}

/// CH's `ByteSized`: a number with an optional `K`, `M` or `G` (powers of 1024).
pub(crate) fn bytes(text: &str) -> u64 {
    let (digits, shift) = match text.as_bytes().last() {
        Some(b'K') => (&text[..text.len() - 1], 10),
        Some(b'M') => (&text[..text.len() - 1], 20),
        Some(b'G') => (&text[..text.len() - 1], 30),
        _ => (text, 0),
    };
    let value: u64 = digits.parse().unwrap_or_else(|_| panic!("size {text:?}"));
    value.checked_shl(shift).filter(|v| v >> shift == value).unwrap()
}

/// `--cpus`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cpus {
    pub(crate) boot: u32,
    pub(crate) max: Option<u32>,
    /// threads, cores, dies, packages.
    pub(crate) topology: (u32, u32, u32, u32),
    pub(crate) affinity: Vec<(u32, Vec<u32>)>,
}

/// One `--memory-zone` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Zone {
    pub(crate) id: String,
    pub(crate) size: u64,
    pub(crate) hugepage_size: Option<u64>,
    pub(crate) host_numa_node: Option<u32>,
    pub(crate) prefault: bool,
}

/// One `--numa` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Numa {
    pub(crate) id: u32,
    pub(crate) cpus: Option<Vec<u32>>,
    pub(crate) distances: Option<Vec<(u32, u32)>>,
    pub(crate) memory_zones: Vec<String>,
}

/// A whole command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parsed {
    pub(crate) binary: String,
    pub(crate) cpus: Cpus,
    pub(crate) memory_size: u64,
    pub(crate) zones: Vec<Zone>,
    pub(crate) numa: Vec<Numa>,
}

fn on(value: Option<&String>) -> bool {
    match value.map(String::as_str) {
        None | Some("off") => false,
        Some("on") => true,
        Some(other) => panic!("toggle {other:?}"),
    }
}

/// Reads an argument vector: the binary, then options each followed by its values.
pub(crate) fn parse(argv: &[String]) -> Parsed {
    let (binary, rest) = argv.split_first().expect("a binary");
    let mut options: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut current: Option<&str> = None;
    for arg in rest {
        if let Some(flag) = arg.strip_prefix("--") {
            assert!(
                options.insert(flag, Vec::new()).is_none(),
                "--{flag} given twice: CH takes several values after one flag"
            );
            current = Some(flag);
        } else {
            let flag = current.unwrap_or_else(|| panic!("value {arg:?} before any option"));
            options.get_mut(flag).unwrap().push(arg);
        }
    }
    for (flag, values) in &options {
        assert!(!values.is_empty(), "--{flag} without a value");
        assert!(
            matches!(*flag, "cpus" | "memory" | "memory-zone" | "numa"),
            "unexpected option --{flag}"
        );
    }
    let single = |flag: &str| -> &str {
        let values = options.get(flag).unwrap_or_else(|| panic!("no --{flag}"));
        assert_eq!(values.len(), 1, "--{flag} takes one value");
        values[0]
    };

    let c = pairs(single("cpus"), &["boot", "max", "topology", "affinity"]);
    let topology: Vec<u32> = c["topology"].split(':').map(|p| p.parse().unwrap()).collect();
    assert_eq!(topology.len(), 4, "topology {:?}", c["topology"]);
    let affinity = c.get("affinity").map_or_else(Vec::new, |a| {
        tuples(a).into_iter().map(|(v, l)| (v, int_list(&l))).collect()
    });
    let cpus = Cpus {
        boot: c["boot"].parse().unwrap(),
        max: c.get("max").map(|m| m.parse().unwrap()),
        topology: (topology[0], topology[1], topology[2], topology[3]),
        affinity,
    };

    let m = pairs(single("memory"), &["size"]);
    let memory_size = bytes(&m["size"]);

    let zones = options
        .get("memory-zone")
        .map(|values| {
            values
                .iter()
                .map(|z| {
                    let p = pairs(
                        z,
                        &[
                            "id",
                            "size",
                            "hugepages",
                            "hugepage_size",
                            "host_numa_node",
                            "prefault",
                        ],
                    );
                    let hugepages = on(p.get("hugepages"));
                    assert!(
                        hugepages || !p.contains_key("hugepage_size"),
                        "hugepage_size without hugepages=on in {z:?}"
                    );
                    Zone {
                        id: p["id"].clone(),
                        size: bytes(&p["size"]),
                        hugepage_size: p.get("hugepage_size").map(|s| bytes(s)),
                        host_numa_node: p.get("host_numa_node").map(|n| n.parse().unwrap()),
                        prefault: on(p.get("prefault")),
                    }
                })
                .collect()
        })
        .unwrap_or_default();

    let numa = options
        .get("numa")
        .map(|values| {
            values
                .iter()
                .map(|n| {
                    let p = pairs(n, &["guest_numa_id", "cpus", "distances", "memory_zones"]);
                    Numa {
                        id: p["guest_numa_id"].parse().unwrap(),
                        cpus: p.get("cpus").map(|c| int_list(c)),
                        distances: p.get("distances").map(|d| {
                            tuples(d)
                                .into_iter()
                                .map(|(to, v)| (to, v.parse().unwrap()))
                                .collect()
                        }),
                        memory_zones: p
                            .get("memory_zones")
                            .map(|z| bracketed(z).split(',').map(str::to_string).collect())
                            .unwrap_or_default(),
                    }
                })
                .collect()
        })
        .unwrap_or_default();

    Parsed {
        binary: binary.clone(),
        cpus,
        memory_size,
        zones,
        numa,
    }
}

/// Asserts what a rendered command line must mean for its plan: topology and boot vCPUs,
/// affinity = `vcpupin`, every pinned vCPU in exactly one `--numa` node, zones that sum to
/// the guest memory, each bound to its cell's host node (and numatune's), page sizes, and the
/// distances of each cell to the others.
pub(crate) fn check_semantics(plan: &GuestPlan, argv: &[String], what: &str) {
    let parsed = parse(argv);
    let g = &plan.guest;

    // --cpus
    assert_eq!(parsed.cpus.boot, g.vcpus, "{what}: boot");
    let packages = if g.max_sockets == 0 {
        assert_eq!(parsed.cpus.max, None, "{what}: max without hotplug");
        g.sockets
    } else {
        assert_eq!(
            parsed.cpus.max,
            Some(g.max_sockets * g.cores * g.threads),
            "{what}: max"
        );
        g.max_sockets
    };
    assert_eq!(
        parsed.cpus.topology,
        (g.threads, g.cores, 1, packages),
        "{what}: topology"
    );
    let max = parsed.cpus.max.unwrap_or(parsed.cpus.boot);
    let (t, c, d, p) = parsed.cpus.topology;
    assert_eq!(t * c * d * p, max, "{what}: topology product");
    let pins: Vec<(u32, Vec<u32>)> = plan.vcpupin.iter().map(|&(v, c)| (v, vec![c])).collect();
    assert_eq!(parsed.cpus.affinity, pins, "{what}: affinity = vcpupin");

    // --numa: one node per cell, in order, each pinned vCPU in exactly one node
    assert_eq!(parsed.numa.len(), plan.cells.len(), "{what}: one --numa per cell");
    if !plan.cells.is_empty() {
        for (vcpu, _) in &plan.vcpupin {
            let holders = parsed
                .numa
                .iter()
                .filter(|n| n.cpus.as_ref().is_some_and(|c| c.contains(vcpu)))
                .count();
            assert_eq!(holders, 1, "{what}: pinned vcpu {vcpu} in {holders} --numa nodes");
        }
        let mut all: Vec<u32> = parsed
            .numa
            .iter()
            .flat_map(|n| n.cpus.clone().unwrap_or_default())
            .collect();
        all.sort_unstable();
        assert_eq!(
            all,
            (0..g.vcpus).collect::<Vec<_>>(),
            "{what}: the nodes cover the boot vcpus once"
        );
    }
    for (node, cell) in parsed.numa.iter().zip(&plan.cells) {
        assert_eq!(node.id, cell.id, "{what}: guest_numa_id");
        assert_eq!(
            node.cpus.as_deref(),
            Some(cell.vcpus.as_slice()),
            "{what}: cell {} cpus",
            cell.id
        );
        let expected: Vec<(u32, u32)> = cell
            .distances
            .iter()
            .flatten()
            .copied()
            .filter(|(to, _)| *to != cell.id)
            .collect();
        let got = node.distances.clone().unwrap_or_default();
        assert_eq!(got, expected, "{what}: cell {} distances to the others", cell.id);
        assert!(
            got.iter().all(|(to, v)| *to != cell.id && *v <= 255),
            "{what}: {got:?}"
        );
        assert_eq!(node.memory_zones.len(), 1, "{what}: one zone per node");
    }

    // --memory and zones
    let zone_ids: BTreeSet<&str> = parsed.zones.iter().map(|z| z.id.as_str()).collect();
    assert_eq!(zone_ids.len(), parsed.zones.len(), "{what}: zone ids unique");
    if parsed.zones.is_empty() {
        assert_eq!(parsed.memory_size, g.memory_bytes, "{what}: --memory size");
        assert!(
            g.page_size_bytes.is_none() && plan.cells.is_empty(),
            "{what}: zones missing"
        );
        return;
    }
    assert_eq!(parsed.memory_size, 0, "{what}: --memory size=0 with zones");
    let total: u64 = parsed.zones.iter().map(|z| z.size).sum();
    assert_eq!(total, g.memory_bytes, "{what}: zones sum to the guest memory");
    for zone in &parsed.zones {
        assert_eq!(
            zone.hugepage_size, g.page_size_bytes,
            "{what}: {} page size",
            zone.id
        );
        if let Some(page) = zone.hugepage_size {
            assert!(page.is_power_of_two(), "{what}: page {page}");
            assert_eq!(zone.size % page, 0, "{what}: {} misaligned", zone.id);
            assert!(zone.prefault, "{what}: {} prefault", zone.id);
        }
    }
    if plan.cells.is_empty() {
        assert_eq!(parsed.zones.len(), 1, "{what}: one zone without cells");
        assert_eq!(
            parsed.zones[0].host_numa_node, None,
            "{what}: no host node without cells"
        );
        return;
    }
    assert_eq!(parsed.zones.len(), plan.cells.len(), "{what}: one zone per cell");
    for (node, cell) in parsed.numa.iter().zip(&plan.cells) {
        let zone = parsed
            .zones
            .iter()
            .find(|z| z.id == node.memory_zones[0])
            .unwrap_or_else(|| {
                panic!(
                    "{what}: node {} names unknown zone {:?}",
                    node.id, node.memory_zones
                )
            });
        assert_eq!(zone.size, cell.memory_bytes, "{what}: {} size", zone.id);
        assert_eq!(
            zone.host_numa_node,
            cell.host_node(),
            "{what}: {} host node",
            zone.id
        );
        if let Some(numatune) = &plan.numatune {
            let bound: Vec<u32> = numatune
                .memnodes
                .iter()
                .filter(|(g, _)| *g == cell.id)
                .flat_map(|(_, h)| h.iter().copied())
                .collect();
            assert_eq!(bound, cell.host_nodes, "{what}: numatune of cell {}", cell.id);
        }
        let users = parsed
            .numa
            .iter()
            .filter(|n| n.memory_zones.contains(&zone.id))
            .count();
        assert_eq!(users, 1, "{what}: {} belongs to {users} nodes", zone.id);
    }
}
