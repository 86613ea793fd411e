use clap::Parser;
use stickyaudit::cli::{Cli, Command, EXIT_ERROR};

mod commands;

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Parse(args) => commands::parse(&args),
        Command::Scan(args) => commands::scan(&args),
        Command::Session(args) => commands::session(&args),
        Command::Generate(args) => stickyaudit::r#gen::run(&args).map(|()| 0),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            let text = format!("{e:#}");
            eprintln!("error: {}", stickyaudit::report::terminal_safe(&text));
            std::process::exit(EXIT_ERROR);
        }
    }
}
