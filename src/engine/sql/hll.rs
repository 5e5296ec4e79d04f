//! Spark SQL's HyperLogLog functions: `hll_sketch_agg` builds a sketch of the distinct values
//! of a column, `hll_union` / `hll_union_agg` merge sketches, `hll_sketch_estimate` gives the
//! estimated number of distinct values.
//!
//! A sketch is a HyperLogLog of `2^lgConfigK` registers over 64-bit xxHash values, so its
//! estimates have the usual relative standard error of about `1.04 / sqrt(2^lgConfigK)`
//! (1.6 % at the default lgConfigK 12) and small counts are exact in practice (linear
//! counting). Its binary layout is the emulator's own — a version byte, lgConfigK, then one
//! byte per register — not Apache DataSketches' (Spark's): a sketch is meant to be read by
//! these functions, not exchanged with another engine.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BinaryArray, BooleanArray, Int64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{exec_err, plan_err, DataFusionError, Result, ScalarValue};
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, ScalarUDF, Signature, TypeSignature, Volatility,
};
use datafusion::physical_expr::expressions::Literal;
use twox_hash::XxHash64;

use super::udf::AnyArgsFunction;

/// The format version written as a sketch's first byte.
const VERSION: u8 = 1;
/// lgConfigK when none is given (Spark's default).
const DEFAULT_LG_K: u8 = 12;
/// The seed of the value hash.
const SEED: u64 = 0x5eed_41c3_9d27_0b1f;

/// A HyperLogLog sketch: `2^lg_k` registers, each the highest rank seen in its bucket.
#[derive(Debug, Clone, PartialEq)]
struct Sketch {
    lg_k: u8,
    registers: Vec<u8>,
}

impl Sketch {
    fn new(lg_k: u8) -> Self {
        Self {
            lg_k,
            registers: vec![0; 1 << lg_k],
        }
    }

    /// Adds a value by its 64-bit hash: the top `lg_k` bits choose the bucket, the rank is
    /// the position of the first 1 bit after them.
    fn add_hash(&mut self, hash: u64) {
        let p = u32::from(self.lg_k);
        let bucket = (hash >> (64 - p)) as usize;
        let rest = hash << p;
        let rank = (rest.leading_zeros() + 1).min(64 - p + 1) as u8;
        let r = &mut self.registers[bucket];
        *r = (*r).max(rank);
    }

    fn add_bytes(&mut self, bytes: &[u8]) {
        self.add_hash(XxHash64::oneshot(SEED, bytes));
    }

    /// This sketch with `lg_k` lowered to `to` (exactly what a sketch of `to` registers would
    /// have seen of the same values).
    fn downsampled(&self, to: u8) -> Sketch {
        if to >= self.lg_k {
            return self.clone();
        }
        let shift = u32::from(self.lg_k - to);
        let mut out = Sketch::new(to);
        let cap = 64 - u32::from(to) + 1;
        for (bucket, &rank) in self.registers.iter().enumerate() {
            if rank == 0 {
                continue;
            }
            let dropped = (bucket as u64) & ((1 << shift) - 1);
            let new_rank = if dropped != 0 {
                shift - (64 - dropped.leading_zeros()) + 1
            } else {
                shift + u32::from(rank)
            };
            let r = &mut out.registers[bucket >> shift];
            *r = (*r).max(new_rank.min(cap) as u8);
        }
        out
    }

    /// The union of two sketches; of different lgConfigK only when `allow_different`, then at
    /// the smaller one.
    fn union(&self, other: &Sketch, function: &str, allow_different: bool) -> Result<Sketch> {
        if self.lg_k != other.lg_k && !allow_different {
            return exec_err!(
                "[HLL_UNION_DIFFERENT_LG_K] Sketches have different lgConfigK values: {} and {}. Set the allowDifferentLgConfigK parameter to true to call {function} with different lgConfigK values.",
                self.lg_k,
                other.lg_k
            );
        }
        let lg_k = self.lg_k.min(other.lg_k);
        let (a, b) = (self.downsampled(lg_k), other.downsampled(lg_k));
        Ok(Sketch {
            lg_k,
            registers: a
                .registers
                .iter()
                .zip(&b.registers)
                .map(|(x, y)| *x.max(y))
                .collect(),
        })
    }

