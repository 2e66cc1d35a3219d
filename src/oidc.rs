//! The OIDC identity token: where it comes from, what it claims, and keeping it secret.
//!
//! Owns the order of sources (`--identity-token`, `SIGSTORE_ID_TOKEN`, the GitHub
//! Actions token endpoint, then `sigstore-oidc`'s ambient detection for other CI
//! providers), the Actions request itself, reading the token's claims (unverified:
//! Fulcio authenticates the token), and the rule that a token is never printed:
//! [`Secret`] and [`IdToken`] redact themselves in `Debug` and `Display`, and a
//! token requested mid-run is handed to the run's [`TokenObserver`] the
//! moment it arrives (so the binary can mask it in a CI log before anything
//! else is printed).
//! It knows nothing of Fulcio or certificates beyond which SAN a token should yield.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sigstore_oidc::IdentityToken;

use crate::net::{self, Retry, RetryPolicy, Retryable};
use crate::vocab::GITHUB_ACTIONS_ISSUER;

/// The audience Fulcio requires in identity tokens.
pub(crate) const SIGSTORE_AUDIENCE: &str = "sigstore";
/// The one-line fix for a GitHub Actions job that may not request tokens.
pub(crate) const ACTIONS_PERMISSION_FIX: &str =
    "add `id-token: write` to the workflow's `permissions:`";

/// How a GitLab CI job gets an identity token for Sigstore: GitLab mints one
/// only for a job that asks, into the variable it names.
pub(crate) const GITLAB_TOKEN_FIX: &str =
    "add `id_tokens: { SIGSTORE_ID_TOKEN: { aud: sigstore } }` to the job (GitLab then puts a token for Sigstore in SIGSTORE_ID_TOKEN)";

/// A string that must never be shown: tokens and bearer credentials. Read
/// into this type where it is parsed (a flag, an action input), so that no
/// `Debug` of what holds it can show it.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// For clap: a flag's value, as a secret from the start.
    pub fn parse(value: &str) -> Result<Self, std::convert::Infallible> {
        Ok(Self::new(value))
    }
    /// The value trimmed, or `None` when nothing is left (an action input
    /// given as the empty string means "not given").
    pub(crate) fn nonempty(self) -> Option<Self> {
        let trimmed = self.0.trim();
        (!trimmed.is_empty()).then(|| Self::new(trimmed))
    }
    /// The value, for sending it where it is meant to go.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Where an identity token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TokenOrigin {
    /// `--identity-token`.
    Flag,
    /// The action's `identity-token` input.
    ActionInput,
    /// The `SIGSTORE_ID_TOKEN` environment variable.
    SigstoreIdTokenEnv,
    /// The GitHub Actions token endpoint (`ACTIONS_ID_TOKEN_REQUEST_URL`).
    /// Named as [`crate::vocab::InstanceName`] names GitHub, not
    /// `git-hub-actions` as kebab-case would split it.
    #[serde(rename = "github-actions")]
    GitHubActions,
    /// Another CI provider, found by `sigstore-oidc`'s ambient detection.
    AmbientCi,
}

impl fmt::Display for TokenOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenOrigin::Flag => "--identity-token",
            TokenOrigin::ActionInput => "the identity-token input",
            TokenOrigin::SigstoreIdTokenEnv => "SIGSTORE_ID_TOKEN",
            TokenOrigin::GitHubActions => "GitHub Actions OIDC",
            TokenOrigin::AmbientCi => "ambient CI credentials",
        })
    }
}

/// The GitHub Actions token endpoint and the bearer it expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionsTokenRequest {
    /// `ACTIONS_ID_TOKEN_REQUEST_URL` (already has a query string).
    pub url: String,
    /// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`.
    pub bearer: Secret,
}

/// The identity sources a run may use, resolved from flags and environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentitySettings {
    /// A token given outright (flag or `SIGSTORE_ID_TOKEN`), highest first.
    pub explicit: Option<(TokenOrigin, Secret)>,
    /// The Actions token endpoint, when both request variables are set.
    pub actions: Option<ActionsTokenRequest>,
    /// `GITHUB_ACTIONS=true`: a job without the request variables lacks permission.
    pub github_actions: bool,
    /// `GITLAB_CI=true`: a job without `SIGSTORE_ID_TOKEN` did not ask for one.
    pub gitlab_ci: bool,
    /// `BUILDKITE=true` or `CIRCLECI=true`: the CI agent whose command
    /// mints a token.
    pub ci_agent: Option<CiAgent>,
}

/// A CI agent whose command prints an identity token for an audience.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CiAgent {
    /// `buildkite-agent oidc request-token --audience sigstore`.
    Buildkite,
    /// `circleci run oidc get --root-issuer --claims '{"aud":"sigstore"}'`.
    CircleCi,
}

impl CiAgent {
    /// The agent `BUILDKITE` or `CIRCLECI` (`true`, as each sets it) names.
    pub fn of_env(buildkite: Option<&str>, circleci: Option<&str>) -> Option<CiAgent> {
        match (buildkite, circleci) {
            (Some("true"), _) => Some(CiAgent::Buildkite),
            (_, Some("true")) => Some(CiAgent::CircleCi),
            _ => None,
        }
    }

