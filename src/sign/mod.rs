//! `sign`: turn a [`Plan`] into bundles, concurrently, under one identity.
//!
//! Owns the run's orchestration: load the instance, build the verifier once,
//! obtain the identity and its certificate once, then sign artifacts with at
//! most `--jobs` in flight, collecting every outcome (one artifact's failure
//! never loses the others; only what every later artifact would meet
//! alike, after being logged for good, stops the run from starting more: a
//! log, a TSA or a certificate's SCT the trusted root does not vouch for, a
//! log whose clock is far ahead of this machine's, a Rekor v2 checkpoint
//! not named for its log, a renewed certificate refused, see
//! [`artifact::ArtifactError::stops_the_run`]). It
//! prints nothing: progress goes to a
//! [`Progress`] observer and results into a [`SignReport`].

pub mod artifact;
pub mod clients;
mod outcome;
pub mod provenance;
mod settings;
mod subjects;

pub mod session;

use std::num::NonZeroUsize;
use std::sync::Arc;

use crate::net::{self, RetryPolicy};
use crate::oidc::{Secret, TokenObserver, TokenSource};
use crate::plan::Plan;
use crate::trust::{self, Instance, Refresh, TrustError};
use crate::verify::cache::CachingVerifier;
use crate::verify::policy::Policy;
use crate::vocab::RekorVersion;
pub use outcome::{
    ArtifactReport, IdentityReport, InstanceReport, Outcome, ProvenanceOutcome, ProvenanceReport,
    SignReport, SubjectReport,
};
use session::{Session, SessionError};
pub use settings::{ProvenanceSettings, SignSettings};

/// Observes a run as it happens; the binary draws progress from it.
pub trait Progress: Send + Sync {
    /// Bytes of some artifact were hashed.
    fn hashed(&self, _bytes: u64) {}
    /// A log entry was created.
    fn logged(&self) {}
    /// An artifact is done (signed or failed).
    fn finished(&self, _artifact: &ArtifactReport) {}
    /// A token was requested mid-run (see [`TokenObserver`]); called before
    /// it is used, so the binary can mask it.
    fn token(&self, _token: &Secret) {}
}

