//! The run's build provenance, signed: the statement `crate::provenance`
//! builds, in a DSSE envelope signed with the run's key and certificate (the
//! session's, so no second Fulcio request), logged, timestamped, put in a
//! bundle v0.3, self-verified and written atomically as `<name>.intoto.jsonl`
//! (one line, one bundle).
//!
//! Owns those steps and their order. The log entry is what the instance's
//! log takes for a DSSE envelope: on Rekor v1 a `dsse` 0.0.1 entry (the
//! envelope and the certificate; Rekor keeps their hashes and the
//! signature), on Rekor v2 a `hashedrekord` 0.0.2 entry whose digest is
//! SHA-256 of the envelope's pre-authentication encoding (PAE) and whose
//! signature is the envelope's, as the Rekor v2 client specification says
//! (sigstore/architecture-docs#63: v2 has no `dsse` entries). An RFC 3161
//! timestamp over the signature is asked for at the same time when the
//! instance has a TSA. Signing ([`prepare`]) and writing ([`write`]) are two
//! steps, so a run can sign its provenance while its last artifacts are
//! still being signed and write it only once their outcomes confirm its
//! subjects. It does not build the statement, request certificates, or
//! decide whether provenance is wanted.

use std::path::PathBuf;

use sigstore_bundle::BundleV03;
use sigstore_types::{
    DsseEnvelope, DsseSignature, KeyId, KindVersion, PayloadBytes, Sha256Hash, Statement,
    TransparencyLogEntry,
};

use super::artifact::{self, ArtifactError, Context, Log};
use crate::bundle_io::{self, BundleIoError};
use crate::net;
use crate::provenance::PAYLOAD_TYPE;

/// Where the provenance goes, as planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub path: PathBuf,
    /// `path`'s directory, resolved: the file is written there or not at all.
    pub dir: crate::atomic_file::WriteDir,
    pub overwrite: bool,
}

/// The provenance verified and written.
#[derive(Debug, Clone)]
pub struct Attested {
    /// `None` on an instance that keeps no log.
    pub log_index: Option<u64>,
    pub timestamped: bool,
    /// Which certificate of the run signed it (1 unless renewed).
    pub certificate: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum AttestError {
    #[error("provenance {} already exists; fix: pass --overwrite (action input `overwrite: true`) to replace it", .0.display())]
    Exists(PathBuf),
    /// A re-run keeping verified work found a provenance it may not replace.
    #[error("provenance {} already exists and was not replaced: {why}; fix: pass --overwrite (action input `overwrite: true`) to replace it", path.display())]
    NotReplaced { path: PathBuf, why: String },
    /// An artifact of the run failed, so its provenance names fewer files:
    /// it does not replace one that may name them, `--overwrite` or not.
    #[error("provenance {} already exists and was not replaced, though --overwrite was given: an artifact of this run failed, so this one names fewer files, and {why}; fix: re-run once every artifact signs", path.display())]
    PartialNotReplaced { path: PathBuf, why: String },
    /// The run stopped before the provenance went to the log.
    #[error("provenance {}: not signed: the run stopped before it was logged", .0.display())]
    Stopped(PathBuf),
    #[error("provenance {}: {source}", path.display())]
    Signing {
        path: PathBuf,
        source: ArtifactError,
    },
    /// Signed, logged and verified, then not written (the source says the fix).
    #[error("cannot write provenance {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: crate::atomic_file::AtomicError,
    },
}

/// The provenance signed, logged, timestamped and self-verified: the exact
/// line [`write`] puts on disk.
#[derive(Debug)]
pub struct Prepared {
    line: Vec<u8>,
    attested: Attested,
}

