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

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::cpuset::CpuSet;
use crate::ids::{CpuId, NodeId};
use crate::plan::GuestPlan;
use crate::report::{human_bytes, page_size_label};
use crate::topology::{HostTopology, HugepagePool, Node};

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

/// How many characters of `size` fit in `width` (at least one).
fn fit_chars(width: f64, size: f64) -> usize {
    let mut n = 1;
    while f(n + 1) * CHAR_ADVANCE_EM * size <= width {
        n += 1;
    }
    n
}

/// The smallest whole number `k >= 1` with `k * step >= length`.
fn steps_to_cover(length: f64, step: f64) -> usize {
    let mut k = 1;
    while f(k) * step < length {
        k += 1;
    }
    k
}

/// `part / whole` as a fraction, without float casts of large integers.
fn fraction(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    let per_million = u128::from(part) * 1_000_000 / u128::from(whole);
    f64::from(u32::try_from(per_million).unwrap_or(1_000_000)) / 1_000_000.0
}

fn text_width(text: &str, size: f64) -> f64 {
    f(text.chars().count()) * CHAR_ADVANCE_EM * size
}

fn line_height(size: f64) -> f64 {
    (ASCENT_EM + DESCENT_EM) * size
}

/// The colour of guest cell `index` (by position in the plan's cells).
fn cell_colour(index: usize) -> &'static str {
    CELL_COLOURS[index % CELL_COLOURS.len()]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Anchor {
    Start,
    Middle,
}

/// A colour: a constant or computed (the heat ramp).
type Colour = std::borrow::Cow<'static, str>;

#[derive(Debug, Clone)]
struct Style {
    fill: Colour,
    stroke: &'static str,
    stroke_width: f64,
    dashed: bool,
    radius: f64,
}

impl Style {
    fn fill(fill: impl Into<Colour>) -> Self {
        Style {
            fill: fill.into(),
            stroke: "none",
            stroke_width: 0.0,
            dashed: false,
            radius: 0.0,
        }
    }

    fn boxed(fill: impl Into<Colour>, stroke: &'static str, stroke_width: f64, radius: f64) -> Self {
        Style {
            fill: fill.into(),
            stroke,
            stroke_width,
            dashed: false,
            radius,
        }
    }
}

#[derive(Debug, Clone)]
enum El {
    Rect {
        x: f64,
        y: f64,
        w: f64,
        h: f64,
        style: Style,
    },
    Text {
        x: f64,
        y: f64,
        size: f64,
        bold: bool,
        anchor: Anchor,
        fill: &'static str,
        text: String,
    },
    Group(Vec<El>),
}

impl El {
    fn shift(&mut self, dx: f64, dy: f64) {
        match self {
            El::Rect { x, y, .. } | El::Text { x, y, .. } => {
                *x += dx;
                *y += dy;
            }
            El::Group(children) => children.iter_mut().for_each(|c| c.shift(dx, dy)),
        }
    }
}

/// A laid-out piece with its own origin at (0, 0).
#[derive(Debug, Clone, Default)]
struct Block {
    w: f64,
    h: f64,
    els: Vec<El>,
}

impl Block {
    fn place(&mut self, mut other: Block, x: f64, y: f64) {
        for el in &mut other.els {
            el.shift(x, y);
        }
        self.els.extend(other.els);
        self.w = self.w.max(x + other.w);
        self.h = self.h.max(y + other.h);
    }

    /// A single text line; `y` of the block is its top.
    fn text(text: &str, size: f64, bold: bool, fill: &'static str) -> Block {
        Block {
            w: text_width(text, size),
            h: line_height(size),
            els: vec![El::Text {
                x: 0.0,
                y: ASCENT_EM * size,
                size,
                bold,
                anchor: Anchor::Start,
                fill,
                text: text.to_string(),
            }],
        }
    }

    /// Lines wrapped at word boundaries to at most `max_width`.
    fn paragraph(text: &str, size: f64, bold: bool, fill: &'static str, max_width: f64) -> Block {
        let limit = fit_chars(max_width, size);
        Block::column(
            wrap(text, limit)
                .iter()
                .map(|l| Block::text(l, size, bold, fill))
                .collect(),
            1.0,
        )
    }

