//! `harness`: a thin binary over the library. Parses flags, runs, prints the error chain and
//! maps it to the exit code (2 bad input, 1 internal failure).

use clap::Parser;

fn main() {
    // Before any thread starts: candle's kernels stay on the thread of their run.
    harness::sweep::runner::single_threaded_kernels();
    let cli = harness::cli::Cli::parse();
    if let Err(err) = harness::cli::run(cli) {
        // A closed pipe (`harness sweep … --dry-run | head`) is a graceful end.
        let broken_pipe = err
            .chain()
            .any(|e| e.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe));
        if broken_pipe {
            std::process::exit(0);
        }
        eprintln!("error: {err:#}");
        std::process::exit(harness::error::exit_code(&err));
    }
}
