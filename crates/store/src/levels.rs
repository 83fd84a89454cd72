//! Storage for service levels and reports: the status history and survey
//! answers that complete a conversation's facts, SLA policies and durable
//! timers, scheduled follow-ups and surveys, report summaries, surge
//! detectors and known issues (docs/metrics.md).
//!
//! Reads go through [`ServiceLevels`]; writes are [`LevelsWrite`]s inside
//! [`crate::Write::Levels`], so they commit with everything else.

use async_trait::async_trait;
use jiff::Timestamp;

use crate::{NewEvent, StoreResult};

/// A status change as it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    pub workspace_id: String,
    pub conversation_id: String,
    pub at: Timestamp,
    pub from_status: hark_domain::ConversationStatus,
    pub to_status: hark_domain::ConversationStatus,
    /// `None` for a rule, a timer or the system.
    pub user_id: Option<String>,
    /// The `conversation.updated` event it was read from.
    pub event_id: i64,
}

/// What the service-levels follower last saw of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationWatch {
    pub conversation_id: String,
    pub workspace_id: String,
    pub status: hark_domain::ConversationStatus,
    pub last_inbound_at: Option<Timestamp>,
    pub updated_at: Timestamp,
}

/// A survey answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsatRecord {
    pub id: String,
    pub workspace_id: String,
    pub conversation_id: String,
    /// The customer's message that carried the answer.
    pub message_id: String,
    pub channel_id: String,
    /// The agent the answer is credited to (assignee, else the last replier).
    pub agent_id: Option<String>,
    pub rating: u8,
    pub comment: String,
    pub at: Timestamp,
}

/// A workspace's SLA policies and other service-level settings, as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceLevelSettingsRecord {
    pub workspace_id: String,
    pub policies: serde_json::Value,
    pub settings: serde_json::Value,
    pub updated_at: Timestamp,
}

/// A durable timer of one running SLA target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaTimerRecord {
    /// Assigned by the store (0 when writing).
    pub id: i64,
    pub workspace_id: String,
    pub conversation_id: String,
    pub target_key: String,
    pub metric: String,
    pub policy_id: String,
    pub due_at: Timestamp,
    pub warn_at: Option<Timestamp>,
    /// The next instant the timer needs attention (warning, then breach).
    /// Computed by the store on write.
    pub next_at: Timestamp,
}

/// Where a conversation stands against its SLA, for inbox views and countdowns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaStateRecord {
    pub conversation_id: String,
    pub workspace_id: String,
    pub policy_id: String,
    /// The earliest breach among running targets: the countdown.
    pub next_due_at: Option<Timestamp>,
    /// From when a running target is past its warning.
    pub at_risk_from: Option<Timestamp>,
    /// Breached targets in the current cycle.
    pub breached: i64,
    pub updated_at: Timestamp,
}

/// A follow-up or survey scheduled after a resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledMessage {
    /// Assigned by the store (0 when writing).
    pub id: i64,
    pub workspace_id: String,
    pub conversation_id: String,
    /// `follow_up` or `survey`.
    pub kind: String,
    pub resolved_at: Timestamp,
    pub due_at: Timestamp,
    /// A follow-up is not sent after this; a survey's answers are read until this.
    pub expires_at: Timestamp,
    /// `scheduled`, `sent`, `answered`, `cancelled`, `skipped`, `closed`.
    pub state: String,
    pub detail: String,
    pub message_id: Option<String>,
    pub created_at: Timestamp,
}

/// One report summary row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    pub workspace_id: String,
    /// `day` (bucket: local date in the workspace's zone, as days since
    /// 1970-01-01) or `hour` (bucket: UTC hours since the epoch).
    pub grain: String,
    pub bucket: i64,
    pub dimension: String,
    pub value: String,
    pub figures: Vec<u8>,
}

/// What one conversation added to the report rows.
#[derive(Debug, Clone, PartialEq)]
pub struct ContributionRecord {
    pub conversation_id: String,
    pub workspace_id: String,
    pub contribution: serde_json::Value,
    pub revisit_at: Option<Timestamp>,
}

