//! Bundle files: naming, the exact JSON written, atomic writes, capped reads.
//!
//! Owns `<artifact>.sigstore.json` naming, the JSON shape strict readers
//! (sigstore-python) require, and the guarantee that a bundle file is either
//! absent or complete, written into the very directory the plan checked
//! (through [`crate::atomic_file`]), and parsing a bundle's bytes as one
//! reading only (a key given twice, or two members of one oneof, where
//! readers differ, is refused). It does not build or verify bundles.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sigstore_types::Bundle;

use crate::atomic_file::{AtomicError, WriteDir};
use crate::files::{self, FileError};

/// Appended to an artifact's file name to name its bundle.
pub(crate) const BUNDLE_SUFFIX: &str = ".sigstore.json";

/// Bundles are a few KiB; anything far larger is not a bundle.
pub(crate) const MAX_BUNDLE_BYTES: u64 = 4 * 1024 * 1024;

/// Where the bundle of `artifact` goes: next to it, or in `output_dir`.
pub(crate) fn bundle_path(artifact: &Path, output_dir: Option<&Path>) -> PathBuf {
    let mut name = artifact
        .file_name()
        .unwrap_or(artifact.as_os_str())
        .to_owned();
    name.push(BUNDLE_SUFFIX);
    match output_dir {
        Some(dir) => dir.join(name),
        None => artifact.with_file_name(name),
    }
}

