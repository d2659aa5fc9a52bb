package dev.wharf.mqtt.broker;

import dev.wharf.auth.Ids;
import dev.wharf.auth.TenantStore;
import dev.wharf.auth.TokenStore;
import dev.wharf.mqtt.MqttConfig;
import dev.wharf.mqtt.Topics;
import io.vertx.core.Future;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The decisions a broker's HTTP auth plugin asks Wharf for in broker mode, so one device token serves
 * both protocols: may this user name and password connect, is it a superuser, may it use this topic.
 * Wharf's own broker user is the superuser; a device connects with its id and token and may use only its
 * own prefix. A device id that exists in more than one tenant is refused: topics carry no tenant, so on a
 * shared broker such a device could not be kept apart from its namesake.
 */
public final class BrokerAccess {

  private static final Logger log = LoggerFactory.getLogger(BrokerAccess.class);

  private final MqttConfig config;
  private final TokenStore tokens;
  private final TenantStore tenants;
  private final Topics topics;

  public BrokerAccess(MqttConfig config, TokenStore tokens, TenantStore tenants) {
    this.config = config;
    this.tokens = tokens;
    this.tenants = tenants;
    this.topics = new Topics(config.topicRoot());
  }

  /** Whether the plugin presented the configured shared secret (false when none is configured). */
  public boolean trusted(String presented) {
    return config.authSecret() != null && presented != null && equal(config.authSecret(), presented);
  }

  public boolean isSuperuser(String username) {
    return username != null && username.equals(config.broker().username()) && config.broker().password() != null;
  }

  /** May {@code username} connect with {@code password}? */
  public Future<Boolean> authenticate(String username, String password) {
    if (username == null || password == null) {
      return Future.succeededFuture(false);
    }
    if (isSuperuser(username)) {
      return Future.succeededFuture(equal(config.broker().password(), password));
    }
    if (!Ids.isValidName(username)) {
      return Future.succeededFuture(false);
    }
    return tokens.authenticate(password)
        .compose(principal -> principal.isDevice() && username.equals(principal.deviceId())
            ? tenants.tenantsOfDevice(username).map(found -> {
              if (found.size() > 1) {
                log.warn("broker login refused, the device id exists in several tenants [device={}]", username);
              }
              return found.size() == 1;
            })
            : Future.succeededFuture(false))
        .otherwise(false)
        .onSuccess(allowed -> log.info("broker login {} [user={}]", allowed ? "allowed" : "refused", username));
  }

  /** May {@code username} read, write or subscribe to {@code topic} (a topic or a filter)? */
  public boolean authorize(String username, String topic) {
    if (isSuperuser(username)) {
      return true;
    }
    return username != null && topic != null && topics.owns(username, topic);
  }

  private static boolean equal(String a, String b) {
    return MessageDigest.isEqual(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
  }
}
