//! Charts: every chart renders to SVG with its title, axis labels and series labels as text,
//! and to a PNG of the house size whose text is drawn with the embedded font. Inputs are
//! synthetic but realistic: an API at $0.014/image against a ~$2,000/month fleet that
//! breaks even near 140k images/month.
//!
//! Set `BREAKEVEN_CHART_EXAMPLES=/some/dir` to also write every chart there as SVG and PNG,
//! for a person to look at.

use breakeven::report::charts::{
    overtake_month, render_png, render_svg, write_chart, BreakEvenChart, BreakEvenMark, CashColumn,
    CashFlowChart, Chart, CostCurve, CostSample, CumulativeChart, CumulativeCurve,
    DistributionChart, FleetChart, HourBand, MonthBand, Overtake, ProbabilityChart,
    ProbabilityCurve, ProbabilityPoint, TickFormat, TornadoBar, TornadoChart, VolumePoint, HEIGHT,
    HOURS_PER_WEEK, WIDTH,
};
use plotters::prelude::*;
use std::path::Path;

const API_PRICE: f64 = 0.014;
const SUBTITLE: &str = "scenario: agency-growth · 24 months · 20,000 paths · seed 42";

/// A small deterministic generator (xorshift64*) and standard normals, to keep tests free of
/// any particular rand version.
struct Gen(u64);
impl Gen {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        ((self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

fn volumes() -> Vec<f64> {
    (0..=40)
        .map(|i| 10f64.powf(4.0 + 2.3 * i as f64 / 40.0))
        .collect()
}

/// Fleet cost: flat monthly cost plus API overflow above capacity.
fn fleet_point(v: f64, flat: f64, capacity: f64) -> VolumePoint {
    let cost = |flat: f64, cap: f64| flat + API_PRICE * (v - cap).max(0.0);
    VolumePoint {
        volume: v,
        p5: cost(flat * 0.9, capacity * 1.1),
        p50: cost(flat, capacity),
        p95: cost(flat * 1.15, capacity * 0.85),
        mean: cost(flat * 1.02, capacity * 0.98),
        p_over_capacity: 0.0,
    }
}

fn break_even_chart() -> BreakEvenChart {
    let api = CostCurve {
        colour: 0,
        label: "BFL API (FLUX.1 dev)".into(),
        points: volumes()
            .into_iter()
            .map(|v| VolumePoint {
                volume: v,
                p5: API_PRICE * v * 0.97,
                p50: API_PRICE * v,
                p95: API_PRICE * v * 1.08,
                mean: API_PRICE * v * 1.01,
                p_over_capacity: 0.0,
            })
            .collect(),
    };
    let fleet = CostCurve {
        colour: 0,
        label: "2× L40S, hourly".into(),
        points: volumes()
            .into_iter()
            .map(|v| fleet_point(v, 2_000.0, 900_000.0))
            .collect(),
    };
    let hybrid = CostCurve {
        colour: 0,
        label: "1× L40S + API overflow".into(),
        points: volumes()
            .into_iter()
            .map(|v| fleet_point(v, 1_000.0, 300_000.0))
            .collect(),
    };
    BreakEvenChart {
        title: "Monthly cost by monthly volume".into(),
        subtitle: SUBTITLE.into(),
        options: vec![api, fleet, hybrid],
        breakevens: vec![
            BreakEvenMark {
                label: "2× L40S vs API".into(),
                p5: Some(128_000.0),
                p50: Some(142_900.0),
                p95: Some(164_000.0),
            },
            BreakEvenMark {
                label: "hybrid vs API".into(),
                p5: Some(64_000.0),
                p50: Some(71_400.0),
                p95: Some(82_000.0),
            },
        ],
    }
}

fn probability_chart() -> ProbabilityChart {
    let curve = |label: &str, centre: f64, width: f64| ProbabilityCurve {
        colour: 0,
        label: label.into(),
        points: volumes()
            .into_iter()
            .map(|v| ProbabilityPoint {
                volume: v,
                p: 1.0 / (1.0 + (-(v / centre).ln() / width).exp()),
            })
            .collect(),
    };
    ProbabilityChart {
        title: "Probability that self-hosting is cheaper than the API".into(),
        subtitle: SUBTITLE.into(),
        pairs: vec![
            curve("2× L40S cheaper than BFL API", 142_900.0, 0.12),
            curve("hybrid cheaper than BFL API", 71_400.0, 0.09),
        ],
    }
}

fn distribution_chart() -> DistributionChart {
    let mut g = Gen(0x9E37_79B9_7F4A_7C15);
    let mut sample = |median: f64, sigma: f64| -> Vec<f64> {
        (0..20_000)
            .map(|_| median * (sigma * g.normal()).exp())
            .collect()
    };
    DistributionChart {
        title: "Total cost over 24 months: distribution across simulated paths".into(),
        subtitle: SUBTITLE.into(),
        x_label: "total cost over 24 months ($)".into(),
        options: vec![
            CostSample {
                colour: 0,
                label: "BFL API (FLUX.1 dev)".into(),
                sample: sample(60_500.0, 0.30),
            },
            CostSample {
                colour: 0,
                label: "2× L40S, hourly".into(),
                sample: sample(49_000.0, 0.07),
            },
            CostSample {
                colour: 0,
                label: "1× L40S + API overflow".into(),
                sample: sample(44_000.0, 0.16),
            },
        ],
    }
}

fn tornado_chart() -> TornadoChart {
    let bar = |input: &str, lo: &str, hi: &str, at_low: f64, at_high: f64| TornadoBar {
        input: input.into(),
        low_label: lo.into(),
        high_label: hi.into(),
        at_low,
        at_high,
    };
    TornadoChart {
        title: "What moves the saving of self-hosting (2× L40S vs BFL API)".into(),
        subtitle: SUBTITLE.into(),
        headline: "median monthly saving of self-hosting".into(),
        unit: "$/month".into(),
        format: TickFormat::Usd,
        baseline: 520.0,
        bars: vec![
            bar("GPU price", "$0.79/h", "$1.20/h", 1_150.0, -80.0),
            bar(
                "monthly volume",
                "90k images",
                "260k images",
                -740.0,
                1_640.0,
            ),
            bar("peak-to-average ratio", "1.6", "3.2", 610.0, 280.0),
            bar("images per GPU-hour", "310", "520", 300.0, 700.0),
            bar("engineer time", "2 h/month", "10 h/month", 720.0, 120.0),
            bar("API retry rate", "1%", "6%", 470.0, 640.0),
        ],
    }
}

fn fleet_chart() -> FleetChart {
    let mut util = Vec::with_capacity(HOURS_PER_WEEK);
    let mut over = Vec::with_capacity(HOURS_PER_WEEK);
    for h in 0..HOURS_PER_WEEK {
        let (day, hour) = (h / 24, (h % 24) as f64);
        let weekday = day < 5;
        // Office hours carry the load; a smooth bump from 8:00 to 19:00.
        let bump = (-((hour - 13.5) / 3.6).powi(2)).exp();
        let base = if weekday {
            0.08 + 0.80 * bump
        } else {
            0.06 + 0.22 * bump
        };
        let p50 = base.min(1.0);
        let p95 = (base * 1.35 + 0.05).min(1.0);
        util.push(HourBand { p50, p95 });
        let o50 = if weekday { 0.06 * bump.powi(3) } else { 0.0 };
        let o95 = if weekday {
            0.22 * bump.powi(2)
        } else {
            0.01 * bump
        };
        over.push(HourBand { p50: o50, p95: o95 });
    }
    FleetChart {
        colour: 0,
        title: "1× L40S + API overflow: the fleet hour by hour".into(),
        subtitle: SUBTITLE.into(),
        utilisation: util,
        overflow: over,
    }
}

fn cash_flow_chart() -> CashFlowChart {
    CashFlowChart {
        title: "Cash out month by month: owned H100 against BFL API".into(),
        subtitle: SUBTITLE.into(),
        selfhost: "owned H100".into(),
        months: (0..12)
            .map(|m| CashColumn {
                capex: match m {
                    0 => 35_000.0,
                    11 => -15_000.0,
                    _ => 0.0,
                },
                opex: 2_500.0,
                api: 300.0 * m as f64,
            })
            .collect(),
        api: (
            "BFL API".into(),
            (0..12).map(|m| 9_000.0 + 500.0 * m as f64).collect(),
        ),
    }
}

fn cumulative_chart() -> CumulativeChart {
    let months = 24;
    let api: Vec<MonthBand> = (1..=months)
        .map(|m| {
            // 120k images in month 1, growing 3% a month.
            let c: f64 = (1..=m)
                .map(|k| API_PRICE * 120_000.0 * 1.03f64.powi(k as i32 - 1))
                .sum();
            MonthBand {
                month: m,
                p5: c * 0.82,
                p50: c,
                p95: c * 1.25,
            }
        })
        .collect();
    let fleet: Vec<MonthBand> = (1..=months)
        .map(|m| {
            let c = 4_000.0 + 2_000.0 * m as f64;
            MonthBand {
                month: m,
                p5: c * 0.92,
                p50: c,
                p95: c * 1.12,
            }
        })
        .collect();
    let at = overtake_month(&fleet, &api);
    CumulativeChart {
        y_label: String::new(),
        title: "Cumulative cost over 24 months".into(),
        subtitle: SUBTITLE.into(),
        options: vec![
            CumulativeCurve {
                colour: 0,
                zoom: false,
                label: "BFL API (FLUX.1 dev)".into(),
                points: api,
            },
            CumulativeCurve {
                colour: 0,
                zoom: false,
                label: "2× L40S, hourly (with $4k setup)".into(),
                points: fleet,
            },
        ],
        overtakes: vec![Overtake {
            label: "2× L40S overtakes the API".into(),
            month: at,
        }],
    }
}

/// Every chart, with its file stem and the texts its SVG must contain.
fn all_charts() -> Vec<(&'static str, Chart, Vec<String>)> {
    let axes_log = [
        "monthly volume (images/month, log scale)".to_string(),
        "monthly cost ($/month, log scale)".to_string(),
    ];
    let be = break_even_chart();
    let mut be_texts: Vec<String> = axes_log.to_vec();
    be_texts.extend(be.options.iter().map(|o| o.label.clone()));
    be_texts.extend(be.breakevens.iter().map(|b| b.label.clone()));
    be_texts.push("2× L40S vs API: 143k images/month (p5–p95 128k–164k)".into());

    let pr = probability_chart();
    let mut pr_texts = vec![
        "monthly volume (images/month, log scale)".to_string(),
        "probability self-hosting is cheaper (%)".to_string(),
        "50%".to_string(),
        "100%".to_string(),
    ];
    pr_texts.extend(pr.pairs.iter().map(|p| p.label.clone()));

    let di = distribution_chart();
    let mut di_texts = vec![
        di.x_label.clone(),
        "share of simulated paths costing at most x (%)".to_string(),
    ];
    di_texts.extend(di.options.iter().map(|o| format!("{} median", o.label)));

    let to = tornado_chart();
    let mut to_texts = vec![
        "median monthly saving of self-hosting ($/month)".to_string(),
        "baseline, every input at its median: $520".to_string(),
    ];
    to_texts.extend(to.bars.iter().map(|b| b.input.clone()));
    to_texts.extend(to.bars.iter().map(|b| format!("p10: {}", b.low_label)));
    to_texts.extend(to.bars.iter().map(|b| format!("p90: {}", b.high_label)));

    let fl = fleet_chart();
    let fl_texts: Vec<String> = [
        "GPU utilisation (%)",
        "overflow share (%)",
        "hour of the week",
        "Mon",
        "Sun",
        "GPU utilisation: median, band to p95",
        "overflow to API",
    ]
    .map(String::from)
    .to_vec();

    let cu = cumulative_chart();
    let mut cu_texts = vec![
        "month of the horizon".to_string(),
        "cumulative cash spent ($)".to_string(),
        "2× L40S overtakes the API: month".to_string(),
    ];
    cu_texts.extend(cu.options.iter().map(|o| o.label.clone()));

    let cf_texts = vec![
        "month of the horizon".to_string(),
        "cash paid out in the month ($, mean over paths)".to_string(),
        "owned H100: one-time (purchase, set-up; resale below zero)".to_string(),
        "owned H100: running (GPU time, power, hosting, people)".to_string(),
        "BFL API: its monthly bill".to_string(),
    ];
    let mut out: Vec<(&str, Chart, Vec<String>)> = vec![
        ("break-even", be.into(), be_texts),
        ("p-cheaper", pr.into(), pr_texts),
        ("distribution", di.into(), di_texts),
        ("tornado", to.into(), to_texts),
        ("fleet-week", fl.into(), fl_texts),
        ("cumulative", cu.into(), cu_texts),
        ("cash-flow", cash_flow_chart().into(), cf_texts),
    ];
    for (_, chart, texts) in &mut out {
        texts.push(chart.title().to_string());
        texts.push(SUBTITLE.to_string());
    }
    out
}

/// How text appears in SVG: with XML's five characters escaped.
fn svg_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

fn assert_png(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(
        &bytes[..8],
        b"\x89PNG\r\n\x1a\n",
        "{}: not a PNG",
        path.display()
    );
    assert_eq!(&bytes[12..16], b"IHDR");
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!((w, h), (WIDTH, HEIGHT), "{}", path.display());
    // Decoded, it is the house size in RGB and has ink on it (a title at least), not a blank
    // page: the PNG's byte size says little (an almost empty chart compresses to a few kB).
    let mut reader = png::Decoder::new(std::io::Cursor::new(&bytes))
        .read_info()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut pixels = vec![0u8; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
    assert_eq!(info.color_type, png::ColorType::Rgb, "{}", path.display());
    let ink = pixels[..info.buffer_size()]
        .chunks(3)
        .filter(|px| px.iter().all(|c| *c < 100))
        .count();
    assert!(ink > 500, "{}: only {ink} dark pixels", path.display());
}

#[test]
fn every_chart_has_its_title_axes_and_labels_in_svg() {
    for (stem, chart, texts) in all_charts() {
        let svg = render_svg(&chart).unwrap();
        assert!(svg.starts_with("<svg"), "{stem}");
        assert!(svg.contains(&format!("width=\"{WIDTH}\"")), "{stem}");
        assert!(svg.contains("font-family=\"sans-serif\""), "{stem}");
        for t in &texts {
            assert!(svg.contains(&svg_text(t)), "{stem}: no \"{t}\" in the SVG");
        }
    }
}

#[test]
fn every_chart_renders_to_png_of_the_house_size() {
    let dir = tempfile::tempdir().unwrap();
    let examples = std::env::var_os("BREAKEVEN_CHART_EXAMPLES");
    for (stem, chart, _) in all_charts() {
        let path = render_png(&chart, &dir.path().join(format!("{stem}.png"))).unwrap();
        assert_png(&path);
        if let Some(ex) = &examples {
            std::fs::create_dir_all(ex).unwrap();
            write_chart(&chart, Path::new(ex), stem).unwrap();
        }
    }
    // Nothing but the charts is left behind: no temporary files.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| n.ends_with(".png") && !n.starts_with('.')),
        "{names:?}"
    );
}

#[test]
fn write_chart_writes_svg_and_png_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let chart: Chart = break_even_chart().into();
    let (svg, png) = write_chart(&chart, dir.path(), "break-even").unwrap();
    assert_eq!(svg, dir.path().join("break-even.svg"));
    assert_eq!(png, dir.path().join("break-even.png"));
    assert!(std::fs::read_to_string(&svg)
        .unwrap()
        .contains("Monthly cost by monthly volume"));
    assert_png(&png);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);

    // A bad stem or a missing folder is an error, not a panic.
    assert!(write_chart(&chart, dir.path(), "").is_err());
    assert!(write_chart(&chart, dir.path(), "a/b").is_err());
    assert!(write_chart(&chart, &dir.path().join("missing"), "x").is_err());
}

/// Dark pixels in a band of rows of a chart drawn into memory with the bitmap backend.
fn dark_pixels(chart: &Chart, rows: std::ops::Range<u32>) -> usize {
    breakeven::report::charts::register_fonts().unwrap();
    let mut buf = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (WIDTH, HEIGHT)).into_drawing_area();
        chart.draw(&root).unwrap();
    }
    buf.chunks(3)
        .enumerate()
        .filter(|(i, px)| {
            let y = *i as u32 / WIDTH;
            rows.contains(&y) && px.iter().all(|c| *c < 100)
        })
        .count()
}

