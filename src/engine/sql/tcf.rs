//! AWS Clean Rooms' `consent_tcf_v2_decode(tcf_string)`: an IAB Transparency and Consent
//! Framework v2 consent string (the TC string) read into a struct of its core segment and
//! its optional disclosed-vendors and publisher-purposes segments, in the field names of the
//! AWS reference.

use std::borrow::Borrow;
use std::sync::Arc;

use base64::Engine as _;
use datafusion::arrow::array::{
    Array, ArrayBuilder, ArrayRef, BooleanArray, Int32Array, Int32Builder, ListBuilder,
    StringArray, StructArray, StructBuilder, TimestampNanosecondArray,
};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::datatypes::{DataType, Field, Fields, TimeUnit};
use datafusion::logical_expr::ScalarUDF;

use super::udf::{strings, RowFunction};

/// A restriction of the publisher: a purpose, its type (0 not allowed, 1 consent required,
/// 2 legitimate interest required) and the vendors it applies to.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct Restriction {
    purpose: i32,
    restriction_type: i32,
    vendors: Vec<i32>,
}

/// A decoded TC string.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct Consent {
    pub(super) version: i32,
    /// Deciseconds since the Unix epoch.
    pub(super) created: i64,
    pub(super) last_updated: i64,
    pub(super) cmp_id: i32,
    pub(super) cmp_version: i32,
    pub(super) consent_screen: i32,
    pub(super) consent_language: String,
    pub(super) vendor_list_version: i32,
    pub(super) tcf_policy_version: i32,
    pub(super) is_service_specific: bool,
    pub(super) use_non_standard_stacks: bool,
    pub(super) special_feature_opt_ins: Vec<i32>,
    pub(super) purpose_consent: Vec<i32>,
    pub(super) purposes_li_transparency: Vec<i32>,
    pub(super) purpose_one_treatment: bool,
    pub(super) publisher_country_code: String,
    pub(super) vendor_consent: Vec<i32>,
    pub(super) vendor_legitimate_interest: Vec<i32>,
    pub(super) pub_restriction_entry: Vec<Restriction>,
    pub(super) disclosed_vendors: Vec<i32>,
    pub(super) pub_purposes_consent: Vec<i32>,
    pub(super) pub_purposes_li_transparency: Vec<i32>,
    pub(super) custom_purposes_consent: Vec<i32>,
    pub(super) custom_purposes_li_transparency: Vec<i32>,
}

/// A reader of the bits of a segment, most significant first.
pub(super) struct Bits {
    bytes: Vec<u8>,
    at: usize,
}

impl Bits {
    /// The next `width` bits as an unsigned integer; `None` past the end.
    pub(super) fn int(&mut self, width: usize) -> Option<i64> {
        let mut v: i64 = 0;
        for _ in 0..width {
            let byte = *self.bytes.get(self.at / 8)?;
            let bit = (byte >> (7 - self.at % 8)) & 1;
            v = (v << 1) | i64::from(bit);
            self.at += 1;
        }
        Some(v)
    }

    fn small(&mut self, width: usize) -> Option<i32> {
        self.int(width).map(|v| v as i32)
    }

    /// The next bit.
    pub(super) fn flag(&mut self) -> Option<bool> {
        self.int(1).map(|v| v == 1)
    }

    /// The 1-based positions of the set bits of a `width`-bit field.
    fn bitfield(&mut self, width: usize) -> Option<Vec<i32>> {
        let mut out = Vec::new();
        for i in 1..=width {
            if self.flag()? {
                out.push(i as i32);
            }
        }
        Some(out)
    }

    /// Two 6-bit letters (A = 0).
    fn letters(&mut self) -> Option<String> {
        let a = self.int(6)?;
        let b = self.int(6)?;
        Some([a, b].iter().map(|&c| char::from(b'A' + c as u8)).collect())
    }

