//! Every pricing rule against hand-computed exact prices, on catalogues written in the test so
//! that a change to the shipped data cannot hide a change to the rules; then the published
//! examples on the shipped catalogue, and invariants over random requests.

use breakeven::catalogue::{Catalogue, CatalogueFile, PriceRule};
use breakeven::pricing::{check_limits, quote, unit_price, Quote, Request, Size};
use breakeven::Error;
use chrono::NaiveDate;
use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

/// Like BFL's FLUX.2 [pro]: $0.03 first MP, $0.015 each extra and each input MP.
const FIRST_EXTRA: &str = r#"
name = "first + extra"
provider = "test"
max_mp = 4.0
size_multiple_px = 16
min_side_px = 64
max_input_images = 2
[[price]]
as_of = "2026-01-28"
source = "test"
rule = "per_mp_first_extra"
first_mp_usd = "0.03"
extra_mp_usd = "0.015"
"#;

/// Inputs at their own rate, fractional megapixels.
const FIRST_EXTRA_EXACT: &str = r#"
name = "first + extra, exact"
provider = "test"
[[price]]
as_of = "2026-01-28"
source = "test"
rule = "per_mp_first_extra"
first_mp_usd = "0.03"
extra_mp_usd = "0.015"
input_mp_usd = "0.01"
mp_rounding = "exact"
"#;

/// Like fal's FLUX.1 [dev]: $0.025 per MP rounded up, inputs free.
const PER_MP: &str = r#"
name = "per MP"
provider = "test"
[[price]]
as_of = "2026-01-01"
source = "test"
rule = "per_mp"
mp_usd = "0.025"
"#;

/// Like fal's FLUX.2 [klein] 9B: outputs and inputs at their own rates.
const PER_MP_INPUTS: &str = r#"
name = "per MP with inputs"
provider = "test"
[[price]]
as_of = "2026-01-01"
source = "test"
rule = "per_mp"
mp_usd = "0.006"
input_mp_usd = "0.005"
"#;

const PER_MP_EXACT: &str = r#"
name = "per MP, exact"
provider = "test"
[[price]]
as_of = "2026-01-01"
source = "test"
rule = "per_mp"
mp_usd = "0.01"
mp_rounding = "exact"
"#;

/// Like FLUX.1 Kontext [pro]: $0.04 a generation, one input image.
const PER_IMAGE: &str = r#"
name = "per image"
provider = "test"
max_input_images = 1
[[price]]
as_of = "2026-01-28"
source = "test"
rule = "per_image"
image_usd = "0.04"
"#;

const PER_IMAGE_INPUTS: &str = r#"
name = "per image with inputs"
provider = "test"
[[price]]
as_of = "2026-01-28"
source = "test"
rule = "per_image"
image_usd = "0.04"
input_image_usd = "0.01"
"#;

/// Like Segmind's FLUX.1 [schnell], without an open model: time proportional to megapixels.
const GPU_SECOND: &str = r#"
name = "per GPU-second"
provider = "test"
[[price]]
as_of = "2026-01-01"
source = "test"
rule = "per_gpu_second"
gpu_second_usd = "0.0072"
reference_image_usd = "0.008"
default_steps = 4
fixed_share = 0.2
min_steps = 1
max_steps = 12
"#;

/// The same price, with time against resolution from an open model's profile.
const GPU_SECOND_SCALED: &str = r#"
name = "per GPU-second, scaled"
provider = "test"
open_model = "open"
[[price]]
as_of = "2026-01-01"
source = "test"
rule = "per_gpu_second"
gpu_second_usd = "0.0072"
reference_image_usd = "0.008"
default_steps = 4
fixed_share = 0.2
min_steps = 1
max_steps = 12
"#;

/// Like Fireworks' FLUX.1 [schnell] FP8: $0.00035 a step, 4 by default, up to 8.
const PER_STEP: &str = r#"
name = "per step"
provider = "test"
[[price]]
as_of = "2026-01-01"
source = "test"
rule = "per_step"
step_usd = "0.00035"
default_steps = 4
max_steps = 8
"#;

/// Like DeepInfra's FLUX.1 [schnell]: $0.0005 per exact megapixel per step, 1 step by default.
const PER_MP_STEP: &str = r#"
name = "per MP per step"
provider = "test"
[[price]]
as_of = "2026-01-01"
source = "test"
rule = "per_mp_step"
mp_step_usd = "0.0005"
mp_rounding = "exact"
default_steps = 1
max_steps = 50
"#;

/// The same rate, megapixels rounded up (the default).
const PER_MP_STEP_CEIL: &str = r#"
name = "per MP per step, rounded up"
provider = "test"
[[price]]
as_of = "2026-01-01"
source = "test"
rule = "per_mp_step"
mp_step_usd = "0.0005"
default_steps = 4
max_steps = 8
"#;

/// Like Cloudflare's FLUX.2 [klein] 4B: a flat price per output and per input tile.
const PER_TILE: &str = r#"
name = "per tile"
provider = "test"
max_input_images = 4
[[price]]
as_of = "2026-01-01"
source = "test"
rule = "per_tile"
tile_usd = "0.00028655"
input_tile_usd = "0.00005907"
"#;

/// Like Cloudflare's FLUX.1 [schnell]: per tile plus per step.
const PER_TILE_STEP: &str = r#"
name = "per tile + per step"
provider = "test"
[[price]]
as_of = "2026-01-01"
source = "test"
rule = "per_tile"
tile_px = 512
tile_usd = "0.0000528"
step_usd = "0.0001056"
default_steps = 4
max_steps = 8
"#;

/// Like Cloudflare's FLUX.2 [dev]: per tile per step, inputs too.
const PER_TILE_PER_STEP: &str = r#"
name = "per tile per step"
provider = "test"
[[price]]
as_of = "2026-01-01"
source = "test"
rule = "per_tile"
tile_step_usd = "0.0004125"
input_tile_step_usd = "0.00020625"
default_steps = 25
max_steps = 50
"#;

/// Tiles counted by area instead of covering the image.
const PER_TILE_AREA: &str = r#"
name = "per tile by area"
provider = "test"
[[price]]
as_of = "2026-01-01"
source = "test"
rule = "per_tile"
tile_count = "area"
tile_usd = "0.0001"
"#;

