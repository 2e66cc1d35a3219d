//! The report for people: one line per artifact, a summary, and on a TTY a
//! progress bar of bytes hashed and entries logged.
//!
//! Owns wording and layout of terminal output, as strings and as an
//! indicatif bar; it writes nothing itself (the binary decides where text
//! goes), except that the bar draws on stderr while a run is going. Every
//! path, name, identity, URL and error shown passes through [`line`]: they
//! come from the file system, tokens, trust files and servers.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{AttestationReport, UploadPlan, UploadReport};
use crate::github::AssetAction;
use crate::sign::Progress;
use crate::sign::{
    ArtifactReport, IdentityReport, Outcome, ProvenanceOutcome, ProvenanceReport, SignReport,
};
use crate::text::line;
use crate::vocab::ReleaseMode;

/// Where a bundle's signature was logged: `log index N`, or that the
/// instance keeps no log.
fn log_place(index: Option<u64>) -> String {
    match index {
        Some(i) => format!("log index {i}"),
        None => "no transparency log".into(),
    }
}

/// One line for an artifact as it finishes.
pub(crate) fn artifact_line(a: &ArtifactReport) -> String {
    match &a.outcome {
        Outcome::Signed {
            log_index,
            timestamped,
            ..
        } => format!(
            "✅ Signed: {} -> {} ({}{})",
            line(a.path.display()),
            line(a.bundle.display()),
            log_place(*log_index),
            if *timestamped { ", timestamped" } else { "" }
        ),
        Outcome::Reused { .. } => {
            format!(
                "✅ Kept: {} (existing bundle verified)",
                line(a.path.display())
            )
        }
        Outcome::Failed { error } => {
            format!("❌ Failed: {}: {}", line(a.path.display()), line(error))
        }
        Outcome::Planned {
            blocked_by_existing_bundle,
            kept_if_it_verifies,
        } => format!(
            "{} ({} bytes) -> {}{}",
            line(a.path.display()),
            a.size,
            line(a.bundle.display()),
            match (blocked_by_existing_bundle, kept_if_it_verifies) {
                (true, _) => " [bundle exists: would fail without --overwrite (action input `overwrite: true`)]",
                (_, true) => " [bundle exists: kept if it verifies for this run's signer]",
                _ => "",
            }
        ),
    }
}

fn identity_line(r: &SignReport) -> String {
    match &r.identity {
        IdentityReport::Planned(plan) => format!("Identity: {}", line(plan)),
        IdentityReport::Certified {
            identity,
            issuer,
            token_source,
            ..
        } => {
            format!(
                "Identity: {} (issuer {}, token from {token_source})",
                line(identity),
                line(issuer)
            )
        }
    }
}

/// The instance, then one line per service kind saying which signing config
/// entries were chosen and why others were not (every outside string
/// escaped by the choice's `Display`).
fn instance_line(r: &SignReport) -> String {
    let i = &r.instance;
    // A TUF repository not yet cached: its services are not known offline.
    if i.fulcio.is_empty() {
        return format!(
            "Instance: {} (services read from it when signing)",
            line(&i.name)
        );
    }
    let rekor = match (&i.rekor, i.rekor_version) {
        (Some(url), Some(v)) => format!("Rekor {v} {}", line(url)),
        _ => "no transparency log".into(),
    };
    let mut s = format!(
        "Instance: {} (Fulcio {}, {rekor}{})",
        line(&i.name),
        line(&i.fulcio),
        i.tsa
            .as_deref()
            .map(|t| format!(", TSA {}", line(t)))
            .unwrap_or_default()
    );
    if let Some(sel) = &i.selection {
        for choice in [&sel.ca, &sel.tlogs, &sel.tsas] {
            let _ = write!(s, "\n  chosen: {choice}");
        }
    }
    s
}

/// The dry-run plan, in full.
pub fn dry_run(r: &SignReport, upload: Option<&UploadPlan>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Dry run: nothing is signed, requested or written.");
    let _ = writeln!(s, "{}", instance_line(r));
    let _ = writeln!(s, "{}", identity_line(r));
    let _ = writeln!(s, "Would sign {} artifact(s):", r.artifacts.len());
    for a in &r.artifacts {
        let _ = writeln!(s, "  {}", artifact_line(a));
    }
    skipped(&mut s, r);
    if let Some(p) = &r.provenance {
        let _ = writeln!(s, "{}", provenance_line(p));
        if let ProvenanceOutcome::Planned { statement } = &p.outcome {
            let pretty = serde_json::to_string_pretty(statement).unwrap_or_default();
            for l in pretty.lines() {
                let _ = writeln!(s, "  {}", line(l));
            }
        }
    }
    if let Some(up) = upload {
        upload_plan(&mut s, up);
    }
    s
}

