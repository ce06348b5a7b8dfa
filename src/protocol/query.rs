//! The constraint language: text like `D0.035cc < 25.3Gy` -> a [`Constraint`]
//! (a [`Query`], a [`Comparator`] and a [`Limit`]).
//!
//! The queries follow the Mayo / TG-263 DVH query style (`D0.035cc`, `V20Gy`, `DC1000cc`,
//! `CV13.5Gy`) plus the plan-quality indices used by SBRT protocols:
//!
//! | text | query | value |
//! |---|---|---|
//! | `Dmax`, `Dmin`, `Dmean` | maximum, minimum, mean dose | dose |
//! | `D95%` | dose received by at least x % of the structure volume (x <= 100) | dose |
//! | `D0.035cc` | dose received by at least x cc | dose |
//! | `DC1000cc` | dose to the coldest x cc (critical volume: x cc must stay below the limit) | dose |
//! | `D2cm` | maximum dose 2 cm or more from the target (RTOG 0813 / 0915) | dose |
//! | `V30Gy`, `V3000cGy` | volume receiving at least x Gy (cGy are converted to Gy) | volume |
//! | `V100%` | volume receiving at least x % of the prescription | volume |
//! | `CV13.5Gy` | volume receiving less than x Gy (spared volume) | volume |
//! | `CI_Paddick`, `CI_RTOG`, `GI`, `R50`, `HI` | conformity, gradient, R50%, homogeneity | ratio |
//!
//! A constraint is `QUERY COMPARATOR LIMIT` with comparators `<`, `<=`, `>`, `>=`. Limits
//! carry a unit: `Gy`, `cGy` (converted to Gy), `cc` or `%`. What `%` means depends on the
//! query: for a dose-valued query it is percent of the prescription ([`Limit::PercentRx`]),
//! for a volume-valued query percent of the structure volume ([`Limit::PercentVolume`]).
//! Ratio queries take a bare number. Incompatible units are refused.
//!
//! Whitespace between tokens is optional (`V2300cGy<0.35 cc` is fine). Keywords are
//! case-sensitive, exactly as written above (`Dmax`, not `DMax`), and numbers are
//! non-negative decimals without sign or exponent (`0.035`, `25.3`, `100`).
//!
//! ```
//! use sbrt_verify::protocol::query::{parse_constraint, Comparator, Limit, Query};
//! let c = parse_constraint("V2300cGy < 0.35 cc").unwrap();
//! assert_eq!(c.query, Query::VolumeAtDose(23.0));
//! assert_eq!(c.comparator, Comparator::Lt);
//! assert_eq!(c.limit, Limit::Cc(0.35));
//! assert_eq!(c.to_string(), "V23Gy < 0.35cc");
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// What a query measures on a structure's dose distribution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Query {
    /// Maximum dose, Gy.
    Dmax,
    /// Minimum dose, Gy.
    Dmin,
    /// Mean dose, Gy.
    Dmean,
    /// `D95%`: dose received by at least x % of the structure volume (0 <= x <= 100).
    DosePercentVolume(f64),
    /// `D0.035cc`: dose received by at least x cc.
    DoseCc(f64),
    /// `V30Gy` / `V3000cGy`: volume receiving at least x Gy (the threshold is stored in Gy).
    VolumeAtDose(f64),
    /// `V100%`: volume receiving at least x % of the prescription.
    VolumeAtRxPercent(f64),
    /// `DC1000cc`: dose to the coldest x cc (critical volume): the highest dose such that
    /// x cc of the structure receive at most that dose.
    ColdDose(f64),
    /// `CV13.5Gy`: volume receiving less than x Gy (spared volume), cc.
    SparedVolume(f64),
    /// Paddick conformity index TV_PIV^2 / (TV x PIV) (Paddick 2000).
    CiPaddick,
    /// RTOG conformity index PIV / TV (equals RTOG 0813 / 0915's R100%).
    CiRtog,
    /// Paddick gradient index PIV50% / PIV (Paddick and Lippitz 2006).
    Gi,
    /// R50%: volume of the 50 % prescription isodose / PTV volume (RTOG 0813 / 0915).
    R50,
    /// Maximum dose 2 cm or more from the PTV in any direction (RTOG 0813 / 0915).
    D2cm,
    /// ICRU 83 homogeneity index (D2% - D98%) / D50%.
    Hi,
}

/// What kind of value a query returns, which fixes the units its limit may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// A dose: limits in Gy, cGy or % of the prescription.
    Dose,
    /// A volume: limits in cc or % of the structure volume.
    Volume,
    /// A dimensionless index: a bare number.
    Ratio,
}

impl Query {
    /// The canonical text (`D0.035cc`, `V30Gy`, `V100%`, `CI_Paddick`); it parses back to
    /// the same query.
    pub fn name(&self) -> String {
        match *self {
            Query::Dmax => "Dmax".into(),
            Query::Dmin => "Dmin".into(),
            Query::Dmean => "Dmean".into(),
            Query::DosePercentVolume(x) => format!("D{}%", fmt_num(x)),
            Query::DoseCc(x) => format!("D{}cc", fmt_num(x)),
            Query::VolumeAtDose(x) => format!("V{}Gy", fmt_num(x)),
            Query::VolumeAtRxPercent(x) => format!("V{}%", fmt_num(x)),
            Query::ColdDose(x) => format!("DC{}cc", fmt_num(x)),
            Query::SparedVolume(x) => format!("CV{}Gy", fmt_num(x)),
            Query::CiPaddick => "CI_Paddick".into(),
            Query::CiRtog => "CI_RTOG".into(),
            Query::Gi => "GI".into(),
            Query::R50 => "R50".into(),
            Query::D2cm => "D2cm".into(),
            Query::Hi => "HI".into(),
        }
    }