    /// Blocks stacked top to bottom.
    fn column(blocks: Vec<Block>, gap: f64) -> Block {
        let mut out = Block::default();
        let mut y = 0.0;
        for (i, b) in blocks.into_iter().enumerate() {
            if i > 0 {
                y += gap;
            }
            let h = b.h;
            out.place(b, 0.0, y);
            y += h;
        }
        out
    }

    /// Blocks side by side, top aligned.
    fn row(blocks: Vec<Block>, gap: f64) -> Block {
        let mut out = Block::default();
        let mut x = 0.0;
        for (i, b) in blocks.into_iter().enumerate() {
            if i > 0 {
                x += gap;
            }
            let w = b.w;
            out.place(b, x, 0.0);
            x += w;
        }
        out
    }

    /// Blocks left to right, wrapping into rows no wider than `max_width`.
    fn flow(blocks: Vec<Block>, gap: f64, max_width: f64) -> Block {
        let mut out = Block::default();
        let (mut x, mut y, mut row_h) = (0.0_f64, 0.0_f64, 0.0_f64);
        for b in blocks {
            if x > 0.0 && x + b.w > max_width {
                x = 0.0;
                y += row_h + gap;
                row_h = 0.0;
            }
            let (w, h) = (b.w, b.h);
            out.place(b, x, y);
            x += w + gap;
            row_h = row_h.max(h);
        }
        out
    }

    /// This block inside a frame with `pad` on every side, as one group. `min_w` widens it.
    fn framed(self, style: Style, pad: f64, min_w: f64) -> Block {
        let w = (self.w + 2.0 * pad).max(min_w);
        let h = self.h + 2.0 * pad;
        let mut els = vec![El::Rect {
            x: 0.0,
            y: 0.0,
            w,
            h,
            style,
        }];
        let mut inner = self;
        for el in &mut inner.els {
            el.shift(pad, pad);
        }
        els.extend(inner.els);
        Block {
            w,
            h,
            els: vec![El::Group(els)],
        }
    }

    /// A plain rectangle.
    fn rect(w: f64, h: f64, style: Style) -> Block {
        Block {
            w,
            h,
            els: vec![El::Rect {
                x: 0.0,
                y: 0.0,
                w,
                h,
                style,
            }],
        }
    }

    /// An empty block that only takes room.
    fn space(w: f64, h: f64) -> Block {
        Block {
            w,
            h,
            els: Vec::new(),
        }
    }
}

