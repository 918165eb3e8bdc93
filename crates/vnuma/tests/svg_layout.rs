//! The SVG pictures never overlap: the emitted SVG is parsed back, every `<rect>` and `<text>`
//! gets its rectangle (text measured with the renderer's own monospace estimates), and within
//! each `<g>` (whose first `<rect>` is its frame) every child must lie inside the frame and no
//! two children may overlap. Checked for the seed plans on the built-in host, the 64-node
//! hwloc snapshot (topology and plans, a failed one included), the asymmetric host, and the
//! topology of every shared snapshot.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;

use std::path::Path;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use support::{fixtures_dir, fsroot};
use vnuma::plan::{PlanOptions, plan};
use vnuma::report::svg::{ASCENT_EM, CHAR_ADVANCE_EM, DESCENT_EM, plan_svg, topology_svg};
use vnuma::topology::HostTopology;
use vnuma::topology::examples::example;
use vnuma::topology::sysfs::read_sysfs;
use vnuma::vmi::input::{Source, read_vmi};
use vnuma::vmi::{ClusterConfig, Vmi, defaults};

const EPS: f64 = 0.05;

#[derive(Debug, Clone, Copy)]
struct Rect {
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
}

impl Rect {
    fn overlaps(&self, o: &Rect) -> bool {
        self.x0 < o.x1 - EPS && o.x0 < self.x1 - EPS && self.y0 < o.y1 - EPS && o.y0 < self.y1 - EPS
    }

    fn contains(&self, o: &Rect) -> bool {
        o.x0 >= self.x0 - EPS && o.x1 <= self.x1 + EPS && o.y0 >= self.y0 - EPS && o.y1 <= self.y1 + EPS
    }

    fn union(&self, o: &Rect) -> Rect {
        Rect {
            x0: self.x0.min(o.x0),
            y0: self.y0.min(o.y0),
            x1: self.x1.max(o.x1),
            y1: self.y1.max(o.y1),
        }
    }
}

#[derive(Default)]
struct Group {
    frame: Option<Rect>,
    children: Vec<(Rect, String)>,
}

fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.into_inner() == name)
        .map(|a| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .unwrap()
                .into_owned()
        })
}

fn num(e: &BytesStart<'_>, name: &str) -> f64 {
    attr(e, name)
        .unwrap_or_else(|| panic!("missing {name}"))
        .parse()
        .unwrap()
}

fn close(group: Group, what: &str) -> Rect {
    for (i, (a, la)) in group.children.iter().enumerate() {
        if let Some(frame) = &group.frame {
            assert!(
                frame.contains(a),
                "{what}: {la} {a:?} sticks out of its frame {frame:?}"
            );
        }
        for (b, lb) in &group.children[i + 1..] {
            assert!(!a.overlaps(b), "{what}: {la} {a:?} overlaps {lb} {b:?}");
        }
    }
    group.frame.unwrap_or_else(|| {
        group
            .children
            .iter()
            .map(|c| c.0)
            .reduce(|a, b| a.union(&b))
            .expect("an empty group")
    })
}

