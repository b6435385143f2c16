#![no_main]
//! See `snomed_vcr::fuzzing::harness::json_codec`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| snomed_vcr::fuzzing::harness::json_codec(data));