/// A known issue announcement (the domain's `KnownIssue` as JSON).
#[derive(Debug, Clone, PartialEq)]
pub struct KnownIssueRecord {
    pub id: String,
    pub workspace_id: String,
    pub issue: serde_json::Value,
    pub created_by: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A conversation linked to a known issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownIssueLink {
    pub known_issue_id: String,
    pub conversation_id: String,
    pub workspace_id: String,
    pub at: Timestamp,
    pub answered_at: Option<Timestamp>,
}

/// Writes of service levels and reports.
#[derive(Debug, Clone)]
pub enum LevelsWrite {
    InsertStatusChange(StatusChange),
    PutWatch(ConversationWatch),
    /// Ignored when the message already carries an answer.
    InsertCsat(CsatRecord),
    PutSettings(ServiceLevelSettingsRecord),
    /// Inserts or updates by (conversation, key); `next_at` becomes the
    /// warning unless it was already announced, else the breach.
    PutSlaTimer(SlaTimerRecord),
    /// Deletes the conversation's timers whose keys are not in `keep`.
    RetainSlaTimers {
        conversation_id: String,
        keep: Vec<String>,
    },
    /// Announces a warning or a breach once: records it, and writes `event`
    /// only if it was not recorded before. A warning moves the timer on to
    /// its breach; a breach removes the timer.
    FireSla {
        timer_id: i64,
        conversation_id: String,
        target_key: String,
        /// `warning` or `breached`.
        kind: String,
        at: Timestamp,
        event: NewEvent,
    },
    /// A claimed timer that is not due after all (re-evaluated): back to waiting.
    ReleaseSlaTimer {
        id: i64,
    },
    PutSlaState(SlaStateRecord),
    DeleteSlaState {
        conversation_id: String,
    },
    /// Inserts unless the same (conversation, kind, resolution) is scheduled already.
    ScheduleMessage(ScheduledMessage),
    SetScheduledState {
        id: i64,
        state: String,
        detail: String,
        message_id: Option<String>,
    },
    /// Sets `state` on the conversation's rows of `kind` that are in `from_state`.
    SetScheduledStateFor {
        conversation_id: String,
        kind: String,
        from_state: String,
        state: String,
    },
    PutReportRow(ReportRow),
    PutContribution(ContributionRecord),
    /// Replaces an outbox item's payload (what a retry still has to do).
    SetOutboxPayload {
        id: i64,
        payload: serde_json::Value,
    },
    /// The contribution's time-decided figures are being recomputed.
    ClearRevisit {
        conversation_id: String,
    },
    PutSurgeDetector {
        detector_key: String,
        workspace_id: String,
        state: serde_json::Value,
        at: Timestamp,
    },
    PutKnownIssue(KnownIssueRecord),
    DeleteKnownIssue {
        id: String,
    },
    /// Ignored when already linked.
    LinkKnownIssue(KnownIssueLink),
    MarkKnownIssueAnswered {
        known_issue_id: String,
        conversation_id: String,
        at: Timestamp,
    },
}

/// Service-level and report reads.
#[async_trait]
pub trait ServiceLevels: Send + Sync {
    /// The status changes of these conversations, each conversation's in order.
    async fn status_changes_of(&self, conversation_ids: &[String]) -> StoreResult<Vec<StatusChange>>;
    async fn status_changes(&self, conversation_id: &str) -> StoreResult<Vec<StatusChange>> {
        self.status_changes_of(&[conversation_id.to_owned()]).await
    }
    async fn conversation_watches(&self, conversation_ids: &[String]) -> StoreResult<Vec<ConversationWatch>>;
    async fn conversation_watch(&self, conversation_id: &str) -> StoreResult<Option<ConversationWatch>> {
        Ok(self.conversation_watches(&[conversation_id.to_owned()]).await?.pop())
    }
    /// The ratings of these conversations, each conversation's in order.
    async fn csat_of_conversations(&self, conversation_ids: &[String]) -> StoreResult<Vec<CsatRecord>>;
    async fn csat_of_conversation(&self, conversation_id: &str) -> StoreResult<Vec<CsatRecord>> {
        self.csat_of_conversations(&[conversation_id.to_owned()]).await
    }
    /// Newest first, rated at most `max_rating`, answered at or after `since`.
    async fn csat_ratings(
        &self,
        workspace_id: &str,
        max_rating: u8,
        since: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<CsatRecord>>;
    async fn service_level_settings(&self, workspace_id: &str) -> StoreResult<Option<ServiceLevelSettingsRecord>>;
    /// Timers whose `next_at` has come, leased until `now + lease_ms`.
    async fn claim_sla_timers(&self, now: Timestamp, lease_ms: i64, limit: u32) -> StoreResult<Vec<SlaTimerRecord>>;
    async fn sla_timers_of(&self, conversation_id: &str) -> StoreResult<Vec<SlaTimerRecord>>;
    /// (target key, kind) of every warning and breach announced for the conversation.
    async fn sla_fired_of(&self, conversation_id: &str) -> StoreResult<Vec<(String, String)>>;
    async fn sla_states(&self, conversation_ids: &[String]) -> StoreResult<Vec<SlaStateRecord>>;
    /// Scheduled rows due at `now`, leased until `now + lease_ms`.
    async fn claim_scheduled_messages(
        &self,
        now: Timestamp,
        lease_ms: i64,
        limit: u32,
    ) -> StoreResult<Vec<ScheduledMessage>>;
    /// The scheduled messages of these conversations, oldest first.
    async fn scheduled_messages_of_conversations(
        &self,
        conversation_ids: &[String],
    ) -> StoreResult<Vec<ScheduledMessage>>;
    async fn scheduled_messages_of(&self, conversation_id: &str) -> StoreResult<Vec<ScheduledMessage>> {
        self.scheduled_messages_of_conversations(&[conversation_id.to_owned()]).await
    }
    /// Rows of one dimension with `from <= bucket < to`.
    async fn report_rows(
        &self,
        workspace_id: &str,
        grain: &str,
        dimension: &str,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<ReportRow>>;
    /// Every row (all dimensions) of one bucket.
    async fn report_bucket(&self, workspace_id: &str, grain: &str, bucket: i64) -> StoreResult<Vec<ReportRow>>;
    async fn contributions(&self, conversation_ids: &[String]) -> StoreResult<Vec<ContributionRecord>>;
    async fn contribution(&self, conversation_id: &str) -> StoreResult<Option<ContributionRecord>> {
        Ok(self.contributions(&[conversation_id.to_owned()]).await?.pop())
    }
    /// Conversations whose figures decide by time alone at or before `now`.
    async fn contributions_due(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<String>>;
    async fn surge_detectors(&self, workspace_id: &str) -> StoreResult<Vec<(String, serde_json::Value)>>;
    /// Every workspace's detectors (for the minute tick).
    async fn all_surge_detectors(&self) -> StoreResult<Vec<(String, String, serde_json::Value)>>;
    async fn known_issues(&self, workspace_id: &str) -> StoreResult<Vec<KnownIssueRecord>>;
    async fn known_issue(&self, id: &str) -> StoreResult<Option<KnownIssueRecord>>;
    async fn known_issue_links(&self, known_issue_id: &str) -> StoreResult<Vec<KnownIssueLink>>;
    async fn known_issue_links_of(&self, conversation_id: &str) -> StoreResult<Vec<KnownIssueLink>>;
    /// Open (not resolved, not merged) conversations per assignee.
    async fn open_load(&self, workspace_id: &str) -> StoreResult<Vec<(String, i64)>>;
    /// The person the audit log credits with a change to the conversation at
    /// `at` (`None`: the system, a rule, or no entry).
    async fn status_actor(&self, conversation_id: &str, at: Timestamp) -> StoreResult<Option<String>>;
    /// Texts of customer messages created in `[from, to)`, newest first (surge terms).
    async fn inbound_texts(
        &self,
        workspace_id: &str,
        channel_id: Option<&str>,
        from: Timestamp,
        to: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<String>>;
}

macro_rules! impl_service_levels {
    ($Store:ty, $Db:ty) => {
        mod service_levels_impl {
            use async_trait::async_trait;
            use jiff::Timestamp;
            use sqlx::Row;

            use super::*;
            use crate::time::{from_ms, opt_from_ms, opt_to_ms, to_ms};
            use crate::{Committed, StoreError, StoreResult};

            type Tx = sqlx::Transaction<'static, $Db>;
            type DbRow = <$Db as sqlx::Database>::Row;

            fn json_text(value: &serde_json::Value) -> String {
                serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
            }

            fn json_value(text: &str, what: &str) -> StoreResult<serde_json::Value> {
                serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
            }

            fn status(text: String) -> StoreResult<hark_domain::ConversationStatus> {
                Ok(text.parse()?)
            }

            const TIMER_COLUMNS: &str = "id, workspace_id, conversation_id, target_key, metric, policy_id, due_at, \
                warn_at, next_at";
            const SCHEDULED_COLUMNS: &str = "id, workspace_id, conversation_id, kind, resolved_at, due_at, \
                expires_at, state, detail, message_id, created_at";
            const CSAT_COLUMNS: &str =
                "id, workspace_id, conversation_id, message_id, channel_id, agent_id, rating, comment, at";

            fn timer(row: &DbRow) -> StoreResult<SlaTimerRecord> {
                Ok(SlaTimerRecord {
                    id: row.try_get(0)?,
                    workspace_id: row.try_get(1)?,
                    conversation_id: row.try_get(2)?,
                    target_key: row.try_get(3)?,
                    metric: row.try_get(4)?,
                    policy_id: row.try_get(5)?,
                    due_at: from_ms(row.try_get(6)?)?,
                    warn_at: opt_from_ms(row.try_get(7)?)?,
                    next_at: from_ms(row.try_get(8)?)?,
                })
            }

            fn scheduled(row: &DbRow) -> StoreResult<ScheduledMessage> {
                Ok(ScheduledMessage {
                    id: row.try_get(0)?,
                    workspace_id: row.try_get(1)?,
                    conversation_id: row.try_get(2)?,
                    kind: row.try_get(3)?,
                    resolved_at: from_ms(row.try_get(4)?)?,
                    due_at: from_ms(row.try_get(5)?)?,
                    expires_at: from_ms(row.try_get(6)?)?,
                    state: row.try_get(7)?,
                    detail: row.try_get(8)?,
                    message_id: row.try_get(9)?,
                    created_at: from_ms(row.try_get(10)?)?,
                })
            }

            fn csat(row: &DbRow) -> StoreResult<CsatRecord> {
                let rating: i64 = row.try_get(6)?;
                Ok(CsatRecord {
                    id: row.try_get(0)?,
                    workspace_id: row.try_get(1)?,
                    conversation_id: row.try_get(2)?,
                    message_id: row.try_get(3)?,
                    channel_id: row.try_get(4)?,
                    agent_id: row.try_get(5)?,
                    rating: u8::try_from(rating).map_err(|_| StoreError::Corrupt(format!("rating {rating}")))?,
                    comment: row.try_get(7)?,
                    at: from_ms(row.try_get(8)?)?,
                })
            }

            fn report_row(row: &DbRow) -> StoreResult<ReportRow> {
                Ok(ReportRow {
                    workspace_id: row.try_get(0)?,
                    grain: row.try_get(1)?,
                    bucket: row.try_get(2)?,
                    dimension: row.try_get(3)?,
                    value: row.try_get(4)?,
                    figures: row.try_get(5)?,
                })
            }

            fn known_issue(row: &DbRow) -> StoreResult<KnownIssueRecord> {
                let issue: String = row.try_get(2)?;
                Ok(KnownIssueRecord {
                    id: row.try_get(0)?,
                    workspace_id: row.try_get(1)?,
                    issue: json_value(&issue, "known issue")?,
                    created_by: row.try_get(3)?,
                    created_at: from_ms(row.try_get(4)?)?,
                    updated_at: from_ms(row.try_get(5)?)?,
                })
            }

            fn link(row: &DbRow) -> StoreResult<KnownIssueLink> {
                Ok(KnownIssueLink {
                    known_issue_id: row.try_get(0)?,
                    conversation_id: row.try_get(1)?,
                    workspace_id: row.try_get(2)?,
                    at: from_ms(row.try_get(3)?)?,
                    answered_at: opt_from_ms(row.try_get(4)?)?,
                })
            }

            impl $Store {
                /// `select` (a SELECT … FROM … without WHERE) for rows whose
                /// `conversation_id` is one of `ids`, a statement per few
                /// hundred ids, each ordered by `order`.
                async fn rows_of_conversations(&self, select: &str, ids: &[String], order: &str) -> StoreResult<Vec<DbRow>> {
                    let mut rows = vec![];
                    for chunk in ids.chunks(ROWS_PER_STATEMENT) {
                        let mut q = sqlx::QueryBuilder::<$Db>::new(select);
                        q.push(" WHERE conversation_id IN ");
                        push_ids(&mut q, chunk);
                        q.push(" ORDER BY ").push(order);
                        rows.extend(q.build().fetch_all(self.reader()).await?);
                    }
                    Ok(rows)
                }

                /// Upserts what the service-levels follower last saw of
                /// conversations, a statement per few hundred.
                pub(crate) async fn put_watches(tx: &mut Tx, watches: Vec<ConversationWatch>) -> StoreResult<()> {
                    let watches = crate::shared::last_per_key(watches, |w| w.conversation_id.clone());
                    for chunk in watches.chunks(ROWS_PER_STATEMENT) {
                        let mut q = sqlx::QueryBuilder::<$Db>::new(
                            "INSERT INTO conversation_watch (conversation_id, workspace_id, status, last_inbound_at, \
                             updated_at) ",
                        );
                        q.push_values(chunk, |mut row, w| {
                            row.push_bind(w.conversation_id.clone())
                                .push_bind(w.workspace_id.clone())
                                .push_bind(w.status.as_str())
                                .push_bind(opt_to_ms(w.last_inbound_at))
                                .push_bind(to_ms(w.updated_at));
                        });
                        q.push(
                            " ON CONFLICT (conversation_id) DO UPDATE SET status = excluded.status, \
                             last_inbound_at = excluded.last_inbound_at, updated_at = excluded.updated_at",
                        );
                        q.build().execute(&mut **tx).await?;
                    }
                    Ok(())
                }

                /// Upserts report summary rows (each with its whole figures).
                pub(crate) async fn put_report_rows(tx: &mut Tx, rows: Vec<ReportRow>) -> StoreResult<()> {
                    let rows = crate::shared::last_per_key(rows, |r| {
                        (r.workspace_id.clone(), r.grain.clone(), r.dimension.clone(), r.value.clone(), r.bucket)
                    });
                    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
                        let mut q = sqlx::QueryBuilder::<$Db>::new(
                            "INSERT INTO report_rows (workspace_id, grain, bucket, dimension, value, figures) ",
                        );
                        q.push_values(chunk, |mut row, r| {
                            row.push_bind(r.workspace_id.clone())
                                .push_bind(r.grain.clone())
                                .push_bind(r.bucket)
                                .push_bind(r.dimension.clone())
                                .push_bind(r.value.clone())
                                .push_bind(r.figures.clone());
                        });
                        q.push(
                            " ON CONFLICT (workspace_id, grain, dimension, value, bucket) \
                             DO UPDATE SET figures = excluded.figures",
                        );
                        q.build().execute(&mut **tx).await?;
                    }
                    Ok(())
                }

                /// Upserts what conversations added to the report rows.
                pub(crate) async fn put_contributions(
                    tx: &mut Tx,
                    contributions: Vec<ContributionRecord>,
                ) -> StoreResult<()> {
                    let contributions = crate::shared::last_per_key(contributions, |c| c.conversation_id.clone());
                    for chunk in contributions.chunks(ROWS_PER_STATEMENT) {
                        let mut q = sqlx::QueryBuilder::<$Db>::new(
                            "INSERT INTO report_contributions (conversation_id, workspace_id, contribution, revisit_at) ",
                        );
                        q.push_values(chunk, |mut row, c| {
                            row.push_bind(c.conversation_id.clone())
                                .push_bind(c.workspace_id.clone())
                                .push_bind(json_text(&c.contribution))
                                .push_bind(opt_to_ms(c.revisit_at));
                        });
                        q.push(
                            " ON CONFLICT (conversation_id) DO UPDATE SET contribution = excluded.contribution, \
                             revisit_at = excluded.revisit_at",
                        );
                        q.build().execute(&mut **tx).await?;
                    }
                    Ok(())
                }

                pub(crate) async fn apply_levels(
                    tx: &mut Tx,
                    write: LevelsWrite,
                    committed: &mut Committed,
                ) -> StoreResult<()> {
                    match write {
                        LevelsWrite::InsertStatusChange(s) => {
                            sqlx::query(
                                "INSERT INTO status_changes (workspace_id, conversation_id, at, from_status, to_status, \
                                 user_id, event_id) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                            )
                            .bind(s.workspace_id)
                            .bind(s.conversation_id)
                            .bind(to_ms(s.at))
                            .bind(s.from_status.as_str())
                            .bind(s.to_status.as_str())
                            .bind(s.user_id)
                            .bind(s.event_id)
                            .execute(&mut **tx)
                            .await?;
                        }
                        LevelsWrite::PutWatch(w) => Self::put_watches(tx, vec![w]).await?,
                        LevelsWrite::InsertCsat(c) => {
                            sqlx::query(
                                "INSERT INTO csat_ratings (id, workspace_id, conversation_id, message_id, channel_id, \
                                 agent_id, rating, comment, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                                 ON CONFLICT (message_id) DO NOTHING",
                            )
                            .bind(c.id)
                            .bind(c.workspace_id)
                            .bind(c.conversation_id)
                            .bind(c.message_id)
                            .bind(c.channel_id)
                            .bind(c.agent_id)
                            .bind(i64::from(c.rating))
                            .bind(c.comment)
                            .bind(to_ms(c.at))
                            .execute(&mut **tx)
                            .await?;
                        }
                        LevelsWrite::PutSettings(s) => {
                            sqlx::query(
                                "INSERT INTO service_level_settings (workspace_id, policies, settings, updated_at) \
                                 VALUES ($1, $2, $3, $4) ON CONFLICT (workspace_id) DO UPDATE SET \
                                 policies = excluded.policies, settings = excluded.settings, \
                                 updated_at = excluded.updated_at",
                            )
                            .bind(s.workspace_id)
                            .bind(json_text(&s.policies))
                            .bind(json_text(&s.settings))
                            .bind(to_ms(s.updated_at))
                            .execute(&mut **tx)
                            .await?;
                        }
                        LevelsWrite::PutSlaTimer(t) => {
                            // The warning is next unless it was announced already.
                            sqlx::query(
                                "INSERT INTO sla_timers (workspace_id, conversation_id, target_key, metric, policy_id, \
                                 due_at, warn_at, next_at, attempts) VALUES ($1, $2, $3, $4, $5, $6, $7, \
                                 CASE WHEN $7 IS NOT NULL AND $7 < $6 AND NOT EXISTS (SELECT 1 FROM sla_fired f \
                                 WHERE f.conversation_id = $2 AND f.target_key = $3 AND f.kind = 'warning') \
                                 THEN $7 ELSE $6 END, 0) \
                                 ON CONFLICT (conversation_id, target_key) DO UPDATE SET metric = excluded.metric, \
                                 policy_id = excluded.policy_id, due_at = excluded.due_at, warn_at = excluded.warn_at, \
                                 next_at = excluded.next_at",
                            )
                            .bind(t.workspace_id)
                            .bind(t.conversation_id)
                            .bind(t.target_key)
                            .bind(t.metric)
                            .bind(t.policy_id)
                            .bind(to_ms(t.due_at))
                            .bind(opt_to_ms(t.warn_at))
                            .execute(&mut **tx)
                            .await?;
                        }
                        LevelsWrite::RetainSlaTimers { conversation_id, keep } => {
                            let existing: Vec<(i64, String)> =
                                sqlx::query_as("SELECT id, target_key FROM sla_timers WHERE conversation_id = $1")
                                    .bind(conversation_id)
                                    .fetch_all(&mut **tx)
                                    .await?;
                            for (id, key) in existing {
                                if !keep.contains(&key) {
                                    sqlx::query("DELETE FROM sla_timers WHERE id = $1")
                                        .bind(id)
                                        .execute(&mut **tx)
                                        .await?;
                                }
                            }
                        }
                        LevelsWrite::FireSla { timer_id, conversation_id, target_key, kind, at, event } => {
                            let fresh = sqlx::query(
                                "INSERT INTO sla_fired (conversation_id, target_key, kind, at) VALUES ($1, $2, $3, $4) \
                                 ON CONFLICT (conversation_id, target_key, kind) DO NOTHING",
                            )
                            .bind(conversation_id)
                            .bind(target_key)
                            .bind(kind.clone())
                            .bind(to_ms(at))
                            .execute(&mut **tx)
                            .await?
                            .rows_affected()
                                > 0;
                            if kind == "warning" {
                                sqlx::query(
                                    "UPDATE sla_timers SET next_at = due_at, locked_until = NULL WHERE id = $1",
                                )
                                .bind(timer_id)
                                .execute(&mut **tx)
                                .await?;
                            } else {
                                sqlx::query("DELETE FROM sla_timers WHERE id = $1")
                                    .bind(timer_id)
                                    .execute(&mut **tx)
                                    .await?;
                            }
                            if fresh {
                                if committed.event_ids.is_empty() {
                                    Self::before_events(tx).await?;
                                }
                                Self::insert_events(tx, vec![event], committed).await?;
                            }
                        }
                        LevelsWrite::ReleaseSlaTimer { id } => {
                            sqlx::query("UPDATE sla_timers SET locked_until = NULL WHERE id = $1")
                                .bind(id)
                                .execute(&mut **tx)
                                .await?;
                        }
                        LevelsWrite::PutSlaState(s) => {
                            sqlx::query(
                                "INSERT INTO sla_states (conversation_id, workspace_id, policy_id, next_due_at, \
                                 at_risk_from, breached, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                                 ON CONFLICT (conversation_id) DO UPDATE SET policy_id = excluded.policy_id, \
                                 next_due_at = excluded.next_due_at, at_risk_from = excluded.at_risk_from, \
                                 breached = excluded.breached, updated_at = excluded.updated_at",
                            )
                            .bind(s.conversation_id)
                            .bind(s.workspace_id)
                            .bind(s.policy_id)
                            .bind(opt_to_ms(s.next_due_at))
                            .bind(opt_to_ms(s.at_risk_from))
                            .bind(s.breached)
                            .bind(to_ms(s.updated_at))
                            .execute(&mut **tx)
                            .await?;
                        }
                        LevelsWrite::DeleteSlaState { conversation_id } => {
                            sqlx::query("DELETE FROM sla_states WHERE conversation_id = $1")
                                .bind(conversation_id)
                                .execute(&mut **tx)
                                .await?;
                        }
                        LevelsWrite::ScheduleMessage(m) => {
                            sqlx::query(
                                "INSERT INTO scheduled_messages (workspace_id, conversation_id, kind, resolved_at, \
                                 due_at, expires_at, state, detail, message_id, attempts, created_at) \
                                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10) \
                                 ON CONFLICT (conversation_id, kind, resolved_at) DO NOTHING",
                            )
                            .bind(m.workspace_id)
                            .bind(m.conversation_id)
                            .bind(m.kind)
                            .bind(to_ms(m.resolved_at))
                            .bind(to_ms(m.due_at))
                            .bind(to_ms(m.expires_at))
                            .bind(m.state)
                            .bind(m.detail)
                            .bind(m.message_id)
                            .bind(to_ms(m.created_at))
                            .execute(&mut **tx)
                            .await?;
                        }
                        LevelsWrite::SetScheduledState { id, state, detail, message_id } => {
                            sqlx::query(
                                "UPDATE scheduled_messages SET state = $2, detail = $3, \
                                 message_id = COALESCE($4, message_id), locked_until = NULL WHERE id = $1",
                            )
                            .bind(id)
                            .bind(state)
                            .bind(detail)
                            .bind(message_id)
                            .execute(&mut **tx)
                            .await?;
                        }
                        LevelsWrite::SetScheduledStateFor { conversation_id, kind, from_state, state } => {
                            sqlx::query(
                                "UPDATE scheduled_messages SET state = $4 \
                                 WHERE conversation_id = $1 AND kind = $2 AND state = $3",
                            )
                            .bind(conversation_id)
                            .bind(kind)
                            .bind(from_state)
                            .bind(state)
                            .execute(&mut **tx)
                            .await?;
                        }
                        LevelsWrite::PutReportRow(r) => Self::put_report_rows(tx, vec![r]).await?,
                        LevelsWrite::PutContribution(c) => Self::put_contributions(tx, vec![c]).await?,
                        LevelsWrite::SetOutboxPayload { id, payload } => {
                            sqlx::query("UPDATE outbox SET payload = $2 WHERE id = $1")
                                .bind(id)
                                .bind(json_text(&payload))
                                .execute(&mut **tx)
                                .await?;
                        }
                        LevelsWrite::ClearRevisit { conversation_id } => {
                            sqlx::query("UPDATE report_contributions SET revisit_at = NULL WHERE conversation_id = $1")
                                .bind(conversation_id)
                                .execute(&mut **tx)
                                .await?;
                        }
                        LevelsWrite::PutSurgeDetector { detector_key, workspace_id, state, at } => {
                            sqlx::query(
                                "INSERT INTO surge_detectors (detector_key, workspace_id, state, updated_at) \
                                 VALUES ($1, $2, $3, $4) ON CONFLICT (detector_key) DO UPDATE SET \
                                 state = excluded.state, updated_at = excluded.updated_at",
                            )
                            .bind(detector_key)
                            .bind(workspace_id)
                            .bind(json_text(&state))
                            .bind(to_ms(at))
                            .execute(&mut **tx)
                            .await?;
                        }
                        LevelsWrite::PutKnownIssue(k) => {
                            sqlx::query(
                                "INSERT INTO known_issues (id, workspace_id, issue, created_by, created_at, updated_at) \
                                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET \
                                 issue = excluded.issue, updated_at = excluded.updated_at",
                            )
                            .bind(k.id)
                            .bind(k.workspace_id)
                            .bind(json_text(&k.issue))
                            .bind(k.created_by)
                            .bind(to_ms(k.created_at))
                            .bind(to_ms(k.updated_at))
                            .execute(&mut **tx)
                            .await?;
                        }
                        LevelsWrite::DeleteKnownIssue { id } => {
                            sqlx::query("DELETE FROM known_issue_links WHERE known_issue_id = $1")
                                .bind(id.clone())
                                .execute(&mut **tx)
                                .await?;
                            let done = sqlx::query("DELETE FROM known_issues WHERE id = $1")
                                .bind(id)
                                .execute(&mut **tx)
                                .await?;
                            if done.rows_affected() == 0 {
                                return Err(StoreError::NotFound("known issue"));
                            }
                        }
                        LevelsWrite::LinkKnownIssue(l) => {
                            sqlx::query(
                                "INSERT INTO known_issue_links (known_issue_id, conversation_id, workspace_id, at, \
                                 answered_at) VALUES ($1, $2, $3, $4, $5) \
                                 ON CONFLICT (known_issue_id, conversation_id) DO NOTHING",
                            )
                            .bind(l.known_issue_id)
                            .bind(l.conversation_id)
                            .bind(l.workspace_id)
                            .bind(to_ms(l.at))
                            .bind(opt_to_ms(l.answered_at))
                            .execute(&mut **tx)
                            .await?;
                        }
                        LevelsWrite::MarkKnownIssueAnswered { known_issue_id, conversation_id, at } => {
                            sqlx::query(
                                "UPDATE known_issue_links SET answered_at = $3 \
                                 WHERE known_issue_id = $1 AND conversation_id = $2",
                            )
                            .bind(known_issue_id)
                            .bind(conversation_id)
                            .bind(to_ms(at))
                            .execute(&mut **tx)
                            .await?;
                        }
                    }
                    Ok(())
                }
            }

            #[async_trait]
            impl ServiceLevels for $Store {
                async fn status_changes_of(&self, conversation_ids: &[String]) -> StoreResult<Vec<StatusChange>> {
                    let rows = self
                        .rows_of_conversations(
                            "SELECT workspace_id, conversation_id, at, from_status, to_status, user_id, event_id \
                             FROM status_changes",
                            conversation_ids,
                            "conversation_id, at, id",
                        )
                        .await?;
                    rows.iter()
                        .map(|r| {
                            Ok(StatusChange {
                                workspace_id: r.try_get(0)?,
                                conversation_id: r.try_get(1)?,
                                at: from_ms(r.try_get(2)?)?,
                                from_status: status(r.try_get(3)?)?,
                                to_status: status(r.try_get(4)?)?,
                                user_id: r.try_get(5)?,
                                event_id: r.try_get(6)?,
                            })
                        })
                        .collect()
                }

                async fn conversation_watches(&self, conversation_ids: &[String]) -> StoreResult<Vec<ConversationWatch>> {
                    let rows = self
                        .rows_of_conversations(
                            "SELECT conversation_id, workspace_id, status, last_inbound_at, updated_at \
                             FROM conversation_watch",
                            conversation_ids,
                            "conversation_id",
                        )
                        .await?;
                    rows.iter()
                        .map(|r| {
                            Ok(ConversationWatch {
                                conversation_id: r.try_get(0)?,
                                workspace_id: r.try_get(1)?,
                                status: status(r.try_get(2)?)?,
                                last_inbound_at: opt_from_ms(r.try_get(3)?)?,
                                updated_at: from_ms(r.try_get(4)?)?,
                            })
                        })
                        .collect()
                }

                async fn csat_of_conversations(&self, conversation_ids: &[String]) -> StoreResult<Vec<CsatRecord>> {
                    let select = format!("SELECT {CSAT_COLUMNS} FROM csat_ratings");
                    let rows = self.rows_of_conversations(&select, conversation_ids, "conversation_id, at, id").await?;
                    rows.iter().map(csat).collect()
                }

                async fn csat_ratings(
                    &self,
                    workspace_id: &str,
                    max_rating: u8,
                    since: Timestamp,
                    limit: u32,
                ) -> StoreResult<Vec<CsatRecord>> {
                    let sql = format!(
                        "SELECT {CSAT_COLUMNS} FROM csat_ratings WHERE workspace_id = $1 AND rating <= $2 AND at >= $3 \
                         ORDER BY at DESC, id DESC LIMIT $4"
                    );
                    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(workspace_id.to_owned())
                        .bind(i64::from(max_rating))
                        .bind(to_ms(since))
                        .bind(i64::from(limit.clamp(1, 1000)))
                        .fetch_all(self.reader())
                        .await?;
                    rows.iter().map(csat).collect()
                }

                async fn service_level_settings(
                    &self,
                    workspace_id: &str,
                ) -> StoreResult<Option<ServiceLevelSettingsRecord>> {
                    let row = sqlx::query(
                        "SELECT workspace_id, policies, settings, updated_at FROM service_level_settings \
                         WHERE workspace_id = $1",
                    )
                    .bind(workspace_id.to_owned())
                    .fetch_optional(self.reader())
                    .await?;
                    row.map(|r| {
                        let policies: String = r.try_get(1)?;
                        let settings: String = r.try_get(2)?;
                        Ok(ServiceLevelSettingsRecord {
                            workspace_id: r.try_get(0)?,
                            policies: json_value(&policies, "sla policies")?,
                            settings: json_value(&settings, "service-level settings")?,
                            updated_at: from_ms(r.try_get(3)?)?,
                        })
                    })
                    .transpose()
                }

                async fn claim_sla_timers(
                    &self,
                    now: Timestamp,
                    lease_ms: i64,
                    limit: u32,
                ) -> StoreResult<Vec<SlaTimerRecord>> {
                    let sql = Self::claim_sql(
                        "sla_timers",
                        "next_at <= $2 AND (locked_until IS NULL OR locked_until <= $2)",
                        TIMER_COLUMNS,
                    );
                    let mut tx = self.begin_write().await?;
                    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(to_ms(now) + lease_ms)
                        .bind(to_ms(now))
                        .bind(i64::from(limit.max(1)))
                        .fetch_all(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    let mut timers = rows.iter().map(timer).collect::<StoreResult<Vec<_>>>()?;
                    timers.sort_by_key(|t| t.id);
                    Ok(timers)
                }

                async fn sla_timers_of(&self, conversation_id: &str) -> StoreResult<Vec<SlaTimerRecord>> {
                    let sql = format!("SELECT {TIMER_COLUMNS} FROM sla_timers WHERE conversation_id = $1 ORDER BY id");
                    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(conversation_id.to_owned())
                        .fetch_all(self.reader())
                        .await?;
                    rows.iter().map(timer).collect()
                }

                async fn sla_fired_of(&self, conversation_id: &str) -> StoreResult<Vec<(String, String)>> {
                    Ok(sqlx::query_as(
                        "SELECT target_key, kind FROM sla_fired WHERE conversation_id = $1 ORDER BY at, target_key",
                    )
                    .bind(conversation_id.to_owned())
                    .fetch_all(self.reader())
                    .await?)
                }

                async fn sla_states(&self, conversation_ids: &[String]) -> StoreResult<Vec<SlaStateRecord>> {
                    let rows = self
                        .rows_of_conversations(
                            "SELECT conversation_id, workspace_id, policy_id, next_due_at, at_risk_from, breached, \
                             updated_at FROM sla_states",
                            conversation_ids,
                            "conversation_id",
                        )
                        .await?;
                    rows.iter()
                        .map(|r| {
                            Ok(SlaStateRecord {
                                conversation_id: r.try_get(0)?,
                                workspace_id: r.try_get(1)?,
                                policy_id: r.try_get(2)?,
                                next_due_at: opt_from_ms(r.try_get(3)?)?,
                                at_risk_from: opt_from_ms(r.try_get(4)?)?,
                                breached: r.try_get(5)?,
                                updated_at: from_ms(r.try_get(6)?)?,
                            })
                        })
                        .collect()
                }

                async fn claim_scheduled_messages(
                    &self,
                    now: Timestamp,
                    lease_ms: i64,
                    limit: u32,
                ) -> StoreResult<Vec<ScheduledMessage>> {
                    let sql = Self::claim_sql(
                        "scheduled_messages",
                        "state = 'scheduled' AND due_at <= $2 AND (locked_until IS NULL OR locked_until <= $2)",
                        SCHEDULED_COLUMNS,
                    );
                    let mut tx = self.begin_write().await?;
                    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(to_ms(now) + lease_ms)
                        .bind(to_ms(now))
                        .bind(i64::from(limit.max(1)))
                        .fetch_all(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    let mut items = rows.iter().map(scheduled).collect::<StoreResult<Vec<_>>>()?;
                    items.sort_by_key(|m| m.id);
                    Ok(items)
                }

                async fn scheduled_messages_of_conversations(
                    &self,
                    conversation_ids: &[String],
                ) -> StoreResult<Vec<ScheduledMessage>> {
                    let select = format!("SELECT {SCHEDULED_COLUMNS} FROM scheduled_messages");
                    let rows = self.rows_of_conversations(&select, conversation_ids, "id").await?;
                    rows.iter().map(scheduled).collect()
                }

                async fn report_rows(
                    &self,
                    workspace_id: &str,
                    grain: &str,
                    dimension: &str,
                    from: i64,
                    to: i64,
                ) -> StoreResult<Vec<ReportRow>> {
                    let rows = sqlx::query(
                        "SELECT workspace_id, grain, bucket, dimension, value, figures FROM report_rows \
                         WHERE workspace_id = $1 AND grain = $2 AND dimension = $3 AND bucket >= $4 AND bucket < $5 \
                         ORDER BY value, bucket",
                    )
                    .bind(workspace_id.to_owned())
                    .bind(grain.to_owned())
                    .bind(dimension.to_owned())
                    .bind(from)
                    .bind(to)
                    .fetch_all(self.reader())
                    .await?;
                    rows.iter().map(report_row).collect()
                }

                async fn report_bucket(
                    &self,
                    workspace_id: &str,
                    grain: &str,
                    bucket: i64,
                ) -> StoreResult<Vec<ReportRow>> {
                    let rows = sqlx::query(
                        "SELECT workspace_id, grain, bucket, dimension, value, figures FROM report_rows \
                         WHERE workspace_id = $1 AND grain = $2 AND bucket = $3",
                    )
                    .bind(workspace_id.to_owned())
                    .bind(grain.to_owned())
                    .bind(bucket)
                    .fetch_all(self.reader())
                    .await?;
                    rows.iter().map(report_row).collect()
                }

                async fn contributions(&self, conversation_ids: &[String]) -> StoreResult<Vec<ContributionRecord>> {
                    let rows = self
                        .rows_of_conversations(
                            "SELECT conversation_id, workspace_id, contribution, revisit_at FROM report_contributions",
                            conversation_ids,
                            "conversation_id",
                        )
                        .await?;
                    rows.iter()
                        .map(|r| {
                            let text: String = r.try_get(2)?;
                            Ok(ContributionRecord {
                                conversation_id: r.try_get(0)?,
                                workspace_id: r.try_get(1)?,
                                contribution: json_value(&text, "report contribution")?,
                                revisit_at: opt_from_ms(r.try_get(3)?)?,
                            })
                        })
                        .collect()
                }

                async fn contributions_due(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<String>> {
                    Ok(sqlx::query_scalar(
                        "SELECT conversation_id FROM report_contributions WHERE revisit_at <= $1 \
                         ORDER BY revisit_at LIMIT $2",
                    )
                    .bind(to_ms(now))
                    .bind(i64::from(limit.max(1)))
                    .fetch_all(self.reader())
                    .await?)
                }

                async fn surge_detectors(&self, workspace_id: &str) -> StoreResult<Vec<(String, serde_json::Value)>> {
                    let rows: Vec<(String, String)> = sqlx::query_as(
                        "SELECT detector_key, state FROM surge_detectors WHERE workspace_id = $1 ORDER BY detector_key",
                    )
                    .bind(workspace_id.to_owned())
                    .fetch_all(self.reader())
                    .await?;
                    rows.into_iter().map(|(k, s)| Ok((k, json_value(&s, "surge detector")?))).collect()
                }

                async fn all_surge_detectors(&self) -> StoreResult<Vec<(String, String, serde_json::Value)>> {
                    let rows: Vec<(String, String, String)> = sqlx::query_as(
                        "SELECT detector_key, workspace_id, state FROM surge_detectors ORDER BY detector_key",
                    )
                    .fetch_all(self.reader())
                    .await?;
                    rows.into_iter().map(|(k, w, s)| Ok((k, w, json_value(&s, "surge detector")?))).collect()
                }

                async fn known_issues(&self, workspace_id: &str) -> StoreResult<Vec<KnownIssueRecord>> {
                    let rows = sqlx::query(
                        "SELECT id, workspace_id, issue, created_by, created_at, updated_at FROM known_issues \
                         WHERE workspace_id = $1 ORDER BY created_at DESC, id",
                    )
                    .bind(workspace_id.to_owned())
                    .fetch_all(self.reader())
                    .await?;
                    rows.iter().map(known_issue).collect()
                }

                async fn known_issue(&self, id: &str) -> StoreResult<Option<KnownIssueRecord>> {
                    let row = sqlx::query(
                        "SELECT id, workspace_id, issue, created_by, created_at, updated_at FROM known_issues \
                         WHERE id = $1",
                    )
                    .bind(id.to_owned())
                    .fetch_optional(self.reader())
                    .await?;
                    row.as_ref().map(known_issue).transpose()
                }

                async fn known_issue_links(&self, known_issue_id: &str) -> StoreResult<Vec<KnownIssueLink>> {
                    let rows = sqlx::query(
                        "SELECT known_issue_id, conversation_id, workspace_id, at, answered_at FROM known_issue_links \
                         WHERE known_issue_id = $1 ORDER BY at, conversation_id",
                    )
                    .bind(known_issue_id.to_owned())
                    .fetch_all(self.reader())
                    .await?;
                    rows.iter().map(link).collect()
                }

                async fn known_issue_links_of(&self, conversation_id: &str) -> StoreResult<Vec<KnownIssueLink>> {
                    let rows = sqlx::query(
                        "SELECT known_issue_id, conversation_id, workspace_id, at, answered_at FROM known_issue_links \
                         WHERE conversation_id = $1 ORDER BY at, known_issue_id",
                    )
                    .bind(conversation_id.to_owned())
                    .fetch_all(self.reader())
                    .await?;
                    rows.iter().map(link).collect()
                }

                async fn status_actor(&self, conversation_id: &str, at: Timestamp) -> StoreResult<Option<String>> {
                    let actor: Option<Option<String>> = sqlx::query_scalar(
                        "SELECT actor_id FROM audit_log WHERE subject_id = $1 AND at = $2 \
                         AND subject_type = 'conversation' ORDER BY id DESC LIMIT 1",
                    )
                    .bind(conversation_id.to_owned())
                    .bind(to_ms(at))
                    .fetch_optional(self.reader())
                    .await?;
                    Ok(actor.flatten())
                }

                async fn inbound_texts(
                    &self,
                    workspace_id: &str,
                    channel_id: Option<&str>,
                    from: Timestamp,
                    to: Timestamp,
                    limit: u32,
                ) -> StoreResult<Vec<String>> {
                    Ok(sqlx::query_scalar(
                        "SELECT text FROM messages WHERE workspace_id = $1 AND direction = 'inbound' \
                         AND ($2 IS NULL OR channel_id = $2) AND created_at >= $3 AND created_at < $4 \
                         ORDER BY created_at DESC LIMIT $5",
                    )
                    .bind(workspace_id.to_owned())
                    .bind(channel_id.map(str::to_owned))
                    .bind(to_ms(from))
                    .bind(to_ms(to))
                    .bind(i64::from(limit.clamp(1, 5000)))
                    .fetch_all(self.reader())
                    .await?)
                }

                async fn open_load(&self, workspace_id: &str) -> StoreResult<Vec<(String, i64)>> {
                    Ok(sqlx::query_as(
                        "SELECT assignee_id, COUNT(*) FROM conversations WHERE workspace_id = $1 \
                         AND assignee_id IS NOT NULL AND status <> 'resolved' AND merged_into_id IS NULL \
                         GROUP BY assignee_id ORDER BY assignee_id",
                    )
                    .bind(workspace_id.to_owned())
                    .fetch_all(self.reader())
                    .await?)
                }
            }
        }
    };
}

pub(crate) use impl_service_levels;
