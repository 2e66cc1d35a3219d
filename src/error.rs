//! The run-level error and its exit code.
//!
//! Owns the mapping from failures to exit codes: 2 for usage and
//! configuration (bad flags, a plan that cannot be made, a trust config that
//! does not load, no usable identity token), 1 for a run that started and
//! failed. Per-artifact failures are not errors here: they are outcomes in
//! the report (exit 1 when any). Each variant's message names what failed,
//! where, and the fix; the variants carry the module errors unchanged.

use crate::github::ReleaseError;
use crate::inputs::SettingsError;
use crate::pipeline::{Published, StageError};
use crate::plan::PlanError;
use crate::sign::session::SessionError;
use crate::sign::SignError;
use crate::trust::TrustError;
use crate::verify::VerifyError;

/// Exit code of a run where every artifact succeeded.
pub const EXIT_OK: u8 = 0;
/// Exit code when some artifact failed, or the run failed after starting.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code for usage and configuration errors.
pub(crate) const EXIT_USAGE: u8 = 2;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Sign(#[from] SignError),
    #[error(transparent)]
    Verify(#[from] VerifyError),
    #[error(transparent)]
    Release(#[from] ReleaseError),
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Settings(_) | Error::Plan(_) => EXIT_USAGE,
            Error::Sign(SignError::Trust(e)) if e.is_usage() => EXIT_USAGE,
            Error::Sign(SignError::TrustedRoot { .. }) => EXIT_USAGE,
            Error::Sign(SignError::Session(SessionError::Token(e))) if e.is_usage() => EXIT_USAGE,
            Error::Sign(SignError::PrivateRepository { .. } | SignError::Provenance(_)) => {
                EXIT_USAGE
            }
            Error::Sign(_) => EXIT_FAILURE,
            Error::Verify(e) if e.is_usage() => EXIT_USAGE,
            Error::Verify(_) => EXIT_FAILURE,
            Error::Release(e) => release_exit_code(e),
        }
    }
}

/// A release error's exit code, wherever it stopped the run.
fn release_exit_code(e: &ReleaseError) -> u8 {
    if e.is_usage() {
        EXIT_USAGE
    } else {
        EXIT_FAILURE
    }
}

impl From<StageError> for Error {
    fn from(e: StageError) -> Self {
        match e {
            StageError::Plan(e) => Error::Plan(e),
            StageError::Sign(e) => Error::Sign(e),
        }
    }
}

impl Published {
    /// 0 when everything signed and landed, else the upload's error's code,
    /// else 1 (some artifact or asset failed).
    pub fn exit_code(&self) -> u8 {
        match &self.error {
            Some(e) => release_exit_code(e),
            None if self.report.success() => EXIT_OK,
            None => EXIT_FAILURE,
        }
    }
}

impl From<TrustError> for Error {
    fn from(e: TrustError) -> Self {
        Error::Sign(SignError::Trust(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A release error has one exit code, whether sign's upload or
    /// `verify --release` met it (the two kept lists that disagreed).
    #[test]
    fn a_release_error_exits_alike_from_sign_and_verify() {
        let errors = || {
            [
                ReleaseError::AlreadyPublished { tag: "v1".into() },
                ReleaseError::BadApiUrl("x".into()),
                ReleaseError::NoRelease {
                    repo: "o/r".parse().unwrap(),
                    tag: "v1".into(),
                    anonymous: false,
                },
                ReleaseError::Client("down".into()),
            ]
        };
        for (a, b) in errors().into_iter().zip(errors()) {
            let what = a.to_string();
            let upload = Error::Release(a).exit_code();
            let verify = Error::Verify(VerifyError::Release(b)).exit_code();
            assert_eq!(upload, verify, "{what}");
        }
        let published = ReleaseError::AlreadyPublished { tag: "v1".into() };
        assert_eq!(Error::Release(published).exit_code(), EXIT_USAGE);
        let down = ReleaseError::Client("down".into());
        assert_eq!(Error::Release(down).exit_code(), EXIT_FAILURE);
    }

    /// A CI agent's token command that does not answer is a service
    /// failing while the run went on (a re-run may pass), as the Actions
    /// endpoint failing is; not the setup's. Regression: exit 2.
    #[test]
    fn an_ambient_token_source_timing_out_is_a_failure_not_usage() {
        use crate::oidc::TokenError;
        let code = |e| Error::Sign(SignError::Session(SessionError::Token(e))).exit_code();
        assert_eq!(code(TokenError::AmbientTimeout), EXIT_FAILURE);
        assert_eq!(code(TokenError::NotFound), EXIT_USAGE);
    }
}