/// The provenance's line: written (and about how many subjects), failed, or planned.
pub(crate) fn provenance_line(p: &ProvenanceReport) -> String {
    match &p.outcome {
        ProvenanceOutcome::Signed {
            subjects,
            log_index,
            timestamped,
            ..
        } => format!(
            "✅ Provenance: {} ({} subject(s), {}{})",
            line(p.path.display()),
            subjects.len(),
            log_place(*log_index),
            if *timestamped { ", timestamped" } else { "" }
        ),
        ProvenanceOutcome::Failed { error } => {
            format!("❌ Provenance: {}: {}", line(p.path.display()), line(error))
        }
        ProvenanceOutcome::Planned { .. } => format!(
            "Would write build provenance (SLSA v1) to {}, signing this statement:",
            line(p.path.display())
        ),
    }
}

/// The release half of a dry run: which release, what happens to it, and
/// the assets in upload order. The release is not looked up (no request).
fn upload_plan(s: &mut String, up: &UploadPlan) {
    let (tag, repo) = (line(&up.tag), line(&up.repo));
    let release = match up.mode {
        ReleaseMode::Existing => format!("release {tag} of {repo} (it must exist)"),
        ReleaseMode::Draft => format!(
            "the draft release {tag} of {repo} (created if there is none; a published release is refused)"
        ),
        ReleaseMode::Auto => format!("release {tag} of {repo} (a new draft if there is none)"),
    };
    let _ = writeln!(
        s,
        "Would upload {} asset(s) to {release}{}:",
        up.assets.len(),
        if up.check {
            ", downloading each back to verify it"
        } else {
            ""
        }
    );
    for a in &up.assets {
        let _ = writeln!(s, "  {}", line(a));
    }
    if up.publish {
        let _ = writeln!(s, "Would publish the draft once every asset verified.");
    }
}

/// The CLI's lines for an upload: one per asset, then the release's fate.
pub fn upload_lines(up: &UploadReport) -> String {
    let mut s = String::new();
    for a in &up.assets {
        let asset = line(&a.asset);
        let _ = match (&a.error, a.action) {
            (Some(e), _) => writeln!(s, "❌ Upload failed: {asset}: {}", line(e)),
            (None, Some(action @ (AssetAction::Equivalent | AssetAction::Unchanged))) => {
                writeln!(s, "✅ {asset}: {}", action.describe())
            }
            (None, _) => writeln!(
                s,
                "⬆ {asset} -> release {} ({})",
                line(&up.tag),
                line(a.download_url.as_deref().unwrap_or_default())
            ),
        };
    }
    if let Some(a) = &up.attestation {
        let _ = writeln!(s, "{}", attestation_line(a));
    }
    s + &release_lines(up)
}

/// What became of the provenance in GitHub's attestation store: stored (its
/// link), not asked (GHES), a warning (no permission), or a failure.
pub fn attestation_line(a: &AttestationReport) -> String {
    match a {
        AttestationReport::Stored { id, url } => {
            format!("✅ Attestation {id} stored: {}", line(url))
        }
        AttestationReport::Skipped { note } => format!("ℹ Attestation not stored: {}", line(note)),
        AttestationReport::Forbidden { warning } => format!("⚠ warning: {}", line(warning)),
        AttestationReport::Failed { error } => format!("❌ Attestation failed: {}", line(error)),
    }
}

/// What happened to the release itself (created, published, left a draft).
pub(crate) fn release_lines(up: &UploadReport) -> String {
    let mut s = String::new();
    if up.created {
        let _ = writeln!(s, "📝 Created draft release {}", line(&up.tag));
    }
    if up.published {
        let _ = writeln!(
            s,
            "🚀 Published release {} ({})",
            line(&up.tag),
            line(&up.release_url)
        );
    } else if up.publish_withheld {
        let _ = writeln!(s, "{}", withheld_line(up));
    } else if up.draft && !up.assets_ok() {
        let _ = writeln!(
            s,
            "Release {} stays a draft: not every asset verified",
            line(&up.tag)
        );
    }
    s
}

