#![no_main]
//! See `snomed_vcr::fuzzing::harness::token_decoding`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| snomed_vcr::fuzzing::harness::token_decoding(data));
