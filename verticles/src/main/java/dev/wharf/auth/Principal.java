package dev.wharf.auth;

import dev.wharf.error.ClientException;
import java.util.Set;

/**
 * Who is calling. A device acts for itself; a sender acts in its tenant within its scopes; the admin
 * manages tenants and has no tenant of its own.
 */
public record Principal(Kind kind, String tenantId, String deviceId, Set<String> scopes, String tokenId) {

  public enum Kind { DEVICE, SENDER, ADMIN }

  /** Scope that lets a sender stage deliveries. */
  public static final String SCOPE_DELIVER = "deliver";
  /** Scope that lets a sender read every file of its tenant. */
  public static final String SCOPE_READ = "read";

  public static final Set<String> KNOWN_SCOPES = Set.of(SCOPE_DELIVER, SCOPE_READ);

  public static Principal admin() {
    return new Principal(Kind.ADMIN, null, null, Set.of(), "admin");
  }

  public boolean isDevice() {
    return kind == Kind.DEVICE;
  }

  /** A stable name for idempotency keys and logs. */
  public String name() {
    return switch (kind) {
      case DEVICE -> "device:" + deviceId;
      case SENDER -> "sender:" + tokenId;
      case ADMIN -> "admin";
    };
  }

  /** Fails with 403 unless this is a device. */
  public Principal requireDevice() {
    if (kind != Kind.DEVICE) {
      throw ClientException.forbidden("this call is for device tokens");
    }
    return this;
  }

  /** Fails with 403 unless this is a sender holding {@code scope}. */
  public Principal requireScope(String scope) {
    if (kind != Kind.SENDER || !scopes.contains(scope)) {
      throw ClientException.forbidden("this call needs a token with the '" + scope + "' scope");
    }
    return this;
  }
}
