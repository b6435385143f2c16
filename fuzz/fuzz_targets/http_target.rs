#![no_main]
//! See `snomed_vcr::fuzzing::harness::http_target`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| snomed_vcr::fuzzing::harness::http_target(data));
