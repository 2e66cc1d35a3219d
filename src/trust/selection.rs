//! Choosing the services to sign with from a SigningConfig v0.2, as the
//! Sigstore client spec (protobuf-specs `SigningConfig`, `ServiceConfiguration`)
//! says.
//!
//! Owns the rules, as one pure function of the config, the time and the
//! API versions this client speaks ([`select`]): for every service kind keep
//! the entries whose `validFor` contains now and whose `majorApiVersion` this
//! client speaks; take the highest of those versions (one version per kind,
//! never a mix); prefer the newest `validFor.start` (list order breaks ties);
//! for Rekor logs and TSAs keep at most one entry per `operator` and apply
//! `rekorTlogConfig` / `tsaConfig` (ANY: one, ALL: every operator's, EXACT:
//! `count`); CA and OIDC: exactly one. It reads no file and no clock, knows no
//! flag and no instance: `trust` hands it the config and the time and decides
//! what the signer can do with the result.

use std::fmt;

use jiff::Timestamp;
use serde::Serialize;
use sigstore_trust_root::{ServiceConfiguration, ServiceEndpoint, ServiceSelector, SigningConfig};

use crate::text::{echoed, line};

/// The `majorApiVersion`s this client speaks, per kind.
#[derive(Debug, Clone, Copy)]
pub struct Supported<'a> {
    pub ca: &'a [u32],
    pub oidc: &'a [u32],
    pub tlog: &'a [u32],
    pub tsa: &'a [u32],
}

/// What this client speaks: Fulcio's v2 REST API (`majorApiVersion` 1 in
/// signing configs), OIDC v1, Rekor v1 and v2, RFC 3161 TSAs v1.
pub const SUPPORTED: Supported<'static> = Supported {
    ca: sigstore_trust_root::SUPPORTED_FULCIO_VERSIONS,
    oidc: &[1],
    tlog: sigstore_trust_root::SUPPORTED_REKOR_VERSIONS,
    tsa: sigstore_trust_root::SUPPORTED_TSA_VERSIONS,
};

/// A service kind, named as the signing config's JSON field names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Kind {
    #[serde(rename = "caUrls")]
    Ca,
    #[serde(rename = "oidcUrls")]
    Oidc,
    #[serde(rename = "rekorTlogUrls")]
    Tlog,
    #[serde(rename = "tsaUrls")]
    Tsa,
}

impl Kind {
    fn field(self) -> &'static str {
        match self {
            Kind::Ca => "caUrls",
            Kind::Oidc => "oidcUrls",
            Kind::Tlog => "rekorTlogUrls",
            Kind::Tsa => "tsaUrls",
        }
    }

    fn config_field(self) -> &'static str {
        match self {
            Kind::Tlog => "rekorTlogConfig",
            Kind::Tsa => "tsaConfig",
            Kind::Ca | Kind::Oidc => "",
        }
    }
}

/// One chosen entry of the signing config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Chosen {
    /// Its position in the config's list (`rekorTlogUrls[1]`).
    pub index: usize,
    /// As written in the config, without a trailing `/`.
    pub url: String,
    pub major_api_version: u32,
    /// Empty when the entry names none (entries without one share a group).
    pub operator: String,
}

/// The choice for one kind, with what was set aside and why (for `-v` and
/// `--dry-run`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Choice {
    pub kind: Kind,
    pub chosen: Vec<Chosen>,
    /// `ANY`, `ALL`, `EXACT 2`; `ONE` for CA and OIDC (the spec asks for one).
    pub selector: String,
    /// Entries not chosen, in list order.
    pub set_aside: Vec<NotChosen>,
}

/// An entry not chosen: its position in the list and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct NotChosen {
    pub index: usize,
    #[serde(flatten)]
    pub why: SetAside,
}

/// Why an entry was not chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "reason")]
pub enum SetAside {
    /// `validFor.start` is after now.
    NotYetValid,
    /// `validFor.end` is before now.
    Ended,
    /// A `majorApiVersion` this client does not speak.
    UnsupportedVersion { version: u32 },
    /// A version this client speaks, but not the one `--rekor-version` asks for.
    NotAsked { version: u32 },
    /// A version this client speaks, but a higher one is offered.
    OlderVersion { version: u32 },
    /// Its operator already has a newer entry chosen.
    SameOperator,
    /// Usable, but the selector asked for fewer.
    NotNeeded,
}

