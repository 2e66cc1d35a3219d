//! `verify`'s settings: the command line resolved into a checked policy and
//! the trust material to verify against.
//!
//! Owns turning verify flags into [`VerifySettings`]: compiling (anchored)
//! regular expressions, refusing a `--bundle` shared by many artifacts, and
//! choosing the trust source. It does no I/O; the policy's meaning is
//! [`crate::verify::policy`]'s.

use std::num::NonZeroUsize;

use super::cli::VerifyArgs;
use super::{Env, SettingsError};
use crate::verify::policy::{AnchoredRegex, GitHubClaim, GitHubHost, Matcher, Policy, SignerRule};
use crate::verify::settings::{ReleaseSource, VerifySettings, VerifyTrust};
use crate::vocab::{GitHubServer, Repo};

impl VerifySettings {
    pub fn resolve(args: VerifyArgs, env: &Env) -> Result<VerifySettings, SettingsError> {
        let release = match &args.release {
            Some(r) => Some(release_source(r, &args, env)?),
            None => None,
        };
        if args.paths.is_empty() && release.is_none() {
            return Err(SettingsError::NoInputs);
        }
        // `--repo` (or the release's repository): the signer must be a GitHub
        // Actions workflow of that repository.
        let repo = |flag: &'static str, value: &str| {
            value
                .parse::<Repo>()
                .map(|r| r.to_string())
                .map_err(|_| SettingsError::BadRepo {
                    flag,
                    value: crate::text::echoed(value),
                })
        };
        let repo_claim = match (&args.repo, &release) {
            (Some(r), _) => Some(repo("--repo", r)?),
            (None, Some(rel)) => Some(rel.repo.to_string()),
            (None, None) => None,
        };
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
        // The `.1.5` claim is `owner/name`; a URI or a stray slash would
        // never match it, and fail every bundle instead of the command.
        let workflow_repository = args
            .cert_github_workflow_repository
            .as_deref()
            .map(|r| repo("--cert-github-workflow-repository", r))
            .transpose()?;
        let explicit_repo_claim = workflow_repository.is_some();
        let github: Vec<(GitHubClaim, String)> = [
            (GitHubClaim::Repository, workflow_repository),
            (GitHubClaim::Ref, args.cert_github_workflow_ref),
            (GitHubClaim::Sha, args.cert_github_workflow_sha),
            (GitHubClaim::Trigger, args.cert_github_workflow_trigger),
            (GitHubClaim::Name, args.cert_github_workflow_name),
        ]
        .into_iter()
        .filter_map(|(c, v)| v.map(|v| (c, v)))
        .chain(
            repo_claim
                .clone()
                .filter(|_| !explicit_repo_claim)
                .map(|r| (GitHubClaim::Repository, r)),
        )
        .collect();
        // The server the repository is on: GITHUB_SERVER_URL, else the one
        // GITHUB_API_URL is the API of (the README's way to name a GHES).
        let server = match super::github_server(env)? {
            Some(s) => Some(s),
            None => env.get("GITHUB_API_URL").and_then(GitHubServer::of_api),
        };
        let github_host = GitHubHost::new(&server.unwrap_or_else(GitHubServer::github_com));
        let no_signer_flag = args.signer_workflow.is_none() && args.signer_repo.is_none();
        let signer = match (args.signer_workflow, args.signer_repo) {
            (Some(w), _) => Some(SignerRule::Workflow(signer_workflow(&w, &github_host)?)),
            (None, Some(r)) => Some(SignerRule::Repo(
                r.parse::<Repo>()
                    .map_err(|_| SettingsError::BadSignerRepo(crate::text::echoed(&r)))?
                    .to_string(),
            )),
            // `--repo` (or `--release`) alone: a workflow of the repository
            // signed, as `gh attestation verify --repo` holds it. Its claims
            // are not enough: a reusable workflow of another repository signs
            // as itself, with the caller's repository in those claims.
            (None, None) if args.cert_identity.is_none() && args.cert_identity_regexp.is_none() => {
                repo_claim.as_ref().map(|r| {
                    let claimed = crate::verify::policy::pinned(&github, GitHubClaim::Repository);
                    SignerRule::Repo(claimed.map_or_else(|| r.clone(), str::to_owned))
                })
            }
            (None, None) => None,
        };
        let signer_implied = signer.is_some() && no_signer_flag;
        // A claim about a GitHub workflow means a certificate GitHub
        // Actions was issued: other issuers fill the same extensions
        // (Codefresh and GitLab, the source repository URI) with their own
        // values, which may name the same repository. As cosign (which
        // asks for the issuer), sigstore-python's `verify github` and
        // `gh attestation verify` hold it.
        let about_github = !github.is_empty() || signer.is_some() || args.deny_self_hosted_runners;
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
            )?
            // The Actions issuer of the server the repository is on: a
            // GitHub Enterprise host's tokens are not github.com's.
            .or_else(|| {
                about_github.then(|| Matcher::ActionsIssuerOf(github_host.as_str().to_owned()))
            }),
            github,
            github_host,
            source_commit: None,
            signer,
            signer_implied,
            deny_self_hosted_runners: args.deny_self_hosted_runners,
        };
        let trust = match (args.trusted_root, args.trust_config) {
            (Some(root), None) => VerifyTrust::TrustedRoot(root),
            (root, config) => VerifyTrust::Instance(super::base_instance(
                args.instance,
                args.staging,
                config,
                None,
                root,
                (args.tuf_url, args.tuf_root),
                super::upload::Vocabulary::Cli,
            )?),
        };
        let jobs = args.jobs.unwrap_or_else(|| {
            default_jobs(
                release.is_some(),
                std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN),
            )
        });
        // Only a provenance is held to a predicate type: given for bundles,
        // it would pass a statement of any type in silence.
        let predicate_type = match args.predicate_type {
            Some(_) if args.provenance.is_none() && release.is_none() => {
                return Err(SettingsError::PredicateTypeWithoutProvenance)
            }
            given => given.unwrap_or_else(|| crate::provenance::SLSA_PROVENANCE_V1.to_owned()),
        };
        Ok(VerifySettings {
            inputs: args.paths,
            bundle: args.bundle,
            recursive: args.recursive,
            jobs,
            policy,
            trust,
            offline: args.offline,
            release,
            provenance: args.provenance,
            predicate_type,
            require_all: args.require_all,
        })
    }
}

