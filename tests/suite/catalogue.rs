//! The shipped catalogue loads, is complete, and prices the published examples exactly.

use breakeven::catalogue::Catalogue;
use breakeven::pricing::{quote, Request, Size};
use rust_decimal_macros::dec;

fn cat() -> Catalogue {
    match Catalogue::builtin() {
        Ok(c) => c,
        Err(e) => panic!("built-in catalogue does not load:\n{e}"),
    }
}

#[test]
fn builtin_catalogue_has_the_required_ids() {
    let c = cat();
    for id in [
        "bfl/flux-2-klein-4b",
        "bfl/flux-2-klein-9b",
        "bfl/flux-2-pro",
        "bfl/flux-2-flex",
        "bfl/flux-2-max",
        "bfl/flux-1.1-pro",
        "bfl/flux-1.1-pro-ultra",
        "bfl/flux-1.1-pro-raw",
        "bfl/flux-1-kontext-pro",
        "bfl/flux-1-kontext-max",
        "bfl/flux-1-fill-pro",
        "segmind/flux-schnell",
        "segmind/flux-dev",
        "segmind/flux-1.1-pro",
        "segmind/flux-pro",
        "segmind/flux-1.1-pro-ultra",
        "cloudflare/flux-2-klein-4b",
        "cloudflare/flux-2-klein-9b",
        "cloudflare/flux-1-schnell",
        "cloudflare/flux-2-dev",
        "replicate/flux-2-klein-4b",
        "deepinfra/flux-1-schnell",
        "fireworks/flux-1-schnell",
        "runware/flux-2-klein-4b-base",
        "runware/flux-2-klein-9b-base",
        "runflow/flux-2-klein-4b",
        "runflow/flux-2-klein-9b",
    ] {
        assert!(c.apis.contains_key(id), "missing api {id}");
    }
    for id in [
        "h100-sxm",
        "h100-pcie",
        "h200",
        "a100-80gb",
        "l40s",
        "l4",
        "rtx-4090",
        "rtx-5090",
        "rtx-pro-6000",
    ] {
        assert!(c.gpus.contains_key(id), "missing gpu {id}");
    }
    for id in [
        "flux-2-klein-4b",
        "flux-2-klein-9b",
        "flux-1-schnell",
        "flux-1-dev",
        "flux-2-dev",
    ] {
        assert!(
            c.selfhost.contains_key(id),
            "missing self-host profile {id}"
        );
    }
    for id in [
        "apache-2.0",
        "bfl-flux-1-dev-self-serve",
        "bfl-flux-2-builder",
        "bfl-flux-2-platform",
        "bfl-flux-2-professional",
        "bfl-flux-2-enterprise",
    ] {
        assert!(c.licences.contains_key(id), "missing licence {id}");
    }
}

fn price(c: &Catalogue, model: &str, req: Request) -> rust_decimal::Decimal {
    quote(c, c.api(model).unwrap(), &req, None)
        .unwrap()
        .total_usd
}

#[test]
fn the_issue_examples_hold_exactly() {
    let c = cat();
    // A 2 MP klein 4B image: $0.014 first MP + $0.001 for the second.
    assert_eq!(
        price(
            &c,
            "bfl/flux-2-klein-4b",
            Request::image(Size::new(1024, 2048))
        ),
        dec!(0.015)
    );
    // Four FLUX.1 Kontext [pro] images at $0.04.
    let mut four = Request::image(Size::new(1024, 1024));
    four.count = 4;
    assert_eq!(price(&c, "bfl/flux-1-kontext-pro", four), dec!(0.16));
    // FLUX.2 [pro] with one 1 MP input: $0.03 + $0.015.
    let mut edit = Request::image(Size::new(1024, 1024));
    edit.inputs.push(Size::new(1024, 1024));
    assert_eq!(price(&c, "bfl/flux-2-pro", edit), dec!(0.045));
}

