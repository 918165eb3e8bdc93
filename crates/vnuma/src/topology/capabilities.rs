//! The libvirt source: a `virsh capabilities` document, which is what KubeVirt's virt-handler
//! reads (`<host><topology><cells>`).
//!
//! Read: each cell's `id`, `<memory>`, `<pages>` (the smallest size, at most 64 KiB, is the base
//! page and not a hugepage pool; libvirt prints it first), `<distances>` and `<cpus>` with
//! `socket_id`, `die_id`, `core_id` and `siblings` (lists or ranges); L3 ids come from
//! `<host><cache><bank level='3'>`. Cells and each cell's CPUs keep document order, since that
//! is the order KubeVirt hands CPUs out in; each CPU keeps its `siblings` text as written.
//! A document knows page totals, not free counts: `free` is `None`. Every listed CPU is online
//! (libvirt omits offline ones).

use std::collections::{BTreeMap, BTreeSet};

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use crate::cpuset::CpuSet;
use crate::ids::{CpuId, NodeId};
use crate::topology::{Cpu, HostTopology, HugepagePool, Node, TopologyError};

/// The largest page size still taken for a base (non-huge) page: 4 KiB on x86, 64 KiB on
/// ppc64 and some arm64 kernels.
const MAX_BASE_PAGE_BYTES: u64 = 64 << 10;

/// Reads a `virsh capabilities` document. `origin` names it in errors (a path or `<stdin>`).
///
/// # Errors
/// [`TopologyError::Xml`] for malformed XML, [`TopologyError::Capabilities`] for a value that
/// does not fit its attribute, [`TopologyError::NotCapabilities`] for another document.
///
/// ```
/// let xml = "<capabilities><host><topology><cells num='1'><cell id='0'>\
///   <memory unit='KiB'>1024</memory><cpus num='2'>\
///   <cpu id='0' socket_id='0' die_id='0' core_id='0' siblings='0-1'/>\
///   <cpu id='1' socket_id='0' die_id='0' core_id='0' siblings='0-1'/>\
///   </cpus></cell></cells></topology></host></capabilities>";
/// let host = vnuma::topology::capabilities::from_capabilities_xml(xml, "caps.xml").unwrap();
/// assert_eq!(host.nodes[0].memory_bytes, Some(1 << 20));
/// assert_eq!(host.cpus[1].siblings.to_string(), "0-1");
/// ```
pub fn from_capabilities_xml(xml: &str, origin: &str) -> Result<HostTopology, TopologyError> {
    let mut doc = Doc::new(origin);
    let mut reader = Reader::from_str(xml);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<String> = Vec::new();
    loop {
        let xml_err = |reader: &Reader<&[u8]>, message: String| {
            let end = usize::try_from(reader.buffer_position())
                .unwrap_or(usize::MAX)
                .min(xml.len());
            TopologyError::Xml {
                origin: origin.to_string(),
                line: 1 + xml.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count(),
                message,
            }
        };
        let event = reader.read_event().map_err(|e| xml_err(&reader, e.to_string()))?;
        match event {
            Event::Start(e) => {
                stack.push(e.local_name().as_ref().to_string());
                doc.element(&stack, &e)?;
            }
            Event::Empty(e) => {
                stack.push(e.local_name().as_ref().to_string());
                doc.element(&stack, &e)?;
                doc.end(&stack)?;
                stack.pop();
            }
            Event::End(_) => {
                doc.end(&stack)?;
                stack.pop();
            }
            Event::Text(t) => {
                doc.text.push_str(&t.xml10_content());
            }
            Event::Eof => {
                if let Some(open) = stack.last() {
                    return Err(xml_err(&reader, format!("document ends inside <{open}>")));
                }
                break;
            }
            _ => {}
        }
    }
    doc.finish()
}

/// Reads a `virsh capabilities` document that must describe NUMA cells: what a host for
/// planning needs (without cells the kubelet simulation and the vCPU pool have no CPUs).
///
/// # Errors
/// As [`from_capabilities_xml`], and [`TopologyError::NoNumaTopology`] without cells.
pub fn from_capabilities_xml_with_cells(xml: &str, origin: &str) -> Result<HostTopology, TopologyError> {
    let host = from_capabilities_xml(xml, origin)?;
    if host.nodes.is_empty() {
        return Err(TopologyError::NoNumaTopology {
            origin: origin.to_string(),
        });
    }
    Ok(host)
}