    /// What kind of value the query returns.
    pub fn value_kind(&self) -> ValueKind {
        match self {
            Query::Dmax
            | Query::Dmin
            | Query::Dmean
            | Query::DosePercentVolume(_)
            | Query::DoseCc(_)
            | Query::ColdDose(_)
            | Query::D2cm => ValueKind::Dose,
            Query::VolumeAtDose(_) | Query::VolumeAtRxPercent(_) | Query::SparedVolume(_) => {
                ValueKind::Volume
            }
            Query::CiPaddick | Query::CiRtog | Query::Gi | Query::R50 | Query::Hi => {
                ValueKind::Ratio
            }
        }
    }

    /// True when the query's value is a dose (Gy, or % of the prescription).
    pub fn returns_dose(&self) -> bool {
        self.value_kind() == ValueKind::Dose
    }

    /// True when the query itself needs the prescription dose: `V<x>%` and the indices
    /// defined by the prescription isodose (CI, GI, R50, D2cm).
    pub fn needs_prescription(&self) -> bool {
        matches!(
            self,
            Query::VolumeAtRxPercent(_)
                | Query::CiPaddick
                | Query::CiRtog
                | Query::Gi
                | Query::R50
                | Query::D2cm
        )
    }

    /// True for metrics defined only for a target (conformity, gradient and homogeneity
    /// indices, R50, D2cm).
    pub fn target_only(&self) -> bool {
        matches!(
            self,
            Query::CiPaddick | Query::CiRtog | Query::Gi | Query::R50 | Query::D2cm | Query::Hi
        )
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl FromStr for Query {
    type Err = QueryError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_query(s)
    }
}

impl Serialize for Query {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// How a query's value is compared with its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparator {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Comparator {
    /// True when `value COMPARATOR limit` holds. False when either is NaN.
    pub fn holds(&self, value: f64, limit: f64) -> bool {
        match self {
            Comparator::Lt => value < limit,
            Comparator::Le => value <= limit,
            Comparator::Gt => value > limit,
            Comparator::Ge => value >= limit,
        }
    }

    /// The symbol: `<`, `<=`, `>` or `>=`.
    pub fn symbol(&self) -> &'static str {
        match self {
            Comparator::Lt => "<",
            Comparator::Le => "<=",
            Comparator::Gt => ">",
            Comparator::Ge => ">=",
        }
    }

    /// Parses exactly `<`, `<=`, `>` or `>=` (surrounding whitespace allowed).
    pub fn parse(s: &str) -> Option<Comparator> {
        match s.trim() {
            "<" => Some(Comparator::Lt),
            "<=" => Some(Comparator::Le),
            ">" => Some(Comparator::Gt),
            ">=" => Some(Comparator::Ge),
            _ => None,
        }
    }
}

impl fmt::Display for Comparator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

impl Serialize for Comparator {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.symbol())
    }
}

/// A limit value with its unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit {
    /// A dose, Gy (`25.3Gy`; `2530cGy` is stored as 25.3).
    Gy(f64),
    /// A dose as percent of the prescription (`105%` on a dose-valued query).
    PercentRx(f64),
    /// A volume, cc.
    Cc(f64),
    /// A volume as percent of the structure volume (`95%` on a volume-valued query), 0-100.
    PercentVolume(f64),
    /// A dimensionless number (ratio queries).
    Number(f64),
}

/// The unit of a [`Limit`], without its value (used by limit tables). Serialises as
/// `Gy`, `%Rx`, `cc`, `%volume` or `` (number).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitUnit {
    /// Gy.
    Gy,
    /// Percent of the prescription.
    PercentRx,
    /// cc.
    Cc,
    /// Percent of the structure volume.
    PercentVolume,
    /// No unit.
    Number,
}

impl LimitUnit {
    /// The limit of this unit with value `value`.
    pub fn with(self, value: f64) -> Limit {
        match self {
            LimitUnit::Gy => Limit::Gy(value),
            LimitUnit::PercentRx => Limit::PercentRx(value),
            LimitUnit::Cc => Limit::Cc(value),
            LimitUnit::PercentVolume => Limit::PercentVolume(value),
            LimitUnit::Number => Limit::Number(value),
        }
    }

    /// The unit's label in JSON: `Gy`, `%Rx`, `cc`, `%volume`, or `` for a number.
    pub fn label(self) -> &'static str {
        match self {
            LimitUnit::Gy => "Gy",
            LimitUnit::PercentRx => "%Rx",
            LimitUnit::Cc => "cc",
            LimitUnit::PercentVolume => "%volume",
            LimitUnit::Number => "",
        }
    }

    /// The unit as written after a number (`Gy`, `%`, `cc`, or nothing).
    pub fn suffix(self) -> &'static str {
        match self {
            LimitUnit::Gy => "Gy",
            LimitUnit::PercentRx | LimitUnit::PercentVolume => "%",
            LimitUnit::Cc => "cc",
            LimitUnit::Number => "",
        }
    }
}

impl Limit {
    /// The number, in the limit's own unit.
    pub fn value(&self) -> f64 {
        match *self {
            Limit::Gy(x)
            | Limit::PercentRx(x)
            | Limit::Cc(x)
            | Limit::PercentVolume(x)
            | Limit::Number(x) => x,
        }
    }

    /// The unit.
    pub fn unit(&self) -> LimitUnit {
        match self {
            Limit::Gy(_) => LimitUnit::Gy,
            Limit::PercentRx(_) => LimitUnit::PercentRx,
            Limit::Cc(_) => LimitUnit::Cc,
            Limit::PercentVolume(_) => LimitUnit::PercentVolume,
            Limit::Number(_) => LimitUnit::Number,
        }
    }