/// A failure of the whole run, before any artifact could be signed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error(transparent)]
    Trust(#[from] TrustError),
    #[error("the trusted root of {instance} cannot be used for verification ({source}); fix: pass a valid trusted root in --trust-config")]
    TrustedRoot {
        instance: String,
        source: sigstore_verify::Error,
    },
    #[error("cannot set up HTTP: {0}")]
    Http(#[source] reqwest::Error),
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error("the identity token says repository `{repository}` is {visibility}: signing with the {instance} Sigstore instance, or with any of its services, writes the certificate, and with it the repository name and workflow path, into a public transparency log that anyone can read and no one can erase. Nothing was sent to Fulcio. Fix: sign with {}a private Sigstore instance whose services are all your own (--trust-config, action input `trust-config`, with no URL flag naming a public service), or, if publishing those names is acceptable, pass --allow-private-repository (action input `allow-private-repository: true`)", if *github { "GitHub's Sigstore instance, which keeps no public log (--instance github, action input `instance: github`; verify with --instance github), or with " } else { "" })]
    PrivateRepository {
        repository: String,
        visibility: String,
        instance: String,
        /// A GitHub Actions job, which GitHub's own instance certifies.
        github: bool,
    },
    /// `--provenance` with a token it cannot be built from: nothing was sent to Fulcio.
    #[error(transparent)]
    Provenance(#[from] crate::provenance::ProvenanceError),
}

/// Refuse to publish a private repository's name in a public log (see
/// [`SignError::PrivateRepository`]); `public` names the public deployment
/// the run would write to, if any.
fn check_repository_visibility(
    settings: &SignSettings,
    token: &crate::oidc::IdToken,
    public: Option<&str>,
) -> Result<(), SignError> {
    let Some(instance) = public else {
        return Ok(());
    };
    match token.identity().non_public_repository() {
        Some((repository, visibility)) if !settings.allow_private_repository => {
            Err(SignError::PrivateRepository {
                repository: crate::text::capped(&crate::text::line(repository), 200),
                visibility: crate::text::capped(&crate::text::line(visibility), 100),
                instance: instance.to_owned(),
                github: token.identity().is_github_actions(),
            })
        }
        _ => Ok(()),
    }
}

fn instance_report(instance: &Instance) -> InstanceReport {
    InstanceReport {
        name: instance.name.clone(),
        fulcio: instance.services.fulcio.clone(),
        rekor: instance.services.rekor.as_ref().map(|l| l.url.clone()),
        rekor_version: instance.services.rekor.as_ref().map(|l| l.version),
        tsa: instance.services.tsa.clone(),
        selection: instance.services.selection.clone(),
    }
}

/// The instance as far as it is known without a request, and its
/// warnings. A private TUF repository's services are known offline only
/// from its cache, which a fresh runner has not got yet (or which no longer
/// verifies): the report then names the repository, and a warning says why
/// and that its services are read from it when signing. Public-good's and
/// staging's are known offline from the embedded snapshot, which may be
/// older than what TUF serves: where it refuses the run's choice, a warning
/// says so and that the refreshed listing decides when signing, as it does.
async fn instance_offline(
    settings: &SignSettings,
) -> Result<(InstanceReport, Vec<String>), SignError> {
    let unknown = |name: &str| InstanceReport {
        name: name.to_owned(),
        fulcio: String::new(),
        rekor: None,
        rekor_version: None,
        tsa: None,
        selection: None,
    };
    let base = &settings.instance.base;
    match trust::load(&settings.instance, Refresh::Offline).await {
        Ok(instance) => Ok((instance_report(&instance), instance.warnings)),
        Err(trust::TrustError::TufCache { url, reason }) => Ok((
            unknown(&url),
            vec![format!(
                "the services of the TUF repository {url} are read from it when signing, and no usable copy of them is cached here ({reason}), so none are shown"
            )],
        )),
        Err(e) if base.listing_refreshed() && e.judges_the_listing() => {
            let name = base.well_known().map_or("", |(_, name)| name);
            Ok((
                unknown(name),
                vec![format!(
                    "the embedded snapshot of {name}'s trust material refuses this run's choice of services ({e}); when signing, its current listing, refreshed through TUF, decides, so none are shown"
                )],
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// `--dry-run`: the plan and the identity source; no token, no request, no write.
pub async fn dry_run(settings: &SignSettings, plan: Plan) -> Result<SignReport, SignError> {
    let (instance, warnings) = instance_offline(settings).await?;
    let (_, lowered) = jobs_here(settings.jobs, plan.artifacts.len());
    let keep = plan.keep_verified_bundles;
    let names: Vec<String> = plan
        .artifacts
        .iter()
        .map(|a| release_name(&a.path))
        .collect();
    Ok(SignReport {
        dry_run: true,
        instance,
        identity: IdentityReport::Planned(settings.identity.plan()),
        certificates: 0,
        artifacts: plan
            .artifacts
            .into_iter()
            .map(|a| ArtifactReport {
                outcome: Outcome::Planned {
                    blocked_by_existing_bundle: a.blocked_by_existing_bundle && !keep,
                    kept_if_it_verifies: a.blocked_by_existing_bundle && keep,
                },
                path: a.path,
                size: a.size,
                bundle: a.bundle,
            })
            .collect(),
        warnings: [
            warnings,
            crate::plan::skip_warnings(&plan.skipped),
            lowered.into_iter().collect(),
        ]
        .concat(),
        skipped: plan.skipped,
        provenance: plan.provenance.map(|p| ProvenanceReport {
            path: p.path,
            outcome: ProvenanceOutcome::Planned {
                statement: planned_statement(settings, &names),
            },
        }),
    })
}

/// The statement a dry run shows: its shape and every value a dry run can
/// know, with `<...>` for the identity token's claims and the digests
/// (a dry run reads neither).
fn planned_statement(settings: &SignSettings, names: &[String]) -> serde_json::Value {
    use crate::provenance::{Predicate, REQUIRED_CLAIMS};
    // The workflow's path is cut out of `workflow_ref`: a placeholder of its
    // shape keeps it visible.
    let placeholders: Vec<(&str, String)> = REQUIRED_CLAIMS
        .iter()
        .map(|c| match *c {
            "workflow_ref" => (
                *c,
                "<repository claim>/<path in workflow_ref claim>@<ref in workflow_ref claim>"
                    .to_owned(),
            ),
            c => (c, format!("<{c} claim>")),
        })
        .collect();
    let claims =
        crate::oidc::StringClaims::from_pairs(placeholders.iter().map(|(k, v)| (*k, v.as_str())));
    let server = settings
        .provenance
        .as_ref()
        .and_then(|p| p.server_url.as_ref())
        .map_or_else(
            || "http://<GITHUB_SERVER_URL>".into(),
            |s| s.url().to_owned(),
        );
    let predicate =
        serde_json::to_value(Predicate::of_claims(&claims, &server)).unwrap_or_default();
    let subjects: Vec<serde_json::Value> = names
        .iter()
        .map(|n| serde_json::json!({ "name": n, "digest": { "sha256": "<sha256>" } }))
        .collect();
    serde_json::json!({
        "_type": crate::provenance::STATEMENT_V1,
        "subject": subjects,
        "predicateType": crate::provenance::SLSA_PROVENANCE_V1,
        "predicate": predicate,
    })
}

/// The name an artifact has on a release: its file name.
/// Descriptors an artifact in flight may hold at once: the artifact, a
/// connection each to the log and the TSA, and its bundle's temporary file.
const DESCRIPTORS_PER_JOB: u64 = 4;

/// Descriptors kept for everything else (the runtime, the trust material,
/// Fulcio's and GitHub's connections, the directories synced at the end).
const DESCRIPTORS_KEPT: u64 = 64;

/// `jobs` for `artifacts` files, lowered to what `limit` descriptors can
/// hold, with the warning that says so (none when the artifacts are fewer
/// than what the limit holds). Regression: `--jobs 1000` under `ulimit -n
/// 1024` logged hundreds of entries, each naming the signer, whose bundles
/// then failed to be written, "Too many open files".
fn jobs_within(jobs: NonZeroUsize, artifacts: usize, limit: u64) -> (NonZeroUsize, Option<String>) {
    let fits = limit.saturating_sub(DESCRIPTORS_KEPT) / DESCRIPTORS_PER_JOB;
    let fits =
        NonZeroUsize::new(usize::try_from(fits).unwrap_or(usize::MAX)).unwrap_or(NonZeroUsize::MIN);
    if jobs <= fits || artifacts <= fits.get() {
        return (jobs, None);
    }
    let warning = format!(
        "{jobs} artifacts in flight (--jobs) lowered to {fits}: this process may open {limit} files at once (`ulimit -n`), and each artifact in flight holds up to {DESCRIPTORS_PER_JOB}; fix: raise the open-file limit, or pass --jobs {fits} or fewer"
    );
    (fits, Some(warning))
}

/// [`jobs_within`] this process's open-file limit.
fn jobs_here(jobs: NonZeroUsize, artifacts: usize) -> (NonZeroUsize, Option<String>) {
    // Windows' handle table has no such small per-process limit.
    let limit = crate::files::open_file_limit().unwrap_or(u64::MAX);
    jobs_within(jobs, artifacts, limit)
}

fn release_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A finished sign run: its report, and the verifier built from the run's
/// (refreshed) trusted root, so later stages (checking release assets) judge
/// bundles by exactly the trust the bundles were made under.
pub struct SignRun {
    pub report: SignReport,
    /// `None` when nothing was signed (no trusted root was loaded online).
    pub verifier: Option<Arc<CachingVerifier>>,
}

/// Sign every artifact of `plan`.
pub async fn run(
    settings: &SignSettings,
    plan: Plan,
    progress: Arc<dyn Progress>,
) -> Result<SignRun, SignError> {
    // 0. Every artifact blocked by an existing bundle: nothing to sign, so no
    //    token or request is needed to report those failures. Uploading is
    //    different: a re-run after a failed upload keeps the bundles that
    //    verify for the run's identity, which needs the token and trust.
    let uploading = plan.keep_verified_bundles;
    let all_blocked = plan.artifacts.iter().all(|a| a.blocked_by_existing_bundle);
    if all_blocked && (!uploading || plan.artifacts.is_empty()) {
        return Ok(SignRun {
            report: nothing_to_sign(settings, plan, progress.as_ref()).await?,
            verifier: None,
        });
    }

    // 1. Local configuration first (a trust config file, the service choice):
    //    a usage error should not wait behind a token request.
    let offline = trust::load_local(&settings.instance).await?;

    let retry = RetryPolicy::default();
    // 2. Two HTTP clients, each shared by its services (connection pools,
    //    timeouts): one for TUF and the token endpoint, and one for Fulcio,
    //    Rekor and the TSA that follows no redirect, so the identity token in
    //    Fulcio's request never goes anywhere but the configured URL.
    let http = net::http_client().map_err(SignError::Http)?;
    let sigstore = net::sigstore_client().map_err(SignError::Http)?;

    // 3. The identity token: a job without `id-token: write` is one clear
    //    error, reported before anything slower (a TUF refresh) happens.
    let observer = progress.clone();
    let tokens = TokenSource::new(settings.identity.clone(), http.clone(), retry)
        .observed_by(TokenObserver::new(move |t| observer.token(t)));
    let token = tokens.fetch().await.map_err(SessionError::from)?;
    // 3b. Before any Sigstore service sees it: a private repository's name
    //     must not reach a public log by accident (by the instance's name
    //     here, before a TUF refresh; by its services after it, in 4).
    check_repository_visibility(settings, &token, settings.instance.base.public_deployment())?;
    // 3c. Provenance is built from the token's claims: a token that lacks
    //     them is one clear error, before Fulcio sees anything.
    let predicate = match (&plan.provenance, &settings.provenance) {
        (Some(_), Some(p)) => Some(crate::provenance::Predicate::github(
            &token.identity().issuer,
            token.claims(),
            p.server_url.as_ref().map(crate::vocab::GitHubServer::url),
        )?),
        _ => None,
    };

    // 4. The instance, refreshed, and a verifier built once from its trusted root.
    let instance = trust::refresh(&settings.instance, offline, http.clone()).await?;
    // Whatever named them (a signing config of public-good's, a mirror of
    // its TUF repository, a URL flag), services of a public deployment
    // publish what they are sent.
    check_repository_visibility(settings, &token, instance.services.public_deployment())?;
    let verifier = Arc::new(
        CachingVerifier::new(&instance.trusted_root).map_err(|source| SignError::TrustedRoot {
            instance: instance.name.clone(),
            source,
        })?,
    );
    let services = &instance.services;

    // 5. The certificate, once, before any artifact: a refused token is one
    //    error, not N identical ones. Renewals later are per-artifact outcomes.
    let session = Arc::new(Session::new(
        &services.fulcio,
        sigstore.clone(),
        tokens,
        token.clone(),
        retry,
        verifier.clone(),
    ));
    // Keeping existing bundles alone needs no certificate: the identity and
    // issuer they must name come from the token's claims. A federated token's
    // certificate names another issuer, so only Fulcio can say which.
    let from_claims = token
        .identity()
        .expected_certificate_identity()
        .filter(|_| all_blocked)
        .map(|(identity, issuer)| (identity.to_owned(), issuer.to_owned()));
    let (identity, issuer) = match from_claims {
        // Unverified claims decide what is kept: only those of a token
        // Fulcio would still take (an expired one is anyone's to copy
        // from a log), as when a certificate is asked for.
        Some(expected) => {
            token
                .for_fulcio(std::time::Duration::ZERO)
                .map_err(SessionError::from)?;
            expected
        }
        None => {
            let first = session.credential().await?;
            (first.identity.clone(), first.issuer.clone())
        }
    };

    let log = match &services.rekor {
        Some(trust::LogService {
            url,
            version: RekorVersion::V1,
        }) => artifact::Log::V1(clients::RekorV1::new(sigstore.clone(), url)),
        Some(trust::LogService {
            url,
            version: RekorVersion::V2,
        }) => artifact::Log::V2(clients::RekorV2::new(sigstore.clone(), url)),
        None => artifact::Log::None,
    };
    let tsa = services
        .tsa
        .as_ref()
        .map(|url| (clients::Tsa::new(sigstore, url), url.clone()));
    // Reading and hashing, and self-verifying, each take one core per artifact.
    let cores = crate::digest::concurrent_reads();
    let ctx = artifact::Context {
        session: session.clone(),
        log,
        log_url: services
            .rekor
            .as_ref()
            .map(|l| l.url.clone())
            .unwrap_or_default(),
        tsa,
        verifier: verifier.clone(),
        log_gate: tokio::sync::watch::Sender::new(artifact::LogGate::Pending),
        stopped_after: std::sync::OnceLock::new(),
        trusted_logs: artifact::TrustedLog::of_root(&instance.trusted_root),
        overwrite: settings.overwrite,
        reuse: uploading.then(|| Policy::run_signer(&identity, &issuer, token.source_commit())),
        retry,
        progress: progress.clone(),
        hashing: Arc::new(tokio::sync::Semaphore::new(cores)),
        verifying: Arc::new(tokio::sync::Semaphore::new(cores)),
    };

    // 6. Every artifact, at most `jobs` at a time, each its own task so that
    //    all the runtime's threads take artifacts (driven from one task, the
    //    CPU work between two requests ran on one thread at a time); each
    //    outcome kept, in plan order. A run that is dropped (interrupted)
    //    drops the set, which aborts every artifact still in flight.
    // 7. The build provenance about every artifact signed or kept, signed
    //    with the same key and certificate. It needs their digests, not
    //    their bundles: it is signed as soon as every artifact is hashed
    //    (or failed), while the last ones wait for the log, and written
    //    once their outcomes confirm its subjects (see `subjects`).
    let ctx = Arc::new(ctx);
    let (jobs, lowered) = jobs_here(settings.jobs, plan.artifacts.len());
    let attesting = plan.provenance.as_ref().zip(predicate.map(Arc::new));
    let mut early = subjects::Early::new(
        plan.artifacts
            .iter()
            .map(|a| release_name(&a.path))
            .collect(),
    );
    // The provenance signed early, with the subjects it was signed for; in a
    // set of one so that dropping the run aborts it too.
    let mut drafted: Option<(Vec<subjects::Subject>, tokio::task::JoinSet<Drafted>)> = None;
    let (digests, mut hashed) = tokio::sync::mpsc::unbounded_channel();
    let mut pending = plan.artifacts.iter().cloned().enumerate();
    let mut running = tokio::task::JoinSet::new();
    let mut results: Vec<(usize, ArtifactReport)> = Vec::with_capacity(plan.artifacts.len());
    // Once an artifact stops the run (see `ArtifactError::stops_the_run`),
    // no more are started: `ctx.stopped()` says so, for them and for this.
    loop {
        while ctx.stopped().is_ok() && running.len() < jobs.get() {
            let Some((i, planned)) = pending.next() else {
                break;
            };
            let ctx = ctx.clone();
            let digests = digests.clone();
            running.spawn(async move {
                // Only a dropped run closes the channel; then no one asks.
                let told = move |digest| {
                    let _ = digests.send((i, digest));
                };
                let done = artifact::sign_or_reuse(&ctx, &planned, told).await;
                let stops = done
                    .as_ref()
                    .err()
                    .filter(|e| e.stops_the_run())
                    .map(artifact::ArtifactError::unwritable);
                // The length signed, which later stages hold the file to.
                let size = match &done {
                    Ok(artifact::Done::Signed(s)) => s.size,
                    Ok(artifact::Done::Reused(r)) => r.size,
                    Err(_) => planned.size,
                };
                let outcome = artifact_outcome(done);
                let report = ArtifactReport {
                    path: planned.path,
                    size,
                    bundle: planned.bundle,
                    outcome,
                };
                ctx.progress.finished(&report);
                (i, report, stops)
            });
        }
        tokio::select! {
            biased;
            Some((i, digest)) = hashed.recv() => early.hashed(i, digest),
            joined = running.join_next() => match joined {
                Some(Ok((i, report, stops))) => {
                    if let Some(unwritten) = stops.filter(|_| ctx.stopped().is_ok()) {
                        // The early provenance, if it waits for the log,
                        // goes with it, and so does every artifact not yet
                        // hashed.
                        ctx.close_log(&report.path, unwritten);
                        discard(&mut drafted).await;
                    }
                    early.done(i, attested(&report).is_some());
                    // One of the early provenance's subjects failed: the
                    // draft (waiting for the log, as a rule) is about a
                    // file the run will not have; one is drafted again from
                    // what is now likely, below, rather than log this one
                    // and sign again at the end.
                    if drafted
                        .as_ref()
                        .is_some_and(|(about, _)| early.likely_subjects().as_ref() != Some(about))
                    {
                        discard(&mut drafted).await;
                    }
                    results.push((i, report));
                }
                // A panic in one artifact is a bug: surface it, as before. (Only
                // aborting cancels a task, and only dropping the set aborts.)
                Some(Err(e)) => std::panic::resume_unwind(e.into_panic()),
                None => break,
            },
        }
        if let (Some((planned, predicate)), None, Ok(())) = (&attesting, &drafted, ctx.stopped()) {
            if let Some(likely) = early.likely_subjects() {
                let mut task = tokio::task::JoinSet::new();
                task.spawn(draft(
                    ctx.clone(),
                    predicate.clone(),
                    likely.clone(),
                    planned.path.clone(),
                    likely.len() < early.planned(),
                ));
                drafted = Some((likely, task));
            }
        }
    }
    // Only a stopped run leaves artifacts pending.
    for (i, planned) in pending {
        let Err(error) = ctx.stopped() else {
            break;
        };
        let report = ArtifactReport {
            path: planned.path,
            size: planned.size,
            bundle: planned.bundle,
            outcome: artifact_outcome(Err(error)),
        };
        ctx.progress.finished(&report);
        results.push((i, report));
    }
    results.sort_by_key(|(i, _)| *i);

    let provenance = match (attesting, ctx.stopped()) {
        // Not signed either: it would go to the same services.
        (Some((planned, _)), Err(stop)) => {
            drop(drafted);
            Some(ProvenanceReport {
                path: planned.path.clone(),
                outcome: ProvenanceOutcome::Failed {
                    error: stop.to_string(),
                },
            })
        }
        (Some((planned, predicate)), Ok(())) => {
            Some(attest(&ctx, &predicate, planned, &results, drafted).await)
        }
        (None, _) => None,
    };

    let identity = IdentityReport::Certified {
        identity,
        issuer,
        token_source: token.origin(),
        commit: token.source_commit().map(str::to_ascii_lowercase),
    };
    let report = SignReport {
        dry_run: false,
        instance: instance_report(&instance),
        identity,
        certificates: session.certificates_issued(),
        artifacts: results.into_iter().map(|(_, r)| r).collect(),
        warnings: [
            instance.warnings,
            crate::plan::skip_warnings(&plan.skipped),
            lowered.into_iter().collect(),
        ]
        .concat(),
        skipped: plan.skipped,
        provenance,
    };
    Ok(SignRun {
        report,
        verifier: Some(verifier),
    })
}

/// What the report says of one artifact's signing.
fn artifact_outcome(result: Result<artifact::Done, artifact::ArtifactError>) -> Outcome {
    match result {
        Ok(artifact::Done::Reused(r)) => Outcome::Reused {
            sha256: r.sha256.to_hex(),
            log_index: r.log_index,
        },
        Ok(artifact::Done::Signed(s)) => Outcome::Signed {
            sha256: s.sha256.to_hex(),
            log_index: s.log_index,
            timestamped: s.timestamped,
            certificate: s.certificate,
        },
        Err(e) => Outcome::Failed {
            error: failure(&e.to_string()),
        },
    }
}

/// A failure as an outcome keeps it. Each part from outside is capped where
/// it is kept; this bounds the whole, which every annotation and summary
/// row repeats.
fn failure(error: &str) -> String {
    crate::text::capped(error, 4 * crate::text::MESSAGE_CHARS)
}

/// The digest of an artifact signed or kept: a subject of the provenance.
fn attested(report: &ArtifactReport) -> Option<sigstore_types::Sha256Hash> {
    match &report.outcome {
        Outcome::Signed { sha256, .. } | Outcome::Reused { sha256, .. } => {
            sigstore_types::Sha256Hash::from_hex(sha256).ok()
        }
        _ => None,
    }
}

/// The provenance's statement, signed and self-verified, not yet written;
/// whether its write may replace a file there; or why not.
type Drafted = Result<(sigstore_types::Statement, provenance::Prepared, bool), String>;

/// Sign the statement about `subjects` (see [`provenance::prepare`]);
/// `partial`: an artifact of the run failed, so `subjects` lacks it.
async fn draft(
    ctx: Arc<artifact::Context>,
    predicate: Arc<crate::provenance::Predicate>,
    subjects: Vec<subjects::Subject>,
    path: std::path::PathBuf,
    partial: bool,
) -> Drafted {
    // A re-run keeping verified work (uploading, without `--overwrite`)
    // replaces only a provenance whose claims this one repeats: decided
    // before anything is signed or logged. So does a run with
    // `--overwrite` one of whose artifacts failed: what `--overwrite`
    // replaces is content that differs, not a claim about a file a
    // transient failure left out. Regression: a provenance about fewer
    // files replaced a whole one, and `verify --release` then failed an
    // artifact that was still there, unchanged.
    let held = partial && ctx.overwrite;
    let mut replace = ctx.overwrite && !held;
    let refused = |why: String| {
        if held {
            provenance::AttestError::PartialNotReplaced {
                path: path.clone(),
                why,
            }
            .to_string()
        } else {
            provenance::AttestError::NotReplaced {
                path: path.clone(),
                why,
            }
            .to_string()
        }
    };
    match ctx.reuse.clone() {
        Some(policy) if !replace => {
            let (verifier, there, about) = (ctx.verifier.clone(), path.clone(), subjects.clone());
            let checked = tokio::task::spawn_blocking(move || {
                provenance::may_replace(&verifier, &policy, &there, &about)
            })
            .await;
            replace = artifact::joined("checking the provenance already there", checked)
                .map_err(|e| e.to_string())?
                .map_err(refused)?;
        }
        // Not uploading: nothing to tell a claim dropped from one kept.
        None if held && std::fs::symlink_metadata(&path).is_ok() => {
            return Err(refused("it may name files this one does not".to_owned()));
        }
        _ => {}
    }
    let statement = predicate.statement(&subjects).map_err(|e| e.to_string())?;
    let prepared = provenance::prepare(&ctx, &statement, subjects[0].1, &path)
        .await
        .map_err(|e| e.to_string())?;
    Ok((statement, prepared, replace))
}

/// Abort an early provenance draft and wait until it has stopped, as
/// `attest` does: dropped, a draft mid-poll on another thread when the log
/// opens could still pass the gate and be logged.
async fn discard(drafted: &mut Option<(Vec<subjects::Subject>, tokio::task::JoinSet<Drafted>)>) {
    if let Some((_, mut task)) = drafted.take() {
        task.shutdown().await;
    }
}

/// The run's provenance about `results`' signed and kept artifacts: the one
/// `drafted` early when it was signed for exactly those, else signed now.
async fn attest(
    ctx: &Arc<artifact::Context>,
    predicate: &Arc<crate::provenance::Predicate>,
    planned: &crate::plan::PlannedProvenance,
    results: &[(usize, ArtifactReport)],
    drafted: Option<(Vec<subjects::Subject>, tokio::task::JoinSet<Drafted>)>,
) -> ProvenanceReport {
    let subjects: Vec<subjects::Subject> = results
        .iter()
        .filter_map(|(_, a)| attested(a).map(|d| (release_name(&a.path), d)))
        .collect();
    // Every artifact is done: a provenance still waiting for a bundle to
    // verify (none did: every bundle kept, or every one failed) goes on,
    // once an early draft that names other subjects can no longer.
    let drafted = match drafted {
        Some((early, mut task)) if early == subjects => {
            ctx.open_log();
            match task.join_next().await {
                Some(Ok(drafted)) => drafted,
                Some(Err(e)) => std::panic::resume_unwind(e.into_panic()),
                None => unreachable!("a set of one task"),
            }
        }
        // An artifact failed after it was hashed: the early draft names it.
        // It is aborted, and waited for, before the gate it may be waiting
        // at opens: one mid-poll when dropped could otherwise pass it.
        other => {
            if let Some((_, mut task)) = other {
                task.shutdown().await;
            }
            ctx.open_log();
            let partial = results.iter().any(|(_, a)| attested(a).is_none());
            draft(
                ctx.clone(),
                predicate.clone(),
                subjects,
                planned.path.clone(),
                partial,
            )
            .await
        }
    };
    let outcome = match drafted {
        Err(error) => ProvenanceOutcome::Failed {
            error: failure(&error),
        },
        Ok((statement, prepared, replace)) => match provenance::write(
            &provenance::Target {
                path: planned.path.clone(),
                dir: planned.dir.clone(),
                overwrite: replace,
            },
            prepared,
        )
        .await
        {
            Ok(done) => ProvenanceOutcome::Signed {
                subjects: statement
                    .subject
                    .iter()
                    .map(|s| SubjectReport {
                        name: s.name.clone(),
                        sha256: s.digest.sha256.map(|d| d.to_hex()).unwrap_or_default(),
                    })
                    .collect(),
                log_index: done.log_index,
                timestamped: done.timestamped,
                certificate: done.certificate,
            },
            Err(e) => ProvenanceOutcome::Failed {
                error: failure(&e.to_string()),
            },
        },
    };
    ProvenanceReport {
        path: planned.path.clone(),
        outcome,
    }
}

async fn nothing_to_sign(
    settings: &SignSettings,
    plan: Plan,
    progress: &dyn Progress,
) -> Result<SignReport, SignError> {
    let (instance, warnings) = instance_offline(settings).await?;
    let artifacts = plan
        .artifacts
        .into_iter()
        .map(|a| {
            let error = artifact::ArtifactError::BundleExists(a.bundle.clone()).to_string();
            let report = ArtifactReport {
                path: a.path,
                size: a.size,
                bundle: a.bundle,
                outcome: Outcome::Failed { error },
            };
            progress.finished(&report);
            report
        })
        .collect();
    Ok(SignReport {
        dry_run: false,
        instance,
        identity: IdentityReport::Planned(settings.identity.plan()),
        certificates: 0,
        artifacts,
        warnings: [warnings, crate::plan::skip_warnings(&plan.skipped)].concat(),
        skipped: plan.skipped,
        provenance: plan.provenance.map(|p| ProvenanceReport {
            path: p.path,
            outcome: ProvenanceOutcome::Failed {
                error: crate::provenance::ProvenanceError::NoSubjects.to_string(),
            },
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_are_lowered_to_what_the_descriptor_limit_holds() {
        let n = |j: usize| NonZeroUsize::new(j).unwrap();
        assert_eq!(jobs_within(n(64), 500, 1024), (n(64), None));
        let (jobs, warning) = jobs_within(n(1000), 500, 1024);
        assert_eq!(jobs, n(240));
        let warning = warning.unwrap();
        assert!(
            warning.contains("1000 artifacts in flight (--jobs) lowered to 240"),
            "{warning}"
        );
        assert!(warning.contains("ulimit -n"), "{warning}");
        // Fewer artifacts than the limit holds: nothing to lower, or say.
        assert_eq!(jobs_within(n(64), 40, 256), (n(64), None));
        // A limit below what is kept for the rest still signs, one at a time.
        assert_eq!(jobs_within(n(8), 8, 16).0, n(1));
        assert_eq!(
            jobs_within(n(1 << 20), 1 << 20, u64::MAX),
            (n(1 << 20), None)
        );
    }
}
