//! The report for GitHub Actions: workflow commands, step outputs and the
//! step summary, as strings.
//!
//! Owns the syntax of `::add-mask::`, `::error file=..::`, `::group::`, the
//! `$GITHUB_OUTPUT` format and the summary's markdown table, and how outside
//! text is made inert in each: @actions/core's escaping in workflow commands
//! (then [`line`] for what it leaves), a fresh heredoc delimiter per
//! multi-line output, markdown escapes in the summary. It writes nothing: the
//! binary appends these to the files and streams the runner reads.

use std::fmt::Write as _;
use std::path::Path;

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

use super::{AssetKind, AssetReport, AttestationReport, UploadReport};
use crate::oidc::Secret;
use crate::sign::{IdentityReport, Outcome, ProvenanceOutcome, SignReport};
use crate::text::line;

/// `::add-mask::` lines; printed before anything else. Each line of a
/// secret is masked as given and trimmed: the runner masks exactly the data
/// it is handed, and the tool uses a token trimmed, so a token given with a
/// space around it (`identity-token: " ${{ steps.x.outputs.token }}"`)
/// would otherwise stay unmasked as it is used.
pub fn masks(secrets: &[Secret]) -> String {
    let mut out = String::new();
    let mut seen = std::collections::HashSet::new();
    for l in secrets.iter().flat_map(|s| s.expose().lines()) {
        for value in [l, l.trim()] {
            if !value.trim().is_empty() && seen.insert(value) {
                let _ = writeln!(out, "::add-mask::{}", escape_data(value));
            }
        }
    }
    out
}

/// The action log's lines for an upload: one per asset, then the release's fate.
pub fn upload_lines(up: &UploadReport) -> String {
    let mut s = String::new();
    for a in &up.assets {
        match (&a.action, &a.error) {
            (_, Some(e)) => {
                let _ = writeln!(s, "❌ {}: {}", line(&a.asset), line(e));
            }
            (Some(action), None) => {
                let _ = writeln!(
                    s,
                    "✅ {}: {}{}",
                    line(&a.asset),
                    action.describe(),
                    if a.checked {
                        " (verified on the release)"
                    } else {
                        ""
                    }
                );
            }
            (None, None) => {}
        }
    }
    // A refused permission is one `::warning::` annotation (see
    // [`annotations`]), not also a log line.
    if let Some(a) = up
        .attestation
        .as_ref()
        .filter(|a| !matches!(a, AttestationReport::Forbidden { .. }))
    {
        let _ = writeln!(s, "{}", super::human::attestation_line(a));
    }
    s + &super::human::release_lines(up)
}

pub fn group(title: &str) -> String {
    format!("::group::{}\n", command_data(title))
}

pub const END_GROUP: &str = "::endgroup::\n";

/// A `::warning::` annotation.
pub fn warning(message: &str) -> String {
    format!("::warning::{}\n", command_data(message))
}

/// An `::error::` annotation, on a file when there is one.
pub fn error(file: Option<&std::path::Path>, message: &str) -> String {
    match file {
        Some(f) => format!(
            "::error file={}::{}\n",
            line(escape_property(&f.display().to_string())),
            command_data(message)
        ),
        None => format!("::error::{}\n", command_data(message)),
    }
}

/// How many per-artifact and per-asset error annotations are printed: GitHub
/// shows at most 10 errors a step, in the order printed, so a few are kept
/// for the run-level ones, which come first.
const ARTIFACT_ANNOTATIONS: usize = 7;

