//! The parser against the shared request corpus (`schemas/examples/trust-request/`), which
//! `tests/test_request_contract.py` checks the JSON Schema against: both must agree on each file.

#![allow(clippy::expect_used)] // test helpers: a missing corpus should stop the test loudly

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::*;

/// `schemas/examples/trust-request/`, found upwards from this crate.
fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("schemas/examples/trust-request"))
        .find(|dir| dir.is_dir())
        .expect("schemas/examples/trust-request/ above the crate")
}

fn corpus_requests(kind: &str) -> Vec<(String, Value)> {
    let mut found: Vec<(String, Value)> = std::fs::read_dir(corpus().join(kind))
        .unwrap_or_else(|e| panic!("{kind}/: {e}"))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (path.file_stem().expect("file name").to_string_lossy().into_owned(), body)
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

/// The field an invalid file's name blames (the same table as tests/test_request_contract.py).
const BLAMED_BY_NAME: &[(&str, &str)] = &[
    ("request-id", "requestId"),
    ("directory-id", "directoryId"),
    ("remote-domain", "remoteDomainName"),
    ("trust-type", "trustType"),
    ("trust-direction", "trustDirection"),
    ("forwarder", "conditionalForwarderIpAddrs"),
    ("ipv6-forwarder", "conditionalForwarderIpv6Addrs"),
    ("add-ip-routes", "addIpRoutes"),
    ("remote-cidrs", "remoteDomainCidrs"),
    ("preflight", "preflight"),
    ("dry-run", "dryRun"),
    ("selective-auth", "selectiveAuth"),
    ("trust-password", "trustPassword"),
    ("secret-", "trustPassword"),
    ("json-key", "trustPassword"),
    ("notify", "notify"),
    ("on-existing-trust", "onExistingTrust"),
    ("remote-side-wait-until", "remoteSideWaitUntil"),
    ("remote-directory-id", "remoteDirectoryId"),
    ("remote-role-arn", "remoteRoleArn"),
    ("requested-by", "requestedBy"),
    ("request-", "(request)"),
];

fn is_on(violation_field: &str, field: &str) -> bool {
    violation_field == field
        || violation_field.starts_with(&format!("{field}."))
        || violation_field.starts_with(&format!("{field}["))
        // An unknown field is named by its quoted key.
        || (field == "(request)" && violation_field.starts_with('"'))
}

#[test]
fn accepts_every_valid_request_of_the_shared_corpus() {
    let valid = corpus_requests("valid");
    assert!(valid.len() >= 15, "only {} valid requests", valid.len());
    let rejected: Vec<String> = valid.iter().filter_map(|(name, body)| parse_request(body).err().map(|e| format!("{name}: {e}"))).collect();
    assert!(rejected.is_empty(), "valid requests rejected:\n{}", rejected.join("\n"));
}

#[test]
fn rejects_every_invalid_request_of_the_shared_corpus_on_the_field_its_name_says() {
    let invalid = corpus_requests("invalid");
    assert!(invalid.len() >= 30, "only {} invalid requests", invalid.len());
    let mut wrong = Vec::new();
    for (name, body) in &invalid {
        let field = BLAMED_BY_NAME
            .iter()
            .find(|(prefix, _)| name.starts_with(prefix))
            .map(|(_, f)| *f)
            .unwrap_or_else(|| panic!("{name}: the name names no field"));
        match parse_request(body) {
            Err(WorkflowError::ValidationFailed(v)) if !v.is_empty() && v.iter().all(|v| is_on(&v.field, field)) => {}
            Err(WorkflowError::ValidationFailed(v)) => {
                wrong.push(format!("{name}: blamed {:?}, not {field}", v.iter().map(|v| v.field.as_str()).collect::<Vec<_>>()))
            }
            Ok(_) => wrong.push(format!("{name}: accepted")),
            Err(other) => wrong.push(format!("{name}: {other}")),
        }
    }
    assert!(wrong.is_empty(), "the parser disagrees with the corpus:\n{}", wrong.join("\n"));
}
