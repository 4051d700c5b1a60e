//! The committed OpenAPI document is what the code generates, and it is complete.

use serde_json::Value;

#[test]
fn committed_openapi_document_matches_the_code() {
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .expect("openapi/openapi.json is committed");
    let generated = firmenportal::openapi::document_json();
    assert!(
        committed == generated,
        "openapi/openapi.json is stale: run `cargo run -- openapi > openapi/openapi.json`"
    );
}

#[test]
fn operation_ids_are_unique_for_generated_clients() {
    let doc: Value = serde_json::from_str(&firmenportal::openapi::document_json()).unwrap();
    let mut seen = std::collections::HashSet::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for operation in item.as_object().unwrap().values() {
            let id = operation["operationId"].as_str().expect("operationId");
            assert!(seen.insert(id.to_string()), "operationId {id} twice");
        }
    }
}

#[test]
fn every_reference_names_a_component() {
    fn references(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    found.push(target.clone());
                }
                map.values().for_each(|v| references(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| references(v, found)),
            _ => {}
        }
    }
    let doc: Value = serde_json::from_str(&firmenportal::openapi::document_json()).unwrap();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let mut found = Vec::new();
    references(&doc, &mut found);
    assert!(found.len() > 50, "the document references its schemas");
    for target in found {
        let name = target
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected reference {target}"));
        assert!(schemas.contains_key(name), "{target} is not defined");
    }
}

#[test]
fn every_operation_is_documented() {
    let doc: Value = serde_json::from_str(&firmenportal::openapi::document_json()).unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let name = format!("{method} {path}");
            assert!(
                op["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{name}: summary"
            );
            assert!(
                op["description"].as_str().is_some_and(|s| !s.is_empty()),
                "{name}: description"
            );
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{name}: tags"
            );
            let responses = op["responses"].as_object().unwrap();
            assert!(!responses.is_empty(), "{name}: responses");
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    let problem = &response["content"]["application/problem+json"];
                    assert!(problem.is_object(), "{name} {status}: problem+json");
                    // Every documented error comes with an example of its exact answer.
                    let examples = problem["examples"].as_object();
                    assert!(
                        examples.is_some_and(|e| !e.is_empty()),
                        "{name} {status}: examples"
                    );
                    for example in examples.unwrap().values() {
                        assert_eq!(
                            example["value"]["status"].to_string(),
                            *status,
                            "{name} {status}: example status"
                        );
                    }
                }
            }
            for status in ["500", "503"] {
                assert!(responses.contains_key(status), "{name}: {status}");
            }
            if op["security"].is_array() {
                assert!(
                    responses.contains_key("401"),
                    "{name}: 401 on a secured operation"
                );
            }
            if op.get("requestBody").is_some() {
                for status in ["400", "413", "415", "422"] {
                    assert!(responses.contains_key(status), "{name}: {status}");
                }
            }
            if responses.contains_key("429") {
                assert!(
                    responses["429"]["headers"]["Retry-After"].is_object(),
                    "{name}: Retry-After"
                );
            }
            if path.starts_with("/api/v1/me") {
                assert!(op["security"].is_array(), "{name}: bearer security");
            }
        }
    }
}

#[test]
fn every_schema_and_field_has_a_description_and_an_example() {
    let doc: Value = serde_json::from_str(&firmenportal::openapi::document_json()).unwrap();
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        assert!(
            schema["description"]
                .as_str()
                .is_some_and(|s| !s.is_empty()),
            "{name}: description"
        );
        if let Some(properties) = schema["properties"].as_object() {
            for (field, property) in properties {
                let described = property["description"].is_string()
                    || property["allOf"].is_array()
                    || property["oneOf"][0]["description"].is_string()
                    || property["$ref"].is_string()
                    || property["items"].is_object();
                assert!(described, "{name}.{field}: description");
                let exemplified = property.get("example").is_some()
                    || property.get("examples").is_some()
                    || property["items"].is_object()
                    || property["$ref"].is_string()
                    || property["oneOf"][0]["$ref"].is_string();
                assert!(exemplified, "{name}.{field}: example");
            }
        }
    }
}