    /// Vendor ranges: a count, then single ids or start–end ranges.
    fn ranges(&mut self) -> Option<Vec<i32>> {
        let entries = self.int(12)?;
        let mut out = Vec::new();
        for _ in 0..entries {
            let is_range = self.flag()?;
            let start = self.small(16)?;
            let end = if is_range { self.small(16)? } else { start };
            if end < start || end - start > 65_535 {
                return None;
            }
            out.extend(start..=end);
        }
        Some(out)
    }

    /// A vendor section: the highest id, then a bitfield or ranges.
    fn vendors(&mut self) -> Option<Vec<i32>> {
        let max = self.int(16)? as usize;
        if self.flag()? {
            self.ranges()
        } else {
            self.bitfield(max)
        }
    }
}

/// The bytes of a base64url segment (padding optional).
pub(super) fn segment(text: &str) -> Option<Bits> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .ok()?;
    Some(Bits { bytes, at: 0 })
}

/// The consent a TC string records; `None` when it is no TCF v2 string.
pub(super) fn decode(tc_string: &str) -> Option<Consent> {
    let mut parts = tc_string.trim().split('.');
    let mut core = segment(parts.next()?)?;
    let mut c = Consent {
        version: core.small(6)?,
        ..Consent::default()
    };
    if c.version != 2 {
        return None;
    }
    c.created = core.int(36)?;
    c.last_updated = core.int(36)?;
    c.cmp_id = core.small(12)?;
    c.cmp_version = core.small(12)?;
    c.consent_screen = core.small(6)?;
    c.consent_language = core.letters()?;
    c.vendor_list_version = core.small(12)?;
    c.tcf_policy_version = core.small(6)?;
    c.is_service_specific = core.flag()?;
    c.use_non_standard_stacks = core.flag()?;
    c.special_feature_opt_ins = core.bitfield(12)?;
    c.purpose_consent = core.bitfield(24)?;
    c.purposes_li_transparency = core.bitfield(24)?;
    c.purpose_one_treatment = core.flag()?;
    c.publisher_country_code = core.letters()?;
    c.vendor_consent = core.vendors()?;
    c.vendor_legitimate_interest = core.vendors()?;
    let restrictions = core.int(12)?;
    for _ in 0..restrictions {
        c.pub_restriction_entry.push(Restriction {
            purpose: core.small(6)?,
            restriction_type: core.small(2)?,
            vendors: core.ranges()?,
        });
    }
    for text in parts {
        let mut s = segment(text)?;
        match s.int(3)? {
            1 => c.disclosed_vendors = s.vendors()?,
            // Allowed vendors (type 2) are not part of the documented result.
            2 => {}
            3 => {
                c.pub_purposes_consent = s.bitfield(24)?;
                c.pub_purposes_li_transparency = s.bitfield(24)?;
                let custom = s.int(6)? as usize;
                c.custom_purposes_consent = s.bitfield(custom)?;
                c.custom_purposes_li_transparency = s.bitfield(custom)?;
            }
            _ => return None,
        }
    }
    Some(c)
}

/// The type of a list of integers.
pub(super) fn int_list() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(DataType::Int32, true)))
}

fn restriction_fields() -> Fields {
    Fields::from(vec![
        Field::new("purposeId", DataType::Int32, true),
        Field::new("restrictionType", DataType::Int32, true),
        Field::new("vendorIds", int_list(), true),
    ])
}

