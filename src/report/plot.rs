//! Cumulative DVH curves -> a self-contained SVG plot (no fonts or scripts fetched; the
//! same input gives the same bytes).
//!
//! Axes: dose (Gy) horizontally, volume (% of each structure) vertically. One polyline per
//! structure in its ROI display colour (a fixed palette when it has none), a legend, and
//! optional constraint markers: the achieved value (dose, volume %) and the limit beside it,
//! in the structure's colour, the marker's shape saying met or missed.

use std::fmt::Write as _;

/// One curve: a name, a colour, and (dose Gy, volume %) points with non-increasing volume.
pub struct Curve {
    pub name: String,
    pub color: [u8; 3],
    pub points: Vec<(f64, f64)>,
    /// Drawn dashed, in the legend too: the curve describes only part of the structure
    /// (e.g. the part inside the dose grid), so it must not look like a whole one; or it is
    /// not ours (the planning system's curve beside ours).
    pub partial: bool,
}

/// The numbers of one structure's cumulative DVH, for [`Curve::of_structure`].
pub struct StructureCurve<'a> {
    pub name: &'a str,
    /// ROI display colour (palette when none or invisible on white).
    pub color: Option<[u8; 3]>,
    /// Position among the plotted structures (picks the palette colour).
    pub index: usize,
    pub volume_cc: f64,
    pub outside_cc: f64,
    pub complete: bool,
    pub dose_gy: &'a [f64],
    /// V(>= dose) in cc; the first value is the volume inside the dose grid.
    pub cumulative_cc: &'a [f64],
}

impl Curve {
    /// A structure's curve in % of its part inside the dose grid; dashed and so named when
    /// the structure is not complete.
    pub fn of_structure(s: StructureCurve<'_>) -> Curve {
        let inside = s.cumulative_cc.first().copied().unwrap_or(0.0);
        Curve {
            name: if s.complete {
                s.name.to_string()
            } else {
                partial_name(s.name, s.outside_cc, s.volume_cc)
            },
            partial: !s.complete,
            color: s
                .color
                .filter(|c| visible_on_white(*c))
                .unwrap_or(PALETTE[s.index % PALETTE.len()]),
            points: s
                .dose_gy
                .iter()
                .zip(s.cumulative_cc)
                .map(|(d, v)| {
                    (
                        *d,
                        if inside > 0.0 {
                            100.0 * v / inside
                        } else {
                            0.0
                        },
                    )
                })
                .collect(),
        }
    }
}

/// A marker at (dose Gy, volume %), e.g. the value a constraint achieved, in its
/// structure's colour, with the constraint's limit beside it.
pub struct Marker {
    pub dose_gy: f64,
    pub volume_percent: f64,
    pub label: String,
    pub pass: bool,
    /// The structure's curve colour.
    pub color: [u8; 3],
    /// Where the limit lies, drawn as a bar across the axis it is measured on.
    pub limit: Option<LimitMark>,
}

/// Where a constraint's limit lies: a dose limit at the marker's volume (drawn as a short
/// vertical bar at that dose), or a volume limit at the marker's dose (a short horizontal
/// bar at that volume).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LimitMark {
    DoseGy(f64),
    VolumePercent(f64),
}

impl Marker {
    /// The limit's point (dose Gy, volume %), `None` when it is off the plot's volume axis.
    fn limit_point(&self) -> Option<(f64, f64)> {
        let p = match self.limit? {
            LimitMark::DoseGy(d) => (d, self.volume_percent),
            LimitMark::VolumePercent(v) => (self.dose_gy, v),
        };
        (p.0.is_finite() && p.0 >= 0.0 && (0.0..=100.0).contains(&p.1)).then_some(p)
    }
}

/// Colours for structures without a display colour (colour-blind-safe palette).
pub const PALETTE: [[u8; 3]; 8] = [
    [0, 114, 178],
    [213, 94, 0],
    [0, 158, 115],
    [204, 121, 167],
    [230, 159, 0],
    [86, 180, 233],
    [120, 120, 120],
    [0, 0, 0],
];

/// False for colours too light to see on a white background (relative luminance > 0.8).
pub fn visible_on_white(c: [u8; 3]) -> bool {
    let l = 0.2126 * f64::from(c[0]) + 0.7152 * f64::from(c[1]) + 0.0722 * f64::from(c[2]);
    l / 255.0 <= 0.8
}

const W: f64 = 900.0;
const H: f64 = 560.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 230.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 60.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A "nice" axis step for a range.
fn nice_step(range: f64) -> f64 {
    let raw = range / 8.0;
    let mag = 10f64.powf(raw.log10().floor());
    let n = raw / mag;
    mag * if n < 1.5 {
        1.0
    } else if n < 3.5 {
        2.0
    } else if n < 7.5 {
        5.0
    } else {
        10.0
    }
}

