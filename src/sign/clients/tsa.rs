//! An RFC 3161 timestamp authority: the request sigstore-tsa sends (v1,
//! SHA-256 imprint, a positive minimal nonce, `certReq`) and its checks on
//! the answer (granted, a SignedData over a TSTInfo with our imprint and
//! nonce); the token's signature and certificate are self-verification's.

use const_oid::db::rfc5911::ID_SIGNED_DATA;
use const_oid::db::rfc5912::ID_SHA_256;
use der::{Decode as _, Encode as _};
use sigstore_types::{SignatureBytes, TimestampToken};

use super::exchange::{Exchange, Service, ServiceError};
use crate::verify::timestamp::ID_CT_TST_INFO;

/// An RFC 3161 timestamp authority (its full timestamp endpoint).
#[derive(Debug, Clone)]
pub struct Tsa {
    http: reqwest::Client,
    url: String,
}

impl Tsa {
    pub fn new(http: reqwest::Client, url: &str) -> Tsa {
        Tsa {
            http,
            url: url.to_owned(),
        }
    }

    /// A timestamp over SHA-256(`signature`), as Sigstore bundles carry it:
    /// the TSA's whole DER `TimeStampResp`.
    pub async fn timestamp_signature(
        &self,
        signature: &SignatureBytes,
    ) -> Result<TimestampToken, ServiceError> {
        let x = Exchange {
            service: Service::Tsa,
            what: "timestamp the signature",
        };
        let request = timestamp_request(
            sigstore_crypto::sha256(signature.as_bytes()).as_bytes(),
            random_nonce(),
        )
        .map_err(|e| x.request(e))?;
        let der = request.to_der().map_err(|e| x.request(e))?;
        let body = x
            .send(
                self.http
                    .post(&self.url)
                    .header(reqwest::header::CONTENT_TYPE, "application/timestamp-query")
                    .body(der),
            )
            .await?;
        check_timestamp(x, &request, &body)?;
        Ok(TimestampToken::new(body))
    }
}

/// The request sigstore-tsa sends: v1, SHA-256 imprint, a nonce, and the
/// TSA's certificate asked for (`certReq`), so the token verifies on its own.
fn timestamp_request(
    imprint: &[u8],
    nonce: der::asn1::Int,
) -> Result<x509_tsp::TimeStampReq, der::Error> {
    Ok(x509_tsp::TimeStampReq {
        version: x509_tsp::TspVersion::V1,
        message_imprint: x509_tsp::MessageImprint {
            hash_algorithm: x509_cert::spki::AlgorithmIdentifier {
                oid: ID_SHA_256,
                parameters: None,
            },
            hashed_message: der::asn1::OctetString::new(imprint)?,
        },
        req_policy: None,
        nonce: Some(nonce),
        cert_req: true,
        extensions: None,
    })
}

/// A positive 64-bit nonce in minimal DER form (`Uint` strips leading zeros
/// and adds the sign byte a high bit needs; TSAs reject other encodings).
fn random_nonce() -> der::asn1::Int {
    let n: u64 = rand::random();
    der::asn1::Int::from(der::asn1::Uint::new(&n.to_be_bytes()).expect("8 bytes make a Uint"))
}

