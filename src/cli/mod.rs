//! The command line: clap arguments -> library calls -> printed output and exit code.

mod args;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode as ProcessExit;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

use args::{
    CheckArgs, Cli, Command, DvhArgs, DvhFormat, EndCapArg, ExportDoseArgs, Format, InspectArgs,
    InterpolationArg, ListenArgs, NodeCheckArgs, PhantomArgs, ProtocolArgs, ProtocolCommand,
    WatchArgs,
};
use sbrt_verify::check::{batch, CheckOptions};
use sbrt_verify::dicom::{self, read};
use sbrt_verify::dvh::{self as dvhmod, indices::default_metrics};
use sbrt_verify::raster::{Between, EndCap, SamplingOptions};
use sbrt_verify::report::{
    batch as batchreport, check as checkreport, dvh as dvhreport, folder, inspect,
    protocol as protocolreport, term,
};
use sbrt_verify::{output, Error, ExitCode, Result};

pub fn main() -> ProcessExit {
    // The thread pool's threads start now, while the arguments are parsed and the inputs
    // listed, rather than when the first files are read: started then, the second thread
    // often took one to three milliseconds to join in. (An error means it is running.)
    let _ = rayon::ThreadPoolBuilder::new().build_global();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // --help and --version print and succeed; anything else is a usage error (2),
            // one line like every other error.
            if !e.use_stderr() {
                let _ = e.print();
                return exit(ExitCode::Pass);
            }
            eprintln!("sbrt-verify: error: {}", clap_error_line(&e));
            return exit(ExitCode::Usage);
        }
    };
    let result = match cli.command {
        Command::Inspect(a) => run_inspect(a),
        Command::Check(a) => run_check(a),
        Command::Dvh(a) => run_dvh(a),
        Command::Phantom(a) => run_phantom(a),
        Command::ExportDose(a) => run_export_dose(a),
        Command::Listen(a) => run_listen(a),
        Command::Watch(a) => run_watch(a),
        Command::Protocol(c) => run_protocol(c),
    };
    match result {
        Ok(code) => exit(code),
        Err(e) => {
            eprintln!("sbrt-verify: error: {e}");
            exit(e.exit_code())
        }
    }
}

/// clap's error as one line: its first paragraph without `error: ` (the missing
/// arguments are on lines of their own), its tip, and where to read more.
fn clap_error_line(e: &clap::Error) -> String {
    let text = e.to_string();
    let first = text
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ");
    let first = first.strip_prefix("error: ").unwrap_or(&first);
    let tip = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("tip: "))
        .map(|t| format!("; {t}"))
        .unwrap_or_default();
    format!("{first}{tip} (see --help)")
}

fn exit(code: ExitCode) -> ProcessExit {
    ProcessExit::from(code as u8)
}

fn print_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    // A closed pipe (e.g. `| head`) is not an error of ours.
    let _ = out.write_all(term::terminal_safe(text).as_bytes());
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
                    .map(|p| sbrt_verify::error::shown(p))
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

/// A protocol by file path, or by built-in name.
fn load_protocol(spec: &str) -> Result<sbrt_verify::protocol::Protocol> {
    let path = std::path::Path::new(spec);
    if path.is_file() {
        return sbrt_verify::protocol::load(path);
    }
    sbrt_verify::protocol::builtin(spec).ok_or_else(|| {
        Error::usage(format!(
            "--protocol {spec}: no such file, and not a built-in protocol ({})",
            sbrt_verify::protocol::builtin_names().join(", ")
        ))
    })
}

fn interpolation(a: InterpolationArg) -> Between {
    match a {
        InterpolationArg::Profile => Between::Profile,
        InterpolationArg::Midpoint => Between::Midpoint,
    }
}

fn end_cap(a: EndCapArg) -> EndCap {
    match a {
        EndCapArg::Half => EndCap::Half,
        EndCapArg::None => EndCap::None,
    }
}

