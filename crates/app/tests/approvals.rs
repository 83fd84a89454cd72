//! Why a person's replies would wait for a supervisor, as the composer says
//! before anything is written: the channel's policy for their role, or a
//! rule that asked for approval in that conversation.

use hark_app::*;
use hark_domain::permissions::{ApprovalReason, PublishPolicy};
use hark_domain::*;
use hark_store::{AutomationWrite, Write};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_composer_knows_whether_and_why_replies_wait() {
    let db = hark_store::testing::sqlite().await;
    let app = App::new(db.store.clone(), CredentialSealer::new(&[6u8; 32]));
    let ws = app.create_workspace("Acme", "UTC").await.unwrap_or_else(|e| panic!("{e}"));
    let system = Actor::system(&ws.id);
    let person = |email: &str, role: Role| UserCreate {
        email: email.into(),
        name: email.into(),
        role,
        password: "long enough password".into(),
        locale: "en".into(),
    };
    let mut actors = vec![];
    for (email, role) in
        [("tia@acme.test", Role::Trainee), ("abe@acme.test", Role::Agent), ("sue@acme.test", Role::Supervisor)]
    {
        let user = app.create_user(&system, person(email, role)).await.unwrap_or_else(|e| panic!("{e}"));
        actors.push(Actor { user, via: ActorVia::Session });
    }
    let [trainee, agent, supervisor] = [&actors[0], &actors[1], &actors[2]];
    let channel = app
        .create_channel(
            &system,
            ChannelCreate {
                network: Network::Telegram,
                name: "Telegram".into(),
                handle: "acme_bot".into(),
                external_id: "1".into(),
                credentials: None,
                settings: json!({}),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let item = InboundItem {
        channel_id: channel.id.clone(),
        kind: ConversationKind::Private,
        platform_message_id: "1".into(),
        platform_thread_id: None,
        platform_parent_id: None,
        author: InboundAuthor { platform_user_id: "42".into(), handle: "ana".into(), display_name: "Ana".into() },
        text: "where is my bag".into(),
        attachments: vec![],
        created_at: jiff::Timestamp::now(),
        language: None,
        sentiment: None,
        intent: None,
        personal_data: vec![],
    };
    let IngestOutcome::Created { conversation_id, .. } = app.ingest(item).await.unwrap_or_else(|e| panic!("{e}"))
    else {
        panic!("not stored")
    };
    let conversation =
        || async { app.store.conversation(&conversation_id).await.ok().flatten().unwrap_or_else(|| panic!()) };
    let why = |actor: &Actor| {
        let actor = actor.clone();
        let app = app.clone();
        let conversation = conversation();
        async move { app.why_replies_wait(&actor, &conversation.await).await.unwrap_or_else(|e| panic!("{e}")) }
    };

    // By default only trainees wait, because of the channel's policy.
    assert_eq!(why(trainee).await, Some(ApprovalReason::Channel));
    assert_eq!(why(agent).await, None);
    assert_eq!(why(supervisor).await, None);

    // A rule asks for approval here: agents wait too, supervisors approve.
    db.store
        .commit(vec![Write::Automation(AutomationWrite::PutApprovalHold {
            workspace_id: ws.id.clone(),
            conversation_id: conversation_id.clone(),
            reason: "rule: card numbers".into(),
            at: jiff::Timestamp::now(),
        })])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(why(trainee).await, Some(ApprovalReason::Channel));
    assert_eq!(why(agent).await, Some(ApprovalReason::Rule));
    assert_eq!(why(supervisor).await, None);

    // A channel where only supervisors publish holds agents by its policy.
    let policy = PublishPolicy { publish_roles: vec![Role::Owner, Role::Admin, Role::Supervisor] };
    app.put_publish_policy(&system, &channel.id, policy).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(why(agent).await, Some(ApprovalReason::Channel));
}
