//! The binary: parse -> resolve settings -> plan -> run -> render, and the exit code.
//!
//! The only place that prints. stdout carries results (lines, summary, or the
//! `--json` report); stderr carries diagnostics, warnings, errors and the
//! progress bar. Tokens are never printed: they live in redacting types, and
//! in action mode each one is masked (`::add-mask::`) before anything else
//! could show it. Text from outside (errors holding server answers, paths,
//! log fields) is printed through `text::line`, one printable line each.

use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser as _;
use releasekit_sign::error::{Error, EXIT_FAILURE, EXIT_OK};
use releasekit_sign::inputs::cli::CliCommand;
use releasekit_sign::inputs::{
    action, ActionSettings, Cli, Command, Env, OutputSettings, Settings, Verbosity,
};
use releasekit_sign::oidc::Secret;
use releasekit_sign::pipeline::{self, Published, SignCommand};
use releasekit_sign::report::verify::{self as verify_report, VerifyReport};
use releasekit_sign::report::{self, human};
use releasekit_sign::sign::ArtifactReport;
use releasekit_sign::sign::{Progress, SignRun};
use releasekit_sign::text::{line, url_queries_hidden};
use releasekit_sign::verify;

/// `print!`, except that a closed stdout (`verify ... | head -n1`) is not a
/// panic: what is left to print is dropped and the run ends as it would,
/// with its own exit code (Rust ignores SIGPIPE, so a write there fails).
macro_rules! print {
    ($($arg:tt)*) => {{
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}

/// `println!`, as [`print!`].
macro_rules! println {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `eprintln!`, as [`print!`], for a closed stderr.
macro_rules! eprintln {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

fn main() -> ExitCode {
    // Before any thread: reading the umask sets it for a moment.
    releasekit_sign::atomic_file::capture_umask();
    releasekit_sign::files::raise_open_file_limit();
    // clap styles its own output (help, usage errors) unless told not to,
    // before the settings that hold --no-color and NO_COLOR exist.
    let plain = std::env::args_os().any(|a| a == "--no-color")
        || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let parsed = if plain {
        use clap::{CommandFactory as _, FromArgMatches as _};
        Cli::command()
            .color(clap::ColorChoice::Never)
            .try_get_matches()
            .and_then(|m| Cli::from_arg_matches(&m))
    } else {
        Cli::try_parse()
    };
    let cli = match parsed {
        Ok(cli) => cli,
        // clap prints help/version (exit 0) or the usage error (exit 2) itself;
        // with --json, the error is the one JSON document on stdout too.
        Err(e) => {
            let e = with_values_escaped(e);
            let shown = !matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp
                    | clap::error::ErrorKind::DisplayVersion
                    | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            );
            if shown && std::env::args_os().any(|a| a == "--json") {
                print_json_error(&e.to_string(), e.exit_code());
            }
            e.exit()
        }
    };
    let json = cli.global.json;
    let env = Env::from_process();
    let in_action = matches!(cli.command, CliCommand::Action);
    if in_action {
        // Before anything else reaches the log, so no later line can leak a token.
        print!("{}", report::action::masks(&action::secrets(&env)));
        let _ = std::io::stdout().flush();
    }
    let settings = match Settings::resolve(cli, &env) {
        Ok(s) => s,
        Err(e) => {
            let e = Error::from(e);
            // A bad input is an annotation too, as every other failure
            // of the action is, and sets the outputs and the summary as
            // any failed run does.
            if in_action {
                print!("{}", report::action::error(None, &e.to_string()));
                write_failed_step(
                    &env.get("GITHUB_OUTPUT").map(Into::into),
                    &env.get("GITHUB_STEP_SUMMARY").map(Into::into),
                    &e.to_string(),
                );
            }
            return fail(&e, json);
        }
    };
    init_tracing(settings.output);
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
                Ok(Ok(report)) => render_sign(&report, output),
                Ok(Err(e)) => fail(&e, output.json),
                Err(stop) => stop.exit(SIGN_STOPPED, output.json),
            }
        }
        Command::Verify(verify_settings) => {
            match runtime.block_on(interruptible(verify::run(&verify_settings))) {
                Ok(Ok(outcome)) => render_verify(&VerifyReport::from(outcome), output),
                Ok(Err(e)) => fail(&Error::from(e), output.json),
                Err(stop) => stop.exit(
                    "the run did not finish; no partial or unverified file was kept",
                    output.json,
                ),
            }
        }
        Command::Docs(docs) => print_docs(docs),
        Command::Action(action_settings) => {
            let done = std::sync::Mutex::new(ActionDone::default());
            match runtime.block_on(interruptible(run_action(&action_settings, output, &done))) {
                Ok(code) => code,
                Err(stop) => {
                    let done = done.into_inner().unwrap_or_else(|p| p.into_inner());
                    action_stopped(&action_settings, done);
                    stop.exit(SIGN_STOPPED, output.json)
                }
            }
        }
    };
    // In-flight writes finish (or their temporary files are removed) before exit;
    // a huge file still being hashed is not waited for long.
    runtime.shutdown_timeout(Duration::from_secs(5));
    // A write still going on then (a slow `fsync`) is abandoned with its
    // thread, which never removes its temporary file: removed here.
    releasekit_sign::atomic_file::remove_unkept();
    // Whatever the outcome (an interrupted run too): what was kept is in
    // place, and now its names survive a crash as well.
    if let Err((dir, e)) = releasekit_sign::atomic_file::sync_kept_dirs() {
        eprintln!(
            "warning: {}",
            line(format!(
                "the files written in {} are in place, but the directory could not be synced ({e}): a crash in the next seconds could lose them",
                dir.display()
            ))
        );
    }
    code
}

