//! The libvirt domain XML KubeVirt's virt-launcher would define for a plan: the elements
//! KubeVirt's converter produces for dedicated CPUs and NUMA passthrough, in the order its
//! structs marshal (`memory`, `memoryBacking`, `os`, `devices`, `features`, `cpu`, `vcpu`,
//! `vcpus`, `cputune`, `numatune`, `iothreads`), around a minimal device set so the whole
//! domain is one libvirt accepts. Cpusets keep KubeVirt's comma lists (`"9,10"`), never ranges.

use std::fmt::Write as _;

use crate::plan::GuestPlan;
use crate::render::xml::escape;

fn comma(ids: &[u32]) -> String {
    ids.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
}

/// libvirt's word for a Kubernetes architecture.
fn libvirt_arch(arch: &str) -> &str {
    match arch {
        "amd64" => "x86_64",
        "arm64" => "aarch64",
        other => other,
    }
}

/// `<cpu mode>` for a VMI's CPU model as KubeVirt's converter writes it (`compute/cpu.go`):
/// `host-model` and `host-passthrough` are modes, any other name is `custom` with a `<model>`.
pub fn cpu_mode(model: &str) -> (&'static str, Option<&str>) {
    match model {
        "" | "host-model" => ("host-model", None),
        "host-passthrough" => ("host-passthrough", None),
        named => ("custom", Some(named)),
    }
}

/// The `<cpu><feature>`s: the VMI's, in order, then on amd64 with a named model
/// `mpx` disabled unless the VMI names `mpx` (libvirt's model files list the deprecated `mpx`,
/// which hosts lack).
pub fn cpu_features(plan: &GuestPlan) -> Vec<(String, Option<String>)> {
    let mut features = plan.cpu_features.clone();
    let named = cpu_mode(&plan.cpu_model).1.is_some();
    if named && plan.architecture == "amd64" && !features.iter().any(|(n, _)| n == "mpx") {
        features.push(("mpx".into(), Some("disable".into())));
    }
    features
}

/// The machine type KubeVirt's webhook defaults for an architecture.
fn machine_type(arch: &str) -> Option<&'static str> {
    match arch {
        "amd64" => Some("q35"),
        "arm64" => Some("virt"),
        "s390x" => Some("s390-ccw-virtio"),
        _ => None,
    }
}

