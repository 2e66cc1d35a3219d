//! One signing identity for the whole run: one ephemeral P-256 key and one
//! Fulcio certificate, shared by every artifact and renewed before it expires.
//!
//! Owns the key, the certificate request, the checks on what Fulcio returned
//! (the certificate is for our key, names the token's identity, where the
//! claims tell the SAN, and issuer,
//! chains to a certificate authority of the trusted root and, where the
//! instance lists CT logs, carries an SCT one of them signed),
//! and renewal: a credential is handed out only while it stays valid for a
//! margin long enough to log an artifact; otherwise a new key and certificate
//! replace it (and a fresh CI token, when the old one expired). Renewal is
//! single-flight: concurrent artifacts wait for one request. It does not log
//! entries or build bundles.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sigstore_crypto::KeyPair;
use sigstore_types::DerCertificate;

use super::clients::{Fulcio, ServiceError};
use crate::net::{self, RetryPolicy};
use crate::oidc::{IdToken, TokenError, TokenSource};
use crate::verify::cache::CachingVerifier;

/// How long a certificate must still be valid when an artifact starts signing:
/// it covers hashing-to-logging latency (Rekor's integrated time and the TSA's
/// time must fall inside the validity). Short-lived certificates use a third
/// of their lifetime instead, so they stay usable at all.
pub(crate) const RENEW_MARGIN: Duration = Duration::from_secs(30);

/// A key and the certificate binding it to the signer's identity.
pub(crate) struct Credential {
    key: KeyPair,
    certificate: DerCertificate,
    /// The certificate's SAN, checked against the token.
    pub identity: String,
    /// The certificate's OIDC issuer extension, checked against the token.
    pub issuer: String,
    pub not_after: jiff::Timestamp,
    received: jiff::Timestamp,
    /// 1 for the run's first certificate, 2 after the first renewal, ...
    pub generation: u32,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("identity", &self.identity)
            .field("issuer", &self.issuer)
            .field("not_after", &self.not_after)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

impl Credential {
    pub(crate) fn key(&self) -> &KeyPair {
        &self.key
    }
    pub(crate) fn certificate(&self) -> &DerCertificate {
        &self.certificate
    }

    fn margin(&self) -> Duration {
        // From when we received it, not from `not_before`: CAs backdate that to absorb skew.
        let lifetime = self.not_after.duration_since(self.received).unsigned_abs();
        RENEW_MARGIN.min(lifetime / 3)
    }

    /// Whether an artifact started now can still be logged inside the validity.
    pub(crate) fn usable_now(&self) -> bool {
        let margin =
            jiff::SignedDuration::try_from(self.margin()).unwrap_or(jiff::SignedDuration::ZERO);
        jiff::Timestamp::now()
            .checked_add(margin)
            .is_ok_and(|t| t < self.not_after)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("cannot generate the ephemeral signing key: {0}")]
    Key(#[source] sigstore_crypto::Error),
    #[error("Fulcio at {url} issued no certificate: {source}; fix: {fix}")]
    Fulcio {
        url: String,
        /// For why it failed ([`fulcio_fix`]).
        fix: String,
        // Boxed: errors holding this one stay small.
        source: Box<ServiceError>,
    },
    /// Not followed: the request holds the identity token.
    #[error("Fulcio at {url} redirected the certificate request: {source}; fix: set {choice} to Fulcio's own address, not one that redirects", choice = crate::vocab::FULCIO_CHOICE)]
    FulcioRedirect { url: String, source: ServiceError },
    #[error("Fulcio at {url} returned a certificate that does not parse: {source}; refusing to sign with it")]
    BadCertificate {
        url: String,
        source: sigstore_crypto::Error,
    },
    #[error("Fulcio at {url} returned a certificate for another public key; refusing to sign with it (fix: check that {choice} points at a genuine Fulcio)", choice = crate::vocab::FULCIO_CHOICE)]
    WrongKey { url: String },
    #[error("Fulcio at {url} returned a certificate for `{found}`, but the token is for `{expected}`; refusing to sign with it (fix: check {choice})", choice = crate::vocab::FULCIO_CHOICE)]
    WrongIdentity {
        url: String,
        found: String,
        expected: String,
    },
    #[error("Fulcio at {url} returned a certificate from issuer `{found}`, but the token is from `{expected}`; refusing to sign with it (fix: check {choice})", choice = crate::vocab::FULCIO_CHOICE)]
    WrongIssuer {
        url: String,
        found: String,
        expected: String,
    },
    #[error("Fulcio at {url} returned a certificate that no certificate authority of the instance's trusted root issued (at {at}); refusing to sign with it, before anything is logged (fix: check that {choice} is the Fulcio the trusted root lists)", choice = crate::vocab::FULCIO_CHOICE)]
    UntrustedCertificate { url: String, at: jiff::Timestamp },
    /// The instance lists CT logs, and none of them vouches for the
    /// certificate: no bundle of it would verify.
    #[error("Fulcio at {url} returned a certificate without an SCT the instance's CT logs vouch for ({source}); refusing to sign with it, before anything is logged (fix: check that {choice} is the Fulcio the trusted root lists, and that its trusted root lists the CT log that Fulcio submits to)", choice = crate::vocab::FULCIO_CHOICE)]
    UntrustedSct {
        url: String,
        source: crate::verify::sct::SctError,
    },
    /// A renewed certificate names another signer than the run's first:
    /// the run signs under one identity, which its report and checks name.
    #[error("the certificate renewed mid-run from Fulcio at {url} is for `{now}` (issuer `{now_issuer}`), but the run signs as `{was}` (issuer `{was_issuer}`); refusing to sign with it (fix: keep the token's identity for the whole run; sign the rest in another run)")]
    IdentityChanged {
        url: String,
        was: String,
        was_issuer: String,
        now: String,
        now_issuer: String,
    },
    #[error("Fulcio at {url} returned a certificate valid only until {not_after}, too short to sign with; fix: check the Fulcio's clock and configuration")]
    TooShort {
        url: String,
        not_after: jiff::Timestamp,
    },
    /// A renewal this run already asked for was refused ([`Self::refuses_the_renewal`]):
    /// not asked for again.
    #[error(
        "the certificate renewed earlier in this run was refused ({0}); no other is asked for"
    )]
    RenewalRefused(String),
}

