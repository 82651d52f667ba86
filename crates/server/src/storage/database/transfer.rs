//! Whole-table reads and idempotent inserts, the database half of `voxprint migrate-data`.
//! Rows travel as plain values so one copier serves every table, in both directions.

use sqlx::Row as _;

use super::{try_with_tx, with_pool, Result, Store};

/// What a column holds, as both backends store it.
#[derive(Clone, Copy)]
pub enum Kind {
    Int,
    NullableInt,
    Text,
    Blob,
}

/// A table to copy: its name and columns, the first being its primary key.
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [(&'static str, Kind)],
}

/// Every table that holds data, parents before children (the order the foreign keys need).
/// `id_nodes` is left out: its leases belong to the processes of one database, and IDs made
/// later on the target cannot collide with copied ones because they carry their creation time.
/// So are the counts the database keeps (`teams.group_count`, `voiceprint_groups.voiceprint_count`):
/// the target's triggers count the copied rows as they arrive.
pub const TABLES: &[Table] = &[
    Table { name: "server_secrets", columns: &[("name", Kind::Text), ("value", Kind::Blob)] },
    Table {
        name: "data_keys",
        columns: &[
            ("id", Kind::Text),
            ("number", Kind::Int),
            ("master_key_id", Kind::Text),
            ("wrapped", Kind::Blob),
            ("created_at", Kind::Int),
        ],
    },
    Table { name: "teams", columns: &[("id", Kind::Int), ("name", Kind::Text), ("created_at", Kind::Int)] },
    Table {
        name: "users",
        columns: &[
            ("id", Kind::Int),
            ("team_id", Kind::Int),
            ("name", Kind::Text),
            ("nickname", Kind::Text),
            ("avatar_url", Kind::Text),
            ("created_at", Kind::Int),
        ],
    },
    Table {
        name: "bootstrap",
        columns: &[
            ("singleton", Kind::Int),
            ("team_id", Kind::Int),
            ("admin_id", Kind::Int),
            ("created_at", Kind::Int),
        ],
    },
    Table {
        name: "tokens",
        columns: &[
            ("id", Kind::Int),
            ("user_id", Kind::Int),
            ("token_hash", Kind::Blob),
            ("permissions", Kind::Text),
            ("created_at", Kind::Int),
            ("expires_at", Kind::NullableInt),
            ("revoked_at", Kind::NullableInt),
        ],
    },
    Table {
        name: "voiceprint_groups",
        columns: &[
            ("id", Kind::Int),
            ("team_id", Kind::Int),
            ("creator_id", Kind::Int),
            ("name", Kind::Text),
            ("description", Kind::Text),
            ("created_at", Kind::Int),
            ("updated_at", Kind::Int),
            ("voiceprints_version", Kind::Int),
        ],
    },
    Table {
        name: "voiceprints",
        columns: &[
            ("id", Kind::Int),
            ("group_id", Kind::Int),
            ("creator_id", Kind::Int),
            ("name", Kind::Text),
            ("description", Kind::Text),
            ("audio_key", Kind::Text),
            ("audio_content_type", Kind::Text),
            ("audio_sha256", Kind::Blob),
            ("embedding", Kind::Blob),
            ("created_at", Kind::Int),
            ("updated_at", Kind::Int),
            ("conditions", Kind::Blob),
            ("scoring_version", Kind::Int),
            ("primary_sample_id", Kind::Int),
            ("sample_created_at", Kind::Int),
            ("speech_millis", Kind::Int),
            ("quality", Kind::Text),
        ],
    },
    Table {
        name: "voiceprint_samples",
        columns: &[
            ("id", Kind::Int),
            ("voiceprint_id", Kind::Int),
            ("audio_key", Kind::Text),
            ("audio_content_type", Kind::Text),
            ("audio_sha256", Kind::Blob),
            ("embedding", Kind::Blob),
            ("conditions", Kind::Blob),
            ("scoring_version", Kind::Int),
            ("speech_millis", Kind::Int),
            ("quality", Kind::Text),
            ("created_at", Kind::Int),
        ],
    },
    Table {
        name: "audit_log",
        columns: &[
            ("id", Kind::Int),
            ("at", Kind::Int),
            ("team_id", Kind::NullableInt),
            ("user_id", Kind::NullableInt),
            ("token_id", Kind::NullableInt),
            ("action", Kind::Text),
            ("resources", Kind::Text),
            ("code", Kind::Int),
            ("logid", Kind::Text),
            ("client", Kind::Text),
        ],
    },
];

/// One column's value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    Int(Option<i64>),
    Text(String),
    Blob(Vec<u8>),
}

pub type Row = Vec<Value>;

impl Table {
    fn column_list(&self) -> String {
        self.columns.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", ")
    }
}