/// The step's annotations: the run-level errors first (`run_error`, why
/// publishing was withheld, a failed attestation or provenance), then one
/// per failed artifact or asset, at most [`ARTIFACT_ANNOTATIONS`] of those,
/// then how many more failed.
pub fn annotations(
    sign: &SignReport,
    upload: Option<&UploadReport>,
    run_error: Option<&str>,
) -> String {
    let mut s = String::new();
    if let Some(e) = run_error {
        s += &error(None, e);
    }
    if let Some(up) = upload.filter(|u| u.publish_withheld) {
        s += &error(None, &super::human::withheld_line(up));
    }
    match upload.and_then(|u| u.attestation.as_ref()) {
        Some(AttestationReport::Forbidden { warning: w }) => s += &warning(w),
        Some(AttestationReport::Failed { error: e }) => s += &error(None, e),
        _ => {}
    }
    if let Some(p) = &sign.provenance {
        if let ProvenanceOutcome::Failed { error: e } = &p.outcome {
            s += &error(Some(&p.path), e);
        }
    }
    let failed: Vec<(&std::path::Path, &str)> = sign
        .failures()
        .map(|(a, e)| (a.path.as_path(), e))
        .chain(
            upload
                .iter()
                .flat_map(|u| &u.assets)
                .filter_map(|a| a.error.as_deref().map(|e| (a.artifact.as_path(), e))),
        )
        .collect();
    for (path, e) in failed.iter().take(ARTIFACT_ANNOTATIONS) {
        s += &error(Some(path), e);
    }
    if failed.len() > ARTIFACT_ANNOTATIONS {
        s += &error(
            None,
            &format!(
                "and {} more failed (each is in the log above)",
                failed.len() - ARTIFACT_ANNOTATIONS
            ),
        );
    }
    s
}

/// A `$GITHUB_OUTPUT` value holding the delimiter chosen to end it: written,
/// it would end early and its rest would set other outputs.
#[derive(Debug, thiserror::Error)]
#[error("the step outputs were not written: the value of `{name}` holds `{delimiter}`, the random delimiter chosen to end it, so it could set other outputs")]
pub struct OutputError {
    pub name: String,
    pub delimiter: String,
}

/// Where a later step of the job finds what this process wrote: the
/// runner mounts its workspace and its temp directory into the action's
/// container elsewhere than its own steps see them.
#[derive(Debug, Default, Clone, Copy)]
pub struct Places<'a> {
    /// `$GITHUB_WORKSPACE` as this process sees it.
    pub workspace: Option<&'a Path>,
    /// The runner's temp directory as this process sees it, and as the
    /// runner's own steps do.
    pub runner_temp: Option<(&'a Path, &'a Path)>,
}

/// The `$GITHUB_OUTPUT` lines: `bundles`, `signed-count`, `identity`,
/// `release-url`, `provenance` (the file written, or empty),
/// `attestation-id` and `attestation-url` (the provenance stored in the
/// repository's attestations, or empty). Paths are written as a later
/// step opens them ([`for_later_steps`]).
pub fn outputs(
    sign: &SignReport,
    upload: Option<&UploadReport>,
    places: Places<'_>,
) -> Result<String, OutputError> {
    let bundles: Vec<String> = sign
        .artifacts
        .iter()
        .filter(|a| matches!(a.outcome, Outcome::Signed { .. } | Outcome::Reused { .. }))
        .map(|a| for_later_steps(&a.bundle, places))
        .collect();
    let identity = match &sign.identity {
        IdentityReport::Certified { identity, .. } => identity.clone(),
        IdentityReport::Planned(_) => String::new(),
    };
    let stored = upload.and_then(UploadReport::attestation_stored);
    let mut s = String::new();
    let values = [
        serde_json::to_string(&bundles).unwrap_or_else(|_| "[]".into()),
        sign.signed().to_string(),
        identity,
        upload.map(|u| u.release_url.clone()).unwrap_or_default(),
        sign.provenance
            .as_ref()
            .filter(|p| matches!(p.outcome, ProvenanceOutcome::Signed { .. }))
            .map(|p| for_later_steps(&p.path, places))
            .unwrap_or_default(),
        stored.map(|(id, _)| id.to_string()).unwrap_or_default(),
        stored.map(|(_, url)| url.to_owned()).unwrap_or_default(),
    ];
    for (k, v) in OUTPUTS.into_iter().zip(values) {
        let delimiter = format!("ghadelimiter_{}", hex::encode(rand::random::<[u8; 16]>()));
        s += &output_line(k, &v, &delimiter)?;
    }
    Ok(s)
}