const PROFILE: &str = r#"
name = "open"
licence = "free"
default_steps = 4
min_steps = 1
max_steps = 12
memory_gb = 24.0
max_mp = 4.0
step_share = 0.8
resolution_scaling = { fixed = 0.14, linear = 0.76, quadratic = 0.1, source = "test", as_of = "2026-01-01" }
source = "test"
as_of = "2026-01-01"
"#;

const LICENCE: &str = r#"
name = "free"
covers = ["open"]
monthly_fee_usd = "0"
source = "test"
as_of = "2026-01-01"
"#;

/// Like BFL's FLUX.2 [flex]: $0.06/MP until 2026-01-28, $0.05/MP from then.
const HISTORY: &str = r#"
name = "two prices"
provider = "test"
[[price]]
as_of = "2026-01-28"
source = "new page"
rule = "per_mp_first_extra"
first_mp_usd = "0.05"
extra_mp_usd = "0.05"
[[price]]
as_of = "2025-11-25"
source = "old page"
rule = "per_mp_first_extra"
first_mp_usd = "0.06"
extra_mp_usd = "0.06"
"#;

fn test_catalogue() -> Catalogue {
    let files = [
        ("api/t/first-extra.toml", FIRST_EXTRA),
        ("api/t/first-extra-exact.toml", FIRST_EXTRA_EXACT),
        ("api/t/per-mp.toml", PER_MP),
        ("api/t/per-mp-inputs.toml", PER_MP_INPUTS),
        ("api/t/per-mp-exact.toml", PER_MP_EXACT),
        ("api/t/per-image.toml", PER_IMAGE),
        ("api/t/per-image-inputs.toml", PER_IMAGE_INPUTS),
        ("api/t/gpu-second.toml", GPU_SECOND),
        ("api/t/gpu-second-scaled.toml", GPU_SECOND_SCALED),
        ("api/t/history.toml", HISTORY),
        ("api/t/per-step.toml", PER_STEP),
        ("api/t/per-mp-step.toml", PER_MP_STEP),
        ("api/t/per-mp-step-ceil.toml", PER_MP_STEP_CEIL),
        ("api/t/per-tile.toml", PER_TILE),
        ("api/t/per-tile-step.toml", PER_TILE_STEP),
        ("api/t/per-tile-per-step.toml", PER_TILE_PER_STEP),
        ("api/t/per-tile-area.toml", PER_TILE_AREA),
        ("selfhost/open.toml", PROFILE),
        ("licence/free.toml", LICENCE),
    ];
    let files = files
        .iter()
        .map(|(path, text)| CatalogueFile {
            rel_path: path.to_string(),
            display: format!("test/{path}"),
            text: text.to_string(),
        })
        .collect();
    Catalogue::from_files("test", files)
        .unwrap_or_else(|e| panic!("test catalogue does not load:\n{e}"))
}

fn builtin() -> Catalogue {
    Catalogue::builtin().unwrap_or_else(|e| panic!("built-in catalogue does not load:\n{e}"))
}

fn size(w: u32, h: u32) -> Size {
    Size::new(w, h)
}

fn request(s: Size, inputs: &[Size], steps: Option<u32>, count: u64) -> Request {
    Request {
        size: s,
        inputs: inputs.to_vec(),
        steps,
        count,
    }
}

fn quote_in(
    c: &Catalogue,
    model: &str,
    req: &Request,
    as_of: Option<NaiveDate>,
) -> breakeven::Result<Quote> {
    quote(c, c.api(model).unwrap(), req, as_of)
}

/// The total of a request that must be priced.
fn total(c: &Catalogue, model: &str, req: Request) -> Decimal {
    match quote_in(c, model, &req, None) {
        Ok(q) => q.total_usd,
        Err(e) => panic!("{model} {req:?} was refused: {e}"),
    }
}

/// The total of one text-to-image request of `s`.
fn one(c: &Catalogue, model: &str, s: Size) -> Decimal {
    total(c, model, Request::image(s))
}

/// The problems a request that must be refused is refused with, one line each.
fn refused(c: &Catalogue, model: &str, req: Request, as_of: Option<NaiveDate>) -> Vec<String> {
    match quote_in(c, model, &req, as_of) {
        Ok(q) => panic!(
            "{model} {req:?} was priced at {} but should be refused",
            q.total_usd
        ),
        Err(e @ Error::Input(_)) => {
            assert_eq!(e.exit_code(), 2);
            e.to_string().lines().map(str::to_string).collect()
        }
        Err(e) => panic!("{model} {req:?} failed with a non-input error: {e}"),
    }
}

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

// per_mp_first_extra ------------------------------------------------------------------------

#[test]
fn first_extra_charges_the_first_megapixel_then_each_extra() {
    let c = test_catalogue();
    let m = "t/first-extra";
    assert_eq!(one(&c, m, size(1024, 1024)), dec!(0.03));
    assert_eq!(one(&c, m, size(1024, 2048)), dec!(0.045));
    assert_eq!(one(&c, m, size(2048, 2048)), dec!(0.075)); // 0.03 + 3 × 0.015
                                                           // The first megapixel is charged whole, however small the image.
    assert_eq!(one(&c, m, size(512, 512)), dec!(0.03));
}

#[test]
fn first_extra_rounds_each_image_up_to_whole_megapixels() {
    let c = test_catalogue();
    // 1920 × 1088 is 1.992 MP: billed as 2.
    let q = quote_in(&c, "t/first-extra", &Request::image(size(1920, 1088)), None).unwrap();
    assert_eq!(q.output_mp, dec!(1.9921875));
    assert_eq!(q.billed_output_mp, dec!(2));
    assert_eq!(q.total_usd, dec!(0.045));
    // Just over 1 MP is 2.
    assert_eq!(one(&c, "t/first-extra", size(1024, 1040)), dec!(0.045));
    // 1920 × 1080 (1.9775 MP) is billed as 2 where sides need not be multiples of 16, as on
    // fal; BFL refuses it (1080 = 67.5 × 16).
    let fal = builtin();
    let q = quote_in(
        &fal,
        "fal/flux-2-pro",
        &Request::image(size(1920, 1080)),
        None,
    )
    .unwrap();
    assert_eq!(
        (q.output_mp, q.billed_output_mp, q.total_usd),
        (dec!(1.9775390625), dec!(2), dec!(0.045))
    );
    let p = refused(&c, "t/first-extra", Request::image(size(1920, 1080)), None);
    assert!(p[0].contains("not a multiple of 16 px"), "{p:?}");
}

