//! `verify --release ... --download DIR`: only bytes that verified land in
//! DIR, under the asset's own name, never over a file that was there unless
//! `--overwrite`, and never outside DIR whatever names the release lists.

use releasekit_sandbox::Sandbox;

use crate::util::{code, run, stderr, stdout, Work};
use crate::verify_release::{sign_upload, signed_release, verify_release, REPO, TAG};

/// `big.bin` signed and on the release, large enough that the first half
/// of its download arrives, and is written, before a cut: its content and
/// its asset id.
async fn big_asset(sandbox: &Sandbox) -> (String, u64) {
    let content: String = (0..200_000).map(|i| format!("{i:07}\n")).collect();
    upload_signed(sandbox, &Work::new(), &[("big.bin", &content)]).await;
    let id = sandbox
        .github()
        .assets(REPO, TAG)
        .into_iter()
        .find(|a| a.name == "big.bin")
        .unwrap()
        .id;
    (content, id)
}

/// Sign each file (in `work/dist`, created with its contents) and upload
/// it with its bundle to the release, in this order, one run each.
async fn upload_signed(sandbox: &Sandbox, work: &Work, files: &[(&str, &str)]) {
    for (name, contents) in files {
        let path = format!("dist/{name}");
        work.file(&path, contents);
        assert_eq!(
            code(&run(sign_upload(sandbox, work, &path)).await),
            0,
            "{name}"
        );
    }
}

/// An asset replaced on the release fails, and its bytes are not kept: not
/// in an empty DIR, not over the user's own file of that name (with or
/// without --overwrite), and no temporary file is left. Regression: the
/// bytes were moved into `DIR/<name>` before they were checked.
#[tokio::test(flavor = "multi_thread")]
async fn bytes_that_fail_are_not_kept() {
    let sandbox = Sandbox::start().await.unwrap();
    let _release = signed_release(&sandbox).await;
    assert!(sandbox
        .github()
        .replace_asset_content(REPO, TAG, "app-1.0.tar.gz", "evil tarball"));
    let failed =
        "❌ app-1.0.tar.gz: Verification failed: artifact modified after signing (digest mismatch)";

    // Into an empty directory: nothing lands.
    let consumer = Work::new();
    let o = run(verify_release(&sandbox, &consumer, &["--download", "got"])).await;
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).contains(failed), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("✅ Verified: app-1.0.whl"),
        "{}",
        stdout(&o)
    );
    assert_eq!(
        consumer.listing(),
        ["got/app-1.0.whl", "got/app-1.0.whl.sigstore.json"]
    );

    // Over the user's own file: it stays as it was.
    for extra in [&[][..], &["--overwrite"][..]] {
        let consumer = Work::new();
        consumer.file("got/app-1.0.tar.gz", "my own tarball");
        let mut args = vec!["--download", "got", "--pattern", "app-1.0.tar.gz"];
        args.extend_from_slice(extra);
        let o = run(verify_release(&sandbox, &consumer, &args)).await;
        assert_eq!(code(&o), 1, "{extra:?}");
        assert_eq!(
            std::fs::read_to_string(consumer.path("got/app-1.0.tar.gz")).unwrap(),
            "my own tarball",
            "{extra:?}"
        );
        assert_eq!(consumer.listing(), ["got/app-1.0.tar.gz"], "{extra:?}");
    }
}