    /// Its command line, as shell words (to be pasted and tried by hand).
    fn shown(self) -> String {
        let (program, args) = self.command();
        std::iter::once(program)
            .chain(args.iter().copied())
            .map(|w| crate::text::shell_word_or(w, "ARG"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Its command and arguments, as sigstore-python's and cosign's peers
    /// (the `ambient-id` crate) run it.
    fn command(self) -> (&'static str, &'static [&'static str]) {
        match self {
            CiAgent::Buildkite => (
                "buildkite-agent",
                &["oidc", "request-token", "--audience", SIGSTORE_AUDIENCE],
            ),
            CiAgent::CircleCi => (
                "circleci",
                &[
                    "run",
                    "oidc",
                    "get",
                    "--root-issuer",
                    "--claims",
                    r#"{"aud":"sigstore"}"#,
                ],
            ),
        }
    }
}

/// Which source a run would take its token from, as decided without any request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "source", rename_all = "kebab-case")]
pub enum IdentityPlan {
    /// A token is at hand; its (unverified) claims, if it parses.
    Token {
        origin: TokenOrigin,
        #[serde(skip_serializing_if = "Option::is_none")]
        identity: Option<Box<TokenIdentity>>,
    },
    /// It would be requested from the GitHub Actions endpoint.
    GitHubActions,
    /// GitHub Actions without the request variables: signing would fail.
    GitHubActionsWithoutPermission,
    /// GitLab CI without `SIGSTORE_ID_TOKEN`: signing would fail.
    #[serde(rename = "gitlab-ci-without-token")]
    GitLabCiWithoutToken,
    /// A CI agent's token command would be run ([`CiAgent`]).
    AmbientCi { command: String },
    /// No source at all: signing would fail ([`TokenError::NotFound`]).
    NotFound,
}

impl fmt::Display for IdentityPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentityPlan::Token { origin, identity: Some(id) } => {
                write!(f, "{origin} ({} from {})", id.identity, id.issuer)
            }
            IdentityPlan::Token { origin, identity: None } => write!(f, "{origin}"),
            IdentityPlan::GitHubActions => f.write_str("GitHub Actions OIDC token (requested at signing time)"),
            IdentityPlan::GitHubActionsWithoutPermission => write!(
                f,
                "GitHub Actions, but the job may not request an OIDC token: {ACTIONS_PERMISSION_FIX}"
            ),
            IdentityPlan::GitLabCiWithoutToken => write!(
                f,
                "GitLab CI, but the job asked for no identity token: {GITLAB_TOKEN_FIX}"
            ),
            IdentityPlan::AmbientCi { command } => {
                write!(f, "the CI agent's token command `{command}` (run at signing time)")
            }
            IdentityPlan::NotFound => f.write_str(
                "none found: pass --identity-token, set SIGSTORE_ID_TOKEN, or run in CI with OIDC enabled",
            ),
        }
    }
}

impl IdentitySettings {
    /// The source [`TokenSource::fetch`] would use first, without any request.
    pub fn plan(&self) -> IdentityPlan {
        if let Some((origin, token)) = &self.explicit {
            let identity = IdToken::parse(*origin, token.expose())
                .ok()
                .map(|t| Box::new(t.identity().clone()));
            return IdentityPlan::Token {
                origin: *origin,
                identity,
            };
        }
        match (&self.actions, self.github_actions) {
            (Some(_), _) => IdentityPlan::GitHubActions,
            (None, true) => IdentityPlan::GitHubActionsWithoutPermission,
            (None, false) if self.gitlab_ci => IdentityPlan::GitLabCiWithoutToken,
            (None, false) => match self.ci_agent {
                Some(agent) => IdentityPlan::AmbientCi {
                    command: agent.shown(),
                },
                None => IdentityPlan::NotFound,
            },
        }
    }
}

/// What a token says about its subject (unverified until Fulcio accepts it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenIdentity {
    /// The identity the certificate is expected to name (email, workflow URI or subject).
    pub identity: String,
    pub issuer: String,
    #[serde(skip)]
    subject: String,
    #[serde(skip)]
    email: Option<String>,
    #[serde(skip)]
    job_workflow_ref: Option<String>,
    #[serde(skip)]
    ci_config_ref_uri: Option<String>,
    /// Buildkite's pipeline URL, which Fulcio names a Buildkite job by.
    #[serde(skip)]
    buildkite_pipeline: Option<String>,
    /// CircleCI's pipeline definition URL, which Fulcio names a CircleCI
    /// job by.
    #[serde(skip)]
    circleci_pipeline: Option<String>,
    /// `<issuer>/<sub>`, which Fulcio names a Chainguard identity by
    /// (its `chainguard-identity` type), an email claim or not.
    #[serde(skip)]
    chainguard: Option<String>,
    /// Tokens from a federating issuer (Dex) name a different issuer in the certificate.
    #[serde(skip)]
    federated: bool,
    /// GitHub's `repository` claim (`owner/name`), or GitLab's
    /// `project_path` (`group/project`).
    #[serde(skip)]
    repository: Option<String>,
    /// GitHub's `repository_visibility` claim, or GitLab's
    /// `project_visibility` (made for Sigstore: its MR 125787): `public`,
    /// `private` or `internal`.
    #[serde(skip)]
    repository_visibility: Option<String>,
}

impl TokenIdentity {
    /// Whether a certificate SAN is one Fulcio may derive from this token.
    ///
    /// Fulcio maps tokens to SANs per issuer type (its
    /// `config/identity/config.yaml`): a workflow URI (GitHub: see
    /// [`Self::matches_workflow_san`]), `https://<ci_config_ref_uri>`
    /// (GitLab), `https://buildkite.com/<organization>/<pipeline>`
    /// (Buildkite), CircleCI's pipeline definition URL, the email (email
    /// issuers). A CI token's certificate names only its workflow: one
    /// naming its `sub` (`repo:o/r:ref:...`) pins no workflow, and a
    /// verifier expecting the workflow refuses it. For any other issuer
    /// (Codefresh, Buddy, Kubernetes, SPIFFE, a private Fulcio's), the rule
    /// is Fulcio's configuration, which a token does not tell: its SAN is
    /// taken as Fulcio gives it (the certificate must still chain to the
    /// trusted root and name the token's issuer).
    pub(crate) fn matches_san(&self, san: &str) -> bool {
        if let Some(r) = &self.job_workflow_ref {
            return self.matches_workflow_san(r, san);
        }
        if let Some(r) = &self.ci_config_ref_uri {
            return san == format!("https://{r}");
        }
        if let Some(pipeline) = self
            .buildkite_pipeline
            .as_ref()
            .or(self.circleci_pipeline.as_ref())
            .or(self.chainguard.as_ref())
        {
            return san == pipeline;
        }
        match &self.email {
            Some(email) => email == san,
            None => true,
        }
    }

    /// Whether the claims alone tell the SAN Fulcio will certify (see
    /// [`Self::matches_san`]).
    fn san_known(&self) -> bool {
        self.job_workflow_ref.is_some()
            || self.ci_config_ref_uri.is_some()
            || self.buildkite_pipeline.is_some()
            || self.circleci_pipeline.is_some()
            || self.chainguard.is_some()
            || self.email.is_some()
    }

    /// A GitHub workflow SAN for `job_workflow_ref` `r`: for github.com's
    /// issuer exactly `https://github.com/<r>`; for any other (Enterprise
    /// Server, ghe.com, a private instance's), `https://<host>/<r>` under the
    /// bare host (name and port, nothing else) Fulcio's configuration gives
    /// that issuer: never a path before the ref.
    fn matches_workflow_san(&self, r: &str, san: &str) -> bool {
        if github_com_issuer(&self.issuer) {
            return san.strip_prefix("https://github.com/") == Some(r);
        }
        san.strip_prefix("https://")
            .and_then(|rest| rest.strip_suffix(r))
            .and_then(|host| host.strip_suffix('/'))
            .is_some_and(|host| {
                !host.is_empty()
                    && host
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
            })
    }

    /// The repository the token names, when its visibility is `private` or
    /// `internal` (GitHub's `repository_visibility` claim, GitLab's
    /// `project_visibility`): signing with a public instance would publish
    /// its name in a public log.
    pub(crate) fn non_public_repository(&self) -> Option<(&str, &str)> {
        let visibility = self.repository_visibility.as_deref()?;
        matches!(visibility, "private" | "internal").then(|| {
            (
                self.repository.as_deref().unwrap_or("(unnamed)"),
                visibility,
            )
        })
    }

    /// The SAN and OIDC issuer a certificate for this token names, as far as
    /// the claims alone tell (the same derivation as [`Self::identity`]);
    /// `None` for a federated token, whose certificate names an issuer the
    /// token does not.
    pub(crate) fn expected_certificate_identity(&self) -> Option<(&str, &str)> {
        let enterprise = self.job_workflow_ref.is_some() && github_enterprise_issuer(&self.issuer);
        let claims_tell = self.san_known() && !(self.federated || enterprise);
        claims_tell.then_some((self.identity.as_str(), self.issuer.as_str()))
    }

