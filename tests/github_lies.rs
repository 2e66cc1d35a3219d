//! A lying GitHub releases API: a download with more bytes than the asset's
//! listed size, a listing whose `Link: rel="next"` never ends, a redirect to
//! a `Location` that is no URL. Each fails cleanly: an error naming the
//! asset or listing, no panic, no hang (every run is killed if it has not
//! finished in time, so a hang fails the test).

use releasekit_sandbox::github::ListLie;
use releasekit_sandbox::Sandbox;
use releasekit_sign::github::identical_only;

use crate::util::{code, run, stderr, stdout, Work};
use crate::verify_release::{client, signed_release, verify_release, BOUND, REPO, TAG};

/// The run ended by itself (not killed at the bound) and did not panic.
fn ended_cleanly(o: &std::process::Output) {
    assert!(
        o.status.code().is_some(),
        "killed after {BOUND:?}: it hung\n{}",
        stderr(o)
    );
    assert!(!stderr(o).contains("panicked"), "{}", stderr(o));
}

/// An asset (or a bundle) sent with more bytes than the release lists for it
/// is refused while it streams, naming the asset; nothing is kept.
/// Regression: an artifact was hashed whole (a digest mismatch, after
/// reading all a server cared to send), a bundle collected whole in memory
/// before its cap was checked.
#[tokio::test(flavor = "multi_thread")]
async fn more_bytes_than_listed_are_refused() {
    let sandbox = Sandbox::start().await.unwrap();
    let _release = signed_release(&sandbox).await;
    let gh = sandbox.github();
    let consumer = Work::new();

    gh.oversized_next_download("app-1.0.tar.gz", 64 << 20);
    gh.oversized_next_download("app-1.0.whl.sigstore.json", 64 << 20);
    let o = run(verify_release(&sandbox, &consumer, &["--download", "got"])).await;
    ended_cleanly(&o);
    assert_eq!(code(&o), 1);
    let out = stdout(&o);
    assert!(
        out.contains(&format!(
            "❌ app-1.0.tar.gz: downloading asset `app-1.0.tar.gz` on release {TAG} failed: the server sent more than the 7 bytes the release lists for it"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "❌ app-1.0.whl: downloading asset `app-1.0.whl.sigstore.json` on release {TAG} failed: the server sent more than the "
        )) && out.contains("bytes the release lists for it"),
        "{out}"
    );
    assert!(consumer.listing().is_empty(), "{:?}", consumer.listing());

    // Told once: the next run verifies.
    let o = run(verify_release(&sandbox, &consumer, &[])).await;
    assert_eq!(code(&o), 0);
}

/// Another asset of the release, with its bundle, served under an asset's
/// name: both shorter than what the release lists for that asset. Refused
/// at the end of the download, naming what arrived; nothing is kept.
/// Regression: the wheel and its bundle verified as `app-1.0.tar.gz` (same
/// signer, same commit), and `--download` kept the wheel under that name.
#[tokio::test(flavor = "multi_thread")]
async fn fewer_bytes_than_listed_are_refused() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = signed_release(&sandbox).await;
    let gh = sandbox.github();
    let consumer = Work::new();

    // Without its RFC 3161 timestamp (the log's integrated time is the
    // signing time then), the wheel's bundle still verifies and is shorter
    // than the tarball's, whose signature and log index may be longer or not.
    let mut wheel_bundle: serde_json::Value = serde_json::from_slice(
        &std::fs::read(work.path("dist/app-1.0.whl.sigstore.json")).unwrap(),
    )
    .unwrap();
    wheel_bundle["verificationMaterial"]
        .as_object_mut()
        .unwrap()
        .remove("timestampVerificationData")
        .unwrap();
    let wheel_bundle = serde_json::to_vec(&wheel_bundle).unwrap();
    let tarball_bundle = std::fs::metadata(work.path("dist/app-1.0.tar.gz.sigstore.json"))
        .unwrap()
        .len();
    assert!(
        (wheel_bundle.len() as u64) < tarball_bundle,
        "the lie fits the listing"
    );
    gh.substitute_next_download("app-1.0.tar.gz", "wheel");
    gh.substitute_next_download("app-1.0.tar.gz.sigstore.json", wheel_bundle);
    let o = run(verify_release(&sandbox, &consumer, &["--download", "got"])).await;
    ended_cleanly(&o);
    assert_eq!(code(&o), 1);
    let out = stdout(&o);
    assert!(
        out.contains(&format!(
            "❌ app-1.0.tar.gz: downloading asset `app-1.0.tar.gz` on release {TAG} failed: the server sent 5 of the 7 bytes the release lists for it"
        )) || out.contains(&format!(
            "❌ app-1.0.tar.gz: downloading asset `app-1.0.tar.gz.sigstore.json` on release {TAG} failed: the server sent "
        )),
        "{out}"
    );
    assert!(
        !consumer.path("got/app-1.0.tar.gz").exists(),
        "{:?}",
        consumer.listing()
    );
}

