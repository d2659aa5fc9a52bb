package dev.wharf.mqtt;

import dev.wharf.metrics.WharfMetrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.concurrent.atomic.AtomicLong;

/**
 * MQTT meters: connected devices (endpoint mode), broker connection state (broker mode), messages in and
 * out by topic kind, errors by code, messages dropped. One per process, shared by the MQTT verticles.
 */
public final class MqttMetrics {

  private final MeterRegistry registry;
  private final AtomicLong connected = new AtomicLong();
  private final AtomicLong brokerUp = new AtomicLong();

  public MqttMetrics(WharfMetrics metrics) {
    this.registry = metrics.registry();
    Gauge.builder("wharf_mqtt_connected_devices", connected, AtomicLong::get)
        .description("Devices connected to the MQTT endpoint").register(registry);
    Gauge.builder("wharf_mqtt_broker_connections", brokerUp, AtomicLong::get)
        .description("Broker-mode client connections that are up").register(registry);
  }

  public AtomicLong connected() {
    return connected;
  }

  public AtomicLong brokerConnections() {
    return brokerUp;
  }

  public void received(String kind) {
    Counter.builder("wharf_mqtt_messages_total").tag("direction", "in").tag("kind", kind).register(registry).increment();
  }

  public void sent(String kind) {
    Counter.builder("wharf_mqtt_messages_total").tag("direction", "out").tag("kind", kind).register(registry).increment();
  }

  public void error(String code) {
    Counter.builder("wharf_mqtt_errors_total").tag("code", code).register(registry).increment();
  }

  public void dropped(String reason) {
    Counter.builder("wharf_mqtt_dropped_total").tag("reason", reason).register(registry).increment();
  }

  /** Current value of a counter, for tests and the benchmark. */
  public double count(String name, String... tags) {
    Counter counter = registry.find(name).tags(tags).counter();
    return counter == null ? 0 : counter.count();
  }
}
