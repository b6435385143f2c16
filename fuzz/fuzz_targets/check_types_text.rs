#![no_main]
//! See `snomed_vcr::fuzzing::harness::check_types_text_agrees`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| snomed_vcr::fuzzing::harness::check_types_text_agrees(data));