/// Sign `statement` about artifacts whose first subject has SHA-256
/// `subject`, to be written to `path`; see the module doc for the steps.
/// Nothing is written.
pub async fn prepare(
    ctx: &Context,
    statement: &Statement,
    subject: Sha256Hash,
    path: &std::path::Path,
) -> Result<Prepared, AttestError> {
    let signing = |source| AttestError::Signing {
        path: path.to_owned(),
        source,
    };
    // 0. Not before the log has shown it is one the trusted root lists.
    if !ctx.log_opened().await {
        return Err(AttestError::Stopped(path.to_owned()));
    }
    // 1. The envelope: the statement's JSON, signed over its PAE.
    // 2. Log entry and timestamp, at the same time (both need only the signature).
    //    Both once more at most, as an artifact's ([`artifact::within_validity`]).
    let artifact::Evidence {
        credential,
        signed: envelope,
        entry,
        timestamp,
    } = artifact::within_validity(ctx, path, |credential| async move {
        let unsigned = DsseEnvelope::new(
            PAYLOAD_TYPE.to_owned(),
            PayloadBytes::new(crate::provenance::payload(statement)),
            DsseSignature::new(
                sigstore_types::SignatureBytes::new(Vec::new()),
                KeyId::default(),
            ),
        );
        let pae_digest = sigstore_crypto::sha256(&unsigned.pae());
        let mut signed_again = false;
        loop {
            let signature = credential
                .key()
                .sign_digest(&pae_digest)
                .map_err(ArtifactError::Sign)?;
            let envelope = DsseEnvelope::new(
                unsigned.payload_type.clone(),
                unsigned.payload.clone(),
                DsseSignature::new(signature.clone(), KeyId::default()),
            );
            let (entry, timestamp) = tokio::join!(
                log_entry(ctx, &envelope, &pae_digest, credential.certificate()),
                artifact::timestamp(ctx, &signature)
            );
            if artifact::sign_again(ctx, &entry, path, &mut signed_again) {
                continue;
            }
            return Ok((envelope, entry, timestamp));
        }
    })
    .await
    .map_err(signing)?;
    let entry = entry.map_err(signing)?;
    if let Some(entry) = &entry {
        artifact::check_listed(ctx, entry).map_err(signing)?;
        artifact::check_proof(entry, &ctx.log_url).map_err(signing)?;
        artifact::until_logged_time(entry, &ctx.log_url)
            .await
            .map_err(signing)?;
    }
    let log_index = entry.as_ref().map(|e| u64::from(e.log_index));
    let timestamp = timestamp.map_err(signing)?;
    let timestamped = timestamp.is_some();

    // 3. Bundle v0.3 with the envelope as its content.
    let mut builder =
        BundleV03::with_certificate_and_dsse(credential.certificate().clone(), envelope);
    if let Some(entry) = entry {
        builder = builder.with_tlog_entry(entry);
    }
    if let Some(ts) = timestamp {
        builder = builder.with_rfc3161_timestamp(ts);
    }
    let line = bundle_io::to_json_line(&builder.into_bundle())
        .map_err(|e| signing(ArtifactError::Write(e)))?;

    // 4. Self-verify exactly the bytes to be written, for a subject of the statement.
    artifact::self_verify(&ctx.verifier, &credential, subject, &line).map_err(signing)?;
    Ok(Prepared {
        line,
        attested: Attested {
            log_index,
            timestamped,
            certificate: credential.generation,
        },
    })
}

/// The envelope's log entry, checked to be the one asked for.
async fn log_entry(
    ctx: &Context,
    envelope: &DsseEnvelope,
    pae_digest: &Sha256Hash,
    certificate: &sigstore_types::DerCertificate,
) -> Result<Option<TransparencyLogEntry>, ArtifactError> {
    match &ctx.log {
        Log::V1(client) => {
            let json =
                serde_json::to_string(envelope).map_err(|e| ArtifactError::Entry(e.to_string()))?;
            let created = net::retry(&ctx.retry, "Rekor dsse entry", || {
                client.create_dsse_entry(&json, certificate)
            })
            .await;
            let entry = artifact::created_or_existing(ctx, client, created)
                .await?
                .to_bundle_entry(KindVersion::DsseV001)
                .map_err(|e| ArtifactError::Entry(e.to_string()))?;
            check_dsse_body(&entry, envelope, certificate, &ctx.log_url)?;
            Ok(Some(entry))
        }
        Log::V2(client) => artifact::log_v2(
            ctx,
            client,
            pae_digest,
            &envelope.signature.sig,
            certificate,
        )
        .await
        .map(Some),
        Log::None => Ok(None),
    }
}

/// A `dsse` 0.0.1 body holds our payload's hash and exactly our signature
/// with our certificate (self-verification would only say "mismatch").
fn check_dsse_body(
    entry: &TransparencyLogEntry,
    envelope: &DsseEnvelope,
    certificate: &sigstore_types::DerCertificate,
    url: &str,
) -> Result<(), ArtifactError> {
    use sigstore_rekor::body::RekorEntryBody;
    // The details may quote the log's answer (a "hash" of megabytes that
    // does not parse): capped as every message from outside is.
    let mismatch = |detail: &str| ArtifactError::LogEntryMismatch {
        url: url.to_owned(),
        detail: crate::text::capped(detail, crate::text::MESSAGE_CHARS),
    };
    let body = RekorEntryBody::parse(&entry.canonicalized_body, entry.kind_version)
        .map_err(|e| mismatch(&format!("its body does not parse: {e}")))?;
    let RekorEntryBody::DsseV001(body) = body else {
        return Err(mismatch("its body is not dsse/0.0.1"));
    };
    let payload_hash = sigstore_crypto::sha256(envelope.payload.as_bytes()).to_hex();
    if body.spec.payload_hash.value != payload_hash {
        return Err(mismatch("it logged another payload"));
    }
    let ours = body.spec.signatures.len() == 1
        && body.spec.signatures.iter().all(|s| {
            s.signature == envelope.signature.sig
                && s.parse_certificate().is_ok_and(|c| &c == certificate)
        });
    if !ours {
        return Err(mismatch(
            "it logged other signatures or another certificate",
        ));
    }
    Ok(())
}