/// The `--map` options as (ROI name, protocol name) pairs.
fn parse_mappings(maps: &[String]) -> Result<Vec<(String, String)>> {
    maps.iter()
        .map(|m| sbrt_verify::protocol::parse_mapping(m))
        .collect()
}

/// The protocol and the check settings the options give.
fn check_options(
    a: &ProtocolArgs,
    accept_defects: &[String],
) -> Result<(sbrt_verify::protocol::Protocol, CheckOptions)> {
    let protocol = load_protocol(&a.protocol)?;
    let opts = CheckOptions {
        mappings: parse_mappings(&a.mappings)?,
        accept_defects: accept_defects.to_vec(),
        sampling: SamplingOptions {
            end_cap: end_cap(a.end_cap),
            between: interpolation(a.interpolation),
            ..Default::default()
        },
        site: a.site.clone(),
        tps: None,
        require_tps_agreement: false,
    };
    Ok((protocol, opts))
}

fn run_check(a: CheckArgs) -> Result<ExitCode> {
    let (protocol, mut opts) = check_options(&a.protocol, &a.accept_defects)?;
    if let Some(dir) = &a.report {
        if !a.report_in_input {
            output::check_out_dir(dir, &a.paths)?;
        }
    }
    let link = dicom::LinkOptions {
        accept_patient_mismatch: a.accept_patient_mismatch,
        ..Default::default()
    };
    let found = dicom::discover_with(&a.paths, link)?;
    for e in &found.file_errors {
        eprintln!("sbrt-verify: error: {e}");
    }
    opts.tps = a.tps.source();
    opts.require_tps_agreement = a.require_tps_agreement;
    if opts.require_tps_agreement && opts.tps.is_none() {
        return Err(Error::usage(
            "--require-tps-agreement needs the planning system's DVHs: --tps-dvh FILE or --embedded-tps-dvh",
        ));
    }
    let color = term::stdout_color();
    if a.batch {
        let code = run_batch(&a, &found, &protocol, &opts, color)?;
        // Unreadable files under the roots (printed above) may hide a plan set: never PASS.
        return Ok(if found.file_errors.is_empty() {
            code
        } else {
            ExitCode::CannotEvaluate
        });
    }
    let selection = dicom::Selection {
        plan_uid: a.select.plan.clone(),
        dose_path: a.select.dose.clone(),
    };
    let set = match found.select(&selection) {
        Ok(set) => set,
        // The unreadable files, already printed, are the reason.
        Err(_) if !found.file_errors.is_empty() => return Ok(ExitCode::CannotEvaluate),
        // Several plan sets and none chosen: checking them all is the other way.
        Err(Error::Usage { message }) if a.select.plan.is_none() && a.select.dose.is_none() => {
            return Err(Error::usage(format!(
                "{message}, or check them all with --batch"
            )))
        }
        Err(e) => return Err(e),
    };
    let mut outcome = sbrt_verify::check::check(set, &protocol, &opts)?;
    sbrt_verify::check::add_unreadable_files(&mut outcome, &found.file_errors);
    let report = checkreport::build(set, &protocol, &outcome, a.show_phi);
    if let Some(dir) = &a.report {
        let inputs = dicom::discover::list_files(&a.paths)?;
        folder::write_report_dir(dir, set, &outcome, &report, &inputs)?;
    }
    let text = match a.format {
        Format::Table => checkreport::render_table(&report, color, term::stdout_width()),
        Format::Json => pretty_json(&report),
    };
    print_stdout(&text);
    if let Some(hint) = folder_hint(&a.paths, set) {
        eprintln!("sbrt-verify: hint: {hint}");
    }
    Ok(outcome.verdict.exit_code())
}

