//! Who may have signed: the signer identity, the OIDC issuer, and GitHub
//! workflow claims, matched against a certificate that already verified.
//!
//! Owns the matching rules (exact strings, anchored regular expressions,
//! cosign's `--certificate-github-workflow-*` semantics over the Fulcio
//! extensions `1.3.6.1.4.1.57264.1.x`, the signing workflow and runner
//! GitHub's CLI checks (`--signer-workflow`, `--signer-repo`,
//! `--deny-self-hosted-runners`; its `--source-ref`/`--source-digest` are the
//! ref and SHA claims here), and the source commit a release's tag
//! requires). It does no cryptography: it must only
//! be asked about a certificate sigstore-verify has accepted, which
//! [`super::verify_one`] guarantees by checking the policy last.

use std::fmt;

use regex::Regex;
use sigstore_crypto::CertificateInfo;

use crate::vocab::workflow_at_ref;

/// A regular expression that must match a whole value.
///
/// cosign searches unanchored (Go's `regexp.MatchString`), so
/// `--certificate-identity-regexp 'github.com/org/repo'` there also accepts
/// `https://github.com/attacker/x/.github/workflows/r.yml@refs/heads/github.com/org/repo`
/// (a branch anyone may name so) and `https://github.com/org/repo-other/...`:
/// a known foot-gun. Ours matches the whole value, so a pattern says exactly
/// what it accepts; write `.*` where a prefix or suffix is meant.
///
/// The anchors are put around the pattern's parsed syntax tree, not pasted
/// around its text: `^(?:PATTERN)$` with `x)|(.*` for PATTERN reads
/// `^(?:x)|(.*)$`, whose second branch accepts any value. A pattern is
/// parsed on its own (so it must be well-formed by itself), then
/// `\A(?:tree)\z` is compiled from the tree.
///
/// Perl classes and word boundaries mean what they mean in cosign (Go's
/// RE2): ASCII only (`\d` is `[0-9]`, `\w` `[0-9A-Za-z_]`, `\s`
/// `[\t\n\f\r ]`), where this crate's Unicode mode would take `\d` to be
/// any script's digits, so `v\d+` would accept a tag `v١` that cosign
/// refuses ([`go_perl_classes`]). The rest is Unicode in both (`.`,
/// `\pL`, `(?i)`).
#[derive(Debug, Clone)]
pub struct AnchoredRegex {
    pattern: String,
    regex: Regex,
}

impl AnchoredRegex {
    pub fn new(pattern: &str) -> Result<Self, regex::Error> {
        use regex_syntax::hir::{Hir, Look};
        let syntax = |e: &dyn std::fmt::Display| regex::Error::Syntax(e.to_string());
        let mut ast = regex_syntax::ast::parse::Parser::new()
            .parse(pattern)
            .map_err(|e| syntax(&e))?;
        go_perl_classes(&mut ast);
        let tree = regex_syntax::hir::translate::Translator::new()
            .translate(pattern, &ast)
            .map_err(|e| syntax(&e))?;
        let whole = Hir::concat(vec![Hir::look(Look::Start), tree, Hir::look(Look::End)]);
        Ok(AnchoredRegex {
            pattern: pattern.to_owned(),
            regex: Regex::new(&whole.to_string())?,
        })
    }

    /// The pattern as the user wrote it.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    pub fn is_match(&self, value: &str) -> bool {
        self.regex.is_match(value)
    }
}

/// Rewrites each Perl class (`\d \w \s` and their negations, alone or in
/// a bracketed class) to Go's ASCII set, and each `\b`/`\B` to an ASCII
/// word boundary (`(?-u:\b)`). The parser's nesting limit bounds the
/// recursion.
fn go_perl_classes(ast: &mut regex_syntax::ast::Ast) {
    use regex_syntax::ast::{
        Assertion, AssertionKind, Ast, ClassBracketed, ClassSet, Flag, Flags, FlagsItem,
        FlagsItemKind, Group, GroupKind,
    };
    match ast {
        Ast::ClassPerl(perl) => {
            let span = perl.span;
            *ast = Ast::class_bracketed(ClassBracketed {
                span,
                negated: false,
                kind: ClassSet::Item(go_perl_class(perl)),
            });
        }
        Ast::ClassBracketed(class) => go_class_set(&mut class.kind),
        Ast::Assertion(a)
            if matches!(
                a.kind,
                AssertionKind::WordBoundary | AssertionKind::NotWordBoundary
            ) =>
        {
            let span = a.span;
            let item = |kind| FlagsItem { span, kind };
            let assertion = Assertion {
                span,
                kind: a.kind.clone(),
            };
            *ast = Ast::group(Group {
                span,
                kind: GroupKind::NonCapturing(Flags {
                    span,
                    items: vec![
                        item(FlagsItemKind::Negation),
                        item(FlagsItemKind::Flag(Flag::Unicode)),
                    ],
                }),
                ast: Box::new(Ast::assertion(assertion)),
            });
        }
        Ast::Repetition(r) => go_perl_classes(&mut r.ast),
        Ast::Group(g) => go_perl_classes(&mut g.ast),
        Ast::Alternation(a) => a.asts.iter_mut().for_each(go_perl_classes),
        Ast::Concat(c) => c.asts.iter_mut().for_each(go_perl_classes),
        _ => {}
    }
}