/// Whether the provenance at `path` may give way to one about `subjects` in
/// a re-run that keeps verified work (uploading, without `--overwrite`):
/// only one by `policy`'s signer, valid under the run's trusted root, whose
/// every subject is among `subjects`, so that replacing it drops no claim
/// already made; `Err` says why not ([`AttestError::NotReplaced`]).
/// Anything else stays for `--overwrite` to replace. `Ok(false)`: no file
/// there, nothing to lose, and so nothing the write may replace either (one
/// that appears meanwhile is not this run's to replace).
pub(super) fn may_replace(
    verifier: &crate::verify::cache::CachingVerifier,
    policy: &crate::verify::policy::Policy,
    path: &std::path::Path,
    subjects: &[super::subjects::Subject],
) -> Result<bool, String> {
    let bytes = match bundle_io::read_capped(path) {
        Ok(bytes) => bytes,
        Err(BundleIoError::Read { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            return Ok(false)
        }
        Err(e) => return Err(e.unfixed()),
    };
    let new: std::collections::HashSet<(&str, Sha256Hash)> =
        subjects.iter().map(|(n, d)| (n.as_str(), *d)).collect();
    crate::verify::provenance::superseded_by(verifier, policy, path, &bytes, &new).map(|()| true)
}

/// 5. Write `prepared` to `target`, atomically: whole or not at all.
pub async fn write(target: &Target, prepared: Prepared) -> Result<Attested, AttestError> {
    let Prepared { line, attested } = prepared;
    let (dir, path, overwrite) = (target.dir.clone(), target.path.clone(), target.overwrite);
    let joined = tokio::task::spawn_blocking(move || {
        bundle_io::write_atomic_in(&dir, &path, &line, overwrite)
    })
    .await;
    let signing = |source| AttestError::Signing {
        path: target.path.clone(),
        source,
    };
    match artifact::joined("writing the provenance", joined).map_err(signing)? {
        Ok(()) => Ok(attested),
        Err(BundleIoError::Exists(p)) => Err(AttestError::Exists(p)),
        // Regression: "provenance P: cannot write bundle P: ...".
        Err(BundleIoError::Write { path, source }) => Err(AttestError::Write { path, source }),
        Err(e) => Err(signing(ArtifactError::Write(e))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A provenance not written is named once, as a provenance, with its
    /// one fix. Regression: "provenance P: cannot write bundle P: ...".
    #[cfg(unix)]
    #[test]
    fn a_provenance_not_written_is_named_once() {
        let e = AttestError::Write {
            path: "p.intoto.jsonl".into(),
            source: crate::atomic_file::AtomicError::Io(std::io::Error::from_raw_os_error(
                libc::ENOSPC,
            )),
        }
        .to_string();
        assert!(
            e.starts_with("cannot write provenance p.intoto.jsonl: "),
            "{e}"
        );
        assert_eq!(e.matches("p.intoto.jsonl").count(), 1, "{e}");
        assert_eq!(e.matches("fix:").count(), 1, "{e}");
        assert!(!e.contains("bundle"), "{e}");
    }

    /// A log's answer for the provenance that does not parse is quoted
    /// capped. Regression: a logged "hash algorithm" of megabytes was
    /// repeated whole in the provenance's error, the JSON report, the
    /// annotation and the step summary (which GitHub then refuses whole).
    #[test]
    fn a_dsse_mismatch_quotes_the_logs_answer_capped() {
        let json = std::fs::read_to_string(format!(
            "{}/tests/data/signed-package-2.1.0-hb0f4dca_0.conda.sigstore.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let bundle = sigstore_types::Bundle::from_json(&json).unwrap();
        let sigstore_types::SignatureContent::DsseEnvelope(envelope) = &bundle.content else {
            panic!("a DSSE bundle");
        };
        let mut entry = bundle.verification_material.tlog_entries[0].clone();
        let huge = "A".repeat(1 << 20);
        let body = serde_json::json!({"apiVersion": "0.0.1", "kind": "dsse",
            "spec": {"payloadHash": {"algorithm": huge, "value": "x"}}});
        entry.canonicalized_body =
            sigstore_types::CanonicalizedBody::new(body.to_string().into_bytes());
        let certificate = sigstore_types::DerCertificate::new(vec![0x30, 0]);
        let e = check_dsse_body(&entry, envelope, &certificate, "https://log.example").unwrap_err();
        assert!(matches!(e, ArtifactError::LogEntryMismatch { .. }), "{e}");
        let shown = e.to_string();
        assert!(
            shown.len() < crate::text::MESSAGE_CHARS + 400,
            "{} bytes",
            shown.len()
        );
    }
}
