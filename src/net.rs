//! The HTTP clients of a run, and retrying with backoff.
//!
//! Owns timeouts, the user agent, the redirect rule (the client for Sigstore
//! services follows none: Fulcio's request holds the identity token, and a
//! 307/308 would re-send it to whatever host the `Location` names; the other
//! client, for TUF metadata and the Actions token endpoint, follows them as
//! reqwest does, dropping credentials at another host; GitHub's API client
//! follows none either), proxies from the environment, and the retry rule: bounded exponential
//! backoff with full jitter, honouring `Retry-After`, for connection errors,
//! 5xx and 429. It knows no service and no URL; callers classify their own
//! errors through [`Retryable`] (the signing path's in `sign::clients`; a
//! Rekor 409 is not retried: the signing code turns it into the existing entry).

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rand::Rng as _;

/// `releasekit-sign/<version>`.
pub(crate) const USER_AGENT: &str = concat!(env!("CARGO_PKG_NAME"), "/", env!("CARGO_PKG_VERSION"));

/// The client for TUF metadata and the GitHub Actions token endpoint: it
/// follows redirects (at most 10; reqwest drops `Authorization` when one
/// leads to another host). GitHub's REST API has its own ([`github_client`]).
pub(crate) fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    // Generous: a busy server can take seconds; a hung one must not hang CI.
    builder().timeout(Duration::from_secs(60)).build()
}