/// When only files were given and the plan set lacks its RT Plan or Structure Set while
/// other files lie beside the dose: give the folder instead, in one line.
fn folder_hint(paths: &[PathBuf], set: &dicom::PlanSet) -> Option<String> {
    if set.plan.is_some() && set.structures.is_some() {
        return None;
    }
    if paths.iter().any(|p| p.is_dir()) {
        return None;
    }
    let dose = &set.dose.as_ref()?.path;
    let folder = match dose.parent() {
        Some(f) if !f.as_os_str().is_empty() => f.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let given: Vec<PathBuf> = paths
        .iter()
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .collect();
    let beside = std::fs::read_dir(&folder)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            std::fs::canonicalize(p)
                .ok()
                .is_none_or(|c| !given.contains(&c))
        })
        .count();
    let missing = match (set.plan.is_none(), set.structures.is_none()) {
        (true, true) => "RT Plan and Structure Set",
        (true, false) => "RT Plan",
        _ => "RT Structure Set",
    };
    (beside > 0).then(|| {
        format!(
            "the {missing} of {} may be among the {} beside it: give the folder {}",
            sbrt_verify::error::shown(dose),
            sbrt_verify::report::plural(beside, "other file"),
            sbrt_verify::error::shown(&folder)
        )
    })
}

/// `protocol list` and `protocol show`.
fn run_protocol(c: ProtocolCommand) -> Result<ExitCode> {
    match c {
        ProtocolCommand::List => {
            let mut o = String::new();
            for name in sbrt_verify::protocol::builtin_names() {
                let p = load_protocol(name)?;
                o.push_str(&format!(
                    "{}  v{}  {}\n",
                    p.name,
                    p.version,
                    sbrt_verify::report::plural(p.constraints.len(), "constraint")
                ));
            }
            print_stdout(&o);
        }
        ProtocolCommand::Show {
            protocol,
            site,
            format,
        } => {
            let report = protocolreport::build(&load_protocol(&protocol)?, site.as_deref())?;
            print_stdout(&match format {
                Format::Table => protocolreport::render_table(&report),
                Format::Json => pretty_json(&report),
            });
        }
    }
    Ok(ExitCode::Pass)
}

fn pretty_json<T: serde::Serialize>(value: &T) -> String {
    let mut s = serde_json::to_string_pretty(value).expect("report serializes");
    s.push('\n');
    s
}

/// `check --batch`: every plan set with a dose under the paths, checked in parallel.
fn run_batch(
    a: &CheckArgs,
    found: &dicom::Discovery,
    protocol: &sbrt_verify::protocol::Protocol,
    opts: &CheckOptions,
    color: bool,
) -> Result<ExitCode> {
    let sets = batch::plan_sets_with_dose(found);
    if sets.is_empty() {
        return Err(Error::NothingFound {
            message: format!(
                "{}: no plan set with an RT Dose found ({})",
                display_paths(&a.paths),
                sbrt_verify::report::plural(found.files, "file")
            ),
        });
    }
    let skipped = found.plan_sets.len() - sets.len();
    if skipped > 0 {
        eprintln!(
            "sbrt-verify: warning: {} without an RT Dose (lone plans or structure sets) not \
             checked",
            sbrt_verify::report::plural(skipped, "plan set")
        );
    }
    let progress = progress_bar(sets.len());
    let outcomes = batch::check_all(&sets, protocol, opts, &|| progress.inc(1));
    progress.finish_and_clear();
    let records: Vec<batchreport::BatchRecord> = sets
        .iter()
        .zip(&outcomes)
        .enumerate()
        .map(|(i, (set, o))| batchreport::record(i + 1, set, o, a.show_phi))
        .collect();
    let worst = batch::worst_verdict(outcomes.iter().map(|o| o.verdict));
    if let Some(dir) = &a.report {
        let batch = BatchResults {
            sets: &sets,
            outcomes: &outcomes,
            records: &records,
        };
        write_batch_report(dir, a, found, protocol, &batch)?;
    }
    let text = match a.format {
        Format::Json => batchreport::render_jsonl(&records),
        Format::Table => {
            let mut t = String::new();
            for r in &records {
                t.push_str(&batchreport::summary_line(r, color));
                t.push('\n');
            }
            t.push_str(&batchreport::total_line(&records, worst, color));
            t.push('\n');
            t
        }
    };
    print_stdout(&text);
    Ok(worst.exit_code())
}

