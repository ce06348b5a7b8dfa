//! The metrics a user names on the command line (`dvh --metric D95%`) and the ones every DVH
//! report lists, each read off a [`Dvh`].

use serde::Serialize;

use super::curve::Dvh;

/// A metric a user can ask for by name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum MetricSpec {
    /// Dose to x % of the volume (`D95%`).
    DosePercent(f64),
    /// Dose to x cc (`D0.035cc`).
    DoseCc(f64),
    /// Volume receiving at least x Gy, in cc (`V20Gy` or `V20Gy[cc]`).
    VolumeCc(f64),
    /// Volume receiving at least x Gy, in % (`V20Gy[%]`).
    VolumePercent(f64),
}

impl MetricSpec {
    /// Parses `D95%`, `D0.035cc`, `V20Gy` (cc), `V20Gy%` (percent of volume).
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let num = |x: &str| -> Result<f64, String> {
            x.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| format!("'{s}': '{x}' is not a non-negative number"))
        };
        if let Some(rest) = t.strip_prefix('D') {
            if let Some(x) = rest.strip_suffix('%') {
                let v = num(x)?;
                if v > 100.0 {
                    return Err(format!("'{s}': percent over 100"));
                }
                return Ok(MetricSpec::DosePercent(v));
            }
            if let Some(x) = rest.strip_suffix("cc") {
                return Ok(MetricSpec::DoseCc(num(x)?));
            }
        }
        if let Some(rest) = t.strip_prefix('V') {
            if let Some(x) = rest.strip_suffix("Gy%") {
                return Ok(MetricSpec::VolumePercent(num(x)?));
            }
            if let Some(x) = rest.strip_suffix("Gy") {
                return Ok(MetricSpec::VolumeCc(num(x)?));
            }
        }
        Err(format!(
            "'{s}': expected D<x>%, D<x>cc, V<x>Gy (cc) or V<x>Gy% (percent)"
        ))
    }

    /// The canonical name (used as the JSON key).
    pub fn name(&self) -> String {
        match self {
            MetricSpec::DosePercent(x) => format!("D{}%", fmt_num(*x)),
            MetricSpec::DoseCc(x) => format!("D{}cc", fmt_num(*x)),
            MetricSpec::VolumeCc(x) => format!("V{}Gy_cc", fmt_num(*x)),
            MetricSpec::VolumePercent(x) => format!("V{}Gy_%", fmt_num(*x)),
        }
    }

    /// Evaluates on a DVH (`None` when undefined, e.g. D2cc of a 1 cc structure).
    pub fn eval(&self, dvh: &Dvh) -> Option<f64> {
        if dvh.is_empty() {
            return None;
        }
        match *self {
            MetricSpec::DosePercent(x) => dvh.dose_at_volume_percent(x),
            MetricSpec::DoseCc(x) => dvh.dose_at_volume_cc(x),
            MetricSpec::VolumeCc(d) => Some(dvh.volume_at_dose_cc(d)),
            MetricSpec::VolumePercent(d) => Some(dvh.volume_at_dose_percent(d)),
        }
    }
}

fn fmt_num(x: f64) -> String {
    let s = format!("{x}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// The metrics every DVH report lists.
pub fn default_metrics() -> Vec<MetricSpec> {
    vec![
        MetricSpec::DoseCc(0.035),
        MetricSpec::DosePercent(1.0),
        MetricSpec::DosePercent(2.0),
        MetricSpec::DosePercent(5.0),
        MetricSpec::DosePercent(50.0),
        MetricSpec::DosePercent(95.0),
        MetricSpec::DosePercent(98.0),
        MetricSpec::DosePercent(99.0),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_parse_and_print() {
        assert_eq!(
            MetricSpec::parse("D95%").unwrap(),
            MetricSpec::DosePercent(95.0)
        );
        assert_eq!(
            MetricSpec::parse("D0.035cc").unwrap(),
            MetricSpec::DoseCc(0.035)
        );
        assert_eq!(
            MetricSpec::parse("V20Gy").unwrap(),
            MetricSpec::VolumeCc(20.0)
        );
        assert_eq!(
            MetricSpec::parse("V20Gy%").unwrap(),
            MetricSpec::VolumePercent(20.0)
        );
        assert!(MetricSpec::parse("D120%").is_err());
        assert!(MetricSpec::parse("X5").is_err());
        assert!(MetricSpec::parse("D-1cc").is_err());
        assert_eq!(MetricSpec::DoseCc(0.035).name(), "D0.035cc");
        assert_eq!(MetricSpec::VolumePercent(30.0).name(), "V30Gy_%");
    }
}
