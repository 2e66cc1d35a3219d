//! The report for GitHub Actions: workflow commands, step outputs and the
//! step summary, as strings.
//!
//! Owns the syntax of `::add-mask::`, `::error file=..::`, `::group::`, the
//! `$GITHUB_OUTPUT` format and the summary's markdown table. It writes
//! nothing: the binary appends these to the files and streams the runner reads.

use std::fmt::Write as _;

use super::{AssetKind, IdentityReport, Outcome, SignReport, UploadReport};
use crate::oidc::Secret;

/// `::add-mask::` lines; printed before anything else.
pub fn masks(secrets: &[Secret]) -> String {
    secrets
        .iter()
        .flat_map(|s| s.expose().lines())
        .filter(|l| !l.trim().is_empty())
        .map(|l| format!("::add-mask::{}\n", escape_data(l)))
        .collect()
}

/// The action log's lines for an upload: one per asset, then the release's fate.
pub fn upload_lines(up: &UploadReport) -> String {
    let mut s = String::new();
    for a in &up.assets {
        match (&a.action, &a.error) {
            (_, Some(e)) => {
                let _ = writeln!(s, "❌ {}: {e}", a.asset);
            }
            (Some(action), None) => {
                let _ = writeln!(
                    s,
                    "✅ {}: {}{}",
                    a.asset,
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
    s + &super::human::release_lines(up)
}

pub fn group(title: &str) -> String {
    format!("::group::{}\n", escape_data(title))
}

pub const END_GROUP: &str = "::endgroup::\n";

/// An `::error::` annotation, on a file when there is one.
pub fn error(file: Option<&std::path::Path>, message: &str) -> String {
    match file {
        Some(f) => format!(
            "::error file={}::{}\n",
            escape_property(&f.display().to_string()),
            escape_data(message)
        ),
        None => format!("::error::{}\n", escape_data(message)),
    }
}

/// One annotation per failed artifact or asset.
pub fn annotations(sign: &SignReport, upload: Option<&UploadReport>) -> String {
    let mut s = String::new();
    for (a, e) in sign.failures() {
        s += &error(Some(&a.path), e);
    }
    for a in upload.iter().flat_map(|u| &u.assets) {
        if let Some(e) = &a.error {
            s += &error(Some(&a.artifact), e);
        }
    }
    if let Some(up) = upload.filter(|u| u.publish_withheld) {
        s += &error(None, &super::human::withheld_line(up));
    }
    s
}

/// The `$GITHUB_OUTPUT` lines: `bundles`, `signed-count`, `identity`, `release-url`.
pub fn outputs(sign: &SignReport, upload: Option<&UploadReport>) -> String {
    let bundles: Vec<String> = sign
        .artifacts
        .iter()
        .filter(|a| matches!(a.outcome, Outcome::Signed { .. } | Outcome::Reused { .. }))
        .map(|a| a.bundle.display().to_string())
        .collect();
    let identity = match &sign.identity {
        IdentityReport::Certified { identity, .. } => identity.clone(),
        IdentityReport::Planned(_) => String::new(),
    };
    let mut s = String::new();
    for (k, v) in [
        (
            "bundles",
            serde_json::to_string(&bundles).unwrap_or_else(|_| "[]".into()),
        ),
        ("signed-count", sign.signed().to_string()),
        ("identity", identity),
        (
            "release-url",
            upload.map(|u| u.release_url.clone()).unwrap_or_default(),
        ),
    ] {
        s += &output_line(k, &v);
    }
    s
}

/// `name=value`, or the heredoc form when the value has a newline (it cannot
/// then be confused with another output).
fn output_line(name: &str, value: &str) -> String {
    if value.contains('\n') || value.contains('\r') {
        let delimiter = format!("ghadelimiter_{}", hex::encode(rand::random::<[u8; 16]>()));
        format!("{name}<<{delimiter}\n{value}\n{delimiter}\n")
    } else {
        format!("{name}={value}\n")
    }
}

/// The step summary: one row per artifact.
pub fn summary(sign: &SignReport, upload: Option<&UploadReport>) -> String {
    let mut s = String::from("### releasekit-sign\n\n");
    if let IdentityReport::Certified {
        identity, issuer, ..
    } = &sign.identity
    {
        let _ = writeln!(s, "Signed by `{identity}` (issuer `{issuer}`)\n");
    }
    if let Some(u) = upload {
        let state = match (u.draft, u.publish_withheld, u.lacking.as_slice()) {
            (false, _, _) => String::new(),
            (true, false, _) => " (draft)".to_owned(),
            (true, true, []) => " (draft, not published: not every asset verified)".to_owned(),
            (true, true, lacking) => format!(
                " (draft, not published: it lacks {})",
                lacking
                    .iter()
                    .map(|a| format!("`{}`", cell(a)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let _ = writeln!(s, "Release: [{}]({}){state}\n", u.tag, u.release_url);
    }
    s += "| Artifact | SHA-256 | Log index | Asset |\n|---|---|---|---|\n";
    for a in &sign.artifacts {
        let name = a
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (sha, index) = match &a.outcome {
            Outcome::Signed {
                sha256, log_index, ..
            } => (format!("`{sha256}`"), log_index.to_string()),
            Outcome::Reused { sha256, log_index } => {
                (format!("`{sha256}` (kept)"), log_index.to_string())
            }
            Outcome::Failed { error } => (format!("❌ {}", cell(error)), String::new()),
            Outcome::Planned { .. } => ("(dry run)".into(), String::new()),
        };
        let asset = upload
            .and_then(|u| {
                u.assets
                    .iter()
                    .find(|x| x.artifact == a.path && x.kind == AssetKind::Bundle)
            })
            .map(|x| match (&x.download_url, &x.error) {
                (_, Some(e)) => format!("❌ {}", cell(e)),
                (Some(url), None) => format!("[{}]({url})", cell(&x.asset)),
                (None, None) => cell(&x.asset),
            })
            .unwrap_or_default();
        let _ = writeln!(s, "| {} | {sha} | {index} | {asset} |", cell(&name));
    }
    s
}

/// A table cell: no pipes or line breaks.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
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

#[cfg(test)]
mod tests {
    use super::*;

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
    }

    #[test]
    fn multiline_outputs_use_a_delimiter() {
        assert_eq!(output_line("k", "v"), "k=v\n");
        let s = output_line("k", "a\nb");
        let (head, rest) = s.split_once('\n').unwrap();
        let delimiter = head.strip_prefix("k<<").unwrap();
        assert_eq!(rest, format!("a\nb\n{delimiter}\n"));
    }

    #[test]
    fn cells_cannot_break_the_table() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }
}
