#![no_main]
//! See `snomed_vcr::fuzzing::harness::request_matching`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| snomed_vcr::fuzzing::harness::request_matching(data));
