package dev.wharf.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Which unhandled exceptions are a client's doing (one quiet line) and which are ours (an ERROR with its trace). */
class UnhandledExceptionsTest {

  private static <T extends Throwable> T thrownAt(T t, String... classes) {
    StackTraceElement[] frames = new StackTraceElement[classes.length];
    for (int i = 0; i < classes.length; i++) {
      frames[i] = new StackTraceElement(classes[i], "m", null, -1);
    }
    t.setStackTrace(frames);
    return t;
  }

  @Test
  void aRefusalRaisedInsideVertxMqttIsTheClientsDoing() {
    assertThat(UnhandledExceptions.thrownByMqttPacketHandling(thrownAt(
        new IllegalArgumentException("Received an MQTT packet from a not connected client (CONNECT not sent yet)"),
        "io.vertx.mqtt.impl.MqttServerConnection", "io.vertx.mqtt.impl.MqttServerImpl", "io.netty.channel.DefaultChannelPipeline")))
        .isTrue();
  }

  @Test
  void aRefusalReachedThroughOurCodeOrAnyOtherExceptionIsOurs() {
    assertThat(UnhandledExceptions.thrownByMqttPacketHandling(thrownAt(new IllegalArgumentException("MQTT endpoint is closed"),
        "io.vertx.mqtt.impl.MqttEndpointImpl", "dev.wharf.mqtt.endpoint.DeviceSession"))).isFalse();
    assertThat(UnhandledExceptions.thrownByMqttPacketHandling(thrownAt(new NullPointerException(),
        "io.vertx.mqtt.impl.MqttServerConnection"))).isFalse();
    assertThat(UnhandledExceptions.thrownByMqttPacketHandling(thrownAt(new IllegalStateException("x"),
        "io.vertx.core.http.impl.Http1xServerConnection"))).isFalse();
  }
}
