//! `vnuma plan`: read the VMI and the cluster settings, apply KubeVirt's defaults and
//! admission, read the host and the pod cpuset, plan, print.

use std::path::PathBuf;

use anyhow::{anyhow, bail};
use clap::ValueEnum;
use vnuma::cpuset::CpuSet;
use vnuma::pipeline::Cpuset;
use vnuma::plan::{CpusetSource, KubevirtVersion, PlanOptions};
use vnuma::report::plan::{self as report, Context as ReportContext};

use crate::host::{self, read_input};
use crate::kubelet_args::{self, KubeletArgs};
use crate::vmi_args::VmiArgs;
use crate::{Failure, HostArgs, output, progress, vmi_args};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum PlanFormat {
    /// A view for people.
    Table,
    /// The libvirt domain XML.
    Xml,
    /// The JSON document (reference: docs/formats.md in the repository).
    Json,
    /// The same document as YAML.
    Yaml,
    /// The QEMU command line (one shell-quoted argument per line). QEMU cannot pin vCPUs on
    /// its command line: the pinning is `-o qemu-pinning`.
    Qemu,
    /// The vCPU, emulator and IOThread pinning QEMU cannot express, as JSON.
    QemuPinning,
    /// The Cloud Hypervisor command line (one shell-quoted argument per line).
    CloudHypervisor,
    /// An lstopo-style SVG picture of the plan on the host (a failed plan draws its failure).
    Svg,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum QemuBackend {
    /// memory-backend-memfd with hugetlb (what KubeVirt's memfd source becomes).
    Memfd,
    /// memory-backend-file on the hugetlbfs mount (--qemu-hugetlbfs).
    File,
    /// memory-backend-ram, no hugepages (syntax checks on hosts without reserved pages).
    Ram,
}

/// `--kubevirt-version`: clap's value parser over the library's reading.
fn kubevirt_version(text: &str) -> Result<KubevirtVersion, String> {
    KubevirtVersion::parse(text)
}

/// The after-help of `plan`: exit codes, and the quirks it reproduces (each `kubelet-quirk:*`
/// code also has a row in docs/guide.md, "KubeVirt's and the kubelet's quirks").
const PLAN_AFTER_HELP: &str = "\
Exit codes: 0 planned; 1 the VM cannot run as planned (pinning, emulator thread, \
IOThreads, NUMA mapping, a hugepage shortfall, or a pod the kubelet rejects or crashes on; \
json/yaml still print the plan with its error); 2 unusable input (bad YAML, wrong types, bad \
quantities or cpulists, a VMI KubeVirt's admission rejects).

KubeVirt's quirks, reproduced on purpose; a plan they change carries the warning code, and \
--fix-kubevirt-quirks turns them all off (plans as KubeVirt would without the bug):
  kubevirt-quirk:sibling-ranges-dropped  sibling lists written as ranges (\"0-1\") are dropped, so \
those CPUs count as one-thread cores
  kubevirt-quirk:partial-core-unpinned   the relaxed pool reports success with fewer pins than vCPUs \
when the last guest core is incomplete (fixed: the last core is placed too, or the plan fails)
  kubevirt-quirk:no-topology-no-numa     a host without NUMA cells gives the guest no NUMA topology, \
silently (fixed: a numa-mapping error)
  kubevirt-quirk:misscaled-error         the \"not enough memory\" message prints its second number \
scaled by 1048576 (fixed: bytes)
  kubevirt-quirk:parity-mismatch         the pod's CPU request counts supplemental IOThreads twice \
for the emulator's even parity, leaving it a CPU short (fixed: counted once)

Kubelet quirks (kubelet-quirk:* codes) are predicted as the kubelet behaves; no switch turns them \
off (unlike --fix-kubevirt-quirks):
  kubelet-quirk:closest-numa-noncontiguous-ids  prefer-closest-numa-nodes on NUMA ids that are not \
0..n-1 (nodes 0 and 2): the kubelet indexes distance rows by node id and panics (reason KubeletPanic)
  kubelet-quirk:uneven-socket-whole-take  on uneven sockets (offline CPUs, odd SNC) the whole-socket \
step can hand out a reserved or already-assigned CPU
  kubelet-quirk:uneven-core-whole-take    the same flaw in the whole-core step";

/// Arguments of `vnuma plan`.
#[derive(Debug, clap::Args)]
#[command(after_help = PLAN_AFTER_HELP)]
pub(crate) struct PlanArgs {
    #[command(flatten)]
    input: VmiArgs,
    #[command(flatten)]
    kubelet: KubeletArgs,
    /// Instead of one plan: sample node states (other pods arriving and leaving, placed by the
    /// kubelet simulation) and report every distinct guest NUMA layout the VM gets, how often,
    /// and which are asymmetric.
    #[arg(long, conflicts_with_all = ["cpuset", "cgroup"])]
    all_placements: bool,
    /// Node states to sample for --all-placements.
    #[arg(long, default_value = "1000", value_name = "N", requires = "all_placements")]
    samples: usize,
    /// Seed of the sampling for --all-placements (same seed, same report).
    #[arg(long, default_value = "1", value_name = "S", requires = "all_placements")]
    seed: u64,
    #[command(flatten)]
    host: HostArgs,
    #[command(flatten)]
    color: crate::color::ColorArgs,
    /// The pod's exclusive CPUs, kernel list syntax (`7-8,23-24`).
    #[arg(long, value_name = "LIST", conflicts_with = "cgroup")]
    cpuset: Option<String>,
    /// A pod's cgroup directory: its cpuset is read as virt-launcher reads it
    /// (v2 `cpuset.cpus.effective`, v1 `cpuset.cpus`).
    #[arg(long, value_name = "DIR")]
    cgroup: Option<PathBuf>,
    /// The KubeVirt release to reproduce: `main` or a release 1.0 to 1.9 (`1.6`, `v1.6` and
    /// `1.6.3` all mean 1.6; others, 1.10 included, are refused).
    ///
    /// What differs: only guest NUMA distances are modelled per version. main passes the
    /// host's distances through to the guest cells (kubevirt PR #18829); 1.9 and earlier
    /// releases leave them out. Every other default is main's, for every version. The plan's
    /// `kubevirt_version` field names the version asked for as `main` or `1.MINOR`.
    #[arg(long, value_name = "VERSION", default_value = "main", value_parser = kubevirt_version)]
    kubevirt_version: KubevirtVersion,
    /// Turn KubeVirt's known bugs off (each one that changes a plan is named in a warning; the
    /// list is below).
    #[arg(long)]
    fix_kubevirt_quirks: bool,
    /// Report a host node without enough free hugepages as a warning, not an error.
    #[arg(long)]
    allow_hugepage_shortfall: bool,
    /// Output format. `qemu` prints the QEMU command line; QEMU has no option to pin vCPUs,
    /// so `qemu-pinning` prints that part (vCPU, emulator and IOThread CPUs) as JSON. Every
    /// format but `table` (which lists them) also prints the plan's warnings on stderr, one
    /// `warning: CODE: message` line each. `explain` has only its text (`-o table`);
    /// `--all-placements` has `table` and `json`.
    #[arg(short, long, value_enum, default_value = "table")]
    output: PlanFormat,
    /// QEMU accelerator for `-o qemu` (`kvm`, or `tcg` for software emulation).
    #[arg(long, default_value = "kvm", value_name = "ACCEL")]
    qemu_accel: String,
    /// QEMU machine type for `-o qemu`.
    #[arg(long, default_value = "q35", value_name = "TYPE")]
    qemu_machine: String,
    /// QEMU CPU model for `-o qemu` (default `host` with kvm, `max` with tcg).
    #[arg(long, value_name = "MODEL")]
    qemu_cpu: Option<String>,
    /// QEMU memory backend for `-o qemu`.
    #[arg(long, value_enum, default_value = "memfd")]
    qemu_memory_backend: QemuBackend,
    /// The hugetlbfs mount of 2 MiB pages for `--qemu-memory-backend file` (1 GiB pages: the
    /// same path with `1G` appended).
    #[arg(long, default_value = "/dev/hugepages", value_name = "DIR")]
    qemu_hugetlbfs: String,
    /// Write the result to FILE (atomically: a failure never leaves a partial file; `-` is
    /// stdout; a new file gets mode 0666 less the umask, as `>` gives it, a replaced file
    /// keeps its mode).
    #[arg(long, value_name = "FILE")]
    output_file: Option<PathBuf>,
}

/// The pod cpuset from `--cpuset` or `--cgroup`; `None` when neither is given (then the
/// kubelet's allocation is predicted).
fn pod_cpuset(args: &PlanArgs) -> anyhow::Result<Option<(Vec<u32>, CpusetSource)>> {
    let parse = |text: &str, origin: &str| -> anyhow::Result<Vec<u32>> {
        let first = text.lines().next().unwrap_or("");
        CpuSet::parse_list_ordered(first)
            .map(|ids| ids.into_iter().map(|c| c.0).collect())
            .map_err(|e| anyhow!("{origin}: invalid cpu list {:?}: {e}", first.trim()))
    };
    if let Some(list) = &args.cpuset {
        return Ok(Some((parse(list, "--cpuset")?, CpusetSource::Flag)));
    }
    if let Some(dir) = &args.cgroup {
        for file in ["cpuset.cpus.effective", "cpuset.cpus"] {
            let path = dir.join(file);
            if path.is_file() {
                let text = read_input(&path.display().to_string())?;
                return Ok(Some((
                    parse(&text, &path.display().to_string())?,
                    CpusetSource::Cgroup,
                )));
            }
        }
        let d = dir.display();
        if dir.join("cpuset").is_dir() {
            bail!(
                "--cgroup {d}: this is the cgroup v1 root (it has a cpuset/ hierarchy but no cpuset files \
                 itself); pass the pod's directory below it, e.g. {}/cpuset/kubepods/pod<UID>/<container ID>",
                d.to_string().trim_end_matches('/')
            );
        }
        if dir.join("cgroup.controllers").is_file() {
            bail!(
                "--cgroup {d}: a cgroup v2 directory without cpuset files (the cpuset controller is not \
                 enabled here); pass the pod's own cgroup directory, e.g. \
                 /sys/fs/cgroup/kubepods.slice/.../cri-containerd-<container ID>.scope"
            );
        }
        bail!(
            "--cgroup {d}: neither cpuset.cpus.effective (cgroup v2) nor cpuset.cpus (cgroup v1) is there; \
             pass the pod's own cgroup directory (v2: below /sys/fs/cgroup/kubepods.slice, v1: below \
             /sys/fs/cgroup/cpuset/kubepods)"
        );
    }
    Ok(None)
}

/// `plan`, or with `explain` the plan in plain words.
pub(crate) fn run(args: &PlanArgs, explain: bool) -> Result<(), Failure> {
    if explain && !matches!(args.output, PlanFormat::Table) {
        return Err(Failure::input(anyhow!(
            "explain prints only its text (-o table, the default), not -o {}",
            format_name(args.output)
        )));
    }
    let (vmi, cluster) = vmi_args::load(&args.input, args.host.host.as_deref())?;
    let given = pod_cpuset(args).map_err(Failure::input)?;
    let loaded = host::load(args.host.host.as_deref()).map_err(Failure::input)?;
    let kubevirt_version = args.kubevirt_version;
    let options = PlanOptions {
        kubevirt_version,
        fix_quirks: args.fix_kubevirt_quirks,
        allow_hugepage_shortfall: args.allow_hugepage_shortfall,
    };
    if args.all_placements {
        let (config, _existing) = kubelet_args::load(&args.kubelet)?;
        let request = vnuma::pipeline::pod_request(&vmi, &cluster, args.fix_kubevirt_quirks);
        let found = {
            let mut bar = progress::Bar::new("sampling node states");
            vnuma::reschedule::explore_with_progress(
                &loaded.host,
                &config,
                &request,
                &vmi,
                &options,
                args.samples,
                args.seed,
                &mut |done, total| bar.update(done, total),
            )
            .map_err(Failure::input)?
        };
        let text = match args.output {
            PlanFormat::Json => vnuma::report::reschedule::to_json(&found),
            PlanFormat::Table => {
                vnuma::report::reschedule::to_table(&found, &loaded.label, &kubelet_args::describe(&config))
            }
            other => {
                return Err(Failure::input(anyhow!(
                    "--all-placements prints -o table or -o json, not -o {}",
                    format_name(other)
                )));
            }
        };
        return output::emit(&text, args.output_file.as_deref()).map_err(Failure::input);
    }
    let plan_on = |cpuset| {
        vnuma::pipeline::plan(&loaded.host, &vmi, &cluster, cpuset, &options).map_err(Failure::input)
    };
    let (outcome, description) = match &given {
        Some((cpus, source)) => (plan_on(Cpuset::Given(cpus, *source))?, None),
        None => {
            let (config, existing) = kubelet_args::load(&args.kubelet)?;
            (
                plan_on(Cpuset::Predicted(&config, &existing))?,
                Some(kubelet_args::describe(&config)),
            )
        }
    };
    let (plan, source) = (outcome.plan, outcome.source);
    let ctx = ReportContext {
        host_label: &loaded.label,
        kubevirt_version,
        cpuset_source: source,
        kubelet: description.as_deref(),
        kubelet_settings: outcome.kubelet.as_ref(),
    };
    let qemu_options = vnuma::render::qemu::QemuOptions {
        binary: "qemu-system-x86_64".into(),
        accel: args.qemu_accel.clone(),
        machine: args.qemu_machine.clone(),
        cpu: args
            .qemu_cpu
            .clone()
            .unwrap_or_else(|| vnuma::render::qemu::default_cpu(&plan, &args.qemu_accel)),
        backend: match args.qemu_memory_backend {
            QemuBackend::Memfd => vnuma::render::qemu::MemoryBackend::Memfd,
            QemuBackend::File => vnuma::render::qemu::MemoryBackend::File(args.qemu_hugetlbfs.clone()),
            QemuBackend::Ram => vnuma::render::qemu::MemoryBackend::Ram,
        },
    };
    let facts = if explain {
        let (config, existing) = kubelet_args::load(&args.kubelet)?;
        Some(
            vnuma::pipeline::kubelet_facts(
                &loaded.host,
                &vmi,
                &cluster,
                &config,
                &existing,
                args.fix_kubevirt_quirks,
            )
            .map_err(Failure::input)?,
        )
    } else {
        None
    };
    let text = match (args.output, &plan.error) {
        _ if explain => Some(vnuma::report::explain::explain_with(
            &plan,
            &loaded.host,
            &ctx,
            facts.as_ref(),
        )),
        (
            PlanFormat::Xml | PlanFormat::Qemu | PlanFormat::QemuPinning | PlanFormat::CloudHypervisor,
            Some(_),
        ) => None,
        (PlanFormat::CloudHypervisor, None) => Some(
            vnuma::render::cloud_hypervisor::command_line(
                &plan,
                &vnuma::render::cloud_hypervisor::ChOptions::default(),
            )
            .map_err(backend_unsupported)?,
        ),
        (PlanFormat::Qemu, None) => Some({
            for warning in vnuma::render::qemu::warnings(&plan) {
                eprintln!("warning: {warning}");
            }
            vnuma::render::qemu::command_line(&plan, &qemu_options).map_err(backend_unsupported)?
        }),
        (PlanFormat::QemuPinning, None) => Some(vnuma::render::qemu::pinning_json(&plan)),
        (PlanFormat::Xml, None) => Some(vnuma::render::libvirt::domain_xml(&plan)),
        (PlanFormat::Json, _) => Some(report::to_json(&plan, &ctx)),
        (PlanFormat::Yaml, _) => Some(report::to_yaml(&plan, &ctx)),
        (PlanFormat::Table, _) => Some(
            report::to_table(&plan, &loaded.host, &ctx)
                + &vnuma::report::terminal::plan_map(
                    &plan,
                    &loaded.host,
                    args.color.enabled(args.output_file.as_deref()),
                ),
        ),
        (PlanFormat::Svg, _) => Some(vnuma::report::svg::plan_svg(
            &plan,
            &loaded.host,
            &format!("{}/{} on host {}", plan.namespace, plan.name, loaded.label),
        )),
    };
    // The table lists the warnings; every other format says them on stderr too, so a
    // warning (a dropped `distances-invalid`, say) is never silent.
    if !explain && !matches!(args.output, PlanFormat::Table) {
        for warning in &plan.warnings {
            eprintln!("warning: {}: {}", warning.code, warning.message);
        }
    }
    if let Some(text) = text {
        output::emit(&text, args.output_file.as_deref()).map_err(Failure::input)?;
    }
    match plan.error {
        Some(e) => {
            let hint: String = e
                .hint
                .iter()
                .flat_map(|h| h.lines())
                .map(|l| format!("\nhint: {l}"))
                .collect();
            Err(Failure::cannot_run(anyhow!("{}{hint}", e.message)).context_reason(e.reason.as_str()))
        }
        None => Ok(()),
    }
}

/// The name `-o` takes for a format.
fn format_name(format: PlanFormat) -> String {
    format
        .to_possible_value()
        .map_or_else(|| format!("{format:?}"), |v| v.get_name().to_string())
}

/// The one mapping of every renderer's refusal: a plan a hypervisor backend cannot express is
/// exit 1 with reason `backend-unsupported`, whichever backend refuses it.
fn backend_unsupported(error: impl std::fmt::Display) -> Failure {
    Failure::cannot_run(anyhow!("{error}")).context_reason("backend-unsupported")
}

impl Failure {
    fn context_reason(self, reason: &str) -> Self {
        Failure {
            code: self.code,
            error: self
                .error
                .context(format!("the VM cannot run as planned ({reason})")),
        }
    }
}