/// `path` as a later step of the job can open it: relative to the
/// workspace when under it; under the runner's temp directory, by the
/// runner's own name for it. The runner hands a container action its
/// workspace as `/github/workspace` and its temp directory as
/// `/github/runner_temp` (and a leading host path in an input as one of
/// those), but later steps run on the runner itself, where only a relative
/// path, or the temp directory's own, names the same file.
fn for_later_steps(path: &Path, places: Places<'_>) -> String {
    if !path.is_absolute() {
        return path.display().to_string();
    }
    if let Some(rel) = places.workspace.and_then(|w| path.strip_prefix(w).ok()) {
        return match rel.as_os_str().is_empty() {
            true => ".".to_owned(),
            false => rel.display().to_string(),
        };
    }
    match places.runner_temp {
        Some((here, on_runner)) => match path.strip_prefix(here) {
            Ok(rel) => on_runner.join(rel).display().to_string(),
            Err(_) => path.display().to_string(),
        },
        None => path.display().to_string(),
    }
}

/// The step's outputs, as `action.yml` declares them, in the order written.
const OUTPUTS: [&str; 7] = [
    "bundles",
    "signed-count",
    "identity",
    "release-url",
    "provenance",
    "attestation-id",
    "attestation-url",
];

/// `name=value`, or, when the value has a line break, the heredoc form ended
/// by `delimiter` (as @actions/core writes file commands), refused when the
/// value holds the delimiter.
fn output_line(name: &str, value: &str, delimiter: &str) -> Result<String, OutputError> {
    if !(value.contains('\n') || value.contains('\r')) {
        return Ok(format!("{name}={value}\n"));
    }
    if value.contains(delimiter) {
        return Err(OutputError {
            name: name.to_owned(),
            delimiter: delimiter.to_owned(),
        });
    }
    Ok(format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"))
}

/// The step summary: one row per artifact.
pub fn summary(
    sign: &SignReport,
    upload: Option<&UploadReport>,
    run_error: Option<&str>,
) -> String {
    let mut s = String::from("### releasekit-sign\n\n");
    if let Some(e) = run_error {
        let _ = writeln!(s, "❌ {}\n", md(e));
    }
    for w in &sign.warnings {
        let _ = writeln!(s, "⚠ {}\n", md(w));
    }
    if let IdentityReport::Certified {
        identity, issuer, ..
    } = &sign.identity
    {
        let _ = writeln!(s, "Signed by {} (issuer {})\n", md(identity), md(issuer));
    }
    if let Some(u) = upload {
        let state = match (u.draft, u.publish_withheld, u.lacking.as_slice()) {
            (false, _, _) => String::new(),
            (true, false, _) => " (draft)".to_owned(),
            (true, true, []) if u.refused_at_publish() => {
                " (draft, not published: its assets verified, but publishing was refused)"
                    .to_owned()
            }
            (true, true, []) if u.assets_ok() && u.attestation_failed() => {
                " (draft, not published: the build provenance is not in the attestations yet)"
                    .to_owned()
            }
            (true, true, []) => " (draft, not published: not every asset verified)".to_owned(),
            (true, true, lacking) => format!(
                " (draft, not published: it lacks {})",
                super::some_of(lacking, |a| md(a))
            ),
        };
        let _ = writeln!(s, "Release: {}{state}\n", md_link(&u.tag, &u.release_url));
    }
    s += "| Artifact | SHA-256 | Log index | Asset |\n|---|---|---|---|\n";
    for (shown, a) in sign.artifacts.iter().enumerate() {
        if s.len() > SUMMARY_ROWS_BYTES {
            let _ = writeln!(
                s,
                "\n{} more artifact(s) not shown: a step summary holds at most 1 MiB; each is in the step's log",
                sign.artifacts.len() - shown
            );
            break;
        }
        let name = a
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (sha, index) = match &a.outcome {
            Outcome::Signed {
                sha256, log_index, ..
            } => (format!("`{sha256}`"), shown_index(*log_index)),
            Outcome::Reused { sha256, log_index } => {
                (format!("`{sha256}` (kept)"), shown_index(*log_index))
            }
            Outcome::Failed { error } => (format!("❌ {}", md(error)), String::new()),
            Outcome::Planned { .. } => ("(dry run)".into(), String::new()),
        };
        // The bundle's link, unless an asset of the artifact (itself, with
        // `upload-artifacts`, or its bundle) failed: then that failure.
        // Regression: only the bundle was looked at, so a failed artifact
        // asset showed a clean row on a failed step.
        let own = |x: &&AssetReport| {
            x.artifact == a.path && matches!(x.kind, AssetKind::Artifact | AssetKind::Bundle)
        };
        let asset = upload
            .and_then(|u| {
                u.assets
                    .iter()
                    .filter(own)
                    .find(|x| x.error.is_some())
                    .or_else(|| {
                        u.assets
                            .iter()
                            .filter(own)
                            .find(|x| x.kind == AssetKind::Bundle)
                    })
            })
            .map(|x| match (&x.download_url, &x.error) {
                (_, Some(e)) => format!("❌ {}", md(e)),
                (Some(url), None) => md_link(&x.asset, url),
                (None, None) => md(&x.asset),
            })
            .unwrap_or_default();
        let _ = writeln!(s, "| {} | {sha} | {index} | {asset} |", md(&name));
    }
    if let Some(p) = &sign.provenance {
        let name = p
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let asset = upload.and_then(|u| {
            u.assets
                .iter()
                .find(|x| x.kind == AssetKind::Provenance && x.bundle == p.path)
        });
        // Linked only as it landed and verified. Regression: a provenance
        // asset that failed its check was linked with no word of it.
        let shown = match asset.map(|x| (&x.download_url, &x.error)) {
            Some((_, Some(e))) => format!("{} (❌ {})", md(&name), md(e)),
            Some((Some(url), None)) => md_link(&name, url),
            _ => md(&p.path.display().to_string()),
        };
        // The release kept an earlier signing of the same statement: the
        // file linked is that one, and its log index is not this run's.
        // (Not when it failed its check since: then it was deleted.)
        let kept_earlier = asset.is_some_and(|x| {
            x.error.is_none() && x.action == Some(crate::github::AssetAction::Equivalent)
        });
        let _ = match &p.outcome {
            ProvenanceOutcome::Signed {
                subjects,
                log_index,
                ..
            } if kept_earlier => writeln!(
                s,
                "\nBuild provenance (SLSA v1): {shown}, {} subject(s): the release keeps an earlier signing of the same statement; this run's, log index {}, is in {}",
                subjects.len(),
                shown_index(*log_index),
                md(&p.path.display().to_string())
            ),
            ProvenanceOutcome::Signed {
                subjects,
                log_index,
                ..
            } => writeln!(
                s,
                "\nBuild provenance (SLSA v1): {shown}, {} subject(s), log index {}",
                subjects.len(),
                shown_index(*log_index)
            ),
            ProvenanceOutcome::Failed { error: e } => {
                writeln!(s, "\nBuild provenance: ❌ {}", md(e))
            }
            ProvenanceOutcome::Planned { .. } => {
                writeln!(s, "\nBuild provenance (dry run): {shown}")
            }
        };
        let _ = match upload.and_then(|u| u.attestation.as_ref()) {
            Some(AttestationReport::Stored { id, url }) => {
                writeln!(s, "\nAttestation: {}", md_link(&id.to_string(), url))
            }
            Some(AttestationReport::Skipped { note }) => {
                writeln!(s, "\nAttestation not stored: {}", md(note))
            }
            Some(AttestationReport::Forbidden { warning: w }) => {
                writeln!(s, "\nAttestation not stored: ⚠ {}", md(w))
            }
            Some(AttestationReport::Failed { error: e }) => {
                writeln!(s, "\nAttestation: ❌ {}", md(e))
            }
            None => Ok(()),
        };
    }
    within_summary_limit(s)
}

/// How large the summary's table may grow: GitHub drops a step summary of
/// more than 1 MiB whole, and the provenance lines come after the table.
const SUMMARY_ROWS_BYTES: usize = 900 << 10;

/// The most a summary holds, whatever its parts (a run error, warnings and
/// the provenance's lines are each capped, but not their sum): cut at a
/// line, below GitHub's 1 MiB, with a word that it was.
const SUMMARY_BYTES: usize = 1000 << 10;

/// The longest URL a summary links to (GitHub's asset links are about a
/// hundred bytes); a longer one from a server shows as its label only.
const LINK_BYTES: usize = 2048;

/// `s`, cut at a line break below [`SUMMARY_BYTES`] if it is longer.
fn within_summary_limit(mut s: String) -> String {
    if s.len() <= SUMMARY_BYTES {
        return s;
    }
    // Just after a line break: a character boundary, whatever the text.
    let cut = s.as_bytes()[..SUMMARY_BYTES]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |n| n + 1);
    s.truncate(cut);
    s + "\n(The rest is not shown: a step summary holds at most 1 MiB; it is in the step's log.)\n"
}

