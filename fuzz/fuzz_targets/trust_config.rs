//! `cargo fuzz run trust_config`: see [`releasekit_sign_fuzz::trust_config`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| releasekit_sign_fuzz::trust_config(data));
