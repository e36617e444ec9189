//! Runs every fuzz check over its committed seeds (`fuzz/corpus/TARGET`, which also keeps the
//! inputs that once found a defect) and over a fixed set of mutations of them, on stable Rust:
//! a short, repeatable share of what `scripts/fuzz.sh` does for minutes.

use std::path::Path;

/// Mutations per seed: enough to reach the error paths next to each seed, few enough to keep
/// the test to seconds.
const MUTATIONS: usize = 24;

#[test]
fn every_target_passes_its_seeds_and_their_mutations() {
    for (target, check) in mcp_fuzz::TARGETS {
        let seeds = seeds(target);
        assert!(seeds.len() >= 10, "{target}: {} seeds", seeds.len());
        let mut random = Random(0x9e37_79b9_7f4a_7c15 ^ target.len() as u64);
        for seed in &seeds {
            run(target, check, seed);
            for _ in 0..MUTATIONS {
                let other = &seeds[random.below(seeds.len())];
                run(target, check, &mutate(seed, other, &mut random));
            }
        }
    }
}

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.expect("a corpus entry").path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|file| std::fs::read(file).expect("a seed"))
        .collect()
}

/// Runs one input, naming it when the check fails, so that it can be kept as a seed.
fn run(target: &str, check: mcp_fuzz::Check, input: &[u8]) {
    let outcome = std::panic::catch_unwind(|| check(input));
    if let Err(panic) = outcome {
        let escaped: String = input.escape_ascii().to_string();
        eprintln!("{target} failed on b\"{escaped}\"");
        std::panic::resume_unwind(panic);
    }
}

/// One of the byte-level mutations libFuzzer makes most: overwrite, insert, delete,
/// truncate, splice with another seed, or repeat a slice.
fn mutate(seed: &[u8], other: &[u8], random: &mut Random) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    const INTERESTING: &[u8] = b"{}[]\",:\\0-9e.\x00\x7f\xff tfn";
    for _ in 0..=random.below(3) {
        let at = random.below(bytes.len() + 1);
        match random.below(6) {
            0 if at < bytes.len() => bytes[at] = INTERESTING[random.below(INTERESTING.len())],
            1 => bytes.insert(at, INTERESTING[random.below(INTERESTING.len())]),
            2 if at < bytes.len() => drop(bytes.remove(at)),
            3 => bytes.truncate(at),
            4 => {
                let from = random.below(other.len() + 1);
                bytes.truncate(at);
                bytes.extend_from_slice(&other[from..]);
            }
            _ => {
                let end = (at + random.below(16)).min(bytes.len());
                let slice = bytes[at..end].to_vec();
                bytes.splice(at..at, slice);
            }
        }
    }
    bytes
}

/// xorshift64: the same mutations on every run.
struct Random(u64);

impl Random {
    fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        if bound == 0 {
            0
        } else {
            (self.0 % bound as u64) as usize
        }
    }
}
