//! Short names for the main wasm module's imports from its JS glue.
//!
//! wasm-bindgen names each import after the browser call and a 16-digit hash
//! (`__wbg_instanceof_ImageBitmapRenderingContext_805c94decc599c5e`), once in the wasm's import
//! section and once in the glue's import object. Hashes do not compress, and with ~330 imports
//! the names were 7.9 KB of every first load (brotli). Renaming them (`a`, `b`, … `aB`) in both
//! files changes nothing else: the glue looks its functions up by these names only.
//!
//! It also drops classes that wasm-bindgen exports for a dependency but nothing constructs:
//! wasm-streams' stream adapters, which leptos' `server_fn` brings in and the app never uses
//! (exports keep their code alive, and each class is JS in the glue).

use crate::Result;

/// `(old, new)` import names, in the order of the import section.
pub type Renamed = Vec<(String, String)>;

/// Renames every import of `module` in the wasm binary `wasm` to a short name, in order of
/// appearance; returns the new binary and the `(old, new)` names. Other imports (the chunk
/// loaders', whose names are their JS module's exports) keep theirs.
pub fn shorten(wasm: &[u8], module: &str) -> Result<(Vec<u8>, Renamed)> {
    let mut renamed = Vec::new();
    let out = map_section(wasm, IMPORT_SECTION, |body| {
        rename_in_section(body, module, &mut renamed)
    })?;
    Ok((out, renamed))
}

/// Replaces each import's entry in wasm-bindgen's glue (`\n<name>: function(…`, one per
/// import) with its short name. An entry missing or found twice means the glue changed shape:
/// the build stops rather than ship a page whose module cannot be instantiated.
pub fn rename_in_glue(glue: &str, renamed: &[(String, String)]) -> Result<String> {
    let mut glue = glue.to_owned();
    for (old, new) in renamed {
        let entry = format!("\n{old}:");
        match glue.matches(&entry).count() {
            1 => glue = glue.replacen(&entry, &format!("\n{new}:"), 1),
            found => {
                return Err(format!(
                    "expected one `{old}:` entry in the JS glue, found {found}"
                ));
            }
        }
    }
    Ok(glue)
}

/// Classes of the glue no code constructs: the glue never wraps a pointer in one, since the
/// Rust side never makes them (checked: nothing else in the glue names them).
pub const UNUSED_CLASSES: [&str; 3] = [
    "IntoUnderlyingByteSource",
    "IntoUnderlyingSink",
    "IntoUnderlyingSource",
];

/// Whether an export of the wasm serves only one of [`UNUSED_CLASSES`]: its methods
/// (`intounderlyingsink_write`) and its destructor (`__wbg_intounderlyingsink_free`).
pub fn serves_unused_class(export: &str) -> bool {
    let name = export.strip_prefix("__wbg_").unwrap_or(export);
    UNUSED_CLASSES.iter().any(|class| {
        name.strip_prefix(class.to_ascii_lowercase().as_str())
            .is_some_and(|rest| rest.starts_with('_'))
    })
}

/// The wasm binary without the exports `drop` picks; wasm-opt then removes the code only
/// they reached.
pub fn drop_exports(wasm: &[u8], drop: impl Fn(&str) -> bool) -> Result<Vec<u8>> {
    map_section(wasm, EXPORT_SECTION, |body| {
        let mut reader = Reader { bytes: body, at: 0 };
        let count = reader.leb()?;
        let mut kept = Vec::new();
        let mut left = 0;
        for _ in 0..count {
            let start = reader.at;
            let name = reader.name()?;
            reader.byte()?;
            reader.leb()?;
            if !drop(&String::from_utf8_lossy(name)) {
                kept.extend_from_slice(&body[start..reader.at]);
                left += 1;
            }
        }
        let mut out = Vec::with_capacity(kept.len() + 5);
        write_leb(&mut out, left);
        out.extend_from_slice(&kept);
        Ok(out)
    })
}