/// `--signer-workflow`'s value, if it names a workflow: a URL
/// (`https://HOST/PATH`, any CI's, GitLab's `group/project//.gitlab-ci.yml`
/// too), or `[HOST/]OWNER/REPO/PATH/TO/WORKFLOW.yml[@REF]` on `host` (the
/// host first as `gh attestation verify` takes it), whose file is a YAML
/// one and whose ref, when given, is a ref (`refs/...`) or a commit: a
/// bare file name, a part short, or a ref like `@v1` would match no
/// certificate and fail every bundle instead of the command.
fn signer_workflow(value: &str, host: &GitHubHost) -> Result<String, SettingsError> {
    let bad = || SettingsError::BadSignerWorkflow(crate::text::line(crate::text::echoed(value)));
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    match value.strip_prefix("https://") {
        Some(url) => match url.split_once('/') {
            // On the GitHub host: a workflow's name, the host spelled as
            // certificates spell it (the URL is compared whole).
            Some((h, path)) if h.eq_ignore_ascii_case(host.as_str()) => {
                if !names_a_workflow(path) {
                    return Err(bad());
                }
                Ok(format!("https://{}/{path}", host.as_str()))
            }
            // Another CI's URL is taken as given.
            Some((h, path)) if !h.is_empty() && !path.is_empty() => Ok(value.to_owned()),
            _ => Err(bad()),
        },
        None => {
            if names_a_workflow(host.strip_from(value).unwrap_or(value)) {
                Ok(value.to_owned())
            } else {
                Err(bad())
            }
        }
    }
}