impl SessionError {
    /// Whether Fulcio's certificate itself was refused, so a renewal asked
    /// for again with the same token would be refused alike (each one more
    /// certificate, and CT log entry, naming the signer): not a failure to
    /// get one, which a later attempt may not meet.
    pub(crate) fn refuses_the_renewal(&self) -> bool {
        matches!(
            self,
            Self::BadCertificate { .. }
                | Self::WrongKey { .. }
                | Self::WrongIdentity { .. }
                | Self::WrongIssuer { .. }
                | Self::UntrustedCertificate { .. }
                | Self::UntrustedSct { .. }
                | Self::IdentityChanged { .. }
                | Self::TooShort { .. }
                | Self::RenewalRefused(_)
        )
    }
}

struct State {
    token: Option<IdToken>,
    current: Option<Arc<Credential>>,
    /// The generation of a credential a service's clock has already put
    /// past its end ([`Session::retire`]): renewed, however long it has
    /// left by ours.
    retired: Option<u32>,
    /// Why a renewal was refused ([`SessionError::refuses_the_renewal`]):
    /// every later caller is told, and Fulcio is not asked again.
    refused: Option<String>,
}

/// The run's signing identity. Cheap to share behind an `Arc`.
pub struct Session {
    fulcio: Fulcio,
    fulcio_url: String,
    /// The run's verifier: a new certificate must chain to its trusted root.
    verifier: Arc<CachingVerifier>,
    tokens: TokenSource,
    retry: RetryPolicy,
    state: tokio::sync::Mutex<State>,
    issued: AtomicU32,
}

/// How long a token must still be valid to be sent to Fulcio, where a
/// fresh one can be fetched.
const TOKEN_MARGIN: Duration = Duration::from_secs(30);

impl Session {
    /// A session for `fulcio_url`, starting with `token` (from `tokens`, which
    /// is asked again only when a CI token expires).
    pub fn new(
        fulcio_url: &str,
        http: reqwest::Client,
        tokens: TokenSource,
        token: IdToken,
        retry: RetryPolicy,
        verifier: Arc<CachingVerifier>,
    ) -> Session {
        Session {
            fulcio: Fulcio::new(http, fulcio_url),
            fulcio_url: fulcio_url.to_owned(),
            verifier,
            tokens,
            retry,
            state: tokio::sync::Mutex::new(State {
                token: Some(token),
                current: None,
                retired: None,
                refused: None,
            }),
            issued: AtomicU32::new(0),
        }
    }

