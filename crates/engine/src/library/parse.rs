//! Reading and writing the YAML files.

use super::validate::{locate, validate};
use super::{Library, LibraryError, Objection, Problem};
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/default_library.rs"));

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    objections: Vec<Objection>,
    /// Library-wide look-alikes that must never fire any card.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    not_objections: Vec<String>,
}

/// The library compiled into the binary from the repo's `objection-library/`.
pub fn load_default() -> Result<Library, LibraryError> {
    let sources: Vec<(PathBuf, String)> = DEFAULT_LIBRARY
        .iter()
        .map(|(name, text)| (PathBuf::from(format!("objection-library/{name}")), (*text).to_owned()))
        .collect();
    load_sources(&sources, Path::new("objection-library"))
}

/// Every `*.yaml`/`*.yml` file in `dir`, validated as one library.
pub fn load_dir(dir: &Path) -> Result<Library, LibraryError> {
    let io = |source| LibraryError::Io { path: dir.to_owned(), source };
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    let mut sources = Vec::with_capacity(files.len());
    for path in files {
        let text = fs::read_to_string(&path).map_err(|source| LibraryError::Io { path: path.clone(), source })?;
        sources.push((path, text));
    }
    load_sources(&sources, dir)
}

/// Parses and validates (path, text) pairs; all problems are reported together.
pub fn load_sources(sources: &[(PathBuf, String)], dir: &Path) -> Result<Library, LibraryError> {
    let mut problems = Vec::new();
    let mut objections = Vec::new();
    let mut not_objections = Vec::new();
    for (path, text) in sources {
        if text.trim().is_empty() {
            problems.push(Problem {
                file: path.clone(),
                line: Some(1),
                field: "objections".into(),
                message: "the file is empty; add an `objections:` list or delete the file".into(),
            });
            continue;
        }
        match serde_yaml::from_str::<FileDoc>(text) {
            Ok(doc) if doc.objections.is_empty() && doc.not_objections.is_empty() => problems.push(Problem {
                file: path.clone(),
                line: Some(1),
                field: "objections".into(),
                message: "the file has no `objections:` or `not_objections:` entries".into(),
            }),
            Ok(doc) => {
                not_objections
                    .extend(doc.not_objections.into_iter().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()));
                let name = path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
                for mut o in doc.objections {
                    o.source_file = name.clone();
                    objections.push((path.clone(), text.as_str(), o));
                }
            }
            Err(e) => problems.push(yaml_problem(path, text, &e)),
        }
    }
    let (objections, warnings) = validate(objections, &mut problems);
    if !problems.is_empty() {
        return Err(LibraryError::Invalid(problems));
    }
    if objections.is_empty() {
        return Err(LibraryError::Empty(dir.to_owned()));
    }
    not_objections.sort();
    not_objections.dedup();
    Ok(Library { objections, not_objections, warnings })
}

fn yaml_problem(path: &Path, text: &str, e: &serde_yaml::Error) -> Problem {
    let msg = e.to_string();
    // serde_yaml says "objections[2].responses[0]: unknown field `knd` ... at line 9 column 9".
    let (field, rest) = match msg.split_once(": ") {
        Some((f, r)) if !f.contains(' ') => (f.to_owned(), r.to_owned()),
        _ => ("yaml".to_owned(), msg.clone()),
    };
    let rest = match rest.find(" at line ") {
        Some(i) => rest[..i].to_owned(),
        None => rest,
    };
    let line = e.location().map(|l| l.line()).or_else(|| locate(text, None, &field));
    Problem { file: path.to_owned(), line, field, message: rest }
}

/// Writes the library as YAML, one file per original source file, each atomically.
pub fn write_dir(lib: &Library, dir: &Path) -> Result<Vec<PathBuf>, LibraryError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| LibraryError::Io { path, source }
    };
    fs::create_dir_all(dir).map_err(io(dir))?;
    let mut by_file: Vec<(String, Vec<Objection>)> = Vec::new();
    for o in &lib.objections {
        let name = if o.source_file.is_empty() { format!("{}.yaml", o.category) } else { o.source_file.clone() };
        match by_file.iter_mut().find(|(n, _)| *n == name) {
            Some((_, list)) => list.push(o.clone()),
            None => by_file.push((name, vec![o.clone()])),
        }
    }
    let mut files: Vec<(String, FileDoc)> = by_file
        .into_iter()
        .map(|(name, objections)| (name, FileDoc { objections, not_objections: Vec::new() }))
        .collect();
    if !lib.not_objections.is_empty() {
        files.push((
            "not-objections.yaml".into(),
            FileDoc { objections: Vec::new(), not_objections: lib.not_objections.clone() },
        ));
    }
    let mut written = Vec::new();
    for (name, doc) in files {
        let path = dir.join(&name);
        let text = serde_yaml::to_string(&doc).map_err(|e| io(&path)(std::io::Error::other(e)))?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io(&path))?;
        tmp.write_all(text.as_bytes()).map_err(io(&path))?;
        tmp.persist(&path).map_err(|e| io(&path)(e.error))?;
        written.push(path);
    }
    Ok(written)
}
