//! The database: connection (SQLite embedded or PostgreSQL), versioned migrations, and small helpers.
//!
//! Every query is a runtime `sqlx::query` through the `Any` driver, with `$n` placeholders (both SQLite
//! and PostgreSQL accept them), so one code path serves both backends. Only the schema differs (identity
//! columns and floating-point type names), hence one migration file per backend and version.
use anyhow::{bail, Context};
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Row};

/// The database backend behind a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite file (embedded default).
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// A connected, migrated database.
#[derive(Clone)]
pub struct Db {
    /// The connection pool.
    pub pool: AnyPool,
    /// Which backend it is.
    pub backend: Backend,
}

/// One schema version: number, description, SQLite script, PostgreSQL script.
struct Migration {
    version: i64,
    description: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

/// The versioned migrations, applied in order; a version is never edited once released, only added.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "initial schema",
        sqlite: include_str!("../migrations/sqlite/0001_init.sql"),
        postgres: include_str!("../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        description: "assessment dechallenge and rechallenge",
        sqlite: include_str!("../migrations/sqlite/0002_dechallenge.sql"),
        postgres: include_str!("../migrations/postgres/0002_dechallenge.sql"),
    },
    Migration {
        version: 3,
        description: "audit patient scope, versioned exports, seriousness, time zones, deactivation, injection corrections",
        sqlite: include_str!("../migrations/sqlite/0003_clinic_run.sql"),
        postgres: include_str!("../migrations/postgres/0003_clinic_run.sql"),
    },
];

/// The newest schema version this build knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Which backend a URL names (`sqlite:` or `postgres:`/`postgresql:`).
pub fn backend_of(url: &str) -> anyhow::Result<Backend> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Backend::Postgres)
    } else {
        bail!("--db {url:?}: expected sqlite://FILE or postgres://USER@HOST/DB")
    }
}

impl Db {
    /// Connect to `url`, creating the SQLite file if needed, and apply any pending migrations.
    ///
    /// SQLite runs in WAL mode with `synchronous = FULL` (every acknowledged commit is on disk, which
    /// the kill -9 durability test checks) and a single pooled connection: writes are serialised by the
    /// pool instead of failing with `SQLITE_BUSY` when two transactions upgrade to write at once.
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        sqlx::any::install_default_drivers();
        let backend = backend_of(url)?;
        let mut url = url.to_string();
        let options = match backend {
            Backend::Sqlite => {
                if !url.contains("mode=") {
                    url.push_str(if url.contains('?') {
                        "&mode=rwc"
                    } else {
                        "?mode=rwc"
                    });
                }
                AnyPoolOptions::new()
                    .max_connections(1)
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            for pragma in [
                                "PRAGMA journal_mode = WAL",
                                "PRAGMA synchronous = FULL",
                                "PRAGMA foreign_keys = ON",
                                "PRAGMA busy_timeout = 5000",
                            ] {
                                sqlx::query(pragma).execute(&mut *conn).await?;
                            }
                            Ok(())
                        })
                    })
            }
            Backend::Postgres => AnyPoolOptions::new().max_connections(8),
        };
        let pool = options
            .connect(&url)
            .await
            .with_context(|| format!("connecting to {}", redact(&url)))?;
        let db = Db { pool, backend };
        db.migrate().await.context("applying migrations")?;
        Ok(db)
    }

    /// Apply every migration not yet recorded in `schema_migrations`, each in its own transaction.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)",
        )
        .execute(&self.pool)
        .await?;
        let applied: Vec<i64> =
            sqlx::query("SELECT version FROM schema_migrations ORDER BY version")
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| r.try_get::<i64, _>(0))
                .collect::<Result<_, _>>()?;
        if let Some(&newest) = applied.last() {
            if newest > latest_version() {
                bail!(
                    "the database is at schema version {newest}, newer than this vigil ({})",
                    latest_version()
                );
            }
        }
        for m in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
            let script = match self.backend {
                Backend::Sqlite => m.sqlite,
                Backend::Postgres => m.postgres,
            };
            let mut tx = self.pool.begin().await?;
            for statement in statements(script) {
                sqlx::query(sqlx::AssertSqlSafe(statement.as_str()))
                    .execute(&mut *tx)
                    .await
                    .with_context(|| {
                        format!("migration {} ({}): {statement}", m.version, m.description)
                    })?;
            }
            sqlx::query("INSERT INTO schema_migrations (version, description, applied_at) VALUES ($1, $2, $3)")
                .bind(m.version)
                .bind(m.description)
                .bind(crate::now_rfc3339())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        }
        Ok(())
    }
}

/// Split a migration script into statements: comment lines dropped, split at `;` ending a line.
fn statements(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in script.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("--") || trimmed.is_empty() {
            continue;
        }
        current.push_str(line);
        current.push('\n');
        if trimmed.ends_with(';') {
            out.push(current.trim().trim_end_matches(';').to_string());
            current.clear();
        }
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_string());
    }
    out
}

/// The URL with any password replaced by `***`, for error messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_split_into_the_tables_of_the_schema() {
        // The v1 schema has 10 CREATE TABLE and 5 CREATE INDEX statements, on both backends.
        for script in [MIGRATIONS[0].sqlite, MIGRATIONS[0].postgres] {
            let s = statements(script);
            assert_eq!(
                s.iter().filter(|s| s.starts_with("CREATE TABLE")).count(),
                10
            );
            assert_eq!(
                s.iter().filter(|s| s.starts_with("CREATE INDEX")).count(),
                5
            );
            assert_eq!(s.len(), 15);
        }
    }

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            redact("postgres://vigil:s3cret@127.0.0.1:5432/db"),
            "postgres://vigil:***@127.0.0.1:5432/db"
        );
        assert_eq!(
            redact("postgres://vigil@127.0.0.1/db"),
            "postgres://vigil@127.0.0.1/db"
        );
        assert_eq!(redact("sqlite://vigil.db"), "sqlite://vigil.db");
    }
}
