//! One exchange with a Sigstore service, shared by every client here: the
//! request sent with the run's no-redirect client, the answer read under
//! [`MAX_ANSWER_BYTES`], a status kept with its `Retry-After`, a redirect
//! named (never followed, never retried), the body decoded; and
//! [`ServiceError`], which keeps apart what the retry rule must tell apart.

use std::time::Duration;

use crate::net::{self, Retry, Retryable};
use crate::text;

/// The largest answer read from any of these services. A certificate chain,
/// a log entry with its proof, or a timestamp token is a few KiB; a server
/// sending more is broken or hostile, and must not make the signer buffer it.
pub const MAX_ANSWER_BYTES: usize = 4 << 20;

/// How much of an error answer's body is kept for the message.
pub(super) const ERROR_BODY_BYTES: usize = 4 << 10;

/// The service an exchange was with, as messages name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Fulcio,
    Rekor,
    Tsa,
}

impl std::fmt::Display for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Service::Fulcio => "Fulcio",
            Service::Rekor => "Rekor",
            Service::Tsa => "TSA",
        })
    }
}

/// Why an exchange with a service produced nothing usable. Callers wrap it in
/// an error naming the URL and the fix; the variant decides whether to retry.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Our side could not build the request: never retried.
    #[error("cannot prepare the request to {service} ({what}): {detail}")]
    Request {
        service: Service,
        what: &'static str,
        detail: String,
    },
    /// No answer, or one cut short (connection refused or reset, timeout).
    #[error("HTTP error talking to {service} ({what}): {detail}")]
    Transport {
        service: Service,
        what: &'static str,
        detail: String,
    },
    /// An error status; 429 and 5xx are retried, after `retry_after` when given.
    #[error("{service} returned HTTP {status}: failed to {what}{}", body_suffix(.body))]
    Status {
        service: Service,
        what: &'static str,
        status: u16,
        /// The start of the answer's body (for a Rekor v1 409: the existing
        /// entry). Boxed, as `location`: this error is carried in others.
        body: Box<str>,
        retry_after: Option<Duration>,
        /// The answer's `Location`, as one capped line (for a Rekor v1
        /// 409: the existing entry's URL, sent before the body).
        location: Option<Box<str>>,
    },
    /// A 3xx: the client for these services follows no redirect (Fulcio's
    /// request holds the identity token), and a service that moved is
    /// configured anew, not chased. Never retried. `location` is the
    /// `Location` header as one printable line (capped), or `(none)`.
    #[error("{service} answered `{what}` with HTTP {status}, a redirect to `{location}`; not followed: requests to Sigstore services go to the configured URL only")]
    Redirect {
        service: Service,
        what: &'static str,
        status: u16,
        location: String,
    },
    /// Never retried: a second answer from a server that sends this much
    /// would only be read to the same cap again.
    #[error("{service} answered `{what}` with more than {limit} bytes; refusing to read it")]
    TooLarge {
        service: Service,
        what: &'static str,
        limit: usize,
    },
    /// A success status whose body does not decode (cut short, or mangled by a
    /// proxy or a restarting server): retried like a 502.
    #[error("{service} answered `{what}` with a body that does not decode: {detail}")]
    Undecodable {
        service: Service,
        what: &'static str,
        detail: String,
    },
    /// The TSA decoded the request and declined it (RFC 3161 status other
    /// than granted): retried, as it is no claim about our data.
    #[error("{service} did not grant `{what}`: {detail}")]
    Refused {
        service: Service,
        what: &'static str,
        detail: String,
    },
    /// The answer decoded but is not what was asked for (a log entry for
    /// another body, a timestamp over another imprint or nonce): a lie,
    /// never retried, because a second answer would hide it.
    #[error("{service} answered `{what}` for another request: {detail}")]
    Mismatch {
        service: Service,
        what: &'static str,
        detail: String,
    },
    /// The answer decoded but fails the checks on its form (no certificate,
    /// a certificate that does not parse, a v2 entry with a v1 promise...):
    /// never retried, like [`ServiceError::Mismatch`].
    #[error("invalid {service} answer to `{what}`: {detail}")]
    Invalid {
        service: Service,
        what: &'static str,
        detail: String,
    },
}