#[test]
fn first_extra_bills_inputs_at_the_extra_rate_each_rounded_up() {
    let c = test_catalogue();
    let m = "t/first-extra";
    assert_eq!(
        total(
            &c,
            m,
            request(size(1024, 1024), &[size(1024, 1024)], None, 1)
        ),
        dec!(0.045)
    );
    // Inputs of 1 MP and 1.98 MP (billed 2): 3 MP × $0.015 on top of the first MP.
    let q = quote_in(
        &c,
        m,
        &request(
            size(1024, 1024),
            &[size(1024, 1024), size(1920, 1080)],
            None,
            1,
        ),
        None,
    )
    .unwrap();
    assert_eq!(q.billed_input_mp, dec!(3));
    assert_eq!(q.unit_price_usd, dec!(0.075));
    // A 2 MP output with a 0.25 MP input (billed 1): 0.03 + 0.015 + 0.015.
    assert_eq!(
        total(&c, m, request(size(1024, 2048), &[size(512, 512)], None, 1)),
        dec!(0.06)
    );
}

#[test]
fn first_extra_can_bill_inputs_at_their_own_rate_and_exact_megapixels() {
    let c = test_catalogue();
    let m = "t/first-extra-exact";
    // 0.03 + 0.9775390625 × 0.015 exactly.
    assert_eq!(one(&c, m, size(1920, 1080)), dec!(0.0446630859375));
    // Still at least the first megapixel.
    assert_eq!(one(&c, m, size(512, 512)), dec!(0.03));
    // Inputs at $0.01 per exact MP: 0.03 + 1 × 0.01 + 0.25 × 0.01.
    assert_eq!(
        total(
            &c,
            m,
            request(
                size(1024, 1024),
                &[size(1024, 1024), size(512, 512)],
                None,
                1
            )
        ),
        dec!(0.0425)
    );
}

#[test]
fn first_extra_limits_are_enforced() {
    let c = test_catalogue();
    let m = "t/first-extra";
    // Exactly 4 MP is allowed; 2064 × 2064 (4.06 MP) is not.
    assert_eq!(one(&c, m, size(2048, 2048)), dec!(0.075));
    let p = refused(&c, m, Request::image(size(2064, 2064)), None);
    assert_eq!(
        p,
        ["<command line>: size: 2064x2064 is 4.063 MP, over t/first-extra's limit of 4 MP"]
    );
    // Sides must be multiples of 16.
    let p = refused(&c, m, Request::image(size(1000, 1000)), None);
    assert_eq!(p.len(), 1);
    assert!(
        p[0].contains("size: 1000x1000 has a side that is not a multiple of 16 px"),
        "{p:?}"
    );
    // At least 64 px a side.
    let p = refused(&c, m, Request::image(size(48, 1024)), None);
    assert!(
        p[0].contains("under t/first-extra's minimum of 64 px"),
        "{p:?}"
    );
    // At most two inputs.
    let p = refused(
        &c,
        m,
        request(size(1024, 1024), &[size(1024, 1024); 3], None, 1),
        None,
    );
    assert_eq!(
        p,
        ["<command line>: input: 3 input images; t/first-extra takes at most 2"]
    );
}

#[test]
fn every_violation_is_reported_at_once() {
    let c = test_catalogue();
    let p = refused(
        &c,
        "t/first-extra",
        request(size(2050, 2050), &[size(64, 64); 3], Some(0), 0),
        None,
    );
    let keys: Vec<&str> = p.iter().map(|l| l.split(": ").nth(1).unwrap()).collect();
    assert_eq!(keys, ["count", "size", "size", "input", "steps"], "{p:#?}");
}

// per_mp ------------------------------------------------------------------------------------

#[test]
fn per_mp_rounds_each_image_up() {
    let c = test_catalogue();
    let m = "t/per-mp";
    assert_eq!(one(&c, m, size(1024, 1024)), dec!(0.025));
    assert_eq!(one(&c, m, size(1920, 1080)), dec!(0.05));
    assert_eq!(one(&c, m, size(1025, 1024)), dec!(0.05));
    assert_eq!(one(&c, m, size(512, 512)), dec!(0.025));
    assert_eq!(one(&c, m, size(2048, 2048)), dec!(0.1));
    // Without an input rate, inputs are free.
    assert_eq!(
        total(
            &c,
            m,
            request(size(1024, 1024), &[size(1024, 1024)], None, 1)
        ),
        dec!(0.025)
    );
}

#[test]
fn per_mp_bills_inputs_at_their_rate() {
    let c = test_catalogue();
    // 2 MP out at $0.006, inputs of 2 MP and 1 MP (0.25 rounded up) at $0.005.
    let q = quote_in(
        &c,
        "t/per-mp-inputs",
        &request(
            size(1920, 1080),
            &[size(1920, 1080), size(512, 512)],
            None,
            1,
        ),
        None,
    )
    .unwrap();
    assert_eq!((q.billed_output_mp, q.billed_input_mp), (dec!(2), dec!(3)));
    assert_eq!(q.unit_price_usd, dec!(0.027));
}

#[test]
fn per_mp_can_bill_exact_megapixels() {
    let c = test_catalogue();
    assert_eq!(
        one(&c, "t/per-mp-exact", size(1920, 1080)),
        dec!(0.019775390625)
    );
    assert_eq!(one(&c, "t/per-mp-exact", size(512, 512)), dec!(0.0025));
}

// per_image ---------------------------------------------------------------------------------

