package dev.wharf.blob;

import dev.wharf.error.ClientException;
import dev.wharf.error.ServerException;
import dev.wharf.error.WharfException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.NoSuchUploadException;

/** Turns what the S3 client fails with into Wharf's error hierarchy. */
final class S3Failures {

  private S3Failures() {}

  /** Any failure to reach or use storage: 503 {@code storage_unavailable}. */
  static WharfException unavailable(Throwable failure) {
    Throwable cause = unwrap(failure);
    if (cause instanceof WharfException wharf) {
      return wharf;
    }
    return ServerException.unavailable("storage", cause);
  }

  /** For reads of one object: an absent key is 404, a range past its end 416, the rest 503. */
  static WharfException forObject(Throwable failure) {
    Throwable cause = unwrap(failure);
    if (cause instanceof NoSuchKeyException || statusOf(cause) == 404) {
      return ClientException.notFound("object");
    }
    if (statusOf(cause) == 416) {
      return new ClientException(416, "range_not_satisfiable", "range is outside the object");
    }
    return unavailable(cause);
  }

  /** For calls on a multipart upload: one that storage no longer knows is 404 {@code upload_gone}, the rest 503. */
  static WharfException forUpload(Throwable failure) {
    Throwable cause = unwrap(failure);
    if (cause instanceof NoSuchUploadException || statusOf(cause) == 404) {
      return new ClientException(404, "upload_gone", "storage no longer has this multipart upload");
    }
    if (statusOf(cause) == 400) {
      return ClientException.badRequest("invalid_part", "storage refused the parts: " + cause.getMessage());
    }
    return unavailable(cause);
  }

  /**
   * For reading what storage holds of a multipart upload: one it no longer knows is 404 {@code upload_gone}; any
   * other refusal is storage's trouble, not the caller's (s3proxy answers 400 while it still tears down a part
   * whose upload broke off), so it is 503 and the caller asks again.
   */
  static WharfException forListing(Throwable failure) {
    Throwable cause = unwrap(failure);
    if (cause instanceof NoSuchUploadException || statusOf(cause) == 404) {
      return new ClientException(404, "upload_gone", "storage no longer has this multipart upload");
    }
    return unavailable(cause);
  }

  static int statusOf(Throwable failure) {
    Throwable cause = unwrap(failure);
    if (cause instanceof S3ErrorResponse answer) {
      return answer.status();
    }
    return cause instanceof AwsServiceException service ? service.statusCode() : 0;
  }

  static Throwable unwrap(Throwable failure) {
    Throwable cause = failure;
    while ((cause instanceof CompletionException || cause instanceof ExecutionException)
        && cause.getCause() != null) {
      cause = cause.getCause();
    }
    return cause;
  }
}
