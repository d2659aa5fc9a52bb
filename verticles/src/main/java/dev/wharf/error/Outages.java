package dev.wharf.error;

import io.vertx.pgclient.PgException;
import io.vertx.redis.client.impl.types.ErrorType;
import io.vertx.sqlclient.ClosedConnectionException;
import java.net.ConnectException;
import java.nio.channels.ClosedChannelException;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeoutException;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.exception.SdkClientException;

/**
 * The one classification of dependency failures. An outage is a failure that says "a backing service
 * cannot do this now, the same request will work later", as opposed to bad input or a bug:
 *
 * <ul>
 *   <li>PostgreSQL: connect refused or timed out, the connection closed mid-query
 *       ({@link ClosedConnectionException}), SQLSTATE class 08 (connection exception), 57P01 / 57P02 /
 *       57P03 (administrator or crash shutdown, cannot connect now), 53300 (too many connections);
 *   <li>Redis: the connection refused or closed, and the replies that mean "not now": {@code LOADING},
 *       {@code MASTERDOWN}, {@code BUSY}, {@code TRYAGAIN}, {@code CLUSTERDOWN};
 *   <li>S3: client-side failures (connect, reset, call and attempt timeouts) and 5xx answers.
 * </ul>
 *
 * An outage becomes 503 {@code {dependency}_unavailable} with {@code Retry-After} over HTTP and, over MQTT,
 * an error reply with the same code and no acknowledgement, so the message is delivered again. The
 * dependency is named by the failure's type where it can be ({@code postgres}, {@code redis},
 * {@code storage}); a bare socket failure names none and takes the caller's hint.
 */
public final class Outages {

  public static final String POSTGRES = "postgres";
  public static final String REDIS = "redis";
  public static final String STORAGE = "storage";

  /** Redis error prefixes that mean the server cannot serve now but will. */
  private static final Set<String> REDIS_NOT_NOW = Set.of("LOADING", "MASTERDOWN", "BUSY", "TRYAGAIN", "CLUSTERDOWN");
  /** PostgreSQL SQLSTATEs, besides class 08, that mean the server is going away or cannot take us now. */
  private static final Set<String> POSTGRES_NOT_NOW = Set.of("57P01", "57P02", "57P03", "53300");

  private Outages() {}

  /** Whether {@code failure}, or a cause of it, is an outage of any dependency. */
  public static boolean isOutage(Throwable failure) {
    for (Throwable t = failure; t != null; t = next(t)) {
      if (dependencyNamedBy(t).isPresent() || isSocketFailure(t)) {
        return true;
      }
    }
    return false;
  }

  /** The dependency an outage names by its type (the first in the cause chain that does), if any. */
  public static Optional<String> dependencyOf(Throwable failure) {
    for (Throwable t = failure; t != null; t = next(t)) {
      Optional<String> named = dependencyNamedBy(t);
      if (named.isPresent()) {
        return named;
      }
    }
    return Optional.empty();
  }

  /**
   * {@code failure} as 503 {@code …_unavailable} when it is an outage (named after the dependency the
   * failure itself names, else {@code dependency}); a {@link WharfException} or anything else unchanged.
   */
  public static Throwable asUnavailable(String dependency, Throwable failure) {
    if (failure instanceof WharfException || !isOutage(failure)) {
      return failure;
    }
    return ServerException.unavailable(dependencyOf(failure).orElse(dependency), failure);
  }

  /**
   * For the edges (the HTTP failure handler, the MQTT layer): {@code failure} as a {@link WharfException}
   * when it is one or an outage; empty for anything else, which is a bug. An outage whose dependency
   * cannot be told is {@code dependency_unavailable}.
   */
  public static Optional<WharfException> classify(Throwable failure) {
    if (failure instanceof WharfException w) {
      return Optional.of(w);
    }
    if (failure == null || !isOutage(failure)) {
      return Optional.empty();
    }
    return Optional.of(dependencyOf(failure)
        .map(dependency -> ServerException.unavailable(dependency, failure))
        .orElseGet(() -> new ServerException(503, "dependency_unavailable", "a backing service is unavailable, retry later", failure, 5)));
  }

  /** Whether {@code failure} asks the caller to try again later: a 503 with Retry-After (an outage, or load shed). */
  public static boolean isRetryable(WharfException failure) {
    return failure instanceof ServerException server && server.status() == 503 && server.retryAfterSeconds() > 0;
  }

  private static Optional<String> dependencyNamedBy(Throwable t) {
    if (t instanceof ClosedConnectionException) {
      return Optional.of(POSTGRES);
    }
    if (t instanceof PgException pg && isPostgresOutage(pg.getSqlState())) {
      return Optional.of(POSTGRES);
    }
    if (t instanceof ErrorType redis && REDIS_NOT_NOW.stream().anyMatch(redis::is)) {
      return Optional.of(REDIS);
    }
    if (t instanceof AwsServiceException service && service.statusCode() >= 500) {
      return Optional.of(STORAGE);
    }
    if (t instanceof SdkClientException) {
      return Optional.of(STORAGE);
    }
    return Optional.empty();
  }

  public static boolean isPostgresOutage(String sqlState) {
    return sqlState != null && (sqlState.startsWith("08") || POSTGRES_NOT_NOW.contains(sqlState));
  }

  private static boolean isSocketFailure(Throwable t) {
    if (t instanceof ConnectException
        || t instanceof ClosedChannelException
        || t instanceof TimeoutException
        || t instanceof io.netty.channel.ConnectTimeoutException
        || t instanceof io.vertx.core.http.HttpClosedException) {
      return true;
    }
    String message = t.getMessage();
    return message != null && (message.contains("Connection refused") || message.contains("Connection reset")
        || message.contains("Connection is closed") || message.contains("Timeout"));
  }

  private static Throwable next(Throwable t) {
    return t.getCause() == t ? null : t.getCause();
  }
}