    /// Whether the token is a GitHub Actions job's (GitHub's own Sigstore
    /// instance certifies those alone).
    pub(crate) fn is_github_actions(&self) -> bool {
        self.job_workflow_ref.is_some() && github_actions_server(&self.issuer).is_some()
    }

    /// Whether a certificate's OIDC issuer extension is consistent with this token.
    pub(crate) fn matches_issuer(&self, issuer: &str) -> bool {
        self.federated || self.issuer == issuer
    }
}

/// github.com's Actions issuer, also with an enterprise's slug
/// (`https://token.actions.githubusercontent.com/<slug>`): Fulcio names the
/// workflow under `https://github.com/`.
pub(crate) fn github_com_issuer(issuer: &str) -> bool {
    match issuer.strip_prefix(GITHUB_ACTIONS_ISSUER) {
        Some("") => true,
        Some(rest) => rest
            .strip_prefix('/')
            .is_some_and(|slug| !slug.is_empty() && !slug.contains('/')),
        None => false,
    }
}

/// An Actions issuer of GitHub Enterprise Server (`https://HOST/_services/token`)
/// or of GitHub Enterprise Cloud with data residency
/// (`https://token.actions.SUBDOMAIN.ghe.com`). Fulcio names the workflow
/// under the host its own configuration gives those issuers, not under
/// github.com, so only a certificate tells the SAN.
fn github_enterprise_issuer(issuer: &str) -> bool {
    !github_com_issuer(issuer) && github_actions_server(issuer).is_some()
}

/// The GitHub server whose Actions issue tokens as `issuer`: github.com
/// for its issuer (with or without an enterprise's slug), `SUBDOMAIN.ghe.com`
/// for `token.actions.SUBDOMAIN.ghe.com`, `HOST` for a GitHub Enterprise
/// Server's `HOST/_services/token`; `None` for any other issuer. The one
/// rule for which issuers are GitHub Actions' (the SAN check here, the
/// provenance's server).
pub(crate) fn github_actions_server(issuer: &str) -> Option<String> {
    if github_com_issuer(issuer) {
        return Some("https://github.com".into());
    }
    let rest = issuer.strip_prefix("https://")?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = crate::vocab::plain_host(host)?;
    if path.trim_end_matches('/') == "_services/token" {
        return Some(format!("https://{host}"));
    }
    if !path.is_empty() {
        return None;
    }
    let sub = host
        .strip_prefix("token.actions.")?
        .strip_suffix(".ghe.com")?;
    (!sub.is_empty() && !sub.starts_with('.') && !sub.ends_with('.'))
        .then(|| format!("https://{sub}.ghe.com"))
}

/// Buildkite's OIDC issuer (its agents' tokens).
const BUILDKITE_ISSUER: &str = "https://agent.buildkite.com";

/// Chainguard's identity issuers (the `chainguard-identity` type in
/// Fulcio's configuration: SAN `<issuer>/<sub>`), its production one and
/// its staging one.
const CHAINGUARD_ISSUERS: [&str; 2] = ["https://issuer.enforce.dev", "https://issuer.chainops.dev"];

/// CircleCI's OIDC issuer, also per organization (`.../org/<id>`).
const CIRCLECI_ISSUER: &str = "https://oidc.circleci.com";

/// The SAN Fulcio gives a CircleCI job's token (its `circleci-job`
/// template): `https://circleci.com/api/v2/projects/<project-id>/pipeline-definitions/<pipeline-definition-id>`.
fn circleci_pipeline(issuer: &str, claims: &StringClaims) -> Option<String> {
    let circleci = issuer == CIRCLECI_ISSUER
        || issuer
            .strip_prefix(CIRCLECI_ISSUER)
            .and_then(|rest| rest.strip_prefix("/org/"))
            .is_some_and(|org| !org.is_empty() && !org.contains('/'));
    if !circleci {
        return None;
    }
    let project = claims.get("oidc.circleci.com/project-id")?;
    let definition = claims.get("oidc.circleci.com/pipeline-definition-id")?;
    Some(format!(
        "https://circleci.com/api/v2/projects/{project}/pipeline-definitions/{definition}"
    ))
}

/// Claims `sigstore-oidc` does not model, read for the SAN check and reports.
#[derive(Debug, Default, Deserialize)]
struct ExtraClaims {
    job_workflow_ref: Option<String>,
    ci_config_ref_uri: Option<String>,
    organization_slug: Option<String>,
    pipeline_slug: Option<String>,
    repository: Option<String>,
    repository_visibility: Option<String>,
    project_path: Option<String>,
    project_visibility: Option<String>,
}

/// The token's string-valued claims, each at most [`MAX_CLAIM_BYTES`], for
/// consumers that name the claims they need (build provenance). Unverified,
/// like every claim here: outside text until Fulcio has accepted the token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StringClaims(std::collections::BTreeMap<String, String>);

/// The longest claim value [`StringClaims`] keeps; a longer one counts as absent.
pub(crate) const MAX_CLAIM_BYTES: usize = 4096;

impl StringClaims {
    fn from_payload(payload: &[u8]) -> StringClaims {
        let all: std::collections::BTreeMap<String, serde_json::Value> =
            serde_json::from_slice(payload).unwrap_or_default();
        StringClaims(
            all.into_iter()
                .filter_map(|(k, v)| match v {
                    serde_json::Value::String(s) if s.len() <= MAX_CLAIM_BYTES => Some((k, s)),
                    _ => None,
                })
                .collect(),
        )
    }

    /// A claim's value; absent when missing, empty, not a string or too long.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Claims from `(name, value)` pairs (tests and fixtures).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> StringClaims {
        StringClaims(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        )
    }
}

/// An identity token with its parsed claims. `Debug` and `Display` never show it.
#[derive(Clone)]
pub struct IdToken {
    token: IdentityToken,
    origin: TokenOrigin,
    identity: TokenIdentity,
    claims: StringClaims,
}

impl fmt::Debug for IdToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdToken")
            .field("origin", &self.origin)
            .field("identity", &self.identity.identity)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for IdToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<redacted identity token from {}>", self.origin)
    }
}

impl IdToken {
    /// The commit a certificate for this token names (Fulcio's Source
    /// Repository Digest, from a GitHub Actions job's `sha` claim): a full
    /// hex commit, else none.
    pub(crate) fn source_commit(&self) -> Option<&str> {
        self.claims
            .get("sha")
            .filter(|_| self.identity.is_github_actions())
            .filter(|s| crate::vocab::is_commit(s))
    }

    /// The token itself, to hide it wherever text from outside may echo it.
    pub(crate) fn secret(&self) -> &str {
        self.token.expose_secret()
    }

