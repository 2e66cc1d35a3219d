//! Rekor v2 HTTP API, as rekor-tiles answers it: `POST /api/v2/log/entries`
//! (hashedrekord 0.0.2) returning a protobuf-JSON `TransparencyLogEntry`, and
//! `GET /api/v2/checkpoint`.
//!
//! Owns the v2 request parsing, the hashedrekord 0.0.2 canonical body and the
//! v2 response shape (string uint64s, base64 bytes, no SET, no integrated time).
//! The request shape is sigstore-rekor 0.15.1 `HashedRekordV2` and sigstore-python
//! 4.5.1 `RekorV2Client._build_hashed_rekord_request`; the body is what
//! sigstore-python's `_validate_hashedrekord_v002_entry_body` rebuilds and compares.
//! Tiles are not served: no client here reads them. DSSE requests (`dsseRequestV002`)
//! are refused with 400.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::lies::{self, RekorLie};

use super::{
    b64, canonical_json, certificate_spki, unb64, verify_prehashed, Appended, EntryError, Log,
    LogRef,
};

/// The only verifier key type accepted (the sandbox's Fulcio issues P-256 leaves).
const P256: &str = "PKIX_ECDSA_P256_SHA_256";

/// The router serving `log`.
pub fn router(log: LogRef) -> Router {
    Router::new()
        .route("/api/v2/log/entries", post(create))
        .route("/api/v2/checkpoint", get(checkpoint))
        .with_state(log)
}

/// grpc-gateway's error body (`google.rpc.Status`): code 3 is INVALID_ARGUMENT.
fn invalid_argument(message: impl Into<String>) -> Response {
    let body = json!({ "code": 3, "message": message.into(), "details": [] });
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

/// Refuse a field `v` has beyond `known`, as rekor-tiles does: its HTTP
/// server unmarshals with `DiscardUnknown: false` (`internal/server/
/// http.go`), so an unknown field is a 400. (protojson also reads a field
/// by its proto name in snake_case; this log reads only the camelCase
/// names every client writes.)
fn only_known(v: &Value, known: &[&str]) -> Result<(), EntryError> {
    let Some(object) = v.as_object() else {
        return Ok(());
    };
    match object.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(EntryError::Malformed(format!(
            "proto: (line 1:2): unknown field \"{k}\""
        ))),
        None => Ok(()),
    }
}

/// Verify a v2 CreateEntryRequest and return the canonical hashedrekord 0.0.2 body.
pub fn canonicalize(request: &Value) -> Result<Vec<u8>, EntryError> {
    only_known(request, &["hashedRekordRequestV002", "dsseRequestV002"])?;
    if !request["dsseRequestV002"].is_null() {
        return Err(EntryError::Unsupported(
            "dsse entries are not supported by this log".into(),
        ));
    }
    let req = &request["hashedRekordRequestV002"];
    if !req.is_object() {
        return Err(EntryError::Malformed(
            "missing hashedRekordRequestV002".into(),
        ));
    }
    only_known(req, &["digest", "signature"])?;
    only_known(&req["signature"], &["content", "verifier"])?;
    let verifier = &req["signature"]["verifier"];
    only_known(verifier, &["keyDetails", "x509Certificate", "publicKey"])?;
    only_known(&verifier["x509Certificate"], &["rawBytes"])?;
    only_known(&verifier["publicKey"], &["rawBytes"])?;
    let string = |v: &Value, name: &str| -> Result<String, EntryError> {
        v.as_str()
            .map(str::to_owned)
            .ok_or_else(|| EntryError::Malformed(format!("missing {name}")))
    };
    let digest = unb64("digest", &string(&req["digest"], "digest")?)?;
    if digest.len() != 32 {
        return Err(EntryError::Malformed("digest is not a SHA-256".into()));
    }
    let sig = &req["signature"];
    let signature = unb64(
        "signature.content",
        &string(&sig["content"], "signature.content")?,
    )?;
    let verifier = &sig["verifier"];
    let key_details = string(&verifier["keyDetails"], "signature.verifier.keyDetails")?;
    if key_details != P256 {
        return Err(EntryError::Unsupported(format!(
            "key details {key_details} are not supported"
        )));
    }
    let cert = &verifier["x509Certificate"]["rawBytes"];
    let key = &verifier["publicKey"]["rawBytes"];
    let (spki, verifier_json) = match (cert.as_str(), key.as_str()) {
        (Some(cert), None) => {
            let der = unb64("x509Certificate.rawBytes", cert)?;
            let spki = certificate_spki(&der)?;
            (
                spki,
                json!({ "keyDetails": P256, "x509Certificate": { "rawBytes": b64(&der) } }),
            )
        }
        (None, Some(key)) => {
            let der = unb64("publicKey.rawBytes", key)?;
            (
                der.clone(),
                json!({ "keyDetails": P256, "publicKey": { "rawBytes": b64(&der) } }),
            )
        }
        _ => {
            return Err(EntryError::Malformed(
                "verifier needs exactly one of x509Certificate and publicKey".into(),
            ))
        }
    };
    verify_prehashed(&spki, &digest, &signature)?;
    Ok(canonical_json(&json!({
        "apiVersion": "0.0.2",
        "kind": "hashedrekord",
        "spec": {
            "hashedRekordV002": {
                "data": { "algorithm": "SHA2_256", "digest": b64(&digest) },
                "signature": { "content": b64(&signature), "verifier": verifier_json }
            }
        }
    })))
}