/// A listing whose next page is itself, cycles, or never ends is refused
/// with an error naming the listing, in `verify --release` and in the
/// library's own listings (assets; the asset lookup before an upload).
/// Regression: each looped for ever.
#[tokio::test(flavor = "multi_thread")]
async fn listings_that_never_end_are_refused() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = signed_release(&sandbox).await;
    let gh = sandbox.github();
    let consumer = Work::new();
    let releases = client(&sandbox);
    let release = releases.find(TAG).await.unwrap();

    for (lie, why) in [
        (ListLie::SelfLink, "leads back to a page already read"),
        (ListLie::Cycle, "leads back to a page already read"),
        (ListLie::Endless, "goes on past 1000 pages"),
    ] {
        gh.lie_on_lists(Some(lie));
        // With a token: 1000 pages are far past an anonymous caller's budget.
        let mut cmd = verify_release(&sandbox, &consumer, &[]);
        cmd.env("GITHUB_TOKEN", sandbox.github_token());
        let o = run(cmd).await;
        ended_cleanly(&o);
        assert_eq!(code(&o), 1, "{lie:?}");
        let err = stderr(&o);
        assert!(
            err.contains(&format!("listing assets on release {TAG} failed: ")) && err.contains(why),
            "{lie:?}: {err}"
        );

        let listed = tokio::time::timeout(BOUND, releases.assets(&release))
            .await
            .expect("listing assets hung");
        assert!(
            listed.as_ref().is_err_and(|e| e.to_string().contains(why)),
            "{lie:?}: {listed:?}"
        );
        let uploaded = tokio::time::timeout(
            BOUND,
            releases.upload_as(
                &release,
                "NEW.txt",
                &work.file("NEW.txt", "new"),
                "text/plain",
                crate::util::as_checked(&crate::util::file_digest(&work.file("NEW.txt", "new"))),
                false,
                &identical_only,
            ),
        )
        .await
        .expect("the upload's asset lookup hung");
        assert!(
            uploaded
                .as_ref()
                .is_err_and(|e| e.to_string().contains(why)),
            "{lie:?}: {uploaded:?}"
        );
    }
    gh.lie_on_lists(None);
    let o = run(verify_release(&sandbox, &consumer, &[])).await;
    assert_eq!(code(&o), 0);
}

/// A listing of pages each under the per-page cap, but together more than
/// any release's: refused with an error naming the listing, in
/// `verify --release` and in the library's own listing. Regression: every
/// page's items were kept, up to a thousand pages of 32 MiB.
#[tokio::test(flavor = "multi_thread")]
async fn listings_too_large_to_keep_are_refused() {
    let sandbox = Sandbox::start().await.unwrap();
    let _work = signed_release(&sandbox).await;
    let gh = sandbox.github();
    for i in 0..300 {
        assert!(gh.insert_asset_unchecked(REPO, TAG, &format!("x{i}.bin"), "x"));
    }
    let consumer = Work::new();
    let releases = client(&sandbox);
    let release = releases.find(TAG).await.unwrap();
    // 100 items of 300 kB: 30 MB a page, under the 32 MiB a page may be.
    gh.lie_on_lists(Some(ListLie::Padded(300_000)));
    let why = "the listing's pages add up to more than 67108864 bytes";
    let o = run(verify_release(&sandbox, &consumer, &[])).await;
    ended_cleanly(&o);
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert!(
        err.contains(&format!("listing assets on release {TAG} failed: {why}")),
        "{err}"
    );
    let listed = releases.assets(&release).await;
    assert!(
        listed.as_ref().is_err_and(|e| e.to_string().contains(why)),
        "{listed:?}"
    );
    // Releases are listed for one tag: only its pages are kept.
    assert!(releases.find(TAG).await.is_ok());
    gh.lie_on_lists(None);
}

