//! `cargo fuzz run inputs`: see [`releasekit_sign_fuzz::inputs`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| releasekit_sign_fuzz::inputs(data));