fn go_class_set(set: &mut regex_syntax::ast::ClassSet) {
    use regex_syntax::ast::{ClassSet, ClassSetItem};
    fn item(i: &mut ClassSetItem) {
        match i {
            ClassSetItem::Perl(perl) => *i = go_perl_class(perl),
            ClassSetItem::Bracketed(class) => go_class_set(&mut class.kind),
            ClassSetItem::Union(union) => union.items.iter_mut().for_each(item),
            _ => {}
        }
    }
    match set {
        ClassSet::Item(i) => item(i),
        ClassSet::BinaryOp(op) => {
            go_class_set(&mut op.lhs);
            go_class_set(&mut op.rhs);
        }
    }
}

/// Go's ASCII set for a Perl class, as a class item.
fn go_perl_class(perl: &regex_syntax::ast::ClassPerl) -> regex_syntax::ast::ClassSetItem {
    use regex_syntax::ast::{
        ClassAscii, ClassAsciiKind, ClassBracketed, ClassPerlKind, ClassSet, ClassSetItem,
        ClassSetUnion, Literal, LiteralKind,
    };
    let span = perl.span;
    let ascii = |kind| {
        ClassSetItem::Ascii(ClassAscii {
            span,
            kind,
            negated: perl.negated,
        })
    };
    match perl.kind {
        ClassPerlKind::Digit => ascii(ClassAsciiKind::Digit),
        ClassPerlKind::Word => ascii(ClassAsciiKind::Word),
        // POSIX `[:space:]` holds `\v` too; Go's `\s` does not.
        ClassPerlKind::Space => {
            let items = ['\t', '\n', '\x0C', '\r', ' ']
                .into_iter()
                .map(|c| {
                    ClassSetItem::Literal(Literal {
                        span,
                        kind: LiteralKind::Verbatim,
                        c,
                    })
                })
                .collect();
            ClassSetItem::Bracketed(Box::new(ClassBracketed {
                span,
                negated: perl.negated,
                kind: ClassSet::Item(ClassSetItem::Union(ClassSetUnion { span, items })),
            }))
        }
    }
}

impl PartialEq for AnchoredRegex {
    fn eq(&self, other: &Self) -> bool {
        self.pattern == other.pattern
    }
}
impl Eq for AnchoredRegex {}

/// How one certificate field must look. One flag gives one matcher, so
/// "exact and regexp both given" cannot be expressed (clap refuses it first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matcher {
    Exact(String),
    Regexp(AnchoredRegex),
    /// An issuer of GitHub Actions tokens on the server of this host
    /// (`github.com`, also an enterprise's slug issuer; a GitHub Enterprise
    /// host's own), by `oidc::github_actions_server`, the one rule for
    /// those issuers: the issuer `--repo` and `--release` imply.
    ActionsIssuerOf(String),
}

impl Matcher {
    pub fn matches(&self, value: &str) -> bool {
        match self {
            Matcher::Exact(e) => e == value,
            Matcher::Regexp(r) => r.is_match(value),
            Matcher::ActionsIssuerOf(host) => crate::oidc::github_actions_server(value)
                .as_deref()
                .and_then(|server| server.strip_prefix("https://"))
                .is_some_and(|h| h.eq_ignore_ascii_case(host)),
        }
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Matcher::Exact(e) => write!(f, "{e:?}"),
            Matcher::Regexp(r) => write!(f, "a match for /{}/", r.pattern()),
            Matcher::ActionsIssuerOf(host) => write!(f, "a GitHub Actions issuer of {host}"),
        }
    }
}

/// The GitHub Actions claims cosign's `--certificate-github-workflow-*` flags check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GitHubClaim {
    Repository,
    Ref,
    Sha,
    Trigger,
    Name,
}

impl GitHubClaim {
    /// The flag that sets it (`--source-ref` and `--source-digest`, as
    /// GitHub's CLI spells them, are aliases of the ref and SHA flags).
    pub fn flag(self) -> &'static str {
        match self {
            GitHubClaim::Repository => "--cert-github-workflow-repository",
            GitHubClaim::Ref => "--cert-github-workflow-ref",
            GitHubClaim::Sha => "--cert-github-workflow-sha",
            GitHubClaim::Trigger => "--cert-github-workflow-trigger",
            GitHubClaim::Name => "--cert-github-workflow-name",
        }
    }

    fn label(self) -> &'static str {
        match self {
            GitHubClaim::Repository => "repository",
            GitHubClaim::Ref => "ref",
            GitHubClaim::Sha => "SHA",
            GitHubClaim::Trigger => "trigger",
            GitHubClaim::Name => "name",
        }
    }

    /// Whether the certificate carries `expected` for this claim; `Err` holds
    /// what it carries instead (`None` when it has no such claim).
    ///
    /// cosign reads the deprecated GitHub extensions (`.1.2`-`.1.6`). Fulcio now
    /// also writes provider-neutral ones (`.1.12` source repository URI, `.1.13`
    /// digest, `.1.14` ref, `.1.20` trigger) and may drop the old ones, so both
    /// are read, and every one present must agree: a certificate whose two
    /// spellings disagree is not trusted on either.
    fn check(
        self,
        info: &CertificateInfo,
        expected: &str,
        host: &GitHubHost,
    ) -> Result<(), Option<String>> {
        let c = &info.ci_claims;
        let old = &c.deprecated_github;
        let present: Vec<(&str, bool)> = match self {
            GitHubClaim::Repository => {
                let mut v = Vec::new();
                // GitHub's owner and repository names ignore case (one
                // repository, however `--repo` spells it; the certificate
                // has the canonical one), as `--signer-repo` compares them.
                if let Some(r) = &old.workflow_repository {
                    v.push((r.as_str(), r.eq_ignore_ascii_case(expected)));
                }
                if let Some(uri) = &c.source_repository_uri {
                    v.push((uri.as_str(), host.names_repository(uri, expected)));
                }
                v
            }
            GitHubClaim::Ref => both(&old.workflow_ref, &c.source_repository_ref, expected),
            GitHubClaim::Sha => both(&old.workflow_sha, &c.source_repository_digest, expected),
            GitHubClaim::Trigger => both(&old.workflow_trigger, &c.build_trigger, expected),
            GitHubClaim::Name => both(&old.workflow_name, &None, expected),
        };
        match present.iter().find(|(_, ok)| !ok).or(present.first()) {
            None => Err(None),
            Some((found, false)) => Err(Some((*found).to_owned())),
            Some((_, true)) => Ok(()),
        }
    }
}