/// The domain XML.
///
/// ```
/// let plan = vnuma::plan::GuestPlan { name: "vm".into(), namespace: "default".into(), ..Default::default() };
/// assert!(vnuma::render::libvirt::domain_xml(&plan).starts_with("<domain type=\"kvm\">"));
/// ```
pub fn domain_xml(plan: &GuestPlan) -> String {
    let mut x = String::new();
    let g = &plan.guest;
    let _ = writeln!(x, "<domain type=\"kvm\">");
    let _ = writeln!(
        x,
        "  <name>{}_{}</name>",
        escape(&plan.namespace),
        escape(&plan.name)
    );
    let _ = writeln!(x, "  <memory unit=\"b\">{}</memory>", g.memory_bytes);
    if let Some(page) = g.page_size_bytes {
        let _ = writeln!(x, "  <memoryBacking>");
        if plan.cells.is_empty() {
            let _ = writeln!(x, "    <hugepages></hugepages>");
        } else {
            let _ = writeln!(x, "    <hugepages>");
            for cell in &plan.cells {
                let _ = writeln!(
                    x,
                    "      <page size=\"{page}\" unit=\"b\" nodeset=\"{}\"></page>",
                    cell.id
                );
            }
            let _ = writeln!(x, "    </hugepages>");
        }
        if plan.memfd {
            let _ = writeln!(x, "    <source type=\"memfd\"></source>");
        }
        if plan.allocation_immediate {
            let _ = writeln!(x, "    <allocation mode=\"immediate\"></allocation>");
        }
        if plan.nosharepages {
            let _ = writeln!(x, "    <nosharepages></nosharepages>");
        }
        let _ = writeln!(x, "  </memoryBacking>");
    }
    let machine = machine_type(&plan.architecture)
        .map(|m| format!(" machine=\"{m}\""))
        .unwrap_or_default();
    let _ = writeln!(x, "  <os>");
    let _ = writeln!(
        x,
        "    <type arch=\"{}\"{machine}>hvm</type>",
        escape(libvirt_arch(&plan.architecture))
    );
    let _ = writeln!(x, "  </os>");
    let _ = writeln!(x, "  <devices>");
    let _ = writeln!(
        x,
        "    <controller type=\"usb\" index=\"0\" model=\"none\"></controller>"
    );
    let _ = writeln!(x, "    <memballoon model=\"none\"></memballoon>");
    let _ = writeln!(x, "  </devices>");
    let _ = writeln!(x, "  <features>");
    let _ = writeln!(x, "    <acpi></acpi>");
    if plan.hint_dedicated {
        let _ = writeln!(x, "    <kvm>");
        let _ = writeln!(x, "      <hint-dedicated state=\"on\"></hint-dedicated>");
        let _ = writeln!(x, "    </kvm>");
    }
    if plan.pmu_off {
        let _ = writeln!(x, "    <pmu state=\"off\"></pmu>");
    }
    let _ = writeln!(x, "  </features>");

    let sockets = if g.max_sockets != 0 {
        g.max_sockets
    } else {
        g.sockets
    };
    let (mode, named) = cpu_mode(&plan.cpu_model);
    let _ = writeln!(x, "  <cpu mode=\"{mode}\">");
    if let Some(model) = named {
        let _ = writeln!(x, "    <model>{}</model>", escape(model));
    }
    for (name, policy) in cpu_features(plan) {
        let policy = policy
            .map(|p| format!(" policy=\"{}\"", escape(&p)))
            .unwrap_or_default();
        let _ = writeln!(x, "    <feature name=\"{}\"{policy}></feature>", escape(&name));
    }
    let _ = writeln!(
        x,
        "    <topology sockets=\"{sockets}\" cores=\"{}\" threads=\"{}\"></topology>",
        g.cores, g.threads
    );
    if !plan.cells.is_empty() {
        let _ = writeln!(x, "    <numa>");
        for cell in &plan.cells {
            let open = format!(
                "      <cell id=\"{}\" cpus=\"{}\" memory=\"{}\" unit=\"b\">",
                cell.id,
                comma(&cell.vcpus),
                cell.memory_bytes
            );
            match &cell.distances {
                Some(distances) => {
                    let _ = writeln!(x, "{open}");
                    let siblings: String = distances
                        .iter()
                        .map(|(id, value)| format!("<sibling id=\"{id}\" value=\"{value}\"></sibling>"))
                        .collect();
                    let _ = writeln!(x, "        <distances>{siblings}</distances>");
                    let _ = writeln!(x, "      </cell>");
                }
                None => {
                    let _ = writeln!(x, "{open}</cell>");
                }
            }
        }
        let _ = writeln!(x, "    </numa>");
    }
    let _ = writeln!(x, "  </cpu>");
    let total = sockets.saturating_mul(g.cores).saturating_mul(g.threads);
    let _ = writeln!(x, "  <vcpu placement=\"static\">{total}</vcpu>");
    if g.max_sockets != 0 {
        let per_socket = g.cores.saturating_mul(g.threads);
        let _ = writeln!(x, "  <vcpus>");
        for id in 0..total {
            let enabled = if id < g.vcpus { "yes" } else { "no" };
            let hotpluggable = if id < per_socket { "no" } else { "yes" };
            let _ = writeln!(
                x,
                "    <vcpu id=\"{id}\" enabled=\"{enabled}\" hotpluggable=\"{hotpluggable}\"></vcpu>"
            );
        }
        let _ = writeln!(x, "  </vcpus>");
    }
    if !plan.vcpupin.is_empty() || plan.emulatorpin.is_some() || !plan.iothreadpin.is_empty() {
        let _ = writeln!(x, "  <cputune>");
        for (vcpu, cpu) in &plan.vcpupin {
            let _ = writeln!(x, "    <vcpupin vcpu=\"{vcpu}\" cpuset=\"{cpu}\"></vcpupin>");
        }
        for (iothread, cpus) in &plan.iothreadpin {
            let _ = writeln!(
                x,
                "    <iothreadpin iothread=\"{iothread}\" cpuset=\"{}\"></iothreadpin>",
                comma(cpus)
            );
        }
        if let Some(cpus) = &plan.emulatorpin {
            let _ = writeln!(x, "    <emulatorpin cpuset=\"{}\"></emulatorpin>", comma(cpus));
        }
        let _ = writeln!(x, "  </cputune>");
    }
    if let Some(numatune) = &plan.numatune {
        let (nodeset, memnodes) = (&numatune.nodeset, &numatune.memnodes);
        let _ = writeln!(x, "  <numatune>");
        let _ = writeln!(
            x,
            "    <memory mode=\"strict\" nodeset=\"{}\"></memory>",
            comma(nodeset)
        );
        for (cell, hosts) in memnodes {
            let _ = writeln!(
                x,
                "    <memnode cellid=\"{cell}\" mode=\"strict\" nodeset=\"{}\"></memnode>",
                comma(hosts)
            );
        }
        let _ = writeln!(x, "  </numatune>");
    }
    if plan.iothreads > 0 {
        let _ = writeln!(x, "  <iothreads>{}</iothreads>", plan.iothreads);
    }
    let _ = writeln!(x, "</domain>");
    x
}

