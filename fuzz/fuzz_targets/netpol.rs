//! `cargo fuzz run --features libfuzzer netpol`: see [`fuzz::netpol`] for what is checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::netpol(data));