impl ServiceError {
    /// This error with every trace of `secret` (whole, and the claims and
    /// signature of a JWT) shown as `[token]`: a service, or a proxy in front
    /// of it, may echo the request in its answer, and Fulcio's holds the
    /// identity token.
    pub(super) fn without(self, secret: &str) -> ServiceError {
        let hide = |text: String| crate::text::secret_hidden(text, secret);
        match self {
            ServiceError::Status {
                service,
                what,
                status,
                body,
                retry_after,
                location,
            } => ServiceError::Status {
                service,
                what,
                status,
                body: hide(body.into()).into(),
                retry_after,
                location: location.map(|l| hide(l.into()).into()),
            },
            ServiceError::Redirect {
                service,
                what,
                status,
                location,
            } => ServiceError::Redirect {
                service,
                what,
                status,
                location: hide(location),
            },
            ServiceError::Request {
                service,
                what,
                detail,
            } => ServiceError::Request {
                service,
                what,
                detail: hide(detail),
            },
            ServiceError::Transport {
                service,
                what,
                detail,
            } => ServiceError::Transport {
                service,
                what,
                detail: hide(detail),
            },
            ServiceError::Undecodable {
                service,
                what,
                detail,
            } => ServiceError::Undecodable {
                service,
                what,
                detail: hide(detail),
            },
            ServiceError::Refused {
                service,
                what,
                detail,
            } => ServiceError::Refused {
                service,
                what,
                detail: hide(detail),
            },
            ServiceError::Mismatch {
                service,
                what,
                detail,
            } => ServiceError::Mismatch {
                service,
                what,
                detail: hide(detail),
            },
            ServiceError::Invalid {
                service,
                what,
                detail,
            } => ServiceError::Invalid {
                service,
                what,
                detail: hide(detail),
            },
            e @ ServiceError::TooLarge { .. } => e,
        }
    }
}

/// `text` with `secret`, and the claims and signature of it as a JWT,
/// replaced by `[token]` (a JWT's header names only the algorithm).
pub(super) fn body_suffix(body: &str) -> String {
    if body.is_empty() {
        String::new()
    } else {
        format!(": {body}")
    }
}

// Every request here is safe to repeat: a new certificate; a re-sent Rekor v1
// entry is answered 409 and the existing entry is used, v2 deduplicates; a
// new timestamp.
impl Retryable for ServiceError {
    fn retry(&self) -> Retry {
        match self {
            ServiceError::Transport { .. }
            | ServiceError::Undecodable { .. }
            | ServiceError::Refused { .. } => Retry::After(None),
            ServiceError::Status {
                status,
                retry_after,
                ..
            } if net::is_transient(*status) => Retry::After(*retry_after),
            ServiceError::Status { .. }
            | ServiceError::Redirect { .. }
            | ServiceError::Request { .. }
            | ServiceError::TooLarge { .. }
            | ServiceError::Mismatch { .. }
            | ServiceError::Invalid { .. } => Retry::No,
        }
    }
}

/// One exchange: the service and what was asked, for every error it makes.
#[derive(Clone, Copy)]
pub(super) struct Exchange {
    pub(super) service: Service,
    pub(super) what: &'static str,
}

/// A detail as an error keeps it: capped, since a parser's message can
/// quote the hostile value it stopped at whole (a 4 MiB string in place of
/// an entry), and every artifact's error, annotation and summary row would
/// repeat it.
fn shown(detail: impl std::fmt::Display) -> String {
    crate::text::capped(&detail.to_string(), crate::text::MESSAGE_CHARS)
}

impl Exchange {
    pub(super) fn transport(self, e: &reqwest::Error) -> ServiceError {
        // A request that cannot even be built (a bad URL) fails the same way every time.
        let detail = shown(error_chain(e));
        if e.is_builder() {
            ServiceError::Request {
                service: self.service,
                what: self.what,
                detail,
            }
        } else {
            ServiceError::Transport {
                service: self.service,
                what: self.what,
                detail,
            }
        }
    }
    pub(super) fn undecodable(self, detail: impl std::fmt::Display) -> ServiceError {
        ServiceError::Undecodable {
            service: self.service,
            what: self.what,
            detail: shown(detail),
        }
    }
    pub(super) fn invalid(self, detail: impl std::fmt::Display) -> ServiceError {
        ServiceError::Invalid {
            service: self.service,
            what: self.what,
            detail: shown(detail),
        }
    }
    pub(super) fn mismatch(self, detail: impl std::fmt::Display) -> ServiceError {
        ServiceError::Mismatch {
            service: self.service,
            what: self.what,
            detail: shown(detail),
        }
    }
    pub(super) fn request(self, detail: impl std::fmt::Display) -> ServiceError {
        ServiceError::Request {
            service: self.service,
            what: self.what,
            detail: shown(detail),
        }
    }

