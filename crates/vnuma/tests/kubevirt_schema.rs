//! KubeVirt's published OpenAPI document (`../shared/fixtures/kubevirt-api/swagger.json`) is the
//! source of truth for every KubeVirt field name:
//!
//! - the field tree vnuma embeds to name unknown fields (`src/vmi/kubevirt-fields.txt`) is
//!   exactly what this file generates from the schema (`VNUMA_REGENERATE=1` rewrites it);
//! - the unknown-field check, run over the schema-generated tree, names the typos of issue 10
//!   and stays quiet on the shared converter fixtures' VMIs and every example.
//!
//! The wire types' own names are checked against the same schema by the unit test
//! `vmi::wire_schema` (it needs the crate's private wire types).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use vnuma::vmi::schema;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn swagger() -> Value {
    let path = repo().join("../shared/fixtures/kubevirt-api/swagger.json");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the shared fixtures must sit beside the repository)",
            path.display()
        )
    });
    serde_json::from_str(&text).expect("swagger.json is JSON")
}

const QUANTITY: &str = "k8s.io.apimachinery.pkg.api.resource.Quantity";

fn ref_name(schema: &Value) -> Option<&str> {
    schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/definitions/"))
}

/// The tree's type token for one property schema; referenced definitions with fields are
/// queued.
fn token(schema: &Value, defs: &serde_json::Map<String, Value>, queue: &mut VecDeque<String>) -> String {
    if let Some(name) = ref_name(schema) {
        if name == QUANTITY {
            return "quantity".into();
        }
        let def = &defs[name];
        if def
            .get("properties")
            .is_some_and(|p| p.as_object().is_some_and(|m| !m.is_empty()))
        {
            queue.push_back(name.to_string());
            return name.to_string();
        }
        // A definition without fields: a scalar (Time is a string) or free-form.
        return match def.get("type").and_then(Value::as_str) {
            Some(t @ ("string" | "integer" | "number" | "boolean")) => t.to_string(),
            _ if def.get("additionalProperties").is_some() => {
                format!("{{}}{}", token(&def["additionalProperties"], defs, queue))
            }
            _ => "any".into(),
        };
    }
    match schema.get("type") {
        Some(Value::String(t)) => match t.as_str() {
            "array" => format!("[]{}", token(&schema["items"], defs, queue)),
            "object" => match schema.get("additionalProperties") {
                Some(value) if value.is_object() => format!("{{}}{}", token(value, defs, queue)),
                _ => "any".into(),
            },
            "string" | "integer" | "number" | "boolean" => t.clone(),
            other => panic!("unexpected schema type {other}"),
        },
        _ => "any".into(),
    }
}

/// The field tree of everything reachable from the objects vnuma reads.
fn generate(swagger: &Value) -> String {
    let defs = swagger["definitions"].as_object().expect("definitions");
    let mut queue: VecDeque<String> = schema::ROOTS.iter().map(|(_, def)| def.to_string()).collect();
    let mut seen = BTreeSet::new();
    let mut blocks: BTreeMap<String, String> = BTreeMap::new();
    while let Some(name) = queue.pop_front() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let def = defs
            .get(&name)
            .unwrap_or_else(|| panic!("{name} is not in the schema"));
        let mut block = format!("@{name}\n");
        let props = def["properties"].as_object().expect("properties");
        let mut names: Vec<&String> = props.keys().collect();
        names.sort();
        for field in names {
            let ty = token(&props[field], defs, &mut queue);
            block.push_str(&format!("{field} {ty}\n"));
        }
        blocks.insert(name, block);
    }
    let mut text = String::from(
        "# KubeVirt's known fields, generated from its published OpenAPI document\n\
         # (../shared/fixtures/kubevirt-api/swagger.json, KubeVirt main d923fdb8) by\n\
         # `VNUMA_REGENERATE=1 cargo test -p vnuma --test kubevirt_schema`. Do not edit.\n",
    );
    for block in blocks.values() {
        text.push_str(block);
    }
    text
}

