//! Workspace tasks. `cargo xtask bench [--quick] [--check]` runs the benchmark suite described in
//! `docs/benchmarks.md` and writes `target/bench/summary.json`.

mod bare;
mod bench;
mod callgrind;
mod canned_server;
mod emulator;
mod mcp;
mod ours;
mod overhead;
mod procfs;
mod python_clients;
mod report;
mod scale;
mod stats;
mod stream;
mod token;
mod tool_path;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "xtask", about = "Workspace tasks (run with `cargo xtask ...`)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the benchmark suite, print a table and write target/bench/summary.json.
    Bench(bench::BenchArgs),
    /// (internal) The client side of the streaming benchmark, run in a child process so that its
    /// peak RSS is the client's alone. Prints one JSON line.
    #[command(hide = true)]
    BenchStreamClient(stream::ClientArgs),
    /// (internal) One client alone against the canned server, for a profiler:
    /// `perf record -g -- target/release/xtask bench-profile --stack full`.
    #[command(hide = true)]
    BenchProfile(overhead::ProfileArgs),
    /// (internal) Serve a local pool in this process until stdin closes; prints the endpoint.
    #[command(hide = true)]
    BenchEmulatorServe(emulator::ServeArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Bench(args) => bench::run(args),
        Command::BenchStreamClient(args) => stream::client_main(args),
        Command::BenchProfile(args) => overhead::profile_main(args),
        Command::BenchEmulatorServe(args) => emulator::serve_main(args),
    }
}