/// The client for Fulcio, Rekor and the TSA: it follows no redirect, so a
/// 3xx reaches the caller as an answer (an error: see `sign::clients`) and
/// a request body, a token included, only ever goes to the configured URL.
pub(crate) fn sigstore_client() -> Result<reqwest::Client, reqwest::Error> {
    builder()
        .timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// The client for GitHub's REST API (octocrab runs its requests through
/// it): it follows no redirect (the API's redirects to storage are followed
/// by `github`, which checks where they lead and sends no token there), and
/// bounds each read of an answer, not the whole exchange, since a release
/// asset may take minutes to download.
pub(crate) fn github_client() -> Result<reqwest::Client, reqwest::Error> {
    builder()
        .read_timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// [`github_client`] for asset uploads: no read timeout, which reqwest
/// counts from the start of the request and does not reset while the body
/// is sent, so an upload of more than a minute would always fail; the
/// caller bounds the whole upload by the asset's size instead.
pub(crate) fn github_upload_client() -> Result<reqwest::Client, reqwest::Error> {
    builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

fn builder() -> reqwest::ClientBuilder {
    let builder = match shared_tls() {
        Some(tls) => reqwest::Client::builder().tls_backend_preconfigured(tls.clone()),
        // reqwest builds its own, and says why it cannot.
        None => reqwest::Client::builder(),
    };
    // Proxies as the environment names them: a runner behind one reaches
    // every service, GitHub's API included, the same way.
    let builder = environment_proxies()
        .into_iter()
        .fold(builder.no_proxy(), reqwest::ClientBuilder::proxy);
    builder
        .user_agent(USER_AGENT)
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(30))
}

/// The proxies the environment names (`HTTP_PROXY`, `HTTPS_PROXY`,
/// `ALL_PROXY`, each also in lower case, with `NO_PROXY`), read as reqwest
/// reads them (none in a CGI request; a value without a scheme is an http
/// proxy's), except that this machine is never reached through one, as
/// Go's clients (cosign's, GitHub's CLI) hold it: plain http may carry a
/// secret to a service here ([`secret_may_go_to`]) only because it does
/// not cross the network, and a proxy would carry it, in the clear, to
/// another machine.
fn environment_proxies() -> Vec<reqwest::Proxy> {
    let var = |names: [&str; 2]| {
        names
            .iter()
            .find_map(|n| std::env::var(n).ok())
            .unwrap_or_default()
    };
    if std::env::var_os("REQUEST_METHOD").is_some() {
        return Vec::new();
    }
    let exempt = format!(
        "{},localhost,127.0.0.0/8,::1",
        var(["NO_PROXY", "no_proxy"])
    );
    let proxy_url = |names| {
        let value = var(names);
        match value.as_str() {
            "" => None,
            v if v.contains("://") => Some(value),
            v => Some(format!("http://{v}")),
        }
    };
    type Make = fn(String) -> reqwest::Result<reqwest::Proxy>;
    let kinds: [([&str; 2], Make); 3] = [
        (["HTTP_PROXY", "http_proxy"], reqwest::Proxy::http),
        (["HTTPS_PROXY", "https_proxy"], reqwest::Proxy::https),
        (["ALL_PROXY", "all_proxy"], reqwest::Proxy::all),
    ];
    kinds
        .into_iter()
        .filter_map(|(names, make)| make(proxy_url(names)?).ok())
        .map(|p| p.no_proxy(reqwest::NoProxy::from_string(&exempt)))
        .collect()
}

/// The TLS configuration every client shares: what reqwest builds for
/// itself (rustls with aws-lc, the platform's roots through
/// rustls-platform-verifier, TLS 1.2 and 1.3, ALPN h2 then http/1.1), built
/// once per process. Each client built its own, reading and parsing every
/// root certificate on the system: 4 to 6 ms each, twice before a sign
/// run's first request. `None` when the platform's roots cannot be loaded:
/// then each builder tries again and reports the error as reqwest words it.
fn shared_tls() -> Option<&'static rustls::ClientConfig> {
    static TLS: OnceLock<Option<rustls::ClientConfig>> = OnceLock::new();
    TLS.get_or_init(|| {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier = rustls_platform_verifier::Verifier::new(provider.clone()).ok()?;
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .ok()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Some(tls)
    })
    .as_ref()
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
    /// server's `Retry-After` if it gave one (capped), and a little more,
    /// else full jitter over an exponentially growing window, so that
    /// concurrent artifacts do not retry in lockstep.
    pub(crate) fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            // Never sooner than asked, but not all at once: every request in
            // flight is told the same `Retry-After` by a rate-limited
            // service, and came back in the same instant to meet the limit
            // again. Up to a fifth more (at least the base delay) spreads them.
            let after = after.min(self.max_delay * 4);
            let spread = (after / 5).max(self.base_delay);
            let ms = u64::try_from(spread.as_millis()).unwrap_or(u64::MAX);
            return after + Duration::from_millis(rand::thread_rng().gen_range(0..=ms));
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

/// Whether `e` is TLS refusing the connection (a certificate the platform
/// does not trust, a server that speaks no TLS): the setup's to fix, though
/// it arrives as a connection error. rustls's error sits inside the I/O
/// error hyper wraps it in, which `source()` skips, so each I/O error's
/// inner one is looked at too.
pub(crate) fn tls_refused(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(e) = next {
        if e.is::<rustls::Error>() {
            return true;
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            if tls_refused(inner) {
                return true;
            }
        }
        next = e.source();
    }
    false
}

/// 5xx and 429: the server may answer differently next time.
pub(crate) fn is_transient(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status)
}

/// A `Retry-After` header: delay-seconds, or an HTTP-date (RFC 9110 §10.2.3),
/// which counts from now and is zero when already past. Anything else is
/// ignored: the backoff applies as if the server had said nothing.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let wait = at.duration_since(jiff::Timestamp::now());
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
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

/// `response`'s body, whole, if it is at most `max` bytes; `Ok(None)` when
/// it is larger (by its `Content-Length`, or found while reading, which
/// stops there). An answer is held in memory only up to what its caller
/// expects of it: a server (or what stands in its place) decides its size.
pub(crate) async fn body_up_to(
    mut response: reqwest::Response,
    max: usize,
) -> Result<Option<Vec<u8>>, reqwest::Error> {
    if response.content_length().is_some_and(|n| n > max as u64) {
        return Ok(None);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > max {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// Whether a secret (the identity token, the bearer that requests one) may
/// be sent to `url`: over https, or over plain http to this machine only (a
/// local CA, the sandbox). Rekor and a TSA receive nothing secret, so plain
/// http is theirs to choose.
pub(crate) fn secret_may_go_to(url: &str) -> bool {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return false;
    };
    // The parser lowercases the scheme (`HTTPS://` is https).
    if parsed.scheme() == "https" {
        return true;
    }
    let host = parsed.host_str().unwrap_or_default();
    let ip = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || ip
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// Both clients take the one TLS configuration: reqwest accepts it only
    /// when it is of the rustls version it was built with (else `build`
    /// fails, "unknown TLS backend"), and the platform's roots are loaded
    /// once however many clients a run builds.
    #[test]
    fn every_client_shares_one_tls_configuration() {
        http_client().unwrap();
        sigstore_client().unwrap();
        github_client().unwrap();
        github_upload_client().unwrap();
        let tls = shared_tls().expect("this machine has root certificates");
        assert!(std::ptr::eq(tls, shared_tls().unwrap()));
        assert_eq!(tls.alpn_protocols, [b"h2".to_vec(), b"http/1.1".to_vec()]);
        let other = reqwest::Client::builder()
            .tls_backend_preconfigured(String::from("not a rustls configuration"))
            .build();
        assert!(
            other.is_err(),
            "reqwest refuses a configuration it does not know"
        );
    }

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
        // Retry-After: never sooner, at most a fifth later, and spread.
        // Regression: every request told `Retry-After: 3` came back at 3 s.
        let after = Duration::from_secs(3);
        let waits: std::collections::BTreeSet<Duration> =
            (0..50).map(|_| p.delay(1, Some(after))).collect();
        assert!(
            waits.iter().all(|w| (after..=after * 6 / 5).contains(w)),
            "{waits:?}"
        );
        assert!(waits.len() > 1, "{waits:?}");
        let zero: std::collections::BTreeSet<Duration> =
            (0..50).map(|_| p.delay(1, Some(Duration::ZERO))).collect();
        assert!(zero.iter().all(|w| *w <= p.base_delay), "{zero:?}");
        assert!(zero.len() > 1, "{zero:?}");
        let capped = p.delay(1, Some(Duration::from_secs(3600)));
        assert!(
            (p.max_delay * 4..=p.max_delay * 4 * 6 / 5).contains(&capped),
            "{capped:?}"
        );
        assert!(is_transient(503) && is_transient(429) && !is_transient(409) && !is_transient(400));
    }

    fn headers(value: &str) -> reqwest::header::HeaderMap {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(reqwest::header::RETRY_AFTER, value.parse().unwrap());
        h
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        assert_eq!(retry_after(&headers("3")), Some(Duration::from_secs(3)));
        assert_eq!(
            retry_after(&headers(" 120 ")),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            retry_after(&headers("Wed, 21 Oct 2015 07:28:00 GMT")),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        let soon = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(90);
        let date = jiff::fmt::rfc2822::DateTimePrinter::new()
            .timestamp_to_rfc9110_string(&soon)
            .unwrap();
        let wait = retry_after(&headers(&date)).unwrap();
        assert!(
            wait > Duration::from_secs(80) && wait <= Duration::from_secs(90),
            "{date}: {wait:?}"
        );
        for ignored in ["-1", "soon", "1.5", ""] {
            assert_eq!(retry_after(&headers(ignored)), None, "{ignored:?}");
        }
        assert_eq!(retry_after(&reqwest::header::HeaderMap::new()), None);
    }
}
