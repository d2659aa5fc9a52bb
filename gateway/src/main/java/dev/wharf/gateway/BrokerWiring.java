package dev.wharf.gateway;

import dev.wharf.mqtt.DeviceMessages;
import dev.wharf.mqtt.broker.BrokerBridgeVerticle;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

/** Broker mode's deployment: one bridge per process, one connection to the broker. */
final class BrokerWiring {

  private BrokerWiring() {}

  static Future<String> deploy(Vertx vertx, Services services, DeviceMessages messages) {
    return vertx.deployVerticle(new BrokerBridgeVerticle(services.config().mqtt(), services.tenants(), messages, services.mqttMetrics()));
  }
}