#[cfg(test)]
mod tests {
    use quick_xml::Reader;
    use quick_xml::events::Event;

    use super::*;

    /// A plan whose names carry characters XML 1.0 forbids (names reach here from YAML, whose
    /// double-quoted strings can spell any control character).
    fn plan_with_controls() -> GuestPlan {
        GuestPlan {
            name: "vm\u{1}x".into(),
            namespace: "ns\u{1b}".into(),
            architecture: "amd64".into(),
            cpu_model: "Model\u{8}".into(),
            cpu_features: vec![("fe\u{1f}at".into(), Some("require\u{0}".into()))],
            ..Default::default()
        }
    }

    #[test]
    fn control_characters_still_give_well_formed_xml() {
        let xml = domain_xml(&plan_with_controls());
        assert!(xml.contains("<name>ns\u{FFFD}_vm\u{FFFD}x</name>"), "{xml}");
        assert!(xml.contains("<model>Model\u{FFFD}</model>"), "{xml}");
        assert!(
            xml.contains("<feature name=\"fe\u{FFFD}at\" policy=\"require\u{FFFD}\">"),
            "{xml}"
        );
        assert!(
            !xml.chars()
                .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')),
            "{xml}"
        );
        let mut reader = Reader::from_str(&xml);
        let mut elements = 0;
        loop {
            match reader.read_event() {
                Ok(Event::Eof) => break,
                Ok(Event::Start(_) | Event::Empty(_)) => elements += 1,
                Ok(_) => {}
                Err(e) => panic!(
                    "quick-xml rejects the domain at {}: {e}\n{xml}",
                    reader.buffer_position()
                ),
            }
        }
        assert!(elements > 10, "{xml}");
    }

    #[test]
    fn control_characters_pass_xmllint() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let path = dir.path().join("domain.xml");
        std::fs::write(&path, domain_xml(&plan_with_controls())).unwrap_or_else(|e| panic!("write: {e}"));
        let out = std::process::Command::new("xmllint")
            .arg("--noout")
            .arg(&path)
            .output()
            .unwrap_or_else(|e| panic!("xmllint (Debian package libxml2-utils; .ci/run installs it): {e}"));
        assert!(
            out.status.success(),
            "xmllint rejects the domain: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
