//! The main job, end to end, on the embedded sandbox: `cargo run --example demo`.
//!
//! Starts the sandbox (a local Sigstore + GitHub), builds the real `releasekit-sign`
//! binary, and runs it the way a GitHub Actions job does: identity from the Actions
//! token endpoint, one Fulcio certificate for every artifact, Rekor entries,
//! timestamps, `<artifact>.sigstore.json` bundles. Then it verifies them with an
//! identity policy, tampers with an artifact to show a failure, and leaves the files
//! in place to look at.
//!
//! The binary is given only URLs and a trust configuration, exactly as it would be
//! for a private Sigstore instance; it does not know it talks to a sandbox.

use std::path::{Path, PathBuf};
use std::process::Command;

use releasekit_sandbox::{Sandbox, Service};

fn step(text: &str) {
    println!("\n\x1b[1m==> {text}\x1b[0m");
}

/// Build the product binary with the same profile this example runs under.
///
/// Naming this example in the same build gives it the feature set cargo just
/// built the example with (the dev-dependencies' features unified in), so
/// only the binary's own `main.rs` is compiled and linked. `--bin` alone
/// would resolve features without the dev-dependencies and build the whole
/// crate graph a second time (minutes on a small machine).
fn build_binary() -> anyhow::Result<PathBuf> {
    let release = !cfg!(debug_assertions);
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo.args([
        "build",
        "--quiet",
        "--bin",
        "releasekit-sign",
        "--example",
        "demo",
    ]);
    if release {
        cargo.arg("--release");
    }
    anyhow::ensure!(cargo.status()?.success(), "building releasekit-sign failed");
    // examples/<name> lives in <target>/<profile>/examples/.
    let exe = std::env::current_exe()?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| anyhow::anyhow!("unexpected example location {}", exe.display()))?;
    Ok(profile_dir.join("releasekit-sign"))
}

/// Run the product in `cwd` with the sandbox's GitHub Actions environment.
fn run(bin: &Path, cwd: &Path, sandbox: &Sandbox, args: &[&str]) -> anyhow::Result<bool> {
    println!("$ releasekit-sign {}", args.join(" "));
    let status = Command::new(bin)
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(sandbox.env())
        .status()?;
    Ok(status.success())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    step("Starting the sandbox: OIDC + Fulcio + Rekor v1/v2 + TSA + GitHub API on 127.0.0.1");
    let sandbox = Sandbox::start().await?;
    let urls = sandbox.urls();
    println!(
        "  Fulcio {}\n  Rekor  {}\n  TSA    {}\n  GitHub {}",
        urls.fulcio, urls.rekor_v1, urls.tsa, urls.github_api
    );
    println!("  trust config: {}", sandbox.trust_config_path().display());

    step("Building releasekit-sign");
    let bin = build_binary()?;

    let work = tempfile::Builder::new()
        .prefix("releasekit-demo-")
        .tempdir()?
        .keep();
    let dist = work.join("dist");
    std::fs::create_dir_all(&dist)?;
    for (name, size) in [
        ("genkit-0.6.0.tar.gz", 300_000usize),
        ("genkit-0.6.0-py3-none-any.whl", 120_000),
        ("genkit-0.6.0-linux-x86_64.zip", 2_000_000),
    ] {
        let bytes: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
        std::fs::write(dist.join(name), bytes)?;
    }
    let trust = sandbox.trust_config_path().display().to_string();

    step("Preview (no token, no request)");
    run(
        &bin,
        &work,
        &sandbox,
        &["sign", "dist/", "--trust-config", &trust, "--dry-run"],
    )?;

    step("Signing dist/ as a GitHub Actions job, with build provenance, and uploading it all to release v1.0.0");
    anyhow::ensure!(
        run(
            &bin,
            &work,
            &sandbox,
            &[
                "sign",
                "dist/",
                "--trust-config",
                &trust,
                "--upload",
                "--release-tag",
                "v1.0.0",
                "--provenance"
            ]
        )?,
        "signing failed"
    );
    let posts = |service: Service, path: &str| {
        sandbox
            .requests(service)
            .iter()
            .filter(|r| r.method == "POST" && r.uri.starts_with(path) && r.status < 300)
            .count()
    };
    println!(
        "  Fulcio issued {} certificate for 3 artifacts and their provenance; Rekor logged {} entries; the TSA stamped {}.",
        posts(Service::Fulcio, "/api/v2/signingCert"),
        posts(Service::RekorV1, "/api/v1/log/entries"),
        posts(Service::Tsa, "/api/v1/timestamp"),
    );

    let repo = &sandbox.config().repository;
    let assets: Vec<String> = sandbox
        .github()
        .assets(repo, "v1.0.0")
        .into_iter()
        .map(|a| a.name)
        .collect();
    println!("  Release v1.0.0 of {repo} now has: {}", assets.join(", "));

    step("Verifying with an identity policy");
    let identity = sandbox.identity();
    let issuer = sandbox.issuer();
    anyhow::ensure!(
        run(
            &bin,
            &work,
            &sandbox,
            &[
                "verify",
                "dist/",
                "--trust-config",
                &trust,
                "--cert-identity",
                &identity,
                "--cert-oidc-issuer",
                &issuer
            ],
        )?,
        "verification failed"
    );

    step("Verifying the artifacts against their build provenance (the SLSA statement)");
    let provenance = format!(
        "{}-v1.0.0.intoto.jsonl",
        repo.rsplit('/').next().unwrap_or(repo)
    );
    anyhow::ensure!(
        run(
            &bin,
            &work,
            &sandbox,
            &[
                "verify",
                "dist/",
                "--provenance",
                &provenance,
                "--trust-config",
                &trust,
                "--cert-identity",
                &identity,
                "--cert-oidc-issuer",
                &issuer
            ],
        )?,
        "provenance verification failed"
    );

    step("Tampering with an artifact: verification must fail");
    let victim = dist.join("genkit-0.6.0.tar.gz");
    let mut bytes = std::fs::read(&victim)?;
    bytes[0] ^= 1;
    std::fs::write(&victim, bytes)?;
    let ok = run(
        &bin,
        &work,
        &sandbox,
        &[
            "verify",
            "dist/genkit-0.6.0.tar.gz",
            "--trust-config",
            &trust,
            "--cert-identity",
            &identity,
            "--cert-oidc-issuer",
            &issuer,
        ],
    )?;
    anyhow::ensure!(!ok, "a tampered artifact verified");

    step("Done");
    println!(
        "  The artifacts and their .sigstore.json bundles are in {}",
        dist.display()
    );
    println!("  The sandbox stops when this program exits.");
    Ok(())
}