    /// Read a JWT's claims (no signature check: Fulcio authenticates the token).
    pub fn parse(origin: TokenOrigin, jwt: &str) -> Result<IdToken, TokenError> {
        let jwt = jwt.trim();
        // The reason may quote a claim, of any length: capped.
        let token = IdentityToken::from_jwt(jwt).map_err(|e| TokenError::Malformed {
            origin,
            reason: crate::text::capped(&e.to_string(), crate::text::MESSAGE_CHARS),
        })?;
        let payload = jwt
            .split('.')
            .nth(1)
            .and_then(|p| URL_SAFE_NO_PAD.decode(p.trim_end_matches('=')).ok())
            .unwrap_or_default();
        let mut extra: ExtraClaims = serde_json::from_slice(&payload).unwrap_or_default();
        // An empty claim names nothing: as absent.
        for claim in [
            &mut extra.job_workflow_ref,
            &mut extra.ci_config_ref_uri,
            &mut extra.organization_slug,
            &mut extra.pipeline_slug,
        ] {
            if claim.as_deref() == Some("") {
                *claim = None;
            }
        }
        let strings = StringClaims::from_payload(&payload);
        if !token.claims().aud.contains(SIGSTORE_AUDIENCE) {
            return Err(TokenError::WrongAudience { origin });
        }
        let claims = token.claims();
        let buildkite_pipeline = match (&extra.organization_slug, &extra.pipeline_slug) {
            (Some(org), Some(pipeline)) if claims.iss == BUILDKITE_ISSUER => {
                Some(format!("https://buildkite.com/{org}/{pipeline}"))
            }
            _ => None,
        };
        let circleci_pipeline = circleci_pipeline(&claims.iss, &strings);
        let chainguard = CHAINGUARD_ISSUERS
            .contains(&claims.iss.as_str())
            .then(|| format!("{}/{}", claims.iss, claims.sub));
        let identity = TokenIdentity {
            identity: chainguard
                .clone()
                .or_else(|| claims.email.clone())
                .or_else(|| {
                    extra
                        .job_workflow_ref
                        .as_ref()
                        .map(|r| format!("https://github.com/{r}"))
                })
                .or_else(|| {
                    extra
                        .ci_config_ref_uri
                        .as_ref()
                        .map(|r| format!("https://{r}"))
                })
                .or_else(|| buildkite_pipeline.clone())
                .or_else(|| circleci_pipeline.clone())
                .unwrap_or_else(|| claims.sub.clone()),
            issuer: claims.iss.clone(),
            subject: claims.sub.clone(),
            email: claims.email.clone(),
            job_workflow_ref: extra.job_workflow_ref,
            ci_config_ref_uri: extra.ci_config_ref_uri,
            buildkite_pipeline,
            circleci_pipeline,
            chainguard,
            federated: claims.federated_claims.is_some(),
            repository: extra.repository.or(extra.project_path),
            repository_visibility: extra.repository_visibility.or(extra.project_visibility),
        };
        Ok(IdToken {
            token,
            origin,
            identity,
            claims: strings,
        })
    }

    /// Every string-valued claim (see [`StringClaims`]).
    pub fn claims(&self) -> &StringClaims {
        &self.claims
    }

    pub fn origin(&self) -> TokenOrigin {
        self.origin
    }

    pub fn identity(&self) -> &TokenIdentity {
        &self.identity
    }

    /// The token for `sigstore-fulcio`, after checking it is still valid for `margin`.
    pub(crate) fn for_fulcio(&self, margin: Duration) -> Result<&IdentityToken, TokenError> {
        let deadline = jiff::Timestamp::now()
            .checked_add(
                jiff::SignedDuration::try_from(margin).unwrap_or(jiff::SignedDuration::ZERO),
            )
            .unwrap_or(jiff::Timestamp::MAX);
        if self.token.expiration() <= deadline {
            return Err(TokenError::Expired {
                origin: self.origin,
                at: self.token.expiration(),
            });
        }
        Ok(&self.token)
    }
}

/// Why no usable identity token could be had. Each message says how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the identity token from {origin} is not a valid JWT ({reason}): pass the raw token, header.payload.signature")]
    Malformed { origin: TokenOrigin, reason: String },
    #[error("the identity token from {origin} is not meant for Sigstore (its `aud` lacks \"sigstore\"): request it with audience `sigstore`")]
    WrongAudience { origin: TokenOrigin },
    #[error("the identity token from {origin} expired at {at}: obtain a fresh token (CI tokens live minutes; request it right before signing)")]
    Expired {
        origin: TokenOrigin,
        at: jiff::Timestamp,
    },
    #[error("OIDC token request failed: {detail}; fix: {ACTIONS_PERMISSION_FIX}")]
    ActionsRequest { detail: String },
    #[error("OIDC token request failed: {detail} (after retries); the Actions token endpoint is failing, not this job's setup; fix: re-run the job")]
    ActionsUnavailable { detail: String },
    /// The job may ask (the runner named the endpoint, which it does only
    /// with `id-token: write`), but the answer is no token: a proxy's page,
    /// or another service at that URL.
    #[error("OIDC token request failed: {detail}; the job may request tokens, but what answered is not GitHub's token endpoint; fix: check ACTIONS_ID_TOKEN_REQUEST_URL and any proxy in front of it, then re-run the job")]
    ActionsAnswer { detail: String },
    /// The endpoint the runner named (so the job may ask) refused the
    /// request: TLS refused it, or it answered a status no retry changes.
    #[error("OIDC token request failed: {detail}; the job may request tokens (the runner names the endpoint only to a job with `id-token: write`), but the request to it was refused{}; fix: check ACTIONS_ID_TOKEN_REQUEST_URL and any proxy in front of it, then re-run the job", if *.tls { " by TLS (the certificate, or https to a server that speaks plain http)" } else { "" })]
    ActionsRefused { detail: String, tls: bool },
    /// The endpoint is plain http to another machine: the bearer would
    /// cross the network in the clear. actions/runner names an https one.
    #[error("ACTIONS_ID_TOKEN_REQUEST_URL `{url}` is plain http to another machine, so the request's bearer, which asks for tokens of this job's identity, would cross the network in the clear; nothing was sent; fix: leave it as the runner sets it (https), or serve the endpoint over https (plain http is taken only on this machine: localhost, 127.0.0.1, ::1)")]
    ActionsCleartext { url: String },
    /// No request can be made of what the job's environment names.
    #[error("OIDC token request failed: ACTIONS_ID_TOKEN_REQUEST_URL or ACTIONS_ID_TOKEN_REQUEST_TOKEN is not one a request can be made with ({detail}); fix: leave both as the runner sets them (a step or a runner emulator that sets them must give a URL and a one-line token)")]
    ActionsEnvironment { detail: String },
    /// The CI agent's token command could not be run, or failed, in its
    /// words (capped, one line).
    #[error("the CI agent's token command `{command}` failed ({why}); fix: enable OIDC for the job (Buildkite: an agent that can request tokens; CircleCI: a context with OIDC), or pass --identity-token or set SIGSTORE_ID_TOKEN")]
    CiAgent { command: String, why: String },
    #[error("ambient CI credential detection (the CI agent's token command or endpoint) did not answer within {}s; fix: pass --identity-token or set SIGSTORE_ID_TOKEN", AMBIENT_TIMEOUT.as_secs())]
    AmbientTimeout,
    #[error("no identity token in this GitLab CI job: SIGSTORE_ID_TOKEN is not set; fix: {GITLAB_TOKEN_FIX}")]
    GitLabNoToken,
    #[error("no identity token found: pass --identity-token, set SIGSTORE_ID_TOKEN, or run in CI with OIDC enabled (GitHub Actions: {ACTIONS_PERMISSION_FIX})")]
    NotFound,
}