/// Whether `OWNER/REPO/PATH.yml[@REF]` names a workflow: three parts or
/// more, none empty, a YAML file, and a ref (if any) that is one.
fn names_a_workflow(value: &str) -> bool {
    let path = crate::vocab::workflow_at_ref(value).map_or(value, |(path, _)| path);
    let segments: Vec<&str> = path.split('/').collect();
    let yaml = path.ends_with(".yml") || path.ends_with(".yaml");
    segments.len() >= 3 && !segments.iter().any(|s| s.is_empty()) && yaml
}

/// Release assets verified at once by default: each waits on two downloads,
/// so the cores' count says nothing (500 assets at 50 ms per response: 16 s
/// with 4 at once, 2.5 s with 64); GitHub asks API clients to stay well under
/// 100 concurrent requests.
const RELEASE_JOBS: NonZeroUsize = NonZeroUsize::new(32).expect("32 is not zero");

/// `--jobs` when not given. Local files: each artifact waits on file reads
/// between CPU work, so one per core leaves cores idle; two per core keep them
/// busy (and hold at most two read buffers per core). A release:
/// [`RELEASE_JOBS`], or two per core if that is more.
fn default_jobs(release: bool, cpus: NonZeroUsize) -> NonZeroUsize {
    let local = cpus.saturating_mul(NonZeroUsize::new(2).expect("2 is not zero"));
    if release {
        local.max(RELEASE_JOBS)
    } else {
        local
    }
}