#[test]
fn png_text_is_drawn_with_the_embedded_font() {
    // The title block is the top ~45 px and holds nothing but the title: with a title there
    // must be ink there, without one none. No system font is consulted (run under
    // FONTCONFIG_FILE=/nonexistent to see it), so ink there means the embedded font works.
    let mut c = break_even_chart();
    let with = dark_pixels(&c.clone().into(), 0..45);
    c.title.clear();
    let without = dark_pixels(&c.into(), 0..45);
    assert!(with > 500, "title drew only {with} dark pixels");
    assert_eq!(without, 0);
}

#[test]
fn empty_inputs_render_with_a_note_instead_of_failing() {
    let charts: Vec<(Chart, &str)> = vec![
        (
            BreakEvenChart {
                title: "empty".into(),
                ..Default::default()
            }
            .into(),
            "no cost curves to show",
        ),
        (
            ProbabilityChart {
                title: "empty".into(),
                ..Default::default()
            }
            .into(),
            "no probability curves to show",
        ),
        (
            DistributionChart {
                title: "empty".into(),
                options: vec![CostSample {
                    colour: 0,
                    label: "nothing".into(),
                    sample: vec![f64::NAN],
                }],
                ..Default::default()
            }
            .into(),
            "no simulated costs to show",
        ),
        (
            TornadoChart {
                title: "empty".into(),
                ..Default::default()
            }
            .into(),
            "no inputs to rank",
        ),
        (
            FleetChart {
                colour: 0,
                title: "empty".into(),
                ..Default::default()
            }
            .into(),
            "no hourly trace to show",
        ),
        (
            CumulativeChart {
                y_label: String::new(),
                title: "empty".into(),
                ..Default::default()
            }
            .into(),
            "no cumulative costs to show",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (i, (chart, note)) in charts.iter().enumerate() {
        let svg = render_svg(chart).unwrap();
        assert!(svg.contains(note), "{note}");
        assert_png(&render_png(chart, &dir.path().join(format!("{i}.png"))).unwrap());
    }
}

#[test]
fn missing_break_even_and_overtake_are_written_out() {
    let mut be = break_even_chart();
    be.breakevens = vec![BreakEvenMark {
        label: "2× L40S vs API".into(),
        p5: None,
        p50: None,
        p95: None,
    }];
    be.breakevens.push(BreakEvenMark {
        label: "4× H100 vs API".into(),
        p5: Some(1.5e6),
        p50: Some(3.1e6),
        p95: None,
    });
    let be: Chart = be.into();
    let svg = render_svg(&be).unwrap();
    assert!(svg.contains("2× L40S vs API: no break-even in range (10k–2M images/month)"));
    assert!(svg.contains(
        "4× H100 vs API: 3.1M images/month, outside the chart (p5–p95 1.5M–beyond range)"
    ));

    let mut cu = cumulative_chart();
    cu.overtakes[0].month = None;
    let cu: Chart = cu.into();
    let svg = render_svg(&cu).unwrap();
    assert!(svg.contains("2× L40S overtakes the API: not within 24 months"));
    if let Some(ex) = std::env::var_os("BREAKEVEN_CHART_EXAMPLES") {
        std::fs::create_dir_all(&ex).unwrap();
        write_chart(&be, Path::new(&ex), "break-even-none-in-range").unwrap();
        write_chart(&cu, Path::new(&ex), "cumulative-no-overtake").unwrap();
    }
}

#[test]
fn non_finite_and_degenerate_inputs_do_not_panic() {
    let mut be = break_even_chart();
    be.options[0].points.push(VolumePoint {
        volume: -5.0,
        p5: f64::NAN,
        p50: f64::INFINITY,
        p95: 1.0,
        mean: 0.0,
        p_over_capacity: f64::NAN,
    });
    be.options[1].points.truncate(1);
    be.breakevens.push(BreakEvenMark {
        label: "beyond".into(),
        p5: Some(1e9),
        p50: Some(f64::NAN),
        p95: None,
    });
    let mut to = tornado_chart();
    to.bars = vec![TornadoBar {
        input: "flat".into(),
        at_low: to.baseline,
        at_high: to.baseline,
        ..Default::default()
    }];
    let mut one_sided = tornado_chart();
    one_sided.bars.push(TornadoBar {
        input: "one-sided".into(),
        low_label: "a".into(),
        high_label: "b".into(),
        at_low: 700.0,
        at_high: 900.0,
    });
    let svg = render_svg(&one_sided.into()).unwrap();
    assert!(svg.contains("p90: b · p10: a"));
    let mut fl = fleet_chart();
    fl.utilisation.truncate(5);
    fl.overflow.clear();
    for chart in [Chart::from(be), to.into(), fl.into()] {
        render_svg(&chart).unwrap();
    }
}
