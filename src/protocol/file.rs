//! Protocol files: TOML text -> a validated [`Protocol`] (targets, OAR definitions and
//! constraints, each constraint with its source).
//!
//! Loading is two steps. Serde reads the text into raw tables, refusing unknown keys and
//! wrong types; every value keeps its position ([`toml::Spanned`]). Then every value is
//! checked against the others (queries parse, limits fit their query, references exist,
//! names are distinct, every constraint has a source). The first problem becomes one line,
//! `FILE:LINE: what is wrong`, as an [`Error::Usage`] (exit code 2).
//!
//! The schema is documented in [`SCHEMA_DOC`] (Markdown, also used in the README).

use std::path::Path;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::bed::convert_same_bed;
use super::names::normalize;
use super::query::{
    fmt_num, parse_constraint, parse_limit, parse_query, Comparator, Limit, LimitUnit, Query,
};
use crate::{Error, Result};

/// The protocol-file schema as Markdown, for the README and `--help` texts.
pub const SCHEMA_DOC: &str = r#"### Protocol files (TOML)

One file per protocol. Unknown keys are errors; every problem is reported as
`FILE:LINE: problem` with exit code 2.

```toml
[protocol]
name = "NCT06863584"            # required
version = "1"                   # required, a string
description = "..."             # optional

[[prescription]]                # a target role; at least one per protocol
role = "PTV"                    # used by constraints and rx_role
total_gy = 30.0                 # prescription dose, Gy
fractions = 5
names = ["PTV", "PTV_3000"]     # ROI names that are this target (the role always is)
alpha_beta_gy = 10.0            # optional, default 10 Gy (tumour)

[[structure]]                   # an organ at risk
name = "SpinalCord"             # TG-263 name
aliases = ["Cord", "Spinal Cord"]
alpha_beta_gy = 2.0             # optional; needed only by constraints with `fractions`

[[constraint]]
structure = "SpinalCord"        # a [[structure]] name or a [[prescription]] role
query = "D0.035cc"              # see the query language below
comparator = "<="               # <, <=, >, >=
limit = "25.3Gy"                # value with unit (see below)
level = "mandatory"             # "mandatory" (a miss fails the plan) or "optimal"
source = "Sahgal et al., IJROBP 110:124 (2021)"   # required, non-empty
endpoint = "myelopathy"         # optional
note = "..."                    # optional
# rx_role = "PTV"               # optional, see "Prescription of a % limit"
# fractions = 5                 # optional, see "Limits for another fractionation"
```

Instead of `limit`, a limit can depend on the target volume (linear interpolation between
points; outside the first and last point the constraint is not evaluated):

```toml
limit_table = { by = "ptv_volume_cc", unit = "", points = [[1.8, 5.9], [3.8, 5.5]] }
```

`by = "ptv_volume_cc"`: the volume (cc) of the constraint's target (its own structure when
that is a prescription role, else `rx_role`). `points`: `[volume_cc, limit]` pairs, volumes
strictly increasing. `unit`: the unit of the limits, as in `limit` (`""` for a bare number).

**Queries** (Mayo / TG-263 style, case-sensitive): `Dmax`, `Dmin`, `Dmean`, `D95%`
(dose to 95 % of the volume), `D0.035cc`, `DC1000cc` (dose to the coldest 1000 cc),
`D2cm` (RTOG max dose 2 cm from the PTV), `V30Gy` / `V3000cGy` (volume receiving at least
30 Gy), `V100%` (volume receiving 100 % of the prescription), `CV13.5Gy` (volume receiving
less than 13.5 Gy), `CI_Paddick`, `CI_RTOG`, `GI`, `R50`, `HI`.

**Limit units**: `Gy`, `cGy`, `cc`, `%`, or none. For a dose query `%` is percent of the
prescription; for a volume query percent of the structure volume (at most 100); CI, GI,
R50 and HI take a bare number. Incompatible units are errors.

**Prescription of a % limit**: `rx_role` names the target whose prescription a `%` dose
limit (or `V<x>%`, CI, GI, R50, D2cm) refers to. Default: the constraint's own target;
for an organ at risk, the lowest prescription present in the plan.

**Limits for another fractionation**: `fractions = n` says the limit was published for
n fractions. For a plan with a different number of fractions the Gy values (a Gy limit,
or the dose of `V<x>Gy` / `CV<x>Gy`) are converted to the same BED with the structure's
`alpha_beta_gy`, and the result is marked as derived.
"#;

/// A validated protocol.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Protocol {
    pub name: String,
    pub version: String,
    pub description: String,
    /// Where it was read from (a path, or `builtin:NAME`), for messages.
    pub origin: String,
    /// Target roles, in file order (at least one).
    pub prescriptions: Vec<Prescription>,
    /// Organs at risk, in file order.
    pub structures: Vec<StructureDef>,
    /// Constraints, in file order.
    pub constraints: Vec<ConstraintDef>,
    /// Treatment sites, in file order (none: every plan is checked as before).
    pub sites: Vec<Site>,
}

/// A treatment site: which protocol structures a plan at this site must have, and which
/// are expected.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Site {
    pub name: String,
    /// Other names, matched like structure aliases (also against the RT Plan's Treatment
    /// Sites).
    pub aliases: Vec<String>,
    pub description: String,
    /// Groups of protocol structures (organs or target roles); each group needs at least
    /// one of its structures matched to an ROI, else the plan cannot be evaluated.
    pub required: Vec<Vec<String>>,
    /// Protocol structures whose absence is a warning.
    pub expected: Vec<String>,
    /// Host organs: organs at risk the target may lie in (a rib lesion in the rib). At this
    /// site their constraints are evaluated on the organ minus every target ROI of the plan.
    pub hosts: Vec<String>,
    /// 1-based line of the `[[site]]` header.
    #[serde(skip)]
    pub line: usize,
}

impl Site {
    /// True when `name` is this site's name or an alias, once normalized.
    pub fn is_called(&self, name: &str) -> bool {
        let wanted = normalize(name);
        !wanted.is_empty()
            && std::iter::once(&self.name)
                .chain(&self.aliases)
                .any(|n| normalize(n) == wanted)
    }
}

/// A target role and its prescription.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prescription {
    /// The role (`PTV`, `PGTV`): what constraints and `rx_role` refer to.
    pub role: String,
    /// Prescription dose, Gy.
    pub total_gy: f64,
    pub fractions: u32,
    /// ROI names that are this target, besides the role itself.
    pub names: Vec<String>,
    /// alpha/beta of the target, Gy (default 10).
    pub alpha_beta_gy: f64,
    /// 1-based line of the `[[prescription]]` header.
    pub line: usize,
}

impl Prescription {
    /// Dose per fraction, Gy.
    pub fn dose_per_fraction_gy(&self) -> f64 {
        self.total_gy / f64::from(self.fractions)
    }
}

/// An organ at risk.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StructureDef {
    /// TG-263 name; constraints refer to it.
    pub name: String,
    /// Other names of the same structure in real exports.
    pub aliases: Vec<String>,
    /// alpha/beta, Gy; needed only for constraints with `fractions`.
    pub alpha_beta_gy: Option<f64>,
    /// 1-based line of the `[[structure]]` header.
    pub line: usize,
}

/// Mandatory limits decide PASS / FAIL; optimal ones are reported only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Mandatory,
    Optimal,
}

/// What a limit table is indexed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum TableBy {
    /// Volume of the constraint's target, cc.
    #[serde(rename = "ptv_volume_cc")]
    PtvVolumeCc,
}

/// A limit that depends on a plan quantity, interpolated linearly between points.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LimitTable {
    pub by: TableBy,
    /// `(x, limit value)` pairs, x strictly increasing; the values are in `unit` (Gy when
    /// the file said cGy).
    pub points: Vec<(f64, f64)>,
    pub unit: LimitUnit,
}

impl LimitTable {
    /// The limit at `x` by linear interpolation; `None` outside the first..last point (the
    /// table does not apply there) or for NaN.
    pub fn at(&self, x: f64) -> Option<Limit> {
        let (first, last) = (self.points.first()?, self.points.last()?);
        if x.is_nan() || x < first.0 || x > last.0 {
            return None;
        }
        let i = self.points.partition_point(|p| p.0 <= x);
        let value = if i >= self.points.len() {
            last.1
        } else {
            let (x0, y0) = self.points[i - 1];
            let (x1, y1) = self.points[i];
            y0 + (x - x0) / (x1 - x0) * (y1 - y0)
        };
        Some(self.unit.with(value))
    }
}

