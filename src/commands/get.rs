//! `get`: one lookup per id, printed once (SPEC §2).

use std::io::{self, Write};
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::{write_failed, Context};
use crate::cli::GetArgs;
use crate::config::OutputFormat;
use crate::error::{exit, Error, Result};
use crate::operation::{Lookup, Status};
use crate::render::{self, Entry};

/// How many lookups `get` keeps in flight at once.
const CONCURRENCY: usize = 8;

pub async fn run(ctx: &Context, args: &GetArgs) -> Result<i32> {
    let results = lookup_all(ctx, args).await;

    let entries: Vec<Entry<'_>> = args
        .ids
        .iter()
        .zip(&results)
        .map(|(id, r)| match r {
            Ok(lookup) => Entry::answered(lookup),
            Err(e) => Entry::failed(id, e),
        })
        .collect();
    // One id that got no answer: the error on stderr is the whole story, except that JSON
    // consumers still get the API's error body.
    let single_failure = matches!(results.as_slice(), [Err(e)]
        if ctx.output.format == OutputFormat::Table || e.api_failure().is_none());
    if !single_failure {
        let mut out = io::stdout().lock();
        match ctx.output.format {
            OutputFormat::Json => render::write_json(&mut out, &entries),
            OutputFormat::Table => {
                render::write_table(&mut out, &entries, ctx.output.table_style())
            }
        }
        .and_then(|_| out.flush())
        .map_err(write_failed)?;
    }

    let mut codes = Vec::with_capacity(results.len());
    for r in &results {
        match r {
            Ok(lookup) => codes.push(exit_code(lookup, args.exit_status)),
            Err(e) => {
                ctx.output.error(e);
                codes.push(e.exit_code());
            }
        }
    }
    Ok(exit::combine(codes))
}

/// The exit code for one answered lookup (SPEC §3): no `Data` is 3 either way; with
/// `--exit-status`, FAILURE is 1 and a not-yet-terminal status is 8.
fn exit_code(lookup: &Lookup, exit_status: bool) -> i32 {
    if lookup.operation.is_none() {
        return exit::EXPIRED;
    }
    if !exit_status {
        return exit::SUCCESS;
    }
    match lookup.status() {
        Some(Status::Success) => exit::SUCCESS,
        Some(Status::Failure) => exit::FAILURE,
        _ => exit::STILL_RUNNING,
    }
}

/// Looks every id up, at most [`CONCURRENCY`] at once, results in argument order.
async fn lookup_all(ctx: &Context, args: &GetArgs) -> Vec<Result<Lookup>> {
    if let [id] = args.ids.as_slice() {
        return vec![
            ctx.client
                .get_operation(id, args.resource_group_id.as_deref())
                .await,
        ];
    }
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    let mut tasks = JoinSet::new();
    for (i, id) in args.ids.iter().enumerate() {
        let client = ctx.client.clone();
        let id = id.clone();
        let rg = args.resource_group_id.clone();
        let permits = permits.clone();
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            (i, client.get_operation(&id, rg.as_deref()).await)
        });
    }
    let mut results: Vec<Option<Result<Lookup>>> = args.ids.iter().map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((i, r)) => results[i] = Some(r),
            Err(e) => {
                // A panicked lookup task: report it rather than lose the id.
                let msg = format!("internal error while looking up an id: {e}");
                if let Some(slot) = results.iter_mut().find(|r| r.is_none()) {
                    *slot = Some(Err(Error::protocol(msg)));
                }
            }
        }
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(Error::protocol("lookup did not finish"))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operation::Operation;

    fn lookup(status: Option<&str>, data: bool) -> Lookup {
        Lookup {
            requested_id: "op".into(),
            request_id: None,
            operation: data.then(|| Operation {
                operation_id: None,
                status: status.map(Status::parse),
                message: None,
                arguments: None,
            }),
            body: serde_json::Value::Null,
        }
    }

    #[test]
    fn exit_codes_follow_the_spec() {
        assert_eq!(exit_code(&lookup(Some("FAILURE"), true), false), 0);
        assert_eq!(exit_code(&lookup(Some("FAILURE"), true), true), 1);
        assert_eq!(exit_code(&lookup(Some("RUNNING"), true), true), 8);
        assert_eq!(exit_code(&lookup(Some("INIT"), true), true), 8);
        assert_eq!(exit_code(&lookup(Some("SUCCESS"), true), true), 0);
        assert_eq!(exit_code(&lookup(None, false), false), 3);
        assert_eq!(exit_code(&lookup(None, false), true), 3);
    }
}
