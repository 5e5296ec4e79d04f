//! AWS Clean Rooms' `consent_gpp_v1_decode(gpp_string)`: an IAB Global Privacy Platform v1
//! string (a header naming its sections, then one `~`-separated part per section) read into
//! the struct of the AWS reference. The consent fields come from the string's TCF EU v2
//! section, whose encoding is that of a TC string (see [`super::tcf`]).

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, Int32Array, StringArray, StructArray};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::logical_expr::ScalarUDF;

use super::tcf::{self, int_list, lists, per_row, Bits, Consent};
use super::udf::RowFunction;

/// The type the header section declares for itself.
const HEADER_TYPE: i64 = 3;
/// The only GPP version there is.
const GPP_VERSION: i32 = 1;
/// The section id of the TCF EU v2 section.
const TCF_EU_V2: i32 = 2;

/// A decoded GPP string: its version, its section ids and, when it has one, its TCF EU v2
/// section.
#[derive(Debug, Clone, PartialEq)]
struct Gpp {
    version: i32,
    section_ids: Vec<i32>,
    tcf: Option<Consent>,
}

/// A Fibonacci-coded integer: bits weighted 1, 2, 3, 5, … up to the terminating `11`.
fn fibonacci(bits: &mut Bits) -> Option<i32> {
    let (mut weight, mut next) = (1i64, 2i64);
    let mut value = 0i64;
    let mut last = false;
    loop {
        let bit = bits.flag()?;
        if bit && last {
            return i32::try_from(value).ok();
        }
        if bit {
            value += weight;
        }
        last = bit;
        (weight, next) = (next, weight + next);
        if weight > i64::from(i32::MAX) {
            return None;
        }
    }
}

/// A Fibonacci integer range: a 12-bit count of entries, each a single id or a start–end
/// pair, every start an offset from the previous entry's end.
fn fibonacci_range(bits: &mut Bits) -> Option<Vec<i32>> {
    let entries = bits.int(12)?;
    let mut out = Vec::new();
    let mut offset = 0i32;
    for _ in 0..entries {
        let is_range = bits.flag()?;
        let start = offset.checked_add(fibonacci(bits)?)?;
        let end = if is_range {
            start.checked_add(fibonacci(bits)?)?
        } else {
            start
        };
        if end - start > 65_535 {
            return None;
        }
        out.extend(start..=end);
        offset = end;
    }
    Some(out)
}

/// The GPP string's content; `None` when it is no GPP v1 string, its sections do not match
/// its header, or its TCF EU v2 section is no TC string.
fn decode(gpp_string: &str) -> Option<Gpp> {
    let mut parts = gpp_string.trim().split('~');
    let mut header = tcf::segment(parts.next()?)?;
    if header.int(6)? != HEADER_TYPE {
        return None;
    }
    let version = i32::try_from(header.int(6)?).ok()?;
    if version != GPP_VERSION {
        return None;
    }
    let section_ids = fibonacci_range(&mut header)?;
    let sections: Vec<&str> = parts.collect();
    if sections.len() != section_ids.len() || sections.iter().any(|s| s.is_empty()) {
        return None;
    }
    let tcf = match section_ids.iter().position(|&id| id == TCF_EU_V2) {
        Some(i) => Some(tcf::decode(sections[i])?),
        None => None,
    };
    Some(Gpp {
        version,
        section_ids,
        tcf,
    })
}

/// The fields of the result, named as in the reference's example output.
fn gpp_fields() -> Fields {
    let field = |name: &str, t: DataType| Field::new(name, t, true);
    Fields::from(vec![
        field("version", DataType::Int32),
        field("cmpId", DataType::Int32),
        field("cmpVersion", DataType::Int32),
        field("consentScreen", DataType::Int32),
        field("consentLanguage", DataType::Utf8),
        field("vendorListVersion", DataType::Int32),
        field("publisherCountryCode", DataType::Utf8),
        field("purposeConsent", int_list()),
        field("purposeLegitimateInterests", int_list()),
        field("specialFeatureOptins", int_list()),
        field("vendorConsent", int_list()),
        field("vendorLegitimateInterests", int_list()),
    ])
}

/// The TCF section of each row, where the row has one.
fn sections(rows: &[Option<Gpp>]) -> Vec<Option<&Consent>> {
    rows.iter()
        .map(|r| r.as_ref().and_then(|g| g.tcf.as_ref()))
        .collect()
}

