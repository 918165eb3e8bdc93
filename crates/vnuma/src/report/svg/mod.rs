//! Pictures: the host (and a plan on it) as a self-contained SVG, in the spirit of `lstopo`.
//!
//! Packages, NUMA nodes, cores and their SMT threads are nested boxes; each node shows its
//! memory and hugepages; the distance matrix follows (numbers up to 16 nodes, a heat map
//! beyond). With a plan, every pinned host thread carries its vCPU number and the colour of
//! its guest cell, emulator and IOThread CPUs are marked, each involved node gets a bar of the
//! hugepages it needs against those it has, and warnings and the error are drawn where they
//! apply. On large hosts, nodes that hold nothing of the plan are drawn compact.
//!
//! The layout is a tree of blocks: every box is a `<g>` whose first child is its frame
//! `<rect>`, and everything inside lies within that frame without touching its siblings. Text
//! is monospace, so its extent is estimated from its length ([`CHAR_ADVANCE_EM`],
//! [`ASCENT_EM`], [`DESCENT_EM`]); `tests/svg_layout.rs` re-measures the emitted SVG with
//! these numbers and proves nothing overlaps. The output uses generic font families only, no
//! scripts and no external references, and the same input always gives the same bytes.

use std::collections::BTreeSet;

use crate::cpuset::CpuSet;
use crate::ids::CpuId;
use crate::plan::GuestPlan;
use crate::report::{human_bytes, page_size_label};
use crate::topology::HostTopology;

use distances::distances_block;
use emit::document;
use host::{node_shape, nodes_block, pools_text};
use layout::{Block, Style};
use legend::{legend_item, plan_legend};
use overlay::Overlay;

mod distances;
mod emit;
mod host;
mod layout;
mod legend;
mod overlay;

/// The advance of one monospace character, in em, as the layout assumes it (generous: DejaVu
/// Sans Mono and Liberation Mono advance 0.6 em).
pub const CHAR_ADVANCE_EM: f64 = 0.62;
/// The height above the baseline a line of text may use, in em.
pub const ASCENT_EM: f64 = 0.8;
/// The depth below the baseline a line of text may use, in em.
pub const DESCENT_EM: f64 = 0.25;

const GAP: f64 = 4.0;
const PAD: f64 = 4.0;
const NODE_MAX_INNER: f64 = 540.0;
const PAGE_MIN: f64 = 640.0;
const PAGE_MAX: f64 = 1240.0;
const HEAT_CELL: f64 = 10.0;
const NUMBERED_MATRIX_MAX: usize = 16;
/// Nodes holding nothing of a plan are drawn compact on hosts with more nodes than this.
const COMPACT_ABOVE_NODES: usize = 4;

/// Guest cell colours (white text reads on all of them); cells beyond the palette reuse it.
const CELL_COLOURS: [&str; 8] = [
    "#1f77b4", "#2e8b3a", "#8e44ad", "#d35400", "#0e8a96", "#c2408f", "#7a7a0a", "#5b6abf",
];
const EMULATOR_FILL: &str = "#212121";
const IOTHREAD_FILL: &str = "#795548";
const UNUSED_FILL: &str = "#eeeeee";
const WARN_COLOUR: &str = "#b35900";
const ERROR_COLOUR: &str = "#c62828";

fn f(n: usize) -> f64 {
    f64::from(u32::try_from(n).unwrap_or(u32::MAX))
}

/// The colour of guest cell `index` (by position in the plan's cells).
fn cell_colour(index: usize) -> &'static str {
    CELL_COLOURS[index % CELL_COLOURS.len()]
}

fn header(title: &str, lines: &[String], page_w: f64) -> Block {
    let mut parts = vec![Block::paragraph(title, 16.0, true, "#000000", page_w)];
    parts.extend(
        lines
            .iter()
            .map(|l| Block::paragraph(l, 11.0, false, "#212121", page_w)),
    );
    Block::column(parts, 3.0)
}

fn summary(host: &HostTopology) -> String {
    let sockets: BTreeSet<u32> = host.cpus.iter().filter_map(|c| c.socket).collect();
    let cores: usize = host
        .nodes
        .iter()
        .map(|n| {
            node_shape(host, n)
                .packages
                .iter()
                .map(|(_, c)| c.len())
                .sum::<usize>()
        })
        .sum();
    let online = host.cpus.iter().filter(|c| c.online).count();
    format!(
        "{} NUMA nodes, {} packages, {cores} cores, {} CPUs ({online} online)",
        host.nodes.len(),
        if sockets.is_empty() {
            "?".to_string()
        } else {
            sockets.len().to_string()
        },
        host.cpus.len()
    )
}

