//! Auth modes: any, bearer, audience.

mod common;

use base64::Engine;
use common::*;
use sessions_emulator::AuthMode;

fn jwt(aud: &str) -> String {
    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.c2ln",
        e.encode(r#"{"alg":"RS256","typ":"JWT"}"#),
        e.encode(format!(r#"{{"aud":"{aud}","exp":4102444800}}"#))
    )
}

fn list_url() -> String {
    format!(".management/listSessions?api-version={V_LEGACY}")
}

#[tokio::test]
async fn any_mode_accepts_with_and_without_token() {
    let mut emu = start(builder()).await;
    assert_eq!(emu.post_empty(&list_url()).await.status, 200);
    emu.token = Some("whatever".into());
    assert_eq!(emu.post_empty(&list_url()).await.status, 200);
    emu.stop().await;
}

#[tokio::test]
async fn bearer_mode_requires_a_token() {
    let mut emu = start(builder().auth(AuthMode::Bearer)).await;
    let r = emu.post_empty(&list_url()).await;
    r.assert_error(401, "Unauthorized");
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    insta::assert_json_snapshot!("error_unauthorized", r.json());
    let r = emu
        .send(
            http::Method::POST,
            &list_url(),
            &[("authorization", "Basic abc")],
            Vec::new(),
        )
        .await;
    r.assert_error(401, "Unauthorized");
    emu.token = Some("opaque-token".into());
    assert_eq!(emu.post_empty(&list_url()).await.status, 200);
    emu.stop().await;
}

#[tokio::test]
async fn audience_mode_checks_aud() {
    let mut emu = start(builder().auth(AuthMode::Audience)).await;
    emu.post_empty(&list_url())
        .await
        .assert_error(401, "Unauthorized");
    emu.token = Some("not-a-jwt".into());
    emu.post_empty(&list_url())
        .await
        .assert_error(401, "Unauthorized");
    emu.token = Some(jwt("https://management.azure.com"));
    emu.post_empty(&list_url())
        .await
        .assert_error(401, "Unauthorized");
    for aud in ["https://dynamicsessions.io", "https://acasessions.io"] {
        emu.token = Some(jwt(aud));
        assert_eq!(emu.post_empty(&list_url()).await.status, 200);
    }
    emu.stop().await;
}
