//! The `vnuma` command: parse the command line, read inputs at the edge, call the pure
//! library, print. Exit codes follow `cli-contract.md`: 0 success, 1 a valid input whose VM
//! cannot run as planned, 2 an input that cannot be used (including usage errors).

mod allocate;
mod color;
mod host;
mod kubelet_args;
mod output;
mod plan;
mod pod;
mod progress;
mod validate;
mod verify;
mod vmi_args;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

/// Give a virtual machine the NUMA topology its host really has.
///
/// vnuma reproduces KubeVirt's NUMA passthrough (guestMappingPassthrough) from the same
/// inputs, reads the host the way real machines present it, and renders the result for
/// libvirt, QEMU and Cloud Hypervisor.
#[derive(Debug, Parser)]
#[command(name = "vnuma", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    validate: validate::ValidateArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show the host's NUMA topology: nodes, CPUs by core, memory, hugepages, distances.
    Topology(TopologyArgs),
    /// Plan a VMI's NUMA passthrough exactly as KubeVirt would, and check it fits the host.
    Plan(Box<plan::PlanArgs>),
    /// Explain a plan step by step in plain words (takes the same arguments as `plan`; its
    /// only format is its text).
    Explain(Box<plan::PlanArgs>),
    /// Predict what the kubelet allocates to one Guaranteed container (CPU, Topology and
    /// Memory Managers).
    Allocate(Box<allocate::AllocateArgs>),
    /// The virt-launcher pod's compute-container resources (what the kubelet sees).
    Pod(pod::PodArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print a man page (roff), generated from the command-line definition: `vnuma(1)`, or
    /// with a subcommand its own page (`vnuma man plan` is `vnuma-plan(1)`); `--dir DIR`
    /// writes every page (vnuma.1, vnuma-plan.1, ...) into DIR, creating it.
    Man(ManArgs),
    /// Check a running VM (QMP socket or libvirt domain) against its plan.
    Verify(verify::VerifyArgs),
}

#[derive(Debug, clap::Args)]
struct ManArgs {
    /// The subcommand whose page to print (default: the main page).
    subcommand: Option<String>,
    /// Write every page into this directory instead (created if missing).
    #[arg(long, value_name = "DIR", conflicts_with = "subcommand")]
    dir: Option<PathBuf>,
}

/// Where the host comes from; shared by every command that needs one.
#[derive(Debug, clap::Args)]
pub(crate) struct HostArgs {
    /// The host: a directory is a filesystem root with sysfs (`/` is this machine), a file is
    /// a `virsh capabilities` document, `-` reads one from stdin, `example:NAME` is a built-in
    /// host (example:dual-socket, example:asymmetric). Default: example:dual-socket.
    #[arg(long, value_name = "SOURCE")]
    pub(crate) host: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TopologyFormat {
    /// A view for people.
    Table,
    /// The JSON document (reference: docs/formats.md in the repository).
    Json,
    /// The same document as YAML.
    Yaml,
    /// An lstopo-style SVG picture.
    Svg,
}

#[derive(Debug, clap::Args)]
struct TopologyArgs {
    #[command(flatten)]
    host: HostArgs,
    #[command(flatten)]
    color: color::ColorArgs,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "table")]
    output: TopologyFormat,
    /// Write the result to FILE (atomically: a failure never leaves a partial file; `-` is
    /// stdout; a new file gets mode 0666 less the umask, as `>` gives it, a replaced file
    /// keeps its mode).
    #[arg(long, value_name = "FILE")]
    output_file: Option<PathBuf>,
}

/// A failure with the exit code it maps to.
pub(crate) struct Failure {
    code: u8,
    error: anyhow::Error,
}

impl Failure {
    /// A valid input whose VM cannot run as planned: exit 1.
    pub(crate) fn cannot_run(error: impl Into<anyhow::Error>) -> Self {
        Failure {
            code: 1,
            error: error.into(),
        }
    }

