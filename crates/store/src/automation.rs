//! Storage for automation: rules and their runs, what assignment knows about
//! people and teams, who may publish from each channel, conversations under
//! approval, and corrections of what Hark read in messages (docs/automation.md).
//!
//! Reads go through [`Automation`]; writes are [`AutomationWrite`]s inside
//! [`crate::Write::Automation`], so they commit with everything else.

use std::collections::HashMap;

use async_trait::async_trait;
use hark_domain::assignment::AgentProfile;
use hark_domain::permissions::PublishPolicy;
use hark_domain::rules::{ActionOutcome, Correction, Rule, RuleRun, SentAutoReply};
use hark_domain::{ConversationStatus, Message, Sentiment};
use jiff::Timestamp;

use crate::StoreResult;

/// One change to automation's tables.
#[derive(Debug, Clone)]
pub enum AutomationWrite {
    InsertRule(Rule),
    /// Updates name, enabled, position and definition.
    UpdateRule(Rule),
    DeleteRule {
        id: String,
    },
    /// Fails with `Duplicate` when the rule already ran for this event key:
    /// written before a rule's actions run, so they run at most once.
    InsertRuleRun(RuleRun),
    FinishRuleRun {
        id: String,
        actions: Vec<ActionOutcome>,
    },
    /// Remembers a conversation's status and assignee as the rules follower last saw them.
    PutRuleWatch(NewRuleWatch),
    PutAgentProfile {
        workspace_id: String,
        profile: AgentProfile,
        at: Timestamp,
    },
    /// Fails with `Conflict("capacity")` unless the user has fewer than
    /// `capacity` open or pending conversations. It locks the user's row
    /// first, so two nodes cannot both give away the last slot: put it in the
    /// same commit as the assignment.
    ReserveAgentSlot {
        user_id: String,
        capacity: u32,
    },
    SetAssignmentCursor {
        team_id: String,
        last_user_id: String,
        at: Timestamp,
    },
    PutPublishPolicy {
        workspace_id: String,
        channel_id: String,
        policy: PublishPolicy,
        at: Timestamp,
    },
    DeletePublishPolicy {
        channel_id: String,
    },
    /// Replies in the conversation wait for approval from now on.
    PutApprovalHold {
        workspace_id: String,
        conversation_id: String,
        reason: String,
        at: Timestamp,
    },
    DeleteApprovalHold {
        conversation_id: String,
    },
    /// Inserts or replaces the correction of one field of one message.
    PutCorrection(Correction),
    /// Sets what the message is read as (after a correction).
    SetMessageReading {
        message_id: String,
        sentiment: Option<Sentiment>,
        intent: Option<String>,
    },
}

/// The rules follower's memory of one conversation, to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRuleWatch {
    pub conversation_id: String,
    pub status: ConversationStatus,
    pub assignee_id: Option<String>,
    pub at: Timestamp,
}

/// What the rules follower last saw of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleWatch {
    pub status: ConversationStatus,
    pub assignee_id: Option<String>,
}