    async fn token_locked<'s>(&self, state: &'s mut State) -> Result<&'s IdToken, TokenError> {
        // A token that may end during Fulcio's exchange is replaced first,
        // where it can be: an attempt can take its timeout, and a retry
        // waits what the server asks.
        let stale = match &state.token {
            None => true,
            Some(t) => t.for_fulcio(TOKEN_MARGIN).is_err() && self.tokens.can_refresh(),
        };
        if stale {
            state.token = Some(self.tokens.fetch().await?);
        }
        Ok(state.token.as_ref().expect("token set above"))
    }

    /// `credential` got evidence timed after its end: a service's clock
    /// runs ahead of ours, so by that clock it has ended, whatever ours
    /// says. The next [`Self::credential`] asks for a new one (once: a
    /// renewal already made is kept).
    pub(crate) async fn retire(&self, credential: &Credential) {
        let mut state = self.state.lock().await;
        if state
            .current
            .as_ref()
            .is_some_and(|c| c.generation == credential.generation)
        {
            state.retired = Some(credential.generation);
        }
    }

    /// Certificates requested so far in this run.
    pub(crate) fn certificates_issued(&self) -> u32 {
        self.issued.load(Ordering::SeqCst)
    }

    /// A credential valid long enough to sign and log one artifact.
    pub(crate) async fn credential(&self) -> Result<Arc<Credential>, SessionError> {
        let mut state = self.state.lock().await;
        if let Some(c) = &state.current {
            if c.usable_now() && state.retired != Some(c.generation) {
                return Ok(c.clone());
            }
            tracing::info!(not_after = %c.not_after, "signing certificate about to expire; requesting a new one");
        }
        if let Some(why) = &state.refused {
            return Err(SessionError::RenewalRefused(why.clone()));
        }
        let token = self.token_locked(&mut state).await?.clone();
        let issued = match self.issue(&token, state.current.as_deref()).await {
            // The token ended while Fulcio's answers were retried: once more
            // with a fresh one, where one can be had. Fulcio says so with a
            // 400 and "There was an error processing the identity token"
            // (a 401 from a proxy in front of it means the same).
            Err(SessionError::Fulcio { source, .. })
                if self.tokens.can_refresh()
                    && matches!(*source, ServiceError::Status { status, ref body, .. }
                        if token_refused(status, body)) =>
            {
                tracing::info!("Fulcio refused the identity token (expired?); fetching a new one");
                state.token = None;
                let token = self.token_locked(&mut state).await?.clone();
                self.issue(&token, state.current.as_deref()).await
            }
            issued => issued,
        };
        let credential = match issued {
            Ok(c) => Arc::new(c),
            Err(e) => {
                if state.current.is_some() && e.refuses_the_renewal() {
                    state.refused = Some(e.to_string());
                }
                return Err(e);
            }
        };
        state.current = Some(credential.clone());
        Ok(credential)
    }

    /// 1. A new key (never reused across certificates), 2. a certificate for it,
    /// 3. checks that Fulcio certified what we asked for.
    ///
    /// A renewal (`previous` is the run's credential so far) must certify
    /// the same signer.
    async fn issue(
        &self,
        token: &IdToken,
        previous: Option<&Credential>,
    ) -> Result<Credential, SessionError> {
        let key = KeyPair::generate_ecdsa_p256().map_err(SessionError::Key)?;
        let oidc = token.for_fulcio(Duration::ZERO)?;
        let url = &self.fulcio_url;
        let expected = token.identity();
        let response = net::retry(&self.retry, "Fulcio signing certificate", || {
            self.fulcio.signing_certificate(oidc, &key)
        })
        .await
        .map_err(|source| match source {
            ServiceError::Redirect { .. } => SessionError::FulcioRedirect {
                url: url.clone(),
                source,
            },
            source => SessionError::Fulcio {
                url: url.clone(),
                fix: fulcio_fix(&source, &expected.issuer),
                source: Box::new(source),
            },
        })?;
        let certificate = response.leaf_certificate().clone();
        let info = sigstore_crypto::parse_certificate_info(&certificate).map_err(|source| {
            SessionError::BadCertificate {
                url: url.clone(),
                source,
            }
        })?;
        // Before anything is logged with it: a certificate from a CA the
        // instance does not trust, or without an SCT its CT logs vouch for,
        // would make every artifact's log entry and timestamp for nothing
        // (each bundle is still verified in full).
        if !self
            .verifier
            .issued_by_a_trusted_authority(certificate.as_bytes(), info.not_before)
        {
            return Err(SessionError::UntrustedCertificate {
                url: url.clone(),
                at: info.not_before,
            });
        }
        self.verifier
            .sct_trusted(certificate.as_bytes(), info.not_before)
            .map_err(|source| SessionError::UntrustedSct {
                url: url.clone(),
                source,
            })?;

        let ours = key.public_key_der().map_err(SessionError::Key)?;
        if info.public_key.as_bytes() != ours.as_bytes() {
            return Err(SessionError::WrongKey { url: url.clone() });
        }
        let identity = info
            .identity
            .as_ref()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default();
        if !expected.matches_san(&identity) {
            return Err(SessionError::WrongIdentity {
                url: url.clone(),
                found: shown(&identity, token),
                expected: crate::text::capped(&expected.identity, crate::text::MESSAGE_CHARS),
            });
        }
        let issuer = info.issuer.clone().unwrap_or_default();
        if !expected.matches_issuer(&issuer) {
            return Err(SessionError::WrongIssuer {
                url: url.clone(),
                found: shown(&issuer, token),
                expected: crate::text::capped(&expected.issuer, crate::text::MESSAGE_CHARS),
            });
        }
        // A token fetched again may be another job's, or say another
        // workflow: the run's signer is its first certificate's.
        if let Some(first) = previous {
            if (&first.identity, &first.issuer) != (&identity, &issuer) {
                return Err(SessionError::IdentityChanged {
                    url: url.clone(),
                    was: first.identity.clone(),
                    was_issuer: first.issuer.clone(),
                    now: shown(&identity, token),
                    now_issuer: shown(&issuer, token),
                });
            }
        }
        let mut credential = Credential {
            key,
            certificate,
            identity,
            issuer,
            not_after: info.not_after,
            received: jiff::Timestamp::now(),
            generation: 0,
        };
        if !credential.usable_now() {
            return Err(SessionError::TooShort {
                url: url.clone(),
                not_after: credential.not_after,
            });
        }
        // Counted once every check passed: a refused certificate is none.
        let generation = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        credential.generation = generation;
        tracing::info!(identity = %credential.identity, not_after = %credential.not_after, generation, "signing certificate issued");
        Ok(credential)
    }
}

