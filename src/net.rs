//! The one HTTP client of a run, and retrying with backoff.
//!
//! Owns timeouts, the user agent, and the retry rule: bounded exponential
//! backoff with full jitter, honouring `Retry-After`, for connection errors,
//! 5xx and 429. It knows no service and no URL; callers classify their own
//! errors through [`Retryable`] (a Rekor 409 is not retried: the signing code
//! turns it into the existing entry).

use std::future::Future;
use std::time::Duration;

use rand::Rng as _;

/// `releasekit-sign/<version>`.
pub const USER_AGENT: &str = concat!(env!("CARGO_PKG_NAME"), "/", env!("CARGO_PKG_VERSION"));

/// The client every Sigstore service client is built with (`with_http_client`).
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(Duration::from_secs(10))
        // Generous: a busy Rekor can take seconds; a hung server must not hang CI.
        .timeout(Duration::from_secs(60))
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
}

/// How often and how long to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included.
    pub attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// The delay before attempt `attempt + 1` (`attempt` counts from 1): a
    /// server's `Retry-After` if it gave one (capped), else full jitter over an
    /// exponentially growing window, so that concurrent artifacts do not retry
    /// in lockstep.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            return after.min(self.max_delay * 4);
        }
        let window = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(self.max_delay);
        let ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::thread_rng().gen_range(ms / 2..=ms.max(1)))
    }
}

/// Whether and when a failed attempt may be repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    No,
    /// Retry, after the server's `Retry-After` when it gave one.
    After(Option<Duration>),
}

pub trait Retryable {
    fn retry(&self) -> Retry;
}

/// 5xx and 429: the server may answer differently next time.
pub fn is_transient(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status)
}

/// A `Retry-After` header in seconds (the HTTP-date form is rare for APIs and ignored).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// Run `op` until it succeeds, fails for good, or the attempts run out.
pub async fn retry<T, E, F, Fut>(policy: &RetryPolicy, what: &str, mut op: F) -> Result<T, E>
where
    E: Retryable + std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut attempt = 1;
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) => match e.retry() {
                Retry::After(after) if attempt < policy.attempts => {
                    let delay = policy.delay(attempt, after);
                    tracing::warn!(%what, attempt, ?delay, error = %e, "retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                _ => return Err(e),
            },
        }
    }
}

/// The sigstore clients drop response headers, so a 429's `Retry-After` is
/// lost; rate limits of Sigstore services are per second, so wait at least that.
const RATE_LIMIT_PAUSE: Duration = Duration::from_secs(1);

fn status_retry(status: u16) -> Retry {
    match status {
        429 => Retry::After(Some(RATE_LIMIT_PAUSE)),
        s if is_transient(s) => Retry::After(None),
        _ => Retry::No,
    }
}

// A success status whose body does not decode (cut short or mangled by a proxy
// or a restarting server) is retried like a 502: every request here is safe to
// repeat (a new certificate; a re-sent Rekor v1 entry is answered 409 and the
// existing entry is used, v2 deduplicates; a new timestamp). An answer that
// decodes but is wrong (an entry for another body, a timestamp over another
// imprint) is a lie, never retried: a second answer would hide it.
impl Retryable for sigstore_fulcio::Error {
    fn retry(&self) -> Retry {
        match self {
            sigstore_fulcio::Error::Http(_) | sigstore_fulcio::Error::Json(_) => Retry::After(None),
            sigstore_fulcio::Error::InvalidResponse(m) if undecodable(m) => Retry::After(None),
            sigstore_fulcio::Error::Status { status, .. } => status_retry(*status),
            _ => Retry::No,
        }
    }
}

/// Whether a client's `InvalidResponse` message is a JSON decoding failure.
/// The sigstore clients report undecodable bodies and answers that fail their
/// checks with the same variant; only the former carry serde_json's
/// `... at line N column M` position.
fn undecodable(message: &str) -> bool {
    let Some((_, tail)) = message.rsplit_once(" at line ") else {
        return false;
    };
    let mut parts = tail.split(" column ");
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some(line), Some(col), None)
            if !line.is_empty() && !col.is_empty()
                && line.bytes().chain(col.bytes()).all(|b| b.is_ascii_digit())
    )
}

impl Retryable for sigstore_rekor::Error {
    fn retry(&self) -> Retry {
        match self {
            sigstore_rekor::Error::Http(_) | sigstore_rekor::Error::Json(_) => Retry::After(None),
            sigstore_rekor::Error::InvalidResponse(m) if undecodable(m) => Retry::After(None),
            sigstore_rekor::Error::Status { status, .. } => status_retry(*status),
            _ => Retry::No,
        }
    }
}

impl Retryable for sigstore_tsa::Error {
    fn retry(&self) -> Retry {
        // The TSA client reports transport failures and error statuses alike as
        // `Http`, and an answer that is not a timestamp response as `Parse`; a
        // decoded answer over another imprint or nonce (`InvalidResponse`) is a lie.
        match self {
            sigstore_tsa::Error::Http(_) | sigstore_tsa::Error::Parse(_) => Retry::After(None),
            _ => Retry::No,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[derive(Debug)]
    struct E(Retry);
    impl std::fmt::Display for E {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{:?}", self.0)
        }
    }
    impl Retryable for E {
        fn retry(&self) -> Retry {
            self.0
        }
    }

    const FAST: RetryPolicy = RetryPolicy {
        attempts: 3,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(2),
    };

    #[tokio::test]
    async fn transient_errors_are_retried_until_attempts_run_out() {
        let calls = AtomicU32::new(0);
        let r: Result<(), E> = retry(&FAST, "t", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(E(Retry::After(None)))
        })
        .await;
        assert!(r.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn permanent_errors_are_not_retried_and_success_stops() {
        let calls = AtomicU32::new(0);
        let r: Result<(), E> = retry(&FAST, "t", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(E(Retry::No))
        })
        .await;
        assert!(r.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let calls = AtomicU32::new(0);
        let r: Result<u32, E> = retry(&FAST, "t", || async {
            if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                Err(E(Retry::After(None)))
            } else {
                Ok(7)
            }
        })
        .await;
        assert_eq!(r.unwrap(), 7);
    }

    #[test]
    fn delays_grow_are_bounded_and_honour_retry_after() {
        let p = RetryPolicy::default();
        for attempt in 1..10 {
            assert!(p.delay(attempt, None) <= p.max_delay);
        }
        assert!(p.delay(1, None) <= p.base_delay);
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        assert_eq!(p.delay(1, Some(Duration::from_secs(3600))), p.max_delay * 4);
        assert!(is_transient(503) && is_transient(429) && !is_transient(409) && !is_transient(400));
        assert_eq!(status_retry(429), Retry::After(Some(RATE_LIMIT_PAUSE)));
        assert_eq!(status_retry(502), Retry::After(None));
        assert_eq!(status_retry(409), Retry::No);
    }

    #[test]
    fn undecodable_bodies_are_told_from_checks_that_failed() {
        assert!(undecodable("log entry: expected value at line 1 column 15"));
        assert!(undecodable(
            "signing certificate: missing field `chain` at line 3 column 1"
        ));
        assert!(!undecodable("entry body does not match the request"));
        assert!(!undecodable("at line 1 column x"));
        let lie = sigstore_rekor::Error::InvalidResponse("v2 entry does not match".into());
        assert_eq!(lie.retry(), Retry::No);
        let cut = sigstore_rekor::Error::InvalidResponse(
            "log entry: EOF while parsing a value at line 1 column 0".into(),
        );
        assert_eq!(cut.retry(), Retry::After(None));
    }
}
