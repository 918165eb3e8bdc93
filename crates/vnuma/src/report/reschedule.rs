//! `vnuma plan --all-placements`: the distinct guest layouts a VM can get, as JSON and a table.

use std::fmt::Write as _;

use crate::report::{human_bytes, json_text};
use crate::reschedule::Placements;

fn share(count: usize, total: usize) -> f64 {
    if total == 0 {
        return 0.0;
    }
    // both are small sample counts; the percentage is for people
    let (c, t) = (
        u32::try_from(count).unwrap_or(u32::MAX),
        u32::try_from(total).unwrap_or(u32::MAX),
    );
    (f64::from(c) * 1000.0 / f64::from(t)).round() / 10.0
}

/// The JSON document.
pub fn to_json(p: &Placements) -> String {
    let doc = serde_json::json!({
        "samples": p.samples,
        "seed": p.seed,
        "distinct_layouts": p.layouts.len(),
        "layouts": p.layouts.iter().map(|l| serde_json::json!({
            "cells": l.layout.iter().map(|(vcpus, bytes)| serde_json::json!({"vcpus": vcpus, "memory_bytes": bytes})).collect::<Vec<_>>(),
            "count": l.count,
            "percent": share(l.count, p.samples),
            "asymmetric": l.asymmetric,
            "example_cpuset": l.example_cpuset.to_string(),
        })).collect::<Vec<_>>(),
        "rejected": p.rejected,
        "failed": p.failed,
    });
    json_text(&doc)
}

/// The table.
pub fn to_table(p: &Placements, host_label: &str, kubelet: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} sampled node states on {host_label} (seed {}), kubelet: {kubelet}",
        p.samples, p.seed
    );
    let asymmetric: usize = p.layouts.iter().filter(|l| l.asymmetric).map(|l| l.count).sum();
    let _ = writeln!(
        out,
        "{} distinct guest NUMA layout(s); asymmetric in {} sample(s) ({}%)",
        p.layouts.len(),
        asymmetric,
        share(asymmetric, p.samples)
    );
    for l in &p.layouts {
        let cells: Vec<String> = l
            .layout
            .iter()
            .map(|(v, b)| format!("{v} vCPU/{}", human_bytes(*b)))
            .collect();
        let _ = writeln!(
            out,
            "  {:>6} ({:>5}%)  {} cell(s): {}{}   e.g. cpuset {}",
            l.count,
            share(l.count, p.samples),
            l.layout.len(),
            cells.join(" + "),
            if l.asymmetric { "  ASYMMETRIC" } else { "" },
            l.example_cpuset
        );
    }
    for (reason, n) in &p.rejected {
        let _ = writeln!(
            out,
            "  {n:>6} ({:>5}%)  not admitted: {reason}",
            share(*n, p.samples)
        );
    }
    for (reason, n) in &p.failed {
        let _ = writeln!(
            out,
            "  {n:>6} ({:>5}%)  cannot run: {reason}",
            share(*n, p.samples)
        );
    }
    out
}
