//! The binary: parse -> resolve settings -> plan -> run -> render, and the exit code.
//!
//! The only place that prints. stdout carries results (lines, summary, or the
//! `--json` report); stderr carries diagnostics, warnings, errors and the
//! progress bar. Tokens are never printed: they live in redacting types.

use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser as _;
use releasekit_sign::error::{Error, EXIT_FAILURE, EXIT_OK};
use releasekit_sign::inputs::cli::CliCommand;
use releasekit_sign::inputs::{
    action, ActionSettings, Cli, Command, Env, OutputSettings, Settings, SignSettings, Verbosity,
};
use releasekit_sign::net::RetryPolicy;
use releasekit_sign::plan::{self, PlanInput};
use releasekit_sign::report::verify::{self as verify_report, VerifyReport};
use releasekit_sign::report::{self, human, PublishReport, SignReport, UploadReport};
use releasekit_sign::{sign, upload, verify};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // clap prints help/version (exit 0) or the usage error (exit 2) itself.
        Err(e) => e.exit(),
    };
    let json = cli.global.json;
    let env = Env::from_process();
    if matches!(cli.command, CliCommand::Action) {
        // Before anything else reaches the log, so no later line can leak a token.
        print!("{}", report::action::masks(&action::secrets(&env)));
        let _ = std::io::stdout().flush();
    }
    let settings = match Settings::resolve(cli, &env) {
        Ok(s) => s,
        Err(e) => return fail(&Error::from(e), json),
    };
    init_tracing(settings.output.verbosity);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let output = settings.output;
    let code = match settings.command {
        Command::Sign(sign_settings) => {
            match runtime.block_on(interruptible(run_publish(&sign_settings, output))) {
                Some(Ok(report)) => render_sign(&report, output),
                Some(Err(e)) => fail(&e, output.json),
                None => {
                    eprintln!("interrupted: bundles already written are complete; no partial bundle was written");
                    ExitCode::from(EXIT_INTERRUPTED)
                }
            }
        }
        Command::Verify(verify_settings) => {
            match runtime.block_on(interruptible(verify::run(&verify_settings))) {
                Some(Ok(report)) => render_verify(&report, output),
                Some(Err(e)) => fail(&Error::from(e), output.json),
                None => {
                    eprintln!("interrupted: nothing was verified");
                    ExitCode::from(EXIT_INTERRUPTED)
                }
            }
        }
        Command::Action(action_settings) => {
            match runtime.block_on(interruptible(run_action(&action_settings, output))) {
                Some(code) => code,
                None => {
                    eprintln!("interrupted: bundles already written are complete; no partial bundle was written");
                    ExitCode::from(EXIT_INTERRUPTED)
                }
            }
        }
    };
    // In-flight writes finish (or their temporary files are removed) before exit;
    // a huge file still being hashed is not waited for long.
    runtime.shutdown_timeout(Duration::from_secs(5));
    code
}

/// `sign`, then the upload when asked for.
async fn run_publish(
    settings: &SignSettings,
    output: OutputSettings,
) -> Result<PublishReport, Error> {
    let sign = run_sign(settings, output).await?;
    let upload = match &settings.upload {
        Some(up) if !sign.dry_run => {
            Some(upload::run(up, &sign, true, RetryPolicy::default()).await?)
        }
        _ => None,
    };
    Ok(PublishReport { sign, upload })
}

/// The GitHub Action: sign, upload, check; outputs, summary and annotations.
async fn run_action(settings: &ActionSettings, output: OutputSettings) -> ExitCode {
    use report::action as gha;
    print!("{}", gha::group("Signing"));
    let signed = run_sign(&settings.sign, output).await;
    print!("{}", gha::END_GROUP);
    let sign = match signed {
        Ok(r) => r,
        Err(e) => {
            print!("{}", gha::error(None, &e.to_string()));
            return fail(&e, false);
        }
    };
    for w in &sign.warnings {
        eprintln!("warning: {w}");
    }
    let mut upload: Option<UploadReport> = None;
    let mut run_error = None;
    if let (Some(up), false) = (&settings.sign.upload, sign.dry_run) {
        print!(
            "{}",
            gha::group(&format!("Uploading to release {}", up.tag))
        );
        match upload::run(up, &sign, settings.verify, RetryPolicy::default()).await {
            Ok(r) => {
                for a in &r.assets {
                    match (&a.action, &a.error) {
                        (_, Some(e)) => println!("❌ {}: {e}", a.asset),
                        (Some(action), None) => println!(
                            "✅ {}: {}{}",
                            a.asset,
                            serde_json::to_value(action)
                                .ok()
                                .and_then(|v| v.as_str().map(str::to_owned))
                                .unwrap_or_default(),
                            if a.checked { ", checked" } else { "" }
                        ),
                        (None, None) => {}
                    }
                }
                upload = Some(r);
            }
            Err(e) => run_error = Some(Error::from(e)),
        }
        print!("{}", gha::END_GROUP);
    }
    if sign.dry_run {
        print!("{}", human::dry_run(&sign));
    } else {
        print!("{}", human::summary(&sign, false));
    }
    print!("{}", gha::annotations(&sign, upload.as_ref()));
    if let Some(e) = &run_error {
        print!("{}", gha::error(None, &e.to_string()));
    }
    let append = |path: &Option<std::path::PathBuf>, text: String| {
        if let Some(p) = path {
            let written = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .and_then(|mut f| f.write_all(text.as_bytes()));
            if let Err(e) = written {
                eprintln!("warning: cannot write {}: {e}", p.display());
            }
        }
    };
    append(&settings.output_file, gha::outputs(&sign, upload.as_ref()));
    append(&settings.summary_file, gha::summary(&sign, upload.as_ref()));
    let _ = std::io::stdout().flush();
    if let Some(e) = run_error {
        return ExitCode::from(e.exit_code());
    }
    let ok = sign.success() && upload.as_ref().is_none_or(UploadReport::success);
    ExitCode::from(if ok { EXIT_OK } else { EXIT_FAILURE })
}

