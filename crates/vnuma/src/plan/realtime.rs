//! The realtime vCPU mask (`spec.domain.cpu.realtime.mask`), parsed as KubeVirt's
//! virt-handler parses it (`pkg/hypervisor/kvm/realtime.go`): comma-separated entries,
//! trimmed; `a-b` and `n` enable ids not already set, `^n` always disables. An empty mask
//! enables every vCPU.

use std::collections::BTreeMap;

/// The parsed mask: vCPU id → enabled. Empty means "all enabled".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RealtimeMask(pub BTreeMap<u32, bool>);

/// A mask KubeVirt refuses, with its wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MaskError {
    /// An entry that is not `n`, `a-b` or `^n`.
    #[error("invalid mask value '{entry}' in '{mask}'")]
    Value {
        /// The entry as written.
        entry: String,
        /// The whole mask.
        mask: String,
    },
    /// A range that ends before it starts.
    #[error("invalid mask range `{0}`")]
    Range(String),
}

fn number(text: &str) -> Option<u32> {
    (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

impl RealtimeMask {
    /// Parses a mask.
    ///
    /// # Errors
    /// [`MaskError`] with KubeVirt's message.
    pub fn parse(mask: &str) -> Result<Self, MaskError> {
        let mut map = BTreeMap::new();
        if mask.is_empty() {
            return Ok(RealtimeMask(map));
        }
        for raw in mask.split(',') {
            let entry = raw.trim();
            let bad = || MaskError::Value {
                entry: if entry.is_empty() {
                    raw.to_string()
                } else {
                    entry.to_string()
                },
                mask: mask.to_string(),
            };
            if let Some(negated) = entry.strip_prefix('^') {
                map.insert(number(negated).ok_or_else(bad)?, false);
            } else if let Some((lo, hi)) = entry.split_once('-') {
                let (lo, hi) = (number(lo).ok_or_else(bad)?, number(hi).ok_or_else(bad)?);
                if hi < lo {
                    return Err(MaskError::Range(entry.to_string()));
                }
                if hi - lo > 100_000 {
                    return Err(bad());
                }
                for id in lo..=hi {
                    map.entry(id).or_insert(true);
                }
            } else {
                map.entry(number(entry).ok_or_else(bad)?).or_insert(true);
            }
        }
        Ok(RealtimeMask(map))
    }

    /// Whether vCPU `id` runs with realtime scheduling.
    pub fn is_enabled(&self, id: u32) -> bool {
        self.0.is_empty() || self.0.get(&id).copied().unwrap_or(false)
    }
}

/// The scheduling policy virt-handler gives the masked vCPU threads (`SCHED_FIFO`).
pub const POLICY: &str = "fifo";
/// Their realtime priority.
pub const PRIORITY: u32 = 1;
/// `SCHED_FIFO`'s number (`/proc/PID/task/TID/stat` field 41).
pub const SCHED_FIFO: u32 = 1;

/// The vCPUs virt-handler will run with `SCHED_FIFO` priority 1 once the VM starts (it is not
/// in the domain XML): every boot vCPU the mask enables. `None` without realtime, or with a
/// mask virt-handler refuses.
pub fn scheduled_vcpus(plan: &crate::plan::GuestPlan) -> Option<Vec<u32>> {
    let mask = plan.realtime_mask.as_ref()?;
    Some((0..plan.guest.vcpus).filter(|&v| mask.is_enabled(v)).collect())
}

/// The scheduling policy and realtime priority in a `/proc/PID/task/TID/stat` line (fields 41
/// and 40, counted after the parenthesised command name, which may hold spaces).
pub fn stat_sched(stat: &str) -> Option<(u32, u32)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state)
    let priority = fields.get(40 - 3)?.parse().ok()?;
    let policy = fields.get(41 - 3)?.parse().ok()?;
    Some((policy, priority))
}

/// The name of a Linux scheduling policy number.
pub fn policy_name(policy: u32) -> String {
    match policy {
        0 => "SCHED_OTHER".into(),
        1 => "SCHED_FIFO".into(),
        2 => "SCHED_RR".into(),
        3 => "SCHED_BATCH".into(),
        5 => "SCHED_IDLE".into(),
        6 => "SCHED_DEADLINE".into(),
        n => format!("policy {n}"),
    }
}

