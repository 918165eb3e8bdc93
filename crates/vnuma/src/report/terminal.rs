//! A compact map of the host for terminals: one line per NUMA node, one `[..]` per core,
//! each hardware thread shown by its CPU id or, with a plan, by what is pinned there (`vN`,
//! `emu`, `ioN`). Colour is ANSI escapes and only on request (`color`): pinned vCPUs in their
//! guest cell's colour, the emulator in reverse video, IOThreads underlined, unused CPUs dim.
//! Without colour the map reads the same, only plainer. Pure: the caller decides whether
//! stdout is a terminal and whether `NO_COLOR` is set.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::cpuset::NodeSet;
use crate::ids::CpuId;
use crate::plan::GuestPlan;
use crate::topology::{HostTopology, Node};

/// Foreground colours of guest cells (and, in the topology map, of packages), in turn.
const PALETTE: [&str; 6] = ["1;34", "1;32", "1;35", "1;33", "1;36", "1;31"];
const DIM: &str = "2";
const EMULATOR: &str = "1;7";
const IOTHREAD: &str = "1;4";
const BOLD: &str = "1";
const WIDTH: usize = 78;
/// Nodes that hold nothing of a plan are summed up in one line on hosts with more nodes.
const COLLAPSE_ABOVE_NODES: usize = 4;

fn paint(text: &str, code: Option<&str>, color: bool) -> String {
    match code {
        Some(code) if color => format!("\x1b[{code}m{text}\x1b[0m"),
        _ => text.to_string(),
    }
}

/// One thread as shown: its text and its colour code.
struct Shown {
    text: String,
    code: Option<&'static str>,
}

