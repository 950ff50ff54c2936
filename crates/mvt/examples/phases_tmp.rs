use mlytiles_mvt::{GeometrySink, Tile};
struct Sum(i64);
impl GeometrySink for Sum {
    fn move_to(&mut self, x: i32, y: i32) {
        self.0 = self.0.wrapping_add(i64::from(x ^ y));
    }
    fn line_to(&mut self, x: i32, y: i32) {
        self.0 = self.0.wrapping_add(i64::from(x ^ y));
    }
    fn close_path(&mut self) {}
}
fn main() {
    let mut args = std::env::args().skip(1);
    let phase: u32 = args.next().unwrap().parse().unwrap();
    let tiles: Vec<Vec<u8>> = args.map(|p| std::fs::read(p).unwrap()).collect();
    let mut sum = Sum(0);
    let mut n = 0usize;
    let t = std::time::Instant::now();
    for _ in 0..10 {
        for b in &tiles {
            for layer in Tile::new(b).unwrap().layers() {
                let layer = layer.unwrap();
                n += layer.feature_count();
                if phase >= 1 {
                    n += layer.values().unwrap().len();
                }
                if phase >= 2 {
                    for f in layer.features() {
                        let f = f.unwrap();
                        n += f.index();
                        if phase >= 3 {
                            for p in f.properties() {
                                let (k, v) = p.unwrap();
                                n += k.len() + usize::from(v.as_str().is_some());
                            }
                        }
                        if phase >= 4 {
                            f.decode_geometry(&mut sum).unwrap();
                        }
                    }
                }
            }
        }
    }
    println!("phase {phase}: {:?} {} {}", t.elapsed() / 10, n, sum.0);
}