#[test]
fn per_image_is_flat_whatever_the_size() {
    let c = test_catalogue();
    for s in [
        size(512, 512),
        size(1024, 1024),
        size(1920, 1080),
        size(2048, 2048),
    ] {
        assert_eq!(one(&c, "t/per-image", s), dec!(0.04));
    }
    // Inputs are free unless the rule prices them.
    assert_eq!(
        total(
            &c,
            "t/per-image",
            request(size(1024, 1024), &[size(1024, 1024)], None, 1)
        ),
        dec!(0.04)
    );
    assert_eq!(
        total(
            &c,
            "t/per-image-inputs",
            request(size(1024, 1024), &[size(1024, 1024); 2], None, 1)
        ),
        dec!(0.06)
    );
}

#[test]
fn a_batch_costs_count_times_one_image() {
    let c = test_catalogue();
    assert_eq!(
        total(&c, "t/per-image", request(size(1024, 1024), &[], None, 4)),
        dec!(0.16)
    );
    for model in [
        "t/first-extra",
        "t/per-mp",
        "t/per-image-inputs",
        "t/gpu-second-scaled",
    ] {
        let single = total(&c, model, request(size(1920, 1088), &[], None, 1));
        let batch = total(&c, model, request(size(1920, 1088), &[], None, 7));
        assert_eq!(batch, single * dec!(7), "{model}");
    }
}

#[test]
fn steps_do_not_change_prices_that_do_not_depend_on_them() {
    let c = test_catalogue();
    let q = quote_in(
        &c,
        "t/per-image",
        &request(size(1024, 1024), &[], Some(50), 1),
        None,
    )
    .unwrap();
    assert_eq!((q.total_usd, q.steps), (dec!(0.04), None));
    assert!(
        q.explanation
            .iter()
            .any(|l| l.contains("does not price by steps")),
        "{:?}",
        q.explanation
    );
}

// per_gpu_second ----------------------------------------------------------------------------

#[test]
fn gpu_seconds_at_default_steps_and_1_mp_cost_the_reference_price() {
    let c = test_catalogue();
    for m in ["t/gpu-second", "t/gpu-second-scaled"] {
        let q = quote_in(&c, m, &Request::image(size(1024, 1024)), None).unwrap();
        assert_eq!(q.unit_price_usd, dec!(0.008), "{m}");
        assert_eq!(q.steps, Some(4));
        // $0.008 at $0.0072/s is 1.111… GPU-seconds.
        let seconds = q.billed_gpu_seconds.unwrap();
        assert!(
            (seconds * dec!(0.0072) - dec!(0.008)).abs() < dec!(1e-20),
            "{seconds}"
        );
    }
}

#[test]
fn fewer_steps_cost_strictly_less() {
    let c = test_catalogue();
    let at = |steps| {
        total(
            &c,
            "t/gpu-second",
            request(size(1024, 1024), &[], Some(steps), 1),
        )
    };
    // 0.008 × (0.2 + 0.8 × steps / 4).
    assert_eq!(at(1), dec!(0.0032));
    assert_eq!(at(2), dec!(0.0048));
    assert_eq!(at(4), dec!(0.008));
    assert_eq!(at(8), dec!(0.0144));
    assert_eq!(at(12), dec!(0.0208));
    for s in 1..12 {
        assert!(at(s) < at(s + 1), "{s} steps cost no less than {}", s + 1);
    }
}

#[test]
fn higher_resolution_costs_more_on_gpu_time() {
    let c = test_catalogue();
    // Without an open model, time is proportional to megapixels.
    assert_eq!(one(&c, "t/gpu-second", size(1024, 2048)), dec!(0.016));
    assert_eq!(one(&c, "t/gpu-second", size(512, 512)), dec!(0.002));
    // With one, 0.14 + 0.76 mp + 0.1 mp²: 2.06 at 2 MP, 4.78 at 4 MP, 0.33625 at 0.25 MP.
    let m = "t/gpu-second-scaled";
    assert_eq!(one(&c, m, size(1024, 2048)), dec!(0.01648));
    assert_eq!(one(&c, m, size(2048, 2048)), dec!(0.03824));
    assert_eq!(one(&c, m, size(512, 512)), dec!(0.00269));
    // Steps and resolution multiply: 2 steps at 2 MP.
    assert_eq!(
        total(&c, m, request(size(1024, 2048), &[], Some(2), 1)),
        dec!(0.009888)
    );
}

#[test]
fn steps_outside_the_range_are_refused() {
    let c = test_catalogue();
    for steps in [0, 13, 100] {
        let p = refused(
            &c,
            "t/gpu-second",
            request(size(1024, 1024), &[], Some(steps), 1),
            None,
        );
        assert_eq!(
            p,
            [format!(
                "<command line>: steps: {steps} is outside t/gpu-second's range of 1 to 12 steps"
            )]
        );
    }
}

#[test]
fn a_zero_gpu_second_rate_prices_without_dividing_by_it() {
    let free = GPU_SECOND.replace("gpu_second_usd = \"0.0072\"", "gpu_second_usd = \"0\"");
    assert_ne!(free, GPU_SECOND);
    let files = vec![CatalogueFile {
        rel_path: "api/t/free.toml".into(),
        display: "test/api/t/free.toml".into(),
        text: free,
    }];
    let c = Catalogue::from_files("test", files).unwrap();
    let q = quote_in(&c, "t/free", &Request::image(size(1024, 1024)), None).unwrap();
    assert_eq!(
        (q.unit_price_usd, q.billed_gpu_seconds),
        (dec!(0.008), None)
    );
}

// price history -----------------------------------------------------------------------------

#[test]
fn the_price_in_force_on_a_date_applies() {
    let c = test_catalogue();
    let m = "t/history";
    let on =
        |d: Option<&str>| quote_in(&c, m, &Request::image(size(1024, 1024)), d.map(date)).unwrap();
    assert_eq!(
        (on(None).total_usd, on(None).source.as_str()),
        (dec!(0.05), "new page")
    );
    assert_eq!(on(Some("2026-01-28")).total_usd, dec!(0.05));
    assert_eq!(on(Some("2026-01-27")).total_usd, dec!(0.06));
    assert_eq!(on(Some("2025-11-25")).as_of, date("2025-11-25"));
    let p = refused(
        &c,
        m,
        Request::image(size(1024, 1024)),
        Some(date("2025-11-24")),
    );
    assert_eq!(p, ["<command line>: as-of: 2025-11-24 is before t/history's first price (2025-11-25); expected a date on or after it"]);
}