/// The summary of a run that failed before any artifact was done.
pub fn failed_summary(run_error: &str) -> String {
    format!("### releasekit-sign\n\n❌ {}\n", md(run_error))
}

/// The outputs of a run that failed before any artifact was done: each
/// set, to nothing (`bundles` an empty list, `signed-count` 0), so a later
/// step reading them (`fromJSON(steps.sign.outputs.bundles)`) does not fail
/// on an empty string.
pub fn empty_outputs() -> String {
    OUTPUTS
        .iter()
        .map(|k| {
            let v = match *k {
                "bundles" => "[]",
                "signed-count" => "0",
                _ => "",
            };
            format!("{k}={v}\n")
        })
        .collect()
}

/// Outside text as inline markdown that shows as itself: one [`line`], with
/// every ASCII punctuation character backslash-escaped (CommonMark lets any
/// be), so no emphasis, code span, link, HTML tag or entity, table pipe,
/// emoji shortcode, mention, reference or math can form. `.`, `-` and `/`
/// are left as they are (they mean something only at the start of a line,
/// and no value starts one), but for the dot of `www.`.
///
/// GitHub's Markdown makes a `mailto:` link of `a@b.c` after escapes are
/// undone (cmark-gfm matches emails on the text of merged nodes), so no
/// escape stops it: an empty HTML comment (`<!-- -->`, which GitHub drops)
/// after an `@` that a domain with a dot follows splits the text instead.
/// It is the one markup of ours in outside text.
fn md(s: &str) -> String {
    // Every `:` and `[` is escaped below: the log's escapes would show.
    let text = crate::text::line_not_logged(s);
    let mut out = String::new();
    for (at, c) in text.char_indices() {
        // GitHub's Markdown makes a link of `www.` and a domain anywhere
        // after a space: its dot is escaped, so none forms.
        let www = c == '.'
            && out
                .len()
                .checked_sub(3)
                .and_then(|at| out.get(at..))
                .is_some_and(|end| end.eq_ignore_ascii_case("www"));
        if www || (c.is_ascii_punctuation() && !matches!(c, '.' | '-' | '/')) {
            out.push('\\');
        }
        out.push(c);
        if c == '@' && email_domain_follows(&text[at + 1..]) {
            out.push_str("<!-- -->");
        }
    }
    out
}

