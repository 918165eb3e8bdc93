//! The distance matrix: numbers up to 16 nodes, a heat map beyond.

use std::collections::{BTreeMap, BTreeSet};

use crate::ids::NodeId;
use crate::topology::HostTopology;

use super::layout::{Block, Colour, Style, centred, line_height, steps_to_cover, text_width};
use super::overlay::Overlay;
use super::{HEAT_CELL, NUMBERED_MATRIX_MAX, cell_colour, f};

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
pub(super) fn distances_block(
    host: &HostTopology,
    overlay: Option<&Overlay<'_>>,
    page_w: f64,
) -> Option<Block> {
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
