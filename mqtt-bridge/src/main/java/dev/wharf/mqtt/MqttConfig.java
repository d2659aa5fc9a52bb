package dev.wharf.mqtt;

import java.time.Duration;
import java.util.Locale;

/**
 * MQTT settings.
 *
 * @param mode {@code endpoint}: Wharf is the MQTT server; {@code broker}: Wharf is a client of a broker;
 *     {@code off}
 * @param topicRoot first level of every Wharf topic ({@code wharf})
 * @param host endpoint listen address
 * @param port endpoint listen port (0 picks a free one)
 * @param instances endpoint verticle instances (they share the port)
 * @param maxPayloadBytes a larger message is answered with {@code payload_too_large}; a message larger than
 *     twice this (plus 64 KiB) is cut off by the decoder and closes the connection
 * @param maxSubscriptions topic filters one connection may hold
 * @param maxInflight QoS 1 messages one connection may leave unacknowledged, in each direction
 * @param tls endpoint TLS
 * @param broker broker-mode client settings
 * @param authSecret shared secret a broker's HTTP auth plugin presents to {@code /v1/mqtt/*}; null disables
 *     those endpoints
 */
public record MqttConfig(
    Mode mode,
    String topicRoot,
    String host,
    int port,
    int instances,
    int maxPayloadBytes,
    int maxSubscriptions,
    int maxInflight,
    Tls tls,
    Broker broker,
    String authSecret) {

  public enum Mode {
    ENDPOINT, BROKER, OFF;

    public static Mode parse(String value) {
      try {
        return valueOf(value.trim().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("mqtt.mode must be endpoint, broker or off, not '" + value + "'");
      }
    }
  }

  /** PEM certificate chain and key of the endpoint; TLS is on when both are set. */
  public record Tls(String certPath, String keyPath) {

    public boolean enabled() {
      return certPath != null && keyPath != null;
    }
  }

  /**
   * The broker Wharf joins in broker mode.
   *
   * @param sharedGroup shared-subscription group replicas split the load in; blank subscribes plainly (for
   *     a broker without {@code $share}, with one replica only)
   * @param trustPath PEM CA bundle for a TLS broker; null trusts the JVM's defaults
   * @param backlog outbound messages kept while the broker is unreachable; older ones are dropped
   */
  public record Broker(String host, int port, boolean ssl, String trustPath, String username, String password, String clientId,
      String sharedGroup, Duration reconnectMin, Duration reconnectMax, int backlog) {}

  public MqttConfig {
    if (topicRoot == null || topicRoot.isBlank() || topicRoot.contains("+") || topicRoot.contains("#") || topicRoot.startsWith("$")) {
      throw new IllegalArgumentException("mqtt.topic-root must be a plain topic level such as 'wharf'");
    }
    if (maxPayloadBytes < 256) {
      throw new IllegalArgumentException("mqtt.max-payload-bytes must be at least 256");
    }
    if (maxSubscriptions < 1 || maxInflight < 1) {
      throw new IllegalArgumentException("mqtt.max-subscriptions and mqtt.max-inflight must be at least 1");
    }
    if (mode == Mode.BROKER && (broker == null || broker.host() == null)) {
      throw new IllegalArgumentException("mqtt.broker-uri (or mqtt.broker-host) is required in broker mode");
    }
  }

  /** The decoder's hard limit: past it a message is not even read. */
  public int decoderLimit() {
    return maxPayloadBytes * 2 + 64 * 1024;
  }
}