/// A bar of `len` plan sets on a terminal's stderr; hidden otherwise.
fn progress_bar(len: usize) -> ProgressBar {
    if std::io::stderr().is_terminal() {
        let pb = ProgressBar::new(len as u64);
        pb.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} plan sets checked ({elapsed})")
                .expect("progress template is valid"),
        );
        pb
    } else {
        ProgressBar::hidden()
    }
}

/// The plan sets of a batch, their outcomes and their records, in the same order.
struct BatchResults<'a> {
    sets: &'a [&'a dicom::PlanSet],
    outcomes: &'a [sbrt_verify::check::CheckOutcome],
    records: &'a [batchreport::BatchRecord],
}

/// A batch's results -> the `--report` folder `dir`: batch.jsonl, batch.csv and one
/// sub-folder of report files per plan set, built beside it and renamed into place.
fn write_batch_report(
    dir: &std::path::Path,
    a: &CheckArgs,
    found: &dicom::Discovery,
    protocol: &sbrt_verify::protocol::Protocol,
    batch: &BatchResults<'_>,
) -> Result<()> {
    let inputs = dicom::discover::list_files(&a.paths)?;
    let staged = output::StagedDir::new(dir)?;
    let jsonl = batchreport::render_jsonl(batch.records);
    output::write_atomic(
        &staged.path().join("batch.jsonl"),
        jsonl.as_bytes(),
        &inputs,
    )?;
    let csv = batchreport::render_csv(batch.records);
    output::write_atomic(&staged.path().join("batch.csv"), csv.as_bytes(), &inputs)?;
    for ((set, outcome), r) in batch.sets.iter().zip(batch.outcomes).zip(batch.records) {
        let report = checkreport::build(set, protocol, outcome, a.show_phi);
        let label = batch::folder_label(set, &found.roots);
        let sub = staged
            .path()
            .join(batchreport::folder_name(r.index, &label));
        folder::write_report_files(&sub, set, outcome, &report, &inputs)?;
    }
    staged.commit()
}

fn display_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| sbrt_verify::error::shown(p))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `dvh`: the arguments -> the selected plan set's dose and ROIs -> their DVHs (and their
/// agreement with the planning system's) -> the report on stdout, and the plot.
fn run_dvh(a: DvhArgs) -> Result<ExitCode> {
    if !(a.bin_width > 0.0 && a.bin_width <= 10.0) {
        return Err(Error::usage(format!(
            "--bin-width {}: expected a width in (0, 10] Gy",
            a.bin_width
        )));
    }
    let metrics = dvh_metrics(&a.metrics)?;
    let found = dvh_discovery(&a)?;
    let set = dvh_plan_set(&found, &a)?;
    let dose = dose_in_gy(set)?;
    let ss = set
        .structures
        .as_ref()
        .ok_or_else(|| Error::invalid(&dose.path, "no RT Structure Set is linked to this dose"))?;
    let rois = dvh_rois(ss, &a.structures)?;
    let end_cap = end_cap(a.end_cap);
    if !(1..=50_000_000).contains(&a.min_samples) {
        return Err(Error::usage(format!(
            "--min-samples {}: expected 1 to 50000000",
            a.min_samples
        )));
    }
    let opts = SamplingOptions {
        end_cap,
        between: interpolation(a.interpolation),
        min_samples: a.min_samples,
        ..Default::default()
    };
    let tps = match a.tps.source() {
        Some(source) => Some(dvhmod::tps::load(&source, &dose.path)?),
        None => None,
    };
    let (reported, max_dose) = dvh_reports(&a, dose, &rois, &opts, &metrics, tps.as_ref());
    let (structures, agreements): (Vec<_>, Vec<_>) = reported.into_iter().unzip();
    let mut report = dvhreport::assemble(
        dose,
        f64::from(max_dose),
        structures,
        end_cap,
        opts.between,
        a.bin_width,
        dvh_warnings(set, dose),
    );
    if let Some((file, tps, skipped)) = tps {
        let structures: Vec<dvhmod::tps::Agreement> = agreements.into_iter().flatten().collect();
        report.tps_agreement = Some(dvhreport::TpsAgreement::new(
            file, structures, &tps, skipped,
        ));
    }
    if let Some(plot) = &a.plot {
        let colors: Vec<Option<[u8; 3]>> = rois.iter().map(|r| r.color).collect();
        let svg = dvhreport::render_plot(&report, &colors);
        let inputs: Vec<std::path::PathBuf> = dicom::discover::list_files(&a.paths)?;
        output::check_out_file(plot, &a.paths, "--plot", a.output_in_input)?;
        output::write_atomic(plot, svg.as_bytes(), &inputs)?;
    }
    // An explicitly requested structure that could not be evaluated is an error.
    let failed = report.structures.iter().any(|s| s.error.is_some());
    let text = match a.format {
        DvhFormat::Table => dvhreport::render_table(&report, &metrics),
        DvhFormat::Json => dvhreport::render_json(report),
        DvhFormat::Csv => dvhreport::render_csv(&report),
    };
    print_stdout(&text);
    Ok(if failed {
        ExitCode::CannotEvaluate
    } else {
        ExitCode::Pass
    })
}

