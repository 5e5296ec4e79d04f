//! Spark SQL's `aes_encrypt` and `aes_decrypt`: AES with a 16, 24 or 32-byte key in GCM (the
//! default), CBC or ECB mode, laid out as Spark lays it out — GCM as the 12-byte IV, the
//! ciphertext and the 16-byte tag; CBC as the 16-byte IV and the PKCS#7-padded ciphertext;
//! ECB as the padded ciphertext alone. An IV that is not given (or empty) is random.

use std::sync::Arc;

use aes::cipher::{generic_array::GenericArray, BlockDecrypt, BlockEncrypt, KeyInit};
use aes::{Aes128, Aes192, Aes256};
use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, Payload};
use aes_gcm::AesGcm;
use datafusion::arrow::array::{Array, ArrayRef, BinaryArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::ScalarUDF;

use super::udf::AnyArgsFunction;

/// An AES block cipher of any of the three key sizes.
enum Block {
    A128(Box<Aes128>),
    A192(Box<Aes192>),
    A256(Box<Aes256>),
}

impl Block {
    fn new(key: &[u8]) -> Option<Self> {
        Some(match key.len() {
            16 => Self::A128(Box::new(Aes128::new(GenericArray::from_slice(key)))),
            24 => Self::A192(Box::new(Aes192::new(GenericArray::from_slice(key)))),
            32 => Self::A256(Box::new(Aes256::new(GenericArray::from_slice(key)))),
            _ => return None,
        })
    }

    fn encrypt(&self, block: &mut [u8]) {
        let block = GenericArray::from_mut_slice(block);
        match self {
            Self::A128(c) => c.encrypt_block(block),
            Self::A192(c) => c.encrypt_block(block),
            Self::A256(c) => c.encrypt_block(block),
        }
    }

    fn decrypt(&self, block: &mut [u8]) {
        let block = GenericArray::from_mut_slice(block);
        match self {
            Self::A128(c) => c.decrypt_block(block),
            Self::A192(c) => c.decrypt_block(block),
            Self::A256(c) => c.decrypt_block(block),
        }
    }
}

/// The mode of an AES call.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Gcm,
    Cbc,
    Ecb,
}

const GCM_IV: usize = 12;
const CBC_IV: usize = 16;

/// The mode named by `mode` with `padding`, as Spark accepts them (ECB and CBC with PKCS,
/// GCM with NONE; DEFAULT is the mode's own padding).
fn mode_of(function: &str, mode: &str, padding: &str) -> std::result::Result<Mode, String> {
    let m = match mode.to_ascii_uppercase().as_str() {
        "GCM" => Mode::Gcm,
        "CBC" => Mode::Cbc,
        "ECB" => Mode::Ecb,
        _ => return Err(unsupported(function, mode, padding)),
    };
    let ok = match padding.to_ascii_uppercase().as_str() {
        "DEFAULT" => true,
        "NONE" => m == Mode::Gcm,
        "PKCS" => m != Mode::Gcm,
        _ => false,
    };
    if ok {
        Ok(m)
    } else {
        Err(unsupported(function, mode, padding))
    }
}

fn unsupported(function: &str, mode: &str, padding: &str) -> String {
    format!(
        "[UNSUPPORTED_FEATURE.AES_MODE] The feature is not supported: AES-{mode} with the padding {padding} by the {function} function."
    )
}

fn key_error(function: &str, len: usize) -> String {
    format!(
        "[INVALID_PARAMETER_VALUE.AES_KEY_LENGTH] The value of parameter(s) `key` in `{function}` is invalid: expects a binary value with 16, 24 or 32 bytes, but got {len} bytes."
    )
}

/// GCM sealing (`seal`) or opening of `msg` with a key of any of the three sizes; `None`
/// when the tag does not match.
fn gcm(key: &[u8], iv: &[u8], msg: &[u8], aad: &[u8], seal: bool) -> Option<Vec<u8>> {
    fn run<C: KeyInit + Aead>(
        key: &[u8],
        iv: &[u8],
        payload: Payload,
        seal: bool,
    ) -> Option<Vec<u8>> {
        let cipher = C::new_from_slice(key).ok()?;
        let nonce = GenericArray::from_slice(iv);
        if seal {
            cipher.encrypt(nonce, payload).ok()
        } else {
            cipher.decrypt(nonce, payload).ok()
        }
    }
    let payload = Payload { msg, aad };
    match key.len() {
        16 => run::<AesGcm<Aes128, U12>>(key, iv, payload, seal),
        24 => run::<AesGcm<Aes192, U12>>(key, iv, payload, seal),
        _ => run::<AesGcm<Aes256, U12>>(key, iv, payload, seal),
    }
}

