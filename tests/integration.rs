//! End-to-end tests of the binary, one file per stage of a run. Each test
//! that signs starts its own sandbox (a local Sigstore on random ports).

/// Temp dirs, the command builder wired to a sandbox, independent bundle checks.
mod util;

/// Action mode: INPUT_* and the job environment, outputs, summary, masks, annotations.
mod action;
/// Usage: help text, usage errors (exit 2), settings precedence seen from outside.
mod cli;
/// `--dry-run`: the plan is printed and nothing is requested or written.
mod dry_run;
/// Existing bundles, `--overwrite`, partial failures, retries, Rekor 409, refusing what
/// Fulcio got wrong, self-verification, Ctrl-C.
mod failures;
/// Where the identity token comes from, and the missing `id-token: write` message.
mod identity;
/// Expanding files, directories and globs into artifacts.
mod inputs;
/// Independent verifiers (sigstore-python, cosign) accept what we write.
mod interop;
/// Rekor v1 and v2 (+ RFC 3161), and the bundle JSON strict readers require.
mod rekor;
/// Certificate renewal when a short-lived certificate would expire mid-run.
mod renewal;
/// Signing: bundles verify independently, one certificate for many artifacts.
mod signing;
/// `verify`: bundles from the sandbox pass; each broken check fails with its message.
mod verify;
/// `verify` accepts sigstore-python's bundles (Rekor v1, v2) and refuses an expired one.
mod verify_interop;
/// Release upload: `--upload`, idempotence, retries, drafts.
mod upload;
