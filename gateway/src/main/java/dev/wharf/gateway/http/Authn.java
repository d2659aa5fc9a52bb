package dev.wharf.gateway.http;

import dev.wharf.auth.Principal;
import dev.wharf.auth.TokenStore;
import dev.wharf.error.ClientException;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/** Resolves the bearer token into a {@link Principal}, or fails with 401. */
public final class Authn implements Handler<RoutingContext> {

  private static final String KEY = "wharf.principal";

  private final TokenStore tokens;
  private final byte[] adminToken;

  public Authn(TokenStore tokens, String adminToken) {
    this.tokens = tokens;
    this.adminToken = adminToken.getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public void handle(RoutingContext ctx) {
    String header = ctx.request().getHeader("Authorization");
    if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      ctx.response().putHeader("WWW-Authenticate", "Bearer");
      ctx.fail(ClientException.unauthorized("a bearer token is required"));
      return;
    }
    String secret = header.substring(7).trim();
    if (MessageDigest.isEqual(adminToken, secret.getBytes(StandardCharsets.UTF_8))) {
      ctx.put(KEY, Principal.admin());
      ctx.next();
      return;
    }
    if (hasBody(ctx)) {
      // The token lookup is asynchronous: hold the body until a handler is there to read it (or refuse it).
      ctx.request().pause();
    }
    tokens.authenticate(secret).onComplete(ar -> {
      if (ar.succeeded()) {
        ctx.put(KEY, ar.result());
        ctx.next();
      } else {
        ctx.fail(ar.cause());
      }
    });
  }

  private static boolean hasBody(RoutingContext ctx) {
    String length = ctx.request().getHeader("Content-Length");
    return ctx.request().getHeader("Transfer-Encoding") != null || (length != null && !length.trim().equals("0"));
  }

  /** The caller; only valid behind this handler. */
  public static Principal principal(RoutingContext ctx) {
    return ctx.get(KEY);
  }

  /** Fails with 403 unless the caller is the admin. */
  public static Principal requireAdmin(RoutingContext ctx) {
    Principal p = principal(ctx);
    if (p == null || p.kind() != Principal.Kind.ADMIN) {
      throw ClientException.forbidden("this call needs the admin token");
    }
    return p;
  }

  /** A device, or a sender with the {@code read} scope (tenant-wide reads). */
  public static Principal requireReader(RoutingContext ctx) {
    Principal p = principal(ctx);
    if (p.isDevice()) {
      return p;
    }
    if (p.kind() == Principal.Kind.SENDER && p.scopes().contains(Principal.SCOPE_READ)) {
      return p;
    }
    throw ClientException.forbidden("this call needs a device token or a token with the 'read' scope");
  }
}
