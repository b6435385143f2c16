#![no_main]
//! See `snomed_vcr::fuzzing::harness::cassette_load`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| snomed_vcr::fuzzing::harness::cassette_load(data));