    /// Bad input or usage: exit 2.
    pub(crate) fn input(error: impl Into<anyhow::Error>) -> Self {
        Failure {
            code: 2,
            error: error.into(),
        }
    }
}

/// The command as invoked: `kubectl vnuma` when installed as the kubectl plugin
/// `kubectl-vnuma` (kubectl runs plugins by that file name), `vnuma` otherwise.
fn command() -> clap::Command {
    let plugin = std::env::args_os()
        .next()
        .map(std::path::PathBuf::from)
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .is_some_and(|n| n == "kubectl-vnuma");
    let command = Cli::command();
    if plugin {
        command.bin_name("kubectl vnuma").display_name("kubectl vnuma")
    } else {
        command
    }
}

fn main() -> ExitCode {
    let matches = command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    validate::set(&cli.validate);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {:#}", failure.error);
            ExitCode::from(failure.code)
        }
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Topology(args) => topology(&args),
        Command::Completions { shell } => {
            let mut cmd = command();
            let name = cmd.get_bin_name().unwrap_or("vnuma").to_string();
            let mut text = Vec::new();
            clap_complete::generate(shell, &mut cmd, name, &mut text);
            output::emit(&String::from_utf8_lossy(&text), None).map_err(Failure::input)
        }
        Command::Man(args) => man(&args),
        Command::Plan(args) => plan::run(&args, false),
        Command::Explain(args) => plan::run(&args, true),
        Command::Verify(args) => verify::run(&args),
        Command::Pod(args) => pod::run(&args),
        Command::Allocate(args) => allocate::run(&args),
    }
}

/// The man pages: the main one and one per subcommand, as clap_mangen names them
/// (`vnuma-plan`), which the main page's SUBCOMMANDS section refers to.
fn man(args: &ManArgs) -> Result<(), Failure> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let render = |cmd: clap::Command| -> Result<(String, String), Failure> {
        let page = clap_mangen::Man::new(cmd);
        let mut text = Vec::new();
        page.render(&mut text).map_err(Failure::input)?;
        Ok((page.get_filename(), String::from_utf8_lossy(&text).into_owned()))
    };
    if let Some(dir) = &args.dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::input(anyhow::anyhow!("--dir {}: {e}", dir.display())))?;
        let mut pages = vec![render(cmd.clone())?];
        for sub in cmd.get_subcommands() {
            pages.push(render(sub.clone())?);
        }
        for (name, text) in pages {
            output::emit(&text, Some(&dir.join(name))).map_err(Failure::input)?;
        }
        return Ok(());
    }
    let page = match &args.subcommand {
        None => cmd,
        Some(name) => cmd.find_subcommand(name).cloned().ok_or_else(|| {
            let names: Vec<&str> = cmd.get_subcommands().map(clap::Command::get_name).collect();
            Failure::input(anyhow::anyhow!(
                "no subcommand {name:?}; the pages are: {}",
                names.join(", ")
            ))
        })?,
    };
    let (_, text) = render(page)?;
    output::emit(&text, None).map_err(Failure::input)
}

fn topology(args: &TopologyArgs) -> Result<(), Failure> {
    let loaded = host::load(args.host.host.as_deref()).map_err(Failure::input)?;
    let text = match args.output {
        TopologyFormat::Table => {
            let color = args.color.enabled(args.output_file.as_deref());
            vnuma::report::topology::to_table(&loaded.host, &loaded.label)
                + &vnuma::report::terminal::topology_map(&loaded.host, color)
        }
        TopologyFormat::Svg => {
            vnuma::report::svg::topology_svg(&loaded.host, &format!("host {}", loaded.label))
        }
        TopologyFormat::Json => vnuma::report::topology::to_json(&loaded.host, &loaded.label),
        TopologyFormat::Yaml => vnuma::report::topology::to_yaml(&loaded.host, &loaded.label),
    };
    output::emit(&text, args.output_file.as_deref()).map_err(Failure::input)
}