/// Parses the SVG and checks the layout rules; returns how many shapes it measured.
fn check_layout(svg: &str, what: &str) -> usize {
    let mut reader = Reader::from_str(svg);
    let mut stack: Vec<Group> = vec![Group::default()];
    let mut text: Option<(BytesStart<'static>, String)> = None;
    let mut shapes = 0;
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) if e.name().into_inner() == "g" => stack.push(Group::default()),
            Event::End(e) if e.name().into_inner() == "g" => {
                let group = stack.pop().unwrap();
                let rect = close(group, what);
                stack.last_mut().unwrap().children.push((rect, "group".into()));
            }
            Event::Empty(e) if e.name().into_inner() == "rect" => {
                shapes += 1;
                let (x, y) = (num(&e, "x"), num(&e, "y"));
                let rect = Rect {
                    x0: x,
                    y0: y,
                    x1: x + num(&e, "width"),
                    y1: y + num(&e, "height"),
                };
                let nested = stack.len() > 1;
                let top = stack.last_mut().unwrap();
                if top.frame.is_none() && top.children.is_empty() && nested {
                    top.frame = Some(rect);
                } else {
                    top.children.push((rect, "rect".into()));
                }
            }
            Event::Start(e) if e.name().into_inner() == "text" => {
                text = Some((e.into_owned(), String::new()))
            }
            Event::Text(t) => {
                if let Some((_, content)) = &mut text {
                    content.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                // An entity (`&lt;`) is one character on the page.
                if let Some((_, content)) = &mut text {
                    let _ = r;
                    content.push('x');
                }
            }
            Event::End(e) if e.name().into_inner() == "text" => {
                shapes += 1;
                let (e, content) = text.take().unwrap();
                let size = num(&e, "font-size");
                let w = content.chars().count() as f64 * CHAR_ADVANCE_EM * size;
                let (x, y) = (num(&e, "x"), num(&e, "y"));
                let x0 = if attr(&e, "text-anchor").as_deref() == Some("middle") {
                    x - w / 2.0
                } else {
                    x
                };
                let rect = Rect {
                    x0,
                    y0: y - ASCENT_EM * size,
                    x1: x0 + w,
                    y1: y + DESCENT_EM * size,
                };
                stack
                    .last_mut()
                    .unwrap()
                    .children
                    .push((rect, format!("text {content:?}")));
            }
            Event::Start(e) if e.name().into_inner() == "svg" => {
                let page = Rect {
                    x0: 0.0,
                    y0: 0.0,
                    x1: num(&e, "width"),
                    y1: num(&e, "height"),
                };
                stack[0].frame = Some(page);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(stack.len(), 1, "{what}: unbalanced groups");
    close(stack.pop().unwrap(), what);
    shapes
}

fn vmi(file: &str) -> Vmi {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(file);
    let text = std::fs::read_to_string(path).unwrap();
    let mut vmi = read_vmi(
        Source {
            origin: file,
            text: &text,
        },
        &[],
        None,
    )
    .unwrap();
    defaults::apply(&mut vmi, &ClusterConfig::default());
    vmi
}

fn plan_picture(host: &HostTopology, file: &str, cpuset: &[u32], what: &str) -> String {
    let p = plan(host, &vmi(file), cpuset, &PlanOptions::default());
    let svg = plan_svg(&p, host, what);
    assert!(check_layout(&svg, what) > 20, "{what}: too few shapes");
    svg
}

#[test]
fn seed_plans_on_the_builtin_host() {
    let host = example("dual-socket").unwrap();
    let b = plan_picture(&host, "seed.yaml", &[7, 8, 23, 24], "seed B");
    assert!(b.contains(">v3</text>"));
    plan_picture(&host, "seed.yaml", &[2, 3, 18, 19], "seed A");
    plan_picture(
        &host,
        "isolated-emulator-parity.yaml",
        &[2, 3, 4, 5, 6, 7],
        "isolated emulator",
    );
    plan_picture(&host, "smt2.yaml", &[0, 16, 8, 24], "smt2");
    check_layout(&topology_svg(&host, "dual-socket"), "dual-socket topology");
}

#[test]
fn asymmetric_host_and_failures() {
    let host = example("asymmetric").unwrap();
    check_layout(&topology_svg(&host, "asymmetric"), "asymmetric topology");
    let svg = plan_picture(&host, "seed.yaml", &[0, 1, 6, 7], "asymmetric seed");
    assert!(svg.contains("Package 0 (2 NUMA nodes)"), "{svg}");
    let failed = plan_picture(&host, "hugepages-1gi.yaml", &[0, 1, 2, 3, 6], "failed pinning");
    assert!(failed.contains("CANNOT RUN (pinning)"));
}

#[test]
fn the_64_node_snapshot() {
    let host = read_sysfs(&fsroot("256ia64-64n2s2c")).unwrap();
    assert_eq!(host.nodes.len(), 64);
    let topo = topology_svg(&host, "256ia64");
    let shapes = check_layout(&topo, "256ia64 topology");
    assert!(shapes > 256 * 2 + 64 * 64, "{shapes} shapes");
    let failed = plan_picture(&host, "seed.yaml", &[2, 3, 40, 41], "256ia64 seed");
    assert!(failed.contains("CANNOT RUN (hugepage-shortfall)"));
    assert!(failed.contains("SHORT by 16"));
    let wide: Vec<u32> = (0..256).step_by(16).collect();
    plan_picture(&host, "isolated-emulator-parity.yaml", &wide, "256ia64 spread");
}

#[test]
fn every_snapshot_topology() {
    let mut names: Vec<String> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.strip_suffix(".tar.bz2").map(str::to_string)
        })
        .collect();
    names.sort();
    let mut checked = 0;
    for name in names {
        let Ok(host) = read_sysfs(&fsroot(&name)) else {
            continue;
        };
        check_layout(&topology_svg(&host, &name), &name);
        checked += 1;
    }
    assert!(checked > 10, "only {checked} snapshots read");
}
