fn main() -> std::process::ExitCode {
    snomed_vcr::cli_main()
}