/// Why a draft asked to be published was not: what it lacks, and the fix.
pub(crate) fn withheld_line(up: &UploadReport) -> String {
    if up.refused_at_publish() {
        return format!(
            "Release {} stays a draft (not published): its assets verified, but publishing was refused (the error says why and what to fix before a re-run)",
            line(&up.tag)
        );
    }
    if !up.not_regular.is_empty() {
        return format!(
            "Release {} stays a draft (not published): it lacks {} asset(s): {}; not a regular file (a link to nothing?): {}; fix the step that made it, then re-run (assets already there are kept)",
            line(&up.tag),
            up.lacking.len(),
            super::some_of(&up.lacking, |a| line(a)),
            super::some_of(&up.not_regular, |p| line(p)),
        );
    }
    let why = match up.lacking.len() {
        0 if up.assets.is_empty() => "nothing was uploaded".to_owned(),
        0 if up.assets_ok() && up.attestation_failed() => {
            "the build provenance is not in the repository's attestations yet".to_owned()
        }
        0 => "not every asset verified".to_owned(),
        n => format!(
            "it lacks {n} asset(s): {}",
            super::some_of(&up.lacking, |a| line(a))
        ),
    };
    format!(
        "Release {} stays a draft (not published): {why}; re-run to finish it (assets already there are kept)",
        line(&up.tag)
    )
}

fn skipped(s: &mut String, r: &SignReport) {
    if r.skipped.is_empty() {
        return;
    }
    let _ = writeln!(s, "Skipped {}:", r.skipped.len());
    for k in &r.skipped {
        let why = k.reason.describe();
        let _ = writeln!(s, "  {} ({why})", line(k.path.display()));
    }
}

/// The end-of-run summary (the per-artifact lines were shown as they finished).
pub fn summary(r: &SignReport, verbose: bool) -> String {
    let mut s = String::new();
    if verbose {
        let _ = writeln!(s, "{}", instance_line(r));
        let _ = writeln!(s, "{}", identity_line(r));
        skipped(&mut s, r);
    }
    let failed: Vec<_> = r.failures().collect();
    let _ = writeln!(
        s,
        "Signed {} of {} artifact(s) with {} certificate(s){}{}.",
        r.signed(),
        r.artifacts.len(),
        r.certificates,
        match r.reused() {
            0 => String::new(),
            n => format!("; {n} existing bundle(s) verified and kept"),
        },
        if failed.is_empty() {
            String::new()
        } else {
            format!("; {} failed", failed.len())
        }
    );
    for (a, error) in failed {
        let _ = writeln!(s, "  ❌ {}: {}", line(a.path.display()), line(error));
    }
    if let Some(p) = &r.provenance {
        let _ = writeln!(s, "{}", provenance_line(p));
    }
    s
}

/// How a run shows progress: a bar on a TTY, else nothing live (the binary
/// prints one line per artifact through [`Progress::finished`]).
pub struct Live {
    bar: Option<ProgressBar>,
    lines: Box<dyn Fn(&str) + Send + Sync>,
    logged: AtomicU64,
    total: usize,
}

impl Live {
    /// `total_bytes` over `artifacts` artifacts; `bar` draws on stderr;
    /// `lines` receives each finished artifact's line.
    pub fn new(
        total_bytes: u64,
        artifacts: usize,
        bar: bool,
        lines: Box<dyn Fn(&str) + Send + Sync>,
    ) -> Live {
        let bar = bar.then(|| {
            let b = ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{bar:30}] {bytes}/{total_bytes} hashed, {msg}",
                )
                .expect("static template")
                .progress_chars("=> "),
            );
            b.set_message(format!("0/{artifacts} logged"));
            b
        });
        Live {
            bar,
            lines,
            logged: AtomicU64::new(0),
            total: artifacts,
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl Progress for Live {
    fn hashed(&self, bytes: u64) {
        if let Some(b) = &self.bar {
            b.inc(bytes);
        }
    }
    fn logged(&self) {
        let n = self.logged.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(b) = &self.bar {
            b.set_message(format!("{n}/{} logged", self.total));
        }
    }
    fn finished(&self, a: &ArtifactReport) {
        let line = artifact_line(a);
        match &self.bar {
            Some(b) => b.suspend(|| (self.lines)(&line)),
            None => (self.lines)(&line),
        }
    }
}