    /// The limit as a dose in Gy, given the prescription dose in Gy; `None` for volume and
    /// number limits.
    pub fn dose_gy(&self, rx_gy: f64) -> Option<f64> {
        match *self {
            Limit::Gy(x) => Some(x),
            Limit::PercentRx(p) => Some(p / 100.0 * rx_gy),
            _ => None,
        }
    }

    /// The limit as a volume in cc, given the structure volume in cc; `None` for dose and
    /// number limits.
    pub fn volume_cc(&self, structure_cc: f64) -> Option<f64> {
        match *self {
            Limit::Cc(x) => Some(x),
            Limit::PercentVolume(p) => Some(p / 100.0 * structure_cc),
            _ => None,
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", fmt_num(self.value()), self.unit().suffix())
    }
}

impl Serialize for Limit {
    /// `{"value": 25.3, "unit": "Gy"}`; units `Gy`, `%Rx`, `cc`, `%volume`, `` (number).
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Limit", 2)?;
        st.serialize_field("value", &self.value())?;
        st.serialize_field("unit", self.unit().label())?;
        st.end()
    }
}

impl Serialize for LimitUnit {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.label())
    }
}

/// `QUERY COMPARATOR LIMIT`, e.g. `D0.035cc < 25.3Gy`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Constraint {
    pub query: Query,
    pub comparator: Comparator,
    pub limit: Limit,
}

impl Constraint {
    /// True when `value` (in the limit's unit) satisfies the constraint.
    pub fn holds(&self, value: f64) -> bool {
        self.comparator.holds(value, self.limit.value())
    }
}

impl fmt::Display for Constraint {
    /// Canonical text: `V23Gy < 0.35cc`; it parses back to the same constraint.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.query, self.comparator, self.limit)
    }
}

impl FromStr for Constraint {
    type Err = QueryError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_constraint(s)
    }
}

/// A parse error: where, what was expected, what was there.
///
/// `Display`: `'V30Gy >= 95x' at column 12: expected a unit (%, cc), found 'x'`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    /// 1-based character (not byte) position in `input`.
    pub column: usize,
    /// What the parser expected there, e.g. `a unit (%, cc)`.
    pub expected: String,
    /// The text found there (at most a short token); empty at the end of the input.
    pub found: String,
    /// The whole text that was parsed.
    pub input: String,
}

impl QueryError {
    /// The error without the input: `at column 12: expected a unit (%, cc), found 'x'`.
    pub fn detail(&self) -> String {
        let found = if self.found.is_empty() {
            "end of input".to_string()
        } else {
            format!("'{}'", self.found)
        };
        format!(
            "at column {}: expected {}, found {}",
            self.column, self.expected, found
        )
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}' {}", self.input, self.detail())
    }
}

impl std::error::Error for QueryError {}

/// Parses a query alone (`D0.035cc`); surrounding whitespace is allowed.
pub fn parse_query(s: &str) -> Result<Query, QueryError> {
    let mut c = Cursor::new(s);
    let q = c.query()?;
    c.end()?;
    Ok(q)
}

/// A metric to report (`dvh --metric`): a query of the constraint language and, for a
/// volume query, the unit to report it in (cc unless `[%]`: percent of the structure).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metric {
    pub query: Query,
    pub volume_percent: bool,
}

impl Metric {
    /// The name used as a JSON key: the query's text, with `_cc` or `_%` after a volume
    /// query (`D95%`, `D0.035cc`, `V20Gy_cc`, `V20Gy_%`).
    pub fn name(&self) -> String {
        match (self.query.value_kind(), self.volume_percent) {
            (ValueKind::Volume, true) => format!("{}_%", self.query),
            (ValueKind::Volume, false) => format!("{}_cc", self.query),
            _ => self.query.name(),
        }
    }
}

/// Parses a metric: a query (`D95%`, `D0.035cc`, `Dmean`, `DC1000cc`, `HI`), or a volume
/// query with an optional unit (`V20Gy` and `V20Gy[cc]` in cc, `V20Gy[%]` in percent of the
/// structure). Queries that need a prescription or the dose grid (`V100%`, CI, GI, R50,
/// D2cm) are refused: they belong to a check.
pub fn parse_metric(s: &str) -> Result<Metric, String> {
    let t = s.trim();
    let (text, unit) = match t.strip_suffix(']').and_then(|x| x.rsplit_once('[')) {
        Some((q, u)) => (q, Some(u.trim())),
        None => (t, None),
    };
    let query = parse_query(text).map_err(|e| {
        let hint = if text.ends_with("Gy%") {
            format!(
                " (percent of the structure is written {}[%])",
                &text[..text.len() - 1]
            )
        } else {
            String::new()
        };
        format!("{e}{hint}")
    })?;
    if query.needs_prescription() {
        return Err(format!(
            "'{s}': {query} needs a prescription and the dose grid; `check` evaluates it"
        ));
    }
    let volume_percent = match (query.value_kind(), unit) {
        (_, None) => false,
        (ValueKind::Volume, Some("cc")) => false,
        (ValueKind::Volume, Some("%")) => true,
        (ValueKind::Volume, Some(u)) => {
            return Err(format!("'{s}': unit [{u}]: expected [cc] or [%]"));
        }
        (_, Some(_)) => {
            return Err(format!(
                "'{s}': only a volume query takes a unit ([cc] or [%])"
            ));
        }
    };
    Ok(Metric {
        query,
        volume_percent,
    })
}