#[async_trait]
pub trait Automation: Send + Sync {
    /// A workspace's rules in the order they run.
    async fn rules(&self, workspace_id: &str) -> StoreResult<Vec<Rule>>;
    async fn rule(&self, id: &str) -> StoreResult<Option<Rule>>;
    /// The rule runs logged on a conversation, oldest first.
    async fn rule_runs(&self, conversation_id: &str) -> StoreResult<Vec<RuleRun>>;
    /// What the rules follower last saw of each of these conversations.
    async fn rule_watches(&self, conversation_ids: &[String]) -> StoreResult<HashMap<String, RuleWatch>>;
    async fn agent_profiles(&self, workspace_id: &str) -> StoreResult<Vec<AgentProfile>>;
    /// Open and pending conversations per assignee in a workspace.
    async fn assigned_load(&self, workspace_id: &str) -> StoreResult<Vec<(String, i64)>>;
    /// Open and pending conversations of one assignee.
    async fn open_assigned(&self, user_id: &str, limit: u32) -> StoreResult<Vec<String>>;
    /// The member who last got a conversation from the team's rotation.
    async fn assignment_cursor(&self, team_id: &str) -> StoreResult<Option<String>>;
    async fn publish_policy(&self, channel_id: &str) -> StoreResult<Option<PublishPolicy>>;
    async fn publish_policies(&self, workspace_id: &str) -> StoreResult<Vec<(String, PublishPolicy)>>;
    /// Why replies in the conversation wait for approval, if a rule said so.
    async fn approval_hold(&self, conversation_id: &str) -> StoreResult<Option<String>>;
    /// A workspace's corrections of `field` (`sentiment` or `intent`), oldest first.
    async fn corrections(&self, workspace_id: &str, field: &str) -> StoreResult<Vec<Correction>>;
    async fn message_corrections(&self, message_id: &str) -> StoreResult<Vec<Correction>>;
    /// Replies waiting for approval, oldest first.
    async fn awaiting_approval(&self, workspace_id: &str, limit: u32) -> StoreResult<Vec<Message>>;
    /// Automatic replies sent to a customer (in any conversation) since `since`.
    async fn automatic_replies_to(&self, contact_id: &str, since: Timestamp) -> StoreResult<Vec<SentAutoReply>>;
    /// The brand's newest public replies written by people: (message id, text).
    async fn recent_public_replies(&self, workspace_id: &str, limit: u32) -> StoreResult<Vec<(String, String)>>;
    /// Open and pending conversations whose last activity is in `[from, until)`, oldest first.
    async fn quiet_conversations(
        &self,
        workspace_id: &str,
        from: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<String>>;
}

/// Implements [`Automation`] and applies [`AutomationWrite`]s for one backend
/// (expanded in sqlite.rs and postgres.rs, like `impl_repositories`).
macro_rules! impl_automation {
    ($Store:ty, $Db:ty) => {
        impl $Store {
            /// Upserts the rules follower's memory of conversations
            /// (id, status, assignee, when), a statement per few hundred.
            async fn put_rule_watches(
                tx: &mut sqlx::Transaction<'static, $Db>,
                watches: Vec<$crate::automation::NewRuleWatch>,
            ) -> $crate::StoreResult<()> {
                let watches = $crate::shared::last_per_key(watches, |w| w.conversation_id.clone());
                for chunk in watches.chunks(ROWS_PER_STATEMENT) {
                    let mut q = sqlx::QueryBuilder::<$Db>::new(
                        "INSERT INTO rule_watch (conversation_id, status, assignee_id, updated_at) ",
                    );
                    q.push_values(chunk, |mut row, w| {
                        row.push_bind(w.conversation_id.clone())
                            .push_bind(w.status.as_str())
                            .push_bind(w.assignee_id.clone())
                            .push_bind($crate::time::to_ms(w.at));
                    });
                    q.push(
                        " ON CONFLICT (conversation_id) DO UPDATE SET status = excluded.status, \
                         assignee_id = excluded.assignee_id, updated_at = excluded.updated_at",
                    );
                    q.build().execute(&mut **tx).await?;
                }
                Ok(())
            }

            async fn apply_automation(
                tx: &mut sqlx::Transaction<'static, $Db>,
                write: $crate::automation::AutomationWrite,
            ) -> $crate::StoreResult<()> {
                use $crate::automation::AutomationWrite as W;
                use $crate::automation::json_text as json;
                use $crate::time::to_ms;
                use sqlx::Row;
                match write {
                    W::InsertRule(r) => {
                        sqlx::query(
                            "INSERT INTO rules (id, workspace_id, name, enabled, position, definition, created_by, \
                             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                        )
                        .bind(r.id).bind(r.workspace_id).bind(r.name).bind(r.enabled).bind(r.position)
                        .bind(json(&r.definition)).bind(r.created_by).bind(to_ms(r.created_at)).bind(to_ms(r.updated_at))
                        .execute(&mut **tx).await?;
                    }
                    W::UpdateRule(r) => {
                        let done = sqlx::query(
                            "UPDATE rules SET name = $2, enabled = $3, position = $4, definition = $5, updated_at = $6 \
                             WHERE id = $1",
                        )
                        .bind(r.id).bind(r.name).bind(r.enabled).bind(r.position).bind(json(&r.definition))
                        .bind(to_ms(r.updated_at))
                        .execute(&mut **tx).await?;
                        if done.rows_affected() == 0 {
                            return Err($crate::StoreError::NotFound("rule"));
                        }
                    }
                    W::DeleteRule { id } => {
                        let done = sqlx::query("DELETE FROM rules WHERE id = $1").bind(id).execute(&mut **tx).await?;
                        if done.rows_affected() == 0 {
                            return Err($crate::StoreError::NotFound("rule"));
                        }
                    }
                    W::InsertRuleRun(r) => {
                        sqlx::query(
                            "INSERT INTO rule_runs (id, workspace_id, rule_id, rule_name, conversation_id, event_key, \
                             trigger, status, actions, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                        )
                        .bind(r.id).bind(r.workspace_id).bind(r.rule_id).bind(r.rule_name).bind(r.conversation_id)
                        .bind(r.event_key).bind(r.trigger).bind(r.status).bind(json(&r.actions)).bind(to_ms(r.at))
                        .execute(&mut **tx).await?;
                    }
                    W::FinishRuleRun { id, actions } => {
                        sqlx::query("UPDATE rule_runs SET status = 'done', actions = $2 WHERE id = $1")
                            .bind(id).bind(json(&actions)).execute(&mut **tx).await?;
                    }
                    W::PutRuleWatch(w) => Self::put_rule_watches(tx, vec![w]).await?,
                    W::PutAgentProfile { workspace_id, profile, at } => {
                        sqlx::query(
                            "INSERT INTO agent_profiles (user_id, workspace_id, languages, capacity, updated_at) \
                             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id) DO UPDATE SET \
                             languages = excluded.languages, capacity = excluded.capacity, updated_at = excluded.updated_at",
                        )
                        .bind(profile.user_id).bind(workspace_id).bind(json(&profile.languages))
                        .bind(profile.capacity.map(i64::from)).bind(to_ms(at))
                        .execute(&mut **tx).await?;
                    }
                    W::ReserveAgentSlot { user_id, capacity } => {
                        // The row lock is held until commit: a second node reserving
                        // for the same person waits here, then counts what we wrote.
                        let locked = sqlx::query("UPDATE users SET updated_at = updated_at WHERE id = $1")
                            .bind(user_id.clone()).execute(&mut **tx).await?;
                        if locked.rows_affected() == 0 {
                            return Err($crate::StoreError::NotFound("user"));
                        }
                        let row = sqlx::query(
                            "SELECT COUNT(*) FROM conversations WHERE assignee_id = $1 \
                             AND status IN ('open', 'pending') AND merged_into_id IS NULL",
                        )
                        .bind(user_id).fetch_one(&mut **tx).await?;
                        let load: i64 = row.try_get(0)?;
                        if load >= i64::from(capacity) {
                            return Err($crate::StoreError::Conflict("capacity"));
                        }
                    }
                    W::SetAssignmentCursor { team_id, last_user_id, at } => {
                        sqlx::query(
                            "INSERT INTO assignment_cursors (team_id, last_user_id, updated_at) VALUES ($1, $2, $3) \
                             ON CONFLICT (team_id) DO UPDATE SET last_user_id = excluded.last_user_id, \
                             updated_at = excluded.updated_at",
                        )
                        .bind(team_id).bind(last_user_id).bind(to_ms(at)).execute(&mut **tx).await?;
                    }
                    W::PutPublishPolicy { workspace_id, channel_id, policy, at } => {
                        sqlx::query(
                            "INSERT INTO publish_policies (channel_id, workspace_id, publish_roles, updated_at) \
                             VALUES ($1, $2, $3, $4) ON CONFLICT (channel_id) DO UPDATE SET \
                             publish_roles = excluded.publish_roles, updated_at = excluded.updated_at",
                        )
                        .bind(channel_id).bind(workspace_id).bind(json(&policy.publish_roles)).bind(to_ms(at))
                        .execute(&mut **tx).await?;
                    }
                    W::DeletePublishPolicy { channel_id } => {
                        sqlx::query("DELETE FROM publish_policies WHERE channel_id = $1")
                            .bind(channel_id).execute(&mut **tx).await?;
                    }
                    W::PutApprovalHold { workspace_id, conversation_id, reason, at } => {
                        sqlx::query(
                            "INSERT INTO approval_holds (conversation_id, workspace_id, reason, at) VALUES ($1, $2, $3, $4) \
                             ON CONFLICT (conversation_id) DO UPDATE SET reason = excluded.reason, at = excluded.at",
                        )
                        .bind(conversation_id).bind(workspace_id).bind(reason).bind(to_ms(at))
                        .execute(&mut **tx).await?;
                    }
                    W::DeleteApprovalHold { conversation_id } => {
                        sqlx::query("DELETE FROM approval_holds WHERE conversation_id = $1")
                            .bind(conversation_id).execute(&mut **tx).await?;
                    }
                    W::PutCorrection(c) => {
                        sqlx::query(
                            "INSERT INTO corrections (message_id, field, workspace_id, text, old_value, new_value, \
                             corrected_by, corrected_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                             ON CONFLICT (message_id, field) DO UPDATE SET text = excluded.text, \
                             new_value = excluded.new_value, corrected_by = excluded.corrected_by, \
                             corrected_at = excluded.corrected_at",
                        )
                        .bind(c.message_id).bind(c.field).bind(c.workspace_id).bind(c.text).bind(c.old_value)
                        .bind(c.new_value).bind(c.corrected_by).bind(to_ms(c.corrected_at))
                        .execute(&mut **tx).await?;
                    }
                    W::SetMessageReading { message_id, sentiment, intent } => {
                        let done = sqlx::query("UPDATE messages SET sentiment = $2, intent = $3 WHERE id = $1")
                            .bind(message_id).bind(sentiment.map(|s| s.as_str())).bind(intent)
                            .execute(&mut **tx).await?;
                        if done.rows_affected() == 0 {
                            return Err($crate::StoreError::NotFound("message"));
                        }
                    }
                }
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl $crate::automation::Automation for $Store {
            async fn rules(&self, workspace_id: &str) -> $crate::StoreResult<Vec<hark_domain::rules::Rule>> {
                sqlx::query_as::<_, $crate::automation::rows::RuleRow>(
                    "SELECT * FROM rules WHERE workspace_id = $1 ORDER BY position, id",
                )
                .bind(workspace_id.to_owned()).fetch_all(self.reader()).await?
                .into_iter().map(|r| r.into_domain()).collect()
            }

            async fn rule(&self, id: &str) -> $crate::StoreResult<Option<hark_domain::rules::Rule>> {
                sqlx::query_as::<_, $crate::automation::rows::RuleRow>("SELECT * FROM rules WHERE id = $1")
                    .bind(id.to_owned()).fetch_optional(self.reader()).await?
                    .map(|r| r.into_domain()).transpose()
            }

            async fn rule_runs(&self, conversation_id: &str) -> $crate::StoreResult<Vec<hark_domain::rules::RuleRun>> {
                sqlx::query_as::<_, $crate::automation::rows::RuleRunRow>(
                    "SELECT * FROM rule_runs WHERE conversation_id = $1 ORDER BY at, id",
                )
                .bind(conversation_id.to_owned()).fetch_all(self.reader()).await?
                .into_iter().map(|r| r.into_domain()).collect()
            }

            async fn rule_watches(
                &self,
                conversation_ids: &[String],
            ) -> $crate::StoreResult<std::collections::HashMap<String, $crate::automation::RuleWatch>> {
                let mut out = std::collections::HashMap::new();
                for chunk in conversation_ids.chunks(ROWS_PER_STATEMENT) {
                    let mut q = QueryBuilder::<$Db>::new(
                        "SELECT conversation_id, status, assignee_id FROM rule_watch WHERE conversation_id IN ",
                    );
                    push_ids(&mut q, chunk);
                    let rows: Vec<(String, String, Option<String>)> = q.build_query_as().fetch_all(self.reader()).await?;
                    for (id, status, assignee_id) in rows {
                        out.insert(id, $crate::automation::RuleWatch { status: status.parse()?, assignee_id });
                    }
                }
                Ok(out)
            }

            async fn agent_profiles(
                &self,
                workspace_id: &str,
            ) -> $crate::StoreResult<Vec<hark_domain::assignment::AgentProfile>> {
                let rows: Vec<(String, String, Option<i64>)> = sqlx::query_as(
                    "SELECT user_id, languages, capacity FROM agent_profiles WHERE workspace_id = $1 ORDER BY user_id",
                )
                .bind(workspace_id.to_owned()).fetch_all(self.reader()).await?;
                rows.into_iter()
                    .map(|(user_id, languages, capacity)| {
                        Ok(hark_domain::assignment::AgentProfile {
                            user_id,
                            languages: $crate::automation::rows::parse(&languages, "agent languages")?,
                            capacity: capacity.map(|c| u32::try_from(c.max(0)).unwrap_or(u32::MAX)),
                        })
                    })
                    .collect()
            }

            async fn assigned_load(&self, workspace_id: &str) -> $crate::StoreResult<Vec<(String, i64)>> {
                Ok(sqlx::query_as(
                    "SELECT assignee_id, COUNT(*) FROM conversations WHERE workspace_id = $1 \
                     AND assignee_id IS NOT NULL AND status IN ('open', 'pending') AND merged_into_id IS NULL \
                     GROUP BY assignee_id",
                )
                .bind(workspace_id.to_owned()).fetch_all(self.reader()).await?)
            }

            async fn open_assigned(&self, user_id: &str, limit: u32) -> $crate::StoreResult<Vec<String>> {
                Ok(sqlx::query_scalar(
                    "SELECT id FROM conversations WHERE assignee_id = $1 AND status IN ('open', 'pending') \
                     AND merged_into_id IS NULL ORDER BY last_activity_at, id LIMIT $2",
                )
                .bind(user_id.to_owned()).bind(i64::from(limit.max(1))).fetch_all(self.reader()).await?)
            }

            async fn assignment_cursor(&self, team_id: &str) -> $crate::StoreResult<Option<String>> {
                Ok(sqlx::query_scalar("SELECT last_user_id FROM assignment_cursors WHERE team_id = $1")
                    .bind(team_id.to_owned()).fetch_optional(self.reader()).await?)
            }

            async fn publish_policy(
                &self,
                channel_id: &str,
            ) -> $crate::StoreResult<Option<hark_domain::permissions::PublishPolicy>> {
                let roles: Option<String> =
                    sqlx::query_scalar("SELECT publish_roles FROM publish_policies WHERE channel_id = $1")
                        .bind(channel_id.to_owned()).fetch_optional(self.reader()).await?;
                roles
                    .map(|r| {
                        Ok(hark_domain::permissions::PublishPolicy {
                            publish_roles: $crate::automation::rows::parse(&r, "publish roles")?,
                        })
                    })
                    .transpose()
            }

            async fn publish_policies(
                &self,
                workspace_id: &str,
            ) -> $crate::StoreResult<Vec<(String, hark_domain::permissions::PublishPolicy)>> {
                let rows: Vec<(String, String)> = sqlx::query_as(
                    "SELECT channel_id, publish_roles FROM publish_policies WHERE workspace_id = $1 ORDER BY channel_id",
                )
                .bind(workspace_id.to_owned()).fetch_all(self.reader()).await?;
                rows.into_iter()
                    .map(|(channel_id, roles)| {
                        Ok((
                            channel_id,
                            hark_domain::permissions::PublishPolicy {
                                publish_roles: $crate::automation::rows::parse(&roles, "publish roles")?,
                            },
                        ))
                    })
                    .collect()
            }

            async fn approval_hold(&self, conversation_id: &str) -> $crate::StoreResult<Option<String>> {
                Ok(sqlx::query_scalar("SELECT reason FROM approval_holds WHERE conversation_id = $1")
                    .bind(conversation_id.to_owned()).fetch_optional(self.reader()).await?)
            }

            async fn corrections(
                &self,
                workspace_id: &str,
                field: &str,
            ) -> $crate::StoreResult<Vec<hark_domain::rules::Correction>> {
                sqlx::query_as::<_, $crate::automation::rows::CorrectionRow>(
                    "SELECT * FROM corrections WHERE workspace_id = $1 AND field = $2 ORDER BY corrected_at, message_id",
                )
                .bind(workspace_id.to_owned()).bind(field.to_owned()).fetch_all(self.reader()).await?
                .into_iter().map(|r| r.into_domain()).collect()
            }

            async fn message_corrections(
                &self,
                message_id: &str,
            ) -> $crate::StoreResult<Vec<hark_domain::rules::Correction>> {
                sqlx::query_as::<_, $crate::automation::rows::CorrectionRow>(
                    "SELECT * FROM corrections WHERE message_id = $1 ORDER BY field",
                )
                .bind(message_id.to_owned()).fetch_all(self.reader()).await?
                .into_iter().map(|r| r.into_domain()).collect()
            }

            async fn awaiting_approval(&self, workspace_id: &str, limit: u32) -> $crate::StoreResult<Vec<hark_domain::Message>> {
                sqlx::query_as::<_, $crate::rows::MessageRow>(
                    "SELECT * FROM messages WHERE workspace_id = $1 AND delivery_status = 'awaiting_approval' \
                     ORDER BY created_at, id LIMIT $2",
                )
                .bind(workspace_id.to_owned()).bind(i64::from(limit.clamp(1, 500))).fetch_all(self.reader()).await?
                .into_iter().map($crate::rows::MessageRow::into_domain).collect()
            }

            async fn automatic_replies_to(
                &self,
                contact_id: &str,
                since: jiff::Timestamp,
            ) -> $crate::StoreResult<Vec<hark_domain::rules::SentAutoReply>> {
                let rows: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT m.text, m.created_at FROM messages m JOIN conversations c ON c.id = m.conversation_id \
                     WHERE c.contact_id = $1 AND m.direction = 'outbound' AND m.author_kind = 'bot' \
                     AND m.created_at >= $2 ORDER BY m.created_at",
                )
                .bind(contact_id.to_owned()).bind($crate::time::to_ms(since)).fetch_all(self.reader()).await?;
                rows.into_iter()
                    .map(|(text, at)| Ok(hark_domain::rules::SentAutoReply { text, at: $crate::time::from_ms(at)? }))
                    .collect()
            }

            async fn recent_public_replies(
                &self,
                workspace_id: &str,
                limit: u32,
            ) -> $crate::StoreResult<Vec<(String, String)>> {
                Ok(sqlx::query_as(
                    "SELECT id, text FROM messages WHERE workspace_id = $1 AND direction = 'outbound' \
                     AND visibility = 'public' AND author_kind = 'user' AND delivery_status <> 'failed' \
                     ORDER BY created_at DESC, id DESC LIMIT $2",
                )
                .bind(workspace_id.to_owned()).bind(i64::from(limit.clamp(1, 2000))).fetch_all(self.reader()).await?)
            }

            async fn quiet_conversations(
                &self,
                workspace_id: &str,
                from: jiff::Timestamp,
                until: jiff::Timestamp,
                limit: u32,
            ) -> $crate::StoreResult<Vec<String>> {
                Ok(sqlx::query_scalar(
                    "SELECT id FROM conversations WHERE workspace_id = $1 AND status IN ('open', 'pending') \
                     AND merged_into_id IS NULL AND last_activity_at >= $2 AND last_activity_at < $3 \
                     ORDER BY last_activity_at, id LIMIT $4",
                )
                .bind(workspace_id.to_owned()).bind($crate::time::to_ms(from)).bind($crate::time::to_ms(until))
                .bind(i64::from(limit.clamp(1, 5000))).fetch_all(self.reader()).await?)
            }
        }
    };
}

pub(crate) use impl_automation;

/// JSON for the text columns (serialising plain data cannot fail).
pub(crate) fn json_text<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

pub(crate) mod rows {
    use hark_domain::rules::{Correction, Rule, RuleRun};

    use crate::StoreError;
    use crate::time::from_ms;

    type Result<T> = std::result::Result<T, StoreError>;

    pub(crate) fn parse<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T> {
        serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
    }

    #[derive(sqlx::FromRow)]
    pub(crate) struct RuleRow {
        id: String,
        workspace_id: String,
        name: String,
        enabled: bool,
        position: i64,
        definition: String,
        created_by: Option<String>,
        created_at: i64,
        updated_at: i64,
    }

    impl RuleRow {
        pub(crate) fn into_domain(self) -> Result<Rule> {
            Ok(Rule {
                id: self.id,
                workspace_id: self.workspace_id,
                name: self.name,
                enabled: self.enabled,
                position: self.position,
                definition: parse(&self.definition, "rule definition")?,
                created_by: self.created_by,
                created_at: from_ms(self.created_at)?,
                updated_at: from_ms(self.updated_at)?,
            })
        }
    }

    #[derive(sqlx::FromRow)]
    pub(crate) struct RuleRunRow {
        id: String,
        workspace_id: String,
        rule_id: String,
        rule_name: String,
        conversation_id: String,
        event_key: String,
        trigger: String,
        status: String,
        actions: String,
        at: i64,
    }

    impl RuleRunRow {
        pub(crate) fn into_domain(self) -> Result<RuleRun> {
            Ok(RuleRun {
                id: self.id,
                workspace_id: self.workspace_id,
                rule_id: self.rule_id,
                rule_name: self.rule_name,
                conversation_id: self.conversation_id,
                event_key: self.event_key,
                trigger: self.trigger,
                status: self.status,
                actions: parse(&self.actions, "rule run actions")?,
                at: from_ms(self.at)?,
            })
        }
    }

    #[derive(sqlx::FromRow)]
    pub(crate) struct CorrectionRow {
        message_id: String,
        field: String,
        workspace_id: String,
        text: String,
        old_value: Option<String>,
        new_value: String,
        corrected_by: String,
        corrected_at: i64,
    }

    impl CorrectionRow {
        pub(crate) fn into_domain(self) -> Result<Correction> {
            Ok(Correction {
                message_id: self.message_id,
                workspace_id: self.workspace_id,
                field: self.field,
                text: self.text,
                old_value: self.old_value,
                new_value: self.new_value,
                corrected_by: self.corrected_by,
                corrected_at: from_ms(self.corrected_at)?,
            })
        }
    }
}