/// Words wrapped into lines of at most `limit` characters (longer words are cut).
fn wrap(text: &str, limit: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        while word.len() > limit {
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            let rest = word.split_off(limit);
            lines.push(word.into_iter().collect());
            word = rest;
        }
        let word: String = word.into_iter().collect();
        let len = line.chars().count();
        if len > 0 && len + 1 + word.chars().count() > limit {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn emit(out: &mut String, el: &El, depth: usize) {
    let indent = " ".repeat(depth);
    match el {
        El::Rect { x, y, w, h, style } => {
            let _ = write!(
                out,
                "{indent}<rect x=\"{x:.2}\" y=\"{y:.2}\" width=\"{w:.2}\" height=\"{h:.2}\" fill=\"{}\"",
                style.fill
            );
            if style.radius > 0.0 {
                let _ = write!(out, " rx=\"{:.1}\"", style.radius);
            }
            if style.stroke != "none" {
                let _ = write!(
                    out,
                    " stroke=\"{}\" stroke-width=\"{:.1}\"",
                    style.stroke, style.stroke_width
                );
                if style.dashed {
                    out.push_str(" stroke-dasharray=\"3 2\"");
                }
            }
            out.push_str("/>\n");
        }
        El::Text {
            x,
            y,
            size,
            bold,
            anchor,
            fill,
            text,
        } => {
            let _ = write!(
                out,
                "{indent}<text x=\"{x:.2}\" y=\"{y:.2}\" font-size=\"{size:.1}\" fill=\"{fill}\""
            );
            if *bold {
                out.push_str(" font-weight=\"bold\"");
            }
            if *anchor == Anchor::Middle {
                out.push_str(" text-anchor=\"middle\"");
            }
            let _ = writeln!(out, ">{}</text>", escape(text));
        }
        El::Group(children) => {
            let _ = writeln!(out, "{indent}<g>");
            for child in children {
                emit(out, child, depth + 1);
            }
            let _ = writeln!(out, "{indent}</g>");
        }
    }
}

/// The whole document: a white page with a margin around `body`.
fn document(body: Block, title: &str) -> String {
    let margin = 12.0;
    let page = body.framed(Style::fill("#ffffff"), margin, 0.0);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" \
         version=\"1.1\" width=\"{w:.0}\" height=\"{h:.0}\" viewBox=\"0 0 {w:.2} {h:.2}\" \
         font-family=\"monospace\">",
        w = page.w.ceil(),
        h = page.h.ceil()
    );
    let _ = writeln!(out, " <title>{}</title>", escape(title));
    for el in &page.els {
        emit(&mut out, el, 1);
    }
    out.push_str("</svg>\n");
    out
}

// ---------------------------------------------------------------------------------------------
// The model: what each node, core and thread shows.

/// What the plan puts on one host CPU.
#[derive(Debug, Default, Clone)]
struct Mark {
    vcpus: Vec<u32>,
    /// Index of the guest cell of the first vCPU.
    cell: Option<usize>,
    emulator: bool,
    iothreads: Vec<u32>,
    in_cpuset: bool,
}

impl Mark {
    fn label(&self) -> Option<String> {
        let mut parts: Vec<String> = self.vcpus.iter().map(|v| format!("v{v}")).collect();
        if self.emulator {
            parts.push("emu".into());
        }
        parts.extend(self.iothreads.iter().map(|i| format!("io{i}")));
        (!parts.is_empty()).then(|| parts.join("+"))
    }
}

/// The plan, per host CPU and node.
struct Overlay<'a> {
    plan: &'a GuestPlan,
    marks: BTreeMap<u32, Mark>,
    /// Host node id → indices of guest cells bound to it.
    cells_on: BTreeMap<u32, Vec<usize>>,
    /// Host nodes that hold any pin, cell or hugepage verdict.
    active: BTreeSet<u32>,
    share_core: bool,
    asymmetric: bool,
    emulator_elsewhere: bool,
}

impl<'a> Overlay<'a> {
    fn new(plan: &'a GuestPlan, host: &HostTopology) -> Self {
        let mut marks: BTreeMap<u32, Mark> = BTreeMap::new();
        for &cpu in &plan.cpuset {
            marks.entry(cpu).or_default().in_cpuset = true;
        }
        let cell_of = |vcpu: u32| plan.cells.iter().position(|c| c.vcpus.contains(&vcpu));
        for &(vcpu, cpu) in &plan.vcpupin {
            let mark = marks.entry(cpu).or_default();
            mark.vcpus.push(vcpu);
            if mark.cell.is_none() {
                mark.cell = cell_of(vcpu);
            }
        }
        for &cpu in plan.emulatorpin.iter().flatten() {
            marks.entry(cpu).or_default().emulator = true;
        }
        for (id, cpus) in &plan.iothreadpin {
            for &cpu in cpus {
                marks.entry(cpu).or_default().iothreads.push(*id);
            }
        }
        let mut cells_on: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
        for (i, cell) in plan.cells.iter().enumerate() {
            cells_on.entry(cell.host_node).or_default().push(i);
        }
        let mut active: BTreeSet<u32> = cells_on.keys().copied().collect();
        active.extend(plan.hugepages.iter().map(|v| v.host_node));
        for (&cpu, mark) in &marks {
            if (mark.label().is_some() || mark.in_cpuset)
                && let Some(node) = host.cpu(CpuId(cpu)).and_then(|c| c.node)
            {
                active.insert(node.0);
            }
        }
        let has = |code: &str| plan.warnings.iter().any(|w| w.code == code);
        Overlay {
            plan,
            marks,
            cells_on,
            active,
            share_core: has("vcpus-share-core"),
            asymmetric: has("asymmetric-cells"),
            emulator_elsewhere: has("emulator-other-node"),
        }
    }
}

