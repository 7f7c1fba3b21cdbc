//! `heatlake sql`: a query, a file of queries, or an interactive shell.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use datafusion::sql::parser::DFParser;
use heatlake_query::output::{OutputFormat, write_frame};
use heatlake_query::{EventsSession, QueryOptions};
use heatlake_table::TableLocation;

/// Arguments of `heatlake sql`.
#[derive(Debug, Args)]
pub struct SqlArgs {
    /// The SQL to run (one or more statements separated by `;`). Without it (and without
    /// --file), an interactive shell starts.
    #[arg(value_name = "QUERY")]
    query: Option<String>,
    /// Read the SQL from this file instead.
    #[arg(long, short = 'f', value_name = "FILE", conflicts_with = "query")]
    file: Option<PathBuf>,
    /// The table: a path, file:// or s3:// URL. Default: $HEATLAKE_TABLE, else
    /// DATA_DIR/events (DATA_DIR: $HEATLAKE_HOME, else ./heatlake-data).
    #[arg(long, value_name = "URL")]
    table: Option<String>,
    /// Read this version of the table instead of the latest.
    #[arg(long, value_name = "N")]
    version: Option<u64>,
    /// Output format: table, csv, json (one object per line) or parquet (needs --output).
    #[arg(long, default_value = "table", value_parser = clap::value_parser!(OutputFormatArg))]
    format: OutputFormatArg,
    /// Write the result to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
}

/// Clap wrapper around [`OutputFormat`].
#[derive(Debug, Clone, Copy)]
pub struct OutputFormatArg(OutputFormat);

impl OutputFormatArg {
    /// The format.
    pub fn format(self) -> OutputFormat {
        self.0
    }
}

impl std::str::FromStr for OutputFormatArg {
    type Err = heatlake_query::output::UnknownOutputFormat;
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        name.parse().map(OutputFormatArg)
    }
}

/// Runs the query, the file or the shell.
pub async fn run(args: SqlArgs) -> Result<()> {
    let format = args.format.0;
    if format == OutputFormat::Parquet && args.output.is_none() {
        bail!("--format parquet needs --output FILE");
    }
    let location = TableLocation::resolve(args.table.as_deref())?;
    let session = EventsSession::open(&location, args.version, &QueryOptions::default())
        .await
        .with_context(|| format!("while opening {location}"))?;
    let text = match (&args.query, &args.file) {
        (Some(query), _) => query.clone(),
        (None, Some(path)) => std::fs::read_to_string(path)
            .with_context(|| format!("while reading {}", path.display()))?,
        (None, None) => return shell(&session).await,
    };
    let statements = split_statements(&text)?;
    if statements.is_empty() {
        bail!("no SQL statement given");
    }
    let mut destination: Box<dyn Write + Send> = match &args.output {
        Some(path) => Box::new(BufWriter::new(
            File::create(path).with_context(|| format!("while creating {}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(crate::stdout::stdout())),
    };
    if format == OutputFormat::Parquet && statements.len() > 1 {
        bail!("--format parquet writes one result: give one statement");
    }
    for statement in &statements {
        let frame = session.sql(statement).await?;
        write_frame(frame, format, &mut destination).await?;
    }
    destination.flush()?;
    Ok(())
}

/// Splits SQL text into statements with DataFusion's parser (so `;` inside strings is safe).
fn split_statements(text: &str) -> Result<Vec<String>> {
    let statements = DFParser::parse_sql(text).context("while parsing the SQL")?;
    Ok(statements
        .into_iter()
        .map(|statement| statement.to_string())
        .collect())
}

/// The interactive shell: statements end with `;`, history is kept in the data directory.
async fn shell(session: &EventsSession) -> Result<()> {
    use rustyline::error::ReadlineError;

    let mut editor = rustyline::DefaultEditor::new().context("while starting the shell")?;
    let history = heatlake_table::DataHome::from_env()
        .data_dir()
        .join("sql-history");
    let _ = editor.load_history(&history);
    eprintln!(
        "Heatlake SQL on {} (version {}). End statements with `;`. \\d lists columns, \\q quits.",
        session.location(),
        session.version()
    );
    let mut pending = String::new();
    loop {
        let prompt = if pending.is_empty() {
            "heatlake> "
        } else {
            "     ...> "
        };
        let line = match editor.readline(prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                pending.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(error) => return Err(error).context("while reading the shell input"),
        };
        let trimmed = line.trim();
        if pending.is_empty() {
            match trimmed {
                "" => continue,
                "\\q" | "quit" | "exit" => break,
                "\\d" => {
                    let _ = editor.add_history_entry(trimmed);
                    run_in_shell(session, "SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_name = 'events' ORDER BY ordinal_position").await;
                    continue;
                }
                _ => {}
            }
        }
        pending.push_str(&line);
        pending.push('\n');
        if trimmed.ends_with(';') {
            let text = std::mem::take(&mut pending);
            let _ = editor.add_history_entry(text.trim());
            match split_statements(&text) {
                Ok(statements) => {
                    for statement in statements {
                        run_in_shell(session, &statement).await;
                    }
                }
                Err(error) => eprintln!("error: {error:#}"),
            }
        }
    }
    if let Some(parent) = history.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    let _ = editor.save_history(&history);
    Ok(())
}

async fn run_in_shell(session: &EventsSession, statement: &str) {
    let started = Instant::now();
    let outcome = async {
        let frame = session.sql(statement).await?;
        write_frame(frame, OutputFormat::Table, crate::stdout::stdout()).await
    }
    .await;
    match outcome {
        Ok(rows) => eprintln!("{rows} rows in {:.3} s", started.elapsed().as_secs_f64()),
        Err(error) => eprintln!("error: {error:#}"),
    }
}
