//! Command-line arguments (clap derive). Parsing only; no work happens here.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Verify SBRT dose plans (DICOM RT Dose, Struct, Plan).
///
/// Exit codes: 0 PASS / success, 1 FAIL, 2 usage error, 3 cannot evaluate (bad or
/// inconsistent input; never a PASS).
#[derive(Debug, Parser)]
#[command(name = "sbrt-verify", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what DICOM RT objects are under PATH (files or folders), how they link, and
    /// what is wrong with them. Exit 0 all read and consistent, 2 usage error, 3 a file
    /// unreadable, a plan set with a problem, or nothing RT found.
    Inspect(InspectArgs),
    /// Check one plan set against a protocol (default: the built-in NCT06863584 protocol),
    /// or with --batch every plan set under the paths. Exit 0 PASS, 1 FAIL, 2 usage error,
    /// 3 cannot evaluate (with --batch: the worst verdict).
    Check(CheckArgs),
    /// Dose-volume histograms and metrics of the structures of one plan set. Exit 0 every
    /// structure evaluated, 2 usage error, 3 a structure not evaluated or unusable input.
    Dvh(DvhArgs),
    /// Write analytic phantom cases (RT Dose, RT Struct, RT Plan and exact answers).
    Phantom(PhantomArgs),
    /// Write the dose of an RT Dose file as a NumPy .npy array (float32, [frame][row][column],
    /// DoseGridScaling applied), for comparison with other readers.
    ExportDose(ExportDoseArgs),
    /// A DICOM Storage SCP: receive plans by C-STORE, store them under OUT/incoming, check
    /// each plan set when complete (OUT/reports, OUT/checks.jsonl). Runs until SIGINT or
    /// SIGTERM.
    Listen(ListenArgs),
    /// Watch an export folder: copy settled files into OUT/incoming (the folder is only
    /// read), check each plan set when complete, as `listen` does.
    Watch(WatchArgs),
    /// What a protocol checks: `protocol list` (the built-in ones), `protocol show NAME|FILE`
    /// (every constraint with its limit, level and source).
    #[command(subcommand)]
    Protocol(ProtocolCommand),
}

