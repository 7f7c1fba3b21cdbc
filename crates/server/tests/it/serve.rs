//! The server over a real TCP socket: keep-alive requests, then a graceful stop that shuts the
//! sink down.

use crate::support::{KEY_A, clicks, state_over_memory, two_sites};

#[tokio::test]
async fn serves_over_tcp_and_shuts_the_sink_down_on_stop() {
    let mut config = two_sites();
    config.listen = "127.0.0.1:0".parse().unwrap();
    let (state, sink) = state_over_memory(config);
    let listener = heatlake_server::bind(&state).await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(heatlake_server::serve(listener, state, async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    for batch in 0..3 {
        let reply = client
            .post(format!("http://{address}/v1/events"))
            .header("x-heatlake-key", KEY_A)
            .header("x-heatlake-batch", format!("tcp-{batch}"))
            .body(clicks("a.example", 4))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 200);
        assert_eq!(reply.text().await.unwrap(), r#"{"accepted":4}"#);
    }
    let ready = client
        .get(format!("http://{address}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    assert!(!sink.is_shut_down());
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    assert!(sink.is_shut_down());
    assert_eq!(sink.event_count(), 12);
    assert!(
        tokio::net::TcpStream::connect(address).await.is_err(),
        "the listener is closed"
    );
}
