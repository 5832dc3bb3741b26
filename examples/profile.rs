use lxdev::config::{
    document::{Document, Value},
    model,
};
use std::time::Instant;
fn main() {
    let path = std::path::Path::new(&std::env::args().nth(1).unwrap()).to_path_buf();
    let text = std::fs::read_to_string(&path).unwrap();
    for _ in 0..3 {
        let t = Instant::now();
        let _c = model::parse(&text, &path).unwrap();
        let t1 = t.elapsed();
        let t = Instant::now();
        let mut d = Document::parse(&text).unwrap();
        let t2 = t.elapsed();
        let t = Instant::now();
        for k in ["image", "owner", "created_at", "state"] {
            d.set(&["containers", "newone", k], Value::Str("x"))
                .unwrap();
        }
        for k in ["kind", "host", "started_at"] {
            d.set(&["containers", "newone", "operation", k], Value::Str("x"))
                .unwrap();
        }
        d.set(&["containers", "newone", "operation", "pid"], Value::Int(5))
            .unwrap();
        d.remove(&["containers", "newone", "error"]).unwrap();
        let t3 = t.elapsed();
        let t = Instant::now();
        let out = d.text();
        let t4 = t.elapsed();
        println!(
            "typed {t1:?} doc {t2:?} 9 edits {t3:?} text {t4:?} len {}",
            out.len()
        );
    }
}
