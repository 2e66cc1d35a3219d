//! Rekor logs: v1 (`POST /api/v1/log/entries`, hashedrekord 0.0.1 with an
//! LF PEM, or `dsse` 0.0.1 for the provenance; exactly one entry in the
//! answer, the entry fetch a 409 leads to)
//! and v2 (`POST /api/v2/log/entries`, the logged body checked to be exactly
//! the request, with an inclusion proof and checkpoint).

use std::collections::HashMap;

use serde::Serialize;
use sigstore_rekor::body::RekorEntryBody;
use sigstore_rekor::{HashedRekordV2, LogEntry, RekorV2KeyDetails};
use sigstore_types::{
    DerCertificate, EntryUuid, KindVersion, PemContent, Sha256Hash, SignatureBytes,
    TransparencyLogEntry,
};

use super::exchange::{base, pem_lf, Exchange, Service, ServiceError};

/// A Rekor v1 log: `POST /api/v1/log/entries`, and the entry fetch a 409 leads to.
#[derive(Debug, Clone)]
pub struct RekorV1 {
    http: reqwest::Client,
    base: String,
}

impl RekorV1 {
    pub fn new(http: reqwest::Client, url: &str) -> RekorV1 {
        RekorV1 {
            http,
            base: base(url),
        }
    }

    /// Log a hashedrekord 0.0.1 entry. A 409 (already logged) is a
    /// [`ServiceError::Status`] whose body names the existing entry.
    pub(crate) async fn create_entry(
        &self,
        digest: &Sha256Hash,
        signature: &SignatureBytes,
        certificate: &DerCertificate,
    ) -> Result<LogEntry, ServiceError> {
        let x = Exchange {
            service: Service::Rekor,
            what: "create entry",
        };
        let request = hashedrekord_request(digest, signature, certificate)
            .map_err(|e| x.request(format_args!("cannot encode the certificate as PEM: {e}")))?;
        let url = format!("{}/api/v1/log/entries", self.base);
        let body = x.send(self.http.post(url).json(&request)).await?;
        single_entry(x, &body)
    }

    /// Log a dsse 0.0.1 entry: `envelope` is the DSSE envelope's JSON, sent
    /// as is (Rekor stores the SHA-256 of exactly this string). A 409 is as
    /// for [`Self::create_entry`].
    pub(crate) async fn create_dsse_entry(
        &self,
        envelope: &str,
        certificate: &DerCertificate,
    ) -> Result<LogEntry, ServiceError> {
        let x = Exchange {
            service: Service::Rekor,
            what: "create dsse entry",
        };
        let pem = pem_lf("CERTIFICATE", certificate.as_bytes())
            .map_err(|e| x.request(format_args!("cannot encode the certificate as PEM: {e}")))?;
        let request = serde_json::json!({
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": { "proposedContent": {
                "envelope": envelope,
                "verifiers": [base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    pem,
                )],
            }},
        });
        let url = format!("{}/api/v1/log/entries", self.base);
        let body = x.send(self.http.post(url).json(&request)).await?;
        single_entry(x, &body)
    }

    /// The entry `uuid`.
    pub async fn entry(&self, uuid: &EntryUuid) -> Result<LogEntry, ServiceError> {
        let x = Exchange {
            service: Service::Rekor,
            what: "get the existing entry",
        };
        let url = format!("{}/api/v1/log/entries/{uuid}", self.base);
        let body = x.send(self.http.get(url)).await?;
        single_entry(x, &body)
    }
}

/// Rekor v1's hashedrekord 0.0.1 request: sigstore-rekor's `HashedRekord`
/// (whose fields it keeps private), except that the certificate's PEM has LF
/// line endings, as cosign and sigstore-python send it. sigstore-rekor
/// writes CRLF; rekor.sigstore.dev re-encodes the PEM, but a log that stores
/// the body as sent would keep it, and strict verifiers (sigstore-python)
/// compare the logged PEM with the one they derive from the bundle.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HashedRekordRequest {
    api_version: &'static str,
    kind: &'static str,
    spec: HashedRekordSpec,
}