/// `plain` encrypted as Spark's `aes_encrypt` does (see the module doc); `iv` empty means a
/// random one.
fn encrypt(
    function: &str,
    plain: &[u8],
    key: &[u8],
    mode: Mode,
    iv: &[u8],
    aad: &[u8],
) -> std::result::Result<Vec<u8>, String> {
    let block = Block::new(key).ok_or_else(|| key_error(function, key.len()))?;
    match mode {
        Mode::Gcm => {
            let iv = iv_or_random(function, iv, GCM_IV, "GCM")?;
            let sealed = gcm(key, &iv, plain, aad, true)
                .ok_or_else(|| crypto_error(function, "encryption failed"))?;
            Ok([iv, sealed].concat())
        }
        Mode::Cbc => {
            let iv = iv_or_random(function, iv, CBC_IV, "CBC")?;
            let mut previous: [u8; 16] = iv.as_slice().try_into().expect("a 16-byte IV");
            let mut out = iv;
            for chunk in padded(plain).chunks(16) {
                let mut b = [0u8; 16];
                for (i, x) in b.iter_mut().enumerate() {
                    *x = chunk[i] ^ previous[i];
                }
                block.encrypt(&mut b);
                out.extend_from_slice(&b);
                previous = b;
            }
            Ok(out)
        }
        Mode::Ecb => {
            let mut out = padded(plain);
            for chunk in out.chunks_mut(16) {
                block.encrypt(chunk);
            }
            Ok(out)
        }
    }
}

/// `sealed` decrypted as Spark's `aes_decrypt` does: the IV is read from the front for GCM
/// and CBC.
fn decrypt(
    function: &str,
    sealed: &[u8],
    key: &[u8],
    mode: Mode,
    aad: &[u8],
) -> std::result::Result<Vec<u8>, String> {
    let block = Block::new(key).ok_or_else(|| key_error(function, key.len()))?;
    match mode {
        Mode::Gcm => {
            if sealed.len() < GCM_IV + 16 {
                return Err(crypto_error(function, "Input too short for GCM"));
            }
            let (iv, rest) = sealed.split_at(GCM_IV);
            gcm(key, iv, rest, aad, false).ok_or_else(|| crypto_error(function, "Tag mismatch"))
        }
        Mode::Cbc => {
            if sealed.len() < CBC_IV + 16 || !sealed.len().is_multiple_of(16) {
                return Err(crypto_error(
                    function,
                    "Input length must be a multiple of 16 when decrypting with padded cipher",
                ));
            }
            let (iv, rest) = sealed.split_at(CBC_IV);
            let mut previous: [u8; 16] = iv.try_into().expect("a 16-byte IV");
            let mut out = Vec::with_capacity(rest.len());
            for chunk in rest.chunks(16) {
                let mut b: [u8; 16] = chunk.try_into().expect("16-byte blocks");
                block.decrypt(&mut b);
                for (i, x) in b.iter_mut().enumerate() {
                    *x ^= previous[i];
                }
                out.extend_from_slice(&b);
                previous = chunk.try_into().expect("16-byte blocks");
            }
            unpad(function, out)
        }
        Mode::Ecb => {
            if sealed.is_empty() || !sealed.len().is_multiple_of(16) {
                return Err(crypto_error(
                    function,
                    "Input length must be a multiple of 16 when decrypting with padded cipher",
                ));
            }
            let mut out = sealed.to_vec();
            for chunk in out.chunks_mut(16) {
                block.decrypt(chunk);
            }
            unpad(function, out)
        }
    }
}

fn crypto_error(function: &str, detail: &str) -> String {
    format!(
        "[INVALID_PARAMETER_VALUE.AES_CRYPTO_ERROR] The value of parameter(s) `expr`, `key` in `{function}` is invalid: detail message: {detail}"
    )
}

fn iv_or_random(
    function: &str,
    iv: &[u8],
    len: usize,
    mode: &str,
) -> std::result::Result<Vec<u8>, String> {
    if iv.is_empty() {
        let mut random = vec![0u8; len];
        rand::fill(random.as_mut_slice());
        return Ok(random);
    }
    if iv.len() != len {
        return Err(format!(
            "[INVALID_PARAMETER_VALUE.AES_IV_LENGTH] The value of parameter(s) `iv` in `{function}` is invalid: supports {len}-byte IV for {mode} mode, but got {} bytes.",
            iv.len()
        ));
    }
    Ok(iv.to_vec())
}