/// Lays out the nodes; `show` says how each thread looks, `skip` which nodes to sum up.
fn map(
    host: &HostTopology,
    heading: &str,
    color: bool,
    show: &dyn Fn(CpuId) -> Shown,
    skip: &dyn Fn(&Node) -> bool,
    skipped_note: &str,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\n{heading}");
    let width = host
        .nodes
        .iter()
        .flat_map(|n| n.cpus.iter())
        .map(|&c| show(c).text.chars().count())
        .max()
        .unwrap_or(1);
    let label_w = host
        .nodes
        .iter()
        .map(|n| format!("node {}", n.id).len())
        .max()
        .unwrap_or(6);
    let mut skipped: Vec<&Node> = Vec::new();
    for node in &host.nodes {
        if skip(node) {
            skipped.push(node);
            continue;
        }
        let label = format!("{:<label_w$}", format!("node {}", node.id));
        let prefix = format!("  {} ", paint(&label, Some(BOLD), color));
        let indent = " ".repeat(label_w + 3);
        if node.cpus.is_empty() {
            let _ = writeln!(out, "{prefix}(memory only)");
            continue;
        }
        let mut line = prefix;
        let mut used = label_w + 3;
        for core in host.node_cores(node) {
            let cells: Vec<String> = core
                .iter()
                .map(|&t| {
                    let s = show(t);
                    paint(&format!("{:>width$}", s.text), s.code, color)
                })
                .collect();
            let visible = 2 + core.len() * width + core.len().saturating_sub(1) + 1;
            if used > label_w + 3 && used + visible > WIDTH {
                let _ = writeln!(out, "{}", line.trim_end());
                line = indent.clone();
                used = label_w + 3;
            }
            let _ = write!(line, "[{}] ", cells.join(" "));
            used += visible;
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    if !skipped.is_empty() {
        let ids: NodeSet = skipped.iter().map(|n| n.id).collect();
        let noun = if skipped.len() == 1 { "node" } else { "nodes" };
        let _ = writeln!(
            out,
            "  {}",
            paint(&format!("{noun} {ids}: {skipped_note}"), Some(DIM), color)
        );
    }
    out
}

/// The host map: CPUs by id, coloured by package; CPUs outside the cgroup cpuset dim.
pub fn topology_map(host: &HostTopology, color: bool) -> String {
    let sockets: BTreeMap<u32, usize> = host
        .cpus
        .iter()
        .filter_map(|c| c.socket)
        .collect::<BTreeSet<u32>>()
        .into_iter()
        .enumerate()
        .map(|(i, s)| (s, i))
        .collect();
    let show = |cpu: CpuId| {
        let allowed = host.allowed.as_ref().is_none_or(|a| a.cpus.contains(cpu));
        let code = if allowed {
            host.cpu(cpu)
                .and_then(|c| c.socket)
                .and_then(|s| sockets.get(&s))
                .map(|&i| PALETTE[i % PALETTE.len()])
        } else {
            Some(DIM)
        };
        Shown {
            text: cpu.to_string(),
            code,
        }
    };
    let heading = if host.allowed.is_some() {
        "map (one [..] per core, CPUs by id, coloured by package; dim: outside the cgroup cpuset):"
    } else {
        "map (one [..] per core, CPUs by id, coloured by package):"
    };
    map(host, heading, color, &show, &|_| false, "")
}

/// The plan on the host map: each pinned thread shows `vN` in its guest cell's colour,
/// `emu` (reverse video) for the emulator, `ioN` (underlined) for IOThreads; other CPUs by id,
/// dim unless in the pod cpuset. On hosts with many nodes, the nodes holding nothing of the
/// VM are summed up in one line. Ends with the cell colours.
pub fn plan_map(plan: &GuestPlan, host: &HostTopology, color: bool) -> String {
    let cell_of = |vcpu: u32| plan.cells.iter().position(|c| c.vcpus.contains(&vcpu));
    let mut labels: BTreeMap<u32, (Vec<String>, Option<&'static str>)> = BTreeMap::new();
    for &(vcpu, cpu) in &plan.vcpupin {
        let entry = labels.entry(cpu).or_default();
        entry.0.push(format!("v{vcpu}"));
        if entry.1.is_none() {
            entry.1 = Some(PALETTE[cell_of(vcpu).unwrap_or(0) % PALETTE.len()]);
        }
    }
    for &cpu in plan.emulatorpin.iter().flatten() {
        let entry = labels.entry(cpu).or_default();
        entry.0.push("emu".into());
        entry.1 = Some(EMULATOR);
    }
    for (id, cpus) in &plan.iothreadpin {
        for &cpu in cpus {
            let entry = labels.entry(cpu).or_default();
            entry.0.push(format!("io{id}"));
            if entry.1.is_none() {
                entry.1 = Some(IOTHREAD);
            }
        }
    }
    let cpuset: BTreeSet<u32> = plan.cpuset.iter().copied().collect();
    let show = |cpu: CpuId| match labels.get(&cpu.0) {
        Some((parts, code)) => Shown {
            text: parts.join("+"),
            code: *code,
        },
        None => Shown {
            text: cpu.to_string(),
            code: if cpuset.contains(&cpu.0) { None } else { Some(DIM) },
        },
    };
    let hosting: BTreeSet<u32> = plan
        .cells
        .iter()
        .flat_map(|c| c.host_nodes.iter().copied())
        .collect();
    let many = host.nodes.len() > COLLAPSE_ABOVE_NODES;
    let skip = |node: &Node| {
        many && !hosting.contains(&node.id.0)
            && !node
                .cpus
                .iter()
                .any(|c| labels.contains_key(&c.0) || cpuset.contains(&c.0))
    };
    let mut out = map(
        host,
        "map (one [..] per core; vN = vCPU N in its guest cell's colour, emu = emulator,\n\
         ioN = IOThread N; other CPUs by id, dim outside the pod cpuset):",
        color,
        &show,
        &skip,
        "nothing of this VM",
    );
    if !plan.cells.is_empty() {
        let cells: Vec<String> = plan
            .cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                paint(
                    &format!(
                        "cell {} = node{} {}",
                        c.id,
                        if c.host_nodes.len() == 1 { "" } else { "s" },
                        c.host_nodes_label()
                    ),
                    Some(PALETTE[i % PALETTE.len()]),
                    color,
                )
            })
            .collect();
        let _ = writeln!(out, "  guest cells: {}", cells.join(", "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::examples::example;

    #[test]
    fn plain_without_color() {
        let host = example("dual-socket").unwrap();
        let text = topology_map(&host, false);
        assert!(!text.contains('\x1b'));
        assert!(text.contains("node 0 [ 0 16] [ 1 17]"), "{text}");
        let coloured = topology_map(&host, true);
        assert!(coloured.contains("\x1b[1;34m 0\x1b[0m"), "{coloured}");
    }

    #[test]
    fn lines_stay_narrow() {
        let host = example("asymmetric").unwrap();
        for line in topology_map(&host, false).lines().skip(2) {
            assert!(line.len() <= WIDTH, "{line}");
        }
    }
}
