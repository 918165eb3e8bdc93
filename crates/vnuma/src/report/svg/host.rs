//! Drawing the host: packages, NUMA nodes with their memory and hugepages, cores and their
//! SMT threads, and a plan's marks on them.

use std::collections::{BTreeMap, BTreeSet};

use crate::cpuset::CpuSet;
use crate::ids::CpuId;
use crate::report::{human_bytes, page_size_label};
use crate::topology::{HostTopology, HugepagePool, Node};

use super::layout::{Block, Style, centred, line_height, text_width};
use super::overlay::{Mark, Overlay};
use super::{
    CELL_COLOURS, COMPACT_ABOVE_NODES, EMULATOR_FILL, ERROR_COLOUR, GAP, IOTHREAD_FILL, NODE_MAX_INNER, PAD,
    UNUSED_FILL, WARN_COLOUR, cell_colour,
};

/// `part / whole` as a fraction, without float casts of large integers.
fn fraction(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    let per_million = u128::from(part) * 1_000_000 / u128::from(whole);
    f64::from(u32::try_from(per_million).unwrap_or(1_000_000)) / 1_000_000.0
}

/// One node's CPUs grouped into packages and cores, in the node's order.
pub(super) struct NodeShape<'a> {
    node: &'a Node,
    pub(super) packages: Vec<(Option<u32>, Vec<Vec<CpuId>>)>,
}

pub(super) fn node_shape<'a>(host: &HostTopology, node: &'a Node) -> NodeShape<'a> {
    // A core belongs to the package of its first CPU in the node's order.
    let mut order: BTreeMap<CpuId, usize> = BTreeMap::new();
    for (i, &cpu) in node.cpus.iter().enumerate() {
        order.entry(cpu).or_insert(i);
    }
    let mut packages: Vec<(Option<u32>, Vec<Vec<CpuId>>)> = Vec::new();
    for core in host.node_cores(node) {
        let socket = core
            .iter()
            .min_by_key(|c| order.get(c))
            .and_then(|&c| host.cpu(c))
            .and_then(|c| c.socket);
        match packages.iter_mut().find(|(s, _)| *s == socket) {
            Some((_, cores)) => cores.push(core),
            None => packages.push((socket, vec![core])),
        }
    }
    NodeShape { node, packages }
}