#[derive(Serialize)]
struct HashedRekordSpec {
    data: HashedRekordData,
    signature: HashedRekordSignature,
}

#[derive(Serialize)]
struct HashedRekordData {
    hash: HashedRekordHash,
}

#[derive(Serialize)]
struct HashedRekordHash {
    algorithm: &'static str,
    /// Hex.
    value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HashedRekordSignature {
    content: SignatureBytes,
    public_key: HashedRekordKey,
}

#[derive(Serialize)]
struct HashedRekordKey {
    /// The certificate's PEM, base64 (as the JSON carries it).
    content: PemContent,
}

fn hashedrekord_request(
    digest: &Sha256Hash,
    signature: &SignatureBytes,
    certificate: &DerCertificate,
) -> Result<HashedRekordRequest, der::pem::Error> {
    let pem = pem_lf("CERTIFICATE", certificate.as_bytes())?;
    Ok(HashedRekordRequest {
        api_version: "0.0.1",
        kind: "hashedrekord",
        spec: HashedRekordSpec {
            data: HashedRekordData {
                hash: HashedRekordHash {
                    algorithm: "sha256",
                    value: digest.to_hex(),
                },
            },
            signature: HashedRekordSignature {
                content: signature.clone(),
                public_key: HashedRekordKey {
                    content: PemContent::new(pem.into_bytes()),
                },
            },
        },
    })
}

/// Rekor v1 answers `{uuid: entry}`: exactly one (sigstore-rekor takes the
/// first of any number; an answer with several is not one we asked for).
fn single_entry(x: Exchange, body: &[u8]) -> Result<LogEntry, ServiceError> {
    let entries: HashMap<String, LogEntry> = x.json(body)?;
    if entries.len() > 1 {
        return Err(x.invalid(format_args!("{} entries instead of one", entries.len())));
    }
    let (uuid, mut entry) = entries
        .into_iter()
        .next()
        .ok_or_else(|| x.invalid("an empty log entry response"))?;
    entry.uuid = EntryUuid::new(uuid);
    Ok(entry)
}

/// A Rekor v2 log: `POST /api/v2/log/entries`.
#[derive(Debug, Clone)]
pub struct RekorV2 {
    http: reqwest::Client,
    endpoint: String,
}

impl RekorV2 {
    pub fn new(http: reqwest::Client, url: &str) -> RekorV2 {
        RekorV2 {
            http,
            endpoint: format!("{}/api/v2/log/entries", base(url)),
        }
    }