/// A certificate's SAN or issuer as an error shows it: one line, capped,
/// with the token it was issued for hidden (a Fulcio could write the token
/// it was sent into either).
fn shown(value: &str, token: &IdToken) -> String {
    let hidden = crate::text::secret_hidden(value.to_owned(), token.secret());
    crate::text::capped(&crate::text::line(hidden), 200)
}

/// The fix for Fulcio issuing no certificate, by why: a refusal of the
/// request (a 4xx other than 429 and a missing endpoint's) is about the
/// token and the instance; no answer, or a failing one that outlasted the
/// retries, is an outage; no such endpoint, or an answer that is no
/// Fulcio's, is the address.
fn fulcio_fix(source: &ServiceError, issuer: &str) -> String {
    let address = || {
        format!(
            "check that {} is Fulcio's own address",
            crate::vocab::FULCIO_CHOICE
        )
    };
    match source {
        // No such endpoint: another server than Fulcio, or a path typo.
        ServiceError::Status {
            status: 404 | 405 | 501,
            ..
        } => address(),
        // Refused, not failing: no retry could change it.
        ServiceError::Status { status, .. } if !net::is_transient(*status) => {
            format!(
                "check that this Fulcio accepts tokens from {} (a private instance needs --trust-config; action input `trust-config`)",
                crate::text::line(crate::text::capped(issuer, crate::text::MESSAGE_CHARS))
            )
        }
        // Failing, or no answer, past the retries.
        ServiceError::Status { .. } | ServiceError::Transport { .. } => {
            format!(
                "re-run later (Fulcio did not answer, or kept failing), or check {}",
                crate::vocab::FULCIO_CHOICE
            )
        }
        _ => address(),
    }
}

/// Whether Fulcio's error answer refuses the identity token: a 400 with its
/// one message for every token it cannot use
/// (`There was an error processing the identity token`), or a 401.
fn token_refused(status: u16, body: &str) -> bool {
    status == 401
        || (status == 400
            && body
                .to_ascii_lowercase()
                .contains("error processing the identity token"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16) -> ServiceError {
        ServiceError::Status {
            service: crate::sign::clients::Service::Fulcio,
            what: "issue a certificate",
            status,
            body: "".into(),
            retry_after: None,
            location: None,
        }
    }

    /// A refusal names the token's issuer, capped and on one line (the
    /// claim is the token's, unverified); an outage names no issuer.
    /// Regression: a 20,000-character `iss` was repeated whole.
    #[test]
    fn the_fix_for_fulcio_is_by_why_and_its_issuer_is_capped() {
        let long = format!("https://issuer.example/{}\n##[error]x", "A".repeat(20_000));
        let fix = fulcio_fix(&status(400), &long);
        assert!(
            fix.starts_with(
                "check that this Fulcio accepts tokens from https://issuer.example/AAA"
            ),
            "{fix}"
        );
        assert!(fix.len() < 2 * crate::text::MESSAGE_CHARS, "{}", fix.len());
        assert!(!fix.contains('\n'), "{fix}");
        for outage in [status(503), status(429)] {
            let fix = fulcio_fix(&outage, &long);
            assert!(fix.starts_with("re-run later"), "{fix}");
        }
        for elsewhere in [status(404), status(405), status(501)] {
            let fix = fulcio_fix(&elsewhere, &long);
            assert!(fix.ends_with("is Fulcio's own address"), "{fix}");
        }
    }
}
