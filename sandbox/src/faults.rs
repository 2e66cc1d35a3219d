//! Fault injection and request recording, one [`Faults`] handle per service.
//!
//! Owns the middleware every sandbox service runs behind: added latency (fixed +
//! jitter), a queue of faults consumed by the next requests (an HTTP status with an
//! optional `Retry-After` or a body of the test's choosing, a redirect elsewhere,
//! a connection dropped mid-response, a body stalled midway or trickled a
//! byte at a time, a malformed body), and
//! a log of the requests the service received (for tests in the same process;
//! `serve` keeps none). It knows nothing of what a service
//! does; the services never consult it.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use rand::Rng;

/// What the next request(s) to a service should suffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status and a small JSON error body; with `retry_after`,
    /// also a `Retry-After: <seconds>` header (as 429/403 rate limits and 503s do).
    Status {
        status: u16,
        retry_after: Option<u64>,
    },
    /// Like [`Fault::Status`] with `Retry-After`, the wait given as an
    /// HTTP-date `seconds` from now (RFC 9110 allows either form; GitHub and
    /// proxies send dates too).
    StatusRetryAt { status: u16, seconds: u64 },
    /// Answer with this status and exactly this body: what a proxy's error page
    /// or a service's own error message may hold (line breaks, control
    /// characters, workflow commands). Sent as `application/json` when it
    /// parses as JSON, else as `text/plain`.
    StatusBody { status: u16, body: String },
    /// Answer with this 3xx status and `Location: <location>` (as a hijacked
    /// proxy or a misconfigured service might), without running the handler.
    Redirect { status: u16, location: String },
    /// Run the real handler, then send its headers and half its body and cut the
    /// connection.
    DropConnection,
    /// Run the real handler, then replace its body with bytes that are not JSON.
    MalformedBody,
    /// Run the real handler, then answer this status instead: a front end
    /// failing after the service acted (a delete carried out, its answer
    /// lost), which even an answer with no body can meet.
    ActedThen(u16),
    /// Run the real handler, then send its headers and half its body, and the
    /// rest only after this long: a slow download, caught mid-body.
    StallMidBody(Duration),
    /// Run the real handler, then send its headers and its body one byte
    /// each this long: an answer that never stalls long enough for a read
    /// timeout, and never ends in time (a proxy keeping the line alive).
    Trickle(Duration),
}

impl Fault {
    /// A plain error status.
    pub fn status(status: u16) -> Self {
        Fault::Status {
            status,
            retry_after: None,
        }
    }

    /// An error status with `body` as the whole answer.
    pub fn status_body(status: u16, body: impl Into<String>) -> Self {
        Fault::StatusBody {
            status,
            body: body.into(),
        }
    }

    /// A redirect (301, 302, 303, 307, 308) to `location`.
    pub fn redirect(status: u16, location: impl Into<String>) -> Self {
        Fault::Redirect {
            status,
            location: location.into(),
        }
    }

    /// A rate-limit style error that says when to come back.
    pub fn retry_after(status: u16, seconds: u64) -> Self {
        Fault::Status {
            status,
            retry_after: Some(seconds),
        }
    }

    /// [`Fault::retry_after`], with the wait as an HTTP-date.
    pub fn retry_at(status: u16, seconds: u64) -> Self {
        Fault::StatusRetryAt { status, seconds }
    }
}

/// A request as the service saw it (before any fault was applied).
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: Method,
    /// Path and query, as sent.
    pub uri: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The status the client got (a fault's, or the handler's).
    pub status: u16,
    /// When the request arrived (before any latency): how long a client
    /// waited between attempts shows whether it honoured `Retry-After`.
    pub at: std::time::Instant,
    /// When its response was ready to send (after the latency): with `at`,
    /// how many requests a client had waiting at once.
    pub answered: std::time::Instant,
}

#[derive(Debug, Default)]
struct State_ {
    latency: Duration,
    jitter: Duration,
    queue: VecDeque<Fault>,
    /// Only requests whose path contains this string consume queued faults.
    path_filter: Option<String>,
    /// Only requests whose path ends with this string consume queued faults.
    path_end: Option<String>,
    /// Only requests of this method consume queued faults.
    method: Option<Method>,
    /// Only requests whose body contains these bytes consume queued faults.
    body_filter: Option<Vec<u8>>,
    requests: Vec<RecordedRequest>,
    /// Off for a long-running `serve`, whose request log no one reads: it
    /// would grow with every request for as long as the process runs.
    not_recording: bool,
}

/// The fault plan and request log of one service. Cheap to clone; all clones share state.
#[derive(Debug, Clone, Default)]
pub struct Faults(Arc<Mutex<State_>>);

/// Bodies larger than this are recorded truncated (uploads of large assets).
const RECORD_BODY_CAP: usize = 1 << 20;