fn both<'a>(a: &'a Option<String>, b: &'a Option<String>, expected: &str) -> Vec<(&'a str, bool)> {
    [a, b]
        .into_iter()
        .flatten()
        .map(|v| (v.as_str(), v == expected))
        .collect()
}

/// The GitHub host a repository claim must be on: `github.com`, or the
/// Enterprise Server host the run is configured for (`GITHUB_SERVER_URL`).
///
/// A repository is `owner/name` only on a host: `https://gitlab.com/o/r` is
/// not GitHub's `o/r`, though its path reads the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHubHost(String);

impl Default for GitHubHost {
    fn default() -> Self {
        GitHubHost("github.com".to_owned())
    }
}

impl GitHubHost {
    /// The host of the run's GitHub server.
    /// `value` less a leading `HOST/` naming this host (in any case), as
    /// `gh attestation verify`'s host-first form writes a workflow; `None`
    /// when it does not start so, or nothing follows.
    pub(crate) fn strip_from<'a>(&self, value: &'a str) -> Option<&'a str> {
        let prefix = format!("{}/", self.0);
        let n = prefix.len();
        (value.len() > n
            && value
                .get(..n)
                .is_some_and(|p| p.eq_ignore_ascii_case(&prefix)))
        .then(|| &value[n..])
    }

    pub(crate) fn new(server: &crate::vocab::GitHubServer) -> GitHubHost {
        GitHubHost(server.host().to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether a source-repository URI (`.1.12`, `https://HOST/owner/name`)
    /// names `expected` (`owner/name`) on this host.
    fn names_repository(&self, uri: &str, expected: &str) -> bool {
        uri.strip_prefix("https://")
            .and_then(|rest| rest.split_once('/'))
            .is_some_and(|(host, path)| {
                host.eq_ignore_ascii_case(&self.0) && path.eq_ignore_ascii_case(expected)
            })
    }
}

/// Constraints on the signer; every one given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    pub identity: Option<Matcher>,
    pub issuer: Option<Matcher>,
    pub github: Vec<(GitHubClaim, String)>,
    /// Where repository claims must point (github.com unless configured).
    pub github_host: GitHubHost,
    /// The commit the signing workflow must have run at (`verify --release`:
    /// the release tag's).
    pub source_commit: Option<SourceCommit>,
    /// `--signer-workflow`, `--signer-repo`: the workflow that signed (a
    /// reusable one signs as itself, while the repository claims name the
    /// caller).
    pub signer: Option<SignerRule>,
    /// The signer rule is `--repo`'s (or `--release`'s) default, any
    /// workflow of that repository, not a flag the user gave.
    pub signer_implied: bool,
    /// `--deny-self-hosted-runners`: the Runner Environment extension
    /// (`.1.11`) must say `github-hosted`.
    pub deny_self_hosted_runners: bool,
}

/// Which workflow must have signed, matched against the certificate's SAN
/// and its Build Signer URI (`.1.9`, the same value when present), on the
/// policy's GitHub host. GitHub's CLI takes these as regular-expression
/// prefixes; here they are literal, so `release.yml` does not also accept
/// `release.yml-evil`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignerRule {
    /// `OWNER/REPO/PATH/TO/WORKFLOW.yml` (or the whole `https://HOST/...`
    /// URL): exactly that workflow, at any ref unless `@REF` is given.
    Workflow(String),
    /// `OWNER/REPO`: any workflow of that repository (names compared without
    /// case, as GitHub treats them).
    Repo(String),
}

impl SignerRule {
    pub fn flag(&self) -> &'static str {
        match self {
            SignerRule::Workflow(_) => "--signer-workflow",
            SignerRule::Repo(_) => "--signer-repo",
        }
    }

    fn matches(&self, uri: &str, host: &GitHubHost) -> bool {
        let base = format!("https://{}/", host.as_str());
        match self {
            SignerRule::Workflow(w) => {
                // `gh attestation verify`'s `[host/]owner/repo/path` form
                // names the host first: the server's own is the same URL.
                let want = if w.starts_with("https://") {
                    w.clone()
                } else {
                    format!("{base}{}", host.strip_from(w).unwrap_or(w))
                };
                match (workflow_at_ref(&want), workflow_at_ref(uri)) {
                    (Some(_), _) => uri == want,
                    (None, Some((path, _))) => path == want,
                    // Another CI's identity with no ref in it (Buildkite's
                    // pipeline URL, CircleCI's): the URL as given. Regression:
                    // nothing matched, the same URL included.
                    (None, None) => uri == want,
                }
            }
            SignerRule::Repo(r) => {
                // `https://HOST/OWNER/REPO/<workflow path>@REF`: the owner
                // and name as two whole path segments.
                let Some(rest) = uri.strip_prefix(base.as_str()) else {
                    return false;
                };
                let mut parts = rest.splitn(3, '/');
                match (parts.next(), parts.next(), parts.next()) {
                    (Some(owner), Some(name), Some(_)) => {
                        format!("{owner}/{name}").eq_ignore_ascii_case(r)
                    }
                    _ => false,
                }
            }
        }
    }
}