impl TokenError {
    /// Whether the fix is in the run's setup (exit 2), not a service that
    /// failed while it ran (exit 1: a re-run may succeed).
    pub(crate) fn is_usage(&self) -> bool {
        !matches!(
            self,
            TokenError::ActionsUnavailable { .. } | TokenError::AmbientTimeout
        )
    }
}

/// How long ambient CI credential detection may take: a CI agent's token
/// command answers in a second or two.
const AMBIENT_TIMEOUT: Duration = Duration::from_secs(30);

/// The token `agent`'s command prints, within [`AMBIENT_TIMEOUT`]. Run
/// here, not through sigstore-oidc's ambient detection, which runs the
/// same commands blocking with nothing to stop them (a hung agent outlived
/// the run) and drops what they printed when they fail. The child is
/// killed when given up on; what it prints is capped (a token is a few
/// KiB), and its words on failure are one capped line.
async fn from_ci_agent(agent: CiAgent) -> Result<String, TokenError> {
    let (program, args) = agent.command();
    let command = agent.shown();
    let failed = |why: String| TokenError::CiAgent {
        command: command.clone(),
        why,
    };
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    // A group of its own, so what it starts can be stopped with it.
    #[cfg(unix)]
    command.process_group(0);
    let mut child = command.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => failed(format!("`{program}` is not on PATH")),
        _ => failed(e.to_string()),
    })?;
    let mut group = Leftovers(child.id());
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    let status = {
        // Past its cap a pipe is still drained, so a talkative agent never
        // blocks on it; the reads end when the pipes close, which a
        // grandchild may hold open after the agent exits: then a moment is
        // given to them, no more.
        let reads = async {
            tokio::try_join!(
                read_capped(stdout, 64 << 10, &mut out),
                read_capped(stderr, 4 << 10, &mut err)
            )
        };
        let ran = async {
            tokio::pin!(reads);
            let (status, read) = tokio::select! {
                status = child.wait() => (status?, false),
                read = &mut reads => {
                    read?;
                    (child.wait().await?, true)
                }
            };
            let closed = read
                || tokio::time::timeout(Duration::from_secs(1), &mut reads)
                    .await
                    .is_ok();
            Ok::<_, std::io::Error>((status, closed))
        };
        match tokio::time::timeout(AMBIENT_TIMEOUT, ran).await {
            Err(_) => {
                // Given up on: its group is killed, and the command reaped
                // before the run goes on (a moment at most), so it is gone
                // when the run ends, not merely signalled.
                drop(group);
                let _ = child.start_kill();
                let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
                return Err(TokenError::AmbientTimeout);
            }
            Ok(Err(e)) => return Err(failed(e.to_string())),
            Ok(Ok((status, closed))) => {
                if closed {
                    // Nothing of it holds the pipes: nothing to stop.
                    group.0 = None;
                }
                status
            }
        }
    };
    drop(group);
    let printed = String::from_utf8_lossy(&out).trim().to_owned();
    if !status.success() {
        let said = crate::text::secret_hidden(
            crate::text::capped(
                &crate::text::line(String::from_utf8_lossy(&err).trim()),
                300,
            ),
            &printed,
        );
        return Err(failed(format!("{status}: {said}")));
    }
    if printed.is_empty() {
        return Err(failed("it printed no token".to_owned()));
    }
    Ok(printed)
}

/// The process group of a CI agent's token command, stopped when dropped:
/// what the command started and left holding its output (given a moment
/// once the command exited), or anything of it when the run gave up on it.
/// Regression: a grandchild outlived the run. Set to `None` once the
/// command's pipes closed, so a group no process may be left in is never
/// signalled (its number could be taken again).
struct Leftovers(Option<u32>);

impl Drop for Leftovers {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(pid) = self
            .0
            .and_then(|id| i32::try_from(id).ok())
            .and_then(rustix::process::Pid::from_raw)
        {
            // Gone already is fine: there is nothing left to stop.
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
    }
}

/// The first `cap` bytes of `pipe` into `kept`, and the rest read and
/// dropped, to its end.
async fn read_capped(
    pipe: impl tokio::io::AsyncRead + Unpin,
    cap: u64,
    kept: &mut Vec<u8>,
) -> std::io::Result<()> {
    use tokio::io::AsyncReadExt as _;
    let mut pipe = pipe;
    (&mut pipe).take(cap).read_to_end(kept).await?;
    tokio::io::copy(&mut pipe, &mut tokio::io::sink()).await?;
    Ok(())
}

/// The Actions endpoint's answer.
#[derive(Deserialize)]
struct ActionsTokenResponse {
    value: String,
}

/// How large the Actions token endpoint's answer may be: a token is a few
/// KiB; the endpoint is named by the environment.
const TOKEN_ANSWER_BYTES: usize = 64 << 10;

/// Told of each token [`TokenSource::fetch`] requested (from the Actions
/// endpoint or ambient CI credentials, not one given outright), before it is
/// parsed, used or could be shown anywhere.
#[derive(Clone)]
pub(crate) struct TokenObserver(Arc<dyn Fn(&Secret) + Send + Sync>);

impl TokenObserver {
    pub(crate) fn new(f: impl Fn(&Secret) + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }
}

impl fmt::Debug for TokenObserver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenObserver")
    }
}

/// Where tokens come from for the whole run, so the session can fetch a fresh
/// one when a short-lived CI token expires between certificates.
#[derive(Debug, Clone)]
pub struct TokenSource {
    settings: IdentitySettings,
    http: reqwest::Client,
    retry: RetryPolicy,
    observer: Option<TokenObserver>,
}

impl TokenSource {
    pub fn new(settings: IdentitySettings, http: reqwest::Client, retry: RetryPolicy) -> Self {
        Self {
            settings,
            http,
            retry,
            observer: None,
        }
    }

    /// Hand every requested token to `observer` as soon as it arrives.
    pub(crate) fn observed_by(mut self, observer: TokenObserver) -> Self {
        self.observer = Some(observer);
        self
    }

    fn arrived(&self, token: &str) {
        if let Some(o) = &self.observer {
            (o.0)(&Secret::new(token));
        }
    }

    /// Whether [`Self::fetch`] can return a different token later (it requests one).
    pub(crate) fn can_refresh(&self) -> bool {
        self.settings.explicit.is_none()
    }

    /// The first token found, in the order of the module doc.
    pub(crate) async fn fetch(&self) -> Result<IdToken, TokenError> {
        if let Some((origin, token)) = &self.settings.explicit {
            return IdToken::parse(*origin, token.expose());
        }
        if let Some(req) = &self.settings.actions {
            let jwt = self.request_actions_token(req).await?;
            self.arrived(&jwt);
            return IdToken::parse(TokenOrigin::GitHubActions, &jwt);
        }
        if self.settings.github_actions {
            return Err(TokenError::ActionsRequest {
                detail: "ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set in this GitHub Actions job".into(),
            });
        }
        // GitLab mints a token only into the variable a job's `id_tokens`
        // names; ambient detection would fail saying only "GitLab CI
        // detection error".
        if self.settings.gitlab_ci {
            return Err(TokenError::GitLabNoToken);
        }
        let Some(agent) = self.settings.ci_agent else {
            return Err(TokenError::NotFound);
        };
        let jwt = from_ci_agent(agent).await?;
        self.arrived(&jwt);
        IdToken::parse(TokenOrigin::AmbientCi, &jwt)
    }

