//! The SVG pictures render with a real SVG renderer: `rsvg-convert` (Debian `librsvg2-bin`)
//! turns each into a PNG, which must decode and must not be blank; `xmllint --noout` (Debian
//! `libxml2-utils`) must accept each SVG. Covers the seed's two scenarios on the built-in
//! host, and the topology of the largest shared hwloc snapshot (256 CPUs, 64 nodes) with a
//! working and a failing plan on it. A missing tool fails the test with the package to
//! install; nothing is skipped.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "../../vnuma/tests/support/mod.rs"]
mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// Runs `vnuma` and returns stdout; `expect_code` is the exit status it must end with.
fn vnuma(args: &[&str], expect_code: i32) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_vnuma"))
        .args(args)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(expect_code),
        "vnuma {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs a tool, failing with the Debian package to install when it is missing.
fn tool(program: &str, package: &str, args: &[&Path]) -> std::process::Output {
    Command::new(program).args(args).output().unwrap_or_else(|e| {
        panic!("cannot run {program} ({e}): install the Debian package {package} (apt-get install {package})")
    })
}

/// Renders `svg` to PNG with rsvg-convert and checks the picture; returns (width, height).
fn render(svg: &str, name: &str) -> (u32, u32) {
    assert!(
        svg.starts_with("<?xml") && svg.contains("<svg"),
        "{name}: not an SVG"
    );
    let dir = tempfile::tempdir().unwrap();
    let svg_path = dir.path().join(format!("{name}.svg"));
    let png_path = dir.path().join(format!("{name}.png"));
    std::fs::write(&svg_path, svg).unwrap();

    let lint = tool("xmllint", "libxml2-utils", &[Path::new("--noout"), &svg_path]);
    assert!(
        lint.status.success(),
        "{name}: xmllint rejects the SVG: {}",
        String::from_utf8_lossy(&lint.stderr)
    );

    let out = tool(
        "rsvg-convert",
        "librsvg2-bin",
        &[
            Path::new("--format=png"),
            Path::new("--output"),
            &png_path,
            &svg_path,
        ],
    );
    assert!(
        out.status.success(),
        "{name}: rsvg-convert failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{name}: rsvg-convert warned: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let bytes = std::fs::read(&png_path).unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{name}: not a PNG");
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().expect("PNG header");
    let mut pixels = vec![0; reader.output_buffer_size().expect("PNG size")];
    let frame = reader.next_frame(&mut pixels).expect("PNG data decodes");
    let pixels = &pixels[..frame.buffer_size()];
    let channels = frame.color_type.samples();
    let colours: BTreeSet<&[u8]> = pixels.chunks(channels).collect();
    assert!(
        colours.len() > 20,
        "{name}: the PNG is (nearly) blank: {} distinct colours",
        colours.len()
    );
    // The picture fills its page: something is drawn in the lower half too.
    let row = usize::try_from(frame.width).unwrap() * channels;
    let lower: BTreeSet<&[u8]> = pixels[pixels.len() / 2 / row * row..].chunks(channels).collect();
    assert!(lower.len() > 5, "{name}: the lower half is empty");
    (frame.width, frame.height)
}

#[test]
fn seed_scenarios_render() {
    let seed = examples().join("seed.yaml");
    let seed = seed.to_str().unwrap();
    for (name, cpuset) in [("seed-a", "2-3,18-19"), ("seed-b", "7-8,23-24")] {
        let svg = vnuma(&["plan", seed, "--cpuset", cpuset, "-o", "svg"], 0);
        assert!(svg.contains(">v0</text>") && svg.contains(">v3</text>"), "{name}");
        let (w, h) = render(&svg, name);
        assert!(w >= 600 && h >= 300, "{name}: {w}x{h}");
    }
    let topo = vnuma(&["topology", "--host", "example:asymmetric", "-o", "svg"], 0);
    render(&topo, "asymmetric");
}

#[test]
fn largest_snapshot_renders() {
    let root = support::fsroot("256ia64-64n2s2c");
    let root = root.to_str().unwrap();
    let topo = vnuma(&["topology", "--host", root, "-o", "svg"], 0);
    assert!(topo.contains("Node 63"));
    let (w, h) = render(&topo, "256ia64-topology");
    assert!(w <= 1400, "too wide to read: {w}");
    assert!(h >= 1000, "{h}");

    let seed = examples().join("seed.yaml");
    let seed = seed.to_str().unwrap();
    // The snapshot has no hugepages: the seed cannot run, and the picture says why.
    let failed = vnuma(
        &["plan", seed, "--host", root, "--cpuset", "2-3,40-41", "-o", "svg"],
        1,
    );
    assert!(failed.contains("CANNOT RUN (hugepage-shortfall)"));
    render(&failed, "256ia64-shortfall");
    let allowed = vnuma(
        &[
            "plan",
            seed,
            "--host",
            root,
            "--cpuset",
            "0-1,128-129",
            "--allow-hugepage-shortfall",
            "-o",
            "svg",
        ],
        0,
    );
    render(&allowed, "256ia64-plan");
}

#[test]
fn table_map_colours_only_on_request() {
    let seed = examples().join("seed.yaml");
    let seed = seed.to_str().unwrap();
    let plain = vnuma(&["plan", seed, "--cpuset", "7-8,23-24"], 0);
    assert!(!plain.contains('\x1b'), "auto must not colour a pipe");
    assert!(plain.contains("guest NUMA cells:"), "the table is intact");
    assert!(
        plain.contains("node 0 [ 0 16]") && plain.contains("[v0 v1]"),
        "{plain}"
    );
    let always = vnuma(&["plan", seed, "--cpuset", "7-8,23-24", "--color", "always"], 0);
    assert!(always.contains("\x1b[1;34mv0\x1b[0m"), "{always}");
    let never = vnuma(&["topology", "--color", "never"], 0);
    assert!(!never.contains('\x1b') && never.contains("map (one [..] per core"));
    let topo = vnuma(&["topology", "--color", "always"], 0);
    assert!(topo.contains("\x1b["));
    // NO_COLOR only affects auto: `always` still colours.
    let out = Command::new(env!("CARGO_BIN_EXE_vnuma"))
        .args(["topology", "--color", "always"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("\x1b["));
}
