//! `nmp-server`: the platform server alone (the same as `nemo services run`), for deployments and
//! tests that want the server without the CLI.

use clap::Parser;

#[derive(Parser)]
#[command(name = "nmp-server", version, about = "Run the nmp platform server in the foreground.")]
struct Args {
    #[command(flatten)]
    run: nmp_server::cli::ServicesRunArgs,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match nmp_server::cli::run(args.run).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