/// The fields of the result, in the reference's names.
fn consent_fields() -> Fields {
    let ts = DataType::Timestamp(TimeUnit::Nanosecond, None);
    let restrictions = DataType::List(Arc::new(Field::new_list_field(
        DataType::Struct(restriction_fields()),
        true,
    )));
    let field = |name: &str, t: &DataType| Field::new(name, t.clone(), true);
    Fields::from(vec![
        field("version", &DataType::Int32),
        field("created", &ts),
        field("lastUpdated", &ts),
        field("cmpId", &DataType::Int32),
        field("cmpVersion", &DataType::Int32),
        field("consentScreen", &DataType::Int32),
        field("consentLanguage", &DataType::Utf8),
        field("vendorListVersion", &DataType::Int32),
        field("tcfPolicyVersion", &DataType::Int32),
        field("isServiceSpecific", &DataType::Boolean),
        field("useNonStandardStacks", &DataType::Boolean),
        field("specialFeatureOptIns", &int_list()),
        field("purposeConsent", &int_list()),
        field("purposesLITransparency", &int_list()),
        field("purposeOneTreatment", &DataType::Boolean),
        field("publisherCountryCode", &DataType::Utf8),
        field("vendorConsent", &int_list()),
        field("vendorLegitimateInterest", &int_list()),
        field("pubRestrictionEntry", &restrictions),
        field("disclosedVendors", &int_list()),
        field("pubPurposesConsent", &int_list()),
        field("pubPurposesLITransparency", &int_list()),
        field("customPurposesConsent", &int_list()),
        field("customPurposesLITransparency", &int_list()),
    ])
}

/// The decoded value of each string of `column` (NULL for a NULL string).
pub(super) fn per_row<T>(column: &ArrayRef, decode: fn(&str) -> Option<T>) -> Vec<Option<T>> {
    let s = strings(column);
    (0..s.len())
        .map(|i| s.is_valid(i).then(|| decode(s.value(i))).flatten())
        .collect()
}

/// A list column of one list of integers per consent (NULL where there is none).
pub(super) fn lists<C: Borrow<Consent>>(
    rows: &[Option<C>],
    of: fn(&Consent) -> &Vec<i32>,
) -> ArrayRef {
    let mut b = ListBuilder::new(Int32Builder::new());
    for row in rows {
        match row {
            Some(c) => {
                b.values().append_slice(of(c.borrow()));
                b.append(true);
            }
            None => b.append(false),
        }
    }
    Arc::new(b.finish())
}

fn restrictions(rows: &[Option<Consent>]) -> ArrayRef {
    let entry = StructBuilder::new(
        restriction_fields(),
        vec![
            Box::new(Int32Builder::new()) as Box<dyn ArrayBuilder>,
            Box::new(Int32Builder::new()),
            Box::new(ListBuilder::new(Int32Builder::new())),
        ],
    );
    let mut b = ListBuilder::new(entry);
    for row in rows {
        let Some(c) = row else {
            b.append(false);
            continue;
        };
        for r in &c.pub_restriction_entry {
            let s = b.values();
            s.field_builder::<Int32Builder>(0)
                .expect("the purpose builder")
                .append_value(r.purpose);
            s.field_builder::<Int32Builder>(1)
                .expect("the restriction type builder")
                .append_value(r.restriction_type);
            let vendors = s
                .field_builder::<ListBuilder<Int32Builder>>(2)
                .expect("the vendors builder");
            vendors.values().append_slice(&r.vendors);
            vendors.append(true);
            s.append(true);
        }
        b.append(true);
    }
    Arc::new(b.finish())
}