#[test]
fn every_shipped_offering_prices_a_1_mp_image() {
    let c = cat();
    for (id, api) in &c.apis {
        let q = quote(&c, api, &Request::image(Size::new(1024, 1024)), None)
            .unwrap_or_else(|e| panic!("{id} refuses a 1024x1024 image: {e}"));
        assert!(
            q.total_usd > dec!(0),
            "{id} prices a 1 MP image at {}",
            q.total_usd
        );
        assert!(
            q.total_usd < dec!(1),
            "{id} prices a 1 MP image at {}",
            q.total_usd
        );
        assert!(!q.source.is_empty(), "{id} has no source");
    }
}

#[test]
fn bad_price_files_are_refused_with_file_key_and_problem() {
    let file = |rel: &str, text: &str| breakeven::catalogue::CatalogueFile {
        rel_path: rel.into(),
        display: format!("fixtures/{rel}"),
        text: text.into(),
    };
    let bad = r#"
name = "bad"
provider = "test"
[[price]]
as_of = "2026-01-01"
source = "test"
rule = "per_mp"
mp_usd = "-0.01"
image_usd = "0.04"
"#;
    let typo = "name = \"typo\"\nprovider = \"test\"\nmax_mpx = 4.0\n";
    let err = Catalogue::from_files(
        "fixtures",
        vec![file("api/t/bad.toml", bad), file("api/t/typo.toml", typo)],
    )
    .unwrap_err()
    .to_string();
    for line in [
        "fixtures/api/t/bad.toml: price[0].image_usd: does not belong to rule per_mp",
        "fixtures/api/t/bad.toml: price[0].mp_usd: -0.01 is negative; expected a price of 0 or more",
        "fixtures/api/t/typo.toml: ",
    ] {
        assert!(err.lines().any(|l| l.starts_with(line)), "no line starting {line:?} in:\n{err}");
    }
    assert!(err.contains("max_mpx"), "{err}");
}

#[test]
fn offerings_of_open_weights_name_their_self_host_profile() {
    // So a planner can put the hosted and the self-hosted option side by side.
    let c = cat();
    for (id, profile) in [
        ("cloudflare/flux-2-klein-4b", "flux-2-klein-4b"),
        ("cloudflare/flux-2-klein-9b", "flux-2-klein-9b"),
        ("cloudflare/flux-1-schnell", "flux-1-schnell"),
        ("cloudflare/flux-2-dev", "flux-2-dev"),
        ("replicate/flux-2-klein-4b", "flux-2-klein-4b"),
        ("deepinfra/flux-1-schnell", "flux-1-schnell"),
        ("fireworks/flux-1-schnell", "flux-1-schnell"),
        ("runflow/flux-2-klein-4b", "flux-2-klein-4b"),
        ("runflow/flux-2-klein-9b", "flux-2-klein-9b"),
    ] {
        assert_eq!(
            c.api(id).unwrap().open_model.as_deref(),
            Some(profile),
            "{id}"
        );
    }
    // Base (undistilled) weights have no profile, so none is claimed.
    assert_eq!(
        c.api("runware/flux-2-klein-4b-base").unwrap().open_model,
        None
    );
}

