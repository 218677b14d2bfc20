//! The `broadsheet` command: `serve` (default), `migrate`, `backup`,
//! `editor create`, `editor unlock`, `editor reset-password`, `openapi`.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use broadsheet::config::Config;
use broadsheet::domain::{Role, text};
use broadsheet::{auth, db, http, server, service, telemetry};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "broadsheet", version, about = "Headless content API for newsrooms")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Copy the SQLite database to PATH while the service runs (a
    /// consistent snapshot; PostgreSQL: use pg_dump).
    Backup {
        /// Where to write the copy; must not exist.
        path: std::path::PathBuf,
    },
    /// Manage editor accounts.
    Editor {
        #[command(subcommand)]
        command: EditorCommand,
    },
    /// Print the OpenAPI document to stdout.
    Openapi,
}

#[derive(Subcommand)]
enum EditorCommand {
    /// Create an editor account.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// admin, editor or author.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Read the password from the first line of stdin instead of
        /// generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Clear the sign-in backoff of an email address.
    Unlock {
        #[arg(long)]
        email: String,
    },
    /// Print a single-use password reset token for an editor (valid 24 h).
    ResetPassword {
        #[arg(long)]
        email: String,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("`{s}` is not one of admin, editor, author"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, Some(Command::Openapi)) {
        // No configuration or database needed to describe the API.
        let spec = http::api_spec().to_pretty_json().expect("the spec serialises");
        println!("{spec}");
        return ExitCode::SUCCESS;
    }
    let _ = dotenvy::dotenv();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("broadsheet: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format);
    let result = actix_web::rt::System::new().block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => server::serve(config).await,
            Command::Migrate => migrate(&config),
            Command::Backup { path } => backup(&config, &path),
            Command::Editor { command } => editor_command(&config, command).await,
            Command::Openapi => unreachable!("handled above"),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("broadsheet: {e}");
            ExitCode::FAILURE
        }
    }
}

fn migrate(config: &Config) -> Result<(), Box<dyn std::error::Error>> {
    let applied = db::migrate::run_pending(&config.database_url).map_err(|e| e.to_string())?;
    println!("applied {} migration(s)", applied.len());
    for version in applied {
        println!("  {version}");
    }
    Ok(())
}

/// `broadsheet backup PATH`: progress on stderr when it is a terminal,
/// nothing but errors otherwise (cron, pipes).
fn backup(config: &Config, path: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    use std::io::IsTerminal;
    use std::sync::atomic::{AtomicBool, Ordering};
    let (mut conn, total) = db::backup::prepare(&config.database_url, path).map_err(|e| e.to_string())?;
    let done = std::sync::Arc::new(AtomicBool::new(false));
    let mib = |bytes: u64| bytes as f64 / 1_048_576.0;
    let watcher = std::io::stderr().is_terminal().then(|| {
        let (done, path) = (done.clone(), path.to_path_buf());
        std::thread::spawn(move || {
            while !done.load(Ordering::Acquire) {
                let written = std::fs::metadata(&path).map_or(0, |m| m.len());
                eprint!("\rbackup: {:.1} of about {:.1} MiB", mib(written), mib(total));
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
        })
    });
    let result = db::backup::vacuum_into(&mut conn, path);
    done.store(true, Ordering::Release);
    if let Some(watcher) = watcher {
        let _ = watcher.join();
        let written = std::fs::metadata(path).map_or(0, |m| m.len());
        match &result {
            Ok(()) => eprintln!("\rbackup: {:.1} MiB written to {}", mib(written), path.display()),
            Err(_) => eprintln!(),
        }
    }
    result.map_err(|e| e.to_string().into())
}

async fn editor_command(config: &Config, command: EditorCommand) -> Result<(), Box<dyn std::error::Error>> {
    match command {
        EditorCommand::Create {
            email,
            name,
            role,
            password_stdin,
        } => create_editor(config, email, name, role, password_stdin).await,
        EditorCommand::Unlock { email } => {
            let db = connect_migrated(config)?;
            auth::credentials::unlock_email(&db, &email)
                .await
                .map_err(|e| e.problem().detail)?;
            println!("sign-in backoff cleared for {}", email.trim().to_lowercase());
            Ok(())
        }
        EditorCommand::ResetPassword { email } => {
            let db = connect_migrated(config)?;
            let reset = auth::credentials::issue_reset_for_email(&db, &email)
                .await
                .map_err(|e| e.problem().detail)?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "reset token: {}", reset.token)?;
            writeln!(out, "expires at: {}", reset.expires_at.and_utc().to_rfc3339())?;
            Ok(())
        }
    }
}

fn connect_migrated(config: &Config) -> Result<db::Db, Box<dyn std::error::Error>> {
    db::migrate::run_pending(&config.database_url).map_err(|e| e.to_string())?;
    Ok(server::connect(config)?)
}

async fn create_editor(
    config: &Config,
    email: String,
    name: String,
    role: Role,
    password_stdin: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut errors = vec![];
    let email = text::email("email", &email, &mut errors);
    let name = text::required("name", &name, 100, &mut errors);
    if let Some(e) = errors.first() {
        return Err(format!("--{}: {}", e.field, e.message).into());
    }
    let (password, generated) = if password_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        (line.trim_end_matches(['\r', '\n']).to_string(), false)
    } else {
        (auth::refresh::generate()[..20].to_string(), true)
    };
    broadsheet::domain::password::check_rules(&password).map_err(|e| format!("password {e}"))?;
    let db = connect_migrated(config)?;
    let row = service::editors::create(
        &db,
        service::editors::NewEditorInput {
            email,
            name,
            slug: None,
            bio: None,
            role,
            password: password.clone(),
        },
    )
    .await
    .map_err(|e| e.problem().detail)?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "created editor {} <{}> with role {}",
        row.id,
        row.email,
        row.role.as_str()
    )?;
    if generated {
        writeln!(out, "password: {password}")?;
    }
    Ok(())
}