/// A release tag's commit, which its assets must have been built from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SourceCommit {
    pub tag: String,
    /// Lowercase hex.
    pub sha: String,
}

/// The value `claims` pin for `which`, if any: one home for the lookup the
/// settings (before the policy is built) and `--release` both make.
pub(crate) fn pinned(claims: &[(GitHubClaim, String)], which: GitHubClaim) -> Option<&str> {
    claims
        .iter()
        .find(|(claim, _)| *claim == which)
        .map(|(_, value)| value.as_str())
}

impl Policy {
    /// Exactly this signer: the identity (SAN) and the issuer, nothing else
    /// (what a run's own bundles must verify as).
    pub(crate) fn exact_signer(identity: &str, issuer: &str) -> Policy {
        Policy {
            identity: Some(Matcher::Exact(identity.to_owned())),
            issuer: Some(Matcher::Exact(issuer.to_owned())),
            ..Policy::default()
        }
    }

    /// A run's own signer ([`Self::exact_signer`]) at `commit`, the one
    /// its certificates name, when they name one: a bundle the same
    /// workflow made at another commit is not this run's.
    pub(crate) fn run_signer(identity: &str, issuer: &str, commit: Option<&str>) -> Policy {
        Policy {
            source_commit: commit.map(|sha| SourceCommit {
                tag: String::new(),
                sha: sha.to_ascii_lowercase(),
            }),
            ..Policy::exact_signer(identity, issuer)
        }
    }

    /// The flags that give `verify` of files (not of a release) this
    /// policy: what a command printed for files a run judged carries, so it
    /// accepts no more than the run did. The Actions issuer is implied there
    /// again by the GitHub claims or the signer rule that implied it here;
    /// a signer rule `--release` implied is given as `--signer-repo`, and
    /// the tag's commit as the SHA claim.
    pub(crate) fn flags(&self) -> Vec<String> {
        let mut flags = Vec::new();
        let mut push = |flag: &str, value: &str| flags.extend([flag.to_owned(), value.to_owned()]);
        for (matcher, exact, regexp) in [
            (&self.identity, "--cert-identity", "--cert-identity-regexp"),
            (
                &self.issuer,
                "--cert-oidc-issuer",
                "--cert-oidc-issuer-regexp",
            ),
        ] {
            match matcher {
                Some(Matcher::Exact(v)) => push(exact, v),
                Some(Matcher::Regexp(r)) => push(regexp, r.pattern()),
                Some(Matcher::ActionsIssuerOf(_)) | None => {}
            }
        }
        for (claim, value) in &self.github {
            push(claim.flag(), value);
        }
        if let Some(commit) = &self.source_commit {
            if pinned(&self.github, GitHubClaim::Sha).is_none() {
                push(GitHubClaim::Sha.flag(), &commit.sha);
            }
        }
        if let Some(signer) = &self.signer {
            let (SignerRule::Workflow(v) | SignerRule::Repo(v)) = signer;
            push(signer.flag(), v);
        }
        if self.deny_self_hosted_runners {
            flags.push("--deny-self-hosted-runners".to_owned());
        }
        flags
    }

    /// True when the user pinned no signer: any signer with a valid
    /// Sigstore certificate is accepted, or (`--repo` alone) any workflow of
    /// a repository. Worth a warning, and the report shows how to pin it.
    pub(crate) fn accepts_any_identity(&self) -> bool {
        self.identity.is_none() && (self.signer.is_none() || self.signer_implied)
    }

    /// True when an identity is pinned but not its issuer (none given, and
    /// no GitHub claim implies one): the same identity certified on any
    /// OIDC issuer's word the instance's CA takes passes. cosign and
    /// sigstore-python refuse to verify so; here it is a warning.
    pub(crate) fn accepts_any_issuer(&self) -> bool {
        self.identity.is_some() && self.issuer.is_none()
    }

    /// The repository any of whose workflows is accepted, when that is all
    /// the policy asks of the signer (`--repo` or `--release` alone).
    pub(crate) fn accepts_any_workflow_of(&self) -> Option<&str> {
        match (&self.identity, &self.signer) {
            (None, Some(SignerRule::Repo(r))) if self.signer_implied => Some(r),
            _ => None,
        }
    }

    /// Check a verified certificate's claims against the policy.
    pub fn check(&self, info: &CertificateInfo) -> Result<(), PolicyMismatch> {
        if let Some(expected) = &self.identity {
            let found = info.identity.as_ref().map(|i| i.as_str().to_owned());
            if !found.as_deref().is_some_and(|f| expected.matches(f)) {
                return Err(PolicyMismatch::Identity {
                    expected: expected.clone(),
                    found,
                });
            }
        }
        if let Some(expected) = &self.issuer {
            if !info.issuer.as_deref().is_some_and(|f| expected.matches(f)) {
                return Err(PolicyMismatch::Issuer {
                    expected: expected.clone(),
                    found: info.issuer.clone(),
                });
            }
        }
        for (claim, expected) in &self.github {
            claim
                .check(info, expected, &self.github_host)
                .map_err(|found| PolicyMismatch::GitHub {
                    claim: *claim,
                    expected: expected.clone(),
                    found,
                })?;
        }
        if let Some(rule) = &self.signer {
            let san = info.identity.as_ref().map(|i| i.as_str().to_owned());
            let signer_uri = info.ci_claims.build_signer_uri.clone();
            let bad = [&san, &signer_uri]
                .into_iter()
                .flatten()
                .find(|v| !rule.matches(v, &self.github_host));
            if san.is_none() || bad.is_some() {
                return Err(PolicyMismatch::Signer {
                    rule: rule.clone(),
                    found: bad.cloned().or(san),
                    implied: self.signer_implied,
                });
            }
        }
        if self.deny_self_hosted_runners
            && info.ci_claims.runner_environment.as_deref() != Some(GITHUB_HOSTED)
        {
            return Err(PolicyMismatch::SelfHostedRunner {
                found: info.ci_claims.runner_environment.clone(),
            });
        }
        // The source commit as Fulcio's extensions name it (`.1.13`, and the
        // older `.1.3`): every one present must be the tag's.
        if let Some(pin) = &self.source_commit {
            GitHubClaim::Sha
                .check(info, &pin.sha, &self.github_host)
                .map_err(|found| PolicyMismatch::OtherCommit {
                    tag: pin.tag.clone(),
                    expected: pin.sha.clone(),
                    found,
                })?;
        }
        Ok(())
    }
}

