//! The VMI arguments every VMI command shares (`plan`, `pod`, `explain`): the file or stdin,
//! `--name`, instancetypes and the KubeVirt CR; and loading them through KubeVirt's defaults
//! and admission.

use std::path::PathBuf;

use anyhow::anyhow;
use vnuma::pipeline::VmiSources;
use vnuma::vmi::input::{Source, unknown_fields};
use vnuma::vmi::select::Selector;
use vnuma::vmi::{ClusterConfig, Vmi, VmiError};

use crate::Failure;
use crate::host::read_input;

/// Where the VMI comes from.
#[derive(Debug, clap::Args)]
pub(crate) struct VmiArgs {
    /// The VirtualMachineInstance or VirtualMachine YAML (`-` reads stdin).
    #[arg(value_name = "VMI")]
    vmi: Option<String>,
    /// The VMI file, kubectl style (same as the positional argument).
    #[arg(short = 'f', long = "filename", value_name = "FILE", conflicts_with = "vmi")]
    file: Option<String>,
    /// Which VMI or VM to plan when the input holds several: NAME, or kubectl's KIND/NAME
    /// (`vm/web`, `vmi/web`, `VirtualMachine/web`; kind case-insensitive) when a VM and its VMI
    /// share the name.
    #[arg(long, value_name = "[KIND/]NAME")]
    name: Option<String>,
    /// Consider only objects of this namespace (objects without one match any).
    #[arg(short = 'n', long, value_name = "NS")]
    namespace: Option<String>,
    /// An instancetype or preference a VirtualMachine references (repeatable).
    #[arg(long, value_name = "FILE")]
    instancetype: Vec<PathBuf>,
    /// A KubeVirt CR with cluster-wide settings (feature gates, hotplug, default architecture).
    #[arg(long, value_name = "FILE")]
    kubevirt_config: Option<PathBuf>,
}

/// Exit 2 with every admission cause on its own line.
pub(crate) fn vmi_error(error: VmiError) -> Failure {
    if let VmiError::Rejected { causes } = &error {
        let lines: Vec<String> = causes
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect();
        return Failure::input(anyhow!(
            "KubeVirt's admission would reject this VMI ({} cause(s)):\n  {}",
            lines.len(),
            lines.join("\n  ")
        ));
    }
    Failure::input(error)
}

/// `--validate` over the KubeVirt objects of one input.
fn check_fields(source: Source<'_>) -> Result<(), Failure> {
    crate::validate::check(source.origin, || unknown_fields(source).map_err(vmi_error))
}

/// Reads the VMI's files, then [`vnuma::pipeline::load_vmi`] (KubeVirt's defaults and
/// admission). `host` is the `--host` argument, to refuse two inputs on stdin.
pub(crate) fn load(args: &VmiArgs, host: Option<&str>) -> Result<(Vmi, ClusterConfig), Failure> {
    let vmi_path = args.vmi.clone().or_else(|| args.file.clone()).ok_or_else(|| {
        Failure::input(anyhow!(
            "no VMI given: pass a VirtualMachineInstance YAML file (or - for stdin)"
        ))
    })?;
    if vmi_path == "-" && host == Some("-") {
        return Err(Failure::input(anyhow!(
            "only one input may read stdin: the VMI and --host are both -"
        )));
    }
    let text = read_input(&vmi_path).map_err(Failure::input)?;
    let origin = if vmi_path == "-" {
        "<stdin>".to_string()
    } else {
        vmi_path.clone()
    };
    let extra_texts: Vec<(String, String)> = args
        .instancetype
        .iter()
        .map(|p| read_input(&p.display().to_string()).map(|t| (p.display().to_string(), t)))
        .collect::<anyhow::Result<_>>()
        .map_err(Failure::input)?;
    let extra: Vec<Source<'_>> = extra_texts
        .iter()
        .map(|(o, t)| Source { origin: o, text: t })
        .collect();
    let main = Source {
        origin: &origin,
        text: &text,
    };
    for source in std::iter::once(&main).chain(&extra) {
        check_fields(*source)?;
    }
    let selector = Selector::parse(args.name.as_deref(), args.namespace.as_deref())
        .map_err(|e| Failure::input(anyhow!("{e}")))?;
    let cluster = match &args.kubevirt_config {
        Some(path) => {
            let origin = path.display().to_string();
            let text = read_input(&origin).map_err(Failure::input)?;
            Some((origin, text))
        }
        None => None,
    };
    let kubevirt_config = cluster.as_ref().map(|(origin, text)| Source { origin, text });
    if let Some(source) = kubevirt_config {
        check_fields(source)?;
    }
    vnuma::pipeline::load_vmi(&VmiSources {
        main,
        extra: &extra,
        selector: &selector,
        kubevirt_config,
    })
    .map_err(vmi_error)
}
