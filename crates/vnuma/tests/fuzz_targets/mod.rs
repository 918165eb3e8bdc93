//! The bodies of the fuzz targets, one function per target, shared by the libFuzzer binaries in
//! `fuzz/fuzz_targets/` (which include this file with `#[path]`) and the stable replay test
//! `tests/fuzz_replay.rs` (which runs every corpus and regression file through them).
//!
//! Each body takes raw bytes, must not panic on any input, and panics (with a message) only
//! when a check the target makes fails: a round trip that does not round-trip, a successful
//! plan that breaks `invariants::check`, a plan that is not deterministic.
//!
//! Only `vnuma` and `std` are used, so the replay test needs no fuzzing crate.

pub(crate) mod model;

use std::collections::BTreeMap;

use vnuma::cpuset::{CpuSet, MAX_ENTRIES, NodeSet};
use vnuma::kubelet::allocate::{Existing, Kubelet, Request};
use vnuma::kubelet::config::{KubeletConfig, read_cpu_manager_state, read_kubelet_config};
use vnuma::kubelet::memory_manager::MemoryManagerCheckpoint;
use vnuma::pipeline::{Cpuset, VmiSources};
use vnuma::plan::{CpusetSource, GuestPlan, KubevirtVersion, PlanOptions, invariants, plan};
use vnuma::render::{cloud_hypervisor, libvirt, qemu};
use vnuma::topology::HostTopology;
use vnuma::topology::capabilities::from_capabilities_xml;
use vnuma::topology::examples::example;
use vnuma::topology::sysfs::{MemTree, from_tree};
use vnuma::vmi::input::Source;
use vnuma::vmi::select::Selector;
use vnuma::vmi::{ClusterConfig, Quantity, Vmi, admission, defaults};

use model::Bytes;

/// A target: the name of its corpus directory and its body.
pub(crate) type Target = (&'static str, fn(&[u8]));

/// Every target.
pub(crate) const TARGETS: [Target; 7] = [
    ("cpulist", cpulist),
    ("quantity", quantity),
    ("vmi_yaml", vmi_yaml),
    ("kubelet_config", kubelet_config),
    ("capabilities_xml", capabilities_xml),
    ("sysfs_tree", sysfs_tree),
    ("pipeline", pipeline),
];

/// Inputs longer than this are cut (libFuzzer runs with `-max_len` of the same size).
pub(crate) const MAX_LEN: usize = 64 * 1024;

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(&data[..data.len().min(MAX_LEN)]).into_owned()
}

