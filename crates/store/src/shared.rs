//! The repository implementations shared by both backends.
//!
//! sqlx accepts `$1` placeholders on SQLite as well as PostgreSQL, and the two
//! schemas are kept identical, so nearly every statement reads the same on
//! both. Rather than write each twice, or fight sqlx's generic bounds, this
//! macro is expanded once per backend with its concrete store and database
//! types. What differs (transaction start, event ordering, wake-ups) each
//! backend supplies as inherent methods the macro calls:
//!
//! - `self.reader()` / `self.writer()`: the pools to read from and write to;
//! - `self.begin_write()`: a transaction ready for writes;
//! - `Self::before_events(&mut tx)`: run once before the first event row;
//! - `self.before_commit(&mut tx, &committed)` and `self.after_commit(&committed)`;
//! - `self.recent_events()`: the newest events in memory, for a backend
//!   whose event ids follow commit order (`None` for the others).

/// Binds a conversation's columns in the order of `CONVERSATION_WRITE_COLUMNS`,
/// with `$bind` (`bind` on a query, `push_bind` on a multi-row VALUES row).
macro_rules! bind_conversation {
    ($target:expr, $bind:ident, $c:expr) => {{
        let c = $c;
        let t = &c.timeline;
        $target
            .$bind(c.id.clone())
            .$bind(c.workspace_id.clone())
            .$bind(c.channel_id.clone())
            .$bind(c.contact_id.clone())
            .$bind(c.kind.as_str())
            .$bind(c.status.as_str())
            .$bind(c.priority.as_str())
            .$bind(c.assignee_id.clone())
            .$bind(c.team_id.clone())
            .$bind(json_text(&c.custom_attributes))
            .$bind(c.platform_thread_id.clone())
            .$bind(c.subject.clone())
            .$bind(c.last_message_preview.clone())
            .$bind(c.language.clone())
            .$bind(c.sentiment.map(|s| s.as_str()))
            .$bind(c.intent.clone())
            .$bind(opt_to_ms(c.snoozed_until))
            .$bind(opt_to_ms(t.first_inbound_at))
            .$bind(opt_to_ms(t.last_inbound_at))
            .$bind(opt_to_ms(t.last_outbound_at))
            .$bind(opt_to_ms(t.first_reply_at))
            .$bind(opt_to_ms(t.awaiting_reply_since))
            .$bind(opt_to_ms(t.resolved_at))
            .$bind(opt_to_ms(t.reopened_at))
            .$bind(opt_to_ms(t.paused_since))
            .$bind(t.paused_ms)
            .$bind(t.human_replies)
            .$bind(to_ms(t.last_activity_at))
            .$bind(to_ms(c.created_at))
            .$bind(to_ms(c.updated_at))
            .$bind(c.version)
            .$bind(c.linked_conversation_id.clone())
            .$bind(c.merged_into_id.clone())
    }};
}

pub(crate) use bind_conversation;

/// The payloads of `$first` and of the writes of the same variant that
/// directly follow it in the peekable `$writes` (one multi-row statement's worth).
macro_rules! take_run {
    ($writes:ident, $first:ident, $Variant:path) => {{
        let mut run = vec![$first];
        while let Some($Variant(_)) = $writes.peek() {
            if let Some($Variant(next)) = $writes.next() {
                run.push(next);
            }
        }
        run
    }};
    // A variant of a nested write enum (`Write::Levels(LevelsWrite::PutWatch(…))`).
    ($writes:ident, $first:ident, $Outer:path, $Variant:path) => {{
        let mut run = vec![$first];
        while let Some($Outer($Variant(_))) = $writes.peek() {
            if let Some($Outer($Variant(next))) = $writes.next() {
                run.push(next);
            }
        }
        run
    }};
}

pub(crate) use take_run;

/// The rows of a multi-row upsert, keeping only the last row of each key:
/// PostgreSQL refuses a statement that would update one row twice, and the
/// last write of a key is the one that stands anyway. Order is otherwise kept.
pub(crate) fn last_per_key<T, K: std::hash::Hash + Eq>(rows: Vec<T>, key: impl Fn(&T) -> K) -> Vec<T> {
    let mut seen = std::collections::HashSet::with_capacity(rows.len());
    let mut kept: Vec<T> = rows.into_iter().rev().filter(|row| seen.insert(key(row))).collect();
    kept.reverse();
    kept
}