/// `consent_gpp_v1_decode(gpp_string)`: the struct of the string's GPP version and the
/// consent of its TCF EU v2 section (those fields NULL when it has none); NULL for a NULL
/// string or one that is no GPP v1 string.
pub fn consent_gpp_v1_decode() -> ScalarUDF {
    RowFunction::udf(
        "consent_gpp_v1_decode",
        vec![DataType::Utf8],
        1,
        DataType::Struct(gpp_fields()),
        |a| {
            let rows = per_row(&a[0], decode);
            let tcf = sections(&rows);
            let ints = |of: fn(&Consent) -> i32| -> ArrayRef {
                Arc::new(tcf.iter().map(|c| c.map(of)).collect::<Int32Array>())
            };
            let texts = |of: fn(&Consent) -> &str| -> ArrayRef {
                Arc::new(tcf.iter().map(|c| c.map(of)).collect::<StringArray>())
            };
            let columns: Vec<ArrayRef> = vec![
                Arc::new(
                    rows.iter()
                        .map(|r| r.as_ref().map(|g| g.version))
                        .collect::<Int32Array>(),
                ),
                ints(|c| c.cmp_id),
                ints(|c| c.cmp_version),
                ints(|c| c.consent_screen),
                texts(|c| &c.consent_language),
                ints(|c| c.vendor_list_version),
                texts(|c| &c.publisher_country_code),
                lists(&tcf, |c| &c.purpose_consent),
                lists(&tcf, |c| &c.purposes_li_transparency),
                lists(&tcf, |c| &c.special_feature_opt_ins),
                lists(&tcf, |c| &c.vendor_consent),
                lists(&tcf, |c| &c.vendor_legitimate_interest),
            ];
            let nulls = NullBuffer::from(rows.iter().map(Option::is_some).collect::<Vec<_>>());
            let out = StructArray::try_new(gpp_fields(), columns, Some(nulls))?;
            Ok(Arc::new(out) as ArrayRef)
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The TCF EU v2 section of the GPP specification's examples.
    const TCF_SECTION: &str = "CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA";

    #[test]
    fn reads_the_header_examples_of_the_specification() {
        let one = decode(&format!("DBABMA~{TCF_SECTION}")).unwrap();
        assert_eq!((one.version, one.section_ids), (1, vec![2]));
        let two = decode(&format!("DBACNYA~{TCF_SECTION}~1YNN")).unwrap();
        assert_eq!(two.section_ids, vec![2, 6]);
        assert_eq!(two.tcf, one.tcf);
        // Canadian TCF and US Privacy, as a range 5–6: no TCF EU v2 section.
        let three = decode(&format!("DBABjw~{TCF_SECTION}~1YNN")).unwrap();
        assert_eq!(three.section_ids, vec![5, 6]);
        assert_eq!(three.tcf, None);
    }

    #[test]
    fn reads_the_tcf_eu_section() {
        let c = decode(&format!("DBABMA~{TCF_SECTION}"))
            .unwrap()
            .tcf
            .unwrap();
        assert_eq!(c.version, 2);
        assert_eq!((c.cmp_id, c.cmp_version, c.consent_screen), (31, 640, 1));
        assert_eq!(c.consent_language, "EN");
        assert_eq!(c.vendor_list_version, 126);
        assert_eq!(c.publisher_country_code, "DE");
        assert_eq!(c.purpose_consent, Vec::<i32>::new());
        assert_eq!(c.vendor_consent, Vec::<i32>::new());
        // The specification's header over a published TC string with its publisher segment.
        let rich = decode(
            "DBABMA~CLcVDxRMWfGmWAVAHCENAXCkAKDAADnAABRgA5mdfCKZuYJez-NQm0TBMYA4oCAAGQYIAAAAAAEAIAEgAA.argAC0gAAAAAAAAAAAA",
        )
        .unwrap()
        .tcf
        .unwrap();
        assert_eq!((rich.cmp_id, rich.vendor_list_version), (21, 23));
        assert_eq!(rich.purpose_consent, vec![1, 3, 9, 10]);
        assert_eq!(rich.special_feature_opt_ins, vec![2]);
        assert_eq!(rich.publisher_country_code, "KM");
    }

    #[test]
    fn anything_else_is_none() {
        for bad in [
            "",
            "not a gpp string",
            // Sections the header does not name, and a header naming a missing section.
            &format!("DBABMA~{TCF_SECTION}~1YNN"),
            "DBACNYA~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA",
            // A TC string is no GPP header; a TCF section that is no TC string.
            TCF_SECTION,
            "DBABMA~1YNN",
        ] {
            assert_eq!(decode(bad), None, "{bad}");
        }
    }
}
