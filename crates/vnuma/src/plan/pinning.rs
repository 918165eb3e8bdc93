//! `AdjustDomainForTopologyAndCPUSet` (behaviour reference §1.6–§1.9): vCPU pins from the
//! pool, then supplemental IOThreads, the emulator thread, the other IOThreads and the
//! realtime PMU switch, in KubeVirt's order (the order changes which CPUs each one gets).

use std::collections::BTreeSet;

use crate::plan::pool::{CpuPool, KvTopology};
use crate::plan::{FailureReason, GuestPlan, realtime};
use crate::vmi::{EVEN_PARITY_ANNOTATION, Vmi};

/// How many IOThreads KubeVirt gives the domain (`converter/iothreads`): the supplemental pool
/// size, or one per dedicated-IOThread disk plus one per other disk, where over the policy's
/// limit (1 for `shared`, 2 × CPUs for `auto`, 1 with an isolated emulator thread) the shared
/// ones shrink to the limit less the dedicated ones, but never below one. No policy and no
/// dedicated disk: none.
pub fn iothread_count(vmi: &Vmi) -> u32 {
    let policy = vmi.io_threads_policy.as_deref();
    if policy == Some("supplementalPool") {
        return vmi
            .supplemental_pool_thread_count
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0);
    }
    let dedicated = vmi
        .disks
        .iter()
        .filter(|d| d.dedicated_io_thread == Some(true))
        .count();
    if policy.is_none() && dedicated == 0 {
        return 0;
    }
    let shareable = vmi.disks.len() - dedicated;
    let limit = match policy {
        Some("auto") if !(vmi.cpu.dedicated && vmi.cpu.isolate_emulator_thread) => {
            let cpus = vmi
                .resources
                .requests_cpu
                .as_ref()
                .or(vmi.resources.limits_cpu.as_ref())
                .map_or(1, |q| q.value().max(1));
            usize::try_from(cpus.saturating_mul(2)).unwrap_or(usize::MAX)
        }
        _ => 1,
    };
    // Over the pool limit, the shared threads shrink to what the limit leaves, but never to 0.
    let shared = if shareable + dedicated > limit {
        limit.saturating_sub(dedicated).max(1)
    } else {
        shareable
    };
    u32::try_from(shared + dedicated).unwrap_or(u32::MAX)
}

/// Pins everything. Returns whether the relaxed pool's rounding quirk left vCPUs unpinned.
pub fn pin(plan: &mut GuestPlan, vmi: &Vmi, view: &KvTopology, cpuset: &[u32], round_down: bool) -> bool {
    let (sockets, cores, threads) = vmi.topology();
    let tpc = usize::try_from(threads).unwrap_or(1);
    let cores_to_fit = usize::try_from(sockets.saturating_mul(cores)).unwrap_or(usize::MAX);
    let set: BTreeSet<u32> = cpuset.iter().copied().collect();
    plan.strict_pool = vmi.cpu.passthrough;
    let mut pool = CpuPool::new(view, &set, cpuset.len(), tpc, cores_to_fit, !vmi.cpu.passthrough);
    let quirk_hit = match pool.fit_cores(round_down) {
        Ok(fitted) => {
            plan.vcpupin = (0u32..).zip(fitted.threads).collect();
            plan.pool_phases = fitted.phases;
            fitted.unpinned > 0
        }
        Err(e) => {
            plan.fail(FailureReason::Pinning, e.to_string());
            return false;
        }
    };
    plan.hint_dedicated = plan.architecture == "amd64";
    plan.iothreads = iothread_count(vmi);

    let supplemental = if vmi.io_threads_policy.as_deref() == Some("supplementalPool") {
        vmi.supplemental_pool_thread_count
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0)
    } else {
        0
    };
    for iothread in 1..=supplemental {
        match pool.fit_thread() {
            Ok(cpu) => plan.iothreadpin.push((iothread, vec![cpu])),
            Err(e) => {
                plan.fail(
                    FailureReason::IoThreads,
                    format!("no CPU allocated for the iothread: {e}"),
                );
                return quirk_hit;
            }
        }
    }

    if vmi.cpu.isolate_emulator_thread {
        let first = match pool.fit_thread() {
            Ok(cpu) => cpu,
            Err(e) => {
                plan.fail(
                    FailureReason::EmulatorThread,
                    format!("no CPU allocated for the emulation thread: {e}"),
                );
                return quirk_hit;
            }
        };
        let mut cpus = vec![first];
        let pinned_cpus = vmi.vcpus() + supplemental;
        if vmi.annotations.contains_key(EVEN_PARITY_ANNOTATION) && pinned_cpus.is_multiple_of(2) {
            match pool.fit_thread() {
                Ok(cpu) => cpus.push(cpu),
                Err(e) => {
                    plan.fail(
                        FailureReason::EmulatorThread,
                        format!("no second CPU allocated for the emulation thread: {e}"),
                    );
                    return quirk_hit;
                }
            }
        }
        plan.emulatorpin = Some(cpus);
    }

    if plan.iothreads > 0 && supplemental == 0 {
        plan.iothreadpin =
            shared_iothread_pins(plan.iothreads, vmi.vcpus(), cpuset, plan.emulatorpin.as_deref());
    } else if vmi.io_threads_policy.is_some() && supplemental == 0 {
        // A policy asks for IOThreads, but with no disk (written or defaulted from a volume)
        // the converter gives the domain none, and pinning them fails (§1.9).
        plan.fail(FailureReason::IoThreads, "domain is missing IOThreads".into());
        return quirk_hit;
    }

    if let Some(rt) = &vmi.cpu.realtime {
        plan.pmu_off = true;
        match realtime::RealtimeMask::parse(rt.mask.as_deref().unwrap_or("")) {
            Ok(mask) => plan.realtime_mask = Some(mask),
            Err(e) => plan.warn(
                "realtime-mask-invalid",
                format!("virt-handler will refuse the realtime mask: {e}"),
            ),
        }
    }
    quirk_hit
}

/// `FormatDomainIOThreadPin` for non-supplemental IOThreads. Indices go into the pod cpuset
/// as written, not the vCPU pins. With an isolated emulator thread only IOThread 1 is pinned,
/// to the emulator's CPUs.
pub fn shared_iothread_pins(
    n: u32,
    vcpus: u32,
    cpuset: &[u32],
    emulator: Option<&[u32]>,
) -> Vec<(u32, Vec<u32>)> {
    if let Some(emulator) = emulator {
        return vec![(1, emulator.to_vec())];
    }
    let (n_us, v) = (
        usize::try_from(n).unwrap_or(0),
        usize::try_from(vcpus).unwrap_or(0),
    );
    if v == 0 || cpuset.is_empty() {
        return Vec::new();
    }
    if n_us >= v {
        return (1..=n)
            .filter_map(|t| {
                let idx = usize::try_from(t).ok()? % v;
                cpuset.get(idx).map(|&c| (t, vec![c]))
            })
            .collect();
    }
    let (base, extra) = (v / n_us, v % n_us);
    let mut pins = Vec::new();
    let mut start = 0;
    for (i, t) in (1..=n).enumerate() {
        let size = base + usize::from(i < extra);
        let group: Vec<u32> = cpuset.iter().skip(start).take(size).copied().collect();
        start += size;
        pins.push((t, group));
    }
    pins
}