/// `sign`, then the upload when asked for.
async fn run_publish(settings: &SignCommand, output: OutputSettings) -> Result<Published, Error> {
    // In a GitHub Actions job's `run:` step, a token fetched mid-run is
    // masked too, on stderr (the runner reads workflow commands there as
    // well; stdout may be --json).
    let masks = if settings.sign.identity.github_actions {
        Masks::Stderr
    } else {
        Masks::Off
    };
    let run = run_sign(settings, output, masks).await?;
    Ok(pipeline::upload(settings, run, true).await)
}

/// What an action run has done so far, kept outside the run (which a stop
/// drops), so that a cancelled job's later steps still read what was
/// signed. Regression: a run cancelled while uploading set every output to
/// nothing, its bundles written and logged, and left its log group open.
#[derive(Default)]
struct ActionDone {
    /// The signing's report, once signing ended.
    signed: Option<releasekit_sign::sign::SignReport>,
    /// A log group is open.
    in_group: bool,
    /// The outputs and the summary are written: a stop writes none again
    /// (the runner keeps the last value of each output).
    reported: bool,
}

/// What a stopped action run writes: the group it was in closed, an error
/// annotation, and the outputs and summary of what it signed (nothing
/// signed yet: each output set to nothing), unless they were written.
fn action_stopped(settings: &ActionSettings, done: ActionDone) {
    use report::action as gha;
    if done.in_group {
        print!("{}", gha::END_GROUP);
    }
    let error = format!("the run was interrupted; {SIGN_STOPPED}");
    print!("{}", gha::error(None, &error));
    if done.reported {
        return;
    }
    let Some(sign) = &done.signed else {
        write_failed_step(&settings.output_file, &settings.summary_file, &error);
        return;
    };
    let outputs = gha::outputs(sign, None, places(settings)).unwrap_or_else(|e| {
        print!("{}", gha::error(None, &e.to_string()));
        gha::empty_outputs()
    });
    write_step(
        (&settings.output_file, outputs),
        (
            &settings.summary_file,
            gha::summary(sign, None, Some(&error)),
        ),
    );
}

/// Where the runner's paths are, for outputs naming files.
fn places(settings: &ActionSettings) -> report::action::Places<'_> {
    report::action::Places {
        workspace: settings.workspace.as_deref(),
        runner_temp: settings
            .runner_temp
            .as_ref()
            .map(|(here, on_runner)| (here.as_path(), on_runner.as_path())),
    }
}