    /// The estimated number of distinct values added.
    fn estimate(&self) -> i64 {
        let m = self.registers.len() as f64;
        let alpha = match self.registers.len() {
            16 => 0.673,
            32 => 0.697,
            64 => 0.709,
            _ => 0.7213 / (1.0 + 1.079 / m),
        };
        let sum: f64 = self
            .registers
            .iter()
            .map(|&r| 2f64.powi(-i32::from(r)))
            .sum();
        let raw = alpha * m * m / sum;
        let zeros = self.registers.iter().filter(|&&r| r == 0).count();
        let estimate = if raw <= 2.5 * m && zeros > 0 {
            m * (m / zeros as f64).ln()
        } else {
            raw
        };
        estimate.round() as i64
    }

    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + self.registers.len());
        out.push(VERSION);
        out.push(self.lg_k);
        out.extend_from_slice(&self.registers);
        out
    }

    fn from_bytes(bytes: &[u8], function: &str) -> Result<Sketch> {
        match bytes {
            [VERSION, lg_k, registers @ ..]
                if (4..=21).contains(lg_k) && registers.len() == 1 << lg_k =>
            {
                Ok(Sketch {
                    lg_k: *lg_k,
                    registers: registers.to_vec(),
                })
            }
            _ => exec_err!(
                "[HLL_INVALID_INPUT_SKETCH_BUFFER] Invalid call to {function}; only valid HLL sketch buffers are supported as inputs (such as those produced by the `hll_sketch_agg` function)."
            ),
        }
    }
}

fn binary(a: &ArrayRef) -> Result<BinaryArray> {
    let b = cast(a, &DataType::Binary)?;
    Ok(b.as_any()
        .downcast_ref::<BinaryArray>()
        .expect("cast to Binary gives a BinaryArray")
        .clone())
}

/// The constant `at`-th argument of an aggregate call, `None` when it is not given.
fn constant_argument(
    args: &AccumulatorArgs,
    at: usize,
    function: &str,
) -> Result<Option<ScalarValue>> {
    let Some(expr) = args.exprs.get(at) else {
        return Ok(None);
    };
    match expr.downcast_ref::<Literal>() {
        Some(literal) => Ok(Some(literal.value().clone())),
        None => exec_err!("The argument {} of {function} must be a constant", at + 1),
    }
}

fn flag(value: Option<ScalarValue>, function: &str) -> Result<bool> {
    match value {
        None | Some(ScalarValue::Boolean(None)) => Ok(false),
        Some(ScalarValue::Boolean(Some(b))) => Ok(b),
        Some(other) => exec_err!(
            "The allowDifferentLgConfigK argument of {function} must be a BOOLEAN, not {}",
            other.data_type()
        ),
    }
}

/// Spark's `hll_sketch_agg(expr [, lgConfigK])`: the sketch of the non-NULL values of an
/// INT, BIGINT, STRING or BINARY column, with `2^lgConfigK` registers (4 to 21, default 12).
pub fn hll_sketch_agg() -> AggregateUDF {
    AggregateUDF::new_from_impl(SketchAgg {
        signature: Signature::one_of(
            vec![TypeSignature::Any(1), TypeSignature::Any(2)],
            Volatility::Immutable,
        ),
    })
}

/// See [`hll_sketch_agg`].
#[derive(Debug, PartialEq, Eq, Hash)]
struct SketchAgg {
    signature: Signature,
}

impl AggregateUDFImpl for SketchAgg {
    fn name(&self) -> &str {
        "hll_sketch_agg"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        let input = &arg_types[0];
        if !(input.is_integer()
            || matches!(
                input,
                DataType::Utf8
                    | DataType::LargeUtf8
                    | DataType::Utf8View
                    | DataType::Binary
                    | DataType::LargeBinary
                    | DataType::BinaryView
                    | DataType::Null
            ))
        {
            return plan_err!(
                "hll_sketch_agg takes an INT, BIGINT, STRING or BINARY value, not {input}"
            );
        }
        if arg_types.get(1).is_some_and(|t| !t.is_integer()) {
            return plan_err!("The lgConfigK argument of hll_sketch_agg must be an INT");
        }
        Ok(DataType::Binary)
    }

