//! `cargo fuzz run bundle`: see [`releasekit_sign_fuzz::bundle`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| releasekit_sign_fuzz::bundle(data));
