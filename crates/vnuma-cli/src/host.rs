//! `--host SOURCE`: the one place the command line turns a host argument into a topology.

use std::fs;
use std::io::Read;
use std::path::Path;

use anyhow::{Context, bail};
use vnuma::topology::{HostTopology, capabilities, examples, sysfs};

/// The largest capabilities document read (real ones are tens of KiB).
const MAX_CAPABILITIES_BYTES: u64 = 16 << 20;

/// A host and the label that names its source in output (`sysfs:/`, `example:dual-socket`).
pub(crate) struct Loaded {
    pub(crate) host: HostTopology,
    pub(crate) label: String,
}

/// Reads the host named by `--host`; with none, the built-in example, said on stderr.
pub(crate) fn load(source: Option<&str>) -> anyhow::Result<Loaded> {
    let Some(source) = source else {
        eprintln!("using built-in host example:dual-socket; pass --host / for this machine");
        return load(Some("example:dual-socket"));
    };
    if let Some(name) = source.strip_prefix("example:") {
        let host = examples::example(name)?;
        return Ok(Loaded {
            host,
            label: source.to_string(),
        });
    }
    if source == "-" {
        let xml = read_host_file(std::io::stdin().lock(), "<stdin>")?;
        return Ok(Loaded {
            host: capabilities::from_capabilities_xml_with_cells(&xml, "<stdin>")?,
            label: "capabilities:-".to_string(),
        });
    }
    let path = Path::new(source);
    let meta = fs::metadata(path).with_context(|| {
        format!("--host {source}: cannot read it (pass a sysfs root, a capabilities file, - or example:NAME)")
    })?;
    if meta.is_dir() {
        sysfs_itself(path, source)?;
        let host = sysfs::read_sysfs(path).with_context(|| format!("reading host sysfs below {source}"))?;
        return Ok(Loaded {
            host,
            label: format!("sysfs:{source}"),
        });
    }
    let file = fs::File::open(path).with_context(|| format!("--host {source}: cannot open"))?;
    let xml = read_host_file(file, source)?;
    Ok(Loaded {
        host: capabilities::from_capabilities_xml_with_cells(&xml, source)?,
        label: format!("capabilities:{source}"),
    })
}

/// The largest YAML or cpuset input read.
const MAX_INPUT_BYTES: u64 = 64 << 20;

/// Reads a file, or stdin for `-`, bounded, as UTF-8 text.
pub(crate) fn read_input(path: &str) -> anyhow::Result<String> {
    if path == "-" {
        return read_limited(std::io::stdin().lock(), "<stdin>", MAX_INPUT_BYTES);
    }
    let file = fs::File::open(path).with_context(|| format!("cannot open {path}"))?;
    read_limited(file, path, MAX_INPUT_BYTES)
}

/// `--host /sys` (the sysfs directory itself, not the root above it): says which root to pass.
fn sysfs_itself(path: &Path, source: &str) -> anyhow::Result<()> {
    let inside = ["devices/system/node", "devices/system/cpu"]
        .iter()
        .any(|p| path.join(p).is_dir());
    if inside && !path.join("sys/devices/system/cpu").is_dir() {
        let parent = match Path::new(source.trim_end_matches('/')).parent() {
            Some(p) if p.as_os_str().is_empty() => ".".to_string(),
            Some(p) => p.display().to_string(),
            None => "/".to_string(),
        };
        bail!(
            "--host {source}: this is a sysfs directory itself (it holds devices/system); pass the root \
             above it: --host {parent}"
        );
    }
    Ok(())
}

/// A host file: a capabilities document as text, or a tarball named as one.
fn read_host_file(reader: impl Read, name: &str) -> anyhow::Result<String> {
    let bytes = read_bytes(reader, name, MAX_CAPABILITIES_BYTES)?;
    let extract = if bytes.starts_with(b"BZh") {
        Some("tar xjf")
    } else if bytes.starts_with(&[0x1f, 0x8b]) {
        Some("tar xzf")
    } else if bytes.get(257..262) == Some(b"ustar") {
        Some("tar xf")
    } else {
        None
    };
    if let Some(extract) = extract {
        bail!(
            "{name}: this is a tarball (as `hwloc-gather-topology` makes), not a capabilities document; \
             extract it (`{extract} {name}`) and pass the directory it creates (the one holding sys/) as --host"
        );
    }
    String::from_utf8(bytes).with_context(|| format!("{name} is not UTF-8 text"))
}

fn read_limited(reader: impl Read, name: &str, limit: u64) -> anyhow::Result<String> {
    let bytes = read_bytes(reader, name, limit)?;
    String::from_utf8(bytes).with_context(|| format!("{name} is not UTF-8 text"))
}

fn read_bytes(reader: impl Read, name: &str, limit: u64) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("failed to read {name}"))?;
    if bytes.len() as u64 > limit {
        bail!("{name} is larger than {limit} bytes; refusing to read it");
    }
    Ok(bytes)
}
