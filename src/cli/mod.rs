//! The command line: clap arguments -> library calls -> printed output and exit code.

mod args;

use std::io::Write;
use std::process::ExitCode as ProcessExit;

use clap::Parser;

use args::{Cli, Command, ExportDoseArgs, Format, InspectArgs, PhantomArgs};
use sbrt_verify::dicom::{self, read};
use sbrt_verify::report::{inspect, output};
use sbrt_verify::{Error, ExitCode, Result};

pub fn main() -> ProcessExit {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // --help and --version print and succeed; anything else is a usage error (2).
            let _ = e.print();
            return if e.use_stderr() {
                exit(ExitCode::Usage)
            } else {
                exit(ExitCode::Pass)
            };
        }
    };
    let result = match cli.command {
        Command::Inspect(a) => run_inspect(a),
        Command::Phantom(a) => run_phantom(a),
        Command::ExportDose(a) => run_export_dose(a),
    };
    match result {
        Ok(code) => exit(code),
        Err(e) => {
            eprintln!("sbrt-verify: error: {e}");
            exit(e.exit_code())
        }
    }
}

fn exit(code: ExitCode) -> ProcessExit {
    ProcessExit::from(code as u8)
}

fn print_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    // A closed pipe (e.g. `| head`) is not an error of ours.
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

fn run_inspect(a: InspectArgs) -> Result<ExitCode> {
    let found = dicom::discover(&a.paths)?;
    let report = inspect::build(&found, a.show_phi);
    let nothing = found.is_empty();
    if nothing && found.file_errors.is_empty() && a.format == Format::Table {
        return Err(Error::NothingFound {
            message: format!(
                "{}: no DICOM RT objects found ({} files: {} not DICOM, {} other DICOM objects)",
                a.paths
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                found.files,
                found.non_dicom,
                found.other_objects.values().sum::<usize>()
            ),
        });
    }
    match a.format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&report).expect("report serializes");
            s.push('\n');
            print_stdout(&s);
        }
        Format::Table => {
            if !nothing {
                print_stdout(&inspect::render_table(&report));
            }
        }
    }
    if nothing || a.format == Format::Json {
        for e in &report.errors {
            eprintln!("sbrt-verify: error: {e}");
        }
    }
    if nothing && found.file_errors.is_empty() {
        eprintln!("sbrt-verify: error: no DICOM RT objects found");
    }
    let problems = report.plan_sets.iter().any(|s| !s.problems.is_empty());
    Ok(if nothing || !found.file_errors.is_empty() || problems {
        ExitCode::CannotEvaluate
    } else {
        ExitCode::Pass
    })
}

fn run_phantom(a: PhantomArgs) -> Result<ExitCode> {
    let _ = a;
    Err(Error::usage("phantom: not built yet"))
}

fn run_export_dose(a: ExportDoseArgs) -> Result<ExitCode> {
    let file = read::open(&a.dose)?.ok_or_else(|| Error::NotDicom {
        path: a.dose.clone(),
        reason: "no DICOM preamble or data set".into(),
    })?;
    if dicom::ObjectKind::of(&file.attrs()) != dicom::ObjectKind::Dose {
        return Err(Error::invalid(&a.dose, "not an RT Dose object"));
    }
    let dose = dicom::DoseGrid::from_file(&file)?;
    let bytes = sbrt_verify::report::npy::encode_f32(&dose.values);
    output::write_atomic(&a.out, &bytes, std::slice::from_ref(&a.dose))?;
    Ok(ExitCode::Pass)
}
