//! The signing path's requests to Fulcio, Rekor (v1 and v2) and the RFC 3161
//! TSA, made with the run's HTTP client for Sigstore services (which follows
//! no redirect: `net::sigstore_client`).
//!
//! Owns one exchange per call: building the request (the sigstore crates'
//! request types, or ours where theirs are private or write a CRLF PEM: every
//! PEM sent here has LF line endings, as cosign and sigstore-python send it),
//! sending it, reading the answer under a size cap, decoding it (with the
//! crates' response types) and every check the sigstore-rust 0.15.1 clients
//! make on it, plus a [`ServiceError`] that keeps apart what the retry rule
//! must tell apart: a transport failure, an HTTP status with its
//! `Retry-After`, a redirect (an error naming the `Location`, never retried),
//! a body that does not decode, and an answer that decoded but fails the
//! checks (a lie, never retried). The sigstore clients drop response headers
//! and report the last two alike, which is why these calls are ours.
//!
//! It does not retry (callers wrap calls in [`crate::net::retry`]), know which
//! instance a URL belongs to (`trust`), or judge what the evidence proves (the
//! session checks the certificate's identity, the artifact step the logged
//! body and proof, and self-verification everything).
//!
//! One file per service, and the exchange they share:
//! - [`exchange`]: one request and its answer (size cap, status with
//!   `Retry-After`, redirect refused, decoding) and [`ServiceError`];
//! - [`fulcio`]: `POST /api/v2/signingCert` and sigstore-fulcio's checks;
//! - [`rekor`]: Rekor v1 (hashedrekord 0.0.1 and `dsse` 0.0.1 requests with
//!   LF PEMs, the 409 fetch) and Rekor v2 (`/api/v2/log/entries`), with
//!   sigstore-rekor's checks on each answer;
//! - [`tsa`]: the RFC 3161 request and sigstore-tsa's checks on the answer.

mod exchange;
mod fulcio;
mod rekor;
mod tsa;

pub use exchange::{Service, ServiceError, MAX_ANSWER_BYTES};
pub use fulcio::Fulcio;
pub use rekor::{RekorV1, RekorV2};
pub use tsa::Tsa;
