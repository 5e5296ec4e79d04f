//! Aggregates the engine lacks: Spark's `skewness`.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, Float64Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{create_udaf, Accumulator, AggregateUDF, Volatility};

/// Spark's `skewness(x)` over DOUBLE values (the rewrite casts `x`): the population skewness
/// `sqrt(n) · m3 / m2^1.5` of the non-NULL values, where `m2` and `m3` are the sums of the
/// squared and cubed deviations from the mean; NULL without values or when every value is
/// the same (Spark's answer when `m2` is zero).
pub fn skewness() -> AggregateUDF {
    create_udaf(
        "skewness",
        vec![DataType::Float64],
        Arc::new(DataType::Float64),
        Volatility::Immutable,
        Arc::new(|_| Ok(Box::new(Moments::default()))),
        Arc::new(vec![DataType::Float64; 4]),
    )
}

/// The count, mean and central moment sums of the values seen, updated one value at a time
/// and merged pairwise (the formulas of Pébay, 2008), so large means do not cancel.
#[derive(Debug, Default)]
struct Moments {
    n: f64,
    mean: f64,
    m2: f64,
    m3: f64,
}

impl Moments {
    fn merge(&mut self, other: &Moments) {
        if other.n == 0.0 {
            return;
        }
        if self.n == 0.0 {
            *self = Moments { ..*other };
            return;
        }
        let n = self.n + other.n;
        let delta = other.mean - self.mean;
        let delta_n = delta / n;
        let m2 = self.m2 + other.m2 + delta * delta_n * self.n * other.n;
        let m3 = self.m3
            + other.m3
            + delta * delta_n * delta_n * self.n * other.n * (self.n - other.n)
            + 3.0 * delta_n * (self.n * other.m2 - other.n * self.m2);
        self.mean += delta_n * other.n;
        self.n = n;
        self.m2 = m2;
        self.m3 = m3;
    }
}

fn floats(a: &ArrayRef) -> &Float64Array {
    a.as_any()
        .downcast_ref::<Float64Array>()
        .expect("skewness takes DOUBLE values")
}

impl Accumulator for Moments {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        for x in floats(&values[0]).iter().flatten() {
            self.merge(&Moments {
                n: 1.0,
                mean: x,
                m2: 0.0,
                m3: 0.0,
            });
        }
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let (n, mean, m2, m3) = (
            floats(&states[0]),
            floats(&states[1]),
            floats(&states[2]),
            floats(&states[3]),
        );
        for i in 0..n.len() {
            if n.is_valid(i) {
                self.merge(&Moments {
                    n: n.value(i),
                    mean: mean.value(i),
                    m2: m2.value(i),
                    m3: m3.value(i),
                });
            }
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![
            ScalarValue::from(self.n),
            ScalarValue::from(self.mean),
            ScalarValue::from(self.m2),
            ScalarValue::from(self.m3),
        ])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        if self.n == 0.0 || self.m2 == 0.0 {
            return Ok(ScalarValue::Float64(None));
        }
        Ok(ScalarValue::from(
            self.n.sqrt() * self.m3 / (self.m2 * self.m2 * self.m2).sqrt(),
        ))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skewness_of_values() {
        let mut m = Moments::default();
        let values: ArrayRef = Arc::new(Float64Array::from(vec![
            Some(-10.0),
            Some(-20.0),
            Some(100.0),
            Some(1000.0),
            None,
        ]));
        m.update_batch(&[values]).unwrap();
        // Spark's documented example: skewness of -10, -20, 100, 1000.
        let ScalarValue::Float64(Some(v)) = m.evaluate().unwrap() else {
            panic!("no value")
        };
        assert!((v - 1.1135657469022011).abs() < 1e-12, "{v}");
    }
}
