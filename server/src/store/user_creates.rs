//! User creates merged into one statement on the embedded database. Each SQL statement
//! costs a round trip to SQLite's thread (two thread wake-ups, the dominant cost of a write
//! here), so creates that arrive while the writer is busy are inserted together: one
//! multi-row `INSERT … ON CONFLICT DO NOTHING RETURNING` for the users, one for their
//! indexed values. A create the insert skipped lost a `userName` race (409), exactly as if
//! it had run alone. If the merged statement fails for any other reason, each create is
//! retried alone in its own savepoint, so one bad create never fails its neighbours.
//!
//! Every create waiting here is carried by one write job at a time: the first create to
//! find none scheduled submits it; the job takes everything pending when it runs.

use std::{
    collections::HashSet,
    mem,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
};

use entity::{scim_user, scim_user_value};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, DatabaseTransaction, DbErr, EntityTrait, TransactionTrait};
use tokio::sync::oneshot;

use super::{
    Storage,
    users::{insert_values, taken},
};
use crate::error::Error;

/// Users per statement: 12 parameters a row, far below SQLite's limit of 32,766.
const USERS_PER_STATEMENT: usize = 500;

struct Pending {
    row: scim_user::ActiveModel,
    values: Vec<scim_user_value::ActiveModel>,
    user_name: String,
    reply: oneshot::Sender<Result<scim_user::Model, Error>>,
}

/// An answer, sent once the batch that carried it has committed.
type Delivery = (
    oneshot::Sender<Result<scim_user::Model, Error>>,
    Result<scim_user::Model, Error>,
);

#[derive(Default)]
pub struct UserCreates {
    state: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    pending: Vec<Pending>,
    /// A write job that will take `pending` is queued.
    scheduled: bool,
}

impl UserCreates {
    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub async fn create(
        self: &Arc<Self>,
        db: &Storage,
        row: scim_user::ActiveModel,
        values: Vec<scim_user_value::ActiveModel>,
        user_name: String,
    ) -> Result<scim_user::Model, Error> {
        let (reply, answer) = oneshot::channel();
        let schedule = {
            let mut queue = self.queue();
            queue.pending.push(Pending {
                row,
                values,
                user_name,
                reply,
            });
            !mem::replace(&mut queue.scheduled, true)
        };
        if schedule {
            self.carry(db).await;
        }
        answer.await.unwrap_or_else(|_| Err(Error::commit_failed()))
    }

    /// Submits the job that takes everything pending, and delivers the answers once its
    /// batch committed. (If the batch failed, the answers are dropped, which tells each
    /// waiting create that nothing was stored.)
    async fn carry(self: &Arc<Self>, db: &Storage) {
        let this = Arc::clone(self);
        let ran = Arc::new(AtomicBool::new(false));
        let job_ran = Arc::clone(&ran);
        let outcome = db
            .write(move |txn| {
                Box::pin(async move {
                    let taken = {
                        let mut queue = this.queue();
                        queue.scheduled = false;
                        mem::take(&mut queue.pending)
                    };
                    job_ran.store(true, Ordering::SeqCst);
                    Ok(insert(txn, taken).await)
                })
            })
            .await;
        match outcome {
            Ok(deliveries) => {
                for (reply, result) in deliveries {
                    let _ = reply.send(result);
                }
            }
            Err(err) if !ran.load(Ordering::SeqCst) => {
                // Never ran (the queue was full, the server is stopping): nothing else will
                // take what is pending, so answer it here.
                let failed = {
                    let mut queue = self.queue();
                    queue.scheduled = false;
                    mem::take(&mut queue.pending)
                };
                let reason = err.to_string();
                let retry_after = match &err {
                    Error::Unavailable { retry_after, .. } => *retry_after,
                    _ => crate::error::DATABASE_RETRY_SECS,
                };
                for pending in failed {
                    let _ = pending
                        .reply
                        .send(Err(Error::unavailable(reason.clone(), retry_after)));
                }
            }
            Err(_) => {}
        }
    }
}

/// Inserts `creates` together, or one by one if that fails; one answer per create.
async fn insert(txn: &DatabaseTransaction, creates: Vec<Pending>) -> Vec<Delivery> {
    let mut deliveries = Vec::with_capacity(creates.len());
    let mut creates = creates.into_iter().peekable();
    while creates.peek().is_some() {
        let chunk: Vec<Pending> = creates.by_ref().take(USERS_PER_STATEMENT).collect();
        match insert_together(txn, &chunk).await {
            Ok(mut inserted) => {
                for pending in chunk {
                    let id = pending.row.id.as_ref().clone();
                    let result = inserted
                        .remove(&id)
                        .ok_or_else(|| Error::Conflict(taken(&pending.user_name)));
                    deliveries.push((pending.reply, result));
                }
            }
            Err(err) => {
                tracing::debug!(error = %err, "merged user creates failed; creating one by one");
                for pending in chunk {
                    let result = insert_alone(txn, &pending).await;
                    deliveries.push((pending.reply, result));
                }
            }
        }
    }
    deliveries
}

/// The inserted users by id; creates missing from it lost a `userName` race.
async fn insert_together(
    txn: &DatabaseTransaction,
    chunk: &[Pending],
) -> Result<std::collections::HashMap<String, scim_user::Model>, DbErr> {
    let savepoint = txn.begin().await?;
    let rows = chunk.iter().map(|pending| pending.row.clone());
    let inserted = match scim_user::Entity::insert_many(rows)
        .on_conflict(OnConflict::new().do_nothing().to_owned())
        .exec_with_returning(&savepoint)
        .await
    {
        Ok(rows) => rows,
        Err(DbErr::RecordNotInserted) => Vec::new(),
        Err(err) => {
            savepoint.rollback().await?;
            return Err(err);
        }
    };
    let ids: HashSet<&str> = inserted.iter().map(|user| user.id.as_str()).collect();
    let values: Vec<_> = chunk
        .iter()
        .filter(|pending| ids.contains(pending.row.id.as_ref().as_str()))
        .flat_map(|pending| pending.values.iter().cloned())
        .collect();
    if let Err(err) = insert_values(&savepoint, values).await {
        savepoint.rollback().await?;
        return Err(DbErr::Custom(err.to_string()));
    }
    savepoint.commit().await?;
    Ok(inserted
        .into_iter()
        .map(|user| (user.id.clone(), user))
        .collect())
}

async fn insert_alone(
    txn: &DatabaseTransaction,
    pending: &Pending,
) -> Result<scim_user::Model, Error> {
    let savepoint = txn.begin().await?;
    let outcome = async {
        let row = pending
            .row
            .clone()
            .insert(&savepoint)
            .await
            .map_err(|err| Error::conflict_on_unique(err, taken(&pending.user_name)))?;
        insert_values(&savepoint, pending.values.clone()).await?;
        Ok::<_, Error>(row)
    }
    .await;
    match outcome {
        Ok(row) => {
            savepoint.commit().await?;
            Ok(row)
        }
        Err(err) => {
            savepoint.rollback().await?;
            Err(err)
        }
    }
}