// check_limits and unit_price, the engine's entry points -------------------------------------

#[test]
fn check_limits_and_unit_price_agree_with_quote() {
    let c = test_catalogue();
    let api = c.api("t/first-extra").unwrap();
    let price = api.price_on(None).unwrap();
    assert!(check_limits(api, price, &Request::image(size(2048, 2048))).is_ok());
    assert_eq!(
        check_limits(api, price, &Request::image(size(2064, 2064)))
            .unwrap_err()
            .0
            .len(),
        1
    );
    let unit = unit_price(&c, api, size(1024, 1024), &[size(1024, 1024)], None, None).unwrap();
    assert_eq!(unit, dec!(0.045));
}

// the shipped catalogue ---------------------------------------------------------------------

#[test]
fn shipped_examples_from_the_issue() {
    let c = builtin();
    assert_eq!(
        one(&c, "bfl/flux-2-klein-4b", size(1024, 2048)),
        dec!(0.015)
    );
    assert_eq!(
        total(
            &c,
            "bfl/flux-1-kontext-pro",
            request(size(1024, 1024), &[], None, 4)
        ),
        dec!(0.16)
    );
    assert_eq!(
        total(
            &c,
            "bfl/flux-2-pro",
            request(size(1024, 1024), &[size(1024, 1024)], None, 1)
        ),
        dec!(0.045)
    );
    assert!(refused(
        &c,
        "bfl/flux-2-klein-4b",
        Request::image(size(2064, 2064)),
        None
    )[0]
    .contains("over bfl/flux-2-klein-4b's limit of 4 MP"));
    assert!(
        refused(&c, "bfl/flux-2-pro", Request::image(size(1000, 1000)), None)[0]
            .contains("not a multiple of 16 px")
    );
}

#[test]
fn shipped_segmind_gpu_second_prices() {
    let c = builtin();
    // Check the shipped fixed share the expectations below assume.
    match &c.api("segmind/flux-schnell").unwrap().prices[0].rule {
        PriceRule::PerGpuSecond {
            fixed_share, steps, ..
        } => assert_eq!((*fixed_share, steps.default_steps), (dec!(0.2), 4)),
        other => panic!("segmind/flux-schnell is priced {other:?}"),
    }
    assert_eq!(
        one(&c, "segmind/flux-schnell", size(1024, 1024)),
        dec!(0.008)
    );
    assert_eq!(one(&c, "segmind/flux-dev", size(1024, 1024)), dec!(0.020));
    // 0.008 × (0.2 + 0.8 × 2/4).
    assert_eq!(
        total(
            &c,
            "segmind/flux-schnell",
            request(size(1024, 1024), &[], Some(2), 1)
        ),
        dec!(0.0048)
    );
    assert!(one(&c, "segmind/flux-dev", size(1024, 2048)) > dec!(0.020));
}

#[test]
fn shipped_flex_has_two_prices() {
    let c = builtin();
    let flex = |d: Option<&str>| {
        quote_in(
            &c,
            "bfl/flux-2-flex",
            &Request::image(size(1024, 1024)),
            d.map(date),
        )
        .unwrap()
        .total_usd
    };
    assert_eq!(flex(Some("2026-01-01")), dec!(0.06));
    assert_eq!(flex(None), dec!(0.05));
    let p = refused(
        &c,
        "bfl/flux-2-klein-4b",
        Request::image(size(1024, 1024)),
        Some(date("2020-01-01")),
    );
    assert!(
        p[0].contains("2020-01-01 is before bfl/flux-2-klein-4b's first price (2026-01-28)"),
        "{p:?}"
    );
}

// per_step ----------------------------------------------------------------------------------

#[test]
fn per_step_is_steps_times_the_rate_whatever_the_size() {
    let c = test_catalogue();
    let m = "t/per-step";
    for s in [size(512, 512), size(1024, 1024), size(2048, 2048)] {
        assert_eq!(one(&c, m, s), dec!(0.0014), "{s}"); // 4 default steps × $0.00035
    }
    let at = |steps| total(&c, m, request(size(1024, 1024), &[], Some(steps), 1));
    assert_eq!(at(1), dec!(0.00035));
    assert_eq!(at(8), dec!(0.0028));
    let q = quote_in(&c, m, &Request::image(size(1024, 1024)), None).unwrap();
    assert_eq!((q.steps, q.rule), (Some(4), "per_step"));
    assert_eq!(q.explanation[0], "4 steps × $0.00035, whatever the size");
    let p = refused(&c, m, request(size(1024, 1024), &[], Some(9), 1), None);
    assert_eq!(
        p,
        ["<command line>: steps: 9 is outside t/per-step's range of 1 to 8 steps"]
    );
}

// per_mp_step -------------------------------------------------------------------------------

#[test]
fn per_mp_step_multiplies_megapixels_steps_and_the_rate() {
    let c = test_catalogue();
    let m = "t/per-mp-step";
    // Default 1 step: $0.0005 × 1 MP × 1.
    assert_eq!(one(&c, m, size(1024, 1024)), dec!(0.0005));
    // Exact megapixels: 1024 × 768 is 0.75 MP; × 4 steps.
    assert_eq!(
        total(&c, m, request(size(1024, 768), &[], Some(4), 1)),
        dec!(0.0015)
    );
    // 1920 × 1080 is 1.9775390625 MP.
    assert_eq!(
        total(&c, m, request(size(1920, 1080), &[], Some(4), 1)),
        dec!(0.003955078125)
    );
    // Rounded up, 1024 × 768 bills 1 MP and 1920 × 1080 bills 2.
    let m = "t/per-mp-step-ceil";
    assert_eq!(one(&c, m, size(1024, 768)), dec!(0.002));
    assert_eq!(one(&c, m, size(1920, 1080)), dec!(0.004));
    let q = quote_in(&c, m, &Request::image(size(1920, 1080)), None).unwrap();
    assert_eq!((q.billed_output_mp, q.steps), (dec!(2), Some(4)));
}

// per_tile ----------------------------------------------------------------------------------