#[test]
fn every_speed_says_how_it_was_measured() {
    use breakeven::catalogue::Setup;
    let c = cat();
    let klein = c.profile("flux-2-klein-4b").unwrap();
    for gpu in [
        "h100-sxm",
        "rtx-5090",
        "rtx-4090",
        "l40s",
        "a100-80gb",
        "l4",
    ] {
        assert!(
            klein.speed_on(gpu).is_some(),
            "klein 4B has no speed on {gpu}"
        );
    }
    assert_eq!(klein.speed_on("h100-sxm").unwrap().setup, Setup::Eager);
    assert_eq!(klein.speed_on("rtx-5090").unwrap().setup, Setup::Optimised);
    assert!(klein.speed_on("l4").unwrap().derived);
    assert!(!klein.speed_on("h100-sxm").unwrap().derived);
    // Replicate's optimised schnell and the TFLOPS-derived eager ones do not mix.
    let schnell = c.profile("flux-1-schnell").unwrap();
    let optimised: Vec<&str> = schnell
        .speeds_with(Setup::Optimised)
        .map(|s| s.gpu.as_str())
        .collect();
    assert_eq!(optimised, ["h100-sxm", "rtx-4090"]);
    // Every derived figure says how in its note.
    for p in c.selfhost.values() {
        for s in p.speeds.iter().filter(|s| s.derived) {
            let note = s.provenance.note.as_deref().unwrap_or("");
            assert!(note.contains("derived"), "{} on {}: {note:?}", p.id, s.gpu);
        }
    }
    // FLUX.2 [dev] on one H100: the sglang measurement, not the 5.3 s Baseten derivation.
    let dev = c
        .profile("flux-2-dev")
        .unwrap()
        .speed_on("h100-sxm")
        .unwrap();
    assert_eq!(dev.seconds_at_1mp, 24.0);
    assert!(dev.provenance.source.contains("sglang"));
}

#[test]
fn geforce_cards_are_consumer_cards() {
    let c = cat();
    for id in ["rtx-4090", "rtx-5090"] {
        let g = c.gpu(id).unwrap();
        assert!(g.is_consumer(), "{id}");
        assert!(g.consumer.as_ref().unwrap().source.contains("2.1.3"));
    }
    for id in ["h100-sxm", "l40s", "l4", "a100-80gb", "rtx-pro-6000"] {
        assert!(!c.gpu(id).unwrap().is_consumer(), "{id}");
    }
}

#[test]
fn reserved_and_serverless_offers_carry_their_terms() {
    use breakeven::catalogue::OfferClass;
    let c = cat();
    let h100 = c.gpu("h100-sxm").unwrap();
    let lambda = h100.offer("lambda-reserved").unwrap();
    assert_eq!(
        (lambda.class, lambda.usd_per_hour, lambda.commitment_months),
        (OfferClass::Reserved, Some(dec!(1.85)), Some(12))
    );
    for gpu in ["h100-sxm", "a100-80gb", "l40s"] {
        let o = c.gpu(gpu).unwrap().offer("replicate-serverless").unwrap();
        assert_eq!(o.class, OfferClass::Serverless, "{gpu}");
        assert!(o.cold_start_seconds.is_some() && o.idle_timeout_seconds.is_some());
    }
    assert_eq!(
        h100.offer("replicate-serverless").unwrap().usd_per_second,
        Some(dec!(0.001525))
    );
    // Modal's default scale-down window.
    assert_eq!(
        h100.offer("modal-serverless").unwrap().idle_timeout_seconds,
        Some(60.0)
    );
}

fn file(rel: &str, text: &str) -> breakeven::catalogue::CatalogueFile {
    breakeven::catalogue::CatalogueFile {
        rel_path: rel.into(),
        display: format!("fixtures/{rel}"),
        text: text.into(),
    }
}

/// The problems a set of catalogue files is refused with, one line each.
fn refused(files: Vec<breakeven::catalogue::CatalogueFile>) -> String {
    match Catalogue::from_files("fixtures", files) {
        Ok(_) => panic!("the files loaded but should be refused"),
        Err(e) => e.to_string(),
    }
}

fn has_line(err: &str, start: &str) {
    assert!(
        err.lines().any(|l| l.starts_with(start)),
        "no line starting {start:?} in:\n{err}"
    );
}