/// sigstore-tsa's checks on an answer: a `TimeStampResp` granted (with or
/// without modifications) that carries a token, the token a CMS SignedData
/// encapsulating a TSTInfo, whose imprint (algorithm and digest) and nonce
/// are the request's. Its signature and certificate are self-verification's.
fn check_timestamp(
    x: Exchange,
    request: &x509_tsp::TimeStampReq,
    body: &[u8],
) -> Result<(), ServiceError> {
    use cmpv2::status::PkiStatus;

    let response = x509_tsp::TimeStampResp::from_der(body)
        .map_err(|e| x.undecodable(format_args!("not a DER TimeStampResp: {e}")))?;
    match response.status.status {
        PkiStatus::Accepted | PkiStatus::GrantedWithMods => {}
        other => {
            return Err(ServiceError::Refused {
                service: x.service,
                what: x.what,
                detail: format!("status {other:?}"),
            })
        }
    }
    let token = response
        .time_stamp_token
        .ok_or_else(|| x.invalid("the response carries no timeStampToken"))?;
    if token.content_type != ID_SIGNED_DATA {
        return Err(x.invalid("the token is not a CMS SignedData"));
    }
    let signed_data = token
        .content
        .decode_as::<cms::signed_data::SignedData>()
        .map_err(|e| x.invalid(format_args!("the token's SignedData does not decode: {e}")))?;
    let encapsulated = &signed_data.encap_content_info;
    if encapsulated.econtent_type != ID_CT_TST_INFO {
        return Err(x.invalid("the token does not encapsulate a TSTInfo"));
    }
    let econtent = encapsulated
        .econtent
        .as_ref()
        .ok_or_else(|| x.invalid("the token carries no TSTInfo"))?;
    let tst_info = x509_tsp::TstInfo::from_der(econtent.value())
        .map_err(|e| x.invalid(format_args!("the TSTInfo does not decode: {e}")))?;

    let asked = &request.message_imprint;
    let got = &tst_info.message_imprint;
    if got.hash_algorithm.oid != asked.hash_algorithm.oid {
        return Err(x.mismatch(format_args!(
            "hash algorithm {}, asked for {}",
            got.hash_algorithm.oid, asked.hash_algorithm.oid
        )));
    }
    if got.hashed_message != asked.hashed_message {
        return Err(x.mismatch(format_args!(
            "message imprint {}, asked for {}",
            hex::encode(got.hashed_message.as_bytes()),
            hex::encode(asked.hashed_message.as_bytes())
        )));
    }
    if let Some(nonce) = &request.nonce {
        if tst_info.nonce.as_ref() != Some(nonce) {
            return Err(x.mismatch(format_args!(
                "nonce {}, asked for {}",
                tst_info
                    .nonce
                    .as_ref()
                    .map_or_else(|| "(none)".to_owned(), |n| hex::encode(n.as_bytes())),
                hex::encode(nonce.as_bytes())
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::{Retry, Retryable as _};

    const TSA: Exchange = Exchange {
        service: Service::Tsa,
        what: "timestamp the signature",
    };

    /// A real TSA's answer to `request`, from the sandbox's RFC 3161 authority.
    fn answer(request: &x509_tsp::TimeStampReq) -> Vec<u8> {
        let tsa =
            releasekit_sandbox::tsa::TimestampAuthority::generate(std::time::SystemTime::now());
        tsa.timestamp(&request.to_der().unwrap()).unwrap()
    }

    #[test]
    fn timestamps_must_answer_our_imprint_and_nonce() {
        let imprint = [7u8; 32];
        let request = timestamp_request(&imprint, random_nonce()).unwrap();
        let body = answer(&request);
        check_timestamp(TSA, &request, &body).unwrap();

        let other_nonce = timestamp_request(&imprint, random_nonce()).unwrap();
        let e = check_timestamp(TSA, &other_nonce, &body).unwrap_err();
        assert!(
            matches!(&e, ServiceError::Mismatch { detail, .. } if detail.starts_with("nonce")),
            "{e}"
        );
        assert_eq!(e.retry(), Retry::No);

        let mut other_imprint = request.clone();
        other_imprint.message_imprint.hashed_message =
            der::asn1::OctetString::new([8u8; 32].as_slice()).unwrap();
        let e = check_timestamp(TSA, &other_imprint, &body).unwrap_err();
        assert!(
            matches!(&e, ServiceError::Mismatch { detail, .. } if detail.starts_with("message imprint")),
            "{e}"
        );

        let e = check_timestamp(TSA, &request, b"{\"truncated\": <<not json").unwrap_err();
        assert!(matches!(e, ServiceError::Undecodable { .. }), "{e}");
        let e = check_timestamp(TSA, &request, &body[..body.len() / 2]).unwrap_err();
        assert!(matches!(e, ServiceError::Undecodable { .. }), "{e}");
    }

    #[test]
    fn nonces_are_positive_minimal_der_integers() {
        for _ in 0..256 {
            let der = random_nonce().to_der().unwrap();
            let back = der::asn1::Int::from_der(&der).expect("canonical DER");
            assert_eq!(back.as_bytes()[0] & 0x80, 0, "positive");
        }
    }
}
