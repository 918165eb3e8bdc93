//! Every field vnuma's wire types read, checked against KubeVirt's published OpenAPI document
//! (`../shared/fixtures/kubevirt-api/swagger.json`): its exact JSON name exists at that path,
//! with the same JSON type. Issue 10 item 1: `rename_all = "camelCase"` turned
//! `dedicatedIOThread` into `dedicatedIoThread`, and IOThreads silently vanished.
//!
//! The wire types are walked through their own `Deserialize` impls by [`crate::k8s::trace`].

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::k8s::trace::{Kind, Traced, trace};

fn swagger() -> Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/kubevirt-api/swagger.json");
    serde_json::from_str(&fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .expect("swagger.json is JSON")
}

/// Resolves `$ref`s.
fn resolve<'a>(schema: &'a Value, defs: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => resolve(&defs[r.trim_start_matches("#/definitions/")], defs),
        None => schema,
    }
}

fn json_types(schema: &Value) -> Vec<String> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts.iter().filter_map(|t| t.as_str().map(String::from)).collect(),
        _ if schema.get("properties").is_some() => vec!["object".into()],
        _ => Vec::new(),
    }
}

/// Checks every traced field of `T` against the schema definition `root`; returns the
/// mismatches, one line each.
fn mismatches<'de, T: Deserialize<'de>>(swagger: &Value, root: &str) -> Vec<String> {
    let defs = &swagger["definitions"];
    let mut problems = Vec::new();
    for traced in trace::<T>() {
        let mut schema = &defs[root];
        let mut ok = true;
        for segment in &traced.path {
            let here = resolve(schema, defs);
            let next = match segment.as_str() {
                "*" => here.get("additionalProperties"),
                "[]" => here.get("items"),
                field => here.get("properties").and_then(|p| p.get(field)),
            };
            match next {
                Some(next) => schema = next,
                None => {
                    problems.push(format!(
                        "{root}: {} is not in the schema (at {segment:?})",
                        traced.path.join(".")
                    ));
                    ok = false;
                    break;
                }
            }
        }
        if !ok {
            continue;
        }
        let types = json_types(resolve(schema, defs));
        let has = |t: &str| types.iter().any(|x| x == t);
        let fits = match traced.kind {
            Kind::Boolean => has("boolean"),
            // Integers are int64 in the schema; vnuma's narrower integers refuse what they
            // cannot hold with a field error.
            Kind::Integer => has("integer"),
            Kind::Number => has("number"),
            Kind::String => has("string"),
            Kind::Object | Kind::Map => has("object"),
            Kind::Array => has("array"),
            // A quantity: string, integer or number.
            Kind::Any => has("string") && has("integer") && has("number"),
        };
        if !fits {
            problems.push(format!(
                "{root}: {} is read as {:?} but the schema says {types:?}",
                traced.path.join("."),
                traced.kind
            ));
        }
    }
    problems
}

#[test]
fn every_wire_field_has_kubevirts_exact_name_and_type() {
    use crate::vmi::{cluster, instancetype, wire};
    let swagger = swagger();
    let mut problems = Vec::new();
    problems.extend(mismatches::<wire::VirtualMachineInstance>(
        &swagger,
        "v1.VirtualMachineInstance",
    ));
    problems.extend(mismatches::<wire::VirtualMachine>(&swagger, "v1.VirtualMachine"));
    problems.extend(mismatches::<wire::TypeMeta>(&swagger, "v1.VirtualMachine"));
    problems.extend(mismatches::<instancetype::Instancetype>(
        &swagger,
        "v1beta1.VirtualMachineInstancetype",
    ));
    problems.extend(mismatches::<instancetype::Instancetype>(
        &swagger,
        "v1beta1.VirtualMachineClusterInstancetype",
    ));
    problems.extend(mismatches::<instancetype::Preference>(
        &swagger,
        "v1beta1.VirtualMachinePreference",
    ));
    problems.extend(mismatches::<instancetype::Preference>(
        &swagger,
        "v1beta1.VirtualMachineClusterPreference",
    ));
    problems.extend(mismatches::<cluster::KubeVirt>(&swagger, "v1.KubeVirt"));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The walk really reaches the leaves.
    let paths: Vec<String> = trace::<wire::VirtualMachineInstance>()
        .iter()
        .map(|t| t.path.join("."))
        .collect();
    for leaf in [
        "spec.domain.devices.disks.[].dedicatedIOThread",
        "spec.domain.cpu.numa.guestMappingPassthrough",
        "spec.domain.resources.requests.*",
    ] {
        assert!(paths.iter().any(|p| p == leaf), "{leaf} not traced: {paths:?}");
    }
    let joined = |t: Vec<Traced>| t.iter().map(|t| t.path.join(".")).collect::<Vec<_>>();
    assert!(
        joined(trace::<instancetype::Instancetype>()).contains(&"spec.cpu.dedicatedCPUPlacement".to_string())
    );
    assert!(
        joined(trace::<cluster::KubeVirt>())
            .contains(&"spec.configuration.liveUpdateConfiguration.maxHotplugRatio".to_string())
    );
}

#[test]
fn a_derived_wrong_name_is_caught() {
    // What the bug looked like: the camelCase derivation of `dedicated_io_thread`.
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct WrongDisk {
        name: Option<String>,
        dedicated_io_thread: Option<bool>,
    }
    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct WrongCpu {
        cores: Option<String>,
    }
    let swagger = swagger();
    assert_eq!(
        mismatches::<WrongDisk>(&swagger, "v1.Disk"),
        ["v1.Disk: dedicatedIoThread is not in the schema (at \"dedicatedIoThread\")"]
    );
    assert_eq!(
        mismatches::<WrongCpu>(&swagger, "v1.CPU"),
        ["v1.CPU: cores is read as String but the schema says [\"integer\"]"]
    );
}
