//! `vnuma plan`: read the VMI and the cluster settings, apply KubeVirt's defaults and
//! admission, read the host and the pod cpuset, plan, print.

use std::path::PathBuf;

use anyhow::{anyhow, bail};
use clap::ValueEnum;
use vnuma::cpuset::CpuSet;
use vnuma::plan::{CpusetSource, KubevirtVersion, PlanOptions};
use vnuma::report::plan::{self as report, Context as ReportContext};

use crate::host::{self, read_input};
use crate::kubelet_args::{self, KubeletArgs};
use crate::vmi_args::VmiArgs;
use crate::{Failure, HostArgs, output, progress, vmi_args};
use vnuma::kubelet::allocate::{Existing, Request, allocate};
use vnuma::kubelet::config::KubeletConfig;
use vnuma::plan::GuestPlan;
use vnuma::topology::HostTopology;
use vnuma::vmi::{ClusterConfig, Vmi};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum PlanFormat {
    /// A view for people.
    Table,
    /// The libvirt domain XML.
    Xml,
    /// The JSON document of cli-contract.md.
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

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Version {
    /// KubeVirt main (after v1.9.0): host distances reach the guest.
    Main,
    /// KubeVirt v1.9.0 or earlier: no guest distances.
    #[value(name = "1.9")]
    V19,
}

/// Arguments of `vnuma plan`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 planned; 1 the VM cannot run as planned (pinning, emulator thread, \
IOThreads, NUMA mapping or a hugepage shortfall; json/yaml still print the plan with its error); \
2 unusable input (bad YAML, wrong types, bad quantities or cpulists, a VMI KubeVirt's admission rejects)."
)]
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
    /// The KubeVirt release to reproduce.
    #[arg(long, value_enum, default_value = "main")]
    kubevirt_version: Version,
    /// Turn KubeVirt's known bugs off (each one that changes a plan is named in a warning).
    #[arg(long)]
    fix_kubevirt_quirks: bool,
    /// Report a host node without enough free hugepages as a warning, not an error.
    #[arg(long)]
    allow_hugepage_shortfall: bool,
    /// Output format. `qemu` prints the QEMU command line; QEMU has no option to pin vCPUs,
    /// so `qemu-pinning` prints that part (vCPU, emulator and IOThread CPUs) as JSON.
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
    /// Write the result to FILE (atomically: a failure never leaves a partial file).
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
        bail!(
            "--cgroup {}: neither cpuset.cpus.effective (cgroup v2) nor cpuset.cpus (cgroup v1) is there",
            dir.display()
        );
    }
    Ok(None)
}

/// The pod's request, as virt-controller renders it, for the kubelet simulation.
pub(crate) fn pod_request(vmi: &Vmi, cluster: &ClusterConfig, fix_quirks: bool) -> Request {
    let pod = vnuma::vmi::pod::render(vmi, cluster, fix_quirks);
    let get = |k: &str| pod.requests.get(k).copied().unwrap_or(0);
    Request {
        cpu_millis: get("cpu"),
        memory: u64::try_from(get("memory")).unwrap_or(0),
        hugepages: pod
            .requests
            .iter()
            .filter(|(k, _)| k.starts_with("hugepages-"))
            .map(|(k, v)| (k.clone(), u64::try_from(*v).unwrap_or(0)))
            .collect(),
    }
}

/// Plans from the kubelet's predicted allocation; a pod the kubelet rejects is a plan whose
/// error is the kubelet's reason.
fn predict(
    host: &HostTopology,
    vmi: &Vmi,
    cluster: &ClusterConfig,
    config: &KubeletConfig,
    existing: &Existing,
    options: &PlanOptions,
    fix_quirks: bool,
) -> Result<GuestPlan, Failure> {
    let request = pod_request(vmi, cluster, fix_quirks);
    let allocation = allocate(host, config, &request, existing).map_err(Failure::input)?;
    if let Some((reason, message)) = &allocation.error {
        return Ok(vnuma::plan::kubelet_rejected(vmi, format!("{reason}: {message}")));
    }
    let cpuset: Vec<u32> = allocation
        .cpuset
        .iter()
        .flat_map(|s| s.iter().map(|c| c.0))
        .collect();
    let mut plan = vnuma::plan::plan(host, vmi, &cpuset, options);
    if !allocation.exclusive {
        plan.warnings.push(vnuma::plan::Warning {
            code: "cpuset-shared-pool".into(),
            message: "the kubelet gives this pod no exclusive CPUs (cpuManagerPolicy none, or a pod that is \
                      not Guaranteed): its cpuset is the shared pool"
                .into(),
        });
    }
    Ok(plan)
}

