//! `cargo fuzz run --features libfuzzer uri`: see [`fuzz::uri`] for what is checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::uri(data));