    /// Send `request`; the body of a success status, read under the cap.
    pub(super) async fn send(
        self,
        request: reqwest::RequestBuilder,
    ) -> Result<Vec<u8>, ServiceError> {
        let response = request.send().await.map_err(|e| self.transport(&e))?;
        let status = response.status();
        if status.is_redirection() {
            return Err(ServiceError::Redirect {
                service: self.service,
                what: self.what,
                status: status.as_u16(),
                location: location(response.headers()),
            });
        }
        if !status.is_success() {
            let retry_after = net::retry_after(response.headers());
            let location = response
                .headers()
                .contains_key(reqwest::header::LOCATION)
                .then(|| location(response.headers()).into());
            let body = error_body(response).await.into();
            return Err(ServiceError::Status {
                service: self.service,
                what: self.what,
                status: status.as_u16(),
                body,
                retry_after,
                location,
            });
        }
        self.read_capped(response).await
    }

    pub(super) async fn read_capped(
        self,
        response: reqwest::Response,
    ) -> Result<Vec<u8>, ServiceError> {
        net::body_up_to(response, MAX_ANSWER_BYTES)
            .await
            .map_err(|e| self.transport(&e))?
            .ok_or(ServiceError::TooLarge {
                service: self.service,
                what: self.what,
                limit: MAX_ANSWER_BYTES,
            })
    }

    pub(super) fn json<T: serde::de::DeserializeOwned>(
        self,
        body: &[u8],
    ) -> Result<T, ServiceError> {
        serde_json::from_slice(body).map_err(|e| self.undecodable(e))
    }
}

/// The start of an error answer's body, for the message (and a 409's entry
/// UUID); a body that cannot be read is left out, the status says enough.
pub(super) async fn error_body(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while body.len() < ERROR_BODY_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    // A cut is marked `…`, as [`text::capped`]'s: what hides a secret
    // echoed in the body hides the start of one cut there too. A body that
    // filled the cap exactly may have gone on: marked too.
    let cut = body.len() >= ERROR_BODY_BYTES;
    body.truncate(ERROR_BODY_BYTES);
    let mut text = String::from_utf8_lossy(&body).trim().to_owned();
    if cut {
        text.push('…');
    }
    text
}

/// How much of a `Location` header is kept for the message.
pub(super) const LOCATION_CHARS: usize = 512;

/// A redirect's `Location`, for a message: as one printable line
/// ([`text::line`]), at most [`LOCATION_CHARS`] characters of it.
pub(super) fn location(headers: &reqwest::header::HeaderMap) -> String {
    let Some(value) = headers.get(reqwest::header::LOCATION) else {
        return "(none)".to_owned();
    };
    let raw = String::from_utf8_lossy(value.as_bytes());
    text::line(text::capped(&raw, LOCATION_CHARS))
}

