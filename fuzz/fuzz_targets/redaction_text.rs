#![no_main]
//! See `snomed_vcr::fuzzing::harness::redaction_text`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| snomed_vcr::fuzzing::harness::redaction_text(data));
