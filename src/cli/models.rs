//! `cuecard models list|install|import-ct2`, with a progress bar.

use clap::{Subcommand, ValueEnum};
use cuecard_engine::models::{InstallProgress, ModelManager, Quantization};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum ModelsCommand {
    /// The models cuecard knows, and which are installed.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Download (or build offline) and verify a model; default: the catalog's default.
    Install { name: Option<String> },
    /// Convert a CTranslate2 Whisper model folder (model.bin, tokenizer.json, ...) to ggml.
    ImportCt2 {
        dir: PathBuf,
        /// Name to install it under.
        #[arg(long, default_value = "custom")]
        name: String,
        #[arg(long, value_enum, default_value = "q8-0")]
        quant: Quant,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Quant {
    F16,
    #[value(name = "q8-0", alias = "q8_0")]
    Q8_0,
}

fn manager() -> ModelManager {
    ModelManager::new(ModelManager::default_dir())
}

/// The model file to load: `--model` (name or path) or the catalog default.
pub fn resolve(model: Option<&str>) -> anyhow::Result<PathBuf> {
    let name = model.map_or_else(|| ModelManager::catalog().default_model().name.clone(), str::to_owned);
    Ok(manager().resolve(&name)?)
}

/// Progress on stderr: a bar while downloading, a line per step otherwise.
struct Reporter {
    bar: Option<ProgressBar>,
}

impl Reporter {
    fn report(&mut self, p: InstallProgress) {
        match p {
            InstallProgress::Trying { source } => eprintln!("trying {source}"),
            InstallProgress::SourceFailed { source, reason } => {
                self.finish();
                eprintln!("  unavailable: {source}: {reason}");
            }
            InstallProgress::Downloading { done, total } => {
                let bar = self.bar.get_or_insert_with(|| {
                    let bar = ProgressBar::new(total.unwrap_or(0));
                    bar.set_style(
                        ProgressStyle::with_template("  {bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
                            .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    bar
                });
                if let Some(t) = total {
                    bar.set_length(t);
                }
                bar.set_position(done);
            }
            InstallProgress::Verifying => {
                self.finish();
                eprintln!("  verifying checksum");
            }
            InstallProgress::Converting { step } => {
                self.finish();
                eprintln!("  {step}");
            }
            InstallProgress::Done { path } => {
                self.finish();
                eprintln!("installed {}", path.display());
            }
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

pub fn run(cmd: ModelsCommand) -> anyhow::Result<ExitCode> {
    let m = manager();
    match cmd {
        ModelsCommand::List { json } => {
            let list = m.list()?;
            if json {
                println!("{}", serde_json::to_string(&list)?);
            } else {
                println!("models in {}", m.dir().display());
                for s in list {
                    let mark = if s.default { "*" } else { " " };
                    let state = s
                        .installed
                        .as_ref()
                        .map_or_else(|| "not installed".to_owned(), |p| format!("installed: {}", p.display()));
                    println!("{mark} {:<10} {:>4} MB  {}\n    {state}", s.name, s.size / 1_000_000, s.description);
                }
            }
        }
        ModelsCommand::Install { name } => {
            let name = name.unwrap_or_else(|| ModelManager::catalog().default_model().name.clone());
            let mut r = Reporter { bar: None };
            let path = m.install(&name, &mut |p| r.report(p))?;
            println!("{}", path.display());
        }
        ModelsCommand::ImportCt2 { dir, name, quant } => {
            let q = match quant {
                Quant::F16 => Quantization::F16,
                Quant::Q8_0 => Quantization::Q8_0,
            };
            let mut r = Reporter { bar: None };
            let path = m.import_ct2(&dir, &name, q, &mut |p| r.report(p))?;
            println!("{}", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