/// A download redirected to a `Location` that is not ASCII (or not an
/// http(s) URL) fails that asset with an error naming it, and the run
/// goes on; a genuine redirect (absolute, or a path on the same host) is
/// followed. Regression: a non-ASCII `Location` panicked inside octocrab.
#[tokio::test(flavor = "multi_thread")]
async fn bad_redirects_fail_the_asset_without_a_panic() {
    let sandbox = Sandbox::start().await.unwrap();
    let _release = signed_release(&sandbox).await;
    let gh = sandbox.github();
    let consumer = Work::new();
    let download = |name: &str| format!("/{REPO}/releases/download/{TAG}/{name}");

    gh.redirect_next_download("app-1.0.tar.gz", "https://objects.example/é".as_bytes());
    gh.redirect_next_download(
        "app-1.0.whl",
        format!("{}{}", sandbox.urls().github_api, download("app-1.0.whl")),
    );
    let o = run(verify_release(&sandbox, &consumer, &[])).await;
    ended_cleanly(&o);
    assert_eq!(code(&o), 1);
    let out = stdout(&o);
    assert!(
        out.contains(&format!(
            "❌ app-1.0.tar.gz: downloading asset `app-1.0.tar.gz` on release {TAG} failed: it redirects to \"https://objects.example/é\", which is not an absolute http(s) URL"
        )),
        "{out}"
    );
    assert!(out.contains("✅ Verified: app-1.0.whl\n"), "{out}");

    gh.redirect_next_download("app-1.0.tar.gz", "ftp://objects.example/x");
    gh.redirect_next_download("app-1.0.whl", download("app-1.0.whl"));
    let o = run(verify_release(&sandbox, &consumer, &[])).await;
    ended_cleanly(&o);
    assert_eq!(code(&o), 1);
    let out = stdout(&o);
    assert!(
        out.contains("❌ app-1.0.tar.gz: downloading asset `app-1.0.tar.gz` on release v1.0.0 failed: it redirects to \"ftp://objects.example/x\""),
        "{out}"
    );
    assert!(out.contains("✅ Verified: app-1.0.whl\n"), "{out}");
}

/// An error answer of megabytes (a proxy's page, a hostile server) is read
/// only in part, and its message cut, wherever it is shown: the asset's
/// line, the error and the retry warnings stay a few KiB. Regression: the
/// whole body became the message, printed on every line naming the asset.
#[tokio::test(flavor = "multi_thread")]
async fn a_huge_error_answer_is_cut_short() {
    use releasekit_sandbox::{Fault, Service};

    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/app.tar.gz", "tarball");
    let huge = format!("<html>{}</html>", "proxy error page ".repeat(200_000));
    let gh = sandbox.faults(Service::GitHub);
    gh.only_paths_containing("/assets");
    gh.fail_next(1, Fault::status_body(400, huge));
    let o = run(crate::util::sign_upload(
        &sandbox,
        work.dir.path(),
        &["dist"],
    ))
    .await;
    ended_cleanly(&o);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let shown = format!("{}{}", stdout(&o), stderr(&o));
    assert!(
        shown.contains("GitHub answered 400: <html>proxy error page"),
        "{shown}"
    );
    assert!(shown.contains("…"), "the cut is marked: {shown}");
    assert!(shown.len() < 16 << 10, "{} bytes shown", shown.len());
}

/// An asset listed under a name longer than any file's (20,000 bytes, with
/// its bundle beside it) fails as such, its name shown cut short, and no
/// line of the report or its JSON repeats it whole; the release's other
/// assets still verify. Regression: the name was verified like any other
/// and repeated whole in each line about it.
#[tokio::test(flavor = "multi_thread")]
async fn a_name_longer_than_a_files_is_shown_cut_short() {
    let sandbox = Sandbox::start().await.unwrap();
    let release = signed_release(&sandbox).await;
    let gh = sandbox.github();
    let bundle = std::fs::read(release.path("dist/app-1.0.tar.gz.sigstore.json")).unwrap();
    let long = format!("{}.tar.gz", "x".repeat(20_000));
    assert!(gh.insert_asset_unchecked(REPO, TAG, &long, "tarball"));
    assert!(gh.insert_asset_unchecked(REPO, TAG, &format!("{long}.sigstore.json"), bundle));

    let consumer = Work::new();
    for extra in [&[][..], &["--json"], &["--download", "got"]] {
        let o = run(verify_release(&sandbox, &consumer, extra)).await;
        ended_cleanly(&o);
        assert_eq!(code(&o), 1, "{extra:?}");
        let (out, err) = (stdout(&o), stderr(&o));
        let longest = out.lines().chain(err.lines()).map(str::len).max();
        assert!(
            longest < Some(2_000),
            "{extra:?}: a line of {longest:?} bytes"
        );
        let shown = format!("{}…", "x".repeat(100));
        assert!(
            out.contains(&format!(
                "{shown}: the release lists an asset whose name is 20007 bytes long (shown cut short), longer than any file's name may be (255 bytes)"
            )) || out.contains(&format!(
                "\"{shown}\""
            )),
            "{extra:?}: {out}"
        );
        assert!(
            out.contains("✅ Verified: app-1.0.tar.gz\n") || out.contains("\"app-1.0.tar.gz\""),
            "{extra:?}: {out}"
        );
    }
    assert_eq!(
        consumer.listing(),
        [
            "got/app-1.0.tar.gz",
            "got/app-1.0.tar.gz.sigstore.json",
            "got/app-1.0.whl",
            "got/app-1.0.whl.sigstore.json"
        ]
    );
}
