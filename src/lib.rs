//! releasekit-sign: sign release artifacts with Sigstore keyless signing.
//!
//! Data moves one way:
//!
//! ```text
//! flags / env ──> Settings ──> Plan ──> sign ──> Report ──> terminal / JSON
//!  (inputs)       (resolved)   (pure)   (session over       (data; rendered
//!                                        oidc, trust, net)   by main.rs only)
//! ```
//!
//! Services at the bottom (`oidc`, `trust`, `net`, `bundle_io`,
//! `atomic_file`, `files`, `digest`, `github`) never call back up; `vocab`
//! and `text` are leaves.
//! sign may use verify, never the reverse; both return their own outcomes,
//! from which `report` is built. The library never prints: only the binary chooses what
//! reaches the terminal and which exit code the process ends with, and every
//! string from outside is shown through [`text::line`].
#![warn(clippy::print_stdout, clippy::print_stderr)]
#![warn(unreachable_pub)]

pub mod inputs;
pub mod plan;
pub mod provenance;

pub mod atomic_file;
pub mod bundle_io;
pub mod files;
pub mod github;
pub mod net;
pub mod oidc;
pub mod trust;

pub mod sign;
pub mod upload;

pub mod pipeline;
pub mod verify;

pub mod report;

pub mod digest;
pub mod text;
pub mod vocab;

pub mod error;

pub use error::Error;
pub use inputs::{Command, Settings};
pub use pipeline::SignCommand;
pub use plan::Plan;
pub use sign::SignReport;
pub use sign::SignSettings;