/// Whether `after` an `@` starts as the domain of an email GitHub would
/// link: letters, digits, `-`, `_` and periods, one period inside.
fn email_domain_follows(after: &str) -> bool {
    let end = after
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(after.len());
    after[..end].trim_end_matches('.').contains('.')
}

/// What a link destination may not hold as is: it would end the
/// destination or the table cell, or open markup.
const LINK_ESCAPES: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'\'')
    .add(b'(')
    .add(b')')
    .add(b'<')
    .add(b'>')
    .add(b'[')
    .add(b']')
    .add(b'\\')
    .add(b'`')
    .add(b'|')
    .add(b'{')
    .add(b'}')
    .add(b'^');

/// A link showing `label` to a URL a server gave: only http(s) URLs become
/// links, percent-encoded where markdown would read them; anything else is
/// shown as text.
fn md_link(label: &str, url: &str) -> String {
    if url.len() > LINK_BYTES {
        md(label)
    } else if crate::vocab::is_http_url(url) {
        format!(
            "[{}]({})",
            md(label),
            utf8_percent_encode(url, LINK_ESCAPES)
        )
    } else {
        format!("{} ({})", md(label), md(url))
    }
}

/// `message` as a workflow command's data: credentials hidden before the
/// escaping joins its lines (the runner splits them again).
fn command_data(message: &str) -> String {
    line(escape_data(&crate::text::url_credentials_hidden(message)))
}

