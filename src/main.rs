//! The `tocsin` binary; everything lives in the library.

fn main() -> std::process::ExitCode {
    tocsin::cli::main()
}
