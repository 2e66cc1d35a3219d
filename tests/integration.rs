//! End-to-end tests of the binary, one file per stage of a run. Each test
//! that signs starts its own sandbox (a local Sigstore on random ports).

/// Temp dirs, the command builder wired to a sandbox, independent bundle checks.
mod util;

/// Action mode: INPUT_* and the job environment, outputs, summary, masks, annotations.
mod action;
/// The module graph: no import cycle, the layers of ARCHITECTURE.md hold.
mod architecture;
/// Bad input: missing, unreadable, linked, empty, oddly named files; broken bundles.
mod bad_input;
/// The per-certificate verification cache gives the full verification's verdicts.
mod cert_cache;
/// CI's scripts on a GitHub-hosted runner: installs through sudo when not root.
mod ci_scripts;
/// Usage: help text, usage errors (exit 2), settings precedence seen from outside.
mod cli;
/// `--dry-run`: the plan is printed and nothing is requested or written.
mod dry_run;
/// Existing bundles, `--overwrite`, partial failures, retries, Rekor 409, refusing what
/// Fulcio got wrong, self-verification, Ctrl-C.
mod failures;
/// One fault story per service: transient faults retried, permanent ones named, re-runs.
mod faults;
/// The committed fuzz corpus, replayed through the fuzz targets' functions.
mod fuzz_corpus;
/// A lying GitHub API: oversized downloads, endless listings, bad redirects.
mod github_lies;
/// Where the identity token comes from, and the missing `id-token: write` message.
mod identity;
/// Expanding files, directories and globs into artifacts.
mod inputs;
/// Signing-config service selection, `--signing-config` + `--trusted-root`, peers' same
/// choice, the GitHub-style instance without a log.
mod instances;
/// Independent verifiers (sigstore-python, cosign) accept what we write.
mod interop;
/// `sign --json`, `verify --json`, `$GITHUB_OUTPUT` and the step summary, snapshotted whole.
mod json_reports;
/// A lying Rekor (v1, v2) or Fulcio: the bundle is refused, with the reason.
mod lies;
/// `--provenance`: one SLSA v1 statement per run, DSSE-signed with the run's certificate,
/// on Rekor v1 and v2; sigstore-python and cosign accept it.
mod provenance;
/// `--provenance --upload`: the provenance as a verified release asset and in
/// GitHub's attestations; a missing permission warns, GHES is skipped.
mod provenance_upload;
/// Redirects from Fulcio, Rekor and the TSA are not followed: the token stays home.
mod redirects;
/// Rekor v1 and v2 (+ RFC 3161), and the bundle JSON strict readers require.
mod rekor;
/// The release lifecycle: fresh-runner re-runs, verified landings, drafts, publishing.
mod release;
/// Private repositories are refused on public instances unless opted in.
mod release_private;
/// Certificate renewal when a short-lived certificate would expire mid-run.
mod renewal;
/// The repository's release plumbing: one MSRV, actions pinned by commit, the
/// image by digest, the setup action's pins.
mod repo;
/// Re-running `sign --upload` in the same workspace after a failed upload.
mod rerun;
/// No token in stdout, stderr or any written file, with every log level on.
mod secrets;
/// The setup action's installer: the pinned binary installed, anything else refused.
mod setup;
/// Signing: bundles verify independently, one certificate for many artifacts.
mod signing;
/// `--tuf-url` + `--tuf-root`: a private TUF repository, rotated, expired, down, cached.
mod tuf;
/// Release upload: `--upload`, idempotence, retries, drafts.
mod upload;
/// `verify`: bundles from the sandbox pass; each broken check fails with its message.
mod verify;
/// `verify --release --download DIR`: only verified bytes land, under safe names.
mod verify_download;
/// `verify` accepts sigstore-python's bundles (Rekor v1, v2) and refuses an expired one.
mod verify_interop;
/// `verify --provenance`: build provenance (ours, sigstore-python's) verified
/// per artifact, with GitHub's CLI policy flags; each refusal says why.
mod verify_provenance;
/// `verify --release`: a release's assets verified in place, anonymously.
mod verify_release;
