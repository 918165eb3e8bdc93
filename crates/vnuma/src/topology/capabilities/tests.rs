//! The capabilities reader on documents shaped as `virsh capabilities` prints them.

#![allow(clippy::unwrap_used)]

use super::*;

/// A real two-node host, as in libvirt's `tests/capabilityschemadata/caps-qemu-kvm.xml`
/// (cells with memory, pages, distances and CPUs with socket/die/core/siblings).
const TWO_NODE: &str = r#"<capabilities>
  <host>
    <uuid>00000000-0000-0000-0000-000000000000</uuid>
    <cpu>
      <arch>x86_64</arch>
      <model>core2duo</model>
      <topology sockets='1' dies='1' cores='2' threads='1'/>
      <pages unit='KiB' size='4'/>
      <pages unit='KiB' size='2048'/>
    </cpu>
    <topology>
      <cells num='2'>
        <cell id='0'>
          <memory unit='KiB'>16411620</memory>
          <pages unit='KiB' size='4'>4043885</pages>
          <pages unit='KiB' size='2048'>32</pages>
          <pages unit='KiB' size='1048576'>0</pages>
          <distances>
            <sibling id='0' value='10'/>
            <sibling id='1' value='21'/>
          </distances>
          <cpus num='4'>
            <cpu id='0' socket_id='0' die_id='0' core_id='0' siblings='0'/>
            <cpu id='2' socket_id='0' die_id='0' core_id='1' siblings='2'/>
            <cpu id='4' socket_id='0' die_id='0' core_id='2' siblings='4'/>
            <cpu id='6' socket_id='0' die_id='0' core_id='3' siblings='6'/>
          </cpus>
        </cell>
        <cell id='1'>
          <memory unit='KiB'>16515044</memory>
          <pages unit='KiB' size='4'>4128761</pages>
          <pages unit='KiB' size='2048'>0</pages>
          <pages unit='KiB' size='1048576'>2</pages>
          <distances>
            <sibling id='0' value='21'/>
            <sibling id='1' value='10'/>
          </distances>
          <cpus num='4'>
            <cpu id='1' socket_id='1' die_id='0' core_id='0' siblings='1'/>
            <cpu id='3' socket_id='1' die_id='0' core_id='1' siblings='3'/>
            <cpu id='5' socket_id='1' die_id='0' core_id='2' siblings='5'/>
            <cpu id='7' socket_id='1' die_id='0' core_id='3' siblings='7'/>
          </cpus>
        </cell>
      </cells>
    </topology>
    <cache>
      <bank id='0' level='3' type='both' size='15' unit='MiB' cpus='0,2,4,6'/>
      <bank id='1' level='3' type='both' size='15' unit='MiB' cpus='1,3,5,7'/>
    </cache>
  </host>
  <guest><os_type>hvm</os_type></guest>
</capabilities>
"#;

fn read(xml: &str) -> HostTopology {
    from_capabilities_xml(xml, "caps.xml").unwrap()
}

fn err(xml: &str) -> String {
    from_capabilities_xml(xml, "caps.xml").unwrap_err().to_string()
}

#[test]
fn reads_a_real_two_node_host() {
    let host = read(TWO_NODE);
    assert_eq!(host.nodes.len(), 2);
    let n0 = &host.nodes[0];
    assert_eq!(n0.memory_bytes, Some(16411620 * 1024));
    assert_eq!(n0.cpus, vec![CpuId(0), CpuId(2), CpuId(4), CpuId(6)]);
    assert_eq!(
        n0.hugepages,
        vec![
            HugepagePool {
                page_size_bytes: 2 << 20,
                total: 32,
                free: None
            },
            HugepagePool {
                page_size_bytes: 1 << 30,
                total: 0,
                free: None
            },
        ],
        "the 4 KiB base page is not a hugepage pool; free counts are unknown"
    );
    assert_eq!(
        n0.distances,
        Some([(NodeId(0), 10), (NodeId(1), 21)].into_iter().collect())
    );
    let cpu3 = host.cpu(CpuId(3)).unwrap();
    assert_eq!(
        (cpu3.node, cpu3.socket, cpu3.die, cpu3.core, cpu3.l3),
        (Some(NodeId(1)), Some(1), Some(0), Some(1), Some(1))
    );
    assert_eq!(
        host.cpus.iter().map(|c| c.id.0).collect::<Vec<_>>(),
        (0..8).collect::<Vec<_>>()
    );
    assert_eq!(
        host.hugepages_global,
        vec![
            HugepagePool {
                page_size_bytes: 2 << 20,
                total: 32,
                free: None
            },
            HugepagePool {
                page_size_bytes: 1 << 30,
                total: 2,
                free: None
            },
        ]
    );
}

#[test]
fn sibling_ranges_and_lists_both_parse_and_keep_their_text() {
    // What virsh prints on an SMT host whose sibling ids are consecutive.
    let xml = r#"<capabilities><host><topology><cells num='1'><cell id='0'>
        <memory unit='KiB'>8388608</memory>
        <cpus num='4'>
          <cpu id='0' socket_id='0' die_id='0' cluster_id='0' core_id='0' siblings='0-1'/>
          <cpu id='1' socket_id='0' die_id='0' cluster_id='0' core_id='0' siblings='0-1'/>
          <cpu id='2' socket_id='0' die_id='0' cluster_id='0' core_id='1' siblings='2-3'/>
          <cpu id='3' socket_id='0' die_id='0' cluster_id='0' core_id='1' siblings='2-3'/>
        </cpus></cell></cells></topology></host></capabilities>"#;
    let host = read(xml);
    let cpu1 = host.cpu(CpuId(1)).unwrap();
    assert_eq!(cpu1.siblings, [CpuId(0), CpuId(1)].into_iter().collect());
    assert_eq!(cpu1.siblings_text, "0-1", "KubeVirt sees the text as written");
    let wide = xml.replace("siblings='0-1'", "siblings='0,16-17'");
    assert_eq!(read(&wide).cpu(CpuId(0)).unwrap().siblings.to_string(), "0,16-17");
}