#[test]
fn tiles_cover_the_image_side_by_side() {
    use breakeven::catalogue::TileCount::{Area, Cover};
    use breakeven::pricing::count_tiles;
    let cover = |w, h| count_tiles(size(w, h), 512, Cover);
    assert_eq!(cover(512, 512), dec!(1));
    assert_eq!(cover(1024, 1024), dec!(4));
    assert_eq!(cover(1024, 768), dec!(4)); // 2 × 2
    assert_eq!(cover(513, 512), dec!(2));
    assert_eq!(cover(1025, 1024), dec!(6)); // 3 × 2
    assert_eq!(cover(896, 1600), dec!(8)); // 2 × 4
    assert_eq!(cover(64, 64), dec!(1));
    let area = |w, h| count_tiles(size(w, h), 512, Area);
    assert_eq!(area(1024, 768), dec!(3));
    assert_eq!(area(896, 1600), dec!(5.46875));
    assert_eq!(area(256, 256), dec!(0.25));
    assert_eq!(count_tiles(size(1024, 1024), 256, Cover), dec!(16));
}

#[test]
fn per_tile_bills_output_and_input_tiles() {
    let c = test_catalogue();
    let m = "t/per-tile";
    assert_eq!(one(&c, m, size(1024, 1024)), dec!(0.0011462)); // 4 × 0.00028655
    assert_eq!(one(&c, m, size(512, 512)), dec!(0.00028655));
    // Two 512² inputs (one tile each) and a 1 MP input (four).
    let q = quote_in(
        &c,
        m,
        &request(
            size(1024, 1024),
            &[size(512, 512), size(512, 512), size(1024, 1024)],
            None,
            1,
        ),
        None,
    )
    .unwrap();
    assert_eq!(
        (q.billed_output_tiles, q.billed_input_tiles),
        (Some(dec!(4)), Some(dec!(6)))
    );
    assert_eq!(q.unit_price_usd, dec!(0.00150062)); // 0.0011462 + 6 × 0.00005907
    assert_eq!(q.steps, None);
    assert_eq!(
        q.explanation[0],
        "output 1024x1024 = 2 × 2 = 4 tiles of 512 px: 4 × $0.00028655"
    );
    assert_eq!(
        q.explanation[1],
        "inputs: 3 images, 6 tiles of 512 px: 6 × $0.00005907"
    );
    // Without a per-step part, steps change nothing and the quote says so.
    let q = quote_in(&c, m, &request(size(1024, 1024), &[], Some(8), 1), None).unwrap();
    assert_eq!((q.unit_price_usd, q.steps), (dec!(0.0011462), None));
    assert!(q
        .explanation
        .iter()
        .any(|l| l == "8 steps asked for; per_tile does not price by steps"));
}

#[test]
fn per_tile_steps_price_the_image_and_each_tile() {
    let c = test_catalogue();
    // 4 tiles × $0.0000528 + 4 steps × $0.0001056.
    let m = "t/per-tile-step";
    assert_eq!(one(&c, m, size(1024, 1024)), dec!(0.0006336));
    assert_eq!(
        total(&c, m, request(size(1024, 1024), &[], Some(1), 1)),
        dec!(0.0003168)
    );
    // 3 × 2 tiles, 8 steps: 6 × 0.0000528 + 8 × 0.0001056.
    assert_eq!(
        total(&c, m, request(size(1536, 1024), &[], Some(8), 1)),
        dec!(0.0011616)
    );
    // 4 tiles × 25 steps × $0.0004125, and an input tile at $0.00020625 a step.
    let m = "t/per-tile-per-step";
    assert_eq!(one(&c, m, size(1024, 1024)), dec!(0.04125));
    let q = quote_in(
        &c,
        m,
        &request(size(1024, 1024), &[size(512, 512)], Some(28), 1),
        None,
    )
    .unwrap();
    assert_eq!(q.unit_price_usd, dec!(0.051975)); // 4 × 28 × 0.0004125 + 1 × 28 × 0.00020625
    assert_eq!(q.steps, Some(28));
    assert_eq!(
        q.explanation[0],
        "output 1024x1024 = 2 × 2 = 4 tiles of 512 px: 4 × 28 steps × $0.0004125"
    );
    let p = refused(&c, m, request(size(1024, 1024), &[], Some(51), 1), None);
    assert!(p[0].contains("range of 1 to 50 steps"), "{p:?}");
}

#[test]
fn per_tile_can_count_tiles_by_area() {
    let c = test_catalogue();
    let m = "t/per-tile-area";
    assert_eq!(one(&c, m, size(1024, 768)), dec!(0.0003)); // 3 tiles
    let q = quote_in(&c, m, &Request::image(size(896, 1600)), None).unwrap();
    assert_eq!(q.billed_output_tiles, Some(dec!(5.46875)));
    assert_eq!(q.unit_price_usd, dec!(0.000546875));
    assert_eq!(
        q.explanation[0],
        "output 896x1600 = 5.46875 tiles of 512 px by area: 5.46875 × $0.0001"
    );
}

#[test]
fn a_price_too_large_to_compute_is_bad_input_at_load() {
    // A price at the decimal maximum used to load and fail when a quote multiplied it; every
    // dollar amount is now bounded where it is read, with the file and key.
    let huge = PER_TILE.replace(
        "tile_usd = \"0.00028655\"",
        "tile_usd = \"79228162514264337593543950335\"",
    );
    assert_ne!(huge, PER_TILE);
    let e = Catalogue::from_files(
        "test",
        vec![CatalogueFile {
            rel_path: "api/t/huge.toml".into(),
            display: "test/api/t/huge.toml".into(),
            text: huge,
        }],
    )
    .unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(
        e.to_string().contains("test/api/t/huge.toml: price[0].tile_usd: 79228162514264337593543950335 is out of range; expected a price, fee or purchase of at most $1,000,000,000.00"),
        "{e}"
    );
}

// published figures, on the shipped catalogue -----------------------------------------------

#[test]
fn fireworks_schnell_costs_its_published_default() {
    // "Normally priced at $0.00035 per inference step … 4 steps by default, making the
    // effective per-image cost $0.0014" (lumenfall.ai, Fireworks' price).
    let c = builtin();
    assert_eq!(
        one(&c, "fireworks/flux-1-schnell", size(1024, 1024)),
        dec!(0.0014)
    );
}

