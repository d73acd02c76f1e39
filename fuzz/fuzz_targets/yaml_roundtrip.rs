//! `cargo fuzz run --features libfuzzer yaml_roundtrip`: see [`fuzz::yaml_roundtrip`] for what is checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::yaml_roundtrip(data));
