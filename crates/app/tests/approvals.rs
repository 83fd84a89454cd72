//! Why a person's replies would wait for a supervisor, as the composer says
//! before anything is written: the channel's policy for their role, or a
//! rule that asked for approval in that conversation.

mod common;

use common::{conversation_of, inbound, person, workspace_with_channel};
use hark_app::*;
use hark_domain::permissions::{ApprovalReason, PublishPolicy};
use hark_domain::*;
use hark_store::{AutomationWrite, Write};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_composer_knows_whether_and_why_replies_wait() {
    let db = hark_store::testing::sqlite().await;
    let (app, system, channel) = workspace_with_channel(db.store.clone(), Network::Telegram).await;
    let trainee = &person(&app, &system, "tia@acme.test", Role::Trainee).await;
    let agent = &person(&app, &system, "abe@acme.test", Role::Agent).await;
    let supervisor = &person(&app, &system, "sue@acme.test", Role::Supervisor).await;
    let item = inbound(&channel.id, "42", "1", None, "where is my bag");
    let (conversation_id, _) = conversation_of(&app.ingest(item).await.unwrap_or_else(|e| panic!("{e}")));
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
            workspace_id: channel.workspace_id.clone(),
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