    async fn request_actions_token(&self, req: &ActionsTokenRequest) -> Result<String, TokenError> {
        // The bearer asks for tokens of the job's identity: never in the
        // clear across a network, whoever named the URL.
        // (One that is no URL at all fails as the request is built.)
        if reqwest::Url::parse(&req.url).is_ok() && !net::secret_may_go_to(&req.url) {
            return Err(TokenError::ActionsCleartext {
                url: crate::text::echoed(&crate::text::url_queries_hidden(&req.url)),
            });
        }
        let sep = if req.url.contains('?') { '&' } else { '?' };
        let url = format!("{}{sep}audience={SIGSTORE_AUDIENCE}", req.url);
        let response = net::retry(&self.retry, "GitHub Actions OIDC token", || async {
            let resp = self
                .http
                .get(&url)
                .bearer_auth(req.bearer.expose())
                .header(reqwest::header::ACCEPT, "application/json")
                .send()
                .await
                .map_err(ActionsFailure::Connection)?;
            let status = resp.status();
            if !status.is_success() {
                let retry_after = net::retry_after(resp.headers());
                return Err(ActionsFailure::Status {
                    status: status.as_u16(),
                    retry_after,
                });
            }
            let body = net::body_up_to(resp, TOKEN_ANSWER_BYTES)
                .await
                .map_err(ActionsFailure::Connection)?
                .ok_or(ActionsFailure::TooLarge)?;
            // serde's message may quote what it read, and that is the token.
            serde_json::from_slice::<ActionsTokenResponse>(&body)
                .map_err(|_| ActionsFailure::NoToken)
        })
        .await
        .map_err(|e| {
            // No answer, or the endpoint failing (what is retried): a run
            // later may succeed. TLS refusing the endpoint is the setup's.
            let tls = matches!(&e, ActionsFailure::Connection(c) if net::tls_refused(c));
            if let ActionsFailure::Connection(c) = &e {
                if c.is_builder() {
                    return TokenError::ActionsEnvironment {
                        detail: crate::text::capped(&c.to_string(), crate::text::MESSAGE_CHARS),
                    };
                }
            }
            // reqwest's message holds the URL, of any length the
            // environment gave it.
            let detail = crate::text::capped(
                &crate::text::url_queries_hidden(&e.to_string()),
                crate::text::MESSAGE_CHARS,
            );
            if matches!(e, ActionsFailure::NoToken | ActionsFailure::TooLarge) {
                return TokenError::ActionsAnswer { detail };
            }
            match e.retry() {
                Retry::After(_) if !tls => TokenError::ActionsUnavailable { detail },
                _ => TokenError::ActionsRefused { detail, tls },
            }
        })?;
        Ok(response.value)
    }
}

#[derive(Debug, thiserror::Error)]
enum ActionsFailure {
    #[error("could not reach the token endpoint: {0}")]
    Connection(#[source] reqwest::Error),
    #[error("the token endpoint answered HTTP {status}")]
    Status {
        status: u16,
        retry_after: Option<Duration>,
    },
    #[error("the token endpoint's answer is not the JSON object with a `value` string it sends")]
    NoToken,
    #[error(
        "the token endpoint's answer is larger than {TOKEN_ANSWER_BYTES} bytes, which no token is"
    )]
    TooLarge,
}

