//! Rekor v1 HTTP API, as rekor.sigstore.dev answers it: `POST/GET
//! /api/v1/log/entries`, `GET /api/v1/log/entries/{uuid}`, `GET /api/v1/log`,
//! `GET /api/v1/log/publicKey`.
//!
//! Owns the hashedrekord 0.0.1 canonical body (or, for a log that stores
//! bodies as sent, the client's bytes once they pass the same checks), the SET
//! and the v1 JSON shapes
//! (hex hashes and log ID, integer indices, `{uuid: entry}` maps, `{code, message}`
//! errors). Shapes match sigstore-python 4.5.1 `TransparencyLogEntry._from_v1_response`
//! and sigstore-rekor 0.15.1 `LogEntry`. `dsse` 0.0.1 bodies are [`super::dsse`]'s;
//! other kinds (intoto, ...) are refused with 400, as a Rekor that does not
//! support them would.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use der::{DecodePem, EncodePem};
use serde_json::{json, Value};

use crate::lies::{self, RekorLie};

use super::{
    b64, canonical_json, certificate_spki, merkle, unb64, verify_prehashed, EntryError, Log,
    LogRef, Proof,
};

const ENTRIES: &str = "/api/v1/log/entries";

/// Entries in the log's earlier, frozen shards. rekor.sigstore.dev is sharded: an
/// entry's `logIndex` is global (earlier shards' sizes + its index in the active
/// tree), while `inclusionProof.logIndex` is its index in the active tree. Serving
/// the same split keeps clients honest about which index they check, and no real
/// entry has global index 0 (cosign 2.5 treats a zero `logIndex` as a missing field).
pub const INACTIVE_SHARDS_SIZE: u64 = 100_000_000;

/// The router serving `log`.
pub fn router(log: LogRef) -> Router {
    Router::new()
        .route(ENTRIES, get(get_by_index).post(create))
        .route("/api/v1/log/entries/{uuid}", get(get_by_uuid))
        .route("/api/v1/log", get(log_info))
        .route("/api/v1/log/publicKey", get(public_key))
        .with_state(log)
}

/// Rekor's error model (`{"code", "message"}`) with the matching status.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let body = json!({ "code": status.as_u16(), "message": message.into() });
    (status, Json(body)).into_response()
}

/// The entry UUID: 16 hex digits of the tree ID, then the hex leaf hash.
fn uuid(log: &Log, body: &[u8]) -> String {
    format!(
        "{:016x}{}",
        log.tree_id(),
        hex::encode(merkle::leaf_hash(body))
    )
}

/// The canonical hashedrekord 0.0.1 body for a proposed entry, after checking its
/// signature. The key is re-encoded as PEM (64-column LF lines) the way Rekor's
/// `CanonicalValue` does, so equivalent submissions produce identical leaves.
pub fn canonicalize(proposed: &Value) -> Result<Vec<u8>, EntryError> {
    let kind = proposed["kind"].as_str().unwrap_or_default();
    let api_version = proposed["apiVersion"].as_str().unwrap_or_default();
    if kind == "dsse" {
        return super::dsse::canonicalize(proposed);
    }
    if kind != "hashedrekord" {
        return Err(EntryError::Unsupported(format!(
            "entry kind '{kind}' is not supported"
        )));
    }
    if api_version != "0.0.1" {
        return Err(EntryError::Unsupported(format!(
            "hashedrekord version '{api_version}' is not supported"
        )));
    }
    let spec = &proposed["spec"];
    let field = |v: &Value, name: &str| -> Result<String, EntryError> {
        v.as_str()
            .map(str::to_owned)
            .ok_or_else(|| EntryError::Malformed(format!("missing {name}")))
    };
    let algorithm = field(
        &spec["data"]["hash"]["algorithm"],
        "spec.data.hash.algorithm",
    )?;
    if algorithm != "sha256" {
        return Err(EntryError::Unsupported(format!(
            "hash algorithm '{algorithm}' is not supported"
        )));
    }
    let digest_hex = field(&spec["data"]["hash"]["value"], "spec.data.hash.value")?;
    let digest = hex::decode(&digest_hex)
        .ok()
        .filter(|d| d.len() == 32)
        .ok_or_else(|| EntryError::Malformed("spec.data.hash.value is not a SHA-256".into()))?;
    let signature = unb64(
        "spec.signature.content",
        &field(&spec["signature"]["content"], "spec.signature.content")?,
    )?;
    let pem = unb64(
        "spec.signature.publicKey.content",
        &field(
            &spec["signature"]["publicKey"]["content"],
            "spec.signature.publicKey.content",
        )?,
    )?;
    let (spki, canonical_pem) = parse_verifier(&pem)?;
    verify_prehashed(&spki, &digest, &signature)?;
    Ok(canonical_json(&json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            // As sent: Rekor's `Canonicalize` keeps the string (a client
            // sending upper case gets it logged so).
            "data": { "hash": { "algorithm": "sha256", "value": digest_hex } },
            "signature": {
                "content": b64(&signature),
                "publicKey": { "content": b64(canonical_pem.as_bytes()) }
            }
        }
    })))
}

