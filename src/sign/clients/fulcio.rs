//! Fulcio's `POST /api/v2/signingCert`: our request type (the crate's is
//! private, and its PEM is CRLF), and sigstore-fulcio's checks on the
//! answer (exactly one SCT form, a non-empty chain of CERTIFICATE PEMs).

use serde::{Deserialize, Serialize};
use sigstore_crypto::KeyPair;
use sigstore_fulcio::SigningCertificate;
use sigstore_oidc::IdentityToken;
use sigstore_types::{DerCertificate, SignatureBytes};

use super::exchange::{base, pem_lf, Exchange, Service, ServiceError};

/// Fulcio's `POST /api/v2/signingCert`.
#[derive(Debug, Clone)]
pub struct Fulcio {
    http: reqwest::Client,
    endpoint: String,
}

/// Fulcio's request (the sigstore-fulcio client keeps its types private).
/// Deliberately not `Debug`: it holds the raw token.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CertificateRequest<'a> {
    credentials: Credentials<'a>,
    public_key_request: PublicKeyRequest,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Credentials<'a> {
    oidc_identity_token: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PublicKeyRequest {
    public_key: PublicKeyData,
    proof_of_possession: SignatureBytes,
}

#[derive(Serialize)]
struct PublicKeyData {
    /// Empty: the PEM identifies the algorithm.
    algorithm: String,
    content: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CertificateAnswer {
    #[serde(default)]
    signed_certificate_embedded_sct: Option<ChainAnswer>,
    #[serde(default)]
    signed_certificate_detached_sct: Option<DetachedSctAnswer>,
}

#[derive(Deserialize)]
struct ChainAnswer {
    chain: PemChain,
}

#[derive(Deserialize)]
struct PemChain {
    certificates: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DetachedSctAnswer {
    chain: PemChain,
    /// Empty from a CA with no CT log (GitHub's), which may also leave it
    /// out: the chain is what is used.
    #[serde(default)]
    signed_certificate_timestamp: String,
}

impl Fulcio {
    /// `url` is Fulcio's base URL (the signing config's CA URL).
    pub fn new(http: reqwest::Client, url: &str) -> Fulcio {
        Fulcio {
            http,
            endpoint: format!("{}/api/v2/signingCert", base(url)),
        }
    }

    /// A certificate for `key`, proving possession by signing the token's identity.
    pub async fn signing_certificate(
        &self,
        token: &IdentityToken,
        key: &KeyPair,
    ) -> Result<SigningCertificate, ServiceError> {
        let x = Exchange {
            service: Service::Fulcio,
            what: "create signing certificate",
        };
        let public_key = key
            .public_key_der()
            .map_err(|e| x.request(format_args!("cannot export the public key: {e}")))?;
        let public_key = pem_lf("PUBLIC KEY", public_key.as_bytes())
            .map_err(|e| x.request(format_args!("cannot encode the public key as PEM: {e}")))?;
        let proof_of_possession = key
            .sign(token.identity().as_bytes())
            .map_err(|e| x.request(format_args!("cannot sign the proof of possession: {e}")))?;
        let request = CertificateRequest {
            credentials: Credentials {
                oidc_identity_token: token.expose_secret(),
            },
            public_key_request: PublicKeyRequest {
                public_key: PublicKeyData {
                    algorithm: String::new(),
                    content: public_key,
                },
                proof_of_possession,
            },
        };
        // Whatever went wrong, the token it was sent never shows in the error.
        let secret = token.expose_secret();
        let body = x
            .send(self.http.post(&self.endpoint).json(&request))
            .await
            .map_err(|e| e.without(secret))?;
        parse_certificate_answer(x, &body).map_err(|e| e.without(secret))
    }
}

/// sigstore-fulcio's checks: exactly one of the embedded and detached SCT
/// forms, a non-empty chain, every certificate a CERTIFICATE PEM block.
fn parse_certificate_answer(x: Exchange, body: &[u8]) -> Result<SigningCertificate, ServiceError> {
    let answer: CertificateAnswer = x.json(body)?;
    let chain = |pems: PemChain| -> Result<Vec<DerCertificate>, ServiceError> {
        if pems.certificates.is_empty() {
            return Err(x.invalid("the certificate chain is empty"));
        }
        pems.certificates
            .iter()
            .map(|pem| {
                DerCertificate::from_pem(pem)
                    .map_err(|e| x.invalid(format_args!("invalid certificate PEM: {e}")))
            })
            .collect()
    };
    match (
        answer.signed_certificate_embedded_sct,
        answer.signed_certificate_detached_sct,
    ) {
        (Some(embedded), None) => Ok(SigningCertificate::EmbeddedSct {
            chain: chain(embedded.chain)?,
        }),
        (None, Some(detached)) => Ok(SigningCertificate::DetachedSct {
            chain: chain(detached.chain)?,
            signed_certificate_timestamp: detached.signed_certificate_timestamp,
        }),
        (None, None) => Err(x.invalid("it contains no certificate")),
        (Some(_), Some(_)) => Err(x.invalid("it contains both an embedded and a detached SCT")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULCIO: Exchange = Exchange {
        service: Service::Fulcio,
        what: "create signing certificate",
    };

    #[test]
    fn fulcio_answers_are_checked_as_sigstore_fulcio_does() {
        let pem = sigstore_types::DerCertificate::new(vec![0x30, 0x03, 0x02, 0x01, 0x01]).to_pem();
        let parse =
            |v: serde_json::Value| parse_certificate_answer(FULCIO, v.to_string().as_bytes());
        let chain = serde_json::json!({ "chain": { "certificates": [pem] } });
        let embedded = parse(serde_json::json!({ "signedCertificateEmbeddedSct": chain })).unwrap();
        assert_eq!(embedded.certificate_chain().len(), 1);
        let detached = parse(serde_json::json!({
            "signedCertificateDetachedSct": { "chain": { "certificates": [pem] }, "signedCertificateTimestamp": "c2N0" }
        }))
        .unwrap();
        assert!(matches!(detached, SigningCertificate::DetachedSct { .. }));
        for lie in [
            serde_json::json!({}),
            serde_json::json!({ "signedCertificateEmbeddedSct": { "chain": { "certificates": [] } } }),
            serde_json::json!({ "signedCertificateEmbeddedSct": { "chain": { "certificates": ["not a pem"] } } }),
            serde_json::json!({
                "signedCertificateEmbeddedSct": chain,
                "signedCertificateDetachedSct": { "chain": { "certificates": [pem] }, "signedCertificateTimestamp": "c2N0" },
            }),
        ] {
            assert!(
                matches!(parse(lie.clone()), Err(ServiceError::Invalid { .. })),
                "{lie}"
            );
        }
        for cut in [&b"{\"signedCertificateEmbeddedSct\": {"[..], b"<html>", b""] {
            let e = parse_certificate_answer(FULCIO, cut).unwrap_err();
            assert!(matches!(e, ServiceError::Undecodable { .. }), "{e}");
        }
    }
}