impl Store {
    /// Every row of `table`, ordered by its key.
    pub async fn read_table(&self, table: &Table) -> Result<Vec<Row>> {
        let sql = format!("SELECT {} FROM {} ORDER BY {}", table.column_list(), table.name, table.columns[0].0);
        with_pool!(self, |pool| {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?;
            rows.iter()
                .map(|row| {
                    table
                        .columns
                        .iter()
                        .enumerate()
                        .map(|(i, (_, kind))| {
                            Ok(match kind {
                                Kind::Int | Kind::NullableInt => Value::Int(row.try_get(i)?),
                                Kind::Text => Value::Text(row.try_get(i)?),
                                Kind::Blob => Value::Blob(row.try_get(i)?),
                            })
                        })
                        .collect::<Result<Row>>()
                })
                .collect()
        })
    }

    /// Inserts the rows whose key is not in `table` yet, in one transaction; rows already there
    /// are left alone, so copying twice changes nothing. Returns how many were inserted.
    pub async fn insert_missing_rows(&self, table: &Table, rows: &[Row]) -> Result<u64> {
        let placeholders: Vec<String> = (1..=table.columns.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT ({}) DO NOTHING",
            table.name,
            table.column_list(),
            placeholders.join(", "),
            table.columns[0].0
        );
        try_with_tx!(self, write, |tx| {
            let mut inserted = 0;
            for row in rows {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
                for value in row {
                    query = match value {
                        Value::Int(int) => query.bind(*int),
                        Value::Text(text) => query.bind(text.as_str()),
                        Value::Blob(blob) => query.bind(blob.as_slice()),
                    };
                }
                inserted += query.execute(&mut *tx).await?.rows_affected();
            }
            tx.commit().await?;
            Ok(inserted)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::storage::database::Pool;

    /// Tables `migrate-data` leaves out on purpose: ID leases (see [`TABLES`]), the readiness
    /// probe's scratch row, and sqlx's own record of applied migrations.
    const NOT_COPIED: &[&str] = &["id_nodes", "storage_probe", "_sqlx_migrations"];

    /// Columns left out on purpose: counts the target's own triggers keep as the copied rows
    /// arrive (migration 0006). Copying them too would count every row twice.
    const NOT_COPIED_COLUMNS: &[(&str, &str)] = &[("teams", "group_count"), ("voiceprint_groups", "voiceprint_count")];

    type Schema = BTreeMap<String, BTreeSet<String>>;

    /// Table → columns, as the migrations made them.
    async fn schema(store: &Store) -> Schema {
        let pairs: Vec<(String, String)> = match &store.pool {
            Pool::Sqlite(pool) => sqlx::query_as(
                "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'",
            )
            .fetch_all(pool)
            .await
            .unwrap(),
            Pool::Postgres(pool) => sqlx::query_as(
                "SELECT table_name::text, column_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema()",
            )
            .fetch_all(pool)
            .await
            .unwrap(),
        };
        let mut schema = Schema::new();
        for (table, column) in pairs {
            schema.entry(table).or_default().insert(column);
        }
        schema
    }

    fn assert_tables_match(mut schema: Schema) {
        for table in NOT_COPIED {
            schema.remove(*table);
        }
        for (table, column) in NOT_COPIED_COLUMNS {
            assert!(
                schema.get_mut(*table).expect(table).remove(*column),
                "{table}.{column} is no longer in the schema"
            );
        }
        let copied: Schema = TABLES
            .iter()
            .map(|table| {
                (table.name.to_owned(), table.columns.iter().map(|(column, _)| (*column).to_owned()).collect())
            })
            .collect();
        assert_eq!(copied, schema, "migrate-data's TABLES must list every table and column of the migrations");
    }

    #[tokio::test]
    async fn the_copied_tables_are_those_of_the_sqlite_migrations() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(dir.path()).await.unwrap();
        assert_tables_match(schema(&store).await);
    }

    #[tokio::test]
    #[ignore = "needs PostgreSQL (VOXPRINT_TEST_POSTGRES, scripts/postgres.sh); scripts/test.sh runs it"]
    async fn the_copied_tables_are_those_of_the_postgres_migrations() {
        let admin_url =
            std::env::var("VOXPRINT_TEST_POSTGRES").expect("VOXPRINT_TEST_POSTGRES names a PostgreSQL server");
        let admin = sqlx::PgPool::connect(&admin_url).await.unwrap();
        let name = format!("voxprint_schema_{}", std::process::id());
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}"))).execute(&admin).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&admin).await.unwrap();
        let url = match admin_url.rsplit_once('/') {
            Some((server, _database)) => format!("{server}/{name}"),
            None => panic!("VOXPRINT_TEST_POSTGRES must end in /DATABASE: {admin_url}"),
        };
        let store = Store::open_postgres(&url, 2).await.unwrap();
        let schema = schema(&store).await;
        drop(store);
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)"))).execute(&admin).await.unwrap();
        assert_tables_match(schema);
    }
}
