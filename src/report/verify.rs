//! The report of a `verify` run, and its rendering for people.
//!
//! Owns the verify report's shape (also its `--json` schema) and its terminal
//! wording: `✅ Verified: <artifact>` or `❌ <artifact>: <reason>` per
//! artifact, then a summary. It prints nothing; `main.rs` decides where the
//! text goes. Paths, identities and errors are shown through [`line`], and
//! the "pin this signer" hint quotes each value as a shell word, so copying
//! it runs nothing but `verify`.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;

use crate::text::{self, line};
use crate::verify::policy::{GitHubClaim, Matcher, Policy, SignerRule, SourceCommit};
use crate::verify::{Outcome, Signer, VerifyArtifactReport, VerifyOutcome};

/// Everything `verify` checked.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    #[serde(rename = "schemaVersion")]
    pub schema_version: super::SchemaVersion,
    /// `public-good`, `staging`, or the trust file's path.
    pub instance: String,
    pub policy: PolicyReport,
    pub artifacts: Vec<VerifyArtifactReport>,
    /// Files in directory arguments (or release assets) that have no bundle (not verified).
    #[serde(serialize_with = "crate::text::lossy_paths")]
    pub unsigned: Vec<PathBuf>,
    pub warnings: Vec<String>,
    /// Signers found, when no identity was pinned (see [`pin_hint`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub signers: Vec<Signer>,
    /// `OWNER/REPO@TAG` for `verify --release`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// The flags a command the run prints carries to judge as it did
    /// (its trust, predicate type, release options; [`pin_hint`]).
    #[serde(skip)]
    pub rerun_flags: Vec<String>,
}

impl VerifyReport {
    pub fn verified(&self) -> usize {
        self.artifacts
            .iter()
            .filter(|a| matches!(a.outcome, VerifyOutcome::Verified(_)))
            .count()
    }

    /// True when every artifact verified (and there was at least one).
    pub fn success(&self) -> bool {
        !self.artifacts.is_empty() && self.verified() == self.artifacts.len()
    }
}

impl From<Outcome> for VerifyReport {
    fn from(o: Outcome) -> Self {
        VerifyReport {
            schema_version: super::SchemaVersion,
            instance: o.instance,
            policy: (&o.policy).into(),
            artifacts: o.artifacts,
            unsigned: o.unsigned,
            warnings: o.warnings,
            signers: o.signers,
            release: o.release,
            rerun_flags: o.rerun_flags,
        }
    }
}

/// The policy as the user gave it (regexps shown as written; they are anchored).
#[derive(Debug, Clone, Serialize)]
pub struct PolicyReport {
    pub identity: Option<MatcherReport>,
    pub issuer: Option<MatcherReport>,
    pub github: Vec<(GitHubClaim, String)>,
    /// `verify --release`: the tag's commit every asset must be signed at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_commit: Option<SourceCommit>,
    /// `--signer-workflow` / `--signer-repo`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<SignerRule>,
    #[serde(
        rename = "denySelfHostedRunners",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub deny_self_hosted_runners: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MatcherReport {
    Exact(String),
    Regexp(String),
    /// Any issuer of GitHub Actions on the server of this host.
    GithubActionsIssuerOf(String),
}

impl From<&Matcher> for MatcherReport {
    fn from(m: &Matcher) -> Self {
        match m {
            Matcher::Exact(e) => MatcherReport::Exact(e.clone()),
            Matcher::Regexp(r) => MatcherReport::Regexp(r.pattern().to_owned()),
            Matcher::ActionsIssuerOf(s) => MatcherReport::GithubActionsIssuerOf(s.clone()),
        }
    }
}

impl From<&Policy> for PolicyReport {
    fn from(p: &Policy) -> Self {
        PolicyReport {
            identity: p.identity.as_ref().map(Into::into),
            issuer: p.issuer.as_ref().map(Into::into),
            github: p.github.clone(),
            source_commit: p.source_commit.clone(),
            signer: p.signer.clone(),
            deny_self_hosted_runners: p.deny_self_hosted_runners,
        }
    }
}

/// One line per artifact; with `verbose`, who signed a verified one. An
/// artifact verified by build provenance says which statement and subject
/// named it, and by which digest.
pub(crate) fn artifact_line(a: &VerifyArtifactReport, verbose: bool) -> String {
    match &a.outcome {
        VerifyOutcome::Verified(v) => {
            let mut details = Vec::new();
            if let Some(p) = v.provenance() {
                details.push(format!(
                    "subject `{}` of {} line {}, by {}",
                    line(&p.subject),
                    line(p.file.display()),
                    p.line,
                    p.algorithm
                ));
            }
            if verbose {
                details.push(format!(
                    "signed by {}, issuer {}{}",
                    line(v.identity()),
                    line(v.issuer().unwrap_or("none")),
                    v.log_index()
                        .map(|i| format!(", log index {i}"))
                        .unwrap_or_default()
                ));
            }
            let details = if details.is_empty() {
                String::new()
            } else {
                format!(" ({})", details.join("; "))
            };
            format!("✅ Verified: {}{details}", line(a.path.display()))
        }
        VerifyOutcome::Failed { error } => {
            format!("❌ {}: {}", line(a.path.display()), line(error))
        }
    }
}

/// With no identity pinned: who signed, and the exact flags that pin them,
/// with every other constraint of the run kept (its GitHub claims,
/// `--deny-self-hosted-runners`, and the flags it judged with: its trust,
/// predicate type and release options): "require this signer" adds the
/// identity to what the run asked. Dropping them, the command shown
/// for a reusable workflow's identity accepted any repository calling it.
pub(crate) fn pin_hint(r: &VerifyReport) -> String {
    let mut kept = String::new();
    for (claim, value) in &r.policy.github {
        let _ = write!(
            kept,
            " {} {}",
            claim.flag(),
            text::shell_word_or(value, "VALUE")
        );
    }
    if r.policy.deny_self_hosted_runners {
        kept.push_str(" --deny-self-hosted-runners");
    }
    for f in &r.rerun_flags {
        let _ = write!(kept, " {}", text::shell_word_or(f, "VALUE"));
    }
    let mut s = String::new();
    for signer in &r.signers {
        let issuer = signer.issuer.as_deref().unwrap_or("none");
        let _ = writeln!(
            s,
            "Signed by {} (issuer {}); to require this signer, verify with:",
            line(&signer.identity),
            line(issuer)
        );
        // A provenance run is pinned with the same provenance file.
        let provenance = r.artifacts.iter().find_map(|a| match &a.outcome {
            VerifyOutcome::Verified(v) => v.provenance().map(|p| p.file.display().to_string()),
            VerifyOutcome::Failed { .. } => None,
        });
        let target = match (&r.release, provenance) {
            (Some(rel), _) => format!("--release {}", text::shell_word_or(rel, "OWNER/REPO@TAG")),
            (None, Some(file)) => format!(
                "<artifacts> --provenance {}",
                text::shell_word_or(&file, "FILE")
            ),
            (None, None) => "<artifacts>".to_owned(),
        };
        // A certificate naming no issuer is pinned by its identity alone:
        // `--cert-oidc-issuer none` would require an issuer named "none".
        let issuer_flag = signer
            .issuer
            .as_deref()
            .map(|i| format!(" {}", pin_flag("--cert-oidc-issuer", i)))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "  releasekit-sign verify {target} {}{issuer_flag}{kept}",
            pin_flag("--cert-identity", &signer.identity),
        );
    }
    s
}

