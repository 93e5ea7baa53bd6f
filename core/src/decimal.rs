//! Decimal text for numbers shown in the page (`1.5 KB`, `$0.040`, `12.3 s`).
//!
//! Rust's float formatting (`{:.1}`) pulls about 17 KB of float-to-decimal code into the wasm
//! bundle; rounding to an integer first and printing digits costs almost nothing.

/// `value` rounded half away from zero to `decimals` places (at most 6), e.g. `fixed(1.25, 1)`
/// is `"1.3"`. Non-finite values read `"–"`.
pub fn fixed(value: f64, decimals: u32) -> String {
    if !value.is_finite() {
        return "–".to_owned();
    }
    let decimals = decimals.min(6);
    let scale = 10u64.pow(decimals);
    // f64 → u64 saturates, so a huge value cannot wrap.
    let scaled = (value.abs() * scale as f64).round() as u64;
    let sign = if value < 0.0 && scaled != 0 { "-" } else { "" };
    let whole = scaled / scale;
    if decimals == 0 {
        return format!("{sign}{whole}");
    }
    let fraction = (scaled % scale).to_string();
    let zeros = "0".repeat(decimals as usize - fraction.len());
    format!("{sign}{whole}.{zeros}{fraction}")
}

/// US dollars for a price: three decimals below $1 (image prices are cents and fractions of
/// cents), two above: `$0.042`, `$12.50`.
pub fn dollars(value: f64) -> String {
    let digits = if value.abs() < 1.0 { 3 } else { 2 };
    format!("${}", fixed(value, digits))
}

/// A dollar amount as a person types it (`5`, `2.5`, `$0.75`); `None` when it is not one.
/// Whole cents only, and no float parsing: that would add its own code to the wasm bundle.
pub fn parse_dollars(text: &str) -> Option<f64> {
    let text = text.trim().trim_start_matches('$').trim();
    let (whole, cents) = match text.split_once('.') {
        Some((whole, fraction)) if fraction.len() <= 2 => {
            let digits = format!("{fraction:0<2}");
            (whole, digits.parse::<u64>().ok()?)
        }
        Some(_) => return None,
        None => (text, 0),
    };
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    if text.is_empty() || text == "." {
        return None;
    }
    Some(whole as f64 + cents as f64 / 100.0)
}

/// A CSS length in pixels, e.g. `px(120.25)` is `"120.3px"`.
pub fn px(value: f64) -> String {
    format!("{}px", fixed(value, 1))
}

/// `1536` → `1.5 KB` (binary units; whole bytes below 1 KB).
pub fn bytes(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = bytes.max(0.0);
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    let digits = if unit == 0 { 0 } else { 1 };
    format!("{} {}", fixed(value, digits), UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::{bytes, dollars, fixed, parse_dollars, px};

    #[test]
    fn rounds_to_the_requested_places() {
        assert_eq!(fixed(0.0, 1), "0.0");
        assert_eq!(fixed(1.25, 1), "1.3");
        assert_eq!(fixed(12.04, 1), "12.0");
        assert_eq!(fixed(0.04, 3), "0.040");
        assert_eq!(fixed(0.1234, 3), "0.123");
        assert_eq!(fixed(7.0, 0), "7");
        assert_eq!(fixed(9.96, 1), "10.0");
    }

    #[test]
    fn negative_and_odd_values() {
        assert_eq!(fixed(-1.5, 1), "-1.5");
        assert_eq!(fixed(-0.01, 1), "0.0");
        assert_eq!(fixed(f64::NAN, 2), "–");
        assert_eq!(fixed(f64::INFINITY, 2), "–");
        assert_eq!(fixed(1.0, 9), "1.000000");
        assert_eq!(px(120.25), "120.3px");
    }

    #[test]
    fn prices_read_like_prices() {
        assert_eq!(dollars(0.04224), "$0.042");
        assert_eq!(dollars(0.0), "$0.000");
        assert_eq!(dollars(12.5), "$12.50");
        assert_eq!(dollars(0.9996), "$1.000");
    }

    #[test]
    fn typed_amounts_are_understood() {
        assert_eq!(parse_dollars("5"), Some(5.0));
        assert_eq!(parse_dollars(" $2.5 "), Some(2.5));
        assert_eq!(parse_dollars("0.75"), Some(0.75));
        assert_eq!(parse_dollars(".5"), Some(0.5));
        assert_eq!(parse_dollars("3."), Some(3.0));
        for bad in ["", ".", "abc", "-1", "1.234", "1.2.3", "1,5", "$"] {
            assert_eq!(parse_dollars(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn byte_sizes_read_naturally() {
        assert_eq!(bytes(0.0), "0 B");
        assert_eq!(bytes(1023.0), "1023 B");
        assert_eq!(bytes(1536.0), "1.5 KB");
        assert_eq!(bytes(5.0 * 1024.0 * 1024.0), "5.0 MB");
        assert_eq!(bytes(3.0 * 1024f64.powi(4)), "3.0 TB");
        assert_eq!(bytes(-4.0), "0 B");
    }
}
