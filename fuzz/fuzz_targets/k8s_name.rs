//! `cargo fuzz run --features libfuzzer k8s_name`: see [`fuzz::k8s_name`] for what is checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::k8s_name(data));