/// A PEM certificate or public key: its SPKI DER and its canonical PEM.
pub(super) fn parse_verifier(pem: &[u8]) -> Result<(Vec<u8>, String), EntryError> {
    // A signing run logs every artifact under one certificate: parsing it
    // again for each entry was a tenth of the sandbox's CPU in the
    // benchmark, which shares its cores with the clients measured. The last
    // verifier parsed is remembered, keyed by its exact bytes (a pure
    // function of them, so one memo serves every sandbox in the process).
    type Parsed = (Vec<u8>, String);
    static LAST: parking_lot::Mutex<Option<(Vec<u8>, Parsed)>> = parking_lot::Mutex::new(None);
    if let Some((key, parsed)) = &*LAST.lock() {
        if key.as_slice() == pem {
            return Ok(parsed.clone());
        }
    }
    let parsed = parse_verifier_uncached(pem)?;
    *LAST.lock() = Some((pem.to_vec(), parsed.clone()));
    Ok(parsed)
}

fn parse_verifier_uncached(pem: &[u8]) -> Result<(Vec<u8>, String), EntryError> {
    let text = std::str::from_utf8(pem)
        .map_err(|_| EntryError::Malformed("public key is not PEM".into()))?;
    let lf = der::pem::LineEnding::LF;
    if let Ok(cert) = x509_cert::Certificate::from_pem(text) {
        let pem = cert
            .to_pem(lf)
            .map_err(|e| EntryError::Malformed(format!("certificate: {e}")))?;
        let der = der::Encode::to_der(&cert)
            .map_err(|e| EntryError::Malformed(format!("certificate: {e}")))?;
        return Ok((certificate_spki(&der)?, pem));
    }
    if let Ok(spki) = spki::SubjectPublicKeyInfoOwned::from_pem(text) {
        let pem = spki
            .to_pem(lf)
            .map_err(|e| EntryError::Malformed(format!("public key: {e}")))?;
        let der = der::Encode::to_der(&spki)
            .map_err(|e| EntryError::Malformed(format!("public key: {e}")))?;
        return Ok((der, pem));
    }
    Err(EntryError::Malformed(
        "publicKey.content is neither a PEM certificate nor a PEM public key".into(),
    ))
}

/// The SET: the log key's signature over the RFC 8785 form of
/// `{body, integratedTime, logID, logIndex}` (sigstore-verify `verify_set`,
/// sigstore-python `_encode_canonical`).
pub fn signed_entry_timestamp(log: &Log, body: &[u8], integrated_time: i64, index: u64) -> Vec<u8> {
    let payload = json!({
        "body": b64(body),
        "integratedTime": integrated_time,
        "logID": hex::encode(log.log_id()),
        "logIndex": index,
    });
    log.key().sign(&canonical_json(&payload))
}

fn proof_json(p: &Proof) -> Value {
    json!({
        "checkpoint": p.checkpoint,
        "hashes": p.hashes.iter().map(hex::encode).collect::<Vec<_>>(),
        "logIndex": p.log_index,
        "rootHash": hex::encode(p.root_hash),
        "treeSize": p.tree_size,
    })
}

/// `{uuid: LogEntry}` as Rekor returns it.
fn entry_response(log: &Log, index: u64, entry: &super::Entry, proof: &Proof) -> (String, Value) {
    let uuid = uuid(log, &entry.body);
    let mut verification = json!({ "inclusionProof": proof_json(proof) });
    if let Some(set) = &entry.set {
        verification["signedEntryTimestamp"] = Value::String(b64(set));
    }
    let value = json!({
        uuid.clone(): {
            "body": b64(&entry.body),
            "integratedTime": entry.integrated_time,
            "logID": hex::encode(log.log_id()),
            "logIndex": INACTIVE_SHARDS_SIZE + index,
            "verification": verification,
        }
    });
    (uuid, value)
}

fn location(uuid: &str) -> String {
    format!("{ENTRIES}/{uuid}")
}

async fn create(State(log_ref): State<LogRef>, body: Bytes) -> Response {
    let log = log_ref.log();
    let lie = match &log_ref {
        LogRef::V1(shared) => shared.lies.take_rekor(false),
        _ => None,
    };
    let proposed: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("parsing entry: {e}")),
    };
    let canonical = match canonicalize(&proposed) {
        Ok(c) => c,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let logged = match lie {
        Some(RekorLie::EntryForAnotherBody) => another_body(&canonical),
        // A dsse entry is never stored as sent: Rekor derives its body.
        _ if log.stores_as_sent() && proposed["kind"] == "hashedrekord" => body.to_vec(),
        _ => canonical,
    };
    let now = log.now();
    let appended = log.append(logged, now, |log, body, index| {
        Some(signed_entry_timestamp(
            log,
            body,
            now,
            INACTIVE_SHARDS_SIZE + index,
        ))
    });
    let (uuid, mut value) = entry_response(log, appended.index, &appended.entry, &appended.proof);
    if let Some(lie) = &lie {
        tell(lie, &mut value[&uuid]["verification"]);
    }
    if appended.duplicate {
        let mut resp = error(
            StatusCode::CONFLICT,
            format!("an equivalent entry already exists in the transparency log with UUID {uuid}"),
        );
        if let Ok(v) = location(&uuid).parse() {
            resp.headers_mut().insert(header::LOCATION, v);
        }
        return resp;
    }
    let mut resp = (StatusCode::CREATED, Json(value)).into_response();
    let h = resp.headers_mut();
    if let Ok(v) = location(&uuid).parse() {
        h.insert(header::LOCATION, v);
    }
    if let Ok(v) = uuid.parse() {
        h.insert(header::ETAG, v);
    }
    resp
}

