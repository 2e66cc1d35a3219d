//! Build provenance: the one in-toto Statement v1 a run signs about every
//! artifact it signed or kept, with a SLSA v1 provenance predicate.
//!
//! Owns the statement's shape and content: its subjects (each artifact's file
//! name, as GitHub's attest action names a subject, whatever a release renames
//! the asset to: verifiers match by digest; and its SHA-256), and the predicate for
//! GitHub Actions (buildType `https://actions.github.io/buildtypes/workflow/v1`),
//! filled from the identity token's claims and `GITHUB_SERVER_URL` exactly as
//! GitHub's attest action fills it (actions/toolkit
//! `packages/attest/src/provenance.ts`), so a job gets the same predicate from
//! either; the provenance file's name (`<repo>-<tag>.intoto.jsonl` when
//! uploading to a release, `provenance.intoto.jsonl` otherwise, or the
//! user's `--provenance-name`).
//!
//! A token without every claim the predicate needs (another CI provider, or
//! a token that is not a GitHub Actions one) is an error naming the missing
//! claims: a statement never carries an invented field. Claims are outside
//! text: they are only ever serialized into JSON (escaped by serde), and the
//! errors here show them through [`crate::text::line`].
//!
//! Pure: no I/O, no signing (`sign::provenance`), no verification.

use serde::Serialize;
use sigstore_types::{Sha256Hash, Statement, Subject};

use crate::oidc::StringClaims;
use crate::text;

/// The in-toto Statement version every statement here is.
pub(crate) const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
/// SLSA build provenance v1.
pub(crate) const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";
/// GitHub Actions' workflow build type, as GitHub's attest action writes it.
pub(crate) const GITHUB_WORKFLOW_BUILD_TYPE: &str =
    "https://actions.github.io/buildtypes/workflow/v1";
/// The DSSE payload type of an in-toto statement.
pub(crate) const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// How every provenance file's name ends (what OpenSSF Scorecard and
/// verifiers look for on a release).
pub(crate) const EXTENSION: &str = ".intoto.jsonl";
/// The file name when no repository and tag give a better one.
pub(crate) const FALLBACK_NAME: &str = "provenance.intoto.jsonl";