/// One node's CPUs grouped into packages and cores, in the node's order.
struct NodeShape<'a> {
    node: &'a Node,
    packages: Vec<(Option<u32>, Vec<Vec<CpuId>>)>,
}

fn node_shape<'a>(host: &HostTopology, node: &'a Node) -> NodeShape<'a> {
    let in_node: CpuSet = node.cpus.iter().copied().collect();
    let mut done: BTreeSet<CpuId> = BTreeSet::new();
    let mut packages: Vec<(Option<u32>, Vec<Vec<CpuId>>)> = Vec::new();
    for &cpu in &node.cpus {
        if done.contains(&cpu) {
            continue;
        }
        let siblings: Vec<CpuId> = host
            .cpu(cpu)
            .map(|c| c.siblings.intersection(&in_node))
            .filter(|s| s.contains(cpu))
            .map_or_else(|| vec![cpu], |s| s.iter().collect());
        done.extend(siblings.iter().copied());
        let socket = host.cpu(cpu).and_then(|c| c.socket);
        match packages.iter_mut().find(|(s, _)| *s == socket) {
            Some((_, cores)) => cores.push(siblings),
            None => packages.push((socket, vec![siblings])),
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

/// Text centred in a block `w` wide.
fn centred(text: &str, size: f64, bold: bool, fill: &'static str, w: f64) -> Block {
    Block {
        w,
        h: line_height(size),
        els: vec![El::Text {
            x: w / 2.0,
            y: ASCENT_EM * size,
            size,
            bold,
            anchor: Anchor::Middle,
            fill,
            text: text.to_string(),
        }],
    }
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

fn pools_text(pools: &[HugepagePool]) -> String {
    if pools.is_empty() {
        return "hugepages: none".into();
    }
    let parts: Vec<String> = pools
        .iter()
        .map(|p| match p.free {
            Some(free) => format!("{} {free}/{} free", page_size_label(p.page_size_bytes), p.total),
            None => format!("{} {} total", page_size_label(p.page_size_bytes), p.total),
        })
        .collect();
    format!("hugepages: {}", parts.join(", "))
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
    let short = overlay.is_some_and(|o| o.plan.hugepages.iter().any(|v| v.host_node == id && !v.fits));
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
        for v in o.plan.hugepages.iter().filter(|v| v.host_node == id) {
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
fn nodes_block(host: &HostTopology, overlay: Option<&Overlay<'_>>, page_w: f64) -> Block {
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

/// Step `i` of `n` on a light-to-dark blue ramp.
fn ramp(i: usize, n: usize) -> String {
    let i = u64::try_from(i).unwrap_or(0);
    let n = u64::try_from(n.saturating_sub(1).max(1)).unwrap_or(1);
    let lerp = |a: u64, b: u64| {
        if b >= a {
            a + (b - a) * i / n
        } else {
            a - (a - b) * i / n
        }
    };
    format!("#{:02x}{:02x}{:02x}", lerp(239, 8), lerp(243, 48), lerp(255, 107))
}

/// Each distance value's rank and colour.
fn heat_palette(values: &BTreeSet<u32>) -> BTreeMap<u32, (usize, Colour)> {
    let n = values.len();
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| (v, (i, Colour::from(ramp(i, n)))))
        .collect()
}

/// The distance matrix: numbers up to 16 nodes, a heat map beyond.
fn distances_block(host: &HostTopology, overlay: Option<&Overlay<'_>>, page_w: f64) -> Option<Block> {
    if host.nodes.iter().all(|n| n.distances.is_none()) {
        return None;
    }
    let ids: Vec<NodeId> = host.nodes.iter().map(|n| n.id).collect();
    let values: BTreeSet<u32> = host
        .nodes
        .iter()
        .filter_map(|n| n.distances.as_ref())
        .flat_map(|d| d.values().copied())
        .collect();
    let palette = heat_palette(&values);
    let colour_of = |v: u32| -> (Colour, bool) {
        let (rank, colour) = palette
            .get(&v)
            .cloned()
            .unwrap_or((0, Colour::Borrowed("#ffffff")));
        (colour, values.len() > 1 && rank * 2 >= values.len())
    };
    let node_colour = |id: NodeId| -> Option<&'static str> {
        overlay
            .and_then(|o| o.cells_on.get(&id.0))
            .and_then(|c| c.first())
            .map(|&ci| cell_colour(ci))
    };
    let numbered = ids.len() <= NUMBERED_MATRIX_MAX;
    let label_size = if numbered { 9.0 } else { 7.0 };
    let max_id_w = ids
        .iter()
        .map(|i| text_width(&i.to_string(), label_size))
        .fold(0.0, f64::max);
    let cell = if numbered {
        let max_v = values
            .iter()
            .map(|v| text_width(&v.to_string(), 9.0))
            .fold(0.0, f64::max);
        (max_v.max(max_id_w) + 8.0).max(24.0)
    } else {
        HEAT_CELL
    };
    let row_h = if numbered { 16.0 } else { HEAT_CELL };
    let strip = if overlay.is_some() { 6.0 } else { 0.0 };
    let label_col = max_id_w + 4.0;
    let head_h = line_height(label_size) + 2.0;
    let left = label_col + strip + if strip > 0.0 { 2.0 } else { 0.0 };
    let top = head_h + strip + if strip > 0.0 { 2.0 } else { 0.0 };
    let mut grid = Block::default();
    // Column labels: every k-th column so neighbours never touch.
    let k = steps_to_cover(max_id_w + 3.0, cell);
    for (j, id) in ids.iter().enumerate() {
        let bold = node_colour(*id).is_some();
        if j % k == 0 {
            let mut t = centred(
                &id.to_string(),
                label_size,
                bold,
                node_colour(*id).unwrap_or("#000000"),
                cell,
            );
            t.h = head_h;
            grid.place(t, left + f(j) * cell, 0.0);
        }
        if let Some(colour) = node_colour(*id) {
            grid.place(
                Block::rect(cell, strip, Style::fill(colour)),
                left + f(j) * cell,
                head_h,
            );
            grid.place(
                Block::rect(strip, row_h, Style::fill(colour)),
                label_col,
                top + f(j) * row_h,
            );
        }
    }
    for (i, node) in host.nodes.iter().enumerate() {
        let y = top + f(i) * row_h;
        let colour = node_colour(node.id);
        let mut label = Block::text(
            &node.id.to_string(),
            label_size,
            colour.is_some(),
            colour.unwrap_or("#000000"),
        );
        let dy = (row_h - label.h) / 2.0;
        label.w = label_col;
        grid.place(label, 0.0, y + dy);
        for (j, id) in ids.iter().enumerate() {
            let v = node.distances.as_ref().and_then(|d| d.get(id)).copied();
            let x = left + f(j) * cell;
            match v {
                Some(v) => {
                    let (fill, dark) = colour_of(v);
                    let rect = Block::rect(cell, row_h, Style::boxed(fill.clone(), "#ffffff", 0.5, 0.0));
                    if numbered {
                        let text_fill = if dark { "#ffffff" } else { "#000000" };
                        let mut t = centred(&v.to_string(), 9.0, false, text_fill, cell - 2.0);
                        let ty = (row_h - t.h) / 2.0;
                        t.h = row_h;
                        let mut inner = Block::default();
                        inner.place(t, 0.0, 0.0);
                        inner.els.iter_mut().for_each(|e| e.shift(0.0, ty));
                        inner.w = cell - 2.0;
                        inner.h = row_h - 2.0;
                        let cell_block = inner.framed(Style::boxed(fill, "#ffffff", 0.5, 0.0), 1.0, 0.0);
                        grid.place(cell_block, x, y);
                    } else {
                        grid.place(rect, x, y);
                    }
                }
                None => grid.place(
                    Block::rect(cell, row_h, Style::boxed("#ffffff", "#e0e0e0", 0.5, 0.0)),
                    x,
                    y,
                ),
            }
        }
    }
    let title = if numbered {
        "Node distances (row: from, column: to)".to_string()
    } else {
        format!(
            "Node distances (row: from, column: to; {} nodes as a heat map)",
            ids.len()
        )
    };
    let mut parts = vec![Block::paragraph(&title, 11.0, true, "#000000", page_w), grid];
    if !numbered {
        let items: Vec<Block> = values
            .iter()
            .map(|&v| {
                let (fill, _) = colour_of(v);
                Block::row(
                    vec![
                        Block::rect(10.0, 10.0, Style::boxed(fill, "#757575", 0.5, 0.0)),
                        Block::text(&v.to_string(), 9.0, false, "#000000"),
                    ],
                    3.0,
                )
            })
            .collect();
        parts.push(Block::flow(items, 8.0, page_w));
    }
    if overlay.is_some() && !host.nodes.iter().all(|n| node_colour(n.id).is_none()) {
        parts.push(Block::paragraph(
            "coloured ids and strips: nodes holding a guest cell",
            9.0,
            false,
            "#424242",
            page_w,
        ));
    }
    Some(Block::column(parts, 4.0))
}

fn legend_item(swatch: Style, text: &str) -> Block {
    Block::row(
        vec![
            Block::rect(14.0, 11.0, swatch),
            Block::text(text, 9.0, false, "#000000"),
        ],
        4.0,
    )
}

fn plan_legend(o: &Overlay<'_>, page_w: f64) -> Block {
    let mut items = Vec::new();
    for (i, cell) in o.plan.cells.iter().enumerate() {
        items.push(legend_item(
            Style::boxed(cell_colour(i), "#424242", 0.6, 1.5),
            &format!(
                "guest cell {} -> host node {}: vCPUs {}, {}",
                cell.id,
                cell.host_node,
                cell.vcpus.iter().map(|&v| CpuId(v)).collect::<CpuSet>(),
                human_bytes(cell.memory_bytes)
            ),
        ));
    }
    if o.plan.cells.is_empty() && !o.plan.vcpupin.is_empty() {
        items.push(legend_item(
            Style::boxed(CELL_COLOURS[0], "#424242", 0.6, 1.5),
            "vN: pinned vCPU (no guest NUMA cells)",
        ));
    }
    if o.plan.emulatorpin.is_some() {
        items.push(legend_item(
            Style::boxed(EMULATOR_FILL, "#424242", 0.6, 1.5),
            "emu: emulator thread",
        ));
    }
    if !o.plan.iothreadpin.is_empty() {
        items.push(legend_item(
            Style::boxed(IOTHREAD_FILL, "#424242", 0.6, 1.5),
            "ioN: IOThread N",
        ));
    }
    let mut dashed = Style::boxed("#ffffff", "#000000", 1.2, 1.5);
    dashed.dashed = true;
    if o.marks.values().any(|mk| mk.in_cpuset && mk.label().is_none()) {
        items.push(legend_item(dashed, "in the pod cpuset, unused"));
    }
    items.push(legend_item(
        Style::boxed(UNUSED_FILL, "#616161", 0.8, 1.5),
        "not in the pod cpuset",
    ));
    if o.share_core {
        items.push(legend_item(
            Style::boxed("#c8c8c8", WARN_COLOUR, 2.0, 2.0),
            "core shared by several vCPUs",
        ));
    }
    if o.plan.hugepages.iter().any(|v| !v.fits) {
        items.push(legend_item(Style::fill(ERROR_COLOUR), "hugepages missing"));
    }
    if !o.plan.hugepages.is_empty() {
        items.push(legend_item(
            Style::fill("#b9e0b0"),
            "hugepages free beyond the need",
        ));
    }
    Block::flow(items, 14.0, page_w)
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