/// The GitHub Action: sign, upload, check; outputs, summary and annotations.
/// `done` says how far it got, for a stop ([`action_stopped`]).
async fn run_action(
    settings: &ActionSettings,
    output: OutputSettings,
    done: &std::sync::Mutex<ActionDone>,
) -> ExitCode {
    use report::action as gha;
    let record =
        |f: &dyn Fn(&mut ActionDone)| f(&mut done.lock().unwrap_or_else(|p| p.into_inner()));
    print!("{}", gha::group("Signing"));
    record(&|d| d.in_group = true);
    let signed = run_sign(&settings.command, output, Masks::Stdout).await;
    print!("{}", gha::END_GROUP);
    record(&|d| d.in_group = false);
    let run = match signed {
        Ok(r) => r,
        Err(e) => {
            print!("{}", gha::error(None, &e.to_string()));
            write_failed_step(
                &settings.output_file,
                &settings.summary_file,
                &e.to_string(),
            );
            record(&|d| d.reported = true);
            return fail(&e, false);
        }
    };
    record(&|d| d.signed = Some(run.report.clone()));
    // Annotations: in the log's place a warning would scroll past unread.
    for w in &run.report.warnings {
        print!("{}", gha::warning(w));
    }
    let uploading = match &settings.command.upload {
        Some(up) if !run.report.dry_run => {
            print!(
                "{}",
                gha::group(&format!("Uploading to release {}", up.tag))
            );
            record(&|d| d.in_group = true);
            true
        }
        _ => false,
    };
    let published = pipeline::upload(&settings.command, run, settings.verify).await;
    let report = &published.report;
    if uploading {
        if let Some(up) = &report.upload {
            print!("{}", gha::upload_lines(up));
        }
        print!("{}", gha::END_GROUP);
        record(&|d| d.in_group = false);
        for w in report.upload.iter().flat_map(|up| &up.warnings) {
            print!("{}", gha::warning(w));
        }
    }
    let (sign, upload) = (&report.sign, report.upload.as_ref());
    if sign.dry_run {
        print!("{}", human::dry_run(sign, report.upload_plan.as_ref()));
    } else {
        print!("{}", human::summary(sign, false));
    }
    let run_error = published.error.as_ref().map(|e| e.to_string());
    print!("{}", gha::annotations(sign, upload, run_error.as_deref()));
    let mut code = published.exit_code();
    // Why the outputs failed the step, for the summary too: it would
    // otherwise show a clean run on a failed step.
    let mut outputs_error = None;
    // Later steps read the outputs: without them the job must not pass.
    // From here on a stop writes none again.
    record(&|d| d.reported = true);
    match gha::outputs(sign, upload, places(settings)) {
        Ok(text) => {
            if let Some(e) = append_to(&settings.output_file, &text) {
                let told = format!("{e}: the step's outputs are not set; fix: check the runner's GITHUB_OUTPUT file");
                print!("{}", gha::error(None, &told));
                outputs_error = Some(told);
                code = code.max(EXIT_FAILURE);
            }
        }
        Err(e) => {
            print!("{}", gha::error(None, &e.to_string()));
            outputs_error = Some(format!("{e}: the step's outputs are not set"));
            code = code.max(EXIT_FAILURE);
            // Each output set, to nothing, as for a run that failed early:
            // a later step's `fromJSON(steps.sign.outputs.bundles)` reads them.
            if let Some(e) = append_to(&settings.output_file, &gha::empty_outputs()) {
                print!(
                    "{}",
                    gha::warning(&format!("{e}: the step outputs are not written"))
                );
            }
        }
    }
    let step_error = match (run_error, outputs_error) {
        (Some(run), Some(outputs)) => Some(format!("{run}; {outputs}")),
        (run, outputs) => run.or(outputs),
    };
    if let Some(e) = append_to(
        &settings.summary_file,
        &gha::summary(sign, upload, step_error.as_deref()),
    ) {
        print!(
            "{}",
            gha::warning(&format!("{e}: the step summary is not shown"))
        );
    }
    let _ = std::io::stdout().flush();
    ExitCode::from(code)
}

/// The outputs, each set to nothing, and the summary saying `error`, of an
/// action run that failed before any artifact was done: a later
/// `if: always()` step reads them.
fn write_failed_step(
    output_file: &Option<std::path::PathBuf>,
    summary_file: &Option<std::path::PathBuf>,
    error: &str,
) {
    use report::action as gha;
    write_step(
        (output_file, gha::empty_outputs()),
        (summary_file, gha::failed_summary(error)),
    );
}

/// `outputs` and `summary`, each appended to its runner file, a warning
/// annotation for one that cannot be.
fn write_step(
    outputs: (&Option<std::path::PathBuf>, String),
    summary: (&Option<std::path::PathBuf>, String),
) {
    for ((file, text), what) in [(outputs, "outputs"), (summary, "summary")] {
        if let Some(e) = append_to(file, &text) {
            print!(
                "{}",
                report::action::warning(&format!("{e}: the step {what} is not written"))
            );
        }
    }
}