/// PKCS#7 padding to whole 16-byte blocks (what Java calls PKCS5Padding).
fn padded(plain: &[u8]) -> Vec<u8> {
    let n = 16 - plain.len() % 16;
    let mut out = plain.to_vec();
    out.resize(plain.len() + n, n as u8);
    out
}

fn unpad(function: &str, mut out: Vec<u8>) -> std::result::Result<Vec<u8>, String> {
    let n = usize::from(*out.last().unwrap_or(&0));
    let valid = (1..=16).contains(&n)
        && n <= out.len()
        && out[out.len() - n..].iter().all(|&b| usize::from(b) == n);
    if !valid {
        return Err(crypto_error(
            function,
            "Given final block not properly padded. Such issues can arise if a bad key is used during decryption.",
        ));
    }
    out.truncate(out.len() - n);
    Ok(out)
}

/// The arguments as binary columns (strings as their UTF-8 bytes).
fn binaries(args: &[ArrayRef]) -> Result<Vec<BinaryArray>> {
    args.iter()
        .map(|a| {
            let b = cast(a, &DataType::Binary)?;
            Ok(b.as_any()
                .downcast_ref::<BinaryArray>()
                .expect("cast to Binary gives a BinaryArray")
                .clone())
        })
        .collect()
}

/// The text of an optional string argument in row `i` (`default` when it is not given).
fn text_at(args: &[BinaryArray], at: usize, i: usize, default: &str) -> Option<String> {
    match args.get(at) {
        None => Some(default.to_string()),
        Some(a) if a.is_null(i) => None,
        Some(a) => Some(String::from_utf8_lossy(a.value(i)).into_owned()),
    }
}

fn bytes_at(args: &[BinaryArray], at: usize, i: usize) -> Option<&[u8]> {
    match args.get(at) {
        None => Some(&[]),
        Some(a) if a.is_null(i) => None,
        Some(a) => Some(a.value(i)),
    }
}

/// Spark's `aes_encrypt(expr, key [, mode [, padding [, iv [, aad]]]])` (see the module doc).
pub fn aes_encrypt() -> ScalarUDF {
    AnyArgsFunction::udf("aes_encrypt", 2, 6, DataType::Binary, |a, rows| {
        let args = binaries(a)?;
        let mut out: Vec<Option<Vec<u8>>> = Vec::with_capacity(rows);
        for i in 0..rows {
            let (Some(plain), Some(key), Some(mode), Some(padding), Some(iv), Some(aad)) = (
                bytes_at(&args, 0, i),
                bytes_at(&args, 1, i),
                text_at(&args, 2, i, "GCM"),
                text_at(&args, 3, i, "DEFAULT"),
                bytes_at(&args, 4, i),
                bytes_at(&args, 5, i),
            ) else {
                out.push(None);
                continue;
            };
            let sealed = mode_of("aes_encrypt", &mode, &padding).and_then(|m| {
                if m == Mode::Ecb && !iv.is_empty() {
                    return Err(format!("[UNSUPPORTED_FEATURE.AES_MODE_IV] The feature is not supported: aes_encrypt with the mode {mode} does not support initialization vectors (IVs)."));
                }
                if m != Mode::Gcm && !aad.is_empty() {
                    return Err(format!("[UNSUPPORTED_FEATURE.AES_MODE_AAD] The feature is not supported: aes_encrypt with the mode {mode} does not support additional authenticate data (AAD)."));
                }
                encrypt("aes_encrypt", plain, key, m, iv, aad)
            });
            match sealed {
                Ok(b) => out.push(Some(b)),
                Err(e) => return exec_err!("{e}"),
            }
        }
        Ok(Arc::new(BinaryArray::from_iter(out)) as ArrayRef)
    })
}