/// Nodes grouped by shared packages: a package spread over several nodes (sub-NUMA
/// clustering) holds them all; otherwise each node stands alone. In host order.
fn node_groups<'a>(shapes: &'a [NodeShape<'a>]) -> Vec<(BTreeSet<u32>, Vec<&'a NodeShape<'a>>)> {
    let mut groups: Vec<(BTreeSet<u32>, Vec<&NodeShape<'_>>)> = Vec::new();
    for shape in shapes {
        let sockets: BTreeSet<u32> = shape.packages.iter().filter_map(|(s, _)| *s).collect();
        let hits: Vec<usize> = groups
            .iter()
            .enumerate()
            .filter(|(_, (s, _))| !s.is_disjoint(&sockets))
            .map(|(i, _)| i)
            .collect();
        match hits.split_first() {
            None => groups.push((sockets, vec![shape])),
            Some((&first, rest)) => {
                for &i in rest.iter().rev() {
                    let (s, members) = groups.remove(i);
                    groups[first].0.extend(s);
                    groups[first].1.extend(members);
                }
                groups[first].0.extend(sockets);
                groups[first].1.push(shape);
            }
        }
    }
    groups
}

fn joined(ids: &BTreeSet<u32>) -> String {
    ids.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// Sizes every thread box shares.
struct ThreadMetrics {
    w: f64,
    h: f64,
    two_lines: bool,
}

const ID_SIZE: f64 = 9.0;

const LABEL_SIZE: f64 = 10.0;

fn thread_metrics(host: &HostTopology, overlay: Option<&Overlay<'_>>) -> ThreadMetrics {
    let id_w = host
        .cpus
        .iter()
        .map(|c| text_width(&c.id.to_string(), ID_SIZE))
        .fold(0.0, f64::max);
    let label_w = overlay
        .map(|o| {
            o.marks
                .values()
                .filter_map(Mark::label)
                .map(|l| text_width(&l, LABEL_SIZE))
                .fold(0.0, f64::max)
        })
        .unwrap_or(0.0);
    let two_lines = overlay.is_some();
    let inner_h = if two_lines {
        line_height(ID_SIZE) + 1.0 + line_height(LABEL_SIZE)
    } else {
        line_height(ID_SIZE)
    };
    ThreadMetrics {
        w: (id_w.max(label_w) + 6.0).max(16.0),
        h: inner_h + 4.0,
        two_lines,
    }
}

fn thread_block(cpu: CpuId, host: &HostTopology, overlay: Option<&Overlay<'_>>, m: &ThreadMetrics) -> Block {
    let allowed = host.allowed.as_ref().is_none_or(|a| a.cpus.contains(cpu));
    let mark = overlay.and_then(|o| o.marks.get(&cpu.0));
    let label = mark.and_then(Mark::label);
    let (fill, text_fill, id_fill) = match mark {
        Some(mk) if !mk.vcpus.is_empty() => {
            (mk.cell.map_or(CELL_COLOURS[0], cell_colour), "#ffffff", "#ffffff")
        }
        Some(mk) if mk.emulator => (EMULATOR_FILL, "#ffffff", "#ffffff"),
        Some(mk) if !mk.iothreads.is_empty() => (IOTHREAD_FILL, "#ffffff", "#ffffff"),
        Some(_) => ("#ffffff", "#000000", "#000000"),
        None if overlay.is_some() || !allowed => (UNUSED_FILL, "#9e9e9e", "#9e9e9e"),
        None => ("#ffffff", "#000000", "#000000"),
    };
    let mut style = Style::boxed(fill, "#616161", 0.8, 1.5);
    if mark.is_some_and(|mk| mk.in_cpuset && label.is_none()) {
        style.stroke = "#000000";
        style.stroke_width = 1.2;
        style.dashed = true;
    }
    if !allowed {
        style.dashed = true;
    }
    let inner_w = m.w - 4.0;
    let id_text = cpu.to_string();
    let mut lines = vec![centred(&id_text, ID_SIZE, false, id_fill, inner_w)];
    if m.two_lines {
        lines.push(match &label {
            Some(l) => centred(l, LABEL_SIZE, true, text_fill, inner_w),
            None => Block::space(inner_w, line_height(LABEL_SIZE)),
        });
    }
    let mut b = Block::column(lines, 1.0).framed(style, 2.0, m.w);
    b.h = b.h.max(m.h);
    b
}

fn core_block(
    threads: &[CpuId],
    host: &HostTopology,
    overlay: Option<&Overlay<'_>>,
    m: &ThreadMetrics,
) -> Block {
    let shared = overlay.is_some_and(|o| {
        o.share_core
            && threads
                .iter()
                .filter_map(|t| o.marks.get(&t.0))
                .map(|mk| mk.vcpus.len())
                .sum::<usize>()
                > 1
    });
    let style = if shared {
        Style::boxed("#c8c8c8", WARN_COLOUR, 2.0, 2.0)
    } else {
        Style::boxed("#c8c8c8", "#9e9e9e", 0.8, 2.0)
    };
    Block::row(
        threads
            .iter()
            .map(|&t| thread_block(t, host, overlay, m))
            .collect(),
        2.0,
    )
    .framed(style, 2.5, 0.0)
}

/// A grid of cores, `per_row` to a row, each in a slot as wide as the widest core.
fn cores_grid(
    cores: &[Vec<CpuId>],
    host: &HostTopology,
    overlay: Option<&Overlay<'_>>,
    m: &ThreadMetrics,
) -> Block {
    let blocks: Vec<Block> = cores.iter().map(|c| core_block(c, host, overlay, m)).collect();
    let slot = blocks.iter().map(|b| b.w).fold(0.0, f64::max);
    let per_row = ((NODE_MAX_INNER - 2.0 * PAD + 3.0) / (slot + 3.0))
        .floor()
        .max(1.0);
    Block::flow(blocks, 3.0, per_row * (slot + 3.0))
}

pub(super) fn pools_text(pools: &[HugepagePool]) -> String {
    format!("hugepages: {}", crate::report::topology::pools_line(pools))
}

fn memory_text(node: &Node) -> String {
    match node.memory_bytes {
        Some(0) => "no memory".into(),
        Some(b) => human_bytes(b),
        None => "memory unknown".into(),
    }
}

/// A hugepage bar: need against free, `w` wide.
fn hugepage_bar(needed: u64, free: u64, colour: &'static str, w: f64) -> Block {
    let scale = needed.max(free).max(1);
    let part = |n: u64| w * fraction(n, scale);
    let mut segments = Vec::new();
    let covered = needed.min(free);
    if covered > 0 {
        segments.push(Block::rect(part(covered), 7.0, Style::fill(colour)));
    }
    if free > needed {
        segments.push(Block::rect(part(free - needed), 7.0, Style::fill("#b9e0b0")));
    } else if needed > free {
        segments.push(Block::rect(part(needed - free), 7.0, Style::fill(ERROR_COLOUR)));
    }
    let mut inner = Block::row(segments, 0.0);
    inner.w = w;
    inner.h = 7.0;
    inner.framed(Style::boxed("#f5f5f5", "#757575", 0.6, 0.0), 1.0, 0.0)
}

/// The pieces of one node card above its cores.
fn node_card(
    shape: &NodeShape<'_>,
    host: &HostTopology,
    overlay: Option<&Overlay<'_>>,
    m: &ThreadMetrics,
    package_boxes: bool,
    inner_w: f64,
) -> Block {
    let node = shape.node;
    let id = node.id.0;
    let compact = overlay.is_some_and(|o| !o.active.contains(&id)) && host.nodes.len() > COMPACT_ABOVE_NODES;
    let mut parts = vec![Block::paragraph(
        &format!("Node {}: {}", node.id, memory_text(node)),
        11.0,
        true,
        "#000000",
        inner_w,
    )];
    let short = overlay.is_some_and(|o| {
        o.plan
            .hugepages
            .iter()
            .any(|v| v.host_nodes.contains(&id) && !v.fits)
    });
    if let Some(o) = overlay {
        for &ci in o.cells_on.get(&id).into_iter().flatten() {
            let cell = &o.plan.cells[ci];
            let text = format!(
                "guest cell {}: vCPUs {}, {}",
                cell.id,
                cell.vcpus.iter().map(|&v| CpuId(v)).collect::<CpuSet>(),
                human_bytes(cell.memory_bytes)
            );
            let swatch = Block::rect(9.0, 9.0, Style::boxed(cell_colour(ci), "#424242", 0.6, 0.0));
            let label = Block::paragraph(&text, 10.0, true, cell_colour(ci), inner_w - 14.0);
            parts.push(Block::row(vec![swatch, label], 5.0));
        }
        for v in o.plan.hugepages.iter().filter(|v| v.host_nodes.contains(&id)) {
            let page = page_size_label(v.page_size_bytes);
            let kind = if v.free_known {
                "free"
            } else {
                "total (free unknown)"
            };
            let text = if v.fits {
                format!("{page} pages: need {} of {} {kind}", v.pages_needed, v.pages_free)
            } else {
                format!(
                    "{page} pages: need {}, {} {kind}: SHORT by {}",
                    v.pages_needed,
                    v.pages_free,
                    v.pages_needed - v.pages_free
                )
            };
            let colour = if v.fits { "#000000" } else { ERROR_COLOUR };
            parts.push(Block::paragraph(&text, 9.0, !v.fits, colour, inner_w));
            let bar_colour = o
                .cells_on
                .get(&id)
                .and_then(|c| c.first())
                .map_or(CELL_COLOURS[0], |&ci| cell_colour(ci));
            parts.push(hugepage_bar(
                v.pages_needed,
                v.pages_free,
                bar_colour,
                inner_w - 2.0,
            ));
        }
        let mut badges = Vec::new();
        if o.asymmetric && o.cells_on.contains_key(&id) {
            badges.push("! asymmetric guest cells (see warnings)");
        }
        if o.emulator_elsewhere
            && node
                .cpus
                .iter()
                .any(|c| o.marks.get(&c.0).is_some_and(|mk| mk.emulator))
        {
            badges.push("! emulator thread away from the vCPUs");
        }
        for badge in badges {
            parts.push(Block::paragraph(badge, 9.0, true, WARN_COLOUR, inner_w));
        }
    } else {
        parts.push(Block::paragraph(
            &pools_text(&node.hugepages),
            9.0,
            false,
            "#424242",
            inner_w,
        ));
    }
    if node.cpus.is_empty() {
        parts.push(Block::paragraph(
            "no CPUs (memory only)",
            9.0,
            false,
            "#424242",
            inner_w,
        ));
    } else if compact {
        let cores: usize = shape.packages.iter().map(|(_, c)| c.len()).sum();
        let cpus: CpuSet = node.cpus.iter().copied().collect();
        parts.push(Block::paragraph(
            &format!("{cores} cores, CPUs {cpus} (unused)"),
            9.0,
            false,
            "#757575",
            inner_w,
        ));
    } else if package_boxes {
        let packages: Vec<Block> = shape
            .packages
            .iter()
            .map(|(socket, cores)| {
                let label = socket.map_or_else(|| "Package ?".to_string(), |s| format!("Package {s}"));
                Block::column(
                    vec![
                        Block::text(&label, 9.0, false, "#000000"),
                        cores_grid(cores, host, overlay, m),
                    ],
                    2.0,
                )
                .framed(Style::boxed("#e0e0e0", "#9e9e9e", 0.8, 2.0), 3.0, 0.0)
            })
            .collect();
        parts.push(Block::flow(packages, GAP, inner_w));
    } else {
        let cores: Vec<Vec<CpuId>> = shape
            .packages
            .iter()
            .flat_map(|(_, c)| c.iter().cloned())
            .collect();
        parts.push(cores_grid(&cores, host, overlay, m));
    }
    let (stroke, width) = if short {
        (ERROR_COLOUR, 2.5)
    } else {
        ("#a08080", 1.0)
    };
    let mut body = Block::column(parts, 3.0);
    body.w = inner_w;
    body.framed(Style::boxed("#f6ebe9", stroke, width, 3.0), PAD, 0.0)
}

/// The natural inner width of a node card: its widest row of packages or cores.
fn natural_width(
    shape: &NodeShape<'_>,
    host: &HostTopology,
    overlay: Option<&Overlay<'_>>,
    m: &ThreadMetrics,
) -> f64 {
    let packages: Vec<Block> = shape
        .packages
        .iter()
        .map(|(_, cores)| cores_grid(cores, host, overlay, m).framed(Style::fill("none"), 3.0, 0.0))
        .collect();
    Block::flow(packages, GAP, NODE_MAX_INNER).w
}

/// Every node, grouped into shared packages, flowing over the page.
pub(super) fn nodes_block(host: &HostTopology, overlay: Option<&Overlay<'_>>, page_w: f64) -> Block {
    let m = thread_metrics(host, overlay);
    let shapes: Vec<NodeShape<'_>> = host.nodes.iter().map(|n| node_shape(host, n)).collect();
    let inner_w = shapes
        .iter()
        .map(|s| natural_width(s, host, overlay, &m))
        .fold(230.0, f64::max)
        .min(NODE_MAX_INNER);
    let mut blocks = Vec::new();
    for (sockets, members) in node_groups(&shapes) {
        if members.len() > 1 {
            let cards: Vec<Block> = members
                .iter()
                .map(|s| node_card(s, host, overlay, &m, s.packages.len() > 1, inner_w))
                .collect();
            let label = if sockets.len() == 1 {
                format!("Package {} ({} NUMA nodes)", joined(&sockets), members.len())
            } else {
                format!("Packages {} ({} NUMA nodes)", joined(&sockets), members.len())
            };
            let inner = Block::column(
                vec![
                    Block::text(&label, 10.0, true, "#000000"),
                    Block::flow(cards, GAP, page_w - 2.0 * PAD),
                ],
                3.0,
            );
            blocks.push(inner.framed(Style::boxed("#e0e0e0", "#757575", 1.0, 3.0), PAD, 0.0));
        } else {
            for s in members {
                blocks.push(node_card(s, host, overlay, &m, true, inner_w));
            }
        }
    }
    Block::flow(blocks, 8.0, page_w)
}