fn release_source(
    spec: &str,
    args: &VerifyArgs,
    env: &Env,
) -> Result<ReleaseSource, SettingsError> {
    let bad = || SettingsError::BadRelease(crate::text::echoed(spec));
    let (repo, tag) = spec.split_once('@').ok_or_else(bad)?;
    let repo: Repo = repo.parse().map_err(|_| bad())?;
    if tag.is_empty() {
        return Err(bad());
    }
    // Asked for before any request: GitHub would answer that no release
    // has that tag, and the fix would then read as creating one.
    if let Some(why) = super::upload::not_a_tag_name(tag) {
        return Err(SettingsError::BadReleaseTag {
            spec: crate::text::echoed(spec),
            why,
        });
    }
    let pattern = match &args.pattern {
        Some(p) => Some(
            glob::Pattern::new(p).map_err(|e| SettingsError::BadPattern {
                pattern: crate::text::echoed(p),
                reason: e.to_string(),
            })?,
        ),
        None => None,
    };
    let api_url = super::upload::api_url(env)?;
    Ok(ReleaseSource {
        repo,
        tag: tag.to_owned(),
        api_url,
        token: super::upload::github_token(env)?,
        pattern,
        download: args.download.clone(),
        overwrite: args.overwrite,
        allow_other_commits: args.allow_other_commits,
        provenance_required: args.predicate_type.is_some(),
        instance_by_visibility: args.instance.is_none()
            && !args.staging
            && args.trust_config.is_none()
            && args.trusted_root.is_none()
            && args.tuf_url.is_none(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::cli::{Cli, CliCommand};
    use crate::vocab::GITHUB_ACTIONS_ISSUER;
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
        VerifySettings::resolve(parse(args).unwrap(), &Env::default())
    }

    #[test]
    fn defaults_accept_any_identity_from_public_good() {
        let s = resolve(&["dist"]).unwrap();
        assert!(s.policy.accepts_any_identity());
        assert_eq!(
            s.trust,
            VerifyTrust::Instance(crate::trust::BaseInstance::PublicGood)
        );
        assert!(!s.offline && s.bundle.is_none());
    }

    /// `--repo` alone means a workflow of that repository signed (its
    /// claims alone would also take a reusable workflow of another
    /// repository that it called); any identity or signer flag given wins.
    #[test]
    fn the_repository_flag_implies_its_workflows_as_signer() {
        let repo = |r: &str| Some(SignerRule::Repo(r.to_owned()));
        let s = resolve(&["--repo", "Octo/App", "dist"]).unwrap();
        assert_eq!(
            (s.policy.signer.clone(), s.policy.signer_implied),
            (repo("Octo/App"), true)
        );
        assert_eq!(s.policy.accepts_any_workflow_of(), Some("Octo/App"));
        assert!(s.policy.accepts_any_identity());
        let s = resolve(&["--repo", "o/a", "--signer-repo", "o/shared", "dist"]).unwrap();
        assert_eq!(
            (s.policy.signer.clone(), s.policy.signer_implied),
            (repo("o/shared"), false)
        );
        assert!(!s.policy.accepts_any_identity());
        let id = "https://github.com/o/a/.github/workflows/r.yml@refs/tags/v1";
        let s = resolve(&["--repo", "o/a", "--cert-identity", id, "dist"]).unwrap();
        assert_eq!(s.policy.signer, None);
        let s = resolve(&["--repo", "o/a", "--cert-identity-regexp", ".*", "dist"]).unwrap();
        assert_eq!(s.policy.signer, None);
        // A release built in another repository: its workflows sign.
        let s = resolve(&[
            "--release",
            "o/a@v1",
            "--cert-github-workflow-repository",
            "o/builder",
        ])
        .unwrap();
        assert_eq!(s.policy.signer, repo("o/builder"));
        // cosign's claim flag alone constrains the claim only, as there.
        let s = resolve(&["--cert-github-workflow-repository", "o/a", "dist"]).unwrap();
        assert_eq!(s.policy.signer, None);
    }

    #[test]
    fn a_repository_flag_takes_owner_and_name_only() {
        for (flag, value) in [
            ("--repo", "https://github.com/octo-org/app"),
            (
                "--cert-github-workflow-repository",
                "https://github.com/octo-org/app",
            ),
            ("--cert-github-workflow-repository", "octo-org/app/"),
            ("--cert-github-workflow-repository", "octo-org"),
        ] {
            let e = resolve(&["dist", flag, value]).unwrap_err();
            assert!(
                matches!(&e, SettingsError::BadRepo { flag: f, value: v } if *f == flag && v == value),
                "{flag} {value}: {e:?}"
            );
            let shown = e.to_string();
            assert!(shown.starts_with(&format!("{flag} `{value}`")), "{shown}");
        }
        let s = resolve(&["dist", "--cert-github-workflow-repository", "octo-org/app"]).unwrap();
        assert!(s
            .policy
            .github
            .contains(&(GitHubClaim::Repository, "octo-org/app".to_owned())));
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

    /// A claim about a GitHub workflow asks for a certificate GitHub
    /// Actions was issued, unless an issuer is given: Codefresh's and
    /// GitLab's certificates carry a source repository URI too, which may
    /// name the same repository. Regression: any issuer passed.
    #[test]
    fn github_claims_imply_githubs_issuer() {
        for args in [
            &["a", "--cert-github-workflow-repository", "o/r"][..],
            &["a", "--cert-github-workflow-ref", "refs/tags/v1"],
            &["a", "--cert-github-workflow-sha", "abc"],
            &["a", "--cert-github-workflow-trigger", "push"],
            &["a", "--cert-github-workflow-name", "Release"],
            &["a", "--signer-repo", "o/r"],
            &["a", "--signer-workflow", "o/r/.github/workflows/x.yml"],
            &["a", "--deny-self-hosted-runners"],
        ] {
            let s = resolve(args).unwrap();
            let issuer = s.policy.issuer.as_ref();
            assert!(
                issuer
                    .is_some_and(|i| i.matches(GITHUB_ACTIONS_ISSUER)
                        && !i.matches("https://oidc.codefresh.io")),
                "{args:?}: {issuer:?}"
            );
        }
        let s = resolve(&[
            "a",
            "--cert-github-workflow-repository",
            "o/r",
            "--cert-oidc-issuer",
            "https://oidc.codefresh.io",
        ])
        .unwrap();
        assert!(
            matches!(&s.policy.issuer, Some(Matcher::Exact(i)) if i == "https://oidc.codefresh.io")
        );
        assert!(resolve(&["a"]).unwrap().policy.issuer.is_none());
        // A Codefresh certificate whose source repository URI names the
        // repository (Fulcio fills it from `scm_repo_url`) is refused.
        let s = resolve(&["a", "--cert-github-workflow-repository", "o/r"]).unwrap();
        let mut info = crate::verify::policy::tests::real_github_certificate();
        info.issuer = Some("https://oidc.codefresh.io".into());
        info.ci_claims.deprecated_github = Default::default();
        info.ci_claims.source_repository_uri = Some("https://github.com/o/r".into());
        assert!(s.policy.check(&info).is_err());
        info.issuer = Some(GITHUB_ACTIONS_ISSUER.into());
        assert_eq!(s.policy.check(&info), Ok(()));
    }

    /// `--signer-workflow` is refused unless it names a workflow of a
    /// repository: a bare file name would fail every bundle instead.
    #[test]
    fn a_signer_workflow_names_a_repositorys_file() {
        for bad in [
            "release.yml",
            "o/release.yml",
            "o//x.yml",
            "github.com/o/release.yml",
            "o/r/.github/workflows/x.yml@v1",
            "o/r/.github/workflows",
            "https://github.com",
            "https://github.com/",
            "https://github.com/o/x.yml",
            "https://github.com/o/r/.github/workflows/x.yml@v1",
            "https://github.com/o/r/.github/workflows",
            "o/r/.github/workflows/x.yml\n",
        ] {
            let e = resolve(&["a", "--signer-workflow", bad]).unwrap_err();
            assert!(
                matches!(e, SettingsError::BadSignerWorkflow(_)),
                "{bad}: {e:?}"
            );
            assert!(e.to_string().starts_with("--signer-workflow `"), "{e}");
        }
        for good in [
            "o/r/.github/workflows/x.yml",
            "o/r/.github/workflows/x.yaml",
            "o/r/.github/workflows/x.yml@refs/tags/v1",
            "o/r/.github/workflows/a@b.yml",
            "o/r/.github/workflows/x.yml@0123456789abcdef0123456789abcdef01234567",
            "github.com/o/r/.github/workflows/x.yml",
            "https://github.com/o/r/.github/workflows/x.yml",
            // GitLab's identity, under its own issuer.
            "https://gitlab.com/group/project//.gitlab-ci.yml",
        ] {
            assert!(resolve(&["a", "--signer-workflow", good]).is_ok(), "{good}");
        }
        // A URL on the GitHub host in another case is spelled as
        // certificates spell it. Regression: kept as given, matching none.
        let s = resolve(&[
            "a",
            "--signer-workflow",
            "https://GitHub.com/o/r/.github/workflows/x.yml",
        ])
        .unwrap();
        assert_eq!(
            s.policy.signer,
            Some(crate::verify::policy::SignerRule::Workflow(
                "https://github.com/o/r/.github/workflows/x.yml".into()
            ))
        );
    }

    #[test]
    fn a_release_is_verified_with_more_assets_at_once_than_cores() {
        let n = |v| NonZeroUsize::new(v).unwrap();
        assert_eq!(default_jobs(false, n(2)), n(4));
        assert_eq!(default_jobs(true, n(2)), RELEASE_JOBS);
        assert_eq!(default_jobs(true, n(64)), n(128));
        let s = VerifySettings::resolve(
            parse(&["--release", "o/r@v1.2.3"]).unwrap(),
            &Env::default(),
        )
        .unwrap();
        assert!(s.jobs >= RELEASE_JOBS);
        let s = VerifySettings::resolve(
            parse(&["--release", "o/r@v1.2.3", "--jobs", "3"]).unwrap(),
            &Env::default(),
        )
        .unwrap();
        assert_eq!(s.jobs, n(3));
    }

    /// A refused flag's value is repeated at most
    /// [`crate::text::ECHOED_CHARS`] long. Regression: --signer-repo,
    /// --signer-workflow and --pattern repeated it whole.
    #[test]
    fn a_refused_value_is_repeated_capped() {
        let long = format!("{}\u{7}", "x/".repeat(50_000));
        for flag in ["--signer-repo", "--signer-workflow"] {
            let e = resolve(&[flag, &long, "a"]).unwrap_err().to_string();
            assert!(e.len() < 1_000, "{flag}: {} bytes", e.len());
        }
        let pattern = format!("{}[", "x".repeat(100_000));
        let e = resolve(&["--release", "o/r@v1", "--pattern", &pattern])
            .unwrap_err()
            .to_string();
        assert!(e.len() < 1_000, "--pattern: {} bytes", e.len());
    }

    /// A whole ref given as --release's tag is refused before any request.
    /// Regression: GitHub was asked, and the error then said to create a
    /// release of tag `refs/tags/v1`.
    #[test]
    fn a_release_named_by_a_whole_ref_is_refused() {
        for spec in ["o/r@refs/tags/v1", "o/r@v1 2", "o/r@v1..2"] {
            let e = resolve(&["--release", spec]).unwrap_err();
            assert!(
                matches!(e, SettingsError::BadReleaseTag { .. }),
                "{spec}: {e}"
            );
        }
        let e = resolve(&["--release", "o/r@refs/tags/v1"]).unwrap_err();
        assert!(
            e.to_string().contains("--release octo-org/app@v1.2.3"),
            "{e}"
        );
        assert!(resolve(&["--release", "o/r@release/v1.2"]).is_ok());
    }

    /// --predicate-type holds only a provenance to a type; given for
    /// bundles, it is refused, not ignored. Regression: a DSSE bundle of
    /// another type verified, exit 0, with --predicate-type given.
    #[test]
    fn a_predicate_type_without_a_provenance_is_refused() {
        let e = resolve(&["--predicate-type", "https://example.com/v9", "a"]).unwrap_err();
        assert!(
            matches!(e, SettingsError::PredicateTypeWithoutProvenance),
            "{e}"
        );
        let s = resolve(&[
            "--predicate-type",
            "https://example.com/v9",
            "--provenance",
            "p",
            "a",
        ])
        .unwrap();
        assert_eq!(s.predicate_type, "https://example.com/v9");
        let s = resolve(&[
            "--release",
            "o/r@v1",
            "--predicate-type",
            "https://example.com/v9",
        ])
        .unwrap();
        assert_eq!(s.predicate_type, "https://example.com/v9");
        assert_eq!(
            resolve(&["--provenance", "p", "a"]).unwrap().predicate_type,
            crate::provenance::SLSA_PROVENANCE_V1
        );
    }

    #[test]
    fn release_implies_repository_and_github_issuer() {
        let env = Env::from_pairs([("GITHUB_API_URL", "https://ghe.example/api/v3/")]);
        let s =
            VerifySettings::resolve(parse(&["--release", "o/r@v1.2.3"]).unwrap(), &env).unwrap();
        let r = s.release.as_ref().unwrap();
        assert_eq!(
            (r.repo.to_string().as_str(), r.tag.as_str()),
            ("o/r", "v1.2.3")
        );
        assert_eq!(r.api_url, "https://ghe.example/api/v3");
        assert!(r.token.is_none(), "anonymous without GITHUB_TOKEN");
        assert_eq!(
            s.policy.github,
            [(GitHubClaim::Repository, "o/r".to_owned())]
        );
        // A GHES named by its API alone (as the README says to): its
        // issuer and host. Regression: github.com's, failing every asset.
        let issuer = s.policy.issuer.as_ref().unwrap();
        assert!(issuer.matches("https://ghe.example/_services/token"));
        assert!(!issuer.matches(GITHUB_ACTIONS_ISSUER));
        assert_eq!(s.policy.github_host.as_str(), "ghe.example");
        let s = VerifySettings::resolve(
            parse(&["--release", "o/r@v1.2.3"]).unwrap(),
            &Env::default(),
        )
        .unwrap();
        let issuer = s.policy.issuer.as_ref().unwrap();
        assert!(issuer.matches(GITHUB_ACTIONS_ISSUER));
        assert!(issuer.matches(&format!("{GITHUB_ACTIONS_ISSUER}/acme")));
        assert!(!issuer.matches(&format!("{GITHUB_ACTIONS_ISSUER}/acme/x")));
        assert!(!issuer.matches("https://token.actions.acme.ghe.com"));
        // On GitHub Enterprise, its own Actions issuer. Regression: always
        // github.com's, so no certificate of an enterprise's run passed.
        for (server, theirs) in [
            ("https://acme.ghe.com", "https://token.actions.acme.ghe.com"),
            (
                "https://ghe.example.com/",
                "https://ghe.example.com/_services/token",
            ),
        ] {
            let env = Env::from_pairs([("GITHUB_SERVER_URL", server)]);
            let s = VerifySettings::resolve(parse(&["a", "--repo", "o/r"]).unwrap(), &env).unwrap();
            let issuer = s.policy.issuer.as_ref().unwrap();
            assert!(issuer.matches(theirs), "{server}");
            assert!(!issuer.matches(GITHUB_ACTIONS_ISSUER), "{server}");
            assert_eq!(
                crate::oidc::github_actions_server(theirs).as_deref(),
                Some(server.trim_end_matches('/'))
            );
        }
        // `--repo` alone says the same for local files; an explicit issuer wins.
        let s = VerifySettings::resolve(
            parse(&["a", "--repo", "x/y", "--cert-oidc-issuer", "https://i"]).unwrap(),
            &Env::default(),
        )
        .unwrap();
        assert_eq!(
            s.policy.github,
            [(GitHubClaim::Repository, "x/y".to_owned())]
        );
        assert_eq!(
            s.policy.issuer,
            Some(Matcher::Exact("https://i".to_owned()))
        );
        for bad in ["o/r", "o/r@", "nope@v1"] {
            assert!(
                VerifySettings::resolve(parse(&["--release", bad]).unwrap(), &Env::default())
                    .is_err(),
                "{bad}"
            );
        }
        // Files and --release are different runs.
        assert!(parse(&["a", "--release", "o/r@v1"]).is_err());
        assert!(parse(&["--pattern", "*"]).is_err());
    }

    /// Repository claims are on github.com, or on the Enterprise Server host
    /// the run is configured for; a URL that names no host is refused.
    #[test]
    fn github_host_from_the_environment() {
        let host = |env: Env| {
            VerifySettings::resolve(parse(&["a", "--repo", "o/r"]).unwrap(), &env)
                .map(|s| s.policy.github_host.as_str().to_owned())
        };
        assert_eq!(host(Env::default()).unwrap(), "github.com");
        let ghes = Env::from_pairs([("GITHUB_SERVER_URL", "https://ghe.example.com")]);
        assert_eq!(host(ghes).unwrap(), "ghe.example.com");
        let bad = Env::from_pairs([("GITHUB_SERVER_URL", "ghe.example.com/x")]);
        assert_eq!(
            host(bad).unwrap_err(),
            SettingsError::BadServerUrl("ghe.example.com/x".into())
        );
    }
}