/// A constraint's limit: one value, or a table.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LimitSpec {
    Fixed(Limit),
    Table(LimitTable),
}

impl LimitSpec {
    /// The limit: the fixed one, or the table's value at `table_x` (`None` when the table
    /// has no value there or `table_x` is unknown).
    pub fn at(&self, table_x: Option<f64>) -> Option<Limit> {
        match self {
            LimitSpec::Fixed(l) => Some(*l),
            LimitSpec::Table(t) => t.at(table_x?),
        }
    }

    /// The unit of the limit values.
    pub fn unit(&self) -> LimitUnit {
        match self {
            LimitSpec::Fixed(l) => l.unit(),
            LimitSpec::Table(t) => t.unit,
        }
    }
}

impl std::fmt::Display for LimitSpec {
    /// A fixed limit as its canonical text (`25.3Gy`); a table as
    /// `table by ptv_volume_cc (1.8: 5.9 .. 163: 2.9)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LimitSpec::Fixed(l) => write!(f, "{l}"),
            LimitSpec::Table(t) => {
                let by = match t.by {
                    TableBy::PtvVolumeCc => "ptv_volume_cc",
                };
                let point = |p: &(f64, f64)| format!("{}: {}", fmt_num(p.0), t.unit.with(p.1));
                match (t.points.first(), t.points.last()) {
                    (Some(a), Some(b)) => write!(f, "table by {by} ({} .. {})", point(a), point(b)),
                    _ => write!(f, "table by {by}"),
                }
            }
        }
    }
}

/// One constraint of the protocol, validated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConstraintDef {
    /// A [`StructureDef::name`] or a [`Prescription::role`].
    pub structure: String,
    pub query: Query,
    pub comparator: Comparator,
    pub limit: LimitSpec,
    /// The trial's acceptable-variation limit beside the per-protocol `limit`, in the same
    /// unit and never stricter: a value between the two is an acceptable variation (not a
    /// FAIL); beyond it, an unacceptable deviation.
    pub acceptable: Option<LimitSpec>,
    pub level: Level,
    /// The sites (by [`Site::name`]) where the constraint applies; empty: at every site.
    pub sites: Vec<String>,
    /// Where the limit comes from (never empty).
    pub source: String,
    pub endpoint: Option<String>,
    pub note: Option<String>,
    /// The target whose prescription `%` refers to; see [`Protocol::rx_role`].
    pub rx_role: Option<String>,
    /// The number of fractions the limit was published for, when it may differ from the
    /// plan's; see [`Protocol::resolve`].
    pub fractions: Option<u32>,
    /// 1-based line of the `[[constraint]]` header.
    pub line: usize,
}

impl std::fmt::Display for ConstraintDef {
    /// `SpinalCord D0.035cc <= 25.3Gy`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {} {}",
            self.structure, self.query, self.comparator, self.limit
        )
    }
}

/// A constraint's query and limit for one plan.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ResolvedConstraint {
    pub query: Query,
    pub comparator: Comparator,
    pub limit: Limit,
    /// The acceptable-variation limit, converted like `limit`.
    pub acceptable: Option<Limit>,
    /// True when converted from another fractionation by same BED (LQ model).
    pub derived: bool,
}

impl Protocol {
    /// The prescription with this role.
    pub fn prescription(&self, role: &str) -> Option<&Prescription> {
        self.prescriptions.iter().find(|p| p.role == role)
    }

    /// The organ at risk with this name.
    pub fn structure(&self, name: &str) -> Option<&StructureDef> {
        self.structures.iter().find(|s| s.name == name)
    }

    /// True when `name` is a prescription role.
    pub fn is_target(&self, name: &str) -> bool {
        self.prescription(name).is_some()
    }

    /// The names to match ROIs against for a structure or target role: its own name first,
    /// then its aliases (targets: their `names`), for [`super::names::match_structure`].
    pub fn names_of(&self, name: &str) -> Option<Vec<&str>> {
        let (first, rest) = if let Some(p) = self.prescription(name) {
            (p.role.as_str(), &p.names)
        } else {
            let s = self.structure(name)?;
            (s.name.as_str(), &s.aliases)
        };
        let mut names = vec![first];
        for n in rest {
            if !names.contains(&n.as_str()) {
                names.push(n);
            }
        }
        Some(names)
    }

    /// The constraints that apply at `site` (a [`Site::name`]; `None`: a protocol without
    /// sites, or no site chosen): those without `sites`, and those naming it.
    pub fn constraints_at<'a>(
        &'a self,
        site: Option<&'a str>,
    ) -> impl Iterator<Item = &'a ConstraintDef> + Clone + 'a {
        self.constraints.iter().filter(move |c| {
            c.sites.is_empty() || site.is_some_and(|s| c.sites.iter().any(|n| n == s))
        })
    }

    /// Every structure and role name (for checking `--map` options).
    pub fn all_names(&self) -> Vec<&str> {
        self.prescriptions
            .iter()
            .map(|p| p.role.as_str())
            .chain(self.structures.iter().map(|s| s.name.as_str()))
            .collect()
    }

    /// alpha/beta of a structure or target, Gy.
    pub fn alpha_beta_gy(&self, name: &str) -> Option<f64> {
        match self.prescription(name) {
            Some(p) => Some(p.alpha_beta_gy),
            None => self.structure(name)?.alpha_beta_gy,
        }
    }

    /// The target whose prescription a constraint's `%` refers to: its `rx_role`, else its
    /// own structure when that is a target. `None` means: the lowest prescription present
    /// in the plan (organs at risk).
    pub fn rx_role<'a>(&'a self, c: &'a ConstraintDef) -> Option<&'a str> {
        c.rx_role
            .as_deref()
            .or_else(|| self.is_target(&c.structure).then_some(c.structure.as_str()))
    }

    /// The constraint as evaluated for a plan of `plan_fractions` fractions (>= 1), with
    /// `table_x` the value a limit table is indexed by (the target volume in cc).
    ///
    /// `None` when the limit is a table without a value at `table_x` (outside the table or
    /// unknown): the constraint is then not evaluated; also `None` for `plan_fractions == 0`
    /// and for a conversion without an alpha/beta (a loaded protocol always has one, checked
    /// at load). When the constraint's `fractions`
    /// differ from the plan's, Gy values are converted by same BED with the structure's
    /// alpha/beta and the result is marked `derived`.
    pub fn resolve(
        &self,
        c: &ConstraintDef,
        plan_fractions: u32,
        table_x: Option<f64>,
    ) -> Option<ResolvedConstraint> {
        if plan_fractions == 0 {
            return None;
        }
        let mut limit = c.limit.at(table_x)?;
        let mut acceptable = match &c.acceptable {
            Some(a) => Some(a.at(table_x)?),
            None => None,
        };
        let mut query = c.query;
        let mut derived = false;
        if let Some(from) = c.fractions.filter(|n| *n != plan_fractions) {
            let ab = self.alpha_beta_gy(&c.structure)?;
            let conv = |gy: f64| convert_same_bed(gy, from, plan_fractions, ab);
            for l in std::iter::once(&mut limit).chain(acceptable.as_mut()) {
                if let Limit::Gy(x) = *l {
                    *l = Limit::Gy(conv(x));
                }
            }
            query = match query {
                Query::VolumeAtDose(x) => Query::VolumeAtDose(conv(x)),
                Query::SparedVolume(x) => Query::SparedVolume(conv(x)),
                q => q,
            };
            derived = true;
        }
        Some(ResolvedConstraint {
            query,
            comparator: c.comparator,
            limit,
            acceptable,
            derived,
        })
    }
}

/// Reads and validates a protocol file. Any problem (unreadable file, TOML syntax, schema,
/// semantics) is an [`Error::Usage`] naming the file and line.
pub fn load(path: &Path) -> Result<Protocol> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::usage(format!("{}: cannot read protocol: {e}", path.display())))?;
    parse(&text, &path.display().to_string())
}

