//! The `hearth` binary: everything lives in the library; this only hands over to [`hearth::cli`].

fn main() -> std::process::ExitCode {
    hearth::cli::main()
}
