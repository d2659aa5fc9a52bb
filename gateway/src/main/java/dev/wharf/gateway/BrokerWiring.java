package dev.wharf.gateway;

import dev.wharf.mqtt.DeviceMessages;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

/** Broker mode's deployment. */
final class BrokerWiring {

  private BrokerWiring() {}

  static Future<String> deploy(Vertx vertx, Services services, DeviceMessages messages) {
    return Future.failedFuture(new UnsupportedOperationException("broker mode is not built yet"));
  }
}