/// A `<cell>` being read.
#[derive(Default)]
struct CellDraft {
    id: u32,
    memory_bytes: Option<u64>,
    /// (page size, count) as listed.
    pages: Vec<(u64, u64)>,
    distances: Option<BTreeMap<NodeId, u32>>,
    cpus: Vec<Cpu>,
}

struct Doc<'a> {
    origin: &'a str,
    seen_host: bool,
    cells: Vec<CellDraft>,
    /// L3 cache banks: (bank id, cpus).
    l3_banks: Vec<(u32, CpuSet)>,
    /// Text collected for the current leaf element, and its pending attributes.
    text: String,
    pending_unit: Option<String>,
    pending_page_size: Option<u64>,
}

/// The element paths this reader looks at, relative to `<capabilities>`.
const CELL: &[&str] = &["capabilities", "host", "topology", "cells", "cell"];

fn at(stack: &[String], path: &[&str]) -> bool {
    stack.len() == path.len() && stack.iter().zip(path).all(|(a, b)| a == b)
}

fn below_cell(stack: &[String], rest: &[&str]) -> bool {
    stack.len() == CELL.len() + rest.len() && at(&stack[..CELL.len()], CELL) && at(&stack[CELL.len()..], rest)
}

impl<'a> Doc<'a> {
    fn new(origin: &'a str) -> Self {
        Doc {
            origin,
            seen_host: false,
            cells: Vec::new(),
            l3_banks: Vec::new(),
            text: String::new(),
            pending_unit: None,
            pending_page_size: None,
        }
    }

    fn location(&self, leaf: &str) -> String {
        match self.cells.last() {
            Some(cell) => format!("host/topology/cells/cell[@id={}]/{leaf}", cell.id),
            None => format!("host/{leaf}"),
        }
    }

    fn invalid(&self, location: String, what: &'static str, value: &str) -> TopologyError {
        TopologyError::Capabilities {
            origin: self.origin.to_string(),
            location,
            what,
            value: value.to_string(),
        }
    }