/// Workflow command data escaping (as @actions/core `escapeData`).
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Workflow command property escaping (as @actions/core `escapeProperty`).
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// A log index for the summary table; `none` where the instance keeps no log.
fn shown_index(index: Option<u64>) -> String {
    index.map_or_else(|| "none".into(), |i| i.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A URL's credentials stay hidden in an annotation whose message has
    /// several lines. Regression: the escaped line break joined two URLs
    /// into one, and the second's password was shown.
    #[test]
    fn annotations_hide_the_credentials_of_every_line() {
        let message = "mirror https://a.example\nhttps://u:s3cret@b.example/x failed";
        for out in [error(None, message), warning(message), group(message)] {
            assert!(!out.contains("s3cret"), "{out}");
            assert!(out.contains("%0A"), "{out}");
        }
    }

    /// No `www.` autolink forms from outside text, wherever it stands; a
    /// dot elsewhere, and text around a multibyte character, are as before.
    #[test]
    fn no_www_link_forms() {
        assert_eq!(md("www.evil.example-1.0.tgz"), r"www\.evil.example-1.0.tgz");
        assert_eq!(md("see WWW.evil.example"), r"see WWW\.evil.example");
        assert_eq!(md("app-1.0.tgz"), "app-1.0.tgz");
        assert_eq!(md("éww.x"), "éww.x");
    }

    #[test]
    fn commands_escape_their_payload() {
        assert_eq!(
            error(Some("a:b,c.tgz".as_ref()), "50%\nfailed"),
            "::error file=a%3Ab%2Cc.tgz::50%25%0Afailed\n"
        );
        assert_eq!(
            masks(&[Secret::new("abc"), Secret::new("l1\nl2")]),
            "::add-mask::abc\n::add-mask::l1\n::add-mask::l2\n"
        );
        // Masked as it is used too (trimmed). Regression: only " tok " was.
        assert_eq!(
            masks(&[Secret::new(" tok \n")]),
            "::add-mask:: tok \n::add-mask::tok\n"
        );
    }

    /// Beyond @actions/core's escaping, what would still reach the log raw
    /// (controls, the legacy `##[` prefix) is shown escaped.
    #[test]
    fn commands_show_other_controls_escaped() {
        assert_eq!(
            error(
                Some("d/\x1b[2J.tgz".as_ref()),
                "no\n::warning::x \u{202e} ##[error]y"
            ),
            "::error file=d/\\u{1b}[2J.tgz::no%0A::warning::x \\u{202e} ##\\u{5b}error]y\n"
        );
        assert_eq!(group("v1\n::x"), "::group::v1%0A::x\n");
    }

    #[test]
    fn multiline_outputs_use_a_delimiter() {
        let d = "ghadelimiter_0123";
        assert_eq!(output_line("k", "v", d).unwrap(), "k=v\n");
        assert_eq!(
            output_line("k", "a\nb", d).unwrap(),
            "k<<ghadelimiter_0123\na\nb\nghadelimiter_0123\n"
        );
        let e = output_line("k", "a\nghadelimiter_0123\nother=x", d).unwrap_err();
        assert!(e.to_string().contains("`k`"), "{e}");
        let mut sign = failed_run(0, "");
        sign.identity = IdentityReport::Certified {
            identity: "id\nsigned-count=99".into(),
            issuer: "iss".into(),
            token_source: crate::oidc::TokenOrigin::Flag,
            commit: None,
        };
        let out = outputs(&sign, None, Places::default()).unwrap();
        let (_, rest) = out.split_once("identity<<").unwrap();
        let (delimiter, rest) = rest.split_once('\n').unwrap();
        assert!(delimiter.starts_with("ghadelimiter_") && delimiter.len() > 40);
        assert!(rest.starts_with(&format!("id\nsigned-count=99\n{delimiter}\n")));
    }

    /// A report of `n` artifacts that each failed with `error`.
    fn failed_run(n: usize, error: &str) -> SignReport {
        SignReport {
            dry_run: false,
            instance: crate::sign::InstanceReport {
                name: "i".into(),
                fulcio: String::new(),
                rekor: None,
                rekor_version: None,
                tsa: None,
                selection: None,
            },
            identity: IdentityReport::Certified {
                identity: "id".into(),
                issuer: "iss".into(),
                token_source: crate::oidc::TokenOrigin::Flag,
                commit: None,
            },
            certificates: 1,
            artifacts: (0..n)
                .map(|i| crate::sign::ArtifactReport {
                    path: format!("dist/a{i:05}.whl").into(),
                    size: 1,
                    bundle: format!("dist/a{i:05}.whl.sigstore.json").into(),
                    outcome: Outcome::Failed {
                        error: error.to_owned(),
                    },
                })
                .collect(),
            skipped: Vec::new(),
            warnings: Vec::new(),
            provenance: None,
        }
    }

    /// The run's own error comes first, then at most 7 artifacts' and a
    /// count of the rest: GitHub shows 10 errors a step. Regression: one
    /// per artifact, and the run's error last, past what GitHub shows.
    #[test]
    fn the_runs_error_is_annotated_first_and_artifacts_are_capped() {
        let text = annotations(&failed_run(11, "TSA down"), None, Some("no release v9"));
        let errors: Vec<&str> = text.lines().filter(|l| l.starts_with("::error")).collect();
        assert_eq!(errors.len(), 1 + 7 + 1, "{text}");
        assert_eq!(errors[0], "::error::no release v9");
        assert!(errors[1].starts_with("::error file=dist/a00000.whl::TSA down"));
        assert_eq!(
            errors[8],
            "::error::and 4 more failed (each is in the log above)"
        );
        let few = annotations(&failed_run(2, "x"), None, None);
        assert_eq!(few.lines().count(), 2, "{few}");
    }

    /// The summary says the run's error, and stays under GitHub's 1 MiB
    /// (past which the whole summary is dropped), counting what it leaves
    /// out. Regression: no error, and no limit.
    #[test]
    fn the_summary_says_the_error_and_fits_in_a_mib() {
        let s = summary(&failed_run(2, "x"), None, Some("no release v9"));
        assert!(s.contains("❌ no release v9"), "{s}");
        let s = summary(&failed_run(8000, &"e".repeat(200)), None, None);
        assert!(s.len() < 1 << 20, "{}", s.len());
        assert!(
            s.contains(" more artifact(s) not shown"),
            "{}",
            &s[s.len() - 300..]
        );
        assert!(failed_summary("bad").contains("❌ bad"));
    }

    /// The provenance's line says the release keeps an earlier signing only
    /// while the release does: one whose check failed since was deleted.
    #[test]
    fn a_kept_provenance_is_said_kept_only_while_it_is() {
        let mut sign = failed_run(0, "x");
        sign.provenance = Some(crate::sign::ProvenanceReport {
            path: "p.intoto.jsonl".into(),
            outcome: ProvenanceOutcome::Signed {
                subjects: Vec::new(),
                log_index: Some(7),
                timestamped: false,
                certificate: 1,
            },
        });
        let up = |error: Option<&str>| UploadReport {
            repo: "o/r".into(),
            tag: "v1".into(),
            release_url: "https://github.com/o/r/releases/tag/v1".into(),
            draft: true,
            created: false,
            published: false,
            publish_withheld: error.is_some(),
            lacking: Vec::new(),
            not_regular: Vec::new(),
            assets: vec![AssetReport {
                kind: AssetKind::Provenance,
                artifact: "p.intoto.jsonl".into(),
                bundle: "p.intoto.jsonl".into(),
                asset: "p.intoto.jsonl".into(),
                action: Some(crate::github::AssetAction::Equivalent),
                download_url: Some("https://example.com/p.intoto.jsonl".into()),
                checked: error.is_none(),
                error: error.map(str::to_owned),
            }],
            attestation: None,
            warnings: Vec::new(),
        };
        let kept = "the release keeps an earlier signing";
        assert!(summary(&sign, Some(&up(None)), None).contains(kept));
        let s = summary(&sign, Some(&up(Some("deleted from the draft"))), None);
        assert!(!s.contains(kept), "{s}");
        assert!(s.contains("log index 7"), "{s}");
    }

    /// A release lacking thousands of assets, and a run error or a link of
    /// megabytes, still make a summary GitHub shows, and one annotation of
    /// a line's length. Regression: every lacking name was listed, above
    /// the table, in both; only the table's rows were capped.
    #[test]
    fn a_release_lacking_thousands_still_fits() {
        let up = UploadReport {
            repo: "o/r".into(),
            tag: "v1".into(),
            release_url: format!("https://github.com/o/r/{}", "x".repeat(1 << 20)),
            draft: true,
            created: true,
            published: false,
            publish_withheld: true,
            lacking: (0..6000)
                .map(|i| format!("{}{i}.tgz", "a_".repeat(100)))
                .collect(),
            not_regular: Vec::new(),
            assets: Vec::new(),
            attestation: None,
            warnings: Vec::new(),
        };
        let s = summary(&failed_run(1, "x"), Some(&up), None);
        assert!(s.len() < 100_000, "{}", s.len());
        assert!(s.contains(" and 5980 more)"), "{s}");
        let s = summary(&failed_run(1, "x"), Some(&up), Some(&"e".repeat(1 << 20)));
        assert!(s.len() < 1 << 20, "{}", s.len());
        assert!(s.ends_with("it is in the step's log.)\n"), "{}", s.len());
        // Cut where a character of two bytes straddles the limit.
        let s = summary(&failed_run(1, "x"), None, Some(&"é".repeat(600_000)));
        assert!(s.ends_with("it is in the step's log.)\n"), "{}", s.len());
        let a = annotations(&failed_run(0, "x"), Some(&up), None);
        assert!(a.len() < 10_000, "{}", a.len());
        assert!(a.contains(" and 5980 more;"), "{a}");
    }

    #[test]
    fn markdown_shows_text_as_text() {
        assert_eq!(md("a|b\nc"), "a\\|b\\\\nc");
        // The log's workflow-command escapes are not the summary's: a name
        // is shown as it is. Regression: `\u{3a}:warning::evil.tgz`.
        assert_eq!(md("::warning::evil.tgz"), r"\:\:warning\:\:evil.tgz");
        assert_eq!(md("a##[x"), r"a\#\#\[x");
        assert_eq!(
            md("x`<b>&amp;*_[l](u) $m$ :+1: @me #1 ~~s~~ app-1.0/x"),
            "x\\`\\<b\\>\\&amp\\;\\*\\_\\[l\\]\\(u\\) \\$m\\$ \\:\\+1\\: \\@me \\#1 \\~\\~s\\~\\~ app-1.0/x"
        );
        // No email link forms (GitHub links `a@b.c` whatever is escaped);
        // a workflow's `@refs/...` is no domain and stays as it was.
        assert_eq!(
            md("support@evil.example.tgz"),
            "support\\@<!-- -->evil.example.tgz"
        );
        assert_eq!(
            md("mailto:x@evil.example"),
            "mailto\\:x\\@<!-- -->evil.example"
        );
        assert_eq!(md("r.yml@refs/tags/v1.0"), "r.yml\\@refs/tags/v1.0");
        assert_eq!(md("a@b."), "a\\@b.");
        assert_eq!(
            md_link("v1", "https://h/r/v1)(x"),
            "[v1](https://h/r/v1%29%28x)"
        );
        assert_eq!(
            md_link("v1", "https://h/r/v1 x)(<|>\n"),
            "[v1](https://h/r/v1%20x%29%28%3C%7C%3E%0A)"
        );
        assert_eq!(
            md_link("v1", "javascript:alert(1)"),
            "v1 (javascript\\:alert\\(1\\))"
        );
    }
}