#[test]
fn deepinfra_schnell_follows_its_published_formula() {
    // "$0.0005 x (width / 1024) x (height / 1024) x iters", no rounding; 1 step by default.
    let c = builtin();
    let m = "deepinfra/flux-1-schnell";
    for (w, h, steps) in [
        (1024, 1024, 1),
        (1024, 1024, 4),
        (1024, 768, 4),
        (512, 512, 2),
    ] {
        let formula = dec!(0.0005) * Decimal::from(w) / dec!(1024) * Decimal::from(h) / dec!(1024)
            * Decimal::from(steps);
        let priced = if steps == 1 {
            one(&c, m, size(w, h))
        } else {
            total(&c, m, request(size(w, h), &[], Some(steps), 1))
        };
        assert_eq!(priced, formula, "{w}x{h} at {steps} steps");
    }
    assert_eq!(
        total(&c, m, request(size(1024, 1024), &[], Some(4), 1)),
        dec!(0.002)
    );
}

/// Cloudflare's dollars for a neuron count: $0.011 per 1,000 neurons.
fn neurons(n: Decimal) -> Decimal {
    n * dec!(0.011) / dec!(1000)
}

#[test]
fn cloudflare_tiles_are_the_published_neurons_at_the_published_rate() {
    let c = builtin();
    let rule = |id: &str| c.api(id).unwrap().prices[0].rule.clone();
    match rule("cloudflare/flux-2-klein-4b") {
        PriceRule::PerTile {
            tile_usd,
            input_tile_usd,
            ..
        } => assert_eq!(
            (tile_usd, input_tile_usd),
            (neurons(dec!(26.05)), neurons(dec!(5.37)))
        ),
        other => panic!("{other:?}"),
    }
    match rule("cloudflare/flux-1-schnell") {
        PriceRule::PerTile {
            tile_usd, step_usd, ..
        } => assert_eq!(
            (tile_usd, step_usd),
            (neurons(dec!(4.80)), neurons(dec!(9.60)))
        ),
        other => panic!("{other:?}"),
    }
    match rule("cloudflare/flux-2-dev") {
        PriceRule::PerTile {
            tile_step_usd,
            input_tile_step_usd,
            ..
        } => assert_eq!(
            (tile_step_usd, input_tile_step_usd),
            (neurons(dec!(37.50)), neurons(dec!(18.75)))
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn cloudflare_klein_4b_reproduces_its_published_arithmetic() {
    let c = builtin();
    let m = "cloudflare/flux-2-klein-4b";
    // A user's published arithmetic: "a 896x1600 still is 8 tiles, $0.0023".
    let q = quote_in(&c, m, &Request::image(size(896, 1600)), None).unwrap();
    assert_eq!(q.billed_output_tiles, Some(dec!(8)));
    assert_eq!(q.unit_price_usd, dec!(0.0022924));
    assert_eq!(q.unit_price_usd.round_dp(4), dec!(0.0023));
    // The fact sheet: "$0.000287 a tile (≈ $0.00115/MP)" and "Cloudflare ≈ $1.15k" for 1M
    // images a month at 1 MP.
    assert_eq!(one(&c, m, size(1024, 1024)), dec!(0.0011462));
    let million = total(&c, m, request(size(1024, 1024), &[], None, 1_000_000));
    assert_eq!(million, dec!(1146.2));
    assert_eq!((million / dec!(1000)).round_dp(2), dec!(1.15));
    // The page's rounded dollars give the same cents per thousand images.
    assert_eq!(
        (dec!(4) * dec!(0.000287) * dec!(1000)).round_dp(2),
        (one(&c, m, size(1024, 1024)) * dec!(1000)).round_dp(2)
    );
}

#[test]
fn cloudflare_schnell_and_dev_reproduce_their_neuron_counts() {
    let c = builtin();
    // FLUX.1 [schnell]: 4 tiles × 4.80 + 4 steps × 9.60 = 57.6 neurons.
    assert_eq!(
        one(&c, "cloudflare/flux-1-schnell", size(1024, 1024)),
        neurons(dec!(57.6))
    );
    assert_eq!(
        one(&c, "cloudflare/flux-1-schnell", size(1024, 1024)),
        dec!(0.0006336)
    );
    // FLUX.2 [dev] at Cloudflare's example 25 steps: 4 tiles × 25 steps × 37.50 neurons.
    assert_eq!(
        one(&c, "cloudflare/flux-2-dev", size(1024, 1024)),
        neurons(dec!(3750))
    );
    assert_eq!(
        one(&c, "cloudflare/flux-2-dev", size(1024, 1024)),
        dec!(0.04125)
    );
}

#[test]
fn per_mp_offerings_reproduce_their_listings() {
    let c = builtin();
    // Cloudflare's klein 9B is BFL's formula: $0.015 first MP, $0.002 each extra and input MP.
    let m = "cloudflare/flux-2-klein-9b";
    assert_eq!(one(&c, m, size(1024, 1024)), dec!(0.015));
    assert_eq!(one(&c, m, size(1024, 2048)), dec!(0.017));
    assert_eq!(
        total(
            &c,
            m,
            request(size(1024, 1024), &[size(1024, 1024)], None, 1)
        ),
        dec!(0.017)
    );
    // Replicate klein 4B: "starting from $0.0010 /image" at 1 MP.
    assert_eq!(
        one(&c, "replicate/flux-2-klein-4b", size(1024, 1024)),
        dec!(0.001)
    );
    // Runflow: $0.005/MP (4B), $0.006/MP (9B), and the 9B edit at $0.011 per MP in + out.
    assert_eq!(
        one(&c, "runflow/flux-2-klein-4b", size(1024, 1024)),
        dec!(0.005)
    );
    assert_eq!(
        one(&c, "runflow/flux-2-klein-9b", size(1024, 1024)),
        dec!(0.006)
    );
    assert_eq!(
        total(
            &c,
            "runflow/flux-2-klein-9b",
            request(size(1024, 1024), &[size(1024, 1024)], None, 1)
        ),
        dec!(0.011)
    );
    // Runware base models: "1024x1024: $0.0019" and "$0.00416".
    assert_eq!(
        one(&c, "runware/flux-2-klein-4b-base", size(1024, 1024)),
        dec!(0.0019)
    );
    assert_eq!(
        one(&c, "runware/flux-2-klein-9b-base", size(1024, 1024)),
        dec!(0.00416)
    );
}

// invariants --------------------------------------------------------------------------------

/// Sizes most shipped offerings accept: sides multiples of 16 from 64 px, at most 4 MP. Those an
/// offering's published limits refuse are skipped for it.
fn sizes() -> impl Strategy<Value = Size> {
    (4u32..=256, 4u32..=256)
        .prop_filter("at most 4 MP", |(w, h)| w * h * 256 <= 4 * 1024 * 1024)
        .prop_map(|(w, h)| size(w * 16, h * 16))
}

fn pixels(s: Size) -> u64 {
    s.width as u64 * s.height as u64
}

/// Rules whose price grows with the pixel count, whatever the aspect: not tiles that cover the
/// image, where 720 × 720 (4 tiles) costs more than 512 × 1024 (2).
fn grows_with_pixels(rule: &PriceRule) -> bool {
    match rule {
        PriceRule::PerMp { .. }
        | PriceRule::PerMpFirstExtra { .. }
        | PriceRule::PerGpuSecond { .. }
        | PriceRule::PerMpStep { .. } => true,
        PriceRule::PerTile { tile_count, .. } => {
            *tile_count == breakeven::catalogue::TileCount::Area
        }
        PriceRule::PerImage { .. } | PriceRule::PerStep { .. } => false,
    }
}

/// Whether `api` takes `req` at all.
fn accepts(api: &breakeven::catalogue::ApiOffering, req: &Request) -> bool {
    check_limits(api, api.price_on(None).unwrap(), req).is_ok()
}

/// Every offering of the shipped and the test catalogue, with its catalogue.
fn every_offering() -> Vec<(Catalogue, String)> {
    [builtin(), test_catalogue()]
        .into_iter()
        .flat_map(|c| {
            let ids: Vec<String> = c.apis.keys().cloned().collect();
            ids.into_iter().map(move |id| (c.clone(), id))
        })
        .collect()
}

#[test]
fn every_rule_is_covered_by_the_invariants() {
    // A new rule must be shipped or in the test catalogue, so the properties below reach it.
    let names: std::collections::BTreeSet<&str> = every_offering()
        .iter()
        .flat_map(|(c, id)| {
            c.apis[id]
                .prices
                .iter()
                .map(|p| p.rule.name())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        [
            "per_gpu_second",
            "per_image",
            "per_mp",
            "per_mp_first_extra",
            "per_mp_step",
            "per_step",
            "per_tile"
        ]
    );
}

proptest! {
    #[test]
    fn totals_are_count_times_a_non_negative_unit(s in sizes(), input in proptest::option::of(sizes()), count in 1u64..1_000_000) {
        for c in [builtin(), test_catalogue()] {
            for (id, api) in &c.apis {
                let inputs: Vec<Size> = input.into_iter().filter(|_| api.max_input_images != Some(0)).collect();
                let req = request(s, &inputs, None, count);
                if !accepts(api, &req) {
                    continue;
                }
                let q = quote(&c, api, &req, None).unwrap_or_else(|e| panic!("{id} {req:?}: {e}"));
                prop_assert!(q.unit_price_usd >= Decimal::ZERO, "{id}: {}", q.unit_price_usd);
                prop_assert_eq!(q.total_usd, q.unit_price_usd * Decimal::from(count), "{}", id);
            }
        }
    }

    #[test]
    fn larger_outputs_never_cost_less(a in sizes(), b in sizes()) {
        let (small, large) = if pixels(a) <= pixels(b) { (a, b) } else { (b, a) };
        for c in [builtin(), test_catalogue()] {
            for (id, api) in c.apis.iter().filter(|(_, api)| api.prices.iter().all(|p| grows_with_pixels(&p.rule))) {
                if !accepts(api, &Request::image(small)) || !accepts(api, &Request::image(large)) {
                    continue;
                }
                let lo = unit_price(&c, api, small, &[], None, None).unwrap();
                let hi = unit_price(&c, api, large, &[], None, None).unwrap();
                prop_assert!(lo <= hi, "{}: {} costs {} but {} costs {}", id, small, lo, large, hi);
            }
        }
    }

    #[test]
    fn an_image_at_least_as_wide_and_as_tall_never_costs_less(a in sizes(), grow_w in 0u32..64, grow_h in 0u32..64) {
        // Every rule, tiles included: growing either side never lowers the price.
        let b = size(a.width + grow_w * 16, a.height + grow_h * 16);
        for c in [builtin(), test_catalogue()] {
            for (id, api) in &c.apis {
                if !accepts(api, &Request::image(a)) || !accepts(api, &Request::image(b)) {
                    continue;
                }
                let lo = unit_price(&c, api, a, &[], None, None).unwrap();
                let hi = unit_price(&c, api, b, &[], None, None).unwrap();
                prop_assert!(lo <= hi, "{}: {} costs {} but {} costs {}", id, a, lo, b, hi);
            }
        }
    }

    #[test]
    fn more_steps_never_cost_less(s in sizes(), pick in 0u32..1000) {
        for c in [builtin(), test_catalogue()] {
            for (id, api) in &c.apis {
                let Some(range) = api.price_on(None).unwrap().rule.steps().copied() else { continue };
                if range.min_steps == range.max_steps || !accepts(api, &Request::image(s)) {
                    continue;
                }
                let steps = range.min_steps + pick % (range.max_steps - range.min_steps);
                let fewer = unit_price(&c, api, s, &[], Some(steps), None).unwrap();
                let more = unit_price(&c, api, s, &[], Some(steps + 1), None).unwrap();
                // Every shipped step-priced rule has a positive per-step part: strictly more.
                prop_assert!(fewer < more, "{}: {} steps at {}: {} vs {}", id, steps, s, fewer, more);
            }
        }
    }
}