/// An asset whose download is cut halfway is downloaded again into the same
/// file, emptied first: what lands is exactly the verified bytes, once, and
/// no temporary file is left.
#[tokio::test(flavor = "multi_thread")]
async fn a_download_cut_halfway_is_retried_into_an_emptied_file() {
    use releasekit_sandbox::{Fault, Service};
    let sandbox = Sandbox::start().await.unwrap();
    let (content, id) = big_asset(&sandbox).await;
    // The bytes come from the storage GitHub redirects downloads to.
    let faults = sandbox.faults(Service::Storage);
    faults.only_paths_ending_with(format!("/release-assets/{id}"));
    faults.fail_next(1, Fault::DropConnection);
    let consumer = Work::new();
    let o = run(verify_release(&sandbox, &consumer, &["--download", "got"])).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert_eq!(faults.pending(), 0, "the download was not cut");
    assert!(
        std::fs::read_to_string(consumer.path("got/big.bin")).unwrap() == content,
        "got/big.bin is not the verified bytes"
    );
    assert_eq!(
        consumer.listing(),
        ["got/big.bin", "got/big.bin.sigstore.json"]
    );
}

/// Storage refusing a download (its signed URL expired on the way: S3's
/// 403 `Request has expired`) is retried from the API, which signs a fresh
/// URL, and never blamed on the token. Regression: it was taken for a
/// token lacking `contents: write`, and not retried.
#[tokio::test(flavor = "multi_thread")]
async fn an_expired_storage_url_is_asked_for_again() {
    use releasekit_sandbox::{Fault, Service};
    let sandbox = Sandbox::start().await.unwrap();
    let (content, id) = big_asset(&sandbox).await;
    let faults = sandbox.faults(Service::Storage);
    faults.only_paths_ending_with(format!("/release-assets/{id}"));
    let expired = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>";
    faults.fail_next(1, Fault::status_body(403, expired));
    let consumer = Work::new();
    let o = run(verify_release(&sandbox, &consumer, &["--download", "got"])).await;
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert_eq!(faults.pending(), 0, "storage did not refuse");
    assert_eq!(
        std::fs::read_to_string(consumer.path("got/big.bin")).unwrap(),
        content
    );

    // Refused every time: said as storage's answer, not the token's.
    faults.fail_next(20, Fault::status_body(403, expired));
    let o = run(verify_release(&sandbox, &Work::new(), &[])).await;
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let out = stdout(&o) + &stderr(&o);
    assert!(
        out.contains("the storage GitHub redirected the download to answered 403"),
        "{out}"
    );
    assert!(!out.contains("contents: write"), "{out}");
}