/// The claims GitHub's attest action requires (its `REQUIRED_CLAIMS`, less
/// `iss`, which the token always has), in its order.
pub(crate) const REQUIRED_CLAIMS: [&str; 11] = [
    "ref",
    "sha",
    "repository",
    "event_name",
    "job_workflow_ref",
    "workflow_ref",
    "repository_id",
    "repository_owner_id",
    "runner_environment",
    "run_id",
    "run_attempt",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProvenanceError {
    #[error("build provenance is made from a GitHub Actions identity token, and this token (issuer {issuer}) lacks the claims {}: it cannot say which workflow, commit and run built the artifacts. Fix: sign with --provenance (action input `provenance: true`) in a GitHub Actions job (with `id-token: write`), or drop it", missing.join(", "))]
    MissingClaims {
        issuer: String,
        missing: Vec<&'static str>,
    },
    #[error("build provenance describes a GitHub Actions run, and this token's issuer {issuer} is not GitHub Actions' (https://token.actions.githubusercontent.com, https://token.actions.SUBDOMAIN.ghe.com, or a GitHub Enterprise Server's https://HOST/_services/token). Fix: sign with --provenance (action input `provenance: true`) in a GitHub Actions job, or drop it")]
    NotGitHubActions { issuer: String },
    #[error("build provenance names the workflow's GitHub server, and GITHUB_SERVER_URL ({server}) is not the server of the token's issuer {issuer} ({expected}): the statement would contradict its own certificate. Fix: leave GITHUB_SERVER_URL as the runner sets it, or unset what overrides it")]
    ServerMismatch {
        issuer: String,
        server: String,
        expected: String,
    },
    #[error("build provenance needs at least one artifact signed or kept in this run, and there is none; nothing was attested")]
    NoSubjects,
    #[error("two artifacts named `{}` with different contents ({first} and {second}) cannot both be subjects of one provenance statement, which names them as a release would; fix: rename one, or sign them in separate runs", text::line(.name))]
    DuplicateSubject {
        name: String,
        first: String,
        second: String,
    },
    #[error("the provenance file name `{}` must be a plain file name ending in {EXTENSION} (no path, no `: * ? \" < > |`, not a Windows device name or short 8.3 name); fix: pass --provenance-name NAME{EXTENSION} (action input `provenance-name`)", text::line(.0))]
    BadName(String),
}

/// `buildDefinition.externalParameters.workflow`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Workflow {
    #[serde(rename = "ref")]
    pub reference: String,
    pub repository: String,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ExternalParameters {
    pub workflow: Workflow,
}

/// `buildDefinition.internalParameters.github`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct GitHubParameters {
    pub event_name: String,
    pub repository_id: String,
    pub repository_owner_id: String,
    pub runner_environment: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct InternalParameters {
    pub github: GitHubParameters,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct GitCommit {
    #[serde(rename = "gitCommit")]
    pub git_commit: String,
}

/// A `resolvedDependencies` entry: the repository at the built commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ResourceDescriptor {
    pub uri: String,
    pub digest: GitCommit,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BuildDefinition {
    pub build_type: String,
    pub external_parameters: ExternalParameters,
    pub internal_parameters: InternalParameters,
    pub resolved_dependencies: Vec<ResourceDescriptor>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Builder {
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Metadata {
    pub invocation_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct RunDetails {
    pub builder: Builder,
    pub metadata: Metadata,
}

/// The SLSA v1 provenance predicate, field for field as provenance.ts writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Predicate {
    pub build_definition: BuildDefinition,
    pub run_details: RunDetails,
}

impl Predicate {
    /// The predicate for the GitHub Actions job `claims` describe, on the
    /// GitHub at `server_url` (`GITHUB_SERVER_URL`).
    pub(crate) fn github(
        issuer: &str,
        claims: &StringClaims,
        server_url: Option<&str>,
    ) -> Result<Predicate, ProvenanceError> {
        let missing: Vec<&'static str> = REQUIRED_CLAIMS
            .into_iter()
            .filter(|c| claims.get(c).is_none())
            .collect();
        if !missing.is_empty() {
            return Err(ProvenanceError::MissingClaims {
                issuer: text::capped(&text::line(issuer), 200),
                missing,
            });
        }
        // The token is what is authenticated: the server the statement names
        // must be its issuer's, as @actions/attest requires. GITHUB_SERVER_URL
        // (checked where it is read, `vocab::GitHubServer`) may only agree;
        // unset, the issuer's server is the one.
        let expected = crate::oidc::github_actions_server(issuer).ok_or_else(|| {
            ProvenanceError::NotGitHubActions {
                issuer: text::line(text::capped(issuer, text::MESSAGE_CHARS)),
            }
        })?;
        let server = server_url.unwrap_or(&expected);
        if !server.trim_end_matches('/').eq_ignore_ascii_case(&expected) {
            return Err(ProvenanceError::ServerMismatch {
                issuer: text::line(text::capped(issuer, text::MESSAGE_CHARS)),
                server: text::line(text::capped(server, text::MESSAGE_CHARS)),
                expected,
            });
        }
        Ok(Predicate::of_claims(claims, &expected))
    }

    /// The predicate `claims` give on the GitHub at `server`, unchecked:
    /// for [`Self::github`], and for a dry run's placeholders.
    pub(crate) fn of_claims(claims: &StringClaims, server: &str) -> Predicate {
        let claim = |name: &str| claims.get(name).unwrap_or_default().to_owned();
        let repository = claim("repository");
        // provenance.ts (@actions/attest 1.6 and later): the path is
        // `workflow_ref` less the first `REPO/`, before its ref; the ref is
        // the `ref` claim, not the rest of `workflow_ref` (a run from a
        // ref-less commit has a `workflow_ref` that names another ref). The
        // ref starts where a verifier finds it ([`workflow_at_ref`]), not
        // at the first `@` as provenance.ts cuts it: a workflow's file name
        // may hold `@`.
        let workflow_ref = claim("workflow_ref").replacen(&format!("{repository}/"), "", 1);
        // (GitHub's always names one; a dry run's placeholder does not.)
        let path = crate::vocab::workflow_at_ref(&workflow_ref)
            .or_else(|| workflow_ref.split_once('@'))
            .map_or(workflow_ref.as_str(), |(path, _)| path)
            .to_owned();
        let reference = claim("ref");
        Predicate {
            build_definition: BuildDefinition {
                build_type: GITHUB_WORKFLOW_BUILD_TYPE.to_owned(),
                external_parameters: ExternalParameters {
                    workflow: Workflow {
                        reference,
                        repository: format!("{server}/{repository}"),
                        path,
                    },
                },
                internal_parameters: InternalParameters {
                    github: GitHubParameters {
                        event_name: claim("event_name"),
                        repository_id: claim("repository_id"),
                        repository_owner_id: claim("repository_owner_id"),
                        runner_environment: claim("runner_environment"),
                    },
                },
                resolved_dependencies: vec![ResourceDescriptor {
                    uri: format!("git+{server}/{repository}@{}", claim("ref")),
                    digest: GitCommit {
                        git_commit: claim("sha"),
                    },
                }],
            },
            run_details: RunDetails {
                builder: Builder {
                    id: format!("{server}/{}", claim("job_workflow_ref")),
                },
                metadata: Metadata {
                    invocation_id: format!(
                        "{server}/{repository}/actions/runs/{}/attempts/{}",
                        claim("run_id"),
                        claim("run_attempt")
                    ),
                },
            },
        }
    }

    /// The statement about `subjects` (file name, SHA-256), in the order given.
    /// The same name twice is one subject when the digests agree, an error
    /// when they do not.
    pub(crate) fn statement(
        &self,
        subjects: &[(String, Sha256Hash)],
    ) -> Result<Statement, ProvenanceError> {
        if subjects.is_empty() {
            return Err(ProvenanceError::NoSubjects);
        }
        let mut seen: std::collections::HashMap<&str, &Sha256Hash> = Default::default();
        let mut subject = Vec::with_capacity(subjects.len());
        for (name, digest) in subjects {
            match seen.insert(name, digest) {
                None => subject.push(Subject::new(name.clone(), (*digest).into())),
                Some(first) if first == digest => {}
                Some(first) => {
                    return Err(ProvenanceError::DuplicateSubject {
                        name: name.clone(),
                        first: first.to_hex(),
                        second: digest.to_hex(),
                    })
                }
            }
        }
        let predicate = serde_json::to_value(self).expect("the predicate is plain strings");
        Ok(Statement::new(subject, SLSA_PROVENANCE_V1, predicate))
    }
}

/// The DSSE payload: the statement as compact JSON.
pub fn payload(statement: &Statement) -> Vec<u8> {
    serde_json::to_vec(statement).expect("a statement is plain JSON")
}

/// The provenance file's name: `name` when given (checked), else
/// `<repository name>-<tag>.intoto.jsonl` for a release (`/` in a tag becomes
/// `-`), else [`FALLBACK_NAME`].
pub fn file_name(
    name: Option<&str>,
    repository: Option<&str>,
    tag: Option<&str>,
) -> Result<String, ProvenanceError> {
    if let Some(name) = name {
        return check_name(name);
    }
    let (Some(repository), Some(tag)) = (repository, tag) else {
        return Ok(FALLBACK_NAME.to_owned());
    };
    let repo = repository.rsplit('/').next().unwrap_or(repository);
    let safe = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+') {
                    c
                } else {
                    '-'
                }
            })
            .collect()
    };
    check_name(&format!("{}-{}{EXTENSION}", safe(repo), safe(tag)))
        .or_else(|_| Ok(FALLBACK_NAME.to_owned()))
}