/// A verified certificate that is not the signer the policy asks for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyMismatch {
    #[error(
        "Certificate identity mismatch: expected {expected}, found {} (check {})",
        quoted(found),
        identity_flag(expected)
    )]
    Identity {
        expected: Matcher,
        found: Option<String>,
    },
    #[error(
        "Certificate issuer mismatch: expected {expected}, found {} (check {})",
        quoted(found),
        issuer_flag(expected)
    )]
    Issuer {
        expected: Matcher,
        found: Option<String>,
    },
    #[error("Certificate GitHub workflow {} mismatch: expected {expected:?}, found {} (check {})", claim.label(), quoted(found), claim.flag())]
    GitHub {
        claim: GitHubClaim,
        expected: String,
        found: Option<String>,
    },
    #[error("Signer workflow mismatch: expected {}, found {} ({})", signer_expected(rule), quoted(found), signer_fix(rule, *implied))]
    Signer {
        rule: SignerRule,
        found: Option<String>,
        /// The rule is `--repo`'s or `--release`'s, not a flag's.
        implied: bool,
    },
    #[error("Built on a self-hosted runner: the certificate's runner environment is {}, not \"github-hosted\" (--deny-self-hosted-runners)", quoted(found))]
    SelfHostedRunner { found: Option<String> },
    #[error("{}", other_commit(tag, expected, found.as_deref()))]
    OtherCommit {
        tag: String,
        expected: String,
        found: Option<String>,
    },
}

/// [`PolicyMismatch::OtherCommit`] said: against a release tag's commit
/// (`verify --release`), or, with no tag, against a run's own
/// ([`Policy::run_signer`]: what `sign` keeps).
fn other_commit(tag: &str, expected: &str, found: Option<&str>) -> String {
    let found = commit_named(found);
    if tag.is_empty() {
        return format!(
            "Signed at another commit: the certificate names {found}, not this run's commit {expected}"
        );
    }
    format!(
        "Signed at another commit: the certificate names {found}, but tag {tag} is at commit {expected}: an asset built from other sources (an older release's, re-uploaded here?); if assets built at other commits are expected, pass --allow-other-commits"
    )
}

/// The commit a certificate names (`found` in
/// [`PolicyMismatch::OtherCommit`]), as a message says it: the one home of
/// that wording, for verify's, sign's and the upload's.
pub(crate) fn commit_named(found: Option<&str>) -> String {
    found.map_or_else(
        || "no commit".to_owned(),
        |f| format!("commit {}", crate::text::line(f)),
    )
}

/// The Runner Environment value of GitHub's own runners.
pub(crate) const GITHUB_HOSTED: &str = "github-hosted";

fn signer_expected(rule: &SignerRule) -> String {
    match rule {
        SignerRule::Workflow(w) => format!("the workflow {w:?}"),
        SignerRule::Repo(r) => format!("a workflow of {r:?}"),
    }
}

/// What to check when the signer is not the expected one: the flag that
/// set the rule, or, for the rule `--repo` and `--release` imply, that a
/// reusable workflow of another repository signed and how to accept it.
fn signer_fix(rule: &SignerRule, implied: bool) -> String {
    if implied {
        "--repo and --release require a workflow of that repository to have signed; if a reusable workflow of another repository did, accept it with --signer-workflow or --signer-repo".to_owned()
    } else {
        format!("check {}", rule.flag())
    }
}

fn quoted(v: &Option<String>) -> String {
    v.as_ref()
        .map_or_else(|| "none".to_owned(), |v| format!("{v:?}"))
}

fn identity_flag(m: &Matcher) -> &'static str {
    match m {
        Matcher::Exact(_) | Matcher::ActionsIssuerOf(_) => "--cert-identity",
        Matcher::Regexp(_) => "--cert-identity-regexp",
    }
}