/// reqwest's own message hides the cause ("error sending request for url");
/// the chain says connection refused, reset or timed out.
pub(super) fn error_chain(e: &reqwest::Error) -> String {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// `url` without trailing slashes, as the sigstore clients join paths.
pub(super) fn base(url: &str) -> String {
    url.trim_end_matches('/').to_owned()
}

/// `der` as PEM with 64-column LF lines, as cosign and sigstore-python write
/// it (the sigstore crates' `to_pem` writes CRLF).
pub(super) fn pem_lf(label: &'static str, der: &[u8]) -> Result<String, der::pem::Error> {
    der::pem::encode_string(label, der::pem::LineEnding::LF, der)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Fulcio (or a proxy) echoing the request names the token in its
    /// error; what is kept of the error holds none of it.
    #[test]
    fn an_echoed_token_is_hidden_from_every_message() {
        let token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOm8vciJ9.c2lnbmF0dXJlLXNlY3JldA";
        let echo = format!("bad request: {{\"credentials\":{{\"oidcIdentityToken\":\"{token}\"}}}} claims eyJzdWIiOiJyZXBvOm8vciJ9 sig c2lnbmF0dXJlLXNlY3JldA");
        let errors = [
            ServiceError::Status {
                service: Service::Fulcio,
                what: "create signing certificate",
                status: 400,
                body: echo.clone().into(),
                retry_after: None,
                location: None,
            },
            ServiceError::Undecodable {
                service: Service::Fulcio,
                what: "create signing certificate",
                detail: echo.clone(),
            },
            ServiceError::Redirect {
                service: Service::Fulcio,
                what: "create signing certificate",
                status: 302,
                location: format!("https://x/?t={token}"),
            },
        ];
        for e in errors {
            let shown = e.without(token).to_string();
            for part in token.split('.').skip(1).chain([token]) {
                assert!(!shown.contains(part), "{shown}");
            }
            assert!(shown.contains("[token]"), "{shown}");
        }
    }

    const FULCIO: Exchange = Exchange {
        service: Service::Fulcio,
        what: "create signing certificate",
    };
    const REKOR: Exchange = Exchange {
        service: Service::Rekor,
        what: "create entry",
    };

    fn status(status: u16, retry_after: Option<u64>) -> ServiceError {
        ServiceError::Status {
            service: Service::Rekor,
            what: "create entry",
            status,
            body: "".into(),
            retry_after: retry_after.map(Duration::from_secs),
            location: None,
        }
    }

    #[test]
    fn statuses_retry_after_the_server_says_and_lies_never() {
        assert_eq!(
            status(429, Some(3)).retry(),
            Retry::After(Some(Duration::from_secs(3)))
        );
        assert_eq!(
            status(503, Some(7)).retry(),
            Retry::After(Some(Duration::from_secs(7)))
        );
        assert_eq!(status(502, None).retry(), Retry::After(None));
        assert_eq!(status(409, Some(3)).retry(), Retry::No);
        assert_eq!(status(400, None).retry(), Retry::No);
        assert_eq!(REKOR.undecodable("eof").retry(), Retry::After(None));
        assert_eq!(REKOR.mismatch("another body").retry(), Retry::No);
        assert_eq!(REKOR.invalid("no proof").retry(), Retry::No);
        assert_eq!(REKOR.request("no key").retry(), Retry::No);
        let too_large = ServiceError::TooLarge {
            service: Service::Tsa,
            what: "timestamp the signature",
            limit: MAX_ANSWER_BYTES,
        };
        assert_eq!(too_large.retry(), Retry::No);
    }

    #[test]
    fn status_messages_keep_the_service_the_status_and_the_body() {
        let e = ServiceError::Status {
            service: Service::Rekor,
            what: "create entry",
            status: 400,
            body: r#"{"code":400}"#.into(),
            retry_after: None,
            location: None,
        };
        assert_eq!(
            e.to_string(),
            r#"Rekor returned HTTP 400: failed to create entry: {"code":400}"#
        );
        assert_eq!(
            status(503, None).to_string(),
            "Rekor returned HTTP 503: failed to create entry"
        );
    }

    /// A one-connection HTTP server that writes `head` and then `chunks` of
    /// body (chunked encoding when `chunks` is not zero), whatever is asked.
    async fn serve(head: &'static str, chunks: usize) -> String {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            socket.write_all(head.as_bytes()).await.unwrap();
            let chunk = format!("10000\r\n{}\r\n", "x".repeat(0x10000));
            for _ in 0..chunks {
                if socket.write_all(chunk.as_bytes()).await.is_err() {
                    return; // the client stopped reading, as it should
                }
            }
            let _ = socket.write_all(b"0\r\n\r\n").await;
        });
        url
    }

    async fn exchange(url: &str) -> Result<Vec<u8>, ServiceError> {
        REKOR.send(reqwest::Client::new().post(url)).await
    }

    #[tokio::test]
    async fn error_statuses_carry_their_retry_after() {
        let url = serve(
            "HTTP/1.1 429 Too Many Requests\r\nretry-after: 3\r\ncontent-length: 9\r\n\r\n{\"a\":\"b\"}",
            0,
        )
        .await;
        let e = exchange(&url).await.unwrap_err();
        assert!(
            matches!(&e, ServiceError::Status { status: 429, retry_after: Some(d), body, .. }
                if *d == Duration::from_secs(3) && &**body == r#"{"a":"b"}"#),
            "{e:?}"
        );
        assert_eq!(e.retry(), Retry::After(Some(Duration::from_secs(3))));
    }

    /// A Rekor v1 409's `Location` (the existing entry) is kept.
    #[tokio::test]
    async fn a_conflict_keeps_its_location() {
        let url = serve(
            "HTTP/1.1 409 Conflict\r\nlocation: /api/v1/log/entries/abc\r\ncontent-length: 2\r\n\r\n{}",
            0,
        )
        .await;
        let e = exchange(&url).await.unwrap_err();
        assert!(
            matches!(&e, ServiceError::Status { status: 409, location: Some(l), .. }
                if &**l == "/api/v1/log/entries/abc"),
            "{e:?}"
        );
    }

    #[tokio::test]
    async fn answers_larger_than_the_cap_are_not_read() {
        let declared = serve("HTTP/1.1 200 OK\r\ncontent-length: 1000000000\r\n\r\n", 0).await;
        let streamed = serve(
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
            MAX_ANSWER_BYTES / 0x10000 + 8,
        )
        .await;
        for url in [declared, streamed] {
            let e = exchange(&url).await.unwrap_err();
            assert!(matches!(e, ServiceError::TooLarge { .. }), "{e:?}");
            assert!(e.to_string().contains("refusing to read it"), "{e}");
            assert_eq!(e.retry(), Retry::No);
        }
    }

    /// A 307 (or any 3xx) is not followed by the Sigstore services' client: it
    /// is an error naming the status and the `Location`, shown as one
    /// printable line, and it is not retried.
    #[tokio::test]
    async fn redirects_are_not_followed_and_name_their_location() {
        let url = serve(
            "HTTP/1.1 307 Temporary Redirect\r\nlocation: http://127.0.0.1:9/x\t##[error]y\r\ncontent-length: 0\r\n\r\n",
            0,
        )
        .await;
        let client = net::sigstore_client().unwrap();
        let e = FULCIO.send(client.post(&url)).await.unwrap_err();
        assert!(
            matches!(&e, ServiceError::Redirect { status: 307, location, .. }
                if location == "http://127.0.0.1:9/x\\t##\\u{5b}error]y"),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "Fulcio answered `create signing certificate` with HTTP 307, a redirect to \
             `http://127.0.0.1:9/x\\t##\\u{5b}error]y`; not followed: requests to Sigstore \
             services go to the configured URL only"
        );
        assert_eq!(e.retry(), Retry::No);
    }

    /// A connection closed before any answer. (Not a refused connection: a
    /// port freed for that can be taken by a concurrent test's server.)
    #[tokio::test]
    async fn a_dropped_connection_is_a_transport_failure() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                drop(socket);
            }
        });
        let e = exchange(&url).await.unwrap_err();
        assert!(matches!(e, ServiceError::Transport { .. }), "{e:?}");
        assert_eq!(e.retry(), Retry::After(None));
    }

    /// A token echoed where a cap cuts it (a `Location` past 512
    /// characters, an error body past 4 KiB) is hidden, its start too.
    /// Regression: the cuts were unmarked, or marked `...`, so the start
    /// of the token was printed.
    #[tokio::test]
    async fn a_token_cut_by_a_cap_is_hidden() {
        let token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOm8vciJ9.c2lnbmF0dXJlLXNlY3JldA";
        let location = format!("https://x/{}?t={token}", "p".repeat(439));
        let body = format!("{}{token}", "x".repeat(ERROR_BODY_BYTES - 40));
        // Cut where the body fills the cap exactly, too.
        let exact = format!("{}{token}", "x".repeat(ERROR_BODY_BYTES - 40));
        let exact = &exact[..ERROR_BODY_BYTES];
        for head in [
            format!(
                "HTTP/1.1 400 Bad Request\r\ncontent-length: {}\r\n\r\n{exact}",
                exact.len()
            ),
            format!("HTTP/1.1 307 Temporary Redirect\r\nlocation: {location}\r\ncontent-length: 0\r\n\r\n"),
            format!(
                "HTTP/1.1 400 Bad Request\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            ),
        ] {
            let url = serve(Box::leak(head.into_boxed_str()), 0).await;
            let e = FULCIO
                .send(net::sigstore_client().unwrap().post(&url))
                .await
                .unwrap_err()
                .without(token);
            let shown = e.to_string();
            assert!(shown.contains("[token]…"), "{shown}");
            assert!(
                !shown.contains("c2lnbmF0") && !shown.contains("eyJzdWIi"),
                "{shown}"
            );
        }
    }

    /// A parser's message quotes the value it stopped at: an answer that is
    /// one 1 MiB string leaves an error of a readable line, not the string.
    /// Regression: every artifact's error, annotation and summary row held
    /// the whole of it.
    #[test]
    fn a_huge_answer_is_quoted_capped() {
        let huge = format!("\"{}\"", "A".repeat(1 << 20));
        let e = REKOR
            .json::<std::collections::HashMap<String, serde_json::Value>>(huge.as_bytes())
            .unwrap_err();
        assert!(matches!(e, ServiceError::Undecodable { .. }), "{e:?}");
        let shown = e.to_string();
        assert!(
            shown.len() < crate::text::MESSAGE_CHARS + 300,
            "{} bytes",
            shown.len()
        );
        for e in [
            REKOR.invalid(&huge),
            REKOR.mismatch(&huge),
            REKOR.request(&huge),
        ] {
            assert!(e.to_string().len() < crate::text::MESSAGE_CHARS + 300);
        }
    }
}
