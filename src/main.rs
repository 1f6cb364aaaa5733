//! The `iop` executable. All behaviour lives in `iop-cli`; this file only hands it
//! the process arguments.

fn main() -> std::process::ExitCode {
    iop_cli::main()
}