#[derive(Debug, Subcommand)]
pub enum ProtocolCommand {
    /// The built-in protocols: name, version and number of constraints.
    List,
    /// Every constraint of a protocol (a built-in NAME or a TOML FILE): structure, query,
    /// comparator, limit, level and source.
    Show {
        /// A built-in protocol's name or a protocol file.
        protocol: String,
        /// Only what applies at this treatment site (a site name or alias): the structures
        /// it requires and expects, and its constraints.
        #[arg(long)]
        site: Option<String>,
        /// Output format: an aligned table, or JSON for scripts.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DvhFormat {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EndCapArg {
    /// First and last planes extend half their neighbour gap outward.
    Half,
    /// The solid stops at the first and last planes.
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InterpolationArg {
    /// The boundary between two planes' slabs follows a smooth profile of the structure's
    /// cross-section area (cubic through four planes; a power law into a closing tip).
    Profile,
    /// Each plane's slab reaches halfway to the next plane.
    Midpoint,
}

/// Which plan set to use when PATH holds several.
#[derive(Debug, clap::Args)]
pub struct SelectArgs {
    /// The RT Plan (SOP Instance UID) whose dose to use.
    #[arg(long)]
    pub plan: Option<String>,
    /// The RT Dose file to use.
    #[arg(long)]
    pub dose: Option<PathBuf>,
}

/// What a plan is checked against (`check`, `listen`, `watch`).
#[derive(Debug, clap::Args)]
pub struct ProtocolArgs {
    /// Protocol: a TOML file, or the name of a built-in protocol.
    #[arg(long, default_value = "nct06863584")]
    pub protocol: String,
    /// Map an ROI to a protocol structure: --map "Spinal Cord=SpinalCord" (repeatable).
    #[arg(long = "map", value_name = "ROI=PROTOCOL_NAME")]
    pub mappings: Vec<String>,
    /// The treatment site to check at (a site name or alias of the protocol); default: the
    /// site each RT Plan's Treatment Sites name.
    #[arg(long, value_name = "NAME")]
    pub site: Option<String>,
    /// End caps of the slab model.
    #[arg(long, value_enum, default_value_t = EndCapArg::Half)]
    pub end_cap: EndCapArg,
    /// Where the slabs of two neighbouring contour planes meet.
    #[arg(long, value_enum, default_value_t = InterpolationArg::Profile)]
    pub interpolation: InterpolationArg,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Files or folders holding the plan set (RT Dose, RT Struct, RT Plan); with --batch,
    /// the roots to search.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Check every plan set with an RT Dose under the paths, in parallel: one summary line
    /// per plan set, then a total. Exit code: the worst verdict (3 if any ERROR, else 1 if
    /// any FAIL, else 0).
    #[arg(long, conflicts_with_all = ["plan", "dose"])]
    pub batch: bool,
    /// Write report files into DIR (created, or replaced when it holds an earlier report;
    /// built beside it and renamed into place): report.html, dvh.csv and result.json; with
    /// --batch, batch.jsonl, batch.csv and those three per plan set in a sub-folder. DIR may
    /// not be an input folder nor inside one.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Allow --report DIR to be an input folder or inside one (input files are still
    /// never overwritten).
    #[arg(long, requires = "report")]
    pub report_in_input: bool,
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub protocol: ProtocolArgs,
    /// Accept the contour defects of this ROI (repeatable): its constraints are evaluated
    /// on its usable contours, and the acceptance is recorded in the result and the report.
    #[arg(long = "accept-defect", value_name = "ROI")]
    pub accept_defects: Vec<String>,
    /// Output format: an aligned table for reading, or JSON for scripts (see the README).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Show patient name and ID (masked by default).
    #[arg(long)]
    pub show_phi: bool,
    /// Pair objects whose patient ID or name differ (e.g. research exports anonymised one
    /// object at a time); refused by default, recorded in the result when allowed.
    #[arg(long)]
    pub accept_patient_mismatch: bool,
    #[command(flatten)]
    pub tps: TpsArgs,
    /// A disagreement with the planning system's DVH on a structure a mandatory constraint
    /// uses is an ERROR (needs --tps-dvh or --embedded-tps-dvh).
    #[arg(long)]
    pub require_tps_agreement: bool,
}

#[derive(Debug, clap::Args)]
pub struct DvhArgs {
    /// Files or folders holding one plan set (RT Dose + RT Struct, RT Plan optional).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Structure to report (repeatable; default: all with contours).
    #[arg(long = "structure", value_name = "NAME")]
    pub structures: Vec<String>,
    /// Extra metric (repeatable), in the protocol's query language: D<x>%, D<x>cc, Dmean,
    /// DC<x>cc, HI; volumes V<x>Gy and CV<x>Gy in cc, or in % of the structure with [%]
    /// (V20Gy[%]).
    #[arg(long = "metric", value_name = "METRIC")]
    pub metrics: Vec<String>,
    /// Output format: an aligned table, JSON for scripts, or CSV of the cumulative DVHs.
    #[arg(long, value_enum, default_value_t = DvhFormat::Table)]
    pub format: DvhFormat,
    /// Bin width of the exported cumulative DVH, Gy.
    #[arg(long, default_value_t = 0.01)]
    pub bin_width: f64,
    /// End caps of the slab model.
    #[arg(long, value_enum, default_value_t = EndCapArg::Half)]
    pub end_cap: EndCapArg,
    /// Where the slabs of two neighbouring contour planes meet.
    #[arg(long, value_enum, default_value_t = InterpolationArg::Profile)]
    pub interpolation: InterpolationArg,
    /// Also write the DVH plot as SVG to this file (not in an input folder, never over a
    /// DICOM file).
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Allow --plot FILE in an input folder (input and DICOM files are still never
    /// overwritten).
    #[arg(long, requires = "plot")]
    pub output_in_input: bool,
    /// Supersample each structure until it has about this many samples (accuracy knob;
    /// higher is slower).
    #[arg(long, default_value_t = sbrt_verify::raster::SamplingOptions::default().min_samples)]
    pub min_samples: usize,
    /// Pair objects whose patient ID or name differ (e.g. research exports anonymised one
    /// object at a time); refused by default, recorded in the result when allowed.
    #[arg(long)]
    pub accept_patient_mismatch: bool,
    #[command(flatten)]
    pub tps: TpsArgs,
}

/// The planning system's DVHs to compare ours with (`check`, `dvh`).
#[derive(Debug, clap::Args)]
pub struct TpsArgs {
    /// A planning system's DVH export (Eclipse text) to compare every structure with.
    #[arg(long, value_name = "FILE")]
    pub tps_dvh: Option<PathBuf>,
    /// Compare every structure with the DVHs the RT Dose itself carries (DVH Sequence).
    #[arg(long, conflicts_with = "tps_dvh")]
    pub embedded_tps_dvh: bool,
}

impl TpsArgs {
    /// Where the planning system's DVHs come from, when asked for.
    pub fn source(&self) -> Option<sbrt_verify::dvh::tps::TpsSource> {
        use sbrt_verify::dvh::tps::TpsSource;
        match &self.tps_dvh {
            Some(f) => Some(TpsSource::EclipseFile(f.clone())),
            None => self.embedded_tps_dvh.then_some(TpsSource::Embedded),
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// Files or folders (searched recursively).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Output format: an aligned table for reading, or JSON for scripts (see the README).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Show patient name and ID (masked by default).
    #[arg(long)]
    pub show_phi: bool,
}

#[derive(Debug, clap::Args)]
pub struct PhantomArgs {
    /// Output folder (one sub-folder per case); not needed with `--case list`.
    #[arg(long, required_unless_present_any = ["case"])]
    pub out: Option<PathBuf>,
    /// One case (default: all). `--case list` prints the names.
    #[arg(long)]
    pub case: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct ExportDoseArgs {
    /// The RT Dose file.
    pub dose: PathBuf,
    /// Output .npy file (not in the dose's folder, never over a DICOM file).
    #[arg(long)]
    pub out: PathBuf,
    /// Allow --out in the dose's folder (the dose and DICOM files are still never
    /// overwritten).
    #[arg(long)]
    pub output_in_input: bool,
}

/// How the node commands (`listen`, `watch`) check and report.
#[derive(Debug, clap::Args)]
pub struct NodeCheckArgs {
    /// Node folder: incoming/ (objects), reports/, checks.jsonl and node.log.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub protocol: ProtocolArgs,
    /// Show patient name and ID in checks.jsonl and reports (masked by default).
    #[arg(long)]
    pub show_phi: bool,
    /// Seconds a plan set may miss an object before it is logged as waiting (watch: also
    /// how long a file must stay unchanged before it is read).
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub settle: f64,
}

#[derive(Debug, clap::Args)]
pub struct ListenArgs {
    /// TCP port (0: a free one, printed on stdout).
    #[arg(long)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0")]
    pub bind: std::net::IpAddr,
    /// This node's AE title (the called AE title senders use).
    #[arg(long, default_value = "SBRTQA")]
    pub ae_title: String,
    /// Calling AE title allowed to send (repeatable); associations from others are
    /// rejected and logged.
    #[arg(long = "allow-ae", value_name = "AE_TITLE", required = true)]
    pub allow_ae: Vec<String>,
    /// At most this many associations at once.
    #[arg(long, default_value_t = 32)]
    pub max_associations: usize,
    /// Seconds of silence after which an association is ended.
    #[arg(long, default_value_t = 60.0, value_name = "SECONDS")]
    pub idle_timeout: f64,
    #[command(flatten)]
    pub node: NodeCheckArgs,
}

#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    /// The folder the planning system exports into (only read).
    pub dir: PathBuf,
    /// Seconds between scans of the folder.
    #[arg(long, default_value_t = 1.0, value_name = "SECONDS")]
    pub interval: f64,
    #[command(flatten)]
    pub node: NodeCheckArgs,
}
