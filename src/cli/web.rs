//! `dxbackup web token [--force] [--file FILE]`: the dashboard's token.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{print_json, Ctx, Exit};

#[derive(Debug, Subcommand)]
pub enum WebCommand {
    /// Write a new random token to [web] token-file (mode 0600)
    #[command(
        after_help = "Examples:\n  dxbackup web token\n  dxbackup web token --force      # replace it: every session and API client must log in again\n\n\
The dashboard (served by `dxbackup daemon` when [web] is configured) opens only with this token: \
paste the file's content into its login form, or send it as `Authorization: Bearer TOKEN`. \
The token itself is never printed."
    )]
    Token(TokenArgs),
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Replace an existing token
    #[arg(long)]
    pub force: bool,
    /// Write here instead of [web] token-file
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
}

pub fn run(ctx: &Ctx, cmd: &WebCommand) -> anyhow::Result<Exit> {
    let WebCommand::Token(a) = cmd;
    let path = crate::web::write_token(ctx, a.file.as_deref(), a.force)?;
    if ctx.global.json {
        print_json(&serde_json::json!({ "token_file": path }))?;
    } else {
        println!(
            "wrote a new token to {} (mode 0600); log in to the dashboard with its content",
            path.display()
        );
        if ctx.config.web.is_none() {
            println!(
                "add to the config: [web] token-file = \"{}\", then restart the daemon",
                path.display()
            );
        }
    }
    Ok(Exit::Ok)
}
