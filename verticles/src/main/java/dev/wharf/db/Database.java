package dev.wharf.db;

import dev.wharf.config.PostgresConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import io.vertx.sqlclient.SqlConnection;
import java.util.function.Function;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The Postgres pool, migrations, and the advisory lock that elects a leader for chores. */
public final class Database {

  private static final Logger log = LoggerFactory.getLogger(Database.class);

  private Database() {}

  /** A pool shared by every verticle of this process. */
  public static Pool pool(Vertx vertx, PostgresConfig config) {
    PgConnectOptions connect = new PgConnectOptions()
        .setHost(config.host())
        .setPort(config.port())
        .setDatabase(config.database())
        .setUser(config.user())
        .setPassword(config.password())
        .setCachePreparedStatements(true)
        .setReconnectAttempts(0);
    PoolOptions pool = new PoolOptions()
        .setMaxSize(config.poolSize())
        .setMaxWaitQueueSize(config.poolSize() * 32)
        .setConnectionTimeout(5)
        .setShared(false);
    return PgBuilder.pool().with(pool).connectingTo(connect).using(vertx).build();
  }

  /** Applies the Flyway migrations. Flyway is JDBC, so it runs on a worker thread. */
  public static Future<Integer> migrate(Vertx vertx, PostgresConfig config) {
    return vertx.executeBlocking(() -> {
      MigrateResult result = Flyway.configure()
          .dataSource(config.jdbcUrl(), config.user(), config.password())
          .locations("classpath:db/migration")
          .load()
          .migrate();
      log.info("database migrated [applied={}, version={}]", result.migrationsExecuted, result.targetSchemaVersion);
      return result.migrationsExecuted;
    }, false);
  }

  /**
   * Runs {@code chore} inside a transaction only if this process wins the advisory lock {@code lock}
   * for it; the lock is released when the transaction ends. Answers null when another process holds it.
   */
  public static <T> Future<T> asLeader(Pool pool, LeaderLock lock, Function<SqlConnection, Future<T>> chore) {
    return pool.withTransaction(conn -> conn
        .preparedQuery("SELECT pg_try_advisory_xact_lock($1) AS won")
        .execute(io.vertx.sqlclient.Tuple.of(lock.key()))
        .compose(rows -> rows.iterator().next().getBoolean("won") ? chore.apply(conn) : Future.succeededFuture(null)));
  }

  /**
   * Whether PostgreSQL refused a statement for what it said (a constraint, a type, a missing row it references), as
   * opposed to being unreachable or shedding work: the statement and its implicit transaction changed nothing, and
   * the same request sent again would meet the same answer.
   */
  public static boolean refusedStatement(Throwable failure) {
    return failure instanceof PgException pg && !dev.wharf.error.Outages.isPostgresOutage(pg.getSqlState());
  }

  /** Whether PostgreSQL refused a statement with SQLSTATE {@code sqlState} (23503: a foreign key, 23505: a unique key). */
  public static boolean violates(Throwable failure, String sqlState) {
    return failure instanceof PgException pg && sqlState.equals(pg.getSqlState());
  }

  /** Maps a failure to reach Postgres to 503 {@code postgres_unavailable}; other failures pass unchanged. */
  public static Throwable unavailableIfConnection(Throwable failure) {
    return dev.wharf.error.Outages.asUnavailable("postgres", failure);
  }
}