/// The `--metric` texts -> the default metrics followed by those, each once.
fn dvh_metrics(texts: &[String]) -> Result<Vec<sbrt_verify::protocol::Metric>> {
    let mut metrics = default_metrics();
    for m in texts {
        let spec = sbrt_verify::protocol::parse_metric(m)
            .map_err(|e| Error::usage(format!("--metric {e}")))?;
        if !metrics.contains(&spec) {
            metrics.push(spec);
        }
    }
    Ok(metrics)
}

/// The `dvh` paths -> the plan sets found there, the dose paired with structure sets by
/// frame of reference (unreadable files are warnings on stderr).
fn dvh_discovery(a: &DvhArgs) -> Result<dicom::Discovery> {
    let link = dicom::LinkOptions {
        accept_patient_mismatch: a.accept_patient_mismatch,
        pair_dose_with_structures_by_frame: true,
    };
    let found = dicom::discover_with(&a.paths, link)?;
    for e in &found.file_errors {
        eprintln!("sbrt-verify: warning: {e}");
    }
    Ok(found)
}

/// The plan sets found and the `dvh` selection -> the one plan set it names, linked without
/// problems.
fn dvh_plan_set<'d>(found: &'d dicom::Discovery, a: &DvhArgs) -> Result<&'d dicom::PlanSet> {
    let selection = dicom::Selection {
        plan_uid: a.select.plan.clone(),
        dose_path: a.select.dose.clone(),
    };
    let set = found.select(&selection)?;
    if let Some(p) = set.problems.first() {
        return Err(Error::link(p.clone()));
    }
    Ok(set)
}

/// A selected plan set -> its dose, which must be in Gy.
fn dose_in_gy(set: &dicom::PlanSet) -> Result<&dicom::DoseGrid> {
    let dose = set.dose.as_ref().expect("selected sets have a dose");
    if dose.units != dicom::DoseUnits::Gy {
        return Err(Error::invalid(
            &dose.path,
            format!(
                "DoseUnits is {}, not GY: doses cannot be reported in Gy",
                dose.units.as_str()
            ),
        ));
    }
    Ok(dose)
}

/// The `--structure` names -> their ROIs; without any, every ROI with contours (or with
/// contour defects, to report them).
fn dvh_rois<'s>(ss: &'s dicom::StructureSet, names: &[String]) -> Result<Vec<&'s dicom::Roi>> {
    if names.is_empty() {
        Ok(ss
            .rois
            .iter()
            .filter(|r| !r.contours.is_empty() || !r.defects.is_empty())
            .collect())
    } else {
        names.iter().map(|name| find_roi(ss, name)).collect()
    }
}