/// `FLAG VALUE` as shell words that require exactly `value`. A value that no
/// shell word shows on one line (it holds control characters) is required
/// through the regexp flag instead, by a pattern matching exactly it, with
/// those characters written as `\x{..}`.
fn pin_flag(flag: &str, value: &str) -> String {
    if let Some(word) = text::shell_word(value) {
        return format!("{flag} {word}");
    }
    let mut pattern = String::new();
    for c in value.chars() {
        let one = c.encode_utf8(&mut [0; 4]).to_owned();
        if text::is_printable(&one) {
            pattern += &regex::escape(&one);
        } else {
            let _ = write!(pattern, "\\x{{{:x}}}", c as u32);
        }
    }
    format!("{flag}-regexp {}", text::shell_word_or(&pattern, "REGEXP"))
}

/// The per-artifact lines and the summary.
pub fn human(r: &VerifyReport, verbose: bool) -> String {
    let mut s = String::new();
    if verbose {
        let _ = writeln!(s, "Trusted root: {}", line(&r.instance));
    }
    if let Some(c) = &r.policy.source_commit {
        let _ = writeln!(
            s,
            "Tag {} is at commit {}: only assets signed at that commit verify",
            line(&c.tag),
            line(c.sha.get(..12).unwrap_or(&c.sha))
        );
    }
    for a in &r.artifacts {
        let _ = writeln!(s, "{}", artifact_line(a, verbose));
    }
    // Unsigned files are what a consumer most needs to see: a file whose
    // bundle was deleted is otherwise passed over in silence.
    let on = if r.release.is_some() {
        " on the release"
    } else {
        ""
    };
    for u in &r.unsigned {
        let _ = writeln!(
            s,
            "⚠ Unsigned: {} (no {}.sigstore.json{on})",
            line(u.display()),
            line(u.display())
        );
    }
    s += &pin_hint(r);
    let failed = r.artifacts.len() - r.verified();
    let _ = writeln!(
        s,
        "Verified {} of {} artifact(s){}.",
        r.verified(),
        r.artifacts.len(),
        if failed == 0 {
            String::new()
        } else {
            format!("; {failed} failed")
        }
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(identity: &str, issuer: Option<&str>, release: Option<&str>) -> VerifyReport {
        VerifyReport {
            schema_version: Default::default(),
            instance: "public-good".into(),
            policy: PolicyReport {
                identity: None,
                issuer: None,
                github: Vec::new(),
                source_commit: None,
                signer: None,
                deny_self_hosted_runners: false,
            },
            artifacts: Vec::new(),
            unsigned: Vec::new(),
            warnings: Vec::new(),
            signers: vec![Signer {
                identity: identity.into(),
                issuer: issuer.map(Into::into),
            }],
            release: release.map(Into::into),
            rerun_flags: Vec::new(),
        }
    }

    /// The words a POSIX shell makes of the hint's command line, after
    /// `releasekit-sign verify`.
    fn words_of(hint: &str) -> Vec<String> {
        let command = hint.lines().nth(1).unwrap();
        let args = command
            .strip_prefix("  releasekit-sign verify ")
            .unwrap_or_else(|| panic!("{command}"))
            // The placeholder the user replaces, not a redirection.
            .replace("<artifacts>", "ARTIFACTS");
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf '%s\\0' {args}"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{command}");
        let mut words: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .split('\0')
            .map(str::to_owned)
            .collect();
        assert_eq!(words.pop().as_deref(), Some(""));
        words
    }

    fn after_of<'w>(w: &'w [String], flag: &str) -> Option<&'w str> {
        w.iter()
            .position(|x| x == flag)
            .and_then(|i| w.get(i + 1))
            .map(String::as_str)
    }

    /// The hinted command is this run's with the identity added: its
    /// GitHub claims, `--deny-self-hosted-runners` and trust stay.
    /// Regression: they were dropped, so for a reusable workflow's identity
    /// (`shared/wf`'s, called by `o/r`) the command shown accepted any
    /// repository calling it, any commit, any runner.
    #[test]
    fn pin_hint_keeps_the_runs_constraints() {
        let mut r = report(
            "https://github.com/shared/wf/.github/workflows/build.yml@refs/tags/v2",
            Some("https://token.actions.githubusercontent.com"),
            None,
        );
        r.policy.github = vec![
            (GitHubClaim::Repository, "o/r".into()),
            (GitHubClaim::Sha, "a".repeat(40)),
        ];
        r.policy.deny_self_hosted_runners = true;
        r.rerun_flags = vec![
            "--trusted-root".into(),
            "my root.json".into(),
            "--tuf-url".into(),
            "https://builder:s3cret-pw@mirror.example/".into(),
        ];
        let w = words_of(&pin_hint(&r));
        // Regression: the mirror's password was printed in the command.
        assert_eq!(after_of(&w, "--tuf-url"), Some("https://…@mirror.example/"));
        let after = |flag: &str| after_of(&w, flag);
        assert_eq!(
            after("--cert-github-workflow-repository"),
            Some("o/r"),
            "{w:?}"
        );
        assert_eq!(
            after("--cert-github-workflow-sha"),
            Some(&*"a".repeat(40)),
            "{w:?}"
        );
        assert_eq!(after("--trusted-root"), Some("my root.json"), "{w:?}");
        assert!(w.iter().any(|x| x == "--deny-self-hosted-runners"), "{w:?}");
        assert_eq!(
            after("--cert-identity"),
            Some("https://github.com/shared/wf/.github/workflows/build.yml@refs/tags/v2")
        );
    }

    /// Git refs may hold `'`, `;`, `$`, backticks: the hint, run by a shell,
    /// passes exactly the identity and issuer, and runs nothing else.
    #[test]
    fn pin_hint_is_shell_safe() {
        let issuer = "https://token.actions.githubusercontent.com";
        for identity in [
            "https://github.com/o/r/.github/workflows/r.yml@refs/heads/x'; echo pwned; echo '",
            "https://github.com/o/r/.github/workflows/r.yml@refs/heads/$(id)`id`${IFS}",
            "a@b.c",
            "'\"'\"",
            "##[warning]x",
        ] {
            let hint = pin_hint(&report(identity, Some(issuer), Some("o/r@v1;id")));
            assert_eq!(hint.lines().count(), 2, "{hint}");
            assert!(!hint.contains("##["), "{hint}");
            assert_eq!(
                words_of(&hint),
                [
                    "--release",
                    "o/r@v1;id",
                    "--cert-identity",
                    identity,
                    "--cert-oidc-issuer",
                    issuer
                ],
                "{hint}"
            );
        }
    }

    /// An identity with control characters is not printed raw: the hint
    /// pins it with a regexp that matches exactly it.
    #[test]
    fn pin_hint_escapes_control_characters() {
        let identity = "https://github.com/o/r/.github/workflows/r.yml@refs/heads/a\n::warning::x\x1b[2J\u{202e}.*";
        let hint = pin_hint(&report(identity, None, None));
        assert_eq!(hint.lines().count(), 2, "{hint}");
        assert!(text::is_printable(&hint.replace('\n', "")), "{hint}");
        assert!(hint.contains("issuer none"), "{hint}");
        let words = words_of(&hint);
        assert_eq!(words[0], "ARTIFACTS");
        assert_eq!(words[1], "--cert-identity-regexp");
        let exact = regex::Regex::new(&format!("^(?:{})$", words[2])).unwrap();
        assert!(exact.is_match(identity), "{}", words[2]);
        assert!(
            !exact.is_match(&identity.replace(".*", "xx")),
            "{}",
            words[2]
        );
        // No issuer to pin: the copied command pins the identity alone.
        assert_eq!(words.len(), 3, "{words:?}");
    }
}