/// The directory a file at `path` is in (`.` for a bare name).
pub fn directory(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Whether `path` is named like a bundle: also a name that is not UTF-8
/// (`a\xff.whl.sigstore.json` is the bundle of `a\xff.whl`), and, where
/// the file system folds case, whatever the suffix's case (there,
/// `a.whl.SIGSTORE.JSON` is the file `a.whl`'s bundle is written to).
pub(crate) fn is_bundle(path: &Path) -> bool {
    let Some(name) = path.file_name() else {
        return false;
    };
    let (name, suffix) = (name.as_encoded_bytes(), BUNDLE_SUFFIX.as_bytes());
    name.len() >= suffix.len() && {
        let end = &name[name.len() - suffix.len()..];
        if crate::files::FOLDS_CASE {
            end.eq_ignore_ascii_case(suffix)
        } else {
            end == suffix
        }
    }
}

/// `dir/a.whl.sigstore.json` -> `dir/a.whl`, whatever the name's encoding
/// (the suffix holds two extensions); a path not named like a bundle is
/// returned as it is.
pub(crate) fn artifact_of(bundle: &Path) -> PathBuf {
    if !is_bundle(bundle) {
        return bundle.to_owned();
    }
    let stem = Path::new(bundle.file_stem().unwrap_or_default())
        .file_stem()
        .unwrap_or_default()
        .to_owned();
    bundle.with_file_name(stem)
}

#[derive(Debug, thiserror::Error)]
pub enum BundleIoError {
    #[error("bundle {} already exists; fix: pass --overwrite (action input `overwrite: true`) to replace it", .0.display())]
    Exists(PathBuf),
    #[error("cannot write bundle {}: {source}", path.display())]
    Write { path: PathBuf, source: AtomicError },
    #[error("cannot read bundle {}: {source}; fix: {}", path.display(), crate::files::read_fix(source))]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    NotRead(FileError),
    #[error("{} is larger than {MAX_BUNDLE_BYTES} bytes, so it is not a Sigstore bundle; fix: pass the `.sigstore.json` file written by the signer", .0.display())]
    TooLarge(PathBuf),
    #[error("cannot serialize the bundle: {0}")]
    Serialize(String),
}

impl BundleIoError {
    /// What went wrong, without the fix a read names: for an error that
    /// wraps it in its own fix (a bundle not reused, a provenance not
    /// replaced), which would otherwise say two.
    pub(crate) fn unfixed(&self) -> String {
        match self {
            BundleIoError::Read { path, source } => {
                format!("cannot read bundle {}: {source}", path.display())
            }
            other => other.to_string(),
        }
    }
}

/// The bundle as written: pretty JSON, with the fields proto3 writers omit but
/// sigstore-python requires (`inclusionProof.hashes` and `logIndex` even when
/// empty or zero, 64-bit integers as strings).
pub fn to_json(bundle: &Bundle) -> Result<Vec<u8>, BundleIoError> {
    let mut value =
        serde_json::to_value(bundle).map_err(|e| BundleIoError::Serialize(e.to_string()))?;
    normalize(&mut value);
    let mut out =
        serde_json::to_vec_pretty(&value).map_err(|e| BundleIoError::Serialize(e.to_string()))?;
    out.push(b'\n');
    Ok(out)
}

/// The bundle as one line of JSON Lines (`.intoto.jsonl`, as GitHub's
/// attestation downloads and slsa-github-generator write them): the same
/// fields as [`to_json`], compact, ending in one newline.
pub(crate) fn to_json_line(bundle: &Bundle) -> Result<Vec<u8>, BundleIoError> {
    let mut value =
        serde_json::to_value(bundle).map_err(|e| BundleIoError::Serialize(e.to_string()))?;
    normalize(&mut value);
    let mut out =
        serde_json::to_vec(&value).map_err(|e| BundleIoError::Serialize(e.to_string()))?;
    out.push(b'\n');
    Ok(out)
}

fn normalize(bundle: &mut Value) {
    let Some(entries) = bundle
        .pointer_mut("/verificationMaterial/tlogEntries")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for entry in entries {
        let Some(entry) = entry.as_object_mut() else {
            continue;
        };
        uint64_as_string(entry, "logIndex", true);
        uint64_as_string(entry, "integratedTime", false);
        if let Some(proof) = entry
            .get_mut("inclusionProof")
            .and_then(Value::as_object_mut)
        {
            uint64_as_string(proof, "logIndex", true);
            uint64_as_string(proof, "treeSize", true);
            proof
                .entry("hashes")
                .or_insert_with(|| Value::Array(Vec::new()));
        }
    }
}

fn uint64_as_string(obj: &mut serde_json::Map<String, Value>, key: &str, required: bool) {
    match obj.get(key) {
        Some(Value::Number(n)) => {
            let s = n.to_string();
            obj.insert(key.to_owned(), Value::String(s));
        }
        None if required => {
            obj.insert(key.to_owned(), Value::String("0".into()));
        }
        _ => {}
    }
}

/// Write `bytes` to `path` so that readers see the old file or the whole new
/// one, never a part: a temporary file in the same directory, flushed to disk,
/// then renamed over (or, without `overwrite`, renamed only if `path` is free).
#[cfg(test)]
pub(crate) fn write_atomic(
    path: &Path,
    bytes: &[u8],
    overwrite: bool,
) -> Result<(), BundleIoError> {
    let err = |source| BundleIoError::Write {
        path: path.to_owned(),
        source,
    };
    let real = std::fs::canonicalize(directory(path)).map_err(|e| err(e.into()))?;
    let dir = WriteDir::planned(real).map_err(err)?;
    write_atomic_in(&dir, path, bytes, overwrite)
}

/// [`write_atomic`] into `dir`, the directory of `path` that the plan
/// checked (see [`crate::atomic_file`]); `path` names the bundle in errors.
pub(crate) fn write_atomic_in(
    dir: &WriteDir,
    path: &Path,
    bytes: &[u8],
    overwrite: bool,
) -> Result<(), BundleIoError> {
    prepare_in(dir, path, bytes)?.keep(overwrite)
}

/// `bytes` written and synced under a temporary name in `dir`, to be kept
/// as `path` ([`Prepared::keep`]) once whatever else must be ready is:
/// nothing is in `path`'s place until then, and nothing if it is dropped.
pub(crate) fn prepare_in(
    dir: &WriteDir,
    path: &Path,
    bytes: &[u8],
) -> Result<Prepared, BundleIoError> {
    let err = |source| BundleIoError::Write {
        path: path.to_owned(),
        source,
    };
    let name = path
        .file_name()
        .ok_or_else(|| err(std::io::Error::other("the path has no file name").into()))?;
    let tmp = dir.temporary(directory(path), ".tmp").map_err(err)?;
    let flushed = tmp
        .file()
        .write_all(bytes)
        .and_then(|()| tmp.file().sync_all());
    flushed.map_err(|e| err(e.into()))?;
    Ok(Prepared {
        tmp,
        name: name.to_owned(),
        path: path.to_owned(),
    })
}

/// A bundle on disk under a temporary name ([`prepare_in`]).
pub(crate) struct Prepared {
    tmp: crate::atomic_file::Temporary,
    name: std::ffi::OsString,
    path: PathBuf,
}

impl Prepared {
    /// Give it its name; without `overwrite`, only if the name is free.
    pub(crate) fn keep(self, overwrite: bool) -> Result<(), BundleIoError> {
        match self.tmp.keep(&self.name, overwrite) {
            Ok(_) => Ok(()),
            Err(AtomicError::Exists) => Err(BundleIoError::Exists(self.path)),
            Err(source) => Err(BundleIoError::Write {
                path: self.path,
                source,
            }),
        }
    }
}

/// Why bytes are not a bundle.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("{0}")]
    NotUtf8(#[from] std::str::Utf8Error),
    #[error("{0}")]
    Json(#[from] sigstore_types::Error),
    /// A key given twice, or two members of one oneof, where readers
    /// differ on which counts (see [`read_two_ways`]).
    #[error("{0}, and JSON readers differ on which one counts (sigstore-go refuses it, others read the last one, this one the first), so what verified here is not what they would read")]
    ReadTwoWays(String),
    /// No `mediaType`: sigstore-types reads such a bundle as v0.1, where
    /// sigstore-python and sigstore-go refuse it.
    #[error("it has no `mediaType` (sigstore-python and cosign refuse a bundle without one, and nothing says which version it is)")]
    NoMediaType,
    /// A member no bundle version defines, which sigstore-types ignores
    /// and protojson (sigstore-go, cosign) and sigstore-python refuse.
    #[error("it has a member {0} that no bundle version defines (sigstore-python and cosign refuse it; this would ignore it)")]
    UnknownMember(String),
    /// A message digest's algorithm not spelled as protobuf-specs names
    /// it, which sigstore-types reads loosely (`sha-256`).
    #[error("its message digest's algorithm is `{0}`, not a name protobuf-specs gives one (SHA2_256, SHA2_384, SHA2_512), which sigstore-python and cosign refuse")]
    DigestAlgorithm(String),
    /// A value strict readers read otherwise, or not at all (a number out
    /// of range, an unpaired surrogate, nesting past 128), which
    /// sigstore-types skips without reading.
    #[error("it holds a value JSON readers take differently ({0}), so it is not read here as they would read it")]
    Unreadable(String),
    /// A member under its protobuf name, which protojson and
    /// sigstore-python read and sigstore-types does not.
    #[error("it gives {0} under its protobuf name, which this reader does not read and sigstore-python and cosign do, so what verified here is not what they would read; fix: write it under its JSON name `{1}`")]
    ProtobufName(String, String),
    /// A v0.1 or v0.2 bundle whose key material is not a certificate
    /// chain (v0.3's lone `certificate`, say).
    #[error("it is a {0} bundle without the certificate chain that version holds its key material in (sigstore-python refuses it)")]
    NoChain(&'static str),
}

/// Parse a bundle (v0.1, v0.2 or v0.3 JSON) from bytes as read from a file.
/// Never panics, whatever the bytes (the `bundle` fuzz target holds it to that).
pub fn parse(bytes: &[u8]) -> Result<Bundle, ParseError> {
    use sigstore_types::bundle::{MediaType, VerificationMaterialContent};
    let bundle = Bundle::from_json(std::str::from_utf8(bytes)?)?;
    match read_two_ways(bytes) {
        Some(Unread::TwoWays(why)) => return Err(ParseError::ReadTwoWays(why)),
        Some(Unread::NoMediaType) => return Err(ParseError::NoMediaType),
        Some(Unread::Unknown(member)) => return Err(ParseError::UnknownMember(member)),
        Some(Unread::Algorithm(name)) => return Err(ParseError::DigestAlgorithm(name)),
        Some(Unread::ProtobufName(key, name)) => return Err(ParseError::ProtobufName(key, name)),
        Some(Unread::Unreadable(why)) => return Err(ParseError::Unreadable(why)),
        None => {}
    }
    // v0.3 refuses a chain itself (sigstore-bundle); the older versions'
    // material is not checked there.
    let older = match bundle.media_type {
        MediaType::Bundle0_1 => Some("v0.1"),
        MediaType::Bundle0_2 => Some("v0.2"),
        _ => None,
    };
    if let Some(version) = older {
        if !matches!(
            bundle.verification_material.content,
            VerificationMaterialContent::X509CertificateChain { .. }
        ) {
            return Err(ParseError::NoChain(version));
        }
    }
    Ok(bundle)
}

/// What [`read_two_ways`] found that a bundle must not be read with.
enum Unread {
    TwoWays(String),
    NoMediaType,
    /// The member, in backquotes, and where if not in the bundle's object.
    Unknown(String),
    Algorithm(String),
    /// The member as given (in backquotes, and where), and its JSON name.
    ProtobufName(String, String),
    /// What the reader could not read in it.
    Unreadable(String),
}

/// The members of the bundle's own object, and of its
/// `verificationMaterial`: each as its JSON name and its protobuf field
/// name, both of which protojson (sigstore-go, cosign) and sigstore-python
/// read as the one member, and sigstore-types reads only the first of.
const BUNDLE_MEMBERS: &[(&str, &str)] = &[
    ("mediaType", "media_type"),
    ("verificationMaterial", "verification_material"),
    ("messageSignature", "message_signature"),
    ("dsseEnvelope", "dsse_envelope"),
];
const MATERIAL_MEMBERS: &[(&str, &str)] = &[
    ("certificate", "certificate"),
    ("x509CertificateChain", "x509_certificate_chain"),
    ("publicKey", "public_key"),
    ("tlogEntries", "tlog_entries"),
    ("timestampVerificationData", "timestamp_verification_data"),
];

/// Read as a value, the first key in it that is a protobuf field name (an
/// underscore in it: no JSON name of a bundle has one, `rfc3161Timestamps`,
/// `inclusionPromise`, a DSSE `payloadType` and `keyid`), where it is, and
/// its JSON name. protojson (cosign, sigstore-go) and sigstore-python read
/// either name, and sigstore-types only the JSON one, so a timestamp or a
/// SET under the other went unchecked here and was read there. Streamed
/// within [`read_two_ways`]' one pass: no value is kept.
///
/// With the members the object may have (its message's, [`members_of`]),
/// any other key is found too, at every depth, as protojson and
/// sigstore-python refuse it. Regression: only keys with an underscore
/// were, so `"foo"` in a log entry, or a misspelt `rfc3161timestamps`,
/// verified here and was refused there.
struct ProtoNames(Option<&'static [&'static str]>);

/// The JSON members of the bundle message a member named `key` holds (or,
/// for an array, each of its elements holds); `None` for a scalar's.
/// Every name is one message's only, so the key alone says which.
fn members_of(key: &str) -> Option<&'static [&'static str]> {
    Some(match key {
        "tlogEntries" => &[
            "logIndex",
            "logId",
            "kindVersion",
            "integratedTime",
            "inclusionPromise",
            "inclusionProof",
            "canonicalizedBody",
        ],
        "logId" => &["keyId"],
        "kindVersion" => &["kind", "version"],
        "inclusionPromise" => &["signedEntryTimestamp"],
        "inclusionProof" => &["logIndex", "rootHash", "treeSize", "hashes", "checkpoint"],
        "checkpoint" => &["envelope"],
        "x509CertificateChain" => &["certificates"],
        "certificates" | "certificate" => &["rawBytes"],
        "publicKey" => &["hint"],
        "timestampVerificationData" => &["rfc3161Timestamps"],
        "rfc3161Timestamps" => &["signedTimestamp"],
        "messageSignature" => &["messageDigest", "signature"],
        "messageDigest" => &["algorithm", "digest"],
        "dsseEnvelope" => &["payload", "payloadType", "signatures"],
        "signatures" => &["sig", "keyid"],
        _ => return None,
    })
}

impl<'de> serde::de::DeserializeSeed<'de> for ProtoNames {
    type Value = Option<(String, Option<String>)>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for ProtoNames {
    type Value = Option<(String, Option<String>)>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("JSON")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<String>()? {
            if found.is_some() || key.contains('_') {
                map.next_value::<serde::de::IgnoredAny>()?;
                found = found.or_else(|| proto_named(&key));
            } else if self.0.is_some_and(|known| !known.contains(&key.as_str())) {
                map.next_value::<serde::de::IgnoredAny>()?;
                found = Some((
                    format!("`{}`", crate::text::capped(&crate::text::line(&key), 60)),
                    None,
                ));
            } else if let Some((inner, name)) = map.next_value_seed(ProtoNames(members_of(&key)))? {
                found = Some((format!("{inner} in `{key}`"), name));
            }
        }
        Ok(found)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(inner) = seq.next_element_seed(ProtoNames(self.0))? {
            found = found.or(inner);
        }
        Ok(found)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// [`ProtoNames`] of a value already read, the member `key` of its parent.
fn proto_named_in(key: &str, v: &Value) -> Option<(String, Option<String>)> {
    serde::de::DeserializeSeed::deserialize(ProtoNames(members_of(key)), v)
        .ok()
        .flatten()
}

/// The protobuf field names of a bundle's messages that JSON spells
/// otherwise (protobuf-specs' bundle, common, Rekor and DSSE messages).
const PROTOBUF_FIELDS: &[&str] = &[
    "media_type",
    "verification_material",
    "message_signature",
    "dsse_envelope",
    "x509_certificate_chain",
    "public_key",
    "tlog_entries",
    "timestamp_verification_data",
    "rfc3161_timestamps",
    "signed_timestamp",
    "raw_bytes",
    "message_digest",
    "log_index",
    "log_id",
    "key_id",
    "kind_version",
    "integrated_time",
    "inclusion_promise",
    "signed_entry_timestamp",
    "inclusion_proof",
    "root_hash",
    "tree_size",
    "canonicalized_body",
    "payload_type",
];

/// `key`, shown, if it has an underscore (no JSON name of a bundle has
/// one), with its JSON name (`rfc3161_timestamps`, `rfc3161Timestamps`)
/// where it is a protobuf field name; another is a member no version
/// defines, which protojson refuses and sigstore-types ignores.
fn proto_named(key: &str) -> Option<(String, Option<String>)> {
    if !key.contains('_') {
        return None;
    }
    let shown = crate::text::capped(&crate::text::line(key), 60);
    if !PROTOBUF_FIELDS.contains(&key) {
        return Some((format!("`{shown}`"), None));
    }
    let mut json = String::with_capacity(shown.len());
    let mut upper = false;
    for c in shown.chars() {
        match c {
            '_' => upper = true,
            c if upper => {
                json.extend(c.to_uppercase());
                upper = false;
            }
            c => json.push(c),
        }
    }
    Some((format!("`{shown}`"), Some(json)))
}

/// What [`ProtoNames`] found at `path`: a protobuf field name, or a member
/// no version defines.
fn proto_unread(path: String, json: Option<String>) -> Unread {
    match json {
        Some(json) => Unread::ProtobufName(path, json),
        None => Unread::Unknown(path),
    }
}

/// protobuf-specs' `HashAlgorithm` names a message digest may be under.
const DIGEST_ALGORITHMS: &[&str] = &["SHA2_256", "SHA2_384", "SHA2_512", "SHA3_256", "SHA3_384"];

/// Why a `messageSignature` (as a JSON value) is read otherwise here than
/// by protojson: its digest's algorithm not spelled as protobuf-specs
/// names it (sigstore-types reads `sha-256` and `sha256` too), or given
/// under both its names.
fn message_signature_unread(v: &Value) -> Option<Unread> {
    if let Some((key, name)) = proto_named_in("messageSignature", v) {
        return Some(proto_unread(format!("{key} in `messageSignature`"), name));
    }
    let algorithm = v.get("messageDigest")?.get("algorithm")?;
    match algorithm.as_str() {
        Some(name) if DIGEST_ALGORITHMS.contains(&name) => None,
        Some(name) => Some(Unread::Algorithm(crate::text::capped(
            &crate::text::line(name),
            60,
        ))),
        None => Some(Unread::Algorithm(crate::text::capped(
            &algorithm.to_string(),
            60,
        ))),
    }
}

/// Why the bundle's own object or its `verificationMaterial` reads one way
/// here and another elsewhere, as one capped line: a key given twice, or
/// two members of one oneof (the content: `messageSignature`,
/// `dsseEnvelope`; the key material: `certificate`,
/// `x509CertificateChain`, `publicKey`). sigstore-types reads the members
/// of those two objects through serde's `flatten`, which takes the first
/// of two equal keys, and the first member of a oneof, where serde_json's
/// `Value` and most readers take the last and protojson (sigstore-go,
/// cosign) refuses either: a bundle whose second `dsseEnvelope` differs
/// would verify here as the first and be stored in GitHub's attestations,
/// or checked by another verifier, as the second. Every other object of a
/// bundle is read into serde's derived structs, which refuse a field given
/// twice. The same pass sees whether the bundle names its `mediaType`.
fn read_two_ways(bytes: &[u8]) -> Option<Unread> {
    use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
    use std::collections::HashSet;

    const CONTENT: &[&str] = &["messageSignature", "dsseEnvelope"];
    const MATERIAL: &[&str] = &["certificate", "x509CertificateChain", "publicKey"];

    /// One object's members: `known` (each by its two names, see
    /// [`BUNDLE_MEMBERS`]), of which `oneof` may hold one; `nested`: the
    /// member whose own object is checked too, with its members.
    struct Members {
        known: Known,
        oneof: &'static [&'static str],
        nested: Option<(&'static str, Known, &'static [&'static str])>,
    }
    type Known = &'static [(&'static str, &'static str)];
    impl<'de> DeserializeSeed<'de> for Members {
        type Value = Option<Unread>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
    }
    impl<'de> Visitor<'de> for Members {
        type Value = Option<Unread>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut seen: HashSet<String> = HashSet::new();
            let mut member: Option<(&str, String)> = None;
            let mut found = None;
            while let Some(key) = map.next_key::<String>()? {
                let Some(name) = self
                    .known
                    .iter()
                    .find(|(json, proto)| key == *json || key == *proto)
                    .map(|(json, _)| *json)
                else {
                    map.next_value::<IgnoredAny>()?;
                    found = found.or_else(|| {
                        Some(Unread::Unknown(format!(
                            "`{}`",
                            crate::text::capped(&crate::text::line(&key), 60)
                        )))
                    });
                    continue;
                };
                // Read by every other reader as `name`, and by
                // sigstore-types not at all. Regression: counted as
                // `name`, so `media_type` alone passed for a `mediaType`
                // sigstore-types never saw (and it read the bundle as v0.1).
                if key != name {
                    map.next_value::<IgnoredAny>()?;
                    found = found.or_else(|| {
                        Some(Unread::ProtobufName(
                            format!("`{}`", crate::text::line(&key)),
                            name.to_owned(),
                        ))
                    });
                    continue;
                }
                match self.nested {
                    Some((nested, known, oneof)) if name == nested => {
                        let inner = map.next_value_seed(Members {
                            known,
                            oneof,
                            nested: None,
                        })?;
                        found = found.or(inner.map(|u| match u {
                            Unread::TwoWays(why) => Unread::TwoWays(format!("in `{key}`, {why}")),
                            Unread::Unknown(member) => {
                                Unread::Unknown(format!("{member} in `{key}`"))
                            }
                            Unread::ProtobufName(member, name) => {
                                Unread::ProtobufName(format!("{member} in `{key}`"), name)
                            }
                            other => other,
                        }));
                    }
                    _ if name == "messageSignature" => {
                        let v = map.next_value::<Value>()?;
                        found = found.or_else(|| message_signature_unread(&v));
                    }
                    _ => {
                        if let Some((inner, name)) =
                            map.next_value_seed(ProtoNames(members_of(name)))?
                        {
                            found =
                                found.or(Some(proto_unread(format!("{inner} in `{key}`"), name)));
                        }
                    }
                }
                if found.is_some() {
                    continue;
                }
                let shown = format!("`{key}`");
                if self.oneof.contains(&name) {
                    if let Some((_, first)) = member.as_ref().filter(|(m, _)| *m != name) {
                        found = Some(Unread::TwoWays(format!(
                            "{first} and {shown} are both given"
                        )));
                    }
                    member = Some((name, shown.clone()));
                }
                if !seen.insert(name.to_owned()) {
                    found = Some(Unread::TwoWays(format!("{shown} is given twice")));
                }
            }
            // The bundle's own object (the one with a nested member).
            if found.is_none() && self.nested.is_some() && !seen.contains("mediaType") {
                return Ok(Some(Unread::NoMediaType));
            }
            Ok(found)
        }
    }
    let mut reader = serde_json::Deserializer::from_slice(bytes);
    let unread = Members {
        known: BUNDLE_MEMBERS,
        oneof: CONTENT,
        nested: Some(("verificationMaterial", MATERIAL_MEMBERS, MATERIAL)),
    }
    .deserialize(&mut reader);
    // sigstore-types read it, skipping what it does not know without
    // looking; a value this stricter pass cannot read (a number out of
    // range, an unpaired surrogate, nesting past 128) would otherwise turn
    // every check here off. Regression: it did.
    let unread = match unread {
        Ok(unread) => unread?,
        Err(e) => {
            return Some(Unread::Unreadable(crate::text::capped(
                &crate::text::line(e.to_string()),
                200,
            )))
        }
    };
    Some(match unread {
        Unread::TwoWays(why) => Unread::TwoWays(crate::text::capped(&crate::text::line(&why), 200)),
        other => other,
    })
}

/// Read a bundle file (a regular file only: a FIFO would block),
/// refusing anything larger than [`MAX_BUNDLE_BYTES`].
pub(crate) fn read_capped(path: &Path) -> Result<Vec<u8>, BundleIoError> {
    let err = |source| BundleIoError::Read {
        path: path.to_owned(),
        source,
    };
    let file = files::open_regular(path, None).map_err(|e| match e {
        FileError::Read { source, .. } => err(source),
        e => BundleIoError::NotRead(e),
    })?;
    files::read_to_end_capped(file, MAX_BUNDLE_BYTES)
        .map_err(err)?
        .ok_or_else(|| BundleIoError::TooLarge(path.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bundle that cannot be read names one fix for why; an error that
    /// wraps it with a fix of its own takes it without. Regression: a
    /// provenance not replaced said two fixes.
    #[test]
    fn a_read_error_names_one_fix() {
        let e = BundleIoError::Read {
            path: PathBuf::from("a.sigstore.json"),
            source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        };
        assert_eq!(e.to_string().matches("fix:").count(), 1, "{e}");
        assert!(e.to_string().contains("check its permissions"), "{e}");
        assert!(!e.unfixed().contains("fix:") && e.unfixed().contains("a.sigstore.json"));
    }

    /// A real bundle (cosign's), as a value and as compact JSON.
    fn cosign_bundle() -> (Value, String) {
        let v: Value = serde_json::from_str(include_str!(
            "../tests/data/cosign-v3-blob.txt.sigstore.json"
        ))
        .unwrap();
        let json = v.to_string();
        (v, json)
    }

    /// A real bundle (cosign's), as given and read two ways: a key of its
    /// own object or of its `verificationMaterial` given twice, or two
    /// members of one of their oneofs. Refused, saying which. Regression:
    /// sigstore-types read the first `messageSignature` (or the first of a
    /// `messageSignature` and a `dsseEnvelope`) and the attestations API
    /// was sent the last.
    #[test]
    fn a_bundle_read_two_ways_is_refused() {
        let (v, good) = cosign_bundle();
        assert!(parse(good.as_bytes()).is_ok());
        let appended = |member: &str| format!("{},{member}}}", &good[..good.len() - 1]);
        let signature = format!("\"messageSignature\":{}", v["messageSignature"]);
        let envelope = r#""dsseEnvelope":{"payload":"","payloadType":"x","signatures":[]}"#;
        let material = "\"verificationMaterial\":{";
        let at = good.find(material).unwrap() + material.len();
        let in_material = |member: &str| format!("{}{member},{}", &good[..at], &good[at..]);
        for (bytes, why) in [
            (appended(&signature), "`messageSignature` is given twice"),
            (
                appended(envelope),
                "`messageSignature` and `dsseEnvelope` are both given",
            ),
            (
                in_material(r#""certificate":{"rawBytes":"AAAA"}"#),
                "in `verificationMaterial`, `certificate` is given twice",
            ),
            (
                in_material(r#""publicKey":{"hint":"x"}"#),
                "in `verificationMaterial`, `publicKey` and `certificate` are both given",
            ),
        ] {
            match parse(bytes.as_bytes()) {
                Err(ParseError::ReadTwoWays(w)) => assert_eq!(w, why),
                other => panic!("{why}: {other:?}"),
            }
        }
        // A field the derived structs read is refused by them already.
        let media = r#""mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json""#;
        assert!(matches!(
            parse(appended(media).as_bytes()),
            Err(ParseError::Json(_))
        ));
        let e = parse(appended(&signature).as_bytes())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`messageSignature` is given twice, and JSON readers differ"),
            "{e}"
        );
    }

    /// What protojson (sigstore-go, cosign) and sigstore-python read
    /// otherwise, or refuse, is refused: a member under its protobuf name
    /// beside its JSON name (one member to them, two here, the second
    /// ignored), a member no version defines, a digest algorithm not named
    /// as protobuf-specs names it, a v0.2 bundle with v0.3's lone
    /// certificate. Regression: each verified here.
    #[test]
    fn what_strict_readers_refuse_is_refused() {
        let (v, good) = cosign_bundle();
        let appended = |member: &str| format!("{},{member}}}", &good[..good.len() - 1]);
        let envelope = r#""dsse_envelope":{"payload":"","payloadType":"x","signatures":[]}"#;
        let e = parse(appended(envelope).as_bytes()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "it gives `dsse_envelope` under its protobuf name, which this reader does not read and sigstore-python and cosign do, so what verified here is not what they would read; fix: write it under its JSON name `dsseEnvelope`"
        );
        let material = "\"verificationMaterial\":{";
        let at = good.find(material).unwrap() + material.len();
        let chain = r#""x509_certificate_chain":{"certificates":[]},"#;
        match parse(format!("{}{chain}{}", &good[..at], &good[at..]).as_bytes()) {
            Err(ParseError::ProtobufName(member, name)) => {
                assert_eq!(member, "`x509_certificate_chain` in `verificationMaterial`");
                assert_eq!(name, "x509CertificateChain");
            }
            other => panic!("{other:?}"),
        }
        // Alone, under its protobuf name, a member is one sigstore-types
        // does not see: a `media_type` for no `mediaType` (read as v0.1),
        // a `timestamp_verification_data` whose timestamps go unchecked.
        // Regression: counted as the member, so such bundles verified.
        for (json, proto) in [
            ("mediaType", "media_type"),
            ("timestampVerificationData", "timestamp_verification_data"),
        ] {
            let renamed = good.replacen(&format!("\"{json}\""), &format!("\"{proto}\""), 1);
            assert_ne!(renamed, good);
            match parse(renamed.as_bytes()) {
                Err(ParseError::ProtobufName(_, name)) => assert_eq!(name, json),
                other => panic!("{proto}: {other:?}"),
            }
        }
        // Deeper too: a timestamp or a SET under the other name went
        // unchecked here, and was read by cosign and sigstore-python.
        for (json, proto, at) in [
            (
                "rfc3161Timestamps",
                "rfc3161_timestamps",
                "`rfc3161_timestamps` in `timestampVerificationData`",
            ),
            (
                "inclusionPromise",
                "inclusion_promise",
                "`inclusion_promise` in `tlogEntries`",
            ),
        ] {
            let renamed = good.replacen(&format!("\"{json}\""), &format!("\"{proto}\""), 1);
            assert_ne!(renamed, good);
            match parse(renamed.as_bytes()) {
                Err(ParseError::ProtobufName(member, name)) => {
                    assert!(member.starts_with(at), "{member}");
                    assert_eq!(name, json);
                }
                other => panic!("{proto}: {other:?}"),
            }
        }
        // An underscore that is no protobuf field is a member no version
        // defines, not one to spell otherwise.
        let odd = good.replacen("\"kindVersion\"", "\"x_y\":1,\"kindVersion\"", 1);
        match parse(odd.as_bytes()) {
            Err(ParseError::UnknownMember(m)) => {
                assert!(m.starts_with("`x_y` in `tlogEntries`"), "{m}")
            }
            other => panic!("{other:?}"),
        }
        // A value the stricter pass cannot read (which sigstore-types skips
        // unread) does not turn its checks off. Regression: a second
        // `messageSignature` beside one passed.
        for value in [
            "1e400",
            "\"\\ud800\"",
            &format!("{}{}", "[".repeat(130), "]".repeat(130)),
        ] {
            let with = good.replacen(
                "\"kindVersion\"",
                &format!("\"x\":{value},\"kindVersion\""),
                1,
            );
            assert!(
                Bundle::from_json(&with).is_ok(),
                "sigstore-types reads {value:.20}"
            );
            let twice = format!(
                "{},\"messageSignature\":{}}}",
                &with[..with.len() - 1],
                v["messageSignature"]
            );
            assert!(parse(twice.as_bytes()).is_err(), "{value:.20}");
        }
        let mut b = v.clone();
        let digest = b["messageSignature"]
            .as_object_mut()
            .unwrap()
            .remove("messageDigest")
            .unwrap();
        b["messageSignature"]["message_digest"] = digest;
        assert!(matches!(
            parse(b.to_string().as_bytes()),
            Err(ParseError::ProtobufName(_, name)) if name == "messageDigest"
        ));
        let e = parse(appended(r#""extra":1"#).as_bytes()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "it has a member `extra` that no bundle version defines (sigstore-python and cosign refuse it; this would ignore it)"
        );
        let e = parse(format!("{}\"note\":1,{}", &good[..at], &good[at..]).as_bytes()).unwrap_err();
        assert!(
            matches!(&e, ParseError::UnknownMember(m) if m == "`note` in `verificationMaterial`"),
            "{e:?}"
        );
        // Below them too, at every depth, with or without an underscore.
        // Regression: `"foo"` in a log entry (or a misspelt timestamp list)
        // verified, where sigstore-python and protojson refuse it.
        for (added, at) in [
            ("\"kindVersion\"", "`xY` in `tlogEntries`"),
            ("\"kind\"", "`xY` in `kindVersion` in `tlogEntries`"),
            ("\"signature\"", "`xY` in `messageSignature`"),
            ("\"rawBytes\"", "`xY` in "),
        ] {
            let odd = good.replacen(added, &format!("\"xY\":1,{added}"), 1);
            assert_ne!(odd, good, "{added}");
            match parse(odd.as_bytes()) {
                Err(ParseError::UnknownMember(m)) => assert!(m.starts_with(at), "{added}: {m}"),
                other => panic!("{added}: {other:?}"),
            }
        }
        assert!(good.contains("\"rfc3161Timestamps\""));
        {
            let misspelt = good.replacen("\"rfc3161Timestamps\"", "\"rfc3161timestamps\"", 1);
            assert!(
                matches!(parse(misspelt.as_bytes()), Err(ParseError::UnknownMember(m)) if m.starts_with("`rfc3161timestamps`")),
                "a misspelt member"
            );
        }
        for spelled in ["sha-256", "sha256", "Sha2_256"] {
            let mut b = v.clone();
            b["messageSignature"]["messageDigest"]["algorithm"] = spelled.into();
            assert!(
                Bundle::from_json(&b.to_string()).is_ok(),
                "sigstore-types reads {spelled}"
            );
            let e = parse(b.to_string().as_bytes()).unwrap_err();
            assert!(
                matches!(&e, ParseError::DigestAlgorithm(a) if a == spelled),
                "{e:?}"
            );
        }
        let mut older = v.clone();
        older["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.2".into();
        assert!(
            Bundle::from_json(&older.to_string()).is_ok(),
            "sigstore-types reads it"
        );
        let e = parse(older.to_string().as_bytes()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "it is a v0.2 bundle without the certificate chain that version holds its key material in (sigstore-python refuses it)"
        );
        // The real bundles of tests/data are read.
        for name in [
            "cosign-v3-blob.txt.sigstore.json",
            "npm-provenance-intoto.sigstore.json",
            "signed-package-2.1.0-hb0f4dca_0.conda.sigstore.json",
            "staging-rekor-v2.txt.sigstore.json",
        ] {
            let bytes =
                std::fs::read(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap();
            if let Err(e) = parse(&bytes) {
                panic!("{name}: {e}");
            }
        }
    }

    /// A bundle without a `mediaType` is refused, as sigstore-python and
    /// sigstore-go refuse it. Regression: sigstore-types read it as v0.1,
    /// and it verified.
    #[test]
    fn a_bundle_without_a_media_type_is_refused() {
        let (mut v, _) = cosign_bundle();
        v.as_object_mut().unwrap().remove("mediaType");
        assert!(
            Bundle::from_json(&v.to_string()).is_ok(),
            "sigstore-types reads it"
        );
        let e = parse(v.to_string().as_bytes()).unwrap_err();
        assert!(matches!(e, ParseError::NoMediaType), "{e:?}");
        assert!(e.to_string().contains("it has no `mediaType`"), "{e}");
    }

    /// Many distinct keys (a 4 MiB bundle may hold half a million) are
    /// checked in linear time. Regression: each was compared with every
    /// earlier one.
    #[test]
    fn many_distinct_keys_are_checked_in_linear_time() {
        let (_, good) = cosign_bundle();
        let mut big = String::from("{");
        for i in 0..200_000 {
            big += &format!("\"k{i}\":0,");
        }
        big += &good[1..];
        let started = std::time::Instant::now();
        let _ = parse(big.as_bytes());
        // Quadratic, this took minutes; linear, well under a second even
        // in a debug build. Not a timing test of speed, a bound on growth.
        assert!(started.elapsed() < std::time::Duration::from_secs(30));
    }

    #[test]
    fn naming() {
        assert_eq!(
            bundle_path(Path::new("d/a.whl"), None),
            Path::new("d/a.whl.sigstore.json")
        );
        assert_eq!(
            bundle_path(Path::new("a.whl"), None),
            Path::new("a.whl.sigstore.json")
        );
        assert_eq!(
            bundle_path(Path::new("d/a.whl"), Some(Path::new("out"))),
            Path::new("out/a.whl.sigstore.json")
        );
        assert!(is_bundle(Path::new("x/a.whl.sigstore.json")));
        assert!(!is_bundle(Path::new("x/a.json")));
    }

    #[test]
    fn normalize_adds_what_strict_readers_require() {
        let mut v = serde_json::json!({"verificationMaterial": {"tlogEntries": [
            {"integratedTime": 5, "inclusionProof": {"treeSize": 1, "rootHash": "x"}}
        ]}});
        normalize(&mut v);
        let e = &v["verificationMaterial"]["tlogEntries"][0];
        assert_eq!(e["logIndex"], "0");
        assert_eq!(e["integratedTime"], "5");
        assert_eq!(e["inclusionProof"]["logIndex"], "0");
        assert_eq!(e["inclusionProof"]["treeSize"], "1");
        assert_eq!(e["inclusionProof"]["hashes"], serde_json::json!([]));
    }

    #[test]
    fn atomic_write_refuses_to_clobber_without_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.sigstore.json");
        write_atomic(&p, b"one", false).unwrap();
        let e = write_atomic(&p, b"two", false).unwrap_err();
        assert!(matches!(e, BundleIoError::Exists(_)) && e.to_string().contains("--overwrite"));
        assert_eq!(std::fs::read(&p).unwrap(), b"one");
        write_atomic(&p, b"three", true).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"three");
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    /// Through a link that stays where it was planned, the temporary file
    /// and the bundle land in the real directory; the link is left alone.
    #[cfg(unix)]
    #[test]
    fn a_write_through_a_directory_link_lands_in_the_real_directory() {
        let root = tempfile::tempdir().unwrap();
        let real = root.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::os::unix::fs::symlink(&real, root.path().join("dist")).unwrap();
        let bundle = root.path().join("dist/a.whl.sigstore.json");
        write_atomic(&bundle, b"{}", false).unwrap();
        assert_eq!(
            std::fs::read(real.join("a.whl.sigstore.json")).unwrap(),
            b"{}"
        );
        assert!(root
            .path()
            .join("dist")
            .symlink_metadata()
            .unwrap()
            .is_symlink());
        assert_eq!(std::fs::read_dir(&real).unwrap().count(), 1);
    }

    #[test]
    fn capped_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.sigstore.json");
        std::fs::write(&p, vec![b' '; MAX_BUNDLE_BYTES as usize + 1]).unwrap();
        assert!(matches!(read_capped(&p), Err(BundleIoError::TooLarge(_))));
        std::fs::write(&p, b"{}").unwrap();
        assert_eq!(read_capped(&p).unwrap(), b"{}");
    }
}
