//! `harness`: a thin binary over the library. Parses flags, runs, prints the error chain and
//! maps it to the exit code (2 bad input, 1 internal failure).

use clap::Parser;

fn main() {
    // Before any thread starts: candle's kernels stay on the thread of their run.
    harness::sweep::runner::single_threaded_kernels();
    let cli = harness::cli::Cli::parse();
    if let Err(err) = harness::cli::run(cli) {
        eprintln!("error: {err:#}");
        std::process::exit(harness::error::exit_code(&err));
    }
}
