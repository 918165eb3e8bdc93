//! Beyond KubeVirt: does each host node (or node set, for a cell bound to several) have the
//! hugepages its guest cells need? KubeVirt never checks; the VM then fails to start under
//! strict binding (kubevirt#6981). vnuma compares against the nodes' free pages (or their
//! totals, said so, when the source knows only totals, as a capabilities document does).

use std::collections::BTreeMap;

use crate::ids::NodeId;
use crate::k8s::pages::page_size_label;
use crate::plan::{FailureReason, GuestPlan, HugepageVerdict};
use crate::topology::HostTopology;

/// Fills `plan.hugepages` and fails (or warns, when `allow_shortfall`) on a shortfall.
pub fn check(plan: &mut GuestPlan, host: &HostTopology, allow_shortfall: bool) {
    let Some(page) = plan.guest.page_size_bytes else {
        return;
    };
    // Cells bound to the same node set share its pages (one node per cell with passthrough).
    let mut needed: BTreeMap<Vec<u32>, u64> = BTreeMap::new();
    for cell in &plan.cells {
        *needed.entry(cell.host_nodes.clone()).or_default() += cell.memory_bytes / page;
    }
    let mut short = Vec::new();
    for (nodes, &pages_needed) in &needed {
        let (pages_free, free_known) = free_pages(host, nodes, page);
        let fits = pages_needed <= pages_free;
        if !fits {
            let (whose, has) = match nodes.as_slice() {
                [node] => (format!("host node {node}"), "has"),
                _ => (format!("host nodes {}", super::comma_nodes(nodes)), "have"),
            };
            short.push(format!(
                "{whose} {has} {pages_free} {} {} hugepages, the guest needs {pages_needed}",
                if free_known {
                    "free"
                } else {
                    "(total, free unknown)"
                },
                page_size_label(page)
            ));
        }
        plan.hugepages.push(HugepageVerdict {
            host_node: nodes.first().copied().unwrap_or_default(),
            host_nodes: nodes.clone(),
            page_size_bytes: page,
            pages_needed,
            pages_free,
            free_known,
            fits,
        });
    }
    if plan.hugepages.iter().any(|v| !v.free_known) {
        plan.warn(
            "hugepages-free-unknown",
            "the host source knows only total hugepages per node, not free ones: checked against totals"
                .into(),
        );
    }
    if !short.is_empty() {
        let message = format!("hugepage shortfall: {}", short.join("; "));
        if allow_shortfall {
            plan.warn("hugepage-shortfall", message);
        } else {
            plan.fail(FailureReason::HugepageShortfall, message);
        }
    }
}

/// The free pages of `page` bytes on `nodes` together, and whether every count is really a
/// free one (a node without the pool has none, free known when it knows free counts at all).
fn free_pages(host: &HostTopology, nodes: &[u32], page: u64) -> (u64, bool) {
    let mut total = 0u64;
    let mut known = true;
    for &node in nodes {
        let pool = host
            .node(NodeId(node))
            .and_then(|n| n.hugepages.iter().find(|p| p.page_size_bytes == page));
        let (pages_free, free_known) = match pool {
            Some(p) => (p.free.unwrap_or(p.total), p.free.is_some()),
            None => (
                0,
                host.node(NodeId(node))
                    .is_some_and(|n| n.hugepages.iter().any(|p| p.free.is_some())),
            ),
        };
        total = total.saturating_add(pages_free);
        known &= free_known;
    }
    (total, known)
}