impl Faults {
    /// Every response waits `fixed` plus a uniform random `0..=jitter`.
    pub fn set_latency(&self, fixed: Duration, jitter: Duration) {
        let mut s = self.0.lock();
        s.latency = fixed;
        s.jitter = jitter;
    }

    /// The next `n` requests suffer `fault`, after any faults already queued.
    pub fn fail_next(&self, n: usize, fault: Fault) {
        let mut s = self.0.lock();
        s.queue.extend(std::iter::repeat_n(fault, n));
    }

    /// Only requests whose path contains `needle` consume queued faults (others pass).
    pub fn only_paths_containing(&self, needle: impl Into<String>) {
        self.0.lock().path_filter = Some(needle.into());
    }

    /// Only requests whose path ends with `end` consume queued faults (others
    /// pass): one asset's download (`/releases/assets/7`), say, and not
    /// those of the assets whose ids start with its id (`.../71`).
    pub fn only_paths_ending_with(&self, end: impl Into<String>) {
        self.0.lock().path_end = Some(end.into());
    }

    /// Only requests of `method` (`DELETE`, say) consume queued faults
    /// (others pass): one request of several to the same path.
    pub fn only_method(&self, method: Method) {
        self.0.lock().method = Some(method);
    }

    /// Only requests whose body contains `needle` consume queued faults
    /// (others pass): one artifact's log entry, say, by its digest.
    pub fn only_bodies_containing(&self, needle: impl Into<Vec<u8>>) {
        self.0.lock().body_filter = Some(needle.into());
    }

    /// Forget queued faults, latency and filters (the request log stays).
    pub fn clear(&self) {
        let mut s = self.0.lock();
        s.queue.clear();
        s.latency = Duration::ZERO;
        s.jitter = Duration::ZERO;
        s.path_filter = None;
        s.path_end = None;
        s.method = None;
        s.body_filter = None;
    }

    /// Queued faults not yet consumed.
    pub fn pending(&self) -> usize {
        self.0.lock().queue.len()
    }

    /// Keep no request log from now on (`serve`: nothing reads it).
    pub fn stop_recording(&self) {
        let mut s = self.0.lock();
        s.not_recording = true;
        s.requests = Vec::new();
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.0.lock().requests.clone()
    }

    fn delay(&self) -> Duration {
        let s = self.0.lock();
        if s.jitter.is_zero() {
            s.latency
        } else {
            let extra = rand::thread_rng().gen_range(0..=s.jitter.as_micros() as u64);
            s.latency + Duration::from_micros(extra)
        }
    }

    fn take_fault(&self, method: &Method, path: &str, body: &[u8]) -> Option<Fault> {
        let mut s = self.0.lock();
        let other_path = matches!(&s.path_filter, Some(needle) if !path.contains(needle.as_str()))
            || matches!(&s.path_end, Some(end) if !path.ends_with(end.as_str()))
            || matches!(&s.method, Some(m) if m != method);
        let other_body = matches!(&s.body_filter, Some(needle)
            if !needle.is_empty() && !body.windows(needle.len()).any(|w| w == needle.as_slice()));
        if other_path || other_body {
            return None;
        }
        s.queue.pop_front()
    }

    fn record(&self, req: RecordedRequest) {
        let mut s = self.0.lock();
        if !s.not_recording {
            s.requests.push(req);
        }
    }
}

/// The path on every service that sets its faults from outside the process
/// (`releasekit-sandbox fault ...`). Never recorded, never delayed, never faulted.
pub const CONTROL_PATH: &str = "/__sandbox/faults";

/// What `POST /__sandbox/faults` accepts: every field optional, applied in order
/// clear -> latency -> queue.
#[derive(Debug, Default, Clone, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ControlRequest {
    #[serde(default)]
    pub clear: bool,
    pub latency_ms: Option<u64>,
    pub jitter_ms: Option<u64>,
    /// How many requests the fault applies to (default 1).
    pub count: Option<usize>,
    /// Fail with this status...
    pub status: Option<u16>,
    /// ...and this `Retry-After`...
    pub retry_after: Option<u64>,
    /// ...or this body (instead of the small JSON error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// ...or, with a 3xx status, redirect to this URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default)]
    pub drop_connection: bool,
    #[serde(default)]
    pub malformed_body: bool,
    pub only_paths_containing: Option<String>,
}

