//! Followers of the events table handle every event once, in order, on one
//! node at a time, with their effects committed together with their position.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use hark_app::{App, AppResult, CredentialSealer, LabelInput};
use hark_domain::Event;
use hark_jobs::follow::{EventHandler, follow_once};
use hark_jobs::{WorkerConfig, Workers};
use hark_store::Write;
use hark_store::testing;

/// Records, as a label, the id of every `label.created` event it sees.
struct Echo;

impl EventHandler for Echo {
    fn name(&self) -> &'static str {
        "echo"
    }

    fn handle<'a>(
        &'a self,
        _: &'a Workers,
        events: &'a [Event],
    ) -> Pin<Box<dyn Future<Output = AppResult<Vec<Write>>> + Send + 'a>> {
        Box::pin(async move {
            Ok(events
                .iter()
                .filter(|e| e.kind == "label.created")
                .map(|e| {
                    Write::InsertLabel(hark_domain::Label {
                        id: format!("seen_{}", e.id),
                        workspace_id: e.workspace_id.clone(),
                        name: format!("seen {}", e.id),
                        color: "#000000".into(),
                        description: String::new(),
                    })
                })
                .collect())
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_event_is_handled_once_by_whichever_node_holds_the_follower() {
    for t in testing::all().await {
        let app = App::new(t.store.clone(), CredentialSealer::new(&[7u8; 32]));
        let ws = app.create_workspace("Acme", "UTC").await.unwrap_or_else(|e| panic!("{e}"));
        let system = hark_app::Actor::system(&ws.id);
        for name in ["a", "b", "c"] {
            let input = LabelInput { name: name.into(), color: "#112233".into(), description: String::new() };
            app.create_label(&system, input).await.unwrap_or_else(|e| panic!("{e}"));
        }
        hark_channels::http::install_crypto_provider();
        let intake = hark_app::intake::Intake::start(t.store.clone());
        let node = |n: &str| {
            let mut w =
                Workers::new(app.clone(), hark_channels::http::client(), intake.clone(), WorkerConfig::default());
            w.node_id = n.into();
            w
        };
        let (a, b) = (node("node-a"), node("node-b"));
        let handler: Arc<dyn EventHandler> = Arc::new(Echo);
        assert!(follow_once(&a, handler.as_ref()).await.unwrap_or(0) >= 3);
        assert_eq!(follow_once(&b, handler.as_ref()).await.ok(), Some(0), "node b waits while a holds it");
        assert_eq!(follow_once(&a, handler.as_ref()).await.ok(), Some(0), "nothing new");
        let seen = |labels: Vec<hark_domain::Label>| labels.iter().filter(|l| l.name.starts_with("seen ")).count();
        assert_eq!(seen(app.store.labels(&ws.id).await.unwrap_or_default()), 3, "{}", t.name);
        app.create_label(&system, LabelInput { name: "d".into(), color: "#112233".into(), description: String::new() })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(follow_once(&a, handler.as_ref()).await.ok(), Some(1));
        assert_eq!(seen(app.store.labels(&ws.id).await.unwrap_or_default()), 4);
    }
}