/// `plan`, or with `explain` the plan in plain words.
pub(crate) fn run(args: &PlanArgs, explain: bool) -> Result<(), Failure> {
    let (vmi, cluster) = vmi_args::load(&args.input, args.host.host.as_deref())?;
    let given = pod_cpuset(args).map_err(Failure::input)?;
    let loaded = host::load(args.host.host.as_deref()).map_err(Failure::input)?;
    let kubevirt_version = match args.kubevirt_version {
        Version::Main => KubevirtVersion::Main,
        Version::V19 => KubevirtVersion::V1_9OrEarlier,
    };
    let options = PlanOptions {
        kubevirt_version,
        fix_quirks: args.fix_kubevirt_quirks,
        allow_hugepage_shortfall: args.allow_hugepage_shortfall,
    };
    if args.all_placements {
        let (config, _existing) = kubelet_args::load(&args.kubelet)?;
        let request = pod_request(&vmi, &cluster, args.fix_kubevirt_quirks);
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
            _ => {
                return Err(Failure::input(anyhow!(
                    "--all-placements prints -o table or -o json"
                )));
            }
        };
        return output::emit(&text, args.output_file.as_deref()).map_err(Failure::input);
    }
    let (plan, source, kubelet) = match given {
        Some((cpuset, source)) => (
            vnuma::plan::plan(&loaded.host, &vmi, &cpuset, &options),
            source,
            None,
        ),
        None => {
            let (config, existing) = kubelet_args::load(&args.kubelet)?;
            let plan = predict(
                &loaded.host,
                &vmi,
                &cluster,
                &config,
                &existing,
                &options,
                args.fix_kubevirt_quirks,
            )?;
            (
                plan,
                CpusetSource::Predicted,
                Some(kubelet_args::describe(&config)),
            )
        }
    };
    let ctx = ReportContext {
        host_label: &loaded.label,
        kubevirt_version,
        cpuset_source: source,
        kubelet: kubelet.as_deref(),
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
    let text = match (args.output, &plan.error) {
        _ if explain => Some(vnuma::report::explain::explain(&plan, &loaded.host, &ctx)),
        (
            PlanFormat::Xml | PlanFormat::Qemu | PlanFormat::QemuPinning | PlanFormat::CloudHypervisor,
            Some(_),
        ) => None,
        (PlanFormat::CloudHypervisor, None) => Some(
            vnuma::render::cloud_hypervisor::command_line(
                &plan,
                &vnuma::render::cloud_hypervisor::ChOptions::default(),
            )
            .map_err(|e| match e {
                vnuma::render::cloud_hypervisor::ChError::Unsupported(_) => {
                    Failure::cannot_run(anyhow!("{e}")).context_reason(BACKEND_UNSUPPORTED)
                }
                e => Failure::cannot_run(anyhow!("{e}")),
            })?,
        ),
        (PlanFormat::Qemu, None) => Some(vnuma::render::qemu::command_line(&plan, &qemu_options).map_err(
            |e| match e {
                vnuma::render::qemu::QemuError::Unsupported(_) => {
                    Failure::cannot_run(anyhow!("{e}")).context_reason(BACKEND_UNSUPPORTED)
                }
                e => Failure::input(anyhow!("{e}")),
            },
        )?),
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
    if let Some(text) = text {
        output::emit(&text, args.output_file.as_deref()).map_err(Failure::input)?;
    }
    match plan.error {
        Some(e) => Err(Failure::cannot_run(anyhow!("{}", e.message)).context_reason(e.reason.as_str())),
        None => Ok(()),
    }
}

/// The reason word of a plan a hypervisor backend cannot express (exit 1).
const BACKEND_UNSUPPORTED: &str = "backend-unsupported";

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
