//! Tableau's XML dialect: `tsRequest` bodies we send and `tsResponse` bodies we read.
//!
//! Responses are read into a small element tree by local name, so the namespace prefix
//! (`http://tableau.com/api`, or none) and attribute order never matter, as in TSC.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::error::TableauError;

/// The Tableau API namespace.
pub const NAMESPACE: &str = "http://tableau.com/api";

/// An XML element: local name, attributes, children.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Element {
    /// Local name (no prefix).
    pub name: String,
    /// Attributes, unescaped, in document order.
    pub attrs: Vec<(String, String)>,
    /// Child elements.
    pub children: Vec<Element>,
    /// Text content (for `<summary>`, `<detail>`, `<restApiVersion>`).
    pub text: String,
}

impl Element {
    /// An attribute's value.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child named `name`.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The first descendant named `name`, depth first.
    pub fn find(&self, name: &str) -> Option<&Element> {
        self.children.iter().find_map(|c| {
            if c.name == name {
                Some(c)
            } else {
                c.find(name)
            }
        })
    }
}

fn local(name: &[u8]) -> String {
    let local = match name.iter().rposition(|b| *b == b':') {
        Some(i) => &name[i + 1..],
        None => name,
    };
    String::from_utf8_lossy(local).into_owned()
}

fn element_from(start: &BytesStart<'_>) -> Result<Element, TableauError> {
    let mut e = Element {
        name: local(start.name().as_ref()),
        ..Element::default()
    };
    for a in start.attributes() {
        let a = a.map_err(|err| TableauError::Protocol(format!("bad XML attribute: {err}")))?;
        let key = local(a.key.as_ref());
        if key == "xmlns" || a.key.as_ref().starts_with(b"xmlns:") {
            continue;
        }
        let value = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|err| TableauError::Protocol(format!("bad XML attribute value: {err}")))?
            .into_owned();
        e.attrs.push((key, value));
    }
    Ok(e)
}

/// Parse an XML document into its root element.
pub fn parse(text: &str) -> Result<Element, TableauError> {
    // Text is kept as is: quick-xml splits text around entity references, so trimming each
    // piece would eat the spaces beside `&apos;`. Readers trim the values they use.
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(s)) => stack.push(element_from(&s)?),
            Ok(Event::Empty(s)) => {
                let e = element_from(&s)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(e),
                    None => return Ok(e),
                }
            }
            Ok(Event::End(_)) => {
                let Some(done) = stack.pop() else {
                    return Err(TableauError::Protocol("unbalanced XML".into()));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => return Ok(done),
                }
            }
            Ok(Event::Text(t)) => {
                if let Some(cur) = stack.last_mut() {
                    let decoded = t
                        .decode()
                        .map_err(|err| TableauError::Protocol(format!("bad XML text: {err}")))?;
                    let text = quick_xml::escape::unescape(&decoded)
                        .map_err(|err| TableauError::Protocol(format!("bad XML text: {err}")))?;
                    cur.text.push_str(&text);
                }
            }
            Ok(Event::GeneralRef(r)) => {
                if let Some(cur) = stack.last_mut() {
                    let name = r
                        .decode()
                        .map_err(|err| TableauError::Protocol(format!("bad XML entity: {err}")))?;
                    let entity = format!("&{name};");
                    let text = quick_xml::escape::unescape(&entity)
                        .map_err(|err| TableauError::Protocol(format!("bad XML entity: {err}")))?;
                    cur.text.push_str(&text);
                }
            }
            Ok(Event::Eof) => {
                return Err(TableauError::Protocol(
                    "the XML document ended early".into(),
                ))
            }
            Ok(_) => {}
            Err(err) => return Err(TableauError::Protocol(format!("bad XML: {err}"))),
        }
    }
}

/// Escape an attribute value.
pub fn esc(v: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::escape(v)
}

/// Write one element with attributes (skipping `None` values) and optional inner XML.
pub fn element(name: &str, attrs: &[(&str, Option<&str>)], inner: Option<&str>) -> String {
    let mut out = format!("<{name}");
    for (k, v) in attrs {
        if let Some(v) = v {
            out.push_str(&format!(" {k}=\"{}\"", esc(v)));
        }
    }
    match inner {
        Some(i) => out.push_str(&format!(">{i}</{name}>")),
        None => out.push_str("/>"),
    }
    out
}

/// Wrap a request body in `<tsRequest>`.
pub fn ts_request(inner: &str) -> String {
    format!("<tsRequest>{inner}</tsRequest>")
}

/// Read Tableau's `<error code><summary/><detail/></error>` envelope.
pub fn parse_error(status: u16, body: &str) -> TableauError {
    let parsed = parse(body).ok();
    let err = parsed.as_ref().and_then(|r| {
        if r.name == "error" {
            Some(r)
        } else {
            r.find("error")
        }
    });
    match err {
        Some(e) => TableauError::Api {
            status,
            code: e.attr("code").unwrap_or_default().to_string(),
            summary: e
                .child("summary")
                .map(|s| s.text.trim().to_string())
                .unwrap_or_default(),
            detail: e
                .child("detail")
                .map(|s| s.text.trim().to_string())
                .unwrap_or_default(),
        },
        // Tableau Cloud's 429 and some proxies answer in HTML (tableau-rest.md section 5).
        None => TableauError::Api {
            status,
            code: format!("{status}000"),
            summary: "HTTP error".into(),
            detail: body.chars().take(200).collect(),
        },
    }
}