/// The page: a header, optional extra blocks, the nodes, the distances, then the tail.
fn page(host: &HostTopology, overlay: Option<&Overlay<'_>>, title: &str, lines: &[String]) -> Block {
    let nodes = nodes_block(host, overlay, PAGE_MAX);
    let page_w = nodes.w.clamp(PAGE_MIN, PAGE_MAX);
    let mut parts = vec![header(title, lines, page_w)];
    if let Some(o) = overlay {
        if let Some(e) = &o.plan.error {
            let text = format!("CANNOT RUN ({}): {}", e.reason.as_str(), e.message);
            parts.push(
                Block::paragraph(&text, 12.0, true, "#ffffff", page_w - 12.0).framed(
                    Style::boxed(ERROR_COLOUR, "#7f0000", 1.0, 3.0),
                    6.0,
                    page_w,
                ),
            );
        }
        parts.push(plan_legend(o, page_w));
    } else if host.allowed.is_some() {
        let mut dashed = Style::boxed(UNUSED_FILL, "#616161", 0.8, 1.5);
        dashed.dashed = true;
        parts.push(legend_item(dashed, "outside the cgroup cpuset"));
    }
    parts.push(nodes);
    if let Some(d) = distances_block(host, overlay, page_w) {
        parts.push(d);
    }
    match overlay {
        Some(o) if !o.plan.warnings.is_empty() => {
            let mut lines = vec![Block::text("Warnings", 11.0, true, WARN_COLOUR)];
            for w in &o.plan.warnings {
                lines.push(Block::paragraph(
                    &format!("[{}] {}", w.code, w.message),
                    9.0,
                    false,
                    "#212121",
                    page_w - 12.0,
                ));
            }
            parts.push(Block::column(lines, 3.0).framed(
                Style::boxed("#fff4e5", WARN_COLOUR, 1.0, 3.0),
                6.0,
                page_w,
            ));
        }
        Some(_) => {}
        None => {
            let mut tail = vec![format!("system {}", pools_text(&host.hugepages_global))];
            if let Some(a) = &host.allowed {
                tail.push(format!("cgroup cpuset: cpus {}, mems {}", a.cpus, a.mems));
            }
            let offline: CpuSet = host.cpus.iter().filter(|c| !c.online).map(|c| c.id).collect();
            if !offline.is_empty() {
                tail.push(format!("offline CPUs: {offline}"));
            }
            parts.push(Block::column(
                tail.iter()
                    .map(|t| Block::paragraph(t, 9.0, false, "#424242", page_w))
                    .collect(),
                2.0,
            ));
        }
    }
    Block::column(parts, 12.0)
}

/// The host as an SVG picture: packages, NUMA nodes, cores and threads, memory and hugepages
/// per node, and the distance matrix. `title` heads the picture.
pub fn topology_svg(host: &HostTopology, title: &str) -> String {
    document(page(host, None, title, &[summary(host)]), title)
}

/// A plan drawn on its host: pinned threads with their vCPU numbers in their guest cell's
/// colour, emulator and IOThread CPUs, hugepages needed against free per node, the warnings,
/// and the error when the VM cannot run. `title` heads the picture.
pub fn plan_svg(plan: &GuestPlan, host: &HostTopology, title: &str) -> String {
    let overlay = Overlay::new(plan, host);
    let g = &plan.guest;
    let memory = match g.page_size_bytes {
        Some(p) => format!(
            "{} in {} hugepages",
            human_bytes(g.memory_bytes),
            page_size_label(p)
        ),
        None => human_bytes(g.memory_bytes),
    };
    let cpuset: CpuSet = plan.cpuset.iter().map(|&c| CpuId(c)).collect();
    let lines = vec![
        format!(
            "VMI {}/{}: {} socket(s) x {} core(s) x {} thread(s) = {} vCPUs, {memory}",
            plan.namespace, plan.name, g.sockets, g.cores, g.threads, g.vcpus
        ),
        format!("pod cpuset {cpuset}; host: {}", summary(host)),
    ];
    document(page(host, Some(&overlay), title, &lines), title)
}

#[cfg(test)]
mod tests {
    use super::emit::escape;
    use super::layout::wrap;
    use super::*;

    #[test]
    fn wraps_and_escapes() {
        assert_eq!(wrap("a bb ccc dddd", 6), vec!["a bb", "ccc", "dddd"]);
        assert_eq!(wrap("abcdefgh", 3), vec!["abc", "def", "gh"]);
        assert_eq!(escape("<a & 'b'>"), "&lt;a &amp; &apos;b&apos;&gt;");
    }

    #[test]
    fn deterministic_and_self_contained() {
        let host = crate::topology::examples::example("asymmetric").unwrap();
        let a = topology_svg(&host, "a <host>");
        assert_eq!(a, topology_svg(&host, "a <host>"));
        assert!(a.contains("a &lt;host&gt;"));
        for banned in ["<script", "href", "url(", "@import", "<image", "<foreignObject"] {
            assert!(!a.contains(banned), "{banned}");
        }
    }
}