/// The glue without [`UNUSED_CLASSES`] (each `export class` with its `Symbol.dispose` line and
/// its `FinalizationRegistry`) and without the import entries the wasm no longer imports (what
/// only their code called; `kept` are the imports left). Anything of a class left behind, or an
/// entry not where wasm-bindgen writes it, stops the build.
pub fn drop_unused_glue(glue: &str, kept: &[(String, String)]) -> Result<String> {
    let mut glue = glue.to_owned();
    for class in UNUSED_CLASSES {
        let start = format!("\nexport class {class} {{\n");
        let end = format!(
            "\nif (Symbol.dispose) {class}.prototype[Symbol.dispose] = {class}.prototype.free;\n"
        );
        glue = cut(&glue, &start, &end)?;
        let registry = format!("\nconst {class}Finalization = ");
        glue = cut(&glue, &registry, "_free(ptr, 1));\n")?;
        if glue.contains(class) {
            return Err(format!("the JS glue still uses {class} after removing it"));
        }
    }
    let (head, rest) = glue
        .split_once(IMPORTS_START)
        .ok_or("no import object in the JS glue")?;
    let (entries, tail) = rest
        .split_once(IMPORTS_END)
        .ok_or("the JS glue's import object does not end as expected")?;
    let mut kept_entries = String::with_capacity(entries.len());
    let mut keep = true;
    for line in entries.split_inclusive('\n') {
        if let Some(name) = entry_name(line) {
            keep = kept.iter().any(|(old, _)| old == name);
        }
        if keep {
            kept_entries.push_str(line);
        }
    }
    Ok(format!(
        "{head}{IMPORTS_START}{kept_entries}{IMPORTS_END}{tail}"
    ))
}

/// How the glue's import object starts and ends (compacted).
const IMPORTS_START: &str = "const import0 = {\n__proto__: null,\n";
const IMPORTS_END: &str = "};\nreturn {\n__proto__: null,\n";

/// The import's name if `line` starts an entry of the import object (`name: function(…`).
fn entry_name(line: &str) -> Option<&str> {
    let (name, rest) = line.split_once(": function(")?;
    let identifier = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$');
    (identifier && !rest.is_empty()).then_some(name)
}

/// `text` without the one span from `start` to the end of the first `end` after it (the
/// newline `start` begins with is kept).
fn cut(text: &str, start: &str, end: &str) -> Result<String> {
    let from = match text.matches(start).count() {
        1 => text.find(start).expect("counted"),
        found => {
            return Err(format!(
                "expected one `{}` in the JS glue, found {found}",
                start.trim()
            ));
        }
    };
    let to = text[from..]
        .find(end)
        .map(|at| from + at + end.len())
        .ok_or_else(|| {
            format!(
                "no `{}` after `{}` in the JS glue",
                end.trim(),
                start.trim()
            )
        })?;
    Ok(format!("{}\n{}", &text[..from], &text[to..]))
}

/// `wasm` with the body of each section `id` replaced by `change(body)`.
fn map_section(
    wasm: &[u8],
    id: u8,
    mut change: impl FnMut(&[u8]) -> Result<Vec<u8>>,
) -> Result<Vec<u8>> {
    const HEADER: usize = 8;
    if wasm.len() < HEADER || &wasm[..4] != b"\0asm" {
        return Err("not a wasm module".into());
    }
    let mut out = wasm[..HEADER].to_vec();
    let mut reader = Reader {
        bytes: wasm,
        at: HEADER,
    };
    while reader.at < wasm.len() {
        let section = reader.byte()?;
        let size = reader.leb()? as usize;
        let body = reader.take(size)?;
        let body = if section == id {
            change(body)?
        } else {
            body.to_vec()
        };
        out.push(section);
        write_leb(&mut out, body.len() as u64);
        out.extend_from_slice(&body);
    }
    Ok(out)
}

const IMPORT_SECTION: u8 = 2;
const EXPORT_SECTION: u8 = 7;

fn rename_in_section(body: &[u8], module: &str, renamed: &mut Renamed) -> Result<Vec<u8>> {
    let mut reader = Reader { bytes: body, at: 0 };
    let count = reader.leb()?;
    let mut out = Vec::with_capacity(body.len());
    write_leb(&mut out, count);
    for _ in 0..count {
        let from = reader.name()?;
        let name = reader.name()?;
        let start = reader.at;
        reader.skip_import_kind()?;
        let kind = &body[start..reader.at];
        let name = if from == module.as_bytes() {
            let short = short_name(renamed.len());
            renamed.push((String::from_utf8_lossy(name).into_owned(), short.clone()));
            short.into_bytes()
        } else {
            name.to_vec()
        };
        write_name(&mut out, from);
        write_name(&mut out, &name);
        out.extend_from_slice(kind);
    }
    if reader.at != body.len() {
        return Err("the import section has bytes after its imports".into());
    }
    Ok(out)
}

