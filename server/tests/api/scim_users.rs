use poem::http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PUBLIC_URL, TestApp, assert_scim_error, json_of, user};

on_every_backend!(
    entra_create_read_filter_delete,
    user_names_are_unique_regardless_of_case,
    bad_bodies_are_rejected_and_change_nothing,
    paging_and_sorting,
    filters_compile_to_sql,
    replace_and_etags,
    deactivated_users_stay_readable,
    projection,
    tenants_see_only_their_own_users,
    parallel_creates_of_one_user_name,
);

/// The create request of Microsoft's "Develop and plan provisioning for a SCIM endpoint"
/// tutorial, with Entra's extras (enterprise schema listed, `meta`, empty `roles`).
fn entra_user() -> Value {
    json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
        "active": true,
        "emails": [{ "primary": true, "type": "work", "value": "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com" }],
        "meta": { "resourceType": "User" },
        "name": { "formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName" },
        "roles": []
    })
}

async fn entra_create_read_filter_delete(app: TestApp) {
    let scim = app.scim("Acme").await;
    let resp = scim.post("/Users", &entra_user()).await;
    resp.assert_status(StatusCode::CREATED);
    resp.assert_content_type("application/scim+json");
    let location = resp.0.headers()["Location"].to_str().unwrap().to_owned();
    let etag = resp.0.headers()["ETag"].to_str().unwrap().to_owned();
    let created = json_of(resp).await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        location,
        format!("{PUBLIC_URL}/scim/{}/v2/Users/{id}", scim.tenant)
    );
    assert_eq!(created["meta"]["location"], json!(location));
    assert_eq!(created["meta"]["resourceType"], "User");
    assert_eq!(created["meta"]["version"], json!(etag));
    assert_eq!(
        created["userName"],
        "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1"
    );
    assert_eq!(
        created["externalId"],
        "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"
    );
    assert_eq!(created["name"]["givenName"], "givenName");
    assert_eq!(created["emails"][0]["type"], "work");
    assert_eq!(
        created["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:User"])
    );
    assert!(
        created.get("roles").is_none(),
        "empty arrays are not stored"
    );
    assert!(!created.to_string().contains("null"));

    let resp = scim.get(&format!("/Users/{id}")).await;
    resp.assert_status_is_ok();
    resp.assert_header("ETag", etag.as_str());
    assert_eq!(json_of(resp).await, created);

    // Entra's matching query, form-encoded with `+` for spaces, in another case.
    let query = "/Users?filter=userName+eq+%22test_user_AB6490EE-1e48-479e-a20b-2d77186b5dd1%22";
    let resp = scim.get(query).await;
    resp.assert_status_is_ok();
    let list = json_of(resp).await;
    assert_eq!(
        list["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
    );
    assert_eq!(list["totalResults"], 1);
    assert_eq!(list["startIndex"], 1);
    assert_eq!(list["itemsPerPage"], 1);
    assert_eq!(list["Resources"][0]["id"], json!(id));
    assert_eq!(
        scim.ids("/Users?filter=externalId%20eq%20%220a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef%22")
            .await,
        vec![id]
    );

    // "Test connection": a random GUID answers an empty list, not 404.
    let resp = scim
        .get("/Users?filter=userName+eq+%227b4a2d5e-0000-4000-8000-1234567890ab%22")
        .await;
    resp.assert_status_is_ok();
    let empty = json_of(resp).await;
    assert_eq!(empty["totalResults"], 0);
    assert_eq!(empty["Resources"], json!([]));
    // Okta's connection test.
    scim.get("/Users?startIndex=1&count=2")
        .await
        .assert_status_is_ok();
    // Entra appends its feature flag to the tenant URL; it changes nothing here.
    let flagged = json_of(
        scim.get(&format!("/Users?aadOptscim062020&{}", &query[7..]))
            .await,
    )
    .await;
    assert_eq!(flagged["totalResults"], 1);

    scim.delete(&format!("/Users/{id}"))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    assert_scim_error(
        scim.get(&format!("/Users/{id}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_scim_error(
        scim.delete(&format!("/Users/{id}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

async fn user_names_are_unique_regardless_of_case(app: TestApp) {
    let scim = app.scim("Acme").await;
    scim.create_user(user("Alice@Example.com")).await;
    let body = assert_scim_error(
        scim.post("/Users", &user("alice@example.COM")).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(body["scimType"], "uniqueness");
    let bob = scim.create_user(user("bob@example.com")).await;
    let id = bob["id"].as_str().unwrap();
    let resp = scim
        .send("PUT", &format!("/Users/{id}"), &user("ALICE@example.com"))
        .await;
    let body = assert_scim_error(resp, StatusCode::CONFLICT).await;
    assert_eq!(body["scimType"], "uniqueness");
    let unchanged = json_of(scim.get(&format!("/Users/{id}")).await).await;
    assert_eq!(unchanged["userName"], "bob@example.com");
}

async fn bad_bodies_are_rejected_and_change_nothing(app: TestApp) {
    let scim = app.scim("Acme").await;
    for (body, scim_type) in [
        (json!({ "schemas": [] }), "invalidValue"),
        (json!({ "userName": 12 }), "invalidValue"),
        (
            json!({ "userName": "a", "active": "perhaps" }),
            "invalidValue",
        ),
        (json!({ "userName": "a", "emails": 5 }), "invalidValue"),
        (json!(["userName"]), "invalidSyntax"),
        // Longer than any index entry PostgreSQL keeps: refused, never a 500.
        (json!({ "userName": "x".repeat(3000) }), "invalidValue"),
        (
            json!({ "userName": "a", "externalId": "é".repeat(1500) }),
            "invalidValue",
        ),
        (
            json!({ "userName": "a", "emails": [{ "value": "y".repeat(2500) }] }),
            "invalidValue",
        ),
        // Longer than any index entry PostgreSQL keeps: refused, never a 500.
        (json!({ "userName": "x".repeat(3000) }), "invalidValue"),
        (
            json!({ "userName": "a", "externalId": "é".repeat(1500) }),
            "invalidValue",
        ),
        (
            json!({ "userName": "a", "emails": [{ "value": "y".repeat(2500) }] }),
            "invalidValue",
        ),
    ] {
        let body =
            assert_scim_error(scim.post("/Users", &body).await, StatusCode::BAD_REQUEST).await;
        assert_eq!(body["scimType"], scim_type, "{body}");
    }
    let resp = scim
        .app
        .client
        .post(scim.url("/Users"))
        .header("Authorization", format!("Bearer {}", scim.token))
        .content_type("application/scim+json")
        .body("{\"userName\": ")
        .send()
        .await;
    let body = assert_scim_error(resp, StatusCode::BAD_REQUEST).await;
    assert_eq!(body["scimType"], "invalidSyntax");
    let resp = scim
        .app
        .client
        .post(scim.url("/Users"))
        .header("Authorization", format!("Bearer {}", scim.token))
        .content_type("text/plain")
        .body("{\"userName\": \"x\"}")
        .send()
        .await;
    assert_scim_error(resp, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    let resp = scim.get("/Users").await;
    assert_eq!(json_of(resp).await["totalResults"], 0);
}

async fn paging_and_sorting(app: TestApp) {
    let scim = app.scim("Acme").await;
    let mut ids = Vec::new();
    for name in ["carol", "alice", "erin", "bob", "dave"] {
        ids.push(
            scim.create_user(user(name)).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(scim.ids("/Users").await, ids, "creation order by default");
    assert_eq!(
        scim.ids("/Users?startIndex=2&count=2").await,
        ids[1..3].to_vec()
    );
    assert_eq!(
        scim.ids("/Users?startIndex=0&count=1").await,
        ids[..1].to_vec()
    );
    assert_eq!(
        scim.ids("/Users?startIndex=-4&count=1").await,
        ids[..1].to_vec()
    );
    assert!(scim.ids("/Users?startIndex=6").await.is_empty());
    let resp = json_of(scim.get("/Users?startIndex=4&count=10").await).await;
    assert_eq!(
        (
            resp["totalResults"].clone(),
            resp["startIndex"].clone(),
            resp["itemsPerPage"].clone()
        ),
        (json!(5), json!(4), json!(2))
    );
    let only_total = json_of(scim.get("/Users?count=0").await).await;
    assert_eq!(only_total["totalResults"], 5);
    assert_eq!(only_total["Resources"], json!([]));

    let names = |list: Value| -> Vec<String> {
        list["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["userName"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(json_of(scim.get("/Users?sortBy=userName").await).await),
        ["alice", "bob", "carol", "dave", "erin"]
    );
    assert_eq!(
        names(
            json_of(
                scim.get("/Users?sortBy=userName&sortOrder=descending&count=2")
                    .await
            )
            .await
        ),
        ["erin", "dave"]
    );
    assert_eq!(
        names(
            json_of(
                scim.get("/Users?sortBy=userName&sortOrder=Descending&count=1")
                    .await
            )
            .await
        ),
        ["erin"],
        "sortOrder is read in any case"
    );
    assert_scim_error(
        scim.get("/Users?sortBy=userName&sortOrder=sideways").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let body = assert_scim_error(
        scim.get("/Users?sortBy=title").await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(body["scimType"], "invalidValue");
}

async fn filters_compile_to_sql(app: TestApp) {
    let scim = app.scim("Acme").await;
    let alice = scim
        .create_user(json!({
            "userName": "alice", "externalId": "ExT-1", "title": "Engineer", "active": true,
            "name": { "familyName": "O'Malley", "givenName": "Alice" },
            "emails": [{ "value": "alice@Example.com", "type": "work", "primary": true }, { "value": "al@home.org", "type": "home" }],
            "addresses": [{ "locality": "Budapest", "type": "work" }],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { "employeeNumber": "701", "manager": { "value": "boss" } }
        }))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let bob = scim
        .create_user(json!({
            "userName": "bob", "active": false, "userType": "Intern",
            "emails": [{ "value": "bob@example.org", "type": "work" }]
        }))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let both = vec![alice.clone(), bob.clone()];
    let cases: Vec<(&str, Vec<String>)> = vec![
        (r#"userName eq "ALICE""#, vec![alice.clone()]),
        (r#"USERNAME Eq "bob""#, vec![bob.clone()]),
        (r#"userName sw "a""#, vec![alice.clone()]),
        (r#"userName ew "OB""#, vec![bob.clone()]),
        (r#"userName co "l""#, vec![alice.clone()]),
        (r#"userName ne "alice""#, vec![bob.clone()]),
        (r#"userName gt "alice""#, vec![bob.clone()]),
        (r#"externalId eq "ExT-1""#, vec![alice.clone()]),
        (r#"externalId eq "ext-1""#, vec![]),
        (r#"externalId sw "ExT""#, vec![alice.clone()]),
        (r#"externalId sw "ext""#, vec![]),
        (r#"externalId ew "-1""#, vec![alice.clone()]),
        ("externalId pr", vec![alice.clone()]),
        ("title pr", vec![alice.clone()]),
        (r#"title eq "engineer""#, vec![alice.clone()]),
        (r#"name.familyName co "o'mal""#, vec![alice.clone()]),
        ("active eq false", vec![bob.clone()]),
        ("active eq true", vec![alice.clone()]),
        (r#"emails co "example.org""#, vec![bob.clone()]),
        (r#"emails.value co "EXAMPLE""#, both.clone()),
        (
            r#"emails[type eq "work" and value co "@example.com"]"#,
            vec![alice.clone()],
        ),
        (r#"emails[type eq "home"]"#, vec![alice.clone()]),
        // Entra matching on emails[type eq "work"].value.
        (
            r#"emails[type eq "work"].value eq "ALICE@example.com""#,
            vec![alice.clone()],
        ),
        ("emails[primary eq true]", vec![alice.clone()]),
        (r#"emails.type eq "work""#, both.clone()),
        (r#"addresses[locality eq "budapest"]"#, vec![alice.clone()]),
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701""#,
            vec![alice.clone()],
        ),
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "boss""#,
            vec![alice.clone()],
        ),
        (
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "B""#,
            vec![bob.clone()],
        ),
        (
            r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
            vec![alice.clone()],
        ),
        (r#"userType eq "Intern" or title pr"#, both.clone()),
        (r#"userType eq "Intern" and title pr"#, vec![]),
        (r#"not (userName eq "alice")"#, vec![bob.clone()]),
        (
            r#"userName eq "alice" or (userName eq "bob" and active eq false)"#,
            both.clone(),
        ),
        (r#"meta.created gt "2000-01-01T00:00:00Z""#, both.clone()),
        (r#"meta.lastModified lt "2000-01-01T00:00:00Z""#, vec![]),
        (r#"userName eq "a%""#, vec![]),
        (r#"userName co "_""#, vec![]),
    ];
    for (filter, expected) in cases {
        let path = format!("/Users?sortBy=userName&filter={}", urlencode(filter));
        assert_eq!(scim.ids(&path).await, expected, "{filter}");
    }
    for bad in [
        r#"password eq "x""#,
        "userName eq",
        r#"emails[nope eq "x"]"#,
        "active gt true",
        r#"meta.created gt "soon""#,
    ] {
        let body = assert_scim_error(
            scim.get(&format!("/Users?filter={}", urlencode(bad))).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert_eq!(body["scimType"], "invalidFilter", "{bad}");
    }

    let resp = scim
        .post(
            "/Users/.search",
            &json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "filter": "emails.type eq \"work\"",
                "sortBy": "userName", "sortOrder": "descending",
                "attributes": ["userName"], "count": 1
            }),
        )
        .await;
    resp.assert_status_is_ok();
    let found = json_of(resp).await;
    assert_eq!(found["totalResults"], 2);
    assert_eq!(
        found["Resources"],
        json!([{ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": bob, "userName": "bob" }])
    );
    // A search request's members are not attributes: `null` is refused, not "unassigned";
    // members it does not declare are ignored.
    let error = assert_scim_error(
        scim.post("/Users/.search", &json!({ "sortBy": null }))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(error["scimType"], "invalidSyntax");
    assert!(
        error["detail"].as_str().unwrap().starts_with("sortBy"),
        "{error}"
    );
    for body in [
        json!({ "attributes": ["userName", null] }),
        json!({ "attributes": [false] }),
        json!({ "sortBy": 7 }),
        json!({ "count": "many" }),
    ] {
        let error = assert_scim_error(
            scim.post("/Users/.search", &body).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert_eq!(error["scimType"], "invalidSyntax", "{body}");
    }
    let resp = scim
        .post("/Users/.search", &json!({ "count": 1, "x-unknown": null }))
        .await;
    resp.assert_status_is_ok();
}

pub fn urlencode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

async fn replace_and_etags(app: TestApp) {
    let scim = app.scim("Acme").await;
    let created = scim
        .create_user(json!({ "userName": "alice", "title": "Engineer", "nickName": "Al" }))
        .await;
    let id = created["id"].as_str().unwrap();
    let path = format!("/Users/{id}");
    let first = created["meta"]["version"].as_str().unwrap().to_owned();

    let resp = scim
        .app
        .client
        .get(scim.url(&path))
        .header("Authorization", format!("Bearer {}", scim.token))
        .header("If-None-Match", &first)
        .send()
        .await;
    resp.assert_status(StatusCode::NOT_MODIFIED);

    let resp = scim
        .send(
            "PUT",
            &path,
            &json!({ "userName": "alice", "title": "Manager", "id": "ignored" }),
        )
        .await;
    resp.assert_status_is_ok();
    let second = resp.0.headers()["ETag"].to_str().unwrap().to_owned();
    assert_ne!(first, second);
    let replaced = json_of(resp).await;
    assert_eq!(replaced["id"], json!(id));
    assert_eq!(replaced["title"], "Manager");
    assert!(
        replaced.get("nickName").is_none(),
        "PUT clears what it omits"
    );
    assert_eq!(replaced["meta"]["created"], created["meta"]["created"]);

    let stale = scim
        .app
        .client
        .put(scim.url(&path))
        .header("Authorization", format!("Bearer {}", scim.token))
        .header("If-Match", &first)
        .content_type("application/scim+json")
        .body(json!({ "userName": "alice", "title": "CEO" }).to_string())
        .send()
        .await;
    assert_scim_error(stale, StatusCode::PRECONDITION_FAILED).await;
    let fresh = scim
        .app
        .client
        .put(scim.url(&path))
        .header("Authorization", format!("Bearer {}", scim.token))
        .header("If-Match", &second)
        .content_type("application/scim+json")
        .body(json!({ "userName": "alice", "title": "CEO" }).to_string())
        .send()
        .await;
    fresh.assert_status_is_ok();
    let stale_delete = scim
        .app
        .client
        .delete(scim.url(&path))
        .header("Authorization", format!("Bearer {}", scim.token))
        .header("If-Match", &second)
        .send()
        .await;
    assert_scim_error(stale_delete, StatusCode::PRECONDITION_FAILED).await;
    assert_eq!(json_of(scim.get(&path).await).await["title"], "CEO");
    assert_scim_error(
        scim.send("PUT", "/Users/nope", &user("x")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

async fn deactivated_users_stay_readable(app: TestApp) {
    let scim = app.scim("Acme").await;
    let created = scim
        .create_user(json!({ "userName": "alice", "active": "True" }))
        .await;
    assert_eq!(created["active"], true);
    let id = created["id"].as_str().unwrap();
    let resp = scim
        .send(
            "PUT",
            &format!("/Users/{id}"),
            &json!({ "userName": "alice", "active": "False" }),
        )
        .await;
    resp.assert_status_is_ok();
    let got = json_of(scim.get(&format!("/Users/{id}")).await).await;
    assert_eq!(got["active"], false);
    assert_eq!(
        scim.ids("/Users?filter=userName%20eq%20%22alice%22").await,
        vec![id.to_owned()]
    );
}

async fn projection(app: TestApp) {
    let scim = app.scim("Acme").await;
    let created = scim
        .create_user(json!({ "userName": "alice", "title": "Engineer", "name": { "givenName": "A", "familyName": "B" } }))
        .await;
    let id = created["id"].as_str().unwrap();
    let only = json_of(
        scim.get(&format!("/Users/{id}?attributes=userName,name.givenName"))
            .await,
    )
    .await;
    assert_eq!(
        only,
        json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": id, "userName": "alice", "name": { "givenName": "A" } })
    );
    let without = json_of(
        scim.get(&format!("/Users/{id}?excludedAttributes=title,meta"))
            .await,
    )
    .await;
    assert!(without.get("title").is_none() && without.get("meta").is_none());
    assert_eq!(without["userName"], "alice");
    let list = json_of(scim.get("/Users?attributes=id").await).await;
    assert_eq!(
        list["Resources"][0],
        json!({ "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": id })
    );
}

async fn tenants_see_only_their_own_users(app: TestApp) {
    let acme = app.scim("Acme").await;
    let globex = app.scim("Globex").await;
    let alice = acme.create_user(user("alice")).await;
    let id = alice["id"].as_str().unwrap();
    globex.create_user(user("alice")).await;
    assert_scim_error(
        globex.get(&format!("/Users/{id}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_scim_error(
        globex
            .send("PUT", &format!("/Users/{id}"), &user("mallory"))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_scim_error(
        globex.delete(&format!("/Users/{id}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(json_of(globex.get("/Users").await).await["totalResults"], 1);
    assert!(
        globex
            .ids(&format!("/Users?filter=id%20eq%20%22{id}%22"))
            .await
            .is_empty()
    );
    assert_eq!(
        json_of(acme.get(&format!("/Users/{id}")).await).await["userName"],
        "alice"
    );
    // Acme's token on Globex's URL is refused outright.
    let resp = app
        .client
        .get(format!("/scim/{}/v2/Users/{id}", globex.tenant))
        .header("Authorization", format!("Bearer {}", acme.token))
        .send()
        .await;
    assert_scim_error(resp, StatusCode::UNAUTHORIZED).await;
}

async fn parallel_creates_of_one_user_name(app: TestApp) {
    let scim = app.scim("Acme").await;
    let statuses = futures_util::future::join_all((0..8).map(|i| {
        let body = user(if i % 2 == 0 {
            "Race@Example.com"
        } else {
            "race@example.com"
        });
        let scim = &scim;
        async move { scim.post("/Users", &body).await.0.status() }
    }))
    .await;
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let conflicts = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((created, conflicts), (1, 7), "{statuses:?}");
    assert_eq!(json_of(scim.get("/Users").await).await["totalResults"], 1);
}