/// The canonical body of the same entry for another artifact digest.
fn another_body(canonical: &[u8]) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(canonical).expect("canonical JSON");
    if v["kind"] == "dsse" {
        return super::dsse::another_body(canonical);
    }
    let digest = hex::decode(
        v["spec"]["data"]["hash"]["value"]
            .as_str()
            .unwrap_or_default(),
    )
    .unwrap_or_default();
    v["spec"]["data"]["hash"]["value"] = Value::String(hex::encode(lies::another_digest(&digest)));
    canonical_json(&v)
}

/// Corrupt the `verification` object of a v1 entry as `lie` says.
fn tell(lie: &RekorLie, verification: &mut Value) {
    let corrupt_b64 = |v: &mut Value| {
        if let Some(mut bytes) = v.as_str().and_then(|s| unb64("lie", s).ok()) {
            lies::flip(&mut bytes);
            *v = Value::String(b64(&bytes));
        }
    };
    let corrupt_hex = |v: &mut Value| {
        if let Some(mut bytes) = v.as_str().and_then(|s| hex::decode(s).ok()) {
            lies::flip(&mut bytes);
            *v = Value::String(hex::encode(bytes));
        }
    };
    match lie {
        RekorLie::EntryForAnotherBody => {}
        RekorLie::BadSet => corrupt_b64(&mut verification["signedEntryTimestamp"]),
        RekorLie::WrongInclusionProof => {
            let proof = &mut verification["inclusionProof"];
            match proof["hashes"].as_array_mut().and_then(|h| h.first_mut()) {
                Some(first) => corrupt_hex(first),
                None => corrupt_hex(&mut proof["rootHash"]),
            }
        }
    }
}

fn found(log: &Log, index: u64) -> Response {
    match log.entry(index) {
        Some((entry, proof)) => Json(entry_response(log, index, &entry, &proof).1).into_response(),
        None => error(StatusCode::NOT_FOUND, "entry not found"),
    }
}

async fn get_by_uuid(State(log): State<LogRef>, Path(uuid): Path<String>) -> Response {
    let log = log.log();
    let uuid = uuid.to_ascii_lowercase();
    let leaf_hex = match uuid.len() {
        64 => uuid.as_str(),
        80 if uuid[..16] == format!("{:016x}", log.tree_id()) => &uuid[16..],
        80 => return error(StatusCode::NOT_FOUND, "entry not found in this log shard"),
        _ => return error(StatusCode::BAD_REQUEST, "invalid entry UUID"),
    };
    let Some(leaf) = hex::decode(leaf_hex)
        .ok()
        .and_then(|b| merkle::Hash::try_from(b.as_slice()).ok())
    else {
        return error(StatusCode::BAD_REQUEST, "invalid entry UUID");
    };
    match log.find(&leaf) {
        Some(index) if log.entry(index).is_some_and(|(e, _)| log.queued(&e)) => {
            error(StatusCode::NOT_FOUND, "entry not found")
        }
        Some(index) => found(log, index),
        None => error(StatusCode::NOT_FOUND, "entry not found"),
    }
}

async fn get_by_index(
    State(log): State<LogRef>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    match q.get("logIndex").and_then(|i| i.parse::<u64>().ok()) {
        Some(global) if global < INACTIVE_SHARDS_SIZE => error(
            StatusCode::NOT_FOUND,
            "entry is in an inactive shard this sandbox does not serve",
        ),
        Some(global) => found(log.log(), global - INACTIVE_SHARDS_SIZE),
        None => error(StatusCode::BAD_REQUEST, "logIndex query parameter required"),
    }
}

async fn log_info(State(log): State<LogRef>) -> Response {
    let log = log.log();
    let (size, root, checkpoint) = log.checkpoint();
    Json(json!({
        "rootHash": hex::encode(root),
        "signedTreeHead": checkpoint,
        "treeID": log.tree_id().to_string(),
        "treeSize": size,
    }))
    .into_response()
}

async fn public_key(State(log): State<LogRef>) -> Response {
    let spki = log.log().key().spki_der();
    match der::pem::encode_string("PUBLIC KEY", der::pem::LineEnding::LF, spki) {
        Ok(pem) => ([(header::CONTENT_TYPE, "application/x-pem-file")], pem).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}