impl fmt::Display for SetAside {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetAside::NotYetValid => f.write_str("its validFor has not started"),
            SetAside::Ended => f.write_str("its validFor has ended"),
            SetAside::UnsupportedVersion { version } => write!(
                f,
                "majorApiVersion {version} is not an API version this client speaks"
            ),
            SetAside::NotAsked { version } => write!(
                f,
                "majorApiVersion {version} is not the one --rekor-version (action input `rekor-version`) asks for"
            ),
            SetAside::OlderVersion { version } => {
                write!(f, "majorApiVersion {version} is older than the one chosen")
            }
            SetAside::SameOperator => f.write_str("its operator has a newer entry"),
            SetAside::NotNeeded => f.write_str("the selector needs fewer entries"),
        }
    }
}

impl fmt::Display for Choice {
    /// `rekorTlogUrls[1] v2 https://… (operator x); selector ANY; set aside: [0] its validFor has ended`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = self.kind.field();
        if self.chosen.is_empty() {
            write!(f, "{field}: none listed")?;
        }
        for (i, c) in self.chosen.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(
                f,
                "{field}[{}] v{} {}",
                c.index,
                c.major_api_version,
                line(echoed(&c.url))
            )?;
            if !c.operator.is_empty() {
                write!(f, " (operator {})", line(echoed(&c.operator)))?;
            }
        }
        write!(f, "; selector {}", self.selector)?;
        if !self.set_aside.is_empty() {
            f.write_str("; set aside:")?;
            for (i, n) in self.set_aside.iter().enumerate() {
                let sep = if i == 0 { " " } else { ", " };
                write!(f, "{sep}[{}] {}", n.index, n.why)?;
            }
        }
        Ok(())
    }
}

/// The services a signing config chooses, one [`Choice`] per kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Selection {
    pub ca: Choice,
    pub oidc: Choice,
    pub tlogs: Choice,
    pub tsas: Choice,
}

impl Selection {
    /// The chosen CA: always one, unless a flag replaced the kind.
    pub fn ca(&self) -> Option<&Chosen> {
        self.ca.chosen.first()
    }
}

/// A signing config this client cannot choose from; `source` names the
/// file (or the instance whose embedded config it is).
#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    #[error("{source_name}: no usable entry in signingConfig.{field} ({why}); fix: add an entry valid now with a majorApiVersion this client speaks ({supported}), or choose another instance")]
    NoneUsable {
        source_name: String,
        field: &'static str,
        /// Each listed entry and why it cannot be used.
        why: String,
        supported: String,
    },
    /// A selector missing (protobuf's SERVICE_SELECTOR_UNDEFINED, which the
    /// crate reads as ANY: refused where the file is read) or given as such.
    #[error("{source_name}: signingConfig.{field} has no selector (SERVICE_SELECTOR_UNDEFINED), which names no rule and which the client spec says to refuse; fix: set {field}.selector to ANY, ALL or EXACT (with a count)")]
    UndefinedSelector {
        source_name: String,
        field: &'static str,
    },
    #[error("{source_name}: signingConfig.{field} asks for EXACT {count} services, but {available} usable operator(s) are listed in {list}; fix: {}", exact_count_fix(*count, *available, list))]
    ExactCount {
        source_name: String,
        field: &'static str,
        list: &'static str,
        count: u32,
        available: usize,
    },
}

/// The fix for an EXACT count the listed operators cannot meet.
fn exact_count_fix(count: u32, available: usize, list: &str) -> String {
    match (count, available) {
        (0, _) => "set a count of at least 1, or use ANY".to_owned(),
        (_, 0) => format!("list at least {count} usable service(s) in {list}, or use ANY"),
        _ => format!(
            "set a count between 1 and {available}, or list more operators in {list}, or use ANY"
        ),
    }
}