/// Parses a whole constraint (`D0.035cc < 25.3Gy`).
pub fn parse_constraint(s: &str) -> Result<Constraint, QueryError> {
    let mut c = Cursor::new(s);
    let query = c.query()?;
    let comparator = c.comparator()?;
    let limit = c.limit(&query)?;
    c.end()?;
    Ok(Constraint {
        query,
        comparator,
        limit,
    })
}

/// Parses a limit (`25.3Gy`, `95%`, `0.35 cc`, `5.9`) for the given query: `%` becomes
/// percent of the prescription or of the volume according to the query's [`ValueKind`].
/// Columns in errors count from the start of `s`.
pub fn parse_limit(s: &str, for_query: &Query) -> Result<Limit, QueryError> {
    let mut c = Cursor::new(s);
    let limit = c.limit(for_query)?;
    c.end()?;
    Ok(limit)
}

/// Formats a number as its shortest round-trip decimal, without a trailing `.0`.
pub(crate) fn fmt_num(x: f64) -> String {
    let s = format!("{x}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// Keywords that are whole queries.
const KEYWORDS: [(&str, Query); 9] = [
    ("Dmax", Query::Dmax),
    ("Dmin", Query::Dmin),
    ("Dmean", Query::Dmean),
    ("CI_Paddick", Query::CiPaddick),
    ("CI_RTOG", Query::CiRtog),
    ("GI", Query::Gi),
    ("R50", Query::R50),
    ("D2cm", Query::D2cm),
    ("HI", Query::Hi),
];

const QUERY_FORMS: &str = "a query (Dmax, Dmin, Dmean, D<x>%, D<x>cc, DC<x>cc, D2cm, \
                           V<x>Gy, V<x>cGy, V<x>%, CV<x>Gy, CI_Paddick, CI_RTOG, GI, R50, HI)";

/// Longest "found" text an error quotes.
const MAX_FOUND_CHARS: usize = 24;

struct Cursor<'a> {
    input: &'a str,
    chars: Vec<char>,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(input: &'a str) -> Self {
        Cursor {
            input,
            chars: input.chars().collect(),
            pos: 0,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// The token at `at` for error messages: a run of non-space characters, stopping at a
    /// comparator character unless the token starts with one.
    fn found_at(&self, at: usize) -> String {
        let is_cmp = |c: char| c == '<' || c == '>' || c == '=';
        let rest = &self.chars[at.min(self.chars.len())..];
        let Some(&first) = rest.first() else {
            return String::new();
        };
        let token: Vec<char> = if is_cmp(first) {
            rest.iter().copied().take_while(|c| is_cmp(*c)).collect()
        } else {
            rest.iter()
                .copied()
                .take_while(|c| !c.is_whitespace() && !is_cmp(*c))
                .collect()
        };
        if token.len() > MAX_FOUND_CHARS {
            let mut s: String = token[..MAX_FOUND_CHARS].iter().collect();
            s.push_str("...");
            s
        } else {
            token.into_iter().collect()
        }
    }

    fn error_at(&self, at: usize, expected: impl Into<String>) -> QueryError {
        self.error_found(at, expected, self.found_at(at))
    }

    fn error_found(
        &self,
        at: usize,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> QueryError {
        QueryError {
            column: at + 1,
            expected: expected.into(),
            found: found.into(),
            input: self.input.to_string(),
        }
    }

    /// Consumes `s` if the input continues with it.
    fn eat(&mut self, s: &str) -> bool {
        let n = s.chars().count();
        let matches = self.chars.len() >= self.pos + n
            && self.chars[self.pos..self.pos + n]
                .iter()
                .copied()
                .eq(s.chars());
        if matches {
            self.pos += n;
        }
        matches
    }

    /// A run of characters from `pos` satisfying `f`, without consuming it.
    fn run(&self, f: impl Fn(char) -> bool) -> String {
        self.chars[self.pos..]
            .iter()
            .copied()
            .take_while(|c| f(*c))
            .collect()
    }

    fn end(&mut self) -> Result<(), QueryError> {
        self.skip_ws();
        if self.pos < self.chars.len() {
            return Err(self.error_at(self.pos, "end of input"));
        }
        Ok(())
    }

    /// A non-negative finite decimal number: digits with at most one decimal point.
    fn number(&mut self) -> Result<f64, QueryError> {
        self.skip_ws();
        let start = self.pos;
        let text = self.run(|c| c.is_ascii_digit() || c == '.');
        let digits = text.chars().filter(char::is_ascii_digit).count();
        let points = text.chars().filter(|c| *c == '.').count();
        if digits == 0 || points > 1 {
            return Err(self.error_at(start, "a non-negative number"));
        }
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => {
                self.pos += text.chars().count();
                Ok(v)
            }
            _ => Err(self.error_at(start, "a finite number")),
        }
    }

    /// The unit word after a number: a run of ASCII letters or `%` (may be empty).
    fn unit_word(&mut self) -> (usize, String) {
        self.skip_ws();
        let start = self.pos;
        let word = self.run(|c| c.is_ascii_alphabetic() || c == '%');
        self.pos += word.chars().count();
        (start, word)
    }

    /// The text at the cursor -> a query: a keyword, else a metric with a number and a unit
    /// (DC, CV, D, V, tried in that order).
    fn query(&mut self) -> Result<Query, QueryError> {
        self.skip_ws();
        let start = self.pos;
        if let Some(q) = self.keyword(start)? {
            return Ok(q);
        }
        if self.eat("DC") {
            return self.cold_dose();
        }
        if self.eat("CV") {
            return self.spared_volume();
        }
        if self.eat("D") {
            return self.dose_metric();
        }
        if self.eat("V") {
            return self.volume_metric();
        }
        Err(self.error_at(start, QUERY_FORMS))
    }

    /// The word at `start` -> its keyword query (the cursor moved past it), `None` when it is
    /// no keyword, or an error when it is one in another case.
    fn keyword(&mut self, start: usize) -> Result<Option<Query>, QueryError> {
        let ident = self.run(|c| c.is_alphanumeric() || c == '_' || c == '.' || c == '%');
        for (kw, q) in KEYWORDS {
            if ident == kw {
                self.pos += kw.chars().count();
                return Ok(Some(q));
            }
        }
        if let Some((kw, _)) = KEYWORDS
            .iter()
            .find(|(kw, _)| ident.eq_ignore_ascii_case(kw))
        {
            return Err(self.error_at(
                start,
                format!("a query (keywords are case-sensitive: '{kw}')"),
            ));
        }
        Ok(None)
    }

    /// The text after `DC` -> the cold dose `DC<x>cc`.
    fn cold_dose(&mut self) -> Result<Query, QueryError> {
        let x = self.number()?;
        let (at, unit) = self.unit_word();
        if unit != "cc" {
            return Err(self.error_found(
                at,
                "the unit 'cc' (DC<x>cc)",
                unit_or_next(self, at, &unit),
            ));
        }
        Ok(Query::ColdDose(x))
    }

    /// The text after `CV` -> the volume spared a dose, `CV<x>Gy` (or cGy).
    fn spared_volume(&mut self) -> Result<Query, QueryError> {
        let x = self.number()?;
        let (at, unit) = self.unit_word();
        match unit.as_str() {
            "Gy" => Ok(Query::SparedVolume(x)),
            "cGy" => Ok(Query::SparedVolume(x / 100.0)),
            _ => Err(self.error_found(at, "a dose unit (Gy, cGy)", unit_or_next(self, at, &unit))),
        }
    }

    /// The text after `D` -> a dose metric: `D<x>%`, `D<x>cc` or `D2cm`.
    fn dose_metric(&mut self) -> Result<Query, QueryError> {
        let num_at = {
            self.skip_ws();
            self.pos
        };
        let x = self.number()?;
        let (at, unit) = self.unit_word();
        match unit.as_str() {
            "%" if x <= 100.0 => Ok(Query::DosePercentVolume(x)),
            "%" => Err(self.error_found(
                num_at,
                "a volume percentage from 0 to 100",
                self.found_at(num_at).trim_end_matches('%').to_string(),
            )),
            "cc" => Ok(Query::DoseCc(x)),
            "cm" if x == 2.0 => Ok(Query::D2cm),
            "cm" => Err(self.error_found(
                num_at,
                "2 (D2cm is the only distance metric)",
                self.found_at(num_at).trim_end_matches("cm").to_string(),
            )),
            _ => Err(self.error_found(at, "a unit (%, cc)", unit_or_next(self, at, &unit))),
        }
    }

    /// The text after `V` -> a volume metric: `V<x>Gy` (or cGy) or `V<x>%` of the
    /// prescription.
    fn volume_metric(&mut self) -> Result<Query, QueryError> {
        let x = self.number()?;
        let (at, unit) = self.unit_word();
        match unit.as_str() {
            "Gy" => Ok(Query::VolumeAtDose(x)),
            "cGy" => Ok(Query::VolumeAtDose(x / 100.0)),
            "%" => Ok(Query::VolumeAtRxPercent(x)),
            _ => Err(self.error_found(at, "a unit (Gy, cGy, %)", unit_or_next(self, at, &unit))),
        }
    }

    fn comparator(&mut self) -> Result<Comparator, QueryError> {
        self.skip_ws();
        for (text, c) in [
            ("<=", Comparator::Le),
            (">=", Comparator::Ge),
            ("<", Comparator::Lt),
            (">", Comparator::Gt),
        ] {
            if self.eat(text) {
                if self.peek() == Some('=') || self.peek() == Some('<') || self.peek() == Some('>')
                {
                    self.pos -= text.chars().count();
                    break;
                }
                return Ok(c);
            }
        }
        Err(self.error_at(self.pos, "a comparator (<, <=, >, >=)"))
    }

    fn limit(&mut self, q: &Query) -> Result<Limit, QueryError> {
        self.skip_ws();
        let num_at = self.pos;
        let x = self.number()?;
        let (at, unit) = self.unit_word();
        let kind = q.value_kind();
        let limit = match (kind, unit.as_str()) {
            (ValueKind::Dose, "Gy") => Limit::Gy(x),
            (ValueKind::Dose, "cGy") => Limit::Gy(x / 100.0),
            (ValueKind::Dose, "%") => Limit::PercentRx(x),
            (ValueKind::Dose, "cc") => {
                return Err(self.error_found(
                    at,
                    "a dose limit (Gy, cGy or % of prescription)",
                    unit,
                ))
            }
            (ValueKind::Volume, "cc") => Limit::Cc(x),
            (ValueKind::Volume, "%") if x <= 100.0 => Limit::PercentVolume(x),
            (ValueKind::Volume, "%") => {
                return Err(self.error_found(
                    num_at,
                    "a volume limit of at most 100 % of the structure",
                    self.found_at(num_at),
                ))
            }
            (ValueKind::Volume, "Gy" | "cGy") => {
                return Err(self.error_found(at, "a volume limit (cc or %)", unit))
            }
            (ValueKind::Ratio, "") => Limit::Number(x),
            (ValueKind::Ratio, "Gy" | "cGy" | "cc" | "%") => {
                return Err(self.error_found(
                    at,
                    format!("a bare number ({} is a ratio)", q.name()),
                    unit,
                ))
            }
            (ValueKind::Dose, _) => {
                return Err(self.error_found(
                    at,
                    "a unit (Gy, cGy, %)",
                    unit_or_next(self, at, &unit),
                ))
            }
            (ValueKind::Volume, _) => {
                return Err(self.error_found(at, "a unit (%, cc)", unit_or_next(self, at, &unit)))
            }
            (ValueKind::Ratio, _) => {
                return Err(self.error_found(
                    at,
                    format!("a bare number ({} is a ratio)", q.name()),
                    unit_or_next(self, at, &unit),
                ))
            }
        };
        Ok(limit)
    }
}

/// The text to quote as "found" for a bad unit: the unit word itself, or (when no unit
/// letters were there) the next token.
fn unit_or_next(c: &Cursor<'_>, at: usize, unit: &str) -> String {
    if unit.is_empty() {
        c.found_at(at)
    } else {
        unit.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Query {
        parse_query(s).unwrap_or_else(|e| panic!("{e}"))
    }

    fn c(s: &str) -> Constraint {
        parse_constraint(s).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Each example of the constraint language -> its query, comparator and limit; one row
    /// of a flat table per example, which splitting would make no easier to read.
    #[test]
    fn every_example_of_the_language_parses() {
        let cases = [
            (
                "V30Gy >= 95%",
                Query::VolumeAtDose(30.0),
                Comparator::Ge,
                Limit::PercentVolume(95.0),
            ),
            (
                "D0.035cc < 30Gy",
                Query::DoseCc(0.035),
                Comparator::Lt,
                Limit::Gy(30.0),
            ),
            (
                "V23Gy < 0.35cc",
                Query::VolumeAtDose(23.0),
                Comparator::Lt,
                Limit::Cc(0.35),
            ),
            (
                "DC1000cc < 13.5Gy",
                Query::ColdDose(1000.0),
                Comparator::Lt,
                Limit::Gy(13.5),
            ),
            (
                "Dmax <= 105%",
                Query::Dmax,
                Comparator::Le,
                Limit::PercentRx(105.0),
            ),
            (
                "CV13.5Gy > 1000cc",
                Query::SparedVolume(13.5),
                Comparator::Gt,
                Limit::Cc(1000.0),
            ),
            (
                "CI_Paddick >= 0.8",
                Query::CiPaddick,
                Comparator::Ge,
                Limit::Number(0.8),
            ),
            (
                "V2300cGy < 0.35 cc",
                Query::VolumeAtDose(23.0),
                Comparator::Lt,
                Limit::Cc(0.35),
            ),
            (
                "D95% >= 100%",
                Query::DosePercentVolume(95.0),
                Comparator::Ge,
                Limit::PercentRx(100.0),
            ),
            (
                "V100% >= 95%",
                Query::VolumeAtRxPercent(100.0),
                Comparator::Ge,
                Limit::PercentVolume(95.0),
            ),
            ("R50 < 5.9", Query::R50, Comparator::Lt, Limit::Number(5.9)),
            (
                "D2cm < 50%",
                Query::D2cm,
                Comparator::Lt,
                Limit::PercentRx(50.0),
            ),
            ("HI <= 0.3", Query::Hi, Comparator::Le, Limit::Number(0.3)),
            ("GI < 4", Query::Gi, Comparator::Lt, Limit::Number(4.0)),
            (
                "CI_RTOG < 1.2",
                Query::CiRtog,
                Comparator::Lt,
                Limit::Number(1.2),
            ),
            ("Dmean <= 8Gy", Query::Dmean, Comparator::Le, Limit::Gy(8.0)),
            (
                "Dmin > 2530cGy",
                Query::Dmin,
                Comparator::Gt,
                Limit::Gy(25.3),
            ),
        ];
        for (text, query, comparator, limit) in cases {
            assert_eq!(
                c(text),
                Constraint {
                    query,
                    comparator,
                    limit
                },
                "{text}"
            );
        }
    }

    #[test]
    fn whitespace_between_tokens_is_optional() {
        assert_eq!(c("V30Gy>=95%"), c("  V30Gy   >=   95 %  "));
        assert_eq!(c("D0.035cc<25.3Gy"), c("D 0.035 cc < 25.3 Gy"));
        assert_eq!(q(" Dmax "), Query::Dmax);
    }

    #[test]
    fn canonical_text_parses_back_to_the_same_value() {
        let queries = [
            Query::Dmax,
            Query::Dmin,
            Query::Dmean,
            Query::DosePercentVolume(95.0),
            Query::DosePercentVolume(0.5),
            Query::DoseCc(0.035),
            Query::VolumeAtDose(23.0),
            Query::VolumeAtDose(14.5),
            Query::VolumeAtDose(12.345),
            Query::VolumeAtRxPercent(100.0),
            Query::VolumeAtRxPercent(105.0),
            Query::ColdDose(1500.0),
            Query::SparedVolume(13.5),
            Query::CiPaddick,
            Query::CiRtog,
            Query::Gi,
            Query::R50,
            Query::D2cm,
            Query::Hi,
        ];
        for query in queries {
            assert_eq!(q(&query.name()), query, "{}", query.name());
        }
        assert_eq!(Query::DoseCc(0.035).name(), "D0.035cc");
        assert_eq!(Query::VolumeAtDose(30.0).name(), "V30Gy");
        assert_eq!(Query::VolumeAtRxPercent(100.0).name(), "V100%");
        assert_eq!(q("V2300cGy").name(), "V23Gy");
        for text in [
            "V23Gy < 0.35cc",
            "Dmax <= 105%",
            "D95% >= 100%",
            "R50 < 5.9",
            "V23Gy < 66.7%",
            "DC200cc < 17.5Gy",
        ] {
            let parsed = c(text);
            assert_eq!(parsed.to_string(), text);
            assert_eq!(c(&parsed.to_string()), parsed);
        }
    }

    #[test]
    fn percent_means_rx_for_doses_and_volume_for_volumes() {
        assert_eq!(parse_limit("95%", &Query::Dmax), Ok(Limit::PercentRx(95.0)));
        assert_eq!(
            parse_limit("95%", &Query::VolumeAtDose(30.0)),
            Ok(Limit::PercentVolume(95.0))
        );
        assert_eq!(
            parse_limit("95%", &Query::VolumeAtRxPercent(100.0)),
            Ok(Limit::PercentVolume(95.0))
        );
        assert_eq!(parse_limit("3000 cGy", &Query::Dmax), Ok(Limit::Gy(30.0)));
        assert_eq!(parse_limit(" 5.9 ", &Query::R50), Ok(Limit::Number(5.9)));
        assert_eq!(Limit::PercentRx(105.0).dose_gy(30.0), Some(31.5));
        assert_eq!(Limit::PercentVolume(10.0).volume_cc(200.0), Some(20.0));
        assert_eq!(Limit::Cc(1.0).dose_gy(30.0), None);
    }

    #[test]
    fn incompatible_units_are_refused_with_the_column_of_the_unit() {
        let e = parse_constraint("V30Gy < 20Gy").unwrap_err();
        assert_eq!(e.column, 11);
        assert_eq!(
            e.detail(),
            "at column 11: expected a volume limit (cc or %), found 'Gy'"
        );
        let e = parse_constraint("D0.035cc < 1cc").unwrap_err();
        assert_eq!(e.expected, "a dose limit (Gy, cGy or % of prescription)");
        assert_eq!(e.found, "cc");
        let e = parse_constraint("GI < 4%").unwrap_err();
        assert_eq!(e.expected, "a bare number (GI is a ratio)");
        let e = parse_constraint("Dmax < 30").unwrap_err();
        assert_eq!(e.expected, "a unit (Gy, cGy, %)");
        assert_eq!(e.found, "");
        assert!(e.to_string().ends_with("found end of input"));
        let e = parse_constraint("V30Gy < 120%").unwrap_err();
        assert!(e.expected.contains("at most 100"), "{e}");
    }

    #[test]
    fn error_display_names_input_column_expected_and_found() {
        let e = parse_constraint("V30Gy >= 95x").unwrap_err();
        assert_eq!(
            e.to_string(),
            "'V30Gy >= 95x' at column 12: expected a unit (%, cc), found 'x'"
        );
        let e = parse_query("D95x").unwrap_err();
        assert_eq!(
            e.detail(),
            "at column 4: expected a unit (%, cc), found 'x'"
        );
        let e = parse_query("DMax").unwrap_err();
        assert_eq!(e.column, 1);
        assert!(e.expected.contains("'Dmax'"), "{e}");
        let e = parse_query("D120%").unwrap_err();
        assert_eq!((e.column, e.found.as_str()), (2, "120"));
        let e = parse_query("D3cm").unwrap_err();
        assert!(e.expected.contains("D2cm"), "{e}");
        let e = parse_constraint("V30Gy = 95%").unwrap_err();
        assert_eq!((e.column, e.found.as_str()), (7, "="));
        let e = parse_constraint("V30Gy =< 95%").unwrap_err();
        assert_eq!(e.found, "=<");
        let e = parse_constraint("V30Gy <== 95%").unwrap_err();
        assert_eq!((e.column, e.found.as_str()), (7, "<=="));
        let e = parse_constraint("V30Gy < 95% extra").unwrap_err();
        assert_eq!((e.column, e.found.as_str()), (13, "extra"));
        let e = parse_query("Rx50").unwrap_err();
        assert!(e.expected.starts_with("a query"), "{e}");
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let e = parse_constraint("V30Gy ≤ 95%").unwrap_err();
        assert_eq!((e.column, e.found.as_str()), (7, "≤"));
        let e = parse_constraint("V30Gy < 95µ").unwrap_err();
        assert_eq!(e.column, 11);
    }

    #[test]
    fn comparator_holds() {
        assert!(Comparator::Lt.holds(1.0, 2.0));
        assert!(!Comparator::Lt.holds(2.0, 2.0));
        assert!(Comparator::Le.holds(2.0, 2.0));
        assert!(Comparator::Gt.holds(3.0, 2.0));
        assert!(!Comparator::Gt.holds(2.0, 2.0));
        assert!(Comparator::Ge.holds(2.0, 2.0));
        for cmp in [
            Comparator::Lt,
            Comparator::Le,
            Comparator::Gt,
            Comparator::Ge,
        ] {
            assert!(!cmp.holds(f64::NAN, 1.0));
            assert_eq!(Comparator::parse(cmp.symbol()), Some(cmp));
            assert_eq!(cmp.to_string(), cmp.symbol());
        }
        assert_eq!(Comparator::parse("=<"), None);
    }

    #[test]
    fn query_kinds() {
        assert!(Query::DoseCc(0.035).returns_dose());
        assert!(Query::ColdDose(1000.0).returns_dose());
        assert!(Query::D2cm.returns_dose());
        assert!(!Query::VolumeAtDose(20.0).returns_dose());
        assert!(!Query::SparedVolume(20.0).returns_dose());
        assert!(!Query::R50.returns_dose());
        assert_eq!(Query::Hi.value_kind(), ValueKind::Ratio);
        assert!(Query::VolumeAtRxPercent(100.0).needs_prescription());
        assert!(!Query::DoseCc(0.035).needs_prescription());
        assert!(Query::Gi.target_only());
        assert!(!Query::Dmean.target_only());
    }

    #[test]
    fn serialises_as_text_and_value_unit() {
        let c = c("V23Gy < 66.7%");
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(
            json,
            r#"{"query":"V23Gy","comparator":"<","limit":{"value":66.7,"unit":"%volume"}}"#
        );
    }

    /// Random strings over the language's own characters (plus a few foreign ones): never a
    /// panic, every error column inside the input, every success round-trips.
    #[test]
    fn random_strings_never_panic_and_successes_round_trip() {
        const ALPHABET: [&str; 28] = [
            "D", "V", "C", "c", "G", "y", "m", "a", "x", "%", "<", ">", "=", ".", "0", "1", "2",
            "5", "9", " ", "Dmax", "CI_", "Paddick", "R50", "HI", "GI", "é", "\u{2264}",
        ];
        // A fixed linear congruential generator: deterministic, no dependency.
        let mut state: u64 = 0x5EED;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize
        };
        let mut parsed = 0;
        for _ in 0..20_000 {
            let len = next() % 12;
            let s: String = (0..len)
                .map(|_| ALPHABET[next() % ALPHABET.len()])
                .collect();
            match parse_constraint(&s) {
                Ok(c) => {
                    parsed += 1;
                    assert_eq!(parse_constraint(&c.to_string()), Ok(c), "{s:?}");
                }
                Err(e) => {
                    assert!(
                        e.column >= 1 && e.column <= s.chars().count() + 1,
                        "{s:?}: {e}"
                    );
                }
            }
            if let Ok(q) = parse_query(&s) {
                assert_eq!(parse_query(&q.name()), Ok(q), "{s:?}");
            }
        }
        assert!(
            parsed > 0,
            "the generator should hit some valid constraints"
        );
    }

    #[test]
    fn garbage_never_panics_and_always_errors() {
        let long_digits = "9".repeat(400);
        let garbage = [
            String::new(),
            " ".into(),
            "\t\n".into(),
            "<".into(),
            "V".into(),
            "D".into(),
            "DC".into(),
            "CV".into(),
            "Dmax".into(),
            "Dmax <".into(),
            "Dmax <=".into(),
            "V30Gy >= ".into(),
            "NaN".into(),
            "DNaN%".into(),
            "Dmax < NaN Gy".into(),
            "Dmax < inf Gy".into(),
            "Dmax < infinity".into(),
            "Dmax < -1Gy".into(),
            "D-1cc < 1Gy".into(),
            "V-5Gy < 1cc".into(),
            "Dmax < 1e3Gy".into(),
            "Dmax < 1.2.3Gy".into(),
            "Dmax < .Gy".into(),
            format!("Dmax < {long_digits}Gy"),
            format!("D{long_digits}cc < 1Gy"),
            format!("V{long_digits}.{long_digits}Gy < 1cc"),
            "Dmax < 30Gy < 40Gy".into(),
            "🙂".into(),
            "D🙂cc < 1Gy".into(),
            "Dmax < 30🙂".into(),
            "Ｄmax < 30Gy".into(),
            "V30Ｇy < 1cc".into(),
            "\u{0}".into(),
            "D\u{200b}5cc < 1Gy".into(),
            "V30Gy >= 95x".into(),
            "V30Gy >=\u{a0}95%x".into(),
            "CI_Paddick".into(),
            "CI_Paddick >= 0.8 cc".into(),
            "R50%< 5".into(),
            "D2cm < 50cc".into(),
            "V100% >= 101%".into(),
            "%%%".into(),
            "...".into(),
            "DCcc < 1Gy".into(),
            "CV1cc > 1cc".into(),
        ];
        for g in &garbage {
            let r = std::panic::catch_unwind(|| parse_constraint(g));
            let r = r.unwrap_or_else(|_| panic!("panicked on {g:?}"));
            let e = r.expect_err(g);
            assert!(
                e.column >= 1 && e.column <= g.chars().count() + 1,
                "{g:?}: {e}"
            );
            let _ = e.to_string();
            let _ = parse_query(g);
            for query in [Query::Dmax, Query::VolumeAtDose(1.0), Query::Gi] {
                let _ = parse_limit(g, &query);
            }
        }
        // Long numbers that still fit in f64 are fine; quoting of long tokens is bounded.
        let e = parse_constraint(&format!("Dmax < {long_digits}Gy")).unwrap_err();
        assert_eq!(e.expected, "a finite number");
        assert!(e.found.chars().count() <= MAX_FOUND_CHARS + 3);
    }

    #[test]
    fn metrics_are_queries_with_a_volume_unit() {
        let m = |s: &str| parse_metric(s).unwrap();
        assert_eq!(m("D95%").name(), "D95%");
        assert_eq!(m("D0.035cc").name(), "D0.035cc");
        assert_eq!(m("V20Gy").name(), "V20Gy_cc");
        assert_eq!(m("V20Gy[cc]").name(), "V20Gy_cc");
        assert_eq!(m("V2000cGy[%]").name(), "V20Gy_%");
        assert_eq!(m("CV13.5Gy[%]").name(), "CV13.5Gy_%");
        assert_eq!(m("Dmean").query, Query::Dmean);
        assert_eq!(m("HI").query, Query::Hi);
        let err = |s: &str| parse_metric(s).unwrap_err();
        assert!(err("V20Gy%").contains("V20Gy[%]"), "{}", err("V20Gy%"));
        assert!(err("V100%").contains("prescription"));
        assert!(err("CI_RTOG").contains("check"));
        assert!(err("D95%[cc]").contains("only a volume query"));
        assert!(err("V20Gy[ml]").contains("[cc] or [%]"));
    }
}