/// A download from the storage GitHub redirects to that keeps failing is
/// reported without the storage URL's query, the signature that grants the
/// download, in the lines and in the JSON report. Regression: the HTTP
/// client's error named the whole URL, and it was shown.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_storage_download_never_shows_its_signed_url() {
    use releasekit_sandbox::{Fault, Service};
    let sandbox = Sandbox::start().await.unwrap();
    big_asset(&sandbox).await;
    // GitHub redirects the download to a storage that does not answer.
    let faults = sandbox.faults(Service::GitHub);
    faults.only_paths_ending_with("/big.bin");
    for json in [false, true] {
        faults.fail_next(
            20,
            Fault::redirect(
                302,
                "http://127.0.0.1:1/release-assets/big?X-Amz-Expires=300&X-Amz-Signature=s3cr3t",
            ),
        );
        let consumer = Work::new();
        let mut cmd = verify_release(&sandbox, &consumer, &[]);
        if json {
            cmd.arg("--json");
        }
        let o = run(cmd).await;
        assert_eq!(code(&o), 1, "{}", stdout(&o));
        let shown = format!("{}{}", stdout(&o), crate::util::stderr(&o));
        assert!(shown.contains("big.bin"), "{shown}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }
}

/// Assets named `x` and `x.partial` both land, each with its own bytes,
/// whichever is downloaded first and however many at once. Regression: `x`
/// was written through the fixed temporary name `x.partial`, so one could
/// take the other's place (or remove it).
#[tokio::test(flavor = "multi_thread")]
async fn an_asset_named_like_a_temporary_file_keeps_its_own_bytes() {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    // `x.partial` first on the release, then `x`.
    upload_signed(
        &sandbox,
        &work,
        &[("x.partial", "partial's bytes"), ("x", "x's bytes")],
    )
    .await;
    for jobs in ["1", "4"] {
        let consumer = Work::new();
        let o = run(verify_release(
            &sandbox,
            &consumer,
            &["--download", "got", "--jobs", jobs],
        ))
        .await;
        assert_eq!(code(&o), 0, "--jobs {jobs}");
        assert!(stdout(&o).contains("✅ Verified: x\n"), "{}", stdout(&o));
        assert!(
            stdout(&o).contains("✅ Verified: x.partial\n"),
            "{}",
            stdout(&o)
        );
        let read = |name: &str| std::fs::read_to_string(consumer.path(name)).ok();
        assert_eq!(read("got/x").as_deref(), Some("x's bytes"), "--jobs {jobs}");
        assert_eq!(
            read("got/x.partial").as_deref(),
            Some("partial's bytes"),
            "--jobs {jobs}"
        );
        assert_eq!(
            consumer.listing(),
            [
                "got/x",
                "got/x.partial",
                "got/x.partial.sigstore.json",
                "got/x.sigstore.json"
            ],
            "--jobs {jobs}"
        );
    }
}

/// A file already in DIR (the asset's or its bundle's name) is that asset's
/// failure, naming the file and the fixes, and is left as it was; with
/// `--overwrite` it is replaced by the verified bytes. Regression: it was
/// replaced silently.
#[tokio::test(flavor = "multi_thread")]
async fn existing_files_are_replaced_only_with_overwrite() {
    let sandbox = Sandbox::start().await.unwrap();
    let _release = signed_release(&sandbox).await;
    for existing in ["got/app-1.0.tar.gz", "got/app-1.0.tar.gz.sigstore.json"] {
        let consumer = Work::new();
        consumer.file(existing, "mine");
        let o = run(verify_release(&sandbox, &consumer, &["--download", "got"])).await;
        assert_eq!(code(&o), 1, "{existing}");
        let out = stdout(&o);
        assert!(
            out.contains(&format!(
                "❌ app-1.0.tar.gz: {existing} already exists: pass --overwrite to replace it, or --download another directory"
            )),
            "{out}"
        );
        assert!(out.contains("✅ Verified: app-1.0.whl"), "{out}");
        assert_eq!(
            std::fs::read_to_string(consumer.path(existing)).unwrap(),
            "mine"
        );
        assert_eq!(
            consumer.listing(),
            [existing, "got/app-1.0.whl", "got/app-1.0.whl.sigstore.json"]
        );

        let o = run(verify_release(
            &sandbox,
            &consumer,
            &["--download", "got", "--overwrite"],
        ))
        .await;
        assert_eq!(code(&o), 0, "{existing}");
        assert_eq!(
            std::fs::read_to_string(consumer.path("got/app-1.0.tar.gz")).unwrap(),
            "tarball"
        );
        crate::util::verify_bundle(
            &sandbox,
            &consumer.path("got/app-1.0.tar.gz"),
            &consumer.path("got/app-1.0.tar.gz.sigstore.json"),
        );
        assert_eq!(consumer.listing().len(), 4, "{:?}", consumer.listing());
    }
    // --overwrite means nothing without --download.
    let consumer = Work::new();
    let o = run(verify_release(&sandbox, &consumer, &["--overwrite"])).await;
    assert_eq!(code(&o), 2);
    assert!(
        crate::util::stderr(&o).contains("--download <DIR>"),
        "{}",
        crate::util::stderr(&o)
    );
}

/// With `--overwrite`, an asset whose bundle cannot be kept (a directory
/// has its name) leaves the file it would have replaced as it was.
/// Regression: the asset replaced the file, the bundle's write failed, and
/// the asset was taken back: the user's file was gone.
#[tokio::test(flavor = "multi_thread")]
async fn an_asset_whose_bundle_cannot_be_kept_replaces_nothing() {
    let sandbox = Sandbox::start().await.unwrap();
    let _release = signed_release(&sandbox).await;
    let consumer = Work::new();
    consumer.file("got/app-1.0.tar.gz", "mine");
    consumer.file("got/app-1.0.tar.gz.sigstore.json/x", "in the way");
    let o = run(verify_release(
        &sandbox,
        &consumer,
        &["--download", "got", "--overwrite"],
    ))
    .await;
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let out = stdout(&o);
    assert!(
        out.contains("❌ app-1.0.tar.gz: got/app-1.0.tar.gz.sigstore.json is a directory, so the asset (and its bundle) are not written"),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(consumer.path("got/app-1.0.tar.gz")).unwrap(),
        "mine"
    );
    assert_eq!(
        consumer.listing(),
        [
            "got/app-1.0.tar.gz",
            "got/app-1.0.tar.gz.sigstore.json/x",
            "got/app-1.0.whl",
            "got/app-1.0.whl.sigstore.json"
        ]
    );
}

/// Names only a lying server lists (GitHub renames them on upload) never
/// choose where a file is written: a path, `..`, a leading dot, a
/// character Windows reads as a stream or device, a control character, or
/// a name listed twice is that asset's failure; nothing is written for it,
/// in DIR or outside it, and the honest assets still land.
#[tokio::test(flavor = "multi_thread")]
async fn hostile_asset_names_never_choose_where_files_go() {
    let sandbox = Sandbox::start().await.unwrap();
    let release = signed_release(&sandbox).await;
    let gh = sandbox.github();
    let bundle = std::fs::read(release.path("dist/app-1.0.tar.gz.sigstore.json")).unwrap();
    let hostile = [
        "../evil",
        "../../../evil",
        "a/b",
        "..",
        ".",
        "a\\b",
        ".hidden",
        "trailing.",
        "C:evil",
        "NUL.txt",
        "new\nline",
        "invoice\u{202e}gpj.exe",
        "a\u{200b}pp.whl",
        "x\u{2028}y",
        "",
    ];
    for name in hostile {
        assert!(gh.insert_asset_unchecked(REPO, TAG, name, "tarball"));
        assert!(gh.insert_asset_unchecked(
            REPO,
            TAG,
            &format!("{name}.sigstore.json"),
            bundle.clone()
        ));
    }
    // A second `app-1.0.whl`, with other bytes.
    assert!(gh.insert_asset_unchecked(REPO, TAG, "app-1.0.whl", "evil wheel"));

    // DIR three levels down: `..`s of the hostile names land in the work
    // directory, where they would show.
    let consumer = Work::new();
    let o = run(verify_release(
        &sandbox,
        &consumer,
        &["--download", "a/b/got"],
    ))
    .await;
    assert_eq!(code(&o), 1);
    let out = stdout(&o);
    for name in hostile {
        let shown = releasekit_sign::text::line(name);
        assert!(
            out.contains(&format!("❌ {shown}: the asset name `{shown}` ")),
            "{name:?}: {out}"
        );
    }
    assert!(
        out.contains("❌ app-1.0.whl: the release lists `app-1.0.whl` more than once"),
        "{out}"
    );
    assert!(out.contains("✅ Verified: app-1.0.tar.gz\n"), "{out}");
    assert_eq!(
        consumer.listing(),
        [
            "a/b/got/app-1.0.tar.gz",
            "a/b/got/app-1.0.tar.gz.sigstore.json"
        ]
    );
}

/// A download cut short by Ctrl-C, SIGTERM (a CI system cancelling the
/// job) or SIGHUP (a closed terminal) leaves nothing in DIR: not the asset, not its bundle, not the
/// temporary file half its bytes were already written to. Regression:
/// SIGTERM ended the process on the spot and the `.partial` file stayed.
#[tokio::test(flavor = "multi_thread")]
async fn a_download_cut_by_a_signal_leaves_nothing() {
    use releasekit_sandbox::{Fault, Service};
    let sandbox = Sandbox::start().await.unwrap();
    let (content, id) = big_asset(&sandbox).await;
    for (signal, exit, word) in [
        ("INT", 130, "interrupted"),
        ("TERM", 143, "terminated"),
        ("HUP", 129, "hung up"),
    ] {
        let faults = sandbox.faults(Service::Storage);
        faults.clear();
        faults.only_paths_ending_with(format!("/release-assets/{id}"));
        faults.fail_next(1, Fault::StallMidBody(std::time::Duration::from_secs(60)));
        let consumer = Work::new();
        let child = crate::util::default_signals(&mut std::process::Command::new(
            assert_cmd::cargo::cargo_bin("releasekit-sign"),
        ))
        .current_dir(consumer.dir.path())
        .env_clear()
        .args([
            "verify",
            "--release",
            &format!("{REPO}@{TAG}"),
            "--trusted-root",
        ])
        .arg(sandbox.trusted_root_path())
        .args(["--download", "got"])
        .env("GITHUB_API_URL", &sandbox.urls().github_api)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
        // Until the first half of the asset is on disk, in its temporary file.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let half_written = || {
            std::fs::read_dir(consumer.path("got"))
                .into_iter()
                .flatten()
                .flatten()
                .any(|e| {
                    e.metadata()
                        .is_ok_and(|m| m.len() as usize >= content.len() / 2)
                })
        };
        while !half_written() {
            assert!(
                std::time::Instant::now() < deadline,
                "SIG{signal}: the download never started"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let o = crate::util::signal_and_wait(child, signal).await;
        assert_eq!(consumer.listing(), Vec::<String>::new(), "SIG{signal}");
        assert_eq!(o.status.code(), Some(exit), "SIG{signal}: {o:?}");
        assert!(
            crate::util::stderr(&o).contains(&format!(
                "{word}: the run did not finish; no partial or unverified file was kept"
            )),
            "SIG{signal}: {}",
            crate::util::stderr(&o)
        );
    }
}

/// Two assets whose names differ only in case, or in Unicode form (NFC and
/// NFD), are one file in DIR on macOS and Windows: neither is written, on
/// every platform, and `--pattern` takes one at a time. Regression: the
/// second replaced the first (with --overwrite), under a ✅ for both.
#[tokio::test(flavor = "multi_thread")]
async fn names_one_file_where_names_fold_are_not_written() {
    let sandbox = Sandbox::start().await.unwrap();
    let nfc = "caf\u{e9}.zip";
    let nfd = "cafe\u{301}.zip";
    upload_signed(
        &sandbox,
        &Work::new(),
        &[("Tool.zip", "upper"), ("tool.zip", "lower")],
    )
    .await;
    // GitHub renames such characters on upload: only a server that lies
    // lists these two, each with its genuine bundle.
    let signer = Work::new();
    for (name, contents) in [(nfc, "composed"), (nfd, "decomposed")] {
        signer.file(name, contents);
        let mut cmd = crate::util::sign(&sandbox, signer.dir.path());
        cmd.arg(name);
        assert_eq!(code(&run(cmd).await), 0);
        let bundle = format!("{name}.sigstore.json");
        let gh = sandbox.github();
        assert!(gh.insert_asset_unchecked(REPO, TAG, name, contents.to_owned()));
        let bytes = std::fs::read(signer.path(&bundle)).unwrap();
        assert!(gh.insert_asset_unchecked(REPO, TAG, &bundle, bytes));
    }
    let consumer = Work::new();
    let o = run(verify_release(
        &sandbox,
        &consumer,
        &["--download", "got", "--overwrite"],
    ))
    .await;
    assert_eq!(code(&o), 1);
    let out = stdout(&o);
    for (name, other) in [
        ("Tool.zip", "tool.zip"),
        ("tool.zip", "Tool.zip"),
        (nfc, nfd),
        (nfd, nfc),
    ] {
        assert!(
            out.contains(&format!(
                "❌ {name}: the asset names `{name}` and `{other}` differ only in case or Unicode form"
            )),
            "{out}"
        );
    }
    assert_eq!(consumer.listing(), Vec::<String>::new());

    // Verifying writes nothing: each verifies.
    let o = run(verify_release(&sandbox, &Work::new(), &[])).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    // One at a time, each lands.
    let consumer = Work::new();
    let o = run(verify_release(
        &sandbox,
        &consumer,
        &["--download", "got", "--pattern", "Tool.zip"],
    ))
    .await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert_eq!(
        consumer.listing(),
        ["got/Tool.zip", "got/Tool.zip.sigstore.json"]
    );
}

/// An unsigned asset is never written, so it collides with nothing: a
/// signed `tool.zip` lands beside an unsigned `Tool.zip`. Regression: the
/// unsigned twin failed the signed one.
#[tokio::test(flavor = "multi_thread")]
async fn an_unsigned_twin_does_not_fail_a_signed_asset() {
    let sandbox = Sandbox::start().await.unwrap();
    upload_signed(&sandbox, &Work::new(), &[("tool.zip", "signed")]).await;
    assert!(sandbox
        .github()
        .insert_asset_unchecked(REPO, TAG, "Tool.zip", "unsigned"));
    let consumer = Work::new();
    let o = run(verify_release(&sandbox, &consumer, &["--download", "got"])).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(
        stdout(&o).contains("✅ Verified: tool.zip"),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("⚠ Unsigned: Tool.zip"),
        "{}",
        stdout(&o)
    );
    assert_eq!(
        consumer.listing(),
        ["got/tool.zip", "got/tool.zip.sigstore.json"]
    );
}

/// A sandbox whose release holds `tool.zip`, its bundle, and a provenance
/// naming it, uploaded by one signing run.
async fn tool_with_provenance() -> Sandbox {
    let sandbox = Sandbox::start().await.unwrap();
    let work = Work::new();
    work.file("dist/tool.zip", "signed");
    let mut cmd = crate::util::sign_upload(&sandbox, work.dir.path(), &["dist"]);
    cmd.args(["--upload-artifacts", "--provenance"])
        .env("GITHUB_SERVER_URL", "https://github.com");
    let o = run(cmd).await;
    assert_eq!(code(&o), 0, "{}", crate::util::stderr(&o));
    sandbox
}

/// With provenance on the release, an unsigned asset (no bundle, and no
/// statement names it) is listed as unsigned, whatever its name and
/// whatever DIR holds under it: a file there stays, and no name of it is
/// judged, since nothing is written. Regression: it failed the run, as a
/// file in the way or as an unsafe name, before it was known to be
/// unsigned.
#[tokio::test(flavor = "multi_thread")]
async fn an_unsigned_asset_beside_provenance_is_not_judged_as_a_file() {
    let sandbox = tool_with_provenance().await;
    let gh = sandbox.github();
    assert!(gh.insert_asset_unchecked(REPO, TAG, "NOTES.txt", "unsigned"));
    assert!(gh.insert_asset_unchecked(REPO, TAG, "aux.txt", "unsigned too"));
    let consumer = Work::new();
    consumer.file("got/NOTES.txt", "mine");
    let o = run(verify_release(&sandbox, &consumer, &["--download", "got"])).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let out = stdout(&o);
    assert!(out.contains("✅ Verified: tool.zip"), "{out}");
    assert!(out.contains("⚠ Unsigned: NOTES.txt"), "{out}");
    assert!(out.contains("⚠ Unsigned: aux.txt"), "{out}");
    assert_eq!(
        std::fs::read_to_string(consumer.path("got/NOTES.txt")).unwrap(),
        "mine"
    );
    assert!(!consumer.path("got/aux.txt").exists());
}

/// The same where the release carries provenance: a statement vouches for
/// `tool.zip` only (by the digest GitHub lists), so the unsigned `Tool.zip`
/// is still never written. Regression: any provenance on the release made
/// every asset count as written, and both failed.
#[tokio::test(flavor = "multi_thread")]
async fn an_unsigned_twin_does_not_fail_an_asset_with_provenance() {
    let sandbox = tool_with_provenance().await;
    assert!(sandbox
        .github()
        .insert_asset_unchecked(REPO, TAG, "Tool.zip", "unsigned"));
    let consumer = Work::new();
    let o = run(verify_release(&sandbox, &consumer, &["--download", "got"])).await;
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let out = stdout(&o);
    assert!(out.contains("✅ Verified: tool.zip"), "{out}");
    assert!(out.contains("⚠ Unsigned: Tool.zip"), "{out}");
    assert_eq!(
        consumer.listing(),
        ["got/tool.zip", "got/tool.zip.sigstore.json"]
    );

    // Where the listing gives no digest, either may be vouched for: both
    // fail before anything is written, as two signed twins do.
    let gh = sandbox.github();
    assert!(gh.list_digest_as(REPO, TAG, "Tool.zip", None));
    let consumer = Work::new();
    let o = run(verify_release(&sandbox, &consumer, &["--download", "got"])).await;
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let twins = "the asset names `tool.zip` and `Tool.zip` differ only in case";
    assert!(
        stdout(&o).contains(&format!("❌ tool.zip: {twins}")),
        "{}",
        stdout(&o)
    );
    assert_eq!(consumer.listing(), Vec::<String>::new());
}

/// A listing that lies about a twin's digest cannot slip it past: the
/// statement vouches for `Tool.zip`'s real bytes (the same as `tool.zip`'s)
/// while the listing says otherwise, and of the two that verify, the
/// second to be written fails, naming the first.
#[tokio::test(flavor = "multi_thread")]
async fn a_listing_that_lies_about_a_twin_writes_one_file_only() {
    let sandbox = tool_with_provenance().await;
    let gh = sandbox.github();
    assert!(gh.insert_asset_unchecked(REPO, TAG, "Tool.zip", "signed"));
    let other = format!("sha256:{}", "0".repeat(64));
    assert!(gh.list_digest_as(REPO, TAG, "Tool.zip", Some(&other)));
    let consumer = Work::new();
    let o = run(verify_release(
        &sandbox,
        &consumer,
        &["--download", "got", "--jobs", "1"],
    ))
    .await;
    assert_eq!(code(&o), 1, "{}", stdout(&o));
    let out = stdout(&o);
    let written = |first: &str, second: &str| {
        out.contains(&format!(
            "❌ {second}: the asset names `{second}` and `{first}` differ only in case or Unicode form, so they are one file in --download's directory on macOS and Windows; `{first}` was written there, and `{second}` is not"
        ))
    };
    assert!(
        written("tool.zip", "Tool.zip") || written("Tool.zip", "tool.zip"),
        "{out}"
    );
    let listing = consumer.listing();
    let zips = listing
        .iter()
        .filter(|n| n.to_lowercase() == "got/tool.zip");
    assert_eq!(zips.count(), 1, "{listing:?}");

    // One that could not be written (a directory has its bundle's name)
    // is not counted as written: its twin lands, and no line says
    // otherwise. Regression: its name was recorded before its write, and
    // the twin failed as one file with a file that was not there.
    let consumer = Work::new();
    consumer.file("got/tool.zip.sigstore.json/x", "in the way");
    let o = run(verify_release(
        &sandbox,
        &consumer,
        &["--download", "got", "--jobs", "1", "--overwrite"],
    ))
    .await;
    let out = stdout(&o);
    assert_eq!(code(&o), 1, "{out}");
    assert!(!out.contains("was written there"), "{out}");
    assert!(out.contains("✅ Verified: Tool.zip"), "{out}");
    assert!(consumer.path("got/Tool.zip").exists());
}