/// The vCPU id of a QEMU thread named `CPU <n>/KVM\n` (its `comm`), as virt-handler finds the
/// threads it gives realtime priority.
pub fn vcpu_thread_id(comm: &str) -> Option<u32> {
    number(comm.strip_prefix("CPU ")?.strip_suffix("/KVM\n")?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on_off(mask: &RealtimeMask) -> (Vec<u32>, Vec<u32>) {
        let on = mask.0.iter().filter(|(_, v)| **v).map(|(k, _)| *k).collect();
        let off = mask.0.iter().filter(|(_, v)| !**v).map(|(k, _)| *k).collect();
        (on, off)
    }

    #[test]
    fn stat_sched_reads_fields_40_and_41() {
        // a vCPU thread under SCHED_FIFO priority 1 (fields 40 and 41 are the last two here)
        let mut fields: Vec<String> = (4..=39).map(|n| n.to_string()).collect();
        fields.extend(["1".into(), "1".into()]);
        let line = format!("4242 (CPU 0/KVM) S {}", fields.join(" "));
        assert_eq!(stat_sched(&line), Some((1, 1)));
        let other = line.replace("CPU 0/KVM) S", "qemu) x y) S");
        assert_eq!(stat_sched(&other), Some((1, 1)), "the last ')' ends the name");
        assert_eq!(stat_sched("1 (init) S 0 1"), None);
        assert_eq!(policy_name(SCHED_FIFO), "SCHED_FIFO");
    }

    /// `kubevirt-numa.md` §4.13, ParseCPUMask.
    #[test]
    fn parse_cpu_mask_catalogue() {
        let errors = [
            ("  ", "invalid mask value '  ' in '  '"),
            ("a-b,33_", "invalid mask value 'a-b' in 'a-b,33_'"),
            ("3,3a", "invalid mask value '3a' in '3,3a'"),
            ("  ,   ", "invalid mask value '  ' in '  ,   '"),
            ("^-1", "invalid mask value '^-1' in '^-1'"),
            ("^3,^-1", "invalid mask value '^-1' in '^3,^-1'"),
            ("1-0", "invalid mask range `1-0`"),
            ("1-", "invalid mask value '1-' in '1-'"),
            ("-1", "invalid mask value '-1' in '-1'"),
            ("0,-1", "invalid mask value '-1' in '0,-1'"),
        ];
        for (input, message) in errors {
            assert_eq!(
                RealtimeMask::parse(input).map_err(|e| e.to_string()),
                Err(message.to_string()),
                "{input:?}"
            );
        }
        let ok: [(&str, &[u32], &[u32]); 29] = [
            ("", &[], &[]),
            ("0-0", &[0], &[]),
            ("0-2", &[0, 1, 2], &[]),
            ("0-2,5-6", &[0, 1, 2, 5, 6], &[]),
            ("0-2,2-3", &[0, 1, 2, 3], &[]),
            ("10-12", &[10, 11, 12], &[]),
            ("10-12,20,21", &[10, 11, 12, 20, 21], &[]),
            ("10-12 ,  20,21", &[10, 11, 12, 20, 21], &[]),
            ("  0-2  ", &[0, 1, 2], &[]),
            ("0", &[0], &[]),
            ("0,1,2", &[0, 1, 2], &[]),
            ("10", &[10], &[]),
            ("^3", &[], &[3]),
            ("^0,^1", &[], &[0, 1]),
            ("^0,^1,^0", &[], &[0, 1]),
            ("^13", &[], &[13]),
            ("^13,^15", &[], &[13, 15]),
            ("0-2,3", &[0, 1, 2, 3], &[]),
            ("0-2,1", &[0, 1, 2], &[]),
            ("5,1-2,6", &[1, 2, 5, 6], &[]),
            (" 6 , 1-2 , 5 ", &[1, 2, 5, 6], &[]),
            ("0,^1", &[0], &[1]),
            ("0,1,2,^3,^4", &[0, 1, 2], &[3, 4]),
            ("0,^0,1", &[1], &[0]),
            ("^0,0", &[], &[0]),
            ("0-2,^3", &[0, 1, 2], &[3]),
            ("0-2,^1", &[0, 2], &[1]),
            ("^1,0-2, 3-6,^4 ", &[0, 2, 3, 5, 6], &[1, 4]),
            ("^10,0-2,3", &[0, 1, 2, 3], &[10]),
        ];
        for (input, on, off) in ok {
            let mask = RealtimeMask::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(on_off(&mask), (on.to_vec(), off.to_vec()), "{input:?}");
        }
        for (input, on, off) in [
            ("^1,0-2,^5,3,10,6-6", vec![0, 2, 3, 6, 10], vec![1, 5]),
            ("^1,0-3,^3,4,5,6-8,^7", vec![0, 2, 4, 5, 6, 8], vec![1, 3, 7]),
        ] {
            assert_eq!(
                on_off(&RealtimeMask::parse(input).unwrap()),
                (on, off),
                "{input:?}"
            );
        }
    }

    /// §4.13, IsEnabled.
    #[test]
    fn is_enabled() {
        let mask = RealtimeMask([(0, true), (1, false)].into_iter().collect());
        assert!(mask.is_enabled(0));
        assert!(!mask.is_enabled(1));
        assert!(!RealtimeMask([(0, false), (1, false)].into_iter().collect()).is_enabled(1));
        assert!(RealtimeMask::default().is_enabled(7));
        assert!(!mask.is_enabled(9));
    }

    /// §4.13, the vCPU thread-name recognition virt-handler uses (`^CPU (\d+)/KVM\n$`).
    #[test]
    fn vcpu_thread_names() {
        assert_eq!(vcpu_thread_id("CPU 3/KVM\n"), Some(3));
        assert_eq!(vcpu_thread_id("CPU 10/KVM\n"), Some(10));
        assert_eq!(vcpu_thread_id("vCPU 1/KVM\n"), None);
        assert_eq!(vcpu_thread_id("CPU -1/KVM\n"), None);
        assert_eq!(vcpu_thread_id("CPU 1/KVM"), None);
    }
}