#[test]
fn request_fields_promise_no_defaults_and_required_ones_are_never_null() {
    let doc: Value = serde_json::from_str(&firmenportal::openapi::document_json()).unwrap();
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        let Some(properties) = schema["properties"].as_object() else {
            continue;
        };
        let required: Vec<&str> = schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for (field, property) in properties {
            if name.ends_with("Request") {
                assert!(
                    property.get("default").is_none(),
                    "{name}.{field}: a default tells clients the field may be left out"
                );
            }
            if required.contains(&field.as_str()) && name.ends_with("Request") {
                let nullable = property["type"]
                    .as_array()
                    .is_some_and(|types| types.contains(&Value::from("null")))
                    || property["oneOf"].is_array();
                assert!(
                    !nullable && (property["type"].is_string() || property["$ref"].is_string()),
                    "{name}.{field}: a required field is never null"
                );
            }
        }
    }
    // The rules the server enforces on the shared fields are stated.
    let register = &doc["components"]["schemas"]["RegisterRequest"]["properties"];
    assert_eq!(register["email"]["format"], "email");
    assert_eq!(register["password"]["minLength"], 10);
    assert_eq!(register["password"]["maxLength"], 128);
    // Every person's name a request takes carries the pattern the server enforces, so a
    // fuzzer's or generated client's valid name is one the server takes.
    let mut names = Vec::new();
    for schema in request_schemas(&doc) {
        for (field, property) in doc["components"]["schemas"][&schema]["properties"]
            .as_object()
            .into_iter()
            .flatten()
        {
            if field == "first_name" || field == "last_name" {
                assert_eq!(
                    property["pattern"],
                    firmenportal::domain::name::NAME_PATTERN,
                    "{schema}.{field}"
                );
                names.push(format!("{schema}.{field}"));
            }
        }
    }
    for expected in [
        "RegisterRequest.first_name",
        "UpdateAccountRequest.last_name",
        "InviteRequest.first_name",
        "InviteRequest.last_name",
        "HolderInput.first_name",
        "LinkRequest.last_name",
        "NewCustomerRequest.first_name",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    let login = &doc["components"]["schemas"]["LoginRequest"]["properties"];
    assert_eq!(login["password"]["maxLength"], 128);
    for (schema, field) in [
        ("NewCompanyRequest", "name"),
        ("AddressInput", "street"),
        ("AddressInput", "city"),
        ("NewContractRequest", "product_offering"),
        ("NewSubscriptionRequest", "product"),
        ("UpdateHolderRequest", "recipient"),
        ("ContactInput", "name"),
    ] {
        assert_eq!(
            doc["components"]["schemas"][schema]["properties"][field]["pattern"],
            firmenportal::domain::text::LINE_PATTERN,
            "{schema}.{field}"
        );
    }
    for (schema, field) in [
        ("NewCompanyRequest", "customer_number"),
        ("NewCustomerRequest", "customer_number"),
        ("NewContractRequest", "contract_number"),
        ("NewSubscriptionRequest", "chip_card_number"),
    ] {
        let property = &doc["components"]["schemas"][schema]["properties"][field];
        assert_eq!(
            property["pattern"],
            firmenportal::domain::RecordNumber::PATTERN,
            "{schema}.{field}"
        );
        assert_eq!(
            property["maxLength"],
            firmenportal::domain::RecordNumber::MAX_CHARS,
            "{schema}.{field}"
        );
    }
    for (schema, field) in [
        ("NewContractRequest", "valid_from"),
        ("NewCustomerRequest", "birth_date"),
    ] {
        assert_eq!(
            doc["components"]["schemas"][schema]["properties"][field]["pattern"],
            firmenportal::domain::date::DATE_PATTERN,
            "{schema}.{field}"
        );
    }
}

/// The schemas a request body may hold: those its `requestBody` names, and every schema
/// they reference, transitively.
fn request_schemas(doc: &Value) -> std::collections::BTreeSet<String> {
    fn references(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref")
                    && let Some(name) = target.strip_prefix("#/components/schemas/")
                {
                    found.push(name.to_string());
                }
                map.values().for_each(|v| references(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| references(v, found)),
            _ => {}
        }
    }
    let mut pending = Vec::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for operation in item.as_object().unwrap().values() {
            references(&operation["requestBody"], &mut pending);
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    while let Some(name) = pending.pop() {
        if seen.insert(name.clone()) {
            references(&doc["components"]["schemas"][&name], &mut pending);
        }
    }
    seen
}