impl Retryable for ActionsFailure {
    fn retry(&self) -> Retry {
        match self {
            // A URL or a header no request can carry: the same every time.
            ActionsFailure::Connection(e) if e.is_builder() => Retry::No,
            ActionsFailure::Connection(_) => Retry::After(None),
            ActionsFailure::Status {
                status,
                retry_after,
            } if net::is_transient(*status) => Retry::After(*retry_after),
            _ => Retry::No,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The JSON report's `token_source` values, as the README lists them.
    /// Regression: GitHub Actions' read `git-hub-actions`.
    #[test]
    fn token_sources_are_named_for_the_json_report() {
        let names: Vec<serde_json::Value> = [
            TokenOrigin::Flag,
            TokenOrigin::ActionInput,
            TokenOrigin::SigstoreIdTokenEnv,
            TokenOrigin::GitHubActions,
            TokenOrigin::AmbientCi,
        ]
        .iter()
        .map(|o| serde_json::to_value(o).unwrap())
        .collect();
        assert_eq!(
            names,
            [
                "flag",
                "action-input",
                "sigstore-id-token-env",
                "github-actions",
                "ambient-ci"
            ]
        );
    }

    fn jwt(claims: serde_json::Value) -> String {
        let enc = |v: &[u8]| URL_SAFE_NO_PAD.encode(v);
        format!(
            "{}.{}.{}",
            enc(br#"{"alg":"RS256"}"#),
            enc(claims.to_string().as_bytes()),
            enc(b"sig")
        )
    }

    /// CircleCI's jobs are certified by their pipeline definition, per
    /// Fulcio's `circleci-job` template (the organization's issuer too);
    /// an issuer whose rule the claims do not tell (Codefresh, Buddy,
    /// Kubernetes) takes the SAN Fulcio gives. Regression: both were held
    /// to the token's `sub`, which no such certificate names, so no job of
    /// theirs could sign.
    #[test]
    fn circleci_and_other_ci_sans_are_fulcios() {
        let circleci = |iss: &str| {
            serde_json::json!({
                "iss": iss, "aud": "sigstore", "exp": future(), "sub": "org/O/project/P/user/U",
                "oidc.circleci.com/project-id": "P", "oidc.circleci.com/pipeline-definition-id": "D",
            })
        };
        let san = "https://circleci.com/api/v2/projects/P/pipeline-definitions/D";
        for iss in [
            "https://oidc.circleci.com",
            "https://oidc.circleci.com/org/O",
        ] {
            let t = IdToken::parse(TokenOrigin::AmbientCi, &jwt(circleci(iss))).unwrap();
            assert!(t.identity().matches_san(san), "{iss}");
            assert!(!t.identity().matches_san("org/O/project/P/user/U"), "{iss}");
            assert_eq!(t.identity().identity, san);
            assert_eq!(
                t.identity().expected_certificate_identity(),
                Some((san, iss))
            );
        }
        let codefresh = serde_json::json!({
            "iss": "https://oidc.codefresh.io", "aud": "sigstore", "exp": future(),
            "sub": "account:A:pipeline:P",
        });
        let t = IdToken::parse(TokenOrigin::SigstoreIdTokenEnv, &jwt(codefresh)).unwrap();
        assert!(t
            .identity()
            .matches_san("https://g.codefresh.io/acme/build:A/P"));
        assert_eq!(t.identity().expected_certificate_identity(), None);
        // Chainguard's names `<issuer>/<sub>`, an email claim or not, for
        // both of its issuers. Regression: its staging issuer's was taken
        // for an email's, and every certificate refused.
        for issuer in ["https://issuer.enforce.dev", "https://issuer.chainops.dev"] {
            let chainguard = serde_json::json!({
                "iss": issuer, "aud": "sigstore", "exp": future(),
                "sub": "abc/def", "email": "a@example.com",
            });
            let t = IdToken::parse(TokenOrigin::SigstoreIdTokenEnv, &jwt(chainguard)).unwrap();
            let san = format!("{issuer}/abc/def");
            assert!(t.identity().matches_san(&san), "{issuer}");
            assert!(!t.identity().matches_san("a@example.com"));
            assert_eq!(
                t.identity().expected_certificate_identity(),
                Some((san.as_str(), issuer))
            );
        }
        // An email issuer's certificate still names that email.
        let email = serde_json::json!({
            "iss": "https://oauth2.sigstore.dev/auth", "aud": "sigstore", "exp": future(),
            "sub": "x", "email": "a@example.com",
        });
        let t = IdToken::parse(TokenOrigin::Flag, &jwt(email)).unwrap();
        assert!(t.identity().matches_san("a@example.com"));
        assert!(!t.identity().matches_san("b@example.com"));
    }

    /// GitLab's visibility claim, made for Sigstore, guards a private
    /// project's name as GitHub's does a repository's. Regression: only
    /// GitHub's was read, and a private GitLab project signed to the public
    /// log without a word.
    #[test]
    fn a_private_gitlab_project_is_not_public() {
        let claims = |visibility: &str| {
            serde_json::json!({
                "iss": "https://gitlab.com", "sub": "project_path:g/secret:ref_type:tag:ref:v1",
                "aud": "sigstore", "exp": future(),
                "project_path": "g/secret", "project_visibility": visibility,
                "ci_config_ref_uri": "gitlab.com/g/secret//.gitlab-ci.yml@refs/tags/v1",
            })
        };
        for visibility in ["private", "internal"] {
            let t = IdToken::parse(TokenOrigin::Flag, &jwt(claims(visibility))).unwrap();
            assert_eq!(
                t.identity().non_public_repository(),
                Some(("g/secret", visibility))
            );
            assert!(!t.identity().is_github_actions());
        }
        let t = IdToken::parse(TokenOrigin::Flag, &jwt(claims("public"))).unwrap();
        assert_eq!(t.identity().non_public_repository(), None);
        let t = IdToken::parse(TokenOrigin::Flag, &jwt(github_claims(future()))).unwrap();
        assert!(t.identity().is_github_actions());
    }

    fn github_claims(exp: i64) -> serde_json::Value {
        serde_json::json!({
            "iss": GITHUB_ACTIONS_ISSUER, "sub": "repo:o/r:ref:refs/tags/v1", "aud": "sigstore", "exp": exp,
            "job_workflow_ref": "o/r/.github/workflows/release.yml@refs/tags/v1",
        })
    }

    fn future() -> i64 {
        jiff::Timestamp::now().as_second() + 600
    }

    #[test]
    fn github_token_identity_is_the_workflow_uri() {
        let t = IdToken::parse(TokenOrigin::Flag, &jwt(github_claims(future()))).unwrap();
        let id = t.identity();
        assert_eq!(
            id.identity,
            "https://github.com/o/r/.github/workflows/release.yml@refs/tags/v1"
        );
        assert!(id.matches_san("https://github.com/o/r/.github/workflows/release.yml@refs/tags/v1"));
        // github.com's issuer: exactly github.com and the ref, nothing around it.
        for lie in [
            "https://ghe.example.com/o/r/.github/workflows/release.yml@refs/tags/v1",
            "https://evil.example/o/r/.github/workflows/release.yml@refs/tags/v1",
            "https://github.com/evil/o/r/.github/workflows/release.yml@refs/tags/v1",
            "https://github.com.evil.example/o/r/.github/workflows/release.yml@refs/tags/v1",
            "http://github.com/o/r/.github/workflows/release.yml@refs/tags/v1",
            "https://github.com/o/r/.github/workflows/release.yml@refs/tags/v1/",
            "https://github.com/evil/r/.github/workflows/release.yml@refs/tags/v2",
        ] {
            assert!(!id.matches_san(lie), "{lie}");
        }
        assert!(id.matches_issuer(GITHUB_ACTIONS_ISSUER));
        assert!(!id.matches_issuer("https://accounts.google.com"));
    }

    /// A Buildkite job's certificate names its pipeline, as Fulcio's
    /// Buildkite provider does (`https://buildkite.com/<org>/<pipeline>`),
    /// not the token's subject. Regression: the SAN had to be the subject,
    /// so no Buildkite job could sign.
    #[test]
    fn buildkite_token_identity_is_the_pipeline_url() {
        let claims = serde_json::json!({
            "iss": "https://agent.buildkite.com", "aud": "sigstore", "exp": future(),
            "sub": "organization:acme:pipeline:app:ref:refs/heads/main:commit:abc:step:build",
            "organization_slug": "acme", "pipeline_slug": "app",
        });
        let t = IdToken::parse(TokenOrigin::Flag, &jwt(claims)).unwrap();
        let id = t.identity();
        assert_eq!(id.identity, "https://buildkite.com/acme/app");
        assert!(id.matches_san("https://buildkite.com/acme/app"));
        for lie in [
            "organization:acme:pipeline:app:ref:refs/heads/main:commit:abc:step:build",
            "https://buildkite.com/acme/other",
            "https://buildkite.com/evil/app",
            "https://buildkite.com/acme/app/",
        ] {
            assert!(!id.matches_san(lie), "{lie}");
        }
        // The slugs mean nothing from another issuer.
        let other = serde_json::json!({
            "iss": "https://accounts.example", "aud": "sigstore", "exp": future(),
            "sub": "someone", "organization_slug": "acme", "pipeline_slug": "app",
        });
        let t = IdToken::parse(TokenOrigin::Flag, &jwt(other)).unwrap();
        assert_eq!(t.identity().identity, "someone");
        assert_eq!(t.identity().expected_certificate_identity(), None);
    }

    /// github.com's issuer with an enterprise slug
    /// (`https://token.actions.githubusercontent.com/<slug>`) is github.com's too.
    #[test]
    fn github_com_issuers_with_a_slug_want_github_com() {
        let mut claims = github_claims(future());
        claims["iss"] = format!("{GITHUB_ACTIONS_ISSUER}/acme").into();
        let t = IdToken::parse(TokenOrigin::Flag, &jwt(claims)).unwrap();
        let r = "o/r/.github/workflows/release.yml@refs/tags/v1";
        assert!(t.identity().matches_san(&format!("https://github.com/{r}")));
        assert!(!t
            .identity()
            .matches_san(&format!("https://evil.example/{r}")));
    }

    /// On an Enterprise issuer (or any other that carries a workflow ref) the
    /// SAN's host is Fulcio's to name, but it is a host: the ref directly
    /// under it, no path prefix, no userinfo.
    #[test]
    fn other_workflow_sans_are_a_host_and_the_ref() {
        let r = "o/r/.github/workflows/release.yml@refs/tags/v1";
        for iss in [
            "https://ghes.example.com/_services/token",
            "https://token.actions.acme.ghe.com",
            "https://ci.example.com",
        ] {
            let mut claims = github_claims(future());
            claims["iss"] = iss.into();
            let t = IdToken::parse(TokenOrigin::Flag, &jwt(claims)).unwrap();
            let id = t.identity();
            for host in ["ghes.example.com", "github.com", "ghes.example.com:8443"] {
                assert!(
                    id.matches_san(&format!("https://{host}/{r}")),
                    "{iss} {host}"
                );
            }
            for lie in [
                format!("https://ghes.example.com/evil/{r}"),
                format!("https://user@ghes.example.com/{r}"),
                format!("https:///{r}"),
                format!("http://ghes.example.com/{r}"),
                format!("https://ghes.example.com/{r}x"),
                format!("https://ghes.example.com?/{r}"),
            ] {
                assert!(!id.matches_san(&lie), "{iss} {lie}");
            }
        }
    }

    /// A re-run keeps existing bundles by the identity the claims tell; on an
    /// Enterprise host they do not tell the SAN's host, so Fulcio is asked.
    #[test]
    fn enterprise_github_tokens_leave_the_san_to_fulcio() {
        let t = IdToken::parse(TokenOrigin::Flag, &jwt(github_claims(future()))).unwrap();
        assert_eq!(
            t.identity().expected_certificate_identity(),
            Some((
                "https://github.com/o/r/.github/workflows/release.yml@refs/tags/v1",
                GITHUB_ACTIONS_ISSUER
            ))
        );
        for iss in [
            "https://ghes.example.com/_services/token",
            "https://ghes.example.com/_services/token/",
            "https://token.actions.acme.ghe.com",
        ] {
            let mut claims = github_claims(future());
            claims["iss"] = iss.into();
            let t = IdToken::parse(TokenOrigin::Flag, &jwt(claims)).unwrap();
            assert_eq!(t.identity().expected_certificate_identity(), None, "{iss}");
        }
        assert!(!github_enterprise_issuer(
            "https://token.actions.githubusercontent.com"
        ));
        assert!(!github_enterprise_issuer(
            "https://evil.example/token.actions.x.ghe.com"
        ));
    }

    #[test]
    fn string_claims_keep_strings_of_bounded_length_only() {
        let mut claims = github_claims(future());
        claims["run_attempt"] = serde_json::json!(2);
        claims["event_name"] = serde_json::json!("push");
        claims["ref"] = serde_json::json!("x".repeat(MAX_CLAIM_BYTES + 1));
        claims["head_ref"] = serde_json::json!("");
        let t = IdToken::parse(TokenOrigin::Flag, &jwt(claims)).unwrap();
        assert_eq!(t.claims().get("event_name"), Some("push"));
        assert_eq!(t.claims().get("run_attempt"), None, "not a string");
        assert_eq!(t.claims().get("ref"), None, "too long");
        assert_eq!(t.claims().get("head_ref"), None, "empty");
        assert_eq!(t.claims().get("iss"), Some(GITHUB_ACTIONS_ISSUER));
    }

    #[test]
    fn email_token_identity_is_the_email() {
        let claims = serde_json::json!({"iss": "https://accounts.google.com", "sub": "123", "aud": ["x", "sigstore"], "exp": future(), "email": "a@b.c"});
        let t = IdToken::parse(TokenOrigin::SigstoreIdTokenEnv, &jwt(claims)).unwrap();
        assert_eq!(t.identity().identity, "a@b.c");
        assert!(t.identity().matches_san("a@b.c"));
    }

    #[test]
    fn token_for_another_audience_is_refused() {
        let mut claims = github_claims(future());
        claims["aud"] = "https://github.com/o".into();
        let err = IdToken::parse(TokenOrigin::Flag, &jwt(claims)).unwrap_err();
        assert!(matches!(err, TokenError::WrongAudience { .. }), "{err}");
    }

    #[test]
    fn garbage_is_malformed_and_not_echoed() {
        let err = IdToken::parse(TokenOrigin::Flag, "not-a-jwt-secret-value").unwrap_err();
        assert!(matches!(err, TokenError::Malformed { .. }));
        assert!(!err.to_string().contains("secret-value"));
    }

    /// A claim of any length that does not parse is quoted capped.
    /// Regression: an `exp` of 50,000 characters was repeated whole in the
    /// error, its annotation and the step summary.
    #[test]
    fn a_malformed_claim_is_quoted_capped() {
        let mut claims = github_claims(future());
        claims["exp"] = "A".repeat(50_000).into();
        let err = IdToken::parse(TokenOrigin::Flag, &jwt(claims)).unwrap_err();
        assert!(matches!(err, TokenError::Malformed { .. }), "{err}");
        assert!(
            err.to_string().len() < 2_000,
            "{} bytes",
            err.to_string().len()
        );
    }

    #[test]
    fn expired_token_is_refused_before_use() {
        let t = IdToken::parse(
            TokenOrigin::Flag,
            &jwt(github_claims(jiff::Timestamp::now().as_second() - 5)),
        )
        .unwrap();
        assert!(matches!(
            t.for_fulcio(Duration::ZERO),
            Err(TokenError::Expired { .. })
        ));
        let t = IdToken::parse(TokenOrigin::Flag, &jwt(github_claims(future()))).unwrap();
        assert!(t.for_fulcio(Duration::from_secs(30)).is_ok());
        assert!(t.for_fulcio(Duration::from_secs(3600)).is_err());
    }

    #[test]
    fn tokens_are_redacted() {
        let raw = jwt(github_claims(future()));
        let t = IdToken::parse(TokenOrigin::Flag, &raw).unwrap();
        assert!(!format!("{t:?}{t}").contains(&raw));
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s}"), "Secret(<redacted>) <redacted>");
    }

    #[test]
    fn plan_follows_source_order() {
        let actions = Some(ActionsTokenRequest {
            url: "http://x/t?a=1".into(),
            bearer: Secret::new("b"),
        });
        let mut s = IdentitySettings {
            explicit: None,
            actions: actions.clone(),
            github_actions: true,
            gitlab_ci: false,
            ci_agent: None,
        };
        assert_eq!(s.plan(), IdentityPlan::GitHubActions);
        s.actions = None;
        assert_eq!(s.plan(), IdentityPlan::GitHubActionsWithoutPermission);
        assert!(s.plan().to_string().contains("id-token: write"));
        s.github_actions = false;
        assert_eq!(s.plan(), IdentityPlan::NotFound);
        s.ci_agent = Some(CiAgent::Buildkite);
        assert_eq!(
            s.plan().to_string(),
            "the CI agent's token command `buildkite-agent oidc request-token --audience sigstore` (run at signing time)"
        );
        // Quoted as a shell needs it: pasted, the claims stay JSON.
        s.ci_agent = Some(CiAgent::CircleCi);
        assert!(
            s.plan()
                .to_string()
                .contains(r#"`circleci run oidc get --root-issuer --claims '{"aud":"sigstore"}'`"#),
            "{}",
            s.plan()
        );
        s.ci_agent = None;
        s.gitlab_ci = true;
        assert_eq!(s.plan(), IdentityPlan::GitLabCiWithoutToken);
        assert!(s.plan().to_string().contains("id_tokens"));
        s.gitlab_ci = false;
        s.explicit = Some((TokenOrigin::Flag, Secret::new(jwt(github_claims(future())))));
        s.actions = actions;
        assert!(matches!(
            s.plan(),
            IdentityPlan::Token {
                origin: TokenOrigin::Flag,
                identity: Some(_)
            }
        ));
    }
}