/// The ROIs on the dose -> each one's report (and its agreement with the planning system's
/// DVH, when given), and the grid's maximum. Each structure is reported as soon as its DVH
/// is done, and its curve freed; its JSON is rendered there too, in parallel with the
/// structures still being computed. The grid's maximum is found meanwhile, by a thread free
/// of structures.
fn dvh_reports(
    a: &DvhArgs,
    dose: &dicom::DoseGrid,
    rois: &[&dicom::Roi],
    opts: &SamplingOptions,
    metrics: &[sbrt_verify::protocol::Metric],
    tps: Option<&(String, Vec<dvhmod::tps::TpsDvh>, Vec<String>)>,
) -> (
    Vec<(dvhreport::StructureReport, Option<dvhmod::tps::Agreement>)>,
    f32,
) {
    let json = matches!(a.format, DvhFormat::Json);
    rayon::join(
        || {
            dvhmod::compute_each(dose, rois, opts, |s| {
                let agreement = tps
                    .and_then(|(_, t, _)| dvhmod::tps::find(t, s.number, &s.name))
                    .map(|t| dvhmod::tps::compare(s, t));
                let mut r = dvhreport::structure_report(s, metrics, a.bin_width);
                if json {
                    r.prerender();
                }
                (r, agreement)
            })
        },
        || dose.max_value(),
    )
}

/// The plan set's and the dose's warnings, and one for a dose that is not the whole plan's.
fn dvh_warnings(set: &dicom::PlanSet, dose: &dicom::DoseGrid) -> Vec<String> {
    let mut warnings: Vec<String> = set.warnings.clone();
    warnings.extend(dose.warnings.iter().cloned());
    if dose.summation != dicom::DoseSummation::Plan {
        warnings.push(format!(
            "dose summation type is {}: values are reported as stored, not scaled",
            dose.summation.as_str()
        ));
    }
    warnings
}

