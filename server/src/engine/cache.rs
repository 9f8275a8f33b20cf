//! Built knowledge indexes, kept per process and keyed by the bot's `knowledge_revision`: the
//! database is the source of truth, so a replica rebuilds as soon as the revision moves.

use super::{EntryContent, KnowledgeEntry, KnowledgeIndex};
use crate::db::Db;
use crate::error::Error;
use crate::store::{self, bots::BotRow};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Built knowledge indexes, by bot, with the revision they were built from.
#[derive(Default)]
pub struct IndexCache {
    indexes: Mutex<HashMap<String, (i64, Arc<KnowledgeIndex>)>>,
}

impl IndexCache {
    /// The bot's index at its current revision, built (off the async threads) when missing
    /// or stale.
    pub async fn index_of(&self, db: &Db, bot: &BotRow) -> Result<Arc<KnowledgeIndex>, Error> {
        if let Some((revision, index)) = self.lock().get(&bot.id)
            && *revision == bot.knowledge_revision
        {
            return Ok(index.clone());
        }
        let rows = store::knowledge::entries_of_bot(db, &bot.id).await?;
        let entries: Vec<KnowledgeEntry> = rows
            .into_iter()
            .map(|(row, title)| KnowledgeEntry {
                id: row.id,
                document_id: store::uuid(&row.document_id),
                title,
                content: match row.question {
                    Some(question) => EntryContent::Faq {
                        question,
                        answer: row.content,
                    },
                    None => EntryContent::Passage { text: row.content },
                },
            })
            .collect();
        let index = tokio::task::spawn_blocking(move || KnowledgeIndex::build(&entries))
            .await
            .map_err(|e| Error::Internal(format!("index task: {e}")))?
            .map_err(|e| Error::Internal(e.to_string()))?;
        let index = Arc::new(index);
        self.lock()
            .insert(bot.id.clone(), (bot.knowledge_revision, index.clone()));
        Ok(index)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (i64, Arc<KnowledgeIndex>)>> {
        self.indexes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