/// 128 + SIGINT, as shells report it.
const EXIT_INTERRUPTED: u8 = 130;

/// `work`, or `None` on Ctrl-C: dropping the run stops new requests and writes.
async fn interruptible<T>(work: impl std::future::Future<Output = T>) -> Option<T> {
    tokio::select! {
        r = work => Some(r),
        _ = tokio::signal::ctrl_c() => None,
    }
}

fn init_tracing(verbosity: Verbosity) {
    let default = match verbosity {
        Verbosity::Quiet => "error",
        Verbosity::Normal => "warn",
        Verbosity::Verbose(1) => "warn,releasekit_sign=info",
        Verbosity::Verbose(2) => "info,releasekit_sign=debug",
        Verbosity::Verbose(_) => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("RELEASEKIT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}

async fn run_sign(settings: &SignSettings, output: OutputSettings) -> Result<SignReport, Error> {
    let plan = plan::build(&PlanInput {
        args: &settings.inputs,
        recursive: settings.recursive,
        output_dir: settings.output_dir.as_deref(),
        overwrite: settings.overwrite,
    })?;
    if settings.dry_run {
        return Ok(sign::dry_run(settings, plan).await?);
    }
    let total_bytes = plan.artifacts.iter().map(|a| a.size).sum();
    let show_lines = !output.json && output.verbosity != Verbosity::Quiet;
    let bar = show_lines && output.color && std::io::stderr().is_terminal();
    let live = Arc::new(human::Live::new(
        total_bytes,
        plan.artifacts.len(),
        bar,
        Box::new(move |line: &str| {
            if show_lines {
                println!("{line}");
            }
        }),
    ));
    let report = sign::run(settings, plan, live.clone()).await;
    live.finish();
    Ok(report?)
}

fn render_sign(publish: &PublishReport, output: OutputSettings) -> ExitCode {
    let report = &publish.sign;
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    if output.json {
        match serde_json::to_string_pretty(publish) {
            Ok(json) => println!("{json}"),
            Err(e) => {
                eprintln!("error: cannot serialize the report: {e}");
                return ExitCode::from(EXIT_FAILURE);
            }
        }
    } else if report.dry_run {
        print!("{}", human::dry_run(report));
    } else {
        print!(
            "{}",
            human::summary(report, matches!(output.verbosity, Verbosity::Verbose(_)))
        );
    }
    if let Some(up) = &publish.upload {
        for a in &up.assets {
            match &a.error {
                Some(e) => println!("❌ Upload failed: {}: {e}", a.asset),
                None => println!(
                    "⬆ {} -> release {} ({})",
                    a.asset,
                    up.tag,
                    a.download_url.as_deref().unwrap_or_default()
                ),
            }
        }
    }
    let _ = std::io::stdout().flush();
    ExitCode::from(if publish.success() {
        EXIT_OK
    } else {
        EXIT_FAILURE
    })
}

fn render_verify(report: &VerifyReport, output: OutputSettings) -> ExitCode {
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    if output.json {
        match serde_json::to_string_pretty(report) {
            Ok(json) => println!("{json}"),
            Err(e) => {
                eprintln!("error: cannot serialize the report: {e}");
                return ExitCode::from(EXIT_FAILURE);
            }
        }
    } else if output.verbosity == Verbosity::Quiet {
        // Quiet: only the failures and the summary.
        let text = verify_report::human(report, false);
        for line in text.lines().filter(|l| !l.starts_with('✅')) {
            println!("{line}");
        }
    } else {
        print!(
            "{}",
            verify_report::human(report, matches!(output.verbosity, Verbosity::Verbose(_)))
        );
    }
    let _ = std::io::stdout().flush();
    ExitCode::from(if report.success() {
        EXIT_OK
    } else {
        EXIT_FAILURE
    })
}

/// A run-level error: on stderr, and with `--json` also as a JSON object on
/// stdout, so a consumer of the report always gets JSON.
fn fail(e: &Error, json: bool) -> ExitCode {
    eprintln!("error: {e}");
    if json {
        println!(
            "{}",
            serde_json::json!({ "error": e.to_string(), "exit_code": e.exit_code() })
        );
    }
    ExitCode::from(e.exit_code())
}