macro_rules! impl_repositories {
    ($Store:ty, $Db:ty) => {
        use async_trait::async_trait;
        use hark_domain::*;
        use sqlx::{QueryBuilder, Row};


        use crate::rows::*;
        use crate::time::{opt_to_ms, to_ms};
        use crate::*;

        type Tx = sqlx::Transaction<'static, $Db>;

        /// Rows per multi-row statement: 21 columns × 400 stays well under
        /// both databases' limits on bound parameters.
        const ROWS_PER_STATEMENT: usize = 400;

        const CONVERSATION_COLUMNS: &str = "c.id, c.workspace_id, c.channel_id, c.contact_id, c.kind, \
            c.status, c.priority, c.assignee_id, c.team_id, c.custom_attributes, c.platform_thread_id, \
            c.subject, c.last_message_preview, c.language, c.sentiment, c.intent, c.snoozed_until, \
            c.first_inbound_at, c.last_inbound_at, c.last_outbound_at, c.first_reply_at, \
            c.awaiting_reply_since, c.resolved_at, c.reopened_at, c.paused_since, c.paused_ms, \
            c.human_replies, c.last_activity_at, c.linked_conversation_id, c.merged_into_id, c.created_at, \
            c.updated_at, c.version";

        const CHANNEL_SELECT: &str = "SELECT id, workspace_id, network, name, handle, external_id, \
            credentials IS NOT NULL AS has_credentials, health, health_detail, failure_count, health_changed_at, \
            enabled, settings, created_at, updated_at FROM channels";

        fn json_text(value: &impl serde::Serialize) -> String {
            // Serialising maps and values of plain JSON cannot fail.
            serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
        }

        /// Escapes LIKE wildcards in user text and wraps it for a substring match.
        fn like_pattern(text: &str) -> String {
            let escaped = text.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            format!("%{escaped}%")
        }

        /// Pushes a parenthesised list of bound ids: `($1, $2, …)`.
        fn push_ids(q: &mut QueryBuilder<$Db>, ids: &[String]) {
            q.push("(");
            let mut list = q.separated(", ");
            for id in ids {
                list.push_bind(id.clone());
            }
            q.push(")");
        }

        /// The WHERE conditions of a conversation filter, after the workspace condition.
        fn push_conversation_filter(q: &mut QueryBuilder<$Db>, f: &ConversationFilter) {
            if !f.include_merged {
                q.push(" AND c.merged_into_id IS NULL");
            }
            if !f.statuses.is_empty() {
                q.push(" AND c.status IN (");
                let mut list = q.separated(", ");
                for s in &f.statuses {
                    list.push_bind(s.as_str());
                }
                q.push(")");
            }
            if let Some(kind) = f.kind {
                q.push(" AND c.kind = ").push_bind(kind.as_str());
            }
            if let Some(channel_id) = &f.channel_id {
                q.push(" AND c.channel_id = ").push_bind(channel_id.clone());
            }
            if let Some(network) = f.network {
                q.push(" AND c.channel_id IN (SELECT id FROM channels WHERE network = ")
                    .push_bind(network.as_str()).push(")");
            }
            match &f.assignee {
                Some(AssigneeFilter::Nobody) => {
                    q.push(" AND c.assignee_id IS NULL");
                }
                Some(AssigneeFilter::User(id)) => {
                    q.push(" AND c.assignee_id = ").push_bind(id.clone());
                }
                None => {}
            }
            if let Some(team_id) = &f.team_id {
                q.push(" AND c.team_id = ").push_bind(team_id.clone());
            }
            if let Some(label) = &f.label {
                q.push(" AND EXISTS (SELECT 1 FROM conversation_labels cl JOIN labels l ON l.id = cl.label_id \
                        WHERE cl.conversation_id = c.id AND l.name = ").push_bind(label.clone()).push(")");
            }
            if let Some(contact_id) = &f.contact_id {
                q.push(" AND c.contact_id = ").push_bind(contact_id.clone());
            }
            if let Some(thread) = &f.platform_thread_id {
                q.push(" AND c.platform_thread_id = ").push_bind(thread.clone());
            }
            if let Some(language) = &f.language {
                q.push(" AND c.language = ").push_bind(language.clone());
            }
            if let Some(sentiment) = f.sentiment {
                q.push(" AND c.sentiment = ").push_bind(sentiment.as_str());
            }
            if let Some(intent) = &f.intent {
                q.push(" AND c.intent = ").push_bind(intent.clone());
            }
            if let Some(priority) = f.priority {
                q.push(" AND c.priority = ").push_bind(priority.as_str());
            }
            if f.needs_reply {
                q.push(" AND c.awaiting_reply_since IS NOT NULL");
            }
            if let Some(since) = f.active_since {
                q.push(" AND c.last_activity_at >= ").push_bind(to_ms(since));
            }
            if let Some(until) = f.active_until {
                q.push(" AND c.last_activity_at < ").push_bind(to_ms(until));
            }
            match f.sla {
                Some(SlaFilter::AtRisk { now }) => {
                    q.push(" AND EXISTS (SELECT 1 FROM sla_states s WHERE s.conversation_id = c.id AND s.breached = 0 \
                            AND s.at_risk_from <= ").push_bind(to_ms(now)).push(")");
                }
                Some(SlaFilter::Breached) => {
                    q.push(" AND EXISTS (SELECT 1 FROM sla_states s WHERE s.conversation_id = c.id AND s.breached > 0)");
                }
                None => {}
            }
            if let Some(ids) = &f.ids {
                if ids.is_empty() {
                    q.push(" AND 1 = 0");
                } else {
                    q.push(" AND c.id IN ");
                    push_ids(q, ids);
                }
            }
        }

        impl $Store {
            async fn labels_of(&self, conversation_ids: &[String]) -> StoreResult<std::collections::HashMap<String, Vec<String>>> {
                let mut out: std::collections::HashMap<String, Vec<String>> = Default::default();
                if conversation_ids.is_empty() {
                    return Ok(out);
                }
                let mut q = QueryBuilder::<$Db>::new(
                    "SELECT cl.conversation_id, l.name FROM conversation_labels cl \
                     JOIN labels l ON l.id = cl.label_id WHERE cl.conversation_id IN (",
                );
                let mut list = q.separated(", ");
                for id in conversation_ids {
                    list.push_bind(id.clone());
                }
                q.push(") ORDER BY l.name");
                for row in q.build().fetch_all(self.reader()).await? {
                    let conversation_id: String = row.try_get(0)?;
                    let name: String = row.try_get(1)?;
                    out.entry(conversation_id).or_default().push(name);
                }
                Ok(out)
            }

            async fn conversations_from_rows(&self, rows: Vec<ConversationRow>) -> StoreResult<Vec<Conversation>> {
                let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
                let mut labels = self.labels_of(&ids).await?;
                rows.into_iter()
                    .map(|row| {
                        let l = labels.remove(&row.id).unwrap_or_default();
                        row.into_domain(l)
                    })
                    .collect()
            }

            async fn identities_of(&self, contact_ids: &[String]) -> StoreResult<std::collections::HashMap<String, Vec<Identity>>> {
                let mut out: std::collections::HashMap<String, Vec<Identity>> = Default::default();
                if contact_ids.is_empty() {
                    return Ok(out);
                }
                let mut q = QueryBuilder::<$Db>::new(
                    "SELECT id, contact_id, network, platform_user_id, handle, display_name \
                     FROM identities WHERE contact_id IN (",
                );
                let mut list = q.separated(", ");
                for id in contact_ids {
                    list.push_bind(id.clone());
                }
                q.push(") ORDER BY network, handle");
                for row in q.build_query_as::<IdentityRow>().fetch_all(self.reader()).await? {
                    out.entry(row.contact_id.clone()).or_default().push(row.into_domain()?);
                }
                Ok(out)
            }

            async fn contacts_from_rows(&self, rows: Vec<ContactRow>) -> StoreResult<Vec<Contact>> {
                let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
                let mut identities = self.identities_of(&ids).await?;
                rows.into_iter()
                    .map(|row| {
                        let i = identities.remove(&row.id).unwrap_or_default();
                        row.into_domain(i)
                    })
                    .collect()
            }

            async fn team_members(&self, team_id: &str) -> StoreResult<Vec<String>> {
                let rows = sqlx::query("SELECT user_id FROM team_members WHERE team_id = $1 ORDER BY user_id")
                    .bind(team_id.to_owned())
                    .fetch_all(self.reader())
                    .await?;
                rows.iter().map(|r| r.try_get::<String, _>(0).map_err(Into::into)).collect()
            }

            async fn apply(tx: &mut Tx, write: Write, committed: &mut Committed) -> StoreResult<()> {
                match write {
                    Write::InsertWorkspace(w) => {
                        sqlx::query("INSERT INTO workspaces (id, name, time_zone, created_at) VALUES ($1, $2, $3, $4)")
                            .bind(w.id).bind(w.name).bind(w.time_zone).bind(to_ms(w.created_at))
                            .execute(&mut **tx).await?;
                    }
                    Write::InsertUser { user: u, password_hash } => {
                        sqlx::query(
                            "INSERT INTO users (id, workspace_id, email, name, role, locale, password_hash, active, \
                             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                        )
                        .bind(u.id).bind(u.workspace_id).bind(u.email.to_lowercase()).bind(u.name)
                        .bind(u.role.as_str()).bind(u.locale).bind(password_hash).bind(u.active)
                        .bind(to_ms(u.created_at)).bind(to_ms(u.updated_at))
                        .execute(&mut **tx).await?;
                    }
                    Write::UpdateUser(u) => {
                        let done = sqlx::query(
                            "UPDATE users SET email = $2, name = $3, role = $4, locale = $5, active = $6, updated_at = $7 \
                             WHERE id = $1",
                        )
                        .bind(u.id).bind(u.email.to_lowercase()).bind(u.name).bind(u.role.as_str())
                        .bind(u.locale).bind(u.active).bind(to_ms(u.updated_at))
                        .execute(&mut **tx).await?;
                        expect_one(done.rows_affected(), "user")?;
                    }
                    Write::SetPassword { user_id, password_hash } => {
                        let done = sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
                            .bind(user_id).bind(password_hash).execute(&mut **tx).await?;
                        expect_one(done.rows_affected(), "user")?;
                    }
                    Write::InsertTeam(t) => {
                        sqlx::query("INSERT INTO teams (id, workspace_id, name, description, created_at) VALUES ($1, $2, $3, $4, $5)")
                            .bind(t.id.clone()).bind(t.workspace_id).bind(t.name).bind(t.description)
                            .bind(to_ms(t.created_at))
                            .execute(&mut **tx).await?;
                        Self::replace_team_members(tx, &t.id, &t.member_ids).await?;
                    }
                    Write::UpdateTeam(t) => {
                        let done = sqlx::query("UPDATE teams SET name = $2, description = $3 WHERE id = $1")
                            .bind(t.id.clone()).bind(t.name).bind(t.description)
                            .execute(&mut **tx).await?;
                        expect_one(done.rows_affected(), "team")?;
                        Self::replace_team_members(tx, &t.id, &t.member_ids).await?;
                    }
                    Write::DeleteTeam { id } => {
                        sqlx::query("UPDATE conversations SET team_id = NULL WHERE team_id = $1")
                            .bind(id.clone()).execute(&mut **tx).await?;
                        sqlx::query("DELETE FROM team_members WHERE team_id = $1").bind(id.clone()).execute(&mut **tx).await?;
                        let done = sqlx::query("DELETE FROM teams WHERE id = $1").bind(id).execute(&mut **tx).await?;
                        expect_one(done.rows_affected(), "team")?;
                    }
                    Write::InsertLabel(l) => {
                        sqlx::query("INSERT INTO labels (id, workspace_id, name, color, description) VALUES ($1, $2, $3, $4, $5)")
                            .bind(l.id).bind(l.workspace_id).bind(l.name).bind(l.color).bind(l.description)
                            .execute(&mut **tx).await?;
                    }
                    Write::UpdateLabel(l) => {
                        let done = sqlx::query("UPDATE labels SET name = $2, color = $3, description = $4 WHERE id = $1")
                            .bind(l.id).bind(l.name).bind(l.color).bind(l.description)
                            .execute(&mut **tx).await?;
                        expect_one(done.rows_affected(), "label")?;
                    }
                    Write::DeleteLabel { id } => {
                        sqlx::query("DELETE FROM conversation_labels WHERE label_id = $1").bind(id.clone()).execute(&mut **tx).await?;
                        let done = sqlx::query("DELETE FROM labels WHERE id = $1").bind(id).execute(&mut **tx).await?;
                        expect_one(done.rows_affected(), "label")?;
                    }
                    Write::InsertChannel { channel: c, credentials } => {
                        sqlx::query(
                            "INSERT INTO channels (id, workspace_id, network, name, handle, external_id, credentials, \
                             health, health_detail, enabled, settings, created_at, updated_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                        )
                        .bind(c.id).bind(c.workspace_id).bind(c.network.as_str()).bind(c.name).bind(c.handle)
                        .bind(c.external_id).bind(credentials).bind(c.health.as_str()).bind(c.health_detail)
                        .bind(c.enabled).bind(json_text(&c.settings)).bind(to_ms(c.created_at)).bind(to_ms(c.updated_at))
                        .execute(&mut **tx).await?;
                    }
                    Write::UpdateChannel { channel: c, credentials } => {
                        let done = sqlx::query(
                            "UPDATE channels SET name = $2, handle = $3, external_id = $4, \
                             credentials = COALESCE($5, credentials), health = $6, health_detail = $7, enabled = $8, \
                             settings = $9, updated_at = $10 WHERE id = $1",
                        )
                        .bind(c.id).bind(c.name).bind(c.handle).bind(c.external_id).bind(credentials)
                        .bind(c.health.as_str()).bind(c.health_detail).bind(c.enabled).bind(json_text(&c.settings))
                        .bind(to_ms(c.updated_at))
                        .execute(&mut **tx).await?;
                        expect_one(done.rows_affected(), "channel")?;
                    }
                    Write::InsertContact(c) => Self::insert_contacts(tx, vec![c]).await?,
                    Write::UpdateContact(c) => {
                        let done = sqlx::query(
                            "UPDATE contacts SET display_name = $2, email = $3, phone = $4, notes = $5, \
                             custom_attributes = $6, updated_at = $7 WHERE id = $1",
                        )
                        .bind(c.id).bind(c.display_name).bind(c.email).bind(c.phone).bind(c.notes)
                        .bind(json_text(&c.custom_attributes)).bind(to_ms(c.updated_at))
                        .execute(&mut **tx).await?;
                        expect_one(done.rows_affected(), "contact")?;
                    }
                    Write::InsertIdentity(i) => {
                        let row = sqlx::query("SELECT workspace_id FROM contacts WHERE id = $1")
                            .bind(i.contact_id.clone()).fetch_optional(&mut **tx).await?
                            .ok_or(StoreError::NotFound("contact"))?;
                        let workspace_id: String = row.try_get(0)?;
                        Self::insert_identities(tx, vec![(workspace_id, i)]).await?;
                    }
                    Write::MergeContacts { into_id, from_id, at } => {
                        for sql in [
                            "UPDATE identities SET contact_id = $1 WHERE contact_id = $2",
                            "UPDATE conversations SET contact_id = $1 WHERE contact_id = $2",
                            "UPDATE messages SET author_contact_id = $1 WHERE author_contact_id = $2",
                            "UPDATE contacts SET merged_into_id = $1 WHERE merged_into_id = $2",
                        ] {
                            sqlx::query(sql).bind(into_id.clone()).bind(from_id.clone()).execute(&mut **tx).await?;
                        }
                        let done = sqlx::query("UPDATE contacts SET merged_into_id = $1, updated_at = $3 WHERE id = $2")
                            .bind(into_id.clone()).bind(from_id).bind(to_ms(at)).execute(&mut **tx).await?;
                        expect_one(done.rows_affected(), "contact")?;
                        sqlx::query("UPDATE contacts SET updated_at = $2 WHERE id = $1")
                            .bind(into_id).bind(to_ms(at)).execute(&mut **tx).await?;
                    }
                    Write::InsertConversation(c) => Self::insert_conversations(tx, vec![c]).await?,
                    Write::UpdateConversation { conversation, expected_version } => {
                        Self::update_conversation(tx, conversation, expected_version).await?;
                    }
                    Write::SetConversationLabels { conversation_id, label_ids } => {
                        sqlx::query("DELETE FROM conversation_labels WHERE conversation_id = $1")
                            .bind(conversation_id.clone()).execute(&mut **tx).await?;
                        for label_id in label_ids {
                            sqlx::query("INSERT INTO conversation_labels (conversation_id, label_id) VALUES ($1, $2)")
                                .bind(conversation_id.clone()).bind(label_id).execute(&mut **tx).await?;
                        }
                    }
                    Write::InsertMessage(m) => {
                        sqlx::query(
                            "INSERT INTO messages (id, workspace_id, conversation_id, channel_id, direction, visibility, \
                             author_kind, author_user_id, author_contact_id, text, attachments, platform_message_id, \
                             platform_parent_id, delivery_status, delivery_error, language, sentiment, intent, \
                             created_at, recorded_at, personal_data) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)",
                        )
                        .bind(m.id).bind(m.workspace_id).bind(m.conversation_id).bind(m.channel_id)
                        .bind(m.direction.as_str()).bind(m.visibility.as_str()).bind(m.author_kind.as_str())
                        .bind(m.author_user_id).bind(m.author_contact_id).bind(m.text).bind(json_text(&m.attachments))
                        .bind(m.platform_message_id).bind(m.platform_parent_id).bind(m.delivery_status.as_str())
                        .bind(m.delivery_error).bind(m.language).bind(m.sentiment.map(|s| s.as_str()))
                        .bind(m.intent).bind(to_ms(m.created_at)).bind(to_ms(m.recorded_at))
                        .bind(json_text(&m.personal_data))
                        .execute(&mut **tx).await?;
                    }
                    Write::UpdateMessageDelivery { message_id, status, error } => {
                        let done = sqlx::query("UPDATE messages SET delivery_status = $2, delivery_error = $3 WHERE id = $1")
                            .bind(message_id).bind(status.as_str()).bind(error).execute(&mut **tx).await?;
                        expect_one(done.rows_affected(), "message")?;
                    }
                    Write::QueueApprovedMessage { message_id, at } => {
                        let done = sqlx::query(
                            "UPDATE messages SET delivery_status = 'queued', delivery_error = NULL, created_at = $2 \
                             WHERE id = $1 AND delivery_status = 'awaiting_approval'",
                        )
                        .bind(message_id).bind(to_ms(at)).execute(&mut **tx).await?;
                        expect_one(done.rows_affected(), "message awaiting approval")?;
                    }
                    Write::InsertSession(s) => {
                        sqlx::query(
                            "INSERT INTO sessions (id, user_id, csrf_token, user_agent, created_at, expires_at) \
                             VALUES ($1, $2, $3, $4, $5, $6)",
                        )
                        .bind(s.id).bind(s.user_id).bind(s.csrf_token).bind(s.user_agent)
                        .bind(to_ms(s.created_at)).bind(to_ms(s.expires_at))
                        .execute(&mut **tx).await?;
                    }
                    Write::DeleteSession { id } => {
                        sqlx::query("DELETE FROM sessions WHERE id = $1").bind(id).execute(&mut **tx).await?;
                    }
                    Write::DeleteExpiredSessions { now } => {
                        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(to_ms(now)).execute(&mut **tx).await?;
                    }
                    Write::InsertApiToken(t) => {
                        sqlx::query(
                            "INSERT INTO api_tokens (id, user_id, name, token_hash, created_at, last_used_at, revoked_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7)",
                        )
                        .bind(t.id).bind(t.user_id).bind(t.name).bind(t.token_hash).bind(to_ms(t.created_at))
                        .bind(opt_to_ms(t.last_used_at)).bind(opt_to_ms(t.revoked_at))
                        .execute(&mut **tx).await?;
                    }
                    Write::RevokeApiToken { id, user_id, at } => {
                        let done = sqlx::query(
                            "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $3) WHERE id = $1 AND user_id = $2",
                        )
                        .bind(id).bind(user_id).bind(to_ms(at)).execute(&mut **tx).await?;
                        expect_one(done.rows_affected(), "api token")?;
                    }
                    Write::TouchApiToken { id, at } => {
                        sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
                            .bind(id).bind(to_ms(at)).execute(&mut **tx).await?;
                    }
                    Write::EditMessage { message_id, text, at } => {
                        let done = sqlx::query("UPDATE messages SET text = $2, edited_at = $3 WHERE id = $1")
                            .bind(message_id).bind(text).bind(to_ms(at)).execute(&mut **tx).await?;
                        expect_one(done.rows_affected(), "message")?;
                    }
                    Write::RedactMessage { message_id, at } => {
                        let done = sqlx::query("UPDATE messages SET text = '', attachments = '[]', deleted_at = $2 WHERE id = $1")
                            .bind(message_id).bind(to_ms(at)).execute(&mut **tx).await?;
                        expect_one(done.rows_affected(), "message")?;
                    }
                    Write::SetMessagePlatformId { message_id, platform_message_id } => {
                        let done = sqlx::query("UPDATE messages SET platform_message_id = $2 WHERE id = $1")
                            .bind(message_id).bind(platform_message_id).execute(&mut **tx).await?;
                        expect_one(done.rows_affected(), "message")?;
                    }
                    Write::UpdateChannelHealth { channel_id, health, detail, failure_count, at } => {
                        let done = sqlx::query(
                            "UPDATE channels SET health_changed_at = CASE WHEN health = $2 THEN health_changed_at ELSE $5 END, \
                             health = $2, health_detail = $3, failure_count = $4 WHERE id = $1",
                        )
                        .bind(channel_id).bind(health.as_str()).bind(detail).bind(failure_count).bind(to_ms(at))
                        .execute(&mut **tx).await?;
                        expect_one(done.rows_affected(), "channel")?;
                    }
                    Write::FinishRawEvent { id, at } => {
                        sqlx::query("UPDATE raw_events SET state = 'done', processed_at = $2, locked_until = NULL WHERE id = $1")
                            .bind(id).bind(to_ms(at)).execute(&mut **tx).await?;
                    }
                    Write::FailRawEvent { id, error, retry_at } => {
                        let state = if retry_at.is_some() { "pending" } else { "failed" };
                        sqlx::query("UPDATE raw_events SET state = $2, last_error = $3, locked_until = $4 WHERE id = $1")
                            .bind(id).bind(state).bind(error).bind(opt_to_ms(retry_at)).execute(&mut **tx).await?;
                    }
                    Write::PurgeRawEvents { done_before } => {
                        sqlx::query("DELETE FROM raw_events WHERE state = 'done' AND processed_at < $1")
                            .bind(to_ms(done_before)).execute(&mut **tx).await?;
                    }
                    Write::FinishOutbox { id, at } => {
                        sqlx::query("UPDATE outbox SET done_at = $2, locked_until = NULL WHERE id = $1")
                            .bind(id).bind(to_ms(at)).execute(&mut **tx).await?;
                    }
                    Write::RescheduleOutbox { id, due_at, error } => {
                        sqlx::query("UPDATE outbox SET due_at = $2, last_error = $3, locked_until = NULL WHERE id = $1")
                            .bind(id).bind(to_ms(due_at)).bind(error).execute(&mut **tx).await?;
                    }
                    Write::RecordDeliveryAttempt(a) => {
                        sqlx::query(
                            "INSERT INTO delivery_attempts (outbox_id, subject_id, at, outcome, detail) VALUES ($1, $2, $3, $4, $5)",
                        )
                        .bind(a.outbox_id).bind(a.subject_id).bind(to_ms(a.at)).bind(a.outcome).bind(a.detail)
                        .execute(&mut **tx).await?;
                    }
                    Write::SetPollCursor { channel_id, source, cursor, at } => {
                        sqlx::query(
                            "INSERT INTO poll_cursors (channel_id, source, cursor, updated_at) VALUES ($1, $2, $3, $4) \
                             ON CONFLICT (channel_id, source) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
                        )
                        .bind(channel_id).bind(source).bind(cursor).bind(to_ms(at))
                        .execute(&mut **tx).await?;
                    }
                    Write::SetUserAvailability { user_id, availability, at } => {
                        let done = sqlx::query("UPDATE users SET availability = $2, updated_at = $3 WHERE id = $1")
                            .bind(user_id).bind(availability.as_str()).bind(to_ms(at)).execute(&mut **tx).await?;
                        expect_one(done.rows_affected(), "user")?;
                    }
                    Write::MoveMessages { from_id, into_id } => {
                        sqlx::query("UPDATE messages SET conversation_id = $2 WHERE conversation_id = $1")
                            .bind(from_id).bind(into_id).execute(&mut **tx).await?;
                    }
                    Write::InsertSnippet(n) => {
                        sqlx::query(
                            "INSERT INTO snippets (id, workspace_id, name, text, created_by, created_at, updated_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7)",
                        )
                        .bind(n.id).bind(n.workspace_id).bind(n.name).bind(n.text).bind(n.created_by)
                        .bind(to_ms(n.created_at)).bind(to_ms(n.updated_at))
                        .execute(&mut **tx).await?;
                    }
                    Write::UpdateSnippet(n) => {
                        let done = sqlx::query("UPDATE snippets SET name = $2, text = $3, updated_at = $4 WHERE id = $1")
                            .bind(n.id).bind(n.name).bind(n.text).bind(to_ms(n.updated_at))
                            .execute(&mut **tx).await?;
                        expect_one(done.rows_affected(), "snippet")?;
                    }
                    Write::DeleteSnippet { id } => {
                        let done = sqlx::query("DELETE FROM snippets WHERE id = $1").bind(id).execute(&mut **tx).await?;
                        expect_one(done.rows_affected(), "snippet")?;
                    }
                    Write::InsertSavedView(v) => {
                        sqlx::query(
                            "INSERT INTO saved_views (id, workspace_id, user_id, name, filters, created_at) \
                             VALUES ($1, $2, $3, $4, $5, $6)",
                        )
                        .bind(v.id).bind(v.workspace_id).bind(v.user_id).bind(v.name).bind(json_text(&v.filters))
                        .bind(to_ms(v.created_at))
                        .execute(&mut **tx).await?;
                    }
                    Write::UpdateSavedView(v) => {
                        let done = sqlx::query("UPDATE saved_views SET name = $2, filters = $3, user_id = $4 WHERE id = $1")
                            .bind(v.id).bind(v.name).bind(json_text(&v.filters)).bind(v.user_id)
                            .execute(&mut **tx).await?;
                        expect_one(done.rows_affected(), "saved view")?;
                    }
                    Write::DeleteSavedView { id } => {
                        let done = sqlx::query("DELETE FROM saved_views WHERE id = $1").bind(id).execute(&mut **tx).await?;
                        expect_one(done.rows_affected(), "saved view")?;
                    }
                    Write::InsertNotification(n) => {
                        sqlx::query(
                            "INSERT INTO notifications (id, workspace_id, user_id, kind, conversation_id, message_id, \
                             actor_id, text, created_at, read_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                        )
                        .bind(n.id).bind(n.workspace_id).bind(n.user_id).bind(n.kind).bind(n.conversation_id)
                        .bind(n.message_id).bind(n.actor_id).bind(n.text).bind(to_ms(n.created_at))
                        .bind(opt_to_ms(n.read_at))
                        .execute(&mut **tx).await?;
                    }
                    Write::MarkNotificationsRead { user_id, ids, at } => match ids {
                        None => {
                            sqlx::query("UPDATE notifications SET read_at = $2 WHERE user_id = $1 AND read_at IS NULL")
                                .bind(user_id).bind(to_ms(at)).execute(&mut **tx).await?;
                        }
                        Some(ids) => {
                            for id in ids {
                                sqlx::query(
                                    "UPDATE notifications SET read_at = $3 WHERE id = $1 AND user_id = $2 AND read_at IS NULL",
                                )
                                .bind(id).bind(user_id.clone()).bind(to_ms(at)).execute(&mut **tx).await?;
                            }
                        }
                    },
                    Write::PutPresence { conversation_id, user_id, state, at, expires_at } => {
                        sqlx::query(
                            "INSERT INTO presence (conversation_id, user_id, state, updated_at, expires_at) \
                             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (conversation_id, user_id) DO UPDATE SET \
                             state = excluded.state, updated_at = excluded.updated_at, expires_at = excluded.expires_at",
                        )
                        .bind(conversation_id).bind(user_id).bind(state.as_str()).bind(to_ms(at)).bind(to_ms(expires_at))
                        .execute(&mut **tx).await?;
                    }
                    Write::DeletePresence { conversation_id, user_id } => {
                        sqlx::query("DELETE FROM presence WHERE conversation_id = $1 AND user_id = $2")
                            .bind(conversation_id).bind(user_id).execute(&mut **tx).await?;
                    }
                    Write::DeleteExpiredPresence { now } => {
                        sqlx::query("DELETE FROM presence WHERE expires_at <= $1").bind(to_ms(now)).execute(&mut **tx).await?;
                    }
                    Write::InsertAttributeDefinition(d) => {
                        sqlx::query(
                            "INSERT INTO attribute_definitions (id, workspace_id, scope, key, label, kind, options, created_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                        )
                        .bind(d.id).bind(d.workspace_id).bind(d.scope.as_str()).bind(d.key).bind(d.label)
                        .bind(d.kind.as_str()).bind(json_text(&d.options)).bind(to_ms(d.created_at))
                        .execute(&mut **tx).await?;
                    }
                    Write::UpdateAttributeDefinition(d) => {
                        let done = sqlx::query("UPDATE attribute_definitions SET label = $2, kind = $3, options = $4 WHERE id = $1")
                            .bind(d.id).bind(d.label).bind(d.kind.as_str()).bind(json_text(&d.options))
                            .execute(&mut **tx).await?;
                        expect_one(done.rows_affected(), "attribute")?;
                    }
                    Write::DeleteAttributeDefinition { id } => {
                        let done = sqlx::query("DELETE FROM attribute_definitions WHERE id = $1").bind(id).execute(&mut **tx).await?;
                        expect_one(done.rows_affected(), "attribute")?;
                    }
                    Write::PutBusinessHours(b) => {
                        sqlx::query(
                            "INSERT INTO business_hours (id, workspace_id, team_id, name, config, updated_at) \
                             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET team_id = excluded.team_id, \
                             name = excluded.name, config = excluded.config, updated_at = excluded.updated_at",
                        )
                        .bind(b.id).bind(b.workspace_id).bind(b.team_id).bind(b.name).bind(json_text(&b.config))
                        .bind(to_ms(b.updated_at))
                        .execute(&mut **tx).await?;
                    }
                    Write::DeleteBusinessHours { id } => {
                        let done = sqlx::query("DELETE FROM business_hours WHERE id = $1").bind(id).execute(&mut **tx).await?;
                        expect_one(done.rows_affected(), "business hours")?;
                    }
                    Write::AdvanceFollower { name, holder, position, at } => {
                        let done = sqlx::query(
                            "UPDATE followers SET position = $3, updated_at = $4 \
                             WHERE name = $1 AND holder = $2 AND position < $3",
                        )
                        .bind(name).bind(holder).bind(position).bind(to_ms(at))
                        .execute(&mut **tx).await?;
                        if done.rows_affected() != 1 {
                            return Err(StoreError::Conflict("follower"));
                        }
                    }
                    Write::InsertUpload(u) => {
                        let size = i64::try_from(u.bytes.len()).unwrap_or(i64::MAX);
                        sqlx::query(
                            "INSERT INTO uploads (id, workspace_id, token, name, content_type, size, bytes, created_by, created_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                        )
                        .bind(u.id).bind(u.workspace_id).bind(u.token).bind(u.name).bind(u.content_type).bind(size)
                        .bind(u.bytes).bind(u.created_by).bind(to_ms(u.created_at))
                        .execute(&mut **tx).await?;
                    }
                    Write::PutThreadPost(p) => {
                        sqlx::query(
                            "INSERT INTO thread_posts (channel_id, post_id, text, author, posted_at, url, fetched_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7) \
                             ON CONFLICT (channel_id, post_id) DO UPDATE SET text = excluded.text, \
                             author = excluded.author, posted_at = excluded.posted_at, url = excluded.url, \
                             fetched_at = excluded.fetched_at",
                        )
                        .bind(p.channel_id).bind(p.post_id).bind(p.text).bind(p.author)
                        .bind(p.posted_at.map(to_ms)).bind(p.url).bind(to_ms(p.fetched_at))
                        .execute(&mut **tx).await?;
                    }
                    Write::Audit(a) => {
                        sqlx::query(
                            "INSERT INTO audit_log (workspace_id, at, actor_kind, actor_id, action, subject_type, \
                             subject_id, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                        )
                        .bind(a.workspace_id).bind(to_ms(a.at)).bind(a.actor_kind).bind(a.actor_id).bind(a.action)
                        .bind(a.subject_type).bind(a.subject_id).bind(json_text(&a.detail))
                        .execute(&mut **tx).await?;
                    }
                    Write::Event(e) => {
                        if committed.event_ids.is_empty() {
                            Self::before_events(tx).await?;
                        }
                        Self::insert_events(tx, vec![e], committed).await?;
                    }
                    Write::Levels(w) => Self::apply_levels(tx, w, committed).await?,
                    Write::Automation(w) => Self::apply_automation(tx, w).await?,
                    Write::Outbox(o) => {
                        sqlx::query(
                            "INSERT INTO outbox (workspace_id, kind, subject_id, payload, created_at, due_at, attempts) \
                             VALUES ($1, $2, $3, $4, $5, $5, 0)",
                        )
                        .bind(o.workspace_id).bind(o.kind).bind(o.subject_id).bind(json_text(&o.payload))
                        .bind(to_ms(o.due_at))
                        .execute(&mut **tx).await?;
                    }
                }
                Ok(())
            }

            async fn insert_messages(tx: &mut Tx, messages: Vec<Message>) -> StoreResult<()> {
                for chunk in messages.chunks(ROWS_PER_STATEMENT) {
                    let mut q = QueryBuilder::<$Db>::new(
                        "INSERT INTO messages (id, workspace_id, conversation_id, channel_id, direction, visibility, \
                         author_kind, author_user_id, author_contact_id, text, attachments, platform_message_id, \
                         platform_parent_id, delivery_status, delivery_error, language, sentiment, intent, \
                         created_at, recorded_at, personal_data) ",
                    );
                    q.push_values(chunk, |mut row, m| {
                        row.push_bind(m.id.clone()).push_bind(m.workspace_id.clone()).push_bind(m.conversation_id.clone())
                            .push_bind(m.channel_id.clone()).push_bind(m.direction.as_str()).push_bind(m.visibility.as_str())
                            .push_bind(m.author_kind.as_str()).push_bind(m.author_user_id.clone())
                            .push_bind(m.author_contact_id.clone()).push_bind(m.text.clone())
                            .push_bind(json_text(&m.attachments)).push_bind(m.platform_message_id.clone())
                            .push_bind(m.platform_parent_id.clone()).push_bind(m.delivery_status.as_str())
                            .push_bind(m.delivery_error.clone()).push_bind(m.language.clone())
                            .push_bind(m.sentiment.map(|s| s.as_str())).push_bind(m.intent.clone())
                            .push_bind(to_ms(m.created_at)).push_bind(to_ms(m.recorded_at))
                            .push_bind(json_text(&m.personal_data));
                    });
                    q.build().execute(&mut **tx).await?;
                }
                Ok(())
            }

            async fn insert_events(tx: &mut Tx, events: Vec<NewEvent>, committed: &mut Committed) -> StoreResult<()> {
                let mut events = events.into_iter().peekable();
                while events.peek().is_some() {
                    let chunk: Vec<NewEvent> = events.by_ref().take(ROWS_PER_STATEMENT).collect();
                    let mut q = QueryBuilder::<$Db>::new("INSERT INTO events (workspace_id, at, kind, subject_id, payload) ");
                    q.push_values(&chunk, |mut row, e| {
                        row.push_bind(e.workspace_id.clone()).push_bind(to_ms(e.at)).push_bind(e.kind.clone())
                            .push_bind(e.subject_id.clone()).push_bind(json_text(&e.payload));
                    });
                    q.push(" RETURNING id");
                    let mut ids: Vec<i64> = q.build_query_scalar().fetch_all(&mut **tx).await?;
                    // Ids are handed out in row order; sorted, they pair with the events as written.
                    ids.sort_unstable();
                    committed.event_ids.extend(&ids);
                    committed.events.extend(ids.into_iter().zip(chunk).map(|(id, e)| {
                        (id, Event {
                            id: id.to_string(), workspace_id: e.workspace_id, at: e.at, kind: e.kind,
                            subject_id: e.subject_id, payload: std::sync::Arc::new(e.payload),
                        })
                    }));
                }
                Ok(())
            }

            async fn insert_audits(tx: &mut Tx, audits: Vec<NewAuditEntry>) -> StoreResult<()> {
                for chunk in audits.chunks(ROWS_PER_STATEMENT) {
                    let mut q = QueryBuilder::<$Db>::new(
                        "INSERT INTO audit_log (workspace_id, at, actor_kind, actor_id, action, subject_type, subject_id, detail) ",
                    );
                    q.push_values(chunk, |mut row, a| {
                        row.push_bind(a.workspace_id.clone()).push_bind(to_ms(a.at)).push_bind(a.actor_kind.clone())
                            .push_bind(a.actor_id.clone()).push_bind(a.action.clone()).push_bind(a.subject_type.clone())
                            .push_bind(a.subject_id.clone()).push_bind(json_text(&a.detail));
                    });
                    q.build().execute(&mut **tx).await?;
                }
                Ok(())
            }

            async fn finish_raw_events(tx: &mut Tx, ids: Vec<i64>, at: jiff::Timestamp) -> StoreResult<()> {
                for chunk in ids.chunks(ROWS_PER_STATEMENT) {
                    let mut q = QueryBuilder::<$Db>::new("UPDATE raw_events SET state = 'done', processed_at = ");
                    q.push_bind(to_ms(at)).push(", locked_until = NULL WHERE id IN (");
                    let mut list = q.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    q.push(")");
                    q.build().execute(&mut **tx).await?;
                }
                Ok(())
            }

            async fn replace_team_members(tx: &mut Tx, team_id: &str, member_ids: &[String]) -> StoreResult<()> {
                sqlx::query("DELETE FROM team_members WHERE team_id = $1")
                    .bind(team_id.to_owned()).execute(&mut **tx).await?;
                for user_id in member_ids {
                    sqlx::query("INSERT INTO team_members (team_id, user_id) VALUES ($1, $2)")
                        .bind(team_id.to_owned()).bind(user_id.clone()).execute(&mut **tx).await?;
                }
                Ok(())
            }

            /// Inserts contacts with their identities, a few hundred rows per statement.
            async fn insert_contacts(tx: &mut Tx, contacts: Vec<Contact>) -> StoreResult<()> {
                for chunk in contacts.chunks(ROWS_PER_STATEMENT) {
                    let mut q = QueryBuilder::<$Db>::new(
                        "INSERT INTO contacts (id, workspace_id, display_name, email, phone, notes, custom_attributes, \
                         merged_into_id, created_at, updated_at) ",
                    );
                    q.push_values(chunk, |mut row, c| {
                        row.push_bind(c.id.clone()).push_bind(c.workspace_id.clone()).push_bind(c.display_name.clone())
                            .push_bind(c.email.clone()).push_bind(c.phone.clone()).push_bind(c.notes.clone())
                            .push_bind(json_text(&c.custom_attributes)).push_bind(c.merged_into_id.clone())
                            .push_bind(to_ms(c.created_at)).push_bind(to_ms(c.updated_at));
                    });
                    q.build().execute(&mut **tx).await?;
                }
                let identities: Vec<(String, Identity)> = contacts
                    .into_iter()
                    .flat_map(|c| {
                        let workspace_id = c.workspace_id;
                        c.identities.into_iter().map(move |i| (workspace_id.clone(), i))
                    })
                    .collect();
                Self::insert_identities(tx, identities).await
            }

            /// Inserts identities, each with its workspace.
            async fn insert_identities(tx: &mut Tx, identities: Vec<(String, Identity)>) -> StoreResult<()> {
                for chunk in identities.chunks(ROWS_PER_STATEMENT) {
                    let mut q = QueryBuilder::<$Db>::new(
                        "INSERT INTO identities (id, workspace_id, contact_id, network, platform_user_id, handle, display_name) ",
                    );
                    q.push_values(chunk, |mut row, (workspace_id, i)| {
                        row.push_bind(i.id.clone()).push_bind(workspace_id.clone()).push_bind(i.contact_id.clone())
                            .push_bind(i.network.as_str()).push_bind(i.platform_user_id.clone())
                            .push_bind(i.handle.clone()).push_bind(i.display_name.clone());
                    });
                    q.build().execute(&mut **tx).await?;
                }
                Ok(())
            }

            /// Inserts conversation rows (and their labels), a few hundred per statement.
            async fn insert_conversations(tx: &mut Tx, conversations: Vec<Conversation>) -> StoreResult<()> {
                // 33 columns: 300 rows stay under both databases' limits on bound parameters.
                for chunk in conversations.chunks(300) {
                    let mut q = QueryBuilder::<$Db>::new(
                        "INSERT INTO conversations (id, workspace_id, channel_id, contact_id, kind, status, priority, \
                         assignee_id, team_id, custom_attributes, platform_thread_id, subject, last_message_preview, \
                         language, sentiment, intent, snoozed_until, first_inbound_at, last_inbound_at, last_outbound_at, \
                         first_reply_at, awaiting_reply_since, resolved_at, reopened_at, paused_since, paused_ms, \
                         human_replies, last_activity_at, created_at, updated_at, version, linked_conversation_id, \
                         merged_into_id) ",
                    );
                    q.push_values(chunk, |mut row, c| {
                        $crate::shared::bind_conversation!(row, push_bind, c);
                    });
                    q.build().execute(&mut **tx).await?;
                }
                for c in conversations.into_iter().filter(|c| !c.labels.is_empty()) {
                    for name in c.labels {
                        sqlx::query(
                            "INSERT INTO conversation_labels (conversation_id, label_id) \
                             SELECT $1, id FROM labels WHERE workspace_id = $2 AND name = $3",
                        )
                        .bind(c.id.clone()).bind(c.workspace_id.clone()).bind(name)
                        .execute(&mut **tx).await?;
                    }
                }
                Ok(())
            }

            /// Updates a conversation row, if it is still at `expected_version`.
            async fn update_conversation(tx: &mut Tx, c: Conversation, expected_version: i64) -> StoreResult<()> {
                let sql = "UPDATE conversations SET workspace_id = $2, channel_id = $3, contact_id = $4, kind = $5, status = $6, \
                     priority = $7, assignee_id = $8, team_id = $9, custom_attributes = $10, platform_thread_id = $11, \
                     subject = $12, last_message_preview = $13, language = $14, sentiment = $15, intent = $16, \
                     snoozed_until = $17, first_inbound_at = $18, last_inbound_at = $19, last_outbound_at = $20, \
                     first_reply_at = $21, awaiting_reply_since = $22, resolved_at = $23, reopened_at = $24, \
                     paused_since = $25, paused_ms = $26, human_replies = $27, last_activity_at = $28, \
                     created_at = $29, updated_at = $30, version = $31, linked_conversation_id = $32, \
                     merged_into_id = $33 WHERE id = $1 AND version = $34";
                let q = $crate::shared::bind_conversation!(sqlx::query(sql), bind, &c);
                let done = q.bind(expected_version).execute(&mut **tx).await?;
                if done.rows_affected() == 0 {
                    let exists = sqlx::query("SELECT 1 FROM conversations WHERE id = $1")
                        .bind(c.id).fetch_optional(&mut **tx).await?;
                    return Err(match exists {
                        Some(_) => StoreError::Conflict("conversation"),
                        None => StoreError::NotFound("conversation"),
                    });
                }
                Ok(())
            }
        }

        fn expect_one(rows: u64, what: &'static str) -> StoreResult<()> {
            if rows == 0 { Err(StoreError::NotFound(what)) } else { Ok(()) }
        }

        #[async_trait]
        impl Directory for $Store {
            async fn workspaces(&self) -> StoreResult<Vec<Workspace>> {
                sqlx::query_as::<_, WorkspaceRow>("SELECT id, name, time_zone, created_at FROM workspaces ORDER BY created_at, id")
                    .fetch_all(self.reader()).await?
                    .into_iter().map(WorkspaceRow::into_domain).collect()
            }

            async fn workspace(&self, id: &str) -> StoreResult<Option<Workspace>> {
                sqlx::query_as::<_, WorkspaceRow>("SELECT id, name, time_zone, created_at FROM workspaces WHERE id = $1")
                    .bind(id.to_owned()).fetch_optional(self.reader()).await?
                    .map(WorkspaceRow::into_domain).transpose()
            }

            async fn user(&self, id: &str) -> StoreResult<Option<User>> {
                sqlx::query_as::<_, UserRow>("SELECT * FROM users WHERE id = $1")
                    .bind(id.to_owned()).fetch_optional(self.reader()).await?
                    .map(UserRow::into_domain).transpose()
            }

            async fn user_login(&self, email: &str) -> StoreResult<Option<UserLogin>> {
                let Some(row) = sqlx::query_as::<_, UserRow>("SELECT * FROM users WHERE email = $1")
                    .bind(email.trim().to_lowercase()).fetch_optional(self.reader()).await?
                else {
                    return Ok(None);
                };
                let password_hash = row.password_hash.clone();
                Ok(Some(UserLogin { user: row.into_domain()?, password_hash }))
            }

            async fn users(&self, workspace_id: &str) -> StoreResult<Vec<User>> {
                sqlx::query_as::<_, UserRow>("SELECT * FROM users WHERE workspace_id = $1 ORDER BY name, id")
                    .bind(workspace_id.to_owned()).fetch_all(self.reader()).await?
                    .into_iter().map(UserRow::into_domain).collect()
            }

            async fn team(&self, id: &str) -> StoreResult<Option<Team>> {
                let Some(row) = sqlx::query_as::<_, TeamRow>("SELECT * FROM teams WHERE id = $1")
                    .bind(id.to_owned()).fetch_optional(self.reader()).await?
                else {
                    return Ok(None);
                };
                let members = self.team_members(&row.id).await?;
                Ok(Some(row.into_domain(members)?))
            }

            async fn teams(&self, workspace_id: &str) -> StoreResult<Vec<Team>> {
                let rows = sqlx::query_as::<_, TeamRow>("SELECT * FROM teams WHERE workspace_id = $1 ORDER BY name")
                    .bind(workspace_id.to_owned()).fetch_all(self.reader()).await?;
                let mut teams = Vec::with_capacity(rows.len());
                for row in rows {
                    let members = self.team_members(&row.id).await?;
                    teams.push(row.into_domain(members)?);
                }
                Ok(teams)
            }

            async fn label(&self, id: &str) -> StoreResult<Option<Label>> {
                Ok(sqlx::query_as::<_, LabelRow>("SELECT * FROM labels WHERE id = $1")
                    .bind(id.to_owned()).fetch_optional(self.reader()).await?
                    .map(LabelRow::into_domain))
            }

            async fn labels(&self, workspace_id: &str) -> StoreResult<Vec<Label>> {
                Ok(sqlx::query_as::<_, LabelRow>("SELECT * FROM labels WHERE workspace_id = $1 ORDER BY name")
                    .bind(workspace_id.to_owned()).fetch_all(self.reader()).await?
                    .into_iter().map(LabelRow::into_domain).collect())
            }
        }

        #[async_trait]
        impl Access for $Store {
            async fn session(&self, id: &str) -> StoreResult<Option<SessionRecord>> {
                sqlx::query_as::<_, SessionRow>("SELECT * FROM sessions WHERE id = $1")
                    .bind(id.to_owned()).fetch_optional(self.reader()).await?
                    .map(SessionRow::into_record).transpose()
            }

            async fn api_token_by_hash(&self, token_hash: &str) -> StoreResult<Option<ApiTokenRecord>> {
                sqlx::query_as::<_, ApiTokenRow>("SELECT * FROM api_tokens WHERE token_hash = $1")
                    .bind(token_hash.to_owned()).fetch_optional(self.reader()).await?
                    .map(ApiTokenRow::into_record).transpose()
            }

            async fn api_tokens(&self, user_id: &str) -> StoreResult<Vec<ApiTokenRecord>> {
                sqlx::query_as::<_, ApiTokenRow>("SELECT * FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC, id")
                    .bind(user_id.to_owned()).fetch_all(self.reader()).await?
                    .into_iter().map(ApiTokenRow::into_record).collect()
            }
        }

        #[async_trait]
        impl Channels for $Store {
            async fn channel(&self, id: &str) -> StoreResult<Option<Channel>> {
                if let Some(cached) = self.channels.get(id) {
                    return Ok(cached);
                }
                let (generation, read_at) = (self.channels.generation(), std::time::Instant::now());
                let mut q = QueryBuilder::<$Db>::new(CHANNEL_SELECT);
                q.push(" WHERE id = ").push_bind(id.to_owned());
                let channel = q.build_query_as::<ChannelRow>().fetch_optional(self.reader()).await?
                    .map(ChannelRow::into_domain).transpose()?;
                self.channels.put(id, channel.clone(), generation, read_at);
                Ok(channel)
            }

            async fn channels(&self, workspace_id: &str) -> StoreResult<Vec<Channel>> {
                let mut q = QueryBuilder::<$Db>::new(CHANNEL_SELECT);
                q.push(" WHERE workspace_id = ").push_bind(workspace_id.to_owned()).push(" ORDER BY network, name");
                q.build_query_as::<ChannelRow>().fetch_all(self.reader()).await?
                    .into_iter().map(ChannelRow::into_domain).collect()
            }

            async fn channel_credentials(&self, id: &str) -> StoreResult<Option<Vec<u8>>> {
                let row = sqlx::query("SELECT credentials FROM channels WHERE id = $1")
                    .bind(id.to_owned()).fetch_optional(self.reader()).await?;
                match row {
                    Some(row) => Ok(row.try_get::<Option<Vec<u8>>, _>(0)?),
                    None => Err(StoreError::NotFound("channel")),
                }
            }
        }

        #[async_trait]
        impl Contacts for $Store {
            async fn contact(&self, id: &str) -> StoreResult<Option<Contact>> {
                let rows = sqlx::query_as::<_, ContactRow>("SELECT * FROM contacts WHERE id = $1")
                    .bind(id.to_owned()).fetch_all(self.reader()).await?;
                Ok(self.contacts_from_rows(rows).await?.pop())
            }

            async fn contacts(&self, workspace_id: &str, query: Option<&str>, page: &Page) -> StoreResult<Vec<Contact>> {
                let mut q = QueryBuilder::<$Db>::new("SELECT * FROM contacts WHERE merged_into_id IS NULL AND workspace_id = ");
                q.push_bind(workspace_id.to_owned());
                if let Some(text) = query.map(str::trim).filter(|t| !t.is_empty()) {
                    let pattern = like_pattern(text);
                    q.push(" AND (lower(display_name) LIKE ").push_bind(pattern.clone()).push(" ESCAPE '\\'");
                    q.push(" OR lower(COALESCE(email, '')) LIKE ").push_bind(pattern.clone()).push(" ESCAPE '\\'");
                    q.push(" OR COALESCE(phone, '') LIKE ").push_bind(pattern.clone()).push(" ESCAPE '\\'");
                    q.push(" OR EXISTS (SELECT 1 FROM identities i WHERE i.contact_id = contacts.id AND lower(i.handle) LIKE ")
                        .push_bind(pattern).push(" ESCAPE '\\'))");
                }
                if let Some(after) = &page.after {
                    q.push(" AND id < ").push_bind(after.clone());
                }
                q.push(" ORDER BY id DESC LIMIT ").push_bind(page.fetch_limit());
                let rows = q.build_query_as::<ContactRow>().fetch_all(self.reader()).await?;
                self.contacts_from_rows(rows).await
            }

            async fn identity(&self, workspace_id: &str, network: Network, platform_user_id: &str) -> StoreResult<Option<Identity>> {
                sqlx::query_as::<_, IdentityRow>(
                    "SELECT id, contact_id, network, platform_user_id, handle, display_name FROM identities \
                     WHERE workspace_id = $1 AND network = $2 AND platform_user_id = $3",
                )
                .bind(workspace_id.to_owned()).bind(network.as_str()).bind(platform_user_id.to_owned())
                .fetch_optional(self.reader()).await?
                .map(IdentityRow::into_domain).transpose()
            }

            async fn contacts_by_ids(&self, ids: &[String]) -> StoreResult<Vec<Contact>> {
                if ids.is_empty() {
                    return Ok(vec![]);
                }
                let mut q = QueryBuilder::<$Db>::new("SELECT * FROM contacts WHERE id IN ");
                push_ids(&mut q, ids);
                let rows = q.build_query_as::<ContactRow>().fetch_all(self.reader()).await?;
                self.contacts_from_rows(rows).await
            }

            async fn identities_of_accounts(
                &self,
                workspace_id: &str,
                network: Network,
                platform_user_ids: &[String],
            ) -> StoreResult<Vec<(Identity, Option<String>)>> {
                let mut out = vec![];
                for chunk in platform_user_ids.chunks(ROWS_PER_STATEMENT) {
                    let mut q = QueryBuilder::<$Db>::new(
                        "SELECT i.id, i.contact_id, i.network, i.platform_user_id, i.handle, i.display_name, \
                         c.merged_into_id FROM identities i JOIN contacts c ON c.id = i.contact_id \
                         WHERE i.workspace_id = ",
                    );
                    q.push_bind(workspace_id.to_owned()).push(" AND i.network = ").push_bind(network.as_str());
                    q.push(" AND i.platform_user_id IN ");
                    push_ids(&mut q, chunk);
                    for row in q.build().fetch_all(self.reader()).await? {
                        let merged_into: Option<String> = row.try_get(6)?;
                        out.push((<IdentityRow as sqlx::FromRow<_>>::from_row(&row)?.into_domain()?, merged_into));
                    }
                }
                Ok(out)
            }
        }

        #[async_trait]
        impl Conversations for $Store {
            async fn conversation(&self, id: &str) -> StoreResult<Option<Conversation>> {
                let mut q = QueryBuilder::<$Db>::new("SELECT ");
                q.push(CONVERSATION_COLUMNS).push(" FROM conversations c WHERE c.id = ").push_bind(id.to_owned());
                let rows = q.build_query_as::<ConversationRow>().fetch_all(self.reader()).await?;
                Ok(self.conversations_from_rows(rows).await?.pop())
            }

            async fn conversations_by_ids(&self, ids: &[String]) -> StoreResult<Vec<Conversation>> {
                let mut found = vec![];
                for chunk in ids.chunks(ROWS_PER_STATEMENT) {
                    let mut q = QueryBuilder::<$Db>::new("SELECT ");
                    q.push(CONVERSATION_COLUMNS).push(" FROM conversations c WHERE c.id IN ");
                    push_ids(&mut q, chunk);
                    let rows = q.build_query_as::<ConversationRow>().fetch_all(self.reader()).await?;
                    found.extend(self.conversations_from_rows(rows).await?);
                }
                Ok(found)
            }

            async fn messages_of_conversations(&self, conversation_ids: &[String]) -> StoreResult<Vec<Message>> {
                let mut messages = vec![];
                for chunk in conversation_ids.chunks(ROWS_PER_STATEMENT) {
                    let mut q = QueryBuilder::<$Db>::new("SELECT * FROM messages WHERE conversation_id IN ");
                    push_ids(&mut q, chunk);
                    q.push(" ORDER BY conversation_id, created_at, id");
                    for row in q.build_query_as::<MessageRow>().fetch_all(self.reader()).await? {
                        messages.push(row.into_domain()?);
                    }
                }
                Ok(messages)
            }

            async fn snoozes_ended(&self, now: jiff::Timestamp, limit: u32) -> StoreResult<Vec<Conversation>> {
                let mut q = QueryBuilder::<$Db>::new("SELECT ");
                q.push(CONVERSATION_COLUMNS)
                    .push(" FROM conversations c WHERE c.status = 'snoozed' AND c.snoozed_until <= ")
                    .push_bind(to_ms(now))
                    .push(" ORDER BY c.snoozed_until LIMIT ")
                    .push_bind(i64::from(limit.clamp(1, 1000)));
                let rows = q.build_query_as::<ConversationRow>().fetch_all(self.reader()).await?;
                self.conversations_from_rows(rows).await
            }

            async fn conversations(&self, f: &ConversationFilter, page: &Page) -> StoreResult<Vec<Conversation>> {
                let mut q = QueryBuilder::<$Db>::new("SELECT ");
                q.push(CONVERSATION_COLUMNS).push(" FROM conversations c WHERE c.workspace_id = ");
                q.push_bind(f.workspace_id.clone());
                push_conversation_filter(&mut q, f);
                // The waiting order puts conversations nobody waits on last;
                // when only those waiting are asked for, the plain column lets
                // the index give the order.
                let key = match f.sort {
                    ConversationSort::Activity => "c.last_activity_at",
                    ConversationSort::Waiting if f.needs_reply => "c.awaiting_reply_since",
                    ConversationSort::Waiting => "COALESCE(c.awaiting_reply_since, 9223372036854775807)",
                };
                if let Some(after) = &page.after {
                    let cursor = Cursor::decode(after)?;
                    let (before, ties) = match f.sort {
                        ConversationSort::Activity => (" < ", " AND c.id < "),
                        ConversationSort::Waiting => (" > ", " AND c.id > "),
                    };
                    q.push(" AND (").push(key).push(before).push_bind(cursor.ms)
                        .push(" OR (").push(key).push(" = ").push_bind(cursor.ms)
                        .push(ties).push_bind(cursor.id).push("))");
                }
                match f.sort {
                    ConversationSort::Activity => q.push(" ORDER BY c.last_activity_at DESC, c.id DESC LIMIT "),
                    ConversationSort::Waiting => q.push(" ORDER BY ").push(key).push(" ASC, c.id ASC LIMIT "),
                };
                q.push_bind(page.fetch_limit());
                let rows = q.build_query_as::<ConversationRow>().fetch_all(self.reader()).await?;
                self.conversations_from_rows(rows).await
            }

            async fn conversations_for_many(
                &self,
                channel_id: &str,
                kind: ConversationKind,
                contact_ids: &[String],
                platform_thread_ids: Option<&[String]>,
            ) -> StoreResult<Vec<Conversation>> {
                // Without threads, one condition on contacts; with them, each
                // chunk of contacts is asked with each chunk of threads.
                let thread_chunks: Vec<Option<&[String]>> = match platform_thread_ids {
                    Some(threads) => threads.chunks(ROWS_PER_STATEMENT / 2).map(Some).collect(),
                    None => vec![None],
                };
                let mut rows = vec![];
                for contacts in contact_ids.chunks(ROWS_PER_STATEMENT / 2) {
                    for threads in &thread_chunks {
                        let mut q = QueryBuilder::<$Db>::new("SELECT ");
                        q.push(CONVERSATION_COLUMNS).push(" FROM conversations c WHERE c.channel_id = ");
                        q.push_bind(channel_id.to_owned()).push(" AND c.kind = ").push_bind(kind.as_str());
                        q.push(" AND c.contact_id IN ");
                        push_ids(&mut q, contacts);
                        if let Some(threads) = threads {
                            q.push(" AND c.platform_thread_id IN ");
                            push_ids(&mut q, threads);
                        }
                        rows.extend(q.build_query_as::<ConversationRow>().fetch_all(self.reader()).await?);
                    }
                }
                // Chunks each come in their own order: order them all.
                rows.sort_by(|a, b| (b.last_activity_at, &b.id).cmp(&(a.last_activity_at, &a.id)));
                self.conversations_from_rows(rows).await
            }

            async fn count_conversations(&self, f: &ConversationFilter, cap: u32) -> StoreResult<i64> {
                let mut q = QueryBuilder::<$Db>::new("SELECT COUNT(*) FROM (SELECT 1 FROM conversations c WHERE c.workspace_id = ");
                q.push_bind(f.workspace_id.clone());
                push_conversation_filter(&mut q, f);
                q.push(" LIMIT ").push_bind(i64::from(cap.max(1))).push(") AS capped");
                Ok(q.build_query_scalar::<i64>().fetch_one(self.reader()).await?)
            }

            async fn messages_after_id(&self, after: Option<&str>, limit: u32) -> StoreResult<Vec<Message>> {
                sqlx::query_as::<_, MessageRow>("SELECT * FROM messages WHERE id > $1 ORDER BY id LIMIT $2")
                    .bind(after.unwrap_or("").to_owned()).bind(i64::from(limit.clamp(1, 10_000)))
                    .fetch_all(self.reader()).await?
                    .into_iter().map(MessageRow::into_domain).collect()
            }

            async fn recent_messages(&self, conversation_id: &str, limit: u32) -> StoreResult<Vec<Message>> {
                let mut messages = self.first_message(
                    "SELECT * FROM messages WHERE conversation_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
                    conversation_id, i64::from(limit.clamp(1, 1000)),
                ).await?;
                messages.reverse();
                Ok(messages)
            }

            async fn messages(&self, conversation_id: &str, page: &Page) -> StoreResult<Vec<Message>> {
                let mut q = QueryBuilder::<$Db>::new("SELECT * FROM messages WHERE conversation_id = ");
                q.push_bind(conversation_id.to_owned());
                if let Some(after) = &page.after {
                    let cursor = Cursor::decode(after)?;
                    q.push(" AND (created_at > ").push_bind(cursor.ms)
                        .push(" OR (created_at = ").push_bind(cursor.ms)
                        .push(" AND id > ").push_bind(cursor.id).push("))");
                }
                q.push(" ORDER BY created_at, id LIMIT ").push_bind(page.fetch_limit());
                q.build_query_as::<MessageRow>().fetch_all(self.reader()).await?
                    .into_iter().map(MessageRow::into_domain).collect()
            }

            async fn message(&self, id: &str) -> StoreResult<Option<Message>> {
                sqlx::query_as::<_, MessageRow>("SELECT * FROM messages WHERE id = $1")
                    .bind(id.to_owned()).fetch_optional(self.reader()).await?
                    .map(MessageRow::into_domain).transpose()
            }

            async fn inbound_message_counts(&self) -> StoreResult<(i64, i64)> {
                let row = sqlx::query(
                    "SELECT COUNT(*), COUNT(DISTINCT channel_id || ':' || COALESCE(platform_message_id, id)) \
                     FROM messages WHERE direction = 'inbound'",
                )
                .fetch_one(self.reader()).await?;
                Ok((row.try_get(0)?, row.try_get(1)?))
            }

            async fn latest_inbound_message(&self, conversation_id: &str) -> StoreResult<Option<Message>> {
                let rows = self.first_message(
                    "SELECT * FROM messages WHERE conversation_id = $1 AND direction = 'inbound' \
                     ORDER BY created_at DESC, id DESC LIMIT $2",
                    conversation_id, 1,
                ).await?;
                Ok(rows.into_iter().next())
            }

            async fn unmatched_outbound(&self, channel_id: &str, limit: u32) -> StoreResult<Vec<Message>> {
                self.first_message(
                    "SELECT * FROM messages WHERE channel_id = $1 AND direction = 'outbound' AND visibility <> 'note' \
                     AND platform_message_id IS NULL ORDER BY created_at DESC, id DESC LIMIT $2",
                    channel_id, i64::from(limit.max(1)),
                ).await
            }

            async fn known_platform_ids(&self, channel_id: &str, platform_message_ids: &[String]) -> StoreResult<Vec<(String, String)>> {
                let mut known = vec![];
                for chunk in platform_message_ids.chunks(ROWS_PER_STATEMENT) {
                    let mut q = QueryBuilder::<$Db>::new("SELECT platform_message_id, id FROM messages WHERE channel_id = ");
                    q.push_bind(channel_id.to_owned()).push(" AND platform_message_id IN ");
                    push_ids(&mut q, chunk);
                    known.extend(q.build_query_as::<(String, String)>().fetch_all(self.reader()).await?);
                }
                Ok(known)
            }

            async fn message_by_platform_id(&self, channel_id: &str, platform_message_id: &str) -> StoreResult<Option<Message>> {
                sqlx::query_as::<_, MessageRow>("SELECT * FROM messages WHERE channel_id = $1 AND platform_message_id = $2")
                    .bind(channel_id.to_owned()).bind(platform_message_id.to_owned())
                    .fetch_optional(self.reader()).await?
                    .map(MessageRow::into_domain).transpose()
            }
        }

        impl $Store {
            async fn first_message(&self, sql: &'static str, key: &str, limit: i64) -> StoreResult<Vec<Message>> {
                sqlx::query_as::<_, MessageRow>(sql)
                    .bind(key.to_owned()).bind(limit).fetch_all(self.reader()).await?
                    .into_iter().map(MessageRow::into_domain).collect()
            }
        }

        #[async_trait]
        impl Collaboration for $Store {
            async fn snippets(&self, workspace_id: &str) -> StoreResult<Vec<Snippet>> {
                sqlx::query_as::<_, SnippetRow>("SELECT * FROM snippets WHERE workspace_id = $1 ORDER BY name, id")
                    .bind(workspace_id.to_owned()).fetch_all(self.reader()).await?
                    .into_iter().map(SnippetRow::into_domain).collect()
            }

            async fn snippet(&self, id: &str) -> StoreResult<Option<Snippet>> {
                sqlx::query_as::<_, SnippetRow>("SELECT * FROM snippets WHERE id = $1")
                    .bind(id.to_owned()).fetch_optional(self.reader()).await?
                    .map(SnippetRow::into_domain).transpose()
            }

            async fn saved_views(&self, workspace_id: &str, user_id: &str) -> StoreResult<Vec<SavedView>> {
                sqlx::query_as::<_, SavedViewRow>(
                    "SELECT * FROM saved_views WHERE workspace_id = $1 AND (user_id IS NULL OR user_id = $2) \
                     ORDER BY name, id",
                )
                .bind(workspace_id.to_owned()).bind(user_id.to_owned()).fetch_all(self.reader()).await?
                .into_iter().map(SavedViewRow::into_domain).collect()
            }

            async fn saved_view(&self, id: &str) -> StoreResult<Option<SavedView>> {
                sqlx::query_as::<_, SavedViewRow>("SELECT * FROM saved_views WHERE id = $1")
                    .bind(id.to_owned()).fetch_optional(self.reader()).await?
                    .map(SavedViewRow::into_domain).transpose()
            }

            async fn notifications(&self, user_id: &str, unread_only: bool, page: &Page) -> StoreResult<Vec<Notification>> {
                let mut q = QueryBuilder::<$Db>::new("SELECT * FROM notifications WHERE user_id = ");
                q.push_bind(user_id.to_owned());
                if unread_only {
                    q.push(" AND read_at IS NULL");
                }
                if let Some(after) = &page.after {
                    q.push(" AND id < ").push_bind(after.clone());
                }
                q.push(" ORDER BY id DESC LIMIT ").push_bind(page.fetch_limit());
                q.build_query_as::<NotificationRow>().fetch_all(self.reader()).await?
                    .into_iter().map(NotificationRow::into_domain).collect()
            }

            async fn unread_notification_count(&self, user_id: &str) -> StoreResult<i64> {
                Ok(sqlx::query_scalar("SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL")
                    .bind(user_id.to_owned()).fetch_one(self.reader()).await?)
            }

            async fn presence(&self, conversation_id: &str, now: jiff::Timestamp) -> StoreResult<Vec<Presence>> {
                sqlx::query_as::<_, PresenceRow>(
                    "SELECT p.conversation_id, p.user_id, u.name AS user_name, p.state, p.expires_at \
                     FROM presence p JOIN users u ON u.id = p.user_id \
                     WHERE p.conversation_id = $1 AND p.expires_at > $2 ORDER BY u.name, p.user_id",
                )
                .bind(conversation_id.to_owned()).bind(to_ms(now)).fetch_all(self.reader()).await?
                .into_iter().map(PresenceRow::into_domain).collect()
            }

            async fn attribute_definitions(&self, workspace_id: &str) -> StoreResult<Vec<AttributeDefinition>> {
                sqlx::query_as::<_, AttributeDefinitionRow>(
                    "SELECT * FROM attribute_definitions WHERE workspace_id = $1 ORDER BY scope, label, id",
                )
                .bind(workspace_id.to_owned()).fetch_all(self.reader()).await?
                .into_iter().map(AttributeDefinitionRow::into_domain).collect()
            }

            async fn upload(&self, id: &str) -> StoreResult<Option<UploadRecord>> {
                type UploadRow = (String, String, String, String, String, Vec<u8>, Option<String>, i64);
                let row: Option<UploadRow> = sqlx::query_as(
                    "SELECT id, workspace_id, token, name, content_type, bytes, created_by, created_at FROM uploads WHERE id = $1",
                )
                .bind(id.to_owned()).fetch_optional(self.reader()).await?;
                row.map(|(id, workspace_id, token, name, content_type, bytes, created_by, created_at)| {
                    Ok(UploadRecord {
                        id, workspace_id, token, name, content_type, bytes, created_by,
                        created_at: crate::time::from_ms(created_at)?,
                    })
                })
                .transpose()
            }

            async fn thread_post(&self, channel_id: &str, post_id: &str) -> StoreResult<Option<RootPost>> {
                type PostRow = (String, String, String, Option<String>, Option<i64>, Option<String>, i64);
                let row: Option<PostRow> = sqlx::query_as(
                    "SELECT channel_id, post_id, text, author, posted_at, url, fetched_at FROM thread_posts \
                     WHERE channel_id = $1 AND post_id = $2",
                )
                .bind(channel_id.to_owned()).bind(post_id.to_owned()).fetch_optional(self.reader()).await?;
                row.map(|(channel_id, post_id, text, author, posted_at, url, fetched_at)| {
                    Ok(RootPost {
                        channel_id, post_id, text, author, url,
                        posted_at: posted_at.map(crate::time::from_ms).transpose()?,
                        fetched_at: crate::time::from_ms(fetched_at)?,
                    })
                })
                .transpose()
            }

            async fn business_hours(&self, workspace_id: &str) -> StoreResult<Vec<BusinessHoursRecord>> {
                sqlx::query_as::<_, BusinessHoursRow>(
                    "SELECT * FROM business_hours WHERE workspace_id = $1 ORDER BY team_id IS NOT NULL, name, id",
                )
                .bind(workspace_id.to_owned()).fetch_all(self.reader()).await?
                .into_iter().map(BusinessHoursRow::into_record).collect()
            }
        }

        #[async_trait]
        impl Journal for $Store {
            async fn audit_log(&self, workspace_id: &str, page: &Page) -> StoreResult<Vec<AuditEntry>> {
                let mut q = QueryBuilder::<$Db>::new("SELECT * FROM audit_log WHERE workspace_id = ");
                q.push_bind(workspace_id.to_owned());
                if let Some(after) = &page.after {
                    let id: i64 = after.parse().map_err(|_| StoreError::BadCursor(after.clone()))?;
                    q.push(" AND id < ").push_bind(id);
                }
                q.push(" ORDER BY id DESC LIMIT ").push_bind(page.fetch_limit());
                q.build_query_as::<AuditRow>().fetch_all(self.reader()).await?
                    .into_iter().map(AuditRow::into_domain).collect()
            }

            async fn events_after(&self, workspace_id: &str, after: i64, limit: u32) -> StoreResult<Vec<Event>> {
                let limit = limit.clamp(1, 1000);
                if let Some(events) = self.recent_events().and_then(|r| r.after(after, Some(workspace_id), limit as usize)) {
                    return Ok(events);
                }
                sqlx::query_as::<_, EventRow>(
                    "SELECT * FROM events WHERE workspace_id = $1 AND id > $2 ORDER BY id LIMIT $3",
                )
                .bind(workspace_id.to_owned()).bind(after).bind(i64::from(limit))
                .fetch_all(self.reader()).await?
                .into_iter().map(EventRow::into_domain).collect()
            }

            async fn events_since(&self, after: i64, limit: u32) -> StoreResult<Vec<Event>> {
                let limit = limit.clamp(1, 5000);
                if let Some(events) = self.recent_events().and_then(|r| r.after(after, None, limit as usize)) {
                    return Ok(events);
                }
                sqlx::query_as::<_, EventRow>("SELECT * FROM events WHERE id > $1 ORDER BY id LIMIT $2")
                    .bind(after).bind(i64::from(limit))
                    .fetch_all(self.reader()).await?
                    .into_iter().map(EventRow::into_domain).collect()
            }

            async fn last_event_id(&self) -> StoreResult<i64> {
                let row = sqlx::query("SELECT COALESCE(MAX(id), 0) FROM events").fetch_one(self.reader()).await?;
                Ok(row.try_get::<i64, _>(0)?)
            }

            fn event_head(&self) -> tokio::sync::watch::Receiver<i64> {
                self.event_head.subscribe()
            }
        }

        #[async_trait]
        impl Queues for $Store {
            async fn append_raw_events(&self, events: Vec<NewRawEvent>) -> StoreResult<Vec<bool>> {
                if events.is_empty() {
                    return Ok(vec![]);
                }
                let mut tx = self.begin_raw_write().await?;
                let mut stored: std::collections::HashSet<(String, String)> = Default::default();
                for chunk in events.chunks(ROWS_PER_STATEMENT) {
                    let mut q = QueryBuilder::<$Db>::new(
                        "INSERT INTO raw_events (channel_id, dedup_key, received_at, payload, state, attempts) ",
                    );
                    q.push_values(chunk, |mut row, e| {
                        row.push_bind(e.channel_id.clone()).push_bind(e.dedup_key.clone())
                            .push_bind(to_ms(e.received_at)).push_bind(json_text(&e.payload))
                            .push_bind("pending").push_bind(0i64);
                    });
                    q.push(" ON CONFLICT (channel_id, dedup_key) DO NOTHING RETURNING channel_id, dedup_key");
                    let rows: Vec<(String, String)> = q.build_query_as().fetch_all(&mut *tx).await?;
                    stored.extend(rows);
                }
                tx.commit().await?;
                // Each stored key is new for its first occurrence in the input only.
                Ok(events.into_iter().map(|e| stored.remove(&(e.channel_id, e.dedup_key))).collect())
            }

            async fn claim_raw_events(&self, now: jiff::Timestamp, lease_ms: i64, limit: u32) -> StoreResult<Vec<RawEvent>> {
                let sql = Self::claim_sql(
                    "raw_events",
                    "state = 'pending' AND (locked_until IS NULL OR locked_until <= $2)",
                    "id, channel_id, dedup_key, received_at, payload, attempts",
                );
                let marks = self.take_done_marks();
                let mut tx = self.begin_raw_write().await?;
                // Events handled since the last claim are done before this one looks.
                Self::write_done_marks(&mut tx, &marks.marks).await?;
                let rows = sqlx::query_as::<_, RawEventRow>(sqlx::AssertSqlSafe(sql))
                    .bind(to_ms(now) + lease_ms).bind(to_ms(now)).bind(i64::from(limit.max(1)))
                    .fetch_all(&mut *tx).await?;
                tx.commit().await?;
                marks.written();
                let mut events = rows.into_iter().map(RawEventRow::into_record).collect::<StoreResult<Vec<_>>>()?;
                events.sort_by_key(|e| e.id);
                Ok(events)
            }

            async fn raw_event_counts(&self) -> StoreResult<RawEventCounts> {
                // Counted as they are, not as the next claim would leave them.
                let marks = self.take_done_marks();
                if !marks.marks.is_empty() {
                    let mut tx = self.begin_raw_write().await?;
                    Self::write_done_marks(&mut tx, &marks.marks).await?;
                    tx.commit().await?;
                    marks.written();
                }
                let rows: Vec<(String, i64)> = sqlx::query_as("SELECT state, COUNT(*) FROM raw_events GROUP BY state")
                    .fetch_all(self.raw_reader()).await?;
                let mut counts = RawEventCounts::default();
                for (state, n) in rows {
                    match state.as_str() {
                        "pending" => counts.pending = n,
                        "done" => counts.done = n,
                        _ => counts.failed += n,
                    }
                }
                Ok(counts)
            }

            async fn claim_outbox(&self, kind: &str, now: jiff::Timestamp, lease_ms: i64, limit: u32) -> StoreResult<Vec<OutboxItem>> {
                let sql = Self::claim_sql(
                    "outbox",
                    "done_at IS NULL AND kind = $4 AND due_at <= $2 AND (locked_until IS NULL OR locked_until <= $2)",
                    "id, workspace_id, kind, subject_id, payload, attempts, created_at",
                );
                let mut tx = self.begin_write().await?;
                let rows = sqlx::query_as::<_, OutboxRow>(sqlx::AssertSqlSafe(sql))
                    .bind(to_ms(now) + lease_ms).bind(to_ms(now)).bind(i64::from(limit.max(1))).bind(kind.to_owned())
                    .fetch_all(&mut *tx).await?;
                tx.commit().await?;
                let mut items = rows.into_iter().map(OutboxRow::into_record).collect::<StoreResult<Vec<_>>>()?;
                items.sort_by_key(|i| i.id);
                Ok(items)
            }

            async fn open_outbox_count(&self, kind: &str) -> StoreResult<i64> {
                Ok(sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE kind = $1 AND done_at IS NULL")
                    .bind(kind.to_owned()).fetch_one(self.reader()).await?)
            }

            async fn delivery_attempts(&self, subject_id: &str) -> StoreResult<Vec<DeliveryAttempt>> {
                sqlx::query_as::<_, DeliveryAttemptRow>(
                    "SELECT outbox_id, subject_id, at, outcome, detail FROM delivery_attempts WHERE subject_id = $1 ORDER BY id",
                )
                .bind(subject_id.to_owned()).fetch_all(self.reader()).await?
                .into_iter().map(DeliveryAttemptRow::into_record).collect()
            }

            async fn claim_follower(
                &self,
                name: &str,
                holder: &str,
                now: jiff::Timestamp,
                lease_ms: i64,
                start: i64,
            ) -> StoreResult<Option<i64>> {
                let mut tx = self.begin_write().await?;
                sqlx::query(
                    "INSERT INTO followers (name, position, updated_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
                )
                .bind(name.to_owned()).bind(start).bind(to_ms(now))
                .execute(&mut *tx).await?;
                let position: Option<i64> = sqlx::query_scalar(
                    "UPDATE followers SET holder = $2, locked_until = $3 \
                     WHERE name = $1 AND (holder IS NULL OR holder = $2 OR locked_until IS NULL OR locked_until <= $4) \
                     RETURNING position",
                )
                .bind(name.to_owned()).bind(holder.to_owned()).bind(to_ms(now) + lease_ms).bind(to_ms(now))
                .fetch_optional(&mut *tx).await?;
                tx.commit().await?;
                Ok(position)
            }

            async fn poll_cursor(&self, channel_id: &str, source: &str) -> StoreResult<Option<String>> {
                Ok(sqlx::query_scalar("SELECT cursor FROM poll_cursors WHERE channel_id = $1 AND source = $2")
                    .bind(channel_id.to_owned()).bind(source.to_owned()).fetch_optional(self.reader()).await?)
            }
        }

        #[async_trait]
        impl UnitOfWork for $Store {
            async fn commit(&self, writes: Vec<Write>) -> StoreResult<Committed> {
                let writes_channels = crate::channel_cache::ChannelCache::written_by(&writes);
                let (raw, writes): (Vec<Write>, Vec<Write>) = if Self::RAW_EVENTS_APART {
                    writes.into_iter().partition(|w| {
                        matches!(w, Write::FinishRawEvent { .. } | Write::FailRawEvent { .. } | Write::PurgeRawEvents { .. })
                    })
                } else {
                    (vec![], writes)
                };
                let committed = if writes.is_empty() { Committed::default() } else { self.commit_main(writes).await? };
                if writes_channels {
                    self.channels.forget_all();
                }
                let only_done_marks = raw.iter().all(|w| matches!(w, Write::FinishRawEvent { .. }));
                match self.held_done_marks() {
                    Some(held) if only_done_marks => held.hold(raw.iter().filter_map(|w| match w {
                        Write::FinishRawEvent { id, at } => Some((*id, *at)),
                        _ => None,
                    })),
                    _ if raw.is_empty() => {}
                    _ => {
                        // Held marks go first, so that a purge after this sees those events done.
                        let marks = self.take_done_marks();
                        let mut all: Vec<Write> =
                            marks.marks.iter().map(|&(id, at)| Write::FinishRawEvent { id, at }).collect();
                        all.extend(raw);
                        // What the events became is committed: a failure here
                        // leaves them pending, and ingesting them again only
                        // finds them stored (see the backend's comment).
                        match self.commit_raw(all).await {
                            Ok(()) => marks.written(),
                            Err(err) => {
                                tracing::warn!(%err, "could not mark inbound events handled; they will be looked at again")
                            }
                        }
                    }
                }
                Ok(committed)
            }

            async fn ping(&self) -> StoreResult<()> {
                sqlx::query("SELECT 1").execute(self.reader()).await?;
                Ok(())
            }
        }

        impl $Store {
            /// The done-marks held for the intake file's next write (see
            /// `done_marks`), taken out to be written.
            fn take_done_marks(&self) -> crate::done_marks::Taken<'_> {
                match self.held_done_marks() {
                    Some(held) => held.take(),
                    None => crate::done_marks::Taken::none(),
                }
            }

            /// Writes done-marks, each run of one time as one statement.
            async fn write_done_marks(tx: &mut Tx, marks: &[(i64, jiff::Timestamp)]) -> StoreResult<()> {
                for run in marks.chunk_by(|a, b| a.1 == b.1) {
                    Self::finish_raw_events(tx, run.iter().map(|(id, _)| *id).collect(), run[0].1).await?;
                }
                Ok(())
            }

            /// Marks inbound events handled in their own transaction (a backend
            /// that keeps them apart).
            async fn commit_raw(&self, writes: Vec<Write>) -> StoreResult<()> {
                let mut tx = self.begin_raw_write().await?;
                Self::apply_all(&mut tx, writes, &mut Committed::default()).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn commit_main(&self, writes: Vec<Write>) -> StoreResult<Committed> {
                let mut tx = self.begin_write().await?;
                let mut committed = Committed::default();
                Self::apply_all(&mut tx, writes, &mut committed).await?;
                self.before_commit(&mut tx, &committed).await?;
                tx.commit().await?;
                // Held in memory before readers are woken, so they find them there.
                let events = std::mem::take(&mut committed.events);
                if let Some(recent) = self.recent_events() {
                    recent.record(events);
                }
                self.after_commit(&committed);
                Ok(committed)
            }

            /// Applies the writes in order within `tx`.
            async fn apply_all(tx: &mut Tx, writes: Vec<Write>, committed: &mut Committed) -> StoreResult<()> {
                // Runs of the writes that come by the hundred (a batch of
                // ingested messages, their events, audit entries, raw
                // events' done-marks, and the followers' per-conversation
                // memories and report rows) go in as multi-row statements: each
                // statement is a round trip to the database, which costs far
                // more than the row.
                let mut writes = writes.into_iter().peekable();
                while let Some(write) = writes.next() {
                    match write {
                        Write::InsertMessage(first) => {
                            let run = $crate::shared::take_run!(writes, first, Write::InsertMessage);
                            Self::insert_messages(tx, run).await?;
                        }
                        Write::Event(first) => {
                            let run = $crate::shared::take_run!(writes, first, Write::Event);
                            if committed.event_ids.is_empty() {
                                Self::before_events(tx).await?;
                            }
                            Self::insert_events(tx, run, committed).await?;
                        }
                        Write::InsertContact(first) => {
                            let run = $crate::shared::take_run!(writes, first, Write::InsertContact);
                            Self::insert_contacts(tx, run).await?;
                        }
                        Write::InsertConversation(first) => {
                            let run = $crate::shared::take_run!(writes, first, Write::InsertConversation);
                            Self::insert_conversations(tx, run).await?;
                        }
                        Write::Audit(first) => {
                            let run = $crate::shared::take_run!(writes, first, Write::Audit);
                            Self::insert_audits(tx, run).await?;
                        }
                        Write::Levels(LevelsWrite::PutWatch(first)) => {
                            let run = $crate::shared::take_run!(writes, first, Write::Levels, LevelsWrite::PutWatch);
                            Self::put_watches(tx, run).await?;
                        }
                        Write::Levels(LevelsWrite::PutContribution(first)) => {
                            let run = $crate::shared::take_run!(writes, first, Write::Levels, LevelsWrite::PutContribution);
                            Self::put_contributions(tx, run).await?;
                        }
                        Write::Levels(LevelsWrite::PutReportRow(first)) => {
                            let run = $crate::shared::take_run!(writes, first, Write::Levels, LevelsWrite::PutReportRow);
                            Self::put_report_rows(tx, run).await?;
                        }
                        Write::Automation(AutomationWrite::PutRuleWatch(first)) => {
                            let run = $crate::shared::take_run!(writes, first, Write::Automation, AutomationWrite::PutRuleWatch);
                            Self::put_rule_watches(tx, run).await?;
                        }
                        Write::FinishRawEvent { id, at } => {
                            let mut ids = vec![id];
                            while let Some(Write::FinishRawEvent { at: next_at, .. }) = writes.peek() {
                                if *next_at != at { break; }
                                if let Some(Write::FinishRawEvent { id, .. }) = writes.next() { ids.push(id); }
                            }
                            Self::finish_raw_events(tx, ids, at).await?;
                        }
                        other => Self::apply(tx, other, committed).await?,
                    }
                }
                Ok(())
            }
        }
    };
}

pub(crate) use impl_repositories;