fn check_name(name: &str) -> Result<String, ProvenanceError> {
    // The rule for any name that becomes a file on every platform (no `:`,
    // which is a drive or a stream on Windows, no device name), and ours.
    let plain = crate::files::portable_name(name)
        && name.len() <= crate::files::MAX_NAME_BYTES
        && name.len() > EXTENSION.len()
        && name.ends_with(EXTENSION);
    if plain {
        Ok(name.to_owned())
    } else {
        Err(ProvenanceError::BadName(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The claims of a GitHub Actions token for a tag push that calls a
    /// reusable release workflow (so `workflow_ref` and `job_workflow_ref`
    /// differ), as token.actions.githubusercontent.com issues them; the tag
    /// holds an `@` as changesets' monorepo tags do.
    const CLAIMS: &str = r#"{
        "jti": "2f7a4c1e-9b0d-4a51-8f3e-6c2d1b0a9e87",
        "sub": "repo:octo-org/octo-repo:ref:refs/tags/@octo/pkg@1.2.0",
        "aud": "sigstore",
        "ref": "refs/tags/@octo/pkg@1.2.0",
        "sha": "d6cd1e2bd19e03a81132a23b2025920577f84e37",
        "repository": "octo-org/octo-repo",
        "repository_owner": "octo-org",
        "repository_owner_id": "9919",
        "repository_visibility": "public",
        "repository_id": "6014198",
        "run_id": "11970151289",
        "run_number": "42",
        "run_attempt": "2",
        "runner_environment": "github-hosted",
        "actor_id": "583231",
        "actor": "octocat",
        "workflow": "Release",
        "head_ref": "",
        "base_ref": "",
        "event_name": "push",
        "ref_protected": "true",
        "ref_type": "tag",
        "workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/tags/@octo/pkg@1.2.0",
        "workflow_sha": "d6cd1e2bd19e03a81132a23b2025920577f84e37",
        "job_workflow_ref": "octo-org/release-workflows/.github/workflows/sign.yml@refs/heads/main",
        "job_workflow_sha": "0b4cf2bbf5c0b1d1b8e8a8f1c9b0b6f5e4d3c2a1",
        "iss": "https://token.actions.githubusercontent.com",
        "nbf": 1733212800,
        "exp": 1733213400,
        "iat": 1733213100
    }"#;

    fn claims() -> StringClaims {
        claims_with(&[])
    }

    /// [`CLAIMS`] with some string claims set to other values.
    fn claims_with(changes: &[(&str, &str)]) -> StringClaims {
        let mut all: std::collections::BTreeMap<String, serde_json::Value> =
            serde_json::from_str(CLAIMS).unwrap();
        for (name, value) in changes {
            all.insert((*name).to_owned(), (*value).into());
        }
        let strings: Vec<(String, String)> = all
            .into_iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_owned())))
            .collect();
        StringClaims::from_pairs(strings.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    fn digest(byte: u8) -> Sha256Hash {
        Sha256Hash::new([byte; 32])
    }

    const ISSUER: &str = "https://token.actions.githubusercontent.com";

    /// A workflow whose file name holds `@` is named whole: its path ends
    /// where its ref starts, as a verifier finds it in the certificate's
    /// Build Config URI. (provenance.ts cuts at the first `@`, which a
    /// verifier holding it to the certificate refuses.)
    #[test]
    fn a_workflow_file_name_may_hold_an_at() {
        for (workflow_ref, path) in [
            (
                "octo-org/octo-repo/.github/workflows/a@b.yml@refs/heads/main",
                ".github/workflows/a@b.yml",
            ),
            (
                "octo-org/octo-repo/.github/workflows/rel.yml@refs/tags/@octo/pkg@1.2.0",
                ".github/workflows/rel.yml",
            ),
        ] {
            let claims = claims_with(&[("workflow_ref", workflow_ref)]);
            let predicate = Predicate::of_claims(&claims, "https://github.com");
            assert_eq!(
                predicate.build_definition.external_parameters.workflow.path,
                path
            );
        }
    }

    /// What provenance.ts's `buildSLSAProvenancePredicate` returns for
    /// [`CLAIMS`] with GITHUB_SERVER_URL=https://github.com, worked out from
    /// its source (actions/toolkit at 4b9afa4c) by hand, field by field.
    #[test]
    fn the_predicate_is_the_one_githubs_attest_action_writes() {
        let predicate = Predicate::github(ISSUER, &claims(), Some("https://github.com")).unwrap();
        let expected = serde_json::json!({
            "buildDefinition": {
                "buildType": "https://actions.github.io/buildtypes/workflow/v1",
                "externalParameters": {
                    "workflow": {
                        "ref": "refs/tags/@octo/pkg@1.2.0",
                        "repository": "https://github.com/octo-org/octo-repo",
                        "path": ".github/workflows/release.yml"
                    }
                },
                "internalParameters": {
                    "github": {
                        "event_name": "push",
                        "repository_id": "6014198",
                        "repository_owner_id": "9919",
                        "runner_environment": "github-hosted"
                    }
                },
                "resolvedDependencies": [{
                    "uri": "git+https://github.com/octo-org/octo-repo@refs/tags/@octo/pkg@1.2.0",
                    "digest": { "gitCommit": "d6cd1e2bd19e03a81132a23b2025920577f84e37" }
                }]
            },
            "runDetails": {
                "builder": {
                    "id": "https://github.com/octo-org/release-workflows/.github/workflows/sign.yml@refs/heads/main"
                },
                "metadata": {
                    "invocationId": "https://github.com/octo-org/octo-repo/actions/runs/11970151289/attempts/2"
                }
            }
        });
        assert_eq!(serde_json::to_value(&predicate).unwrap(), expected);
    }

    /// The workflow's ref is the `ref` claim, also where `workflow_ref`
    /// names another (provenance.ts since actions/toolkit 0bc338ad).
    #[test]
    fn the_workflow_ref_is_the_ref_claim() {
        let claims = claims_with(&[
            (
                "workflow_ref",
                "octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main",
            ),
            ("ref", "refs/pull/7/merge"),
        ]);
        let predicate = Predicate::github(ISSUER, &claims, Some("https://github.com")).unwrap();
        let json = serde_json::to_value(&predicate).unwrap();
        let workflow = &json["buildDefinition"]["externalParameters"]["workflow"];
        assert_eq!(workflow["ref"], "refs/pull/7/merge");
        assert_eq!(workflow["path"], ".github/workflows/release.yml");
        assert_eq!(
            json["buildDefinition"]["resolvedDependencies"][0]["uri"],
            "git+https://github.com/octo-org/octo-repo@refs/pull/7/merge"
        );
    }

    #[test]
    fn the_statement_names_every_subject_once() {
        let predicate = Predicate::github(ISSUER, &claims(), Some("https://github.com")).unwrap();
        let subjects = [
            ("tool-linux-x86_64.tar.gz".to_owned(), digest(1)),
            ("tool-macos-arm64.tar.gz".to_owned(), digest(2)),
            ("tool-linux-x86_64.tar.gz".to_owned(), digest(1)),
        ];
        let statement = predicate.statement(&subjects).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&payload(&statement)).unwrap();
        insta::assert_json_snapshot!(json);
    }

    #[test]
    fn enterprise_servers_name_themselves() {
        let predicate = Predicate::github(
            "https://ghe.example.com/_services/token",
            &claims(),
            Some("https://ghe.example.com"),
        )
        .unwrap();
        assert_eq!(
            predicate.run_details.builder.id,
            "https://ghe.example.com/octo-org/release-workflows/.github/workflows/sign.yml@refs/heads/main"
        );
        assert_eq!(
            predicate.build_definition.resolved_dependencies[0].uri,
            "git+https://ghe.example.com/octo-org/octo-repo@refs/tags/@octo/pkg@1.2.0"
        );
    }

    #[test]
    fn other_ci_providers_get_the_missing_claims_named() {
        let gitlab = StringClaims::from_pairs([
            ("sub", "project_path:group/project:ref_type:branch:ref:main"),
            ("ref", "main"),
            ("sha", "d6cd1e2bd19e03a81132a23b2025920577f84e37"),
            (
                "ci_config_ref_uri",
                "gitlab.com/group/project//.gitlab-ci.yml@refs/heads/main",
            ),
        ]);
        let e = Predicate::github("https://gitlab.com", &gitlab, Some("https://github.com"))
            .unwrap_err();
        assert_eq!(
            e,
            ProvenanceError::MissingClaims {
                issuer: "https://gitlab.com".into(),
                // Everything but the two claims GitLab's token shares with GitHub's.
                missing: REQUIRED_CLAIMS
                    .into_iter()
                    .filter(|c| !matches!(*c, "ref" | "sha"))
                    .collect(),
            }
        );
        assert!(
            e.to_string()
                .contains("lacks the claims repository, event_name"),
            "{e}"
        );
    }

    #[test]
    fn each_github_issuer_has_its_server() {
        for (issuer, server) in [
            (ISSUER, Some("https://github.com")),
            (
                "https://token.actions.githubusercontent.com/octo-enterprise",
                Some("https://github.com"),
            ),
            (
                "https://token.actions.octo.ghe.com",
                Some("https://octo.ghe.com"),
            ),
            (
                "https://GHE.example.com/_services/token",
                Some("https://ghe.example.com"),
            ),
            (
                "https://token.actions.githubusercontent.com.evil.example",
                None,
            ),
            ("https://token.actions.githubusercontent.com/", None),
            ("https://token.actions.githubusercontent.com/a/b", None),
            (
                "https://ghe.example.com/_services/token/",
                Some("https://ghe.example.com"),
            ),
            ("https://token.actions..ghe.com", None),
            ("https://gitlab.com", None),
            ("http://ghe.example.com/_services/token", None),
            ("https://ghe.example.com/_services/token/x", None),
            ("https://ev il/_services/token", None),
        ] {
            assert_eq!(
                crate::oidc::github_actions_server(issuer).as_deref(),
                server,
                "{issuer}"
            );
        }
    }

    /// A server that is not the token's issuer's is refused, not written
    /// into a statement its certificate contradicts; so is an issuer that is
    /// not GitHub Actions', whatever claims its token carries. Regression:
    /// GITHUB_SERVER_URL was taken as it was.
    #[test]
    fn the_server_is_the_token_issuers() {
        let e = Predicate::github(ISSUER, &claims(), Some("https://ghe.example.com")).unwrap_err();
        assert!(
            matches!(&e, ProvenanceError::ServerMismatch { expected, .. } if expected == "https://github.com"),
            "{e}"
        );
        assert!(e.to_string().contains("GITHUB_SERVER_URL (https://ghe.example.com) is not the server of the token's issuer https://token.actions.githubusercontent.com (https://github.com)"), "{e}");
        let ok = Predicate::github(ISSUER, &claims(), Some("https://GitHub.com/")).unwrap();
        assert_eq!(
            ok.build_definition.external_parameters.workflow.repository,
            "https://github.com/octo-org/octo-repo"
        );
        let e = Predicate::github(
            "https://ci.example.com",
            &claims(),
            Some("https://github.com"),
        )
        .unwrap_err();
        assert!(matches!(e, ProvenanceError::NotGitHubActions { .. }), "{e}");
    }

    /// Without GITHUB_SERVER_URL the token's issuer names the server, as
    /// it must agree with it anyway. Regression: refused, and the fix said
    /// to set it, where GITHUB_SERVER_URL's own error said to unset it.
    #[test]
    fn no_server_url_takes_the_issuers_server() {
        let unset = Predicate::github(ISSUER, &claims(), None).unwrap();
        let set = Predicate::github(ISSUER, &claims(), Some("https://github.com")).unwrap();
        let subjects = [("a.tgz".to_owned(), digest(1))];
        assert_eq!(
            unset.statement(&subjects).unwrap(),
            set.statement(&subjects).unwrap()
        );
    }

    #[test]
    fn the_same_name_with_two_digests_is_refused() {
        let predicate = Predicate::github(ISSUER, &claims(), Some("https://github.com")).unwrap();
        let e = predicate
            .statement(&[("a.tgz".into(), digest(1)), ("a.tgz".into(), digest(2))])
            .unwrap_err();
        assert!(matches!(e, ProvenanceError::DuplicateSubject { .. }), "{e}");
        assert_eq!(
            predicate.statement(&[]).unwrap_err(),
            ProvenanceError::NoSubjects
        );
    }

    #[test]
    fn file_names() {
        assert_eq!(
            file_name(None, Some("octo-org/octo-repo"), Some("v1.2.0")).unwrap(),
            "octo-repo-v1.2.0.intoto.jsonl"
        );
        assert_eq!(
            file_name(
                None,
                Some("octo-org/octo-repo"),
                Some("release/@octo/pkg@1")
            )
            .unwrap(),
            "octo-repo-release--octo-pkg-1.intoto.jsonl"
        );
        assert_eq!(file_name(None, None, Some("v1")).unwrap(), FALLBACK_NAME);
        assert_eq!(
            file_name(Some("tool.intoto.jsonl"), Some("o/r"), Some("v1")).unwrap(),
            "tool.intoto.jsonl"
        );
        for bad in [
            "tool.json",
            "dir/tool.intoto.jsonl",
            ".intoto.jsonl",
            "a\n.intoto.jsonl",
            "C:x.intoto.jsonl",
            "x:y.intoto.jsonl",
            "CON.intoto.jsonl",
            "a|b.intoto.jsonl",
        ] {
            let e = file_name(Some(bad), None, None).unwrap_err();
            assert!(matches!(e, ProvenanceError::BadName(_)), "{bad}");
            assert!(!e.to_string().contains('\n'), "{e}");
        }
    }
}
