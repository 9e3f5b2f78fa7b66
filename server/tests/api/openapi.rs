//! The committed `openapi.json` is exactly what the server serves. Regenerate it with
//! `cargo run -p server -- openapi > openapi.json` (or `UPDATE_OPENAPI=1 cargo test`).

use crate::helpers::TestApp;

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.json");

#[tokio::test]
async fn committed_spec_matches_the_code() {
    let generated = format!("{}\n", server::openapi_spec());
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(COMMITTED, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(COMMITTED).unwrap();
    assert!(
        committed == generated,
        "openapi.json is stale: run `cargo run -p server -- openapi > openapi.json`"
    );
}

#[tokio::test]
async fn served_spec_is_the_printed_spec() {
    let app = TestApp::sqlite().await;
    let resp = app.client.get("/openapi.json").send().await;
    resp.assert_status_is_ok();
    resp.assert_content_type("application/json");
    let served = resp.0.into_body().into_string().await.unwrap();
    assert_eq!(served, server::openapi_spec());
}

#[test]
fn every_operation_is_documented_with_its_errors() {
    let spec: serde_json::Value = serde_json::from_str(&server::openapi_spec()).unwrap();
    let schemas = &spec["components"]["schemas"];
    for field in ["created", "lastModified"] {
        assert_eq!(
            schemas["ScimMeta"]["properties"][field]["format"],
            "date-time"
        );
    }
    for resource in ["ScimUser", "ScimGroup"] {
        assert_eq!(schemas[resource]["properties"]["id"]["readOnly"], true);
    }
    // One server, relative, so the document is the same on every deployment.
    assert_eq!(spec["servers"][0]["url"], "/");
    assert_eq!(spec["servers"].as_array().map(Vec::len), Some(1));
    for probe in ["/healthz", "/readyz"] {
        assert_eq!(
            spec["paths"][probe]["get"]["security"],
            serde_json::json!([{}]),
            "{probe} needs no credentials"
        );
    }
    let mut operations = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            assert!(
                op["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{id} has no summary"
            );
            let responses = op["responses"].as_object().unwrap();
            for (status, response) in responses {
                for header in response["headers"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|h| h.0)
                {
                    assert_ne!(
                        header,
                        &header.to_ascii_uppercase(),
                        "{id} {status}: header names are spelled as in RFC 9110"
                    );
                }
                for media_type in response["content"].as_object().into_iter().flatten() {
                    assert!(
                        !media_type.0.contains("charset"),
                        "{id} {status}: JSON has no charset"
                    );
                }
                assert!(
                    response["description"]
                        .as_str()
                        .is_some_and(|d| !d.is_empty()),
                    "{id} {status} has no description"
                );
            }
            let mut always = vec!["401", "429", "500", "503"];
            if path.starts_with("/admin/") {
                always.push("403");
            } else if !path.starts_with("/scim/") {
                always.clear();
            }
            for status in always {
                assert!(
                    responses.contains_key(status),
                    "{id} does not document {status}"
                );
            }
            // Each operation lists the errors it can give, not every error of its API.
            let has_body = op.get("requestBody").is_some();
            for status in ["413", "415"] {
                assert_eq!(
                    responses.contains_key(status),
                    has_body,
                    "{id}: {status} is documented exactly when there is a body"
                );
            }
            if method == "get" {
                for status in ["409", "412"] {
                    assert!(!responses.contains_key(status), "{id} documents {status}");
                }
            }
            if method != "get" {
                assert!(!responses.contains_key("304"), "{id} documents 304");
            }
            if path.starts_with("/scim/") {
                if let Some(content) = op["requestBody"]["content"].as_object() {
                    let types: Vec<_> = content.keys().collect();
                    assert_eq!(types, ["application/scim+json"], "{id}");
                    let says = op["requestBody"]["description"]
                        .as_str()
                        .unwrap_or_default();
                    assert!(says.contains("`application/json` is accepted"), "{id}");
                }
                for (status, response) in responses {
                    if let Some(content) = response["content"].as_object() {
                        let types: Vec<_> = content.keys().collect();
                        assert_eq!(types, ["application/scim+json"], "{id} {status}");
                    }
                }
                for status in ["401", "429", "500"] {
                    let error = &responses[status]["content"]["application/scim+json"];
                    assert!(error.is_object(), "{id} does not document {status} as SCIM");
                }
            }
        }
    }
    assert!(operations >= 13, "{operations}");
}

#[test]
fn every_schema_property_is_described() {
    let spec: serde_json::Value = serde_json::from_str(&server::openapi_spec()).unwrap();
    let mut missing = Vec::new();
    for (name, schema) in spec["components"]["schemas"].as_object().unwrap() {
        for (property, definition) in schema["properties"].as_object().into_iter().flatten() {
            // A reference is described by the schema it names.
            let definition = match definition["$ref"].as_str() {
                Some(reference) => {
                    let target = reference.trim_start_matches("#/components/schemas/");
                    &spec["components"]["schemas"][target]
                }
                None => definition,
            };
            let described = definition["description"]
                .as_str()
                .is_some_and(|d| !d.is_empty());
            if !described {
                missing.push(format!("{name}.{property}"));
            }
        }
    }
    assert!(missing.is_empty(), "undocumented fields: {missing:?}");
}

/// A doc comment on a field whose type has a schema of its own made poem-openapi write
/// `allOf: [{$ref}, {description}]`: openapi-python-client then dropped the whole schema
/// ("Cannot take allOf a non-object") and openapi-typescript typed it `X & unknown`.
/// Such fields take a `//` comment; the referenced type's doc comment describes them.
#[test]
fn no_schema_is_an_allof_with_a_bare_description() {
    fn walk(value: &serde_json::Value, at: &str, found: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(parts) = map.get("allOf").and_then(|a| a.as_array())
                    && parts.iter().any(|part| {
                        part.as_object()
                            .is_some_and(|p| p.keys().all(|k| k == "description"))
                    })
                {
                    found.push(at.to_owned());
                }
                for (key, child) in map {
                    walk(child, &format!("{at}/{key}"), found);
                }
            }
            serde_json::Value::Array(items) => {
                for (n, child) in items.iter().enumerate() {
                    walk(child, &format!("{at}/{n}"), found);
                }
            }
            _ => {}
        }
    }
    let spec: serde_json::Value = serde_json::from_str(&server::openapi_spec()).unwrap();
    let mut found = Vec::new();
    walk(&spec, "", &mut found);
    assert!(
        found.is_empty(),
        "give these fields a // comment: {found:#?}"
    );
}