#[test]
fn kubevirt_options_test_document() {
    // pkg/virt-handler/options_test.go: one cell, siblings "0,4" etc.
    let mut cpus = String::new();
    for i in 0..8 {
        cpus += &format!("<cpu id='{i}' siblings='{},{}'/>", i % 4, i % 4 + 4);
    }
    let xml = format!(
        "<capabilities><host><topology><cells num='1'><cell id='0'>\
         <memory unit='KiB'>16256896</memory>\
         <pages unit='KiB' size='4'>4064224</pages><pages unit='KiB' size='2048'>0</pages>\
         <pages unit='KiB' size='1048576'>0</pages>\
         <distances><sibling id='0' value='10'/></distances>\
         <cpus num='8'>{cpus}</cpus></cell></cells></topology></host></capabilities>"
    );
    let host = read(&xml);
    assert_eq!(host.nodes[0].memory_bytes, Some(16256896 * 1024));
    assert_eq!(host.cpu(CpuId(5)).unwrap().siblings_text, "1,5");
    assert_eq!(
        host.cpu(CpuId(5)).unwrap().socket,
        None,
        "missing attributes stay unknown"
    );
}

#[test]
fn document_order_is_kept_for_cells_and_cpus() {
    let xml = r#"<capabilities><host><topology><cells num='2'>
        <cell id='1'><cpus num='2'><cpu id='9' siblings='9'/><cpu id='8' siblings='8'/></cpus></cell>
        <cell id='0'><cpus num='1'><cpu id='0' siblings='0'/></cpus></cell>
        </cells></topology></host></capabilities>"#;
    let host = read(xml);
    assert_eq!(host.nodes.iter().map(|n| n.id.0).collect::<Vec<_>>(), vec![1, 0]);
    assert_eq!(host.nodes[0].cpus, vec![CpuId(9), CpuId(8)]);
    assert_eq!(host.nodes[0].memory_bytes, None, "no <memory>: unknown");
}

#[test]
fn a_host_without_topology_has_no_cells() {
    let host = read("<capabilities><host><cpu><arch>x86_64</arch></cpu></host></capabilities>");
    assert!(host.nodes.is_empty() && host.cpus.is_empty());
}

#[test]
fn units_scale_as_libvirt_scales_them() {
    assert_eq!(scaled("1", None), Some(1024));
    assert_eq!(scaled("1", Some("KiB")), Some(1024));
    assert_eq!(scaled("1", Some("KB")), Some(1000));
    assert_eq!(scaled("1", Some("k")), Some(1024));
    assert_eq!(scaled("2", Some("GiB")), Some(2 << 30));
    assert_eq!(scaled("5", Some("bytes")), Some(5));
    assert_eq!(scaled("1", Some("parsecs")), None);
    assert_eq!(scaled("18446744073709551615", Some("KiB")), None);
}

#[test]
fn bad_documents_name_the_place_and_the_value() {
    let truncated = &TWO_NODE[..TWO_NODE.find("<cell id='1'>").unwrap()];
    assert_eq!(
        err(truncated),
        "caps.xml: malformed XML at line 29: document ends inside <cells>"
    );
    assert_eq!(
        err(&TWO_NODE.replace("siblings='3'", "siblings='3-x'")),
        "caps.xml: invalid siblings list \"3-x\" at host/topology/cells/cell[@id=1]/cpus/cpu[@id=3]/@siblings"
    );
    assert_eq!(
        err(&TWO_NODE.replace("<memory unit='KiB'>16515044", "<memory unit='parsecs'>16515044")),
        "caps.xml: invalid memory size \"16515044 parsecs\" at host/topology/cells/cell[@id=1]/memory"
    );
    assert_eq!(
        err(&TWO_NODE.replace("<cpu id='7'", "<cpu id='6'")),
        "caps.xml: invalid cpu id listed twice \"6\" at host/topology/cells/cell[@id=1]/cpus/cpu[@id=6]"
    );
    assert_eq!(
        err(&TWO_NODE.replace("<sibling id='1' value='10'/>", "<sibling id='1' value='-10'/>")),
        "caps.xml: invalid number \"-10\" at host/topology/cells/cell[@id=1]/distances/sibling/@value"
    );
    assert_eq!(
        err(&TWO_NODE.replace("<cell id='1'>", "<cell id='0'>")),
        "caps.xml: invalid duplicate cell id \"0\" at host/topology/cells/cell[@id=0]"
    );
    assert_eq!(
        err("<domain><name>x</name></domain>"),
        "caps.xml: not a libvirt capabilities document (no <capabilities><host> element)"
    );
    assert!(err("<capabilities><host></capabilities>").starts_with("caps.xml: malformed XML at line 1: "));
    assert_eq!(
        err(&TWO_NODE.replace("siblings='5'", "siblings='0-4294967295'")),
        "caps.xml: invalid siblings list \"0-4294967295\" at host/topology/cells/cell[@id=1]/cpus/cpu[@id=5]/@siblings"
    );
}