    /// Log a hashedrekord 0.0.2 entry for a keyless (certificate) signature.
    pub(crate) async fn create_entry(
        &self,
        digest: &Sha256Hash,
        signature: &SignatureBytes,
        certificate: &DerCertificate,
    ) -> Result<TransparencyLogEntry, ServiceError> {
        let x = Exchange {
            service: Service::Rekor,
            what: "create entry",
        };
        let key_details = RekorV2KeyDetails::PkixEcdsaP256Sha256;
        let request =
            HashedRekordV2::new_with_certificate(digest, signature, certificate, key_details);
        let body = x
            .send(self.http.post(&self.endpoint).json(&request))
            .await?;
        let entry: TransparencyLogEntry = x.json(&body)?;
        check_v2_entry(x, &entry, digest, signature, certificate, key_details)?;
        Ok(entry)
    }
}

/// sigstore-rekor's checks on a v2 answer: a hashedrekord 0.0.2 entry whose
/// logged body is exactly the request (digest, signature, certificate, key
/// details), with no integrated time and no inclusion promise (v1 notions a
/// v2 log cannot sign), and an inclusion proof with a checkpoint.
fn check_v2_entry(
    x: Exchange,
    entry: &TransparencyLogEntry,
    digest: &Sha256Hash,
    signature: &SignatureBytes,
    certificate: &DerCertificate,
    key_details: RekorV2KeyDetails,
) -> Result<(), ServiceError> {
    if entry.kind_version != KindVersion::HashedRekordV002 {
        return Err(x.invalid(format_args!(
            "expected hashedrekord/0.0.2, received {}/{}",
            entry.kind_version.kind(),
            entry.kind_version.version()
        )));
    }
    let body = RekorEntryBody::parse(&entry.canonicalized_body, entry.kind_version)
        .map_err(|e| x.invalid(format_args!("the logged body does not parse: {e}")))?;
    let RekorEntryBody::HashedRekordV002(body) = body else {
        return Err(x.invalid("the logged body is not hashedrekord/0.0.2"));
    };
    let logged = body.spec.hashed_rekord_v002;
    let verifier = &logged.signature.verifier;
    let same_certificate = verifier.public_key.is_none()
        && verifier
            .x509_certificate
            .as_ref()
            .is_some_and(|c| &c.raw_bytes == certificate);
    if logged.data.algorithm != sigstore_types::HashAlgorithm::Sha2256
        || logged.data.digest.as_bytes() != digest.as_bytes()
        || &logged.signature.content != signature
        || verifier.key_details != key_details
        || !same_certificate
    {
        return Err(x.mismatch("the logged body does not match the submitted entry"));
    }
    if entry.integrated_time.is_some() {
        return Err(x.invalid("a v2 entry with a nonzero integrated time"));
    }
    if entry.inclusion_promise.is_some() {
        return Err(x.invalid("a v2 entry with an inclusion promise"));
    }
    let proof = entry
        .inclusion_proof
        .as_ref()
        .ok_or_else(|| x.invalid("a v2 entry without an inclusion proof"))?;
    if proof.checkpoint.is_empty() {
        return Err(x.invalid("a v2 entry with an empty checkpoint"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const REKOR: Exchange = Exchange {
        service: Service::Rekor,
        what: "create entry",
    };

    #[test]
    fn rekor_v1_answers_hold_exactly_one_entry() {
        let entry = serde_json::json!({
            "body": "e30=", "integratedTime": 1, "logIndex": 5,
            "logID": "00".repeat(32),
        });
        let one = serde_json::json!({ "ab": entry });
        assert_eq!(
            single_entry(REKOR, one.to_string().as_bytes())
                .unwrap()
                .uuid
                .as_str(),
            "ab"
        );
        let two = serde_json::json!({ "ab": entry, "cd": entry });
        for lie in [two, serde_json::json!({})] {
            let e = single_entry(REKOR, lie.to_string().as_bytes()).unwrap_err();
            assert!(matches!(e, ServiceError::Invalid { .. }), "{e}");
        }
        let e = single_entry(REKOR, b"{\"truncated\": <<not json").unwrap_err();
        assert!(matches!(e, ServiceError::Undecodable { .. }), "{e}");
    }

    /// The hashedrekord 0.0.1 request is sigstore-rekor's, with the
    /// certificate's PEM in LF line endings (sigstore-rekor writes CRLF).
    #[test]
    fn rekor_v1_requests_carry_an_lf_pem() {
        let certificate = sigstore_types::DerCertificate::new(vec![0x30, 0x03, 0x02, 0x01, 0x01]);
        let digest = Sha256Hash::new([7u8; 32]);
        let signature = SignatureBytes::new(vec![1, 2, 3]);
        let ours =
            serde_json::to_value(hashedrekord_request(&digest, &signature, &certificate).unwrap())
                .unwrap();
        let pem = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            ours["spec"]["signature"]["publicKey"]["content"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        let pem = String::from_utf8(pem).unwrap();
        assert!(!pem.contains('\r'), "{pem:?}");
        assert_eq!(
            sigstore_types::DerCertificate::from_pem(&pem).unwrap(),
            certificate
        );
        let mut theirs = serde_json::to_value(sigstore_rekor::HashedRekord::new(
            &digest,
            &signature,
            &certificate,
        ))
        .unwrap();
        theirs["spec"]["signature"]["publicKey"]["content"] =
            ours["spec"]["signature"]["publicKey"]["content"].clone();
        assert_eq!(ours, theirs, "the same request otherwise");
    }
}