#[test]
fn bad_step_and_tile_prices_are_refused_with_file_key_and_expectation() {
    let price = |body: &str| {
        format!(
            "name = \"bad\"\nprovider = \"test\"\n[[price]]\nas_of = \"2026-01-01\"\nsource = \"test\"\n{body}\n"
        )
    };
    let err = refused(vec![
        file("api/t/a.toml", &price("rule = \"per_step\"\nstep_usd = \"0.00035\"")),
        file(
            "api/t/b.toml",
            &price("rule = \"per_mp_step\"\nmp_step_usd = \"-0.0005\"\ndefault_steps = 4\nmax_steps = 2"),
        ),
        file("api/t/c.toml", &price("rule = \"per_tile\"\ninput_tile_usd = \"0.00005907\"")),
        file(
            "api/t/d.toml",
            &price("rule = \"per_tile\"\ntile_usd = \"0.000287\"\ntile_px = 0\ndefault_steps = 4"),
        ),
        file(
            "api/t/e.toml",
            &price("rule = \"per_tile\"\ntile_usd = \"0.000287\"\ntile_count = \"round\""),
        ),
        file(
            "api/t/f.toml",
            &price("rule = \"per_step\"\nstep_usd = \"0.00035\"\ndefault_steps = 4\ntile_usd = \"0.01\""),
        ),
    ]);
    for line in [
        "fixtures/api/t/a.toml: price[0].default_steps: is missing or 0; rule per_step needs the steps a request gets by default",
        "fixtures/api/t/b.toml: price[0].mp_step_usd: -0.0005 is negative; expected a price of 0 or more",
        "fixtures/api/t/b.toml: price[0].default_steps: steps must satisfy min_steps (1) <= default_steps (4) <= max_steps (2)",
        "fixtures/api/t/c.toml: price[0].tile_usd: is missing; rule per_tile needs tile_usd or tile_step_usd",
        "fixtures/api/t/d.toml: price[0].tile_px: is 0; expected the side of a tile in pixels",
        "fixtures/api/t/d.toml: price[0].default_steps: does not apply: this per_tile price has no per-step part",
        "fixtures/api/t/e.toml: price[0].tile_count: ",
        "fixtures/api/t/f.toml: price[0].tile_usd: does not belong to rule per_step; its keys are step_usd, default_steps, min_steps, max_steps",
    ] {
        has_line(&err, line);
    }
    assert!(err.contains("cover") && err.contains("area"), "{err}");
}

#[test]
fn bad_speed_setups_and_consumer_terms_are_refused() {
    let profile = |speed: &str| {
        format!(
            "name = \"tiny\"\nlicence = \"open\"\ndefault_steps = 4\nmemory_gb = 20.0\nmax_mp = 4.0\nstep_share = 0.85\n\
             resolution_scaling = {{ fixed = 0.14, linear = 0.76, quadratic = 0.10, source = \"fit\", as_of = \"2026-01-01\" }}\n\
             source = \"card\"\nas_of = \"2026-01-01\"\n[[speed]]\ngpu = \"g\"\nseconds_at_1mp = 0.5\nsource = \"bench\"\nas_of = \"2026-01-01\"\n{speed}\n"
        )
    };
    let gpu = "name = \"G\"\nmemory_gb = 24.0\npower_watts = 450.0\nconsumer = { source = \" \", as_of = \"2017-11-30\" }\n";
    let licence = "name = \"open\"\ncovers = [\"tiny\", \"tiny2\"]\nmonthly_fee_usd = \"0\"\nsource = \"text\"\nas_of = \"2026-01-01\"\n";
    let err = refused(vec![
        file("selfhost/tiny.toml", &profile("setup = \"fast\"")),
        file("selfhost/tiny2.toml", &profile("")),
        file("gpu/g.toml", gpu),
        file("licence/open.toml", licence),
    ]);
    for line in [
        "fixtures/selfhost/tiny.toml: speed[0].setup: unknown value \"fast\"",
        "fixtures/selfhost/tiny2.toml: speed[0].setup: is missing; this key is required",
        "fixtures/gpu/g.toml: consumer.source: is empty; expected where the figure comes from",
    ] {
        has_line(&err, line);
    }
    assert!(
        err.contains("optimised, eager, unstated") || err.contains("nearest"),
        "{err}"
    );
}