/// Parses and validates protocol text; `origin` names it in messages (`origin:line: ...`).
pub fn parse(text: &str, origin: &str) -> Result<Protocol> {
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let message = e.message().replace('`', "'").replace('\n', " ");
        match e.span() {
            Some(span) => Error::usage(format!(
                "{origin}:{}: {}",
                line_of(text, span.start),
                message.trim()
            )),
            None => Error::usage(format!("{origin}: {}", message.trim())),
        }
    })?;
    let mut v = Validator {
        text,
        problems: Vec::new(),
    };
    let protocol = v.protocol(raw, origin);
    match v.problems.len() {
        0 => Ok(protocol),
        n => {
            v.problems.sort_by_key(|p| p.0);
            let (line, message) = &v.problems[0];
            let more = match n - 1 {
                0 => String::new(),
                1 => " (and 1 more problem)".to_string(),
                m => format!(" (and {m} more problems)"),
            };
            Err(Error::usage(format!("{origin}:{line}: {message}{more}")))
        }
    }
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    protocol: Spanned<RawHeader>,
    #[serde(default)]
    prescription: Vec<Spanned<RawPrescription>>,
    #[serde(default)]
    structure: Vec<Spanned<RawStructure>>,
    #[serde(default)]
    constraint: Vec<Spanned<RawConstraint>>,
    #[serde(default)]
    site: Vec<Spanned<RawSite>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSite {
    name: Spanned<String>,
    #[serde(default)]
    aliases: Vec<Spanned<String>>,
    description: Option<String>,
    #[serde(default)]
    required: Vec<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    expected: Vec<Spanned<String>>,
    #[serde(default)]
    hosts: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeader {
    name: Spanned<String>,
    version: Spanned<String>,
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrescription {
    role: Spanned<String>,
    total_gy: Spanned<f64>,
    fractions: Spanned<u32>,
    #[serde(default)]
    names: Vec<Spanned<String>>,
    alpha_beta_gy: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStructure {
    name: Spanned<String>,
    #[serde(default)]
    aliases: Vec<Spanned<String>>,
    alpha_beta_gy: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConstraint {
    structure: Spanned<String>,
    query: Spanned<String>,
    comparator: Spanned<String>,
    limit: Option<Spanned<String>>,
    limit_table: Option<Spanned<RawTable>>,
    acceptable: Option<Spanned<String>>,
    acceptable_table: Option<Spanned<RawTable>>,
    level: Spanned<Level>,
    #[serde(default)]
    sites: Vec<Spanned<String>>,
    source: Option<Spanned<String>>,
    endpoint: Option<String>,
    note: Option<String>,
    rx_role: Option<Spanned<String>>,
    fractions: Option<Spanned<u32>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    by: TableBy,
    points: Spanned<Vec<[f64; 2]>>,
    unit: Option<Spanned<String>>,
}

/// Default alpha/beta of a target, Gy (tumour; reference section 5).
const TARGET_ALPHA_BETA_GY: f64 = 10.0;

/// A name owner, for the distinct-names check.
struct NameEntry {
    /// Index of the prescription or structure that has the name.
    owner_id: usize,
    normalized: String,
    text: String,
    owner: String,
    line: usize,
}

struct Validator<'t> {
    text: &'t str,
    problems: Vec<(usize, String)>,
}

impl Validator<'_> {
    fn line<T>(&self, s: &Spanned<T>) -> usize {
        line_of(self.text, s.span().start)
    }

    fn problem(&mut self, line: usize, message: impl Into<String>) {
        self.problems.push((line, message.into()));
    }

    fn protocol(&mut self, raw: RawFile, origin: &str) -> Protocol {
        let header_line = self.line(&raw.protocol);
        let header = raw.protocol.into_inner();
        for (field, value) in [("name", &header.name), ("version", &header.version)] {
            if value.get_ref().trim().is_empty() {
                let line = self.line(value);
                self.problem(line, format!("protocol {field} is empty"));
            }
        }
        if raw.prescription.is_empty() {
            self.problem(
                header_line,
                "no [[prescription]]: a protocol needs at least one target role",
            );
        }
        let prescriptions: Vec<Prescription> = raw
            .prescription
            .into_iter()
            .enumerate()
            .map(|(i, p)| self.prescription(i + 1, p))
            .collect();
        // One RT Plan has one number of fractions: the targets of a protocol must share it.
        if let Some(first) = prescriptions.first() {
            for p in &prescriptions[1..] {
                if p.fractions != first.fractions && first.fractions > 0 && p.fractions > 0 {
                    self.problem(
                        p.line,
                        format!(
                            "prescription '{}' has {} fractions, '{}' has {}: the targets of one protocol must share a number of fractions",
                            p.role, p.fractions, first.role, first.fractions
                        ),
                    );
                }
            }
        }
        let structures: Vec<StructureDef> = raw
            .structure
            .into_iter()
            .map(|s| self.structure(s))
            .collect();
        self.distinct_names(&prescriptions, &structures);
        let mut protocol = Protocol {
            name: header.name.into_inner().trim().to_string(),
            version: header.version.into_inner().trim().to_string(),
            description: header.description.unwrap_or_default().trim().to_string(),
            origin: origin.to_string(),
            prescriptions,
            structures,
            constraints: Vec::new(),
            sites: Vec::new(),
        };
        for (i, c) in raw.constraint.into_iter().enumerate() {
            if let Some(def) = self.constraint(i + 1, c, &protocol) {
                protocol.constraints.push(def);
            }
        }
        for raw_site in raw.site {
            let site = self.site(raw_site, &protocol);
            protocol.sites.push(site);
        }
        for c in &protocol.constraints {
            for name in &c.sites {
                if !protocol.sites.iter().any(|s| &s.name == name) {
                    self.problem(
                        c.line,
                        format!(
                            "constraint on {} {}: site '{name}' is no [[site]] name",
                            c.structure, c.query
                        ),
                    );
                }
            }
        }
        protocol
    }

    /// A raw `[[site]]` -> the site, its problems reported in turn: its names, its required
    /// and expected structures, its hosts, then empty required groups.
    fn site(&mut self, raw: Spanned<RawSite>, protocol: &Protocol) -> Site {
        let line = self.line(&raw);
        let s = raw.into_inner();
        let name = s.name.get_ref().trim().to_string();
        let what = format!("site '{name}'");
        let aliases = self.site_names(&what, line, &s.name, s.aliases, protocol);
        let mut required = Vec::new();
        let mut empty_groups = Vec::new();
        for group in s.required {
            if group.get_ref().is_empty() {
                empty_groups.push(self.line(&group));
            }
            let names: Vec<String> = group
                .get_ref()
                .iter()
                .filter_map(|n| self.site_member(&what, n, "required", protocol))
                .collect();
            required.push(names);
        }
        let expected: Vec<String> = s
            .expected
            .iter()
            .filter_map(|n| self.site_member(&what, n, "expected", protocol))
            .collect();
        let hosts = self.hosts(&what, &s.hosts, protocol);
        for l in empty_groups {
            self.problem(
                l,
                format!(
                    "{what}: a required group names no structure (write [\"SpinalCord\"], not [])"
                ),
            );
        }
        Site {
            name,
            aliases,
            description: s.description.unwrap_or_default().trim().to_string(),
            required,
            expected,
            hosts,
            line,
        }
    }

    /// A site's name and raw aliases -> its aliases, trimmed; reports a bad name or alias
    /// and a name an earlier site already has.
    fn site_names(
        &mut self,
        what: &str,
        line: usize,
        name: &Spanned<String>,
        raw_aliases: Vec<Spanned<String>>,
        protocol: &Protocol,
    ) -> Vec<String> {
        self.check_name(name, "site name");
        for alias in &raw_aliases {
            self.check_name(alias, &format!("{what}: alias"));
        }
        let name = name.get_ref().trim().to_string();
        let aliases: Vec<String> = raw_aliases
            .into_iter()
            .map(|a| a.into_inner().trim().to_string())
            .collect();
        for earlier in &protocol.sites {
            if let Some(clash) = std::iter::once(&name)
                .chain(&aliases)
                .find(|n| earlier.is_called(n))
            {
                self.problem(
                    line,
                    format!(
                        "{what}: the name '{clash}' is already a name of site '{}' (line {})",
                        earlier.name, earlier.line
                    ),
                );
            }
        }
        aliases
    }

    /// A name a site lists as `field` (required or expected) -> the name, trimmed, or `None`
    /// after reporting that it is no structure name or prescription role.
    fn site_member(
        &mut self,
        what: &str,
        n: &Spanned<String>,
        field: &str,
        protocol: &Protocol,
    ) -> Option<String> {
        let text = n.get_ref().trim();
        if protocol.structure(text).is_some() || protocol.is_target(text) {
            Some(text.to_string())
        } else {
            let l = self.line(n);
            self.problem(
                l,
                format!(
                    "{what}: {field} '{text}' is no [[structure]] name or [[prescription]] role"
                ),
            );
            None
        }
    }

    /// A site's raw hosts -> the hosts, trimmed, each once; reports a host that is no
    /// structure name and a host listed twice.
    fn hosts(
        &mut self,
        what: &str,
        raw_hosts: &[Spanned<String>],
        protocol: &Protocol,
    ) -> Vec<String> {
        let mut hosts: Vec<String> = Vec::new();
        for h in raw_hosts {
            let name = h.get_ref().trim();
            let l = self.line(h);
            if protocol.structure(name).is_none() {
                self.problem(
                    l,
                    format!(
                        "{what}: host '{name}' is no [[structure]] name (a host is an organ at \
                         risk the target lies in; targets cannot be hosts)"
                    ),
                );
            } else if hosts.iter().any(|x| x == name) {
                self.problem(l, format!("{what}: host '{name}' is listed twice"));
            } else {
                hosts.push(name.to_string());
            }
        }
        hosts
    }

    fn prescription(&mut self, n: usize, raw: Spanned<RawPrescription>) -> Prescription {
        let line = self.line(&raw);
        let p = raw.into_inner();
        let role = p.role.get_ref().trim().to_string();
        let what = format!("prescription {n} ('{role}')");
        self.check_name(&p.role, &format!("prescription {n}: role"));
        let total_gy = *p.total_gy.get_ref();
        if !(total_gy.is_finite() && total_gy > 0.0) {
            let l = self.line(&p.total_gy);
            self.problem(
                l,
                format!("{what}: total_gy must be a positive dose in Gy, not {total_gy}"),
            );
        }
        let fractions = *p.fractions.get_ref();
        if fractions == 0 {
            let l = self.line(&p.fractions);
            self.problem(l, format!("{what}: fractions must be at least 1"));
        }
        for name in &p.names {
            self.check_name(name, &format!("{what}: names"));
        }
        let alpha_beta_gy = match &p.alpha_beta_gy {
            Some(ab) => {
                self.check_alpha_beta(ab, &what);
                *ab.get_ref()
            }
            None => TARGET_ALPHA_BETA_GY,
        };
        let mut names: Vec<String> = Vec::new();
        for name in p.names {
            let name = name.into_inner().trim().to_string();
            if name != role && !names.contains(&name) {
                names.push(name);
            }
        }
        Prescription {
            role,
            total_gy,
            fractions,
            names,
            alpha_beta_gy,
            line,
        }
    }

    fn structure(&mut self, raw: Spanned<RawStructure>) -> StructureDef {
        let line = self.line(&raw);
        let s = raw.into_inner();
        let name = s.name.get_ref().trim().to_string();
        let what = format!("structure '{name}'");
        self.check_name(&s.name, "structure name");
        for alias in &s.aliases {
            self.check_name(alias, &format!("{what}: alias"));
        }
        if let Some(ab) = &s.alpha_beta_gy {
            self.check_alpha_beta(ab, &what);
        }
        let mut aliases: Vec<String> = Vec::new();
        for alias in s.aliases {
            let alias = alias.into_inner().trim().to_string();
            if alias != name && !aliases.contains(&alias) {
                aliases.push(alias);
            }
        }
        StructureDef {
            name,
            aliases,
            alpha_beta_gy: s.alpha_beta_gy.map(Spanned::into_inner),
            line,
        }
    }

    /// A structure or target name: non-empty, something left after normalization, no `=`
    /// (the `--map` separator).
    fn check_name(&mut self, name: &Spanned<String>, what: &str) {
        let line = self.line(name);
        let text = name.get_ref();
        if text.trim().is_empty() {
            self.problem(line, format!("{what} is empty"));
        } else if normalize(text).is_empty() {
            self.problem(
                line,
                format!("{what} '{text}' has nothing but spaces, '-' and '_'"),
            );
        } else if text.contains('=') {
            self.problem(
                line,
                format!("{what} '{text}' contains '=' (the --map separator)"),
            );
        }
    }

    fn check_alpha_beta(&mut self, ab: &Spanned<f64>, what: &str) {
        let v = *ab.get_ref();
        if !(v.is_finite() && v > 0.0) {
            let line = self.line(ab);
            self.problem(
                line,
                format!("{what}: alpha_beta_gy must be a positive number of Gy, not {v}"),
            );
        }
    }

    /// Names, roles and aliases of different owners must differ after normalization,
    /// otherwise matching ROIs would be ambiguous by construction.
    fn distinct_names(&mut self, prescriptions: &[Prescription], structures: &[StructureDef]) {
        let owners = prescriptions
            .iter()
            .map(|p| {
                let names = std::iter::once(&p.role).chain(&p.names);
                (
                    format!("prescription '{}'", p.role),
                    p.line,
                    names.collect::<Vec<_>>(),
                )
            })
            .chain(structures.iter().map(|s| {
                let names = std::iter::once(&s.name).chain(&s.aliases);
                (
                    format!("structure '{}'", s.name),
                    s.line,
                    names.collect::<Vec<_>>(),
                )
            }));
        let mut entries: Vec<NameEntry> = Vec::new();
        for (owner_id, (owner, line, names)) in owners.enumerate() {
            for text in names {
                entries.push(NameEntry {
                    owner_id,
                    normalized: normalize(text),
                    text: text.clone(),
                    owner: owner.clone(),
                    line,
                });
            }
        }
        let mut reported: Vec<(usize, usize)> = Vec::new();
        for (j, later) in entries.iter().enumerate() {
            if later.normalized.is_empty() {
                continue;
            }
            let Some(earlier) = entries[..j]
                .iter()
                .find(|e| e.normalized == later.normalized && e.owner_id != later.owner_id)
            else {
                continue;
            };
            let pair = (earlier.owner_id, later.owner_id);
            if reported.contains(&pair) {
                continue;
            }
            reported.push(pair);
            let message = if earlier.text == later.text {
                format!(
                    "{}: the name '{}' is already used by {} (line {})",
                    later.owner, later.text, earlier.owner, earlier.line
                )
            } else {
                format!(
                    "{}: the name '{}' is the same as '{}' of {} (line {}) once case, spaces, \
                     '-' and '_' are ignored",
                    later.owner, later.text, earlier.text, earlier.owner, earlier.line
                )
            };
            self.problems.push((later.line, message));
        }
    }

    /// A raw `[[constraint]]` -> its definition, or `None` after reporting its problems; the
    /// fields are checked in turn: structure, query, comparator, limit, acceptable, source,
    /// rx_role, fractions.
    fn constraint(
        &mut self,
        n: usize,
        raw: Spanned<RawConstraint>,
        protocol: &Protocol,
    ) -> Option<ConstraintDef> {
        let line = self.line(&raw);
        let c = raw.into_inner();
        let what = format!("constraint {n}");
        let before = self.problems.len();

        let structure = c.structure.get_ref().trim().to_string();
        let is_target = protocol.is_target(&structure);
        if !is_target && protocol.structure(&structure).is_none() {
            self.unknown_structure(&what, &c.structure, protocol);
        }
        let query = self.query(&what, &c.query, &structure, protocol);
        let comparator = self.comparator(&what, &c.comparator);
        let limit = self.limit(&what, line, &c, query.as_ref());
        let acceptable = self.acceptable(&what, &c, query.as_ref(), comparator, limit.as_ref());
        let source = self.source(&what, line, c.source.as_ref());
        let rx_role = c.rx_role.as_ref().map(|r| r.get_ref().trim().to_string());
        if let (Some(r), Some(spanned)) = (&rx_role, &c.rx_role) {
            self.check_rx_role(&what, r, spanned, protocol, query.as_ref(), limit.as_ref());
        }
        if let (Some(LimitSpec::Table(_)), false, None) = (&limit, is_target, &rx_role) {
            self.problem(
                line,
                format!(
                    "{what}: a limit_table by ptv_volume_cc needs a target: put the constraint \
                     on a [[prescription]] role or set rx_role"
                ),
            );
        }
        if let Some(spanned) = &c.fractions {
            self.check_fractions(
                &what,
                spanned,
                &structure,
                protocol,
                query.as_ref(),
                limit.as_ref(),
            );
        }

        if self.problems.len() > before {
            return None;
        }
        Some(ConstraintDef {
            structure,
            query: query?,
            comparator: comparator?,
            limit: limit?,
            acceptable,
            level: *c.level.get_ref(),
            sites: c
                .sites
                .into_iter()
                .map(|s| s.into_inner().trim().to_string())
                .collect(),
            source,
            endpoint: non_empty(c.endpoint),
            note: non_empty(c.note),
            rx_role,
            fractions: c.fractions.map(Spanned::into_inner),
            line,
        })
    }

    /// A constraint's structure that is no structure name or prescription role -> a problem,
    /// with the name it may have meant (one whose names match once normalized).
    fn unknown_structure(&mut self, what: &str, raw: &Spanned<String>, protocol: &Protocol) {
        let structure = raw.get_ref().trim();
        let l = self.line(raw);
        let wanted = normalize(structure);
        let hint = protocol
            .all_names()
            .into_iter()
            .find(|n| {
                protocol
                    .names_of(n)
                    .is_some_and(|names| names.iter().any(|a| normalize(a) == wanted))
            })
            .map(|n| format!("; did you mean '{n}'?"))
            .unwrap_or_default();
        self.problem(
            l,
            format!(
                "{what}: unknown structure '{structure}' (not a [[structure]] name or a \
                 [[prescription]] role{hint})"
            ),
        );
    }

    /// A constraint's query text -> the query, or `None` after reporting why it does not
    /// parse; also reports a target-only query on an organ.
    fn query(
        &mut self,
        what: &str,
        raw: &Spanned<String>,
        structure: &str,
        protocol: &Protocol,
    ) -> Option<Query> {
        let l = self.line(raw);
        let q = match parse_query(raw.get_ref()) {
            Ok(q) => q,
            Err(e) => {
                let hint = if parse_constraint(raw.get_ref()).is_ok() {
                    " (put the comparator and the limit in their own keys)"
                } else {
                    ""
                };
                self.problem(
                    l,
                    format!("{what}: query '{}': {}{hint}", e.input, e.detail()),
                );
                return None;
            }
        };
        if q.target_only()
            && !protocol.is_target(structure)
            && protocol.structure(structure).is_some()
        {
            self.problem(
                l,
                format!(
                    "{what}: {q} is defined for a target only, and '{structure}' is not \
                     a [[prescription]] role"
                ),
            );
        }
        Some(q)
    }

    /// A constraint's comparator text -> the comparator, or `None` after reporting it.
    fn comparator(&mut self, what: &str, raw: &Spanned<String>) -> Option<Comparator> {
        let comparator = Comparator::parse(raw.get_ref());
        if comparator.is_none() {
            let l = self.line(raw);
            self.problem(
                l,
                format!(
                    "{what}: comparator '{}': expected one of <, <=, >, >=",
                    raw.get_ref()
                ),
            );
        }
        comparator
    }

    /// A constraint's `limit` or `limit_table` (exactly one of them) -> the limit in the
    /// query's unit, or `None` after reporting why not (none without a query).
    fn limit(
        &mut self,
        what: &str,
        line: usize,
        c: &RawConstraint,
        query: Option<&Query>,
    ) -> Option<LimitSpec> {
        match (&c.limit, &c.limit_table, query) {
            (Some(_), Some(_), _) => {
                self.problem(
                    line,
                    format!("{what}: give either limit or limit_table, not both"),
                );
                None
            }
            (None, None, _) => {
                self.problem(line, format!("{what}: missing limit (or limit_table)"));
                None
            }
            (_, _, None) => None,
            (Some(l), None, Some(q)) => match parse_limit(l.get_ref(), q) {
                Ok(limit) => Some(LimitSpec::Fixed(limit)),
                Err(e) => {
                    let ln = self.line(l);
                    self.problem(ln, format!("{what}: limit '{}': {}", e.input, e.detail()));
                    None
                }
            },
            (None, Some(t), Some(q)) => self.table(what, t, q).map(LimitSpec::Table),
        }
    }

    /// A constraint's source -> the source, trimmed; reports a missing or empty one.
    fn source(&mut self, what: &str, line: usize, raw: Option<&Spanned<String>>) -> String {
        let source = raw
            .map(|s| s.get_ref().trim().to_string())
            .unwrap_or_default();
        if source.is_empty() {
            let l = raw.map_or(line, |s| self.line(s));
            self.problem(
                l,
                format!(
                    "{what}: missing source (every constraint must say where its limit comes from)"
                ),
            );
        }
        source
    }

    /// A constraint's `rx_role` -> a problem when it is no prescription role, or when neither
    /// the query nor the limit refers to the prescription.
    fn check_rx_role(
        &mut self,
        what: &str,
        r: &str,
        spanned: &Spanned<String>,
        protocol: &Protocol,
        query: Option<&Query>,
        limit: Option<&LimitSpec>,
    ) {
        let l = self.line(spanned);
        if !protocol.is_target(r) {
            self.problem(
                l,
                format!("{what}: rx_role '{r}' is not a [[prescription]] role"),
            );
        } else if let (Some(q), Some(lim)) = (query, limit) {
            if !q.needs_prescription() && lim.unit() != LimitUnit::PercentRx {
                self.problem(
                    l,
                    format!(
                        "{what}: rx_role '{r}' is given but neither {q} nor a % limit \
                         refers to the prescription"
                    ),
                );
            }
        }
    }

    /// A constraint's `fractions` -> a problem when it is 0, when there is no dose in Gy to
    /// convert, or when the structure has no alpha/beta for the conversion.
    fn check_fractions(
        &mut self,
        what: &str,
        fractions: &Spanned<u32>,
        structure: &str,
        protocol: &Protocol,
        query: Option<&Query>,
        limit: Option<&LimitSpec>,
    ) {
        let (f, l) = (*fractions.get_ref(), self.line(fractions));
        if f == 0 {
            self.problem(l, format!("{what}: fractions must be at least 1"));
        } else if let (Some(q), Some(lim)) = (query, limit) {
            let gy_limit = lim.unit() == LimitUnit::Gy;
            let gy_query = matches!(q, Query::VolumeAtDose(_) | Query::SparedVolume(_));
            if !gy_limit && !gy_query {
                self.problem(
                    l,
                    format!(
                        "{what}: fractions = {f}, but neither {q} nor the limit is a dose \
                         in Gy, so there is nothing to convert"
                    ),
                );
            } else if protocol.alpha_beta_gy(structure).is_none() {
                self.problem(
                    l,
                    format!(
                        "{what}: fractions = {f} needs alpha_beta_gy on structure \
                         '{structure}' for the same-BED conversion"
                    ),
                );
            }
        }
    }

    /// The `acceptable` / `acceptable_table` limit: the same kind (fixed or table over the
    /// same points) and unit as the limit, and never stricter than it.
    fn acceptable(
        &mut self,
        what: &str,
        c: &RawConstraint,
        query: Option<&Query>,
        comparator: Option<Comparator>,
        limit: Option<&LimitSpec>,
    ) -> Option<LimitSpec> {
        let (Some(q), Some(cmp), Some(limit)) = (query, comparator, limit) else {
            return None;
        };
        let (spec, line) = match (&c.acceptable, &c.acceptable_table) {
            (None, None) => return None,
            (Some(a), Some(_)) => {
                let l = self.line(a);
                self.problem(
                    l,
                    format!("{what}: give either acceptable or acceptable_table, not both"),
                );
                return None;
            }
            (Some(a), None) => {
                let l = self.line(a);
                match parse_limit(a.get_ref(), q) {
                    Ok(v) => (LimitSpec::Fixed(v), l),
                    Err(e) => {
                        self.problem(
                            l,
                            format!("{what}: acceptable '{}': {}", e.input, e.detail()),
                        );
                        return None;
                    }
                }
            }
            (None, Some(t)) => (LimitSpec::Table(self.table(what, t, q)?), self.line(t)),
        };
        let problem = looser_problem(limit, &spec, cmp);
        match problem {
            Some(p) => {
                self.problem(line, format!("{what}: {p}"));
                None
            }
            None => Some(spec),
        }
    }

    fn table(&mut self, what: &str, t: &Spanned<RawTable>, q: &Query) -> Option<LimitTable> {
        let table_line = self.line(t);
        let raw = t.get_ref();
        let unit_text = raw
            .unit
            .as_ref()
            .map(|u| u.get_ref().trim().to_string())
            .unwrap_or_default();
        let unit_line = raw.unit.as_ref().map_or(table_line, |u| self.line(u));
        let (unit, divisor) = match parse_limit(&format!("0{unit_text}"), q) {
            Ok(l) => (l.unit(), if unit_text == "cGy" { 100.0 } else { 1.0 }),
            Err(e) => {
                let found = if e.found.is_empty() {
                    "no unit".to_string()
                } else {
                    format!("'{}'", e.found)
                };
                self.problem(
                    unit_line,
                    format!(
                        "{what}: limit_table unit '{unit_text}': expected {} for {q}, found {found}",
                        e.expected
                    ),
                );
                return None;
            }
        };
        let points_line = self.line(&raw.points);
        let points = raw.points.get_ref();
        if points.len() < 2 {
            self.problem(
                points_line,
                format!(
                    "{what}: limit_table needs at least 2 points, has {}",
                    points.len()
                ),
            );
            return None;
        }
        for (i, [x, y]) in points.iter().enumerate() {
            let bad = if !(x.is_finite() && *x >= 0.0) {
                Some(format!("volume {x} is not a non-negative number"))
            } else if !(y.is_finite() && *y >= 0.0) {
                Some(format!("limit {y} is not a non-negative number"))
            } else if unit == LimitUnit::PercentVolume && *y > 100.0 {
                Some(format!("limit {y} % is over 100 % of the volume"))
            } else if i > 0 && *x <= points[i - 1][0] {
                Some(format!(
                    "volumes must increase strictly, but {} follows {}",
                    fmt_num(*x),
                    fmt_num(points[i - 1][0])
                ))
            } else {
                None
            };
            if let Some(bad) = bad {
                self.problem(
                    points_line,
                    format!("{what}: limit_table point {}: {bad}", i + 1),
                );
                return None;
            }
        }
        Some(LimitTable {
            by: raw.by,
            points: points.iter().map(|[x, y]| (*x, y / divisor)).collect(),
            unit,
        })
    }
}

/// An acceptable limit and the limit it loosens -> what is wrong with it: another kind,
/// unit or set of points, or stricter than the limit somewhere.
fn looser_problem(limit: &LimitSpec, spec: &LimitSpec, cmp: Comparator) -> Option<String> {
    let looser = |lim: f64, acc: f64| match cmp {
        Comparator::Lt | Comparator::Le => acc >= lim,
        Comparator::Gt | Comparator::Ge => acc <= lim,
    };
    match (limit, spec) {
        (LimitSpec::Fixed(l), LimitSpec::Fixed(a)) if l.unit() != a.unit() => Some(format!(
            "acceptable {a} is not in the unit of the limit {l}"
        )),
        (LimitSpec::Fixed(l), LimitSpec::Fixed(a)) if !looser(l.value(), a.value()) => Some(
            format!("acceptable {a} is stricter than the limit {l} ({cmp})"),
        ),
        (LimitSpec::Table(l), LimitSpec::Table(a)) => {
            let same_points = l.points.len() == a.points.len()
                && l.points.iter().zip(&a.points).all(|(p, r)| p.0 == r.0);
            if l.unit != a.unit || l.by != a.by || !same_points {
                Some("acceptable_table needs the unit, 'by' and points of limit_table".into())
            } else {
                l.points
                    .iter()
                    .zip(&a.points)
                    .find(|(p, r)| !looser(p.1, r.1))
                    .map(|(p, r)| {
                        format!(
                            "acceptable_table is stricter than limit_table at {} ({} against {})",
                            fmt_num(p.0),
                            fmt_num(r.1),
                            fmt_num(p.1)
                        )
                    })
            }
        }
        (LimitSpec::Fixed(_), LimitSpec::Table(_)) => {
            Some("a fixed limit takes a fixed acceptable, not acceptable_table".into())
        }
        (LimitSpec::Table(_), LimitSpec::Fixed(_)) => {
            Some("a limit_table takes an acceptable_table, not acceptable".into())
        }
        _ => None,
    }
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    const HEAD: &str = r#"[protocol]
name = "T"
version = "1"

[[prescription]]
role = "PTV"
total_gy = 30
fractions = 5
names = ["PTV_3000"]

[[structure]]
name = "SpinalCord"
aliases = ["Cord"]
alpha_beta_gy = 2.0
"#;

    fn ok(extra: &str) -> Protocol {
        parse(&format!("{HEAD}{extra}"), "t.toml").unwrap_or_else(|e| panic!("{e}"))
    }

    /// Parses HEAD + `extra` (which starts at line 16), expecting a usage error that
    /// contains `t.toml:{line}:` and `needle`.
    fn err(extra: &str, line: usize, needle: &str) {
        let e = parse(&format!("{HEAD}{extra}"), "t.toml").unwrap_err();
        assert_eq!(e.exit_code(), crate::ExitCode::Usage);
        let msg = e.to_string();
        assert!(
            msg.starts_with(&format!("t.toml:{line}: ")),
            "expected line {line}: {msg}"
        );
        assert!(msg.contains(needle), "expected '{needle}' in: {msg}");
        assert!(!msg.contains('\n'), "not one line: {msg}");
    }

    const CORD: &str = r#"
[[constraint]]
structure = "SpinalCord"
query = "D0.035cc"
comparator = "<="
limit = "25.3Gy"
level = "mandatory"
source = "Sahgal 2021"
"#;

    #[test]
    fn acceptable_limits_are_never_stricter_and_in_the_limit_unit() {
        let p = ok(&format!("{CORD}acceptable = \"27Gy\"\n"));
        assert_eq!(
            p.constraints[0].acceptable,
            Some(LimitSpec::Fixed(Limit::Gy(27.0)))
        );
        let resolved = p.resolve(&p.constraints[0], 5, None).unwrap();
        assert_eq!(resolved.acceptable, Some(Limit::Gy(27.0)));
        err(
            &format!("{CORD}acceptable = \"24Gy\"\n"),
            23,
            "stricter than the limit",
        );
        err(
            &format!("{CORD}acceptable = \"1cc\"\n"),
            23,
            "acceptable '1cc'",
        );
        err(
            &format!("{CORD}acceptable = \"110%\"\n"),
            23,
            "not in the unit of the limit",
        );
        // A lower limit's acceptable value lies below it.
        let coverage = "\n[[constraint]]\nstructure = \"PTV\"\nquery = \"V100%\"\ncomparator = \">=\"\nlimit = \"95%\"\nlevel = \"mandatory\"\nsource = \"s\"\n";
        ok(&format!("{coverage}acceptable = \"90%\"\n"));
        err(&format!("{coverage}acceptable = \"97%\"\n"), 23, "stricter");
        // Tables: the same points, pointwise looser.
        let table = |points: &str| {
            format!("{R50}acceptable_table = {{ by = \"ptv_volume_cc\", points = {points} }}\n")
        };
        let p = ok(&table("[[1.8, 7.5], [3.8, 6.5], [7.4, 6.0]]"));
        let at = p.resolve(&p.constraints[0], 5, Some(3.8)).unwrap();
        assert_eq!(at.acceptable, Some(Limit::Number(6.5)));
        err(
            &table("[[1.8, 7.5], [3.8, 5.0], [7.4, 6.0]]"),
            23,
            "stricter than limit_table at 3.8",
        );
        err(
            &table("[[1.8, 7.5], [7.4, 6.0]]"),
            23,
            "points of limit_table",
        );
        err(
            &format!("{R50}acceptable = \"7\"\n"),
            23,
            "takes an acceptable_table",
        );
    }

    #[test]
    fn constraints_may_apply_at_some_sites_only() {
        let site = "\n[[site]]\nname = \"spine\"\n\n[[site]]\nname = \"pelvis\"\n";
        let p = ok(&format!("{CORD}sites = [\"spine\"]\n{CORD}{site}"));
        assert_eq!(p.constraints[0].sites, ["spine"]);
        assert_eq!(p.constraints_at(Some("spine")).count(), 2);
        assert_eq!(p.constraints_at(Some("pelvis")).count(), 1);
        assert_eq!(p.constraints_at(None).count(), 1);
        err(
            &format!("{CORD}sites = [\"spine\"]\n"),
            16,
            "site 'spine' is no [[site]] name",
        );
    }

    #[test]
    fn sites_are_parsed_and_checked() {
        assert!(ok("").sites.is_empty());
        let p = ok("[[site]]\nname = \"spine\"\naliases = [\"C-spine\"]\nrequired = [[\"SpinalCord\", \"PTV\"]]\n");
        let site = &p.sites[0];
        assert_eq!(site.required, [["SpinalCord", "PTV"]]);
        assert_eq!(site.line, 15);
        assert!(site.is_called("c spine") && site.is_called("SPINE") && !site.is_called("pelvis"));
        err(
            "[[site]]\nname = \"spine\"\nrequired = [[\"Myelon\"]]\n",
            17,
            "required 'Myelon' is no [[structure]] name",
        );
        err(
            "[[site]]\nname = \"spine\"\nexpected = [\"Cord\"]\n",
            17,
            "expected 'Cord' is no [[structure]] name",
        );
        err(
            "[[site]]\nname = \"spine\"\nrequired = [[]]\n",
            17,
            "a required group names no structure",
        );
        err(
            "[[site]]\nname = \"spine\"\n\n[[site]]\nname = \"pelvis\"\naliases = [\"Spine\"]\n",
            18,
            "already a name of site 'spine' (line 15)",
        );
        err(
            "[[site]]\nname = \"spine\"\nhost = [\"Rib\"]\n",
            17,
            "unknown field",
        );
    }

    #[test]
    fn a_valid_file_loads() {
        let p = ok(CORD);
        assert_eq!(p.name, "T");
        assert_eq!(p.prescriptions[0].total_gy, 30.0);
        assert_eq!(p.prescriptions[0].alpha_beta_gy, 10.0);
        assert_eq!(p.structures[0].aliases, vec!["Cord"]);
        let c = &p.constraints[0];
        assert_eq!(c.query, Query::DoseCc(0.035));
        assert_eq!(c.comparator, Comparator::Le);
        assert_eq!(c.limit, LimitSpec::Fixed(Limit::Gy(25.3)));
        assert_eq!(c.level, Level::Mandatory);
        assert_eq!(c.line, 16);
        assert_eq!(p.names_of("PTV").unwrap(), vec!["PTV", "PTV_3000"]);
        assert_eq!(
            p.names_of("SpinalCord").unwrap(),
            vec!["SpinalCord", "Cord"]
        );
        assert_eq!(p.all_names(), vec!["PTV", "SpinalCord"]);
    }

    #[test]
    fn toml_syntax_and_schema_errors_name_the_line() {
        err(
            "\n[[constraint]]\nlimt = \"1Gy\"\n",
            17,
            "unknown field 'limt'",
        );
        err("\n[[constraints]]\n", 16, "unknown field 'constraints'");
        err("\n[[constraint]]\nstructure = \"SpinalCord\n", 17, "");
        err(
            &CORD.replace("\"mandatory\"", "\"must\""),
            21,
            "unknown variant 'must', expected 'mandatory' or 'optimal'",
        );
        err(
            &CORD.replace("query = \"D0.035cc\"", ""),
            16,
            "missing field 'query'",
        );
        err(
            &format!("{CORD}fractions = -3\n"),
            23,
            "invalid value: integer '-3', expected u32",
        );
    }

    #[test]
    fn a_bad_query_names_constraint_column_and_expectation() {
        err(
            &format!("{CORD}{}", CORD.replace("D0.035cc", "D95x")),
            26,
            "constraint 2: query 'D95x': at column 4: expected a unit (%, cc), found 'x'",
        );
        err(
            &CORD.replace("\"D0.035cc\"", "\"D0.035cc <= 25Gy\""),
            18,
            "own keys",
        );
    }

    #[test]
    fn a_limit_that_does_not_fit_the_query_is_refused() {
        err(
            &CORD.replace("\"D0.035cc\"", "\"V30Gy\"").replace("25.3Gy", "20Gy"),
            20,
            "constraint 1: limit '20Gy': at column 3: expected a volume limit (cc or %), found 'Gy'",
        );
        err(
            &CORD.replace("25.3Gy", "25.3"),
            20,
            "expected a unit (Gy, cGy, %)",
        );
    }

    #[test]
    fn missing_or_empty_source_is_refused() {
        err(
            &CORD.replace("source = \"Sahgal 2021\"\n", ""),
            16,
            "missing source",
        );
        err(
            &CORD.replace("\"Sahgal 2021\"", "\"  \""),
            22,
            "missing source",
        );
    }

    #[test]
    fn unknown_references_are_refused() {
        err(
            &CORD.replace("structure = \"SpinalCord\"", "structure = \"SpinalKord\""),
            17,
            "unknown structure 'SpinalKord'",
        );
        err(
            &CORD.replace("structure = \"SpinalCord\"", "structure = \"Spinal Cord\""),
            17,
            "did you mean 'SpinalCord'?",
        );
        err(
            &format!("{CORD}rx_role = \"PGTV\"\n"),
            23,
            "rx_role 'PGTV' is not a [[prescription]] role",
        );
        err(
            &format!("{CORD}rx_role = \"PTV\"\n"),
            23,
            "neither D0.035cc nor a % limit refers to the prescription",
        );
        err(
            &CORD
                .replace("\"D0.035cc\"", "\"GI\"")
                .replace("25.3Gy", "4"),
            18,
            "GI is defined for a target only",
        );
    }

    #[test]
    fn comparator_and_limit_presence_are_checked() {
        err(&CORD.replace("\"<=\"", "\"=<\""), 19, "comparator '=<'");
        err(
            &CORD.replace("limit = \"25.3Gy\"\n", ""),
            16,
            "missing limit",
        );
        err(
            &format!(
                "{CORD}limit_table = {{ by = \"ptv_volume_cc\", points = [[1, 2], [3, 4]] }}\n"
            ),
            16,
            "not both",
        );
    }

    #[test]
    fn duplicate_and_colliding_names_are_refused() {
        err(
            "\n[[structure]]\nname = \"SpinalCord\"\n",
            16,
            "the name 'SpinalCord' is already used by structure 'SpinalCord' (line 11)",
        );
        err(
            "\n[[structure]]\nname = \"Brainstem\"\naliases = [\"CORD\"]\n",
            16,
            "the name 'CORD' is the same as 'Cord' of structure 'SpinalCord' (line 11)",
        );
        err(
            "\n[[structure]]\nname = \"PTV_3000\"\n",
            16,
            "prescription 'PTV'",
        );
        err(
            "\n[[structure]]\nname = \" \"\n",
            17,
            "structure name is empty",
        );
        err("\n[[structure]]\nname = \"A=B\"\n", 17, "'='");
    }

    #[test]
    fn prescription_values_are_checked() {
        let text = HEAD.replace("fractions = 5", "fractions = 0");
        let e = parse(&text, "t.toml").unwrap_err().to_string();
        assert!(
            e.starts_with("t.toml:8: prescription 1 ('PTV'): fractions must be at least 1"),
            "{e}"
        );
        let text = HEAD.replace("total_gy = 30", "total_gy = -30");
        let e = parse(&text, "t.toml").unwrap_err().to_string();
        assert!(
            e.starts_with("t.toml:7: ") && e.contains("positive dose"),
            "{e}"
        );
        let text = HEAD.replace("total_gy = 30", "total_gy = nan");
        let e = parse(&text, "t.toml").unwrap_err().to_string();
        assert!(e.starts_with("t.toml:7: "), "{e}");
        let text = HEAD.replace("alpha_beta_gy = 2.0", "alpha_beta_gy = 0.0");
        let e = parse(&text, "t.toml").unwrap_err().to_string();
        assert!(
            e.starts_with("t.toml:14: ") && e.contains("alpha_beta_gy"),
            "{e}"
        );
        let no_rx = "[protocol]\nname = \"T\"\nversion = \"1\"\n";
        let e = parse(no_rx, "t.toml").unwrap_err().to_string();
        assert!(e.starts_with("t.toml:1: no [[prescription]]"), "{e}");
        let e = parse("", "t.toml").unwrap_err().to_string();
        assert!(e.contains("missing field 'protocol'"), "{e}");
        let e = parse(&HEAD.replace("version = \"1\"", "version = \"\""), "t.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("t.toml:3: protocol version is empty"), "{e}");
    }

    #[test]
    fn fractions_are_checked_and_converted() {
        err(
            &format!("{CORD}fractions = 0\n"),
            23,
            "fractions must be at least 1",
        );
        err(
            &format!("{}fractions = 3\n", CORD.replace("25.3Gy", "105%")),
            23,
            "nothing to convert",
        );
        let no_ab = "\n[[structure]]\nname = \"Liver\"\n\n[[constraint]]\nstructure = \"Liver\"\n\
                     query = \"Dmean\"\ncomparator = \"<\"\nlimit = \"15Gy\"\nlevel = \"optimal\"\n\
                     source = \"x\"\nfractions = 3\n";
        err(no_ab, 26, "needs alpha_beta_gy on structure 'Liver'");

        let p = ok(&format!(
            "{}fractions = 3\n",
            CORD.replace("D0.035cc", "V23Gy")
                .replace("25.3Gy", "0.35cc")
        ));
        let c = &p.constraints[0];
        let same = p.resolve(c, 3, None).unwrap();
        assert!(!same.derived);
        assert_eq!(same.query, Query::VolumeAtDose(23.0));
        let five = p.resolve(c, 5, None).unwrap();
        assert!(five.derived);
        let Query::VolumeAtDose(x) = five.query else {
            panic!("{:?}", five.query)
        };
        assert_relative_eq!(x, convert_same_bed(23.0, 3, 5, 2.0), max_relative = 1e-12);
        assert!(x > 23.0);
        assert_eq!(five.limit, Limit::Cc(0.35));

        let p = ok(&format!("{CORD}fractions = 5\n"));
        let r = p.resolve(&p.constraints[0], 5, None).unwrap();
        assert_eq!((r.limit, r.derived), (Limit::Gy(25.3), false));
        let r = p.resolve(&p.constraints[0], 1, None).unwrap();
        assert!(r.derived && r.limit.value() < 25.3);
    }

    const R50: &str = r#"
[[constraint]]
structure = "PTV"
query = "R50"
comparator = "<"
limit_table = { by = "ptv_volume_cc", points = [[1.8, 5.9], [3.8, 5.5], [7.4, 5.1]] }
level = "optimal"
source = "RTOG 0813"
"#;

    #[test]
    fn limit_tables_interpolate_and_do_not_extrapolate() {
        let p = ok(R50);
        let c = &p.constraints[0];
        let LimitSpec::Table(t) = &c.limit else {
            panic!("{:?}", c.limit)
        };
        assert_eq!(t.at(1.8), Some(Limit::Number(5.9)));
        assert_eq!(t.at(7.4), Some(Limit::Number(5.1)));
        assert_relative_eq!(t.at(2.8).unwrap().value(), 5.7, max_relative = 1e-12);
        assert_relative_eq!(t.at(5.6).unwrap().value(), 5.3, max_relative = 1e-12);
        assert_eq!(t.at(1.79), None);
        assert_eq!(t.at(7.41), None);
        assert_eq!(t.at(f64::NAN), None);
        assert!(p.resolve(c, 5, None).is_none());
        assert!(p.resolve(c, 5, Some(100.0)).is_none());
        assert_eq!(
            p.resolve(c, 5, Some(3.8)).unwrap().limit,
            Limit::Number(5.5)
        );
        assert_eq!(p.rx_role(c), Some("PTV"));

        let d2cm = R50
            .replace("\"R50\"", "\"D2cm\"")
            .replace("points", "unit = \"%\", points");
        let p = ok(&d2cm);
        let LimitSpec::Table(t) = &p.constraints[0].limit else {
            panic!()
        };
        assert_eq!(t.unit, LimitUnit::PercentRx);
        let cgy = R50
            .replace("\"R50\"", "\"Dmax\"")
            .replace("points", "unit = \"cGy\", points");
        let p = ok(&cgy);
        let at = p.constraints[0].limit.at(Some(1.8)).unwrap();
        assert_eq!(at.unit(), LimitUnit::Gy);
        assert_relative_eq!(at.value(), 0.059, max_relative = 1e-12);
    }

    #[test]
    fn bad_limit_tables_are_refused() {
        err(
            &R50.replace("[3.8, 5.5]", "[1.8, 5.5]"),
            20,
            "limit_table point 2: volumes must increase strictly, but 1.8 follows 1.8",
        );
        err(
            &R50.replace("[[1.8, 5.9], [3.8, 5.5], [7.4, 5.1]]", "[[1.8, 5.9]]"),
            20,
            "at least 2 points",
        );
        err(
            &R50.replace("5.5]", "-5.5]"),
            20,
            "limit -5.5 is not a non-negative",
        );
        err(
            &R50.replace("points", "unit = \"%\", points"),
            20,
            "limit_table unit '%'",
        );
        err(
            &R50.replace("ptv_volume_cc", "volume"),
            20,
            "unknown variant 'volume'",
        );
        err(
            &R50.replace("\"PTV\"", "\"SpinalCord\"")
                .replace("\"R50\"", "\"Dmax\"")
                .replace("points", "unit = \"Gy\", points"),
            16,
            "needs a target",
        );
    }

    #[test]
    fn rx_role_defaults() {
        let p = ok(&format!("{CORD}{}", CORD.replace("25.3Gy", "105%")));
        assert_eq!(p.rx_role(&p.constraints[0]), None);
        let with = format!("{}rx_role = \"PTV\"\n", CORD.replace("25.3Gy", "105%"));
        let p = ok(&with);
        assert_eq!(p.rx_role(&p.constraints[0]), Some("PTV"));
    }

    #[test]
    fn several_problems_report_the_first_and_count_the_rest() {
        let bad = format!(
            "{}{}",
            CORD.replace("\"Sahgal 2021\"", "\"\""),
            CORD.replace("D0.035cc", "Dx")
        );
        let e = parse(&format!("{HEAD}{bad}"), "t.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("t.toml:22: constraint 1: missing source"),
            "{e}"
        );
        assert!(e.ends_with("(and 1 more problem)"), "{e}");
    }

    #[test]
    fn load_reads_a_file_and_reports_a_missing_one() {
        let dir = std::env::temp_dir().join(format!("protocol-dev-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("my.toml");
        std::fs::write(&path, format!("{HEAD}{CORD}")).unwrap();
        assert_eq!(load(&path).unwrap().constraints.len(), 1);
        std::fs::write(&path, format!("{HEAD}{}", CORD.replace("25.3Gy", "25.3Gx"))).unwrap();
        let e = load(&path).unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("{}:20: ", path.display())),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
        let e = load(&dir.join("none.toml")).unwrap_err();
        assert_eq!(e.exit_code(), crate::ExitCode::Usage);
        assert!(e.to_string().contains("cannot read protocol"), "{e}");
    }

    #[test]
    fn schema_doc_example_is_valid_toml_for_the_schema() {
        let start = SCHEMA_DOC.find("```toml\n").unwrap() + 8;
        let end = start + SCHEMA_DOC[start..].find("```").unwrap();
        let p = parse(&SCHEMA_DOC[start..end], "doc").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.constraints.len(), 1);
    }
}
