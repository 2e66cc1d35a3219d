//! `verify`'s settings: the command line resolved into a checked policy and
//! the trust material to verify against.
//!
//! Owns turning verify flags into [`VerifySettings`]: compiling (anchored)
//! regular expressions, refusing a `--bundle` shared by many artifacts, and
//! choosing the trust source. It does no I/O; the policy's meaning is
//! [`crate::verify::policy`]'s.

use std::num::NonZeroUsize;
use std::path::PathBuf;

use super::cli::VerifyArgs;
use super::{BaseInstance, SettingsError};
use crate::verify::policy::{AnchoredRegex, GitHubClaim, Matcher, Policy};

/// `verify`, resolved.
#[derive(Debug, Clone)]
pub struct VerifySettings {
    /// The PATH|DIR|GLOB arguments, as given.
    pub inputs: Vec<String>,
    /// One bundle for the one artifact named (`--bundle`).
    pub bundle: Option<PathBuf>,
    pub recursive: bool,
    pub jobs: NonZeroUsize,
    pub policy: Policy,
    pub trust: VerifyTrust,
    /// No TUF refresh: embedded snapshots and local files only.
    pub offline: bool,
}

/// What to trust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyTrust {
    /// public-good, staging, or a ClientTrustConfig's trusted root.
    Instance(BaseInstance),
    /// A bare `trusted_root.json` (as cosign's `--trusted-root` takes).
    TrustedRoot(PathBuf),
}

impl VerifySettings {
    pub fn resolve(args: VerifyArgs) -> Result<VerifySettings, SettingsError> {
        if args.paths.is_empty() {
            return Err(SettingsError::NoInputs);
        }
        if args.bundle.is_some() && args.paths.len() > 1 {
            return Err(SettingsError::BundleForManyArtifacts);
        }
        let matcher =
            |flag: &'static str, exact: Option<String>, re: Option<String>| match (exact, re) {
                (Some(e), _) => Ok(Some(Matcher::Exact(e))),
                (None, Some(r)) => AnchoredRegex::new(&r)
                    .map(|r| Some(Matcher::Regexp(r)))
                    .map_err(|e| SettingsError::InvalidRegexp {
                        flag,
                        reason: e.to_string(),
                    }),
                (None, None) => Ok(None),
            };
        let github = [
            (
                GitHubClaim::Repository,
                args.cert_github_workflow_repository,
            ),
            (GitHubClaim::Ref, args.cert_github_workflow_ref),
            (GitHubClaim::Sha, args.cert_github_workflow_sha),
            (GitHubClaim::Trigger, args.cert_github_workflow_trigger),
            (GitHubClaim::Name, args.cert_github_workflow_name),
        ]
        .into_iter()
        .filter_map(|(c, v)| v.map(|v| (c, v)))
        .collect();
        let policy = Policy {
            identity: matcher(
                "--cert-identity-regexp",
                args.cert_identity,
                args.cert_identity_regexp,
            )?,
            issuer: matcher(
                "--cert-oidc-issuer-regexp",
                args.cert_oidc_issuer,
                args.cert_oidc_issuer_regexp,
            )?,
            github,
        };
        let trust = match (args.staging, args.trusted_root, args.trust_config) {
            (true, None, None) => VerifyTrust::Instance(BaseInstance::Staging),
            (false, Some(root), None) => VerifyTrust::TrustedRoot(root),
            (false, None, Some(config)) => VerifyTrust::Instance(BaseInstance::TrustConfig(config)),
            (false, None, None) => VerifyTrust::Instance(BaseInstance::PublicGood),
            _ => return Err(SettingsError::ConflictingInstance),
        };
        let jobs = args
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN));
        Ok(VerifySettings {
            inputs: args.paths,
            bundle: args.bundle,
            recursive: args.recursive,
            jobs,
            policy,
            trust,
            offline: args.offline,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::cli::{Cli, CliCommand};
    use clap::Parser as _;

    fn parse(args: &[&str]) -> Result<VerifyArgs, clap::Error> {
        let cli = Cli::try_parse_from(
            ["releasekit-sign", "verify"]
                .into_iter()
                .chain(args.iter().copied()),
        )?;
        match cli.command {
            CliCommand::Verify(v) => Ok(*v),
            other => panic!("{other:?}"),
        }
    }

    fn resolve(args: &[&str]) -> Result<VerifySettings, SettingsError> {
        VerifySettings::resolve(parse(args).unwrap())
    }

    #[test]
    fn defaults_accept_any_identity_from_public_good() {
        let s = resolve(&["dist"]).unwrap();
        assert!(s.policy.accepts_any_identity());
        assert_eq!(s.trust, VerifyTrust::Instance(BaseInstance::PublicGood));
        assert!(!s.offline && s.bundle.is_none());
    }

    #[test]
    fn conflicting_policies_are_usage_errors() {
        for args in [
            &["a", "--cert-identity", "x", "--cert-identity-regexp", "y"][..],
            &[
                "a",
                "--cert-oidc-issuer",
                "x",
                "--cert-oidc-issuer-regexp",
                "y",
            ],
            &["a", "--staging", "--trusted-root", "r.json"],
            &["a", "--trust-config", "c.json", "--trusted-root", "r.json"],
        ] {
            let e = parse(args).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{args:?}");
        }
        assert_eq!(
            resolve(&["a", "b", "--bundle", "x.json"]).unwrap_err(),
            SettingsError::BundleForManyArtifacts
        );
        let e = resolve(&["a", "--cert-identity-regexp", "("]).unwrap_err();
        assert!(
            matches!(
                e,
                SettingsError::InvalidRegexp {
                    flag: "--cert-identity-regexp",
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn policy_flags() {
        let s = resolve(&[
            "a",
            "--cert-identity-regexp",
            "https://github.com/o/.*",
            "--cert-oidc-issuer",
            "https://token.actions.githubusercontent.com",
            "--cert-github-workflow-sha",
            "abc",
            "--trusted-root",
            "root.json",
        ])
        .unwrap();
        assert!(matches!(s.policy.identity, Some(Matcher::Regexp(_))));
        assert!(matches!(s.policy.issuer, Some(Matcher::Exact(_))));
        assert_eq!(s.policy.github, [(GitHubClaim::Sha, "abc".to_owned())]);
        assert_eq!(s.trust, VerifyTrust::TrustedRoot("root.json".into()));
    }
}
