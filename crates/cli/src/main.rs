//! The `nemo` binary: parse, run, map errors to exit codes (0 ok, 1 local, 2 usage, 3 API).

mod cli;
mod commands;
mod exit;
mod output;
mod session;

use clap::{CommandFactory, Parser};

use cli::{Cli, Command, ServicesCommand};

fn main() {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("Error: cannot start the async runtime: {error}");
            std::process::exit(exit::LOCAL);
        }
    };
    let outcome = runtime.block_on(run(&cli));
    if let Err(error) = outcome {
        let (code, lines) = exit::report(&error);
        for line in lines {
            eprintln!("{line}");
        }
        std::process::exit(code);
    }
}

async fn run(cli: &Cli) -> anyhow::Result<()> {
    if let Some(ca_cert) = &cli.ca_cert {
        // Every HTTP client of the process (API and identity provider) reads it from here.
        nmp_client::tls::set_process_ca_file(ca_cert.clone());
    }
    match &cli.command {
        Command::Auth(command) => commands::auth::run(cli, command).await,
        Command::Config(command) => commands::config::run(cli, command).await,
        Command::Workspaces(command) => commands::workspaces::run(cli, command).await,
        Command::Iam(command) => commands::iam::run(cli, command).await,
        Command::Quickstart(command) => commands::quickstart::run(command).await,
        Command::Services(ServicesCommand::Run(args)) => nmp_server::cli::run(args.clone()).await,
        Command::Services(ServicesCommand::Check(args)) => services_check(cli, args),
        Command::Services(ServicesCommand::MigrateStore(args)) => {
            nmp_server::migrate_store::run(args.clone()).await
        }
        Command::Completion { shell } => {
            clap_complete::generate(*shell, &mut Cli::command(), "nemo", &mut std::io::stdout());
            Ok(())
        }
    }
}

/// `nemo services check`: print the findings and exit with the documented code (this command
/// has its own codes: 0 passed, 1 findings, 2 invalid config).
fn services_check(cli: &Cli, args: &nmp_server::cli::ServicesCheckArgs) -> anyhow::Result<()> {
    use nmp_server::cli::check_exit;
    let report = match nmp_server::cli::run_check(args) {
        Ok(report) => report,
        Err(error) => {
            eprintln!("Error: {error:#}");
            std::process::exit(check_exit::INVALID);
        }
    };
    match cli.format {
        Some(cli::OutputFormat::Json) => println!("{}", serde_json::to_string_pretty(&report)?),
        Some(cli::OutputFormat::Yaml) => print!("{}", serde_yaml_ng::to_string(&report)?),
        _ => print!("{}", report.text()),
    }
    std::io::Write::flush(&mut std::io::stdout())?;
    std::process::exit(report.exit_code());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_tree_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn unsigned_options_need_unsigned_token() {
        let parsed = Cli::try_parse_from(["nemo", "auth", "login", "--email", "a@b"]);
        assert_eq!(parsed.unwrap_err().exit_code(), 2);
        let parsed = Cli::try_parse_from([
            "nemo",
            "auth",
            "login",
            "--unsigned-token",
            "--email",
            "a@b",
            "--username",
            "u",
            "--password",
            "p",
        ]);
        assert_eq!(parsed.unwrap_err().exit_code(), 2);
        assert!(Cli::try_parse_from(["nemo", "auth", "login", "--unsigned-token", "--email", "a@b"]).is_ok());
    }
}