/// The `index`th of `a`…`Z`, then `aa`, `ab`…: valid JS property names, never `__proto__`.
fn short_name(index: usize) -> String {
    const FIRST: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const REST: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$";
    let mut name = vec![FIRST[index % FIRST.len()]];
    let mut rest = index / FIRST.len();
    while rest > 0 {
        rest -= 1;
        name.push(REST[rest % REST.len()]);
        rest /= REST.len();
    }
    String::from_utf8(name).expect("ASCII")
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8> {
        let byte = *self
            .bytes
            .get(self.at)
            .ok_or("the wasm module ends early")?;
        self.at += 1;
        Ok(byte)
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8]> {
        let end = self.at.checked_add(len).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or("the wasm module ends early")?;
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    fn leb(&mut self) -> Result<u64> {
        let (mut value, mut shift) = (0u64, 0);
        loop {
            let byte = self.byte()?;
            if shift >= 64 {
                return Err("a LEB128 number is too long".into());
            }
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Ok(value);
            }
            shift += 7;
        }
    }

    fn name(&mut self) -> Result<&'a [u8]> {
        let len = self.leb()? as usize;
        self.take(len)
    }

    /// Skips an import's kind and type: a function, table, memory, global or tag.
    fn skip_import_kind(&mut self) -> Result {
        match self.byte()? {
            0x00 => self.leb().map(drop),
            0x01 => {
                self.value_type()?;
                self.limits()
            }
            0x02 => self.limits(),
            0x03 => {
                self.value_type()?;
                self.byte().map(drop)
            }
            0x04 => {
                self.byte()?;
                self.leb().map(drop)
            }
            kind => Err(format!("unknown import kind {kind:#x}")),
        }
    }

    /// Number and reference types of one byte; typed references (a heap type follows) are
    /// refused rather than guessed at.
    fn value_type(&mut self) -> Result {
        match self.byte()? {
            0x7f | 0x7e | 0x7d | 0x7c | 0x7b | 0x70 | 0x6f => Ok(()),
            other => Err(format!("unexpected value type {other:#x} in an import")),
        }
    }

    fn limits(&mut self) -> Result {
        let flags = self.byte()?;
        if flags > 0x07 {
            return Err(format!("unexpected limits flags {flags:#x} in an import"));
        }
        self.leb()?;
        if flags & 1 == 1 {
            self.leb()?;
        }
        Ok(())
    }
}

