package dev.wharf.gateway.http;

import dev.wharf.error.ClientException;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.RoutingContext;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Refuses, before any route sees it, a request that the HTTP stack would otherwise throw on deep inside (found by the
 * fuzz suite, {@code HttpFuzzTest}): a path with a broken percent-encoding (the router's normalisation throws), a
 * query string with a broken percent-encoding (its decoding throws), a multipart body without a usable boundary (Netty's decoder throws), a form body on a method that cannot carry one.
 * Each is a 4xx with a stable code instead of a 500.
 */
final class RequestChecks implements Handler<RoutingContext> {

  /** RFC 2046: 1 to 70 characters of bchars, possibly quoted. */
  private static final Pattern BOUNDARY = Pattern.compile("(?i)(?:^|;)\\s*boundary=(\"?)([0-9A-Za-z'()+_,\\-./:=? ]{0,69}[0-9A-Za-z'()+_,\\-./:=?])\\1\\s*(?:;|$)");

  @Override
  public void handle(RoutingContext ctx) {
    try {
      ctx.normalizedPath();
      if (ctx.request().path().contains("%00")) {
        // A NUL is valid percent-encoding but no id, name or token holds one, and PostgreSQL cannot store it in text.
        Problems.answer(ctx, ClientException.badRequest("malformed_path", "the request path holds a NUL character (%00)"));
        return;
      }
    } catch (IllegalArgumentException e) {
      Problems.answer(ctx, ClientException.badRequest("malformed_path", "the request path is not a valid URI path: " + e.getMessage()));
      return;
    }
    try {
      ctx.request().params();
    } catch (IllegalArgumentException e) {
      Problems.answer(ctx, ClientException.badRequest("malformed_query", "the query string has a broken percent-encoding"));
      return;
    }
    String type = ctx.request().getHeader("Content-Type");
    if (type != null) {
      String lower = type.toLowerCase(Locale.ROOT).trim();
      boolean form = lower.startsWith("multipart/form-data") || lower.startsWith("application/x-www-form-urlencoded");
      HttpMethod m = ctx.request().method();
      if (form && !(m == HttpMethod.POST || m == HttpMethod.PUT || m == HttpMethod.PATCH || m == HttpMethod.DELETE)) {
        Problems.answer(ctx, new ClientException(415, "unsupported_media_type", "a " + m.name() + " request carries no form body"));
        return;
      }
      if (lower.startsWith("multipart/")) {
        Matcher boundary = BOUNDARY.matcher(type.substring(type.indexOf(';') < 0 ? type.length() : type.indexOf(';')));
        if (!boundary.find() || countBoundaries(lower) != 1) {
          Problems.answer(ctx, ClientException.badRequest("malformed_multipart",
              "a multipart Content-Type needs exactly one boundary of 1 to 70 characters (RFC 2046)"));
          return;
        }
      }
    }
    ctx.next();
  }

  private static int countBoundaries(String type) {
    int n = 0;
    for (int at = type.indexOf("boundary="); at >= 0; at = type.indexOf("boundary=", at + 1)) {
      n++;
    }
    return n;
  }
}