impl ControlRequest {
    /// Apply to `faults`; an error names the field that makes no sense.
    pub fn apply(&self, faults: &Faults) -> Result<(), String> {
        if self.clear {
            faults.clear();
        }
        if self.latency_ms.is_some() || self.jitter_ms.is_some() {
            faults.set_latency(
                Duration::from_millis(self.latency_ms.unwrap_or(0)),
                Duration::from_millis(self.jitter_ms.unwrap_or(0)),
            );
        }
        if let Some(needle) = &self.only_paths_containing {
            faults.only_paths_containing(needle.clone());
        }
        let fault = match (self.status, self.drop_connection, self.malformed_body) {
            (None, false, false) => None,
            (Some(status), false, false) => {
                if !(100..=599).contains(&status) {
                    return Err(format!("status {status} is not an HTTP status"));
                }
                match (&self.body, self.retry_after, &self.location) {
                    (Some(body), None, None) => Some(Fault::status_body(status, body.clone())),
                    (None, retry_after, None) => Some(Fault::Status {
                        status,
                        retry_after,
                    }),
                    (None, None, Some(location)) if (300..=399).contains(&status) => {
                        Some(Fault::redirect(status, location.clone()))
                    }
                    (None, None, Some(_)) => {
                        return Err(format!("status {status} with a location is not a redirect"))
                    }
                    _ => return Err("choose one of body, retry_after, location".into()),
                }
            }
            (None, true, false) => Some(Fault::DropConnection),
            (None, false, true) => Some(Fault::MalformedBody),
            _ => return Err("choose one of status, drop_connection, malformed_body".into()),
        };
        if let Some(fault) = fault {
            faults.fail_next(self.count.unwrap_or(1), fault);
        }
        Ok(())
    }
}

async fn control(faults: &Faults, body: &[u8]) -> Response {
    let req: ControlRequest = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => {
            return (StatusCode::BAD_REQUEST, format!("bad fault request: {e}\n")).into_response()
        }
    };
    match req.apply(faults) {
        Ok(()) => (
            StatusCode::OK,
            axum::Json(serde_json::json!({ "pending": faults.pending() })),
        )
            .into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, format!("bad fault request: {e}\n")).into_response(),
    }
}

/// axum middleware: record, delay, then either inject the next fault or run the handler.
pub async fn middleware(State(faults): State<Faults>, request: Request, next: Next) -> Response {
    let at = std::time::Instant::now();
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(_) => return StatusCode::BAD_REQUEST.into_response(),
    };
    if parts.uri.path() == CONTROL_PATH && parts.method == Method::POST {
        return control(&faults, &body).await;
    }
    let uri = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str().to_owned())
        .unwrap_or_else(|| parts.uri.path().to_owned());
    let mut recorded = RecordedRequest {
        method: parts.method.clone(),
        uri: uri.clone(),
        headers: parts.headers.clone(),
        body: body.slice(..body.len().min(RECORD_BODY_CAP)),
        status: 0,
        at,
        answered: at,
    };

    let delay = faults.delay();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }

    let fault = faults.take_fault(&parts.method, parts.uri.path(), &body);
    let response = match fault {
        Some(Fault::Status {
            status,
            retry_after,
        }) => status_response(status, retry_after.map(HeaderValue::from)),
        Some(Fault::StatusRetryAt { status, seconds }) => {
            // Rounded up to the next whole second, as the date format cannot say less.
            let at = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(seconds as i64 + 1);
            let date = jiff::fmt::rfc2822::DateTimePrinter::new()
                .timestamp_to_rfc9110_string(&at)
                .unwrap_or_default();
            status_response(status, HeaderValue::from_str(&date).ok())
        }
        Some(Fault::StatusBody { status, body }) => body_response(status, body),
        Some(Fault::Redirect { status, location }) => redirect_response(status, &location),
        other => {
            let response = next.run(Request::from_parts(parts, Body::from(body))).await;
            match other {
                Some(Fault::DropConnection) => drop_mid_body(response).await,
                Some(Fault::MalformedBody) => malformed(response),
                Some(Fault::ActedThen(status)) => status_response(status, None),
                Some(Fault::StallMidBody(wait)) => stall_mid_body(response, wait).await,
                Some(Fault::Trickle(every)) => trickle(response, every).await,
                _ => response,
            }
        }
    };
    recorded.status = response.status().as_u16();
    recorded.answered = std::time::Instant::now();
    faults.record(recorded);
    response
}

fn status_response(status: u16, retry_after: Option<HeaderValue>) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::json!({
        "message": format!("injected fault: {}", code.canonical_reason().unwrap_or("error")),
        "code": status,
    });
    let mut response = (code, axum::Json(body)).into_response();
    if let Some(value) = retry_after {
        response.headers_mut().insert("retry-after", value);
        if status == 403 || status == 429 {
            response
                .headers_mut()
                .insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        }
    }
    response
}

fn body_response(status: u16, body: String) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let content_type = if serde_json::from_str::<serde_json::Value>(&body).is_ok() {
        "application/json"
    } else {
        "text/plain; charset=utf-8"
    };
    (code, [("content-type", content_type)], body).into_response()
}

fn redirect_response(status: u16, location: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::TEMPORARY_REDIRECT);
    // Bytes, not `from_str`: a hostile `Location` may hold any UTF-8.
    match HeaderValue::from_bytes(location.as_bytes()) {
        Ok(location) => (code, [(axum::http::header::LOCATION, location)]).into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "fault: bad location").into_response(),
    }
}