/// Choose the services of `config` at `now`, speaking `supported`. `source`
/// names the config in errors (a path, or `public-good`). `rekor_major`
/// narrows the Rekor versions to one (`--rekor-version`).
///
/// A kind the config lists nothing for gives an empty [`Choice`] (an
/// instance without a TSA, GitHub's without a log); a kind whose entries
/// are all unusable is an error naming each entry and why, so is a CA
/// list with none. A kind in `replaced` (a URL flag stands for it) is
/// neither chosen nor judged, its selector included. OIDC entries are
/// chosen for the record but never refuse a config: this client takes its
/// token from the environment, never from an issuer the config lists.
pub fn select(
    config: &SigningConfig,
    now: Timestamp,
    supported: Supported<'_>,
    rekor_major: Option<u32>,
    replaced: Replaced,
    source: &str,
) -> Result<Selection, SelectError> {
    let tlog_versions: Vec<u32> = supported
        .tlog
        .iter()
        .copied()
        .filter(|v| rekor_major.is_none_or(|m| m == *v))
        .collect();
    let ca = if replaced.ca {
        Choice::replaced(Kind::Ca)
    } else {
        let ca = choose(
            &config.ca_urls,
            Kind::Ca,
            None,
            now,
            (supported.ca, supported.ca),
            source,
        )?;
        if ca.chosen.is_empty() {
            return Err(SelectError::NoneUsable {
                source_name: source.to_owned(),
                field: Kind::Ca.field(),
                why: "none listed".into(),
                supported: versions(supported.ca),
            });
        }
        ca
    };
    let oidc = choose(
        &config.oidc_urls,
        Kind::Oidc,
        None,
        now,
        (supported.oidc, supported.oidc),
        source,
    )
    .unwrap_or_else(|_| Choice::unused(Kind::Oidc));
    let tlogs = if replaced.tlog {
        Choice::replaced(Kind::Tlog)
    } else {
        choose(
            &config.rekor_tlog_urls,
            Kind::Tlog,
            Some(&config.rekor_tlog_config),
            now,
            (&tlog_versions, supported.tlog),
            source,
        )?
    };
    let tsas = if replaced.tsa {
        Choice::replaced(Kind::Tsa)
    } else {
        choose(
            &config.tsa_urls,
            Kind::Tsa,
            Some(&config.tsa_config),
            now,
            (supported.tsa, supported.tsa),
            source,
        )?
    };
    Ok(Selection {
        ca,
        oidc,
        tlogs,
        tsas,
    })
}

/// The kinds a URL flag stands for (`--fulcio-url`, `--rekor-url`,
/// `--tsa-url`): the config's entries and selector for them are set aside
/// unjudged, so a flag can stand in for entries this client cannot use.
#[derive(Debug, Clone, Copy, Default)]
pub struct Replaced {
    pub ca: bool,
    pub tlog: bool,
    pub tsa: bool,
}

impl Choice {
    /// A kind a flag stands for: nothing chosen from the config.
    fn replaced(kind: Kind) -> Choice {
        Choice {
            kind,
            chosen: Vec::new(),
            selector: "replaced by a flag".into(),
            set_aside: Vec::new(),
        }
    }

    /// A kind listed but not used by this client, none of it usable.
    fn unused(kind: Kind) -> Choice {
        Choice {
            kind,
            chosen: Vec::new(),
            selector: "none usable (not used by this client)".into(),
            set_aside: Vec::new(),
        }
    }
}