/// Finds an ROI by name: exact first, then ignoring case, spaces, hyphens and underscores.
fn find_roi<'a>(ss: &'a dicom::StructureSet, name: &str) -> Result<&'a dicom::Roi> {
    if let Some(r) = ss.rois.iter().find(|r| r.name == name) {
        return Ok(r);
    }
    let norm = |s: &str| -> String {
        s.chars()
            .filter(|c| !matches!(c, ' ' | '-' | '_'))
            .flat_map(char::to_lowercase)
            .collect()
    };
    let hits: Vec<&dicom::Roi> = ss
        .rois
        .iter()
        .filter(|r| norm(&r.name) == norm(name))
        .collect();
    match hits.as_slice() {
        [one] => Ok(one),
        // A name the user typed: a usage mistake (exit 2), like an unknown --map target.
        [] => Err(Error::usage(format!(
            "{}: unknown structure '{name}'; structures: {}",
            sbrt_verify::error::shown(&ss.path),
            ss.rois
                .iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
        many => Err(Error::invalid(
            &ss.path,
            format!(
                "structure '{name}' matches {} ROIs ({})",
                many.len(),
                many.iter()
                    .map(|r| r.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

fn run_phantom(a: PhantomArgs) -> Result<ExitCode> {
    let names = sbrt_verify::phantom::case_names();
    if a.case.as_deref() == Some("list") {
        print_stdout(&format!("{}\n", names.join("\n")));
        return Ok(ExitCode::Pass);
    }
    let out = a
        .out
        .ok_or_else(|| Error::usage("phantom: --out DIR is required to write cases"))?;
    match a.case.as_deref() {
        Some(name) => {
            let dir = sbrt_verify::phantom::write_case(name, &out)?;
            print_stdout(&format!("{}\n", sbrt_verify::error::shown(&dir)));
        }
        None => {
            for dir in sbrt_verify::phantom::write_all(&out)? {
                print_stdout(&format!("{}\n", sbrt_verify::error::shown(&dir)));
            }
        }
    }
    Ok(ExitCode::Pass)
}

fn run_export_dose(a: ExportDoseArgs) -> Result<ExitCode> {
    let file = read::open(&a.dose)?.ok_or_else(|| Error::NotDicom {
        path: a.dose.clone(),
        reason: "no DICOM preamble or data set".into(),
    })?;
    if dicom::ObjectKind::of(&file.attrs()) != dicom::ObjectKind::Dose {
        return Err(Error::invalid(&a.dose, "not an RT Dose object"));
    }
    output::check_out_file(
        &a.out,
        std::slice::from_ref(&a.dose),
        "--out",
        a.output_in_input,
    )?;
    let dose = dicom::DoseGrid::from_file(&file)?;
    let bytes = sbrt_verify::report::npy::encode_f32(&dose.values);
    output::write_atomic(&a.out, &bytes, std::slice::from_ref(&a.dose))?;
    Ok(ExitCode::Pass)
}

/// A duration in seconds from the command line: finite, in (0, 1 day].
fn seconds(flag: &str, value: f64) -> Result<std::time::Duration> {
    if !(value > 0.0 && value <= 86_400.0) {
        return Err(Error::usage(format!(
            "{flag} {value}: expected seconds in (0, 86400]"
        )));
    }
    Ok(std::time::Duration::from_secs_f64(value))
}

/// The node's check settings from its options (protocol, mappings, end caps).
fn node_options(a: &NodeCheckArgs) -> Result<sbrt_verify::node::NodeOptions> {
    let (protocol, check) = check_options(&a.protocol, &[])?;
    if let Some(site) = &check.site {
        if !protocol.sites.iter().any(|s| s.is_called(site)) {
            return Err(Error::usage(format!(
                "--site '{site}': protocol {} has no such site",
                protocol.name
            )));
        }
    }
    Ok(sbrt_verify::node::NodeOptions {
        out: a.out.clone(),
        protocol,
        check,
        show_phi: a.show_phi,
        settle: seconds("--settle", a.settle)?,
    })
}

fn run_listen(a: ListenArgs) -> Result<ExitCode> {
    use sbrt_verify::node::{listen, signal};
    let node = node_options(&a.node)?;
    for ae in std::iter::once(&a.ae_title).chain(&a.allow_ae) {
        if ae.trim().is_empty() || ae.len() > 16 {
            return Err(Error::usage(format!(
                "AE title '{ae}': expected 1 to 16 characters"
            )));
        }
    }
    let opts = listen::ListenOptions {
        ae_title: a.ae_title.trim().to_string(),
        allowed: a.allow_ae.iter().map(|s| s.trim().to_string()).collect(),
        max_associations: a.max_associations.max(1),
        idle_timeout: seconds("--idle-timeout", a.idle_timeout)?,
    };
    signal::install().map_err(|e| Error::io(std::path::Path::new("signal handler"), e))?;
    let listener = listen::Listener::bind(std::net::SocketAddr::new(a.bind, a.port))?;
    print_stdout(&format!("listening on {}\n", listener.local_addr()?));
    listen::serve(listener, opts, node)?;
    Ok(ExitCode::Pass)
}

fn run_watch(a: WatchArgs) -> Result<ExitCode> {
    use sbrt_verify::node::{signal, watch};
    let node = node_options(&a.node)?;
    let interval = seconds("--interval", a.interval)?;
    let dir = std::fs::canonicalize(&a.dir).map_err(|e| Error::io(&a.dir, e))?;
    if output::resolve_path(&node.out)?.starts_with(&dir) {
        return Err(Error::usage(format!(
            "--out {}: is inside the watched folder {}; choose another folder",
            node.out.display(),
            dir.display()
        )));
    }
    signal::install().map_err(|e| Error::io(std::path::Path::new("signal handler"), e))?;
    watch::run(&dir, interval, node)?;
    Ok(ExitCode::Pass)
}