/// Renders the plot. Points are thinned to at most ~2 per horizontal pixel.
pub fn render_svg(title: &str, curves: &[Curve], markers: &[Marker]) -> String {
    let axes = Axes::fit(curves, markers);
    let mut o = String::new();
    let _ = writeln!(
        o,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12" role="img" aria-label="Dose-volume histogram">"#
    );
    let _ = writeln!(o, r#"<title>{}</title>"#, esc(title));
    let _ = writeln!(o, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        o,
        r#"<text x="{}" y="24" font-size="15" font-weight="bold">{}</text>"#,
        LEFT,
        esc(title)
    );
    axes.write_grid(&mut o);
    for c in curves {
        axes.write_curve(&mut o, c);
    }
    for m in markers {
        axes.write_marker(&mut o, m);
    }
    axes.write_legend(&mut o, curves);
    if !markers.is_empty() {
        axes.write_marker_legend(&mut o, curves.len());
    }
    o.push_str("</svg>\n");
    o
}

/// The plot area and its scales: dose (Gy) from 0 to `x_max` in ticks of `step`, volume
/// (%) from 0 to 100.
struct Axes {
    x_max: f64,
    step: f64,
    /// Width and height of the plot area, px.
    pw: f64,
    ph: f64,
}

impl Axes {
    /// The curves and markers -> axes whose dose range holds all their doses (at least 1 Gy).
    fn fit(curves: &[Curve], markers: &[Marker]) -> Axes {
        let max_dose = curves
            .iter()
            .flat_map(|c| c.points.iter().map(|p| p.0))
            .chain(markers.iter().map(|m| m.dose_gy))
            .chain(markers.iter().filter_map(|m| m.limit_point().map(|p| p.0)))
            .fold(0.0f64, f64::max)
            .max(1.0);
        let step = nice_step(max_dose);
        Axes {
            x_max: (max_dose / step).ceil() * step,
            step,
            pw: W - LEFT - RIGHT,
            ph: H - TOP - BOTTOM,
        }
    }

    /// A dose, Gy -> its x, px.
    fn sx(&self, d: f64) -> f64 {
        LEFT + self.pw * d / self.x_max
    }

    /// A volume, % -> its y, px.
    fn sy(&self, v: f64) -> f64 {
        TOP + self.ph * (1.0 - v / 100.0)
    }

    /// The grid lines with their tick labels, the plot's frame and the axis titles.
    fn write_grid(&self, o: &mut String) {
        let (pw, ph) = (self.pw, self.ph);
        let mut d = 0.0;
        while d <= self.x_max + 1e-9 {
            let x = self.sx(d);
            let _ = writeln!(
                o,
                r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#e0e0e0"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
                TOP + ph,
                TOP + ph + 18.0,
                trim(d)
            );
            d += self.step;
        }
        for v in (0..=100).step_by(10) {
            let y = self.sy(f64::from(v));
            let _ = writeln!(
                o,
                r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e0e0e0"/><text x="{:.1}" y="{:.1}" text-anchor="end">{v}</text>"##,
                LEFT + pw,
                LEFT - 6.0,
                y + 4.0
            );
        }
        let _ = writeln!(
            o,
            r##"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>"##
        );
        let _ = writeln!(
            o,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">Dose (Gy)</text>"#,
            LEFT + pw / 2.0,
            H - 14.0
        );
        let _ = writeln!(
            o,
            r#"<text x="18" y="{:.1}" text-anchor="middle" transform="rotate(-90 18 {:.1})">Volume (%)</text>"#,
            TOP + ph / 2.0,
            TOP + ph / 2.0
        );
    }

    /// A curve -> its polyline, its points thinned to at most ~2 per horizontal pixel (the
    /// last one always kept).
    fn write_curve(&self, o: &mut String, c: &Curve) {
        let mut pts = String::new();
        let mut last_x = f64::NEG_INFINITY;
        let n = c.points.len();
        for (idx, &(dose, vol)) in c.points.iter().enumerate() {
            let x = self.sx(dose);
            if x - last_x < 0.5 && idx + 1 != n {
                continue;
            }
            last_x = x;
            let _ = write!(pts, "{:.1},{:.1} ", x, self.sy(vol.clamp(0.0, 100.0)));
        }
        let [r, g, b] = c.color;
        let _ = writeln!(
            o,
            r#"<polyline class="dvh-curve" data-structure="{}" fill="none" stroke="rgb({r},{g},{b})" stroke-width="2"{} points="{}"/>"#,
            esc(&c.name),
            dash(c.partial),
            pts.trim_end()
        );
    }

    /// A constraint -> its limit as a bar across the axis it is measured on, a dotted line
    /// to the achieved value, and the achieved value as a marker, all in the structure's
    /// colour; met = circle, missed = diamond with a red rim (shape as well as colour, for
    /// colour-blind readers and grey print), outlined dark on a curve of any colour.
    fn write_marker(&self, o: &mut String, m: &Marker) {
        let (x, y) = (
            self.sx(m.dose_gy),
            self.sy(m.volume_percent.clamp(0.0, 100.0)),
        );
        let [r, g, b] = m.color;
        let status = if m.pass { "pass" } else { "fail" };
        if let Some((ld, lv)) = m.limit_point() {
            let (lx, ly) = (self.sx(ld), self.sy(lv));
            let (dx, dy) = match m.limit {
                Some(LimitMark::DoseGy(_)) => (0.0, 9.0),
                _ => (9.0, 0.0),
            };
            let _ = writeln!(
                o,
                r##"<g class="constraint-limit" data-status="{status}"><line x1="{x:.1}" y1="{y:.1}" x2="{lx:.1}" y2="{ly:.1}" stroke="rgb({r},{g},{b})" stroke-width="1.5" stroke-dasharray="2 3"/><line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#1f2328" stroke-width="6"/><line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="rgb({r},{g},{b})" stroke-width="3"/><title>limit of {}</title></g>"##,
                lx - dx,
                ly - dy,
                lx + dx,
                ly + dy,
                lx - dx,
                ly - dy,
                lx + dx,
                ly + dy,
                esc(&m.label)
            );
        }
        let shape = marker_shape(x, y, m.pass, m.color);
        let _ = writeln!(
            o,
            r#"<g class="constraint-marker" data-status="{status}">{shape}<title>achieved: {}</title></g>"#,
            esc(&m.label)
        );
    }

    /// The curves -> one legend line each, right of the plot.
    fn write_legend(&self, o: &mut String, curves: &[Curve]) {
        for (i, c) in curves.iter().enumerate() {
            let y = TOP + 10.0 + 18.0 * i as f64;
            let x = LEFT + self.pw + 16.0;
            let [r, g, b] = c.color;
            let _ = writeln!(
                o,
                r#"<line x1="{x:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="rgb({r},{g},{b})" stroke-width="3"{}/><text x="{:.1}" y="{:.1}">{}</text>"#,
                x + 22.0,
                dash(c.partial),
                x + 28.0,
                y + 4.0,
                esc(&c.name)
            );
        }
    }

    /// The legend of the constraint marks, under the `curves` lines of the curves' legend:
    /// met, missed, the limit bar, and that they take the structure's colour.
    fn write_marker_legend(&self, o: &mut String, curves: usize) {
        let x = LEFT + self.pw + 16.0;
        let y = TOP + 10.0 + 18.0 * curves as f64 + 14.0;
        let grey = [120, 120, 120];
        for (i, (pass, text)) in [
            (true, "achieved, limit met"),
            (false, "achieved, limit missed"),
        ]
        .into_iter()
        .enumerate()
        {
            let y = y + 18.0 * i as f64;
            let _ = writeln!(
                o,
                r#"<g class="marker-legend">{}<text x="{:.1}" y="{:.1}">{text}</text></g>"#,
                marker_shape(x + 11.0, y, pass, grey),
                x + 28.0,
                y + 4.0
            );
        }
        let y = y + 36.0;
        let _ = writeln!(
            o,
            r##"<g class="marker-legend"><line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#1f2328" stroke-width="6"/><line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="rgb(120,120,120)" stroke-width="3"/><text x="{:.1}" y="{:.1}">limit (bar)</text></g>"##,
            x + 11.0,
            y - 9.0,
            x + 11.0,
            y + 9.0,
            x + 11.0,
            y - 9.0,
            x + 11.0,
            y + 9.0,
            x + 28.0,
            y + 4.0
        );
        let _ = writeln!(
            o,
            r##"<text x="{x:.1}" y="{:.1}" fill="#57606a">in the structure's colour</text>"##,
            y + 24.0
        );
    }
}

/// A legend name for a curve of which `outside_cc` of `volume_cc` is beyond the dose grid:
/// `NAME (12.3 % outside grid)`, or in cc when under 0.1 % (so it never reads "0.0 %").
pub fn partial_name(name: &str, outside_cc: f64, volume_cc: f64) -> String {
    let percent = if volume_cc > 0.0 {
        100.0 * outside_cc / volume_cc
    } else {
        100.0
    };
    if percent >= 0.1 {
        format!("{name} ({percent:.1} % outside grid)")
    } else {
        format!("{name} ({outside_cc:.3} cc outside grid)")
    }
}

fn dash(partial: bool) -> &'static str {
    if partial {
        r#" stroke-dasharray="6 4""#
    } else {
        ""
    }
}

