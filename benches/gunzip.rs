//! Decompression alone, with the reader stickyaudit uses (flate2's
//! multi-member decoder on the zlib-rs backend, 256 KiB buffered input):
//! the floor that gzip parsing is compared against.
//!
//! Run: `cargo bench --bench gunzip -- FILE...`; prints decompressed bytes.

use std::io::{BufReader, Read};

fn main() -> std::io::Result<()> {
    let mut total = 0u64;
    let mut buf = vec![0u8; 4 << 20];
    for path in std::env::args().skip(1).filter(|a| !a.starts_with("--")) {
        let file = BufReader::with_capacity(256 << 10, std::fs::File::open(&path)?);
        let mut decoder = flate2::bufread::MultiGzDecoder::new(file);
        loop {
            let n = decoder.read(&mut buf)?;
            if n == 0 {
                break;
            }
            total += n as u64;
        }
    }
    println!("{total}");
    Ok(())
}
