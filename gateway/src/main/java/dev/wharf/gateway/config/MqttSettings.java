package dev.wharf.gateway.config;

import dev.wharf.mqtt.MqttConfig;
import java.net.URI;
import java.time.Duration;
import java.util.UUID;

/** The {@code mqtt.*} keys, read into {@link MqttConfig}. */
final class MqttSettings {

  private MqttSettings() {}

  /** Stable per host (the pod name in Kubernetes), so a restarted replica finds its broker session again. */
  private static String defaultClientId() {
    String host = System.getenv("HOSTNAME");
    return "wharf-" + (host == null || host.isBlank() ? UUID.randomUUID().toString().substring(0, 8) : host);
  }

  /** {@code none} subscribes without {@code $share}: for a broker that lacks it, with a single replica. */
  private static String sharedGroup(String value) {
    if (value.equalsIgnoreCase("none")) {
      return "";
    }
    if (value.contains("/") || value.contains("+") || value.contains("#")) {
      throw new ConfigException("mqtt.broker-shared-group", "must be one topic level without wildcards, not '" + value + "'");
    }
    return value;
  }

  static MqttConfig from(Settings s) {
    MqttConfig.Mode mode = MqttConfig.Mode.parse(s.string("mqtt.mode", "off"));
    MqttConfig.Tls tls = new MqttConfig.Tls(s.string("mqtt.tls.cert-path", null), s.string("mqtt.tls.key-path", null));
    if ((tls.certPath() == null) != (tls.keyPath() == null)) {
      throw new ConfigException("mqtt.tls.cert-path", "and mqtt.tls.key-path must be set together");
    }
    String host = s.string("mqtt.broker-host", null);
    int port = s.integer("mqtt.broker-port", 1883);
    boolean ssl = s.bool("mqtt.broker-tls", false);
    String uri = s.string("mqtt.broker-uri", null);
    if (uri != null) {
      URI parsed;
      try {
        parsed = URI.create(uri);
      } catch (IllegalArgumentException e) {
        throw new ConfigException("mqtt.broker-uri", "must look like mqtt://host:1883 or mqtts://host:8883, not '" + uri + "'");
      }
      String scheme = parsed.getScheme() == null ? "" : parsed.getScheme();
      if (parsed.getHost() == null || !(scheme.equals("mqtt") || scheme.equals("tcp") || scheme.equals("mqtts") || scheme.equals("ssl"))) {
        throw new ConfigException("mqtt.broker-uri", "must look like mqtt://host:1883 or mqtts://host:8883, not '" + uri + "'");
      }
      host = parsed.getHost();
      ssl = scheme.equals("mqtts") || scheme.equals("ssl");
      port = parsed.getPort() > 0 ? parsed.getPort() : ssl ? 8883 : 1883;
    }
    MqttConfig.Broker broker = new MqttConfig.Broker(
        host,
        port,
        ssl,
        s.string("mqtt.broker-trust-path", null),
        s.string("mqtt.broker-username", "wharf"),
        s.string("mqtt.broker-password", null),
        s.string("mqtt.broker-client-id", defaultClientId()),
        sharedGroup(s.string("mqtt.broker-shared-group", "wharf")),
        s.duration("mqtt.broker-reconnect-min", Duration.ofMillis(250)),
        s.duration("mqtt.broker-reconnect-max", Duration.ofSeconds(30)),
        s.integer("mqtt.broker-backlog", 1024));
    String secret = s.string("mqtt.auth-secret", null);
    if (secret != null && secret.length() < 16) {
      throw new ConfigException("mqtt.auth-secret", "must be at least 16 characters");
    }
    return new MqttConfig(
        mode,
        s.string("mqtt.topic-root", "wharf"),
        s.string("mqtt.host", "0.0.0.0"),
        s.integer("mqtt.port", 1883),
        s.integer("mqtt.instances", Math.max(1, Runtime.getRuntime().availableProcessors())),
        Math.toIntExact(s.bytes("mqtt.max-payload-bytes", 64 * 1024)),
        s.integer("mqtt.max-subscriptions", 16),
        s.integer("mqtt.max-inflight", 32),
        tls,
        broker,
        secret);
  }
}