    fn is_nullable(&self) -> bool {
        false
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let lg_k = match constant_argument(&args, 1, "hll_sketch_agg")? {
            None => i64::from(DEFAULT_LG_K),
            Some(v) => match v.cast_to(&DataType::Int64)? {
                ScalarValue::Int64(Some(k)) => k,
                _ => -1,
            },
        };
        if !(4..=21).contains(&lg_k) {
            return exec_err!(
                "[HLL_INVALID_LG_K] Invalid call to hll_sketch_agg; only valid lgConfigK values are between 4 and 21 inclusive: {lg_k}."
            );
        }
        Ok(Box::new(SketchAccumulator {
            sketch: Sketch::new(lg_k as u8),
        }))
    }
}

#[derive(Debug)]
struct SketchAccumulator {
    sketch: Sketch,
}

impl Accumulator for SketchAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let x = &values[0];
        if x.data_type().is_integer() {
            let ints = cast(x, &DataType::Int64)?;
            let ints = ints
                .as_any()
                .downcast_ref::<Int64Array>()
                .expect("cast to Int64 gives an Int64Array");
            for v in ints.iter().flatten() {
                self.sketch.add_bytes(&v.to_le_bytes());
            }
        } else {
            // Strings as their UTF-8 bytes; empty ones are not counted (as DataSketches).
            for v in binary(x)?.iter().flatten() {
                if !v.is_empty() {
                    self.sketch.add_bytes(v);
                }
            }
        }
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        for state in binary(&states[0])?.iter().flatten() {
            let other = Sketch::from_bytes(state, "hll_sketch_agg")?;
            self.sketch = self.sketch.union(&other, "hll_sketch_agg", false)?;
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.evaluate()?])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Binary(Some(self.sketch.to_bytes())))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.sketch.registers.len()
    }
}

/// Spark's `hll_union_agg(sketch [, allowDifferentLgConfigK])`: the union of the sketches of a
/// group (NULL when it has none); sketches of different lgConfigK only when allowed, the
/// union then at the smallest.
pub fn hll_union_agg() -> AggregateUDF {
    AggregateUDF::new_from_impl(UnionAgg {
        signature: Signature::one_of(
            vec![TypeSignature::Any(1), TypeSignature::Any(2)],
            Volatility::Immutable,
        ),
    })
}

/// See [`hll_union_agg`].
#[derive(Debug, PartialEq, Eq, Hash)]
struct UnionAgg {
    signature: Signature,
}

impl AggregateUDFImpl for UnionAgg {
    fn name(&self) -> &str {
        "hll_union_agg"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        if !matches!(
            arg_types[0],
            DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::Null
        ) {
            return plan_err!("hll_union_agg takes a BINARY sketch, not {}", arg_types[0]);
        }
        Ok(DataType::Binary)
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let allow = flag(
            constant_argument(&args, 1, "hll_union_agg")?,
            "hll_union_agg",
        )?;
        Ok(Box::new(UnionAccumulator { union: None, allow }))
    }
}

#[derive(Debug)]
struct UnionAccumulator {
    union: Option<Sketch>,
    allow: bool,
}

impl Accumulator for UnionAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        for bytes in binary(&values[0])?.iter().flatten() {
            let sketch = Sketch::from_bytes(bytes, "hll_union_agg")?;
            self.union = Some(match &self.union {
                None => sketch,
                Some(u) => u.union(&sketch, "hll_union_agg", self.allow)?,
            });
        }
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.update_batch(states)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.evaluate()?])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Binary(
            self.union.as_ref().map(Sketch::to_bytes),
        ))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.union.as_ref().map_or(0, |s| s.registers.len())
    }
}

