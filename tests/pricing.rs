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
            fixed_share,
            default_steps,
            ..
        } => assert_eq!((*fixed_share, *default_steps), (dec!(0.2), 4)),
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

// invariants --------------------------------------------------------------------------------

/// Sizes every shipped offering accepts: sides multiples of 16 from 64 px, at most 4 MP.
fn sizes() -> impl Strategy<Value = Size> {
    (4u32..=256, 4u32..=256)
        .prop_filter("at most 4 MP", |(w, h)| w * h * 256 <= 4 * 1024 * 1024)
        .prop_map(|(w, h)| size(w * 16, h * 16))
}

fn pixels(s: Size) -> u64 {
    s.width as u64 * s.height as u64
}

fn is_per_mp(rule: &PriceRule) -> bool {
    matches!(
        rule,
        PriceRule::PerMp { .. }
            | PriceRule::PerMpFirstExtra { .. }
            | PriceRule::PerGpuSecond { .. }
    )
}

proptest! {
    #[test]
    fn totals_are_count_times_a_non_negative_unit(s in sizes(), input in proptest::option::of(sizes()), count in 1u64..1_000_000) {
        for c in [builtin(), test_catalogue()] {
            for (id, api) in &c.apis {
                let inputs: Vec<Size> = input.into_iter().filter(|_| api.max_input_images != Some(0)).collect();
                let req = request(s, &inputs, None, count);
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
            for (id, api) in c.apis.iter().filter(|(_, api)| api.prices.iter().all(|p| is_per_mp(&p.rule))) {
                let lo = unit_price(&c, api, small, &[], None, None).unwrap();
                let hi = unit_price(&c, api, large, &[], None, None).unwrap();
                prop_assert!(lo <= hi, "{}: {} costs {} but {} costs {}", id, small, lo, large, hi);
            }
        }
    }

    #[test]
    fn more_steps_cost_strictly_more(s in sizes(), steps in 1u32..12) {
        let c = builtin();
        let api = c.api("segmind/flux-schnell").unwrap();
        let fewer = unit_price(&c, api, s, &[], Some(steps), None).unwrap();
        let more = unit_price(&c, api, s, &[], Some(steps + 1), None).unwrap();
        prop_assert!(fewer < more, "{} steps at {}: {} vs {}", steps, s, fewer, more);
    }
}
