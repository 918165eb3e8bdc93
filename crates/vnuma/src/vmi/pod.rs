//! The virt-launcher pod's compute-container resources, as KubeVirt's virt-controller renders
//! them (`template.go`, `renderresources.go`, the KVM backend's memory overhead; behaviour
//! reference `kubevirt-numa.md` §3). This is what the kubelet's CPU, Memory and Topology
//! Managers see.

use std::collections::BTreeMap;

pub use crate::k8s::pod::{PodResources, QosClass};
use crate::vmi::{ClusterConfig, EVEN_PARITY_ANNOTATION, Quantity, Vmi};

const MI: i64 = 1 << 20;

fn bytes(q: Option<&Quantity>) -> i64 {
    q.map_or(0, Quantity::value)
}

/// KubeVirt's memory overhead for the KVM backend (`GetMemoryOverhead`), in bytes.
pub fn memory_overhead(vmi: &Vmi, cluster: &ClusterConfig) -> i64 {
    let request = vmi
        .resources
        .requests_memory
        .as_ref()
        .or(vmi.memory.guest.as_ref());
    // page tables: the request in whole kB (rounded up), / 512
    let kb = bytes(request).saturating_add(999) / 1000;
    let mut overhead = kb.saturating_mul(1000) / 512;
    overhead += (25 + 100 + 25 + 40 + 50) * MI; // launcher monitor, launcher, virtlogd, virtqemud, qemu
    let vcpus = match i64::from(vmi.vcpus()) {
        0 => vmi
            .resources
            .limits_cpu
            .as_ref()
            .or(vmi.resources.requests_cpu.as_ref())
            .map_or(1, |q| q.value().max(1)),
        n => n,
    };
    overhead += vcpus * 8 * MI;
    overhead += 8 * MI; // the IOThread
    if vmi.autoattach_graphics_device != Some(false) {
        overhead += 32 * MI;
    }
    if vmi.architecture.as_deref() == Some("arm64") {
        overhead += 128 * MI;
    }
    if vmi.is_vfio() {
        overhead += 1024 * MI; // GPUs, host devices, SR-IOV interfaces (IsVFIOVMI)
    }
    let extras = &vmi.overhead_extras;
    if extras.downward_metrics_volume {
        overhead += MI;
    }
    if extras.exec_probes > 0 {
        overhead += i64::from(extras.exec_probes) * 10 * MI + 100 * MI; // virt-probe
    }
    if extras.sev {
        overhead += 256 * MI;
    }
    if extras.tpm {
        overhead += 53 * MI; // swtpm
    }
    let guaranteed_ask = vmi.resources.requests_cpu.is_some()
        && vmi.resources.requests_cpu == vmi.resources.limits_cpu
        && vmi.resources.requests_memory.is_some()
        && vmi.resources.requests_memory == vmi.resources.limits_memory;
    if vmi.cpu.dedicated || guaranteed_ask {
        overhead += 100 * MI;
    }
    if let Some(added) = &extras.added_overhead {
        overhead = overhead.saturating_add(added.value());
    }
    // additionalGuestMemoryOverheadRatio multiplies the whole overhead (exactly, in milli)
    if let Some(milli) = cluster
        .memory_overhead_ratio
        .as_deref()
        .and_then(|r| Quantity::parse(r.trim()).ok())
        .map(|q| q.milli_value())
        .filter(|&m| m >= 0)
    {
        overhead = i64::try_from((i128::from(overhead) * i128::from(milli) + 999) / 1000).unwrap_or(i64::MAX);
    }
    overhead
}

/// `kubevirt-quirk:parity-mismatch`: with supplemental IOThreads and the even-parity
/// annotation, KubeVirt's renderer counts the IOThreads twice in the emulator's parity and can
/// give the pod one CPU fewer than virt-launcher pins. `Some((pod, launcher))` CPUs (in
/// millicores) when the two differ, `None` when the quirk changes nothing.
pub fn parity_mismatch(vmi: &Vmi, cluster: &ClusterConfig) -> Option<(i64, i64)> {
    let cpu = |r: PodResources| r.requests.get("cpu").copied().unwrap_or(0);
    let (pod, launcher) = (cpu(render(vmi, cluster, false)), cpu(render(vmi, cluster, true)));
    (pod != launcher).then_some((pod, launcher))
}

