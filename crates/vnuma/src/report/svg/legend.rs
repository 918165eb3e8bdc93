//! The legend of a plan picture: what each colour and mark means.

use crate::cpuset::CpuSet;
use crate::ids::CpuId;
use crate::report::human_bytes;

use super::layout::{Block, Style};
use super::overlay::Overlay;
use super::{
    CELL_COLOURS, EMULATOR_FILL, ERROR_COLOUR, IOTHREAD_FILL, UNUSED_FILL, WARN_COLOUR, cell_colour,
};

pub(super) fn legend_item(swatch: Style, text: &str) -> Block {
    Block::row(
        vec![
            Block::rect(14.0, 11.0, swatch),
            Block::text(text, 9.0, false, "#000000"),
        ],
        4.0,
    )
}

pub(super) fn plan_legend(o: &Overlay<'_>, page_w: f64) -> Block {
    let mut items = Vec::new();
    for (i, cell) in o.plan.cells.iter().enumerate() {
        items.push(legend_item(
            Style::boxed(cell_colour(i), "#424242", 0.6, 1.5),
            &format!(
                "guest cell {} -> {}: vCPUs {}, {}",
                cell.id,
                cell.host_nodes_phrase(),
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
