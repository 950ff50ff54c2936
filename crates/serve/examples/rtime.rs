use mlytiles_render::*;
use std::sync::Arc;
use std::time::Instant;
fn main() {
    let store: Arc<dyn mlytiles_store::TileStore> = Arc::new(
        mlytiles_store::MbTiles::open_read_only("fixtures/cache/mly1_public.mbtiles").unwrap(),
    );
    let s = Sources {
        coverage: store.clone(),
        points: None,
        signs: None,
    };
    let tiles: Vec<_> = (3250..=3253)
        .flat_map(|x| (6256..=6259).map(move |y| mlytiles_tile::TileId::new(14, x, y).unwrap()))
        .collect();
    for filter in [
        None,
        Some(mlytiles_filter::Filter {
            captured: Some("2000-01-01..".parse().unwrap()),
            ..Default::default()
        }),
    ] {
        let o = RenderOptions {
            size: 256,
            filter: filter.clone(),
            ..Default::default()
        };
        let n = 160;
        let (mut tr, mut te, mut tg, mut tb) = (0.0, 0.0, 0.0, 0.0);
        for i in 0..n {
            let t = tiles[i % 16];
            let a = Instant::now();
            let st = store.get(t).unwrap().unwrap();
            let plain = st.uncompressed().unwrap().into_owned();
            tg += a.elapsed().as_secs_f64();
            let a2 = Instant::now();
            let r2 = render_bytes(&plain, t, &o).unwrap();
            if i < 2 {
                eprintln!("{:?}", r2.stats);
            }
            tb += a2.elapsed().as_secs_f64();
            let a = Instant::now();
            let r = render_tile(&s, t, &o).unwrap();
            tr += a.elapsed().as_secs_f64();
            let a = Instant::now();
            if i < 2 {
                eprintln!("{:?}", r.stats);
            }
            let p = encode_png(&r.pixmap, &PngOptions::default()).unwrap();
            te += a.elapsed().as_secs_f64();
            std::hint::black_box(p);
        }
        println!("render_bytes {:.2} ms", tb * 1e3 / n as f64);
        println!(
            "filter {}: get {:.2} ms, render {:.2} ms, encode {:.2} ms",
            filter.is_some(),
            tg * 1e3 / n as f64,
            tr * 1e3 / n as f64,
            te * 1e3 / n as f64
        );
    }
}
