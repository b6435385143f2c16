#![no_main]
//! See `snomed_vcr::fuzzing::harness::sigv4_plain`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| snomed_vcr::fuzzing::harness::sigv4_plain(data));
