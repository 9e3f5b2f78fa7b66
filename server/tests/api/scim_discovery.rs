use poem::http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PUBLIC_URL, TestApp, assert_scim_error, json_of};

on_every_backend!(schemas_and_resource_types);

fn attribute<'a>(schema: &'a Value, name: &str) -> &'a Value {
    schema["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .unwrap()
}

async fn schemas_and_resource_types(app: TestApp) {
    let scim = app.scim("Acme").await;
    let resp = scim.get("/Schemas").await;
    resp.assert_status_is_ok();
    resp.assert_content_type("application/scim+json");
    let list = json_of(resp).await;
    assert!(!list.to_string().contains("null"), "no nulls anywhere");
    assert_eq!(
        list["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
    );
    assert_eq!(list["totalResults"], 3);
    let ids: Vec<_> = list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:core:2.0:Group",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ]
    );
    let user = &list["Resources"][0];
    let user_name = attribute(user, "userName");
    assert_eq!(
        (
            &user_name["required"],
            &user_name["caseExact"],
            &user_name["uniqueness"],
            &user_name["mutability"],
            &user_name["type"]
        ),
        (
            &json!(true),
            &json!(false),
            &json!("server"),
            &json!("readWrite"),
            &json!("string")
        )
    );
    assert_eq!(attribute(user, "groups")["mutability"], "readOnly");
    assert_eq!(attribute(user, "emails")["multiValued"], true);
    let email_type = attribute(user, "emails")["subAttributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "type")
        .unwrap()
        .clone();
    assert_eq!(
        email_type["canonicalValues"],
        json!(["work", "home", "other"])
    );
    assert_eq!(attribute(user, "active")["type"], "boolean");
    assert!(
        user["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["name"] != "password"),
        "we announce no password"
    );
    let group = &list["Resources"][1];
    assert_eq!(attribute(group, "displayName")["uniqueness"], "server");
    let manager = attribute(&list["Resources"][2], "manager");
    assert_eq!(manager["type"], "complex");

    let one = json_of(
        scim.get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group")
            .await,
    )
    .await;
    assert_eq!(&one, group);
    assert_eq!(
        one["meta"]["location"],
        format!(
            "{PUBLIC_URL}/scim/{}/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group",
            scim.tenant
        )
    );
    assert_scim_error(
        scim.get("/Schemas/urn:example:nope").await,
        StatusCode::NOT_FOUND,
    )
    .await;

    let types = json_of(scim.get("/ResourceTypes").await).await;
    assert_eq!(types["totalResults"], 2);
    let user_type = json_of(scim.get("/ResourceTypes/User").await).await;
    assert_eq!(user_type["endpoint"], "/Users");
    assert_eq!(
        user_type["schema"],
        "urn:ietf:params:scim:schemas:core:2.0:User"
    );
    assert_eq!(
        user_type["schemaExtensions"][0]["schema"],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    );
    assert_eq!(
        json_of(scim.get("/ResourceTypes/Group").await).await["endpoint"],
        "/Groups"
    );
    assert_scim_error(
        scim.get("/ResourceTypes/Device").await,
        StatusCode::NOT_FOUND,
    )
    .await;

    for path in ["/Schemas", "/ResourceTypes", "/ServiceProviderConfig"] {
        let resp = scim.post(path, &json!({})).await;
        assert_eq!(resp.0.headers()["Allow"], "GET", "{path}");
        assert_scim_error(resp, StatusCode::METHOD_NOT_ALLOWED).await;
        assert_scim_error(scim.delete(path).await, StatusCode::METHOD_NOT_ALLOWED).await;
    }
    assert_scim_error(scim.get("/Bulk").await, StatusCode::NOT_FOUND).await;
    assert_scim_error(scim.get("/Me").await, StatusCode::NOT_FOUND).await;
}