/// A marker's shape at (x, y) in `color`: a circle outlined dark when met, a diamond with
/// a red rim when missed.
fn marker_shape(x: f64, y: f64, pass: bool, color: [u8; 3]) -> String {
    let [r, g, b] = color;
    if pass {
        format!(
            r##"<circle cx="{x:.1}" cy="{y:.1}" r="5" fill="rgb({r},{g},{b})" stroke="#1f2328" stroke-width="1.5"/>"##
        )
    } else {
        format!(
            r##"<path d="M{x:.1} {:.1} L{:.1} {y:.1} L{x:.1} {:.1} L{:.1} {y:.1} Z" fill="rgb({r},{g},{b})" stroke="#cf222e" stroke-width="2.5"/>"##,
            y - 7.0,
            x + 7.0,
            y + 7.0,
            x - 7.0
        )
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_has_one_curve_per_structure_markers_and_escaped_names() {
        let curves = vec![
            Curve {
                name: "PTV".into(),
                color: PALETTE[0],
                points: vec![(0.0, 100.0), (30.0, 96.0), (36.0, 0.0)],
                partial: false,
            },
            Curve {
                name: "Cord <L&R>".into(),
                color: PALETTE[1],
                points: vec![(0.0, 100.0), (12.0, 0.0)],
                partial: true,
            },
        ];
        let markers = vec![
            Marker {
                dose_gy: 30.0,
                volume_percent: 96.0,
                label: "PTV V30Gy >= 95%".into(),
                pass: true,
                color: PALETTE[0],
                limit: Some(LimitMark::VolumePercent(95.0)),
            },
            Marker {
                dose_gy: 11.0,
                volume_percent: 1.0,
                label: "Cord D1% <= 10Gy".into(),
                pass: false,
                color: PALETTE[1],
                limit: Some(LimitMark::DoseGy(10.0)),
            },
            // A limit off the volume axis (a cc limit larger than the structure): no bar.
            Marker {
                dose_gy: 5.0,
                volume_percent: 50.0,
                label: "Cord V5Gy < 200cc".into(),
                pass: true,
                color: PALETTE[1],
                limit: Some(LimitMark::VolumePercent(400.0)),
            },
        ];
        let svg = render_svg("DVH", &curves, &markers);
        assert_eq!(svg.matches("class=\"dvh-curve\"").count(), 2);
        assert_eq!(svg.matches("class=\"constraint-marker\"").count(), 3);
        assert_eq!(svg.matches("class=\"constraint-limit\"").count(), 2);
        assert_eq!(svg.matches("data-status=\"fail\"").count(), 2);
        // Each achieved value and its limit in the structure's colour, the limit named so.
        assert!(svg.contains("<title>achieved: PTV V30Gy &gt;= 95%</title>"));
        assert!(svg.contains("<title>limit of Cord D1% &lt;= 10Gy</title>"));
        // The volume limit is a horizontal bar at 95 %, the dose limit a vertical one at
        // 10 Gy (x = 70 + 600 * 10 / 40).
        let y95 = 40.0 + 460.0 * 0.05;
        assert!(svg.contains(&format!("y1=\"{y95:.1}\" x2=")), "{svg}");
        assert!(svg.contains("x1=\"220.0\" y1="), "{svg}");
        assert!(svg.contains("fill=\"rgb(213,94,0)\" stroke=\"#cf222e\""));
        // The legend shows both shapes and the limit bar.
        assert_eq!(svg.matches("class=\"marker-legend\"").count(), 3);
        assert!(svg.contains("Cord &lt;L&amp;R&gt;"));
        // The partial curve (and its legend line) is dashed; the whole one is not.
        assert_eq!(svg.matches("stroke-dasharray=\"6 4\"").count(), 2);
        // Each limit drawn is joined to its achieved value by a dotted line.
        assert_eq!(svg.matches("stroke-dasharray=\"2 3\"").count(), 2);
        assert!(!svg.contains("Cord <L&R>"));
        assert!(svg.starts_with("<svg"));
        assert_eq!(svg, render_svg("DVH", &curves, &markers));
    }

    #[test]
    fn partial_names_never_say_zero_percent() {
        assert_eq!(partial_name("PTV", 6.45, 33.4), "PTV (19.3 % outside grid)");
        assert_eq!(
            partial_name("BODY", 0.002, 30000.0),
            "BODY (0.002 cc outside grid)"
        );
    }

    #[test]
    fn light_colours_are_not_visible() {
        assert!(!visible_on_white([255, 255, 255]));
        assert!(!visible_on_white([250, 240, 200]));
        assert!(visible_on_white([255, 0, 0]));
        assert!(visible_on_white(PALETTE[0]));
    }

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(40.0), 5.0);
        assert_eq!(nice_step(15.0), 2.0);
        assert_eq!(nice_step(2.0), 0.2);
    }
}
