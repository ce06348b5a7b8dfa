//! A [`CheckReport`] and its DVH plot -> one self-contained HTML page.
//!
//! The page has a verdict banner (with the reasons for FAIL or ERROR right under it), the
//! plan summary (protocol and tool version, date and time of the check), the DVH plot as
//! inline SVG with each constraint's limit and achieved value marked, the constraint table
//! (value, limit, margin, status, level, source), the input files with their SHA-256, and
//! every warning. Printed (A4 or Letter), the page drops its dark backgrounds, keeps table
//! rows whole and scales the plot to the page, and gets lines to sign. Styles are inline;
//! there are no scripts, no fonts and no URLs to fetch, so the page reads the same offline,
//! from a mail attachment or an archive. Every text from the data is escaped. The same
//! report and check time give the same bytes.

use std::fmt::Write as _;

use super::check::{mark, mark_tone, verdict_text, CheckReport};
use super::term::Tone;
use crate::check::{ConstraintResult, Status, Verdict};
use crate::protocol::Level;

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;margin:0;color:#1f2328;background:#fff}
main{max-width:1200px;margin:0 auto;padding:16px 24px 32px}
.banner{padding:14px 24px;color:#fff;font-size:22px;font-weight:600}
.banner .verdict{font-size:30px;font-weight:800;margin-right:12px;letter-spacing:1px}
.verdict-pass{background:#1a7f37}.verdict-fail{background:#cf222e}.verdict-error{background:#8250df}
.reasons{margin:0;padding:10px 24px 12px 44px;font-size:15px}
.reasons-fail{background:#ffebe9;color:#82071e}.reasons-error{background:#fbefff;color:#512a97}
h1{font-size:20px;margin:18px 0 6px}h2{font-size:17px;margin:22px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
table{border-collapse:collapse;font-size:13px}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.summary th{width:110px}table.summary td{overflow-wrap:anywhere}
.overview{display:flex;flex-wrap:wrap;gap:8px 28px;align-items:flex-start}
#plan{flex:0 1 360px;min-width:280px}#dvh{flex:1 1 640px;min-width:0}
#dvh p{color:#57606a;font-size:13px;margin:4px 0 8px}
.muted{color:#57606a;font-size:13px}
.status{font-weight:700;white-space:nowrap}
.status-pass{color:#1a7f37}.status-fail{color:#cf222e}.status-miss{color:#9a6700}.status-not-evaluated{color:#8250df}
tr.row-fail td{background:#fff5f5}tr.row-miss td{background:#fff8c5}tr.row-not-evaluated td{background:#fbf7ff}
.reason{color:#57606a;font-size:12px}
.plot svg{max-width:100%;height:auto;border:1px solid #d0d7de}
.warnings li{color:#7d4e00}
table.inputs td.hash{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:12px;overflow-wrap:anywhere}
.signoff{display:none}
footer{color:#57606a;font-size:12px;margin-top:28px}
@media print{
@page{margin:12mm}
body{font-size:11px}
main{max-width:none;padding:0}
.banner{color:#1f2328;background:none;border:3px solid;padding:6px 12px;font-size:16px}
.banner .verdict{font-size:22px}
.verdict-pass{border-color:#1a7f37}.verdict-pass .verdict{color:#1a7f37}
.verdict-fail{border-color:#cf222e}.verdict-fail .verdict{color:#cf222e}
.verdict-error{border-color:#8250df}.verdict-error .verdict{color:#8250df}
.reasons{background:none;border-left:3px solid;margin:6px 0 0;padding:4px 12px 4px 28px;font-size:12px}
h1{font-size:16px;margin:10px 0 4px}h2{font-size:14px;margin:14px 0 6px;break-after:avoid;page-break-after:avoid}
.overview{display:block}
#plan,#dvh{width:100%}
table{width:100%;font-size:10px}
th,td{padding:2px 4px;overflow-wrap:break-word}
.reason{font-size:9px}
th{background:none}
thead{display:table-header-group}
tr,li,.plot,.signoff{break-inside:avoid;page-break-inside:avoid}
tr.row-fail td,tr.row-miss td,tr.row-not-evaluated td{background:none}
.plot svg{width:100%;height:auto;border:none}
table.inputs td.hash{font-size:8.5px;white-space:nowrap;overflow-wrap:normal}
.muted,#dvh p{font-size:10px}
.signoff{display:block;margin-top:18px;font-size:12px}
.signoff span{display:inline-block;min-width:30%;margin-right:3%;border-bottom:1px solid #1f2328;padding-top:22px}
}
";

fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Fail => "fail",
        Verdict::Error => "error",
    }
}

/// The class of a result's row and mark, from the tone of its [`mark`]: an optimal miss
/// and an acceptable variation are `miss`, never `fail`.
fn status_class(c: &ConstraintResult) -> &'static str {
    match mark_tone(c) {
        Tone::Pass => "pass",
        Tone::Fail => "fail",
        Tone::Warn => "miss",
        Tone::Error => "not-evaluated",
    }
}

fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v:.3}"))
}

fn opt(v: Option<&str>) -> String {
    escape(v.unwrap_or("-"))
}

/// An escaped file path that may wrap after each `/`.
fn path(v: Option<&str>) -> String {
    opt(v).replace('/', "/<wbr>")
}

/// Renders the page. `plot_svg` is the DVH plot ([`super::check::render_plot`]); `None`
/// when no DVH was computed, which the page says. `checked_at` is when the check was made
/// (UTC, ISO 8601, e.g. `2026-12-07T12:34:56Z`): on the page only, never in the JSON,
/// which stays the same between runs.
pub fn render(r: &CheckReport, plot_svg: Option<&str>, checked_at: &str) -> String {
    let mut o = String::new();
    let verdict = match r.verdict {
        Verdict::Pass => "PASS",
        Verdict::Fail => "FAIL",
        Verdict::Error => "ERROR",
    };
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{verdict}: {} - sbrt-verify</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n",
        escape(&r.plan.title)
    );
    write_banner(&mut o, r, verdict);
    o.push_str("<main>\n");
    let _ = writeln!(o, "<h1>{}</h1>", escape(&r.plan.title));
    // Plan summary beside the DVH plot.
    o.push_str("<div class=\"overview\">\n");
    write_plan(&mut o, r, checked_at);
    write_dvh(&mut o, plot_svg);
    o.push_str("</div>\n");
    write_constraints(&mut o, r);
    write_inputs(&mut o, r);
    write_warnings(&mut o, r);
    // Lines to sign on paper (printed only).
    o.push_str(
        "<section class=\"signoff\"><span>Reviewed by</span><span>Date</span>\
         <span>Signature</span></section>\n",
    );
    let _ = writeln!(
        o,
        "<footer>sbrt-verify {}; report schema {}; exit code {}.</footer>",
        env!("CARGO_PKG_VERSION"),
        escape(r.schema_version),
        r.exit_code
    );
    o.push_str("</main>\n</body>\n</html>\n");
    o
}

/// The verdict -> the banner, and the reasons of a FAIL or ERROR right under it.
fn write_banner(o: &mut String, r: &CheckReport, verdict: &str) {
    let sentence = verdict_text(r.verdict)
        .split_once(": ")
        .map_or("", |(_, s)| s);
    let vc = verdict_class(r.verdict);
    let _ = writeln!(
        o,
        "<header id=\"verdict\" class=\"banner verdict-{vc}\" data-verdict=\"{verdict}\">\
         <span class=\"verdict\">{verdict}</span> {}</header>",
        escape(sentence)
    );
    let reasons = reasons(r);
    if !reasons.is_empty() {
        let _ = writeln!(o, "<ul id=\"reasons\" class=\"reasons reasons-{vc}\">");
        for x in &reasons {
            let _ = writeln!(o, "<li>{}</li>", escape(x));
        }
        o.push_str("</ul>\n");
    }
}

/// The report -> the reasons of its verdict: overrides, errors, plan failures, then each
/// mandatory constraint failed or not evaluated.
fn reasons(r: &CheckReport) -> Vec<String> {
    let mut reasons: Vec<String> = Vec::new();
    reasons.extend(r.overrides.iter().map(|x| format!("OVERRIDE: {x}")));
    reasons.extend(r.errors.iter().map(|e| format!("ERROR: {e}")));
    reasons.extend(r.failures.iter().map(|f| format!("FAIL: {f}")));
    for c in r.results.iter().filter(|c| c.level == Level::Mandatory) {
        match c.status {
            Status::Fail => reasons.push(format!(
                "FAIL: {} ({}) {}: {} {} (margin {})",
                c.structure,
                c.roi,
                c.constraint,
                num(c.value),
                c.unit,
                num(c.margin)
            )),
            Status::NotEvaluated => reasons.push(format!(
                "NOT EVALUATED: {} ({}) {}: {}",
                c.structure,
                c.roi,
                c.constraint,
                c.reason.as_deref().unwrap_or("-")
            )),
            Status::Pass => {}
        }
    }
    reasons
}

/// The report -> the plan summary section: protocol, check time, site, patient, plan,
/// dose, structure set and targets.
fn write_plan(o: &mut String, r: &CheckReport, checked_at: &str) {
    let p = &r.plan;
    o.push_str("<section id=\"plan\">\n<h2>Plan</h2>\n<table class=\"summary\">\n");
    let mut row = |k: &str, v: String| {
        let _ = writeln!(o, "<tr><th>{}</th><td>{v}</td></tr>", escape(k));
    };
    row(
        "Protocol",
        escape(&format!(
            "{} v{} ({}), checked by sbrt-verify {}",
            r.protocol.name,
            r.protocol.version,
            r.protocol.origin,
            env!("CARGO_PKG_VERSION")
        )),
    );
    row("Checked at", escape(checked_at));
    if let Some(site) = &r.site {
        row("Site", escape(site));
    }
    row(
        "Patient",
        escape(&format!("{} (ID {})", p.patient.name, p.patient.id)),
    );
    row("Plan label", opt(p.label.as_deref()));
    row("Approval", opt(p.approval_status.as_deref()));
    row(
        "Fractions planned",
        p.fractions_planned
            .map_or_else(|| "-".to_string(), |n| n.to_string()),
    );
    row("RT Plan", path(p.plan_file.as_deref()));
    row("RT Plan UID", opt(p.plan_sop_instance_uid.as_deref()));
    row(
        "RT Dose",
        format!(
            "{} ({}{})",
            path(p.dose_file.as_deref()),
            opt(p.summation_type.as_deref()),
            if p.dose_scale_factor != 1.0 {
                format!(", multiplied by {}", p.dose_scale_factor)
            } else {
                String::new()
            }
        ),
    );
    row("RT Structure Set", path(p.structure_set_file.as_deref()));
    for t in &p.targets {
        row(
            &format!("Target {}", t.role),
            escape(&format!(
                "{}: {} Gy in {} ({} Gy/fx){}",
                t.structure.as_deref().unwrap_or("(not present)"),
                t.total_gy,
                super::plural(t.fractions as usize, "fraction"),
                t.per_fraction_gy,
                if t.prescribed_by_plan {
                    ", prescribed in the RT Plan"
                } else {
                    ""
                }
            )),
        );
    }
    o.push_str("</table>\n</section>\n");
}

/// The DVH plot -> its section, with how to read it (or that no DVH was computed).
fn write_dvh(o: &mut String, plot_svg: Option<&str>) {
    o.push_str("<section id=\"dvh\">\n<h2>Dose-volume histograms</h2>\n");
    match plot_svg {
        Some(svg) => {
            o.push_str(
                "<p>Cumulative DVH of each structure the check used (volume in % of the part \
                 inside the dose grid). Each constraint: its limit as a bar across the axis \
                 it is measured on, and the value achieved as a marker beside it (dotted line \
                 between), both in the structure's colour; a circle when met, a diamond with \
                 a red rim when missed. Hover for the constraint.</p>\n<div class=\"plot\">\n",
            );
            o.push_str(svg);
            o.push_str("</div>\n");
        }
        None => o.push_str("<p>No DVH was computed: the check stopped before (see above).</p>\n"),
    }
    o.push_str("</section>\n");
}

/// The results -> the constraints section: one table row each, the headroom line and the
/// structures not present.
fn write_constraints(o: &mut String, r: &CheckReport) {
    o.push_str("<section id=\"constraints\">\n<h2>Constraints</h2>\n");
    if r.results.is_empty() {
        o.push_str("<p>No constraint was evaluated.</p>\n");
    } else {
        // The ROI column only when some ROI is not named as its structure (a `--map`).
        let roi_column = r.results.iter().any(|c| c.roi != c.structure);
        let _ = writeln!(
            o,
            "<table class=\"constraints\">\n<thead><tr><th>Structure</th>{}\
             <th>Constraint</th><th>Value</th><th>Limit</th><th>Margin</th><th>Status</th>\
             <th>Level</th><th>Source</th></tr></thead>\n<tbody>",
            if roi_column { "<th>ROI</th>" } else { "" }
        );
        for c in &r.results {
            write_constraint_row(o, c, roi_column);
        }
        o.push_str("</tbody>\n</table>\n");
    }
    if let Some(h) = super::check::headroom_line(r) {
        let _ = writeln!(o, "<p>{}</p>", escape(&h));
    }
    if !r.not_present.is_empty() {
        let _ = writeln!(
            o,
            "<p class=\"muted\">Not in the structure set (their constraints were not \
             checked): {}</p>",
            escape(&r.not_present.join(", "))
        );
    }
    o.push_str("</section>\n");
}

/// One result -> its table row: structure, ROI (when shown), constraint with its reason
/// and note, value, limit, margin, status, level and source.
fn write_constraint_row(o: &mut String, c: &ConstraintResult, roi_column: bool) {
    let sc = status_class(c);
    let numbers = super::check::row_numbers(c);
    let unit = if c.unit.is_empty() {
        String::new()
    } else {
        format!(" {}", escape(c.unit))
    };
    let level = match c.level {
        Level::Mandatory => "mandatory",
        Level::Optimal => "optimal",
    };
    let mut notes = String::new();
    for n in [c.reason.as_deref(), c.note.as_deref()]
        .into_iter()
        .flatten()
    {
        let _ = write!(notes, "<div class=\"reason\">{}</div>", escape(n));
    }
    let roi = if roi_column {
        format!("<td>{}</td>", escape(&c.roi))
    } else {
        String::new()
    };
    let _ = writeln!(
        o,
        "<tr class=\"row-{sc}\"><td>{}</td>{roi}<td>{}{}</td>\
         <td class=\"num\">{}{unit}</td><td class=\"num\">{}{unit}</td>\
         <td class=\"num\">{}</td><td class=\"status status-{sc}\">{}</td>\
         <td>{level}</td><td>{}</td></tr>",
        escape(&c.structure),
        escape(&c.constraint),
        notes,
        numbers[0],
        numbers[1],
        numbers[2],
        mark(c),
        escape(&c.source)
    );
}

/// The input files -> their section: each one's kind, path and SHA-256.
fn write_inputs(o: &mut String, r: &CheckReport) {
    let p = &r.plan;
    o.push_str("<section id=\"inputs\">\n<h2>Input files</h2>\n");
    if r.inputs.is_empty() {
        o.push_str("<p>None.</p>\n");
    } else {
        o.push_str(
            "<table class=\"inputs\">\n<thead><tr><th>Object</th><th>File</th>\
             <th>SHA-256</th></tr></thead>\n<tbody>\n",
        );
        for f in &r.inputs {
            let kind = [
                ("RT Plan", &p.plan_file),
                ("RT Dose", &p.dose_file),
                ("RT Structure Set", &p.structure_set_file),
            ]
            .into_iter()
            .find(|(_, x)| x.as_deref() == Some(f.path.as_str()))
            .map_or("-", |(k, _)| k);
            let _ = writeln!(
                o,
                "<tr><td>{kind}</td><td>{}</td><td class=\"hash\">{}</td></tr>",
                path(Some(&f.path)),
                opt(f.sha256.as_deref().or(Some("(could not be read again)")))
            );
        }
        o.push_str("</tbody>\n</table>\n");
    }
    o.push_str("</section>\n");
}

/// The warnings -> their section.
fn write_warnings(o: &mut String, r: &CheckReport) {
    o.push_str("<section id=\"warnings\">\n<h2>Warnings</h2>\n");
    if r.warnings.is_empty() {
        o.push_str("<p>None.</p>\n");
    } else {
        o.push_str("<ul class=\"warnings\">\n");
        for w in &r.warnings {
            let _ = writeln!(o, "<li>{}</li>", escape(w));
        }
        o.push_str("</ul>\n");
    }
    o.push_str("</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::ConstraintResult;
    use crate::report::check::{InputFile, PlanInfo, ProtocolInfo};
    use crate::report::inspect::PatientReport;

    const T: &str = "2026-12-07T12:34:56Z";
    const HOSTILE: &str = "<script>alert('x')</script> & \"q\"";

    fn result(structure: &str, status: Status, level: Level) -> ConstraintResult {
        ConstraintResult {
            structure: structure.to_string(),
            roi: format!("{structure} {HOSTILE}"),
            constraint: "D0.035cc <= 25.3Gy".to_string(),
            value: (status != Status::NotEvaluated).then_some(27.5),
            limit: Some(25.3),
            acceptable: None,
            unit: "Gy",
            margin: (status != Status::NotEvaluated).then_some(-2.2),
            status,
            grade: None,
            headroom: None,
            level,
            source: "HyTEC".to_string(),
            derived: false,
            note: None,
            reason: (status == Status::NotEvaluated).then(|| "outside the grid".to_string()),
            dvh_point: None,
        }
    }

    fn report(verdict: Verdict, results: Vec<ConstraintResult>) -> CheckReport {
        CheckReport {
            schema_version: "1",
            verdict,
            exit_code: verdict.exit_code() as u8,
            protocol: ProtocolInfo {
                name: "P".into(),
                version: "1".into(),
                origin: "builtin".into(),
            },
            plan: PlanInfo {
                title: format!("Plan {HOSTILE}"),
                patient: PatientReport {
                    name: "***".into(),
                    id: "***".into(),
                },
                plan_file: Some("/data/p/RP.dcm".into()),
                plan_sop_instance_uid: Some("1.2.3".into()),
                label: Some(HOSTILE.into()),
                approval_status: None,
                fractions_planned: Some(5),
                dose_file: Some("/data/p/RD.dcm".into()),
                summation_type: Some("PLAN".into()),
                dose_type: Some("PHYSICAL".into()),
                dose_scale_factor: 1.0,
                structure_set_file: None,
                targets: vec![],
            },
            results,
            not_present: vec![],
            site: None,
            unused_rois: vec![],
            errors: vec![],
            failures: vec![],
            warnings: vec![format!("warn {HOSTILE}")],
            overrides: vec![format!("override {HOSTILE}")],
            tps_agreement: None,
            inputs: vec![
                InputFile {
                    path: "/data/p/RP.dcm".into(),
                    sha256: Some("ab".repeat(32)),
                },
                InputFile {
                    path: format!("/data/p/{HOSTILE}.dcm"),
                    sha256: None,
                },
            ],
        }
    }

    const SVG: &str =
        r#"<svg xmlns="http://www.w3.org/2000/svg"><polyline class="dvh-curve"/></svg>"#;

    #[test]
    fn banner_table_plot_and_reasons() {
        let r = report(
            Verdict::Fail,
            vec![
                result("PTV", Status::Pass, Level::Mandatory),
                result("SpinalCord", Status::Fail, Level::Mandatory),
                result("Heart", Status::Fail, Level::Optimal),
            ],
        );
        let h = render(&r, Some(SVG), T);
        assert!(h.starts_with("<!DOCTYPE html>"));
        assert!(h.contains(
            "id=\"verdict\" class=\"banner verdict-fail\" data-verdict=\"FAIL\"><span class=\"verdict\">FAIL</span>"
        ));
        assert_eq!(h.matches("<tr class=\"row-").count(), 3);
        // Some ROI is not named as its structure: the ROI column is there.
        assert!(h.contains("<th>ROI</th>"));
        assert!(h.contains(&format!("<td>SpinalCord {}</td>", escape(HOSTILE))));
        assert!(h.contains(&format!(
            "<tr><th>Protocol</th><td>P v1 (builtin), checked by sbrt-verify {}</td></tr>",
            env!("CARGO_PKG_VERSION")
        )));
        assert!(h.contains("<tr><th>Checked at</th><td>2026-12-07T12:34:56Z</td></tr>"));
        // The input files: the plan named as such with its hash; an unknown one as "-".
        assert!(h.contains(&format!(
            "<tr><td>RT Plan</td><td>/<wbr>data/<wbr>p/<wbr>RP.dcm</td>\
             <td class=\"hash\">{}</td></tr>",
            "ab".repeat(32)
        )));
        assert!(h.contains("<td>-</td>"));
        assert!(h.contains("(could not be read again)"));
        assert_ne!(h, render(&r, Some(SVG), "2026-12-07T12:34:57Z"));
        assert_eq!(h.matches("status-fail\">FAIL</td>").count(), 1);
        assert_eq!(h.matches("<tr class=\"row-miss\">").count(), 1);
        assert_eq!(h.matches("status-miss\">MISS (optimal)</td>").count(), 1);
        assert!(h.contains(SVG), "the plot is inline");
        // Only the mandatory failure is a reason under the banner.
        let reasons = &h[h.find("id=\"reasons\"").unwrap()..h.find("<main>").unwrap()];
        assert!(reasons.contains("SpinalCord"));
        assert!(!reasons.contains("Heart"));
        assert!(!reasons.contains("PTV"));
        assert_eq!(h, render(&r, Some(SVG), T), "same report, same bytes");
    }

    #[test]
    fn every_text_is_escaped_and_nothing_is_fetched() {
        let mut r = report(
            Verdict::Error,
            vec![result("Cord", Status::NotEvaluated, Level::Mandatory)],
        );
        r.errors.push(format!("error {HOSTILE}"));
        let h = render(&r, Some(SVG), T);
        assert!(!h.contains("<script"), "{h}");
        assert!(!h.contains("alert('x')"));
        assert!(h.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"));
        assert!(h.contains("data-verdict=\"ERROR\""));
        assert!(h.contains("NOT EVALUATED: Cord"));
        // No URL other than the SVG namespace; nothing that loads anything.
        let without_ns = h.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        for bad in [
            "http:", "https:", "src=", "href=", "url(", "@import", "<link", "<img",
        ] {
            assert!(!without_ns.contains(bad), "{bad} in the page");
        }
    }

    #[test]
    fn the_roi_column_only_when_an_roi_is_not_named_as_its_structure() {
        let mut c = result("PTV", Status::Pass, Level::Mandatory);
        c.roi = "PTV".into();
        let h = render(&report(Verdict::Pass, vec![c]), None, T);
        assert!(!h.contains("<th>ROI</th>"));
        assert!(h.contains("<tr class=\"row-pass\"><td>PTV</td><td>D0.035cc"));
    }

    #[test]
    fn without_a_plot_the_page_says_so() {
        let h = render(&report(Verdict::Error, vec![]), None, T);
        assert!(h.contains("No DVH was computed"));
        assert!(!h.contains("<svg"));
        assert!(h.contains("No constraint was evaluated"));
    }

    #[test]
    fn paths_wrap_after_slashes() {
        let h = render(&report(Verdict::Pass, vec![]), None, T);
        assert!(h.contains("/<wbr>data/<wbr>p/<wbr>RD.dcm"));
    }
}
