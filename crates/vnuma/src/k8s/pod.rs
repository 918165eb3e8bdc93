//! A pod's resources as the kubelet sees them, and its QoS class: what KubeVirt renders for
//! the virt-launcher pod and what the kubelet's CPU, Memory and Topology Managers read.

use std::collections::BTreeMap;

/// Requests and limits of the compute container, in base units: `cpu` in millicores, memory,
/// hugepages and ephemeral storage in bytes, device-plugin resources as counts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PodResources {
    /// Requests by resource name.
    pub requests: BTreeMap<String, i64>,
    /// Limits by resource name.
    pub limits: BTreeMap<String, i64>,
}

/// The pod's QoS class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QosClass {
    /// Requests equal limits for cpu and memory.
    Guaranteed,
    /// Some request.
    Burstable,
    /// Nothing requested.
    BestEffort,
}

impl QosClass {
    /// Kubernetes' word.
    pub fn as_str(self) -> &'static str {
        match self {
            QosClass::Guaranteed => "Guaranteed",
            QosClass::Burstable => "Burstable",
            QosClass::BestEffort => "BestEffort",
        }
    }
}

impl PodResources {
    /// The QoS class of a pod whose only container is this one, as the pod report prints it.
    /// It differs from the kubelet's [`pod_qos`] at the edges: any positive request or limit
    /// (ephemeral storage, devices) makes it Burstable rather than BestEffort, and a zero cpu
    /// or memory limit counts as a limit.
    pub fn qos(&self) -> QosClass {
        let cpu_mem = ["cpu", "memory"];
        if cpu_mem.iter().all(|r| {
            self.limits
                .get(*r)
                .is_some_and(|l| Some(l) == self.requests.get(*r).or(Some(l)))
        }) {
            return QosClass::Guaranteed;
        }
        if self.requests.values().any(|v| *v > 0) || self.limits.values().any(|v| *v > 0) {
            QosClass::Burstable
        } else {
            QosClass::BestEffort
        }
    }

    /// Exclusive CPUs the static CPU Manager would give: the cpu request when the pod is
    /// Guaranteed and it is a whole number.
    pub fn exclusive_cpus(&self) -> Option<u64> {
        let cpu = *self.requests.get("cpu")?;
        (self.qos() == QosClass::Guaranteed && cpu > 0 && cpu % 1000 == 0)
            .then(|| u64::try_from(cpu / 1000).ok())
            .flatten()
    }
}

/// `GetPodQOS` (`pkg/apis/core/v1/helper/qos`) over a pod's containers (app and init): Guaranteed
/// when every container has positive cpu and memory limits and the pod's summed requests equal
/// its summed limits (positive quantities only); BestEffort without any positive request or
/// limit; Burstable otherwise. A limit without a request counts as the request too, as the API
/// server's defaulting makes it.
pub fn pod_qos<'a>(containers: impl IntoIterator<Item = &'a PodResources>) -> QosClass {
    let mut requests: BTreeMap<&str, i64> = BTreeMap::new();
    let mut limits: BTreeMap<&str, i64> = BTreeMap::new();
    let mut guaranteed = true;
    for c in containers {
        let mut limits_found = 0;
        for resource in ["cpu", "memory"] {
            let request = c
                .requests
                .get(resource)
                .or_else(|| c.limits.get(resource))
                .copied();
            if let Some(q) = request.filter(|&q| q > 0) {
                let sum = requests.entry(resource).or_insert(0);
                *sum = sum.saturating_add(q);
            }
            if let Some(&q) = c.limits.get(resource).filter(|&&q| q > 0) {
                limits_found += 1;
                let sum = limits.entry(resource).or_insert(0);
                *sum = sum.saturating_add(q);
            }
        }
        if limits_found < 2 {
            guaranteed = false;
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return QosClass::BestEffort;
    }
    if guaranteed && requests.len() == limits.len() && requests.iter().all(|(r, q)| limits.get(r) == Some(q))
    {
        QosClass::Guaranteed
    } else {
        QosClass::Burstable
    }
}