/// `consent_tcf_v2_decode(tcf_string)`: the struct of the string's consent; NULL for a NULL
/// string or one that is no TCF v2 string.
pub fn consent_tcf_v2_decode() -> ScalarUDF {
    RowFunction::udf(
        "consent_tcf_v2_decode",
        vec![DataType::Utf8],
        1,
        DataType::Struct(consent_fields()),
        |a| {
            let rows = per_row(&a[0], decode);
            let ints = |of: fn(&Consent) -> i32| -> ArrayRef {
                Arc::new(
                    rows.iter()
                        .map(|r| r.as_ref().map(of))
                        .collect::<Int32Array>(),
                )
            };
            let flags = |of: fn(&Consent) -> bool| -> ArrayRef {
                Arc::new(
                    rows.iter()
                        .map(|r| r.as_ref().map(of))
                        .collect::<BooleanArray>(),
                )
            };
            let texts = |of: fn(&Consent) -> &str| -> ArrayRef {
                Arc::new(
                    rows.iter()
                        .map(|r| r.as_ref().map(of))
                        .collect::<StringArray>(),
                )
            };
            let times = |of: fn(&Consent) -> i64| -> ArrayRef {
                Arc::new(
                    rows.iter()
                        .map(|r| r.as_ref().map(|c| of(c) * 100_000_000))
                        .collect::<TimestampNanosecondArray>(),
                )
            };
            let columns: Vec<ArrayRef> = vec![
                ints(|c| c.version),
                times(|c| c.created),
                times(|c| c.last_updated),
                ints(|c| c.cmp_id),
                ints(|c| c.cmp_version),
                ints(|c| c.consent_screen),
                texts(|c| &c.consent_language),
                ints(|c| c.vendor_list_version),
                ints(|c| c.tcf_policy_version),
                flags(|c| c.is_service_specific),
                flags(|c| c.use_non_standard_stacks),
                lists(&rows, |c| &c.special_feature_opt_ins),
                lists(&rows, |c| &c.purpose_consent),
                lists(&rows, |c| &c.purposes_li_transparency),
                flags(|c| c.purpose_one_treatment),
                texts(|c| &c.publisher_country_code),
                lists(&rows, |c| &c.vendor_consent),
                lists(&rows, |c| &c.vendor_legitimate_interest),
                restrictions(&rows),
                lists(&rows, |c| &c.disclosed_vendors),
                lists(&rows, |c| &c.pub_purposes_consent),
                lists(&rows, |c| &c.pub_purposes_li_transparency),
                lists(&rows, |c| &c.custom_purposes_consent),
                lists(&rows, |c| &c.custom_purposes_li_transparency),
            ];
            let nulls = NullBuffer::from(rows.iter().map(Option::is_some).collect::<Vec<_>>());
            let out = StructArray::try_new(consent_fields(), columns, Some(nulls))?;
            Ok(Arc::new(out) as ArrayRef)
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_core_and_publisher_segments() {
        let c = decode(
            "CLcVDxRMWfGmWAVAHCENAXCkAKDAADnAABRgA5mdfCKZuYJez-NQm0TBMYA4oCAAGQYIAAAAAAEAIAEgAA.argAC0gAAAAAAAAAAAA",
        )
        .unwrap();
        assert_eq!(c.version, 2);
        assert_eq!(c.created / 10, 1_228_644_257);
        assert_eq!(c.last_updated / 10, 1_326_215_413);
        assert_eq!((c.cmp_id, c.cmp_version, c.consent_screen), (21, 7, 2));
        assert_eq!(c.consent_language, "EN");
        assert_eq!(c.vendor_list_version, 23);
        for purpose in [1, 3, 9, 10] {
            assert!(
                c.purpose_consent.contains(&purpose),
                "{:?}",
                c.purpose_consent
            );
        }
        assert_eq!(c.purpose_consent, vec![1, 3, 9, 10]);
        assert_eq!(c.special_feature_opt_ins, vec![2]);
        assert_eq!(
            c.vendor_legitimate_interest,
            vec![1, 9, 26, 27, 30, 36, 37, 43, 86, 97, 110, 113]
        );
        assert_eq!(c.vendor_consent.len(), 56);
        assert_eq!(c.vendor_consent.last(), Some(&115));
        assert!(c.pub_restriction_entry.is_empty());
        // The publisher purposes segment.
        assert_eq!(c.pub_purposes_consent, vec![2, 4, 6, 8, 9, 10]);
        assert_eq!(c.pub_purposes_li_transparency, vec![2, 4, 5, 7, 10]);
        assert_eq!(decode("not a tc string"), None);
        assert_eq!(decode("BOEFEAyOEFEAyAHABDENAI4AAAB9vABAASA"), None);
    }
}