fn malformed(response: Response) -> Response {
    let (mut parts, _) = response.into_parts();
    parts.headers.remove("content-length");
    Response::from_parts(parts, Body::from("{\"truncated\": <<not json"))
}

/// Send the headers and the first half of the real body, then fail the stream so
/// hyper aborts the connection: the client sees a reset mid-response.
async fn drop_mid_body(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let half = bytes.slice(..bytes.len() / 2);
    parts
        .headers
        .insert("content-length", HeaderValue::from(bytes.len().max(2)));
    let stream = futures::stream::iter(vec![
        Ok::<Bytes, std::io::Error>(half),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "injected fault: connection dropped",
        )),
    ]);
    Response::from_parts(parts, Body::from_stream(stream))
}

async fn trickle(response: Response, every: Duration) -> Response {
    use futures::StreamExt as _;
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let stream = futures::stream::iter(0..bytes.len()).then(move |i| {
        let byte = bytes.slice(i..i + 1);
        async move {
            tokio::time::sleep(every).await;
            Ok::<Bytes, std::io::Error>(byte)
        }
    });
    Response::from_parts(parts, Body::from_stream(stream))
}

async fn stall_mid_body(response: Response, wait: Duration) -> Response {
    use futures::StreamExt as _;
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let (first, rest) = (
        bytes.slice(..bytes.len() / 2),
        bytes.slice(bytes.len() / 2..),
    );
    let stream = futures::stream::iter([Ok::<Bytes, std::io::Error>(first)]).chain(
        futures::stream::once(async move {
            tokio::time::sleep(wait).await;
            Ok(rest)
        }),
    );
    Response::from_parts(parts, Body::from_stream(stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_requests_queue_a_body_of_their_choosing() {
        let faults = Faults::default();
        let req = ControlRequest {
            status: Some(502),
            body: Some("<html>\nbad gateway</html>".into()),
            ..ControlRequest::default()
        };
        req.apply(&faults).unwrap();
        assert_eq!(
            faults.take_fault(&Method::GET, "/", b""),
            Some(Fault::status_body(502, "<html>\nbad gateway</html>"))
        );
        let both = ControlRequest {
            retry_after: Some(1),
            ..req
        };
        assert!(both.apply(&faults).is_err());
        assert_eq!(faults.pending(), 0);
    }

    #[test]
    fn control_requests_queue_a_redirect_with_a_3xx_status_only() {
        let faults = Faults::default();
        let req = ControlRequest {
            status: Some(307),
            location: Some("http://127.0.0.1:9/x".into()),
            ..ControlRequest::default()
        };
        req.apply(&faults).unwrap();
        assert_eq!(
            faults.take_fault(&Method::GET, "/", b""),
            Some(Fault::redirect(307, "http://127.0.0.1:9/x"))
        );
        let not_3xx = ControlRequest {
            status: Some(200),
            ..req.clone()
        };
        assert!(not_3xx.apply(&faults).is_err());
        let with_body = ControlRequest {
            body: Some("x".into()),
            ..req
        };
        assert!(with_body.apply(&faults).is_err());
        assert_eq!(faults.pending(), 0);
    }

    #[test]
    fn a_body_filter_lets_other_bodies_through_without_taking_the_fault() {
        let faults = Faults::default();
        faults.only_bodies_containing("beef");
        faults.fail_next(1, Fault::status(400));
        assert_eq!(
            faults.take_fault(&Method::GET, "/", b"{\"digest\":\"cafe\"}"),
            None
        );
        assert_eq!(faults.pending(), 1);
        assert_eq!(
            faults.take_fault(&Method::GET, "/", b"{\"digest\":\"beef\"}"),
            Some(Fault::status(400))
        );
        faults.clear();
        faults.fail_next(1, Fault::status(400));
        assert_eq!(
            faults.take_fault(&Method::GET, "/", b"x"),
            Some(Fault::status(400))
        );
    }

    /// A long `serve` keeps no request log (it was four fifths of its memory
    /// after 5,000 artifacts), and drops the one it had.
    #[test]
    fn a_service_that_stopped_recording_keeps_no_request() {
        let request = || RecordedRequest {
            method: Method::POST,
            uri: "/api/v1/log/entries".into(),
            headers: HeaderMap::new(),
            body: Bytes::from_static(b"{}"),
            status: 201,
            at: std::time::Instant::now(),
            answered: std::time::Instant::now(),
        };
        let faults = Faults::default();
        faults.record(request());
        assert_eq!(faults.requests().len(), 1);
        faults.stop_recording();
        assert!(faults.requests().is_empty());
        faults.record(request());
        assert!(faults.requests().is_empty());
    }
}