fn write_leb(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn write_name(out: &mut Vec<u8>, name: &[u8]) {
    write_leb(out, name.len() as u64);
    out.extend_from_slice(name);
}

#[cfg(test)]
mod tests {
    use super::{
        drop_exports, drop_unused_glue, rename_in_glue, serves_unused_class, short_name, shorten,
        write_leb, write_name,
    };

    /// A module with a type section, three imports (two from the glue, one from the loader,
    /// then a memory from the glue) and a custom section after them.
    fn module(names: [&str; 3]) -> Vec<u8> {
        let mut imports = Vec::new();
        write_leb(&mut imports, 3);
        for (from, name, kind) in [
            ("./g_bg.js", names[0], &[0x00, 0x00][..]),
            ("./split.js", names[1], &[0x00, 0x00][..]),
            ("./g_bg.js", names[2], &[0x02, 0x01, 0x01, 0x80, 0x01][..]),
        ] {
            write_name(&mut imports, from.as_bytes());
            write_name(&mut imports, name.as_bytes());
            imports.extend_from_slice(kind);
        }
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        wasm.extend_from_slice(&[0x01, 0x04, 0x01, 0x60, 0x00, 0x00]);
        wasm.push(0x02);
        write_leb(&mut wasm, imports.len() as u64);
        wasm.extend_from_slice(&imports);
        wasm.extend_from_slice(&[0x00, 0x03, 0x01, b'x', 0x07]);
        wasm
    }

    #[test]
    fn only_the_glue_imports_are_renamed_and_the_rest_is_kept() {
        let long = [
            "__wbg_fetch_0123456789abcdef",
            "__wasm_split_load_x",
            "mem_9",
        ];
        let (wasm, renamed) = shorten(&module(long), "./g_bg.js").unwrap();
        assert_eq!(wasm, module(["a", "__wasm_split_load_x", "b"]));
        assert_eq!(
            renamed,
            [
                ("__wbg_fetch_0123456789abcdef".to_owned(), "a".to_owned()),
                ("mem_9".to_owned(), "b".to_owned())
            ]
        );
        assert!(shorten(b"\0asm\x01\0\0\0\x02\x05\x01", "./g_bg.js").is_err());
    }

    #[test]
    fn short_names_are_unique_identifiers() {
        let names: Vec<String> = (0..5000).map(short_name).collect();
        assert_eq!(&names[..3], ["a", "b", "c"]);
        assert_eq!(names[52], "aa");
        let unique: std::collections::HashSet<&String> = names.iter().collect();
        assert_eq!(unique.len(), names.len());
        assert!(names.iter().all(|n| n.as_bytes()[0].is_ascii_alphabetic()));
    }

    #[test]
    fn the_glue_entries_follow_or_the_build_stops() {
        let renamed = [("__wbg_a_1".to_owned(), "a".to_owned())];
        let glue = "const import0 = {\n__wbg_a_1: function(arg0) {\nwasm.__wbg_a_1x();\n},\n";
        assert_eq!(
            rename_in_glue(glue, &renamed).unwrap(),
            "const import0 = {\na: function(arg0) {\nwasm.__wbg_a_1x();\n},\n"
        );
        assert!(rename_in_glue("no imports", &renamed).is_err());
    }

    #[test]
    fn only_the_unused_classes_exports_go() {
        assert!(serves_unused_class("intounderlyingsink_write"));
        assert!(serves_unused_class("__wbg_intounderlyingsource_free"));
        assert!(!serves_unused_class("intounderlyingsinkhole"));
        assert!(!serves_unused_class("__wbindgen_malloc"));
        let mut exports = Vec::new();
        write_leb(&mut exports, 2);
        for name in ["keep", "gone"] {
            write_name(&mut exports, name.as_bytes());
            exports.extend_from_slice(&[0x00, 0x01]);
        }
        let mut wasm = b"\0asm\x01\0\0\0\x07".to_vec();
        write_leb(&mut wasm, exports.len() as u64);
        wasm.extend_from_slice(&exports);
        let dropped = drop_exports(&wasm, |name| name == "gone").unwrap();
        assert_eq!(dropped, b"\0asm\x01\0\0\0\x07\x08\x01\x04keep\x00\x01");
    }

    #[test]
    fn unused_classes_and_their_imports_leave_the_glue() {
        let class = |name: &str| {
            format!(
                "export class {name} {{\nfree() {{\nwasm.__wbg_x_free(ptr, 0);\n}}\n}}\n\
                 if (Symbol.dispose) {name}.prototype[Symbol.dispose] = {name}.prototype.free;\n\
                 const {name}Finalization = (typeof FinalizationRegistry === 'undefined')\n\
                 ? {{ register: () => {{}}, unregister: () => {{}} }}\n\
                 : new FinalizationRegistry(ptr => wasm.__wbg_x_free(ptr, 1));\n"
            )
        };
        let glue = format!(
            "let a = 1;\n{}{}{}function __wbg_get_imports() {{\nconst import0 = {{\n__proto__: null,\n\
             kept_1: function(arg0) {{\nreturn {{ a: 1 }};\n}},\ngone_2: function() {{\nx();\n}},\n\
             }};\nreturn {{\n__proto__: null,\n}};\n}}\n",
            class("IntoUnderlyingByteSource"),
            class("IntoUnderlyingSink"),
            class("IntoUnderlyingSource"),
        );
        let kept = [("kept_1".to_owned(), "a".to_owned())];
        assert_eq!(
            drop_unused_glue(&glue, &kept).unwrap(),
            "let a = 1;\nfunction __wbg_get_imports() {\nconst import0 = {\n__proto__: null,\n\
             kept_1: function(arg0) {\nreturn { a: 1 };\n},\n};\nreturn {\n__proto__: null,\n};\n}\n"
        );
        assert!(drop_unused_glue("let a = 1;\n", &kept).is_err());
    }
}