/// Spark's `hll_sketch_estimate(sketch)`: the estimated number of distinct values.
pub fn hll_sketch_estimate() -> ScalarUDF {
    AnyArgsFunction::udf("hll_sketch_estimate", 1, 1, DataType::Int64, |a, _| {
        let sketches = binary(&a[0])?;
        let out: Int64Array = sketches
            .iter()
            .map(|b| {
                b.map(|b| Sketch::from_bytes(b, "hll_sketch_estimate").map(|s| s.estimate()))
                    .transpose()
            })
            .collect::<Result<_>>()?;
        Ok(Arc::new(out) as ArrayRef)
    })
}

/// Spark's `hll_union(first, second [, allowDifferentLgConfigK])`: the union of two sketches.
pub fn hll_union() -> ScalarUDF {
    AnyArgsFunction::udf("hll_union", 2, 3, DataType::Binary, |a, rows| {
        let (first, second) = (binary(&a[0])?, binary(&a[1])?);
        let allow = match a.get(2) {
            None => None,
            Some(flags) => Some(
                cast(flags, &DataType::Boolean)
                    .map_err(DataFusionError::from)?
                    .as_any()
                    .downcast_ref::<BooleanArray>()
                    .expect("cast to Boolean gives a BooleanArray")
                    .clone(),
            ),
        };
        let mut out: Vec<Option<Vec<u8>>> = Vec::with_capacity(rows);
        for i in 0..rows {
            if first.is_null(i) || second.is_null(i) {
                out.push(None);
                continue;
            }
            let allowed = allow.as_ref().is_some_and(|f| f.is_valid(i) && f.value(i));
            let x = Sketch::from_bytes(first.value(i), "hll_union")?;
            let y = Sketch::from_bytes(second.value(i), "hll_union")?;
            out.push(Some(x.union(&y, "hll_union", allowed)?.to_bytes()));
        }
        Ok(Arc::new(BinaryArray::from_iter(out)) as ArrayRef)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sketch_of(lg_k: u8, values: impl Iterator<Item = i64>) -> Sketch {
        let mut s = Sketch::new(lg_k);
        for v in values {
            s.add_bytes(&v.to_le_bytes());
        }
        s
    }

    #[test]
    fn small_counts_are_exact() {
        assert_eq!(sketch_of(12, [1, 1, 2, 2, 3].into_iter()).estimate(), 3);
        assert_eq!(sketch_of(4, std::iter::empty()).estimate(), 0);
    }

    #[test]
    fn estimates_stay_within_the_error_bound() {
        for (lg_k, n) in [(12u8, 100_000i64), (10, 20_000), (14, 1_000_000)] {
            let s = sketch_of(lg_k, 0..n);
            let error = (s.estimate() - n).abs() as f64 / n as f64;
            // Three standard errors.
            let bound = 3.0 * 1.04 / f64::from(1u32 << lg_k).sqrt();
            assert!(
                error < bound,
                "lgK {lg_k}, n {n}: estimate {}",
                s.estimate()
            );
        }
    }

    #[test]
    fn unions_count_each_value_once() {
        let a = sketch_of(12, 0..50_000);
        let b = sketch_of(12, 25_000..75_000);
        let u = a.union(&b, "hll_union", false).unwrap();
        assert_eq!(u, sketch_of(12, 0..75_000));
        // Different lgConfigK: refused unless allowed, then the same as a sketch at the smaller.
        let big = sketch_of(16, 25_000..75_000);
        assert!(a.union(&big, "hll_union", false).is_err());
        assert_eq!(
            a.union(&big, "hll_union", true).unwrap(),
            sketch_of(12, 0..75_000)
        );
        assert_eq!(sketch_of(21, 0..1000).downsampled(4), sketch_of(4, 0..1000));
    }

    #[test]
    fn sketches_round_trip_through_bytes() {
        let s = sketch_of(5, 0..10);
        assert_eq!(Sketch::from_bytes(&s.to_bytes(), "t").unwrap(), s);
        assert!(Sketch::from_bytes(b"not a sketch", "t").is_err());
    }
}