fn versions(v: &[u32]) -> String {
    let v: Vec<String> = v.iter().map(|v| format!("v{v}")).collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

/// The spec's rules for one kind; `config` is `None` for CA and OIDC (one).
fn choose(
    entries: &[ServiceEndpoint],
    kind: Kind,
    config: Option<&ServiceConfiguration>,
    now: Timestamp,
    (supported, speaks): (&[u32], &[u32]),
    source: &str,
) -> Result<Choice, SelectError> {
    // How many to take, decided first: an undefined selector is an error
    // even when the list happens to be empty.
    let wanted = match config.map(|c| (c.selector, c.count)) {
        None => Wanted::One,
        Some((ServiceSelector::Any, _)) => Wanted::Any,
        Some((ServiceSelector::All, _)) => Wanted::All,
        Some((ServiceSelector::Exact, count)) => Wanted::Exact(count.unwrap_or(0)),
        Some((ServiceSelector::Undefined, _)) | Some(_) => {
            return Err(SelectError::UndefinedSelector {
                source_name: source.to_owned(),
                field: kind.config_field(),
            })
        }
    };
    let mut set_aside = Vec::new();
    let mut usable = Vec::new();
    for (index, e) in entries.iter().enumerate() {
        if now < e.valid_for.start {
            set_aside.push(NotChosen {
                index,
                why: SetAside::NotYetValid,
            });
        } else if e.valid_for.end.is_some_and(|end| now > end) {
            set_aside.push(NotChosen {
                index,
                why: SetAside::Ended,
            });
        } else if !supported.contains(&e.major_api_version) {
            // One this client speaks, that --rekor-version did not ask for,
            // is said as such, not as a version it cannot speak.
            let version = e.major_api_version;
            set_aside.push(NotChosen {
                index,
                why: match speaks.contains(&version) {
                    true => SetAside::NotAsked { version },
                    false => SetAside::UnsupportedVersion { version },
                },
            });
        } else {
            usable.push((index, e));
        }
    }
    if usable.is_empty() && !entries.is_empty() {
        // A file may list any number of services, of any length: the
        // error names the first few, each URL capped.
        let why = crate::text::first_of_joined(
            set_aside.iter().map(|n| {
                let url = line(echoed(&entries[n.index].url));
                format!("{}[{}] {url}: {}", kind.field(), n.index, n.why)
            }),
            5,
            "; ",
        );
        return Err(SelectError::NoneUsable {
            source_name: source.to_owned(),
            field: kind.field(),
            why,
            supported: versions(supported),
        });
    }
    // One API version per kind: the highest this client speaks.
    let top = usable.iter().map(|(_, e)| e.major_api_version).max();
    usable.retain(|(index, e)| {
        let keep = Some(e.major_api_version) == top;
        if !keep {
            set_aside.push(NotChosen {
                index: *index,
                why: SetAside::OlderVersion {
                    version: e.major_api_version,
                },
            });
        }
        keep
    });
    // Newest start first; the sort is stable, so list order breaks ties.
    usable.sort_by_key(|(_, e)| std::cmp::Reverse(e.valid_for.start));
    let mut ranked: Vec<Chosen> = Vec::new();
    for (index, e) in usable {
        let operator = e.operator.clone().unwrap_or_default();
        if config.is_some() && ranked.iter().any(|c| c.operator == operator) {
            set_aside.push(NotChosen {
                index,
                why: SetAside::SameOperator,
            });
            continue;
        }
        ranked.push(Chosen {
            index,
            // A base URL loses a final `/` (paths are joined to it); a TSA's
            // is its endpoint, used exactly as listed, as `--tsa-url` is.
            url: match kind {
                Kind::Tsa => e.url.clone(),
                _ => e.url.trim_end_matches('/').to_owned(),
            },
            major_api_version: e.major_api_version,
            operator,
        });
    }
    let take = match wanted {
        Wanted::One | Wanted::Any => ranked.len().min(1),
        Wanted::All => ranked.len(),
        Wanted::Exact(count) if count == 0 || count as usize > ranked.len() => {
            return Err(SelectError::ExactCount {
                source_name: source.to_owned(),
                field: kind.config_field(),
                list: kind.field(),
                count,
                available: ranked.len(),
            })
        }
        Wanted::Exact(count) => count as usize,
    };
    for c in ranked.drain(take..) {
        set_aside.push(NotChosen {
            index: c.index,
            why: SetAside::NotNeeded,
        });
    }
    set_aside.sort_by_key(|n| n.index);
    Ok(Choice {
        kind,
        chosen: ranked,
        selector: wanted.to_string(),
        set_aside,
    })
}

#[derive(Debug, Clone, Copy)]
enum Wanted {
    One,
    Any,
    All,
    Exact(u32),
}

impl fmt::Display for Wanted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Wanted::One => f.write_str("ONE"),
            Wanted::Any => f.write_str("ANY"),
            Wanted::All => f.write_str("ALL"),
            Wanted::Exact(n) => write!(f, "EXACT {n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    const NOW: &str = "2026-06-01T00:00:00Z";

    fn now() -> Timestamp {
        NOW.parse().unwrap()
    }

    fn entry(url: &str, v: u32, start: &str, end: Option<&str>, operator: &str) -> Value {
        let mut valid = json!({ "start": start });
        if let Some(end) = end {
            valid["end"] = json!(end);
        }
        json!({ "url": url, "majorApiVersion": v, "validFor": valid, "operator": operator })
    }

    fn config(
        tlogs: Vec<Value>,
        tlog_config: Value,
        tsas: Vec<Value>,
        tsa_config: Value,
    ) -> SigningConfig {
        serde_json::from_value(json!({
            "mediaType": sigstore_trust_root::SIGNING_CONFIG_MEDIA_TYPE,
            "caUrls": [entry("https://ca", 1, "2020-01-01T00:00:00Z", None, "a")],
            "oidcUrls": [],
            "rekorTlogUrls": tlogs,
            "tsaUrls": tsas,
            "rekorTlogConfig": tlog_config,
            "tsaConfig": tsa_config,
        }))
        .unwrap()
    }

    /// `config`'s selection now, with no flag replacing an entry.
    fn selected(config: &SigningConfig) -> Result<Selection, SelectError> {
        select(
            config,
            now(),
            SUPPORTED,
            None,
            Replaced::default(),
            "cfg.json",
        )
    }

    fn tlogs(entries: Vec<Value>, selector: Value) -> Result<Selection, SelectError> {
        selected(&config(
            entries,
            selector,
            vec![],
            json!({"selector": "ANY"}),
        ))
    }

    fn aside(index: usize, why: SetAside) -> NotChosen {
        NotChosen { index, why }
    }

    fn urls(c: &Choice) -> Vec<&str> {
        c.chosen.iter().map(|c| c.url.as_str()).collect()
    }

    const OLD: &str = "2020-01-01T00:00:00Z";
    const NEW: &str = "2025-01-01T00:00:00Z";
    const FUTURE: &str = "2027-01-01T00:00:00Z";

    #[test]
    fn only_entries_valid_now_are_kept() {
        let s = tlogs(
            vec![
                entry("https://ended", 1, OLD, Some(NEW), "a"),
                entry("https://future", 1, FUTURE, None, "a"),
                entry("https://now", 1, OLD, Some(FUTURE), "a"),
            ],
            json!({"selector": "ANY"}),
        )
        .unwrap();
        assert_eq!(urls(&s.tlogs), ["https://now"]);
        assert_eq!(
            s.tlogs.set_aside,
            [aside(0, SetAside::Ended), aside(1, SetAside::NotYetValid)]
        );
    }

    /// A file's URLs and the number of its services are the file's to
    /// choose: what an error repeats of them is capped. Regression: 20
    /// services of 200 KB URLs made an error of 4 MB.
    #[test]
    fn an_error_repeats_a_bounded_part_of_the_file() {
        let long = format!("https://{}", "a".repeat(200_000));
        let e = tlogs(
            (0..20)
                .map(|_| entry(&long, 1, FUTURE, None, "a"))
                .collect(),
            json!({"selector": "ANY"}),
        )
        .unwrap_err()
        .to_string();
        assert!(e.len() < 4_096, "{} bytes", e.len());
        assert!(e.contains("and 15 more"), "{e}");
        let s = tlogs(
            vec![
                entry(&long, 1, OLD, None, &"o".repeat(100_000)),
                entry(&long, 1, FUTURE, None, "a"),
            ],
            json!({"selector": "ANY"}),
        )
        .unwrap();
        assert!(s.tlogs.to_string().len() < 1_000);
    }

    #[test]
    fn the_highest_supported_version_wins_and_versions_never_mix() {
        let all = json!({"selector": "ALL"});
        let s = tlogs(
            vec![
                entry("https://v1", 1, NEW, None, "a"),
                entry("https://v2", 2, OLD, None, "b"),
                entry("https://v3", 3, NEW, None, "c"),
            ],
            all.clone(),
        )
        .unwrap();
        assert_eq!(urls(&s.tlogs), ["https://v2"]);
        assert_eq!(
            s.tlogs.set_aside,
            [
                aside(0, SetAside::OlderVersion { version: 1 }),
                aside(2, SetAside::UnsupportedVersion { version: 3 })
            ]
        );
        // --rekor-version 1 narrows what this client speaks.
        let s = select(
            &config(
                vec![
                    entry("https://v1", 1, OLD, None, "a"),
                    entry("https://v2", 2, OLD, None, "a"),
                ],
                json!({"selector": "ANY"}),
                vec![],
                json!({}),
            ),
            now(),
            SUPPORTED,
            Some(1),
            Replaced::default(),
            "cfg.json",
        )
        .unwrap();
        assert_eq!(urls(&s.tlogs), ["https://v1"]);
        // ... and says so: v2 is not what it asked for, not a version this
        // client cannot speak. Regression: "majorApiVersion 2 is not an
        // API version this client speaks".
        assert_eq!(
            s.tlogs.set_aside,
            [aside(1, SetAside::NotAsked { version: 2 })]
        );
        assert!(SetAside::NotAsked { version: 2 }
            .to_string()
            .contains("is not the one --rekor-version (action input `rekor-version`) asks for"));
    }

    #[test]
    fn the_newest_start_is_preferred_and_list_order_breaks_ties() {
        let s = tlogs(
            vec![
                entry("https://old", 2, OLD, None, "a"),
                entry("https://new", 2, NEW, None, "a"),
                entry("https://new-too", 2, NEW, None, "a"),
            ],
            json!({"selector": "ANY"}),
        )
        .unwrap();
        assert_eq!(urls(&s.tlogs), ["https://new"]);
    }

    #[test]
    fn at_most_one_entry_per_operator() {
        let s = tlogs(
            vec![
                entry("https://a-old", 1, OLD, None, "a"),
                entry("https://a-new", 1, NEW, None, "a"),
                entry("https://b", 1, OLD, None, "b"),
            ],
            json!({"selector": "ALL"}),
        )
        .unwrap();
        assert_eq!(urls(&s.tlogs), ["https://a-new", "https://b"]);
        assert_eq!(s.tlogs.set_aside, [aside(0, SetAside::SameOperator)]);
    }

    #[test]
    fn selectors_any_all_and_exact() {
        let three = || {
            vec![
                entry("https://a", 1, OLD, None, "a"),
                entry("https://b", 1, NEW, None, "b"),
                entry("https://c", 1, OLD, None, "c"),
            ]
        };
        let any = tlogs(three(), json!({"selector": "ANY"})).unwrap();
        assert_eq!(urls(&any.tlogs), ["https://b"]);
        assert_eq!(any.tlogs.selector, "ANY");
        let all = tlogs(three(), json!({"selector": "ALL"})).unwrap();
        assert_eq!(urls(&all.tlogs), ["https://b", "https://a", "https://c"]);
        let exact = tlogs(three(), json!({"selector": "EXACT", "count": 2})).unwrap();
        assert_eq!(urls(&exact.tlogs), ["https://b", "https://a"]);
        assert_eq!(exact.tlogs.set_aside, [aside(2, SetAside::NotNeeded)]);
        // The crate reads a missing selector as ANY (a file without one is
        // refused when read: `trust::undefined_selector`).
        let default = tlogs(three(), json!({})).unwrap();
        assert_eq!(urls(&default.tlogs), ["https://b"]);
    }

    #[test]
    fn exact_needs_a_count_it_can_meet() {
        for count in [json!(0), json!(4)] {
            let e = tlogs(
                vec![
                    entry("https://a", 1, OLD, None, "a"),
                    entry("https://a2", 1, OLD, None, "a"),
                ],
                json!({"selector": "EXACT", "count": count}),
            )
            .unwrap_err();
            assert!(
                matches!(e, SelectError::ExactCount { available: 1, .. }),
                "{e}"
            );
            let msg = e.to_string();
            assert!(
                msg.contains("cfg.json") && msg.contains("rekorTlogConfig") && msg.contains("fix:"),
                "{msg}"
            );
        }
    }

    /// EXACT over an empty list asks for services to be listed, not for a
    /// count "between 1 and 0".
    #[test]
    fn exact_over_nothing_says_to_list_services() {
        let e = tlogs(vec![], json!({"selector": "EXACT", "count": 1})).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("fix: list at least 1 usable service(s) in rekorTlogUrls"),
            "{msg}"
        );
        assert!(!msg.contains("between 1 and 0"), "{msg}");
    }

    /// A TSA is listed by its endpoint, which is used exactly (a final `/`
    /// may be what its server routes); base URLs lose theirs.
    #[test]
    fn a_tsa_endpoint_is_kept_exactly() {
        let s = selected(&config(
            vec![entry("https://rekor.example/", 1, OLD, None, "r")],
            json!({"selector": "ANY"}),
            vec![entry("https://tsa.example/timestamp/", 1, OLD, None, "t")],
            json!({"selector": "ANY"}),
        ))
        .unwrap();
        assert_eq!(urls(&s.tlogs), ["https://rekor.example"]);
        assert_eq!(urls(&s.tsas), ["https://tsa.example/timestamp/"]);
    }

    #[test]
    fn an_undefined_selector_is_refused() {
        let e = tlogs(vec![], json!({"selector": "SERVICE_SELECTOR_UNDEFINED"})).unwrap_err();
        assert!(
            matches!(
                e,
                SelectError::UndefinedSelector {
                    field: "rekorTlogConfig",
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn none_usable_names_the_file_and_each_entry() {
        let e = tlogs(
            vec![
                entry("https://ended", 1, OLD, Some(NEW), "a"),
                entry("https://v9\n", 9, OLD, None, "a"),
            ],
            json!({"selector": "ANY"}),
        )
        .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("cfg.json: no usable entry in signingConfig.rekorTlogUrls"),
            "{msg}"
        );
        assert!(
            msg.contains("rekorTlogUrls[0] https://ended: its validFor has ended"),
            "{msg}"
        );
        assert!(
            msg.contains("rekorTlogUrls[1] https://v9\\n: majorApiVersion 9 is not"),
            "{msg}"
        );
        assert!(msg.contains("v1, v2") && !msg.contains('\n'), "{msg}");
    }

    #[test]
    fn an_empty_list_is_an_empty_choice_except_for_the_ca() {
        let s = tlogs(vec![], json!({"selector": "ANY"})).unwrap();
        assert!(s.tlogs.chosen.is_empty() && s.tsas.chosen.is_empty());
        assert_eq!(s.ca().unwrap().url, "https://ca");
        let mut c = config(vec![], json!({}), vec![], json!({}));
        c.ca_urls.clear();
        let e = select(&c, now(), SUPPORTED, None, Replaced::default(), "cfg.json").unwrap_err();
        assert!(
            matches!(
                e,
                SelectError::NoneUsable {
                    field: "caUrls",
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn ca_and_oidc_take_one_regardless_of_operators() {
        let mut c = config(vec![], json!({}), vec![], json!({}));
        c.ca_urls = serde_json::from_value(json!([
            entry("https://ca-old/", 1, OLD, None, "a"),
            entry("https://ca-new/", 1, NEW, None, "b"),
        ]))
        .unwrap();
        let s = select(&c, now(), SUPPORTED, None, Replaced::default(), "cfg.json").unwrap();
        assert_eq!(urls(&s.ca), ["https://ca-new"]);
        assert_eq!(s.ca.selector, "ONE");
        assert_eq!(s.ca.set_aside, [aside(0, SetAside::NotNeeded)]);
    }

    #[test]
    fn tsa_config_is_honoured() {
        let s = selected(&config(
            vec![],
            json!({}),
            vec![
                entry("https://t1", 1, OLD, None, "a"),
                entry("https://t2", 1, OLD, None, "b"),
            ],
            json!({"selector": "ALL"}),
        ))
        .unwrap();
        assert_eq!(urls(&s.tsas), ["https://t1", "https://t2"]);
    }

    #[test]
    fn the_choice_reads_as_one_line() {
        let s = tlogs(
            vec![
                entry("https://ended", 2, OLD, Some(NEW), "a"),
                entry("https://v1", 1, OLD, None, "op"),
            ],
            json!({"selector": "ANY"}),
        )
        .unwrap();
        assert_eq!(
            s.tlogs.to_string(),
            "rekorTlogUrls[1] v1 https://v1 (operator op); selector ANY; set aside: [0] its validFor has ended"
        );
    }
}