/// The protobuf-JSON `TransparencyLogEntry` rekor-tiles returns. uint64s are
/// strings; `integratedTime` is "0" and `inclusionPromise` null, as its
/// gateway writes unset fields. `logIndex` and `hashes` are written even at
/// zero/empty because sigstore-python's strict models need them.
pub fn entry_json(log: &Log, appended: &Appended) -> Value {
    let p = &appended.proof;
    // rekor-tiles writes every field of the proto, unset ones as their
    // defaults: an integrated time of "0" and a null inclusion promise.
    json!({
        "logIndex": appended.index.to_string(),
        "logId": { "keyId": b64(&log.log_id()) },
        "kindVersion": { "kind": "hashedrekord", "version": "0.0.2" },
        "integratedTime": "0",
        "inclusionPromise": null,
        "inclusionProof": {
            "logIndex": p.log_index.to_string(),
            "rootHash": b64(&p.root_hash),
            "treeSize": p.tree_size.to_string(),
            "hashes": p.hashes.iter().map(|h| b64(h)).collect::<Vec<_>>(),
            "checkpoint": { "envelope": p.checkpoint },
        },
        "canonicalizedBody": b64(&appended.entry.body),
    })
}

async fn create(State(log_ref): State<LogRef>, body: Bytes) -> Response {
    let log = log_ref.log();
    let lie = match &log_ref {
        LogRef::V2(shared) => shared.lies.take_rekor(true),
        _ => None,
    };
    let request: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return invalid_argument(format!("invalid request: {e}")),
    };
    let canonical = match canonicalize(&request) {
        Ok(c) => c,
        Err(e) => return invalid_argument(e.to_string()),
    };
    let canonical = match lie {
        Some(RekorLie::EntryForAnotherBody) => another_body(&canonical),
        _ => canonical,
    };
    let appended = log.append(canonical, 0, |_, _, _| None);
    // A resubmission is refused, as rekor-tiles answers Tessera's
    // deduplication (gRPC AlreadyExists), naming the index it holds.
    if appended.duplicate {
        let index = appended.index;
        return (
            StatusCode::CONFLICT,
            [("x-log-index", index.to_string())],
            Json(json!({
                "code": 6,
                "message": format!("an equivalent entry already exists in the transparency log with index {index}"),
                "details": [],
            })),
        )
            .into_response();
    }
    let mut entry = entry_json(log, &appended);
    if lie == Some(RekorLie::WrongInclusionProof) {
        let proof = &mut entry["inclusionProof"];
        let target = match proof["hashes"].as_array_mut().and_then(|h| h.first_mut()) {
            Some(first) => first,
            None => &mut proof["rootHash"],
        };
        if let Some(mut bytes) = target.as_str().and_then(|s| unb64("lie", s).ok()) {
            lies::flip(&mut bytes);
            *target = Value::String(b64(&bytes));
        }
    }
    (StatusCode::CREATED, Json(entry)).into_response()
}

/// The canonical body of the same entry for another artifact digest.
fn another_body(canonical: &[u8]) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(canonical).expect("canonical JSON");
    let data = &mut v["spec"]["hashedRekordV002"]["data"];
    let digest = data["digest"]
        .as_str()
        .and_then(|s| unb64("digest", s).ok())
        .unwrap_or_default();
    data["digest"] = Value::String(b64(&lies::another_digest(&digest)));
    canonical_json(&v)
}

async fn checkpoint(State(log): State<LogRef>) -> Response {
    let (_, _, text) = log.log().checkpoint();
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A field the request does not define is refused, at any depth,
    /// before anything else is judged, as rekor-tiles refuses it.
    /// Regression: ignored, so a client sending one passed here and not
    /// against the real log.
    #[test]
    fn an_unknown_field_is_refused() {
        let request = |extra: &dyn Fn(&mut Value)| {
            let mut r = json!({"hashedRekordRequestV002": {
                "digest": "AA==",
                "signature": {"content": "AA==", "verifier": {
                    "keyDetails": P256, "publicKey": {"rawBytes": "AA=="}
                }}
            }});
            extra(&mut r);
            canonicalize(&r)
        };
        for (at, add) in [
            (
                "extra",
                &(|r: &mut Value| r["extra"] = json!(1)) as &dyn Fn(&mut Value),
            ),
            ("inner", &|r: &mut Value| {
                r["hashedRekordRequestV002"]["signature"]["inner"] = json!(1)
            }),
            ("deep", &|r: &mut Value| {
                r["hashedRekordRequestV002"]["signature"]["verifier"]["publicKey"]["deep"] =
                    json!(1)
            }),
        ] {
            match request(add) {
                Err(EntryError::Malformed(m)) => {
                    assert!(m.contains(&format!("unknown field \"{at}\"")), "{m}")
                }
                other => panic!("{at}: {other:?}"),
            }
        }
        // Without one, the request is judged on (here: its digest).
        match request(&|_| {}) {
            Err(EntryError::Malformed(m)) => assert!(!m.contains("unknown field"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