#[test]
fn the_embedded_field_tree_is_the_one_generated_from_kubevirts_schema() {
    let generated = generate(&swagger());
    let path = repo().join("crates/vnuma/src/vmi/kubevirt-fields.txt");
    if std::env::var_os("VNUMA_REGENERATE").is_some() {
        fs::write(&path, &generated).expect("write the tree");
    }
    assert!(
        schema::KUBEVIRT_FIELDS == generated,
        "{} is stale: run `VNUMA_REGENERATE=1 cargo test -p vnuma --test kubevirt_schema`",
        path.display()
    );
    let tree = schema::kubevirt_tree();
    assert_eq!(tree.dangling(), Vec::<String>::new());
    for (kind, def) in schema::ROOTS {
        assert!(tree.has(def), "{kind}: {def} missing from the tree");
    }
    // The field of issue 10, item 1, with KubeVirt's capitals.
    assert!(
        tree.fields("v1.Disk")
            .expect("v1.Disk")
            .contains_key("dedicatedIOThread")
    );
}

fn unknown(yaml: &str) -> Vec<String> {
    let value: Value = serde_saphyr::from_str(yaml).expect("yaml");
    schema::unknown_fields(&value)
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn unknown_fields_of_issue_10_are_named_with_the_nearest_known_field() {
    let vmi = "apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\nmetadata: {name: a}\n\
               spec:\n  domain:\n    cpu:\n      core: 4\n      numa: {guestMappingPasthrough: {}}\n\
               \x20   devices:\n      disks: [{name: d, dedicatedIoThread: true}]\n";
    assert_eq!(
        unknown(vmi),
        [
            "unknown field spec.domain.cpu.core; did you mean cores?",
            "unknown field spec.domain.cpu.numa.guestMappingPasthrough; did you mean guestMappingPassthrough?",
            "unknown field spec.domain.devices.disks[0].dedicatedIoThread; did you mean dedicatedIOThread?",
        ]
    );
    let vm = "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata: {name: a}\n\
              spec:\n  templates: {spec: {domain: {devices: {}}}}\n";
    assert_eq!(
        unknown(vm),
        ["unknown field spec.templates; did you mean template?"]
    );
    // Fields vnuma never reads but KubeVirt knows are not unknown.
    let known = "apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\n\
                 metadata: {name: a, labels: {x: y}, annotations: {a: b}}\n\
                 spec:\n  terminationGracePeriodSeconds: 0\n  domain:\n    firmware: {bootloader: {efi: {}}}\n\
                 \x20   devices: {interfaces: [{name: default, masquerade: {}}]}\n\
                 \x20 networks: [{name: default, pod: {}}]\n\
                 \x20 volumes: [{name: d, containerDisk: {image: x}}]\nstatus: {phase: Running}\n";
    assert_eq!(unknown(known), Vec::<String>::new());
}

#[test]
fn the_converter_fixtures_and_examples_have_no_unknown_field() {
    let dir = repo().join("../shared/fixtures/kubevirt-domains");
    let mut checked = 0;
    for entry in fs::read_dir(&dir).expect("kubevirt-domains") {
        let path = entry.expect("entry").path();
        if path.to_string_lossy().ends_with(".vmi.json") {
            let value: Value = serde_json::from_str(&fs::read_to_string(&path).expect("read")).expect("json");
            assert_eq!(schema::unknown_fields(&value), [], "{}", path.display());
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} fixture VMIs");
    for entry in fs::read_dir(repo().join("examples")).expect("examples") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let text = fs::read_to_string(&path).expect("read");
            let docs: Vec<Value> = serde_saphyr::from_multiple(&text).expect("yaml");
            for doc in docs {
                assert_eq!(schema::unknown_fields(&doc), [], "{}", path.display());
            }
        }
    }
}