/// Why `text` could not be appended to the file at `path` (one the runner
/// reads: `GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`), if it could not.
fn append_to(path: &Option<std::path::PathBuf>, text: &str) -> Option<String> {
    let p = path.as_ref()?;
    releasekit_sign::atomic_file::append_whole(p, text.as_bytes())
        .err()
        .map(|e| format!("cannot write {}: {e}", p.display()))
}

/// `completions` or `man`, on stdout.
fn print_docs(docs: releasekit_sign::inputs::cli::Docs) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match docs.render().and_then(|text| stdout.write_all(&text)) {
        Ok(()) => ExitCode::from(EXIT_OK),
        Err(e) => {
            eprintln!("error: cannot write the document: {e}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

/// What an interrupted sign (or action) run left: only whole files.
const SIGN_STOPPED: &str = "bundles already written are complete; no partial bundle was written";

/// The signal that ended a run before it finished. Each is handled, not left
/// to its default (which ends the process on the spot), so that dropping the
/// run removes its temporary files and the runtime's shutdown lets in-flight
/// writes finish: CI systems cancel a job with SIGTERM (Windows: a console
/// close or Ctrl-Break), a user with Ctrl-C, and a closed terminal or
/// dropped SSH session with SIGHUP.
#[derive(Debug, Clone, Copy)]
enum Stop {
    Interrupt,
    Terminate,
    HangUp,
}

impl Stop {
    fn exit(self, what_is_left: &str, json: bool) -> ExitCode {
        let (word, code) = match self {
            // 128 + the signal's number, as shells report it.
            Stop::Interrupt => ("interrupted", 130),
            Stop::Terminate => ("terminated", 143),
            Stop::HangUp => ("hung up", 129),
        };
        eprintln!("{word}: {what_is_left}");
        if json {
            print_json_error(&format!("{word}: {what_is_left}"), i32::from(code));
        }
        ExitCode::from(code)
    }
}

/// Whether `signal` is set to be ignored (inherited from the parent).
#[cfg(unix)]
fn ignored(signal: libc::c_int) -> bool {
    // SAFETY: a query only (no new action is given); `old` is plain data
    // the call fills in.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, std::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
    }
}

/// `work`, or the signal that came first: dropping the run stops new requests
/// and writes.
async fn interruptible<T>(work: impl std::future::Future<Output = T>) -> Result<T, Stop> {
    tokio::select! {
        r = work => Ok(r),
        stop = stop_signal() => Err(stop),
    }
}

/// The first stop signal. A handler that cannot be installed never fires (the
/// signal keeps its default) rather than stopping the run at once.
async fn stop_signal() -> Stop {
    // A SIGINT the parent set to be ignored (`trap '' INT`, a background
    // job of a non-interactive shell) stays ignored too, as below.
    async fn ctrl_c() {
        #[cfg(unix)]
        if ignored(libc::SIGINT) {
            return std::future::pending::<()>().await;
        }
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
    #[cfg(unix)]
    let (terminate, hang_up) = {
        use tokio::signal::unix::{signal, SignalKind};
        // A signal the parent set to be ignored (`nohup` does SIGHUP) stays
        // ignored: a handler would replace that setting.
        async fn on(kind: SignalKind, number: libc::c_int) {
            if ignored(number) {
                return std::future::pending::<()>().await;
            }
            match signal(kind) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        }
        (
            on(SignalKind::terminate(), libc::SIGTERM),
            on(SignalKind::hangup(), libc::SIGHUP),
        )
    };
    #[cfg(windows)]
    let terminate = async {
        use tokio::signal::windows::{ctrl_break, ctrl_close, ctrl_shutdown};
        // Each on its own: one that cannot be installed leaves the others.
        let brk = async {
            match ctrl_break() {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        let close = async {
            match ctrl_close() {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        let shutdown = async {
            match ctrl_shutdown() {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = brk => {},
            _ = close => {},
            _ = shutdown => {},
        }
    };
    #[cfg(not(any(unix, windows)))]
    let terminate = std::future::pending::<()>();
    #[cfg(not(unix))]
    let hang_up = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c() => Stop::Interrupt,
        _ = terminate => Stop::Terminate,
        _ = hang_up => Stop::HangUp,
    }
}

fn init_tracing(output: OutputSettings) {
    // octocrab logs an ERROR for every 5xx and dropped connection, before
    // the retry this tool makes (and logs) recovers from it: shown only
    // from -vvv, with everything else.
    let default = match output.verbosity {
        Verbosity::Quiet => "error,octocrab=off",
        Verbosity::Normal => "warn,octocrab=off",
        Verbosity::Verbose(1) => "warn,octocrab=off,releasekit_sign=info",
        Verbosity::Verbose(2) => "info,octocrab=off,releasekit_sign=debug",
        Verbosity::Verbose(_) => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("RELEASEKIT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .fmt_fields(LineFields::default())
        .with_env_filter(filter)
        .with_target(false)
        // Escape codes belong on a terminal, and never after --no-color or NO_COLOR.
        .with_ansi(output.color && std::io::stderr().is_terminal())
        .try_init();
}

/// A log event's fields (its message included) as one printable line:
/// they may carry a server's answer or a file name, and a line break in one
/// would let it write its own log lines (a workflow command in CI). No URL's
/// query is shown: a signed download URL is a credential.
#[derive(Default)]
struct LineFields(tracing_subscriber::fmt::format::DefaultFields);

impl<'w> tracing_subscriber::fmt::FormatFields<'w> for LineFields {
    fn format_fields<R: tracing_subscriber::field::RecordFields>(
        &self,
        mut writer: tracing_subscriber::fmt::format::Writer<'w>,
        fields: R,
    ) -> std::fmt::Result {
        // Formatted without colour first, so no escape code of ours is escaped.
        let mut raw = String::new();
        self.0.format_fields(
            tracing_subscriber::fmt::format::Writer::new(&mut raw),
            fields,
        )?;
        writer.write_str(&line(url_queries_hidden(&raw)))
    }
}

/// Where the `::add-mask::` of each token requested mid-run goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Masks {
    /// Not in a GitHub Actions job: no runner to tell.
    Off,
    /// The action: stdout, with its other workflow commands.
    Stdout,
    /// The command line in a job's `run:` step: stderr.
    Stderr,
}

/// Plan and sign, showing each artifact as it finishes (and a bar on a TTY);
/// each token requested mid-run is masked at once where `masks` says.
async fn run_sign(
    settings: &SignCommand,
    output: OutputSettings,
    masks: Masks,
) -> Result<SignRun, Error> {
    let show_lines = !output.json && output.verbosity != Verbosity::Quiet;
    let bar = show_lines && output.color && std::io::stderr().is_terminal();
    let mut live = None;
    let run = pipeline::sign(settings, |work| {
        let l = Arc::new(Observer {
            live: human::Live::new(
                work.bytes,
                work.artifacts,
                bar,
                Box::new(move |text: &str| {
                    if show_lines {
                        println!("{text}");
                    }
                }),
            ),
            masks,
        });
        live = Some(l.clone());
        l
    })
    .await;
    if let Some(l) = live {
        l.live.finish();
    }
    Ok(run?)
}

/// What the binary shows of a sign run as it goes: the live lines, and in
/// a GitHub Actions job the mask of each token the run requested.
struct Observer {
    live: human::Live,
    masks: Masks,
}

impl Progress for Observer {
    fn hashed(&self, bytes: u64) {
        self.live.hashed(bytes);
    }
    fn logged(&self) {
        self.live.logged();
    }
    fn finished(&self, artifact: &ArtifactReport) {
        self.live.finished(artifact);
    }
    fn token(&self, token: &Secret) {
        let text = report::action::masks(std::slice::from_ref(token));
        match self.masks {
            Masks::Off => {}
            Masks::Stdout => {
                print!("{text}");
                let _ = std::io::stdout().flush();
            }
            Masks::Stderr => {
                eprint!("{text}");
                let _ = std::io::stderr().flush();
            }
        }
    }
}

fn render_sign(published: &Published, output: OutputSettings) -> ExitCode {
    let publish = &published.report;
    let report = &publish.sign;
    for w in &report.warnings {
        eprintln!("warning: {}", line(w));
    }
    if output.json {
        match report::json::to_text(publish) {
            Ok(json) => println!("{json}"),
            Err(e) => {
                eprintln!("error: cannot serialize the report: {e}");
                return ExitCode::from(EXIT_FAILURE);
            }
        }
    } else if report.dry_run {
        print!("{}", human::dry_run(report, publish.upload_plan.as_ref()));
    } else {
        print!(
            "{}",
            human::summary(report, matches!(output.verbosity, Verbosity::Verbose(_)))
        );
        if let Some(up) = &publish.upload {
            print!("{}", human::upload_lines(up));
        }
    }
    let _ = std::io::stdout().flush();
    if let Some(e) = &published.error {
        // The report above already carries it for a JSON consumer.
        eprintln!("error: {}", line(e));
    }
    ExitCode::from(published.exit_code())
}

fn render_verify(report: &VerifyReport, output: OutputSettings) -> ExitCode {
    for w in &report.warnings {
        eprintln!("warning: {}", line(w));
    }
    if output.json {
        match report::json::to_text(report) {
            Ok(json) => println!("{json}"),
            Err(e) => {
                eprintln!("error: cannot serialize the report: {e}");
                return ExitCode::from(EXIT_FAILURE);
            }
        }
    } else if output.verbosity == Verbosity::Quiet {
        // Quiet: only the failures and the summary.
        let text = verify_report::human(report, false);
        for l in text.lines().filter(|l| !l.starts_with('✅')) {
            println!("{l}");
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
    eprintln!("error: {}", line(e));
    if json {
        print_json_error(&e.to_string(), i32::from(e.exit_code()));
    }
    ExitCode::from(e.exit_code())
}

/// clap's error with every value it repeats from the command line escaped
/// as any other line is ([`line`]): a file name expanded by the shell
/// may hold a newline and a workflow command, or a terminal escape, which
/// clap would print as given. Help and usage text are ours, and kept.
fn with_values_escaped(mut e: clap::Error) -> clap::Error {
    use clap::error::ContextValue;
    let escaped: Vec<_> = e
        .context()
        .filter_map(|(kind, value)| match value {
            ContextValue::String(s) => Some((kind, ContextValue::String(line(s)))),
            ContextValue::Strings(v) => {
                Some((kind, ContextValue::Strings(v.iter().map(line).collect())))
            }
            // Tips quote the value too; their style is kept where they
            // hold nothing to escape.
            ContextValue::StyledStr(s) if line(s) != s.to_string() => {
                Some((kind, ContextValue::StyledStr(line(s).into())))
            }
            ContextValue::StyledStrs(v) if v.iter().any(|s| line(s) != s.to_string()) => Some((
                kind,
                ContextValue::StyledStrs(v.iter().map(|s| line(s).into()).collect()),
            )),
            _ => None,
        })
        .collect();
    for (kind, value) in escaped {
        e.insert(kind, value);
    }
    e
}

/// The one JSON document of a run that failed as a whole, on stdout.
fn print_json_error(error: &str, exit_code: i32) {
    let json = serde_json::json!({
        "schemaVersion": report::SCHEMA_VERSION,
        "error": error,
        "exit_code": exit_code,
    });
    println!("{}", report::json::to_text(&json).unwrap_or_default());
    let _ = std::io::stdout().flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Collects what the subscriber writes.
    #[derive(Clone, Default)]
    struct Sink(Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn log_line(ansi: bool) -> String {
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .fmt_fields(LineFields::default())
            .with_ansi(ansi)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(
                error = %"HTTP 503: bad\n::warning::injected\r\n\x1b[2J\u{202e}",
                attempt = 1,
                "retrying\nnow"
            );
        });
        let out = sink.0.lock().unwrap().clone();
        String::from_utf8(out).unwrap()
    }

    /// Whatever a field holds, an event is one line, its final newline kept.
    #[test]
    fn log_events_are_one_printable_line() {
        for ansi in [false, true] {
            let out = log_line(ansi);
            assert_eq!(out.matches('\n').count(), 1, "{out:?}");
            assert!(out.ends_with('\n'), "{out:?}");
            assert!(!out.contains('\r') && !out.contains('\u{202e}'), "{out:?}");
            assert!(!out.contains("\x1b[2J"), "{out:?}");
            assert!(
                out.contains(r"HTTP 503: bad\n::warning::injected\r\n\u{1b}[2J\u{202e}"),
                "{out:?}"
            );
            assert!(out.contains(r"retrying\nnow"), "{out:?}");
            // The level's colour is ours, and kept on a terminal.
            assert_eq!(out.contains('\x1b'), ansi, "{out:?}");
        }
    }
}