/// Spark's `aes_decrypt(expr, key [, mode [, padding [, aad]]])` (see the module doc); a
/// wrong key or damaged input is an error, as in Spark.
pub fn aes_decrypt() -> ScalarUDF {
    AnyArgsFunction::udf("aes_decrypt", 2, 5, DataType::Binary, |a, rows| {
        let args = binaries(a)?;
        let mut out: Vec<Option<Vec<u8>>> = Vec::with_capacity(rows);
        for i in 0..rows {
            let (Some(sealed), Some(key), Some(mode), Some(padding), Some(aad)) = (
                bytes_at(&args, 0, i),
                bytes_at(&args, 1, i),
                text_at(&args, 2, i, "GCM"),
                text_at(&args, 3, i, "DEFAULT"),
                bytes_at(&args, 4, i),
            ) else {
                out.push(None);
                continue;
            };
            let plain = mode_of("aes_decrypt", &mode, &padding).and_then(|m| {
                if m != Mode::Gcm && !aad.is_empty() {
                    return Err(format!("[UNSUPPORTED_FEATURE.AES_MODE_AAD] The feature is not supported: aes_decrypt with the mode {mode} does not support additional authenticate data (AAD)."));
                }
                decrypt("aes_decrypt", sealed, key, m, aad)
            });
            match plain {
                Ok(b) => out.push(Some(b)),
                Err(e) => return exec_err!("{e}"),
            }
        }
        Ok(Arc::new(BinaryArray::from_iter(out)) as ArrayRef)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn ecb_matches_sparks_documented_example() {
        let sealed = encrypt(
            "aes_encrypt",
            b"Spark SQL",
            b"1234567890abcdef",
            Mode::Ecb,
            b"",
            b"",
        )
        .unwrap();
        use base64::Engine as _;
        assert_eq!(
            base64::engine::general_purpose::STANDARD.encode(&sealed),
            "3lmwu+Mw0H3fi5NDvcu9lg=="
        );
        let plain = decrypt("aes_decrypt", &sealed, b"1234567890abcdef", Mode::Ecb, b"").unwrap();
        assert_eq!(plain, b"Spark SQL");
    }

    #[test]
    fn gcm_matches_the_standard_test_vector() {
        // Test case 2 of the GCM specification: zero key, zero IV, one zero block.
        let sealed = encrypt("aes_encrypt", &[0; 16], &[0; 16], Mode::Gcm, &[0; 12], b"").unwrap();
        assert_eq!(
            hex(&sealed),
            format!(
                "{}{}{}",
                "000000000000000000000000",
                "0388dace60b6a392f328c2b971b2fe78",
                "ab6e47d42cec13bdf53a67b21257bddf"
            )
        );
    }

    #[test]
    fn every_mode_and_key_size_round_trips() {
        for key in [&[7u8; 16][..], &[8u8; 24][..], &[9u8; 32][..]] {
            for mode in [Mode::Gcm, Mode::Cbc, Mode::Ecb] {
                for plain in [
                    &b""[..],
                    b"0123456789abcdef",
                    b"Apache Spark SQL, 33 bytes long!!",
                ] {
                    let aad: &[u8] = if mode == Mode::Gcm { b"header" } else { b"" };
                    let sealed = encrypt("aes_encrypt", plain, key, mode, b"", aad).unwrap();
                    assert_eq!(
                        decrypt("aes_decrypt", &sealed, key, mode, aad).unwrap(),
                        plain
                    );
                    let mut wrong = key.to_vec();
                    wrong[0] ^= 1;
                    if let Ok(p) = decrypt("aes_decrypt", &sealed, &wrong, mode, aad) {
                        assert_ne!(p, plain, "{mode:?}");
                    }
                }
            }
        }
        // A random IV: two encryptions differ, GCM output is IV + ciphertext + tag.
        let a = encrypt("aes_encrypt", b"Spark", &[1; 16], Mode::Gcm, b"", b"").unwrap();
        let b = encrypt("aes_encrypt", b"Spark", &[1; 16], Mode::Gcm, b"", b"").unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 12 + 5 + 16);
        let c = encrypt("aes_encrypt", b"Spark", &[1; 16], Mode::Cbc, b"", b"").unwrap();
        assert_eq!(c.len(), 16 + 16);
    }

    #[test]
    fn refuses_what_spark_refuses() {
        assert!(mode_of("aes_encrypt", "GCM", "PKCS").is_err());
        assert!(mode_of("aes_encrypt", "ECB", "NONE").is_err());
        assert!(mode_of("aes_encrypt", "CTR", "DEFAULT").is_err());
        assert_eq!(mode_of("aes_encrypt", "cbc", "default"), Ok(Mode::Cbc));
        assert!(encrypt("aes_encrypt", b"x", b"short", Mode::Ecb, b"", b"")
            .unwrap_err()
            .contains("AES_KEY_LENGTH"));
        assert!(
            encrypt("aes_encrypt", b"x", &[0; 16], Mode::Cbc, &[0; 12], b"")
                .unwrap_err()
                .contains("AES_IV_LENGTH")
        );
    }
}