/// What the rendered resources leave out because the VMI alone cannot tell: each SR-IOV
/// interface's device-plugin resource, named by its NetworkAttachmentDefinition.
pub fn notes(vmi: &Vmi) -> Vec<String> {
    vmi.sriov_interfaces
        .iter()
        .map(|iface| {
            format!(
                "SR-IOV interface {iface:?} also asks for 1 of its network's SR-IOV resource: the resource name is in \
                 the NetworkAttachmentDefinition's k8s.v1.cni.cncf.io/resourceName annotation, which the VMI does not carry"
            )
        })
        .collect()
}

/// The compute container's resources. With `fix_parity` the emulator's parity uses what the
/// launcher will pin (vCPUs + supplemental IOThreads); KubeVirt's renderer counts the
/// supplemental IOThreads twice (quirk §7.11), which can leave the pod one CPU short.
pub fn render(vmi: &Vmi, cluster: &ClusterConfig, fix_parity: bool) -> PodResources {
    let mut r = PodResources::default();
    let set = |m: &mut BTreeMap<String, i64>, k: &str, v: Option<&Quantity>, milli: bool| {
        if let Some(q) = v {
            m.insert(k.to_string(), if milli { q.milli_value() } else { q.value() });
        }
    };
    set(&mut r.requests, "cpu", vmi.resources.requests_cpu.as_ref(), true);
    set(&mut r.limits, "cpu", vmi.resources.limits_cpu.as_ref(), true);
    set(
        &mut r.requests,
        "memory",
        vmi.resources.requests_memory.as_ref(),
        false,
    );
    set(
        &mut r.limits,
        "memory",
        vmi.resources.limits_memory.as_ref(),
        false,
    );

    // base options
    *r.requests.entry("ephemeral-storage".into()).or_default() += 50_000_000;
    if let Some(l) = r.limits.get_mut("ephemeral-storage") {
        *l += 50_000_000;
    }
    r.limits.insert("devices.kubevirt.io/kvm".into(), 1);
    // GPUs and host devices from device plugins: 1 each, in limits and requests
    for (name, count) in crate::vmi::devices::device_plugin_resources(vmi) {
        *r.limits.entry(name.clone()).or_default() += count;
        *r.requests.entry(name).or_default() += count;
    }

    // WithMemoryRequests
    if !r.requests.contains_key("memory") {
        let from = r
            .limits
            .get("memory")
            .copied()
            .or_else(|| vmi.memory.guest.as_ref().map(Quantity::value))
            .or_else(|| {
                vmi.memory
                    .hugepages
                    .as_deref()
                    .and_then(|p| Quantity::parse(p).ok())
                    .map(|q| q.value())
            });
        if let Some(v) = from {
            r.requests.insert("memory".into(), v);
        }
    }

    let io = if vmi.io_threads_policy.as_deref() == Some("supplementalPool") {
        vmi.supplemental_pool_thread_count.unwrap_or(0)
    } else {
        0
    };
    if vmi.cpu.dedicated {
        let v = i64::from(vmi.vcpus());
        if v != 0 {
            let cpus = (v + io) * 1000;
            r.requests.insert("cpu".into(), cpus);
            r.limits.insert("cpu".into(), cpus);
        } else {
            for m in [&mut r.requests, &mut r.limits] {
                *m.entry("cpu".into()).or_default() += io * 1000;
            }
        }
        if vmi.cpu.isolate_emulator_thread {
            let limit = r.limits.get("cpu").copied().unwrap_or(0) / 1000;
            let additional = if fix_parity { 0 } else { io };
            let even = vmi.annotations.contains_key(EVEN_PARITY_ANNOTATION) && (limit + additional) % 2 == 0;
            let extra = if even { 2000 } else { 1000 };
            for m in [&mut r.requests, &mut r.limits] {
                *m.entry("cpu".into()).or_default() += extra;
            }
        }
        if let Some(req) = r.requests.get("memory").copied() {
            r.limits.insert("memory".into(), req);
        }
    }

    let overhead = memory_overhead(vmi, cluster);
    if let Some(page) = &vmi.memory.hugepages {
        let request = r.requests.get("memory").copied().unwrap_or(0);
        let guest = vmi.memory.guest.as_ref().map_or(request, Quantity::value);
        let huge = request.min(guest);
        let name = format!("hugepages-{page}");
        r.requests.insert(name.clone(), huge);
        r.limits.insert(name, huge);
        r.requests
            .insert("memory".into(), overhead + (request - guest).max(0));
        if let Some(limit) = r.limits.get("memory").copied() {
            r.limits
                .insert("memory".into(), overhead + (limit - guest).max(0));
        }
    } else {
        *r.requests.entry("memory".into()).or_default() += overhead;
        if let Some(l) = r.limits.get_mut("memory") {
            *l += overhead;
        }
    }
    r
}

#[cfg(test)]
mod tests;
