package dev.wharf.error;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.pgclient.PgException;
import io.vertx.redis.client.impl.types.ErrorType;
import io.vertx.sqlclient.ClosedConnectionException;
import java.net.ConnectException;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.exception.ApiCallTimeoutException;
import software.amazon.awssdk.services.s3.model.S3Exception;

/** Which failures are outages, and which dependency each names. */
class OutagesTest {

  @Test
  void postgresConnectionLostMidQueryIsAPostgresOutage() {
    assertUnavailable(ClosedConnectionException.INSTANCE, "postgres_unavailable");
    assertUnavailable(pg("57P01", "terminating connection due to administrator command"), "postgres_unavailable");
    assertUnavailable(pg("57P03", "the database system is starting up"), "postgres_unavailable");
    assertUnavailable(pg("08006", "connection failure"), "postgres_unavailable");
    assertUnavailable(pg("53300", "sorry, too many clients already"), "postgres_unavailable");
  }

  @Test
  void postgresErrorsAboutTheRequestAreNotOutages() {
    assertThat(Outages.isOutage(pg("23505", "duplicate key value violates unique constraint"))).isFalse();
    assertThat(Outages.isOutage(pg("22P02", "invalid input syntax for type uuid"))).isFalse();
    assertThat(Outages.classify(pg("42P01", "relation does not exist"))).isEmpty();
  }

  @Test
  void redisNotNowRepliesAreRedisOutages() {
    assertUnavailable(ErrorType.create("LOADING Redis is loading the dataset in memory"), "redis_unavailable");
    assertUnavailable(ErrorType.create("MASTERDOWN Link with MASTER is down"), "redis_unavailable");
    assertThat(Outages.isOutage(ErrorType.create("WRONGTYPE Operation against a key holding the wrong kind of value"))).isFalse();
  }

  @Test
  void storageTimeoutsAndServerErrorsAreStorageOutages() {
    assertUnavailable(new CompletionException(ApiCallTimeoutException.create(1000)), "storage_unavailable");
    assertUnavailable(S3Exception.builder().statusCode(503).message("Slow Down").build(), "storage_unavailable");
    assertThat(Outages.isOutage(S3Exception.builder().statusCode(403).message("Access Denied").build())).isFalse();
  }

  @Test
  void aBareSocketFailureTakesTheCallersDependency() {
    ConnectException refused = new ConnectException("Connection refused: /127.0.0.1:5432");
    assertThat(((WharfException) Outages.asUnavailable("postgres", refused)).code()).isEqualTo("postgres_unavailable");
    assertThat(Outages.classify(refused)).hasValueSatisfying(e -> assertThat(e.code()).isEqualTo("dependency_unavailable"));
  }

  @Test
  void aWharfExceptionPassesUnchanged() {
    ClientException notFound = ClientException.notFound("file");
    assertThat(Outages.asUnavailable("postgres", notFound)).isSameAs(notFound);
    assertThat(Outages.classify(notFound)).containsSame(notFound);
  }

  private static void assertUnavailable(Throwable failure, String code) {
    assertThat(Outages.classify(failure)).hasValueSatisfying(e -> {
      assertThat(e.status()).isEqualTo(503);
      assertThat(e.code()).isEqualTo(code);
      assertThat(((ServerException) e).retryAfterSeconds()).isPositive();
      assertThat(Outages.isRetryable(e)).isTrue();
    });
    assertThat(((WharfException) Outages.asUnavailable("somewhere", failure)).code()).isEqualTo(code);
  }

  private static PgException pg(String sqlState, String message) {
    return new PgException(message, "FATAL", sqlState, null);
  }
}