fn issuer_flag(m: &Matcher) -> &'static str {
    match m {
        Matcher::Exact(_) => "--cert-oidc-issuer",
        Matcher::Regexp(_) => "--cert-oidc-issuer-regexp",
        Matcher::ActionsIssuerOf(_) => {
            "GITHUB_SERVER_URL (the server a GitHub workflow claim, --repo or --release implies the issuer of), or pass --cert-oidc-issuer[-regexp]"
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn regexps_are_anchored() {
        let r = AnchoredRegex::new("https://github.com/org/.*").unwrap();
        assert!(r.is_match("https://github.com/org/repo/.github/workflows/r.yml@refs/tags/v1"));
        assert!(!r.is_match("https://evil.example/https://github.com/org/x"));
        // An alternation is anchored as a whole, not only its first branch.
        let r = AnchoredRegex::new("a|b").unwrap();
        assert!(r.is_match("b") && !r.is_match("xb") && !r.is_match("ax"));
        assert!(AnchoredRegex::new("(").is_err());
        // The docs' example of an unanchored search's foot-gun is one.
        let branch =
            "https://github.com/attacker/x/.github/workflows/r.yml@refs/heads/github.com/org/repo";
        assert!(Regex::new("github.com/org/repo").unwrap().is_match(branch));
        assert!(!AnchoredRegex::new("github.com/org/repo")
            .unwrap()
            .is_match(branch));
    }

    /// Perl classes and word boundaries are ASCII, as in cosign (Go's RE2).
    /// Regression: Unicode, so `v\d+` accepted a tag of Arabic-Indic
    /// digits (`v١`) that cosign refuses, and `\D` refused one it accepts.
    #[test]
    fn perl_classes_are_ascii_as_in_go() {
        let r = |p: &str| AnchoredRegex::new(p).unwrap();
        assert!(r(r"v\d+").is_match("v12") && !r(r"v\d+").is_match("v١٢"));
        assert!(r(r"v\D").is_match("v١") && !r(r"v\D").is_match("v1"));
        assert!(!r(r"[\d.]+").is_match("١.٢") && r(r"[\d.]+").is_match("1.2"));
        assert!(r(r"[^\d]").is_match("١") && !r(r"[^\d]").is_match("1"));
        assert!(r(r"[\w&&[^_]]+").is_match("ab1") && !r(r"\w+").is_match("é"));
        assert!(r(r"\W").is_match("é") && !r(r"\W").is_match("_"));
        assert!(r(r"a\sb").is_match("a\tb") && !r(r"a\sb").is_match("a\u{a0}b"));
        // Go's `\s` has no vertical tab, unlike POSIX's `[:space:]`.
        assert!(!r(r"a\sb").is_match("a\x0Bb") && r(r"a\Sb").is_match("a\x0Bb"));
        // An ASCII word boundary: `é` is not a word character there.
        assert!(r(r".*\bx").is_match("éx") && !r(r".*\Bx").is_match("éx"));
        // What is Unicode in Go stays so.
        assert!(r(r"\pL+").is_match("éa") && r(r"(?i)É").is_match("é") && r(".").is_match("é"));
    }

    /// A pattern cannot close the anchoring group itself: pasted into
    /// `^(?:...)$`, `x)|(.*` became `^(?:x)|(.*)$` and accepted any signer.
    #[test]
    fn anchoring_cannot_be_escaped() {
        for escape in ["x)|(.*", "x)|.*|(x", ")|(?:.*"] {
            let r = AnchoredRegex::new(escape);
            assert!(
                r.as_ref()
                    .map_or(true, |r| !r.is_match("https://evil.example/anyone")),
                "{escape} accepts any value"
            );
            assert!(r.is_err(), "{escape} is not a pattern on its own");
        }
        // Verbose mode's comments cannot swallow the closing anchor either.
        let r = AnchoredRegex::new("(?x) a b # a comment").unwrap();
        assert!(r.is_match("ab") && !r.is_match("abc") && !r.is_match("xab"));
        // Multi-line mode does not loosen the anchors to line boundaries.
        let r = AnchoredRegex::new("(?m)a").unwrap();
        assert!(!r.is_match("evil\na") && !r.is_match("a\nevil") && r.is_match("a"));
    }

    /// A real public-good certificate from GitHub Actions (tests/data), which
    /// carries both the deprecated and the current Fulcio claim extensions.
    pub(crate) fn real_github_certificate() -> CertificateInfo {
        let json = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/signed-package-2.1.0-hb0f4dca_0.conda.sigstore.json"
        ))
        .unwrap();
        let bundle = sigstore_types::Bundle::from_json(&json).unwrap();
        sigstore_crypto::parse_certificate_info(bundle.signing_certificate().unwrap()).unwrap()
    }

    #[test]
    fn github_claims_of_a_real_certificate() {
        let info = real_github_certificate();
        assert_eq!(
            info.ci_claims.source_repository_uri.as_deref(),
            Some("https://github.com/prefix-dev/sigstore-example")
        );
        let policy = |claim, value: &str| Policy {
            github: vec![(claim, value.to_owned())],
            ..Policy::default()
        };
        assert_eq!(
            policy(GitHubClaim::Repository, "prefix-dev/sigstore-example").check(&info),
            Ok(())
        );
        assert_eq!(
            policy(GitHubClaim::Ref, "refs/heads/main").check(&info),
            Ok(())
        );
        // GitHub's names ignore case: `--release Prefix-Dev/...` is the same
        // repository. Regression: refused as a repository mismatch.
        assert_eq!(
            policy(GitHubClaim::Repository, "Prefix-Dev/Sigstore-Example").check(&info),
            Ok(())
        );
        // A repository whose name merely contains the expected one does not match.
        assert!(policy(GitHubClaim::Repository, "sigstore-example")
            .check(&info)
            .is_err());
        let e = policy(GitHubClaim::Ref, "refs/tags/v1")
            .check(&info)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Certificate GitHub workflow ref mismatch: expected \"refs/tags/v1\", found \"refs/heads/main\" (check --cert-github-workflow-ref)"
        );
        let sha = info.ci_claims.source_repository_digest.clone().unwrap();
        assert_eq!(policy(GitHubClaim::Sha, &sha).check(&info), Ok(()));
        assert!(policy(GitHubClaim::Sha, &sha[..7]).check(&info).is_err());
    }

    /// `--signer-workflow` / `--signer-repo` match the SAN and the Build
    /// Signer URI (the reusable workflow's own identity), literally;
    /// `--deny-self-hosted-runners` reads the Runner Environment extension.
    #[test]
    fn signer_workflow_repo_and_runner() {
        let mut info = real_github_certificate();
        let san = info.identity.as_ref().unwrap().as_str().to_owned();
        assert_eq!(
            info.ci_claims.build_signer_uri.as_deref(),
            Some(san.as_str())
        );
        let (workflow, at) = san
            .strip_prefix("https://github.com/")
            .unwrap()
            .split_once('@')
            .unwrap();
        let signer = |rule| Policy {
            signer: Some(rule),
            ..Policy::default()
        };
        let w = |v: &str| signer(SignerRule::Workflow(v.to_owned()));
        assert_eq!(w(workflow).check(&info), Ok(()));
        assert_eq!(w(&format!("{workflow}@{at}")).check(&info), Ok(()));
        assert_eq!(
            w(&format!("https://github.com/{workflow}")).check(&info),
            Ok(())
        );
        // `gh attestation verify`'s host-first form. Regression: read as
        // `https://github.com/github.com/...`, matching nothing.
        assert_eq!(w(&format!("github.com/{workflow}")).check(&info), Ok(()));
        assert!(!w(workflow).accepts_any_identity());
        // Literal, not a prefix: neither a shorter path nor another ref.
        assert!(w(&workflow[..workflow.len() - 1]).check(&info).is_err());
        assert!(w(&format!("{workflow}@refs/tags/v9")).check(&info).is_err());
        let e = w("o/r/.github/workflows/x.yml").check(&info).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("Signer workflow mismatch: expected the workflow \"o/r/.github/workflows/x.yml\", found {san:?} (check --signer-workflow)")
        );
        let r = |v: &str| signer(SignerRule::Repo(v.to_owned()));
        assert_eq!(r("prefix-dev/sigstore-example").check(&info), Ok(()));
        assert_eq!(r("Prefix-Dev/Sigstore-Example").check(&info), Ok(()));
        assert!(r("prefix-dev/sigstore").check(&info).is_err());
        assert!(r("prefix-dev").check(&info).is_err());
        // A workflow file may hold `@`: the ref starts at `@refs/` (or a
        // commit's hex), so `release.yml` is not `release.yml@x.yml`'s
        // prefix. Regression: split at the first `@`, and matched.
        let mut tricked = info.clone();
        let other = "https://github.com/o/r/.github/workflows/release.yml@x.yml@refs/heads/main";
        tricked.identity = Some(sigstore_crypto::SubjectAltName::Uri(other.into()));
        tricked.ci_claims.build_signer_uri = Some(other.into());
        assert!(w("o/r/.github/workflows/release.yml")
            .check(&tricked)
            .is_err());
        assert_eq!(
            w("o/r/.github/workflows/release.yml@x.yml").check(&tricked),
            Ok(())
        );
        // Another CI's URL, which holds no ref: as given, and only it.
        let mut buildkite = info.clone();
        let pipeline = "https://buildkite.com/acme/app";
        buildkite.identity = Some(sigstore_crypto::SubjectAltName::Uri(pipeline.into()));
        buildkite.ci_claims.build_signer_uri = Some(pipeline.into());
        assert_eq!(w(pipeline).check(&buildkite), Ok(()));
        assert!(w("https://buildkite.com/acme/ap")
            .check(&buildkite)
            .is_err());
        assert!(w("https://buildkite.com/acme/app2")
            .check(&buildkite)
            .is_err());
        let by_sha = format!(
            "https://github.com/o/r/.github/workflows/b.yml@{}",
            "c0".repeat(20)
        );
        tricked.identity = Some(sigstore_crypto::SubjectAltName::Uri(by_sha.clone()));
        tricked.ci_claims.build_signer_uri = Some(by_sha);
        assert_eq!(w("o/r/.github/workflows/b.yml").check(&tricked), Ok(()));
        // A value whose host prefix would end inside a character is compared,
        // not sliced. Regression: a panic, reported as an internal error.
        assert!(w("o/ééééé/x.yml").check(&info).is_err());
        // A Build Signer URI that disagrees with the SAN is trusted on neither.
        info.ci_claims.build_signer_uri =
            Some("https://github.com/o/r/.github/workflows/x.yml@refs/heads/main".into());
        assert!(w(workflow).check(&info).is_err());
        assert!(w("o/r/.github/workflows/x.yml").check(&info).is_err());

        let deny = Policy {
            deny_self_hosted_runners: true,
            ..Policy::default()
        };
        assert_eq!(
            info.ci_claims.runner_environment.as_deref(),
            Some(GITHUB_HOSTED)
        );
        assert_eq!(deny.check(&info), Ok(()));
        info.ci_claims.runner_environment = Some("self-hosted".into());
        assert_eq!(
            deny.check(&info).unwrap_err().to_string(),
            "Built on a self-hosted runner: the certificate's runner environment is \"self-hosted\", not \"github-hosted\" (--deny-self-hosted-runners)"
        );
        info.ci_claims.runner_environment = None;
        assert!(deny.check(&info).is_err());
        assert_eq!(Policy::default().check(&info), Ok(()));
    }

    /// The issuer `--repo`/`--release` imply is any Actions issuer of the
    /// repository's server, and a mismatch names what sets that server.
    #[test]
    fn the_implied_issuer_is_the_servers_actions() {
        let info = real_github_certificate();
        let policy = |host: &str| Policy {
            issuer: Some(Matcher::ActionsIssuerOf(host.to_owned())),
            ..Policy::default()
        };
        assert_eq!(policy("github.com").check(&info), Ok(()));
        let e = policy("ghe.example.com")
            .check(&info)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("a GitHub Actions issuer of ghe.example.com"),
            "{e}"
        );
        assert!(e.contains("GITHUB_SERVER_URL"), "{e}");
        assert!(!e.contains("--cert-oidc-issuer-regexp"), "{e}");
    }

    /// The source-repository URI's host is part of the repository: the same
    /// path on another host (`https://gitlab.com/owner/name`) is not it.
    #[test]
    fn repository_claims_require_the_github_host() {
        let mut info = real_github_certificate();
        let repo = "prefix-dev/sigstore-example";
        let policy = |host: GitHubHost| Policy {
            github: vec![(GitHubClaim::Repository, repo.to_owned())],
            github_host: host,
            ..Policy::default()
        };
        assert_eq!(policy(GitHubHost::default()).check(&info), Ok(()));
        for other in [
            "https://gitlab.com/prefix-dev/sigstore-example",
            "http://github.com/prefix-dev/sigstore-example",
            "https://github.com.evil.example/prefix-dev/sigstore-example",
        ] {
            info.ci_claims.source_repository_uri = Some(other.to_owned());
            let e = policy(GitHubHost::default()).check(&info).unwrap_err();
            assert!(e.to_string().contains(other), "{other}: {e}");
            // The older claim alone names no host: the URI still has to agree.
            info.ci_claims.deprecated_github.workflow_repository = None;
            assert!(
                policy(GitHubHost::default()).check(&info).is_err(),
                "{other}"
            );
            info.ci_claims.deprecated_github.workflow_repository = Some(repo.to_owned());
        }
        // An Enterprise Server host, configured: its repositories, not github.com's.
        let ghes = GitHubHost::new(
            &crate::vocab::GitHubServer::parse("https://GHE.example.com/").unwrap(),
        );
        assert_eq!(ghes.as_str(), "ghe.example.com");
        info.ci_claims.source_repository_uri =
            Some("https://ghe.example.com/prefix-dev/sigstore-example".to_owned());
        assert_eq!(policy(ghes.clone()).check(&info), Ok(()));
        assert!(policy(GitHubHost::default()).check(&info).is_err());
        info.ci_claims.source_repository_uri =
            Some("https://github.com/prefix-dev/sigstore-example".to_owned());
        assert!(policy(ghes).check(&info).is_err());
    }

    /// A run's own commit (no tag: what `sign` keeps) is said as the run's,
    /// without verify's flag; a tag's as the tag's.
    #[test]
    fn another_commit_is_said_against_the_run_or_the_tag() {
        let mismatch = |tag: &str| {
            PolicyMismatch::OtherCommit {
                tag: tag.into(),
                expected: "b".repeat(40),
                found: Some("a".repeat(40)),
            }
            .to_string()
        };
        let run = mismatch("");
        assert!(
            run.contains("not this run's commit") && !run.contains("--allow-other-commits"),
            "{run}"
        );
        let tagged = mismatch("v1");
        assert!(
            tagged.contains("but tag v1 is at commit") && tagged.contains("--allow-other-commits"),
            "{tagged}"
        );
    }

    #[test]
    fn source_commit_reads_the_new_claim_then_the_old_one() {
        let mut info = real_github_certificate();
        let sha = info.ci_claims.source_repository_digest.clone().unwrap();
        assert_eq!(
            info.ci_claims.deprecated_github.workflow_sha,
            Some(sha.clone())
        );
        let pin = |sha: &str| Policy {
            source_commit: Some(SourceCommit {
                tag: "v1".into(),
                sha: sha.into(),
            }),
            ..Policy::default()
        };
        let other = "b".repeat(40);
        assert_eq!(pin(&sha).check(&info), Ok(()));
        assert_eq!(
            pin(&other).check(&info).unwrap_err().to_string(),
            format!("Signed at another commit: the certificate names commit {sha}, but tag v1 is at commit {other}: an asset built from other sources (an older release's, re-uploaded here?); if assets built at other commits are expected, pass --allow-other-commits")
        );
        // Only the older `.1.3` claim: it is the commit.
        info.ci_claims.source_repository_digest = None;
        assert_eq!(pin(&sha).check(&info), Ok(()));
        assert!(pin(&other).check(&info).is_err());
        // Only `.1.13`, at another commit.
        info.ci_claims.source_repository_digest = Some(other.clone());
        info.ci_claims.deprecated_github.workflow_sha = None;
        assert!(pin(&sha).check(&info).is_err());
        assert_eq!(pin(&other).check(&info), Ok(()));
        // Two claims that disagree are not trusted on either.
        info.ci_claims.deprecated_github.workflow_sha = Some(sha.clone());
        assert!(pin(&sha).check(&info).is_err() && pin(&other).check(&info).is_err());
        // None at all.
        info.ci_claims.source_repository_digest = None;
        info.ci_claims.deprecated_github.workflow_sha = None;
        assert!(pin(&sha)
            .check(&info)
            .unwrap_err()
            .to_string()
            .contains("the certificate names no commit, but tag v1"));
    }

    #[test]
    fn mismatch_wording() {
        let e = PolicyMismatch::Identity {
            expected: Matcher::Exact("X".into()),
            found: Some("Y".into()),
        };
        assert_eq!(
            e.to_string(),
            r#"Certificate identity mismatch: expected "X", found "Y" (check --cert-identity)"#
        );
        let e = PolicyMismatch::Issuer {
            expected: Matcher::Regexp(AnchoredRegex::new("https://a/.*").unwrap()),
            found: None,
        };
        assert_eq!(
            e.to_string(),
            "Certificate issuer mismatch: expected a match for /https://a/.*/, found none (check --cert-oidc-issuer-regexp)"
        );
    }
}