    fn attrs(&self, e: &BytesStart<'_>) -> Result<BTreeMap<String, String>, TopologyError> {
        let mut map = BTreeMap::new();
        for attr in e.attributes() {
            let attr = attr.map_err(|err| self.invalid(self.location("@"), "attribute", &err.to_string()))?;
            let key = attr.key.local_name().as_ref().to_string();
            let value = attr
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|err| {
                    self.invalid(self.location(&format!("@{key}")), "attribute", &err.to_string())
                })?
                .into_owned();
            map.insert(key, value);
        }
        Ok(map)
    }

    fn uint(
        &self,
        attrs: &BTreeMap<String, String>,
        key: &str,
        leaf: &str,
    ) -> Result<Option<u32>, TopologyError> {
        attrs
            .get(key)
            .map(|v| {
                v.trim()
                    .parse()
                    .map_err(|_| self.invalid(self.location(&format!("{leaf}/@{key}")), "number", v))
            })
            .transpose()
    }

    fn element(&mut self, stack: &[String], e: &BytesStart<'_>) -> Result<(), TopologyError> {
        self.text.clear();
        if at(stack, &["topology"]) {
            // hwloc's XML (lstopo -of xml) has <topology> as its root.
            return Err(TopologyError::HwlocXml {
                origin: self.origin.to_string(),
            });
        }
        if at(stack, &["capabilities", "host"]) {
            self.seen_host = true;
        } else if at(stack, CELL) {
            let attrs = self.attrs(e)?;
            // KubeVirt reads a missing id as 0 (options_test.go); so does vnuma.
            let id = self.uint(&attrs, "id", "cell")?.unwrap_or(0);
            if self.cells.iter().any(|c| c.id == id) {
                return Err(self.invalid(
                    format!("host/topology/cells/cell[@id={id}]"),
                    "duplicate cell id",
                    &id.to_string(),
                ));
            }
            self.cells.push(CellDraft {
                id,
                ..CellDraft::default()
            });
        } else if below_cell(stack, &["memory"]) {
            self.pending_unit = self.attrs(e)?.get("unit").cloned();
        } else if below_cell(stack, &["pages"]) {
            let attrs = self.attrs(e)?;
            let unit = attrs.get("unit").cloned();
            // A missing size reads as 0, as in KubeVirt; such an entry describes no pool.
            let bytes = match attrs.get("size") {
                Some(size) => scaled(size, unit.as_deref()).ok_or_else(|| {
                    self.invalid(
                        self.location("pages/@size"),
                        "page size",
                        &format!("{size} {}", unit.as_deref().unwrap_or("KiB")),
                    )
                })?,
                None => 0,
            };
            self.pending_page_size = Some(bytes);
        } else if below_cell(stack, &["distances"]) {
            if let Some(cell) = self.cells.last_mut() {
                cell.distances.get_or_insert_with(BTreeMap::new);
            }
        } else if below_cell(stack, &["distances", "sibling"]) {
            let attrs = self.attrs(e)?;
            let id = self.uint(&attrs, "id", "distances/sibling")?;
            let value = self.uint(&attrs, "value", "distances/sibling")?;
            let (Some(id), Some(value)) = (id, value) else {
                return Err(self.invalid(
                    self.location("distances/sibling"),
                    "sibling (needs id and value)",
                    "",
                ));
            };
            if let Some(cell) = self.cells.last_mut() {
                cell.distances
                    .get_or_insert_with(BTreeMap::new)
                    .insert(NodeId(id), value);
            }
        } else if below_cell(stack, &["cpus", "cpu"]) {
            let cpu = self.cpu(e)?;
            if let Some(cell) = self.cells.last_mut() {
                cell.cpus.push(cpu);
            }
        } else if at(stack, &["capabilities", "host", "cache", "bank"]) {
            let attrs = self.attrs(e)?;
            if attrs.get("level").map(String::as_str) == Some("3") {
                let id = self.uint(&attrs, "id", "cache/bank")?.unwrap_or(0);
                let text = attrs.get("cpus").map(String::as_str).unwrap_or("");
                let cpus = CpuSet::parse_list(text).map_err(|_| {
                    self.invalid(format!("host/cache/bank[@id={id}]/@cpus"), "cpu list", text)
                })?;
                self.l3_banks.push((id, cpus));
            }
        }
        Ok(())
    }

    fn cpu(&self, e: &BytesStart<'_>) -> Result<Cpu, TopologyError> {
        let attrs = self.attrs(e)?;
        // A missing id reads as 0, as in KubeVirt.
        let id = self.uint(&attrs, "id", "cpus/cpu")?.unwrap_or(0);
        let leaf = format!("cpus/cpu[@id={id}]");
        let siblings_text = attrs.get("siblings").cloned().unwrap_or_default();
        let siblings = CpuSet::parse_list(&siblings_text).map_err(|_| {
            self.invalid(
                self.location(&format!("{leaf}/@siblings")),
                "siblings list",
                &siblings_text,
            )
        })?;
        Ok(Cpu {
            id: CpuId(id),
            node: self.cells.last().map(|c| NodeId(c.id)),
            socket: self.uint(&attrs, "socket_id", &leaf)?,
            die: self.uint(&attrs, "die_id", &leaf)?,
            core: self.uint(&attrs, "core_id", &leaf)?,
            l3: None,
            siblings,
            siblings_text,
            online: true,
        })
    }

    fn end(&mut self, stack: &[String]) -> Result<(), TopologyError> {
        if below_cell(stack, &["memory"]) {
            let unit = self.pending_unit.take();
            let bytes = scaled(&self.text, unit.as_deref()).ok_or_else(|| {
                self.invalid(
                    self.location("memory"),
                    "memory size",
                    &format!("{} {}", self.text, unit.as_deref().unwrap_or("KiB")),
                )
            })?;
            if let Some(cell) = self.cells.last_mut() {
                cell.memory_bytes = Some(bytes);
            }
        } else if below_cell(stack, &["pages"]) {
            let count = match self.text.trim() {
                "" => 0,
                text => text
                    .parse()
                    .map_err(|_| self.invalid(self.location("pages"), "page count", text))?,
            };
            let size = self.pending_page_size.take().unwrap_or(0);
            if let Some(cell) = self.cells.last_mut() {
                cell.pages.push((size, count));
            }
        }
        self.text.clear();
        Ok(())
    }

    fn finish(self) -> Result<HostTopology, TopologyError> {
        if !self.seen_host {
            return Err(TopologyError::NotCapabilities {
                origin: self.origin.to_string(),
            });
        }
        let base_page = self
            .cells
            .iter()
            .flat_map(|c| c.pages.iter().map(|p| p.0))
            .filter(|&size| size > 0)
            .min()
            .filter(|&size| size <= MAX_BASE_PAGE_BYTES);
        let mut cpus: Vec<Cpu> = Vec::new();
        let mut seen = BTreeSet::new();
        let mut nodes = Vec::with_capacity(self.cells.len());
        let mut global: BTreeMap<u64, u64> = BTreeMap::new();
        for cell in self.cells {
            for cpu in &cell.cpus {
                if !seen.insert(cpu.id) {
                    return Err(TopologyError::Capabilities {
                        origin: self.origin.to_string(),
                        location: format!(
                            "host/topology/cells/cell[@id={}]/cpus/cpu[@id={}]",
                            cell.id, cpu.id
                        ),
                        what: "cpu id listed twice",
                        value: cpu.id.to_string(),
                    });
                }
            }
            let mut hugepages: Vec<HugepagePool> = cell
                .pages
                .iter()
                .filter(|(size, _)| *size > 0 && Some(*size) != base_page)
                .map(|&(page_size_bytes, total)| HugepagePool {
                    page_size_bytes,
                    total,
                    free: None,
                })
                .collect();
            hugepages.sort_by_key(|p| p.page_size_bytes);
            for pool in &hugepages {
                let sum = global.entry(pool.page_size_bytes).or_default();
                *sum = sum.saturating_add(pool.total);
            }
            nodes.push(Node {
                id: NodeId(cell.id),
                cpus: cell.cpus.iter().map(|c| c.id).collect(),
                memory_bytes: cell.memory_bytes,
                // libvirt's capabilities say nothing of free memory.
                memory_free_bytes: None,
                hugepages,
                distances: cell.distances,
            });
            cpus.extend(cell.cpus);
        }
        for cpu in &mut cpus {
            cpu.l3 = self
                .l3_banks
                .iter()
                .find(|(_, set)| set.contains(cpu.id))
                .map(|(id, _)| *id);
        }
        cpus.sort_by_key(|c| c.id);
        Ok(HostTopology {
            nodes,
            cpus,
            hugepages_global: global
                .into_iter()
                .map(|(page_size_bytes, total)| HugepagePool {
                    page_size_bytes,
                    total,
                    free: None,
                })
                .collect(),
            allowed: None,
        })
    }
}

/// A libvirt `scaledInteger`: a number and a unit (default KiB). `b`/`bytes`; `k`, `KiB`
/// (1024) versus `KB` (1000), and so on up to exbibytes, case-insensitive as libvirt reads them.
fn scaled(value: &str, unit: Option<&str>) -> Option<u64> {
    let value: u64 = value.trim().parse().ok()?;
    let unit = unit.unwrap_or("KiB").trim().to_ascii_lowercase();
    let factor: u64 = match unit.as_str() {
        "b" | "byte" | "bytes" => 1,
        _ => {
            let mut chars = unit.chars();
            let prefix = chars.next()?;
            let power = "kmgtpe".find(prefix)? + 1;
            let base: u64 = match chars.as_str() {
                "" | "ib" => 1024,
                "b" => 1000,
                _ => return None,
            };
            base.checked_pow(u32::try_from(power).ok()?)?
        }
    };
    value.checked_mul(factor)
}

#[cfg(test)]
mod tests;