/// The kernel's `cpumap` text of a set (32-bit words, most significant first).
fn to_map(set: &CpuSet) -> String {
    let top = set.iter().next_back().map_or(0, |c| c.0);
    let words = top / 32 + 1;
    (0..words)
        .rev()
        .map(|w| {
            let bits = set
                .iter()
                .filter(|c| c.0 / 32 == w)
                .fold(0u32, |acc, c| acc | (1 << (c.0 % 32)));
            format!("{bits:08x}")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// `parse_list`, `parse_list_ordered`, `parse_map`; printing round-trips when they succeed.
pub(crate) fn cpulist(data: &[u8]) {
    let text = text(data);
    let list = CpuSet::parse_list(&text);
    if let Ok(set) = &list {
        assert!(set.len() <= MAX_ENTRIES, "{} entries", set.len());
        let printed = set.to_string();
        assert_eq!(CpuSet::parse_list(&printed).as_ref(), Ok(set), "{printed:?}");
        assert_eq!(
            CpuSet::parse_list(&set.to_comma_list()).as_ref(),
            Ok(set),
            "comma list"
        );
        let nodes = NodeSet::parse_list(&text).map(|n| n.len());
        assert_eq!(nodes, Ok(set.len()), "node and cpu lists parse alike");
    }
    if let Ok(ordered) = CpuSet::parse_list_ordered(&text) {
        assert!(ordered.len() <= MAX_ENTRIES, "{} ordered entries", ordered.len());
        if let Ok(set) = &list {
            let as_set: CpuSet = ordered.iter().copied().collect();
            assert_eq!(&as_set, set, "ordered and set parses disagree on {text:?}");
        }
    }
    if let Ok(set) = CpuSet::parse_map(&text) {
        let map = to_map(&set);
        assert_eq!(CpuSet::parse_map(&map), Ok(set), "{map:?}");
    }
}

/// `Quantity::parse`; a parsed quantity prints (both ways) to text that parses to the same
/// value, and the accessors do not panic.
pub(crate) fn quantity(data: &[u8]) {
    let text = text(&data[..data.len().min(256)]);
    let Ok(q) = Quantity::parse(&text) else {
        return;
    };
    let _ = (
        q.value(),
        q.milli_value(),
        q.bytes(),
        q.is_zero(),
        q.is_negative(),
    );
    for printed in [q.to_string(), q.canonical()] {
        let back = Quantity::parse(&printed)
            .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}, which does not parse: {e}"));
        assert_eq!(
            back.cmp_value(&q),
            std::cmp::Ordering::Equal,
            "{text:?} printed as {printed:?} parses to another value"
        );
        // the printed form is not compared: "62.5Ki" prints as "64000" (BinarySI, not whole
        // Ki), which parses as DecimalSI and prints as "64k", in Kubernetes too
    }
}

/// Plans a VMI on a host and renders it every way; checks the invariants and determinism.
fn plan_everything(host: &HostTopology, vmi: &Vmi, cpuset: &[u32], options: &PlanOptions) -> GuestPlan {
    let result = plan(host, vmi, cpuset, options);
    let broken = invariants::check(&result, host);
    assert!(broken.is_empty(), "invariants broken: {broken:?}");
    if let Some(error) = &result.error {
        assert!(!error.message.is_empty(), "a failed plan without a reason");
    }
    assert_eq!(
        plan(host, vmi, cpuset, options),
        result,
        "plan() is not deterministic"
    );
    render_everything(host, &result);
    result
}

fn render_everything(host: &HostTopology, result: &GuestPlan) {
    let _ = libvirt::domain_xml(result);
    for backend in [
        qemu::MemoryBackend::Memfd,
        qemu::MemoryBackend::Ram,
        qemu::MemoryBackend::File("/dev/hugepages".into()),
    ] {
        let options = qemu::QemuOptions {
            backend,
            ..qemu::QemuOptions::default()
        };
        let _ = qemu::command_line(result, &options);
    }
    let _ = qemu::pinning_json(result);
    let _ = cloud_hypervisor::command_line(result, &cloud_hypervisor::ChOptions::default());
    let ctx = vnuma::report::plan::Context {
        host_label: "fuzz",
        kubevirt_version: KubevirtVersion::Main,
        cpuset_source: CpusetSource::Flag,
        kubelet: None,
        kubelet_settings: None,
    };
    let _ = vnuma::report::plan::to_json(result, &ctx);
    let _ = vnuma::report::plan::to_yaml(result, &ctx);
    let _ = vnuma::report::plan::to_table(result, host, &ctx);
    let _ = vnuma::report::explain::explain(result, host, &ctx);
}

/// The pipeline every front end uses: `load_vmi` (defaults, admission), then `plan` on the
/// kubelet's predicted allocation and on every CPU of the built-in `dual-socket` host.
pub(crate) fn vmi_yaml(data: &[u8]) {
    let text = text(data);
    let source = Source {
        origin: "fuzz.yaml",
        text: &text,
    };
    let selector = Selector::default();
    let sources = VmiSources {
        main: source,
        extra: &[source],
        selector: &selector,
        kubevirt_config: None,
    };
    let Ok((vmi, cluster)) = vnuma::pipeline::load_vmi(&sources) else {
        return;
    };
    let Ok(host) = example("dual-socket") else {
        return;
    };
    // plans with more vCPUs than any host has are refused by the pool long before; keep the
    // fuzzer on shapes that can be placed
    if vmi.vcpus() > 4096 || vmi.cpu.max_sockets > 4096 {
        return;
    }
    let (config, existing) = (KubeletConfig::assumed_defaults(), Existing::default());
    let options = PlanOptions::default();
    if let Ok(outcome) = vnuma::pipeline::plan(
        &host,
        &vmi,
        &cluster,
        Cpuset::Predicted(&config, &existing),
        &options,
    ) {
        render_everything(&host, &outcome.plan);
    }
    let all: Vec<u32> = host.online_cpus().iter().map(|c| c.0).collect();
    plan_everything(&host, &vmi, &all, &options);
}

/// `read_kubelet_config`, `read_cpu_manager_state` and `MemoryManagerCheckpoint::parse` on the
/// three NUL-separated parts of the input; then the kubelet started with them allocates a pod.
pub(crate) fn kubelet_config(data: &[u8]) {
    let text = text(data);
    let mut parts = text.splitn(3, '\0');
    let (config_text, state_text, checkpoint_text) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    let config = read_kubelet_config(Source {
        origin: "kubelet.yaml",
        text: config_text,
    });
    let assigned = read_cpu_manager_state("cpu_manager_state", state_text);
    let checkpoint = MemoryManagerCheckpoint::parse(checkpoint_text);
    if let Ok(checkpoint) = &checkpoint {
        let _ = checkpoint.to_state();
    }
    let Ok(config) = config else {
        return;
    };
    let Ok(host) = example("dual-socket") else {
        return;
    };
    let Ok(mut kubelet) = Kubelet::start(&host, &config, checkpoint.as_ref().ok()) else {
        return;
    };
    let assigned = assigned.unwrap_or_default();
    let request = Request {
        cpu_millis: 4000,
        memory: 1 << 30,
        hugepages: BTreeMap::from([("hugepages-2Mi".to_string(), 1 << 30)]),
    };
    let allocation = kubelet.allocate(&request, &assigned);
    if let (true, Some(cpus)) = (allocation.exclusive, &allocation.cpuset) {
        assert!(
            cpus.intersection(&assigned).is_empty(),
            "exclusive CPUs {cpus} overlap assigned {assigned}"
        );
        assert_eq!(cpus.len(), 4, "asked for 4 CPUs, got {cpus}");
    }
}

/// A fixed VMI (dedicated, passthrough, 2Mi pages) planned on every online CPU of a host read
/// from an untrusted source.
fn plan_on_untrusted_host(host: &HostTopology) {
    // the reader's promise: an online CPU in at most one node
    let mut seen = CpuSet::new();
    for node in &host.nodes {
        for &cpu in &node.cpus {
            assert!(seen.insert(cpu), "cpu {cpu} in two nodes");
        }
    }
    let vmi = model::VmiShape {
        sockets: 1,
        cores: 2,
        threads: 2,
        dedicated: true,
        passthrough: true,
        hugepages: 1,
        memory_units: 4,
        isolate_emulator_thread: true,
        ..model::VmiShape::default()
    }
    .build();
    let cpus: Vec<u32> = host.online_cpus().iter().take(512).map(|c| c.0).collect();
    plan_everything(host, &vmi, &cpus, &PlanOptions::default());
    let _ = vnuma::report::topology::to_json(host, "fuzz");
    let _ = vnuma::report::topology::to_table(host, "fuzz");
}

/// `from_capabilities_xml`; a host it returns is planned on.
pub(crate) fn capabilities_xml(data: &[u8]) {
    let text = text(data);
    if let Ok(host) = from_capabilities_xml(&text, "fuzz.xml") {
        plan_on_untrusted_host(&host);
    }
}

/// A `MemTree` from the input's lines: `path<TAB>content`, with `\n` and `\0` in the content
/// written as the two characters `\n` and `\0` (a line without a tab is an empty directory).
pub(crate) fn sysfs_tree(data: &[u8]) {
    let text = text(data);
    let mut tree = MemTree::new();
    for line in text.lines().take(4096) {
        tree = match line.split_once('\t') {
            Some((path, content)) => tree.with(path, &content.replace("\\n", "\n").replace("\\0", "\0")),
            None => tree.with(&format!("{}/", line.trim_end_matches('/')), ""),
        };
    }
    if let Ok(host) = from_tree(&tree) {
        plan_on_untrusted_host(&host);
    }
}

/// Structured input: a host shape, a VMI shape, a cpuset shape and plan options, all decoded
/// from the bytes; the host is built directly and read back from its sysfs tree (they must
/// agree), then planned on, rendered and checked.
pub(crate) fn pipeline(data: &[u8]) {
    let mut bytes = Bytes::new(data);
    let host_shape = bytes.host();
    let vmi_shape = bytes.vmi();
    let cpuset_shape = bytes.cpuset();
    let options = PlanOptions {
        kubevirt_version: if bytes.flag() {
            KubevirtVersion::V1_9OrEarlier
        } else {
            KubevirtVersion::Main
        },
        fix_quirks: bytes.flag(),
        allow_hugepage_shortfall: bytes.flag(),
    };
    let run_admission = bytes.flag();
    let built = host_shape.build();
    match from_tree(&built.tree) {
        Ok(read) => assert_eq!(read, built.host, "the sysfs tree reads back differently"),
        Err(e) => panic!("the sysfs tree of a generated host does not read: {e}"),
    }
    let mut vmi = vmi_shape.build();
    let cluster = ClusterConfig::default();
    if run_admission {
        defaults::apply(&mut vmi, &cluster);
        if !admission::validate(&vmi, &cluster).is_empty() {
            return;
        }
    }
    let cpuset = cpuset_shape.build(&built.host);
    plan_everything(&built.host, &vmi, &cpuset, &options);
    let _ = bytes.rest();
}
