//! SHA-256 of inputs of any size, fed to the hash a slice at a time.
//!
//! In V8 a WebAssembly function runs the code it was entered with until it returns: tier-up from the
//! baseline compiler's code to the optimizing compiler's happens between calls, never inside one. The
//! `sha2` crate hashes all the whole blocks of one `update` in one call of its compression function, so
//! a whole bundle handed over at once was hashed by baseline code whenever that function had not run
//! hot yet: the first `verifyBundle` of a 100,000-item bundle (61 MB) in a fresh page took 3.2 s
//! instead of 0.4 s. Slices of [`SLICE`] bytes let the optimized code take over after the first few.

use sha2::{Digest, Sha256};

/// The most bytes given to the hash in one call: 1,024 blocks, enough that the calls cost nothing.
pub const SLICE: usize = 64 * 1024;

/// Feeds `bytes` to `hasher`, [`SLICE`] bytes at a time.
pub fn update(hasher: &mut Sha256, bytes: &[u8]) {
    for slice in bytes.chunks(SLICE) {
        hasher.update(slice);
    }
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    update(&mut hasher, bytes);
    hasher.finalize().into()
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn slicing_does_not_change_the_hash() {
        // Lengths around the slice and block sizes, and a part that starts mid-block.
        let data: Vec<u8> = (0..3 * SLICE + 100)
            .map(|i| (i * 131 + i / 7) as u8)
            .collect();
        for len in [
            0,
            1,
            63,
            64,
            65,
            SLICE - 1,
            SLICE,
            SLICE + 1,
            2 * SLICE + 63,
            data.len(),
        ] {
            let bytes = &data[..len];
            assert_eq!(
                sha256(bytes),
                <[u8; 32]>::from(Sha256::digest(bytes)),
                "{len}"
            );
            let mut split = Sha256::new();
            update(&mut split, &bytes[..len / 3]);
            update(&mut split, &bytes[len / 3..]);
            assert_eq!(<[u8; 32]>::from(split.finalize()), sha256(bytes), "{len}");
        }
        // A known answer: SHA-256 of "abc" (FIPS 180-2, appendix B.1).
        assert_eq!(
            hex::encode(sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
